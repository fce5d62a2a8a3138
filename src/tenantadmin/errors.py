"""tenantadmin's errors: one root, under which every layer raises, and which every front end catches.

No layer lets a driver's or SQLAlchemy's error escape: the store translates them, in one place
(``tenantadmin.store.errors.translated``). A front end maps these types to what it shows: the command line to exit
statuses (cli/errors.py), the TUI to messages. Every message is one line an operator can act on, and never carries a
secret or a statement's parameters.
"""


class TenantAdminError(Exception):
    """Something tenantadmin cannot do; the message says why, in one line."""


class ConfigError(TenantAdminError):
    """The configuration file or a configured URL cannot be used."""


class ServiceError(TenantAdminError):
    """A command was refused. ``field`` names the input the refusal is about (a parameter of the service, such as
    ``slug``), when it is about one: a form shows the message beside that field."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class InvalidInput(ServiceError):
    """The operator's input is malformed."""


class NotFound(ServiceError):
    """What the command names does not exist."""


class Conflict(ServiceError):
    """The command would break a uniqueness rule, or lost a race with another command: trying again may work."""


class Forbidden(ServiceError):
    """The database refused the command to the role that connected: it lacks the privilege (the message names the
    group role that has it)."""


class InvalidState(ServiceError):
    """The command does not apply to the thing in its present state."""


class DatabaseError(TenantAdminError):
    """The database cannot serve tenantadmin right now."""


class DatabaseUnavailable(DatabaseError):
    """No connection could be made or kept, or the embedded server could not be started."""


class UnsupportedServer(DatabaseError):
    """The server is older than the oldest PostgreSQL tenantadmin supports."""


class SchemaOutOfDate(DatabaseError):
    """The database's schema is not the one this tenantadmin was built for."""
