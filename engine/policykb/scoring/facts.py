"""From the knowledge base to the facts a scheme's rules read: evidence items, zones, observations.

Evidence comes from the evidence index (kb.evidence: every resource with a pkb:zone, compiled once
when its graph was loaded), so reading a national knowledge base's quarter-million items takes one pass
over plain values, not a SPARQL query per field. What the items point to — a measure's scope, whether its
batch is in a catalogue, whether a zone lies in an FTZ area — is read with one bound query per field a
rule reads, over the (small) set of measures and zones. A field is a property's pkb:factName (ontology),
a linked resource's field (`measure.scope`), or a derived fact computed by a query in queries/facts/
(`zone.in_ftz_area`).

Where the knowledge base does not say a measure's field but the evidence row does (a ledger's 范围
column for a catalogue measure whose scope nobody recorded: pkb:measureProperty links the two), the row's
claim stands in for it and the item records the field as claimed, not verified.

Observations (the figures formula indicators read) come with their sources where they were imported from
a statistics table: the table, row and column of each figure and how it was converted
(queries/figure-sources.rq), so that a trace can name them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Mapping

from rdflib import URIRef
from rdflib.namespace import RDF

from ..errors import LayoutError, Location, TurtleSyntaxError
from ..kb.load import KnowledgeBase
from ..kb.queries import parse_query_file
from ..namespace import PKB, curie
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
_VALUES = "SELECT ?s ?v WHERE { ?s ?p ?v }"
_CODES = """
PREFIX pkb: <https://w3id.org/policykb/def#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
SELECT ?c ?code WHERE { { ?c pkb:ledgerCode ?code } UNION { ?c skos:notation ?code FILTER NOT EXISTS { ?c pkb:ledgerCode ?x } } }
"""
_MEASURES = """
PREFIX pkb: <https://w3id.org/policykb/def#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
SELECT ?m (SAMPLE(?n) AS ?notation) (SAMPLE(?l) AS ?label) WHERE {
  ?m a pkb:Measure .
  OPTIONAL { ?m skos:notation ?n }
  OPTIONAL { ?m skos:prefLabel ?l FILTER (lang(?l) = "zh") }
} GROUP BY ?m
"""
_OBSERVATIONS = """
PREFIX pkb: <https://w3id.org/policykb/def#>
PREFIX qb: <http://purl.org/linked-data/cube#>
SELECT ?obs ?area ?year ?p ?v WHERE {
  ?obs a qb:Observation ; pkb:refArea ?area ; pkb:refYear ?year .
  OPTIONAL { ?obs ?p ?v . ?p a qb:MeasureProperty }
}
"""
_MEASURE_PROPERTY = "SELECT ?column ?property WHERE { ?column <https://w3id.org/policykb/def#measureProperty> ?property }"
_TYPE, _ZONE, _YEAR = str(RDF.type), str(PKB.zone), str(PKB.year)
_FILE, _ROW, _ITEM, _MEASURE = str(PKB.ledgerFile), str(PKB.ledgerRow), str(PKB.item), str(PKB.measure)
EMPTY = frozenset()


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
    claims: frozenset[str] = frozenset()  # fields taken from the row's own claim (not verified in the knowledge base)
    graph: str | None = None  # the source the item is described in

    def fact(self) -> dict:
        return {fact_key(k): v for k, v in self.fields.items()} | {"id": self.id, "kind": self.kind,
                                                                   "zone": self.zone, "year": self.year}


@dataclass(frozen=True)
class FigureSource:
    """Where an imported figure came from: the table, row and column, the number and unit as written, and the
    factor (and exchange rate) that made it the figure recorded, in the measure's unit."""

    table: str
    row: int
    column: str | None  # the column letter
    header: str  # as the table has it, unit included: 税收（亿元）
    written: Decimal
    written_unit: str
    factor: Decimal
    rate: Decimal | None
    rate_applied: str | None  # "×" (US dollars to yuan) or "÷" (yuan to US dollars)
    value: Decimal
    unit: str | None


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
        self._codes = {iri: code for iri, code in kb.store.select(_CODES)}
        # what the reader keeps of the reference data, read the first time it is needed
        self._zones: tuple[ZoneInfo, ...] | None = None
        self._field_specs: list | None = None
        self._labels: dict | None = None
        self._zone_values: dict | None = None
        self._kinds = {str(cls): code for code, cls in self.vocabulary.kinds.items()}
        names = {str(prop): name for name, prop in self.vocabulary.properties.items()}
        self._numeric = {str(self.vocabulary.properties[n]) for n in self.vocabulary.numeric
                         if n in self.vocabulary.properties} | {str(PKB.count), str(PKB.amount)}
        # an evidence column that repeats a measure's fact: measure field name → the evidence property
        self._claim_of = {names[str(prop)]: str(column) for column, prop in kb.store.select(_MEASURE_PROPERTY)
                          if str(prop) in names and str(column) in names}

    def value(self, raw, prop: str | None = None):
        """A plain value from the index or a query as a rule reads it: a concept as its code, a number of a
        numeric property as a Decimal (or int), everything else as it is."""
        if isinstance(raw, str):
            code = self._codes.get(raw)
            if code is not None:
                return code
            if prop in self._numeric:
                try:
                    number = Decimal(raw)
                except InvalidOperation:
                    return raw
                return number if number.is_finite() else raw
        if isinstance(raw, float):
            return Decimal(str(raw))
        return raw

    def _whole(self, subject, value, prop: str) -> int:
        """A year as an int; an ill-typed literal (e.g. "2021x"^^xsd:integer) is named by file and line."""
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        try:
            return int(str(value))
        except (TypeError, ValueError):
            file, line = self.kb.locate(subject)
            raise TurtleSyntaxError(f"{prop}: {str(value)!r} is not a whole number ({curie(URIRef(str(subject)))})",
                                    location=Location(file, line),
                                    hint="write the year as digits, e.g. 2021, and run policykb validate") from None

    def zones(self) -> tuple[ZoneInfo, ...]:
        if self._zones is None:
            rows = self.kb.query(_ZONES, {"class": self.scheme.zones})
            self._zones = tuple(ZoneInfo(str(r.zone), str(r.label or r.code or curie(r.zone)),
                                         str(r.code or curie(r.zone)), bool(r.sample and r.sample.toPython()),
                                         str(r.province) if r.province else None) for r in rows)
        return self._zones

    def rebind(self, kb: KnowledgeBase) -> None:
        """Read the evidence of another opening of the knowledge base whose reference data — every graph that
        holds no evidence, which is all this reader keeps of it — is unchanged (scoring.board checks that)."""
        self.kb = kb

    def read(self, year: int, zones: tuple[ZoneInfo, ...] | None = None, graphs=None) -> FactSet:
        """The facts of `zones` (default: every zone of the scheme) for a year: their evidence up to it, read
        from every graph (or only from `graphs`, the graphs known to hold those zones' evidence)."""
        zones = zones if zones is not None else self.zones()
        items: dict[str, list[EvidenceItem]] = {z.iri: [] for z in zones}
        fields = self._fields()
        measures = self._measure_labels()
        for graph, entries in self.kb.evidence_items(graphs).items():
            table = entries.props
            try:
                zone_at, year_at = table.index(_ZONE), table.index(_YEAR)
            except ValueError:
                continue
            for subject, pairs in entries:
                zone = year_of = None
                for i in range(0, len(pairs), 2):
                    if pairs[i] == zone_at and zone is None:
                        zone = pairs[i + 1]
                    elif pairs[i] == year_at and year_of is None:
                        year_of = pairs[i + 1]
                if zone not in items or year_of is None:
                    continue
                item_year = self._whole(subject, year_of, "pkb:year")
                if item_year > year:
                    continue
                props: dict[str, object] = {}
                types = []
                for i in range(0, len(pairs), 2):
                    prop = table[pairs[i]]
                    if prop == _TYPE:
                        types.append(pairs[i + 1])
                    elif prop not in props:
                        props[prop] = pairs[i + 1]
                kind = self._kind(types)
                if kind is None:
                    continue
                values, claims = self._values(props, fields)
                label = props.get(_ITEM)
                measure = props.get(_MEASURE)
                if label is None and measure is not None:
                    notation, name = measures.get(measure, (None, None))
                    label = " ".join(str(x) for x in (notation, name) if x) or None
                row = props.get(_ROW)
                items[zone].append(EvidenceItem(subject, kind, zone, item_year, str(label) if label else _describe(values),
                                                props.get(_FILE), row if isinstance(row, int) else None,
                                                values, claims, graph))
        for zone_items in items.values():
            zone_items.sort(key=lambda i: (i.ledger_file or "", i.ledger_row or 0, i.id))
        zone_facts = self._zone_facts(zones)
        return FactSet(zones, {z: tuple(v) for z, v in items.items()}, zone_facts)

    def _kind(self, types: list) -> str | None:
        for cls in types:
            kind = self._kinds.get(cls)
            if kind is not None:
                return kind
        return None

    def _paths(self) -> set[str]:
        paths = set(self.scheme.fields) | {"measure", "count", "amount", "self_score", "indicator", "item"}
        return paths - (set(BASE_FIELDS) - {"count", "amount"})  # the rest come with every evidence row

    def _fields(self) -> list[tuple[str, str | None, dict | None, str | None]]:
        """Per field a rule reads: (path, the item's own property, else the linked property and the values
        of the linked resources, and the item's property that may claim the value)."""
        if self._field_specs is None:
            self._field_specs = self._read_fields()
        return self._field_specs

    def _read_fields(self) -> list[tuple[str, str | None, dict | None, str | None]]:
        props = self.vocabulary.properties
        out = []
        for path in sorted(self._paths()):
            parts = path.split(".")
            if len(parts) == 1:
                if path in props:
                    out.append((path, str(props[path]), None, None))
                continue
            link, name = parts
            if link not in LINKS or link not in props:
                continue
            if (link, name) in self.vocabulary.derived:
                linked = self._derived(link, name)
            elif name in props:
                linked = {s: self.value(v, str(props[name])) for s, v in self.kb.store.select(_VALUES, {"p": props[name]})}
            else:
                continue
            claim = self._claim_of.get(name) if link == "measure" else None
            out.append((path, str(props[link]), linked, claim))
        return out

    def _values(self, props: Mapping, fields) -> tuple[dict, frozenset[str]]:
        values = {}
        claims = set()
        for path, prop, linked, claim in fields:
            raw = props.get(prop)
            if raw is None:
                continue
            if linked is None:
                values[path] = self.value(raw, prop)
                continue
            value = linked.get(raw)
            if value is None and claim is not None and props.get(claim) is not None:
                value = self.value(props[claim], claim)
                claims.add(path)
            if value is not None:
                values[path] = value
        return values, frozenset(claims)

    def _measure_labels(self) -> dict[str, tuple[str | None, str | None]]:
        if self._labels is None:
            self._labels = {m: (n, l) for m, n, l in self.kb.store.select(_MEASURES)}
        return self._labels

    def _zone_facts(self, zones) -> dict[str, dict]:
        if self._zone_values is None:
            self._zone_values = self._read_zone_values()
        facts = {}
        for z in zones:
            fact = {"id": z.iri, "kind": "zone", "zone": z.iri}
            for name, values in self._zone_values.items():
                if values.get(z.iri) is not None:
                    fact[fact_key(f"zone.{name}")] = values[z.iri]
            facts[z.iri] = fact
        return facts

    def _read_zone_values(self) -> dict[str, dict]:
        derived_zone = {name: self._derived("zone", name) for (of, name) in self.vocabulary.derived if of == "zone"}
        # the zone's own properties that a rule reads as zone.<field> (e.g. an exclusion on zone.zone_level)
        for path in self.scheme.fields:
            link, _, name = path.partition(".")
            if link == "zone" and name in self.vocabulary.properties and name not in derived_zone:
                prop = self.vocabulary.properties[name]
                derived_zone[name] = {s: self.value(v, str(prop)) for s, v in self.kb.store.select(_VALUES, {"p": prop})}
        return derived_zone

    def _derived(self, of: str, name: str) -> dict[str, object]:
        fact = self.vocabulary.derived[(of, name)]
        query = parse_query_file(fact.query_file, self.kb.layout.relative(fact.query_file))
        return {subject: self.value(value) for subject, value in self.kb.store.select(query.text)}

    # -- observations (formula indicators) --------------------------------------------------------

    def observations(self) -> dict[tuple[str, int], dict[str, Decimal]]:
        """Every observation's figures by (area, year) and measure fact name."""
        names = {str(prop): name for name, prop in self.vocabulary.properties.items()}
        found: dict[tuple[str, int], dict[str, Decimal]] = {}
        for obs, area, year, prop, value in self.kb.store.select(_OBSERVATIONS):
            figures = found.setdefault((area, self._whole(obs, year, "pkb:refYear")), {})
            if prop is not None and prop in names:
                figures[names[prop]] = Decimal(str(value))
        return found


    def figure_sources(self) -> dict[tuple[str, int, str], FigureSource]:
        """The source of every imported figure by (area, year, measure fact name)."""
        names = {str(prop): name for name, prop in self.vocabulary.properties.items()}
        path = self.kb.layout.queries / "figure-sources.rq"
        if not path.is_file():  # a --kb folder with its own queries/, copied before the query was added
            raise LayoutError(f"{path} is missing: formula indicators read where each figure came from with it",
                              location=Location(self.kb.layout.relative(path)),
                              hint="copy queries/figure-sources.rq of the bundled knowledge base into that folder")
        query = parse_query_file(path, "queries/figure-sources.rq")
        found = {}
        for (area, year, prop, value, unit, table, row, column, header, written, written_unit, factor,
             rate) in self.kb.store.select(query.text):
            if prop not in names:
                continue
            value, written, factor = Decimal(str(value)), Decimal(str(written)), Decimal(str(factor))
            rate = Decimal(str(rate)) if rate is not None else None
            applied = None if rate is None else "×" if written * factor * rate == value else "÷"
            found[(area, self._whole(area, year, "pkb:refYear"), names[prop])] = FigureSource(
                table, int(row), column, header, written, written_unit, factor, rate, applied, value, unit)
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
