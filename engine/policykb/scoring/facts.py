"""From the knowledge base to the facts a scheme's rules read: evidence items, zones, observations.

Only fields some rule reads are fetched. A field is a property's pkb:factName (ontology), a linked
resource's field (`measure.scope`), or a derived fact computed by a query in queries/facts/
(`zone.in_ftz_area`). Every query binds its predicates as parameters; no text is pasted into SPARQL.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Mapping

from rdflib import Literal, URIRef

from ..errors import Location, TurtleSyntaxError
from ..kb.load import KnowledgeBase
from ..kb.queries import parse_query_file
from ..namespace import curie
from ..rules.formula import Observations, Term
from ..rules.model import Scheme
from ..rules.vocabulary import BASE_FIELDS, LINKS, RuleVocabulary
from .matcher import fact_key

_ZONES = """
PREFIX pkb: <https://w3id.org/policykb/def#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
SELECT ?zone (SAMPLE(?l) AS ?label) (SAMPLE(?n) AS ?code) (SAMPLE(?s) AS ?sample) (SAMPLE(?p) AS ?province) WHERE {
  ?zone a/rdfs:subClassOf* ?class .
  OPTIONAL { ?zone skos:prefLabel ?l FILTER (lang(?l) = "zh") }
  OPTIONAL { ?zone skos:notation ?n }
  OPTIONAL { ?zone pkb:sampleData ?s }
  OPTIONAL { ?zone pkb:inProvince ?p }
} GROUP BY ?zone ORDER BY ?zone
"""

_EVIDENCE = """
PREFIX pkb: <https://w3id.org/policykb/def#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
SELECT ?e ?kind ?zone ?year ?file ?row WHERE {
  ?e pkb:zone ?zone ; pkb:year ?year ; a ?kind .
  ?kind rdfs:subClassOf pkb:Evidence .
  OPTIONAL { ?e pkb:ledgerFile ?file }
  OPTIONAL { ?e pkb:ledgerRow ?row }
}
"""

_DIRECT = "SELECT ?e ?v WHERE { ?e <https://w3id.org/policykb/def#zone> ?z ; ?p ?v }"
_LINKED = "SELECT ?e ?v WHERE { ?e <https://w3id.org/policykb/def#zone> ?z ; ?p1 ?x . ?x ?p2 ?v }"
_OWN = "SELECT ?s ?v WHERE { ?s ?p ?v }"
_LINK = "SELECT ?e ?x WHERE { ?e <https://w3id.org/policykb/def#zone> ?z ; ?p1 ?x }"
_CODES = """
PREFIX pkb: <https://w3id.org/policykb/def#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
SELECT ?c ?code WHERE { { ?c pkb:ledgerCode ?code } UNION { ?c skos:notation ?code FILTER NOT EXISTS { ?c pkb:ledgerCode ?x } } }
"""
_LABELS = """
PREFIX pkb: <https://w3id.org/policykb/def#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
SELECT ?e ?label ?notation WHERE {
  ?e pkb:zone ?z .
  OPTIONAL { ?e pkb:item ?item }
  OPTIONAL { ?e pkb:measure ?m . ?m skos:prefLabel ?ml FILTER (lang(?ml) = "zh") OPTIONAL { ?m skos:notation ?notation } }
  BIND (COALESCE(?item, ?ml) AS ?label)
}
"""
_OBSERVATIONS = """
PREFIX pkb: <https://w3id.org/policykb/def#>
PREFIX qb: <http://purl.org/linked-data/cube#>
SELECT ?obs ?area ?year ?p ?v WHERE {
  ?obs a qb:Observation ; pkb:refArea ?area ; pkb:refYear ?year .
  OPTIONAL { ?obs ?p ?v . ?p a qb:MeasureProperty }
}
"""


@dataclass(frozen=True)
class ZoneInfo:
    iri: str
    label: str
    code: str
    sample: bool
    province: str | None


@dataclass(frozen=True)
class EvidenceItem:
    """One evidence resource as the rules see it: its fields, and where it came from."""

    id: str
    kind: str
    zone: str
    year: int
    label: str
    ledger_file: str | None
    ledger_row: int | None
    fields: Mapping[str, object] = field(default_factory=dict)

    def fact(self) -> dict:
        return {fact_key(k): v for k, v in self.fields.items()} | {"id": self.id, "kind": self.kind,
                                                                   "zone": self.zone, "year": self.year}


@dataclass(frozen=True)
class FactSet:
    zones: tuple[ZoneInfo, ...]
    items: Mapping[str, tuple[EvidenceItem, ...]]  # zone IRI → its evidence up to the year
    zone_facts: Mapping[str, dict]  # zone IRI → the zone's own fact (kind "zone")


def _describe(fields: Mapping[str, object]) -> str:
    """A label for a row that names nothing (a ranking or a self-assessment row)."""
    parts = []
    if fields.get("rank") is not None:
        parts.append(f"rank {fields['rank']}")
    if fields.get("previous_rank") is not None:
        parts.append(f"last year {fields['previous_rank']}")
    if fields.get("indicator") is not None:
        parts.append(f"{fields['indicator']} self-assessed {fields.get('self_score')}")
    return ", ".join(parts)


class FactReader:
    """Reads facts for one scheme from one knowledge base."""

    def __init__(self, kb: KnowledgeBase, scheme: Scheme, vocabulary: RuleVocabulary | None = None):
        self.kb = kb
        self.scheme = scheme
        self.vocabulary = vocabulary or RuleVocabulary.of(kb.ontology, kb.layout.queries / "facts")
        self._codes = {row.c: str(row.code) for row in kb.query(_CODES)}
        self._kinds = {cls: code for code, cls in self.vocabulary.kinds.items()}

    def value(self, term):
        if isinstance(term, URIRef):
            return self._codes.get(term, str(term))
        if isinstance(term, Literal):
            python = term.toPython()
            if isinstance(python, (bool, int, Decimal, str)):
                return python
            if isinstance(python, float):
                return Decimal(str(term))
            return str(term)
        return str(term)

    def _whole(self, subject, literal, prop: str) -> int:
        """A year as an int; an ill-typed literal (e.g. "2021x"^^xsd:integer) is named by file and line."""
        try:
            return int(literal)
        except (TypeError, ValueError):
            file, line = self.kb.locate(subject)
            raise TurtleSyntaxError(f"{prop}: {str(literal)!r} is not a whole number ({curie(subject)})",
                                    location=Location(file, line),
                                    hint="write the year as digits, e.g. 2021, and run policykb validate") from None

    def zones(self) -> tuple[ZoneInfo, ...]:
        rows = self.kb.query(_ZONES, {"class": self.scheme.zones})
        return tuple(ZoneInfo(str(r.zone), str(r.label or r.code or curie(r.zone)), str(r.code or curie(r.zone)),
                              bool(r.sample and r.sample.toPython()), str(r.province) if r.province else None)
                     for r in rows)

    def read(self, year: int, zones: tuple[ZoneInfo, ...] | None = None) -> FactSet:
        zones = zones if zones is not None else self.zones()
        wanted = {z.iri for z in zones}
        base: dict[str, dict] = {}
        # zones outside the scheme's class are dropped here, not in SPARQL: a class path per evidence row
        # made the query grow with evidence × zones (tests/benchmarks/RESULTS.md)
        for r in self.kb.query(_EVIDENCE):
            kind = self._kinds.get(r.kind)
            if kind is None or str(r.zone) not in wanted:
                continue
            item_year = self._whole(r.e, r.year, "pkb:year")
            if item_year > year:
                continue
            base[str(r.e)] = {"kind": kind, "zone": str(r.zone), "year": item_year,
                              "file": str(r.file) if r.file else None, "row": int(r.row) if r.row else None}
        fields: dict[str, dict] = {e: {} for e in base}
        for path in sorted(self._paths()):
            for e, v in self._field(path).items():
                if e in fields:
                    fields[e][path] = v
        labels = {}
        for r in self.kb.query(_LABELS):
            e = str(r.e)
            if e in base and e not in labels:
                labels[e] = " ".join(str(x) for x in (r.notation, r.label) if x) or ""
        items: dict[str, list[EvidenceItem]] = {z.iri: [] for z in zones}
        for e, b in base.items():
            items[b["zone"]].append(EvidenceItem(e, b["kind"], b["zone"], b["year"], labels.get(e) or _describe(fields[e]),
                                                 b["file"], b["row"], fields[e]))
        for zone_items in items.values():
            zone_items.sort(key=lambda i: (i.ledger_file or "", i.ledger_row or 0, i.id))
        zone_facts = {}
        derived_zone = {name: self._derived("zone", name) for (of, name) in self.vocabulary.derived if of == "zone"}
        # the zone's own properties that a rule reads as zone.<field> (e.g. an exclusion on zone.zone_level)
        for path in self.scheme.fields:
            link, _, name = path.partition(".")
            if link == "zone" and name in self.vocabulary.properties and name not in derived_zone:
                derived_zone[name] = {str(r.s): self.value(r.v)
                                      for r in self.kb.query(_OWN, {"p": self.vocabulary.properties[name]})}
        for z in zones:
            fact = {"id": z.iri, "kind": "zone", "zone": z.iri}
            for name, values in derived_zone.items():
                if values.get(z.iri) is not None:
                    fact[fact_key(f"zone.{name}")] = values[z.iri]
            zone_facts[z.iri] = fact
        return FactSet(zones, {z: tuple(v) for z, v in items.items()}, zone_facts)

    def _paths(self) -> set[str]:
        paths = set(self.scheme.fields) | {"measure", "count", "amount", "self_score", "indicator", "item"}
        return paths - (set(BASE_FIELDS) - {"count", "amount"})  # the rest come with every evidence row

    def _field(self, path: str) -> dict[str, object]:
        parts = path.split(".")
        props = self.vocabulary.properties
        if len(parts) == 1:
            prop = props.get(path)
            if prop is None:
                return {}
            return {str(r.e): self.value(r.v) for r in self.kb.query(_DIRECT, {"p": prop})}
        link, name = parts
        if link not in LINKS:
            return {}
        if (link, name) in self.vocabulary.derived:
            derived = self._derived(link, name)
            return {str(r.e): derived.get(str(r.x)) for r in self.kb.query(_LINK, {"p1": props[link]})
                    if derived.get(str(r.x)) is not None}
        return {str(r.e): self.value(r.v) for r in self.kb.query(_LINKED, {"p1": props[link], "p2": props[name]})}

    def _derived(self, of: str, name: str) -> dict[str, object]:
        fact = self.vocabulary.derived[(of, name)]
        query = parse_query_file(fact.query_file, self.kb.layout.relative(fact.query_file))
        return {str(r.subject): self.value(r.value) for r in self.kb.query(query.text)}

    # -- observations (formula indicators) --------------------------------------------------------

    def observations(self) -> dict[tuple[str, int], dict[str, Decimal]]:
        """Every observation's figures by (area, year) and measure fact name."""
        names = {prop: name for name, prop in self.vocabulary.properties.items()}
        found: dict[tuple[str, int], dict[str, Decimal]] = {}
        for r in self.kb.query(_OBSERVATIONS):
            figures = found.setdefault((str(r.area), self._whole(r.obs, r.year, "pkb:refYear")), {})
            if r.p is not None and r.p in names:
                figures[names[r.p]] = Decimal(str(r.v))
        return found


def observations_for(all_obs: Mapping[tuple[str, int], Mapping[str, Decimal]], zone: ZoneInfo, year: int,
                     terms: list[Term]) -> tuple[Observations, dict[Term, tuple[str, int]]]:
    """The figures a formula reads for one zone and year, and which observation each came from."""
    values, present, used = {}, {}, {}
    for who in ("zone", "province"):
        area = zone.iri if who == "zone" else zone.province
        for previous in (False, True):
            key = (area, year - 1 if previous else year)
            present[(who, previous)] = area is not None and key in all_obs
            for term in terms:
                if term.who == who and term.previous == previous and present[(who, previous)]:
                    value = all_obs[key].get(term.measure)
                    if value is not None:
                        values[term] = value
                        used[term] = key
    return Observations(values, present), used
