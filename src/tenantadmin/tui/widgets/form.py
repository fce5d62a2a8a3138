"""A form in a modal, each field checked as the operator types by the services' own rules (services.validation).

A form that is given its command runs it itself, and closes only when it succeeds: a refusal is shown beside the
field it is about (a taken slug under the slug), or above the buttons, and everything typed stays. The title and the
buttons stay in view however small the terminal; the fields between them scroll.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.validation import ValidationResult, Validator
from textual.widgets import Button, Input, Label, Select, Static

from tenantadmin.errors import InvalidInput, ServiceError, TenantAdminError

from ..literal import literal, visible
from ..node import TenantAdminNode

Result = TypeVar("Result")
Values = dict[str, str]


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    check: Callable[[str], Any] | None = None  # a services.validation rule; raises InvalidInput
    value: str = ""
    placeholder: str = ""
    required: bool = False
    password: bool = False
    options: tuple[str, ...] = ()  # a choice: shown as a select of these
    # Asked of the database (in a worker) once the value passes ``check``: a problem to show, or None.
    lookup: Callable[[str], str | None] | None = None
    # Filled in from another field as that one is typed, until the operator types here: (its name, the rule).
    suggested_from: tuple[str, Callable[[str], str]] | None = None


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


class FormScreen(TenantAdminNode, ModalScreen[Any], Generic[Result]):
    """Dismissed with the command's result when it has one (``run``), else with the values typed (blank fields left
    out); with None when cancelled."""

    BINDINGS = [Binding("escape", "cancel", "Cancel"), Binding("ctrl+s", "submit", "Submit")]
    AUTO_FOCUS = "#fields Input, #fields Select"

    def __init__(
        self,
        title: str,
        fields: Sequence[Field],
        submit: str = "Save",
        run: Callable[[Values], Result] | None = None,
    ) -> None:
        super().__init__(classes="modal")
        self.form_title = title
        self.fields = list(fields)
        self.submit_label = submit
        self.run = run
        self.suggested: dict[str, str] = {}  # what was last filled in, per field, while the operator has not typed
        self.running = False
        self.result: tuple[Result] | tuple[()] = ()  # the command's, once it is done

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog form"):
            yield Static(literal(self.form_title), classes="title")
            with VerticalScroll(id="fields"):
                for field in self.fields:
                    yield Label(literal(field.label))
                    if field.options:
                        yield Select(
                            [(literal(option), option) for option in self._options(field)],
                            value=field.value or Select.NULL,
                            allow_blank=not field.required,
                            prompt="(none)",
                            id=f"field-{field.name}",
                        )
                    else:
                        yield Input(
                            value=visible(field.value),  # a stored value's controls shown, not sent (see ``typed``)
                            placeholder=field.placeholder,
                            password=field.password,
                            validators=[ServiceRule(field)],
                            validate_on=["changed", "submitted"],
                            id=f"field-{field.name}",
                        )
                    yield Static("", classes="problem", id=f"problem-{field.name}")
            yield Static("", classes="problem", id="problem")
            with Horizontal(classes="buttons"):
                yield Button(self.submit_label, variant="primary", id="submit")
                yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        """The first field focused must not scroll the form past its own label."""
        self.call_after_refresh(self.query_one("#fields").scroll_home, animate=False)

    @staticmethod
    def _options(field: Field) -> tuple[str, ...]:
        """The choices, the stored value among them even when it is not one of today's (a tier retired since)."""
        return field.options if not field.value or field.value in field.options else (field.value, *field.options)

    def problem(self, name: str | None, message: str) -> None:
        """Show ``message`` beside field ``name``, or above the buttons when it is about no field of this form."""
        known = name is not None and any(field.name == name for field in self.fields)
        self.query_one(f"#problem-{name}" if known else "#problem", Static).update(literal(message))

    def on_input_changed(self, event: Input.Changed) -> None:
        name = (event.input.id or "").removeprefix("field-")
        field = next(field for field in self.fields if field.name == name)
        problems = event.validation_result.failure_descriptions if event.validation_result else []
        self.problem(name, problems[0] if problems else "")
        if not problems and field.lookup is not None and event.value.strip():
            self._look_up(field.name, field.lookup, event.value)
        self._suggest(name, event.value)

    def _look_up(self, name: str, lookup: Callable[[str], str | None], value: str) -> None:
        def found(problem: str | None) -> None:
            if self.query_one(f"#field-{name}", Input).value == value:  # not typed over meanwhile
                self.problem(name, problem or "")

        self.in_thread(lambda: lookup(value), found, group=f"lookup-{name}")

    def _suggest(self, source: str, value: str) -> None:
        """Fields suggested from ``source`` follow it, as long as they hold what was suggested (or nothing)."""
        for field in self.fields:
            if field.suggested_from is None or field.suggested_from[0] != source:
                continue
            widget = self.query_one(f"#field-{field.name}", Input)
            if widget.value in ("", self.suggested.get(field.name)):
                self.suggested[field.name] = suggestion = field.suggested_from[1](value)
                widget.value = suggestion

    def on_input_submitted(self, _event: Input.Submitted) -> None:
        self.action_submit()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "submit":
            self.action_submit()
        else:
            self.action_cancel()

    def values(self) -> Values | None:
        """What the form holds, each field checked; None (and the first problem shown, its field focused) if any
        field is refused."""
        values: Values = {}
        for field in self.fields:
            if field.options:
                choice = self.query_one(f"#field-{field.name}", Select).value
                if choice is not Select.NULL:
                    values[field.name] = str(choice)
                continue
            widget = self.query_one(f"#field-{field.name}", Input)
            value = self.typed(field, widget.value)
            result = widget.validate(value)
            if result is not None and not result.is_valid:
                self.problem(field.name, result.failure_descriptions[0])
                widget.focus()
                return None
            if value.strip():
                values[field.name] = value.strip() if not field.password else value
        return values

    def action_submit(self) -> None:
        if self.running or (values := self.values()) is None:
            return
        if self.run is None:
            self.dismiss(values)
            return
        run = self.run
        self.running = True
        self.problem(None, "")
        self.in_thread(lambda: run(values), self._done, failed=self._refused, ended=self._ended, group="form")

    def _ended(self) -> None:
        self.running = False

    def _done(self, result: Result) -> None:
        """Closed with the result, once the form is on top again (a secret shown meanwhile by another command must
        not be the screen that closes)."""
        self.result = (result,)
        if self.app.screen is self:
            self.dismiss(result)

    def on_screen_resume(self) -> None:
        if self.result:
            self.dismiss(self.result[0])

    def _refused(self, error: TenantAdminError) -> None:
        """A refusal stays in the form, beside its field; the database's trouble is the app's (its banner)."""
        if not isinstance(error, ServiceError):
            self.problem(None, str(error))
            self.app.failed(error)
            return
        self.problem(error.field, str(error))
        if error.field is not None and any(field.name == error.field for field in self.fields):
            self.query_one(f"#field-{error.field}").focus()

    @staticmethod
    def typed(field: Field, text: str) -> str:
        """What the operator means by ``text``: a field left as it was shown keeps its stored value, control
        characters and all (it was shown with them made visible); anything typed is taken as it is."""
        return field.value if text == visible(field.value) else text

    def action_cancel(self) -> None:
        """Not while the command runs: what it makes (a key, a token) must reach the operator."""
        if self.running:
            self.notify("still working: the form closes when the command is done", severity="warning")
            return
        self.dismiss(None)
