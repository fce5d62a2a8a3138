"""Who acts, and from where: every event records it, in its columns and its metadata."""

from __future__ import annotations

import getpass
import socket
from dataclasses import dataclass, field

from . import validation
from .choices import SOURCES


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name in the environment or the password database (some containers)
        return "unknown"


@dataclass(frozen=True)
class Actor:
    """The operator behind a command: a user by email when they said who they are, else the account they run as."""

    source: str  # cli, tui, api or system
    email: str | None = None
    os_user: str = field(default_factory=_os_user)
    host: str = field(default_factory=socket.gethostname)

    def __post_init__(self) -> None:
        if self.source not in SOURCES:
            raise ValueError(f"invalid source {self.source!r}: one of {', '.join(SOURCES)}")
        if self.email is not None:
            object.__setattr__(self, "email", validation.email(self.email))  # one person, whatever the case

    @property
    def name(self) -> str:
        """How an operator is shown: the email, else ``os_user@host``."""
        return self.email or f"{self.os_user}@{self.host}"
