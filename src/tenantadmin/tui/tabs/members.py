"""The members tab: members and invitations, past ones included, and what can be done to each."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from textual.binding import Binding

from tenantadmin.services import choices, members, validation
from tenantadmin.services.database import Bind
from tenantadmin.services.members import InvitationState, MemberRecord

from ..statuses import coloured
from ..widgets.form import Field, FormScreen
from ..widgets.secret import SHOWN_ONCE, SecretScreen
from .tab import OrganizationTab

OPEN = (InvitationState.PENDING, InvitationState.EXPIRED)  # an invitation that can still be resent or revoked


def applies(action: str, person: MemberRecord) -> bool:
    """Whether ``action`` can be done to ``person``: an accepted invitation is not revoked, a past member not
    removed."""
    if action in ("resend", "revoke_invitation"):
        return person.invitation in OPEN
    return person.status == "active"  # role, remove


class MembersTab(OrganizationTab[MemberRecord, list[MemberRecord]]):
    COLUMNS = ("Email", "Role", "Status", "Invitation", "Expires", "Joined")
    TABLE = "member-table"
    EVERY = 30.0
    ROW_ACTIONS: ClassVar[dict[str, str]] = {
        "resend": "invitation",
        "revoke_invitation": "invitation",
        "role": "member",
        "remove": "member",
    }
    BINDINGS: ClassVar[list[Binding | tuple[str, str] | tuple[str, str, str]]] = [
        Binding("i", "invite", "Invite"),
        Binding("r", "resend", "Resend"),
        Binding("x", "revoke_invitation", "Revoke invitation"),
        Binding("c", "role", "Change role"),
        Binding("m", "remove", "Remove member"),
    ]

    def read(self, engine: Bind, _now: datetime) -> list[MemberRecord]:
        return members.list_(engine, self.organization_id, include_past=True)

    def show(self, found: list[MemberRecord]) -> None:
        self.table.fill(
            (person.email, person, (
                person.email, person.role, coloured(self.app, person.status),
                coloured(self.app, person.invitation) if person.invitation else "-",
                f"{person.invitation_expires_at:%Y-%m-%d %H:%M}"
                if person.invitation in OPEN and person.invitation_expires_at else "-",
                f"{person.joined_at:%Y-%m-%d}" if person.joined_at else "-",
            ))
            for person in found
        )  # fmt: skip
        self.refresh_bindings()

    def applies(self, action: str, record: MemberRecord) -> bool:
        return applies(action, record)

    def action_invite(self) -> None:
        app = self.app
        fields = [
            Field("email", "Email", validation.email, required=True),
            Field("role", "Role", value=choices.DEFAULT_ROLE, required=True, options=choices.ROLES),
            Field(
                "expires",
                f"Expires in ({choices.INVITATION_EXPIRY_HELP})",
                validation.invitation_expiry,
                placeholder=choices.span(choices.INVITATION_DEFAULT),
            ),
        ]

        def invite(values: dict[str, str]) -> tuple[str, members.Invitation]:
            made = members.invite(
                app.engine, app.actor, self.organization_id, values["email"],
                role=values["role"], expires=values.get("expires"),
            )  # fmt: skip
            return values["email"], made

        self.app.push_screen(FormScreen("Invite a member", fields, submit="Invite", run=invite), self._token)

    def _token(self, made: tuple[str, members.Invitation] | None) -> None:
        if made is not None:
            email, invitation = made
            self.app.push_screen(SecretScreen(f"Invitation token for {email}", invitation.token, SHOWN_ONCE))
            if self.is_attached:
                self.load()

    def action_resend(self) -> None:
        if (person := self.chosen("resend")) is None:
            return
        app, org, email = self.app, self.organization_id, person.email
        self.ask(
            f"Send {email} a new invitation token? The token sent before stops working.", "Resend",
            lambda _reason: (email, members.resend(app.engine, app.actor, org, email)), self._token,
        )  # fmt: skip

    def action_revoke_invitation(self) -> None:
        if (person := self.chosen("revoke_invitation")) is None:
            return
        app, org, email = self.app, self.organization_id, person.email
        self.ask(
            f"Revoke the invitation of {email}? Its token stops working.", "Revoke",
            lambda _reason: members.revoke(app.engine, app.actor, org, email),
            self.then_reload(f"invitation of {email} revoked"),
        )  # fmt: skip

    def action_role(self) -> None:
        if (person := self.chosen("role")) is None:
            return
        app, email = self.app, person.email
        fields = [Field("role", f"New role of {email}", value=person.role, required=True, options=choices.ROLES)]

        def change(values: dict[str, str]) -> MemberRecord:
            return members.change_role(app.engine, app.actor, self.organization_id, email, values["role"])

        def changed(record: MemberRecord | None) -> None:
            if record is not None:
                self.then_reload(f"{email} is now {record.role}")(record)

        self.app.push_screen(FormScreen(f"Change the role of {email}", fields, submit="Change", run=change), changed)

    def action_remove(self) -> None:
        if (person := self.chosen("remove")) is None:
            return
        app, org, email = self.app, self.organization_id, person.email
        self.ask(
            f"Remove {email} from this organization? Their API keys here are revoked.", "Remove",
            lambda _reason: members.remove(app.engine, app.actor, org, email),
            self.then_reload(f"{email} removed; their keys here are revoked"),
        )  # fmt: skip
