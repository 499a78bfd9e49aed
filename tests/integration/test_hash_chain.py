"""The log's hash chain (migration 014, `storage.chain`): each commit row is linked by a
digest of its events chained to the link before; `verify` recomputes it. The event
tables refused changes, but a superuser who dropped a trigger could change an event, and
nothing showed it (on both backends: PostgreSQL links by trigger, SQLite as it seals)."""

from __future__ import annotations

import io
from datetime import timedelta

import orjson
import pytest

from commands.bootstrap import open_ledger
from commands.import_events import import_file
from projections.verify import verify
from storage import migrate as migrations
from storage.chain import seal, step
from storage.urls import parse_url
from tests.builders import Scenario, events
from tests.integration.test_event_store import _fetch, _run_sql


def _events_table(url: str) -> tuple[str, str]:
    return ("stored_events", "rowid") if parse_url(url).backend == "sqlite" else ("certledger_events", "notification_id")


def _links(url: str) -> list[tuple[int, bytes]]:
    return [(int(p), bytes(d)) for p, d in _fetch(url, "SELECT last_position, digest FROM certledger_chain "
                                                       "ORDER BY last_position")]


def _recomputed(url: str) -> list[tuple[int, bytes]]:
    """The chain as the definition says, from the events as stored, at the commit rows."""
    table, key = _events_table(url)
    rows = _fetch(url, f"SELECT {key}, originator_id, originator_version, topic, state FROM {table} ORDER BY {key}")
    anchor = _links(url)[0]
    commits = [(int(p), at, by) for p, at, by in _fetch(
        url, "SELECT last_position, committed_at, by_recorded_at FROM certledger_commits WHERE last_position > ? "
             "ORDER BY last_position", (anchor[0],))]
    sealed = _sealed_from(url)
    out, acc = [anchor], anchor[1]
    for end, committed_at, by_recorded_at in commits:
        for row in rows:
            if out[-1][0] < row[0] <= end:
                acc = step(acc, *row)
        if sealed is not None and end > sealed:  # (migration 021: the commit row sealed after its events)
            acc = seal(acc, end, committed_at, by_recorded_at)
        out.append((end, acc))
    return out


def _sealed_from(url: str) -> int | None:
    rows = _fetch(url, "SELECT from_position FROM certledger_chain_sealed")
    return int(rows[0][0]) if rows else None


def _chain(report):
    """The report's hash-chain check."""
    return next(c for c in report.checks if c.name == "hash chain")


def _tamper_an_answer_up_to(url: str, links: list[tuple[int, bytes]], index: int) -> int:
    """Change the last answer at or before `links[index]`; the index of the link whose
    commit holds it."""
    table, key = _events_table(url)
    answer = max(int(p) for (p,) in _fetch(url, f"SELECT {key} FROM {table} WHERE topic = ? AND {key} <= ?",
                                           ("certledger:AnswerRecorded@1", links[index][0])))
    _tamper(url, answer)
    return min(i for i, (p, _) in enumerate(links) if p >= answer)


def _write_some(url: str, clock) -> Scenario:
    s = Scenario("s-chain")
    with open_ledger(url, clock=clock) as ledger:
        import_file(ledger, io.BytesIO(b"\n".join(orjson.dumps(line) for line in [s.open(), *s.full_test("c1")])))
        ledger.service.record(events(s.full_test("c2")), by="test")  # a command: one commit
        ledger.service.record(events([s.finalise()]), by="test")
    return s


def test_each_commit_is_linked_as_the_definition_says(db_url, clock):
    _write_some(db_url, clock)
    links = _links(db_url)
    assert links[0] == (0, b"")  # the anchor of a ledger created with 014: nothing before it
    assert len(links) == 1 + len(_fetch(db_url, "SELECT last_position FROM certledger_commits"))
    assert links == _recomputed(db_url)  # the trigger (PostgreSQL), the writer (SQLite): the same definition
    with open_ledger(db_url, clock=clock) as ledger:
        report = verify(ledger.store, results=False)
    chain = _chain(report)
    assert chain.ok and chain.checked == len(links) - 1
    assert report.chain_head == (links[-1][0], links[-1][1].hex())


def _tamper(url: str, position: int) -> None:
    """What a superuser can do: change a committed event past the append-only triggers."""
    table, key = _events_table(url)
    if parse_url(url).backend == "sqlite":
        _run_sql(url, "DROP TRIGGER IF EXISTS stored_events_no_update")
    else:
        _run_sql(url, "ALTER TABLE certledger_events DISABLE TRIGGER USER")
    state = bytes(_fetch(url, f"SELECT state FROM {table} WHERE {key} = ?", (position,))[0][0])
    assert b'"ok"' in state
    _run_sql(url, f"UPDATE {table} SET state = ? WHERE {key} = ?", (state.replace(b'"ok"', b'"ko"'), position))


def test_an_event_changed_after_its_commit_breaks_its_link_and_no_other(db_url, clock):
    _write_some(db_url, clock)
    table, key = _events_table(db_url)
    links = _links(db_url)
    # An answer of c2, recorded by its own command (a commit of its own).
    answer = max(int(p) for (p,) in _fetch(db_url, f"SELECT {key} FROM {table} WHERE originator_id = ? AND topic = ?",
                                           ("certification:c2", "certledger:AnswerRecorded@1")))
    with open_ledger(db_url, clock=clock) as ledger:
        assert verify(ledger.store, results=False).ok
    _tamper(db_url, answer)
    with open_ledger(db_url, clock=clock) as ledger:
        report = verify(ledger.store, results=False)
    by_name = {c.name: c for c in report.checks}
    assert by_name["events"].ok  # a valid fact still: only the chain tells
    chain = by_name["hash chain"]
    first, last = next((links[i - 1][0] + 1, p) for i, (p, _) in enumerate(links) if i and p >= answer)
    assert chain.problems == [f"the hash chain breaks at the commit of positions {first} to {last}: its link does "
                              "not follow from the link before it and the events stored there, which were changed, "
                              "removed or inserted after they were committed (or, if the links before were rewritten "
                              "to match, events before them were)"]
    assert not report.ok


def test_a_chain_rewritten_with_its_events_is_caught_by_a_kept_head(db_url, clock):
    """Whoever can change an event can recompute every link after it: the chain then holds
    together, and only a link kept outside the database (the head `verify` printed)
    shows the log is not the one it was taken of."""
    _write_some(db_url, clock)
    with open_ledger(db_url, clock=clock) as ledger:
        kept = verify(ledger.store, results=False).chain_head
    table, key = _events_table(db_url)
    first = int(_fetch(db_url, f"SELECT MIN({key}) FROM {table} WHERE topic = ?", ("certledger:AnswerRecorded@1",))[0][0])
    _tamper(db_url, first)
    if parse_url(db_url).backend == "sqlite":
        _run_sql(db_url, "DROP TRIGGER chain_no_delete")
        _run_sql(db_url, "DROP TRIGGER chain_links_sealed")  # (the links are written as the definition has them)
    else:
        _run_sql(db_url, "ALTER TABLE certledger_chain DISABLE TRIGGER USER")
    _run_sql(db_url, "DELETE FROM certledger_chain WHERE last_position > 0")
    for position, digest in _recomputed(db_url)[1:]:
        _run_sql(db_url, "INSERT INTO certledger_chain (last_position, digest) VALUES (?, ?)", (position, digest))
    with open_ledger(db_url, clock=clock) as ledger:
        rewritten = verify(ledger.store, results=False)
        # (The event-id index notices this event, which carries an id; one without would pass.)
        assert _chain(rewritten).ok
        assert rewritten.chain_head[0] == kept[0] and rewritten.chain_head[1] != kept[1]
        caught = verify(ledger.store, results=False, expect_chain=kept)
    chain = _chain(caught)
    assert chain.checked and chain.problems == [f"the link at position {kept[0]} is {rewritten.chain_head[1]}, not {kept[1]} as kept: "
                              "the log up to there is not the one that link was taken of"]
    with open_ledger(db_url, clock=clock) as ledger:
        missing = verify(ledger.store, results=False, expect_chain=(kept[0] + 1, kept[1]))
    assert _chain(missing).problems == [
        f"the link kept at position {kept[0] + 1} is not in the hash chain"]


def test_migration_014_anchors_the_chain_at_the_end_of_the_log_it_finds(db_url, clock):
    """A ledger from before 014 is not hashed on upgrade (a long log would hold it): the
    chain starts at its end, and verify says from where."""
    _write_some(db_url, clock)
    table, key = _events_table(db_url)
    end = int(_fetch(db_url, f"SELECT MAX({key}) FROM {table}")[0][0])
    # As before 014: no chain (nor 021's seal, which comes after it).
    if parse_url(db_url).backend == "sqlite":
        _run_sql(db_url, "DROP TABLE certledger_chain")
        _run_sql(db_url, "DROP TABLE certledger_chain_sealed")
    else:
        _run_sql(db_url, "DROP TABLE certledger_chain; DROP TRIGGER certledger_commits_chain ON certledger_commits; "
                         "DROP FUNCTION certledger_chain_commit(); DROP TABLE certledger_chain_sealed")
    chained = ["014_commit_chain.sql", "021_chain_seals_commits.sql"]
    if parse_url(db_url).backend == "sqlite":
        chained.append("023_chain_links_sealed.sql")  # (its column and trigger went with the table)
    for name in chained:
        _run_sql(db_url, "DELETE FROM certledger_migrations WHERE name = ?", (name,))
    assert migrations.migrate(parse_url(db_url)) == chained
    assert _links(db_url) == [(end, b"")]
    with open_ledger(db_url, clock=clock) as ledger:
        # From a review: the anchor alone was offered as a head, "84:", which --expect-chain refuses.
        anchored = verify(ledger.store, results=False)
        assert ledger.store.chain_head() is None and anchored.chain_head is None
        assert _chain(anchored).summary.endswith(
            "; no commit linked yet: no head to keep")
    with open_ledger(db_url, clock=clock) as ledger:
        later = Scenario("s-chain-later")
        ledger.service.record(events([later.open(), *later.full_test("c3")[:4]]), by="test")
        report = verify(ledger.store, results=False)
    links = _links(db_url)
    assert len(links) == 2 and links == _recomputed(db_url)
    chain = _chain(report)
    assert chain.ok and chain.summary.startswith(f"1 commit(s) linked from position {end:,} (migration 014's anchor")
    with open_ledger(db_url, clock=clock) as ledger:
        assert ledger.store.chain_head().position == links[-1][0]


@pytest.mark.parametrize("kept", ["12", "12:abc", "x:" + "0" * 64])
def test_a_kept_link_is_read_as_verify_prints_it(kept):
    import typer

    from cli.verify import _kept_link

    with pytest.raises(typer.BadParameter, match="is not POSITION:DIGEST"):
        _kept_link(kept)
    assert _kept_link("12:" + "AB" * 32) == (12, "ab" * 32)


def test_an_event_added_after_the_last_commit_is_noted_as_in_no_link(db_url, clock):
    """Appended past the triggers with no commit row, as a release before 009 wrote: no
    link covers it, and verify says so rather than passing it in silence."""
    _write_some(db_url, clock)
    table, key = _events_table(db_url)
    last = _fetch(db_url, f"SELECT {key}, originator_id, originator_version, topic, state FROM {table} "
                          f"ORDER BY {key} DESC LIMIT 1")[0]
    stream = "certification:c9"
    if parse_url(db_url).backend == "sqlite":
        _run_sql(db_url, f"INSERT INTO {table} VALUES (?, ?, ?, ?)", (stream, 1, last[3], bytes(last[4])))
    else:
        _run_sql(db_url, f"INSERT INTO {table} (originator_id, originator_version, topic, state) VALUES (?, ?, ?, ?)",
                 (stream, 1, last[3], bytes(last[4])))
    with open_ledger(db_url, clock=clock) as ledger:
        report = verify(ledger.store, results=False)
    chain = _chain(report)
    assert chain.notes == [f"1 event(s) after the last link (position {last[0]}) are in no link of the chain: "
                           "nothing shows they were written by the ledger"]


def test_the_api_gives_the_head_verify_prints(db_url, clock):
    """An auditor's system keeps heads from the API as it goes; `verify --expect-chain`
    takes them as given."""
    from fastapi.testclient import TestClient

    from api.main import create_app
    from api.tokens import TokenStore
    from tests.e2e.api_support import settings_for

    _write_some(db_url, clock)
    with open_ledger(db_url, clock=clock) as ledger:
        token = TokenStore(ledger.store).add("auditor")[1]
        reader = TokenStore(ledger.store).add("reader")[1]
        head = verify(ledger.store, results=False).chain_head
    committed = _fetch(db_url, "SELECT MAX(committed_at) FROM certledger_commits")[0][0]
    with TestClient(create_app(settings_for(db_url), clock=clock)) as client:
        got = client.get("/chain/head", headers={"Authorization": f"Bearer {token}"})
        assert client.get("/chain/head", headers={"Authorization": f"Bearer {reader}"}).status_code == 403
    assert got.status_code == 200, got.text
    body = got.json()
    assert (body["position"], body["digest"], body["anchor"]) == (head[0], head[1], 0)
    assert body["expect_chain"] == f"{head[0]}:{head[1]}"
    assert body["committed_at"].startswith(str(committed)[:19].replace(" ", "T"))


def _without_guards(url: str) -> None:
    if parse_url(url).backend == "sqlite":
        for trigger in ("stored_events_no_delete", "chain_no_update", "chain_links_sealed"):
            _run_sql(url, f"DROP TRIGGER IF EXISTS {trigger}")
    else:
        _run_sql(url, "ALTER TABLE certledger_events DISABLE TRIGGER USER")
        _run_sql(url, "ALTER TABLE certledger_chain DISABLE TRIGGER USER")


def test_a_link_changed_is_named_as_the_link_not_its_events(db_url, clock):
    """From a review: a changed link was reported as two breaks, each blaming events that
    were intact."""
    _write_some(db_url, clock)
    links = _links(db_url)
    _without_guards(db_url)
    _run_sql(db_url, "UPDATE certledger_chain SET digest = ? WHERE last_position = ?", (b"\x00" * 32, links[1][0]))
    with open_ledger(db_url, clock=clock) as ledger:
        chain = _chain(verify(ledger.store, results=False))
    assert chain.problems == [f"the hash chain's link at position {links[1][0]} is not the one its commit wrote "
                              "(changed or added): the events agree with the links around it"]


def test_the_last_event_removed_is_named_and_no_head_is_offered(db_url, clock, tmp_path):
    """From a review: with the log's last event deleted, the links past the new end were
    not read, the chain said ok, and verify offered the tampered log's head to keep."""
    from typer.testing import CliRunner

    from cli.main import app

    _write_some(db_url, clock)
    table, key = _events_table(db_url)
    links = _links(db_url)
    _without_guards(db_url)
    _run_sql(db_url, f"DELETE FROM {table} WHERE {key} = ?", (links[-1][0],))
    with open_ledger(db_url, clock=clock) as ledger:
        report = verify(ledger.store, results=False)
    chain = _chain(report)
    # The last link has no later one to tell whether its events or itself changed: both are said.
    assert chain.problems == [f"the hash chain's last link checked, at position {links[-1][0]} (positions "
                              f"{links[-2][0] + 1} to {links[-1][0]}), agrees neither with its events nor with the "
                              "links before it: its events or the link itself changed (no later link tells which)"]
    said = CliRunner().invoke(app, ["verify", "--log-only", "--db", db_url])
    assert said.exit_code == 1 and "keep the chain's head" not in said.output, said.output
    # Nor does the JSON give it, for a script to keep (from a review).
    as_json = CliRunner().invoke(app, ["verify", "--log-only", "--json", "--db", db_url])
    assert as_json.exit_code == 1 and orjson.loads(as_json.output)["chain_head"] is None
    assert orjson.loads(CliRunner().invoke(app, ["verify", "--since", f"{links[-2][0]}:{links[-2][1].hex()}",
                                                 "--json", "--db", db_url]).output)["chain_head"] is None


def _read_by_pages_of(monkeypatch, size: int) -> None:
    """verify's events and links read by pages of `size`: the log's checks page the events
    and the chain walk its links, each module by its own name for the one page size."""
    import projections.verify_chain as verify_chain
    import projections.verify_log as verify_log

    monkeypatch.setattr(verify_log, "PAGE", size)
    monkeypatch.setattr(verify_chain, "PAGE", size)


def test_the_links_are_read_by_pages_beside_the_events(db_url, clock, monkeypatch):
    """verify reads the links in pages, as it reads the events: pages of two of each give
    the same findings as one page."""
    _write_some(db_url, clock)
    with open_ledger(db_url, clock=clock) as ledger:
        whole = verify(ledger.store, results=False)
        _read_by_pages_of(monkeypatch, 2)
        paged = verify(ledger.store, results=False)
    assert [c.to_json() for c in paged.checks] == [c.to_json() for c in whole.checks]
    assert paged.chain_head == whole.chain_head and len(_links(db_url)) > 2
    table, key = _events_table(db_url)
    answer = max(int(p) for (p,) in _fetch(db_url, f"SELECT {key} FROM {table} WHERE topic = ?",
                                           ("certledger:AnswerRecorded@1",)))
    _tamper(db_url, answer)  # in a commit past the first page of links
    end = min(p for p, _ in _links(db_url) if p >= answer)
    with open_ledger(db_url, clock=clock) as ledger:
        _read_by_pages_of(monkeypatch, 2)
        chain = _chain(verify(ledger.store, results=False))
    assert len(chain.problems) == 1 and f"to {end}:" in chain.problems[0], chain.problems


def _ledger_of_links(url: str, clock, commits: int = 8) -> list[tuple[int, bytes]]:
    """A log of `commits` commits of a few events each, after `_write_some`'s."""
    _write_some(url, clock)
    with open_ledger(url, clock=clock) as ledger:
        for n in range(commits):
            more = Scenario(f"s-more-{n}")
            ledger.service.record(events([more.open(), *more.full_test(f"m{n}")[:3]]), by="test")
    return _links(url)


@pytest.mark.parametrize("changed", [(3,), (3, 4), (3, 6), (0,)], ids=["one", "two in a row", "two apart", "anchor"])
def test_changed_links_are_named_as_links_and_no_commit_is_accused(db_url, clock, changed):
    """From a review: two links changed in a row, a link changed after an event, or the
    anchor changed, were reported as commits whose events changed, and they were intact."""
    links = _ledger_of_links(db_url, clock)
    _without_guards(db_url)
    for index in changed:
        _run_sql(db_url, "UPDATE certledger_chain SET digest = ? WHERE last_position = ?", (b"\x01" * 32, links[index][0]))
    with open_ledger(db_url, clock=clock) as ledger:
        chain = _chain(verify(ledger.store, results=False))
    if changed == (0,):
        assert chain.problems == [f"the hash chain's first link, at position {links[0][0]}, holds a digest where "
                                  "migration 014's anchor holds an empty one: the anchor was changed, or deleted "
                                  "(then the events up to that link are not checked)"]
    else:
        assert chain.problems == [f"the hash chain's link at position {links[i][0]} is not the one its commit wrote "
                                  "(changed or added): the events agree with the links around it" for i in changed]
    assert not any("breaks at the commit" in p for p in chain.problems)


def test_an_event_then_a_later_link_changed_are_each_named(db_url, clock):
    links = _ledger_of_links(db_url, clock)
    owner = _tamper_an_answer_up_to(db_url, links, 4)
    _without_guards(db_url)
    _run_sql(db_url, "UPDATE certledger_chain SET digest = ? WHERE last_position = ?", (b"\x01" * 32, links[7][0]))
    with open_ledger(db_url, clock=clock) as ledger:
        chain = _chain(verify(ledger.store, results=False))
    assert chain.problems == [
        f"the hash chain breaks at the commit of positions {links[owner - 1][0] + 1} to {links[owner][0]}: its link "
        "does not follow from the link before it and the events stored there, which were changed, removed or "
        "inserted after they were committed (or, if the links before were rewritten to match, events before them "
        "were)",
        f"the hash chain's link at position {links[7][0]} is not the one its commit wrote (changed or added): the "
        "events agree with the links around it"]


def test_a_state_stored_as_text_is_a_finding_not_a_crash(sqlite_url, clock):
    """From a review: a SQLite state rewritten as TEXT past the triggers made verify end in
    a TypeError, with no finding."""
    _write_some(sqlite_url, clock)
    links = _links(sqlite_url)
    _run_sql(sqlite_url, "DROP TRIGGER stored_events_no_update")
    # The same content as TEXT hashes as it did: nothing changed.
    _run_sql(sqlite_url, "UPDATE stored_events SET state = CAST(state AS TEXT) WHERE rowid = ?", (links[1][0],))
    with open_ledger(sqlite_url, clock=clock) as ledger:
        assert _chain(verify(ledger.store, results=False)).ok
    _run_sql(sqlite_url, "UPDATE stored_events SET state = replace(CAST(state AS TEXT), '\"event\":', '\"event\": ') "
                         "WHERE rowid = ?", (links[1][0],))
    with open_ledger(sqlite_url, clock=clock) as ledger:
        report = verify(ledger.store, results=False)
    chain = _chain(report)
    assert len(chain.problems) == 1 and f"at the commit of positions 1 to {links[1][0]}:" in chain.problems[0]


def test_an_event_changed_with_its_link_rewritten_still_breaks_the_next(db_url, clock):
    """Whoever changes an event and rewrites its commit's link to match, but not the links
    after, breaks the next link: the finding names it and says the links before may be
    what was rewritten."""
    links = _ledger_of_links(db_url, clock)
    owner = _tamper_an_answer_up_to(db_url, links, 4)
    _without_guards(db_url)
    forged = dict(_recomputed(db_url))[links[owner][0]]
    _run_sql(db_url, "UPDATE certledger_chain SET digest = ? WHERE last_position = ?", (forged, links[owner][0]))
    with open_ledger(db_url, clock=clock) as ledger:
        chain = _chain(verify(ledger.store, results=False))
    assert len(chain.problems) == 1 and chain.problems[0].startswith(
        f"the hash chain breaks at the commit of positions {links[owner][0] + 1} to {links[owner + 1][0]}: ")
    assert chain.problems[0].endswith("(or, if the links before were rewritten to match, events before them were)")


def _commits_unguarded(url: str) -> None:
    """What a superuser can do to the commit rows and the links, past their triggers."""
    if parse_url(url).backend == "sqlite":
        for trigger in ("commits_no_update", "commits_no_delete", "chain_no_update", "chain_no_delete",
                        "chain_links_sealed"):
            _run_sql(url, f"DROP TRIGGER IF EXISTS {trigger}")
    else:
        _run_sql(url, "ALTER TABLE certledger_commits DISABLE TRIGGER USER")
        _run_sql(url, "ALTER TABLE certledger_chain DISABLE TRIGGER USER")


def _stamp(url: str, position: int) -> str:
    return str(_fetch(url, "SELECT committed_at FROM certledger_commits WHERE last_position = ?", (position,))[0][0])


@pytest.mark.parametrize("tampering", ["stamped later", "merged", "split"])
def test_a_commit_row_changed_removed_or_inserted_breaks_its_link(db_url, clock, tampering):
    """The chain covered the events, not the commit rows as-of answers go by (their time,
    where each ends): a commit stamped later (before the next one's time), two merged by
    deleting a row and its link, or one split by inserting a row and a link, changed what
    the ledger was said to hold at a moment, and verify kept the same head. Each link is
    now sealed with its commit row (migration 021)."""
    _write_some(db_url, clock)
    clock.advance(hours=1)
    with open_ledger(db_url, clock=clock) as ledger:  # a last commit, an hour after the one before
        ledger.service.record(events([Scenario("s-last").open()]), by="test")
        head = verify(ledger.store, results=False).chain_head
    links = _links(db_url)
    assert links == _recomputed(db_url)
    _commits_unguarded(db_url)
    middle = links[-2][0]  # a commit with a later one, an hour after it
    if tampering == "stamped later":
        later = (clock.now - timedelta(minutes=30)).isoformat(timespec="microseconds")
        _run_sql(db_url, "UPDATE certledger_commits SET committed_at = ? WHERE last_position = ?", (later, middle))
    elif tampering == "merged":
        _run_sql(db_url, "DELETE FROM certledger_commits WHERE last_position = ?", (middle,))
        _run_sql(db_url, "DELETE FROM certledger_chain WHERE last_position = ?", (middle,))
    else:  # a row and a link inside a commit of many events, the link as an unsealed chain has it
        whole = links[-3][0]
        inside = whole - 1
        acc = links[-4][1]
        table, key = _events_table(db_url)
        for row in _fetch(db_url, f"SELECT {key}, originator_id, originator_version, topic, state FROM {table} "
                                  f"WHERE {key} > ? AND {key} <= ? ORDER BY {key}", (links[-4][0], inside)):
            acc = step(acc, *row)
        _run_sql(db_url, "INSERT INTO certledger_commits (last_position, committed_at, by_recorded_at) "
                         "VALUES (?, ?, ?)", (inside, _stamp(db_url, whole), False))
        _run_sql(db_url, "INSERT INTO certledger_chain (last_position, digest) VALUES (?, ?)", (inside, acc))
    with open_ledger(db_url, clock=clock) as ledger:
        report = verify(ledger.store, results=False, expect_chain=(head[0], head[1]))
    chain = _chain(report)
    assert not chain.ok and not report.ok, chain.summary
    assert report.chain_head is None or not report.ok  # no head offered to keep


def test_a_chain_begun_before_migration_021_verifies_whole_across_it(db_url, clock):
    """The links written before 021 stay unsealed (rewriting them would change heads
    auditors kept); those after are sealed; verify judges each by its side of the marker."""
    import re
    from pathlib import Path

    migrations.migrate(parse_url(db_url))  # a new ledger's schema, then as the release before 021 had it
    if parse_url(db_url).backend == "sqlite":
        _run_sql(db_url, "DROP TRIGGER chain_links_sealed")  # (023, after 021, reads its marker)
        _run_sql(db_url, "DROP TABLE certledger_chain_sealed")
    else:
        sql = (Path(migrations.__file__).parents[1] / "migrations/postgresql/014_commit_chain.sql").read_text()
        function = re.search(r"CREATE FUNCTION certledger_chain_commit\(\).*?\$\$;", sql, re.S).group(0)
        _run_sql(db_url, "DROP TABLE certledger_chain_sealed")
        _run_sql(db_url, function.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION"))
    _write_some(db_url, clock)  # linked unsealed (021 still recorded: nothing upgrades the ledger meanwhile)
    before = _links(db_url)
    _run_sql(db_url, "DELETE FROM certledger_migrations WHERE name = ?", ("021_chain_seals_commits.sql",))
    assert migrations.migrate(parse_url(db_url)) == ["021_chain_seals_commits.sql"]
    assert _sealed_from(db_url) == before[-1][0]
    with open_ledger(db_url, clock=clock) as ledger:
        later = Scenario("s-after-021")
        ledger.service.record(events([later.open(), *later.full_test("c9")]), by="test")
        ledger.service.record(events([later.finalise()]), by="test")
        report = verify(ledger.store, results=False, expect_chain=(before[-1][0], before[-1][1].hex()))
    links = _links(db_url)
    assert links[:len(before)] == before and len(links) == len(before) + 2
    assert links == _recomputed(db_url)  # the definition, sealed past the marker only
    assert report.ok and _chain(report).checked == len(links) - 1, _chain(report).problems


def _link_unsealed_as_before_021(conn, events_table: str) -> None:
    """What the SQLite writer of a release from 014 to 020 does after its commit row: each
    link its events' digest alone, written without a word of the seal."""
    after, acc = conn.execute("SELECT last_position, digest FROM certledger_chain "
                              "ORDER BY last_position DESC LIMIT 1").fetchone()
    acc = bytes(acc)
    for (position,) in conn.execute("SELECT last_position FROM certledger_commits WHERE last_position > ? "
                                    "ORDER BY last_position", (after,)).fetchall():
        for row in conn.execute(f"SELECT rowid, originator_id, originator_version, topic, state FROM {events_table} "
                                "WHERE rowid > ? AND rowid <= ? ORDER BY rowid", (after, position)):
            acc = step(acc, *row)
        conn.execute("INSERT INTO certledger_chain (last_position, digest) VALUES (?, ?)", (position, acc))
        after = position


def test_a_sqlite_writer_of_a_release_before_021_left_running_writes_no_unsealed_link(sqlite_url, clock, monkeypatch):
    """A `serve` of a release from 014 to 020, left running on SQLite while the ledger was
    upgraded, linked its commits unsealed past 021's marker, and every verify after named
    that commit's events as changed after it was committed, for good (on PostgreSQL the
    trigger links, and seals, whoever writes). Its write is refused whole instead, saying
    why, and the log and its chain stay as this release writes them."""
    import storage.store

    _write_some(sqlite_url, clock)
    before = _links(sqlite_url)
    late = Scenario("s-late")
    with open_ledger(sqlite_url, clock=clock) as ledger:
        with monkeypatch.context() as patch:
            patch.setattr(storage.store, "chain_up_sqlite", _link_unsealed_as_before_021)
            with pytest.raises(Exception, match="a release before migration 023"):
                ledger.service.record(events([late.open()]), by="an older release")
        assert _links(sqlite_url) == before
        ledger.service.record(events([late.open(), *late.full_test("c9")]), by="test")
        report = verify(ledger.store, results=False)
    assert report.ok, _chain(report).problems
    assert _links(sqlite_url) == _recomputed(sqlite_url)
