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
