"""What a score was computed from, read from the knowledge base for traces and published results.

An auditor checking a score by hand needs, beside the numbers: the words of every clause a rule
encodes, the knowledge-base facts each counted row's conditions read (and the file that states them),
and a digest of every input — the rule file, the ledgers, the Turtle files and the fact queries — so
that a later change to any of them shows. Everything here is plain data; `explain` lays it out.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable, Mapping

from rdflib import Literal, URIRef

from .. import __version__
from ..kb.layout import Layout
from ..kb.load import KnowledgeBase
from ..kb.queries import parse_query_file, run
from ..namespace import PKB, curie
from ..rules import expr
from ..rules.model import Indicator, Scheme
from ..rules.vocabulary import BASE_FIELDS, LINKS, RuleVocabulary
from .evaluate import Evaluation, ZoneScore
from .schemes import vocabulary_of

RESULTS_DIR = "results"  # kb/results/: published results, outputs of scoring and never its inputs

# tiny private queries: the resource an evidence item links to through one property (its measure), and
# the ledger files of evidence items up to a year
_LINKED = "SELECT ?e ?x WHERE { ?e ?p ?x ; ?zoneProperty ?zone }"
_OWN = "SELECT ?v WHERE { ?zone ?p ?v }"
_IMPORTED = """SELECT ?file ?sha256 WHERE { ?ledger a <https://w3id.org/policykb/def#Ledger> ;
  <https://w3id.org/policykb/def#ledgerFile> ?file ; <https://w3id.org/policykb/def#sha256> ?sha256 }"""
_LEDGERS = """SELECT DISTINCT ?zone ?file WHERE {
  ?e <https://w3id.org/policykb/def#zone> ?zone ; <https://w3id.org/policykb/def#ledgerFile> ?file ;
     <https://w3id.org/policykb/def#year> ?y FILTER (?y <= ?year) }"""


@dataclass(frozen=True)
class FileDigest:
    """One input file: its path as messages show it, its SHA-256 (None when it cannot be found) and role."""

    path: str
    sha256: str | None
    role: str  # rules | ledger | knowledge-base | fact-query
    imported: str | None = None  # a ledger's SHA-256 when it was imported (pkb:Ledger): differs if edited since


@dataclass(frozen=True)
class Inputs:
    """Every file a score was computed from, the policykb version and when the trace was made."""

    version: str
    at: str  # ISO 8601 time of the trace, or the issue date of a published result
    rules: FileDigest
    ledgers: tuple[FileDigest, ...]
    knowledge_base: tuple[FileDigest, ...]
    fact_queries: tuple[FileDigest, ...]
    zone_ledgers: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # zone IRI → its ledger paths

    def all(self) -> tuple[FileDigest, ...]:
        return (self.rules,) + self.ledgers + self.knowledge_base + self.fact_queries

    def ledgers_of(self, zone: str) -> tuple[FileDigest, ...]:
        wanted = set(self.zone_ledgers.get(zone, ()))
        return tuple(d for d in self.ledgers if d.path in wanted)


@dataclass(frozen=True)
class ClauseText:
    iri: str
    code: str | None
    text: str


@dataclass(frozen=True)
class FactRead:
    """One knowledge-base fact a condition read for an item: `measure.scope = cross`, and where it is stated."""

    field: str
    value: object
    resource: str  # the resource the fact is about (the evidence item, its measure, the zone)
    file: str | None
    line: int | None
    query: str | None = None  # the queries/facts/ file of a derived fact


@dataclass(frozen=True)
class Sources:
    """What traces quote from the knowledge base for one evaluation."""

    clauses: Mapping[str, ClauseText]
    facts: Mapping[str, tuple[FactRead, ...]]  # evidence item (or zone) IRI → facts its conditions read
    inputs: Inputs

    def clause(self, iri) -> ClauseText | None:
        return self.clauses.get(str(iri))


def digest_of(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def resolve(layout: Layout, shown: str) -> Path | None:
    """A path as messages show it (relative to the layout root, the rules or the ontology folder), as a file."""
    candidate = Path(shown)
    if candidate.is_absolute():
        return candidate if candidate.is_file() else None
    for anchor in (layout.root, layout.rules.parent, layout.ontology.parent):
        if (anchor / shown).is_file():
            return anchor / shown
    return None


def is_result_file(name: str) -> bool:
    """True for a published result (kb/results/…): scoring never reads it, so it is not an input."""
    return name.startswith(f"kb/{RESULTS_DIR}/")


def inputs(kb: KnowledgeBase, evaluation: Evaluation, at: str | None = None) -> Inputs:
    """The digests of everything the evaluation read. `at` defaults to now (UTC)."""
    layout = kb.layout
    rule_path = resolve(layout, evaluation.scheme.file)
    rules = FileDigest(evaluation.scheme.file, digest_of(rule_path) if rule_path else None, "rules")
    zones = {z.zone.iri for z in evaluation.zones}
    by_zone: dict[str, set[str]] = {}
    for r in kb.query(_LEDGERS, {"year": Literal(evaluation.year)}):
        if str(r.zone) in zones:
            by_zone.setdefault(str(r.zone), set()).add(str(r.file))
    for zone in evaluation.zones:  # the statistics tables a zone's formulas read figures from (its own, the province's)
        for ind in zone.indicators:
            by_zone.setdefault(zone.zone.iri, set()).update(o.source.table for o in ind.observations if o.source)
    ledger_names = sorted(set().union(*by_zone.values())) if by_zone else []
    imported = {str(r.file): str(r.sha256) for r in kb.query(_IMPORTED)}
    ledgers = []
    for name in ledger_names:
        path = resolve(layout, name)
        ledgers.append(FileDigest(name, digest_of(path) if path else None, "ledger", imported.get(name)))
    kb_files = tuple(FileDigest(name, source.digest or None, "knowledge-base")
                     for name, source in sorted(kb.files.items()) if not is_result_file(name))
    facts_dir = layout.queries / "facts"
    queries = tuple(FileDigest(layout.relative(p), digest_of(p), "fact-query")
                    for p in sorted(facts_dir.glob("*.rq"))) if facts_dir.is_dir() else ()
    when = at or datetime.now(timezone.utc).replace(microsecond=0).isoformat()
    return Inputs(__version__, when, rules, tuple(ledgers), kb_files, queries,
                  {zone: tuple(sorted(files)) for zone, files in by_zone.items()})


def _plain(term):
    return term.toPython() if isinstance(term, Literal) else (curie(term) if term is not None else None)


def clause_texts(kb: KnowledgeBase, scheme: Scheme) -> dict[str, ClauseText]:
    """The words of every clause the scheme cites (pkb:text), by IRI (queries/clause-texts.rq)."""
    query = parse_query_file(kb.layout.queries / "clause-texts.rq", "queries/clause-texts.rq")
    bindings = {"document": scheme.document} if scheme.document else {}
    wanted = {str(c) for c in scheme.clauses()}
    found = {}
    for row in run(kb.store, query, bindings):
        iri = str(row.clause)
        if iri in wanted:
            found[iri] = ClauseText(iri, str(row.code) if row.code else None, str(row.text))
    return found


def condition_fields(indicator: Indicator) -> list[str]:
    """The fact fields an indicator's conditions read, beyond those every evidence row carries."""
    nodes = [q.condition.tree for q in indicator.requires] + [a.condition.tree for a in indicator.awards + indicator.tiers]
    seen: list[str] = []
    for node in nodes:
        for f in expr.fields_of(node):
            if f.path not in BASE_FIELDS and f.path not in seen:
                seen.append(f.path)
    return seen


class _Facts:
    """Finds, for evidence items, the resource and file behind each field a condition reads."""

    def __init__(self, kb: KnowledgeBase, vocabulary: RuleVocabulary):
        self.kb = kb
        self.vocabulary = vocabulary
        self._links: dict[tuple[str, str], dict[str, str]] = {}
        self._where: dict[str, tuple[str | None, int | None]] = {}
        self._derived: dict[str, dict[str, object]] = {}

    def where(self, iri: str) -> tuple[str | None, int | None]:
        if iri not in self._where:
            self._where[iri] = self.kb.locate(URIRef(iri))
        return self._where[iri]

    def linked(self, zone: str, link: str) -> dict[str, str]:
        """Evidence item → the resource it links to through `link` (e.g. its measure), for one zone."""
        key = (zone, link)
        if key not in self._links:
            prop = self.vocabulary.properties.get(link)
            rows = run(self.kb.store, _LINKED, {"p": prop, "zoneProperty": PKB.zone, "zone": URIRef(zone)}) if prop else []
            self._links[key] = {str(r.e): str(r.x) for r in rows}
        return self._links[key]

    def zone_fact(self, zone: str, path: str) -> FactRead:
        """A zone fact an exclusion reads (zone.in_ftz_area), with the zone's file and the query deriving it."""
        _, _, name = path.partition(".")
        derived = self.vocabulary.derived.get(("zone", name))
        if derived is not None:
            if path not in self._derived:
                query = parse_query_file(derived.query_file, self.kb.layout.relative(derived.query_file))
                self._derived[path] = {str(r.subject): _plain(r.value) for r in run(self.kb.store, query)}
            value = self._derived[path].get(zone)
        else:
            prop = self.vocabulary.properties.get(name)
            rows = list(self.kb.query(_OWN, {"zone": URIRef(zone), "p": prop})) if prop else []
            value = curie(rows[0].v) if rows else None
        file, line = self.where(zone)
        return FactRead(path, value, zone, file, line, self.kb.layout.relative(derived.query_file) if derived else None)

    def read(self, zone: str, item_id: str, fields: Mapping[str, object], paths: list[str]) -> tuple[FactRead, ...]:
        out = []
        for path in paths:
            link, _, name = path.partition(".")
            value = fields.get(path)
            if not name:  # a field of the evidence item itself
                file, line = self.where(item_id)
                out.append(FactRead(path, value, item_id, file, line))
                continue
            if link not in LINKS:
                continue
            resource = zone if link == "zone" else self.linked(zone, link).get(item_id)
            if resource is None:
                out.append(FactRead(path, value, item_id, None, None))
                continue
            derived = self.vocabulary.derived.get((link, name))
            file, line = self.where(resource)
            out.append(FactRead(path, value, resource, file, line,
                                self.kb.layout.relative(derived.query_file) if derived else None))
        return tuple(out)


def sources(kb: KnowledgeBase, evaluation: Evaluation, *, zones: Iterable[ZoneScore] | None = None,
            at: str | None = None) -> Sources:
    """Clause texts, the facts read for every item of the given zones (default: all), and the input digests."""
    scheme = evaluation.scheme
    vocabulary = vocabulary_of(kb)
    finder = _Facts(kb, vocabulary)
    fields_of = {ind.code: condition_fields(ind) for ind in scheme.indicators if not ind.is_formula}
    facts: dict[str, tuple[FactRead, ...]] = {}
    for zone in (evaluation.zones if zones is None else zones):
        for ind in zone.indicators:
            paths = fields_of.get(ind.code)
            if not paths:
                continue
            for line in ind.items:
                if line.item.id not in facts:
                    facts[line.item.id] = finder.read(zone.zone.iri, line.item.id, line.item.fields, paths)
        if scheme.exclusion:
            paths = [f.path for f in expr.fields_of(scheme.exclusion.condition.tree)]
            facts[zone.zone.iri] = tuple(finder.zone_fact(zone.zone.iri, p) for p in paths)
    return Sources(clause_texts(kb, scheme), facts, inputs(kb, evaluation, at))
