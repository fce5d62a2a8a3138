"""The organizations an operator granted with ``--org`` may see and change: what row-level security reads.

A login is scoped when it is a member of the group role ``tenantadmin_scoped`` (migration 0007); it then sees only
the organizations listed here for its name, and nothing at all when none is listed. Membership, not a row, says that it
is scoped, so that a login renamed or restored elsewhere (role oids change, names survive ``pg_dumpall``) loses what it
may see rather than seeing everything. Only ``tenantadmin operators grant`` writes this table (through the database's
function ``tenantadmin_grant_operator``); a login with no membership in ``tenantadmin_scoped`` sees every organization.
"""

from __future__ import annotations

import uuid

from sqlalchemy import ForeignKey, Text
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base


class OperatorOrganization(Base):
    __tablename__ = "operator_organizations"

    login: Mapped[str] = mapped_column(Text, primary_key=True)
    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), primary_key=True, index=True
    )
