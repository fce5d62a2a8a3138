"""Are you sure? A destructive action asks first, with a reason when the audit log wants one."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Static

from ..literal import literal


class ConfirmScreen(ModalScreen[str | None]):
    """Dismissed with the reason (empty when none is asked for), or None when cancelled."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]
    AUTO_FOCUS = None  # on_mount decides

    def __init__(self, question: str, *, reason: bool = False, confirm: str = "Confirm") -> None:
        super().__init__(classes="modal")
        self.question = question
        self.ask_reason = reason
        self.confirm_label = confirm

    def on_mount(self) -> None:
        """The reason first when one is asked for; else Cancel: Enter alone must never destroy anything."""
        self.query_one("#reason" if self.ask_reason else "#cancel").focus()

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(literal(self.question), classes="title")
            if self.ask_reason:
                yield Input(placeholder="Reason (recorded in the audit log)", id="reason")
            with Horizontal(classes="buttons"):
                yield Button(self.confirm_label, variant="error", id="confirm")
                yield Button("Cancel", id="cancel")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "confirm":
            self._confirm()
        else:
            self.action_cancel()

    def on_input_submitted(self, _event: Input.Submitted) -> None:
        self._confirm()

    def _confirm(self) -> None:
        reason = self.query_one("#reason", Input).value.strip() if self.ask_reason else ""
        if self.ask_reason and not reason:
            self.notify("a reason is required", severity="error")
            return
        self.dismiss(reason)

    def action_cancel(self) -> None:
        self.dismiss(None)
