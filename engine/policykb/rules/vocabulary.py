"""The words a rule file may use — fields, codes, evidence kinds, derived facts — read from the ontology.

The rule language checks against a RuleVocabulary passed to it; this module builds one from an ontology
graph and the headers of queries/facts/*.rq, and never touches the store.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from rdflib import Graph, URIRef
from rdflib.namespace import RDFS, SKOS, XSD

from ..namespace import PKB

# fields every evidence fact carries, whatever the ontology says
BASE_FIELDS = ("id", "kind", "zone", "year", "count", "amount", "ledger_file", "ledger_row")
# fields of the per-zone result facts that outcome conditions read
RESULT_FIELDS = ("rank", "rank_from_bottom", "total")
# fields of the evaluation context that formulas read through prefixes (see formula.py)
LINKS = ("zone", "measure")


def kind_classes(ontology: Graph) -> dict[str, URIRef]:
    """The evidence classes by the ledger code office staff write for them (replication → pkb:Replication)."""
    return {str(code): cls for cls in ontology.subjects(RDFS.subClassOf, PKB.Evidence)
            for code in ontology.objects(cls, PKB.ledgerCode)}


# ---------------------------------------------------------------------------------------------
# The vocabulary a rule file may use
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class DerivedFact:
    """A fact computed by a query in queries/facts/: `<of>.<name>` in conditions."""

    name: str
    of: str  # zone | measure
    query_file: Path


@dataclass(frozen=True)
class RuleVocabulary:
    """Field names, codes and evidence kinds known to the ontology, for checking rule files."""

    properties: dict  # fact name → property IRI
    codes: dict  # fact name → allowed codes (concept-valued properties and `kind`)
    kinds: dict  # ledger code → evidence class
    derived: dict  # (of, name) → DerivedFact
    numeric: frozenset = frozenset()  # fact names of properties whose values are numbers

    @classmethod
    def of(cls, ontology: Graph, facts_dir: Path | None = None) -> "RuleVocabulary":
        """The vocabulary of an ontology graph, with the derived facts declared in `facts_dir` (queries/facts/)."""
        properties, codes = {}, {}
        for prop, name in ontology.subject_objects(PKB.factName):
            properties[str(name)] = prop
            scheme = ontology.value(prop, PKB.conceptScheme)
            if scheme is not None:
                found = set()
                for concept in ontology.subjects(SKOS.inScheme, scheme):
                    found.update(str(c) for c in ontology.objects(concept, PKB.ledgerCode))
                    found.update(str(c) for c in ontology.objects(concept, SKOS.notation))
                codes[str(name)] = found
        kinds = kind_classes(ontology)
        codes["kind"] = set(kinds) | {"zone"}
        derived = {}
        for path in sorted(facts_dir.glob("*.rq")) if facts_dir is not None and facts_dir.is_dir() else []:
            header = dict(re.findall(r"^#\s*(fact|of):\s*(\S+)", path.read_text(encoding="utf-8"), re.M))
            if "fact" in header and "of" in header:
                derived[(header["of"], header["fact"])] = DerivedFact(header["fact"], header["of"], path)
        numbers = {XSD.integer, XSD.decimal, XSD.double, XSD.nonNegativeInteger}
        numeric = frozenset(name for name, prop in properties.items() if ontology.value(prop, RDFS.range) in numbers)
        return cls(properties, codes, kinds, derived, numeric)

    def field_names(self) -> frozenset[str]:
        names = set(self.properties) | set(BASE_FIELDS) | set(RESULT_FIELDS)
        for link in LINKS:
            names |= {f"{link}.{p}" for p in self.properties}
            names |= {f"{of}.{name}" for (of, name) in self.derived if of == link}
        return frozenset(names)

    def check_field(self, path: str) -> str | None:
        """None when a condition may read the field, else what is allowed."""
        parts = path.split(".")
        if len(parts) == 1 and (path in self.properties or path in BASE_FIELDS or path in RESULT_FIELDS):
            return None
        if len(parts) == 2 and parts[0] in LINKS and (parts[1] in self.properties or (parts[0], parts[1]) in self.derived):
            return None
        return None if path in self.field_names() else "unknown"

    def codes_of(self, path: str) -> set[str] | None:
        return self.codes.get(path.split(".")[-1])

    def is_numeric(self, path: str) -> bool:
        name = path.split(".")[-1]
        return name in self.numeric or name in ("count", "amount", "year") or name in RESULT_FIELDS
