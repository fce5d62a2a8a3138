"""How screens and widgets reach the running TenantAdminApp, typed, and the one way they do database work.

Database work runs in a thread worker (a query must never freeze the screen) started by ``in_thread``: its result
is handed to the UI thread, its error to ``TenantAdminApp.failed``, so that no worker, whatever it raises, ends the
app. Worker and UI threads share nothing else: what a worker needs is passed to it as arguments, what it finds comes
back as the result (or, for a follower, through ``deliver``), checked again on the UI thread before it is shown.
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

    _worker_app: TenantAdminApp  # the app, as seen on the UI thread when the last worker started (workers use this)

    def in_thread(
        self,
        job: Callable[[], Result],
        then: Callable[[Result], object] = lambda _result: None,
        *,
        group: str,
        exclusive: bool = True,
        failed: Callable[[TenantAdminError], object] | None = None,
        ended: Callable[[], object] | None = None,
    ) -> Worker[None]:
        """Run ``job`` in a thread; ``then`` gets its result on the UI thread, unless the worker was cancelled
        meanwhile (replaced by a newer one of its ``group`` when ``exclusive``) or this node was removed. An error of
        tenantadmin's goes to ``failed`` (by default the app's: a message to the operator); any other, in the job or
        in a callback, is a defect, reported, never the end of the app. ``ended`` is called on the UI thread however
        the job ended (a form's "running" cleared), before ``then`` or ``failed``.

        ``job`` must touch no widget and no state of the UI thread: what it needs is captured before it starts."""
        app = self._worker_app = self.app

        def run() -> None:
            worker = get_current_worker()
            try:
                result = job()
            except TenantAdminError as error:
                self._hand(worker, app, ended, failed or app.failed, error)
            except Exception as error:  # noqa: BLE001 (a defect: reported in the app, and the app goes on)
                self._hand(worker, app, ended, app.defect, error)
            else:
                self._hand(worker, app, ended, then, result)

        return self.run_worker(run, thread=True, group=group, exclusive=exclusive, exit_on_error=False)

    def deliver(self, callback: Callable[..., object], *arguments: Any) -> None:
        """From a job started by ``in_thread`` that hands over more than a result (a follower): call
        ``callback(*arguments)`` on the UI thread, unless the worker has been cancelled or the node removed."""
        self._hand(get_current_worker(), self._worker_app, None, callback, *arguments)

    def _hand(
        self,
        worker: Worker[None],
        app: TenantAdminApp,
        ended: Callable[[], object] | None,
        callback: Callable[..., object],
        *arguments: Any,
    ) -> None:
        """Hand ``callback(*arguments)`` to the UI thread, where it is checked again (cancelled, removed) and run,
        its own errors reported as defects."""

        def on_ui_thread() -> None:
            try:
                if ended is not None:
                    ended()
                if not worker.is_cancelled and self.is_attached:
                    callback(*arguments)
            except Exception as error:  # noqa: BLE001 (a defect of a callback: reported, the app goes on)
                app.defect(error)

        if not app.is_running:
            return
        try:
            app.call_from_thread(on_ui_thread)
        except RuntimeError:  # the app closed meanwhile
            return
