"""RDF terms between the two libraries: pyoxigraph's (the store) and rdflib's (SHACL, serialisation, the
stages above), and as plain Python values for the code paths that read many of them.

Conversions of IRIs are cached: a knowledge base repeats the same few thousand IRIs millions of times.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation
from functools import lru_cache

import pyoxigraph as ox
from rdflib import BNode, Literal, URIRef

XSD = "http://www.w3.org/2001/XMLSchema#"
XSD_STRING = XSD + "string"
LANG_STRING = "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString"
_INTEGERS = {XSD + n for n in ("integer", "int", "long", "short", "byte", "nonNegativeInteger", "positiveInteger",
                               "negativeInteger", "nonPositiveInteger", "unsignedInt", "unsignedLong",
                               "unsignedShort", "unsignedByte")}
_DECIMALS = {XSD + "decimal", XSD + "double", XSD + "float"}


@lru_cache(maxsize=200_000)
def _uri(value: str) -> URIRef:
    return URIRef(value)


@lru_cache(maxsize=50_000)
def _ox_named(value: str) -> ox.NamedNode:
    return ox.NamedNode(value)


def to_rdflib(term):
    """A pyoxigraph term as the rdflib term with the same meaning (None stays None)."""
    if term is None:
        return None
    if isinstance(term, ox.NamedNode):
        return _uri(term.value)
    if isinstance(term, ox.Literal):
        if term.language:
            return Literal(term.value, lang=term.language)
        datatype = term.datatype.value
        if datatype == XSD_STRING:
            return Literal(term.value)
        return Literal(term.value, datatype=_uri(datatype))
    if isinstance(term, ox.BlankNode):
        return BNode(term.value)
    if isinstance(term, ox.DefaultGraph):
        return None
    raise TypeError(f"cannot convert {term!r}")


def to_ox(term):
    """An rdflib term as a pyoxigraph term."""
    if isinstance(term, URIRef):
        return _ox_named(str(term))
    if isinstance(term, Literal):
        if term.language:
            return ox.Literal(str(term), language=term.language)
        if term.datatype is not None and str(term.datatype) != XSD_STRING:
            return ox.Literal(str(term), datatype=_ox_named(str(term.datatype)))
        return ox.Literal(str(term))
    if isinstance(term, BNode):
        return ox.BlankNode(str(term))
    raise TypeError(f"cannot convert {term!r}")


def plain(term):
    """A pyoxigraph term as a plain value: IRIs as their text, numbers as int or Decimal, booleans as bool,
    other literals (dates included) as their lexical text; an ill-typed number stays text."""
    if term is None:
        return None
    if isinstance(term, ox.Literal):
        datatype = term.datatype.value
        value = term.value
        if datatype in _INTEGERS:
            try:
                return int(value)
            except ValueError:
                return value
        if datatype in _DECIMALS:
            try:
                number = Decimal(value)
            except InvalidOperation:
                return value
            return number if number.is_finite() else value
        if datatype == XSD + "boolean":
            return value in ("true", "1")
        return value
    return term.value


def as_date(value) -> date | None:
    """A plain xsd:date value as a date (None when it is not one)."""
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        return None
