"""`verify --since POSITION:DIGEST`: the hash chain after a head kept from an earlier
verify, reading only the events after it. A full verify of a national ledger reads every
event; an auditor who keeps each day's head checks the next day's appends alone."""

from __future__ import annotations

import orjson
import pytest
from typer.testing import CliRunner

import projections.verify_chain as verify_chain
from cli.main import app
from commands.bootstrap import open_ledger
from projections.verify import verify, verify_since
from storage.chain import kept_form, seal, step
from tests.integration.test_event_store import _fetch, _run_sql
from tests.integration.test_hash_chain import (
    _chain,
    _events_table,
    _ledger_of_links,
    _read_by_pages_of,
    _tamper_an_answer_up_to,
    _without_guards,
)

KEPT = 4  # the index of the link kept, among `_ledger_of_links`'s


def _kept(links) -> tuple[int, str]:
    return links[KEPT][0], links[KEPT][1].hex()


def test_since_a_kept_head_reads_only_the_events_after_it(db_url, clock, monkeypatch):
    links = _ledger_of_links(db_url, clock)
    table, key = _events_table(db_url)
    after = int(_fetch(db_url, f"SELECT COUNT(*) FROM {table} WHERE {key} > ?", (links[KEPT][0],))[0][0])
    hashed = []
    step = verify_chain.step
    monkeypatch.setattr(verify_chain, "step", lambda *a: hashed.append(a[1]) or step(*a))
    with open_ledger(db_url, clock=clock) as ledger:
        report = verify_since(ledger.store, _kept(links))
        monkeypatch.setattr(verify_chain, "step", step)
        full = verify(ledger.store, results=False)
    assert report.ok and report.since == links[KEPT][0]
    assert len(hashed) == after and min(hashed) == links[KEPT][0] + 1  # each event after the kept link, once
    assert _chain(report).checked == len(links) - 1 - KEPT
    assert report.chain_head == full.chain_head == (links[-1][0], links[-1][1].hex())
    assert [c.name for c in report.checks] == ["hash chain"]
    assert _chain(report).summary.startswith(f"{len(links) - 1 - KEPT} commit(s) linked from the kept link at "
                                             f"position {links[KEPT][0]:,}")


def test_since_names_a_change_after_the_kept_link_as_a_full_verify_does(db_url, clock):
    links = _ledger_of_links(db_url, clock)
    _tamper_an_answer_up_to(db_url, links, 6)
    with open_ledger(db_url, clock=clock) as ledger:
        since = _chain(verify_since(ledger.store, _kept(links)))
        full = _chain(verify(ledger.store, results=False))
    assert not since.ok and since.problems == full.problems and len(since.problems) == 1


def test_since_does_not_read_before_the_kept_link(db_url, clock):
    """The boundary, stated: an event changed before the kept link (its link left as it
    was) is not read, so only a full verify finds it."""
    links = _ledger_of_links(db_url, clock)
    _tamper_an_answer_up_to(db_url, links, 2)
    with open_ledger(db_url, clock=clock) as ledger:
        assert verify_since(ledger.store, _kept(links)).ok
        assert not _chain(verify(ledger.store, results=False)).ok


@pytest.mark.parametrize("links_after", ["as they were", "rewritten to follow"])
def test_since_a_kept_link_rewritten_or_missing_is_named(db_url, clock, links_after):
    """The kept link changed alone (the links after still follow from the one kept), or
    the log rewritten with every link from there on (they follow from the one stored):
    either way one finding, and no commit after it accused."""
    links = _ledger_of_links(db_url, clock)
    _without_guards(db_url)
    forged = b"\x01" * 32
    _run_sql(db_url, "UPDATE certledger_chain SET digest = ? WHERE last_position = ?", (forged, links[KEPT][0]))
    if links_after == "rewritten to follow":
        acc, ends = forged, [p for p, _ in links[KEPT + 1:]]
        table, key = _events_table(db_url)
        rows = _fetch(db_url, f"SELECT {key}, originator_id, originator_version, topic, state FROM {table} "
                              f"WHERE {key} > ? ORDER BY {key}", (links[KEPT][0],))
        commits = {int(p): (at, by) for p, at, by in _fetch(
            db_url, "SELECT last_position, committed_at, by_recorded_at FROM certledger_commits")}
        for end in ends:
            for row in [r for r in rows if r[0] <= end]:
                acc = step(acc, *row)
            rows = [r for r in rows if r[0] > end]
            acc = seal(acc, end, *commits[end])  # (every link of a ledger made since 021 is sealed)
            _run_sql(db_url, "UPDATE certledger_chain SET digest = ? WHERE last_position = ?", (acc, end))
    with open_ledger(db_url, clock=clock) as ledger:
        rewritten = verify_since(ledger.store, _kept(links))
        missing = verify_since(ledger.store, (links[KEPT][0] + 1, links[KEPT][1].hex()))
    told = ("and the next link follows the one kept: that link alone was changed" if links_after == "as they were"
            else "and the links after follow the one stored: the log up to there was rewritten with its links (or "
                 "the link was kept of another ledger)")
    assert _chain(rewritten).problems == [
        f"the link at position {links[KEPT][0]} is {'01' * 32}, not {links[KEPT][1].hex()} as kept, {told}"]
    assert _chain(missing).problems == [
        f"the link kept at position {links[KEPT][0] + 1} is not in the hash chain: the log up to there was "
        "rewritten, or the link was kept of another ledger"]
    assert not rewritten.ok and not missing.ok


def test_since_the_head_itself_finds_nothing_new_and_offers_it_again(db_url, clock):
    links = _ledger_of_links(db_url, clock)
    head = (links[-1][0], links[-1][1].hex())
    with open_ledger(db_url, clock=clock) as ledger:
        report = verify_since(ledger.store, head)
    assert report.ok and report.chain_head == head and _chain(report).checked == 0
    assert _chain(report).summary.endswith("; no commit since it; the head is the link kept")


def test_since_the_cli_offers_the_new_head_and_refuses_mixed_options(db_url, clock):
    links = _ledger_of_links(db_url, clock)
    kept = kept_form(*_kept(links))
    said = CliRunner().invoke(app, ["verify", "--since", kept, "--db", db_url])
    assert said.exit_code == 0, said.output
    assert f"checked the hash chain after the kept link at position {links[KEPT][0]:,}" in said.output
    assert f"--expect-chain {kept_form(links[-1][0], links[-1][1].hex())}" in said.output
    as_json = CliRunner().invoke(app, ["verify", "--since", kept, "--json", "--db", db_url])
    told = orjson.loads(as_json.output)
    assert as_json.exit_code == 0 and told["since"] == links[KEPT][0] and told["ok"] is True
    assert told["chain_head"] == {"position": links[-1][0], "digest": links[-1][1].hex()}
    for extra in (["--expect-chain", kept], ["--log-only"]):
        mixed = CliRunner().invoke(app, ["verify", "--since", kept, *extra, "--db", db_url])
        assert mixed.exit_code == 2 and "--since checks the chain alone" in mixed.output, mixed.output
    bad = CliRunner().invoke(app, ["verify", "--since", "12", "--db", db_url])
    assert bad.exit_code == 2 and "is not POSITION:DIGEST" in bad.output


@pytest.mark.parametrize("page", [1, 2])
def test_since_reads_links_by_pages(db_url, clock, monkeypatch, page):
    links = _ledger_of_links(db_url, clock)
    _tamper_an_answer_up_to(db_url, links, 7)
    with open_ledger(db_url, clock=clock) as ledger:
        whole = _chain(verify_since(ledger.store, _kept(links)))
        _read_by_pages_of(monkeypatch, page)
        paged = _chain(verify_since(ledger.store, _kept(links)))
    assert paged.to_json() == whole.to_json() and len(whole.problems) == 1


def test_since_a_rewritten_start_then_a_changed_link_accuses_no_commit(db_url, clock):
    """From a review: with the kept link differing from the stored one (the log before it
    rewritten with every link) and a later link changed, the intact commits after were
    accused. The walk goes on from the stored link, as a full verify's does."""
    links = _ledger_of_links(db_url, clock)
    _without_guards(db_url)
    _run_sql(db_url, "UPDATE certledger_chain SET digest = ? WHERE last_position = ?", (b"\x02" * 32, links[KEPT + 1][0]))
    with open_ledger(db_url, clock=clock) as ledger:
        report = verify_since(ledger.store, (links[KEPT][0], "ab" * 32))
    assert _chain(report).problems == [
        f"the link at position {links[KEPT][0]} is {links[KEPT][1].hex()}, not {'ab' * 32} as kept: the link was "
        "changed, or the log up to there rewritten with its links (or the link was kept of another ledger)",
        f"the hash chain's link at position {links[KEPT + 1][0]} is not the one its commit wrote (changed or "
        "added): the events agree with the links around it"]


def test_a_link_past_the_log_end_is_no_start_to_trust(db_url, clock):
    """From a review: a link added past the log's end, copying the head's digest, passed a
    full verify, which offered it as the head; the next commits chain from it, and a
    `--since` from it said ok over events in no link. A full verify names it now, and
    `--since` refuses a start that ends no commit."""
    links = _ledger_of_links(db_url, clock)
    _without_guards(db_url)
    past = links[-1][0] + 20
    _run_sql(db_url, "INSERT INTO certledger_chain (last_position, digest) VALUES (?, ?)", (past, links[-1][1]))
    with open_ledger(db_url, clock=clock) as ledger:
        full = verify(ledger.store, results=False)
        since = verify_since(ledger.store, (past, links[-1][1].hex()))
    assert f"the hash chain links position {past}, where no commit ends" in _chain(full).problems
    assert not full.ok and not since.ok
    assert f"the link kept at position {past} ends no commit: links written past the ledger are not a start to " \
           "check from" in _chain(since).problems
    assert f"the link kept at position {past} is past the log's last event ({links[-1][0]}): events were removed " \
           "from the log's end" in _chain(since).problems


def test_since_names_events_removed_from_the_log_end(db_url, clock):
    """From a review: the log's last events deleted with their link but not their commit
    row, or the log cut below the kept head: `--since` said ok."""
    links = _ledger_of_links(db_url, clock)
    table, key = _events_table(db_url)
    _without_guards(db_url)
    if db_url.startswith("sqlite"):
        _run_sql(db_url, "DROP TRIGGER chain_no_delete")
    _run_sql(db_url, f"DELETE FROM {table} WHERE {key} > ?", (links[-2][0],))
    _run_sql(db_url, "DELETE FROM certledger_chain WHERE last_position = ?", (links[-1][0],))
    with open_ledger(db_url, clock=clock) as ledger:
        tail_cut = verify_since(ledger.store, _kept(links))
    assert _chain(tail_cut).problems == [
        f"a commit row names position {links[-1][0]}, past the log's last ({links[-2][0]}): events were removed "
        "from the log's end, or the row was added without them"]


def test_since_names_a_log_cut_below_the_kept_head(db_url, clock):
    """The log's events cut below the kept head, its link and commit row left: the
    kept head lies past the log's end."""
    links = _ledger_of_links(db_url, clock)
    table, key = _events_table(db_url)
    _without_guards(db_url)
    _run_sql(db_url, f"DELETE FROM {table} WHERE {key} > ?", (links[-2][0],))
    with open_ledger(db_url, clock=clock) as ledger:
        cut = verify_since(ledger.store, (links[-1][0], links[-1][1].hex()))
    assert _chain(cut).problems == [
        f"the link kept at position {links[-1][0]} is past the log's last event ({links[-2][0]}): events were "
        "removed from the log's end",
        f"a commit row names position {links[-1][0]}, past the log's last ({links[-2][0]}): events were removed "
        "from the log's end, or the row was added without them"]
    assert not cut.ok


def test_since_the_anchor_is_no_head_to_start_from(db_url, clock):
    links = _ledger_of_links(db_url, clock)
    with open_ledger(db_url, clock=clock) as ledger:
        report = verify_since(ledger.store, (links[0][0], "00" * 32))
    assert f"the link kept at position {links[0][0]} is migration 014's anchor, which no verify offers as a head: " \
           "keep a head verify printed" in _chain(report).problems


@pytest.mark.parametrize("also", [(KEPT + 1,), (KEPT + 1, KEPT + 2)], ids=["the next", "the next two"])
def test_since_a_kept_link_changed_with_links_after_it_names_the_links(db_url, clock, also):
    """From a review: the kept link and the next one changed (the events intact) were
    reported as a commit whose events changed. The chain from the kept digest is carried
    until a link agrees with it: the links between were changed, as a full verify says."""
    links = _ledger_of_links(db_url, clock)
    _without_guards(db_url)
    for index in (KEPT, *also):
        _run_sql(db_url, "UPDATE certledger_chain SET digest = ? WHERE last_position = ?",
                 (bytes([index]) * 32, links[index][0]))
    with open_ledger(db_url, clock=clock) as ledger:
        since = _chain(verify_since(ledger.store, _kept(links)))
        full = _chain(verify(ledger.store, results=False))
    changed = [p for p in full.problems if "is not the one its commit wrote" in p]
    assert len(changed) == 1 + len(also)  # the kept link and those after it, as links
    assert since.problems == [
        f"the link at position {links[KEPT][0]} is {bytes([KEPT]).hex() * 32}, not {links[KEPT][1].hex()} as kept, "
        "and a later link follows the one kept: it was changed, as were the links named below",
        *changed[1:]]
    assert not any("breaks at the commit" in p for p in since.problems)


@pytest.mark.parametrize("position", ["9223372036854775808", "9" * 4301])
def test_a_kept_position_too_large_is_a_usage_error(db_url, position):
    said = CliRunner().invoke(app, ["verify", "--since", f"{position}:{'a' * 64}", "--db", db_url])
    assert said.exit_code == 2 and "is not POSITION:DIGEST" in said.output, said.output
