"""Alembic, driven from code: where the scripts are, which revision a database is at, and moving it.

``HEAD_REVISION`` lets every command check the schema with one query and without importing Alembic (a few hundred
milliseconds); a test keeps it equal to the scripts' head.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from tenantadmin.errors import InvalidInput, SchemaOutOfDate

from .engine import safe_url
from .errors import translated

if TYPE_CHECKING:
    from alembic.config import Config

HEAD_REVISION = "0009"

# Taken (transaction-scoped) by alembic/env.py, so that concurrent upgrades of one database run one after the other.
MIGRATION_LOCK_ID = 0x7E4A_0001

UPGRADE_HINT = "run `tenantadmin db upgrade`"


def script_location() -> Path:
    """``tenantadmin/alembic`` inside an installed wheel; the checkout's ``alembic/`` for an editable install."""
    package = Path(__file__).resolve().parents[1]
    packaged = package / "alembic"
    return packaged if packaged.is_dir() else package.parents[1] / "alembic"


def alembic_config(connection: Connection) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(script_location()))
    config.attributes["connection"] = connection
    return config


def current_revision(connection: Connection) -> str | None:
    """The database's revision; None for a database tenantadmin never migrated."""
    if connection.scalar(sa.text("SELECT to_regclass('alembic_version')")) is None:
        return None
    revision = connection.scalar(sa.text("SELECT version_num FROM alembic_version"))
    return None if revision is None else str(revision)


def is_known(revision: str) -> bool:
    from alembic.script import ScriptDirectory
    from alembic.util import CommandError

    scripts = ScriptDirectory(str(script_location()))
    try:
        return scripts.get_revision(revision) is not None
    except CommandError:
        return False


def upgrade(engine: Engine, revision: str = "head") -> None:
    from alembic import command

    _run(engine, command.upgrade, revision)


def downgrade(engine: Engine, revision: str) -> None:
    from alembic import command

    _run(engine, command.downgrade, revision)


def _run(engine: Engine, move: Callable[[Config, str], None], revision: str) -> None:
    from alembic.util import CommandError

    try:
        with translated(f"cannot migrate {safe_url(engine.url)}", "migrate"), engine.begin() as connection:
            move(alembic_config(connection), revision)
    except CommandError as error:
        raise InvalidInput(str(error)) from error


def require_head(revision: str | None, url: str) -> None:
    """Refuse a database whose schema differs from this tenantadmin's, saying what to do about it."""
    if revision == HEAD_REVISION:
        return
    where = safe_url(url)
    if revision is None:
        raise SchemaOutOfDate(f"the database at {where} has no tenantadmin schema: {UPGRADE_HINT}")
    if is_known(revision):
        raise SchemaOutOfDate(
            f"the database at {where} is at schema revision {revision}, behind this tenantadmin's "
            f"{HEAD_REVISION}: {UPGRADE_HINT}"
        )
    raise SchemaOutOfDate(
        f"the database at {where} is at schema revision {revision}, which this tenantadmin does not know "
        "(a newer tenantadmin migrated it): upgrade tenantadmin"
    )
