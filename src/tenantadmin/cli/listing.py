"""What every list command shares: ``--limit``, ``--after`` (a cursor) and ``--fields``, and the page it prints.

When more records exist than a page shows, stderr says so with the exact command for the next page (as gh and
stripe do), so that nothing is silently left out; with --json too, since stdout then holds only the page.
"""

from __future__ import annotations

import dataclasses
import shlex
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import click

from tenantadmin.config import masked_url
from tenantadmin.services.pages import DEFAULT_LIMIT, LARGEST_LIMIT, Page

from .context import Callback, Settings
from .errors import USAGE, Failure
from .output import emit_table, message


@dataclass(frozen=True)
class Listing:
    limit: int
    after: str | None
    fields: tuple[str, ...]  # the columns (and JSON keys) asked for; empty: the command's own


def list_options(command: Callback) -> Callback:
    """``--limit``, ``--after`` and ``--fields``: the command gets them as ``limit``, ``after`` and ``fields``."""
    command = click.option(
        "--fields",
        metavar="A,B,C",
        callback=lambda _ctx, _param, value: (
            tuple(name.strip() for name in value.split(",") if name.strip()) if value else ()
        ),
        help="Only these fields: the columns of the table, the keys of the JSON.",
    )(command)
    command = click.option(
        "--after", metavar="CURSOR", help="Start after this cursor (a page ends by printing the next one)."
    )(command)
    return click.option(
        "--limit",
        type=click.IntRange(1, LARGEST_LIMIT),
        default=DEFAULT_LIMIT,
        show_default=True,
        help="At most this many.",
    )(command)


def emit_page(
    settings: Settings, page: Page[Any], columns: Sequence[tuple[str, str]], of: type, fields: Sequence[str]
) -> None:
    """The page, as a table of ``columns`` (or of ``fields``) or as JSON; then, when more exist, the next command."""
    if fields:
        columns = [(name, name.replace("_", " ")) for name in fields]
    emit_table(settings, chosen(page.records, of, fields), columns)
    more(settings, page)


def chosen(records: Sequence[Any], of: type, fields: Sequence[str]) -> list[Any]:
    """``records`` (of the dataclass ``of``) as they are, or only their ``fields`` (a mapping each, in that order);
    a name that is not a field of ``of`` is refused as a usage error, naming those that are."""
    known = [field.name for field in dataclasses.fields(of)]
    if unknown := [name for name in fields if name not in known]:
        raise Failure(f"unknown field {unknown[0]!r} (fields: {', '.join(known)})", USAGE)
    if not fields:
        return list(records)
    return [{name: getattr(record, name) for name in fields} for record in records]


def more(settings: Settings, page: Page[Any]) -> None:
    """When more records exist than ``page`` holds, say so on stderr, with the command that shows the next page."""
    if page.after is not None:
        message(settings, f"more: {next_command(page.after)}")


def next_command(after: str) -> str:
    """The command line that was run, with ``--after`` the cursor given (a URL's password masked)."""
    given, words = sys.argv[1:], []
    skip = False
    for word in given:
        if skip:
            skip = False
        elif word == "--after":
            skip = True
        elif not word.startswith("--after="):
            words.append(word)
    for index, word in enumerate(words[:-1]):
        if word == "--database-url":
            words[index + 1] = masked_url(words[index + 1])
    words = [
        f"--database-url={masked_url(word.partition('=')[2])}" if word.startswith("--database-url=") else word
        for word in words
    ]
    return shlex.join(["tenantadmin", *words, "--after", after])
