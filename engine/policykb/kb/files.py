"""Write several files of the knowledge base as one change: all of them or none, even under `kill -9`.

A change is written in three steps. (1) Every new file is written beside its target as a hidden temporary
file and flushed to disk. (2) A journal listing the renames and deletions is written and flushed, again
through a temporary name, so that it appears whole or not at all: this is the moment the change
happens. (3) The renames and deletions are carried out and the journal is removed. A process that dies
before (2) leaves only temporary files, which the next command deletes; one that dies after (2) leaves a
journal, which the next command carries out to the end. Either way nobody ever sees half a change.

Callers hold the knowledge base's exclusive lock (kb.lock) while they commit or recover.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

from ..errors import StorageError

JOURNAL = ".policykb-journal.json"
TEMP_PREFIX = ".policykb-new-"


@dataclass(frozen=True)
class FileChange:
    """One file of a change: its new content, or None to delete it."""

    path: Path
    data: bytes | None


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _write_synced(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o644)
    try:
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]
        os.fsync(fd)
    finally:
        os.close(fd)


def _temp_for(target: Path) -> Path:
    return target.with_name(f"{TEMP_PREFIX}{target.name}")


def commit(root: Path, changes: Sequence[FileChange]) -> None:
    """Write `changes` (paths inside `root`, the folder that holds the journal) as one change.

    Raises StorageError (disk full, read-only, no permission) with nothing changed when writing the new
    files fails; once the journal is written the change is carried out, now or by the next command.
    """
    root = Path(root)
    if not changes:
        return
    moves: list[tuple[Path, Path]] = []
    try:
        for change in changes:
            if change.data is None:
                continue
            change.path.parent.mkdir(parents=True, exist_ok=True)
            temp = _temp_for(change.path)
            moves.append((temp, change.path))
            _write_synced(temp, change.data)
        for directory in {t.parent for t, _ in moves}:
            _fsync_dir(directory)
        journal = {"moves": [[_rel(root, t), _rel(root, p)] for t, p in moves],
                   "deletes": [_rel(root, c.path) for c in changes if c.data is None]}
        staged = root / (JOURNAL + ".tmp")
        _write_synced(staged, json.dumps(journal, ensure_ascii=False).encode("utf-8"))
        os.replace(staged, root / JOURNAL)
        _fsync_dir(root)
    except OSError as exc:
        where = next((p for t, p in moves if not t.exists()), moves[-1][1] if moves else root)
        _discard([t for t, _ in moves] + [root / (JOURNAL + ".tmp")])
        raise StorageError.from_os(exc, where, "write the knowledge base's files") from None
    try:
        _carry_out(root, journal)
    except OSError as exc:
        raise StorageError.from_os(exc, root / JOURNAL, "finish writing the knowledge base's files", changed=True) \
            from None


def recover(root: Path, folders: Iterable[Path] = ()) -> bool:
    """Finish a change a dead process committed, or drop the temporary files of one it did not.

    `folders` are searched for stray temporary files (the knowledge base's folders). Returns whether
    anything was done.
    """
    root = Path(root)
    done = False
    path = root / JOURNAL
    if path.exists():
        try:
            journal = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            journal = None
        if isinstance(journal, dict):
            _carry_out(root, journal)
        else:  # a journal that cannot be read was never committed: os.replace makes it whole or absent
            path.unlink(missing_ok=True)
        done = True
    strays = [p for folder in folders for p in pending(folder)]
    strays += [p for p in (root / (JOURNAL + ".tmp"),) if p.exists()]
    _discard(strays)
    return done or bool(strays)


def pending(folder: Path) -> list[Path]:
    """Temporary files of an uncommitted change under `folder`."""
    folder = Path(folder)
    return sorted(folder.rglob(TEMP_PREFIX + "*")) if folder.is_dir() else []


def needs_recovery(root: Path, folders: Iterable[Path] = ()) -> bool:
    root = Path(root)
    if (root / JOURNAL).exists() or (root / (JOURNAL + ".tmp")).exists():
        return True
    return any(pending(f) for f in folders)


def _carry_out(root: Path, journal: dict) -> None:
    touched = set()
    for temp, target in journal.get("moves", []):
        temp_path, target_path = root / temp, root / target
        if temp_path.exists():
            os.replace(temp_path, target_path)
        touched.add(target_path.parent)
    for target in journal.get("deletes", []):
        (root / target).unlink(missing_ok=True)
        touched.add((root / target).parent)
    for directory in touched:
        _fsync_dir(directory)
    (root / JOURNAL).unlink(missing_ok=True)
    _fsync_dir(root)


def _discard(paths: Iterable[Path]) -> None:
    for path in paths:
        try:
            path.unlink(missing_ok=True)
        except OSError:
            pass


def _rel(root: Path, path: Path) -> str:
    return Path(os.path.relpath(Path(path).resolve(), root.resolve())).as_posix()
