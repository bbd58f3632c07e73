"""Units of measure as offices write them in a statistics table's headers, and exact conversion between them.

The units, the kind of quantity each measures, its factor to the base unit of its kind and the exchange
rate that links US dollars and yuan are read from the ontology (pkb:UnitOfMeasureScheme, pkb:unitKind,
pkb:unitFactor, pkb:rateFrom / pkb:rateTo), not from Python. Conversions are done in fractions and a
result that is not an exact decimal is refused, so a figure is stored as exactly what the office wrote,
scaled — never rounded.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import SKOS, XSD

from ..namespace import PKB

_UNIT = re.compile(r"^(?P<name>.*?)\s*[(\[【]\s*(?P<unit>[^()\[\]【】]*?)\s*[)\]】]\s*\*?$")


def split_unit(header: str) -> tuple[str, str | None]:
    """A header and the unit it names in brackets at its end: 税收（亿元） → (税收, 亿元); 税收 → (税收, None)."""
    text = unicodedata.normalize("NFKC", header).strip()
    match = _UNIT.match(text)
    if match is None or not match.group("name"):
        return text, None
    return match.group("name"), match.group("unit")


def unit_key(text: str) -> str:
    """A unit as compared: full-width and half-width forms alike (㎡ = m2), case and spaces ignored."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text)).lower()


@dataclass(frozen=True)
class Unit:
    """A unit of measure: its concept, its Chinese name, its kind of quantity and its factor to the kind's base."""

    iri: URIRef
    label: str
    kind: URIRef
    factor: Fraction


@dataclass(frozen=True)
class Rate:
    """A rate column's property: one base unit of `source` (a US dollar) costs the rate in base units of `target` (yuan)."""

    prop: URIRef
    source: URIRef
    target: URIRef


@dataclass(frozen=True)
class Conversion:
    """From the unit a header names to the unit a measure is recorded in: the scale, and whether the row's rate
    multiplies (US dollars to yuan) or divides (yuan to US dollars) on top of it."""

    written: Unit
    recorded: Unit
    factor: Fraction
    rate: str | None = None  # None, "multiply" or "divide"


class Inexact(ValueError):
    """A conversion whose result has no exact decimal form (a division by a rate that does not come out)."""


class Units:
    """The units of measure of the ontology, found by any of their names."""

    def __init__(self, ontology: Graph):
        self.by_iri: dict[URIRef, Unit] = {}
        self._words: dict[str, URIRef] = {}
        for iri in ontology.subjects(SKOS.inScheme, PKB.UnitOfMeasureScheme):
            kind, factor = ontology.value(iri, PKB.unitKind), ontology.value(iri, PKB.unitFactor)
            if kind is None or not isinstance(factor, Literal):
                continue  # shapes.ttl (shape:UnitOfMeasure) reports a unit without its kind or factor
            labels = {getattr(lb, "language", None): str(lb) for lb in ontology.objects(iri, SKOS.prefLabel)}
            unit = Unit(iri, labels.get("zh") or next(iter(labels.values()), str(iri)), kind, Fraction(str(factor)))
            self.by_iri[iri] = unit
            for word in (*labels.values(), *ontology.objects(iri, SKOS.notation), *ontology.objects(iri, PKB.ledgerAlias)):
                self._words.setdefault(unit_key(str(word)), iri)
        self.rates = tuple(Rate(prop, source, target) for prop, source in ontology.subject_objects(PKB.rateFrom)
                           if (target := ontology.value(prop, PKB.rateTo)) is not None)
        # kinds are named in messages by their English label (money in US dollars), the units by their Chinese one
        self._kind_names = {kind: str(name) for kind, name in ontology.subject_objects(SKOS.prefLabel)
                            if getattr(name, "language", None) == "en"}

    def find(self, text: str) -> Unit | None:
        iri = self._words.get(unit_key(text))
        return self.by_iri.get(iri) if iri is not None else None

    def kind_name(self, kind: URIRef) -> str:
        return self._kind_names.get(kind, str(kind))

    def rate_between(self, written: URIRef, recorded: URIRef) -> tuple[Rate, str] | None:
        """The rate that converts figures of kind `written` into kind `recorded`, and how it applies."""
        for rate in self.rates:
            if (rate.source, rate.target) == (written, recorded):
                return rate, "multiply"
            if (rate.source, rate.target) == (recorded, written):
                return rate, "divide"
        return None

    def conversion(self, written: Unit, recorded: Unit) -> Conversion | None:
        """How figures in `written` become figures in `recorded`; None when no rate links their kinds."""
        factor = written.factor / recorded.factor
        if written.kind == recorded.kind:
            return Conversion(written, recorded, factor)
        linked = self.rate_between(written.kind, recorded.kind)
        if linked is None:
            return None
        return Conversion(written, recorded, factor, linked[1])

    def accepted(self, recorded: Unit) -> tuple[list[Unit], list[Unit]]:
        """The units a header may name for a measure recorded in `recorded`: those of its kind, and those that
        a stated rate converts (US dollars for a measure in yuan)."""
        same = [u for u in self.by_iri.values() if u.kind == recorded.kind]
        by_rate = [u for u in self.by_iri.values() if u.kind != recorded.kind and self.conversion(u, recorded)]
        order = lambda u: (u.factor, u.label)  # noqa: E731 — 元, 千元, 万元, 亿元
        return sorted(same, key=order), sorted(by_rate, key=order)


def exact(value: Fraction) -> Decimal:
    """A fraction as the decimal it is exactly; Inexact when it has none (its denominator has a factor
    other than 2 and 5)."""
    denominator, twos, fives = value.denominator, 0, 0
    while denominator % 2 == 0:
        denominator //= 2
        twos += 1
    while denominator % 5 == 0:
        denominator //= 5
        fives += 1
    if denominator != 1:
        raise Inexact(value)
    places = max(twos, fives)
    scaled = value.numerator * 10 ** places // value.denominator
    return plain(Decimal(scaled).scaleb(-places))


def plain(number: Decimal) -> Decimal:
    """A decimal without exponent or trailing zeros: 6E+4 → 60000, 1.500 → 1.5."""
    return Decimal(format(number.normalize(), "f")) if number else Decimal(0)


def decimal_literal(number: Decimal) -> Literal:
    """An xsd:decimal in its canonical form (60000.0, 9.876), the form Turtle gives it back in."""
    text = format(plain(number), "f")
    return Literal(text if "." in text else text + ".0", datatype=XSD.decimal)


def convert(value: Decimal, conversion: Conversion, rate: Decimal | None = None) -> Decimal:
    """`value` in the written unit, in the recorded unit: × factor, and × or ÷ the rate; Inexact when the result
    has no exact decimal form."""
    result = Fraction(value) * conversion.factor
    if conversion.rate == "multiply":
        result *= Fraction(rate)
    elif conversion.rate == "divide":
        result /= Fraction(rate)
    return exact(result)
