"""``tenantadmin events``: the audit log, read, tailed and followed."""

from __future__ import annotations

import csv
import dataclasses
import operator
import shutil
import sys
from collections.abc import Callable, Sequence
from typing import Any, TypedDict, Unpack

import click

from tenantadmin.services import audit, validation
from tenantadmin.services.audit import EventRecord

from . import completion, proofs
from .context import Callback, Settings, output_options, pass_settings
from .listing import chosen, list_options, more
from .output import NARROWEST, cell, cut, emit_record, message, page, plain, style, table, to_json, uncut

FORMATS = ("table", "json", "ndjson", "csv")
SUMMARY_LENGTH = 60

Printer = Callable[[EventRecord], None]


class Selection(TypedDict):
    """The values of filter_options' options, as the command is given them (all but --format)."""

    tags: tuple[str, ...]
    types: tuple[str, ...]
    org: str | None
    actor: str | None
    on_behalf_of: str | None
    since: str | None
    until: str | None


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
            click.option(
                "--actor",
                metavar="ROLE",
                help="Recorded by this database role: who acted, as PostgreSQL authenticated them.",
            ),
            click.option(
                "--on-behalf-of", metavar="EMAIL", help="Done, as its operator said (--actor EMAIL), for this person."
            ),
            click.option("--since", metavar="TIME", help="Happened at or after: an ISO time, or 15m, 2h, 7d ago."),
            click.option("--until", metavar="TIME", help="Happened before: an ISO time, or 15m, 2h, 7d ago."),
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
    on_behalf_of: str | None,
    since: str | None,
    until: str | None,
    after: int | None = None,
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
        on_behalf_of=on_behalf_of,
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
    """The audit log: list, tail (and follow), show; checkpoint, verify and prove it unchanged.

    \b
    Example:
      tenantadmin events tail --tag org=acme -f
    """


@events.command(name="list")
@filter_options
@click.option("--reverse", is_flag=True, help="Oldest first, in log order (as git log --reverse).")
@list_options
@output_options
@pass_settings
def list_(
    settings: Settings,
    format_: str | None,
    reverse: bool,
    limit: int,
    after: str | None,
    fields: tuple[str, ...],
    **selection: Unpack[Selection],
) -> None:
    """List events, the most recent first; a page at a time.

    \b
    Example:
      tenantadmin events list --org acme --type 'api_key.*' --since 7d
    """
    found = audit.list_(
        settings.engine(), _scoped(settings, _filter(**selection)), limit=limit, after=after, oldest_first=reverse
    )
    _printer(settings, _format(settings, format_), found.records, fields=fields)
    more(settings, found)


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
@click.option("--after", type=click.IntRange(min=0), metavar="POSITION", help="After this position.")
@click.option("-f", "--follow", is_flag=True, help="Keep printing new events as they are recorded, until Ctrl-C.")
@output_options
@pass_settings
def tail(
    settings: Settings,
    format_: str | None,
    lines: int,
    after: int | None,
    follow: bool,
    **selection: Unpack[Selection],
) -> None:
    """Show the last events; with -f, go on showing each new one as it is recorded.

    \b
    Example:
      tenantadmin events tail -f --org acme --json
    """
    chosen = _format(settings, format_)
    if follow and chosen == "json":
        chosen = "ndjson"  # an array cannot be printed before it ends; a line per event can
    engine = settings.engine()
    selected = _scoped(settings, _filter(**selection, after=after))
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


def _printer(
    settings: Settings,
    format_: str,
    first: Sequence[EventRecord],
    *,
    following: bool = False,
    fields: Sequence[str] = (),
) -> Printer:
    """Print ``first`` in ``format_`` (only their ``fields``, when given), and return how to print each event that
    follows in the same layout."""
    picked = chosen(first, EventRecord, fields)  # an unknown field is refused before anything is printed
    columns = _columns(fields)
    if format_ == "json":
        click.echo(to_json(picked))
        return _ignore
    if format_ == "table" and not first and not following:
        message(settings, "nothing to show")
        return _ignore
    if format_ == "table" and not following:  # laid out whole, to fit the terminal, through the pager when long
        values = [[shown(record) for _, shown in columns] for record in first]
        whole = {index for index in range(len(columns)) if all(uncut(row[index]) for row in values)}
        rows = [[cell(value) for value in row] for row in values]
        page(settings, table([heading for heading, _ in columns], rows, wide=settings.wide, whole=whole))
        return _ignore
    if format_ == "ndjson":
        show = _ndjson(fields)
    elif format_ == "csv":
        show = _csv(fields)
    else:
        show = _table(settings, columns, first)
    for record in first:
        show(record)
    return show


def _ignore(_record: EventRecord) -> None:
    """What follows a JSON array, or a table laid out whole: nothing, as nothing follows."""


Column = tuple[str, Callable[[EventRecord], Any]]  # a heading, and the value of an event under it (shown by cell)


def _columns(fields: Sequence[str]) -> list[Column]:
    """The table's columns: ``fields``, or the log's own (position, when, type, who, tags, a summary of the data)."""
    if fields:
        return [(name.replace("_", " ").upper(), operator.attrgetter(name)) for name in fields]
    return [
        ("POSITION", operator.attrgetter("position")),
        ("RECORDED", operator.attrgetter("created_at")),
        ("TYPE", operator.attrgetter("event_type")),
        ("ACTOR", operator.attrgetter("actor")),
        ("TAGS", lambda record: list(record.other_tag_list)),
        ("DATA", lambda record: _summary(record.data)),
    ]


def _row(columns: Sequence[Column], record: EventRecord) -> list[str]:
    return [cell(shown(record)) for _, shown in columns]


def _ndjson(fields: Sequence[str]) -> Printer:
    return lambda record: click.echo(to_json(chosen([record], EventRecord, fields)[0], indent=None))


def _csv(fields: Sequence[str]) -> Printer:
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(fields or [field.name for field in dataclasses.fields(EventRecord)])

    def write(record: EventRecord) -> None:
        writer.writerow(map(_cell, plain(chosen([record], EventRecord, fields)[0]).values()))
        sys.stdout.flush()  # as click.echo does: a follower's reader gets each event as it is recorded

    return write


def _table(settings: Settings, columns: Sequence[Column], first: Sequence[EventRecord]) -> Printer:
    """A table that grows as events are recorded: columns as wide as the widest of ``first`` (as the terminal shows
    them), and the events that follow padded alike. At a terminal (unless ``--wide``) it fits its width as a whole
    table does: the widest columns are narrowed first, a time or a position never, and each cell is cut to its
    column with …; piped, every cell is whole, and a later one may run wider."""
    from rich.cells import cell_len  # as output.table: only a table pays for importing Rich

    values = [[shown(record) for _, shown in columns] for record in first]
    rows = [[heading for heading, _ in columns], *([cell(value) for value in row] for row in values)]
    widths = [max(cell_len(row[index]) for row in rows) for index in range(len(columns))]
    fit = sys.stdout.isatty() and not settings.wide
    if fit:
        kept = {index for index in range(len(columns)) if all(uncut(row[index]) for row in values)}
        room = shutil.get_terminal_size().columns - 2 * (len(columns) - 1)
        narrowable = [index for index in range(len(columns)) if index not in kept]
        while narrowable and sum(widths) > room:
            widest = max(narrowable, key=widths.__getitem__)
            if widths[widest] <= NARROWEST:
                break
            widths[widest] -= 1

    def line(cells: Sequence[str]) -> str:
        shown = [cut(value, width) if fit else value for value, width in zip(cells, widths, strict=True)]
        text = "  ".join(value + " " * (width - cell_len(value)) for value, width in zip(shown, widths, strict=True))
        return cut(text.rstrip(), shutil.get_terminal_size().columns) if fit else text.rstrip()

    click.echo(style(line(rows[0]), bold=True))
    return lambda record: click.echo(line(_row(columns, record)))


def _summary(data: dict[str, Any]) -> str:
    text = " ".join(f"{key}={_cell(plain(value))}" for key, value in data.items()) or "-"
    return text if len(text) <= SUMMARY_LENGTH else text[: SUMMARY_LENGTH - 1] + "…"


def _nested(value: Any) -> Any:
    """A nested value (of plain data) as JSON text, to fit in one cell; others as they are."""
    return to_json(value, indent=None) if isinstance(value, dict | list) else value


def _cell(value: Any) -> str:
    """A value as the text of one cell (of CSV, or of the data summary): nothing as empty, nested values as JSON."""
    return "" if value is None else str(_nested(value))


for _command in (proofs.checkpoint, proofs.verify, proofs.prove):
    events.add_command(_command)
