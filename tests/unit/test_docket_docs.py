"""What `certledger docket --help` and the OpenAPI document of `GET /docket` say awaits
the jury, against what `projections.docket` lists (no database: the app opens nothing
until it starts)."""

from __future__ import annotations

import os

from typer.testing import CliRunner

from api.main import create_app
from api.settings import Settings
from cli.main import app


def _said(text: str) -> str:
    return " ".join(text.split())


def test_the_docket_s_help_and_its_openapi_description_name_every_item_it_lists():
    """The docket lists a start that a ban recorded later covers (`banned_at_start`), and
    leaves out an incident report on a question the jury neutralised or de-neutralised, and
    a cancelled certification's reports: --help and the OpenAPI description named neither,
    so a jury reading them took a session listed for a ban as a mistake, and one "ready to
    publish" as having no such start."""
    help_text = _said(CliRunner().invoke(app, ["docket", "--help"], env={**os.environ, "COLUMNS": "200"}).output)
    document = create_app(Settings(database_url="sqlite:///never-opened.db")).openapi()
    described = _said(document["paths"]["/docket"]["get"]["description"])
    for where, text in (("--help", help_text), ("OpenAPI", described)):
        assert "during a ban of its candidate" in text, (where, text)
        assert "neutralised" in text and "cancelled certification" in text, (where, text)
