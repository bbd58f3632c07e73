"""Reporting duties (报送要求) as rules over the knowledge base.

A scheme file declares the reports its document asks of the zones under the top-level key `duties:`,
one item per duty, as data office staff can read and change:

    duties:
      - id: quarterly-progress                          # letters, digits, hyphens; unique in the file
        name: 报送季度推进情况
        source: doc:zj-ftzo-2022-0505/mechanism/2        # the clause that imposes it (prefixed name or IRI)
        kind: progress-report                           # the evidence kind that fulfils it (its ledger code)
        every: quarter                                  # quarter | year
        due: 0                                          # quarter: days after the quarter's last day; year: MM-DD
        from: 2022-05-05                                # optional: periods due before this day are not owed
        interpretation: …                               # optional: how an unclear text is read

Which zones owe a duty follows from its clause: the clause's responsible units that stand for zones
(pkb:zoneType, queries/duty-zones.rq). Whether a zone has reported follows from its evidence ledgers: a
report of the duty's kind for the zone, year (and quarter), dated on or before the day of the answer
(queries/duty-reports.rq). Per zone, duty and period the status is one of

    done     a report was sent on or before the due date
    late     the first report was sent after the due date
    overdue  no report yet, and the due date has passed
    due      no report yet, and the due date has not passed
"""

from __future__ import annotations

import calendar
import difflib
import re
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import yaml
from rdflib import URIRef

from ..errors import Location, QueryError, RuleError, RuleErrors, UsageError
from ..kb.layout import Layout
from ..namespace import expand_iri
from . import yamlfile

EVERY = ("quarter", "year")
KEYS = ("id", "name", "source", "kind", "every", "due", "from", "interpretation")
REQUIRED = ("id", "name", "source", "kind", "every", "due")
_ID = re.compile(r"[a-z0-9][a-z0-9-]*")
_MONTH_DAY = re.compile(r"(\d{2})-(\d{2})")


@dataclass(frozen=True)
class Period:
    """One period a duty falls due for: a quarter or a year, and its due date."""

    year: int
    quarter: int | None  # None for a yearly duty
    start: date
    end: date
    due: date

    @property
    def label(self) -> str:
        return f"{self.year}-Q{self.quarter}" if self.quarter else str(self.year)


@dataclass(frozen=True)
class Duty:
    """A report the scheme's document asks of each zone its clause makes responsible."""

    id: str
    name: str
    source: URIRef  # the clause that imposes the duty
    kind: str  # the ledger code of the evidence kind that fulfils it, e.g. progress-report
    evidence_class: URIRef  # the class of that kind, e.g. pkb:ProgressReport
    every: str  # quarter | year
    due_days: int | None  # quarterly duties: days after the quarter's last day
    due_on: tuple[int, int] | None  # yearly duties: (month, day)
    starts: date | None  # periods due before this day are not owed
    interpretation: str | None
    location: Location  # where the duty is declared

    def periods(self, year: int) -> tuple[Period, ...]:
        """The periods of `year` the duty is owed for, in order."""
        if self.every == "year":
            month, day = self.due_on
            found = [Period(year, None, date(year, 1, 1), date(year, 12, 31), date(year, month, day))]
        else:
            found = []
            for quarter in range(1, 5):
                last = 3 * quarter
                end = date(year, last, calendar.monthrange(year, last)[1])
                found.append(Period(year, quarter, date(year, last - 2, 1), end, end + timedelta(days=self.due_days)))
        return tuple(p for p in found if self.starts is None or p.due >= self.starts)


# ---------------------------------------------------------------------------------------------
# Reading duties
# ---------------------------------------------------------------------------------------------

def load_duties(path: Path, kinds: dict[str, URIRef], *, shown: str | None = None) -> tuple[Duty, ...]:
    """The duties of a scheme file (none when it has no `duties:`); errors name the file, line and column."""
    shown = shown or str(path)
    root = yamlfile.load(Path(path), shown)
    if not isinstance(root, yaml.MappingNode):
        raise RuleError("a scheme file is a mapping with the keys scheme: and duties:",
                        location=_at(shown, root) if root is not None else Location(shown),
                        hint="start the file with `scheme:` (id, name, year, source) and list the duties under `duties:`")
    for key, value in root.value:
        if key.value == "duties":
            return parse_duties(value, shown, kinds)
    return ()


def parse_duties(node: yaml.Node, file: str, kinds: dict[str, URIRef]) -> tuple[Duty, ...]:
    """The duties of a `duties:` node composed with yaml.compose(…, Loader=yaml.SafeLoader).

    Evidence kinds are checked against `kinds` (ledger code → evidence class). Every duty with
    a problem is reported, each with its line and column: one problem raises RuleError, several RuleErrors.
    """
    if not isinstance(node, yaml.SequenceNode):
        raise RuleError("`duties` must be a list of duties", location=_at(file, node),
                        hint="write each duty as a list item starting with `- id: …`")
    duties: list[Duty] = []
    errors: list[RuleError] = []
    for item in node.value:
        try:
            duty = _duty(item, file, kinds)
        except RuleError as exc:
            errors.append(exc)
            continue
        if any(d.id == duty.id for d in duties):
            errors.append(RuleError(f"duty id {duty.id!r} is used twice", location=duty.location,
                                    hint="give each duty its own id"))
            continue
        duties.append(duty)
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise RuleErrors(errors)
    return tuple(duties)


def _duty(node: yaml.Node, file: str, kinds: dict[str, URIRef]) -> Duty:
    if not isinstance(node, yaml.MappingNode):
        raise RuleError("a duty must be a mapping of keys to values", location=_at(file, node),
                        hint=f"write `- id: …` followed by the keys {', '.join(REQUIRED)}")
    fields: dict[str, yaml.Node] = {}
    for key_node, value_node in node.value:
        key = key_node.value
        if key not in KEYS:
            close = difflib.get_close_matches(str(key), KEYS, n=1)
            raise RuleError(f"unknown key {key!r} in a duty", location=_at(file, key_node),
                            hint=(f"did you mean {close[0]!r}? " if close else "") + f"a duty's keys are: {', '.join(KEYS)}")
        if key in fields:
            raise RuleError(f"the key {key!r} appears twice in this duty", location=_at(file, key_node),
                            hint="keep one value per key")
        fields[key] = value_node
    missing = [k for k in REQUIRED if k not in fields]
    if missing:
        raise RuleError(f"the duty has no {missing[0]!r}", location=_at(file, node),
                        hint=f"every duty needs the keys {', '.join(REQUIRED)}")
    text = {key: _scalar(file, key, value) for key, value in fields.items()}
    if not _ID.fullmatch(text["id"]):
        raise RuleError(f"duty id {text['id']!r} is not a plain id", location=_at(file, fields["id"]),
                        hint="use lower-case letters, digits and hyphens, e.g. quarterly-progress")
    try:
        source = expand_iri(text["source"], "source")
    except QueryError:
        raise RuleError(f"source {text['source']!r} is not an IRI", location=_at(file, fields["source"]),
                        hint="name the clause by its IRI or prefixed name, e.g. doc:zj-ftzo-2022-0505/mechanism/2") from None
    if text["kind"] not in kinds:
        raise RuleError(f"unknown evidence kind {text['kind']!r}", location=_at(file, fields["kind"]),
                        hint=f"write one of: {', '.join(sorted(kinds))}")
    every = text["every"]
    if every not in EVERY:
        raise RuleError(f"every: {every!r} is not a period", location=_at(file, fields["every"]),
                        hint=f"write one of: {', '.join(EVERY)}")
    due_days, due_on = _due(file, fields["due"], every)
    starts = None
    if "from" in fields:
        try:
            starts = date.fromisoformat(text["from"])
        except ValueError:
            raise RuleError(f"from: {text['from']!r} is not a date", location=_at(file, fields["from"]),
                            hint="write the first day the duty applies as YYYY-MM-DD, e.g. 2022-05-05") from None
    return Duty(id=text["id"], name=text["name"], source=source, kind=text["kind"], evidence_class=kinds[text["kind"]],
                every=every, due_days=due_days, due_on=due_on, starts=starts,
                interpretation=text.get("interpretation"), location=_at(file, node))


def _due(file: str, node: yaml.ScalarNode, every: str) -> tuple[int | None, tuple[int, int] | None]:
    value = node.value.strip()
    if every == "quarter":
        if node.tag != "tag:yaml.org,2002:int" or not re.fullmatch(r"[0-9]{1,2}", value) or int(value) > 92:
            raise RuleError(f"due: {value!r} is not a number of days", location=_at(file, node),
                            hint="a quarterly duty is due a number of days (0 to 92) after the quarter's last day: "
                                 "0 for by the quarter's last day, 15 for within 15 days after it")
        return int(value), None
    match = _MONTH_DAY.fullmatch(value)
    valid = False
    if match:
        try:
            date(2001, int(match.group(1)), int(match.group(2)))  # a day that exists in every year
            valid = True
        except ValueError:
            pass
    if not valid:
        raise RuleError(f"due: {value!r} is not a day of the year", location=_at(file, node),
                        hint="a yearly duty is due on a day written MM-DD, e.g. 12-31 for the end of December "
                             "(not 02-29, which most years lack)")
    return None, (int(match.group(1)), int(match.group(2)))


def _scalar(file: str, key: str, node: yaml.Node) -> str:
    if not isinstance(node, yaml.ScalarNode) or not str(node.value).strip():
        raise RuleError(f"{key}: write a single value", location=_at(file, node),
                        hint=f"give `{key}` one value on its line, not a list, a mapping or nothing")
    return str(node.value).strip()


def _at(file: str, node: yaml.Node) -> Location:
    return Location(file, node.start_mark.line + 1, node.start_mark.column + 1)


def scheme_file(layout: Layout, scheme: str) -> Path:
    """The rule file of a scheme: rules/<scheme>.yaml."""
    files = {path.stem: path for path in layout.rule_files()}
    if scheme not in files:
        close = difflib.get_close_matches(scheme, list(files), n=1)
        raise UsageError(f"no scheme {scheme!r}",
                         hint=(f"did you mean {close[0]}? " if close else "")
                              + f"the schemes are the files of {layout.relative(layout.rules)}/: "
                              + (", ".join(sorted(files)) or "none"))
    return files[scheme]
