"""Kill this process (SIGKILL, as `kill -9` does) at the Nth step of writing files, for the tests of changes
that must be whole or absent: each write, flush of a folder, rename and deletion of kb.files is a step.

A test runs a small script in a child process that calls `arm(step)` before the work, and reads the
number of steps a whole run takes from `steps()` (with step 0 nothing is killed)."""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Callable

from policykb.kb import files

_count = [0]
# the environment of a child process that imports this module
CHILD_ENV = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(Path(__file__).parent),
                                                                        os.environ.get("PYTHONPATH")]))}


def steps() -> int:
    return _count[0]


def arm(step: int, counts: Callable[[Path], bool] = lambda path: True) -> None:
    """Count the steps of kb.files from now on and die at step `step`; `counts` says which deletions count."""

    def tick() -> None:
        _count[0] += 1
        if _count[0] == step:
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
        if counts(self):
            tick()
        return real_unlink(self, missing_ok=missing_ok)

    files.os.replace = replace
    Path.unlink = unlink
