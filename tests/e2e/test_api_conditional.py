"""GET answers carry validators: an ETag, `Cache-Control`, and a 304 to `If-None-Match`
while the answer would be the same bytes (api.conditional). A centre polling its results
received every body again, and nothing told a shared cache the answer was the token's own."""

from __future__ import annotations

from fastapi.testclient import TestClient

from api.main import create_app
from commands.bootstrap import open_ledger
from tests.builders import events
from tests.e2e.api_support import example_on_sqlite, settings_for

CERT = "/certifications/cert-0001/result"


def test_a_result_held_is_not_sent_again_until_it_changes(tmp_path, example_path):
    url, auth = example_on_sqlite(tmp_path, example_path)
    with TestClient(create_app(settings_for(url))) as client:
        first = client.get(CERT, headers=auth)
        assert first.status_code == 200, first.text
        tag = first.headers["etag"]
        assert tag.startswith('"') and tag.endswith('"') and len(tag) == 34
        assert first.headers["cache-control"] == "private, no-cache"
        assert first.headers["vary"] == "Authorization"
        assert client.get(CERT, headers=auth).headers["etag"] == tag  # the same bytes, the same tag

        for held in (tag, f"W/{tag}", f'"other", {tag}', "*"):
            again = client.get(CERT, headers={**auth, "If-None-Match": held})
            assert again.status_code == 304, (held, again.status_code)
            assert again.content == b"" and again.headers["etag"] == tag
            assert again.headers["cache-control"] == "private, no-cache"
        assert client.head(CERT, headers={**auth, "If-None-Match": tag}).status_code == 304
        other = client.get(CERT, headers={**auth, "If-None-Match": '"not-this-one"'})
        assert other.status_code == 200 and other.json() == first.json()

        # A list has its own tag, and the answer of another token (another body) another.
        listed = client.get("/sessions", headers=auth)
        assert listed.headers["etag"] != tag
        # Once the result changes, the tag held no longer matches: the new body comes.
        with open_ledger(url) as ledger:
            ledger.service.record(events([{
                "type": "QuestionNeutralised", "event_id": "neut-0001-q3", "certification_id": "cert-0001",
                "question_id": "cert-0001-q3", "by": "pix-1", "reason": "a bug in the question",
                "at": "2024-06-21T10:00:00Z"}]), by="test")
        after = client.get(CERT, headers={**auth, "If-None-Match": tag})
        assert after.status_code == 200 and after.json() != first.json()
        assert after.headers["etag"] != tag

        # An error carries no validator: nothing to hold.
        missing = client.get("/certifications/nope/result", headers={**auth, "If-None-Match": "*"})
        assert missing.status_code == 404 and "etag" not in missing.headers


def test_every_answer_tells_a_browser_not_to_sniff_its_type(tmp_path, example_path, monkeypatch):
    """Answers echo what a client sent (an id in a 404's `detail`, the path in `instance`),
    and none said `X-Content-Type-Options: nosniff` (OWASP ASVS 14.4.4): an older browser
    or a proxy could take a body for HTML by its bytes. Every answer says it now, the
    middlewares' own (a 413, a 304) and the errors' included."""
    url, auth = example_on_sqlite(tmp_path, example_path)
    with TestClient(create_app(settings_for(url, max_body_bytes=1024))) as client:
        tag = client.get(CERT, headers=auth).headers["etag"]
        answers = {
            "200": client.get(CERT, headers=auth),
            "304": client.get(CERT, headers={**auth, "If-None-Match": tag}),
            "HEAD": client.head(CERT, headers=auth),
            "401": client.get(CERT),
            "404": client.get("/certifications/<b>x</b>/result", headers=auth),
            "405": client.delete(CERT, headers=auth),
            "no route": client.get("/nothing-here", headers=auth),
            "413": client.post("/events", content=b"x" * 2048,
                               headers={**auth, "Content-Type": "application/x-ndjson"}),
            "health": client.get("/health"),
            "openapi": client.get("/openapi.json"),
        }
    # An unexpected error is answered outside every middleware: said there too, once.
    def broken(store):
        raise RuntimeError("a bug")

    monkeypatch.setattr("api.routes.health.ResultsReader", broken)
    with TestClient(create_app(settings_for(url)), raise_server_exceptions=False) as client:
        answers["500"] = client.get("/health")
        assert answers["500"].status_code == 500 and answers["500"].json()["code"] == "internal-error"
    for what, answer in answers.items():
        assert answer.headers.get_list("x-content-type-options") == ["nosniff"], (what, answer.status_code,
                                                                                  dict(answer.headers))
