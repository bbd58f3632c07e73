"""Formulas of indicators over yearly observations (W3C Data Cube), parsed and evaluated exactly.

    zone.tax_revenue / zone.land_area
    (zone.import_export / zone.previous.import_export - 1) * 100
    zone.foreign_capital / province.foreign_capital * 100

A term names whose observation (`zone` or the zone's `province`), optionally `previous` (the year
before), and a measure by its pkb:factName. Arithmetic is Decimal; nothing is `eval`ed. A value that
cannot be computed raises NotComputable with a reason code the trace explains:

    missing-observation     the observation lacks the figure, or the zone has none for the year
    missing-previous-year   there is no observation of the year before
    missing-province-total  the province observation or its figure is missing
    division-by-zero        a divisor is 0
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, localcontext
from typing import Mapping

REASONS = {
    "missing-observation": "the observation lacks a figure the formula needs",
    "missing-previous-year": "there is no observation of the year before",
    "missing-province-total": "the province total is not in the knowledge base",
    "division-by-zero": "a divisor is 0",
}
WHO = ("zone", "province")
# Bounds that keep a pasted or generated formula from exhausting the parser and the stages that walk
# its tree (every parenthesis, unary minus and operator is a level); Zhejiang's formulas use three.
MAX_DEPTH = 20
MAX_OPERATORS = 100
MAX_DIGITS = 15


class FormulaError(ValueError):
    def __init__(self, message: str, column: int, hint: str):
        super().__init__(message)
        self.message, self.column, self.hint = message, column, hint


class NotComputable(Exception):
    def __init__(self, reason: str, detail: str):
        super().__init__(detail)
        self.reason, self.detail = reason, detail


@dataclass(frozen=True)
class Term:
    who: str  # zone | province
    previous: bool
    measure: str  # fact name, e.g. tax_revenue

    @property
    def text(self) -> str:
        return ".".join([self.who] + (["previous"] if self.previous else []) + [self.measure])


@dataclass(frozen=True)
class Number:
    value: Decimal


@dataclass(frozen=True)
class Binary:
    op: str
    left: "FNode"
    right: "FNode"


FNode = Term | Number | Binary


@dataclass(frozen=True)
class Formula:
    text: str
    tree: FNode

    def terms(self) -> list[Term]:
        out: list[Term] = []

        def walk(node):
            if isinstance(node, Term):
                if node not in out:
                    out.append(node)
            elif isinstance(node, Binary):
                walk(node.left)
                walk(node.right)
        walk(self.tree)
        return out


_TOKEN = re.compile(r"\s+|(?P<num>\d+(?:\.\d+)?)|(?P<op>[-+*/()])|(?P<name>[A-Za-z_][\w.]*)")


def parse(text: str, measures: Mapping[str, object]) -> Formula:
    """Parse a formula; `measures` are the fact names a term may use (unknown ones are an error)."""
    tokens, pos = [], 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m:
            raise FormulaError(f"unexpected character {text[pos]!r}", pos + 1,
                               "use numbers, + - * / ( ) and terms such as zone.tax_revenue")
        if m.lastgroup == "num" and sum(c.isdigit() for c in m.group()) > MAX_DIGITS:
            raise FormulaError(f"a number of {sum(c.isdigit() for c in m.group()):,} digits is too long", pos + 1,
                               f"write a number of at most {MAX_DIGITS} digits, e.g. * 100")
        if m.lastgroup:
            tokens.append((m.lastgroup, m.group(), pos + 1))
        pos = m.end()
    tokens.append(("end", "", len(text) + 1))
    operators = [t for t in tokens if t[0] == "op" and t[1] not in "()"]
    if len(operators) > MAX_OPERATORS:
        raise FormulaError(f"more than {MAX_OPERATORS} operators in one formula", operators[MAX_OPERATORS][2],
                           "a formula is a short calculation, e.g. zone.tax_revenue / zone.land_area")
    state = {"i": 0, "depth": 0}

    def peek():
        return tokens[state["i"]]

    def take():
        tok = tokens[state["i"]]
        state["i"] += 1
        return tok

    def expression():
        node = product()
        while peek()[1] in ("+", "-"):
            op = take()[1]
            node = Binary(op, node, product())
        return node

    def product():
        node = atom()
        while peek()[1] in ("*", "/"):
            op = take()[1]
            node = Binary(op, node, atom())
        return node

    def atom():
        kind, value, column = take()
        if value in ("(", "-"):
            state["depth"] += 1
            if state["depth"] > MAX_DEPTH:
                raise FormulaError(f"more than {MAX_DEPTH} parentheses or minus signs inside one another", column,
                                   "write the formula more simply, e.g. (zone.import_export / "
                                   "zone.previous.import_export - 1) * 100")
            if value == "(":
                node = expression()
                if take()[1] != ")":
                    raise FormulaError("a parenthesis is not closed", column, "close every ( with )")
            else:
                node = Binary("-", Number(Decimal(0)), atom())
            state["depth"] -= 1
            return node
        if kind == "num":
            return Number(Decimal(value))
        if kind == "name":
            return term(value, column)
        raise FormulaError(f"expected a number or a term but found {value or 'the end'!r}", column,
                           "write e.g. zone.tax_revenue / zone.land_area")

    def term(value, column):
        parts = value.split(".")
        who, rest = parts[0], parts[1:]
        previous = bool(rest) and rest[0] == "previous"
        if previous:
            rest = rest[1:]
        if who not in WHO or len(rest) != 1:
            raise FormulaError(f"{value!r} is not a term", column,
                               "write zone.<measure>, zone.previous.<measure>, province.<measure> or province.previous.<measure>")
        if rest[0] not in measures:
            raise FormulaError(f"unknown measure {rest[0]!r}", column + len(value) - len(rest[0]),
                               f"measures are the pkb:factName of the ontology, e.g. {', '.join(sorted(measures)[:6])} …")
        return Term(who, previous, rest[0])

    tree = expression()
    kind, value, column = peek()
    if kind != "end":
        raise FormulaError(f"unexpected {value!r}", column, "join terms with + - * /")
    return Formula(text, tree)


@dataclass(frozen=True)
class Observations:
    """What a formula may read for one zone and year: figures by term, and which observations exist."""

    values: Mapping[Term, Decimal]
    present: Mapping[tuple[str, bool], bool]  # (who, previous) → an observation exists


def evaluate(formula: Formula, data: Observations) -> Decimal:
    """The exact value, or NotComputable naming the first missing figure or zero divisor."""
    terms = formula.terms()
    # a zone with no observation for the year is reported as such before anything about other years
    for who, previous, reason in (("zone", False, "missing-observation"), ("zone", True, "missing-previous-year"),
                                  ("province", False, "missing-province-total"), ("province", True, "missing-province-total")):
        if any(t.who == who and t.previous == previous for t in terms) and not data.present.get((who, previous), False):
            year = "the year before" if previous else "the year"
            raise NotComputable(reason, f"no {who} observation for {year}")
    with localcontext() as ctx:
        ctx.prec = 34
        return _eval(formula.tree, data)


def _eval(node: FNode, data: Observations) -> Decimal:
    if isinstance(node, Number):
        return node.value
    if isinstance(node, Term):
        value = data.values.get(node)
        if value is not None:
            return value
        if node.who == "province":
            raise NotComputable("missing-province-total", f"{node.text}: no province figure")
        if not data.present.get((node.who, node.previous), False):
            reason = "missing-previous-year" if node.previous else "missing-observation"
            raise NotComputable(reason, f"{node.text}: no observation")
        raise NotComputable("missing-observation", f"{node.text}: the observation has no figure")
    left = _eval(node.left, data)
    right = _eval(node.right, data)
    if node.op == "+":
        return left + right
    if node.op == "-":
        return left - right
    if node.op == "*":
        return left * right
    if right == 0:
        raise NotComputable("division-by-zero", f"{show(node.right)} is 0")
    return left / right


def show(node: FNode) -> str:
    if isinstance(node, Number):
        return str(node.value)
    if isinstance(node, Term):
        return node.text
    return f"({show(node.left)} {node.op} {show(node.right)})"
