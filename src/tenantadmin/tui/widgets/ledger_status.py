"""The audit log's line about the log itself: how far it is sealed, its newest checkpoint, and this session's
verification (``v``: what ``tenantadmin events verify`` does).

How far the log is sealed is read again (``ledger.state``: two small queries) whenever the app's follower brings
events, and after a verification. Sealing follows each command's commit, so a read that finds the newest event not
sealed yet tries again a few times, a second apart. The verification itself is the app's
(``TenantAdminApp.verify_log``), so that it outlives the screen it was asked from and runs once at a time; this line
shows it as it goes.

The line is one line at any width: its long form when it fits, else a shorter one, cut with … at the end; the
tooltip holds the long form, and every problem a failed verification found.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from rich.text import Text
from textual.widget import Widget

from tenantadmin.errors import DatabaseError, TenantAdminError
from tenantadmin.services import ledger
from tenantadmin.services.audit import EventRecord
from tenantadmin.services.ledger import LogState, Verification

from ..literal import literal
from ..node import TenantAdminNode

SEPARATOR = " · "
MOST_PROBLEMS = 10  # listed in the tooltip; the first names where the log was first changed


@dataclass(frozen=True)
class Verified:
    """The outcome of this session's last verification, ``at`` the app's clock: what the service found (``found``),
    or the one line saying why it could not look (``problem``: no key, a login that may not, the database)."""

    at: datetime
    found: Verification | None = None
    problem: str | None = None


def when(moment: datetime) -> str:
    return f"{moment.astimezone(UTC):%Y-%m-%d %H:%M} UTC"


def _count(number: int, noun: str) -> str:
    return f"{number:,} {noun}" if number == 1 else f"{number:,} {noun}s"


class LedgerStatus(TenantAdminNode, Widget):
    """One line: ``sealed up to position 1,234 · checkpoint 3 of 2026-12-06 21:00 UTC · not verified this session``;
    ``verified up to position 1,234 (…)`` once verified; ``VERIFY FAILED: position 200 changed: …`` (styled as an
    error) when the log does not verify. Every part of it is shown literally."""

    CATCH_UP_SECONDS = 1.0  # a read that finds the newest event not sealed yet is tried again after this
    CATCH_UP_TRIES = 5

    def __init__(self, *, id: str | None = None) -> None:  # noqa: A002 (Textual's name for it)
        super().__init__(id=id)
        self.state: LogState | None = None
        self.state_problem: str | None = None
        self.newest_seen = 0  # the newest position the follower brought
        self.tries = 0
        self.text = ""  # the line as it is shown

    def on_mount(self) -> None:
        self.app.changes.subscribe(self, self.changed)
        self.watch(self.app, "verifying", lambda _verifying: self.show(), init=False)
        self.watch(self.app, "verified", self.verification_done, init=False)
        self.load()

    def on_unmount(self) -> None:
        self.app.changes.unsubscribe(self)

    def on_resize(self) -> None:
        self.show()  # the long form or the short one, for the new width

    def verification_done(self, _verified: Verified | None) -> None:
        self.show()
        self.load()  # verifying seals what is settled: how far the log is sealed, read again

    def changed(self, events: list[EventRecord]) -> None:
        self.newest_seen = max([self.newest_seen, *(event.position for event in events)])
        self.tries = 0
        self.load()

    def load(self) -> None:
        engine = self.app.engine
        self.in_thread(lambda: ledger.state(engine), self.loaded, failed=self.unreadable, group="ledger-state")

    def loaded(self, state: LogState) -> None:
        self.state, self.state_problem = state, None
        self.show()
        if state.sealed_position < self.newest_seen and self.tries < self.CATCH_UP_TRIES:
            self.tries += 1
            self.set_timer(self.CATCH_UP_SECONDS, self.load)

    def unreadable(self, error: TenantAdminError) -> None:
        self.state_problem = str(error)
        self.show()
        if isinstance(error, DatabaseError):
            self.app.failed(error)  # the health check, and the banner while the database cannot be reached

    # --- what the line says -----------------------------------------------------------------------------------------

    def show(self) -> None:
        verifying, verified = self.app.verifying, self.app.verified
        done = not verifying and verified is not None
        good = done and verified is not None and verified.found is not None and verified.found.ok
        self.set_class(verifying, "verifying")
        self.set_class(done and not good, "failed")
        self.set_class(good, "verified")
        long, short, more = self.lines(verified)
        self.tooltip = literal("\n".join([long, *more]), lines=True)
        width = self.content_size.width
        self.text = long if not width or Text(long).cell_len <= width else short
        self.refresh()

    def render(self) -> Text:
        return literal(self.text)

    def lines(self, verified: Verified | None) -> tuple[str, str, list[str]]:
        """The line in its long form and its short one, and what else the tooltip lists (every problem found)."""
        if self.app.verifying or verified is None:
            doing = ("verifying…",) * 2 if self.app.verifying else ("not verified this session (v)", "not verified (v)")
            return (
                SEPARATOR.join([*self.seals(short=False), doing[0]]),
                SEPARATOR.join([*self.seals(short=True), doing[1]]),
                [],
            )
        found = verified.found
        if found is None:
            line = f"cannot verify: {verified.problem}"
            return line, line, []
        if not found.ok:
            first, *others = found.problems
            line = f"VERIFY FAILED: {first}"
            more = f"and {_count(len(others), 'more problem')}; " if others else ""
            return f"{line} ({more}{when(verified.at)})", line, others[:MOST_PROBLEMS]
        grown = self.state is not None and self.state.sealed_position > found.sealed_position
        long = [f"verified up to position {found.sealed_position:,} ({when(verified.at)})"]
        short = [f"verified to {found.sealed_position:,} at {verified.at.astimezone(UTC):%H:%M} UTC"]
        return (
            SEPARATOR.join([*long, *self.seals(short=False, sealed=grown)]),
            SEPARATOR.join([*short, *self.seals(short=True, sealed=grown)]),
            [],
        )

    def seals(self, *, short: bool, sealed: bool = True) -> list[str]:
        """How far the log is sealed (unless not ``sealed``), and its newest checkpoint."""
        if self.state_problem is not None:
            return [f"cannot read the seals: {self.state_problem}"]
        state = self.state
        if state is None:
            return []
        parts = []
        if sealed:
            if not state.sealed_size:
                parts.append("nothing sealed yet")
            else:
                parts.append(f"sealed {'to' if short else 'up to position'} {state.sealed_position:,}")
        if state.newest is None:
            parts.append("no checkpoint yet" if short else "no checkpoint yet (`tenantadmin events checkpoint`)")
        else:
            parts.append(f"checkpoint {state.newest.id} of {when(state.newest.signed_at)}")
        return parts
