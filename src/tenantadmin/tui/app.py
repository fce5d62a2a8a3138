"""The tenantadmin TUI: organizations, members, keys and the live audit log, over the same services as the CLI."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.notifications import SeverityLevel
from textual.reactive import reactive
from textual.screen import Screen
from textual.signal import Signal

from tenantadmin.errors import DatabaseError, DatabaseUnavailable, InvalidInput, ServiceError, TenantAdminError
from tenantadmin.services import audit, database, ledger, signing
from tenantadmin.services.actor import Actor
from tenantadmin.services.audit import EventRecord
from tenantadmin.services.database import Bind

from .literal import visible
from .node import TenantAdminNode
from .remembered import Remembered
from .screens.audit_log import AuditLogScreen
from .screens.help import HelpScreen
from .screens.organizations import OrganizationsScreen
from .widgets.ledger_status import Verified, when

# What the TUI says when this OS account has no checkpoint key: the service's own message names --public-key, which
# only the command line takes.
NO_KEY = "make a key with `tenantadmin events checkpoint` first (none in {where})"

Result = TypeVar("Result")


class TenantAdminApp(TenantAdminNode, App[None]):
    CSS_PATH = "app.tcss"
    TITLE = "tenantadmin"
    BINDINGS = [
        Binding("o", "organizations", "Organizations"),
        Binding("l", "audit_log", "Audit log"),
        Binding("ctrl+r", "refresh", "Refresh"),  # the one refresh key, on every screen
        Binding("question_mark", "help", "Help"),
        Binding("q", "quit", "Quit"),
    ]

    HEALTH_CHECK_SECONDS = 2.0
    CHANGES_SECONDS = 0.2  # events arriving within this are one change: a burst of writes is one reload, not many
    database_problem: reactive[str | None] = reactive(None)  # why the database cannot be reached, while it cannot
    verifying: reactive[bool] = reactive(default=False)  # while the log is being verified (``v`` on the audit log)
    verified: reactive[Verified | None] = reactive(None, always_update=True)  # this session's last verification

    def __init__(
        self,
        engine: Bind,
        actor: Actor,
        *,
        recover: Callable[[], None] | None = None,
        remembered: Path | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        where: str | None = None,
    ) -> None:
        """``recover``, called by the health check while the database cannot be reached, tries to make it usable
        again (the embedded server started anew), raising DatabaseError while it cannot. ``remembered``: the file
        in which the app keeps what it remembers between launches (the theme); None remembers nothing. ``clock``: what
        "now" is for the charts and the "ago"s (fixed, for pictures that do not change from one day to the next).
        ``where``: which database (the context, host and name), shown in every screen's header so that an operator
        always knows what they act on."""
        super().__init__()
        if where:
            self.title = f"tenantadmin · {visible(where)}"
        self.engine = engine
        self.actor = actor
        self.recover = recover
        self.remembered = Remembered(remembered)
        self.clock = clock
        # Every event any process records, as it commits: the screens subscribe, and reload what it changes.
        self.changes: Signal[list[EventRecord]] = Signal(self, "changes")
        self._arrived: list[EventRecord] = []
        self._following = threading.Event()

    def on_mount(self) -> None:
        if (theme := self.remembered.get("theme")) in self.available_themes:
            self.theme = theme
        self.theme_changed_signal.subscribe(self, lambda theme: self.remembered.set("theme", theme.name))
        self.push_screen(OrganizationsScreen())
        self.check_database()  # at once: an app opened on an outage says so from the start
        self.set_interval(self.HEALTH_CHECK_SECONDS, self.check_database)
        self.follow_changes()

    def on_unmount(self) -> None:
        self._following.set()

    def follow_changes(self) -> None:
        """One follower of the whole event log for the app: what it brings is published, a batch at a time."""
        self._following.set()
        self._following = stop = threading.Event()
        engine = self.engine

        def run() -> None:
            head = audit.tail(engine, audit.EventFilter(), count=1).head  # not extent: it would count every event
            for record in audit.follow(engine, audit.EventFilter(), after=head or 0, stop=stop):
                self.deliver(self._changed, record)

        self.in_thread(run, group="changes")

    def _changed(self, record: EventRecord) -> None:
        if not self._arrived:
            self.set_timer(self.CHANGES_SECONDS, self._publish)
        self._arrived.append(record)

    def _publish(self) -> None:
        arrived, self._arrived = self._arrived, []
        self.changes.publish(arrived)

    def check_database(self) -> None:
        """A lost connection shows a banner; when the database answers again the banner goes and the screen reloads.
        (The pool drops dead connections on the first failure, so the next check connects afresh.) When it cannot be
        reached, ``recover`` is tried before asking again: the embedded server, stopped, is started again. One check
        at a time: a check slower than the interval (a connect timeout is longer) is waited for, not replaced."""
        if any(worker.group == "health" and not worker.is_finished for worker in self.workers):
            return
        engine, recover = self.engine, self.recover

        def check() -> None:
            try:
                database.ping(engine)
            except DatabaseError:
                if recover is None:
                    raise
                recover()
                database.ping(engine)

        self.in_thread(check, lambda _none: self.database_answers(), failed=self.database_fails, group="health")

    def database_fails(self, error: TenantAdminError) -> None:
        self.database_problem = str(error)

    def database_answers(self) -> None:
        if self.database_problem is not None:
            self.database_back()

    def database_back(self) -> None:
        self.database_problem = None
        self.notify("The database is back.")
        if not any(worker.group == "changes" and worker.is_running for worker in self.workers):
            self.follow_changes()
        self.action_refresh()

    def action_refresh(self) -> None:
        """The screen in view reads again what it shows (each also follows the event log, so this is seldom needed)."""
        if refresh := getattr(self.screen, "action_refresh", None):
            refresh()

    def act(self, command: Callable[[], Result], done: Callable[[Result], object]) -> None:
        """Run a service command in a worker thread; ``done`` gets its result on the UI thread. A refusal is a
        message to the operator, never a crash. Commands are never cancelled: each runs to its end."""
        self.in_thread(command, done, group="commands", exclusive=False)

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = False,  # noqa: ARG002 (kept for callers of App.notify: data is never markup, whatever they ask)
    ) -> None:
        """Every toast, from any screen: its text shown literally (messages name organizations, emails, keys), never
        as markup, whatever the caller asks."""
        super().notify(visible(message), title=visible(title), severity=severity, timeout=timeout, markup=False)

    def failed(self, error: TenantAdminError) -> None:
        """What every worker does with an error of tenantadmin's: a message, and a health check when the database is
        the cause (so the banner shows while it cannot be reached). Call it on the UI thread."""
        if isinstance(error, ServiceError):
            self.notify(str(error), title="Refused", severity="error")
            return
        if isinstance(error, DatabaseUnavailable) and self.database_problem is not None:
            return  # the banner says so already: one message, not one per screen's reload
        self.notify(str(error), title="Database", severity="error")
        if isinstance(error, DatabaseError):
            self.check_database()

    def defect(self, error: Exception) -> None:
        """A worker's error that is not tenantadmin's: a bug. Said, and logged; the app goes on."""
        self.log.error(error)
        self.notify(f"{type(error).__name__}: {error}", title="Unexpected error (a bug)", severity="error")

    def verify_log(self) -> None:
        """Verify the whole log, as ``tenantadmin events verify`` does (seconds over a million events), in a worker of
        the app's own, so that its outcome outlives the screen that asked for it; one at a time: asked again while
        one runs, nothing happens. The outcome is ``verified`` (the audit log's status line shows it) and a message."""
        if self.verifying:
            return
        self.verifying = True
        engine = self.engine

        def verify() -> ledger.Verification:
            try:
                return ledger.verify(engine)
            except InvalidInput as error:
                key = signing.default_key_path()
                if error.field == "public_key" and not key.exists():
                    raise InvalidInput(NO_KEY.format(where=key.parent), field="public_key") from None
                raise

        self.in_thread(verify, self._verified, failed=self._not_verified, ended=self._verify_ended, group="verify")

    def _verify_ended(self) -> None:
        self.verifying = False

    def _verified(self, found: ledger.Verification) -> None:
        self.verified = Verified(self.clock(), found=found)
        if not found.ok:
            more = f" (and {len(found.problems) - 1} more)" if len(found.problems) > 1 else ""
            self.notify(found.problems[0] + more, title="The log does not verify", severity="error")
            return
        newest = found.newest
        vouched = f"; {newest.label} of {when(newest.signed_at)} holds the first {newest.tree_size:,}" if newest else ""
        self.notify(f"{found.events:,} events, up to position {found.sealed_position:,}{vouched}", title="Verified")

    def _not_verified(self, error: TenantAdminError) -> None:
        self.verified = Verified(self.clock(), problem=str(error))
        self.failed(error)

    def action_organizations(self) -> None:
        self._show(OrganizationsScreen)

    def action_audit_log(self) -> None:
        self._show(AuditLogScreen)

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.screen))

    def _show(self, kind: type[Screen[None]]) -> None:
        """Back to the screen of that kind if it is on the stack (keeping its state), else a new one on top."""
        for index, screen in enumerate(self.screen_stack):
            if isinstance(screen, kind):
                while len(self.screen_stack) > index + 1:
                    self.pop_screen()
                return
        self.push_screen(kind())

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        """Every action is in the command palette (ctrl+p) too."""
        yield from super().get_system_commands(screen)
        yield SystemCommand("Organizations", "The list of organizations", self.action_organizations)
        yield SystemCommand("Audit log", "Every event, live", self.action_audit_log)
        yield SystemCommand("Help", "The key bindings", self.action_help)
        yield from getattr(screen, "commands", lambda: ())()
