"""A scheme as the scoring stage needs it: its rule file read against the knowledge base's vocabulary,
with every clause it cites checked against the knowledge base."""

from __future__ import annotations

from pathlib import Path

from ..errors import RuleErrors
from ..kb.load import KnowledgeBase
from ..rules.duties import scheme_file
from ..rules.model import Scheme
from ..rules.reader import clause_problems, load_scheme
from ..rules.vocabulary import RuleVocabulary


def vocabulary_of(kb: KnowledgeBase) -> RuleVocabulary:
    """The words rule files may use in this knowledge base: its ontology and its queries/facts/."""
    return RuleVocabulary.of(kb.ontology, kb.layout.queries / "facts")


def read_scheme(kb: KnowledgeBase, path: Path) -> Scheme:
    """Read and check one rule file against the knowledge base's vocabulary (not its clauses)."""
    return load_scheme(path, vocabulary_of(kb), shown=kb.layout.relative(path))


def knows(kb: KnowledgeBase):
    """IRI → whether the knowledge base says anything of it."""
    return lambda iri: bool(kb.query("ASK { ?iri ?p ?o }", {"iri": iri}).askAnswer)


def scheme_of(kb: KnowledgeBase, scheme_id: str) -> Scheme:
    """The scheme rules/<scheme_id>.yaml, checked, with every clause it cites present in the knowledge base."""
    scheme = read_scheme(kb, scheme_file(kb.layout, scheme_id))
    problems = clause_problems(scheme, knows(kb), kb.layout.root)
    if problems:
        raise problems[0] if len(problems) == 1 else RuleErrors(problems)
    return scheme
