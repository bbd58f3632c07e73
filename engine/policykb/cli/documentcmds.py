"""`policykb report form | ranking | coverage | site`: the documents people read and sign.

The filled-in 评估细则 form of a zone (XLSX, HTML or PDF), the ranking with its bar chart, the coverage
heat map of zones × catalogue batches, and the pages as a static site. Renderers live in report/;
this module only reads arguments, evaluates, and writes files.
"""

from __future__ import annotations

import sys
from pathlib import Path

from rdflib import URIRef

from ..analysis.graph import ReplicationGraph
from ..errors import UsageError
from ..kb.load import KnowledgeBase
from ..kb.names import zone_index
from ..namespace import curie
from ..report.charts import CoverageGrid, chart_format, coverage_chart, ranking_chart
from ..report.form import build_form
from ..report.pages import Links, form_html
from ..report.ranking import ranking
from ..report.results import write_atomically
from ..report.site import build_site
from ..scoring.evaluate import Evaluation
from ..scoring.provenance import sources
from .common import add_format_option, add_scheme_options, command, evaluation_of, load_kb, progress
from .render import emit

FORM_FORMATS = (".xlsx", ".html", ".pdf")
_BATCH_NUMBERS = "SELECT ?b ?n WHERE { ?b <http://data.europa.eu/eli/ontology#id_local> ?n }"


def register(sub) -> None:
    p = sub.add_parser("report", help="the filled-in form, the ranking and coverage charts, the static site",
                       description="Documents people read and sign, from the same scores and traces as "
                                   "`policykb score` and `explain`.")
    actions = p.add_subparsers(dest="action", metavar="ACTION", title="actions")
    actions.required = True

    q = command(actions, "form", cmd_form, "a zone's filled-in 评估细则 form as XLSX, HTML or PDF",
                "Write the zone's form laid out like attachment 2 of 闽自贸办〔2021〕1号: 一级指标 / 二级指标 / "
                "三级指标 / 分值 / 自评分 / 考评分, the zone's name, the year and the totals, every row where the "
                "self-assessed and the audited points differ highlighted with the reason from the trace, the "
                "备注, a signature block (评估人 / 日期), and a second sheet (XLSX) or section (HTML, PDF) with the "
                "full trace and the digests of the inputs. The file's suffix chooses the format.")
    q.add_argument("zone", metavar="ZONE", help="zone id (fz-b), prefixed name, IRI or Chinese name")
    add_scheme_options(q)
    q.add_argument("--out", required=True, type=Path, metavar="FILE", help="the file to write: .xlsx, .html or .pdf")

    q = command(actions, "ranking", cmd_ranking, "the ranking table, and its bar chart with the reward and rectify lines",
                "Print every ranked zone with place, total, self-assessed total and outcome, then the zones that "
                "take no place (inside an FTZ area, or without data for the year) with the clause or rule that "
                "puts them there. --chart FILE draws the ranking as bars (PNG or SVG) with the reward and rectify "
                "lines and the zones apart listed below it; Chinese is set in Noto Sans SC.")
    add_scheme_options(q)
    q.add_argument("--chart", type=Path, metavar="FILE", help="also draw the bar chart: a .png or .svg file")
    add_format_option(q)

    q = command(actions, "coverage", cmd_coverage, "zones × catalogue batches: measures replicated, and a heat map",
                "Per zone, how many of the named measures of each catalogue batch (attachment 1) it has replicated "
                "up to --year; the batches are numbered in catalogue order (the legend goes to stderr). --chart "
                "FILE draws the heat map (PNG or SVG).")
    q.add_argument("--year", type=int, metavar="YEAR", help="replications up to and in this year (default: all)")
    q.add_argument("--chart", type=Path, metavar="FILE", help="also draw the heat map: a .png or .svg file")
    add_format_option(q)

    q = command(actions, "site", cmd_site, "the ranking, zone and measure pages as a static site",
                "Write OUT_DIR/index.html (the ranking and its chart), OUT_DIR/zones/ZONE.html (each zone's form "
                "and trace), OUT_DIR/measures/CODE.html (each measure replicated, and who replicated it, in order), "
                "a stylesheet and a subset of the CJK font. The pages link to one another and need no JavaScript.")
    q.add_argument("out", type=Path, metavar="OUT_DIR", help="the folder to write (created if missing)")
    add_scheme_options(q)



def _evaluation(args) -> tuple[KnowledgeBase, Evaluation]:
    kb, evaluation = evaluation_of(args)
    if evaluation.scheme.scored_by_formula:
        raise UsageError(f"the scheme {evaluation.scheme.id} has no 评估细则 form, ranking or outcomes to report",
                         hint="reports are for schemes scored from evidence, e.g. --scheme fujian-2021")
    return kb, evaluation


def cmd_form(args) -> int:
    suffix = args.out.suffix.lower()
    if suffix not in FORM_FORMATS:
        raise UsageError(f"cannot write the form as {args.out.name}", hint="name the file .xlsx, .html or .pdf")
    kb, evaluation = _evaluation(args)
    found_zone, close = zone_index(kb).find(args.zone)
    zone = next((z for z in evaluation.zones if found_zone is not None and z.zone.iri == str(found_zone)), None)
    if zone is None:
        raise UsageError(f"no zone {args.zone!r} is scored under {evaluation.scheme.id}",
                         hint=(f"did you mean {', '.join(close)}? " if close else "")
                         + "give a zone id (fz-b), prefixed name or Chinese name")
    form = build_form(evaluation, zone, sources(kb, evaluation, zones=[zone]))
    if suffix == ".xlsx":
        from ..report.xlsx import form_xlsx

        data = form_xlsx(form)
    elif suffix == ".pdf":
        from ..report.pdf import form_pdf

        data = form_pdf(form)
    else:
        data = form_html(form, Links(0), inline=True).encode("utf-8")
    write_atomically(args.out, data)
    print(f"wrote {args.out}: the form of {zone.zone.label} for {evaluation.year}"
          f"{' (SAMPLE DATA)' if zone.zone.sample else ''}", file=sys.stderr)
    return 0


def cmd_ranking(args) -> int:
    kb, evaluation = _evaluation(args)
    data = ranking(evaluation, sources(kb, evaluation, zones=[]))
    ranked = [{"rank": z.rank, "zone": curie(URIRef(z.iri)), "label": z.label, "total": z.total,
               "self_total": z.self_total, "outcome": z.outcome} for z in data.ranked]
    apart = [{"zone": curie(URIRef(a.iri)), "label": a.label, "total": a.total, "why": a.why,
              "clause": curie(URIRef(a.clause)) if a.clause else "", "text": a.clause_text} for a in data.apart]
    if args.format == "json":
        emit([], [], "json", json_value={"ranked": ranked, "not_ranked": apart,
                                         "lines": [{"outcome": l.outcome, "after": l.after} for l in data.lines]})
    elif args.format == "csv":
        emit(ranked + apart, ["rank", "zone", "label", "total", "self_total", "outcome", "why", "clause"], "csv")
    else:
        emit(ranked, ["rank", "zone", "label", "total", "self_total", "outcome"], "table")
        if apart:
            print("\nnot ranked:")
            emit(apart, ["zone", "label", "total", "why", "clause", "text"], "table")
    if args.chart:
        write_atomically(args.chart, ranking_chart(data, chart_format(args.chart)))
        print(f"wrote {args.chart}", file=sys.stderr)
    return 0


def coverage_grid(kb: KnowledgeBase, year: int | None) -> tuple[CoverageGrid, list[str]]:
    """Zones with replications × the catalogue batches, and the batch titles for the legend."""
    graph = ReplicationGraph(kb.store)
    numbers = {str(r.b): str(r.n) for r in kb.query(_BATCH_NUMBERS)}
    found = sorted(graph.coverage(year), key=lambda c: (-c.replicated, c.zone.id))
    found = [c for c in found if c.replicated or c.outside]
    batches = found[0].by_batch if found else ()
    grid = CoverageGrid(year, tuple(c.zone.label for c in found),
                        tuple(numbers.get(_iri(b.key), b.label) for b in batches),
                        tuple(tuple(s.replicated for s in c.by_batch) for c in found), tuple(b.named for b in batches))
    return grid, [b.label for b in batches]


def _iri(key: str) -> str:
    from ..namespace import expand_iri

    return str(expand_iri(key))


def cmd_coverage(args) -> int:
    kb = load_kb(args)
    grid, titles = coverage_grid(kb, args.year)
    columns = [str(n) for n in range(1, len(grid.batches) + 1)]
    rows = [{"zone": label, **dict(zip(columns, counts)), "total": sum(counts)}
            for label, counts in zip(grid.zones, grid.replicated)]
    if args.format == "json":
        emit([], [], "json", json_value={"batches": [{"number": n, "document": d, "title": t, "named": m}
                                                     for n, d, t, m in zip(columns, grid.batches, titles, grid.named)],
                                         "zones": [{"zone": label, "replicated": list(counts)}
                                                   for label, counts in zip(grid.zones, grid.replicated)]})
    else:
        emit(rows, ["zone"] + columns + ["total"], args.format)
        if args.format == "table":
            for n, document, named in zip(columns, grid.batches, grid.named):
                print(f"{n:>3}  {document} ({named} named measure(s))", file=sys.stderr)
    if args.chart:
        write_atomically(args.chart, coverage_chart(grid, chart_format(args.chart)))
        print(f"wrote {args.chart}", file=sys.stderr)
    return 0


def cmd_site(args) -> int:
    kb, evaluation = _evaluation(args)
    site = build_site(kb, evaluation, progress=lambda zones: progress(zones, "pages"))
    site.write(args.out)
    pages = sum(1 for name in site.files if name.endswith(".html"))
    print(f"wrote {args.out}: {pages} page(s); open {args.out / 'index.html'}", file=sys.stderr)
    return 0
