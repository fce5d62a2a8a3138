"""How screens and widgets reach the running TenantAdminApp, typed, and the one way they do database work.

Database work runs in a thread worker (a query must never freeze the screen) started by ``in_thread``: its result
is handed to the UI thread, its error to ``TenantAdminApp.failed``, so that no worker, whatever it raises, ends the
app. Worker and UI threads share nothing else: what a worker needs is passed to it as arguments, what it finds comes
back as the result (or, for a follower, through ``deliver``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from textual.dom import DOMNode
from textual.worker import Worker, get_current_worker

from tenantadmin.errors import TenantAdminError

if TYPE_CHECKING:
    from textual import getters

    from .app import TenantAdminApp

Result = TypeVar("Result")


class TenantAdminNode(DOMNode):
    """Mixed into the screens and widgets that use what TenantAdminApp adds to App (put it first among the bases).

    Textual types ``self.app`` as a bare App, and app.py imports the screens, so they cannot import it at run time.
    This narrows the type only, the way Textual declares ``app`` itself (``getters.app``): at run time ``app`` stays
    Textual's own property, which returns the running app.
    """

    if TYPE_CHECKING:
        app = getters.app(TenantAdminApp)

    def in_thread(
        self,
        job: Callable[[], Result],
        then: Callable[[Result], object] = lambda _result: None,
        *,
        group: str,
        exclusive: bool = True,
        failed: Callable[[TenantAdminError], object] | None = None,
    ) -> Worker[None]:
        """Run ``job`` in a thread; ``then`` gets its result on the UI thread, unless the worker was cancelled
        meanwhile (replaced by a newer one of its ``group`` when ``exclusive``, or its node removed). An error of
        tenantadmin's goes to ``failed`` (by default the app's: a message to the operator); any other is a defect,
        reported, never the end of the app."""
        app = self.app

        def run() -> None:
            try:
                result = job()
            except TenantAdminError as error:
                self.deliver(failed or app.failed, error)
            except Exception as error:  # noqa: BLE001 (a defect: reported in the app, and the app goes on)
                self.deliver(app.defect, error)
            else:
                self.deliver(then, result)

        return self.run_worker(run, thread=True, group=group, exclusive=exclusive, exit_on_error=False)

    def deliver(self, callback: Callable[..., object], *arguments: Any) -> None:
        """From a worker started by ``in_thread``: call ``callback(*arguments)`` on the UI thread, unless the worker
        has been cancelled or the app is closing."""
        if get_current_worker().is_cancelled or not self.app.is_running:
            return
        try:
            self.app.call_from_thread(callback, *arguments)
        except RuntimeError:  # the app closed between the check and the call
            return
