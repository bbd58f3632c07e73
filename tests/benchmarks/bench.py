"""policykb benchmark: the targets of issue 11 measured on generated knowledge bases, beside their floors.

Figures, not assertions: nothing here passes or fails, and pytest does not collect this file. Run it by
hand from the repository root with the project's virtual environment, on a quiet machine:

    .venv/bin/python tests/benchmarks/bench.py --sizes 200,1000,2600 --out tests/benchmarks/RESULTS.md
    .venv/bin/python tests/benchmarks/bench.py --sizes 10,20 --repeat 1       # a quick look that it works

For every size N it writes a synthetic knowledge base with `policykb generate --zones N` into a temporary
folder (SAMPLE data, deleted at the end unless --keep) and measures, each in a fresh process whose CPU
seconds and peak memory come from the kernel (wait4):

  generate      `policykb generate` itself
  build         the first command on the new knowledge base (`policykb info`): building the store from Turtle
  score         `policykb score` once after the build (every zone scored), then --repeat times on the
                unchanged store
  explain       `policykb explain` of one zone
  queries       every library query (queries/*.rq), in one process after loading: first and warm runs
  matching      durable-rules matching of every zone's facts, and the same conditions as plain Python
                predicates on the same facts (the floor; the evaluator is below, not in the engine)
  change        one ledger row changed and imported, then re-scored and re-ranked by the Scoreboard of a
                running process
  import        `policykb import` of one 100-row ledger (a zone's ledger cut to 100 rows)
  oxigraph      the floor of build and queries: pyoxigraph loading the same Turtle files, and the same queries

It reports the ratios to the floors, the issue's targets met or missed (by how much), a cProfile of each
missed target, the load average around every size (a shared machine shows there), and the growth
exponent k of each measurement (time ∝ zones^k, least squares over the sizes). RESULTS.md is this
script's output (--out); the README's performance section quotes it.

The in-process measurements (queries, matching, change) are small functions below, each around one call
into the engine, so that they can be pointed at a new store or an incremental re-scoring API.
"""

from __future__ import annotations

import argparse
import csv
import datetime as _dt
import json
import math
import operator
import os
import platform
import pstats
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCHEME, YEAR = "fujian-2021", 2021
SEED = 1
ZONE_CODE = "syn-00001"  # the zone explained and changed
IMPORT_ZONE = 2  # the zone whose ledger is cut to 100 rows and imported
IMPORT_ROWS = 100
GiB = 2**30
DERIVED = (".*", "__pycache__")  # names of what commands derive from the files inside a knowledge-base folder

# The targets: (measurement, size it applies at or None for every size, limit, unit, what it says)
TARGETS = [
    ("score", 2600, 5.0, "s", "`policykb score` in a fresh process on an unchanged store, 2,600 zones"),
    ("build", 2600, 30.0, "s", "building the store from Turtle, 2,600 zones"),
    ("peak", 2600, 1.5 * GiB, "B", "peak memory of build, score (first and again) and explain, 2,600 zones"),
    ("import", 1000, 5.0, "s", "importing one 100-row ledger, validation included, 1,000 zones"),
    ("change", 2600, 0.100, "s", "one row changed, re-scored and re-ranked in a running process, 2,600 zones"),
    ("queries", 2600, 0.500, "s", "every library query (warm), 2,600 zones"),
    ("matching", None, 2.0, "×", "durable-rules matching against the same conditions as plain Python predicates"),
    ("bundled-score", 0, 1.0, "s", "`policykb score` end to end on the bundled knowledge base"),
]


# ---------------------------------------------------------------------------------------------
# Running a fresh process and measuring it
# ---------------------------------------------------------------------------------------------

@dataclass
class Run:
    """One process: wall and CPU seconds, peak memory, exit status and what it printed."""

    wall: float
    cpu: float = 0.0
    peak: int = 0  # bytes
    code: int | None = None
    timed_out: bool = False
    out: str = ""
    err: str = ""

    @property
    def ok(self) -> bool:
        return self.code == 0 and not self.timed_out


def run(cmd: list[str], timeout: float, cwd: Path | None = None) -> Run:
    """Run a command to the end (or kill it at `timeout`), with its own rusage from wait4."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, stdin=subprocess.DEVNULL, cwd=cwd, start_new_session=True)
        killed = threading.Event()

        def kill():
            killed.set()
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

        timer = threading.Timer(timeout, kill)
        timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            timer.cancel()
        proc.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - start
        out.seek(0)
        err.seek(0)
        return Run(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss * 1024, proc.returncode, killed.is_set(),
                   out.read().decode("utf-8", "replace"), err.read().decode("utf-8", "replace"))


def policykb(*args) -> list[str]:
    return [sys.executable, "-m", "policykb", *map(str, args)]


def profiled(cmd: list[str], target: Path) -> list[str]:
    """The same command under cProfile (`python -m cProfile -o FILE -m module …`)."""
    assert cmd[0] == sys.executable and cmd[1] == "-m"
    return [sys.executable, "-m", "cProfile", "-o", str(target), *cmd[1:]]


def worker(name: str, kb: Path, *extra) -> list[str]:
    """This script in a fresh process, running one in-process measurement."""
    return [sys.executable, str(Path(__file__).resolve()), "--worker", name, str(kb), *map(str, extra)]


def results(r: Run) -> list[dict]:
    """The JSON lines a worker printed (one per result), even when it was killed half way."""
    return [json.loads(line) for line in r.out.splitlines() if line.startswith("{")]


# ---------------------------------------------------------------------------------------------
# In-process measurements: each a small function around one call into the engine
# ---------------------------------------------------------------------------------------------

def load_kb(kb_dir: Path):
    from policykb.kb.layout import Layout
    from policykb.kb.load import load

    return load(Layout.at(kb_dir))


def library_params(query, zone: str, measure: str) -> dict[str, str]:
    """Values for a library query's parameters: the generated zone, measure and year, else the example
    its header gives (`e.g. pkb:ProgressReport`); optional parameters other than the year are left out."""
    values = {}
    for param in query.params:
        if param.name == "year":
            values["year"] = str(YEAR)
        elif not param.required:
            continue
        elif param.name == "zone":
            values["zone"] = zone
        elif param.name == "measure":
            values["measure"] = measure
        elif "e.g. " in param.doc:
            values[param.name] = param.doc.split("e.g. ", 1)[1].split()[0].rstrip(",;)")
    return values


def run_query(kb, query, bindings) -> int:
    """One library query through the engine's query call; the number of rows."""
    return len(list(kb.query(query.text, bindings)))


def timed(call, runs: int) -> tuple[int, list[float], float]:
    """Run `call` (which returns a row count) `runs` times: its rows, the wall seconds of each run and the
    CPU seconds of the first."""
    times, rows, first_cpu = [], 0, 0.0
    for i in range(max(1, runs)):
        start, cpu = time.perf_counter(), time.process_time()
        rows = call()
        times.append(time.perf_counter() - start)
        if i == 0:
            first_cpu = time.process_time() - cpu
    return rows, times, first_cpu


def measure_queries(kb_dir: Path, repeat: int, profile: str | None) -> None:
    from policykb.kb.names import indexes
    from policykb.kb.queries import bind, library

    kb = load_kb(kb_dir)
    names = indexes(kb)  # parameters typed zone, document, place … are resolved as `policykb query` does
    for name, query in sorted(library(kb.layout.queries).items()):
        params = library_params(query, f"syn:zone-{ZONE_CODE.removeprefix('syn-')}", "syn:measure-001")
        bindings = bind(query, params, names)
        rows, times, first_cpu = timed(lambda: run_query(kb, query, bindings), repeat)
        emit({"query": name, "params": params, "rows": rows, "first": times[0], "first_cpu": first_cpu,
              "warm": statistics.median(times[1:]) if len(times) > 1 else times[0]})
        if profile and name == profile.split("=", 1)[0]:
            _profile(lambda: run_query(kb, query, bindings), profile.split("=", 1)[1])


def measure_checks(kb_dir: Path, repeat: int, profile: str | None) -> None:
    """The integrity checks `policykb validate` runs (queries/checks/), each over the whole store as validate
    runs it: every one must grow linearly with the data, which the sizes of one run show."""
    from policykb.kb.queries import library

    kb = load_kb(kb_dir)
    for name, check in sorted(library(kb.layout.queries / "checks").items()):
        text, label = check.text, f"queries/checks/{name}.rq"
        rows, times, _ = timed(lambda: sum(1 for _ in kb.store.query(text, name=label)), repeat)
        emit({"check": name, "rows": rows, "first": times[0], "warm": statistics.median(times)})


def read_facts(kb, scheme):
    """Every zone's facts for the scheme, as the engine reads them for scoring (one call)."""
    from policykb.scoring.facts import FactReader

    return FactReader(kb, scheme).read(YEAR)


def all_facts(facts) -> list[dict]:
    """The facts the matcher sees: every evidence item's, then every zone's own."""
    return [item.fact() for zone in facts.zones for item in facts.items.get(zone.iri, ())] + \
        [facts.zone_facts[zone.iri] for zone in facts.zones]


def match_in_engine(matcher, facts) -> dict[str, frozenset]:
    """durable-rules, as evaluate() uses it."""
    from policykb.scoring.evaluate import match_facts

    items, zones = match_facts(matcher, facts)
    return {**items, **zones}


def match_in_python(predicates, facts: list[dict]) -> dict[str, frozenset]:
    """The floor: the same conditions as plain Python predicates over the same facts, one by one."""
    return {str(fact["id"]): frozenset(key for key, test in predicates.items() if test(fact)) for fact in facts}


def predicate(node):
    """A condition of the rule language compiled once to a plain Python function of a fact, with the
    engine's reading of a missing field: a comparison with a missing field is false, `!=` and `not in`
    hold for it. Written here, not in the engine: it is the floor the engine is measured against."""
    from policykb.rules.expr import And, Compare, Field, Not, Offset, Or

    if isinstance(node, (And, Or)):
        parts = tuple(predicate(p) for p in node.operands)
        return (lambda f: all(p(f) for p in parts)) if isinstance(node, And) else (lambda f: any(p(f) for p in parts))
    if isinstance(node, Not):
        inner = predicate(node.operand)
        return lambda f: not inner(f)
    assert isinstance(node, Compare)
    key, op, right = node.left.path.replace(".", "__"), node.op, node.right
    compare = {"==": operator.eq, "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}.get(op)
    if isinstance(right, (Field, Offset)):
        other = (right if isinstance(right, Field) else right.field).path.replace(".", "__")
        plus = right.plus if isinstance(right, Offset) else 0

        def test(f):
            a, b = f.get(key), f.get(other)
            return a is not None and b is not None and _safe(compare, a, b + plus)
        return test
    value = right.value
    if op in ("in", "not in"):
        values = frozenset(value if isinstance(value, tuple) else (value,))
        return (lambda f: f.get(key) in values) if op == "in" else (lambda f: f.get(key) not in values)
    if op == "!=":
        return lambda f: f.get(key) != value
    return lambda f: (a := f.get(key)) is not None and _safe(compare, a, value)


def _safe(compare, a, b) -> bool:
    try:
        return compare(a, b)
    except TypeError:  # a text compared with a number
        return False


def measure_matching(kb_dir: Path, repeat: int, profile: str | None) -> None:
    from policykb.rules.expr import fields_of
    from policykb.scoring.evaluate import conditions, matcher_for
    from policykb.scoring.schemes import scheme_of

    kb = load_kb(kb_dir)
    scheme = scheme_of(kb, SCHEME)
    start, cpu = time.perf_counter(), time.process_time()
    facts = read_facts(kb, scheme)
    read, read_cpu = time.perf_counter() - start, time.process_time() - cpu
    matcher = matcher_for(scheme, YEAR)
    rules = conditions(scheme, YEAR)
    predicates = {key: predicate(node) for key, node in rules.items()}
    plain = all_facts(facts)
    engine, python = [], []
    for _ in range(max(1, repeat)):
        start = time.process_time()
        in_engine = match_in_engine(matcher, facts)
        engine.append(time.process_time() - start)
        start = time.process_time()
        in_python = match_in_python(predicates, plain)
        python.append(time.process_time() - start)
    keys = sorted({f.path.replace(".", "__") for node in rules.values() for f in fields_of(node)})
    combos = {tuple(str(fact.get(k)) for k in keys) for fact in plain}
    differ = sum(1 for fact, hit in in_python.items() if in_engine.get(fact, frozenset()) != hit)
    emit({"zones": len(facts.zones), "facts": len(plain), "rules": len(rules), "distinct": len(combos),
          "read": read, "read_cpu": read_cpu, "engine": statistics.median(engine),
          "python": statistics.median(python), "differ": differ})
    if profile:
        _profile(lambda: match_in_engine(matcher, facts), profile)


def change_one_row(kb_dir: Path) -> tuple[Path, str]:
    """Raise the first fiscal-support amount in the explained zone's ledger by 1,000,000 yuan (B9 +1 point
    unless capped); the ledger and what changed."""
    ledger = kb_dir / "ledgers" / f"synthetic-{YEAR}-{ZONE_CODE.removeprefix('syn-')}.csv"
    with open(ledger, encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    column = rows[0].index("金额（元）")
    row = next(r for r in rows[1:] if r[column])
    before = row[column]
    row[column] = str(int(before) + 1_000_000)
    with open(ledger, "w", encoding="utf-8", newline="") as handle:
        csv.writer(handle, lineterminator="\n").writerows(rows)
    return ledger, f"amount {before} → {row[column]} at row {rows.index(row) + 1}"


def import_change(kb_dir: Path, ledger: Path) -> None:
    """The changed ledger imported: its evidence file written again (validation included)."""
    from policykb.ledgers.importer import import_ledgers

    with load_kb(kb_dir) as kb:
        import_ledgers(kb, [ledger])


def reopen(kb_dir: Path):
    """The knowledge base opened again after the import: the running process sees the new generation of the
    store (the import brought it in step), as `policykb serve` does when it notices the files changed."""
    return load_kb(kb_dir)


def rescore_after_change(board, kb):
    """The scoreboard of the running process updated: the changed ledger's zone scored again, every zone
    ranked again."""
    return board.update(kb)


def measure_change(kb_dir: Path, repeat: int, profile: str | None) -> None:
    from policykb.scoring.board import Scoreboard
    from policykb.scoring.schemes import scheme_of

    with load_kb(kb_dir) as kb:  # a running process that has scored every zone once
        board = Scoreboard(scheme_of(kb, SCHEME), YEAR, persist=False)
        before = board.update(kb).zone(ZONE_CODE)
    ledger, what = change_one_row(kb_dir)
    start, cpu = time.perf_counter(), time.process_time()
    import_change(kb_dir, ledger)
    imported, imported_cpu = time.perf_counter() - start, time.process_time() - cpu
    start = time.perf_counter()
    kb = reopen(kb_dir)
    reopened = time.perf_counter() - start
    start, cpu = time.perf_counter(), time.process_time()
    after = rescore_after_change(board, kb).zone(ZONE_CODE)
    emit({"change": what, "import": imported, "import_cpu": imported_cpu, "reopen": reopened,
          "wall": time.perf_counter() - start, "cpu": time.process_time() - cpu, "rescored": len(board.changed),
          "total_before": str(before.total), "total_after": str(after.total),
          "rank_before": before.rank, "rank_after": after.rank})
    kb.close()
    if profile:
        change_one_row(kb_dir)
        import_change(kb_dir, ledger)
        with reopen(kb_dir) as kb:
            _profile(lambda: rescore_after_change(board, kb), profile)


def measure_oxigraph(kb_dir: Path, repeat: int, profile: str | None) -> None:
    """The floor: pyoxigraph loading the same Turtle files into memory (one named graph each) and
    answering the same library queries over their union, with nothing of the engine around it."""
    import pyoxigraph as ox
    from policykb.kb import sparql
    from policykb.kb.layout import Layout
    from policykb.kb.queries import bind, library
    from policykb.kb.store import PREFIX_MAP, QUERY_BASE

    layout = Layout.at(kb_dir)
    store = ox.Store()
    start, cpu = time.perf_counter(), time.process_time()
    for path in turtle_files(layout):
        store.load(path=str(path), format=ox.RdfFormat.TURTLE, base_iri=path.resolve().as_uri(),
                   to_graph=ox.NamedNode(path.resolve().as_uri()))
    emit({"load": time.perf_counter() - start, "load_cpu": time.process_time() - cpu, "triples": len(store)})
    from policykb.kb.names import indexes

    names = indexes(load_kb(kb_dir))  # zone, document, place … parameters resolved as `policykb query` does
    for name, query in sorted(library(layout.queries).items()):
        params = library_params(query, f"syn:zone-{ZONE_CODE.removeprefix('syn-')}", "syn:measure-001")
        # the query text the engine itself sends to Oxigraph: parameters bound as VALUES (kb.sparql)
        text = sparql.bind(query.text, bind(query, params, names), PREFIX_MAP)
        times, rows = [], 0
        for _ in range(max(1, repeat)):
            start = time.perf_counter()
            answer = store.query(text, base_iri=QUERY_BASE, prefixes=PREFIX_MAP, use_default_graph_as_union=True)
            rows = sum(1 for _ in answer) if not isinstance(answer, bool) else 1
            times.append(time.perf_counter() - start)
        emit({"query": name, "rows": rows, "first": times[0], "warm": statistics.median(times[1:] or times)})


def turtle_files(layout) -> list[Path]:
    """The Turtle files a knowledge base is made of: the ontology without its shapes, and kb/ without
    hidden files and folders (derived state)."""
    files = [p for p in sorted(layout.ontology.glob("*.ttl")) if p.name != "shapes.ttl"]
    return files + sorted(p for p in layout.kb.rglob("*.ttl")
                          if not any(part.startswith(".") for part in p.relative_to(layout.kb).parts))


def emit(value: dict) -> None:
    print(json.dumps(value, default=str), flush=True)


def _profile(call, target: str) -> None:
    import cProfile

    profiler = cProfile.Profile()
    profiler.runcall(call)
    profiler.dump_stats(target)


WORKERS = {"queries": measure_queries, "checks": measure_checks, "matching": measure_matching, "change": measure_change,
           "oxigraph": measure_oxigraph}


# ---------------------------------------------------------------------------------------------
# One size
# ---------------------------------------------------------------------------------------------

@dataclass
class Size:
    zones: int
    load_before: tuple = ()
    load_after: tuple = ()
    runs: dict = field(default_factory=dict)  # name → Run (fresh processes)
    data: dict = field(default_factory=dict)  # name → what a worker reported
    notes: list = field(default_factory=list)
    profiles: dict = field(default_factory=dict)  # name → profile text


def log(text: str) -> None:
    print(f"  {text}", file=sys.stderr, flush=True)


def measure_size(zones: int, folder: Path, args) -> Size:
    size = Size(zones, load_before=os.getloadavg())
    kb = folder / f"kb-{zones}"
    timeout = args.timeout

    def fresh(name: str, cmd: list[str], times: int = 1) -> Run:
        log(f"{zones} zones: {name}")
        runs = [run(cmd, timeout) for _ in range(times)]
        for r in runs:
            if not r.ok:
                size.notes.append(f"{name}: {'timed out after ' + format(timeout, '.0f') + ' s' if r.timed_out else 'exit ' + str(r.code)}"
                                  f"{': ' + r.err.strip().splitlines()[-1] if r.err.strip() and not r.timed_out else ''}")
                size.runs[name] = r
                return r
        median = sorted(runs, key=lambda r: r.wall)[len(runs) // 2]
        size.runs[name] = Run(median.wall, statistics.median(r.cpu for r in runs), max(r.peak for r in runs), 0,
                              out=median.out)
        return size.runs[name]

    source = folder / f"generated-{zones}"
    generated = fresh("generate", policykb("generate", "--zones", zones, "--seed", args.seed, "--jobs", args.jobs, source))
    if not generated.ok:
        return size
    # the files people keep, without anything derived from them (a store, caches): build starts from Turtle
    shutil.copytree(source, kb, ignore=shutil.ignore_patterns(*DERIVED))
    shutil.rmtree(source)
    fresh("build", policykb("info", "--kb", kb, "--format", "json"))
    # the first score scores every zone and keeps the scores; the runs after it find the store unchanged
    fresh("score-first", policykb("score", "--kb", kb, "--scheme", SCHEME, "--year", YEAR, "--format", "csv"))
    fresh("score", policykb("score", "--kb", kb, "--scheme", SCHEME, "--year", YEAR, "--format", "csv"), args.repeat)
    fresh("explain", policykb("explain", "--kb", kb, "--scheme", SCHEME, "--year", YEAR, ZONE_CODE), 1)
    for name in ("oxigraph", "queries", "checks", "matching", "change"):
        r = fresh(name, worker(name, kb, args.repeat))
        size.data[name] = results(r)
    cut_ledger(kb, IMPORT_ZONE, IMPORT_ROWS)
    fresh("import", policykb("import", "--kb", kb, kb / "ledgers" / f"synthetic-{YEAR}-{IMPORT_ZONE:05d}.csv"))
    size.load_after = os.getloadavg()
    return size


def cut_ledger(kb: Path, zone: int, rows: int) -> None:
    """A zone's ledger cut to its first `rows` rows, in place: a corrected ledger imported again."""
    path = kb / "ledgers" / f"synthetic-{YEAR}-{zone:05d}.csv"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    path.write_text("".join(lines[: rows + 1]), encoding="utf-8")


def profile_missed(size: Size, kb: Path, missed: set[str], folder: Path, args) -> None:
    """A cProfile of every measurement that missed its target, on the same knowledge base."""
    commands = {
        "score": policykb("score", "--kb", kb, "--scheme", SCHEME, "--year", YEAR, "--format", "csv"),
        "explain": policykb("explain", "--kb", kb, "--scheme", SCHEME, "--year", YEAR, ZONE_CODE),
        "import": policykb("import", "--kb", kb, kb / "ledgers" / f"synthetic-{YEAR}-{IMPORT_ZONE:05d}.csv"),
    }
    if missed:  # the change and the import left changed files: bring the store in step, unmeasured
        run(policykb("info", "--kb", kb, "--format", "json"), args.timeout)
    for name in sorted(missed):
        target = folder / f"{name}-{size.zones}.prof"
        log(f"{size.zones} zones: profiling {name}")
        if name == "build":  # from the files alone again, as the measured run was
            fresh = folder / f"build-{size.zones}"
            shutil.copytree(kb, fresh, ignore=shutil.ignore_patterns(*DERIVED))
            r = run(profiled(policykb("info", "--kb", fresh, "--format", "json"), target), args.timeout)
            shutil.rmtree(fresh, ignore_errors=True)
        elif name in commands:
            r = run(profiled(commands[name], target), args.timeout)
        elif name in ("matching", "change"):
            r = run(worker(name, kb, 1, "--profile-file", target), args.timeout)
        elif name == "queries":
            slowest = max(size.data.get("queries", []), key=lambda q: q["warm"], default=None)
            if slowest is None:
                continue
            r = run(worker("queries", kb, 1, "--profile-file", f"{slowest['query']}={target}"), args.timeout)
            name = f"queries ({slowest['query']})"
        else:
            continue
        size.profiles[name] = profile_text(target) if target.exists() else f"(no profile: {'timed out' if r.timed_out else r.err.strip()[-300:]})"


def profile_text(path: Path, top: int = 14) -> str:
    """The functions with the most cumulative time, then the most own time."""
    stats = pstats.Stats(str(path))
    total = stats.total_tt
    lines = [f"total {total:,.2f} s of profiled CPU (profiling slows the run)", "",
             "| cumulative s | own s | calls | function |", "| ---: | ---: | ---: | --- |"]
    entries = stats.stats.items()

    def where(func):
        file, line, name = func
        file = file.split("site-packages/")[-1].split("engine/")[-1]
        return f"`{name}` {file}:{line}"

    by_cum = sorted(entries, key=lambda kv: kv[1][3], reverse=True)
    shown = [kv for kv in by_cum if not kv[0][0].startswith("<frozen") and kv[0][2] not in ("<module>", "<built-in method builtins.exec>", "run_module", "_run_code", "_run_module_as_main", "main", "runctx", "run")][:top]
    for func, (_cc, calls, own, cum, _callers) in shown:
        lines.append(f"| {cum:,.2f} | {own:,.2f} | {calls:,} | {where(func)} |")
    lines += ["", "| own s | calls | function |", "| ---: | ---: | --- |"]
    for func, (_cc, calls, own, _cum, _callers) in sorted(entries, key=lambda kv: kv[1][2], reverse=True)[:top]:
        lines.append(f"| {own:,.2f} | {calls:,} | {where(func)} |")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# Figures, targets and the report
# ---------------------------------------------------------------------------------------------

def figures(size: Size) -> dict[str, float]:
    """The headline figure of each measurement at one size (seconds, bytes or a ratio)."""
    out = {}
    for name in ("generate", "build", "score-first", "score", "explain", "import"):
        r = size.runs.get(name)
        if r is not None and r.ok:
            out[name] = r.wall
            out[f"{name}_cpu"] = r.cpu
    peaks = [size.runs[n].peak for n in ("build", "score-first", "score", "explain") if n in size.runs and size.runs[n].ok]
    if peaks:
        out["peak"] = max(peaks)
    queries = [q for q in size.data.get("queries", []) if "query" in q]
    if queries:
        out["queries"] = max(q["warm"] for q in queries)
    checks = size.data.get("checks", [])
    if checks:
        out["checks"] = max(q["warm"] for q in checks)
    matching = next(iter(size.data.get("matching", [])), None)
    if matching:
        out["matching"] = matching["engine"] / matching["python"] if matching["python"] else math.inf
        out["match_engine"] = matching["engine"]
        out["read_facts"] = matching["read"]
    change = next(iter(size.data.get("change", [])), None)
    if change:
        out["change"] = change["wall"]
    ox = next((d for d in size.data.get("oxigraph", []) if "load" in d), None)
    if ox:
        out["oxigraph_load"] = ox["load_cpu"]
        out["triples"] = ox["triples"]
    return out


def target_status(sizes: list[Size], bundled: Run | None) -> list[tuple]:
    """(target, size, limit, measured, met, margin) for every target whose size was run."""
    rows = []
    by_zones = {s.zones: figures(s) for s in sizes}
    for name, at, limit, unit, text in TARGETS:
        if name == "bundled-score":
            measured = bundled.wall if bundled and bundled.ok else None
            rows.append((text, "bundled", limit, unit, measured))
            continue
        sizes_for = [at] if at is not None else list(by_zones)
        for zones in sizes_for:
            value = by_zones.get(zones, {}).get(name)
            rows.append((text, zones, limit, unit, value))
    return rows


def missed_targets(size: Size, always: bool, largest: bool) -> set[str]:
    """The measurements to profile at this size: those whose target applies here and was missed (a target
    for every size only at the largest), or all of them."""
    f = figures(size)
    if always:
        return {n for n in ("score", "build", "import", "change", "queries", "matching") if n in f}
    missed = set()
    for name, at, limit, _unit, _text in TARGETS:
        applies = largest if at is None else at == size.zones
        if name == "bundled-score" or not applies or name not in f:
            continue
        if f[name] > limit:
            missed.add("score" if name == "peak" else name)
    return missed


def exponent(points: list[tuple[int, float]]) -> float | None:
    """The slope of log(value) over log(zones), least squares: value ∝ zones^k."""
    points = [(z, v) for z, v in points if v and v > 0]
    if len(points) < 2:
        return None
    xs, ys = [math.log(z) for z, _ in points], [math.log(v) for _, v in points]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    spread = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / spread if spread else None


def show(value: float | None, unit: str = "s") -> str:
    if value is None:
        return "—"
    if unit == "B":
        return f"{value / 2**20:,.0f} MiB" if value < GiB else f"{value / GiB:,.2f} GiB"
    if unit == "×":
        return f"{value:,.2f}×"
    if value == math.inf:
        return "∞"
    return f"{value * 1000:,.0f} ms" if value < 10 else f"{value:,.1f} s"


def ratio(a: float | None, b: float | None) -> str:
    return f"{a / b:,.1f}×" if a and b else "—"


def machine() -> list[str]:
    from importlib.metadata import PackageNotFoundError, version

    def ver(name):
        try:
            return f"{name} {version(name)}"
        except PackageNotFoundError:
            return f"{name} (not installed)"

    cpu = "unknown"
    try:
        cpu = next(l.split(":", 1)[1].strip() for l in Path("/proc/cpuinfo").read_text().splitlines() if l.startswith("model name"))
    except (OSError, StopIteration):
        pass
    try:
        kib = int(next(l for l in Path("/proc/meminfo").read_text().splitlines() if l.startswith("MemTotal")).split()[1])
        mem = f"{kib / 2**20:.0f} GiB"
    except (OSError, StopIteration, ValueError):
        mem = "unknown"
    libs = ", ".join(ver(n) for n in ("policykb", "rdflib", "pyshacl", "durable-rules", "pyoxigraph", "networkx"))
    return [f"- {os.cpu_count()} cores ({cpu}), {mem} memory, {platform.system()} {platform.release()}",
            f"- Python {platform.python_version()} ({platform.python_implementation()}), {libs}"]


def report(sizes: list[Size], bundled: Run | None, args, started: float, load_before: tuple) -> str:
    load = lambda t: "/".join(f"{x:.1f}" for x in t)  # noqa: E731
    lines = [
        "# policykb benchmark results",
        "",
        f"Measured {_dt.date.today().isoformat()} by `python tests/benchmarks/bench.py --sizes "
        f"{','.join(str(s.zones) for s in sizes)} --seed {args.seed} --repeat {args.repeat}` "
        f"(whole run {time.perf_counter() - started:,.0f} s). Figures, not assertions: re-run the script to refresh "
        "this file. Each knowledge base is `policykb generate --zones N` (SYNTHETIC sample data, about 110 ledger "
        "rows a zone) plus the bundled one. *Wall* is elapsed time, *CPU* the process's user + system seconds from "
        "the kernel; on a shared machine (load average above the core count) trust CPU.",
        "",
        "## Machine",
        *machine(),
        f"- load average (1/5/15 min) before the run {load(load_before)}, after it {load(os.getloadavg())}",
        "",
        "## Targets (issue 11)",
        "",
        "| target | size | limit | measured | met |",
        "| --- | ---: | ---: | ---: | --- |",
    ]
    for text, zones, limit, unit, value in target_status(sizes, bundled):
        if value is None:
            verdict = "not measured" if zones == "bundled" or any(s.zones == zones for s in sizes) else f"not run (size {zones})"
        else:
            verdict = "yes" if value <= limit else f"**no**, {value / limit:,.1f}× the limit"
        lines.append(f"| {text} | {zones if zones == 'bundled' else format(zones, ',')} | {show(limit, unit)} | "
                     f"{show(value, unit)} | {verdict} |")
    lines += ["", "## Fresh processes", "",
              "| zones | triples | generate | build (first command) | score, first | score, unchanged | explain | import 100 rows | peak memory (score, first) | load average before → after |",
              "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"]
    for s in sizes:
        f = figures(s)

        def cell(name):
            r = s.runs.get(name)
            if r is None:
                return "—"
            if not r.ok:
                return "timed out" if r.timed_out else f"failed ({r.code})"
            return f"{show(r.wall)} / {show(r.cpu)} CPU"
        score = s.runs.get("score-first")
        lines.append(f"| {s.zones:,} | {f.get('triples', 0):,} | {cell('generate')} | {cell('build')} | {cell('score-first')} | {cell('score')} | "
                     f"{cell('explain')} | {cell('import')} | {show(score.peak, 'B') if score and score.ok else '—'} | "
                     f"{load(s.load_before)} → {load(s.load_after)} |")
    lines += ["", "## Floors", "",
              "pyoxigraph loading the same Turtle files into an in-memory store (one named graph per file), and the "
              "same conditions of `rules/fujian-2021.yaml` as plain Python predicates on the same facts "
              "(`predicate()` in this script, every fact on its own), against durable-rules as `evaluate()` uses it "
              "(`match_in_engine()`). "
              "*differ* counts facts whose matched conditions differ between the two (0 means the floor did the same work).",
              "",
              "| zones | build CPU | pyoxigraph load CPU | ratio | facts | distinct field combinations | read facts | durable-rules CPU | plain Python CPU | ratio | differ |",
              "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for s in sizes:
        f = figures(s)
        m = next(iter(s.data.get("matching", [])), {})
        lines.append(f"| {s.zones:,} | {show(f.get('build_cpu'))} | {show(f.get('oxigraph_load'))} | "
                     f"{ratio(f.get('build_cpu'), f.get('oxigraph_load'))} | {m.get('facts', 0):,} | {m.get('distinct', 0):,} | "
                     f"{show(m.get('read'))} | {show(m.get('engine'))} | {show(m.get('python'))} | "
                     f"{ratio(m.get('engine'), m.get('python'))} | {m.get('differ', '—')} |")
    lines += ["", "## One row changed, in a running process", "",
              "The explained zone's first fiscal-support amount raised by 1,000,000 yuan in its ledger; the ledger "
              "imported again (`import_change()`: validated, written, and the store brought in step), the knowledge "
              "base opened again by the running process (`reopen()`: what `policykb serve` does when it notices the "
              "change), and its `Scoreboard` updated: the zone scored again, every zone ranked again "
              "(`rescore_after_change()`, the figure the target is about).",
              "", "| zones | change | import | reopen | re-score and re-rank | CPU | zones re-scored | total before → after | rank before → after |",
              "| ---: | --- | ---: | ---: | ---: | ---: | ---: | --- | --- |"]
    for s in sizes:
        c = next(iter(s.data.get("change", [])), None)
        if c:
            lines.append(f"| {s.zones:,} | {c['change']} | {show(c['import'])} | {show(c.get('reopen'))} | {show(c['wall'])} | "
                         f"{show(c['cpu'])} | {c['rescored']} | {c['total_before']} → {c['total_after']} | "
                         f"{c['rank_before']} → {c['rank_after']} |")
        else:
            lines.append(f"| {s.zones:,} | — | — | — | — | — | — | — | — |")
    names = sorted({q["query"] for s in sizes for q in s.data.get("queries", []) if "query" in q})
    if names:
        lines += ["", "## Library queries", "",
                  "In one process after loading: the first run, then the median of the warm runs; pyoxigraph's warm "
                  "time over the same data beside it. Parameters: the generated zone and measure, the year "
                  f"{YEAR}, else the example in the query's header.", "",
                  "| query | " + " | ".join(f"{s.zones:,}: rows, first, warm, pyoxigraph, ratio" for s in sizes) + " |",
                  "| --- | " + " | ".join("---" for _ in sizes) + " |"]
        for name in names:
            cells = []
            for s in sizes:
                q = next((q for q in s.data.get("queries", []) if q.get("query") == name), None)
                o = next((q for q in s.data.get("oxigraph", []) if q.get("query") == name), None)
                if q is None:
                    cells.append("—")
                    continue
                rows = f"{q['rows']:,}" + (f" (pyoxigraph {o['rows']:,})" if o and o["rows"] != q["rows"] else "")
                cells.append(f"{rows}, {show(q['first'])}, {show(q['warm'])}, {show(o['warm']) if o else '—'}, "
                             f"{ratio(q['warm'], o['warm'] if o else None)}")
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
    checks = sorted({q["check"] for s in sizes for q in s.data.get("checks", [])})
    if checks:
        lines += ["", "## Integrity checks", "",
                  "Each query of queries/checks/ that `policykb validate` runs (the SHACL shapes apart), over the "
                  "whole knowledge base in one process: violations found, the first run, the median of all runs; k "
                  "is the growth exponent over the sizes (1 is linear).", "",
                  "| check | " + " | ".join(f"{s.zones:,}: rows, first, median" for s in sizes) + " | k |",
                  "| --- | " + " | ".join("---" for _ in sizes) + " | ---: |"]
        for name in checks:
            found = [next((q for q in s.data.get("checks", []) if q["check"] == name), None) for s in sizes]
            cells = [f"{q['rows']:,}, {show(q['first'])}, {show(q['warm'])}" if q else "—" for q in found]
            k = exponent([(s.zones, q["warm"]) for s, q in zip(sizes, found) if q])
            lines.append(f"| {name} | " + " | ".join(cells) + f" | {'—' if k is None else format(k, '.2f')} |")
    lines += ["", "## Growth", "",
              "The exponent k of time ∝ zones^k fitted over the sizes (least squares on log-log; k = 1 is linear), "
              "on CPU seconds where a fresh process was measured.", "", "| measurement | k |", "| --- | ---: |"]
    for key, label in (("generate_cpu", "generate"), ("build_cpu", "build"), ("score-first_cpu", "score, first"),
                       ("score_cpu", "score, unchanged"),
                       ("explain_cpu", "explain"), ("import_cpu", "import 100 rows"), ("change", "one row changed: re-score"),
                       ("queries", "slowest library query (warm)"), ("checks", "slowest integrity check"), ("read_facts", "read facts"),
                       ("match_engine", "durable-rules matching"), ("oxigraph_load", "pyoxigraph load"), ("peak", "peak memory")):
        k = exponent([(s.zones, figures(s).get(key)) for s in sizes])
        lines.append(f"| {label} | {'—' if k is None else format(k, '.2f')} |")
    profiles = [(s, name, text) for s in sizes for name, text in s.profiles.items()]
    if profiles:
        lines += ["", "## Where the time goes (targets missed)", ""]
        for s, name, text in profiles:
            lines += [f"### {name}, {s.zones:,} zones", "", text, ""]
    notes = [(s, n) for s in sizes for n in s.notes]
    if notes:
        lines += ["", "## Notes", ""] + [f"- {s.zones:,} zones: {n}" for s, n in notes]
    if bundled is not None:
        lines += ["", "## The bundled knowledge base", "",
                  f"`policykb score --scheme {SCHEME} --year {YEAR}` end to end: {show(bundled.wall)} wall, "
                  f"{show(bundled.cpu)} CPU, {show(bundled.peak, 'B')} peak (median of {args.repeat})."]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--worker"]:  # one in-process measurement: --worker NAME KB REPEAT [--profile-file FILE]
        name, kb, repeat, *rest = argv[1:]
        WORKERS[name](Path(kb), int(repeat), rest[1] if rest[:1] == ["--profile-file"] else None)
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="200,1000,2600", help="synthetic zone counts (default %(default)s)")
    parser.add_argument("--seed", type=int, default=SEED, help="seed of `policykb generate` (default %(default)s)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of score and of each warm query (default %(default)s)")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds before one measurement is stopped (default %(default)s)")
    parser.add_argument("--jobs", type=int, default=2, help="worker processes of `policykb generate` (default %(default)s)")
    parser.add_argument("--profile", choices=("missed", "always", "never"), default="missed",
                        help="cProfile the measurements that miss their target (default), all of them, or none")
    parser.add_argument("--keep", metavar="DIR", help="generate into DIR and keep the knowledge bases and profiles")
    parser.add_argument("--out", help="write the Markdown report here (default: print it)")
    args = parser.parse_args(argv)
    sizes = sorted({int(s) for s in args.sizes.split(",") if s.strip()})
    started, load_before = time.perf_counter(), os.getloadavg()
    folder = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="policykb-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    measured = []
    try:
        log("bundled knowledge base: score")
        bundled_runs = [run(policykb("score", "--scheme", SCHEME, "--year", YEAR, "--format", "csv"), args.timeout)
                        for _ in range(max(1, args.repeat))]
        bundled = sorted(bundled_runs, key=lambda r: r.wall)[len(bundled_runs) // 2]
        for zones in sizes:
            size = measure_size(zones, folder, args)
            if args.profile != "never":
                missed = missed_targets(size, args.profile == "always" and zones == sizes[-1], zones == sizes[-1])
                profile_missed(size, folder / f"kb-{zones}", missed, folder, args)
            measured.append(size)
            if not args.keep:
                shutil.rmtree(folder / f"kb-{zones}", ignore_errors=True)
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
    text = report(measured, bundled, args, started, load_before)
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
        print(f"wrote {args.out}", file=sys.stderr)
    else:
        print(text)
    return 0



if __name__ == "__main__":
    sys.exit(main())
