"""Every zone's score under one scheme and year, kept per zone, so that only what changed is scored again.

A zone's points depend on its own evidence, the reference data its conditions read (measures, catalogue,
FTZ areas, the ontology, queries/facts/) and the rule file — nothing of the other zones until the
ranking. So each zone's score is kept with a digest of exactly those inputs: the digests of the graphs
that hold its evidence, a digest of every graph that holds no evidence, the rule file's digest, the year
and the engine's version. Scoring again re-derives and re-matches the zones whose digest changed and
ranks all zones from the kept totals; the result equals a full evaluation (a test compares them).

The scores are kept in memory by a long-running process (`policykb serve`, or a program using this
module) and on disk beside the store (STATE/scores/SCHEME-YEAR.json), so `policykb score` on an unchanged
knowledge base reads them instead of scoring every zone. Traces (every item looked at, and why) are not
kept: `trace()` scores one zone again in full.

    board = Scoreboard(scheme, 2021)
    evaluation = board.update(kb)          # score what changed, rank everything
    kb = load(layout)                      # … after an import changed one ledger …
    evaluation = board.update(kb)          # re-scores that ledger's zone only, re-ranks
    board.changed                          # the zones scored again by the last update
    trace = board.trace(kb, zone_iri)      # one zone with every line, ranked as in the evaluation
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

from .. import __version__
from ..kb.load import KnowledgeBase
from ..rules.model import Scheme
from .evaluate import (
    EXCLUDED,
    NO_DATA,
    REWARD_NONE,
    Evaluation,
    IndicatorScore,
    ZoneScore,
    evaluate,
    match_facts,
    matcher_for,
    rank_and_decide,
    score_zone,
    subtotals,
)
from .facts import FactReader, FactSet, ZoneInfo

CACHE_VERSION = 2  # 2: a zone keeps whether it had data for the year (no_data)


class Scoreboard:
    """The scores of one scheme and year, kept per zone with the digest of what each was computed from."""

    def __init__(self, scheme: Scheme, year: int, *, persist: bool = True):
        self.scheme = scheme
        self.year = year
        self.persist = persist
        self._kept: dict[str, tuple[str, ZoneScore]] = {}  # zone IRI → (inputs digest, unranked score)
        self._loaded_from: Path | None = None
        self.changed: tuple[str, ...] = ()
        self.evaluation: Evaluation | None = None
        self._reader: FactReader | None = None  # kept while the reference data stays the same
        self._entries: dict[str, tuple[str, str]] = {}  # zone IRI → (inputs digest, its entry as JSON) on disk
        self._reader_of: str | None = None

    # ---- the public steps ---------------------------------------------------------------------

    def update(self, kb: KnowledgeBase, progress=None) -> Evaluation:
        """Score the zones whose inputs changed since they were last scored, rank every zone, and return
        the evaluation (indicators carry their points; traces come from trace())."""
        if self.scheme.scored_by_formula:  # formula indicators rank zones against each other: score all
            self.evaluation = evaluate(kb, self.scheme, self.year)
            self.changed = tuple(z.zone.iri for z in self.evaluation.zones)
            return self.evaluation
        reference = self._reference(kb)
        if self._reader is None or self._reader_of != reference:
            self._reader, self._reader_of = FactReader(kb, self.scheme), reference
        else:
            self._reader.rebind(kb)  # the same reference data: keep what the reader read of it
        reader = self._reader
        zones = reader.zones()
        path = self._path(kb)
        if self.persist and path != self._loaded_from:
            self._kept.update(self._read(path, zones))
            self._loaded_from = path
        inputs = self._inputs(kb, zones, reference)
        stale = tuple(z for z in zones if self._kept.get(z.iri, ("",))[0] != inputs[z.iri])
        if stale:
            facts = reader.read(self.year, stale, graphs=self._graphs_of(kb, stale))
            scored = self._score(facts, progress)
            for zone in stale:
                self._kept[zone.iri] = (inputs[zone.iri], _untraced(scored[zone.iri]))
        wanted = {z.iri for z in zones}
        for iri in [k for k in self._kept if k not in wanted]:
            del self._kept[iri]
        self.changed = tuple(z.iri for z in stale)
        matcher = matcher_for(self.scheme, self.year)
        # the zone information (labels, codes) comes from this knowledge base, not from the kept scores
        current = [kept if (kept := self._kept[z.iri][1]).zone == z else replace(kept, zone=z) for z in zones]
        ranked = rank_and_decide(self.scheme, current, matcher)
        self.evaluation = Evaluation(self.scheme, self.year, tuple(ranked), matcher.compiled())
        if self.persist and stale:
            self._write(path)
        return self.evaluation

    def trace(self, kb: KnowledgeBase, zone: str) -> ZoneScore:
        """One zone scored again in full — every item looked at and why — with its rank and outcome."""
        evaluation = self.evaluation or self.update(kb)
        ranked = next(z for z in evaluation.zones if z.zone.iri == zone)
        if self.scheme.scored_by_formula:
            return ranked
        reader = self._reader if self._reader is not None and self._reader.kb is kb else FactReader(kb, self.scheme)
        info = next(z for z in reader.zones() if z.iri == zone)
        facts = reader.read(self.year, (info,), graphs=self._graphs_of(kb, (info,)))
        full = self._score(facts)[zone]
        return replace(full, zone=ranked.zone, rank=ranked.rank, rank_from_bottom=ranked.rank_from_bottom,
                       outcome=ranked.outcome, outcome_name=ranked.outcome_name, outcome_source=ranked.outcome_source,
                       outcomes_met=ranked.outcomes_met)

    # ---- scoring ------------------------------------------------------------------------------

    def _score(self, facts: FactSet, progress=None) -> dict[str, ZoneScore]:
        matcher = matcher_for(self.scheme, self.year)
        hits, zone_hits = match_facts(matcher, facts)
        zones = facts.zones if progress is None else progress(facts.zones)
        return {zone.iri: score_zone(self.scheme, self.year, zone, facts.items.get(zone.iri, ()), hits,
                                     zone_hits[zone.iri]) for zone in zones}

    # ---- what a zone's score depends on -------------------------------------------------------

    def _reference(self, kb: KnowledgeBase) -> str:
        """The digest of the reference data: every graph that holds no evidence, and the fact queries."""
        manifest = kb.store.manifest()
        held = kb.evidence.zones(kb.store, manifest)
        reference = hashlib.sha256()
        for name in sorted(manifest):
            if not held.get(name):
                reference.update(f"{name}\0{manifest[name].digest}\n".encode())
        facts_dir = kb.layout.queries / "facts"
        for query in sorted(facts_dir.glob("*.rq")) if facts_dir.is_dir() else ():
            reference.update(query.read_bytes())
        return reference.hexdigest()

    def _inputs(self, kb: KnowledgeBase, zones, reference: str) -> dict[str, str]:
        """Per zone, the digest of everything its score depends on (see the module docstring)."""
        manifest = kb.store.manifest()
        held = kb.evidence.zones(kb.store, manifest)
        common = f"{CACHE_VERSION}\0{__version__}\0{self._rule_digest(kb)}\0{self.year}\0{reference}"
        per_zone: dict[str, list[str]] = {}
        for name, zones_held in held.items():
            for zone in zones_held:
                per_zone.setdefault(zone, []).append(manifest[name].digest)
        return {z.iri: hashlib.sha256((common + "\0" + "\0".join(sorted(per_zone.get(z.iri, ())))).encode())
                .hexdigest() for z in zones}

    def _graphs_of(self, kb: KnowledgeBase, zones) -> set[str]:
        wanted = {z.iri for z in zones}
        held = kb.evidence.zones(kb.store, kb.store.manifest())
        return {name for name, zones_held in held.items() if wanted & set(zones_held)}

    def _rule_digest(self, kb: KnowledgeBase) -> str:
        path = kb.layout.root / self.scheme.file
        try:
            return hashlib.sha256(path.read_bytes()).hexdigest()
        except OSError:
            return hashlib.sha256(repr(self.scheme).encode()).hexdigest()

    # ---- kept on disk ---------------------------------------------------------------------------

    def _path(self, kb: KnowledgeBase) -> Path:
        return kb.layout.state_dir / "scores" / f"{self.scheme.id}-{self.year}.json"

    def _read(self, path: Path, zones) -> dict[str, tuple[str, ZoneScore]]:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        if not isinstance(data, dict) or data.get("v") != CACHE_VERSION:
            return {}
        codes = [i.code for i in self.scheme.indicators]
        if data.get("indicators") != codes:
            return {}
        by_iri = {z.iri: z for z in zones}
        kept = {}
        for iri, entry in (data.get("zones") or {}).items():
            zone = by_iri.get(iri)
            try:
                if zone is not None:
                    kept[iri] = (str(entry["in"]), self._summary(zone, entry))
            except (KeyError, TypeError, ValueError, ArithmeticError):
                continue  # a damaged entry is scored again
        return kept

    def _summary(self, zone: ZoneInfo, entry: dict) -> ZoneScore:
        indicators = []
        for ind, values in zip(self.scheme.indicators, entry["ind"]):
            raw, points, self_score = (None if v is None else Decimal(v) for v in values)
            indicators.append(IndicatorScore(ind.code, ind.name, str(ind.source), f"{ind.location.file}:"
                                             f"{ind.location.line}", ind.parent, ind.max, ind.cap, raw, points, "",
                                             ind.interpretation, self_score=self_score))
        indicators = tuple(indicators)
        total = sum((i.points for i in indicators if i.points is not None), Decimal(0))
        selfs = [i.self_score for i in indicators if i.self_score is not None]
        excluded = bool(entry.get("excluded"))
        no_data = bool(entry.get("no_data"))  # no evidence item of the year: not ranked (evaluate.score_zone)
        return ZoneScore(zone, indicators, subtotals(self.scheme, indicators), total, eligible=not excluded,
                         exclusion=self.scheme.exclusion.name if excluded and self.scheme.exclusion else None,
                         outcome=EXCLUDED if excluded else NO_DATA if no_data else REWARD_NONE,
                         self_total=sum(selfs, Decimal(0)) if selfs else None, no_data=no_data)

    def _write(self, path: Path) -> None:
        """Best effort: kept scores only save time; a full or read-only disk means scoring again next time.
        Each zone's entry is written out once, when the zone is scored, so that saving after one zone changed
        costs little more than the bytes."""
        entries = self._entries
        for iri, (digest, score) in self._kept.items():
            if entries.get(iri, ("",))[0] != digest:
                entries[iri] = (digest, json.dumps(
                    {"in": digest, "excluded": not score.eligible, "no_data": score.no_data,
                     "ind": [[_text(i.raw), _text(i.points), _text(i.self_score)] for i in score.indicators]},
                    ensure_ascii=False, separators=(",", ":")))
        for iri in [k for k in entries if k not in self._kept]:
            del entries[iri]
        head = json.dumps({"v": CACHE_VERSION, "scheme": self.scheme.id, "year": self.year,
                           "indicators": [i.code for i in self.scheme.indicators]}, ensure_ascii=False,
                          separators=(",", ":"))[:-1]
        zones = ",".join(f"{json.dumps(iri, ensure_ascii=False)}:{entry}" for iri, (_, entry) in sorted(entries.items()))
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
            temp.write_text(head + ',"zones":{' + zones + "}}", encoding="utf-8")
            os.replace(temp, path)
            self._loaded_from = path
        except OSError:
            pass


def _untraced(score: ZoneScore) -> ZoneScore:
    """A score without its item lines and awards: what is kept per zone."""
    return replace(score, indicators=tuple(replace(i, items=(), awards=(), arithmetic="") for i in score.indicators))


def _text(value: Decimal | None) -> str | None:
    return None if value is None else format(value, "f")
