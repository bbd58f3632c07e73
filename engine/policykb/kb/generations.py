"""Generations of the on-disk store, so that commands read while another one writes.

A writer never changes the store that readers have open. It makes a new generation — a checkpoint of
the current one (RocksDB hard-links its files, so this takes milliseconds), brings it in step with the
files, and publishes it by replacing the one-line `CURRENT` file. A reader opens the generation
`CURRENT` names and pins it (a shared `flock` on its `PIN` file) for as long as it reads; a writer
deletes old generations nobody pins. A writer that dies leaves an unpublished generation, which the
next writer deletes. Writers take turns through the knowledge base's lock (kb.lock).
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
from pathlib import Path

import pyoxigraph as ox

from ..errors import StorageError

_NAME = re.compile(r"gen-(\d{6,})$")
CURRENT = "CURRENT"
PIN = "PIN"


class Pinned:
    """A generation held open for reading; release() lets writers delete it once it is old."""

    def __init__(self, path: Path, fd: int):
        self.path = path
        self._fd: int | None = fd

    def release(self) -> None:
        if self._fd is not None:
            try:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
            finally:
                os.close(self._fd)
                self._fd = None


class Generations:
    """The generations of one store folder (STATE/oxigraph)."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)

    def current(self) -> Path | None:
        try:
            name = (self.folder / CURRENT).read_text(encoding="utf-8").strip()
        except OSError:
            return None
        path = self.folder / name
        return path if _NAME.fullmatch(name) and path.is_dir() else None

    def pin(self) -> Pinned | None:
        """Pin the current generation (None when there is none yet)."""
        for _ in range(100):
            path = self.current()
            if path is None:
                return None
            try:
                fd = os.open(path / PIN, os.O_RDONLY | os.O_CLOEXEC)
            except FileNotFoundError:
                continue  # deleted between reading CURRENT and pinning: read CURRENT again
            except OSError as exc:
                raise StorageError.from_os(exc, path, "open the store") from None
            fcntl.flock(fd, fcntl.LOCK_SH)
            if self.current() == path:
                return Pinned(path, fd)
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)
        raise StorageError("the store keeps changing under this command", location=None,
                           hint="run the command again")

    def begin(self) -> Path:
        """A new, unpublished generation: a checkpoint of the current one, or empty. The caller holds the
        knowledge base's exclusive lock, opens it read-write, brings it in step and publishes it."""
        self.folder.mkdir(parents=True, exist_ok=True)
        self._drop_unpublished()
        numbers = [int(m.group(1)) for p in self.folder.iterdir() if (m := _NAME.fullmatch(p.name))]
        target = self.folder / f"gen-{max(numbers, default=0) + 1:06d}"
        source = self.current()
        try:
            if source is not None:
                reader = ox.Store.read_only(str(source))
                reader.backup(str(target))
                del reader
            else:
                target.mkdir()
            (target / PIN).touch()
        except OSError as exc:
            shutil.rmtree(target, ignore_errors=True)
            raise StorageError.from_os(exc, target, "make a new generation of the store") from None
        return target

    def publish(self, path: Path) -> None:
        """Make `path` the current generation, then delete old ones nobody reads."""
        temp = self.folder / f".{CURRENT}.{os.getpid()}"
        try:
            temp.write_text(path.name + "\n", encoding="utf-8")
            fd = os.open(temp, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(temp, self.folder / CURRENT)
        except OSError as exc:
            temp.unlink(missing_ok=True)
            raise StorageError.from_os(exc, self.folder, "switch the store to its new generation") from None
        self.collect()

    def discard(self, path: Path) -> None:
        shutil.rmtree(path, ignore_errors=True)

    def collect(self) -> None:
        """Delete generations older than the current one that no reader pins (a reader that read CURRENT
        just before the switch finds its generation gone when it pins, and reads CURRENT again)."""
        current = self.current()
        if current is None:
            return
        for path in self.folder.iterdir():
            if _NAME.fullmatch(path.name) and path.name < current.name:
                self._delete_if_unpinned(path)

    def _delete_if_unpinned(self, path: Path) -> None:
        try:
            fd = os.open(path / PIN, os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            shutil.rmtree(path, ignore_errors=True)
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return  # someone reads it
        try:
            shutil.rmtree(path, ignore_errors=True)
        finally:
            os.close(fd)

    def _drop_unpublished(self) -> None:
        """Generations newer than CURRENT were begun by a writer that died: delete them."""
        current = self.current()
        for path in self.folder.iterdir():
            if _NAME.fullmatch(path.name) and (current is None or path.name > current.name):
                shutil.rmtree(path, ignore_errors=True)
