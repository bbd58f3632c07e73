"""Score zones under a scheme: match evidence in durable-rules, then add up, cap, rank and decide.

Matching (which evidence item meets which condition, which zone is excluded, which outcome a place
earns) runs in durable-rules through `matcher`; this module only does the arithmetic the rubric states
(points per item, whole amounts, caps, sums, places) and records why each number is what it is.
Points are Decimals throughout: 3 × 0.2 is 0.6.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal
from typing import Mapping

from ..errors import PolicyKBError
from ..kb.load import KnowledgeBase
from ..rules import expr
from ..rules import formula as formulas
from ..rules.model import Indicator, Scheme
from .facts import EvidenceItem, FactReader, FactSet, FigureSource, ZoneInfo, observations_for
from .matcher import Matcher

REWARD_NONE, EXCLUDED, NO_DATA = "none", "excluded", "no-data"


# ---------------------------------------------------------------------------------------------
# Results: plain data for renderers and auditors
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ItemLine:
    """One evidence item an indicator looked at: counted (with its points) or not, and why."""

    item: EvidenceItem
    counted: bool
    reason: str | None = None
    units: Decimal | None = None
    points: Decimal | None = None
    outside_window: bool = False  # dated outside the indicator's window (traces summarise these)


@dataclass(frozen=True)
class AwardLine:
    id: str
    name: str
    condition: str
    points: Decimal
    given: bool
    evidence: tuple[str, ...] = ()
    reason: str | None = None
    tier: bool = False


@dataclass(frozen=True)
class ObservationUse:
    term: str
    area: str
    year: int
    value: Decimal
    source: FigureSource | None = None  # the statistics table's cell the figure was imported from


@dataclass(frozen=True)
class IndicatorScore:
    code: str
    name: str
    source: str
    rule: str  # file:line of the rule
    parent: str | None
    max: Decimal | None
    cap: Decimal | None
    raw: Decimal | None  # before the cap
    points: Decimal | None  # after the cap; None for a formula indicator
    arithmetic: str
    interpretation: str | None = None
    items: tuple[ItemLine, ...] = ()
    awards: tuple[AwardLine, ...] = ()
    self_score: Decimal | None = None
    self_evidence: tuple[str, ...] = ()
    # formula indicators
    formula: str | None = None
    value: Decimal | None = None
    exact: Decimal | None = None
    unit: str | None = None
    not_computable: str | None = None
    observations: tuple[ObservationUse, ...] = ()
    rank: int | None = None

    @property
    def difference(self) -> Decimal | None:
        if self.self_score is None or self.points is None:
            return None
        return self.self_score - self.points


@dataclass(frozen=True)
class ZoneScore:
    zone: ZoneInfo
    indicators: tuple[IndicatorScore, ...]
    subtotals: Mapping[str, Decimal]
    total: Decimal | None
    eligible: bool
    exclusion: str | None = None
    rank: int | None = None
    rank_from_bottom: int | None = None
    outcome: str = REWARD_NONE
    outcome_name: str | None = None
    outcome_source: str | None = None
    self_total: Decimal | None = None
    # every outcome whose condition held, in the rule file's order (its declared precedence): the first
    # is the one given, the others were set aside
    outcomes_met: tuple[str, ...] = ()
    # no evidence item dated in the evaluation year: scored, but not ranked, rewarded or asked to rectify
    no_data: bool = False

    def indicator(self, code: str) -> IndicatorScore:
        return next(i for i in self.indicators if i.code == code)


@dataclass(frozen=True)
class Evaluation:
    scheme: Scheme
    year: int
    zones: tuple[ZoneScore, ...]
    compiled: str = field(default="", repr=False)

    def zone(self, key: str) -> ZoneScore:
        """A zone's score by IRI, prefixed name, code (fz-b) or label."""
        from ..kb.queries import expand_iri

        try:
            iri = str(expand_iri(key))
        except PolicyKBError:
            iri = None
        for z in self.zones:
            if key in (z.zone.code, z.zone.label) or z.zone.iri == iri:
                return z
        raise KeyError(key)


# ---------------------------------------------------------------------------------------------
# Compiling a scheme's conditions for one year
# ---------------------------------------------------------------------------------------------

def _eq(path: str, value) -> expr.Compare:
    return expr.Compare(expr.Field(path, 1), "==", expr.Value(value, 1))


def _kinds(kinds: tuple[str, ...]) -> expr.Node:
    return expr.Compare(expr.Field("kind", 1), "in", expr.Value(tuple(kinds), 1))


def _window(indicator: Indicator, year: int) -> expr.Node:
    op = "==" if indicator.window == "year" else "<="
    return expr.Compare(expr.Field("year", 1), op, expr.Value(Decimal(year), 1))


def _all(*parts: expr.Node) -> expr.Node:
    return expr.And(tuple(parts))


def conditions(scheme: Scheme, year: int) -> dict[str, expr.Node]:
    """Every condition of the scheme for one evaluation year, by a key the evaluator reads back."""
    out: dict[str, expr.Node] = {}
    for ind in scheme.indicators:
        if ind.is_formula:
            continue
        base = _kinds(ind.evidence)
        window = _window(ind, year)
        requirements = [q.condition.tree for q in ind.requires]
        out[f"{ind.code}|window"] = _all(base, expr.Not(window))
        for n, tree in enumerate(requirements):
            out[f"{ind.code}|fail|{n}"] = _all(base, window, expr.Not(tree))
        out[f"{ind.code}|count"] = _all(base, window, *requirements)
        for award in ind.awards + ind.tiers:
            out[f"{ind.code}|award|{award.id}"] = _all(base, window, *requirements, award.condition.tree)
        # a self-assessed score is a row of kind self-assessment, or any row that names the indicator
        out[f"{ind.code}|self"] = _all(_eq("indicator", ind.code), _eq("year", Decimal(year)),
                                       expr.Compare(expr.Field("self_score", 1), ">=", expr.Value(Decimal(0), 1)))
    if scheme.exclusion:
        out["exclusion"] = _all(_eq("kind", "zone"), scheme.exclusion.condition.tree)
    for outcome in scheme.outcomes:
        out[f"outcome|{outcome.id}"] = _all(_eq("kind", "result"), outcome.condition.tree)
    return out


_compiled: dict[tuple[int, int], tuple[Scheme, Matcher]] = {}


def matcher_for(scheme: Scheme, year: int) -> Matcher:
    """One compiled ruleset per scheme object and year, reused across zones and calls. The cache keeps
    the scheme it compiled, so a new scheme that happens to get a freed object's id is compiled afresh."""
    key = (id(scheme), year)
    cached = _compiled.get(key)
    if cached is None or cached[0] is not scheme:
        cached = (scheme, Matcher(conditions(scheme, year), label=f"{scheme.id}-{year}"))
        _compiled[key] = cached
    return cached[1]


# ---------------------------------------------------------------------------------------------
# Evaluation
# ---------------------------------------------------------------------------------------------

def evaluate(kb: KnowledgeBase, scheme: Scheme, year: int, *, reader: FactReader | None = None,
             only: set[str] | None = None, progress=None) -> Evaluation:
    """Score every zone of the scheme's zone class for the year (or only the zones whose IRIs are given:
    they are then ranked among themselves)."""
    reader = reader or FactReader(kb, scheme)
    zones = tuple(z for z in reader.zones() if only is None or z.iri in only)
    if scheme.scored_by_formula:
        return _evaluate_formulas(reader, scheme, year, zones)
    facts = reader.read(year, zones)
    matcher = matcher_for(scheme, year)
    hits, zone_hits = match_facts(matcher, facts)
    zones = facts.zones if progress is None else progress(facts.zones)
    scored = [score_zone(scheme, year, zone, facts.items.get(zone.iri, ()), hits, zone_hits[zone.iri])
              for zone in zones]
    ranked = rank_and_decide(scheme, scored, matcher)
    return Evaluation(scheme, year, tuple(ranked), matcher.compiled())


def match_facts(matcher: Matcher, facts: FactSet) -> tuple[dict[str, frozenset[str]], dict[str, frozenset[str]]]:
    """Which conditions every evidence item and every zone meets, matched in durable-rules."""
    items = [item for zone in facts.zones for item in facts.items.get(zone.iri, ())]
    found = matcher.match_keys(fact_keys(matcher, items), "evidence")
    zone_found = matcher.match_many([facts.zone_facts[zone.iri] for zone in facts.zones], "zones")
    return ({item.id: keys for item, keys in zip(items, found)},
            {zone.iri: keys for zone, keys in zip(facts.zones, zone_found)})


_BASE = ("id", "kind", "zone", "year")


def fact_keys(matcher: Matcher, items) -> list[tuple]:
    """Each item's values of the fields the matcher's conditions read, in `matcher.reads` order."""
    paths = [key.replace("__", ".") for key in matcher.reads]
    base = [(n, p) for n, p in enumerate(paths) if p in _BASE]
    keys = []
    for item in items:
        key = list(map(item.fields.get, paths))
        for n, name in base:
            key[n] = getattr(item, name)
        keys.append(tuple(key))
    return keys


def score_zone(scheme: Scheme, year: int, zone: ZoneInfo, items, hits: Mapping[str, frozenset[str]],
               zone_hits: frozenset[str]) -> ZoneScore:
    """One zone's points per indicator, subtotals and total, from the conditions its items met."""
    by_kind: dict[str, list[EvidenceItem]] = {}
    named: dict[object, list[EvidenceItem]] = {}
    for item in items:
        by_kind.setdefault(item.kind, []).append(item)
        code = item.fields.get("indicator")
        if code is not None:
            named.setdefault(code, []).append(item)
    indicators = tuple(_score_indicator(ind, year, [i for kind in ind.evidence for i in by_kind.get(kind, ())],
                                        named.get(ind.code, ()), hits)
                       for ind in scheme.indicators)
    totals_by_level = subtotals(scheme, indicators)
    total = sum((i.points for i in indicators if i.points is not None), Decimal(0))
    excluded = "exclusion" in zone_hits
    selfs = [i.self_score for i in indicators if i.self_score is not None]
    no_data = not any(i.year == year for i in items)
    return ZoneScore(zone, indicators, totals_by_level, total, eligible=not excluded,
                     exclusion=scheme.exclusion.name if excluded else None,
                     outcome=EXCLUDED if excluded else NO_DATA if no_data else REWARD_NONE,
                     self_total=sum(selfs, Decimal(0)) if selfs else None, no_data=no_data)


def _units(item: EvidenceItem, indicator: Indicator) -> Decimal:
    """How many items a row stands for: the rule decides (Indicator.units, `items_per_row`)."""
    return indicator.units(item.fields.get("count"))


def _fmt(value: Decimal) -> str:
    text = format(value.normalize(), "f") if value == value.to_integral_value() else format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _score_indicator(ind: Indicator, year: int, items, named, hits) -> IndicatorScore:
    """One indicator's points from its evidence (`items`, in ledger order) and the rows that name it
    (`named`: self-assessments), with a line per item looked at."""
    lines: list[ItemLine] = []
    counted: list[EvidenceItem] = []
    seen: dict[object, EvidenceItem] = {}
    for item in sorted(items, key=_ledger_order) if len(ind.evidence) > 1 else items:
        keys = hits.get(item.id, frozenset())
        if f"{ind.code}|count" in keys:
            if ind.distinct:
                key = item.fields.get(ind.distinct, getattr(item, ind.distinct, None))
                first = seen.get(key) if key is not None else None
                if first is not None:
                    where = f"row {first.ledger_row}" if first.ledger_row else first.id
                    lines.append(ItemLine(item, False, f"duplicate: the same {ind.distinct} is counted at {where}"))
                    continue
                if key is not None:
                    seen[key] = item
            counted.append(item)
            continue
        if f"{ind.code}|window" in keys:
            lines.append(ItemLine(item, False, f"outside the window: dated {item.year}; the rule counts items of {year} only (当年)",
                                  outside_window=True))
            continue
        failed = [q.otherwise for n, q in enumerate(ind.requires) if f"{ind.code}|fail|{n}" in keys]
        if failed:
            lines.append(ItemLine(item, False, "; ".join(failed)))
    awards: list[AwardLine] = []
    if ind.per_item is not None:
        units = [(_units(i, ind), _units(i, ind) * ind.per_item) for i in counted]
        lines = [ItemLine(i, True, None, u, p) for i, (u, p) in zip(counted, units)] + lines
        n = sum((u for u, _ in units), Decimal(0))
        raw = n * ind.per_item
        arithmetic = f"{_fmt(n)} × {_fmt(ind.per_item)} = {_fmt(raw)}"
    elif ind.per_amount is not None:
        amounts = [Decimal(i.fields.get("amount") or 0) for i in counted]
        lines = [ItemLine(i, True, None, a, None) for i, a in zip(counted, amounts)] + lines
        total = sum(amounts, Decimal(0))
        wholes = (total / ind.per_amount.every).to_integral_value(rounding=ROUND_FLOOR)
        raw = wholes * ind.per_amount.points
        arithmetic = (f"{_fmt(total)} yuan ÷ {_fmt(ind.per_amount.every)} = {_fmt(total / ind.per_amount.every)}"
                      f" → {_fmt(wholes)} whole × {_fmt(ind.per_amount.points)} = {_fmt(raw)}")
    else:
        matched = {a.id: tuple(i.id for i in counted if f"{ind.code}|award|{a.id}" in hits.get(i.id, ()))
                   for a in ind.awards}
        given_ids: set[str] = set()
        changed = True
        while changed:  # an award that requires another is given once that one is, whatever their order
            changed = False
            for award in ind.awards:
                if award.id not in given_ids and matched[award.id] and (award.requires is None or award.requires in given_ids):
                    given_ids.add(award.id)
                    changed = True
        for award in ind.awards:
            reason = None
            if not matched[award.id]:
                reason = f"no counted item meets {award.condition.text}"
            elif award.id not in given_ids:
                reason = f"requires {award.requires}, which was not given"
            awards.append(AwardLine(award.id, award.name, award.condition.text, award.points, award.id in given_ids,
                                    matched[award.id], reason))
        best = None
        tier_lines = []
        for tier in ind.tiers:
            matched = tuple(i.id for i in counted if f"{ind.code}|award|{tier.id}" in hits.get(i.id, ()))
            tier_lines.append((tier, matched))
            if matched and (best is None or tier.points > best.points):
                best = tier
        for tier, matched in tier_lines:
            if tier is best:
                awards.append(AwardLine(tier.id, tier.name, tier.condition.text, tier.points, True, matched, tier=True))
            else:
                reason = (f"a higher tier ({best.id}) applies; tiers are not added together" if matched and best
                          else f"no counted item meets {tier.condition.text}")
                awards.append(AwardLine(tier.id, tier.name, tier.condition.text, tier.points, False, matched, reason, True))
        raw = sum((a.points for a in awards if a.given), Decimal(0))
        parts = [f"{a.id} {_fmt(a.points)}" for a in awards if a.given]
        arithmetic = (" + ".join(parts) + f" = {_fmt(raw)}") if parts else "no award = 0"
        lines = [ItemLine(i, True) for i in counted] + lines
    cap = ind.cap
    points = min(raw, cap) if cap is not None else raw
    if cap is not None and raw > cap:
        arithmetic += f"; capped at {_fmt(cap)}"
    self_items = [i for i in named if f"{ind.code}|self" in hits.get(i.id, ())]
    self_score = sum((Decimal(i.fields.get("self_score") or 0) for i in self_items), Decimal(0)) if self_items else None
    return IndicatorScore(ind.code, ind.name, str(ind.source), f"{ind.location.file}:{ind.location.line}", ind.parent,
                          ind.max, cap, raw, points, arithmetic, ind.interpretation, tuple(lines), tuple(awards),
                          self_score, tuple(i.id for i in self_items))


def _ledger_order(item: EvidenceItem):
    return (item.ledger_file or "", item.ledger_row or 0, item.id)


def subtotals(scheme: Scheme, indicators: tuple[IndicatorScore, ...]) -> dict[str, Decimal]:
    parents = {lv.code: lv.parent for lv in scheme.levels}
    sums = {lv.code: Decimal(0) for lv in scheme.levels}
    for ind in indicators:
        code = ind.parent
        while code is not None and ind.points is not None:
            sums[code] += ind.points
            code = parents.get(code)
    return sums


def competition_ranks(values: Mapping[str, Decimal], descending: bool = True) -> dict[str, int]:
    """Standard competition ranking (1, 2, 2, 4): equal values share a place, the next place is skipped."""
    first: dict[Decimal, int] = {}
    for place, value in enumerate(sorted(values.values(), reverse=descending), 1):
        first.setdefault(value, place)
    return {key: first[value] for key, value in values.items()}


def rank_and_decide(scheme: Scheme, scored: list[ZoneScore], matcher: Matcher) -> list[ZoneScore]:
    """Rank the eligible zones by total (shared places) and give each the outcome its place earns."""
    if scheme.ranking is None:
        return scored
    eligible = {z.zone.iri: z.total for z in scored if z.eligible and not z.no_data}
    ranks = competition_ranks(eligible)
    from_bottom = competition_ranks(eligible, descending=False)
    results = [{"id": iri + "#result", "kind": "result", "rank": ranks[iri], "rank_from_bottom": from_bottom[iri],
                "total": eligible[iri]} for iri in eligible]
    hits = dict(zip((r["id"] for r in results), matcher.match_many(results, "results")))
    out = []
    for z in scored:
        if z.zone.iri not in eligible:
            out.append(z)
            continue
        keys = hits.get(z.zone.iri + "#result", frozenset())
        met = tuple(o for o in scheme.outcomes if f"outcome|{o.id}" in keys)
        chosen = met[0] if met else None  # the first outcome in the rule file's list wins
        out.append(ZoneScore(z.zone, z.indicators, z.subtotals, z.total, True, None, ranks[z.zone.iri],
                             from_bottom[z.zone.iri], chosen.id if chosen else REWARD_NONE,
                             chosen.name if chosen else None, str(chosen.source) if chosen else None, z.self_total,
                             tuple(o.id for o in met)))
    out.sort(key=lambda z: (z.rank is None, z.rank or 0, -(z.total or 0), z.zone.code))
    return out


# ---------------------------------------------------------------------------------------------
# Formula schemes (observations)
# ---------------------------------------------------------------------------------------------

def _evaluate_formulas(reader: FactReader, scheme: Scheme, year: int, zones) -> Evaluation:
    observations = reader.observations()
    sources = reader.figure_sources()
    per_zone: dict[str, list[IndicatorScore]] = {z.iri: [] for z in zones}
    for ind in scheme.indicators:
        exact: dict[str, Decimal] = {}
        lines: dict[str, IndicatorScore] = {}
        terms = ind.formula.terms()
        for zone in zones:
            data, used = observations_for(observations, zone, year, terms)
            uses = tuple(ObservationUse(t.text, area, y, data.values[t], sources.get((area, y, t.measure)))
                         for t, (area, y) in used.items())
            try:
                value = formulas.evaluate(ind.formula, data)
            except formulas.NotComputable as exc:
                lines[zone.iri] = IndicatorScore(
                    ind.code, ind.name, str(ind.source), f"{ind.location.file}:{ind.location.line}", ind.parent,
                    None, None, None, None, f"not computable: {exc.detail} ({formulas.REASONS[exc.reason]})",
                    ind.interpretation, formula=ind.formula.text, unit=ind.unit, not_computable=exc.reason,
                    observations=uses)
                continue
            exact[zone.iri] = value
            rounded = value.quantize(Decimal(1).scaleb(-ind.decimals), rounding=ROUND_HALF_UP)
            lines[zone.iri] = IndicatorScore(
                ind.code, ind.name, str(ind.source), f"{ind.location.file}:{ind.location.line}", ind.parent,
                None, None, None, None, f"{_substitute(ind.formula, data)} = {rounded}", ind.interpretation,
                formula=ind.formula.text, value=rounded, exact=value, unit=ind.unit, observations=uses)
        ranks = competition_ranks(exact, descending=ind.order == "descending")
        for zone in zones:
            line = lines[zone.iri]
            if zone.iri in ranks:
                line = IndicatorScore(**{**line.__dict__, "rank": ranks[zone.iri]})
            per_zone[zone.iri].append(line)
    weighted = [i for i in scheme.indicators if i.weight is not None]
    scores = []
    for zone in zones:
        indicators = tuple(per_zone[zone.iri])
        total = _composite(scheme, indicators, per_zone) if weighted else None
        scores.append(ZoneScore(zone, indicators, {}, total, eligible=True))
    if weighted:
        totals = {z.zone.iri: z.total for z in scores}
        ranks = competition_ranks(totals)
        scores = [ZoneScore(**{**z.__dict__, "rank": ranks[z.zone.iri]}) for z in scores]
        scores.sort(key=lambda z: (z.rank, z.zone.code))
    return Evaluation(scheme, year, tuple(scores))


def _composite(scheme: Scheme, indicators, per_zone) -> Decimal:
    """Σ weight × the indicator's 0–100 score; the score scales the zone's value between the lowest
    (0) and the highest (100) computable value of all zones; not computable scores 0."""
    total = Decimal(0)
    for ind, line in zip(scheme.indicators, indicators):
        if ind.weight is None or line.exact is None:
            continue
        values = [z[[i.code for i in scheme.indicators].index(ind.code)].exact for z in per_zone.values()]
        values = [v for v in values if v is not None]
        low, high = min(values), max(values)
        if ind.order == "ascending":
            low, high = high, low
        score = Decimal(100) if high == low else (line.exact - low) / (high - low) * 100
        total += ind.weight * score
    return total.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _substitute(f: formulas.Formula, data: formulas.Observations) -> str:
    text = f.text
    for term in sorted(f.terms(), key=lambda t: -len(t.text)):
        value = data.values.get(term)
        if value is not None:
            text = text.replace(term.text, _fmt(value))
    return text
