"""The real reference data a synthetic knowledge base is built around, read from the knowledge base:
the Fujian cities, the Fujian FTZ areas, the catalogue batches of attachment 1 and the room each has for
more measures, the fields of reform, the responsible units and the rubric's third-level indicators.

Nothing here is invented; `world` invents zones and measures that point at these resources.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from rdflib import URIRef

from ..errors import LayoutError
from ..kb.load import KnowledgeBase
from ..namespace import DOC, PLACE

# The rubric the synthetic ledgers are written for: 闽自贸办〔2021〕1号, its attachment 1 (the catalogue of
# replicable measures) and its attachment 2 (the indicators B1–B18), in the province it governs.
RUBRIC = DOC["fj-ftzo-2021-1"]
CATALOGUE = DOC["fj-ftzo-2021-1/att1"]
PROVINCE = PLACE.fujian

_PREFIXES = """
PREFIX pkb:  <https://w3id.org/policykb/def#>
PREFIX eli:  <http://data.europa.eu/eli/ontology#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
"""
_CITIES = _PREFIXES + """
SELECT ?city (MIN(STR(?name)) AS ?label) (MIN(STR(?alt)) AS ?short) WHERE {
  ?city a/rdfs:subClassOf* pkb:PrefectureLevelArea ; pkb:inProvince ?province ; skos:prefLabel ?name .
  FILTER (lang(?name) = "zh")
  OPTIONAL { ?city skos:altLabel ?alt FILTER (lang(?alt) = "zh") }
} GROUP BY ?city ORDER BY ?city"""
_FTZ_AREAS = _PREFIXES + """
SELECT ?area ?city (MIN(STR(?name)) AS ?label) WHERE {
  ?area a pkb:FTZArea ; pkb:inCity ?city ; pkb:inProvince ?province ; skos:altLabel|skos:prefLabel ?name .
  FILTER (lang(?name) = "zh")
} GROUP BY ?area ?city ORDER BY ?area"""
_BATCHES = _PREFIXES + """
SELECT ?batch ?number ?count (COUNT(DISTINCT ?measure) AS ?named) WHERE {
  ?entry a pkb:CatalogueEntry ; eli:is_part_of/eli:is_part_of ?catalogue ; pkb:lists ?batch .
  ?batch eli:id_local ?number ; pkb:itemCount ?count .
  OPTIONAL { ?measure pkb:publishedIn ?batch }
} GROUP BY ?batch ?number ?count ORDER BY ?batch"""
_UNITS = _PREFIXES + """
SELECT DISTINCT ?unit WHERE {
  ?entry a pkb:CatalogueEntry ; eli:is_part_of/eli:is_part_of ?catalogue ; pkb:lists ?batch .
  ?measure pkb:publishedIn ?batch ; pkb:responsibleUnit ?unit .
} ORDER BY ?unit"""
_FIELDS = _PREFIXES + """
SELECT ?field (MIN(STR(?name)) AS ?label) (MIN(?typical) AS ?scope) WHERE {
  ?field skos:inScheme pkb:FieldScheme ; skos:prefLabel ?name FILTER (lang(?name) = "zh")
  OPTIONAL { ?field pkb:typicalScope ?typical }
} GROUP BY ?field ORDER BY ?field"""
_INDICATORS = _PREFIXES + """
SELECT ?code ?max WHERE {
  ?clause pkb:indicatorLevel 3 ; pkb:code ?code ; pkb:maxPoints ?max ; eli:is_part_of+ ?document .
}"""
_ISSUER = _PREFIXES + "SELECT ?unit WHERE { ?document eli:passed_by ?unit } ORDER BY ?unit"


@dataclass(frozen=True)
class FTZArea:
    iri: URIRef
    name: str  # e.g. 福州片区


@dataclass(frozen=True)
class City:
    iri: URIRef
    name: str  # the short name, e.g. 福州
    ftz_area: FTZArea | None


@dataclass(frozen=True)
class Batch:
    """A catalogue batch document and how many of its items the knowledge base does not name yet."""

    iri: URIRef
    number: str
    room: int


@dataclass(frozen=True)
class Field:
    iri: URIRef
    name: str
    typical_scope: URIRef | None


@dataclass(frozen=True)
class Indicator:
    code: str
    max: Decimal


@dataclass(frozen=True)
class Reference:
    """The real resources synthetic data points at."""

    cities: tuple[City, ...]
    ftz_areas: tuple[FTZArea, ...]
    batches: tuple[Batch, ...]
    fields: tuple[Field, ...]
    units: tuple[URIRef, ...]
    indicators: tuple[Indicator, ...]
    issuer: URIRef  # the office that issued the rubric: it issues the synthetic batch outside the catalogue


def read_reference(kb: KnowledgeBase) -> Reference:
    """Read the reference data; a knowledge base without it cannot host synthetic zones."""
    areas = {}
    for r in kb.query(_FTZ_AREAS, {"province": PROVINCE}):
        areas.setdefault(URIRef(str(r.city)), FTZArea(URIRef(str(r.area)), str(r.label)))
    cities = tuple(City(URIRef(str(r.city)), str(r.short or r.label), areas.get(URIRef(str(r.city))))
                   for r in kb.query(_CITIES, {"province": PROVINCE}))
    batches = tuple(Batch(URIRef(str(r.batch)), str(r.number), max(0, int(r["count"]) - int(r.named)))
                    for r in kb.query(_BATCHES, {"catalogue": CATALOGUE}))
    fields = tuple(Field(URIRef(str(r.field)), str(r.label), URIRef(str(r.scope)) if r.scope else None)
                   for r in kb.query(_FIELDS))
    units = tuple(URIRef(str(r.unit)) for r in kb.query(_UNITS, {"catalogue": CATALOGUE}))
    indicators = sorted((Indicator(str(r.code), Decimal(str(r.max))) for r in kb.query(_INDICATORS, {"document": RUBRIC})),
                        key=lambda i: (len(i.code), i.code))
    issuers = [URIRef(str(r.unit)) for r in kb.query(_ISSUER, {"document": RUBRIC})]
    missing = [what for what, found in (("cities of Fujian", cities), ("catalogue batches of attachment 1", batches),
                                        ("fields of reform", fields), ("indicators of attachment 2", indicators),
                                        ("issuer of the rubric", issuers)) if not found]
    if missing or not any(b.room for b in batches):
        raise LayoutError(
            f"the knowledge base {kb.layout.kb} lacks the reference data synthetic zones are built on: "
            f"{', '.join(missing) or 'room in the catalogue batches for more measures'}",
            hint="generate from the bundled knowledge base (leave out --kb), or from a copy that keeps kb/places/, "
                 "kb/zones/, kb/catalogue/, kb/measures/ and kb/documents/")
    return Reference(cities, tuple(areas.values()), batches, fields, units, tuple(indicators), issuers[0])
