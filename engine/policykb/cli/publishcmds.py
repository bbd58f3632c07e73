"""`policykb publish` and `policykb diff`: freeze a scheme's result for a year, and show what a change does to it."""

from __future__ import annotations

import sys
from dataclasses import replace
from datetime import date
from pathlib import Path

from ..errors import UsageError
from ..kb.load import KnowledgeBase, parse_turtle
from ..namespace import curie
from ..report.diff import Comparison, compare
from ..report.results import Result, from_evaluation, from_graph, result_path, to_turtle, write_atomically
from ..rules.reader import clause_problems
from ..rules.source import rule_texts
from ..scoring.evaluate import evaluate
from ..scoring.provenance import inputs, resolve
from ..scoring.schemes import knows, read_scheme, scheme_of
from .common import (
    add_format_option,
    add_scheme_options,
    check_year,
    command,
    iso_day,
    load_kb,
    progress,
)
from .render import emit, format_decimal

COLUMNS = ["zone", "label", "what", "before", "after", "cause"]


def register(sub) -> None:
    p = command(sub, "publish", cmd_publish, "freeze a scheme's result for a year as a named graph (kb/results/)",
                "Score every zone under rules/SCHEME.yaml for --year and write the result as Turtle to "
                "kb/results/SCHEME-YEAR.ttl, a named graph of the knowledge base that `policykb query` and the "
                "endpoint answer from: points per indicator, first-level subtotals, totals, self-assessed totals, "
                "places, outcomes, the rule text of every indicator, the rows counted, and the SHA-256 of the rule "
                "file, every ledger, every Turtle file and fact query read (a PROV-O activity). The same inputs and "
                "--date give the same bytes. An existing result is never overwritten silently: when the new one "
                "differs, the differences are printed and --replace is needed.")
    add_scheme_options(p)
    p.add_argument("--date", required=True, type=iso_day, metavar="YYYY-MM-DD",
                   help="the issue date of the result (dcterms:issued), e.g. 2022-03-01; it is an input like the "
                        "rules and the evidence, so publishing again gives the same bytes")
    p.add_argument("--replace", action="store_true", help="overwrite a published result that differs (after showing how)")
    add_format_option(p)

    p = command(sub, "diff", cmd_diff, "compare the current rules and evidence with a published result, zone by zone",
                "Score every zone again with the current rule file (or --rules FILE) and evidence, and compare with "
                "kb/results/SCHEME-YEAR.ttl: per zone, each indicator whose points changed, the total, the place and "
                "the outcome before and after, and the cause of each change: the rule lines that changed, the ledger "
                "rows now counted, no longer counted or counted for another amount, or the input files whose "
                "digests changed. Nothing is written.")
    add_scheme_options(p)
    p.add_argument("--rules", metavar="FILE", type=Path,
                   help="a rule file to try instead of rules/SCHEME.yaml (e.g. a copy with a lower cap)")
    add_format_option(p)


def current_result(kb: KnowledgeBase, scheme_id: str, year: int, *, rules: Path | None = None,
                   issued: date | None = None) -> Result:
    """The result the rules (rules/SCHEME.yaml, or `rules`) and the evidence give now."""
    if rules is None:
        scheme = scheme_of(kb, scheme_id)
        path = resolve(kb.layout, scheme.file)
    else:
        if not rules.is_file():
            raise UsageError(f"no rule file {rules}", hint="give the path of a rule file, e.g. a copy of rules/"
                                                           f"{scheme_id}.yaml")
        scheme = read_scheme(kb, rules)
        if scheme.id != scheme_id:
            raise UsageError(f"{rules} is the rule file of {scheme.id}, not {scheme_id}",
                             hint=f"give --scheme {scheme.id}, or a rule file whose scheme id is {scheme_id}")
        problems = clause_problems(scheme, knows(kb), kb.layout.root)
        if problems:
            raise problems[0]
        path = rules
    check_year(scheme, year)
    evaluation = evaluate(kb, scheme, year, progress=lambda zones: progress(zones, "scoring"))
    when = issued.isoformat() if issued else None
    return from_evaluation(evaluation, inputs(kb, evaluation, when), rule_texts(path), issued)


def published_result(kb: KnowledgeBase, scheme_id: str, year: int) -> tuple[Path, Result | None]:
    path = result_path(kb.layout, scheme_id, year)
    if not path.is_file():
        return path, None
    found = from_graph(parse_turtle(path, kb.layout.relative(path)), scheme_id, year)
    if found is None:
        raise UsageError(f"{kb.layout.relative(path)} holds no result of {scheme_id} for {year}",
                         hint="the file was not written by policykb publish; move it away and publish again")
    return path, found


def rows_of(comparison: Comparison) -> list[dict]:
    return [{"zone": curie(c.zone), "label": c.label, "what": c.what, "before": _cell(c.before),
             "after": _cell(c.after), "cause": "; ".join(c.causes)} for c in comparison.changes]


def _cell(value) -> str:
    if value is None:
        return "—"
    return format_decimal(value) if hasattr(value, "normalize") else str(value)


def _report(comparison: Comparison, shown: str, fmt: str) -> None:
    before = comparison.before
    print(f"compared with {shown}, published {before.issued.isoformat() if before.issued else '(no date)'} "
          f"by policykb {before.version}", file=sys.stderr)
    for line in comparison.inputs_changed:
        print(f"  input changed: {line}", file=sys.stderr)
    rows = rows_of(comparison)
    emit(rows, COLUMNS, fmt, json_value={"published": shown, "issued": before.issued, "inputs_changed":
                                         list(comparison.inputs_changed), "changes": rows})
    print(f"{comparison.zones_changed} zone(s) changed of {len(comparison.after.zones)}", file=sys.stderr)


def cmd_diff(args) -> int:
    kb = load_kb(args)
    path, published = published_result(kb, args.scheme, args.year)
    if published is None:
        raise UsageError(f"no published result of {args.scheme} for {args.year}: {kb.layout.relative(path)} does not exist",
                         hint=f"publish it first: policykb publish --scheme {args.scheme} --year {args.year} --date YYYY-MM-DD")
    now = current_result(kb, args.scheme, args.year, rules=args.rules)
    _report(compare(published, now), kb.layout.relative(path), args.format)
    return 0


def cmd_publish(args) -> int:
    kb = load_kb(args)
    if kb.layout.installed:
        raise UsageError("publish writes into kb/results/ of the knowledge base; the bundled copy inside the "
                         "installed package is not changed",
                         hint="work on a copy of the folders and pass --kb DIR (see the README, --kb DIR)")
    path, published = published_result(kb, args.scheme, args.year)
    shown = kb.layout.relative(path)
    new = current_result(kb, args.scheme, args.year, issued=args.date)
    data = to_turtle(new)
    if published is not None:
        same_day = to_turtle(replace(new, issued=published.issued))
        if same_day == path.read_bytes():
            print(f"{shown} already holds this result (published {published.issued}); nothing written",
                  file=sys.stderr)
            return 0
        comparison = compare(published, new)
        _report(comparison, shown, args.format)
        if not args.replace:
            raise UsageError(f"{shown} holds a different result of {args.scheme} for {args.year} "
                             f"(published {published.issued}; the changes are listed above)",
                             hint="check the changes; to overwrite the published result give --replace")
    write_atomically(path, data)
    ranked = sum(1 for z in new.zones if z.rank is not None)
    print(f"wrote {shown}: {len(new.zones)} zone(s), {ranked} ranked, issued {args.date.isoformat()}", file=sys.stderr)
    return 0


