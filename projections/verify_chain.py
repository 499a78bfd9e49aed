"""The hash chain's walk (`storage.chain`, migration 014): each commit's link recomputed
from its events as the log pass reads them, and compared with the stored one.

Apart from the log's other checks because it is a state machine of its own (which links
agree with the events, with each other, with a link an auditor kept), and because
`verify_since` drives it alone, over the events after a kept link.
"""

from __future__ import annotations

from projections.verify_log import PAGE, commit_row_past_end
from projections.verify_report import MAX_LISTED, Check
from projections.views import ResultsViews
from storage.chain import CHAIN_TABLE, SEALED_TABLE, kept_form, seal, sealed_after, step
from storage.store import COMMITS_TABLE


class ChainWalk:
    """Recomputes the log's hash chain (`storage.chain`) as the log pass reads the events,
    comparing each link as its last event is read. The links are read by pages beside
    the events (a national ledger has millions of commits); what is compared as sets,
    commit rows against links, is asked of the database.

    Two digests are carried: `local`, the chain from the stored link before, and
    `trusted`, the chain from the last link found consistent. A link that agrees with
    neither is held as pending: if a later link agrees with `trusted`, the events between
    are intact and each pending link was changed itself; if a later link agrees with
    its own predecessor only, the events of the first pending commit were changed. A
    pending link that no later one tells about (the head) is named as either."""

    def __init__(self, views: ResultsViews, up_to: int, check: Check, since: tuple[int, str] | None = None):
        """`since`: a link kept from an earlier verify, (position, hex digest): the walk
        starts at that link and reads no event before it (see `_start_at`)."""
        self.views, self.check, self.up_to, self.since = views, check, up_to, since
        first, last = views.query(f"SELECT MIN(last_position), MAX(last_position) FROM {CHAIN_TABLE}", [])[0]
        self.anchor = None if first is None else int(first)
        self.first_link = self.anchor  # (`since` moves `anchor` to the kept link)
        self.last = None if last is None else int(last)  # past the log's end too: links of events removed there
        # Links past this position are sealed with their commit row (migration 021).
        self.sealed = sealed_after(views.query(f"SELECT from_position FROM {SEALED_TABLE}", []))
        self._page: list[tuple[int, bytes]] = []
        self._read_after = -1
        self.previous = self.upcoming = None  # (position, digest): the link compared last, the next one
        self.local = self.trusted = b""
        self.pending: list[tuple[int, int]] = []  # (first, last position) of links agreeing with neither
        self.unlinked = 0  # events read after the last link
        self.head: tuple[int, str] | None = None  # the last link, once `finish` has judged the chain
        self.kept_base: bytes | None = None  # `since`'s digest when the stored one differs, until a link tells
        self._differs = (0, "")  # (index, opening) of that finding, told more once a link tells which held
        if since is not None and self.anchor is not None:
            self._start_at(*since)
            return
        if self.anchor is not None:
            self.previous = self._take()
            self.upcoming = self._take()
            # `trusted` from the empty digest migration 014's anchor holds, `local` from what the first
            # link holds: a changed anchor leaves the links after it agreeing with the first, a deleted
            # one (the first link then taken for it) with the second (judged in `finish`).
            self.local = self.previous[1]
        self.anchor_digest = self.local

    def _start_at(self, position: int, digest_hex: str) -> None:
        """Walk from a kept link, as from an anchor: what the chain holds there must be
        what was kept, end a commit, and lie within the log; the links after it are
        judged from the one stored there."""
        stored = self.views.query(f"SELECT digest FROM {CHAIN_TABLE} WHERE last_position = %s", [position])
        self.anchor, self.anchor_digest, self._read_after = position, b"", position
        if not stored:
            self.check.problem(f"the link kept at position {position} is not in the hash chain: the log up to there "
                               "was rewritten, or the link was kept of another ledger")
            self.anchor = None  # nothing to walk from
            return
        kept, found = bytes.fromhex(digest_hex), bytes(stored[0][0])
        if found != kept:
            self._differs = (len(self.check.problems),
                             f"the link at position {position} is {found.hex() or '(empty)'}, not {digest_hex} as kept")
            self.check.problem(f"{self._differs[1]}: the link was changed, or the log up to there rewritten with its "
                               "links (or the link was kept of another ledger)")
            # Which the next link follows tells: the one kept (that link alone was changed) or
            # the one stored (rewritten with the log before it). The walk goes on from the
            # stored one, as a full verify's would; the kept one is carried until a link agrees
            # with one or the other.
            self.kept_base = kept
        self.previous = (position, found, None, None)
        self.upcoming = self._take()
        self.local = self.trusted = found
        if position > self.up_to:
            self.check.problem(f"the link kept at position {position} is past the log's last event ({self.up_to}): "
                               "events were removed from the log's end")
        if not self.views.query(f"SELECT 1 FROM {COMMITS_TABLE} WHERE last_position = %s", [position]):
            self.check.problem(
                f"the link kept at position {position} is migration 014's anchor, which no verify offers as a head: "
                "keep a head verify printed" if self.first_link == position else
                f"the link kept at position {position} ends no commit: links written past the ledger are not a "
                "start to check from")

    def _take(self) -> tuple[int, bytes, object, object] | None:
        """The next link: (position, digest, its commit row's time and `by_recorded_at`,
        None where no commit row ends there)."""
        if not self._page:
            rows = self.views.query(f"SELECT l.last_position, l.digest, c.committed_at, c.by_recorded_at "
                                    f"FROM {CHAIN_TABLE} l LEFT JOIN {COMMITS_TABLE} c "
                                    "ON c.last_position = l.last_position WHERE l.last_position > %s "
                                    f"ORDER BY l.last_position LIMIT {PAGE}", [self._read_after])
            self._page = [(int(p), bytes(d), at, by) for p, d, at, by in reversed(rows)]
            if not self._page:
                return None
            self._read_after = self._page[0][0]
        return self._page.pop()

    def _head(self) -> tuple[int, str] | None:
        """The last link, once a commit is linked past the anchor (an anchor alone vouches
        for nothing to keep)."""
        if self.last is None or self.last == self.anchor:
            return None
        digest = self.views.query(f"SELECT digest FROM {CHAIN_TABLE} WHERE last_position = %s", [self.last])[0][0]
        return self.last, bytes(digest).hex()

    def feed(self, position: int, stream: str, version: int, topic: str | None, state) -> None:
        if self.anchor is None or position <= self.anchor:
            return
        self._close(before=position)
        if self.kept_base is not None:
            self.kept_base = step(self.kept_base, position, stream, version, topic, state)
        after = step(self.local, position, stream, version, topic, state)
        # (The two are one while every link agrees: one step, not two, on a whole chain.)
        self.trusted = after if self.trusted == self.local else step(self.trusted, position, stream, version,
                                                                     topic, state)
        self.local = after
        if self.upcoming is not None and self.upcoming[0] == position:
            self._compare()
        elif self.upcoming is None:
            self.unlinked += 1

    def _close(self, before: int) -> None:
        """Links whose last position no event holds any more (an event removed there)."""
        while self.upcoming is not None and self.upcoming[0] < before:
            self._compare()

    def _compare(self) -> None:
        position, stored, committed_at, by_recorded_at = self.upcoming
        first = self.previous[0] + 1
        self.check.checked += 1
        if self.sealed is not None and position > self.sealed and committed_at is not None:
            # Each chain carried is sealed with the commit row as stored: a row changed,
            # removed (its link then follows another's) or inserted breaks the link.
            # (A link with no commit row cannot be sealed: it is named below for that.)
            self.local, self.trusted = (seal(chain, position, committed_at, by_recorded_at)
                                        for chain in (self.local, self.trusted))
            if self.kept_base is not None:
                self.kept_base = seal(self.kept_base, position, committed_at, by_recorded_at)
        if self.kept_base is not None:
            # Carried until a link agrees with the chain from the one kept or from the one stored.
            index, differs = self._differs
            if self.kept_base == stored:  # the chain from the kept link holds: the links since were changed
                self.trusted = self.local = stored
                self.check.problems[index] = (
                    f"{differs}, and the next link follows the one kept: that link alone was changed"
                    if not self.pending else
                    f"{differs}, and a later link follows the one kept: it was changed, as were the links named below")
                self.kept_base = None
            elif self.trusted == stored:
                if not self.pending:  # (the first link: with links between, which base held is not told)
                    self.check.problems[index] = (f"{differs}, and the links after follow the one stored: the log "
                                                  "up to there was rewritten with its links (or the link was kept of "
                                                  "another ledger)")
                self.kept_base = None
        if self.trusted == stored:
            for _, changed in self.pending:  # the events agree with this link: those links were changed
                self.check.problem(f"the hash chain's link at position {changed} is not the one its commit wrote "
                                   "(changed or added): the events agree with the links around it")
            self.pending = []
        elif self.local == stored:
            self._events_changed()
            self.trusted = stored  # a base again: later links are judged from it
        else:
            self.pending.append((first, position))
        self.local = stored
        self.previous, self.upcoming = self.upcoming, self._take()

    def _events_changed(self) -> None:
        if self.pending:
            first, last = self.pending[0]
            self.check.problem(f"the hash chain breaks at the commit of positions {first} to {last}: its link does not "
                               "follow from the link before it and the events stored there, which were changed, "
                               "removed or inserted after they were committed (or, if the links before were rewritten "
                               "to match, events before them were)")
            for _, changed in self.pending[1:]:
                self.check.problem(f"the hash chain's link at position {changed} does not follow from the one before "
                                   "it either (its events or itself changed)")
            self.pending = []

    def _positions(self, sql: str, params: list) -> tuple[int, list[int]]:
        """(how many, the first MAX_LISTED) of a query's positions."""
        count = int(self.views.query(f"SELECT COUNT(*) FROM ({sql}) q", params)[0][0])
        listed = [int(r[0]) for r in self.views.query(f"{sql} ORDER BY 1 LIMIT {MAX_LISTED}", params)] if count else []
        return count, listed

    def finish(self, expect: tuple[int, str] | None) -> None:
        check = self.check
        if self.anchor is None:
            if self.since is None or self.last is None:
                check.problem(f"no hash chain: {CHAIN_TABLE} holds no link, not even migration 014's anchor")
            else:
                check.summary = "nothing checked: the kept link is not in the chain to start from"
            return  # (else the kept link is not there: named, and nothing to walk from)
        self._close(before=self.last + 1)  # (those past the log's end: their events are gone)
        if self.pending:
            first, last = self.pending.pop()
            self._events_changed()  # those before it: the links after them never came back to agree
            check.problem(f"the hash chain's last link checked, at position {last} (positions {first} to {last}), "
                          "agrees neither with its events nor with the links before it: its events or the link "
                          "itself changed (no later link tells which)")
        if self.anchor_digest:
            check.problem(f"the hash chain's first link, at position {self.anchor}, holds a digest where migration "
                          "014's anchor holds an empty one: the anchor was changed, or deleted (then the events up "
                          "to that link are not checked)")
        # Commit rows without a link, within the log (a commit row past its end is the commit times' finding,
        # or `since`'s below), and links without a commit row, wherever they lie.
        end = min(self.last, self.up_to)
        count, listed = self._positions(
            f"SELECT c.last_position FROM {COMMITS_TABLE} c WHERE c.last_position > %s AND c.last_position <= %s "
            f"AND NOT EXISTS (SELECT 1 FROM {CHAIN_TABLE} l WHERE l.last_position = c.last_position)", [self.anchor, end])
        for position in listed:
            check.problem(f"the commit ending at position {position} has no link in the hash chain")
        check.count += count - len(listed)
        count, listed = self._positions(  # (past the log's end too: a link there is a start a later check trusts)
            f"SELECT l.last_position FROM {CHAIN_TABLE} l WHERE l.last_position > %s "
            f"AND NOT EXISTS (SELECT 1 FROM {COMMITS_TABLE} c WHERE c.last_position = l.last_position)",
            [self.anchor])
        for position in listed:
            check.problem(f"the hash chain links position {position}, where no commit ends")
        check.count += count - len(listed)
        if self.since is not None:  # (a full verify's commit times check says it)
            covered = self.views.query(f"SELECT MAX(last_position) FROM {COMMITS_TABLE}", [])[0][0]
            if covered is not None and int(covered) > self.up_to:
                check.problem(commit_row_past_end(int(covered), self.up_to))
        later = self.views.query(f"SELECT MIN(last_position) FROM {COMMITS_TABLE} WHERE last_position > %s "
                                 "AND last_position <= %s", [self.last, self.up_to])[0][0]
        if later is not None:
            check.problem(f"the commits after position {self.last} (from {int(later)}) have no link in the hash chain")
        elif self.unlinked:
            # In no commit row either (the commit times' note): a release before 009 writes so; nothing in
            # the log can tell such events from ones added past the triggers.
            check.notes.append(f"{self.unlinked:,} event(s) after the last link (position {self.last}) are "
                               "in no link of the chain: nothing shows they were written by the ledger")
        if expect is not None:
            kept = self.views.query(f"SELECT digest FROM {CHAIN_TABLE} WHERE last_position = %s", [expect[0]])
            if not kept:
                check.problem(f"the link kept at position {expect[0]} is not in the hash chain")
            elif bytes(kept[0][0]).hex() != expect[1].lower():
                check.problem(f"the link at position {expect[0]} is {bytes(kept[0][0]).hex() or '(empty)'}, not "
                              f"{expect[1].lower()} as kept: the log up to there is not the one that link was taken of")
        if self.since is not None:
            start = (f"the kept link at position {self.anchor:,} (the events up to it not read again: a full "
                     "verify checks them)")
        elif self.anchor == 0:
            start = "the log's start"
        else:
            start = f"position {self.anchor:,} (migration 014's anchor; the events up to it are not chained)"
        check.summary = f"{check.checked:,} commit(s) linked from {start}"
        head = self.head = self._head()
        if head is None and self.since is not None:
            head = self.head = (self.anchor, self.previous[1].hex())
            check.summary += "; no commit since it" + ("; the head is the link kept" if check.ok else "")
        elif head is None:
            check.summary += "; no commit linked yet: no head to keep"
        elif check.ok:
            check.summary += f"; head {kept_form(*head)}"
            if expect is not None:
                check.summary += f"; the kept link {kept_form(expect[0], expect[1].lower())} holds"
