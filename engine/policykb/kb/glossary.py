"""The ontology's terms as documentation: every class and property with its labels, definition, domain and
range, the SHACL constraints that apply (ontology/shapes.ttl) and one example from the knowledge base.

Plain frozen data, read once from the loaded knowledge base; report/vocabulary.py lays it out as
Markdown (docs/vocabulary.md) or HTML. Everything is sorted, so the same files give the same page.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from rdflib import BNode, Graph, Literal, URIRef
from rdflib.collection import Collection
from rdflib.namespace import DCTERMS, OWL, RDF, RDFS, SDO, SH, SKOS, XSD

from ..namespace import BASE, PKB, PREFIXES, QB, curie
from .load import KnowledgeBase, load_shapes

# what kind of term each OWL type declares, in the order the page lists them
PROPERTY_KINDS = {OWL.ObjectProperty: "object property", OWL.DatatypeProperty: "datatype property",
                  OWL.AnnotationProperty: "annotation property"}
# other types worth saying, e.g. a Data Cube dimension
_ALSO = (OWL.TransitiveProperty, QB.DimensionProperty, QB.MeasureProperty, QB.AttributeProperty)
_LONGEST = 90  # literals in examples are cut to this many characters
SHAPE = "https://w3id.org/policykb/shape#"  # the namespace of ontology/shapes.ttl, shown as shape:


@dataclass(frozen=True)
class Constraint:
    """One SHACL constraint: the shape it belongs to, the classes (or other targets) it checks, the path it
    constrains (empty: the resource itself), what it asks in words, and its message to office staff."""

    shape: str
    targets: tuple[str, ...]
    path: str
    rules: tuple[str, ...]
    message: str


@dataclass(frozen=True)
class Example:
    """One statement of the knowledge base using a term: subject, value (for a property) and the file."""

    subject: str
    subject_label: str
    value: str
    value_label: str
    file: str
    sample: bool


@dataclass(frozen=True)
class Term:
    """A class or property of the ontology, as the vocabulary page describes it."""

    iri: str
    curie: str
    kind: str  # class | object property | datatype property | annotation property
    label_zh: str
    label_en: str
    definition: str
    also: tuple[str, ...]  # other types: owl:TransitiveProperty, qb:DimensionProperty, …
    parents: tuple[str, ...]  # rdfs:subClassOf / rdfs:subPropertyOf (named ones)
    children: tuple[str, ...]
    domain: tuple[str, ...]
    domain_is_one_of: bool  # schema:domainIncludes: the subject is one of these classes
    range: tuple[str, ...]
    range_is_one_of: bool
    inverse: str
    annotations: tuple[tuple[str, str], ...]  # (what, value): ledger column, rule field, ledger code, …
    sources: tuple[str, ...]
    constraints: tuple[Constraint, ...]
    checked_by: tuple[str, ...]  # shapes that check this property's subjects or objects, or a superclass's shapes
    example: Example | None
    properties: tuple[str, ...] = ()  # of a class: the properties whose domain names it
    values_of: tuple[str, ...] = ()  # of a class: the properties whose range names it


@dataclass(frozen=True)
class Concept:
    """A concept of a scheme: the code ledgers and rules use, its labels and the other words accepted."""

    curie: str
    code: str
    label_zh: str
    label_en: str
    also_written: tuple[str, ...]


@dataclass(frozen=True)
class Scheme:
    curie: str
    label_zh: str
    label_en: str
    definition: str
    concepts: tuple[Concept, ...]


@dataclass(frozen=True)
class Reused:
    """A term of another vocabulary that the ontology gives policykb annotations (e.g. dcterms:date)."""

    curie: str
    iri: str
    annotations: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Vocabulary:
    title: str
    version: str
    description: str
    prefixes: tuple[tuple[str, str], ...]
    classes: tuple[Term, ...]
    properties: tuple[Term, ...]
    schemes: tuple[Scheme, ...]
    reused: tuple[Reused, ...]


def vocabulary(kb: KnowledgeBase) -> Vocabulary:
    """Everything the vocabulary page shows, from the ontology, the shapes and the knowledge base."""
    ontology, shapes = kb.ontology, load_shapes(kb.layout)
    reader = _Reader(kb, ontology, shapes)
    head = next(iter(ontology.subjects(RDF.type, OWL.Ontology)), None)
    classes = sorted(set(ontology.subjects(RDF.type, OWL.Class)), key=curie)
    properties = sorted({p for kind in PROPERTY_KINDS for p in ontology.subjects(RDF.type, kind)}, key=curie)
    described = tuple(reader.term(p, reader.property_kind(p)) for p in properties)
    return Vocabulary(
        title=_text(ontology, head, RDFS.label, "en") or "policykb ontology",
        version=str(ontology.value(head, OWL.versionInfo) or ""),
        description=_text(ontology, head, DCTERMS.description, "en"),
        prefixes=tuple((prefix, str(ns)) for prefix, ns in sorted(PREFIXES.items())),
        classes=tuple(replace(term, properties=tuple(p.curie for p in described if term.curie in p.domain),
                              values_of=tuple(p.curie for p in described if term.curie in p.range))
                      for term in (reader.term(c, "class") for c in classes)),
        properties=described,
        schemes=reader.schemes(),
        reused=reader.reused(set(classes) | set(properties)),
    )


class _Reader:
    def __init__(self, kb: KnowledgeBase, ontology: Graph, shapes: Graph):
        self.kb, self.ontology, self.shapes = kb, ontology, shapes
        self.sample = {s for s in (r.s for r in kb.query(_SAMPLE))}
        self.names = sorted(kb.files)

    # --- terms -------------------------------------------------------------------------------

    def property_kind(self, prop: URIRef) -> str:
        return next(kind for owl, kind in PROPERTY_KINDS.items() if (prop, RDF.type, owl) in self.ontology)

    def term(self, iri: URIRef, kind: str) -> Term:
        g = self.ontology
        is_class = kind == "class"
        parent = RDFS.subClassOf if is_class else RDFS.subPropertyOf
        domain, one_of_domain = self._either(iri, RDFS.domain, SDO.domainIncludes)
        range_, one_of_range = self._either(iri, RDFS.range, SDO.rangeIncludes)
        inverse = g.value(iri, OWL.inverseOf) or next(g.subjects(OWL.inverseOf, iri), None)
        return Term(
            iri=str(iri), curie=curie(iri), kind=kind,
            label_zh=_text(g, iri, RDFS.label, "zh"), label_en=_text(g, iri, RDFS.label, "en"),
            definition=_text(g, iri, RDFS.comment, "en") or _text(g, iri, SKOS.definition, "en"),
            also=tuple(sorted(curie(t) for t in g.objects(iri, RDF.type) if t in _ALSO)),
            parents=_curies(o for o in g.objects(iri, parent) if isinstance(o, URIRef)),
            children=_curies(s for s in g.subjects(parent, iri) if isinstance(s, URIRef)),
            domain=domain, domain_is_one_of=one_of_domain, range=range_, range_is_one_of=one_of_range,
            inverse=curie(inverse) if inverse is not None else "",
            annotations=self._annotations(iri),
            sources=_curies(g.objects(iri, DCTERMS.source)),
            constraints=self._class_constraints(iri) if is_class else self._path_constraints(iri),
            checked_by=self._inherited_shapes(iri) if is_class else self._target_shapes(iri),
            example=self._class_example(iri) if is_class else self._property_example(iri),
        )

    def _either(self, iri: URIRef, exact: URIRef, includes: URIRef) -> tuple[tuple[str, ...], bool]:
        stated = _curies(self.ontology.objects(iri, exact))
        return (stated, False) if stated else (_curies(self.ontology.objects(iri, includes)), True)

    def _annotations(self, iri: URIRef) -> tuple[tuple[str, str], ...]:
        g, found = self.ontology, []
        for prop, what in _ANNOTATIONS:
            values = sorted(str(v) if isinstance(v, Literal) else curie(v) for v in g.objects(iri, prop))
            if values:
                found.append((what, ", ".join(values)))
        return tuple(found)

    # --- SHACL -------------------------------------------------------------------------------

    def _shapes_targeting(self, cls: URIRef) -> list:
        return sorted(set(self.shapes.subjects(SH.targetClass, cls)), key=curie)

    def _targets(self, shape) -> tuple[str, ...]:
        s = self.shapes
        found = [curie(c) for c in s.objects(shape, SH.targetClass)]
        found += [f"subjects of {curie(p)}" for p in s.objects(shape, SH.targetSubjectsOf)]
        found += [f"objects of {curie(p)}" for p in s.objects(shape, SH.targetObjectsOf)]
        return tuple(sorted(found))

    def _class_constraints(self, cls: URIRef) -> tuple[Constraint, ...]:
        found = []
        for shape in self._shapes_targeting(cls):
            own = self._describe(shape, each=False)
            if own:
                found.append(Constraint(_shape(shape), self._targets(shape), "", tuple(own),
                                        str(self.shapes.value(shape, SH.message) or "")))
            for prop in self.shapes.objects(shape, SH.property):
                found.append(self._constraint(shape, prop))
        return tuple(sorted(found, key=lambda c: (c.shape, c.path.lstrip("^"), c.rules)))

    def _path_constraints(self, prop: URIRef) -> tuple[Constraint, ...]:
        found = []
        for node in self.shapes.subjects(SH.path, prop):
            for shape in self.shapes.subjects(SH.property, node):
                found.append(self._constraint(shape, node))
        for inverse in self.shapes.subjects(SH.inversePath, prop):
            for node in self.shapes.subjects(SH.path, inverse):
                for shape in self.shapes.subjects(SH.property, node):
                    found.append(self._constraint(shape, node))
        return tuple(sorted(found, key=lambda c: (c.shape, c.path, c.rules)))

    def _constraint(self, shape, node) -> Constraint:
        return Constraint(_shape(shape), self._targets(shape), self._path(self.shapes.value(node, SH.path)),
                          tuple(self._describe(node)), str(self.shapes.value(node, SH.message) or ""))

    def _path(self, path) -> str:
        if isinstance(path, BNode):
            inverse = self.shapes.value(path, SH.inversePath)
            if inverse is not None:
                return "^" + curie(inverse)
        return curie(path) if path is not None else ""

    def _describe(self, node, each: bool = True) -> list[str]:
        """What a shape (each=False: of the resource itself) or a property shape (each=True: of each value)
        asks, in words; SHACL terms this does not know are shown as they are."""
        s = self.shapes
        words = _counts(s.value(node, SH.minCount), s.value(node, SH.maxCount))
        qualified = s.value(node, SH.qualifiedValueShape)
        if qualified is not None:  # e.g. exactly one post whose org:role is the leader
            such = f"{self._path(s.value(qualified, SH.path))} {', '.join(self._describe(qualified))}".strip()
            words += [f"{count} with {such}" for count in
                      _counts(s.value(node, SH.qualifiedMinCount), s.value(node, SH.qualifiedMaxCount))]
        for p, o in sorted(s.predicate_objects(node), key=lambda po: (str(po[0]), str(po[1]))):
            if p in _NOT_RULES or (p, o) == (RDF.type, SH.NodeShape):
                continue
            if p in _COMPARE:
                words.append(f"{_COMPARE[p]} {_value(o)}")
            elif p == SH["class"]:
                words.append(f"{'each ' if each else ''}a {curie(o)}")
            elif p == SH.datatype:
                words.append(f"datatype {curie(o)}")
            elif p == SH.nodeKind:
                words.append({SH.IRI: "an IRI", SH.Literal: "a literal", SH.BlankNode: "a blank node"}.get(o, curie(o)))
            elif p == SH.hasValue:
                words.append(f"includes {_value(o)}")
            elif p == SH["in"]:
                words.append("one of " + ", ".join(_value(v) for v in Collection(s, o)))
            elif p == SH["or"]:
                words.append("either " + " or ".join(f"({'; '.join(self._describe(m, each))})" for m in Collection(s, o)))
            elif p == SH.node:
                inner = [f"{self._path(s.value(q, SH.path))} {', '.join(self._describe(q))}" for q in s.objects(o, SH.property)]
                words.append(f"conforms to {_shape(o)}" + (f" ({'; '.join(sorted(inner))})" if inner else ""))
            else:
                words.append(f"{curie(p)} {_value(o)}")
        return words

    def _target_shapes(self, prop: URIRef) -> tuple[str, ...]:
        s = self.shapes
        found = [f"its subjects by {_shape(shape)}" for shape in s.subjects(SH.targetSubjectsOf, prop)]
        found += [f"its objects by {_shape(shape)}" for shape in s.subjects(SH.targetObjectsOf, prop)]
        return tuple(sorted(found))

    def _inherited_shapes(self, cls: URIRef) -> tuple[str, ...]:
        found = set()
        for ancestor in self.ontology.transitive_objects(cls, RDFS.subClassOf):
            if ancestor != cls:
                found |= {f"{_shape(shape)} (on {curie(ancestor)})" for shape in self._shapes_targeting(ancestor)}
        return tuple(sorted(found))

    # --- examples ------------------------------------------------------------------------------

    def _class_example(self, cls: URIRef) -> Example | None:
        found = [URIRef(str(r.x)) for r in self.kb.query(_INSTANCES, {"class": cls}) if isinstance(r.x, URIRef)]
        for thing in sorted(found, key=lambda x: (x in self.sample, str(x))):
            file = self._file(thing)
            if file:
                return Example(curie(thing), self.kb.label(thing) or "", "", "", file, thing in self.sample)
        return None

    def _property_example(self, prop: URIRef) -> Example | None:
        pairs = [(r.s, r.o) for r in self.kb.query(_USES, {"p": prop}) if isinstance(r.s, URIRef)]
        for subject, value in sorted(pairs, key=lambda so: (so[0] in self.sample, str(so[0]), str(so[1]))):
            file = self._file(subject)
            if file:
                label = (self.kb.label(value) or "") if isinstance(value, URIRef) else ""
                return Example(curie(subject), self.kb.label(subject) or "", _value(value), label, file,
                               subject in self.sample)
        return None

    def _file(self, thing: URIRef) -> str:
        """The file that describes a resource; empty for what the store itself records (its manifest of
        source files), which is no example of what the Turtle files say and changes with every edit."""
        name, _line = self.kb.locate(thing)
        return name or ""

    # --- schemes and reused terms ------------------------------------------------------------------

    def schemes(self) -> tuple[Scheme, ...]:
        found = []
        for scheme in sorted({URIRef(str(r.scheme)) for r in self.kb.query(_SCHEMES)}, key=curie):
            concepts = []
            for row in self.kb.query(_CONCEPTS, {"scheme": scheme}):
                concept = URIRef(str(row.concept))
                aliases = sorted({str(r.alias) for r in self.kb.query(_ALIASES, {"c": concept})} - {str(row.zh or "")})
                concepts.append(Concept(curie(concept), str(row.code or ""), str(row.zh or ""), str(row.en or ""),
                                        tuple(aliases)))
            found.append(Scheme(curie(scheme), self._label(scheme, "zh"), self._label(scheme, "en"),
                                self._comment(scheme), tuple(sorted(concepts, key=lambda c: (c.code, c.curie)))))
        return tuple(found)

    def _label(self, iri: URIRef, lang: str) -> str:
        rows = self.kb.query(_LABEL, {"x": iri, "lang": Literal(lang)})
        return min((str(r.l) for r in rows), default="")

    def _comment(self, iri: URIRef) -> str:
        rows = self.kb.query(_COMMENT, {"x": iri})
        return min((str(r.c) for r in rows), default="")

    def reused(self, own: set) -> tuple[Reused, ...]:
        found = []
        for subject in sorted({s for s in self.ontology.subjects() if isinstance(s, URIRef)}, key=curie):
            if subject in own or str(subject).startswith(BASE):
                continue
            annotations = self._annotations(subject)
            if annotations:
                found.append(Reused(curie(subject), str(subject), annotations))
        return tuple(found)


# The engine-driving annotations a term may carry, as the page names them.
_ANNOTATIONS = (
    (PKB.ledgerColumn, "ledger column"),
    (PKB.ledgerCode, "ledger code"),
    (PKB.ledgerAlias, "also written (ledgers)"),
    (PKB.factName, "rule field"),
    (PKB.conceptScheme, "values from"),
    (PKB.measureProperty, "checked against the measure's"),
    (PKB.unitMeasure, "unit of measure"),
    (QB.concept, "statistical concept"),
)
_NOT_RULES = {SH.path, SH.message, SH.name, SH.description, SH.severity, SH.property, SH.targetClass,
              SH.targetSubjectsOf, SH.targetObjectsOf, SH.targetNode, SH.minCount, SH.maxCount,
              SH.qualifiedValueShape, SH.qualifiedMinCount, SH.qualifiedMaxCount, SH.qualifiedValueShapesDisjoint}
_COMPARE = {SH.minInclusive: "≥", SH.maxInclusive: "≤", SH.minExclusive: ">", SH.maxExclusive: "<",
            SH.minLength: "length ≥", SH.maxLength: "length ≤", SH.pattern: "matches"}
_NUMBERS = {XSD.integer, XSD.decimal, XSD.boolean}

_SAMPLE = "SELECT DISTINCT ?s WHERE { ?s <https://w3id.org/policykb/def#sampleData> true }"
_INSTANCES = """SELECT DISTINCT ?x WHERE {
  ?x a ?type . ?type <http://www.w3.org/2000/01/rdf-schema#subClassOf>* ?class }"""
_USES = "SELECT ?s ?o WHERE { ?s ?p ?o }"
_SCHEMES = """SELECT DISTINCT ?scheme WHERE { ?scheme a <http://www.w3.org/2004/02/skos/core#ConceptScheme> }"""
_CONCEPTS = """PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
SELECT ?concept (SAMPLE(?c) AS ?code) (SAMPLE(?z) AS ?zh) (SAMPLE(?e) AS ?en) WHERE {
  ?concept skos:inScheme ?scheme .
  OPTIONAL { ?concept skos:notation ?c }
  OPTIONAL { ?concept skos:prefLabel ?z FILTER (lang(?z) = "zh") }
  OPTIONAL { ?concept skos:prefLabel ?e FILTER (lang(?e) = "en") }
} GROUP BY ?concept"""
_ALIASES = """SELECT ?alias WHERE { ?c <https://w3id.org/policykb/def#ledgerAlias>|<http://www.w3.org/2004/02/skos/core#altLabel> ?alias }"""
_LABEL = """SELECT ?l WHERE { ?x <http://www.w3.org/2000/01/rdf-schema#label>|<http://www.w3.org/2004/02/skos/core#prefLabel> ?l
  FILTER (lang(?l) = ?lang) }"""
_COMMENT = """SELECT ?c WHERE { ?x <http://www.w3.org/2000/01/rdf-schema#comment> ?c }"""


def _shape(iri) -> str:
    return "shape:" + str(iri)[len(SHAPE):] if str(iri).startswith(SHAPE) else curie(iri)


def _counts(low, high) -> list[str]:
    """sh:minCount / sh:maxCount (or their qualified forms) in words."""
    if low is not None and high is not None and low == high:
        return [f"exactly {low}"]
    return ([f"at least {low}"] if low is not None else []) + ([f"at most {high}"] if high is not None else [])


def _text(graph: Graph, iri, prop: URIRef, lang: str) -> str:
    values = sorted(str(v) for v in graph.objects(iri, prop) if isinstance(v, Literal) and v.language == lang)
    return values[0] if values else ""


def _curies(terms) -> tuple[str, ...]:
    return tuple(sorted(curie(t) for t in terms))


def _value(term) -> str:
    """A term as Turtle writes it, shortened: prefixed names, plain numbers, quoted text with its language."""
    if isinstance(term, URIRef):
        return curie(term)
    if isinstance(term, BNode):
        return "[ ]"
    if term.datatype in _NUMBERS and term.ill_typed is not True:
        return str(term)
    text = str(term)
    text = text if len(text) <= _LONGEST else text[:_LONGEST] + "…"
    text = '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ") + '"'
    if term.language:
        return f"{text}@{term.language}"
    if term.datatype and term.datatype != XSD.string:
        return f"{text}^^{curie(term.datatype)}"
    return text
