"""The tables of the seed plan as typed SQLAlchemy models; ``Base.metadata`` is what Alembic migrates to."""

from ..eventstore.model import EventSource
from .api_keys import ApiKey, KeyStatus, KeyType
from .base import NAMING_CONVENTION, Base
from .events import EventTag, StoredEvent
from .memberships import MemberRole, Membership, MembershipStatus
from .operators import OperatorOrganization
from .organizations import SLUG_MAX_LENGTH, SLUG_PATTERN, Organization, OrganizationStatus
from .seals import Checkpoint, EventLog, EventSeal, SealNode
from .users import EMAIL_PATTERN, User, UserRole, UserStatus

__all__ = [
    "EMAIL_PATTERN",
    "NAMING_CONVENTION",
    "SLUG_MAX_LENGTH",
    "SLUG_PATTERN",
    "ApiKey",
    "Base",
    "Checkpoint",
    "EventLog",
    "EventSeal",
    "EventSource",
    "EventTag",
    "KeyStatus",
    "KeyType",
    "MemberRole",
    "Membership",
    "MembershipStatus",
    "OperatorOrganization",
    "Organization",
    "OrganizationStatus",
    "SealNode",
    "StoredEvent",
    "User",
    "UserRole",
    "UserStatus",
]
