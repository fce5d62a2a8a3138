"""A form in a modal, each field checked as the operator types by the services' own rules (services.validation)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import ModalScreen
from textual.validation import ValidationResult, Validator
from textual.widgets import Button, Input, Label, Static

from tenantadmin.errors import InvalidInput

from ..literal import literal, visible


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    check: Callable[[str], Any] | None = None  # a services.validation rule; raises InvalidInput
    value: str = ""
    placeholder: str = ""
    required: bool = False
    password: bool = False


class ServiceRule(Validator):
    """A validation rule of the services, as Textual's Input understands validators."""

    def __init__(self, field: Field) -> None:
        super().__init__()
        self.field = field

    def validate(self, value: str) -> ValidationResult:
        if not value.strip():
            return self.failure(f"{self.field.label} is required") if self.field.required else self.success()
        if self.field.check is None:
            return self.success()
        try:
            self.field.check(value)
        except InvalidInput as error:
            return self.failure(str(error))
        return self.success()


class FormScreen(ModalScreen[dict[str, str] | None]):
    """Dismissed with the values typed (blank fields left out), or None when cancelled."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]
    AUTO_FOCUS = "Input"

    def __init__(self, title: str, fields: Sequence[Field], submit: str = "Save") -> None:
        super().__init__(classes="modal")
        self.form_title = title
        self.fields = list(fields)
        self.submit_label = submit

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="dialog"):
            yield Static(literal(self.form_title), classes="title")
            for field in self.fields:
                yield Label(field.label)
                yield Input(
                    value=visible(field.value),  # a stored value's controls shown, not sent (see ``typed``)
                    placeholder=field.placeholder,
                    password=field.password,
                    validators=[ServiceRule(field)],
                    validate_on=["changed", "submitted"],
                    id=f"field-{field.name}",
                )
                yield Static("", classes="problem", id=f"problem-{field.name}")
            with Horizontal(classes="buttons"):
                yield Button(self.submit_label, variant="primary", id="submit")
                yield Button("Cancel", id="cancel")

    def on_input_changed(self, event: Input.Changed) -> None:
        name = (event.input.id or "").removeprefix("field-")
        problems = event.validation_result.failure_descriptions if event.validation_result else []
        self.query_one(f"#problem-{name}", Static).update(literal(problems[0] if problems else ""))

    def on_input_submitted(self, _event: Input.Submitted) -> None:
        self.action_submit()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "submit":
            self.action_submit()
        else:
            self.action_cancel()

    def action_submit(self) -> None:
        values: dict[str, str] = {}
        for field in self.fields:
            widget = self.query_one(f"#field-{field.name}", Input)
            value = self.typed(field, widget.value)
            result = widget.validate(value)
            if result is not None and not result.is_valid:
                self.query_one(f"#problem-{field.name}", Static).update(literal(result.failure_descriptions[0]))
                widget.focus()
                return
            if value.strip():
                values[field.name] = value.strip() if not field.password else value
        self.dismiss(values)

    @staticmethod
    def typed(field: Field, text: str) -> str:
        """What the operator means by ``text``: a field left as it was shown keeps its stored value, control
        characters and all (it was shown with them made visible); anything typed is taken as it is."""
        return field.value if text == visible(field.value) else text

    def action_cancel(self) -> None:
        self.dismiss(None)
