"""`policykb query`: run a question of the query library (queries/*.rq) or a researcher's own .rq file.

Parameters are bound as RDF terms of the types the query's header declares, never pasted into the
query text; zones, measures, units, documents and places may be named by code or Chinese name. A syntax
error names the file, line and column.
"""

from __future__ import annotations

import difflib
import sys
from decimal import Decimal
from pathlib import Path

from rdflib import Literal

from ..errors import Location, QueryError, UsageError
from ..kb.names import indexes
from ..kb.queries import (
    NamedQuery,
    bind,
    execute,
    form,
    library,
    parse_query_file,
    plain,
    prepare,
    shown,
)
from ..namespace import bind_prefixes
from .common import add_format_option, command, layout_of, load_kb
from .render import FOR_PEOPLE, emit


def register(sub) -> None:
    p = command(sub, "query", cmd_query, "run a named query of the library, or your own .rq file",
                "Run a SPARQL query against the knowledge base. NAME is a query of the library (policykb query "
                "--list shows them); --file runs your own query, with the project prefixes (pkb:, skos:, zone:, …) "
                "predeclared. Parameters the query's header declares ('# param: zone (zone, required): …') are "
                "given as --param zone=fz-b and bound as RDF terms, never pasted into the text; a zone, measure, "
                "unit, document or place parameter takes the IRI, prefixed name, code or full Chinese name. "
                "SELECT and ASK results print as a table, CSV, TSV, Markdown or JSON; CONSTRUCT and DESCRIBE "
                "results as Turtle (table), JSON-LD (json) or one row per triple (csv, tsv, md).")
    p.add_argument("name", nargs="?", metavar="NAME", help="the query's name, e.g. zones-inside-ftz")
    p.add_argument("--param", "-p", action="append", default=[], metavar="KEY=VALUE",
                   help="a parameter value, e.g. --param zone=fz-b or --param measure=C01 (repeat for more)")
    p.add_argument("--file", "-f", metavar="FILE", help="run the query in this .rq file instead of a named one")
    p.add_argument("--list", action="store_true", help="list the queries of the library with their parameters")
    p.add_argument("--show", action="store_true", help="print the query's text instead of running it")
    p.add_argument("--allow-service", action="store_true",
                   help="let the query call other SPARQL endpoints with SERVICE (refused by default: it connects out)")
    add_format_option(p)


def cmd_query(args) -> int:
    chosen = [bool(args.name), bool(args.file), args.list]
    if sum(chosen) != 1:
        raise UsageError("give one of: a query NAME, --file FILE, or --list",
                         hint="policykb query --list shows the library; policykb query NAME --param key=value runs one")
    if args.list:
        return _list(args)
    query = _chosen_query(args)
    if args.show:
        sys.stdout.write(query.text if query.text.endswith("\n") else query.text + "\n")
        return 0
    params = _params(args.param)
    kb = load_kb(args)
    bindings = bind(query, params, indexes(kb))
    shown_name = str(args.file) if args.file else f"queries/{query.name}.rq"
    prepared = prepare(query.text, shown_name)
    kind = form(prepared)
    result = execute(kb.store, prepared, bindings, name=shown_name, allow_service=args.allow_service)
    try:  # the engine produces the answer while it is read, and may fail then too
        graph = result.graph if kind in ("CONSTRUCT", "DESCRIBE") else None
        terms = [[row[v] for v in result.vars] for row in result] if kind == "SELECT" else []
    except (RuntimeError, ValueError) as exc:
        raise QueryError(f"the query cannot be evaluated: {exc}", location=Location(shown_name),
                         hint="check the query against SPARQL 1.1") from None
    if graph is not None:
        _emit_graph(graph, args.format)
        print(f"{len(graph)} triple(s)", file=sys.stderr)
        return 0
    if kind == "ASK":
        emit([{"answer": bool(result.askAnswer)}], ["answer"], args.format, json_value=bool(result.askAnswer))
        return 0
    columns = [str(v) for v in result.vars]
    if args.format in FOR_PEOPLE:
        rows = [dict(zip(columns, (_for_people(t) for t in values))) for values in terms]
    else:
        rows = [dict(zip(columns, (plain(t) for t in values))) for values in terms]
    emit(rows, columns, args.format)
    print(f"{len(rows)} row(s)", file=sys.stderr)
    if not rows:
        _explain_no_rows(query, bindings)
    return 0


def _for_people(term):
    """A result term in a table people read: numbers as numbers (aligned right), IRIs as prefixed names."""
    value = plain(term)
    return value if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool) else shown(term)


def _explain_no_rows(query: NamedQuery, bindings: dict) -> None:
    """No rows while a plain string parameter was bound: say why a label may not have matched."""
    for param in query.params:
        value = bindings.get(param.name)
        if param.type == "string" and isinstance(value, Literal):
            print(f"note: parameter {param.name} is the plain string \"{value}\", which equals a label written "
                  f"\"{value}\"@zh only through STR(): FILTER (STR(?label) = ?{param.name}); or declare it "
                  f"({param.name} (string@zh)) to bind it with the language tag", file=sys.stderr)


def _chosen_query(args) -> NamedQuery:
    if args.file:
        path = Path(args.file)
        if not path.is_file():
            raise UsageError(f"no query file {args.file}", hint="give the path of a .rq file")
        return parse_query_file(path, str(args.file))
    folder = layout_of(args).queries
    path = folder / f"{args.name}.rq"
    if "/" in args.name or not path.is_file():
        names = [p.stem for p in folder.glob("*.rq")]
        close = difflib.get_close_matches(args.name, names, n=3)
        hint = (f"did you mean {' or '.join(close)}? " if close else "") + "policykb query --list shows the library"
        raise UsageError(f"no query named {args.name!r}", hint=hint)
    return parse_query_file(path, f"{folder.name}/{path.name}")


def _params(pairs: list[str]) -> dict[str, str]:
    values: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--param {pair!r} is not KEY=VALUE", hint="write e.g. --param year=2021")
        if key.strip() in values:
            raise UsageError(f"--param {key.strip()} is given twice", hint="give each parameter once")
        values[key.strip()] = value
    return values


def _list(args) -> int:
    queries = library(layout_of(args).queries)
    rows = [{"name": q.name, "title": q.title, "answers": q.answers,
             "params": "; ".join(f"{p.name} ({p.type}{'' if p.required else ', optional'})" for p in q.params)}
            for q in queries.values()]
    if args.format == "json":
        value = [{"name": q.name, "title": q.title, "answers": q.answers, "form": q.form,
                  "params": [p.__dict__ for p in q.params]} for q in queries.values()]
        emit(rows, [], "json", json_value=value)
    else:
        emit(rows, ["name", "params", "title"] + (["answers"] if args.format in ("csv", "tsv") else []), args.format)
    return 0


def _emit_graph(graph, fmt: str) -> None:
    bind_prefixes(graph)
    if fmt == "json":
        sys.stdout.write(graph.serialize(format="json-ld", indent=2) + "\n")
    elif fmt == "table":
        sys.stdout.write(graph.serialize(format="turtle"))
    else:
        term = shown if fmt in FOR_PEOPLE else str
        rows = [{"subject": term(s), "predicate": term(p), "object": term(o)} for s, p, o in sorted(graph)]
        emit(rows, ["subject", "predicate", "object"], fmt)

