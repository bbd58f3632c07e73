"""Find a zone, measure, document or unit by what people type: IRI, prefixed name, local name, code,
document number or Chinese name — with did-you-mean suggestions when nothing matches.

Ledgers, query parameters and the command line all resolve names here, with the same rules.
"""

from __future__ import annotations

import difflib
import functools
from typing import Callable

from rdflib import URIRef

from ..namespace import ORG, PKB, curie
from .load import KnowledgeBase

# a property whose range is one of these classes takes cells that name a resource of the class, and a
# query parameter of one of these types (`# param: zone (zone): …`) takes a name of one
NAMED_CLASSES = {PKB.Zone: "zone", PKB.Measure: "measure", PKB.PolicyDocument: "document", ORG.Organization: "unit",
                 PKB.AdministrativeArea: "place"}

# how each kind may be named, for hints
HOW_TO_NAME = {
    "zone": "its prefixed name (sample:zone-fz-b), its code (fz-b) or its full Chinese name (样例·福州乙开发区)",
    "measure": "its prefixed name (sample:measure-c01), its code (C01) or its full Chinese name",
    "document": "its prefixed name (doc:mz-2017-33), its number (闽政〔2017〕33号) or its full title",
    "unit": "its prefixed name (unit:fj-drc) or its full Chinese name (福建省发展和改革委员会)",
    "place": "its prefixed name (place:fuzhou) or its Chinese name (福州市)",
}

_NAMES = """
PREFIX pkb:  <https://w3id.org/policykb/def#>
PREFIX eli:  <http://data.europa.eu/eli/ontology#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
SELECT DISTINCT ?thing ?word WHERE {
  ?thing a/rdfs:subClassOf* ?class .
  { ?thing skos:prefLabel|skos:altLabel|skos:notation|pkb:shortName|eli:id_local|eli:title ?word }
  UNION { BIND(STR(?thing) AS ?word) }
}"""


def zone_index(kb: KnowledgeBase) -> NameIndex:
    """The zones of a knowledge base by IRI, prefixed name, local name, code or label."""
    return NameIndex(kb, "zone")


def indexes(kb: KnowledgeBase) -> Callable[[str], NameIndex]:
    """The name index of each kind ("zone", "measure", …), each built the first time it is asked for."""
    return functools.lru_cache(maxsize=None)(lambda what: NameIndex(kb, what))


class NameIndex:
    """Finds a zone, measure, document, unit or place by IRI, prefixed name, local name, code, number or label."""

    def __init__(self, kb: KnowledgeBase, what: str):
        self.what = what
        self.words: dict[str, set[URIRef]] = {}
        self.spelled: dict[str, str] = {}  # a normalised word as the knowledge base spells it, for suggestions
        cls = next(c for c, kind in NAMED_CLASSES.items() if kind == what)
        for row in kb.query(_NAMES, {"class": cls}):
            thing = URIRef(str(row.thing))
            keys = {str(row.word), str(thing), curie(thing), str(thing).rstrip("/").rsplit("/", 1)[-1]}
            for key in keys:
                word = norm(key)
                self.words.setdefault(word, set()).add(thing)
                self.spelled[word] = min(self.spelled.get(word, key.strip()), key.strip())

    def find(self, text: str) -> tuple[URIRef | None, list[str]]:
        """The resource named by `text`, or None with the closest names as suggestions."""
        text = text.strip()
        if text.startswith("<") and text.endswith(">"):  # an IRI written as in SPARQL or Turtle
            text = text[1:-1]
        hits = self.words.get(norm(text), set())
        if len(hits) == 1:
            return next(iter(hits)), []
        if len(hits) > 1:
            return None, sorted(curie(h) for h in hits)
        close = difflib.get_close_matches(norm(text), sorted(self.words), n=3, cutoff=0.6)
        return None, [self.spelled[word] for word in close]


def norm(text: str) -> str:
    """Compare words ignoring case, surrounding space and full-width/half-width brackets."""
    text = str(text).strip().lower()
    return text.replace("（", "(").replace("）", ")").replace("　", " ")
