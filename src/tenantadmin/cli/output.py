"""Writing results: data on stdout (a table, or JSON with --json), messages on stderr. NO_COLOR is honoured."""

from __future__ import annotations

import dataclasses
import enum
import io
import json
import os
import shlex
import shutil
import subprocess
import sys
import uuid
from collections.abc import Mapping, Sequence, Set
from datetime import datetime
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network
from typing import Any

import click

from tenantadmin.display import visible

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


def fields_of(record: Any) -> dict[str, Any]:
    """A record's fields with their values as they are (times as times): what a table or a detail formats."""
    if dataclasses.is_dataclass(record) and not isinstance(record, type):
        return {field.name: getattr(record, field.name) for field in dataclasses.fields(record)}
    return dict(record)


def emit_record(settings: Settings, record: Any) -> None:
    """One object: JSON with --json, else ``key  value`` lines."""
    if settings.json:
        click.echo(to_json(record))
        return
    data = fields_of(record)
    width = max(map(len, data), default=0)
    page(settings, [f"{key.replace('_', ' '):<{width}}  {cell(value)}" for key, value in data.items()])


def emit_table(settings: Settings, records: Sequence[Any], columns: Sequence[tuple[str, str]]) -> None:
    """Many objects: a JSON array with --json (every field), else a table of ``columns`` (field, heading)."""
    if settings.json:
        click.echo(to_json(list(records)))
        return
    if not records:
        message(settings, "nothing to show")
        return
    rows = [fields_of(record) for record in records]
    page(
        settings,
        table(
            [heading.upper() for _, heading in columns],
            [[cell(row.get(name)) for name, _ in columns] for row in rows],
            wide=settings.wide,
            whole={
                index for index, (name, _) in enumerate(columns) if all(map(uncut, (row.get(name) for row in rows)))
            },
        ),
    )


NARROWEST = 8  # the cells (with the space between columns) left to each other column when some are kept whole


def uncut(value: Any) -> bool:
    """Whether a table shows ``value`` whole however narrow the terminal: a time, a number, yes or no (a time cut
    short reads as another time)."""
    return value is None or isinstance(value, datetime | int)


def table(
    headings: Sequence[str], rows: Sequence[Sequence[str]], *, wide: bool, whole: Set[int] = frozenset()
) -> list[str]:
    """A table's lines, laid out by Rich: at a terminal, sized to its width, long cells cut with … (the widest
    first), but never those of the columns ``whole``; piped, or with ``--wide``, every cell whole. Rich measures cells
    as the terminal shows them (a CJK character takes two, a combining accent none). The cells are data: Text, never
    markup."""
    from rich.cells import cell_len
    from rich.console import Console  # only commands that print a table pay for importing Rich
    from rich.table import Table
    from rich.text import Text

    fit = sys.stdout.isatty() and not wide
    width = shutil.get_terminal_size().columns if fit else sys.maxsize // 4
    kept = sum(max(map(cell_len, (headings[index], *(row[index] for row in rows)))) + 1 for index in whole)
    if kept + NARROWEST * (len(headings) - len(whole)) > width:  # too narrow to keep them: every column gives way
        whole = frozenset()
    grid = Table(box=None, padding=(0, 1), pad_edge=False, show_edge=False, header_style="bold" if colour() else "")
    for index, heading in enumerate(headings):  # a column Rich may narrow, unless whole; its cells never wrap
        grid.add_column(Text(heading), overflow="ellipsis", no_wrap=index in whole)
    for row in rows:
        grid.add_row(*(Text(value, no_wrap=True, overflow="ellipsis") for value in row))
    console = Console(
        file=io.StringIO(),
        width=width,
        force_terminal=colour(),
        no_color=not colour(),
        color_system="standard" if colour() else None,
        highlight=False,
        markup=False,
        emoji=False,
    )
    with console.capture() as captured:
        console.print(grid, crop=fit)
    return [line.rstrip() for line in captured.get().splitlines()]


def cut(text: str, width: int) -> str:
    """``text`` cut to ``width`` cells as the terminal shows them, ending with … when cut (Rich measures it)."""
    from rich.text import Text

    shown = Text(text)
    shown.truncate(width, overflow="ellipsis")
    return shown.plain


def page(settings: Settings, lines: Sequence[str]) -> None:
    """Print ``lines`` on stdout; at a terminal, through a pager when they are more than it shows at once (as git
    and gh do): ``TENANTADMIN_PAGER``, else ``PAGER``, else ``less`` (given ``LESS=FRX`` unless the operator set
    ``LESS``: it quits when the text fits, keeps colours, and leaves the text on the screen). Never when piped, nor
    with ``--no-pager``, nor when the pager is empty or ``cat``."""
    text = "\n".join(lines) + "\n"
    command = shlex.split(os.environ.get("TENANTADMIN_PAGER", os.environ.get("PAGER", "less")))
    if (
        settings.pager
        and sys.stdout.isatty()
        and command not in ([], ["cat"])
        and len(lines) >= shutil.get_terminal_size().lines
    ):
        try:
            subprocess.run(  # noqa: S603 (the pager is the operator's own command, as in git)
                command, input=text, text=True, check=False, env=os.environ | {"LESS": os.environ.get("LESS", "FRX")}
            )
        except OSError:  # no such pager: the text is shown all the same
            pass
        else:
            return
    click.echo(text, nl=False)


def cell(value: Any) -> str:
    """A value as a table or a detail shows it, formatted by its type (never guessed from its text): times to the
    second, lists joined, nested data as compact JSON; its control characters made visible (``\\x1b``), so that data
    never acts on the terminal."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return f"{value:%Y-%m-%d %H:%M:%S}"
    if isinstance(value, enum.Enum):
        return visible(str(value.value))
    if isinstance(value, list | tuple) and all(isinstance(item, str | int) for item in value):
        return visible(",".join(map(str, value))) or "-"
    if isinstance(value, dict | list | tuple):
        return visible(json.dumps(plain(value), ensure_ascii=False, separators=(",", ":")))
    return visible(str(value))


def colour() -> bool:
    return "NO_COLOR" not in os.environ and sys.stdout.isatty()


def style(text: str, **styles: Any) -> str:
    return click.style(text, **styles) if colour() else text


def message(settings: Settings, text: str) -> None:
    if not settings.quiet:
        click.echo(visible(text, lines=True), err=True)


def warn(text: str) -> None:
    """Always shown, even with -q: what the operator must not miss (a secret that will not be shown again)."""
    text = visible(text, lines=True)
    click.echo(
        click.style(text, fg="yellow", bold=True) if "NO_COLOR" not in os.environ and sys.stderr.isatty() else text,
        err=True,
    )
