"""An import is a transaction over the whole knowledge base: it holds the lock (two imports queue, and the
second sees what the first wrote), writes every file of the run or none (even when killed, even when the
disk is full), and leaves no temporary file behind."""

from __future__ import annotations

import errno
import hashlib
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from killpoints import CHILD_ENV
from rdflib import Graph

from policykb.kb import files
from policykb.kb.layout import Layout
from policykb.kb.lock import KBLock
from policykb.namespace import PKB

ZONES = {"fz-b": "样例·福州乙开发区", "fz-c": "样例·福州丙开发区"}


def snapshot(directory: Path) -> dict:
    return {p.relative_to(directory).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(directory.rglob("*")) if p.is_file()}


def funds_ledger(path: Path, zone: str, rows: int = 200) -> Path:
    """A ledger of `rows` fiscal-support rows of 2022 for one zone (no zone has a 2022 Fujian ledger yet)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = ["开发区,年度,类型,事项名称,金额（元）"] + [f"{zone},2022,财政支持,专项资金第{i}笔,{1000 + i}" for i in range(rows)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def no_leftovers(kb: Path) -> bool:
    """No temporary file of a change and no journal anywhere in the knowledge base."""
    return not files.needs_recovery(kb, [kb]) and not [p for p in kb.rglob("*") if p.name.startswith(".policykb")]


def policykb(*args, env=None, **popen) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", "import sys; from policykb.cli import main; sys.exit(main())",
                             *map(str, args)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env={**os.environ, **(env or {})}, **popen)


def _wait_for_both_to_wait(procs) -> None:
    """Both imports have loaded the knowledge base and now wait for the lock the test holds."""
    for proc in procs:
        line = proc.stderr.readline()
        assert "waiting for another policykb command (pid" in line, line


def _run_two_at_once(kb_dir: Path, first: Path, second: Path):
    lock = KBLock(Layout.at(kb_dir).state_dir, on_wait=None)
    lock.acquire(exclusive=True, doing="a test holding the knowledge base")
    procs = [policykb("import", "--kb", kb_dir, ledger, env={"POLICYKB_LOCK_WAIT": "120"}) for ledger in (first, second)]
    try:
        _wait_for_both_to_wait(procs)
    finally:
        lock.release()  # now both race for it, each holding a knowledge base loaded before the other wrote
    return [(proc.wait(timeout=300), proc.stderr.read()) for proc in procs]


def test_two_imports_of_two_files_named_alike_queue_and_the_second_is_refused(kb_dir, tmp_path):
    first = funds_ledger(tmp_path / "clerk-a" / "led.csv", ZONES["fz-b"])
    second = funds_ledger(tmp_path / "clerk-b" / "led.csv", ZONES["fz-c"])
    results = _run_two_at_once(kb_dir, first, second)
    codes = sorted(code for code, _err in results)
    assert codes == [0, 1], results
    loser = next(err for code, err in results if code == 1)
    assert "kb/evidence/led.ttl already holds the evidence of another ledger of the same name, led.csv" in loser
    # the refusal names what the winner wrote: its zone, year and all its rows
    winner = "fz-b" if "led.csv (样例·福州乙开发区 2022 (200 items))" in loser else "fz-c"
    assert f"led.csv ({ZONES[winner]} 2022 (200 items))" in loser
    graph = Graph().parse(kb_dir / "kb" / "evidence" / "led.ttl")
    assert len(set(graph.subjects(PKB.ledgerRow, None))) == 200
    assert {str(z) for z in graph.objects(None, PKB.zone)} == {f"https://w3id.org/policykb/sample/zone-{winner}"}
    assert no_leftovers(kb_dir / "kb")


def test_two_imports_of_two_ledgers_at_once_both_land(kb_dir, tmp_path):
    first = funds_ledger(tmp_path / "fzb-2022.csv", ZONES["fz-b"])
    second = funds_ledger(tmp_path / "fzc-2022.csv", ZONES["fz-c"])
    results = _run_two_at_once(kb_dir, first, second)
    assert [code for code, _err in results] == [0, 0], results
    for name in ("fzb-2022", "fzc-2022"):
        graph = Graph().parse(kb_dir / "kb" / "evidence" / f"{name}.ttl")
        assert len(set(graph.subjects(PKB.ledgerRow, None))) == 200
    assert no_leftovers(kb_dir / "kb")


def test_an_import_that_waits_too_long_gives_up_and_changes_nothing(kb_dir, tmp_path):
    ledger = funds_ledger(tmp_path / "fzb-2022.csv", ZONES["fz-b"], rows=3)
    before = snapshot(kb_dir / "kb")
    lock = KBLock(Layout.at(kb_dir).state_dir, on_wait=None)
    lock.acquire(exclusive=True, doing="policykb import other.csv")
    try:
        proc = policykb("import", "--kb", kb_dir, ledger, env={"POLICYKB_LOCK_WAIT": "2"})
        code, err = proc.wait(timeout=300), proc.stderr.read()
    finally:
        lock.release()
    assert code == 1
    assert f"another policykb command is using this knowledge base (pid {os.getpid()}: policykb import other.csv); " \
           "waited 2 s" in err
    assert "run this command again when the other one has finished" in err
    assert snapshot(kb_dir / "kb") == before


# A two-ledger import killed at every other step of writing: a new ledger, and a corrected copy of
# fz-c's ledger under a new name that --replace puts in the place of the old one (whose file goes).
_KILLER = textwrap.dedent("""
    import os, signal, sys
    from policykb.kb import files
    import killpoints
    if sys.argv[1] == "journal":  # right after the journal is in place: the change is made, not yet carried out
        files._carry_out = lambda root, journal: os.kill(os.getpid(), signal.SIGKILL)
    else:  # the lock's own files are not the knowledge base's: their deletions are not steps
        killpoints.arm(int(sys.argv[1]), lambda path: "evidence" in str(path) or ".policykb-journal" in str(path))
    from policykb.cli import main
    code = main(sys.argv[2:])
    print("steps", killpoints.steps(), "exit", code)
""")



def _kill_setup(kb_dir: Path, tmp_path: Path) -> list[str]:
    new = funds_ledger(tmp_path / "fzb-2022.csv", ZONES["fz-b"], rows=20)
    corrected = tmp_path / "sample-2021-fz-c-v2.csv"
    text = (kb_dir / "kb" / "ledgers" / "sample" / "sample-2021-fz-c.csv").read_text(encoding="utf-8")
    corrected.write_text(text.replace("990000", "1990000"), encoding="utf-8")
    return ["import", "--kb", str(kb_dir), "--replace", str(new), str(corrected)]


def _evidence(kb: Path) -> dict:
    wanted = ("fzb-2022.ttl", "sample-2021-fz-c-v2.ttl", "sample-2021-fz-c.ttl")
    return {name: (kb / "evidence" / name).read_bytes() for name in wanted if (kb / "evidence" / name).exists()}


def test_an_import_killed_at_any_step_leaves_the_old_evidence_or_the_new_never_a_mix(kb_dir, tmp_path):
    import shutil

    pristine = tmp_path / "pristine"
    shutil.copytree(kb_dir, pristine)
    args = _kill_setup(kb_dir, tmp_path)
    old = _evidence(kb_dir / "kb")
    done = subprocess.run([sys.executable, "-c", _KILLER, "0", *args], capture_output=True, text=True, env=CHILD_ENV,
                          timeout=300)
    assert done.returncode == 0 and "exit 0" in done.stdout, done.stderr
    steps = int(done.stdout.strip().splitlines()[-1].split()[1])
    new = _evidence(kb_dir / "kb")
    assert set(old) == {"sample-2021-fz-c.ttl"} and set(new) == {"fzb-2022.ttl", "sample-2021-fz-c-v2.ttl"}
    outcomes = set()
    for step in range(1, steps + 1, 2):
        root = tmp_path / f"kill-{step}"
        shutil.copytree(pristine, root)
        args = _kill_setup(root, tmp_path)
        killed = subprocess.run([sys.executable, "-c", _KILLER, str(step), *args], capture_output=True, text=True, env=CHILD_ENV,
                                timeout=300)
        assert killed.returncode == -signal.SIGKILL, (step, killed.stdout, killed.stderr)
        files.recover(root / "kb", [root / "kb"])  # what the next command does first
        state = _evidence(root / "kb")
        assert state in (old, new), f"killed at step {step} of {steps}: {sorted(state)}"
        assert no_leftovers(root / "kb"), step
        outcomes.add("new" if state == new else "old")
    assert outcomes == {"old", "new"}  # the kill points span both sides of the moment the change is made


def test_the_next_import_finishes_a_change_a_killed_import_left(cli, kb_dir, tmp_path):
    args = _kill_setup(kb_dir, tmp_path)
    killed = subprocess.run([sys.executable, "-c", _KILLER, "journal", *args], capture_output=True, text=True, env=CHILD_ENV,
                            timeout=300)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert (kb_dir / "kb" / files.JOURNAL).exists()
    assert set(_evidence(kb_dir / "kb")) == {"sample-2021-fz-c.ttl"}  # not carried out yet
    third = funds_ledger(tmp_path / "fzd-2022.csv", "样例·福州丁开发区", rows=2)
    result = cli("import", "--kb", kb_dir, third)
    assert result.code == 0, result.err
    assert set(_evidence(kb_dir / "kb")) == {"fzb-2022.ttl", "sample-2021-fz-c-v2.ttl"}  # carried out to the end
    assert (kb_dir / "kb" / "evidence" / "fzd-2022.ttl").exists() and no_leftovers(kb_dir / "kb")


@pytest.mark.parametrize("code, words, hint", [
    (errno.ENOSPC, "the disk is full", "free some space"),
    (errno.EROFS, "the folder is on a read-only file system", "writable copy"),
    (errno.EACCES, "permission denied", "write permission"),
])
def test_a_disk_that_refuses_the_write_is_named_and_nothing_changes(cli, kb_dir, tmp_path, monkeypatch, code, words, hint):
    ledger = funds_ledger(tmp_path / "fzb-2022.csv", ZONES["fz-b"], rows=3)
    real, calls = files._write_synced, []

    def refusing(path, data):
        calls.append(path)
        if len(calls) == 1:
            raise OSError(code, os.strerror(code))
        real(path, data)

    monkeypatch.setattr(files, "_write_synced", refusing)
    before = snapshot(kb_dir / "kb")
    result = cli("import", "--kb", kb_dir, ledger)
    assert result.code == 1
    assert f"cannot write the knowledge base's files: {words}; nothing was changed" in result.err
    assert "kb/evidence/fzb-2022.ttl" in result.err and hint in result.err
    assert snapshot(kb_dir / "kb") == before
