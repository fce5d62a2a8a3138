"""`?`: the keys that work on the screen below, where it is (its tab's, its own, the app's)."""

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
        shown = {active.binding.action: active.binding for active in self.below.active_bindings.values()
                 if active.binding.show}  # fmt: skip
        lines.extend(
            f"  [b]{self.app.get_key_display(binding):>14}[/b]  {binding.description}" for binding in shown.values()
        )
        lines.append(f"  [b]{'shift+←/→':>14}[/b]  Scroll a wide table sideways (←/→ move between tabs)")
        lines += ["", "  [b]{:>14}[/b]  {}".format("ctrl+p", "Command palette: every action, by name")]
        with VerticalScroll():
            yield Static("\n".join(lines))
