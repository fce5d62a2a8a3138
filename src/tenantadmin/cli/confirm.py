"""Destructive commands ask at a terminal, and need ``--yes`` anywhere else."""

from __future__ import annotations

import sys

import click

from .errors import USAGE, Failure


def confirm(yes: bool, question: str, *, refusal: str = "this cannot be undone: pass --yes to confirm") -> None:
    if yes:
        return
    if sys.stdin is None or not sys.stdin.isatty():
        raise Failure(refusal, USAGE)
    click.confirm(question, abort=True)
