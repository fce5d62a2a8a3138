"""A secret, shown once: the token of a new key or invitation, with a copy action and a warning."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from ..literal import literal

SHOWN_ONCE = "Shown only this once: it is stored hashed and cannot be recovered."


class SecretScreen(ModalScreen[None]):
    BINDINGS = [Binding("c", "copy", "Copy"), Binding("escape,enter", "dismiss", "Done")]
    AUTO_FOCUS = "#done"

    def __init__(self, title: str, secret: str, warning: str) -> None:
        super().__init__(classes="modal")
        self.secret_title = title
        self.secret = secret
        self.warning = warning

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(literal(self.secret_title), classes="title")
            yield Static(literal(self.secret), id="secret")
            yield Static(self.warning, classes="warning")
            with Horizontal(classes="buttons"):
                yield Button("Copy", variant="primary", id="copy")
                yield Button("Done", id="done")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "copy":
            self.action_copy()
        else:
            self.dismiss(None)

    def action_copy(self) -> None:
        self.app.copy_to_clipboard(self.secret)
        self.notify("copied to the clipboard")
