"""Several files written as one change, a process killed at every step of it, a full disk, and the lock."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from policykb.errors import BusyError, StorageError
from policykb.kb import files
from policykb.kb.files import FileChange, commit, needs_recovery, recover
from policykb.kb.lock import KBLock

OLD = {"evidence/a.ttl": b"old a\n", "evidence/b.ttl": b"old b\n", "evidence/gone.ttl": b"old gone\n"}
NEW = {"evidence/a.ttl": b"new a\n", "evidence/b.ttl": b"new b\n", "evidence/c.ttl": b"new c\n",
       "evidence/gone.ttl": None}


def _seed(root: Path) -> None:
    for name, data in OLD.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)


def _state(root: Path) -> dict:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _expected(version: dict) -> dict:
    return {k: v for k, v in version.items() if v is not None}


def _changes(root: Path) -> list[FileChange]:
    return [FileChange(root / name, data) for name, data in NEW.items()]


def test_a_change_writes_every_file_and_leaves_nothing_behind(tmp_path):
    _seed(tmp_path)
    commit(tmp_path, _changes(tmp_path))
    assert _state(tmp_path) == _expected(NEW)
    assert not needs_recovery(tmp_path, [tmp_path])


def test_a_full_disk_changes_nothing(tmp_path, monkeypatch):
    _seed(tmp_path)
    real = files._write_synced
    calls = []

    def full(path, data):
        calls.append(path)
        if len(calls) == 2:
            raise OSError(errno.ENOSPC, "No space left on device")
        real(path, data)

    monkeypatch.setattr(files, "_write_synced", full)
    with pytest.raises(StorageError) as caught:
        commit(tmp_path, _changes(tmp_path))
    assert "the disk is full" in str(caught.value) and "nothing was changed" in str(caught.value)
    assert "free some space" in caught.value.hint
    assert _state(tmp_path) == OLD  # no temporary file either


_KILLER = textwrap.dedent("""
    import os, signal, sys
    from pathlib import Path
    from policykb.kb import files
    root, step = Path(sys.argv[1]), int(sys.argv[2])
    count = [0]
    def tick():
        count[0] += 1
        if count[0] == step:
            os.kill(os.getpid(), signal.SIGKILL)
    for name in ("_write_synced", "_fsync_dir"):
        real = getattr(files, name)
        def wrapped(*args, _real=real):
            tick()
            return _real(*args)
        setattr(files, name, wrapped)
    real_replace, real_unlink = os.replace, Path.unlink
    def replace(a, b):
        tick()
        return real_replace(a, b)
    def unlink(self, missing_ok=False):
        tick()
        return real_unlink(self, missing_ok=missing_ok)
    files.os.replace = replace
    Path.unlink = unlink
    changes = [files.FileChange(root / n, None if d is None else d.encode()) for n, d in %r]
    files.commit(root, changes)
    print("finished", count[0])
""")


def test_a_change_killed_at_any_step_is_whole_or_absent_after_recovery(tmp_path):
    new = [(name, None if data is None else data.decode()) for name, data in NEW.items()]
    script = _KILLER % (new,)
    # how many steps a whole change takes
    probe = tmp_path / "probe"
    _seed(probe)
    done = subprocess.run([sys.executable, "-c", script, str(probe), "0"], capture_output=True, text=True, check=True)
    steps = int(done.stdout.split()[-1])
    assert steps >= 8
    outcomes = set()
    for step in range(1, steps + 1):
        root = tmp_path / f"kill-{step}"
        _seed(root)
        killed = subprocess.run([sys.executable, "-c", script, str(root), str(step)], capture_output=True, text=True)
        assert killed.returncode == -signal.SIGKILL, (step, killed.stderr)
        recover(root, [root])
        state = _state(root)
        assert state in (OLD, _expected(NEW)), f"killed at step {step}: {state}"
        assert not needs_recovery(root, [root])
        outcomes.add("new" if state == _expected(NEW) else "old")
    assert outcomes == {"old", "new"}  # the kill points span both sides of the journal


def test_the_lock_lets_readers_share_and_makes_a_writer_wait(tmp_path):
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import sys, time
        from policykb.kb.lock import KBLock
        lock = KBLock({str(tmp_path)!r}, on_wait=None)
        lock.acquire(exclusive=True, doing="import led.csv")
        print("held", flush=True)
        time.sleep(30)
    """)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        waiting = []
        lock = KBLock(tmp_path, on_wait=waiting.append)
        started = time.monotonic()
        with pytest.raises(BusyError) as caught:
            lock.acquire(exclusive=False, wait=1.5)
        assert time.monotonic() - started >= 1.5
        assert f"pid {holder.pid}: import led.csv" in str(caught.value)
        assert waiting and "waiting for another policykb command" in waiting[0]
    finally:
        holder.kill()
        holder.wait()
    readers = [KBLock(tmp_path, on_wait=None) for _ in range(2)]
    for reader in readers:
        reader.acquire(exclusive=False, wait=0)
    with pytest.raises(BusyError):
        KBLock(tmp_path, on_wait=None).acquire(exclusive=True, wait=0.2)
    for reader in readers:
        reader.release()
    writer = KBLock(tmp_path, on_wait=None)
    writer.acquire(exclusive=True, wait=0)
    writer.release()


@pytest.mark.parametrize("code, words", [(errno.EROFS, "read-only file system"), (errno.EACCES, "permission denied")])
def test_a_folder_that_refuses_writes_is_named_with_what_to_do(tmp_path, monkeypatch, code, words):
    _seed(tmp_path)

    def refuse(path, data):
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(files, "_write_synced", refuse)
    with pytest.raises(StorageError) as caught:
        commit(tmp_path, _changes(tmp_path))
    assert words in str(caught.value) and "evidence/a.ttl" in str(caught.value) and "--kb DIR" in caught.value.hint
    assert _state(tmp_path) == OLD
