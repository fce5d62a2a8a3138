"""Why the database cannot be used. Front ends map each to a message and exit status 3."""


class DatabaseError(Exception):
    """The database cannot serve tenantadmin right now."""


class DatabaseUnavailable(DatabaseError):
    """No connection could be made, or the embedded server could not be started."""


class UnsupportedServer(DatabaseError):
    """The server is older than the oldest PostgreSQL tenantadmin supports."""


class SchemaOutOfDate(DatabaseError):
    """The database's schema is not the one this tenantadmin was built for."""


class RevisionError(ValueError):
    """Alembic refused a revision argument: unknown, or not reachable in the direction asked."""
