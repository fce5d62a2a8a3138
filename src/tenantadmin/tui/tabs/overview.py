"""The overview tab: the organization's fields, and what can be done to it (edit, suspend, reactivate, delete)."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Sparkline, Static

from tenantadmin.services import audit, choices, keys, organizations, validation
from tenantadmin.services.database import Bind
from tenantadmin.services.organizations import OrganizationRecord

from ..literal import visible
from ..widgets.form import Field, FormScreen
from ..widgets.records import RecordTable
from .tab import OrganizationTab

EDITABLE = [
    Field("name", "Name", lambda value: validation.required_text(value, "name"), required=True),
    Field("domain", "Domain"),
    Field("email", "Contact email", validation.email),
    Field("phone", "Phone"),
    Field("website", "Website"),
    Field("subscription_tier", "Subscription tier", required=True, options=choices.TIERS),
    Field("description", "Description"),
    Field("address_line1", "Address"),
    Field("address_line2", "Address, second line"),
    Field("city", "City"),
    Field("state", "State or region"),
    Field("postal_code", "Postal code"),
    Field("country", "Country"),
]
ACTIVITY_DAYS = 30
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


@dataclasses.dataclass(frozen=True)
class Overview:
    """What the tab shows: the organization, its events per day, and its keys (for their recent use)."""

    record: OrganizationRecord
    activity: audit.Histogram
    keys: list[keys.KeyRecord]


def use_of(key: keys.KeyRecord, now: datetime) -> str:
    """A key's recent use in a line: when it was last used, how often, from where."""
    if key.last_used_at is None:
        return f"{key.key_prefix}  {key.name}: never used"
    ago = max(now - key.last_used_at, timedelta(0))
    since = (f"{ago.days}d" if ago.days else f"{ago.seconds // 3600}h" if ago.seconds >= 3600
             else f"{ago.seconds // 60}m")  # fmt: skip
    where = f" from {key.last_used_ip}" if key.last_used_ip else ""
    return f"{key.key_prefix}  {key.name}: last used {since} ago{where}, {key.usage_count} uses counted"


class OverviewTab(OrganizationTab[str, Overview]):
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

    def compose(self) -> ComposeResult:
        yield RecordTable("Field", "Value", id="fields", show_header=False, zebra_stripes=False, widest=None)
        with Vertical(id="overview-charts"):
            yield Static(id="activity-caption", markup=False)
            yield Sparkline([], id="activity-chart")
            yield Static(id="key-use", markup=False)

    def read(self, engine: Bind, now: datetime) -> Overview:
        selection = audit.EventFilter(tags={"org_id": self.organization_id})
        return Overview(
            organizations.show(engine, self.organization_id),
            audit.per_day(engine, selection, days=ACTIVITY_DAYS, now=now),
            keys.list_(engine, org=self.organization_id),
        )

    def show(self, found: Overview) -> None:
        self.record = record = found.record
        self.table.fill(
            (name, name, (name.replace("_", " "), shown(value))) for name, value in dataclasses.asdict(record).items()
        )
        days, total = found.activity.buckets, found.activity.total
        self.query_one("#activity-caption", Static).update(
            f"Activity, the last {len(days)} days: {total} event{'' if total == 1 else 's'} "
            f"({days[0][0]:%Y-%m-%d} to {days[-1][0]:%Y-%m-%d}, busiest day {max(found.activity.counts)})"
        )
        self.query_one(Sparkline).data = found.activity.counts
        now = self.app.clock()
        lines = [visible(use_of(key, now)) for key in found.keys if key.status != "revoked"]
        self.query_one("#key-use", Static).update(
            "Keys in use:\n" + "\n".join(lines) if lines else "No API key that works."
        )
        self.refresh_bindings()
        self.post_message(self.Loaded(record))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in WHEN:
            return self.record is not None and self.record.status in WHEN[action]
        return super().check_action(action, parameters)

    @property
    def named(self) -> str:
        """The organization as a question names it: ``Acme Corporation (acme)``."""
        return "this organization" if self.record is None else f"{self.record.name} ({self.record.slug})"

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
        app, org = self.app, self.organization_id
        self.ask(
            f"Suspend {self.named}? Its API keys stop verifying.", "Suspend",
            lambda reason: organizations.suspend(app.engine, app.actor, org, reason=reason),
            self.then_reload("organization suspended: its keys stop verifying"), reason=True,
        )  # fmt: skip

    def action_reactivate(self) -> None:
        app, org = self.app, self.organization_id
        self.ask(
            f"Reactivate {self.named}? Its API keys verify again.", "Reactivate",
            lambda _reason: organizations.reactivate(app.engine, app.actor, org),
            self.then_reload("organization reactivated: its keys verify again"),
        )  # fmt: skip

    def action_delete(self) -> None:
        app, org = self.app, self.organization_id
        self.ask(
            f"Delete {self.named}? Its API keys are revoked at once.", "Delete",
            lambda _reason: organizations.delete(app.engine, app.actor, org),
            self.then_reload("organization deleted; its keys are revoked"),
        )  # fmt: skip
