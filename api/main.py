"""The HTTP API: `create_app(settings)` builds it; nothing is built at import time.

    uvicorn --factory api.main:app_from_env      # or: certledger serve
"""

from __future__ import annotations

from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI

from api import problems
from api.auth import Authenticator
from api.conditional import ConditionalGet
from api.deps import Runtime
from api.head import HeadAsGet
from api.limits import BodyLimit
from api.openapi import build_openapi
from api.nosniff import NoSniff
from api.nul_guard import NulGuard
from api.stale_marks import StaleMarks
from api.query_guard import refuse_unknown_query
from api.responses import OrjsonResponse
from api.routes import candidates, certifications, chain, changes, docket, events, health, rules, sessions, whatif
from api.scope import Scope
from api.settings import Settings
from api.tokens import TokenStore
from commands.bootstrap import Clock, open_ledger, utc_now
from commands.group_commit import enable_group_commit

ROUTERS = (certifications, sessions, candidates, changes, docket, rules, whatif, events, chain, health)


def open_runtime(settings: Settings, clock: Clock = utc_now) -> Runtime:
    ledger = open_ledger(settings.database_url, clock=clock, pool_size=settings.pool_size)
    committer = None
    if settings.group_commit and ledger.store.backend == "postgresql":
        committer = enable_group_commit(ledger.service)
    return Runtime(
        settings=settings,
        ledger=ledger,
        auth=Authenticator(TokenStore(ledger.store, clock=clock), ttl=settings.token_cache_seconds),
        scope=Scope(ledger.store),
        committer=committer,
    )


def create_app(settings: Settings, *, clock: Clock = utc_now) -> FastAPI:
    """The application over the ledger at `settings.database_url`, opened when the app
    starts (its lifespan) and closed when it stops."""

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        runtime = open_runtime(settings, clock)
        app.state.runtime = runtime
        runtime.start()
        try:
            yield
        finally:
            runtime.stop()
            if runtime.committer is not None:
                runtime.committer.close()  # commits what was submitted
            runtime.ledger.close()

    app = FastAPI(
        title="certledger",
        version="0.1.0",
        lifespan=lifespan,
        default_response_class=OrjsonResponse,
        docs_url="/docs" if settings.docs else None,
        redoc_url=None,
        openapi_url="/openapi.json" if settings.docs else None,
        generate_unique_id_function=lambda route: route.name,
        dependencies=[Depends(refuse_unknown_query)],  # first: before authentication, as the NUL guard
    )
    for module in ROUTERS:
        app.include_router(module.router)
    problems.install(app)
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes)
    app.add_middleware(NulGuard)
    app.add_middleware(StaleMarks)
    app.add_middleware(ConditionalGet)  # outside the stale marks: an answer they mark gets no ETag
    app.add_middleware(HeadAsGet)  # every other layer sees the GET it stands for
    app.add_middleware(NoSniff)  # outermost: on every answer, the other layers' own included
    app.openapi = lambda: build_openapi(app, settings)  # type: ignore[method-assign]
    return app


def app_from_env() -> FastAPI:
    """The factory uvicorn calls (`--factory`): settings from the environment."""
    return create_app(Settings.from_env())


__all__ = ["Settings", "app_from_env", "create_app"]
