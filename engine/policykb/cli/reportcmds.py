"""`policykb not-replicated` and `policykb duties`: what zones did not replicate and why, what they owe.

Both print rows as a table, CSV or JSON; JSON keeps lists as lists and dates as YYYY-MM-DD.
"""

from __future__ import annotations

import sys
from collections import Counter
from dataclasses import asdict
from datetime import date

from rdflib import Literal, URIRef

from ..errors import UsageError
from ..kb.load import KnowledgeBase
from ..kb.names import zone_index
from ..kb.queries import parse_query_file, run
from ..namespace import curie
from ..rules.duties import load_duties, scheme_file
from ..scoring.duties import DONE, DUE, LATE, OVERDUE, duty_status
from ..scoring.schemes import vocabulary_of
from .common import add_format_option, command, iso_day, load_kb
from .render import FOR_PEOPLE, emit

_ZONE_HELP = "the zone: prefixed name (sample:zone-zj-c), IRI, local name, code (zj-c) or Chinese label"
_SEPARATOR = "、"  # the query joins zone and measure names with it


def register(sub) -> None:
    p = command(sub, "not-replicated", cmd_not_replicated,
                "measures zones report as not replicated (否), grouped by the reason they give",
                "From the replication status tables (附件3 of the Zhejiang 2022 notice: 是否复制推广 否 with "
                "未复制推广原因), list per reason how many rows give it, and which zones and measures, most "
                "frequent reason first (queries/not-replicated-by-reason.rq).")
    p.add_argument("--year", type=int, required=True, metavar="YEAR", help="the year of the tables, e.g. 2022")
    p.add_argument("--zone", metavar="ZONE", help="only this zone (" + _ZONE_HELP + ")")
    add_format_option(p)

    p = command(sub, "duties", cmd_duties, "reporting duties per zone: what is done, late, overdue and due",
                "List, per zone, duty and period of --year, the reports a scheme's duties ask for (declared under "
                "`duties:` in rules/SCHEME.yaml) and their status as of --as-of: done (sent by the due date), late "
                "(sent after it), overdue (not sent, due date passed) or due (not sent, not yet due), with the "
                "ledger row that proves a report and the clause that imposes the duty. The zones are those the "
                "clause makes responsible; reports come from the evidence ledgers (类型, 季度, 日期).")
    p.add_argument("--scheme", required=True, metavar="SCHEME", help="the scheme, e.g. zhejiang-2022")
    p.add_argument("--year", type=int, required=True, metavar="YEAR", help="the year the reports are for")
    p.add_argument("--as-of", type=iso_day, metavar="YYYY-MM-DD", help="the day to judge by (default: today)")
    p.add_argument("--zone", metavar="ZONE", help="only this zone (" + _ZONE_HELP + ")")
    add_format_option(p)


def _zone(kb: KnowledgeBase, text: str) -> URIRef:
    found, suggestions = zone_index(kb).find(text)
    if found is None:
        close = f"did you mean {' or '.join(repr(s) for s in suggestions)}? " if suggestions else ""
        raise UsageError(f"no zone {text!r} in the knowledge base" if not any(":" in s for s in suggestions)
                         else f"{text!r} names more than one zone",
                         hint=close + "name the zone by its prefixed name (e.g. sample:zone-zj-c), code or Chinese label")
    return found


def _note(text: str, fmt: str) -> None:
    if fmt in FOR_PEOPLE:
        print(text, file=sys.stderr)


def cmd_not_replicated(args) -> int:
    kb = load_kb(args)
    bindings = {"year": Literal(args.year)}
    if args.zone:
        bindings["zone"] = _zone(kb, args.zone)
    query = parse_query_file(kb.layout.queries / "not-replicated-by-reason.rq", "queries/not-replicated-by-reason.rq")
    found = [{"reason": str(r.reason), "count": int(r["count"]),
              "zones": sorted(str(r.zones).split(_SEPARATOR)), "measures": sorted(str(r.measures).split(_SEPARATOR))}
             for r in run(kb.store, query, bindings)]
    rows = [dict(f, zones=_SEPARATOR.join(f["zones"]), measures=_SEPARATOR.join(f["measures"])) for f in found]
    emit(rows, ["reason", "count", "zones", "measures"], args.format, json_value=found)
    within = f" of {curie(bindings['zone'])}" if args.zone else ""
    _note(f"{sum(f['count'] for f in found)} row(s){within} marked not replicated in {args.year}, "
          f"under {len(found)} reason(s)", args.format)
    return 0


def cmd_duties(args) -> int:
    kb = load_kb(args)
    path = scheme_file(kb.layout, args.scheme)
    duties = load_duties(path, vocabulary_of(kb).kinds, shown=kb.layout.relative(path))
    if not duties:
        _note(f"the scheme {args.scheme} declares no duties", args.format)
    zone = _zone(kb, args.zone) if args.zone else None
    as_of = args.as_of or date.today()
    found = duty_status(kb, duties, None if zone is None else [zone], args.year, as_of)
    if zone is not None and duties and not found:
        raise UsageError(f"no duty of the scheme {args.scheme} falls on {curie(zone)} in {args.year}",
                         hint="the duties fall on the zones their clauses make responsible; "
                              f"run policykb duties --scheme {args.scheme} --year {args.year} to list them")
    rows = [{"zone": curie(URIRef(s.zone)), "label": s.zone_label, "duty": s.duty, "period": s.period,
             "due": s.due.isoformat(), "status": s.status,
             "sent": s.report.date.isoformat() if s.report else "", "evidence": s.report.where if s.report else "",
             "clause": curie(URIRef(s.source))} for s in found]
    emit(rows, ["zone", "label", "duty", "period", "due", "status", "sent", "evidence", "clause"], args.format,
         json_value=[asdict(s) for s in found])
    counts = Counter(s.status for s in found)
    _note(f"{len(found)} duty period(s) for {len({s.zone for s in found})} zone(s) as of {as_of.isoformat()}: "
          + ", ".join(f"{counts[s]} {s}" for s in (DONE, LATE, OVERDUE, DUE)), args.format)
    return 0
