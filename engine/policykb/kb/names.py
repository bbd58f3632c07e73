"""Find a zone, measure, document or unit by what people type: IRI, prefixed name, local name, code,
document number or Chinese name — with did-you-mean suggestions when nothing matches.

Ledgers, query parameters and the command line all resolve names here, with the same rules.
"""

from __future__ import annotations

import difflib

from rdflib import URIRef

from ..namespace import ORG, PKB, curie
from .load import KnowledgeBase

# a property whose range is one of these classes takes cells that name a resource of the class
NAMED_CLASSES = {PKB.Zone: "zone", PKB.Measure: "measure", PKB.PolicyDocument: "document", ORG.Organization: "unit"}

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


class NameIndex:
    """Finds a zone, measure, document or unit by IRI, prefixed name, local name, code, number or label."""

    def __init__(self, kb: KnowledgeBase, what: str):
        self.what = what
        self.words: dict[str, set[URIRef]] = {}
        self.spelt: dict[str, str] = {}  # a compared word → as the knowledge base spells it (C09, not c09)
        cls = next(c for c, kind in NAMED_CLASSES.items() if kind == what)
        for row in kb.query(_NAMES, {"class": cls}):
            thing = URIRef(str(row.thing))
            keys = {str(row.word), curie(thing), str(thing).rstrip("/").rsplit("/", 1)[-1]}
            for key in keys:
                self.words.setdefault(norm(key), set()).add(thing)
                self.spelt.setdefault(norm(key), key.strip())

    def find(self, text: str) -> tuple[URIRef | None, list[str]]:
        """The resource named by `text`, or None with the closest names as suggestions."""
        hits = self.words.get(norm(text), set())
        if len(hits) == 1:
            return next(iter(hits)), []
        if len(hits) > 1:
            return None, sorted(curie(h) for h in hits)
        return None, [self.spelt[w] for w in difflib.get_close_matches(norm(text), list(self.words), n=3, cutoff=0.6)]


def norm(text: str) -> str:
    """Compare words ignoring case, surrounding space and full-width/half-width brackets."""
    text = str(text).strip().lower()
    return text.replace("（", "(").replace("）", ")").replace("　", " ")
