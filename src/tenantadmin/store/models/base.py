"""What every table shares: the constraint naming convention, column types, and the "one of" check for enums.

Enumerations are VARCHAR columns guarded by a CHECK constraint, never PostgreSQL ENUM types: a CHECK can gain a value
in a transactional migration, and a downgrade has no type to forget to drop.
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, Enum, FetchedValue, MetaData, func, text
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING_CONVENTION = {
    "pk": "pk_%(table_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {
        datetime: DateTime(timezone=True),
        uuid.UUID: UUID(as_uuid=True),
        dict[str, Any]: JSONB,
        list[Any]: JSONB,
    }


def one_of(values: type[enum.StrEnum], name: str) -> Enum:
    """A VARCHAR column type whose values are checked by the database (constraint ``ck_<table>_<name>``)."""
    return Enum(
        values,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=20,
        validate_strings=True,
        values_callable=lambda members: [member.value for member in members],
    )


def generated_uuid() -> Mapped[uuid.UUID]:
    return mapped_column(primary_key=True, server_default=text("gen_random_uuid()"))


def json_object(name: str | None = None) -> Mapped[dict[str, Any]]:
    """A JSONB object defaulting to ``{}``; ``name`` where the attribute cannot be the column's name."""
    return mapped_column(name, server_default=text("'{}'::jsonb"))


def creation_time(*, index: bool = False) -> Mapped[datetime]:
    return mapped_column(server_default=func.now(), index=index)


def update_time() -> Mapped[datetime]:
    """Kept current by the ``set_updated_at`` trigger, so it holds whoever writes the row."""
    return mapped_column(server_default=func.now(), server_onupdate=FetchedValue())


# The hash of a one-time token (SHA-256, hex). The CHECK makes storing a token in plain text impossible.
TOKEN_DIGEST_PATTERN = "^[0-9a-f]{64}$"  # noqa: S105 (a pattern, not a secret)
