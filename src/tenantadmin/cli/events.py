"""``tenantadmin events``."""

from __future__ import annotations

import click


@click.group()
def events() -> None:
    """(being written)"""
