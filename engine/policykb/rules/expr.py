"""The condition language of rule files, parsed into a small tree (never `eval`ed).

A condition compares a fact field with a value or with another field plus a number, and combines
comparisons with `and`, `or`, `not` and parentheses:

    kind == replication and measure.scope == cross
    level in [city, county]
    previous_rank - rank >= 5
    zone.in_ftz_area            (a bare field means: is true)

A bare word on the right-hand side is a code (e.g. `cross`, `city`); another field appears there only
as a dotted path (measure.scope) or with a number added (rank + 5). The parser knows nothing of the knowledge base:
`rules.py` checks field names and codes against the ontology.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

COMPARATORS = ("==", "!=", "<=", ">=", "<", ">", "in", "not in")
# Bounds that keep a pasted or generated condition from exhausting the parser (each `(` and `not` is a
# level of recursion here and in every stage that walks the tree); real conditions use two or three.
MAX_DEPTH = 20
MAX_COMPARISONS = 100
MAX_DIGITS = 15
NEGATED = {"==": "!=", "!=": "==", "<": ">=", ">=": "<", ">": "<=", "<=": ">", "in": "not in", "not in": "in"}


class ExpressionError(ValueError):
    """A condition does not parse; `column` is the 1-based offset in the expression text."""

    def __init__(self, message: str, column: int, hint: str):
        super().__init__(message)
        self.message = message
        self.column = column
        self.hint = hint


@dataclass(frozen=True)
class Field:
    path: str  # e.g. "measure.scope"
    column: int


@dataclass(frozen=True)
class Value:
    value: object  # str, Decimal, bool, or tuple of those for `in`
    column: int
    quoted: bool = False


@dataclass(frozen=True)
class Offset:
    """Another field plus a number: the right-hand side of `previous_rank >= rank + 5`."""

    field: Field
    plus: Decimal


@dataclass(frozen=True)
class Compare:
    left: Field
    op: str
    right: Value | Field | Offset


@dataclass(frozen=True)
class Not:
    operand: "Node"


@dataclass(frozen=True)
class And:
    operands: tuple["Node", ...]


@dataclass(frozen=True)
class Or:
    operands: tuple["Node", ...]


Node = Compare | Not | And | Or

_TOKEN = re.compile(r"""
    (?P<space>\s+)
  | (?P<number>-?\d+(?:\.\d+)?)
  | (?P<string>'[^']*'|"[^"]*")
  | (?P<op>==|!=|<=|>=|<|>|\+|-|\(|\)|\[|\]|,)
  | (?P<word>[A-Za-z_\u4e00-\u9fff][\w\u4e00-\u9fff-]*(?:\.[A-Za-z_][\w-]*)*)
""", re.X)

_KEYWORDS = {"and", "or", "not", "in", "true", "false"}


@dataclass(frozen=True)
class _Tok:
    kind: str
    text: str
    column: int


def _tokens(text: str) -> list[_Tok]:
    out, pos = [], 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match:
            raise ExpressionError(f"unexpected character {text[pos]!r}", pos + 1,
                                  "use field names, codes, numbers, quotes, == != < <= > >= in and or not ( ) [ ]")
        kind = match.lastgroup
        if kind == "number" and sum(c.isdigit() for c in match.group()) > MAX_DIGITS:
            raise ExpressionError(f"a number of {sum(c.isdigit() for c in match.group()):,} digits is too long",
                                  pos + 1, f"write a number of at most {MAX_DIGITS} digits, e.g. rank <= 10")
        if kind != "space":
            out.append(_Tok(kind, match.group(), pos + 1))
        pos = match.end()
    out.append(_Tok("end", "", len(text) + 1))
    return out


class _Parser:
    def __init__(self, text: str, fields: frozenset[str]):
        self.text = text
        self.fields = fields
        self.toks = _tokens(text)
        self.i = 0
        self.depth = 0
        self.comparisons = 0

    def peek(self) -> _Tok:
        return self.toks[self.i]

    def take(self) -> _Tok:
        tok = self.toks[self.i]
        self.i += 1
        return tok

    def expect(self, text: str) -> _Tok:
        tok = self.take()
        if tok.text != text:
            raise ExpressionError(f"expected {text!r} but found {tok.text or 'the end'!r}", tok.column,
                                  f"write {text!r} here")
        return tok

    def parse(self) -> Node:
        node = self.disjunction()
        tok = self.peek()
        if tok.kind != "end":
            raise ExpressionError(f"unexpected {tok.text!r}", tok.column, "join conditions with `and` or `or`")
        return node

    def disjunction(self) -> Node:
        parts = [self.conjunction()]
        while self.peek().text == "or":
            self.take()
            parts.append(self.conjunction())
        return parts[0] if len(parts) == 1 else Or(tuple(parts))

    def conjunction(self) -> Node:
        parts = [self.negation()]
        while self.peek().text == "and":
            self.take()
            parts.append(self.negation())
        return parts[0] if len(parts) == 1 else And(tuple(parts))

    def negation(self) -> Node:
        if self.peek().text not in ("not", "("):
            return self.comparison()
        tok = self.take()
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ExpressionError(f"more than {MAX_DEPTH} parentheses or `not`s inside one another", tok.column,
                                  "write the condition more simply: `and` binds before `or`, so "
                                  "a and b or c needs no parentheses; `not not` cancels out")
        node = Not(self.negation()) if tok.text == "not" else self.disjunction()
        if tok.text == "(":
            self.expect(")")
        self.depth -= 1
        return node

    def field(self) -> Field:
        tok = self.take()
        if tok.kind != "word" or tok.text in _KEYWORDS:
            raise ExpressionError(f"expected a field name but found {tok.text or 'the end'!r}", tok.column,
                                  "start each comparison with a field, e.g. measure.scope == cross")
        return Field(tok.text, tok.column)

    def comparison(self) -> Node:
        self.comparisons += 1
        if self.comparisons > MAX_COMPARISONS:
            raise ExpressionError(f"more than {MAX_COMPARISONS} comparisons in one condition", self.peek().column,
                                  "split the rule: give the indicator several `require` items, or use "
                                  "`in [a, b, c]` for a list of codes")
        left = self.field()
        # `a - b >= 5` is read as `a >= b + 5`
        shift = None
        if self.peek().text == "-" and self.i + 1 < len(self.toks) and self.toks[self.i + 1].kind == "word":
            self.take()
            shift = self.field()
        tok = self.peek()
        op = tok.text
        if op == "not" and self.toks[self.i + 1].text == "in":
            self.take()
            op = "not in"
        if op not in COMPARATORS:
            if shift is not None:
                raise ExpressionError("a difference of fields must be compared with a number", tok.column,
                                      "write e.g. previous_rank - rank >= 5")
            return Compare(left, "==", Value(True, left.column))  # a bare field: is true
        self.take()
        if op in ("in", "not in"):
            right = self.value_list()
        else:
            right = self.operand()
        if shift is not None:
            if not isinstance(right, Value) or not isinstance(right.value, Decimal):
                raise ExpressionError("a difference of fields must be compared with a number", tok.column,
                                      "write e.g. previous_rank - rank >= 5")
            right = Offset(shift, right.value)
        return Compare(left, op, right)

    def operand(self) -> Value | Field | Offset:
        tok = self.peek()
        follower = self.toks[self.i + 1].text if tok.kind != "end" else ""
        is_field = tok.kind == "word" and tok.text in self.fields and ("." in tok.text or follower in ("+", "-"))
        if is_field:
            other = self.field()
            if self.peek().text in ("+", "-"):
                sign = self.take().text
                num = self.take()
                if num.kind != "number":
                    raise ExpressionError(f"expected a number after {sign!r}", num.column, "write e.g. rank + 5")
                amount = Decimal(num.text)
                return Offset(other, amount if sign == "+" else -amount)
            return other
        return self.value()

    def value(self) -> Value:
        tok = self.take()
        if tok.kind == "number":
            return Value(Decimal(tok.text), tok.column)
        if tok.kind == "string":
            return Value(tok.text[1:-1], tok.column, quoted=True)
        if tok.text in ("true", "false"):
            return Value(tok.text == "true", tok.column)
        if tok.kind == "word" and tok.text not in _KEYWORDS:
            return Value(tok.text, tok.column)
        raise ExpressionError(f"expected a value but found {tok.text or 'the end'!r}", tok.column,
                              "write a code (cross), a number (5), a quoted text ('福州') or true/false")

    def value_list(self) -> Value:
        start = self.expect("[")
        items = [self.value()]
        while self.peek().text == ",":
            self.take()
            items.append(self.value())
        self.expect("]")
        return Value(tuple(v.value for v in items), start.column)


def parse(text: str, fields: frozenset[str] = frozenset()) -> Node:
    """Parse a condition; `fields` are the names a bare word on the right-hand side may refer to."""
    if not isinstance(text, str) or not text.strip():
        raise ExpressionError("the condition is empty", 1, "write a condition, e.g. measure.scope == cross")
    return _Parser(text, fields).parse()


def fields_of(node: Node) -> list[Field]:
    """Every field a condition reads, in order."""
    if isinstance(node, Compare):
        found = [node.left]
        if isinstance(node.right, Field):
            found.append(node.right)
        elif isinstance(node.right, Offset):
            found.append(node.right.field)
        return found
    if isinstance(node, Not):
        return fields_of(node.operand)
    return [f for part in node.operands for f in fields_of(part)]


def show(node: Node) -> str:
    """The condition written back as text (for traces)."""
    if isinstance(node, Compare):
        right = node.right
        if isinstance(right, Field):
            text = right.path
        elif isinstance(right, Offset):
            text = f"{right.field.path} {'+' if right.plus >= 0 else '-'} {abs(right.plus)}"
        elif isinstance(right.value, tuple):
            text = "[" + ", ".join(_literal(v) for v in right.value) + "]"
        else:
            text = _literal(right.value)
        return f"{node.left.path} {node.op} {text}"
    if isinstance(node, Not):
        return f"not ({show(node.operand)})"
    joiner = " and " if isinstance(node, And) else " or "
    return "(" + joiner.join(show(p) for p in node.operands) + ")"


def _literal(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return str(value)
    return str(value) if re.fullmatch(r"[\w-]+", str(value)) else repr(value)
