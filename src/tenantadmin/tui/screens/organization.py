"""One organization: its fields (editable), its members and invitations, its API keys, its activity."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

from textual import work
from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, TabbedContent, TabPane

from tenantadmin.errors import TenantAdminError
from tenantadmin.services import audit, choices, keys, members, organizations, validation

from ..literal import literal, visible
from ..node import TenantAdminNode
from ..widgets.banner import DatabaseBanner
from ..widgets.confirm import ConfirmScreen
from ..widgets.form import Field, FormScreen
from ..widgets.secret import SecretScreen

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
# Which tab each action belongs to; the footer shows only the actions of the tab in view.
TAB_OF = {
    "edit": "overview",
    "suspend": "overview",
    "reactivate": "overview",
    "delete": "overview",
    "invite": "members",
    "resend": "members",
    "revoke_invitation": "members",
    "role": "members",
    "remove": "members",
    "issue": "keys",
    "revoke_key": "keys",
    "roll": "keys",
}
SHOWN_ONCE = "Shown only this once: it is stored hashed and cannot be recovered."


class OrganizationScreen(TenantAdminNode, Screen[None]):
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("e", "edit", "Edit"),
        Binding("s", "suspend", "Suspend"),
        Binding("a", "reactivate", "Reactivate"),
        Binding("D", "delete", "Delete"),
        Binding("i", "invite", "Invite"),
        Binding("r", "resend", "Resend"),
        Binding("x", "revoke_invitation", "Revoke invitation"),
        Binding("c", "role", "Change role"),
        Binding("m", "remove", "Remove member"),
        Binding("n", "issue", "Issue key"),
        Binding("v", "revoke_key", "Revoke key"),
        Binding("R", "roll", "Roll key"),
    ]

    def __init__(self, organization_id: uuid.UUID) -> None:
        super().__init__()
        self.organization_id = str(organization_id)
        self.record: organizations.OrganizationRecord | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        yield DatabaseBanner(id="banner")
        with TabbedContent(initial="overview"):
            with TabPane("Overview", id="overview"):
                yield DataTable(id="fields", cursor_type="row", show_header=False)
            with TabPane("Members", id="members"):
                yield DataTable(id="member-table", cursor_type="row", zebra_stripes=True)
            with TabPane("API keys", id="keys"):
                yield DataTable(id="key-table", cursor_type="row", zebra_stripes=True)
            with TabPane("Activity", id="activity"):
                yield DataTable(id="activity-table", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def action_refresh(self) -> None:
        self.load()

    def on_mount(self) -> None:
        self.query_one("#fields", DataTable).add_columns("Field", "Value")
        self.query_one("#member-table", DataTable).add_columns(
            "Email", "Role", "Status", "Invitation", "Expires", "Joined"
        )
        self.query_one("#key-table", DataTable).add_columns(
            "Key", "Name", "User", "Type", "Status", "Scopes", "Expires", "Last used"
        )
        self.query_one("#activity-table", DataTable).add_columns("Position", "Recorded", "Type", "Actor")
        self.load()

    def check_action(self, action: str, _parameters: tuple[object, ...]) -> bool | None:
        tab = TAB_OF.get(action)
        return tab is None or self.query_one(TabbedContent).active == tab  # False: hidden from the footer

    def on_tabbed_content_tab_activated(self, _event: TabbedContent.TabActivated) -> None:
        self.refresh_bindings()

    @work(thread=True, exclusive=True, group="organization")
    def load(self) -> None:
        engine = self.app.engine
        try:
            record = organizations.show(engine, self.organization_id)
            people = members.list_(engine, self.organization_id, include_past=True)
            held = keys.list_(engine, org=self.organization_id)
            activity = audit.list_(
                engine, audit.EventFilter(tags={"org_id": self.organization_id}), limit=200, reverse=True
            )
        except TenantAdminError as error:
            self.app.call_from_thread(self.app.failed, error)
            return
        self.app.call_from_thread(self.show, record, people, held, activity)

    def show(
        self,
        record: organizations.OrganizationRecord,
        people: list[members.MemberRecord],
        held: list[keys.KeyRecord],
        activity: list[audit.EventRecord],
    ) -> None:
        self.record = record
        self.sub_title = visible(f"{record.name} ({record.slug}) — {record.status}")
        fields = self.query_one("#fields", DataTable)
        fields.clear()
        for name, value in dataclasses.asdict(record).items():
            shown = f"{value:%Y-%m-%d %H:%M}" if isinstance(value, datetime) else str(value)
            fields.add_row(literal(name.replace("_", " ")), literal("-" if value in (None, "", {}) else shown))
        table = self.query_one("#member-table", DataTable)
        table.clear()
        open_invitation = (members.InvitationState.PENDING, members.InvitationState.EXPIRED)
        for person in people:
            table.add_row(
                *map(literal, (
                    person.email, person.role, person.status, person.invitation or "-",
                    f"{person.invitation_expires_at:%Y-%m-%d}" if person.invitation in open_invitation else "-",
                    f"{person.joined_at:%Y-%m-%d}" if person.joined_at else "-",
                )),
                key=person.email,
            )  # fmt: skip
        table = self.query_one("#key-table", DataTable)
        table.clear()
        for key in held:
            table.add_row(
                *map(literal, (
                    key.key_prefix, key.name, key.user_email, key.key_type, key.status, ",".join(key.scopes) or "-",
                    f"{key.expires_at:%Y-%m-%d}" if key.expires_at else "-",
                    f"{key.last_used_at:%Y-%m-%d}" if key.last_used_at else "-",
                )),
                key=key.key_id,
            )  # fmt: skip
        table = self.query_one("#activity-table", DataTable)
        table.clear()
        for event in activity:
            table.add_row(
                *map(
                    literal,
                    (event.position, f"{event.created_at:%Y-%m-%d %H:%M:%S}", event.event_type, event.actor or "-"),
                )
            )

    # --- helpers -------------------------------------------------------------------------------------------------

    def _selected(self, table_id: str) -> str | None:
        table = self.query_one(table_id, DataTable)
        if table.row_count == 0:
            self.notify("nothing selected", severity="warning")
            return None
        return table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value

    def _then_reload(self, message: str) -> Callable[[object], None]:
        def done(_result: object) -> None:
            self.app.notify(message)
            if self.is_attached:  # the operator may have left the screen while the command ran
                self.load()

        return done

    def _command(self, command: Callable[[], object], message: str) -> None:
        self.app.act(command, self._then_reload(message))

    def _secret(self, title: str) -> Callable[[keys.IssuedKey | members.Invitation], None]:
        def done(result: keys.IssuedKey | members.Invitation) -> None:
            self.app.push_screen(SecretScreen(title, result.token, SHOWN_ONCE))  # shown even if we have left
            if self.is_attached:
                self.load()

        return done

    # --- the organization ------------------------------------------------------------------------------------------

    def action_edit(self) -> None:
        if self.record is None:
            return
        current = dataclasses.asdict(self.record)
        fields = [dataclasses.replace(field, value=str(current.get(field.name) or "")) for field in EDITABLE]

        def edited(values: dict[str, str] | None) -> None:
            if values is None:
                return
            changes = {
                field.name: values.get(field.name)
                for field in EDITABLE
                if values.get(field.name) != (current.get(field.name) or None)
            }
            if not changes:
                self.notify("nothing changed")
                return
            self._command(
                lambda: organizations.update(self.app.engine, self.app.actor, self.organization_id, **changes),
                "organization updated",
            )

        self.app.push_screen(FormScreen(f"Edit {self.record.name}", fields), edited)

    def action_suspend(self) -> None:
        def confirmed(reason: str | None) -> None:
            if reason:
                self._command(
                    lambda: organizations.suspend(self.app.engine, self.app.actor, self.organization_id, reason=reason),
                    "organization suspended: its keys stop verifying",
                )

        self.app.push_screen(ConfirmScreen("Suspend this organization?", reason=True, confirm="Suspend"), confirmed)

    def action_reactivate(self) -> None:
        self._command(
            lambda: organizations.reactivate(self.app.engine, self.app.actor, self.organization_id),
            "organization reactivated",
        )

    def action_delete(self) -> None:
        def confirmed(answer: str | None) -> None:
            if answer is not None:
                self._command(
                    lambda: organizations.delete(self.app.engine, self.app.actor, self.organization_id),
                    "organization deleted; its keys are revoked",
                )

        self.app.push_screen(
            ConfirmScreen("Delete this organization? Its keys are revoked at once.", confirm="Delete"), confirmed
        )

    # --- members and invitations -----------------------------------------------------------------------------------

    def action_invite(self) -> None:
        fields = [
            Field("email", "Email", validation.email, required=True),
            Field(
                "role",
                f"Role: {choices.one_of(choices.ROLES)}",
                validation.role,
                value=choices.DEFAULT_ROLE,
                required=True,
            ),
            Field(
                "expires",
                f"Expires in ({choices.INVITATION_EXPIRY_HELP})",
                validation.invitation_expiry,
                placeholder=choices.span(choices.INVITATION_DEFAULT),
            ),
        ]

        def filled(values: dict[str, str] | None) -> None:
            if values:
                self.app.act(
                    lambda: members.invite(
                        self.app.engine, self.app.actor, self.organization_id, values["email"],
                        role=values["role"], expires=values.get("expires"),
                    ),
                    self._secret(f"Invitation token for {values['email']}"),
                )  # fmt: skip

        self.app.push_screen(FormScreen("Invite a member", fields, submit="Invite"), filled)

    def action_resend(self) -> None:
        if email := self._selected("#member-table"):
            self.app.act(
                lambda: members.resend(self.app.engine, self.app.actor, self.organization_id, email),
                self._secret(f"New invitation token for {email}"),
            )

    def action_revoke_invitation(self) -> None:
        if email := self._selected("#member-table"):

            def confirmed(answer: str | None) -> None:
                if answer is not None:
                    self._command(
                        lambda: members.revoke(self.app.engine, self.app.actor, self.organization_id, email),
                        f"invitation of {email} revoked",
                    )

            self.app.push_screen(ConfirmScreen(f"Revoke the invitation of {email}?", confirm="Revoke"), confirmed)

    def action_role(self) -> None:
        if email := self._selected("#member-table"):
            fields = [
                Field("role", f"New role of {email}: {choices.one_of(choices.ROLES)}", validation.role, required=True)
            ]

            def filled(values: dict[str, str] | None) -> None:
                if values:
                    self._command(
                        lambda: members.change_role(
                            self.app.engine, self.app.actor, self.organization_id, email, values["role"]
                        ),
                        f"{email} is now {values['role']}",
                    )

            self.app.push_screen(FormScreen("Change role", fields, submit="Change"), filled)

    def action_remove(self) -> None:
        if email := self._selected("#member-table"):

            def confirmed(answer: str | None) -> None:
                if answer is not None:
                    self._command(
                        lambda: members.remove(self.app.engine, self.app.actor, self.organization_id, email),
                        f"{email} removed; their keys here are revoked",
                    )

            self.app.push_screen(ConfirmScreen(f"Remove {email}?", confirm="Remove"), confirmed)

    # --- API keys --------------------------------------------------------------------------------------------------

    def action_issue(self) -> None:
        fields = [
            Field("user", "For (an active member's email)", validation.email, required=True),
            Field("name", "Name", lambda value: validation.required_text(value, "name"), required=True),
            Field(
                "key_type",
                f"Type: {choices.one_of(choices.KEY_TYPES)}",
                validation.key_type,
                value=choices.DEFAULT_KEY_TYPE,
            ),
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

        def filled(values: dict[str, str] | None) -> None:
            if values:
                self.app.act(
                    lambda: keys.issue(
                        self.app.engine, self.app.actor, self.organization_id, values["user"], name=values["name"],
                        key_type=values.get("key_type", choices.DEFAULT_KEY_TYPE),
                        scopes=values.get("scopes", "").split(), expires=values.get("expires"),
                        allowed_ips=values.get("allowed_ips", "").split(),
                    ),
                    self._secret(f"API key {values['name']}"),
                )  # fmt: skip

        self.app.push_screen(FormScreen("Issue an API key", fields, submit="Issue"), filled)

    def action_revoke_key(self) -> None:
        if key_id := self._selected("#key-table"):

            def confirmed(reason: str | None) -> None:
                if reason:
                    self._command(
                        lambda: keys.revoke(self.app.engine, self.app.actor, key_id, reason=reason),
                        f"key {key_id} revoked",
                    )

            self.app.push_screen(
                ConfirmScreen(
                    f"Revoke key {key_id}? Programs using it stop working now.", reason=True, confirm="Revoke"
                ),
                confirmed,
            )

    def action_roll(self) -> None:
        if key_id := self._selected("#key-table"):
            self.app.act(
                lambda: keys.roll(self.app.engine, self.app.actor, key_id),
                self._secret(
                    f"New key replacing {key_id} (the old one works for {choices.span(choices.ROLL_GRACE)} more)"
                ),
            )

    def commands(self) -> Iterator[SystemCommand]:
        """This screen's actions, for the command palette."""
        for binding in self.BINDINGS:  # the tab in view's only, as the footer: they act on its selection
            if isinstance(binding, Binding) and binding.action in TAB_OF and self.check_action(binding.action, ()):
                yield SystemCommand(
                    binding.description,
                    f"On this organization ({TAB_OF[binding.action]})",
                    getattr(self, f"action_{binding.action}"),
                )
