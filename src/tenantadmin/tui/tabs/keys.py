"""The API keys tab: the organization's keys, and issuing, revoking and rolling them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import ClassVar

from textual.binding import Binding

from tenantadmin.services import choices, keys, members, validation
from tenantadmin.services.database import Bind
from tenantadmin.services.keys import IssuedKey, KeyRecord

from ..statuses import coloured
from ..widgets.form import Field, FormScreen
from ..widgets.secret import SHOWN_ONCE, SecretScreen
from .tab import OrganizationTab


def applies(action: str, key: KeyRecord) -> bool:
    """A revoked key is not revoked again; a key is rolled while it works, or once its uses are used up."""
    if action == "revoke_key":
        return key.status != "revoked"
    return key.status in ("active", "exhausted") and key.replaced_by is None  # roll


def expiry(key: KeyRecord) -> str:
    """When the key stops working: a rolled key's end of grace to the second, since it is near."""
    if key.grace_ends_at is not None:
        return f"{key.grace_ends_at:%Y-%m-%d %H:%M:%S} (rolled)"
    return f"{key.expires_at:%Y-%m-%d %H:%M}" if key.expires_at else "-"


class KeysTab(OrganizationTab[KeyRecord, list[KeyRecord]]):
    COLUMNS = ("Key", "Name", "User", "Type", "Status", "Scopes", "Expires", "Last used")
    TABLE = "key-table"
    EVERY = 15.0
    ROW_ACTIONS: ClassVar[dict[str, str]] = {"revoke_key": "key", "roll": "key"}
    BINDINGS: ClassVar[list[Binding | tuple[str, str] | tuple[str, str, str]]] = [
        Binding("n", "issue", "Issue key"),
        Binding("v", "revoke_key", "Revoke key"),
        Binding("R", "roll", "Roll key"),
    ]

    def read(self, engine: Bind, _now: datetime) -> list[KeyRecord]:
        return keys.list_(engine, org=self.organization_id)

    def show(self, found: list[KeyRecord]) -> None:
        self.table.fill(
            (key.key_id, key, (
                key.key_prefix, key.name, key.user_email, key.key_type, coloured(self.app, key.status),
                ",".join(key.scopes) or "-", expiry(key),
                f"{key.last_used_at:%Y-%m-%d %H:%M}" if key.last_used_at else "-",
            ))
            for key in found
        )  # fmt: skip
        self.refresh_bindings()

    def applies(self, action: str, record: KeyRecord) -> bool:
        return applies(action, record)

    def action_issue(self) -> None:
        """The form offers the organization's active members, read first."""
        app = self.app

        def active() -> list[str]:
            return [person.email for person in members.list_(app.engine, self.organization_id)
                    if person.status == "active"]  # fmt: skip

        self.in_thread(active, self._issue_form, group="issue-form")

    def _issue_form(self, emails: list[str]) -> None:
        if not emails:
            self.notify("no active member to issue a key to: invite one first", severity="warning")
            return
        app = self.app
        fields = [
            Field("user", "For (an active member)", required=True, options=tuple(emails), value=emails[0]),
            Field("name", "Name", lambda value: validation.required_text(value, "name"), required=True),
            Field("key_type", "Type", value=choices.DEFAULT_KEY_TYPE, required=True, options=choices.KEY_TYPES),
            Field(
                "scopes", "Scopes, space-separated (orgs:read keys:*)", lambda value: validation.scopes(value.split())
            ),
            Field(
                "expires",
                "Expires in (90d) or at (ISO time); empty: never",
                lambda value: validation.expiry(value, now=datetime.now(UTC), default=None, longest=None),
            ),
            Field(
                "allowed_ips",
                "Allowed IPs or CIDR ranges, space-separated",
                lambda value: validation.networks(value.split()),
            ),
        ]

        def issue(values: dict[str, str]) -> IssuedKey:
            return keys.issue(
                app.engine, app.actor, self.organization_id, values["user"], name=values["name"],
                key_type=values["key_type"], scopes=values.get("scopes", "").split(), expires=values.get("expires"),
                allowed_ips=values.get("allowed_ips", "").split(),
            )  # fmt: skip

        self.app.push_screen(FormScreen("Issue an API key", fields, submit="Issue", run=issue), self._shown)

    def _shown(self, made: IssuedKey | None) -> None:
        if made is not None:
            self.app.push_screen(SecretScreen(f"API key {made.key.name}", made.token, SHOWN_ONCE))
            if self.is_attached:
                self.load()

    def action_revoke_key(self) -> None:
        if (key := self.chosen("revoke_key")) is None:
            return
        app, key_id, named = self.app, key.key_id, f"{key.key_prefix} ({key.name})"
        self.ask(
            f"Revoke key {named}, of {key.user_email}? Programs using it stop working now.", "Revoke",
            lambda reason: keys.revoke(app.engine, app.actor, key_id, reason=reason),
            self.then_reload(f"key {named} revoked"), reason=True,
        )  # fmt: skip

    def action_roll(self) -> None:
        if (key := self.chosen("roll")) is None:
            return
        app, key_id, grace = self.app, key.key_id, choices.span(choices.ROLL_GRACE)
        self.ask(
            f"Roll key {key.key_prefix} ({key.name})? A new key replaces it; the old one keeps working for {grace}, "
            "then stops.", "Roll",
            lambda _reason: keys.roll(app.engine, app.actor, key_id), self._shown,
        )  # fmt: skip
