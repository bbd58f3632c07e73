"""The rule language's data: a checked rule file as plain, frozen values (Scheme and its parts).

Nothing here reads files or the knowledge base; `reader` builds these from YAML and the scoring stage
reads them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from rdflib import URIRef

from ..errors import Location
from . import expr
from .duties import Duty
from .formula import Formula


@dataclass(frozen=True)
class Condition:
    """A parsed condition and where it was written."""

    text: str
    tree: expr.Node
    location: Location


@dataclass(frozen=True)
class Requirement:
    condition: Condition
    otherwise: str  # why an item that fails it is not counted


@dataclass(frozen=True)
class Award:
    """Fixed points once any counted item meets the condition (tiers: only the highest applies)."""

    id: str
    name: str
    condition: Condition
    points: Decimal
    requires: str | None
    location: Location


@dataclass(frozen=True)
class PerAmount:
    every: Decimal
    points: Decimal


@dataclass(frozen=True)
class Level:
    code: str
    name: str
    max: Decimal
    parent: str | None
    source: URIRef
    location: Location


@dataclass(frozen=True)
class Indicator:
    """A scored indicator: what evidence it counts and how points follow, or a formula over observations."""

    code: str
    name: str
    source: URIRef
    location: Location
    parent: str | None = None
    max: Decimal | None = None
    evidence: tuple[str, ...] = ()
    window: str = "year"
    requires: tuple[Requirement, ...] = ()
    distinct: str | None = None
    items_per_row: str | None = None  # "count" | "one"; None: "one" with distinct, else "count"
    per_item: Decimal | None = None
    per_amount: PerAmount | None = None
    awards: tuple[Award, ...] = ()
    tiers: tuple[Award, ...] = ()
    cap: Decimal | None = None
    interpretation: str | None = None
    formula: Formula | None = None
    unit: str | None = None
    decimals: int = 2
    order: str = "descending"
    weight: Decimal | None = None

    @property
    def is_formula(self) -> bool:
        return self.formula is not None

    def units(self, count) -> Decimal:
        """How many items a counted row stands for: its count column (数量, 1 when blank) where the rule
        reads it (`items_per_row: count`, the default without `distinct`), else one: a measure or a
        platform named once is one thing, whatever 数量 says."""
        reads_count = (self.items_per_row or ("one" if self.distinct else "count")) == "count"
        return Decimal(count) if reads_count and count is not None else Decimal(1)


@dataclass(frozen=True)
class Exclusion:
    id: str
    name: str
    condition: Condition
    source: URIRef
    interpretation: str | None


@dataclass(frozen=True)
class Ranking:
    by: str
    ties: str
    source: URIRef | None
    interpretation: str | None


@dataclass(frozen=True)
class Outcome:
    id: str
    name: str
    condition: Condition
    source: URIRef
    amount_max: Decimal | None
    interpretation: str | None


@dataclass(frozen=True)
class Scheme:
    """A checked rule file."""

    id: str
    name: str
    file: str
    document: URIRef | None
    source: URIRef
    first_year: int
    zones: URIRef
    total: Decimal | None
    levels: tuple[Level, ...]
    indicators: tuple[Indicator, ...]
    exclusion: Exclusion | None
    ranking: Ranking | None
    outcomes: tuple[Outcome, ...]
    duties: tuple[Duty, ...]
    composite: str | None = None  # interpretation of the weighted composite (formula schemes)
    fields: frozenset[str] = field(default_factory=frozenset)

    def indicator(self, code: str) -> Indicator:
        return next(i for i in self.indicators if i.code == code)

    @property
    def scored_by_formula(self) -> bool:
        return any(i.is_formula for i in self.indicators)

    def clauses(self) -> set[URIRef]:
        found = {self.source} | {i.source for i in self.indicators} | {lv.source for lv in self.levels}
        found |= {o.source for o in self.outcomes}
        if self.exclusion:
            found.add(self.exclusion.source)
        if self.ranking and self.ranking.source:
            found.add(self.ranking.source)
        return found
