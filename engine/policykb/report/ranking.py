"""The province's view of an evaluation: the ranked zones with the outcome lines, and the zones apart.

Plain data for the ranking table, the bar chart and the ranking page. A zone inside an FTZ area
(excluded by the rubric's 备注) and a zone without data for the year take no place; they are listed
apart, each with the clause or rule that puts it there.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from ..scoring.evaluate import Evaluation
from ..scoring.provenance import Sources

NO_DATA_RULE = "无当年数据：当年没有任何台账事项，不参与排名，不奖励、不整改（rules/README.md, No data）"


@dataclass(frozen=True)
class RankedZone:
    iri: str
    code: str
    label: str
    sample: bool
    total: Decimal | None
    self_total: Decimal | None
    rank: int
    rank_from_bottom: int | None
    outcome: str
    outcome_name: str | None


@dataclass(frozen=True)
class ApartZone:
    iri: str
    code: str
    label: str
    sample: bool
    total: Decimal | None
    why: str  # excluded | no-data
    clause: str | None  # the clause IRI behind it
    clause_text: str  # its words (or the rule of the rule file)


@dataclass(frozen=True)
class OutcomeLine:
    """A line between two places: above it every zone meets the outcome (reward), or below it (rectify)."""

    outcome: str
    name: str
    after: int  # the line is drawn after this many ranked zones


@dataclass(frozen=True)
class Ranking:
    scheme: str
    scheme_name: str
    year: int
    ranked: tuple[RankedZone, ...]
    apart: tuple[ApartZone, ...]
    lines: tuple[OutcomeLine, ...]
    sample: bool


def ranking(evaluation: Evaluation, sources: Sources) -> Ranking:
    scheme = evaluation.scheme
    ranked = [z for z in evaluation.zones if z.rank is not None]
    ranked.sort(key=lambda z: (z.rank, -(z.total or 0), z.zone.code))
    rows = tuple(RankedZone(z.zone.iri, z.zone.code, z.zone.label, z.zone.sample, z.total, z.self_total, z.rank,
                            z.rank_from_bottom, z.outcome, z.outcome_name) for z in ranked)
    apart = []
    for z in evaluation.zones:
        if z.rank is not None:
            continue
        if not z.eligible and scheme.exclusion:
            clause = sources.clause(scheme.exclusion.source)
            apart.append(ApartZone(z.zone.iri, z.zone.code, z.zone.label, z.zone.sample, z.total, "excluded",
                                   str(scheme.exclusion.source), clause.text if clause else scheme.exclusion.name))
        elif z.no_data:
            apart.append(ApartZone(z.zone.iri, z.zone.code, z.zone.label, z.zone.sample, z.total, "no-data",
                                   None, NO_DATA_RULE))
    apart.sort(key=lambda a: (a.why, -(a.total or 0), a.code))
    lines = []
    for n, outcome in enumerate(scheme.outcomes):
        meeting = [i for i, z in enumerate(ranked) if outcome.id in z.outcomes_met]
        if not meeting:
            continue
        # the first outcome (reward) is met from the top: its line is below the last zone meeting it;
        # the others (rectify) from the bottom: their line is above the first zone meeting them
        after = max(meeting) + 1 if n == 0 else min(meeting)
        lines.append(OutcomeLine(outcome.id, outcome.name, after))
    sample = any(z.zone.sample for z in evaluation.zones)
    return Ranking(scheme.id, scheme.name, evaluation.year, rows, tuple(apart), tuple(lines), sample)
