"""``tenantadmin demo``: sample data to look around with."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager

import click

from tenantadmin.services import demo as service

from .context import Settings, output_options, pass_settings
from .output import emit_record


@click.command()
@output_options
@pass_settings
def demo(settings: Settings) -> None:
    """Fill an empty database with sample organizations, members, invitations, keys and their events.

    24 organizations, made through the same services as every other command (each change
    recorded by its event), in one transaction: an interrupted demo leaves the database empty.
    Progress is shown on stderr at a terminal (none with -q).

    Refused (exit 1) before anything is made when the database already holds any organization or
    event: sample tenants must never mix with real ones in a log that keeps every event for ever,
    so there is no --yes. Give it an empty database instead (with --context or --database-url).

    Every demo member's password is "demo-password-not-for-production".

    \b
    Example:
      tenantadmin demo && tenantadmin orgs list
    """
    settings.announce()
    with _progress(settings) as progress:
        summary = service.fill(settings.engine(), progress=progress)
    emit_record(settings, summary)


@contextmanager
def _progress(settings: Settings) -> Iterator[service.Progress]:
    """What the demo reports, shown once it has found the database empty: a bar at a terminal, else its label once
    (click's progress bar does both), nothing with -q."""
    with ExitStack() as stack:
        advance: list[Callable[..., None]] = []  # the bar's, once it is shown

        def report(done: int, total: int) -> None:
            if not advance:
                bar = click.progressbar(
                    length=total, label="making sample data through the services", show_pos=True,
                    file=sys.stderr, hidden=settings.quiet,
                )  # fmt: skip
                advance.append(stack.enter_context(bar).update)
            if done:
                advance[0](1)

        yield report
