"""What every command shares: the global options, and the database they point at."""

from __future__ import annotations

from dataclasses import dataclass

import click

from tenantadmin.config import DatabaseChoice, choose_database


@dataclass
class Settings:
    database_url: str | None = None
    json: bool = False
    quiet: bool = False

    def database(self) -> DatabaseChoice:
        return choose_database(self.database_url)


pass_settings = click.make_pass_decorator(Settings, ensure=True)


def _set(field: str):
    def callback(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
        if value:
            setattr(ctx.ensure_object(Settings), field, True)

    return callback


def output_options(command):
    """``--json`` and ``-q`` after the command too (``tenantadmin db status --json``), as scripts tend to write them."""
    command = click.option(
        "--json", is_flag=True, expose_value=False, callback=_set("json"), help="Print JSON on stdout."
    )(command)
    return click.option(
        "-q", "--quiet", is_flag=True, expose_value=False, callback=_set("quiet"), help="Print no messages."
    )(command)
