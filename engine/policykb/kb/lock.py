"""One lock per knowledge base, so that commands run side by side without losing or half-reading data.

Commands that only read hold it shared; commands that change the Turtle files or the derived store hold
it exclusively (an import, a store that must catch up with edited files). It is an advisory `flock` on a
file in the knowledge base's state folder: the operating system drops it when a process dies, even by
`kill -9`, so a crashed command never leaves the knowledge base locked.
"""

from __future__ import annotations

import errno
import fcntl
import os
import sys
import time
from pathlib import Path
from typing import Callable

from ..errors import BusyError, StorageError

DEFAULT_WAIT = float(os.environ.get("POLICYKB_LOCK_WAIT", "120"))
_POLL = 0.05


def _tell_waiting(message: str) -> None:
    print(f"policykb: {message}", file=sys.stderr)


class KBLock:
    """A shared/exclusive lock on one knowledge base, held by this process until released."""

    def __init__(self, state_dir: Path, *, on_wait: Callable[[str], None] | None = _tell_waiting):
        self.state_dir = Path(state_dir)
        self.path = self.state_dir / "lock"
        self.owner_path = self.state_dir / "lock.owner"
        self.mode: str | None = None  # None, "shared" or "exclusive"
        self._fd: int | None = None
        self._on_wait = on_wait

    def _open(self) -> int:
        if self._fd is None:
            try:
                self.state_dir.mkdir(parents=True, exist_ok=True)
                self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
            except OSError as exc:
                raise StorageError.from_os(exc, self.path, "open the knowledge base's lock file") from None
        return self._fd

    def acquire(self, exclusive: bool, *, wait: float | None = None, doing: str = "") -> None:
        """Take the lock (or change its mode), waiting up to `wait` seconds for other commands."""
        want = "exclusive" if exclusive else "shared"
        if self.mode == want:
            return
        fd = self._open()
        flag = fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH
        wait = DEFAULT_WAIT if wait is None else wait
        deadline = time.monotonic() + wait
        told = False
        while True:
            try:
                fcntl.flock(fd, flag | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                    raise StorageError.from_os(exc, self.path, "lock the knowledge base") from None
            if time.monotonic() >= deadline:
                raise BusyError(f"another policykb command is using this knowledge base{self._holder()}; "
                                f"waited {wait:g} s", hint="run this command again when the other one has "
                                "finished (POLICYKB_LOCK_WAIT=SECONDS waits longer)")
            if not told and self._on_wait is not None and time.monotonic() > deadline - wait + 1:
                self._on_wait(f"waiting for another policykb command{self._holder()} to finish…")
                told = True
            time.sleep(_POLL)
        self.mode = want
        if exclusive:
            self._write_owner(doing)

    def release(self) -> None:
        if self._fd is None:
            return
        if self.mode == "exclusive":
            try:
                self.owner_path.unlink()
            except OSError:
                pass
        try:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            os.close(self._fd)
            self._fd = None
            self.mode = None

    def _write_owner(self, doing: str) -> None:
        try:
            self.owner_path.write_text(f"{os.getpid()} {doing or 'a command'}\n", encoding="utf-8")
        except OSError:
            pass  # only used to name the holder in a message

    def _holder(self) -> str:
        try:
            pid, _, doing = self.owner_path.read_text(encoding="utf-8").strip().partition(" ")
        except OSError:
            return ""
        return f" (pid {pid}: {doing})" if pid.isdigit() else ""

    def __enter__(self) -> "KBLock":
        return self

    def __exit__(self, *exc) -> None:
        self.release()
