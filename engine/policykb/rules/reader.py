"""Rule files (rules/<scheme>.yaml): read safely, check against the ontology, and return a Scheme.

A rule file is data for office staff (rules/README.md). Nothing in it is executed: conditions are
parsed by `expr`, formulas by `formula`, and every problem is reported with file, line, column and what
may be written instead. All problems of a file are collected and reported together.
"""

from __future__ import annotations

import difflib
import re
from decimal import Decimal
from pathlib import Path

import yaml
from rdflib import URIRef

from ..errors import Location, QueryError, RuleError, RuleErrors
from ..namespace import PKB, expand_iri
from . import expr, formula, yamlfile
from .duties import Duty, parse_duties
from .model import (
    Award,
    Condition,
    Exclusion,
    Indicator,
    Level,
    Outcome,
    PerAmount,
    Ranking,
    Requirement,
    Scheme,
)
from .vocabulary import RESULT_FIELDS, RuleVocabulary

WINDOWS = ("year", "to-date")
TIES = ("shared",)
_CODE = re.compile(r"[A-Za-z][\w-]*")


# ---------------------------------------------------------------------------------------------
# Reading a rule file
# ---------------------------------------------------------------------------------------------

SCHEME_KEYS = ("id", "name", "document", "source", "first_year", "year", "zones", "total", "composite")
LEVEL_KEYS = ("name", "max", "parent", "source")
INDICATOR_KEYS = ("name", "parent", "max", "source", "evidence", "window", "require", "distinct", "items_per_row",
                  "per_item", "per_amount", "awards", "tiers", "cap", "interpretation", "formula", "unit", "decimals",
                  "order", "weight")
ITEMS_PER_ROW = ("count", "one")
AWARD_KEYS = ("id", "name", "when", "points", "requires")
REQUIRE_KEYS = ("when", "otherwise")
TOP_KEYS = ("scheme", "levels", "indicators", "exclusion", "ranking", "outcomes", "duties")


MAX_LISTED = 50  # problems listed per file; the rest are counted (a pasted file can hold thousands)
MAX_DIGITS = 15  # a rubric's numbers are like 0.2, 12 and 1000000
MAX_DECIMALS = 10
_PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)")
_EXPONENT = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)[eE][+-]?\d+")


class _Reader:
    """Walks the composed YAML, collecting every problem with its position (the first MAX_LISTED)."""

    def __init__(self, file: str, vocabulary: RuleVocabulary):
        self.file = file
        self.vocabulary = vocabulary
        self.errors: list[RuleError] = []
        self.unlisted = 0
        self.fields = vocabulary.field_names()

    def at(self, node: yaml.Node) -> Location:
        return Location(self.file, node.start_mark.line + 1, node.start_mark.column + 1)

    @property
    def full(self) -> bool:
        return len(self.errors) >= MAX_LISTED

    def add(self, error: RuleError) -> None:
        if self.full:
            self.unlisted += 1
        else:
            self.errors.append(error)

    def error(self, node: yaml.Node, message: str, hint: str) -> None:
        self.add(RuleError(message, location=self.at(node), hint=hint))

    def problems(self) -> list[RuleError]:
        """The problems found, and a last line counting those not listed."""
        if not self.unlisted:
            return self.errors
        return self.errors + [RuleError(
            f"and {self.unlisted:,} more problem(s), not listed: policykb lists the first {MAX_LISTED} of a file",
            location=Location(self.file),
            hint="correct the problems listed and run `policykb rules check` again; thousands of problems usually "
                 "mean a file pasted into the wrong place or the wrong file")]

    def mapping(self, node: yaml.Node, what: str, allowed: tuple[str, ...], required: tuple[str, ...] = ()) -> dict:
        if not isinstance(node, yaml.MappingNode):
            self.error(node, f"{what} must be a mapping of keys to values",
                       f"write `key: value` lines; allowed keys: {', '.join(allowed)}")
            return {}
        out = {}
        for key_node, value_node in node.value:
            key = str(key_node.value)
            if allowed and key not in allowed:
                if self.full:  # counted only: no suggestion is computed for what is not listed
                    self.unlisted += 1
                    continue
                close = difflib.get_close_matches(key, allowed, n=1)
                self.error(key_node, f"unknown key {key!r} in {what}",
                           (f"did you mean {close[0]!r}? " if close else "") + f"allowed keys: {', '.join(allowed)}")
                continue
            if key in out:
                self.error(key_node, f"the key {key!r} appears twice in {what}", "keep one value per key")
                continue
            out[key] = value_node
        for key in required:
            if key not in out:
                self.error(node, f"{what} has no {key!r}", f"add `{key}: …` ({', '.join(required)} are required)")
        return out

    def text(self, node: yaml.Node | None, key: str) -> str | None:
        if node is None:
            return None
        if not isinstance(node, yaml.ScalarNode) or not str(node.value).strip():
            self.error(node, f"{key}: write a single value", f"give `{key}` one value, not a list or a mapping")
            return None
        return str(node.value).strip()

    def number(self, node: yaml.Node | None, key: str, *, positive: bool = True) -> Decimal | None:
        raw = self.text(node, key)
        if raw is None:
            return None
        if not _PLAIN_NUMBER.fullmatch(raw):
            if _EXPONENT.fullmatch(raw):
                self.error(node, f"{key}: {_short(raw)} is written with an exponent",
                           f"write the digits, e.g. {key}: 1000000 rather than 1e6")
            else:
                self.error(node, f"{key}: {_short(raw)!r} is not a number", f"write a number, e.g. {key}: 2 or {key}: 0.5")
            return None
        digits = sum(c.isdigit() for c in raw)
        if digits > MAX_DIGITS:
            self.error(node, f"{key}: a number of {digits:,} digits is too long",
                       f"write a number of at most {MAX_DIGITS} digits, e.g. {key}: 12")
            return None
        value = Decimal(raw)  # from the scalar's own text: 0.2 stays exactly 0.2
        if (positive and value <= 0) or value < 0:
            self.error(node, f"{key}: {raw} must be a number above 0", f"write e.g. {key}: 1")
            return None
        return value

    def integer(self, node: yaml.Node | None, key: str, *, most: int, example: int) -> int | None:
        raw = self.text(node, key)
        if raw is None:
            return None
        if not re.fullmatch(r"[0-9]+", raw):
            self.error(node, f"{key}: {_short(raw)!r} is not a whole number", f"write digits, e.g. {key}: {example}")
            return None
        if len(raw.lstrip("0")) > len(str(most)) or int(raw) > most:
            self.error(node, f"{key}: {_short(raw)} is more than {most}", f"write e.g. {key}: {example}")
            return None
        return int(raw)

    def year(self, node: yaml.Node | None, key: str) -> int | None:
        raw = self.text(node, key)
        if raw is None:
            return None
        if not re.fullmatch(r"[0-9]{4}", raw):
            self.error(node, f"{key}: {_short(raw)!r} is not a year", f"write the year in four digits, e.g. {key}: 2021")
            return None
        return int(raw)

    def iri(self, node: yaml.Node | None, key: str) -> URIRef | None:
        raw = self.text(node, key)
        if raw is None:
            return None
        try:
            return expand_iri(raw, key)
        except QueryError as exc:
            self.error(node, f"{key}: {raw!r} is not an IRI", exc.hint or "write e.g. doc:fj-ftzo-2021-1/att2/B4")
            return None

    def choice(self, node: yaml.Node | None, key: str, allowed, default=None):
        raw = self.text(node, key) if node is not None else default
        if raw is not None and raw not in allowed:
            self.error(node, f"{key}: {raw!r} is not allowed", f"write one of: {', '.join(allowed)}")
            return default
        return raw

    def condition(self, node: yaml.Node | None, key: str = "when") -> Condition | None:
        raw = self.text(node, key)
        if raw is None:
            return None
        at = self.at(node)
        # a plain scalar starts where its text starts; a quoted one a character later
        shift = 1 if node.style in ("'", '"') else 0
        try:
            tree = expr.parse(raw, self.fields)
        except expr.ExpressionError as exc:
            self.add(RuleError(f"{key}: {exc.message}",
                                         location=Location(self.file, at.line, at.column + shift + exc.column - 1),
                                         hint=exc.hint))
            return None
        for fld in expr.fields_of(tree):
            if self.vocabulary.check_field(fld.path):
                close = difflib.get_close_matches(fld.path, sorted(self.fields), n=3)
                self.add(RuleError(
                    f"{key}: unknown field {fld.path!r}",
                    location=Location(self.file, at.line, at.column + shift + fld.column - 1),
                    hint=(f"did you mean {', '.join(close)}? " if close else "")
                    + "fields are the pkb:factName of ontology properties (e.g. scope, level, rank), "
                      "measure.<field>, zone.<field> and the facts of queries/facts/"))
        self._check_codes(tree, at, shift)
        return Condition(raw, tree, at)

    def _check_codes(self, tree, at: Location, shift: int) -> None:
        if isinstance(tree, expr.Compare):
            allowed = self.vocabulary.codes_of(tree.left.path)
            right = tree.right
            where = Location(self.file, at.line, at.column + shift + tree.left.column - 1)
            if isinstance(right, expr.Field) and tree.op in ("==", "!="):
                self.add(RuleError(
                    f"`{tree.left.path} {tree.op} {right.path}` compares two fields for equality", location=where,
                    hint="compare a field with a value (e.g. measure.scope == cross); between two fields "
                         "only < <= > >= are possible"))
                return
            if isinstance(right, expr.Value) and not allowed and not right.quoted:
                values = right.value if isinstance(right.value, tuple) else (right.value,)
                words = [v for v in values if isinstance(v, str)]
                for word in words:
                    if word in self.fields and tree.op not in ("==", "!=", "in", "not in"):
                        self.add(RuleError(
                            f"`{tree.left.path} {tree.op} {word}` would compare with the text {word!r}", location=where,
                            hint=f"to compare with the field {word}, write `{tree.left.path} {tree.op} {word} + 0`"))
                    elif self.vocabulary.is_numeric(tree.left.path):
                        self.add(RuleError(
                            f"{tree.left.path} is a number, not {word!r}", location=where,
                            hint=f"write a number, e.g. {tree.left.path} {tree.op} 10"))
            if allowed and isinstance(right, expr.Value):
                values = right.value if isinstance(right.value, tuple) else (right.value,)
                for value in values:
                    if isinstance(value, str) and value not in allowed:
                        self.add(RuleError(
                            f"unknown code {value!r} for {tree.left.path}",
                            location=Location(self.file, at.line, at.column + shift + right.column - 1),
                            hint=f"write one of: {', '.join(sorted(allowed))}"))
            return
        operands = (tree.operand,) if isinstance(tree, expr.Not) else tree.operands
        for part in operands:
            self._check_codes(part, at, shift)

    def kind(self, node: yaml.Node) -> str | None:
        raw = self.text(node, "evidence")
        if raw is not None and raw not in self.vocabulary.kinds:
            close = difflib.get_close_matches(raw, list(self.vocabulary.kinds), n=1)
            self.error(node, f"unknown evidence kind {raw!r}",
                       (f"did you mean {close[0]!r}? " if close else "")
                       + f"kinds are the ledger codes of the ontology: {', '.join(sorted(self.vocabulary.kinds))}")
            return None
        return raw


def load_scheme(path: Path, vocabulary: RuleVocabulary, *, shown: str | None = None) -> Scheme:
    """Read and check a rule file against a vocabulary; raise RuleError/RuleErrors naming every problem."""
    shown = shown or str(path)
    root = yamlfile.load(Path(path), shown)
    if root is None:
        raise RuleError("the rule file is empty", location=Location(shown),
                        hint="start with `scheme:`; see rules/README.md")
    reader = _Reader(shown, vocabulary)
    scheme = _read(reader, root)
    problems = reader.problems()
    if problems:
        if len(problems) == 1:
            raise problems[0]
        raise RuleErrors(problems)
    return scheme


def _short(raw: str) -> str:
    """A value as quoted in a message: a pasted page of digits is cut."""
    return raw if len(raw) <= 24 else f"{raw[:12]}…"


def _read(r: _Reader, root: yaml.Node) -> Scheme | None:
    top = r.mapping(root, "the rule file", TOP_KEYS, ("scheme",))
    head = r.mapping(top["scheme"], "scheme", SCHEME_KEYS, ("id", "name", "source")) if "scheme" in top else {}
    scheme_id = r.text(head.get("id"), "id") or "?"
    first_year = r.year(head.get("first_year") or head.get("year"), "first_year") or 0
    zones = r.iri(head.get("zones"), "zones") if "zones" in head else PKB.Zone
    total = r.number(head.get("total"), "total") if "total" in head else None
    levels = _levels(r, top.get("levels"))
    indicators = _indicators(r, top.get("indicators"), {lv.code for lv in levels})
    duties: tuple[Duty, ...] = ()
    if "duties" in top:
        try:
            duties = parse_duties(top["duties"], r.file, r.vocabulary.kinds)
        except RuleErrors as exc:
            for error in exc.errors:
                r.add(error)
        except RuleError as exc:
            r.add(exc)
    if any(i.is_formula for i in indicators) and any(not i.is_formula for i in indicators):
        r.error(top["indicators"], "the scheme mixes formula indicators and evidence indicators",
                "a scheme scores either evidence (evidence: …) or observations (formula: …); write two schemes")
    if not indicators and not duties:
        r.error(root, "the rule file has neither indicators nor duties",
                "add `indicators:` (see rules/README.md) or `duties:`")
    exclusion = _exclusion(r, top.get("exclusion"))
    ranking = _ranking(r, top.get("ranking"))
    outcomes = _outcomes(r, top.get("outcomes"))
    if outcomes and ranking is None:
        r.error(top["outcomes"], "outcomes need a ranking", "add `ranking:` with `by: total` and `ties: shared`")
    _check_sums(r, levels, indicators, total, top.get("levels") or root)
    return Scheme(
        id=scheme_id, name=r.text(head.get("name"), "name") or scheme_id, file=r.file,
        document=r.iri(head.get("document"), "document") if "document" in head else None,
        source=r.iri(head.get("source"), "source"), first_year=first_year, zones=zones, total=total,
        levels=levels, indicators=indicators, exclusion=exclusion, ranking=ranking, outcomes=outcomes,
        duties=duties, composite=r.text(head.get("composite"), "composite") if "composite" in head else None,
        fields=_fields_read(indicators, exclusion),
    )


def _fields_read(indicators, exclusion) -> frozenset[str]:
    conditions = [c for i in indicators for c in _conditions(i)] + ([exclusion.condition] if exclusion else [])
    found = {f.path for c in conditions for f in expr.fields_of(c.tree)}
    found |= {i.distinct for i in indicators if i.distinct}
    return frozenset(found)


def _conditions(indicator: Indicator) -> list[Condition]:
    return [q.condition for q in indicator.requires] + [a.condition for a in indicator.awards + indicator.tiers]


def _levels(r: _Reader, node: yaml.Node | None) -> tuple[Level, ...]:
    if node is None:
        return ()
    out = []
    items = r.mapping(node, "levels", ())
    for code, value in items.items():
        spec = r.mapping(value, f"level {code}", LEVEL_KEYS, ("name", "max", "source"))
        out.append(Level(code, r.text(spec.get("name"), "name") or code, r.number(spec.get("max"), "max") or Decimal(0),
                         r.text(spec.get("parent"), "parent"), r.iri(spec.get("source"), "source"), r.at(value)))
    codes = {lv.code for lv in out}
    for lv, value in zip(out, items.values()):
        if lv.parent and lv.parent not in codes:
            r.error(value, f"level {lv.code}: unknown parent {lv.parent!r}", f"write one of: {', '.join(sorted(codes))}")
    return tuple(out)


def _indicators(r: _Reader, node: yaml.Node | None, level_codes: set[str]) -> tuple[Indicator, ...]:
    if node is None:
        return ()
    out = []
    for code, value in r.mapping(node, "indicators", ()).items():
        indicator = _indicator(r, code, value, level_codes)
        if indicator is not None:
            out.append(indicator)
    return tuple(out)


def _indicator(r: _Reader, code: str, node: yaml.Node, level_codes: set[str]) -> Indicator | None:
    what = f"indicator {code}"
    spec = r.mapping(node, what, INDICATOR_KEYS, ("name", "source"))
    if not spec:
        return None
    at = r.at(node)
    parent = r.text(spec.get("parent"), "parent")
    if parent and parent not in level_codes:
        r.error(spec["parent"], f"{what}: unknown parent {parent!r}",
                f"write one of the codes under levels: {', '.join(sorted(level_codes)) or '(none defined)'}")
    common = dict(code=code, name=r.text(spec.get("name"), "name") or code, source=r.iri(spec.get("source"), "source"),
                  location=at, parent=parent, interpretation=r.text(spec.get("interpretation"), "interpretation"),
                  max=r.number(spec.get("max"), "max") if "max" in spec else None)
    if "formula" in spec:
        extra = set(spec) - {"name", "parent", "max", "source", "formula", "unit", "decimals", "order", "weight",
                             "interpretation"}
        for key in sorted(extra):
            r.error(spec[key], f"{what}: `{key}` does not go with `formula`",
                    "a formula indicator takes: formula, unit, decimals, order, weight, interpretation")
        raw = r.text(spec["formula"], "formula")
        parsed = None
        if raw is not None:
            try:
                parsed = formula.parse(raw, r.vocabulary.properties)
            except formula.FormulaError as exc:
                loc = r.at(spec["formula"])
                r.add(RuleError(f"formula: {exc.message}",
                                          location=Location(r.file, loc.line, loc.column + exc.column - 1), hint=exc.hint))
        decimals = r.integer(spec.get("decimals"), "decimals", most=MAX_DECIMALS, example=2) if "decimals" in spec else 2
        return Indicator(**common, formula=parsed, unit=r.text(spec.get("unit"), "unit"),
                         decimals=decimals if decimals is not None else 2,
                         order=r.choice(spec.get("order"), "order", ("descending", "ascending"), "descending"),
                         weight=r.number(spec.get("weight"), "weight", positive=False) if "weight" in spec else None)
    if "evidence" not in spec:
        r.error(node, f"{what} says neither which evidence it counts nor a formula",
                "add `evidence: <kind>` (e.g. replication) or `formula: …`")
        return None
    if "max" not in spec:
        r.error(node, f"{what} has no `max`", "write the rubric's maximum points, e.g. max: 12")
    ev_node = spec["evidence"]
    kinds = [r.kind(n) for n in (ev_node.value if isinstance(ev_node, yaml.SequenceNode) else [ev_node])]
    requires = []
    if "require" in spec:
        req_node = spec["require"]
        if not isinstance(req_node, yaml.SequenceNode):
            r.error(req_node, f"{what}: `require` must be a list", "write `- {when: …, otherwise: …}` items")
        else:
            for item in req_node.value:
                req = r.mapping(item, f"a requirement of {code}", REQUIRE_KEYS, REQUIRE_KEYS)
                cond = r.condition(req.get("when")) if "when" in req else None
                if cond is not None:
                    requires.append(Requirement(cond, r.text(req.get("otherwise"), "otherwise") or cond.text))
    awards = _awards(r, spec.get("awards"), f"{what} awards")
    tiers = _awards(r, spec.get("tiers"), f"{what} tiers")
    ids = [a.id for a in awards + tiers]
    for award, node_ in zip(awards + tiers, _items(spec.get("awards")) + _items(spec.get("tiers"))):
        if ids.count(award.id) > 1:
            r.error(node_, f"{what}: award id {award.id!r} is used twice", "give each award its own id")
        award_ids = [a.id for a in awards if a.id != award.id]
        if award.requires and award in tiers:
            r.error(node_, f"{what}: tier {award.id} cannot require another award",
                    "tiers are exclusive steps: only the highest that holds applies; move the condition into `when`")
        elif award.requires and award.requires not in award_ids:
            r.error(node_, f"{what}: award {award.id} requires unknown award {award.requires!r}",
                    f"write one of the other awards' ids: {', '.join(award_ids) or '(none)'}")
    per_item = r.number(spec.get("per_item"), "per_item") if "per_item" in spec else None
    per_amount = None
    if "per_amount" in spec:
        pa = r.mapping(spec["per_amount"], "per_amount", ("every", "points"), ("every", "points"))
        every, points = r.number(pa.get("every"), "every"), r.number(pa.get("points"), "points")
        if every is not None and points is not None:
            per_amount = PerAmount(every, points)
    ways = [k for k in ("per_item", "per_amount") if k in spec] + (["awards/tiers"] if awards or tiers else [])
    if len(ways) != 1:
        r.error(node, f"{what} must score in exactly one way; it has {', '.join(ways) or 'none'}",
                "use per_item (points per counted item), per_amount (points per whole amount) or awards/tiers")
    cap = r.number(spec.get("cap"), "cap") if "cap" in spec else common["max"]
    if cap is not None and common["max"] is not None and cap > common["max"]:
        r.error(spec.get("cap", node), f"{what}: cap {cap} is above the indicator's max {common['max']}",
                f"write a cap of at most {common['max']}")
    unit_points = per_item or (per_amount.points if per_amount else None)
    if cap is not None and unit_points is not None and cap < unit_points:
        r.error(spec.get("cap", node), f"{what}: cap {cap} is below the points of one item ({unit_points})",
                f"raise the cap to at least {unit_points}, or lower the points per item")
    for award, node_ in zip(awards + tiers, _items(spec.get("awards")) + _items(spec.get("tiers"))):
        if cap is not None and award.points > cap:
            r.error(node_, f"{what}: award {award.id} gives {award.points}, above the cap {cap}",
                    f"give at most {cap} points")
    distinct = r.text(spec.get("distinct"), "distinct") if "distinct" in spec else None
    if distinct and r.vocabulary.check_field(distinct):
        r.error(spec["distinct"], f"{what}: unknown field {distinct!r} in distinct",
                "write the field that identifies the same item twice, e.g. measure or item")
    items_per_row = r.choice(spec.get("items_per_row"), "items_per_row", ITEMS_PER_ROW) \
        if "items_per_row" in spec else None
    if items_per_row and "per_item" not in spec:
        r.error(spec["items_per_row"], f"{what}: `items_per_row` goes with `per_item`",
                "items_per_row says how many items a row stands for, which only per_item points count; remove it")
    return Indicator(**common, evidence=tuple(k for k in kinds if k), requires=tuple(requires),
                     window=r.choice(spec.get("window"), "window", WINDOWS, "year"), distinct=distinct,
                     items_per_row=items_per_row,
                     per_item=per_item, per_amount=per_amount, awards=awards, tiers=tiers, cap=cap)


def _items(node: yaml.Node | None) -> list:
    return list(node.value) if isinstance(node, yaml.SequenceNode) else []


def _awards(r: _Reader, node: yaml.Node | None, what: str) -> tuple[Award, ...]:
    if node is None:
        return ()
    if not isinstance(node, yaml.SequenceNode):
        r.error(node, f"{what} must be a list", "write `- {id: …, when: …, points: …}` items")
        return ()
    out = []
    for item in node.value:
        spec = r.mapping(item, f"an item of {what}", AWARD_KEYS, ("id", "when", "points"))
        cond = r.condition(spec.get("when")) if "when" in spec else None
        points = r.number(spec.get("points"), "points") if "points" in spec else None
        ident = r.text(spec.get("id"), "id")
        if cond is not None and points is not None and ident:
            out.append(Award(ident, r.text(spec.get("name"), "name") or ident, cond, points,
                             r.text(spec.get("requires"), "requires"), r.at(item)))
    return tuple(out)


def _exclusion(r: _Reader, node: yaml.Node | None) -> Exclusion | None:
    if node is None:
        return None
    spec = r.mapping(node, "exclusion", ("id", "name", "when", "source", "interpretation"), ("id", "when", "source"))
    cond = r.condition(spec.get("when")) if "when" in spec else None
    if cond is None:
        return None
    ident = r.text(spec.get("id"), "id") or "excluded"
    return Exclusion(ident, r.text(spec.get("name"), "name") or ident, cond,
                     r.iri(spec.get("source"), "source"), r.text(spec.get("interpretation"), "interpretation"))


def _ranking(r: _Reader, node: yaml.Node | None) -> Ranking | None:
    if node is None:
        return None
    spec = r.mapping(node, "ranking", ("by", "ties", "source", "interpretation"), ("by", "ties"))
    return Ranking(r.choice(spec.get("by"), "by", ("total",), "total"), r.choice(spec.get("ties"), "ties", TIES, "shared"),
                   r.iri(spec.get("source"), "source") if "source" in spec else None,
                   r.text(spec.get("interpretation"), "interpretation"))


def _outcomes(r: _Reader, node: yaml.Node | None) -> tuple[Outcome, ...]:
    if node is None:
        return ()
    out = []
    for item in _items(node):
        spec = r.mapping(item, "an outcome", ("id", "name", "when", "source", "amount_max", "interpretation"),
                         ("id", "when", "source"))
        cond = r.condition(spec.get("when")) if "when" in spec else None
        if cond is None:
            continue
        for fld in expr.fields_of(cond.tree):
            if fld.path not in RESULT_FIELDS:
                r.error(spec["when"], f"an outcome condition reads {fld.path!r}",
                        f"outcomes are decided by the ranking: use {', '.join(RESULT_FIELDS)}")
        ident = r.text(spec.get("id"), "id") or "outcome"
        out.append(Outcome(ident, r.text(spec.get("name"), "name") or ident, cond, r.iri(spec.get("source"), "source"),
                           r.number(spec.get("amount_max"), "amount_max") if "amount_max" in spec else None,
                           r.text(spec.get("interpretation"), "interpretation")))
    if not isinstance(node, yaml.SequenceNode):
        r.error(node, "outcomes must be a list", "write `- {id: reward, when: rank <= 10, source: …}` items")
    return tuple(out)


def _check_sums(r: _Reader, levels, indicators, total, node) -> None:
    """The rubric's arithmetic: B maxima add up to their A level, A to F, F to the scheme total."""
    if not levels:
        return
    children: dict[str | None, list] = {}
    for lv in levels:
        children.setdefault(lv.parent, []).append((lv.code, lv.max, lv.location))
    for ind in indicators:
        if ind.parent and ind.max is not None:
            children.setdefault(ind.parent, []).append((ind.code, ind.max, ind.location))
    for lv in levels:
        parts = children.get(lv.code, [])
        got = sum((p[1] for p in parts), Decimal(0))
        if parts and got != lv.max:
            listing = " + ".join(f"{c} {m}" for c, m, _ in parts)
            r.add(RuleError(f"the maxima under {lv.code} add up to {got}, not its max {lv.max}",
                                      location=lv.location, hint=f"{listing} = {got}; make them add up to {lv.max}"))
    roots = children.get(None, [])
    if total is not None and roots:
        got = sum((p[1] for p in roots), Decimal(0))
        if got != total:
            listing = " + ".join(f"{c} {m}" for c, m, _ in roots)
            r.error(node, f"the first-level maxima add up to {got}, not the scheme total {total}",
                    f"{listing} = {got}; make them add up to {total}")


def clause_problems(scheme: Scheme, graph_has, root: Path) -> list[RuleError]:
    """Clauses the scheme cites that the knowledge base does not describe (graph_has: IRI → bool),
    each located at the first line of the rule file (scheme.file, relative to `root`) that cites it."""
    try:
        lines = yamlfile.read_text(root / scheme.file, scheme.file).splitlines()
    except RuleError:
        lines = []
    problems = []
    for iri in sorted(scheme.clauses(), key=str):
        if iri is None or graph_has(iri):
            continue
        tail = str(iri).split("/doc/", 1)[-1]
        line = next((n for n, text in enumerate(lines, 1) if re.search(re.escape(tail) + r"(?![\w/-])", text)), None)
        problems.append(RuleError(f"the clause {iri} is not in the knowledge base",
                                  location=Location(scheme.file, line),
                                  hint="cite a clause of kb/documents/ (e.g. doc:fj-ftzo-2021-1/att2/B4)"))
    return problems
