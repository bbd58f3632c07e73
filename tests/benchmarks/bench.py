"""policykb benchmark: how long the main jobs take on this machine, and how scoring scales with zones.

Figures, not assertions: nothing here passes or fails. pytest does not collect this file (its name does
not start with test_, and pyproject's testpaths only collects test_*.py); run it by hand from the
repository root, with the project's virtual environment:

    .venv/bin/python tests/benchmarks/bench.py --out tests/benchmarks/RESULTS.md   # about 4-5 minutes
    .venv/bin/python tests/benchmarks/bench.py --sizes 25,50 --match-sizes 100     # a quick look

What it measures
  1. the bundled knowledge base (or --kb DIR), in-process: load, validate (SHACL + integrity checks),
     scoring fujian-2021 for 2021 (all zones), explaining one zone, six library queries, building the
     networkx replication graph, coverage and centrality on it (medians of warm runs);
  2. the main commands end to end, as `policykb …` subprocesses (start-up and imports included);
  3. scaling of the whole scoring pipeline with SYNTHETIC zones (25 / 50 / 100 / 200 by default,
     26 evidence items each, like a sample ledger) written as Turtle into a temporary copy of the
     knowledge base, never into kb/: load, then one evaluate() split into reading facts (SPARQL) and
     matching (durable-rules). Larger sizes are out of reach of a 5-minute run because reading facts
     grows faster than linearly (see RESULTS.md);
  4. durable-rules matching alone at 100 / 500 / 2,000 zones: the facts of 20 synthetic zones as
     FactReader reads them, copied under new ids, matched one zone state at a time, as evaluate() does:
     the per-zone cost of the rule engine.
Each scaling size runs in a process of its own, so that its peak memory is its own and no
durable-rules host state carries over.

Synthetic resources live under https://w3id.org/policykb/synthetic/, are named 合成·开发区NNNNN, carry
pkb:sampleData true and an rdfs:comment saying SYNTHETIC; the generated file starts with a SYNTHETIC
banner and is deleted with its temporary directory when the run ends.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
PIPELINE_SIZES = (25, 50, 100, 200)  # read facts grows faster than linearly: see RESULTS.md
MATCH_SIZES = (100, 500, 2000)
YEAR = 2021
SCHEME = "fujian-2021"
EXPLAIN_ZONE = "fz-b"


# ---------------------------------------------------------------------------------------------
# Timing helpers
# ---------------------------------------------------------------------------------------------

def timed(fn, *args, **kwargs):
    start = time.perf_counter()
    value = fn(*args, **kwargs)
    return time.perf_counter() - start, value


def median_of(fn, runs: int):
    """Median and min seconds of `runs` calls (after the caller has warmed up)."""
    times = [timed(fn)[0] for _ in range(runs)]
    return statistics.median(times), min(times)


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def ms(seconds: float) -> str:
    return f"{seconds * 1000:,.0f} ms" if seconds < 10 else f"{seconds:,.1f} s"


# ---------------------------------------------------------------------------------------------
# 1. The bundled knowledge base
# ---------------------------------------------------------------------------------------------

LIBRARY_QUERIES = [
    ("kb-summary", {}),
    ("zones-inside-ftz", {}),
    ("replication-counts", {"year": "2021"}),
    ("zone-replications-in-year", {"zone": "sample:zone-fz-b", "year": "2021"}),
    ("measures-not-replicated", {"year": "2021"}),
    ("not-replicated-by-reason", {"year": "2022"}),
]


def bench_bundled(kb_dir: str | None) -> dict:
    from policykb.analysis.graph import ReplicationGraph
    from policykb.kb.layout import Layout
    from policykb.kb.load import load
    from policykb.kb.queries import bind, library, run
    from policykb.kb.validate import validate
    from policykb.scoring.evaluate import evaluate
    from policykb.scoring.explain import text_trace, zone_trace
    from policykb.scoring.schemes import read_scheme, scheme_path

    out: dict = {}
    layout = Layout.at(kb_dir)
    first, kb = timed(load, layout)
    out["load_first"] = first
    out["load"] = median_of(lambda: load(layout), 3)
    out["triples"] = kb.store.triple_count()
    out["files"] = len(kb.files)

    first, violations = timed(validate, kb)
    out["validate_first"] = first
    out["validate"] = median_of(lambda: validate(kb), 2)
    out["violations"] = sum(1 for v in violations if v.severity == "Violation")

    scheme = read_scheme(kb, scheme_path(layout, SCHEME))
    first, result = timed(evaluate, kb, scheme, YEAR)  # includes compiling the durable-rules ruleset
    out["score_first"] = first
    out["score"] = median_of(lambda: evaluate(kb, scheme, YEAR), 3)
    out["zones_scored"] = len(result.zones)

    def explain():
        evaluation = evaluate(kb, scheme, YEAR)
        return text_trace(zone_trace(evaluation, evaluation.zone(EXPLAIN_ZONE)))

    out["explain"] = median_of(explain, 3)
    out["explain_lines"] = explain().count("\n")

    queries = library(layout.queries)
    out["queries"] = {}
    for name, params in LIBRARY_QUERIES:
        query = queries[name]
        bindings = bind(query, params)
        rows = len(list(run(kb.store, query, bindings)))
        out["queries"][name] = (median_of(lambda: list(run(kb.store, query, bindings)), 3), rows, params)

    def build_graph():
        graph = ReplicationGraph(kb.store)
        return graph.nx

    out["graph_build"] = median_of(build_graph, 3)
    graph = ReplicationGraph(kb.store)
    g = graph.nx
    out["graph_size"] = (g.number_of_nodes(), g.number_of_edges())
    out["graph_cached_call"] = median_of(lambda: graph.coverage(year=YEAR), 3)
    out["centrality"] = median_of(lambda: graph.centrality(year=YEAR), 3)
    out["rss_mib"] = peak_rss_mib()
    return out


def bench_cli(kb_dir: str | None, runs: int = 3) -> dict:
    """End to end: `policykb …` as a user runs it (interpreter start-up, imports, load, work, output)."""
    exe = Path(sys.executable).with_name("policykb")
    base = [str(exe)] if exe.exists() else [sys.executable, "-m", "policykb.cli"]
    kb = ["--kb", kb_dir] if kb_dir else []
    commands = {
        "policykb --version": ["--version"],
        "policykb validate": ["validate", *kb],
        f"policykb score --scheme {SCHEME} --year {YEAR}": ["score", *kb, "--scheme", SCHEME, "--year", str(YEAR)],
        f"policykb explain --scheme {SCHEME} --year {YEAR} {EXPLAIN_ZONE}":
            ["explain", *kb, "--scheme", SCHEME, "--year", str(YEAR), EXPLAIN_ZONE],
        "policykb query replication-counts -p year=2021": ["query", *kb, "replication-counts", "-p", "year=2021"],
        "policykb coverage --year 2021": ["coverage", *kb, "--year", "2021"],
    }
    out = {}
    for label, args in commands.items():
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            proc = subprocess.run(base + args, capture_output=True, text=True)
            times.append(time.perf_counter() - start)
            if proc.returncode != 0:
                raise SystemExit(f"{label} failed ({proc.returncode}):\n{proc.stderr}")
        out[label] = (statistics.median(times), min(times))
    return out


# ---------------------------------------------------------------------------------------------
# 2. Scaling with SYNTHETIC zones
# ---------------------------------------------------------------------------------------------

SYN = "https://w3id.org/policykb/synthetic/"
MEASURES = [f"c{i:02d}" for i in range(1, 17)] + [f"s{i:02d}" for i in range(1, 17)] + ["x01", "x02"]
CITIES = ["fuzhou", "xiamen", "putian", "sanming", "quanzhou", "zhangzhou", "nanping", "longyan", "ningde"]

BANNER = """# SYNTHETIC BENCHMARK DATA, generated by tests/benchmarks/bench.py into a temporary copy of the
# knowledge base. Not statements of fact and never part of kb/: {zones} invented zones
# (合成·开发区NNNNN, pkb:sampleData true) with {items} invented evidence items.

@prefix pkb:     <https://w3id.org/policykb/def#> .
@prefix syn:     <https://w3id.org/policykb/synthetic/> .
@prefix sample:  <https://w3id.org/policykb/sample/> .
@prefix place:   <https://w3id.org/policykb/place/> .
@prefix level:   <https://w3id.org/policykb/concept/level/> .
@prefix scope:   <https://w3id.org/policykb/concept/scope/> .
@prefix skos:    <http://www.w3.org/2004/02/skos/core#> .
@prefix rdfs:    <http://www.w3.org/2000/01/rdf-schema#> .
@prefix xsd:     <http://www.w3.org/2001/XMLSchema#> .

"""


def synthetic_rows(rng: random.Random) -> list[dict]:
    """About 26 ledger rows of one zone for 2021, shaped like the sample ledgers (kb/ledgers/sample/)."""
    rows = [
        {"kind": "Mechanism", "item": "合成·市级领导小组", "level": "city"},
        {"kind": "Mechanism", "item": "合成·县级领导小组", "level": "county"},
        {"kind": "WorkPlan", "item": "合成·工作方案", "level": rng.choice(["city", "county"])},
        {"kind": "LedgerSystem", "item": "合成·台账制度", "level": rng.choice(["city", "county"])},
    ]
    picked = rng.sample(MEASURES, 8)
    for code in picked:
        rows.append({"kind": "Replication", "measure": code})
    rows.append({"kind": "Replication", "measure": picked[0]})  # a duplicate row, as ledgers have
    rows[-1]["year"] = YEAR - 1 if rng.random() < 0.5 else YEAR
    for n in range(1, 3):
        rows.append({"kind": "OwnPlatform", "item": f"合成·产业平台{n}号"})
    rows.append({"kind": "JointPlatform", "item": "合成·共建平台1号"})
    rows.append({"kind": "SOEOperation", "item": "合成·国企参与运营"})
    rows.append({"kind": "MarketBasedHiring", "item": "合成·市场化用人"})
    rows.append({"kind": "FiscalSupport", "item": "合成·专项资金", "amount": rng.randrange(0, 5_000_000, 10_000)})
    rows.append({"kind": "ProvincialDelegation", "item": "合成·省级赋权", "count": rng.randint(1, 6)})
    rows.append({"kind": "CityDelegation", "item": "合成·市级赋权", "count": rng.randint(1, 4)})
    rows.append({"kind": "OwnInnovation", "item": "合成·自主创新", "scope": rng.choice(["cross", "special"])})
    rows.append({"kind": "PilotOffer", "item": "合成·先行先试", "scope": rng.choice(["cross", "special"])})
    rows.append({"kind": "MediaReport", "item": "合成·媒体报道", "level": rng.choice(["provincial", "national", "city"])})
    rank = rng.randint(1, 60)
    rows.append({"kind": "ComprehensiveRanking", "rank": rank, "previous_rank": rank + rng.randint(-3, 12)})
    rows.append({"kind": "SelfAssessment", "indicator": "B4", "self_score": rng.randint(0, 14)})
    return rows


def write_synthetic(path: Path, zones: int, seed: int = 2021) -> int:
    rng = random.Random(seed)
    parts: list[str] = []
    items = 0
    for z in range(1, zones + 1):
        zid = f"zone-{z:05d}"
        parts.append(
            f'syn:{zid} a pkb:InnovationPromotionPilotZone ;\n'
            f'    skos:prefLabel "合成·开发区{z:05d}"@zh ; skos:notation "syn-{z:05d}" ;\n'
            f'    pkb:inCity place:{CITIES[z % len(CITIES)]} ; pkb:inProvince place:fujian ;\n'
            f'    pkb:zoneLevel level:provincial ; pkb:sampleData true ;\n'
            f'    rdfs:comment "SYNTHETIC benchmark zone" .\n')
        for r, row in enumerate(synthetic_rows(rng), 2):
            items += 1
            lines = [f"<{SYN}evidence/{zid}/r{r}> a pkb:{row['kind']}",
                     f"pkb:zone syn:{zid}", f"pkb:year {row.get('year', YEAR)}",
                     f'pkb:ledgerFile "synthetic/{zid}.csv"', f"pkb:ledgerRow {r}", "pkb:sampleData true"]
            if "item" in row:
                lines.append(f'pkb:item "{row["item"]}"')
            if "measure" in row:
                lines.append(f"pkb:measure sample:measure-{row['measure']}")
            if "level" in row:
                lines.append(f"pkb:level level:{row['level']}")
            if "scope" in row:
                lines.append(f"pkb:scope scope:{row['scope']}")
            for key, prop, dt in (("count", "count", "integer"), ("amount", "amount", "decimal"),
                                  ("rank", "rank", "integer"), ("previous_rank", "previousRank", "integer"),
                                  ("self_score", "selfScore", "decimal")):
                if key in row:
                    lines.append(f'pkb:{prop} "{row[key]}"^^xsd:{dt}')
            if "indicator" in row:
                lines.append(f'pkb:indicator "{row["indicator"]}"')
            parts.append(" ;\n    ".join(lines) + " .\n")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(BANNER.format(zones=zones, items=items) + "\n".join(parts), encoding="utf-8")
    return items


def _synthetic_kb(root: Path, zones: int, kb_dir: str | None):
    """A temporary copy of the knowledge base with `zones` synthetic zones added, loaded."""
    from policykb.kb.layout import Layout
    from policykb.kb.load import load

    shutil.copytree(Layout.at(kb_dir).kb, root / "kb")
    target = root / "kb" / "synthetic" / f"synthetic-{zones}-zones.ttl"
    gen, items = timed(write_synthetic, target, zones)
    load_time, kb = timed(load, Layout.at(root))
    return kb, {"zones": zones, "synthetic_items": items, "generate": gen,
                "turtle_mib": target.stat().st_size / 2**20, "load": load_time, "triples": kb.store.triple_count()}


def scale_one(zones: int, kb_dir: str | None, with_validate: bool) -> dict:
    """The whole pipeline at one size, in this process: Turtle → load → read facts → match → score."""
    from policykb.facts import FactReader
    from policykb.scoring.evaluate import evaluate, matcher_for
    from policykb.scoring.matcher import Matcher
    from policykb.scoring.schemes import read_scheme, scheme_path

    # time the stages inside evaluate() by wrapping two of its collaborators (this process only)
    spent = {"read_facts": 0.0, "match": 0.0, "facts_matched": 0}

    def wrap(cls, name, key, count=None):
        original = getattr(cls, name)

        def wrapper(self, *args, **kwargs):
            start = time.perf_counter()
            try:
                return original(self, *args, **kwargs)
            finally:
                spent[key] += time.perf_counter() - start
                if count:
                    spent["facts_matched"] += count(args)

        setattr(cls, name, wrapper)

    wrap(FactReader, "read", "read_facts")
    wrap(Matcher, "match", "match", count=lambda args: len(list(args[1])) if isinstance(args[1], list) else 0)

    with tempfile.TemporaryDirectory(prefix="policykb-bench-") as tmp:
        kb, out = _synthetic_kb(Path(tmp), zones, kb_dir)
        scheme = read_scheme(kb, scheme_path(kb.layout, SCHEME))
        out["compile"], _ = timed(matcher_for, scheme, YEAR)
        out["evaluate"], result = timed(evaluate, kb, scheme, YEAR)
        out.update(spent)
        out["zones_scored"] = len(result.zones)
        out["rewarded"] = sum(1 for z in result.zones if z.outcome == "reward")
        if with_validate:
            from policykb.kb.validate import validate

            out["validate"], violations = timed(validate, kb)
            out["violations"] = sum(1 for v in violations if v.severity == "Violation")
    out["rss_mib"] = peak_rss_mib()
    out["cpu"] = cpu_seconds()
    return out


def match_one(zones: int, kb_dir: str | None) -> dict:
    """durable-rules matching alone at one size: the facts of 20 synthetic zones, as FactReader reads them
    from a knowledge base, copied under new ids to `zones` zones, matched one zone state at a time."""
    from policykb.facts import FactReader
    from policykb.scoring.evaluate import matcher_for
    from policykb.scoring.schemes import read_scheme, scheme_path

    with tempfile.TemporaryDirectory(prefix="policykb-bench-") as tmp:
        kb, _ = _synthetic_kb(Path(tmp), 20, kb_dir)
        scheme = read_scheme(kb, scheme_path(kb.layout, SCHEME))
        reader = FactReader(kb, scheme)
        facts = reader.read(YEAR, reader.zones())
        templates = [[i.fact() for i in facts.items[z.iri]] + [facts.zone_facts[z.iri]]
                     for z in facts.zones if z.iri.startswith(SYN)]
    batches = []
    for n in range(zones):
        zone = f"{SYN}zone-m{n:05d}"
        batch = []
        for fact in templates[n % len(templates)]:
            copy = dict(fact, zone=zone)
            copy["id"] = zone if fact["kind"] == "zone" else f"{zone}/{fact['id'].rsplit('/', 1)[-1]}"
            batch.append(copy)
        batches.append((zone, batch))
    compile_time, matcher = timed(matcher_for, scheme, YEAR)
    warm = [dict(f, id=f"{f['id']}#warm-up", zone=f"{SYN}zone-warm-up") for f in templates[0]]
    matcher.match(f"{SYN}zone-warm-up", warm)  # the first state of a ruleset costs extra: not timed
    start, cpu_start = time.perf_counter(), cpu_seconds()
    hits = 0
    for zone, batch in batches:
        hits += sum(len(k) for k in matcher.match(zone, batch).by_fact.values())
    elapsed, cpu = time.perf_counter() - start, cpu_seconds() - cpu_start
    rules = len(json.loads(matcher.compiled()))
    return {"zones": zones, "facts": sum(len(b) for _, b in batches), "rules": rules, "compile": compile_time,
            "match": elapsed, "match_cpu": cpu, "rule_hits": hits, "rss_mib": peak_rss_mib()}


def bench_scaling(sizes, kb_dir: str | None, validate_up_to: int, mode: str = "pipeline") -> list[dict]:
    results = []
    for size in sizes:
        cmd = [sys.executable, __file__, "--scale-one" if mode == "pipeline" else "--match-one", str(size)]
        if kb_dir:
            cmd += ["--kb", kb_dir]
        if mode == "pipeline" and size <= validate_up_to:
            cmd.append("--with-validate")
        print(f"  {mode}: {size} synthetic zones …", file=sys.stderr, flush=True)
        start = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            raise SystemExit(f"{mode} run with {size} zones failed:\n{proc.stderr}")
        data = json.loads(proc.stdout.strip().splitlines()[-1])
        data["process"] = time.perf_counter() - start
        results.append(data)
    return results


# ---------------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------------

def machine() -> list[str]:
    from importlib.metadata import version

    import durable  # noqa: F401  (version below)

    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = "unknown"
    try:
        kib = int(next(l for l in Path("/proc/meminfo").read_text().splitlines() if l.startswith("MemTotal")).split()[1])
        mem = f"{kib / 2**20:.0f} GiB"
    except (OSError, StopIteration, ValueError):
        pass
    libs = ", ".join(f"{name} {version(name)}" for name in
                     ("policykb", "rdflib", "pyshacl", "durable-rules", "networkx"))
    return [
        f"- machine: the project's `python` machine kind (/work/.library/env/machines/python.md): "
        f"{os.cpu_count()} cores ({cpu}), {mem} memory, {platform.system()} {platform.release()}",
        f"- Python {platform.python_version()} ({platform.python_implementation()}), {libs}",
        "- store: rdflib's in-memory Dataset (policykb's default MemoryStore)",
    ]


def report(bundled: dict | None, cli: dict | None, pipeline: list[dict], matching: list[dict],
           started: float, load_before: tuple) -> str:
    today = _dt.date.today().isoformat()
    load_after = os.getloadavg()
    lines = [
        "# policykb benchmark results",
        "",
        f"Measured {today} by `python tests/benchmarks/bench.py` (whole run {time.perf_counter() - started:,.0f} s).",
        "Figures, not assertions: re-run the script to refresh this file (`--out tests/benchmarks/RESULTS.md`).",
        "Wall-clock times (the load average under Machine says whether other work shared the CPU);",
        "in-process figures are medians of warm runs, with the minimum beside them.",
        "",
        "## Machine",
        *machine(),
        f"- load average (1/5/15 min) before the run {'/'.join(f'{x:.1f}' for x in load_before)}, after it "
        f"{'/'.join(f'{x:.1f}' for x in load_after)}: on 2 cores, a load above 1 means other work shared the CPU",
        "  and the wall-clock figures are inflated; the CPU seconds of the scaling runs are less affected.",
        "",
    ]
    if bundled:
        b = bundled
        lines += [
            "## The bundled knowledge base, in-process",
            "",
            f"{b['triples']:,} triples in {b['files']} files; {b['zones_scored']} zones scored under {SCHEME} for {YEAR}.",
            "",
            "| what | median | min | first call |",
            "| --- | ---: | ---: | ---: |",
            f"| load (parse ontology + kb/ Turtle into the store) | {ms(b['load'][0])} | {ms(b['load'][1])} | {ms(b['load_first'])} |",
            f"| validate (SHACL shapes + integrity queries; {b['violations']} violations) | {ms(b['validate'][0])} | {ms(b['validate'][1])} | {ms(b['validate_first'])} |",
            f"| score {SCHEME} {YEAR}, all {b['zones_scored']} zones (the first call also compiles the ruleset) | {ms(b['score'][0])} | {ms(b['score'][1])} | {ms(b['score_first'])} |",
            f"| explain {EXPLAIN_ZONE}: score all zones (the rank needs them), then the trace ({b['explain_lines']} lines) | {ms(b['explain'][0])} | {ms(b['explain'][1])} | |",
            f"| build the networkx replication graph ({b['graph_size'][0]:,} nodes, {b['graph_size'][1]:,} edges) | {ms(b['graph_build'][0])} | {ms(b['graph_build'][1])} | |",
            f"| coverage {YEAR} on the built graph (includes the store-digest check every call makes) | {ms(b['graph_cached_call'][0])} | {ms(b['graph_cached_call'][1])} | |",
            f"| centrality of zones, {YEAR} | {ms(b['centrality'][0])} | {ms(b['centrality'][1])} | |",
            "",
            "Library queries (queries/*.rq with bound parameters):",
            "",
            "| query | params | rows | median | min |",
            "| --- | --- | ---: | ---: | ---: |",
        ]
        for name, ((med, low), rows, params) in b["queries"].items():
            shown = ", ".join(f"{k}={v}" for k, v in params.items()) or "—"
            lines.append(f"| {name} | {shown} | {rows} | {ms(med)} | {ms(low)} |")
        lines += ["", f"Peak memory of that process: {b['rss_mib']:,.0f} MiB.", ""]
    if cli:
        lines += [
            "## End to end: `policykb` commands on the bundled knowledge base",
            "",
            "Each a fresh process (interpreter start-up, imports, load, the work, output), median of 3.",
            "",
            "| command | median | min |",
            "| --- | ---: | ---: |",
        ]
        for label, (med, low) in cli.items():
            lines.append(f"| `{label}` | {ms(med)} | {ms(low)} |")
        lines.append("")
    if pipeline:
        lines += [
            "## Scaling 1: the whole scoring pipeline with SYNTHETIC zones",
            "",
            "Each size runs in a process of its own: a temporary copy of kb/ plus one generated Turtle file of",
            "synthetic zones (pkb:InnovationPromotionPilotZone, 26 evidence items each for 2021: mechanisms,",
            "plans, 9 replication rows of the sample catalogue measures, platforms, funds, powers, innovations,",
            "media, a ranking, a self-assessment), loaded, then scored once under fujian-2021 for 2021 (the 24",
            "sample zones too). *read facts* = `FactReader.read` (the SPARQL that turns the store into per-zone",
            "facts); *match* = all `Matcher.match` calls (durable-rules, one state per zone); *evaluate* = the",
            "whole `evaluate()` call (read + match + arithmetic, ranking, outcomes).",
            "",
            "| synthetic zones | triples | load | read facts | match | evaluate | match share | validate | process CPU | peak memory |",
            "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        for s in pipeline:
            validate = ms(s["validate"]) if "validate" in s else "—"
            lines.append(
                f"| {s['zones']:,} | {s['triples']:,} | {ms(s['load'])} | {ms(s['read_facts'])} | {ms(s['match'])} | "
                f"{ms(s['evaluate'])} | {100 * s['match'] / s['evaluate']:.0f} % | {validate} | {s['cpu']:,.1f} s | {s['rss_mib']:,.0f} MiB |")
        lines.append("")
        if len(pipeline) >= 2:
            a, b = pipeline[-2], pipeline[-1]
            growth = b["read_facts"] / a["read_facts"]
            lines += [
                f"From {a['zones']:,} to {b['zones']:,} synthetic zones ({b['zones'] / a['zones']:.1f}× the zones) reading",
                f"facts took {growth:.1f}× as long: it grows faster than linearly, while matching grows linearly.",
                "",
            ]
    if matching:
        lines += [
            "## Scaling 2: durable-rules matching alone",
            "",
            "The facts of 20 synthetic zones exactly as `FactReader` reads them from a knowledge base, copied",
            "under new ids to N zones, then matched as `evaluate()` does: one durable-rules state per zone",
            "(assert the zone's facts in one batch, collect what fired, delete the state), through one",
            f"compiled ruleset ({matching[0]['rules']} rules, counting the catch-all that checks every fact arrived).",
            "",
            "| zones | facts | compile ruleset | match all | CPU | per zone | facts per second | rule firings | peak memory |",
            "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        for m in matching:
            lines.append(
                f"| {m['zones']:,} | {m['facts']:,} | {ms(m['compile'])} | {ms(m['match'])} | {ms(m['match_cpu'])} | "
                f"{m['match'] / m['zones'] * 1000:.2f} ms | {m['facts'] / m['match']:,.0f} | {m['rule_hits']:,} | "
                f"{m['rss_mib']:,.0f} MiB |")
        lines.append("")
        if len(matching) >= 2:
            a, b = matching[0], matching[-1]
            per_zone = (b["match"] - a["match"]) / (b["zones"] - a["zones"])
            lines += [f"Marginal matching cost per zone between {a['zones']:,} and {b['zones']:,} zones: "
                      f"{per_zone * 1000:.2f} ms, so about {per_zone * 2600:,.0f} s for 2,600 zones "
                      "(the national number of development zones in DESIGN.md).", ""]
    if len(pipeline) >= 2:
        import math

        a, b = pipeline[0], pipeline[-1]
        def exponent(key):
            """The slope of log(time) over log(zones scored), least squares over every pipeline size."""
            xs = [math.log(r["zones_scored"]) for r in pipeline]
            ys = [math.log(r[key]) for r in pipeline]
            mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
            return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)

        per_zone = (f"{matching[-1]['match'] / matching[-1]['zones'] * 1000:.1f} ms a zone, flat from "
                    f"{matching[0]['zones']:,} to {matching[-1]['zones']:,} zones") if matching else "see Scaling 2"
        lines += [
            "## Findings",
            "",
            f"- Fitted over {a['zones']}–{b['zones']} synthetic zones (plus the sample zones), time grows as "
            f"(zones)^k with k = {exponent('read_facts'):.1f} for reading facts and {exponent('load'):.1f} for "
            "loading (k = 1 is linear). Matching in durable-rules is linear and small: "
            f"{per_zone} (Scaling 2), a few per cent of `evaluate()`.",
            "- History, 2026-11-27: the evidence query `_EVIDENCE` in engine/policykb/facts.py used to join",
            "  `?zone a/rdfs:subClassOf* ?class`, which rdflib evaluated once per evidence row (O(evidence ×",
            "  zones)): reading facts for 200 synthetic zones took 51.5 s and grew as (zones)^1.5. The zone",
            "  class is now checked in Python; the same run takes about 9 s. `_LABELS` is the next largest query.",
            "- `validate` (pySHACL over the union graph) is the slowest step on the bundled knowledge base and",
            "  grows with it; `policykb import` runs it on every import.",
            *([f"- durable-rules sees each zone's ~27 facts in one state; with {matching[-1]['rules']} rules and every fact "
               "firing the catch-all",
               f"  plus one or two conditions it handles about {round(matching[-1]['facts'] / matching[-1]['match'], -3):,.0f} "
               "facts a second, below the 23k-40k/s that",
               "  notes/building-blocks.md measured for a ruleset of 20 rules: the cost per fact grows with the rules."]
              if matching else []),
            "- `explain` costs as much as `score`: the ranking needs every zone's total.",
            "- Every command pays about half a second of interpreter start-up and imports, and more than",
            "  half a second to load the bundled knowledge base, before any work.",
            "",
        ]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default=",".join(map(str, PIPELINE_SIZES)),
                        help="synthetic zone counts for the whole pipeline (default %(default)s; empty: skip)")
    parser.add_argument("--match-sizes", default=",".join(map(str, MATCH_SIZES)),
                        help="zone counts for durable-rules matching alone (default %(default)s; empty: skip)")
    parser.add_argument("--validate-up-to", type=int, default=25,
                        help="also time validate on pipeline runs up to this many synthetic zones (default %(default)s)")
    parser.add_argument("--kb", default=None, help="knowledge-base directory (default: the bundled one)")
    parser.add_argument("--out", default=None, help="write the Markdown report here (default: print it)")
    parser.add_argument("--skip-bundled", action="store_true", help="only the scaling runs")
    parser.add_argument("--scale-one", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--match-one", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--with-validate", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.scale_one:
        print(json.dumps(scale_one(args.scale_one, args.kb, args.with_validate)))
        return 0
    if args.match_one:
        print(json.dumps(match_one(args.match_one, args.kb)))
        return 0

    started = time.perf_counter()
    load_before = os.getloadavg()
    bundled = cli = None
    if not args.skip_bundled:
        print("  bundled knowledge base …", file=sys.stderr, flush=True)
        bundled = bench_bundled(args.kb)
        print("  end-to-end commands …", file=sys.stderr, flush=True)
        cli = bench_cli(args.kb)
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    pipeline = bench_scaling(sizes, args.kb, args.validate_up_to, "pipeline") if sizes else []
    match_sizes = [int(s) for s in args.match_sizes.split(",") if s.strip()]
    matching = bench_scaling(match_sizes, args.kb, 0, "matching") if match_sizes else []
    text = report(bundled, cli, pipeline, matching, started, load_before)
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
        print(f"wrote {args.out}", file=sys.stderr)
    else:
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
