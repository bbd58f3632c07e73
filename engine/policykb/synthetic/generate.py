"""Write a synthetic knowledge base: a copy of a layout (ontology/, rules/, queries/, kb/), the invented
zones and measures as Turtle under kb/sample/, each zone's ledger as CSV under ledgers/, and that ledger's
evidence under kb/evidence/ exactly as `policykb import` writes it (the same reading, conversion and
Turtle writer), so that importing a generated ledger again gives the same bytes.

Zones are written one at a time (a ledger is held in memory only while it is written), optionally by
several worker processes; the result does not depend on their number. Everything is written into a
staging folder beside OUT that becomes OUT only when all of it is written.
"""

from __future__ import annotations

import multiprocessing
import shutil
import tempfile
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Callable

from ..errors import UsageError
from ..kb.layout import Layout
from ..kb.load import KnowledgeBase, load
from ..ledgers.importer import evidence_text, prepare
from ..ledgers.vocabulary import Vocabulary
from .reference import read_reference
from .rows import ledger_name, write_csv, zone_rows
from .world import MAX_ZONES, World, plan, write_world

FIRST_YEAR = 2021  # the Fujian rubric (闽自贸办〔2021〕1号) applies from 2021
MAX_JOBS = 32
LEDGERS = "ledgers"  # OUT/ledgers/: the generated ledgers, beside OUT/kb/


@dataclass(frozen=True)
class Generated:
    """What was written."""

    out: Path
    zones: int
    zones_inside_ftz: int
    measures: int
    ledgers: int
    rows: int


@dataclass(frozen=True)
class _Job:
    world: World
    kb: KnowledgeBase
    vocabulary: Vocabulary
    ledgers: Path


_job: _Job | None = None  # set before worker processes fork, so that they share it


def check_arguments(out: Path, zones: int, seed: int, year: int, jobs: int) -> None:
    """Refuse what cannot be generated before anything is written."""
    if not 1 <= zones <= MAX_ZONES:
        raise UsageError(f"--zones {zones} is out of range", hint=f"give from 1 to {MAX_ZONES:,} zones (a country has about 2,600)")
    if seed < 0:
        raise UsageError(f"--seed {seed} is negative", hint="give a whole number from 0, e.g. --seed 1")
    if not FIRST_YEAR <= year <= date.today().year:
        raise UsageError(f"--year {year} is out of range",
                         hint=f"give a year from {FIRST_YEAR} (the first year of the Fujian rubric) to {date.today().year}")
    if not 1 <= jobs <= MAX_JOBS:
        raise UsageError(f"--jobs {jobs} is out of range", hint=f"give from 1 to {MAX_JOBS} worker processes")
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise UsageError(f"{out} already exists and is not an empty folder",
                         hint="give a new folder: generate never writes over files")
    if not out.parent.is_dir():
        raise UsageError(f"the folder {out.parent} does not exist", hint="create it first, or give OUT inside an existing folder")


def generate(source: Layout, out: Path, *, zones: int, seed: int, year: int = FIRST_YEAR, jobs: int = 1,
             progress: Callable[[int, int], None] | None = None) -> Generated:
    """Generate `zones` synthetic zones for `year` from `seed` into the new folder `out`."""
    out = Path(out)
    check_arguments(out, zones, seed, year, jobs)
    staging = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}-generating-"))
    try:
        result = _generate(source, staging, zones, seed, year, jobs, progress)
        if out.exists():
            out.rmdir()
        staging.rename(out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return Generated(out, *result)


def _generate(source: Layout, root: Path, zones: int, seed: int, year: int, jobs: int, progress):
    global _job
    for name, folder in (("kb", source.kb), ("ontology", source.ontology), ("rules", source.rules),
                         ("queries", source.queries)):
        shutil.copytree(folder, root / name, ignore=shutil.ignore_patterns(".*", "__pycache__"))
    # in-memory stores: the output holds the files people keep, and no store derived from them
    with load(Layout.at(root), store="memory") as base:
        world = plan(read_reference(base), zones, seed, year)
    write_world(world, root / "kb" / "sample")
    kb = load(Layout.at(root), store="memory")
    vocabulary = Vocabulary(kb)
    for kind in ("zone", "measure"):  # the name indexes and measure facts are built once here, not once per worker
        vocabulary.index(kind)
    vocabulary.measure_facts  # noqa: B018 (a cached property, read to build it)
    (root / LEDGERS).mkdir()
    _job = _Job(world, kb, vocabulary, root / LEDGERS)
    rows = 0
    try:
        numbers = [zone.number for zone in world.zones]
        if jobs > 1 and "fork" in multiprocessing.get_all_start_methods():
            with multiprocessing.get_context("fork").Pool(jobs) as pool:
                for done, count in enumerate(pool.imap(_write_zone, numbers, chunksize=8), 1):
                    rows += count
                    if progress:
                        progress(done, len(numbers))
        else:
            for done, number in enumerate(numbers, 1):
                rows += _write_zone(number)
                if progress:
                    progress(done, len(numbers))
    finally:
        _job = None
        kb.close()
        # what opening the staging folder derived (scan cache, lock) is keyed by a path that is about to go
        shutil.rmtree(Layout.at(root).state_dir, ignore_errors=True)
    inside = sum(1 for z in world.zones if z.within or z.overlaps)
    return len(world.zones), inside, len(world.measures), len(world.zones), rows


def _write_zone(number: int) -> int:
    """One zone's ledger as CSV, then its evidence as `policykb import` would write it; the rows written."""
    job = _job
    zone = job.world.zones[number - 1]
    rows = zone_rows(job.world, zone)
    path = job.ledgers / f"{ledger_name(job.world, zone)}.csv"
    write_csv(path, rows)
    prepared = prepare(job.kb, path, job.vocabulary)
    prepared.result.target.write_text(evidence_text(prepared), encoding="utf-8")
    return len(rows)
