"""The results comparison: each session replayed from its streams up to the projection's
position, and what the read models hold (current results, histories, scoring inputs,
the change feed's and the filters' columns, session rows) compared with the replay.

Apart from the log's checks because it reads the read models, not the log's integrity:
it needs from the log pass only each session's certifications (`LogPass`), and is skipped
by `verify --log-only`.
"""

from __future__ import annotations

from typing import Any

import orjson

from ledger.streams import RULES_STREAM, certification_stream, session_stream
from projections.fold import ResultsFold, started_result, utc_iso
from projections.results import ResultsReader
from projections.verify_log import LogPass
from projections.verify_report import Check, Progress
from projections.views import ResultsViews, as_text


def check_results(views: ResultsViews, log: LogPass, projected: int, tick: Progress) -> Check:
    """Each session replayed from its streams (its own, its certifications', the rules')
    up to the projection's position, compared with what the read models hold."""
    check = Check("results")
    reader = ResultsReader(views.store)
    rules = [e for e in views.stream_entries([RULES_STREAM]) if e[0] <= projected]
    replayed: set[str] = set()
    replayed_sessions: set[str] = set()
    sessions = sorted(log.sessions)
    for done, session_id in enumerate(sessions, start=1):
        certs = sorted(c for c, started in log.sessions[session_id] if started <= projected)
        streams = [session_stream(session_id), *map(certification_stream, certs)]
        try:
            own = [e for e in views.stream_entries(streams) if e[0] <= projected]
            if not own:
                continue  # opened after the projection's position
            fold = ResultsFold(keep_history=True).apply_all(sorted(own + rules))
        except Exception as e:  # noqa: BLE001 - an unreadable event (see "events") stops this session only
            check.problem(f"session {session_id}: its streams cannot be replayed: {type(e).__name__}: {str(e)[:200]}")
            replayed.update(certs)  # (not results without a start: unverified, as said)
            replayed_sessions.add(session_id)
            continue
        replayed_sessions.add(session_id)
        _compare_session(views, fold, session_id, check)
        stored = {r["certification_id"]: r for r in reader.current(session_id=session_id)}
        feed = {r[0]: r[1:] for r in views.query(
            "SELECT certification_id, position, changed, was_published, public_changed, status, pix_score, "
            "rule_version, started_at, seq, updated_at FROM certledger_results WHERE session_id = %s", [session_id])}
        histories = _stored_histories(views, certs)
        facts = _stored_facts(views, certs)
        for cert in certs:
            check.checked += 1
            replayed.add(cert)
            _compare_certification(fold, cert, stored.get(cert), histories.get(cert, []), facts.get(cert), check)
            if cert in fold.certs and cert in feed:
                _compare_feed(fold, cert, feed[cert][:4], check)
                _compare_columns(fold, cert, feed[cert][4:], check)
        tick("results", done, len(sessions))
    # Rows no fact of the log calls for, in each table the API and what-if read.
    for table, key, what in (("certledger_results", "certification_id", "a result"),
                             ("certledger_result_history", "certification_id", "a history"),
                             ("certledger_scoring_inputs", "certification_id", "a scoring input"),
                             ("certledger_result_sessions", "session_id", "a session row")):
        known = replayed_sessions if key == "session_id" else replayed
        for (extra,) in views.query(f"SELECT DISTINCT {key} FROM {table} ORDER BY {key}"):
            if extra not in known:
                check.problem(f"{extra}: {what} for a {'session' if key == 'session_id' else 'certification'} "
                              f"the log did not {'open' if key == 'session_id' else 'start'} by position {projected}")
    check.summary = (f"{check.checked:,} certification(s) in {len(sessions):,} session(s) replayed "
                     f"up to the projection's position {projected}")
    return check


def _compare_feed(fold: ResultsFold, cert: str, stored: tuple, check: Check) -> None:
    """The change feed's columns as one page holding the whole replay writes them (the
    projection's upsert, then its publication flips: views._UPSERT_RESULTS and
    _FLIP_PUBLISHED); a rebuild derives the same at any page size (tested)."""
    state = fold.certs[cert]
    session = fold.sessions.get(state.session_id)
    published = bool(session and session.published)
    changed, was, public = state.position, published, state.position if published else 0
    flip = fold.published_changed.get(state.session_id)
    if flip is not None:
        at, seen = flip
        was, changed, public = was or seen, max(changed, at), max(public, at)
    derived = (state.position, changed, was, public)
    position, s_changed, s_was, s_public = stored
    if (position, s_changed, bool(s_was), s_public) != derived:
        check.problem(f"{cert}: its change-feed position (position, changed, was_published, public_changed) is "
                      f"stored {(position, s_changed, bool(s_was), s_public)}, derived {derived}")


def _compare_columns(fold: ResultsFold, cert: str, stored: tuple, check: Check) -> None:
    """The columns a result row repeats from its result, for the filters (`--status`,
    `status=`, the start-time bounds) and what-if to read without decoding it: a row
    edited in them alone listed a validated result under `--status rejected`, and made
    what-if fail on PostgreSQL, while its body, and so `verify`, said nothing wrong."""
    state = fold.certs[cert]
    outcome = state.outcome if state.outcome is not None else started_result(cert)
    derived = {"status": outcome["status"], "pix_score": outcome["pix_score"],
               "rule_version": outcome["rule_version"], "started_at": utc_iso(state.started_at), "seq": state.seq,
               "updated_at": utc_iso(state.updated_at) if state.updated_at else ""}
    status, pix_score, rule_version, started_at, seq, updated_at = stored
    held = {"status": status, "pix_score": pix_score, "rule_version": rule_version,
            "started_at": _instant_text(started_at), "seq": seq,
            "updated_at": _instant_text(updated_at) if updated_at else ""}
    differ = [k for k in derived if held[k] != derived[k]]
    if differ:
        check.problem(f"{cert}: its row's {', '.join(differ)} "
                      f"({', '.join(f'stored {held[k]!r}, derived {derived[k]!r}' for k in differ)}) "
                      "differ from the replay's")


def _instant_text(value: Any) -> str:
    """A stored instant as UTC text, or as stored when it is no instant (a damaged row:
    it then differs from the replay's, and is named, where it stopped the check)."""
    try:
        return utc_iso(as_text(value))
    except (TypeError, ValueError):
        return repr(value)


def _stored_histories(views: ResultsViews, certs: list[str]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    if not certs:
        return out
    where, params = views.in_list("certification_id", certs)
    for cert, seq, cause, detail, at, position, result in views.query(
            "SELECT certification_id, seq, cause, detail, recorded_at, position, result "
            f"FROM certledger_result_history WHERE {where} ORDER BY certification_id, seq", params):
        out.setdefault(cert, []).append({"seq": seq, "cause": cause, "detail": detail,
                                         "recorded_at": _instant_text(at), "position": position,
                                         "result": orjson.loads(result)})
    return out


def _stored_facts(views: ResultsViews, certs: list[str]) -> dict[str, Any]:
    """Each scoring input, with its start (what-if selects a period's inputs by it)."""
    if not certs:
        return {}
    where, params = views.in_list("certification_id", certs)
    return {cert: (orjson.loads(facts), _instant_text(started_at)) for cert, started_at, facts in views.query(
        f"SELECT certification_id, started_at, facts FROM certledger_scoring_inputs WHERE {where}", params)}


def _compare_session(views: ResultsViews, fold: ResultsFold, session_id: str, check: Check) -> None:
    info = fold.sessions.get(session_id)
    rows = views.query("SELECT centre_id, finalised, published FROM certledger_result_sessions "
                       "WHERE session_id = %s", [session_id])
    if info is None:
        return
    if not rows:
        check.problem(f"session {session_id}: no row in the read model")
        return
    centre, finalised, published = rows[0]
    stored = (centre, bool(finalised), bool(published))
    derived = (info.centre_id, info.finalised, info.published)
    if stored != derived:
        check.problem(f"session {session_id}: (centre, finalised, published) stored {stored}, derived {derived}")


def _compare_certification(fold: ResultsFold, cert: str, stored: dict[str, Any] | None,
                           history: list[dict[str, Any]], facts: Any, check: Check) -> None:
    state = fold.certs.get(cert)
    if state is None:
        return  # (its start lies past the projection's position)
    if stored is None:
        check.problem(f"{cert}: no result in the read model")
        return
    # (Its `started_at` is the row's column, which `_compare_columns` compares: named once.)
    derived = {k: v for k, v in fold.public_result(state).items() if k != "started_at"}
    stored = {k: v for k, v in stored.items() if k != "started_at"}
    if stored != derived:
        fields = sorted(k for k in derived.keys() | stored.keys() if derived.get(k) != stored.get(k))
        check.problem(f"{cert}: its current result differs from the replay's in {', '.join(fields)}")
    replay = [{**h.public(), "recorded_at": utc_iso(h.recorded_at)} for h in fold.histories.get(cert, [])]
    if history != replay:
        first = next((i for i, (a, b) in enumerate(zip(history, replay)) if a != b), min(len(history), len(replay)))
        check.problem(f"{cert}: its history differs from the replay's from result #{first + 1} "
                      f"({len(history)} stored, {len(replay)} derived)")
    if facts is None or facts[0] != state.facts:
        check.problem(f"{cert}: its scoring input (what what-if scores) differs from the replay's")
    elif facts[1] != utc_iso(state.started_at):
        check.problem(f"{cert}: its scoring input's start ({facts[1]}) differs from the replay's "
                      f"({utc_iso(state.started_at)}): what-if selects a period's certifications by it")
