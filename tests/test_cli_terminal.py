"""Tables that fit the terminal, and long output through a pager (issue 11, requirement 2)."""

from __future__ import annotations

import re
import stat

import pytest
from rich.cells import cell_len

from tenantadmin.services import organizations
from tenantadmin.store.engine import create_engine

from .clirunner import tenantadmin
from .conftest import OPERATOR, url_text
from .terminal import Following, at_terminal

LONG = "Northwind Traders Limited, Wholesale Importers of Fine Foods and Beverages since 1921"
WIDE = "株式会社ノースウィンド・トレーダーズ・インターナショナル"  # every character two cells wide
COMBINING = "Cafe\u0301 Ame\u0301lie\u0301 Reykjavi\u0301k Associe\u0301s Internationale"  # accents of no width


@pytest.fixture
def named(engine):
    for slug, name in (("northwind", LONG), ("kabushiki", WIDE), ("cafe", COMBINING)):
        organizations.create(engine, OPERATOR, name=name, slug=slug, city="Zürich")
    return url_text(engine.url)


@pytest.mark.parametrize("columns", [80, 60])
def test_a_table_fits_the_terminal_its_long_cells_cut_with_an_ellipsis(named, tmp_path, columns):
    run = at_terminal("orgs", "list", home=tmp_path, columns=columns, TENANTADMIN_DATABASE_URL=named)
    assert run.code == 0, run.stdout
    lines = run.stdout.splitlines()
    assert lines[0].split()[:3] == ["NAME", "SLUG", "STATUS"]
    assert all(cell_len(line) <= columns for line in lines), lines
    assert LONG not in run.stdout and any(line.startswith("North") and "…" in line for line in lines)
    assert all(slug in run.stdout for slug in ("northwind", "kabushiki", "cafe"))  # short columns are kept whole
    widths = {cell_len(line) for line in lines if "…" in line}
    assert max(widths) <= columns


def test_wide_shows_every_cell_whole(named, tmp_path):
    run = at_terminal("orgs", "list", "--wide", home=tmp_path, columns=80, TENANTADMIN_DATABASE_URL=named)
    assert run.code == 0 and "…" not in run.stdout
    assert LONG in run.stdout and WIDE in run.stdout and COMBINING in run.stdout


def test_wide_and_combining_characters_are_measured_as_the_terminal_shows_them(named, tmp_path):
    """Piped, nothing is cut: the columns line up in cells, not in code points."""
    run = tenantadmin("orgs", "list", home=tmp_path, TENANTADMIN_DATABASE_URL=named)
    lines = run.stdout.splitlines()
    starts = {
        cell_len(line[: line.index(slug)])
        for line, slug in zip(lines[1:], ("cafe", "kabushiki", "northwind"), strict=True)
    }
    assert len(starts) == 1, lines  # the slug column starts at one place on every line
    assert LONG in run.stdout and "…" not in run.stdout


@pytest.fixture
def many(engine):
    """More organizations than a terminal of 24 lines shows."""
    for number in range(30):
        organizations.create(engine, OPERATOR, name=f"Organization {number}", slug=f"org-{number}")
    return url_text(engine.url)


@pytest.fixture
def pager(tmp_path):
    """A pager that keeps what it is given in a file: (command, the file)."""
    kept = tmp_path / "paged.txt"
    script = tmp_path / "pager.sh"
    script.write_text(f"#!/bin/sh\ncat > {kept}\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return str(script), kept


@pytest.mark.parametrize("variable", ["TENANTADMIN_PAGER", "PAGER"])
def test_long_output_at_a_terminal_goes_through_the_pager(many, tmp_path, pager, variable):
    command, kept = pager
    run = at_terminal("orgs", "list", home=tmp_path, TENANTADMIN_DATABASE_URL=many, **{variable: command})
    assert run.code == 0
    assert "org-29" not in run.stdout and kept.read_text().count("org-") == 30


def test_tenantadmin_pager_beats_pager(many, tmp_path, pager):
    command, kept = pager
    run = at_terminal(
        "orgs", "list", home=tmp_path, TENANTADMIN_DATABASE_URL=many, TENANTADMIN_PAGER=command, PAGER="false"
    )
    assert run.code == 0 and kept.exists()


@pytest.mark.parametrize("flag", ["--no-pager", None])
def test_no_pager_when_asked_or_when_the_output_fits(many, engine, tmp_path, pager, flag):
    command, kept = pager
    args = ("orgs", "list", flag) if flag else ("orgs", "list", "--status", "suspended")
    organizations.suspend(engine, OPERATOR, "org-1", reason="a test")
    run = at_terminal(*args, home=tmp_path, TENANTADMIN_DATABASE_URL=many, TENANTADMIN_PAGER=command)
    assert run.code == 0 and not kept.exists() and "org-1" in run.stdout


def test_never_a_pager_when_piped(many, tmp_path, pager):
    command, kept = pager
    run = tenantadmin("orgs", "list", home=tmp_path, TENANTADMIN_DATABASE_URL=many, TENANTADMIN_PAGER=command)
    assert run.code == 0 and run.stdout.count("org-") == 30 and not kept.exists()


def test_invisible_characters_are_shown_as_escapes_so_the_columns_stay_aligned(engine, tmp_path):
    """Terminals disagree on the width of a zero-width space or joiner: shown as escapes, every line is measured as
    it is drawn (the shared hostile strings found it: a line one cell too long wrapped)."""
    organizations.create(engine, OPERATOR, name="zero\u200bwidth\u200djoiner", slug="zero")
    organizations.create(
        engine, OPERATOR, name="family \U0001f468\u200d\U0001f469\u200d\U0001f467 emoji", slug="family"
    )
    run = at_terminal("orgs", "list", "--wide", home=tmp_path, TENANTADMIN_DATABASE_URL=url_text(engine.url))
    assert "zero\\u200bwidth\\u200djoiner" in run.stdout and "\U0001f468\\u200d\U0001f469" in run.stdout
    assert "\u200b" not in run.stdout and "\u200d" not in run.stdout


TIME = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d")


def test_the_audit_log_fits_the_terminal_keeping_times_whole(named, tmp_path):
    """events list as a whole table, and events tail -f as a table that grows: every line fits, times are whole."""
    listed = at_terminal("events", "list", home=tmp_path, columns=80, TENANTADMIN_DATABASE_URL=named)
    lines = listed.stdout.splitlines()
    assert lines[0].split() == ["POSITION", "RECORDED", "TYPE", "ACTOR", "TAGS", "DATA"]
    assert len(lines) == 4 and all(cell_len(line) <= 80 and TIME.search(line) for line in lines[1:]), lines
    assert all(line.endswith("…") for line in lines[1:])  # the data of an organization made: cut, not wrapped
    with Following("events", "tail", "-f", home=tmp_path, columns=70, TENANTADMIN_DATABASE_URL=named) as terminal:
        terminal.seen("\r\n3 ")
        engine = create_engine(named)
        try:
            organizations.update(engine, OPERATOR, "northwind", description=LONG)
        finally:
            engine.dispose()
        printed = terminal.seen("\r\n4 ").splitlines()
    assert len(printed) == 5 and all(cell_len(line) <= 70 and TIME.search(line) for line in printed[1:]), printed
    assert printed[0].split()[-1] == "DATA" and printed[-1].endswith("…")  # every column shown, each cut to fit
    assert len({line.index("organiz") for line in printed[1:]}) == 1  # the columns stay aligned
