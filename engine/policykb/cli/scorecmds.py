"""`policykb score`, `explain`, `test` and `rules`: scores with their traces, and rule files checked."""

from __future__ import annotations

import sys

from ..errors import PolicyKBError, RuleError, RuleErrors, UsageError
from ..kb.load import KnowledgeBase
from ..kb.names import zone_index
from ..rules.duties import scheme_file
from ..rules.reader import clause_problems
from ..scoring.board import Scoreboard
from ..scoring.explain import scores_table, text_trace, trace_graph, zone_trace
from ..scoring.provenance import sources
from ..scoring.ruletests import run_cases, test_file_for
from ..scoring.schemes import knows, read_scheme, scheme_of
from .common import add_format_option, add_scheme_options, check_year, command, load_kb, progress
from .render import FOR_PEOPLE, dumps, emit, format_decimal


def register(sub) -> None:
    p = command(sub, "score", cmd_score, "score every zone under a scheme for a year (the score table)",
                "Evaluate rules/SCHEME.yaml over the knowledge base for --year: points per indicator (B1…B18), "
                "first-level subtotals, total, rank, and outcome (reward, rectify, none, excluded). Formula "
                "schemes (zhejiang-2022) print each indicator's value and its rank. Every number can be traced "
                "with `policykb explain`.")
    add_scheme_options(p)
    p.add_argument("--zone", metavar="ZONE", help="print only this zone's row (the ranking is still over all zones)")
    add_format_option(p)

    p = command(sub, "explain", cmd_explain, "explain one zone's score: rule, clause, evidence and arithmetic",
                "For each indicator: the rule (file:line) and the clause it encodes, every evidence item counted "
                "(ledger file and row, RDF resource), every item not counted and why, the points before and "
                "after the cap, the interpretation notes, the self-assessed score and the difference, then the "
                "sum, the exclusion, the rank and the outcome. --format json gives the same as data; --format "
                "turtle gives it as PROV-O, which loads into the knowledge base (see queries/zone-score-trace.rq).")
    p.add_argument("zone", metavar="ZONE", help="zone id (fz-b), prefixed name (sample:zone-fz-b), IRI or Chinese name")
    add_scheme_options(p)
    add_format_option(p, choices=("table", "json", "turtle"))

    p = command(sub, "test", cmd_test, "run the rule test cases (rules/*.tests.yaml)",
                "Run each scheme's test cases: given evidence rows, the expected points per indicator, total, "
                "rank and outcome. Exit status 1 when a case fails.")
    p.add_argument("schemes", nargs="*", metavar="SCHEME", help="schemes to test (default: every scheme with a test file)")
    add_format_option(p)

    p = sub.add_parser("rules", help="check rule files, or show a scheme's compiled durable-rules ruleset",
                       description="Rule files (rules/SCHEME.yaml): check them, or show what they compile to.")
    actions = p.add_subparsers(dest="action", metavar="ACTION", title="actions")
    actions.required = True
    q = command(actions, "check", cmd_rules_check, "check rule files: keys, sums, kinds, fields, codes, caps, "
                "expressions and cited clauses",
                "Read every rule file (or the given schemes) and report each problem with file, line and column "
                "and what may be written instead; also check that every clause a rule cites is in the knowledge base.")
    q.add_argument("schemes", nargs="*", metavar="SCHEME", help="scheme ids (default: all)")
    q = command(actions, "show", cmd_rules_show, "print the durable-rules JSON a scheme compiles to for a year")
    q.add_argument("scheme", metavar="SCHEME", help="the scheme, e.g. fujian-2021")
    q.add_argument("--year", type=int, required=True, metavar="YEAR", help="the evaluation year")


def _scoreboard(args) -> tuple[KnowledgeBase, Scoreboard]:
    """The knowledge base and the scheme's scores for the year: kept scores where their inputs are unchanged,
    the other zones scored again (scoring.board)."""
    kb = load_kb(args)
    scheme = scheme_of(kb, args.scheme)
    check_year(scheme, args.year)
    board = Scoreboard(scheme, args.year)
    board.update(kb, progress=lambda zones: progress(zones, "scoring"))
    return kb, board


def cmd_score(args) -> int:
    kb, board = _scoreboard(args)
    result = board.evaluation
    rows = scores_table(result)
    if args.zone:
        wanted = _zone(kb, args.zone)
        rows = [r for r, z in zip(rows, result.zones) if z.zone.iri == wanted]
    codes = [i.code for i in result.scheme.indicators]
    if args.format == "json":
        emit(rows, [], "json")
        return 0
    flat = []
    for row in rows:
        line = {"zone": row["zone"], "label": row["label"]}
        line.update(row["indicators"])
        line.update(row.get("subtotals", {}))
        line.update({"total": row["total"], "rank": row["rank"], "outcome": row["outcome"],
                     "eligible": row["eligible"], "sample": row["sample"], "self_total": row.get("self_total")})
        flat.append(line)
    levels = [lv.code for lv in result.scheme.levels if not lv.parent]
    columns = ["zone", "label"] + codes + levels + ["total", "rank", "outcome"]
    if args.format in ("csv", "tsv"):
        columns += ["self_total", "eligible", "sample"]
    emit(flat, columns, args.format)
    if args.format in FOR_PEOPLE and any(r["sample"] for r in rows):
        print("sample data: these zones and their evidence are invented to exercise the rules", file=sys.stderr)
    return 0


def _zone(kb: KnowledgeBase, text: str) -> str:
    found, close = zone_index(kb).find(text)
    if found is None:
        raise UsageError(f"no zone {text!r} in the knowledge base",
                         hint=(f"did you mean {', '.join(close)}? " if close else "") + "give a zone id, prefixed name or name")
    return str(found)


def cmd_explain(args) -> int:
    kb, board = _scoreboard(args)
    result = board.evaluation
    wanted = _zone(kb, args.zone)
    if not any(z.zone.iri == wanted for z in result.zones):
        raise UsageError(f"{args.zone} is not scored under {result.scheme.id}",
                         hint=f"the scheme scores zones of class {result.scheme.zones}")
    zone = board.trace(kb, wanted)
    found = sources(kb, result, zones=[zone])
    if args.format == "turtle":
        sys.stdout.write(trace_graph(result, [zone], found).serialize(format="turtle"))
    elif args.format == "json":
        sys.stdout.write(dumps(zone_trace(result, zone, found)) + "\n")
    else:
        sys.stdout.write(text_trace(zone_trace(result, zone, found)))
    return 0


def cmd_test(args) -> int:
    kb = load_kb(args)
    files = []
    for path in kb.layout.rule_files():
        tests = test_file_for(path)
        if (not args.schemes or path.stem in args.schemes) and tests.exists():
            files.append((path, tests))
    if args.schemes:
        missing = set(args.schemes) - {p.stem for p, _ in files}
        if missing:
            raise UsageError(f"no test file for {', '.join(sorted(missing))}",
                             hint="write rules/<scheme>.tests.yaml next to the rule file")
    rows, failed = [], 0
    for path, tests in files:
        scheme = scheme_of(kb, path.stem)
        for case in run_cases(kb, scheme, tests, kb.layout.relative(tests)):
            status = "pass" if case.passed else "FAIL"
            failed += not case.passed
            detail = case.error or "; ".join(f"{f.zone} {f.what}: expected {_show(f.expected)}, got {_show(f.got)}"
                                             for f in case.failures)
            rows.append({"case": f"{case.file}:{case.line}", "name": case.name, "result": status, "detail": detail})
    emit(rows, ["case", "name", "result", "detail"], args.format)
    print(f"{len(rows) - failed} passed, {failed} failed", file=sys.stderr)
    return 1 if failed else 0


def _show(value) -> str:
    from decimal import Decimal

    return format_decimal(value) if isinstance(value, Decimal) else str(value)


def cmd_rules_show(args) -> int:
    from ..scoring.evaluate import matcher_for

    kb = load_kb(args)
    scheme = read_scheme(kb, scheme_file(kb.layout, args.scheme))
    sys.stdout.write(matcher_for(scheme, args.year).compiled() + "\n")
    return 0


def cmd_rules_check(args) -> int:
    kb = load_kb(args)
    layout = kb.layout
    paths = layout.rule_files() if not args.schemes else [scheme_file(layout, s) for s in args.schemes]
    problems: list[PolicyKBError] = []
    for path in paths:
        try:
            scheme = read_scheme(kb, path)
        except RuleErrors as exc:
            problems.extend(exc.errors)
            continue
        except RuleError as exc:
            problems.append(exc)
            continue
        missing = clause_problems(scheme, knows(kb), layout.root)
        problems.extend(missing)
        if not missing:
            print(f"{layout.relative(path)}: ok ({len(scheme.indicators)} indicators, {len(scheme.duties)} duties)")
    for problem in problems:
        print(str(problem), file=sys.stderr)
    return 1 if problems else 0
