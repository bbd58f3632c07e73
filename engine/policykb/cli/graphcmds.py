"""`policykb measures | coverage | gaps | diffusion | centrality`: answers from the replication graph.

Each command loads the knowledge base, builds the networkx graph (policykb.graph) and prints rows as a
table, CSV, TSV, Markdown or JSON; JSON carries the full structure (IRIs, evidence rows, proof paths).
"""

from __future__ import annotations

import sys
from dataclasses import asdict
from decimal import Decimal

from ..analysis.graph import PEERS, Ref, ReplicationGraph
from .common import add_format_option, command, load_kb
from .render import FOR_PEOPLE, emit

_ZONE_HELP = "the zone: prefixed name (sample:zone-fz-b), IRI, local name, code (fz-b) or Chinese label"


def register(sub) -> None:
    p = command(sub, "measures", cmd_measures, "the measures a zone has replicated, each with the path that proves it",
                "List the measures ZONE has replicated up to and in --year (all years when omitted), each with its "
                "scope and the path that proves it: zone → replication evidence (ledger file:row, date) → measure → "
                "catalogue document → issuing body. Rows marked not replicated (否) do not count.")
    p.add_argument("zone", metavar="ZONE", help=_ZONE_HELP)
    _year(p)
    add_format_option(p)

    p = command(sub, "coverage", cmd_coverage, "per zone, the share of the catalogue it has replicated",
                "Per zone with evidence: the catalogue measures it has replicated, as a share of the named measures "
                "and of all catalogue items. Most catalogue items are unnamed in the knowledge base (their documents' "
                "annexes are not in it) and cannot be replicated one by one, so the share of all items is a floor. "
                "--by scope and --by batch break the figures down.")
    p.add_argument("--by", choices=("zone", "scope", "batch"), default="zone",
                   help="one row per zone (default), per zone and scope, or per zone and source batch")
    p.add_argument("--zone", metavar="ZONE", help="only this zone (" + _ZONE_HELP + ")")
    _year(p)
    add_format_option(p)

    p = command(sub, "gaps", cmd_gaps, "catalogue measures a zone has not replicated, the most widely proven first",
                "List the named catalogue measures ZONE has not replicated (up to and in --year), ordered by how many "
                "comparable zones already have them, with the responsible unit to contact. Comparable zones are zones "
                "of the same type in the same province (--peers city: the same city; all: every zone with evidence).")
    p.add_argument("zone", metavar="ZONE", help=_ZONE_HELP)
    p.add_argument("--peers", choices=PEERS, default="province", help="which zones to compare with (default: province)")
    p.add_argument("--limit", type=int, metavar="N", help="show only the first N gaps")
    _year(p)
    add_format_option(p)

    p = command(sub, "diffusion", cmd_diffusion, "the order in which zones replicated a measure, and who led",
                "Without MEASURE: one row per replicated measure with its adopters, first and last dates and leading "
                "zones. With MEASURE: the zones in the order they replicated it (by date, else by year); zones on the "
                "same date share a rank, and a zone with no date ranks with the first of its year.")
    p.add_argument("measure", nargs="?", metavar="MEASURE",
                   help="the measure: prefixed name (sample:measure-c01), IRI, local name, code (C01) or Chinese label")
    _year(p)
    add_format_option(p)

    p = command(sub, "centrality", cmd_centrality, "zones or units in the replication network, most central first",
                "Centrality in the undirected network of zones, the measures they replicated and the units "
                "responsible for those measures: measures, zones reached, replication rows, measures led (zones), "
                "adoptions that came later (zones), degree and betweenness centrality (networkx).")
    p.add_argument("--of", choices=("zone", "unit"), default="zone", help="rank zones (default) or responsible units")
    _year(p)
    add_format_option(p)


def _year(parser) -> None:
    parser.add_argument("--year", type=int, metavar="YEAR", help="count replications up to and in this year")


def _graph(args) -> ReplicationGraph:
    return ReplicationGraph(load_kb(args).store)


def _percent(value: Decimal | None, fmt: str):
    """Shares print as percentages in a table or Markdown and as exact ratios (0.3514) in CSV, TSV and JSON."""
    if fmt not in FOR_PEOPLE or value is None:
        return value
    return f"{(value * 100).quantize(Decimal('0.1'))}%"


def _shares(share) -> dict:
    return dict(asdict(share), share_of_named=share.share_of_named, share_of_items=share.share_of_items)


def _names(refs: tuple[Ref, ...]) -> str:
    return "、".join(r.label for r in refs)


def _note(text: str, fmt: str) -> None:
    if fmt in FOR_PEOPLE:
        print(text, file=sys.stderr)


def cmd_measures(args) -> int:
    graph = _graph(args)
    zone = graph.zone(args.zone)
    found = graph.measures(zone, args.year)
    rows = [{
        "code": m.notation or m.measure.curie, "measure": m.measure.label, "scope": m.scope.label if m.scope else "",
        "first": m.first_date.isoformat() if m.first_date else m.first_year, "evidence": len(m.evidence),
        "catalogued": m.catalogued,
        "path": " → ".join([m.path[0].label, f"{m.evidence[0].where} ({m.evidence[0].when})"]
                           + [m.notation or m.measure.label] + [p.label for p in m.path[3:]]),
    } for m in found]
    emit(rows, ["code", "measure", "scope", "first", "evidence", "catalogued", "path"], args.format,
         json_value=[asdict(m) for m in found])
    within = f" up to and in {args.year}" if args.year is not None else ""
    print(f"{len(found)} measure(s) replicated by {graph.ref(zone).label}{within}, "
          f"{sum(m.catalogued for m in found)} of them in the catalogue", file=sys.stderr)
    return 0


def cmd_coverage(args) -> int:
    graph = _graph(args)
    zones = [graph.zone(args.zone)] if args.zone else None
    found = sorted(graph.coverage(args.year, zones), key=lambda c: (-c.replicated, c.zone.id))
    fmt = args.format
    if args.by == "zone":
        rows = [{"zone": c.zone.curie, "label": c.zone.label, "replicated": c.replicated, "named": c.named,
                 "share_of_named": _percent(c.share_of_named, fmt), "items": c.items,
                 "share_of_items": _percent(c.share_of_items, fmt), "outside_catalogue": c.outside} for c in found]
        columns = ["zone", "label", "replicated", "named", "share_of_named", "items", "share_of_items",
                   "outside_catalogue"]
    else:
        rows = [{"zone": c.zone.curie, "label": c.zone.label, args.by: s.label, "replicated": s.replicated,
                 "named": s.named, "share_of_named": _percent(s.share_of_named, fmt),
                 **({"items": s.items, "share_of_items": _percent(s.share_of_items, fmt)} if args.by == "batch" else {})}
                for c in found for s in (c.by_scope if args.by == "scope" else c.by_batch)]
        columns = ["zone", "label", args.by, "replicated", "named", "share_of_named"]
        columns += ["items", "share_of_items"] if args.by == "batch" else []
    json_value = [dict(asdict(c), share_of_named=c.share_of_named, share_of_items=c.share_of_items,
                       by_scope=[_shares(s) for s in c.by_scope], by_batch=[_shares(s) for s in c.by_batch])
                  for c in found]
    emit(rows, columns, fmt, json_value=json_value)
    if found:
        c = found[0]
        _note(f"shares are of the {c.named} named catalogue measures and of all {c.items} catalogue items; "
              f"{c.items - c.named} items are unnamed in the knowledge base and cannot be replicated one by one, "
              "so the share of all items is a floor", fmt)
    return 0


def cmd_gaps(args) -> int:
    graph = _graph(args)
    report = graph.gaps(graph.zone(args.zone), args.year, args.peers)
    gaps = report.gaps[: args.limit] if args.limit is not None else report.gaps
    rows = [{
        "code": g.notation or g.measure.curie, "measure": g.measure.label, "scope": g.scope.label if g.scope else "",
        "peers_with": g.peers_with, "peers": len(report.peers), "document": g.document.label if g.document else "",
        "contact": _names(g.units) or f"（未注明；发文：{_names(g.issuers)}）",
        "note": f"已报未复制推广：{g.reported_not_replicated}" if g.reported_not_replicated is not None else "",
    } for g in gaps]
    json_value = dict(asdict(report), unnamed=report.unnamed, gaps=[asdict(g) for g in gaps])
    emit(rows, ["code", "measure", "scope", "peers_with", "peers", "document", "contact", "note"], args.format,
         json_value=json_value)
    _note(f"{len(report.gaps)} named catalogue measure(s) not replicated by {report.zone.label}, compared with "
          f"{len(report.peers)} zone(s) ({args.peers}); {report.unnamed} of the {report.items} catalogue items are "
          "unnamed in the knowledge base and cannot be listed", args.format)
    return 0


def cmd_diffusion(args) -> int:
    graph = _graph(args)
    if args.measure:
        diffusion = graph.diffusion(graph.measure(args.measure), args.year)[0]
        first = diffusion.first
        rows = [{"rank": a.rank, "zone": a.zone.curie, "label": a.zone.label,
                 "date": a.date.isoformat() if a.date else "", "year": a.year, "evidence": a.evidence.where,
                 "days_after_first": (a.date - first.date).days if a.date and first and first.date else None}
                for a in diffusion.adoptions]
        emit(rows, ["rank", "zone", "label", "date", "year", "evidence", "days_after_first"], args.format,
             json_value=dict(asdict(diffusion), leaders=[asdict(r) for r in diffusion.leaders]))
        _note(f"{len(rows)} zone(s) replicated {diffusion.notation or diffusion.measure.label}; "
              f"led by {_names(diffusion.leaders) or 'nobody yet'}", args.format)
        return 0
    found = sorted(graph.diffusion(year=args.year), key=lambda d: (-len(d.adoptions), d.notation or "~", d.measure.id))
    rows = [{"code": d.notation or d.measure.curie, "measure": d.measure.label, "scope": d.scope.label if d.scope else "",
             "adopters": len(d.adoptions), "first": d.first.evidence.when if d.first else "",
             "leaders": _names(d.leaders), "last": d.last.evidence.when if d.last else "", "span_days": d.span_days}
            for d in found]
    emit(rows, ["code", "measure", "scope", "adopters", "first", "leaders", "last", "span_days"], args.format,
         json_value=[dict(asdict(d), leaders=[asdict(r) for r in d.leaders], span_days=d.span_days) for d in found])
    return 0


def cmd_centrality(args) -> int:
    graph = _graph(args)
    found = graph.centrality(args.year, args.of)
    columns = [args.of, "label", "measures", "zones", "replications"]
    columns += ["leads", "ahead_of"] if args.of == "zone" else []
    columns += ["degree", "betweenness"]
    rows = [{args.of: c.node.curie, "label": c.node.label, "measures": c.measures, "zones": c.zones,
             "replications": c.replications, "leads": c.leads, "ahead_of": c.ahead_of, "degree": c.degree,
             "betweenness": c.betweenness} for c in found]
    emit(rows, columns, args.format, json_value=[asdict(c) for c in found])
    return 0
