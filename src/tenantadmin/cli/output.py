"""Writing results: data on stdout (a table, or JSON with --json), messages on stderr. NO_COLOR is honoured."""

from __future__ import annotations

import dataclasses
import enum
import json
import os
import sys
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network
from typing import Any

import click

from .context import Settings


def plain(value: Any) -> Any:
    """A value as JSON holds it: times in ISO 8601, ids and addresses as text."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {field.name: plain(getattr(value, field.name)) for field in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(key): plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, uuid.UUID | IPv4Address | IPv6Address | IPv4Network | IPv6Network):
        return str(value)
    return value


def to_json(value: Any, *, indent: int | None = 2) -> str:
    return json.dumps(plain(value), indent=indent, ensure_ascii=False)


def emit_record(settings: Settings, record: Any) -> None:
    """One object: JSON with --json, else ``key  value`` lines."""
    data = plain(record)
    if settings.json:
        click.echo(to_json(data))
        return
    width = max(map(len, data), default=0)
    for key, value in data.items():
        click.echo(f"{key.replace('_', ' '):<{width}}  {cell(value)}")


def emit_table(settings: Settings, records: Sequence[Any], columns: Sequence[tuple[str, str]]) -> None:
    """Many objects: a JSON array with --json (every field), else a table of ``columns`` (field, heading)."""
    rows = [plain(record) for record in records]
    if settings.json:
        click.echo(to_json(rows))
        return
    if not rows:
        message(settings, "nothing to show")
        return
    cells = [[heading.upper() for _, heading in columns]] + [
        [cell(row.get(name)) for name, _ in columns] for row in rows
    ]
    widths = [max(len(line[index]) for line in cells) for index in range(len(columns))]
    for number, line in enumerate(cells):
        text = "  ".join(value.ljust(width) for value, width in zip(line, widths, strict=True)).rstrip()
        click.echo(style(text, bold=True) if number == 0 else text)


def cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list) and all(isinstance(item, str | int) for item in value):
        return ",".join(map(str, value)) or "-"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    if isinstance(value, str) and len(value) >= 19 and value[10:11] == "T":  # an ISO time: to the second
        return value[:19].replace("T", " ")
    return str(value)


def colour() -> bool:
    return "NO_COLOR" not in os.environ and sys.stdout.isatty()


def style(text: str, **styles: Any) -> str:
    return click.style(text, **styles) if colour() else text


def message(settings: Settings, text: str) -> None:
    if not settings.quiet:
        click.echo(text, err=True)


def warn(text: str) -> None:
    """Always shown, even with -q: what the operator must not miss (a secret that will not be shown again)."""
    click.echo(
        click.style(text, fg="yellow", bold=True) if "NO_COLOR" not in os.environ and sys.stderr.isatty() else text,
        err=True,
    )
