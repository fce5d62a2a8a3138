"""``tenantadmin members``."""

from __future__ import annotations

import click


@click.group()
def members() -> None:
    """(being written)"""
