"""``tenantadmin keys``."""

from __future__ import annotations

import click


@click.group()
def keys() -> None:
    """(being written)"""
