"""What an operator chooses from, and what is chosen when they say nothing: defined here once, and read by the
services' rules (validation.py), the command line's options and help, and the TUI's forms alike."""

from __future__ import annotations

from datetime import timedelta

from tenantadmin.store.eventstore import EventSource
from tenantadmin.store.models import KeyType, MemberRole, OrganizationStatus

ROLES: tuple[str, ...] = tuple(role.value for role in MemberRole)
KEY_TYPES: tuple[str, ...] = tuple(key_type.value for key_type in KeyType)
ORGANIZATION_STATUSES: tuple[str, ...] = tuple(status.value for status in OrganizationStatus)
# A key's status as shown (and listed, and filtered on by `keys list --status`), in both front ends: worked out from
# its row as of now, the first of these that holds, so that it never contradicts what `keys verify` answers.
#   revoked    revoked, whatever else is true of it (verify: revoked);
#   expired    past its expires_at (a rolled key: once its grace has ended), or stored so (verify: expired);
#   exhausted  neither, but its usage count has reached its usage limit (verify: usage_limit_exceeded);
#   active     none of these: verify accepts it, from an allowed address while its organization is active.
# Expired and exhausted are never stored: the row stays active, and services/keys.py's status_of derives them.
KEY_STATUSES: tuple[str, ...] = ("active", "exhausted", "expired", "revoked")
# tenantadmin's group roles an operator can be granted (tenantadmin_<role>, migrations 0006 and 0007).
OPERATOR_ROLES: tuple[str, ...] = ("admin", "operator", "auditor", "verifier")
SOURCES: tuple[str, ...] = tuple(source.value for source in EventSource)
Source = EventSource  # where an action comes from, as an Actor says it: Source.CLI, Source.TUI, ...

DEFAULT_ROLE = MemberRole.MEMBER.value
DEFAULT_KEY_TYPE = KeyType.PERSONAL.value
DEFAULT_TIER = "free"
# The subscription tiers: an organization's is one of these, on create and on update (validation.tier). The column
# takes any text, so a tier written before this rule, or by other means, stays until an update changes it.
TIERS: tuple[str, ...] = ("free", "starter", "pro", "enterprise")

INVITATION_DEFAULT = timedelta(days=7)
INVITATION_LONGEST = timedelta(days=30)
ROLL_GRACE = timedelta(hours=24)


def span(duration: timedelta) -> str:
    """A duration as an operator types one: ``7d``, ``24h``, ``15m``, ``90s`` (a single day reads as ``24h``)."""
    seconds = int(duration.total_seconds())
    for unit, size in (("d", 86_400), ("h", 3_600), ("m", 60)):
        if seconds % size == 0 and seconds > size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def one_of(values: tuple[str, ...]) -> str:
    """``member, admin or owner``: the choices, as a sentence says them."""
    return ", ".join(values[:-1]) + f" or {values[-1]}" if len(values) > 1 else "".join(values)


INVITATION_EXPIRY_HELP = f"default {span(INVITATION_DEFAULT)}, at most {span(INVITATION_LONGEST)}"
ROLL_GRACE_HELP = f"default {span(ROLL_GRACE)}"
