"""The ways a command can be refused. Front ends turn each into a message and an exit status."""


class ServiceError(Exception):
    """A command was refused; the message says why, in one line."""


class InvalidInput(ServiceError):
    """The operator's input is malformed (exit status 2)."""


class NotFound(ServiceError):
    """What the command names does not exist."""


class Conflict(ServiceError):
    """The command would break a uniqueness rule."""


class InvalidState(ServiceError):
    """The command does not apply to the thing in its present state."""
