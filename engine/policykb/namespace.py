"""The namespaces of the policykb vocabulary and the standard vocabularies it reuses.

Terms are defined once, in ontology/policykb.ttl; code refers to them through PKB (e.g. PKB["Measure"] reads as PKB.Measure) and a test checks
that every PKB term used in the engine is defined there.
"""

import re

from rdflib import Namespace, URIRef
from rdflib.namespace import DCTERMS, FOAF, OWL, PROV, RDF, RDFS, SDO, SH, SKOS, XSD

from .errors import QueryError

BASE = "https://w3id.org/policykb/"

PKB = Namespace(BASE + "def#")
SCOPE = Namespace(BASE + "concept/scope/")
LEVEL = Namespace(BASE + "concept/level/")
STATUS = Namespace(BASE + "concept/status/")
FIELD = Namespace(BASE + "concept/field/")
DOC = Namespace(BASE + "doc/")
UNIT = Namespace(BASE + "unit/")
PLACE = Namespace(BASE + "place/")
ZONE = Namespace(BASE + "zone/")
MEASURE = Namespace(BASE + "measure/")
EVIDENCE = Namespace(BASE + "evidence/")
OBSERVATION = Namespace(BASE + "observation/")
SAMPLE = Namespace(BASE + "sample/")
SCORE = Namespace(BASE + "score/")

ELI = Namespace("http://data.europa.eu/eli/ontology#")
ORG = Namespace("http://www.w3.org/ns/org#")
QB = Namespace("http://purl.org/linked-data/cube#")

PREFIXES = {
    "pkb": PKB,
    "scope": SCOPE,
    "level": LEVEL,
    "status": STATUS,
    "field": FIELD,
    "doc": DOC,
    "unit": UNIT,
    "place": PLACE,
    "zone": ZONE,
    "measure": MEASURE,
    "ev": EVIDENCE,
    "obs": OBSERVATION,
    "sample": SAMPLE,
    "score": SCORE,
    "eli": ELI,
    "org": ORG,
    "qb": QB,
    "skos": SKOS,
    "dcterms": DCTERMS,
    "prov": PROV,
    "foaf": FOAF,
    "owl": OWL,
    "rdf": RDF,
    "rdfs": RDFS,
    "schema": SDO,  # schema:domainIncludes / schema:rangeIncludes, where a property links several classes
    "sh": SH,
    "xsd": XSD,
}


def bind_prefixes(graph) -> None:
    """Bind the project prefixes on a graph so that serialisations and messages read well."""
    for prefix, ns in PREFIXES.items():
        graph.bind(prefix, ns, override=True, replace=True)


def curie(term) -> str:
    """Shorten an IRI with the project prefixes (pkb:Measure); other IRIs come back in full."""
    text = str(term)
    best = None
    for prefix, ns in PREFIXES.items():
        base = str(ns)
        if text.startswith(base) and (best is None or len(base) > len(str(PREFIXES[best]))):
            local = text[len(base):]
            if local and all(c.isalnum() or c in "-_./" for c in local):
                best = prefix
    if best is None:
        return text
    return f"{best}:{text[len(str(PREFIXES[best])):]}"


_IRI_FORBIDDEN = re.compile(r'[\s<>"{}|^`\\]')


def expand_iri(value: str, name: str = "value") -> URIRef:
    """A CURIE with a project prefix (zone:fuzhou-etdz) or a full http(s)/urn IRI."""
    value = value.strip()
    if value.startswith("<") and value.endswith(">"):
        value = value[1:-1]
    prefix, sep, local = value.partition(":")
    if sep and prefix in PREFIXES and not local.startswith("//"):
        value = str(PREFIXES[prefix]) + local
    if not re.match(r"^(https?|urn):", value) or _IRI_FORBIDDEN.search(value):
        raise QueryError(
            f"parameter {name} must be an IRI, not {value!r}",
            hint=f"write a prefixed name such as zone:fuzhou-etdz or a full IRI; known prefixes: {', '.join(sorted(PREFIXES))}",
        )
    return URIRef(value)
