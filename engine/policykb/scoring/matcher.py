"""The one module that talks to durable-rules: compiles conditions to a ruleset and matches facts.

durable-rules' edges, each handled here (see shared/notes/building-blocks.md):
- ruleset names are global per host, so every compilation gets its own host and a unique name;
- a fact that no rule matches fails its whole batch, so a catch-all rule sees every fact, which also
  lets us count facts in against facts seen and stop when the engine dropped one (its 32-bit id hash
  treats distinct facts as duplicates once a state holds tens of thousands: one state per zone);
- exceptions raised in actions are swallowed, so actions only append to a list and the count check
  catches any that did not run;
- posted events are consumed by the first rule that matches; facts are asserted instead, so every
  rule whose condition holds fires;
- a comparison with a missing field on the other side matches in surprising ways, so such
  comparisons are guarded by existence tests.
"""

from __future__ import annotations

import itertools
import json
import threading
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Iterable, Mapping, Sequence

from ..errors import EngineError
from ..rules.expr import NEGATED, And, Compare, Field, Node, Not, Offset, Or, fields_of

_MARK = "__policykb"  # carried by every fact; only the catch-all rule tests it
_SEEN = "__seen"
_OPS = {"<": "$lt", "<=": "$lte", ">": "$gt", ">=": "$gte", "!=": "$neq"}
_counter = itertools.count(1)
CHUNK = 2000  # distinct facts per state: far below the tens of thousands where the engine's id hash collides
_KNOWN_MAX = 500_000  # decided combinations kept per matcher
_lock = threading.Lock()


def fact_key(path: str) -> str:
    """The fact key for a rule-file field: dots become double underscores (durable-rules reads dots)."""
    return path.replace(".", "__")


def _json_value(value):
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def _exists(key: str) -> dict:
    return {"$ex": {key: 1}}


def _missing(key: str) -> dict:
    return {"$nex": {key: 1}}


def _scalar(key: str, op: str, value) -> dict:
    value = _json_value(value)
    if op == "==":
        return {key: value}
    return {_OPS[op]: {key: value}}


def compile_condition(node: Node, negate: bool = False) -> dict:
    """A condition as a durable-rules JSON expression; `negate` compiles its negation (De Morgan),
    where a missing field makes a comparison false and so its negation true."""
    if isinstance(node, Not):
        return compile_condition(node.operand, not negate)
    if isinstance(node, (And, Or)):
        parts = [compile_condition(p, negate) for p in node.operands]
        conjunctive = isinstance(node, And) != negate
        return {"$and" if conjunctive else "$or": parts}
    return _compare(node, negate)


def _compare(node: Compare, negate: bool) -> dict:
    key = fact_key(node.left.path)
    op = NEGATED[node.op] if negate else node.op
    right = node.right
    if isinstance(right, (Field, Offset)):
        other = fact_key(right.path if isinstance(right, Field) else right.field.path)
        ref = {"$m": other}
        if isinstance(right, Offset) and right.plus:
            ref = {"$add": {"$l": ref, "$r": _json_value(right.plus)}}
        if op in ("==", "!="):
            raise EngineError(f"`{node.left.path} {node.op} ...` compares two fields for equality",
                              hint="compare a field with a value, or use < <= > >= between fields")
        test = {_OPS[op]: {key: ref}}
        if negate:
            return {"$or": [_missing(key), _missing(other), test]}
        return {"$and": [_exists(key), _exists(other), test]}
    if op in ("in", "not in"):
        values = right.value if isinstance(right.value, tuple) else (right.value,)
        if op == "in":
            return {"$or": [_scalar(key, "==", v) for v in values]}
        return {"$or": [_missing(key), {"$and": [_scalar(key, "!=", v) for v in values]}]}
    if op == "==":
        return _scalar(key, "==", right.value)
    test = _scalar(key, op, right.value)
    if negate or op == "!=":
        # "not equal"/"not less than" hold for a fact that lacks the field
        return {"$or": [_missing(key), test]}
    return test


class _Host:
    """A durable-rules host that runs no background timers: matching happens in the caller's thread."""

    def __new__(cls):
        import durable.engine as engine

        class Host(engine.Host):
            def _run(self):  # no timer thread: this program never uses durable's timers
                pass

        return Host()


@dataclass(frozen=True)
class Match:
    """Which rules each fact satisfied: fact id → rule keys."""

    by_fact: Mapping[str, frozenset[str]]

    def facts_for(self, rule: str) -> list[str]:
        return [fact for fact, rules in self.by_fact.items() if rule in rules]


class Matcher:
    """A compiled set of named conditions. Build once per scheme, match many states."""

    def __init__(self, conditions: Mapping[str, Node], *, label: str = "rules"):
        self.rules = dict(conditions)
        with _lock:
            self.name = f"policykb-{label}-{next(_counter)}-{uuid.uuid4().hex[:8]}"
        self._fired: list[tuple[str, str]] = []
        definition = {}
        self._keys = {}
        for index, (key, node) in enumerate(self.rules.items()):
            rule_name = f"r{index}"
            self._keys[rule_name] = key
            # the mark keeps the engine's own state document (which lacks it) from matching a negation
            condition = {"$and": [{_MARK: 1}, compile_condition(node)]}
            definition[rule_name] = {"all": [{"m": condition}], "run": self._action(key)}
        definition[_SEEN] = {"all": [{"m": {_MARK: 1}}], "run": self._action(_SEEN)}
        self._host = _Host()
        try:
            self._host.set_rulesets({self.name: definition})
        except Exception as exc:  # the engine rejects a JSON expression it cannot compile
            raise EngineError(f"durable-rules rejected the compiled ruleset: {exc}",
                              hint="simplify the condition; see rules/README.md for what conditions may say") from None
        self._json = json.dumps({k: v["all"] for k, v in definition.items()}, ensure_ascii=False, default=str)
        # the fact keys any condition reads: facts equal in these match the same rules
        self.reads = tuple(sorted({fact_key(f.path) for node in self.rules.values() for f in fields_of(node)}))
        self._known: dict[tuple, frozenset[str]] = {}

    def _action(self, key: str):
        def run(closure):
            self._fired.append((key, closure.m.id))
        return run

    def compiled(self) -> str:
        """The durable-rules JSON of this ruleset, for `policykb rules show` and for debugging."""
        return self._json

    def match(self, state: str, facts: Iterable[Mapping]) -> Match:
        """Assert the facts into a fresh state, collect what fired, then drop the state."""
        batch = []
        ids = set()
        for fact in facts:
            fact_id = str(fact["id"])
            if fact_id in ids:
                raise EngineError(f"two facts share the id {fact_id}", hint="each evidence item needs its own IRI")
            ids.add(fact_id)
            batch.append({**{k: _json_value(v) for k, v in fact.items() if v is not None},
                          "id": fact_id, "sid": state, _MARK: 1})
        self._fired = []
        if batch:
            try:
                self._host.assert_facts(self.name, batch)
            except Exception as exc:
                raise EngineError(f"durable-rules failed on state {state}: {exc}") from None
            finally:
                try:
                    self._host.delete_state(self.name, state)
                except Exception:  # nothing to delete when the batch never reached the engine
                    pass
        seen = {fact for key, fact in self._fired if key == _SEEN}
        if seen != ids:
            lost = sorted(ids - seen)
            raise EngineError(f"the rule engine saw {len(seen)} of {len(ids)} facts for {state}; lost: {', '.join(lost[:5])}",
                              hint="this is a durable-rules limit; score fewer facts per zone state")
        by_fact: dict[str, set[str]] = {fact: set() for fact in ids}
        for key, fact in self._fired:
            if key != _SEEN:
                by_fact[fact].add(key)
        return Match({fact: frozenset(keys) for fact, keys in by_fact.items()})

    def match_many(self, facts: Sequence[Mapping], label: str = "facts") -> list[frozenset[str]]:
        """Which rules each fact satisfies, in order (see match_keys)."""
        return self.match_keys([tuple(_hashable(fact.get(k)) for k in self.reads) for fact in facts], label)

    def match_keys(self, keys: Sequence[tuple], label: str = "facts") -> list[frozenset[str]]:
        """Which rules each fact satisfies, given each fact as the tuple of its values of `self.reads`.

        Facts equal in those fields satisfy the same rules, so each distinct combination is matched once (a
        quarter of a million evidence rows hold about a thousand), and combinations this matcher has decided
        before are remembered: the new ones are asserted in states of CHUNK facts."""
        known = self._known
        fresh = [key for key in dict.fromkeys(keys) if key not in known]
        reads = self.reads
        for start in range(0, len(fresh), CHUNK):
            chunk = fresh[start:start + CHUNK]
            combos = [{k: v for k, v in zip(reads, key) if v is not None} | {"id": f"c{n}"}
                      for n, key in enumerate(chunk)]
            found = self.match(f"{label}-{start // CHUNK}", combos).by_fact
            if len(known) + len(chunk) > _KNOWN_MAX:
                known.clear()
            for n, key in enumerate(chunk):
                known[key] = found.get(f"c{n}", frozenset())
        return [known[key] for key in keys]


def _hashable(value):
    return tuple(value) if isinstance(value, list) else value
