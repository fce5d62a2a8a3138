"""``tenantadmin events``: the audit log, read, tailed and followed."""

from __future__ import annotations

import csv
import dataclasses
import sys
from collections.abc import Callable, Sequence
from typing import Any, TypedDict, Unpack

import click

from tenantadmin.display import visible
from tenantadmin.services import audit, validation
from tenantadmin.services.audit import EventRecord

from . import completion
from .context import Callback, Settings, output_options, pass_settings
from .output import cell, emit_record, message, plain, style, to_json

FORMATS = ("table", "json", "ndjson", "csv")
HEADINGS = ("POSITION", "RECORDED", "TYPE", "ACTOR", "TAGS", "DATA")
SUMMARY_LENGTH = 60

Printer = Callable[[EventRecord], None]


class Selection(TypedDict):
    """The values of filter_options' options, as the command is given them (all but --format)."""

    tags: tuple[str, ...]
    types: tuple[str, ...]
    org: str | None
    actor: str | None
    since: str | None
    until: str | None
    after: int | None


def filter_options(command: Callback) -> Callback:
    """What ``list`` and ``tail`` select events by."""
    for option in reversed(
        [
            click.option("--tag", "tags", multiple=True, metavar="KEY=VALUE", help="Carrying this tag (all must)."),
            click.option(
                "--type", "types", multiple=True, metavar="TYPE", help="Of this type; globs like api_key.* (any may)."
            ),
            click.option(
                "--org",
                metavar="SLUG",
                shell_complete=completion.organizations,
                help="About this organization (the tag org=SLUG).",
            ),
            click.option("--actor", metavar="EMAIL", help="Done by this operator (the tag actor=EMAIL)."),
            click.option("--since", metavar="TIME", help="Happened at or after: an ISO time, or 15m, 2h, 7d ago."),
            click.option("--until", metavar="TIME", help="Happened before: an ISO time, or 15m, 2h, 7d ago."),
            click.option("--after", type=click.IntRange(min=0), metavar="POSITION", help="After this position."),
            click.option("--format", "format_", type=click.Choice(FORMATS), help="Output format (--json: json)."),
        ]
    ):
        command = option(command)
    return command


def _filter(
    tags: tuple[str, ...],
    types: tuple[str, ...],
    org: str | None,
    actor: str | None,
    since: str | None,
    until: str | None,
    after: int | None,
) -> audit.EventFilter:
    wanted: dict[str, tuple[str, ...]] = {}
    for text in tags:
        key, value = validation.tag_filter(text)
        wanted[key] = (*wanted.get(key, ()), value)
    return audit.EventFilter(
        tags=wanted,
        types=tuple(types),
        org=org,
        actor=actor,
        since=audit.bound(since) if since is not None else None,
        until=audit.bound(until) if until is not None else None,
        after=after,
    )


def _scoped(settings: Settings, selection: audit.EventFilter) -> audit.EventFilter:
    """The filter as it is read (audit.scoped): when --org is a slug that has named several organizations, one line on
    stderr says whose events these are, and how to see the others'."""
    scoped = audit.scoped(settings.engine(), selection)
    if scoped.shown is not None:
        others = ", ".join(f"--tag org_id={other.id} ({other.name}, {other.status})" for other in scoped.others)
        message(
            settings,
            f"{selection.org} has named {len(scoped.others) + 1} organizations: these events are of"
            f" {scoped.shown.name} (id {scoped.shown.id}), as `orgs show {selection.org}` shows it;"
            f" for the {'other' if len(scoped.others) == 1 else 'others'}: {others}",
        )
    return scoped.selection


@click.group()
def events() -> None:
    """The audit log: list, tail (and follow), show.

    \b
    Example:
      tenantadmin events tail --tag org=acme -f
    """


@events.command(name="list")
@filter_options
@click.option(
    "--limit",
    type=click.IntRange(min=1, max=audit.LARGEST_POSITION),
    metavar="N",
    default=50,
    show_default=True,
    help="At most this many.",
)
@click.option("--reverse", is_flag=True, help="Newest first.")
@output_options
@pass_settings
def list_(settings: Settings, format_: str | None, limit: int, reverse: bool, **selection: Unpack[Selection]) -> None:
    """List events in log order, oldest first.

    \b
    Example:
      tenantadmin events list --org acme --type 'api_key.*' --since 7d --reverse
    """
    found = audit.list_(settings.engine(), _scoped(settings, _filter(**selection)), limit=limit, reverse=reverse)
    _printer(settings, _format(settings, format_), found)


@events.command()
@filter_options
@click.option(
    "-n",
    "--lines",
    type=click.IntRange(min=0, max=audit.LARGEST_POSITION),
    metavar="N",
    default=10,
    show_default=True,
    help="Show the last N.",
)
@click.option("-f", "--follow", is_flag=True, help="Keep printing new events as they are recorded, until Ctrl-C.")
@output_options
@pass_settings
def tail(settings: Settings, format_: str | None, lines: int, follow: bool, **selection: Unpack[Selection]) -> None:
    """Show the last events; with -f, go on showing each new one as it is recorded.

    \b
    Example:
      tenantadmin events tail -f --org acme --json
    """
    chosen = _format(settings, format_)
    if follow and chosen == "json":
        chosen = "ndjson"  # an array cannot be printed before it ends; a line per event can
    engine = settings.engine()
    selected = _scoped(settings, _filter(**selection))
    if follow:
        audit.followable(selected)  # refused before anything is printed
    last = audit.tail(engine, selected, count=lines)
    print_event = _printer(settings, chosen, last.events, following=follow)
    if not follow:
        return
    try:
        for record in audit.follow(engine, selected, after=last.head):
            print_event(record)
    except KeyboardInterrupt:  # Ctrl-C is how following ends, not a failure
        pass


@events.command()
@click.argument("ref", metavar="POSITION|ID")
@output_options
@pass_settings
def show(settings: Settings, ref: str) -> None:
    """Show one event whole: where it sits in the log, its tags, data and metadata, and who recorded it from where.

    \b
    Example:
      tenantadmin events show 1042
    """
    emit_record(settings, audit.show(settings.engine(), ref))  # tags, data and metadata on a line each, as JSON


def _format(settings: Settings, chosen: str | None) -> str:
    return chosen or ("json" if settings.json else "table")


def _printer(settings: Settings, format_: str, first: Sequence[EventRecord], *, following: bool = False) -> Printer:
    """Print ``first`` in ``format_``, and return how to print each event that follows in the same layout."""
    if format_ == "json":
        click.echo(to_json(list(first)))
        return _ignore
    if format_ == "table" and not first and not following:
        message(settings, "nothing to show")
        return _ignore
    show = _ndjson if format_ == "ndjson" else _csv() if format_ == "csv" else _table(first)
    for record in first:
        show(record)
    return show


def _ignore(_record: EventRecord) -> None:
    """What follows a JSON array, or an empty table: nothing, as nothing follows."""


def _ndjson(record: EventRecord) -> None:
    click.echo(to_json(record, indent=None))


def _csv() -> Printer:
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(field.name for field in dataclasses.fields(EventRecord))

    def write(record: EventRecord) -> None:
        writer.writerow(map(_cell, plain(record).values()))
        sys.stdout.flush()  # as click.echo does: a follower's reader gets each event as it is recorded

    return write


def _table(first: Sequence[EventRecord]) -> Printer:
    """Columns as wide as the widest of ``first``: events that follow are padded alike, and may only run wider."""
    rows = [HEADINGS, *map(_row, first)]
    widths = [max(len(row[index]) for row in rows) for index in range(len(HEADINGS))]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(value.ljust(width) for value, width in zip(cells, widths, strict=True)).rstrip()

    click.echo(style(line(HEADINGS), bold=True))
    return lambda record: click.echo(line(_row(record)))


def _row(record: EventRecord) -> list[str]:
    return [
        str(record.position),
        cell(record.created_at),
        cell(record.event_type),
        cell(record.actor),
        cell(list(record.tag_list)),
        visible(_summary(record.data)),
    ]


def _summary(data: dict[str, Any]) -> str:
    text = " ".join(f"{key}={_cell(plain(value))}" for key, value in data.items()) or "-"
    return text if len(text) <= SUMMARY_LENGTH else text[: SUMMARY_LENGTH - 1] + "…"


def _nested(value: Any) -> Any:
    """A nested value (of plain data) as JSON text, to fit in one cell; others as they are."""
    return to_json(value, indent=None) if isinstance(value, dict | list) else value


def _cell(value: Any) -> str:
    """A value as the text of one cell (of CSV, or of the data summary): nothing as empty, nested values as JSON."""
    return "" if value is None else str(_nested(value))
