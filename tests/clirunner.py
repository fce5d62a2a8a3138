"""Running the command line as a script would, in a subprocess, with a controlled environment."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str

    def json(self):
        return json.loads(self.stdout)


def environment(home: Path, **extra: str) -> dict[str, str]:
    """No configuration from the machine: the user directories are the test's own, and no URL is set."""
    variables = {key: value for key, value in os.environ.items() if not key.startswith(("TENANTADMIN_", "XDG_"))}
    variables |= {
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / "config"),
        "XDG_DATA_HOME": str(home / "data"),
    }
    return variables | extra


def tenantadmin(*args: str, home: Path, stdin: str | None = None, **extra: str) -> Run:
    """``tenantadmin *args`` from ``home``, with the environment variables ``extra`` and ``stdin`` as its input
    (None: the test run's own standard input)."""
    result = subprocess.run(
        [sys.executable, "-m", "tenantadmin", *args],
        env=environment(home, **extra),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return Run(result.returncode, result.stdout, result.stderr)


@dataclass(frozen=True)
class CLI:
    """``cli("orgs", "list")``: the command line against one database, from a home of its own, as ``actor`` (its
    ``--actor``; None: no flag, the OS user), its standard input empty (no terminal) unless ``stdin`` is given."""

    url: str
    home: Path
    actor: str | None = None

    def __call__(self, *args: str, stdin: str = "", **extra: str) -> Run:
        flags = ("--actor", self.actor) if self.actor else ()
        return tenantadmin(*flags, *args, home=self.home, stdin=stdin, TENANTADMIN_DATABASE_URL=self.url, **extra)

    def acting_as(self, actor: str | None) -> CLI:
        return dataclasses.replace(self, actor=actor)
