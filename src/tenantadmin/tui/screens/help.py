"""`?`: the key bindings, of the app and of the screen below."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Static


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,question_mark,q", "dismiss", "Close")]

    def __init__(self, below: Screen[Any]) -> None:
        super().__init__()
        self.below = below

    def compose(self) -> ComposeResult:
        lines = ["[b]Keys[/b]", ""]
        lines.extend(
            f"  [b]{self.app.get_key_display(binding):>14}[/b]  {binding.description}"
            for source in (self.below, self.app)
            for binding in source.BINDINGS
            if isinstance(binding, Binding) and binding.show
        )
        lines += ["", "  [b]{:>14}[/b]  {}".format("ctrl+p", "Command palette: every action, by name")]
        with VerticalScroll():
            yield Static("\n".join(lines))
