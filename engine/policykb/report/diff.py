"""What a change does: a published result against the result the current rules and evidence give.

Per zone: every indicator whose points changed, the total, the place and the outcome before and after,
and for each the cause found — the rule lines that changed (from the rule text the result kept), the
ledger rows counted, no longer counted or counted for another amount, or the input files whose digests
changed. Plain data; the command line lays it out.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from decimal import Decimal

from ..rules.source import RuleText
from .results import IndicatorResult, Result, ZoneResult


@dataclass(frozen=True)
class Change:
    zone: str  # IRI
    label: str
    code: str
    what: str  # an indicator code, total, rank or outcome
    before: object
    after: object
    causes: tuple[str, ...]


@dataclass(frozen=True)
class Comparison:
    before: Result
    after: Result
    changes: tuple[Change, ...]
    inputs_changed: tuple[str, ...]  # "path: sha256 a… → b…" for every input whose digest differs

    @property
    def zones_changed(self) -> int:
        return len({c.zone for c in self.changes})


def _num(value: Decimal | None) -> str:
    if value is None:
        return "—"
    text = format(value.normalize(), "f")
    return text


def rule_changes(file: str, before: RuleText | None, after: RuleText | None) -> list[str]:
    """The lines of one rule that differ, as `file:line: old → new` (line numbers of the current file)."""
    if before is None or after is None:
        return [] if before is after else [f"{file}: the rule {(after or before).key} was "
                                          f"{'added' if before is None else 'removed'}"]
    if before.text == after.text:
        return []
    old, new = before.text.splitlines(), after.text.splitlines()
    found = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=old, b=new, autojunk=False).get_opcodes():
        if tag == "equal":
            continue
        where = f"{file}:{after.line + j1}"
        was = " / ".join(line.strip() for line in old[i1:i2])
        now = " / ".join(line.strip() for line in new[j1:j2])
        if tag == "replace":
            found.append(f"{where}: `{was}` → `{now}`")
        elif tag == "delete":
            found.append(f"{where}: `{was}` removed")
        else:
            found.append(f"{where}: `{now}` added")
    return found


def item_changes(before: IndicatorResult | None, after: IndicatorResult | None) -> list[str]:
    """Ledger rows counted before and not now, now and not before, or for another amount or count."""
    was = {c.evidence: c for c in (before.counted if before else ())}
    now = {c.evidence: c for c in (after.counted if after else ())}
    found = []
    for key in sorted(set(was) | set(now), key=lambda k: (now.get(k) or was.get(k)).where):
        a, b = was.get(key), now.get(key)
        if a is None:
            found.append(f"{b.where}: counted now" + (f" ({_num(b.units)})" if b.units not in (None, 1) else ""))
        elif b is None:
            found.append(f"{a.where}: no longer counted")
        elif (a.units, a.points) != (b.units, b.points):
            found.append(f"{b.where}: {_num(a.units)} → {_num(b.units)}" if a.units != b.units
                         else f"{b.where}: {_num(a.points)} → {_num(b.points)} point(s)")
    return found


def compare(before: Result, after: Result) -> Comparison:
    """Every change between a published result and a new one, zone by zone, with its causes."""
    inputs_changed = _inputs_changed(before, after)
    file = after.rule_file
    changes: list[Change] = []
    totals_changed = {z.zone for z in after.zones
                      if before.zone(z.zone) is None or before.zone(z.zone).total != z.total}
    outcome_rules = rule_changes(file, before.rules.get("outcomes"), after.rules.get("outcomes"))
    ranking_rules = (rule_changes(file, before.rules.get("ranking"), after.rules.get("ranking"))
                     + rule_changes(file, before.rules.get("exclusion"), after.rules.get("exclusion")))
    for zone in after.zones:
        old = before.zone(zone.zone)
        if old is None:
            changes.append(Change(zone.zone, zone.label, zone.code, "zone", None, "scored",
                                  ("the zone was not in the published result",)))
            continue
        changes += _zone_changes(file, before, after, old, zone, inputs_changed, totals_changed,
                                 outcome_rules, ranking_rules)
    for old in before.zones:
        if after.zone(old.zone) is None:
            changes.append(Change(old.zone, old.label, old.code, "zone", "scored", None,
                                  ("the zone is no longer scored under the scheme",)))
    return Comparison(before, after, tuple(changes), inputs_changed)


def _zone_changes(file: str, before: Result, after: Result, old: ZoneResult, new: ZoneResult,
                  inputs_changed: tuple[str, ...], totals_changed: set[str], outcome_rules: list[str],
                  ranking_rules: list[str]) -> list[Change]:
    found: list[Change] = []

    def add(what: str, was, now, causes) -> None:
        found.append(Change(new.zone, new.label, new.code, what, was, now, tuple(causes)))

    deltas = []
    for ind in new.indicators:
        prior = old.indicator(ind.code)
        was = prior.points if prior else None
        if was == ind.points:
            continue
        causes = rule_changes(file, before.rules.get(ind.code), after.rules.get(ind.code))
        causes += item_changes(prior, ind)
        if not causes:
            causes = ["the knowledge-base facts its conditions read changed"
                      + (f" ({', '.join(c.split(':')[0] for c in inputs_changed)})" if inputs_changed else "")]
        add(ind.code, was, ind.points, causes)
        deltas.append(f"{ind.code} {_signed((ind.points or 0) - (was or 0))}")
    if old.total != new.total:
        add("total", old.total, new.total, [", ".join(deltas)] if deltas else [])
    if (old.eligible, old.no_data) != (new.eligible, new.no_data):
        add("standing", _standing(old), _standing(new), [])
    if old.rank != new.rank:
        if new.zone in totals_changed:
            causes = ["its total changed"]
        elif not new.eligible or new.no_data:
            causes = [f"the zone is {_standing(new)}"]
        else:
            others = len(totals_changed - {new.zone})
            causes = [f"the totals of {others} other zone(s) changed"] if others else []
        add("rank", old.rank, new.rank, causes + ranking_rules)
    if old.outcome != new.outcome:
        causes = (["its rank changed"] if old.rank != new.rank else []) + outcome_rules
        if (old.eligible, old.no_data) != (new.eligible, new.no_data):
            causes.insert(0, f"the zone is {_standing(new)}")
        add("outcome", old.outcome, new.outcome, causes or ["the places from the bottom changed"])
    return found


def _standing(zone: ZoneResult) -> str:
    return "excluded" if not zone.eligible else "without data for the year" if zone.no_data else "ranked"


def _signed(value: Decimal) -> str:
    return ("+" if value > 0 else "") + _num(value)


def _inputs_changed(before: Result, after: Result) -> tuple[str, ...]:
    """Inputs whose digests differ; the rule file is compared as one, whatever its path (diff --rules)."""
    def digests(result: Result) -> dict[str, tuple[str, str | None]]:
        return {("rule file" if d.role == "rules" else d.path): (d.path, d.sha256) for d in result.inputs}

    old, new = digests(before), digests(after)
    found = []
    for key in sorted(set(old) | set(new), key=lambda k: (k != "rule file", k)):
        a, b = old.get(key), new.get(key)
        if a is None:
            found.append(f"{b[0]}: added")
        elif b is None:
            found.append(f"{a[0]}: removed")
        elif a[1] != b[1]:
            shown = a[0] if a[0] == b[0] else f"{a[0]} → {b[0]}"
            found.append(f"{shown}: sha256 {(a[1] or 'none')[:12]}… → {(b[1] or 'none')[:12]}…")
    return tuple(found)
