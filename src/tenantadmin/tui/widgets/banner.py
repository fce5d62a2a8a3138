"""The banner every screen carries: shown while the database cannot be reached, gone when it is back."""

from __future__ import annotations

from textual.widgets import Static

from ..literal import literal


class DatabaseBanner(Static):
    def on_mount(self) -> None:
        self.watch(self.app, "database_problem", self._show, init=True)

    def _show(self, problem: str | None) -> None:
        self.set_class(problem is not None, "shown")
        self.update(literal(f"Database unreachable: {problem} (retrying)" if problem else ""))
