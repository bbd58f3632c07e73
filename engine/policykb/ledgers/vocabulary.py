"""The words a ledger may use, read from the ontology and the knowledge base.

Which columns exist, which Chinese headers they accept, which `kind` codes name which evidence class
and which codes name which concept all come from the ontology (pkb:ledgerColumn, pkb:ledgerAlias,
pkb:ledgerCode, pkb:conceptScheme), so office staff and the ontology speak the same words.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from rdflib import Graph, URIRef
from rdflib.namespace import DCTERMS, RDF, RDFS, XSD

from ..kb.load import KnowledgeBase
from ..kb.names import NAMED_CLASSES, NameIndex, norm
from ..namespace import PKB, QB
from ..rules.vocabulary import kind_classes
from .units import Unit, Units

FIRST_YEAR = 2013  # the first pilot free trade zone (Shanghai) opened in 2013
REQUIRED = ("zone", "year", "kind")


@dataclass(frozen=True)
class Column:
    """A ledger column and the RDF property its cells fill."""

    name: str
    prop: URIRef
    datatype: str  # kind | zone | measure | document | unit | concept | integer | decimal | date | string
    scheme: URIRef | None
    aliases: tuple[str, ...]
    checks: URIRef | None = None  # the measure's property that the cells must agree with
    header: str = ""  # the header a blank template gives the column (pkb:ledgerHeader)
    unit: URIRef | None = None  # a statistics table's measure: the unit it is recorded in; its header names one


class SampleZones:
    """`zone in sample_zones`: whether the knowledge base marks a zone (or area) as sample data, asked zone by
    zone (a national knowledge base marks a quarter of a million evidence items too)."""

    def __init__(self, kb: KnowledgeBase):
        self.kb = kb
        self._known: dict[URIRef, bool] = {}

    def __contains__(self, zone) -> bool:
        zone = URIRef(str(zone))
        if zone not in self._known:
            self._known[zone] = bool(self.kb.query(_SAMPLE_ZONE, {"z": zone}).askAnswer)
        return self._known[zone]


class Vocabulary:
    """The words a ledger may use, read from the ontology and the knowledge base."""

    table = "ledger"
    dimensions = (PKB.zone, PKB.year)  # what makes "one ledger per zone and year"

    def __init__(self, kb: KnowledgeBase):
        self.kb = kb
        self.columns = self._columns(kb.ontology)
        self.by_header = {}
        for column in self.columns.values():
            for header in (column.name, *column.aliases):
                self.by_header[norm(header)] = column
        self.kinds = self._kinds(kb.ontology)
        self.schemes, self.codes = self._schemes(kb)
        self._indexes: dict[str, NameIndex] = {}
        self.sample_zones = SampleZones(kb)

    def index(self, kind: str) -> NameIndex:
        """Names of the zones, measures, documents or units (built when a ledger first needs them)."""
        if kind not in self._indexes:
            self._indexes[kind] = NameIndex(self.kb, kind)
        return self._indexes[kind]

    @cached_property
    def statistics(self) -> StatisticsVocabulary:
        """The words of a statistics table (统计表), the other kind of table `policykb import` reads."""
        return StatisticsVocabulary(self)

    @cached_property
    def measure_facts(self) -> dict[tuple[URIRef, URIRef], set]:
        """What the knowledge base says of each measure, for the columns that repeat it: (measure, property) → values."""
        facts: dict[tuple[URIRef, URIRef], set] = {}
        for row in self.kb.query(_MEASURE_FACTS):
            facts.setdefault((URIRef(str(row.measure)), URIRef(str(row.property))), set()).add(row.value)
        return facts

    @staticmethod
    def _columns(ontology: Graph) -> dict[str, Column]:
        columns = {}
        for prop, name in ontology.subject_objects(PKB.ledgerColumn):
            aliases = tuple(sorted(str(a) for a in ontology.objects(prop, PKB.ledgerAlias)))
            scheme = ontology.value(prop, PKB.conceptScheme)
            rng = ontology.value(prop, RDFS.range)
            if prop == RDF.type:
                datatype = "kind"
            elif rng in NAMED_CLASSES:
                datatype = NAMED_CLASSES[rng]
            elif scheme is not None:
                datatype = "concept"
            elif rng in (XSD.integer, XSD.decimal, XSD.date):
                datatype = str(rng).rsplit("#", 1)[1]
            elif prop == DCTERMS.date:
                datatype = "date"
            else:
                datatype = "string"
            header = ontology.value(prop, PKB.ledgerHeader)
            columns[str(name)] = Column(str(name), prop, datatype, scheme, aliases,
                                        ontology.value(prop, PKB.measureProperty),
                                        str(header) if header is not None else (aliases[0] if aliases else str(name)))
        return columns

    @staticmethod
    def _kinds(ontology: Graph) -> dict[str, URIRef]:
        kinds = {}
        for cls in ontology.subjects(RDFS.subClassOf, PKB.Evidence):
            for code in ontology.objects(cls, PKB.ledgerCode):
                kinds[norm(str(code))] = cls
            for alias in ontology.objects(cls, PKB.ledgerAlias):
                kinds[norm(str(alias))] = cls
            for label in ontology.objects(cls, RDFS.label):
                kinds.setdefault(norm(str(label)), cls)
        return kinds

    @staticmethod
    def _schemes(kb: KnowledgeBase) -> tuple[dict[URIRef, dict[str, URIRef]], dict[URIRef, list[str]]]:
        schemes: dict[URIRef, dict[str, URIRef]] = {}
        codes: dict[URIRef, set[str]] = {}
        for row in kb.query(_CONCEPTS):
            scheme = URIRef(str(row.scheme))
            schemes.setdefault(scheme, {})[norm(str(row.word))] = URIRef(str(row.concept))
            codes.setdefault(scheme, set()).add(str(row.code))
        return schemes, {k: sorted(v) for k, v in codes.items()}

    def kind_codes(self) -> list[str]:
        return sorted(kind_classes(self.kb.ontology))

    def concept_codes(self, scheme: URIRef) -> list[str]:
        return self.codes.get(scheme, [])

    def kind_choices(self) -> list[tuple[str, str]]:
        """Every evidence kind as (code, Chinese name), in the order of kb/ledgers/README.md (the ontology's)."""
        ontology = self.kb.ontology
        choices = []
        for code, cls in kind_classes(ontology).items():
            names = [str(label) for label in ontology.objects(cls, RDFS.label) if getattr(label, "language", None) == "zh"]
            choices.append((code, names[0] if names else code))
        return sorted(choices, key=lambda c: _KIND_ORDER.index(c[0]) if c[0] in _KIND_ORDER else len(_KIND_ORDER))

    def concept_choices(self, scheme: URIRef) -> list[tuple[str, str]]:
        """The concepts of a scheme as (code, Chinese name)."""
        return [(code, self._concept_names.get((scheme, code), code)) for code in self.concept_codes(scheme)]

    @cached_property
    def _concept_names(self) -> dict[tuple[URIRef, str], str]:
        names = {}
        for row in self.kb.query(_CONCEPT_NAMES):
            names[(URIRef(str(row.scheme)), str(row.code))] = str(row.name)
        return names


_MEASURE_FACTS = """
PREFIX pkb: <https://w3id.org/policykb/def#>
SELECT ?measure ?property ?value WHERE {
  ?column pkb:measureProperty ?property .
  ?measure a pkb:Measure ; ?property ?value .
}"""
_CONCEPTS = """
PREFIX pkb:  <https://w3id.org/policykb/def#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
SELECT ?scheme ?concept ?code ?word WHERE {
  ?concept skos:inScheme ?scheme ; skos:notation ?notation .
  OPTIONAL { ?concept pkb:ledgerCode ?ledgerCode }
  BIND (COALESCE(?ledgerCode, ?notation) AS ?code)
  { ?concept pkb:ledgerCode|pkb:ledgerAlias|skos:notation|skos:prefLabel ?word } UNION { BIND(STR(?concept) AS ?word) }
}"""
_CONCEPT_NAMES = """
PREFIX pkb:  <https://w3id.org/policykb/def#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
SELECT ?scheme ?code ?name WHERE {
  ?concept skos:inScheme ?scheme ; skos:notation ?notation ; skos:prefLabel ?name FILTER (lang(?name) = "zh")
  OPTIONAL { ?concept pkb:ledgerCode ?ledgerCode }
  BIND (COALESCE(?ledgerCode, ?notation) AS ?code)
}"""
# the order of the kinds in kb/ledgers/README.md and the template's drop-down list: by rubric indicator
_KIND_ORDER = ["mechanism", "work-plan", "ledger-system", "replication", "own-platform", "joint-platform",
               "soe-operation", "market-hiring", "fiscal-support", "provincial-delegation", "city-delegation",
               "own-innovation", "pilot-offer", "provincial-promotion", "media-report", "comprehensive-ranking",
               "self-assessment", "progress-report", "information-report", "annual-summary"]
_SAMPLE_ZONE = """
PREFIX pkb: <https://w3id.org/policykb/def#>
ASK { ?z pkb:sampleData true }"""


class StatisticsVocabulary:
    """The words of a statistics table (统计表): one row per area and year, one column per measure of the zone
    economy cube, each measure's header naming its unit. Columns, headers and units come from the ontology
    (pkb:statisticsColumn, pkb:ledgerAlias, pkb:unitMeasure, the units of measure and their factors)."""

    table = "statistics"
    dimensions = (PKB.refArea, PKB.refYear)  # what makes "one table per area and year"

    def __init__(self, ledgers: Vocabulary):
        self.kb = ledgers.kb
        self.ledgers = ledgers
        ontology = self.kb.ontology
        self.units = Units(ontology)
        self.columns: dict[str, Column] = {}
        for prop, name in ontology.subject_objects(PKB.statisticsColumn):
            aliases = tuple(sorted(str(a) for a in ontology.objects(prop, PKB.ledgerAlias)))
            header = ontology.value(prop, PKB.ledgerHeader)
            unit = ontology.value(prop, PKB.unitMeasure)
            datatype = ("area" if prop == PKB.refArea else "year" if prop == PKB.refYear else
                        "measure" if unit is not None else "rate" if ontology.value(prop, PKB.rateFrom) else "string")
            self.columns[str(name)] = Column(str(name), prop, datatype, None, aliases,
                                             header=str(header) if header is not None else (aliases[0] if aliases else str(name)),
                                             unit=unit)
        self.by_header = {}
        for column in self.columns.values():
            for header in (column.name, *column.aliases):
                self.by_header[norm(header)] = column
        measures = {c.prop for c in self.columns.values() if c.datatype == "measure"}
        # the data structure whose measures the columns are: every imported table is a data set of it
        self.structure = next((s for s in sorted(ontology.subjects(RDF.type, QB.DataStructureDefinition))
                               if measures <= set(ontology.objects(s, QB.component / QB.measure))), None)
        self.area_class = ontology.value(self.structure, PKB.areaClass) if self.structure is not None else None
        # the order of the columns in a template: the structure's components (qb:order), then the rate and the note
        order = {}
        for component in ontology.objects(self.structure, QB.component) if self.structure is not None else ():
            prop = ontology.value(component, QB.dimension) or ontology.value(component, QB.measure)
            rank = ontology.value(component, QB.order)
            if prop is not None and rank is not None:
                order[prop] = int(rank)
        last = {"rate": 1000, "string": 1001}
        self.ordered = sorted(self.columns.values(),
                              key=lambda c: (order.get(c.prop, last.get(c.datatype, 999)), c.name))
        # the words that name "the province of the table's zones" in the area column (全省)
        self.province_words = {norm(str(w)) for w in ontology.objects(PKB.Province, PKB.ledgerAlias)}

    @property
    def sample_zones(self) -> set:
        return self.ledgers.sample_zones

    def zones(self):
        return self.ledgers.index("zone")

    def unit(self, column: Column) -> Unit | None:
        """The unit a measure column is recorded in."""
        return self.units.by_iri.get(column.unit) if column.unit is not None else None

    @cached_property
    def provinces(self) -> dict[str, URIRef]:
        """The provinces by every name they go by (浙江省, 浙江, Zhejiang, place:zhejiang)."""
        words = {}
        for row in self.kb.query(_PROVINCES):
            province = URIRef(str(row.province))
            for word in (str(row.word), str(province).rsplit("/", 1)[-1]):
                words.setdefault(norm(word), province)
        return words

    @cached_property
    def province_of(self) -> dict[URIRef, URIRef]:
        """Each zone's province (pkb:inProvince)."""
        return {URIRef(str(r.zone)): URIRef(str(r.province)) for r in self.kb.query(_ZONE_PROVINCE)}

    def area_choices(self) -> list[str]:
        """What a blank template's drop-down list offers in the area column: the zones of the structure's area
        class by their Chinese names, then the word for the province (全省)."""
        names = sorted(str(r.name) for r in self.kb.query(_AREA_NAMES, {"class": self.area_class})) if self.area_class else []
        province = sorted(str(w) for w in self.kb.ontology.objects(PKB.Province, PKB.ledgerAlias))
        return names + province


_PROVINCES = """
PREFIX pkb:  <https://w3id.org/policykb/def#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
SELECT ?province ?word WHERE { ?province a pkb:Province ; skos:prefLabel|skos:altLabel|skos:notation ?word }"""
_ZONE_PROVINCE = """
PREFIX pkb: <https://w3id.org/policykb/def#>
SELECT ?zone ?province WHERE { ?zone pkb:inProvince ?province ; a/<http://www.w3.org/2000/01/rdf-schema#subClassOf>* pkb:Zone }"""
_AREA_NAMES = """
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
SELECT ?name WHERE { ?zone a ?class ; skos:prefLabel ?name FILTER (lang(?name) = "zh") }"""
