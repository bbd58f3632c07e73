"""The report pages as `policykb serve` serves them: the ranking, a zone's form and trace, a measure and who
replicated it — the same pages `policykb report site` writes, linked to one another by URL.

The scores stay live: each worker process keeps a Scoreboard per scheme and year (scoring.board), so that
when the server moves to newer files (an import in another terminal), the next page re-scores only the
zones whose evidence changed and re-ranks. Every function here runs in a worker, under the endpoint's time
limit; the parameters come from the request and are checked before they are used.
"""

from __future__ import annotations

import hashlib
import threading
from typing import Mapping
from urllib.parse import urlencode

from ..analysis.graph import ReplicationGraph
from ..errors import UsageError
from ..kb.load import KnowledgeBase
from ..kb.names import zone_index
from ..rules.duties import scheme_file
from ..scoring.board import Scoreboard
from ..scoring.provenance import sources
from ..scoring.schemes import scheme_of
from .form import build_form
from .pages import Links, MeasureView, Replicator, form_html, measure_page, ranking_page
from .ranking import ranking

_boards: dict[tuple, Scoreboard] = {}
_lock = threading.Lock()


class ServedLinks(Links):
    """Links between the served pages: query strings that carry the scheme and the year."""

    def __init__(self, scheme: str, year: int):
        super().__init__(0)
        self.scheme, self.year = scheme, year

    def _url(self, path: str, **extra) -> str:
        return f"{path}?{urlencode({'scheme': self.scheme, 'year': self.year, **extra})}"

    def ranking(self) -> str:
        return self._url("/scores")

    def zone(self, code: str) -> str:
        return self._url("/scores/zone", zone=code)

    def measure(self, code: str) -> str:
        return self._url("/scores/measure", measure=code)


def board(kb: KnowledgeBase, params: Mapping[str, str]) -> tuple[Scoreboard, ServedLinks]:
    """The live scores of the scheme and year the request names, brought up to date with the knowledge base."""
    scheme_id = params.get("scheme") or "fujian-2021"
    year_text = params.get("year") or ""
    if not year_text.isdigit() or len(year_text) != 4:
        raise UsageError(f"year {year_text!r} is not a year", hint="add ?year=2021 (four digits)")
    year = int(year_text)
    path = scheme_file(kb.layout, scheme_id)  # an unknown scheme is a usage error naming the schemes
    key = (str(kb.layout.root), scheme_id, year, hashlib.sha256(path.read_bytes()).hexdigest())
    with _lock:
        kept = _boards.get(key)
        if kept is None:
            scheme = scheme_of(kb, scheme_id)
            if scheme.first_year and year < scheme.first_year:
                raise UsageError(f"the scheme {scheme.id} applies from {scheme.first_year}, not {year}",
                                 hint=f"ask for year={scheme.first_year} or later")
            kept = _boards[key] = Scoreboard(scheme, year)
        kept.update(kb)
    return kept, ServedLinks(scheme_id, year)


def ranking_view(kb: KnowledgeBase, params: Mapping[str, str]) -> str:
    """/scores?scheme=…&year=…: the ranking with the outcomes, and the zones apart (excluded, no data)."""
    scores, links = board(kb, params)
    evaluation = scores.evaluation
    return ranking_page(ranking(evaluation, sources(kb, evaluation, zones=())), links, inline=True)


def zone_view(kb: KnowledgeBase, params: Mapping[str, str]) -> str:
    """/scores/zone?scheme=…&year=…&zone=…: the zone's filled-in form and its full trace."""
    scores, links = board(kb, params)
    found, close = zone_index(kb).find(params.get("zone") or "")
    if found is None or not any(z.zone.iri == str(found) for z in scores.evaluation.zones):
        raise UsageError(f"no zone {params.get('zone')!r} is scored under {scores.scheme.id}",
                         hint=(f"did you mean {', '.join(close)}? " if close else "") + "name a zone by its code, e.g. fz-b")
    zone = scores.trace(kb, str(found))
    evaluation = scores.evaluation
    graph = ReplicationGraph(kb.store)
    listed = [(m.notation or m.measure.curie.rsplit(":", 1)[-1], m.measure.label)
              for m in graph.measures(zone.zone.iri, evaluation.year)]
    return form_html(build_form(evaluation, zone, sources(kb, evaluation, zones=(zone,))), links, listed, inline=True)


def measure_view(kb: KnowledgeBase, params: Mapping[str, str]) -> str:
    """/scores/measure?scheme=…&year=…&measure=…: a measure and the zones that replicated it, in order."""
    scores, links = board(kb, params)
    graph = ReplicationGraph(kb.store)
    measure = graph.measure(params.get("measure") or "")
    diffusion = graph.diffusion(measure, scores.year)[0]
    codes = {z.zone.iri: z.zone.code for z in scores.evaluation.zones}
    ref = graph.ref(measure)
    view = MeasureView(diffusion.notation or ref.curie, ref.label, diffusion.scope.label if diffusion.scope else None,
                       None, "sample" in ref.curie,
                       tuple(Replicator(codes[a.zone.id], a.zone.label, a.rank, a.evidence.when, a.evidence.where)
                             for a in diffusion.adoptions if a.zone.id in codes))
    return measure_page(view, links, inline=True)


