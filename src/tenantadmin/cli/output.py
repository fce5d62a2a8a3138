"""Writing results: data on stdout (a table, or JSON with --json), messages on stderr."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import click

from .context import Settings


def emit_record(settings: Settings, record: Mapping[str, Any]) -> None:
    """One object: JSON with --json, else ``key  value`` lines."""
    if settings.json:
        click.echo(json.dumps(record, indent=2, default=str))
        return
    width = max(map(len, record), default=0)
    for key, value in record.items():
        click.echo(f"{key.replace('_', ' '):<{width}}  {_cell(value)}")


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def message(settings: Settings, text: str) -> None:
    if not settings.quiet:
        click.echo(text, err=True)
