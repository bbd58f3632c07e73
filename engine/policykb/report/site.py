"""The pages as a static site (`policykb report site OUT_DIR`): the ranking as index.html with its chart,
one page per zone (form and trace), one per measure replicated, a stylesheet and a subset of the CJK
font holding exactly the characters the pages use, so that Chinese shows on machines without it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..analysis.graph import ReplicationGraph
from ..kb.load import KnowledgeBase
from ..scoring.evaluate import Evaluation
from ..scoring.provenance import sources
from .charts import ranking_chart
from .fonts import subset
from .form import build_form
from .pages import Links, MeasureView, Replicator, form_html, measure_page, ranking_page, stylesheet
from .ranking import ranking
from .results import write_atomically

FONT_FILE = "noto-sans-sc-subset.otf"


@dataclass(frozen=True)
class Site:
    files: dict[str, bytes]  # relative path → content

    def write(self, out: Path) -> None:
        for name, data in sorted(self.files.items()):
            write_atomically(out / name, data)


def build_site(kb: KnowledgeBase, evaluation: Evaluation, progress=None) -> Site:
    found = sources(kb, evaluation)
    graph = ReplicationGraph(kb.store)
    codes = {z.zone.iri: z.zone.code for z in evaluation.zones}
    pages: dict[str, str] = {}
    data = ranking(evaluation, found)
    files: dict[str, bytes] = {"charts/ranking.png": ranking_chart(data)}
    pages["index.html"] = ranking_page(data, Links(0), chart="charts/ranking.png")
    replicated = {}  # measure IRI → what the graph says of it (ReplicatedMeasure)
    zones = evaluation.zones if progress is None else progress(evaluation.zones)
    for zone in zones:
        measures = graph.measures(zone.zone.iri, evaluation.year)
        listed = [(_code(m), m.measure.label) for m in measures]
        for m in measures:
            replicated.setdefault(m.measure.id, m)
        form = build_form(evaluation, zone, found)
        pages[f"zones/{zone.zone.code}.html"] = form_html(form, Links(1), listed)
    for measure, info in sorted(replicated.items(), key=lambda kv: _code(kv[1])):
        code = _code(info)
        diffusion = graph.diffusion(measure, evaluation.year)[0]
        view = MeasureView(code, info.measure.label, info.scope.label if info.scope else None,
                           info.document.label if info.document else None, "sample" in info.measure.curie,
                           tuple(Replicator(codes[a.zone.id], a.zone.label, a.rank, a.evidence.when, a.evidence.where)
                                 for a in diffusion.adoptions if a.zone.id in codes))
        pages[f"measures/{code.lower()}.html"] = measure_page(view, Links(1))
    css = stylesheet(FONT_FILE)
    files["assets/" + FONT_FILE] = subset("".join(pages.values()))
    files["assets/style.css"] = css.encode("utf-8")
    files.update({name: text.encode("utf-8") for name, text in pages.items()})
    return Site(files)


def _code(measure) -> str:
    """A measure's code (C01), or its local name when it has none (a real measure the sources give no code)."""
    return measure.notation or measure.measure.curie.rsplit(":", 1)[-1].rsplit("/", 1)[-1]
