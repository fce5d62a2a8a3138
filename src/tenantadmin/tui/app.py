"""The tenantadmin TUI: organizations, members, keys and the live audit log, over the same services as the CLI."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.notifications import SeverityLevel
from textual.reactive import reactive
from textual.screen import Screen

from tenantadmin.errors import DatabaseError, ServiceError, TenantAdminError
from tenantadmin.services import database
from tenantadmin.services.actor import Actor
from tenantadmin.services.database import Bind

from .literal import visible
from .screens.audit_log import AuditLogScreen
from .screens.help import HelpScreen
from .screens.organizations import OrganizationsScreen

Result = TypeVar("Result")


class TenantAdminApp(App[None]):
    CSS_PATH = "app.tcss"
    TITLE = "tenantadmin"
    BINDINGS = [
        Binding("o", "organizations", "Organizations"),
        Binding("l", "audit_log", "Audit log"),
        Binding("question_mark", "help", "Help"),
        Binding("q", "quit", "Quit"),
    ]

    HEALTH_CHECK_SECONDS = 2.0
    database_problem: reactive[str | None] = reactive(None)  # why the database cannot be reached, while it cannot

    def __init__(self, engine: Bind, actor: Actor) -> None:
        super().__init__()
        self.engine = engine
        self.actor = actor

    def on_mount(self) -> None:
        self.push_screen(OrganizationsScreen())
        self.set_interval(self.HEALTH_CHECK_SECONDS, self.check_database)

    def check_database(self) -> None:
        """A lost connection shows a banner; when the database answers again the banner goes and the screen reloads.
        (The pool drops dead connections on the first failure, so the next check connects afresh.)"""

        def run() -> None:
            try:
                database.ping(self.engine)
            except DatabaseError as error:
                self.call_from_thread(setattr, self, "database_problem", str(error))
                return
            if self.database_problem is not None:
                self.call_from_thread(self.database_back)

        self.run_worker(run, thread=True, exclusive=True, group="health")

    def database_back(self) -> None:
        self.database_problem = None
        self.notify("The database is back.")
        if refresh := getattr(self.screen, "action_refresh", None):
            refresh()

    def act(self, command: Callable[[], Result], done: Callable[[Result], None]) -> None:
        """Run a service command in a worker thread; ``done`` gets its result on the UI thread. A refusal is a
        message to the operator, never a crash."""

        def run() -> None:
            try:
                result = command()
            except TenantAdminError as error:
                self.call_from_thread(self.failed, error)
                return
            self.call_from_thread(done, result)

        self.run_worker(run, thread=True, group="commands")

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
        self.notify(str(error), title="Database", severity="error")
        if isinstance(error, DatabaseError):
            self.check_database()

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
