"""A rule version says who decided it, why and when, in `rules list` and the API: only an
audit or an export named the jury that decided a version (the jury's review)."""

from __future__ import annotations

import orjson
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api.main import create_app
from cli.main import app
from tests.e2e.api_support import example_on_sqlite, settings_for

JURY = ["pix-1", "pix-2", "ext-1", "ext-2"]
DECIDED = "jury-2024-09-cap-6"  # the example's retroactive decision


def test_a_rule_version_names_the_jury_that_decided_it_its_reason_and_its_recorded_time(tmp_path, example_path):
    url, auth = example_on_sqlite(tmp_path, example_path, role="auditor")
    with TestClient(create_app(settings_for(url))) as client:
        listed, cursor = {}, None
        while True:  # (the tests' pages are small)
            page = client.get("/rule-versions", headers=auth, params={"cursor": cursor} if cursor else {}).json()
            listed |= {v["version"]: v for v in page["data"]}
            if not (cursor := page["next_cursor"]):
                break
        one = client.get(f"/rule-versions/{DECIDED}", headers=auth).json()
    decided, built_in = listed[DECIDED], listed["pix-v2-2024-05"]
    assert decided["jury"] == JURY and decided["reason"].startswith("example of a retroactive decision")
    assert decided["recorded_at"].startswith("20") and built_in["jury"] == []
    assert {k: one[k] for k in ("jury", "reason", "recorded_at")} == {k: decided[k] for k in ("jury", "reason",
                                                                                               "recorded_at")}
    rows = {r["version"]: r for r in orjson.loads(CliRunner().invoke(app, ["rules", "list", "--json", "--db", url])
                                                  .stdout)}
    assert {k: rows[DECIDED][k] for k in ("jury", "reason", "recorded_at")} == {
        k: decided[k] for k in ("jury", "reason", "recorded_at")}
    table = " ".join(CliRunner().invoke(app, ["rules", "list", "--db", url], terminal_width=200).stdout.split())
    assert "(jury: pix-1, pix-2, ext-1, ext-2)" in table, table
