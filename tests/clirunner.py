"""Running the command line as a script would, in a subprocess, with a controlled environment."""

from __future__ import annotations

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


def tenantadmin(*args: str, home: Path, input: str | None = None, **extra: str) -> Run:
    result = subprocess.run(
        [sys.executable, "-m", "tenantadmin", *args],
        env=environment(home, **extra),
        input=input,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return Run(result.returncode, result.stdout, result.stderr)
