"""`policykb info` and `policykb validate`: what is loaded, and whether it is sound."""

from __future__ import annotations

import sys

from ..kb.queries import library, run
from ..kb.validate import validate
from ..ledgers.verify import ledger_changes
from .common import add_format_option, command, load_kb
from .render import dumps, emit


def register(sub) -> None:
    p = command(sub, "info", cmd_info, "print what is loaded: triples, documents, measures, zones, units, rule files")
    add_format_option(p)
    p = command(sub, "validate", cmd_validate,
                "check the knowledge base against its SHACL shapes and integrity checks",
                "Load the ontology and every Turtle file of the knowledge base, then run the SHACL shapes "
                "(ontology/shapes.ttl) and integrity checks. Exit status 0 when clean, 1 on any problem.")
    add_format_option(p, default="table")


def cmd_info(args) -> int:
    kb = load_kb(args)
    queries = library(kb.layout.queries)
    counts = {str(r.what): int(r["count"].toPython()) if r["count"] is not None else 0
              for r in run(kb.store, queries["kb-summary"])}
    rows = [{"what": "triples", "count": kb.store.triple_count()}]
    rows += [{"what": k, "count": counts.get(k, 0)} for k in (
        "documents", "batch documents", "clauses", "catalogue items", "named measures", "zones", "units",
        "evidence items", "observations", "sample resources")]
    rules = kb.layout.rule_files()
    rows.append({"what": "rule files", "count": len(rules)})
    rows.append({"what": "query files", "count": len(queries)})
    rows.append({"what": "source files", "count": len(kb.files)})
    if args.format == "json":
        value = {r["what"]: r["count"] for r in rows}
        value["rule_files"] = [kb.layout.relative(p) for p in rules]
        value["knowledge_base"] = str(kb.layout.kb)
        sys.stdout.write(dumps(value) + "\n")
        return 0
    emit(rows, ["what", "count"], args.format)
    if args.format == "table":
        print(f"\nknowledge base: {kb.layout.kb}")
        for path in rules:
            print(f"rule file: {kb.layout.relative(path)}")
    return 0


def cmd_validate(args) -> int:
    kb = load_kb(args)
    violations = validate(kb) + ledger_changes(kb)  # ledgers edited or deleted since their import
    errors = [v for v in violations if v.severity == "Violation"]
    if args.format == "json":
        sys.stdout.write(dumps([v.__dict__ for v in violations]) + "\n")
    elif args.format != "table":
        emit([v.__dict__ for v in violations],
             ["severity", "file", "line", "focus", "focus_label", "path", "value", "message", "shape"], args.format)
    else:
        for v in violations:
            print(str(v), file=sys.stderr)
    summary = (f"{len(kb.files)} files, {kb.store.triple_count()} triples: "
               f"{len(errors)} violation(s), {len(violations) - len(errors)} warning(s)")
    print(("valid: " if not errors else "invalid: ") + summary, file=sys.stderr)
    return 1 if errors else 0
