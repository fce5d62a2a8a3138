"""Running the command line at a terminal of a given size (a pseudo-terminal), as an operator does."""

from __future__ import annotations

import errno
import fcntl
import os
import pty
import select
import signal
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

from .clirunner import Run, environment


def started(
    args: tuple[str, ...], home: Path, columns: int, rows: int, extra: dict[str, str]
) -> tuple[int, subprocess.Popen[bytes]]:
    """``tenantadmin *args`` started with its standard streams on a new terminal of ``columns`` by ``rows`` (no
    colour, paged by ``cat`` unless ``extra`` names a pager); the terminal's end the caller reads and writes, and the
    process."""
    main, secondary = pty.openpty()
    fcntl.ioctl(secondary, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
    variables = {key: value for key, value in environment(home, **extra).items() if key not in {"COLUMNS", "LINES"}}
    process = subprocess.Popen(
        [sys.executable, "-m", "tenantadmin", *args],
        stdin=secondary,
        stdout=secondary,
        stderr=secondary,
        env={"NO_COLOR": "1", "PAGER": "cat"} | variables | {"TERM": "xterm"},
        close_fds=True,
    )
    os.close(secondary)
    return main, process


def at_terminal(*args: str, home: Path, columns: int = 80, rows: int = 24, typed: str = "", **extra: str) -> Run:
    """``tenantadmin *args`` with its standard streams on a terminal of ``columns`` by ``rows``, in no colour, paged
    by ``cat`` unless ``extra`` names a pager; what it printed, its line ends as written (the terminal's \\r\\n made
    \\n again). stderr is the same terminal, so stdout holds both. ``typed`` is what the operator types at it."""
    main, process = started(args, home, columns, rows, extra)
    os.write(main, typed.encode())
    chunks = []
    while True:
        try:
            chunk = os.read(main, 65536)
        except OSError as error:  # the terminal closed: the process has ended
            if error.errno != errno.EIO:
                raise
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(main)
    code = process.wait(timeout=120)
    text = b"".join(chunks).decode("utf-8", errors="replace").replace("\r\n", "\n")
    return Run(code, text, "")


class Following:
    """``tenantadmin *args`` left running at a terminal of ``columns`` by ``rows`` (``events tail -f``): ``seen``
    waits until what it printed holds a text, and leaving the block stops it as Ctrl-C does."""

    def __init__(self, *args: str, home: Path, columns: int = 80, rows: int = 24, **extra: str) -> None:
        self.main, self.process = started(args, home, columns, rows, extra)
        self.printed = b""

    def seen(self, text: str, timeout: float = 30) -> str:
        """What it has printed so far (line ends made \\n), once that holds ``text``; fails after ``timeout`` s."""
        deadline = time.monotonic() + timeout
        while text.encode() not in self.printed:  # what the terminal got: its line ends are \r\n
            left = deadline - time.monotonic()
            ready, _, _ = select.select([self.main], [], [], max(left, 0))
            assert ready, f"{text!r} not printed in {timeout} s: {self.printed!r}"
            self.printed += os.read(self.main, 65536)
        return self.printed.decode("utf-8", errors="replace").replace("\r\n", "\n")

    def __enter__(self) -> Following:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.process.send_signal(signal.SIGINT)
        self.process.wait(timeout=30)
        os.close(self.main)
