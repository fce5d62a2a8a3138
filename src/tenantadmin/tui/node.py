"""How screens and widgets reach the running TenantAdminApp, typed: its engine, actor, ``act`` and ``failed``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.message_pump import MessagePump

if TYPE_CHECKING:
    from textual import getters

    from .app import TenantAdminApp


class TenantAdminNode(MessagePump):
    """Mixed into the screens and widgets that use what TenantAdminApp adds to App (put it first among the bases).

    Textual types ``self.app`` as a bare App, and app.py imports the screens, so they cannot import it at run time.
    This narrows the type only, the way Textual declares ``app`` itself (``getters.app``): at run time ``app`` stays
    Textual's own property, which returns the running app.
    """

    if TYPE_CHECKING:
        app = getters.app(TenantAdminApp)
