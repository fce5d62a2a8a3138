"""The overview tab: the organization's fields, and what can be done to it (edit, suspend, reactivate, delete)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import datetime
from typing import Any, ClassVar

from textual.binding import Binding
from textual.message import Message

from tenantadmin.services import organizations, validation
from tenantadmin.services.organizations import OrganizationRecord

from ..widgets.confirm import ConfirmScreen
from ..widgets.form import Field, FormScreen
from ..widgets.records import RecordTable
from .tab import OrganizationTab

EDITABLE = [
    Field("name", "Name", lambda value: validation.required_text(value, "name"), required=True),
    Field("domain", "Domain"),
    Field("email", "Contact email", validation.email),
    Field("phone", "Phone"),
    Field("website", "Website"),
    Field("subscription_tier", "Subscription tier", required=True),
    Field("description", "Description"),
    Field("address_line1", "Address"),
    Field("address_line2", "Address, second line"),
    Field("city", "City"),
    Field("state", "State or region"),
    Field("postal_code", "Postal code"),
    Field("country", "Country"),
]
# What each action needs the organization's status to be: an action that cannot apply is not offered.
WHEN = {
    "edit": ("active", "suspended"),
    "suspend": ("active",),
    "reactivate": ("suspended",),
    "delete": ("active", "suspended"),
}


def shown(value: object) -> str:
    """A field's value as the overview shows it: times to the minute, nothing as ``-``."""
    if value in (None, "", {}):
        return "-"
    return f"{value:%Y-%m-%d %H:%M}" if isinstance(value, datetime) else str(value)


class OverviewTab(OrganizationTab[str, OrganizationRecord]):
    BINDINGS: ClassVar[list[Binding | tuple[str, str] | tuple[str, str, str]]] = [
        Binding("e", "edit", "Edit"),
        Binding("s", "suspend", "Suspend"),
        Binding("a", "reactivate", "Reactivate"),
        Binding("D", "delete", "Delete"),
    ]

    @dataclasses.dataclass
    class Loaded(Message):
        """The organization as just read: the screen's title says which it is."""

        record: OrganizationRecord

    record: OrganizationRecord | None = None

    def make_table(self) -> RecordTable[str]:
        return RecordTable("Field", "Value", id="fields", show_header=False, zebra_stripes=False, widest=None)

    def read(self) -> OrganizationRecord:
        return organizations.show(self.app.engine, self.organization_id)

    def show(self, found: OrganizationRecord) -> None:
        self.record = found
        self.table.fill(
            (name, name, (name.replace("_", " "), shown(value))) for name, value in dataclasses.asdict(found).items()
        )
        self.refresh_bindings()
        self.post_message(self.Loaded(found))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in WHEN:
            return self.record is not None and self.record.status in WHEN[action]
        return super().check_action(action, parameters)

    @property
    def named(self) -> str:
        """The organization as a question names it: ``Acme Corporation (acme)``."""
        return "this organization" if self.record is None else f"{self.record.name} ({self.record.slug})"

    def _command(self, command: Callable[..., Any], message: str, **arguments: str) -> None:
        app = self.app
        done = self.then_reload(message)
        app.act(lambda: command(app.engine, app.actor, self.organization_id, **arguments), done)

    def action_edit(self) -> None:
        if self.record is None:
            return
        current = dataclasses.asdict(self.record)
        fields = [dataclasses.replace(field, value=str(current.get(field.name) or "")) for field in EDITABLE]
        app = self.app

        def update(values: dict[str, str]) -> OrganizationRecord:
            changes = {
                field.name: values.get(field.name)
                for field in EDITABLE
                if values.get(field.name) != (current.get(field.name) or None)
            }
            return organizations.update(app.engine, app.actor, self.organization_id, **changes)  # none: refused

        def edited(record: OrganizationRecord | None) -> None:
            if record is not None:
                self.then_reload("organization updated")(record)

        self.app.push_screen(FormScreen(f"Edit {self.named}", fields, run=update), edited)

    def action_suspend(self) -> None:
        def confirmed(reason: str | None) -> None:
            if reason:
                self._command(organizations.suspend, "organization suspended: its keys stop verifying", reason=reason)

        self.app.push_screen(
            ConfirmScreen(f"Suspend {self.named}? Its API keys stop verifying.", reason=True, confirm="Suspend"),
            confirmed,
        )

    def action_reactivate(self) -> None:
        self._command(organizations.reactivate, "organization reactivated")

    def action_delete(self) -> None:
        def confirmed(answer: str | None) -> None:
            if answer is not None:
                self._command(organizations.delete, "organization deleted; its keys are revoked")

        self.app.push_screen(
            ConfirmScreen(f"Delete {self.named}? Its API keys are revoked at once.", confirm="Delete"), confirmed
        )
