"""What the TUI remembers between launches (the theme chosen), in a small JSON file of the user's state directory.

Remembering is a convenience: a file that cannot be read or written is ignored, and the app goes on as if new.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

log = logging.getLogger(__name__)


class Remembered:
    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.values: dict[str, str] = self._read()

    def _read(self) -> dict[str, str]:
        if self.path is None:
            return {}
        try:
            found = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as error:
            log.warning("ignoring %s: %s", self.path, error)
            return {}
        return {key: value for key, value in found.items() if isinstance(value, str)} if isinstance(found, dict) else {}

    def get(self, key: str) -> str | None:
        return self.values.get(key)

    def set(self, key: str, value: str) -> None:
        """Kept at once, written whole to a new file then moved over the old: never half a file."""
        if self.path is None or self.values.get(key) == value:
            return
        self.values[key] = value
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            partial = self.path.with_suffix(".partial")
            partial.write_text(json.dumps(self.values, indent=2), encoding="utf-8")
            os.replace(partial, self.path)
        except OSError as error:
            log.warning("cannot remember %s in %s: %s", key, self.path, error)
