"""Deciding what each zone owes under a scheme's duties: done, late, overdue or due, with the report
that proves it (the duties themselves are parsed by policykb.rules.duties)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Iterable, Sequence

from rdflib import Literal, URIRef

from ..errors import RuleError
from ..kb.load import KnowledgeBase
from ..kb.queries import parse_query_file, run
from ..namespace import curie
from ..rules.duties import Duty

DONE, LATE, OVERDUE, DUE = "done", "late", "overdue", "due"


@dataclass(frozen=True)
class Report:
    """An evidence item that answers a duty: where it was imported from and when it was sent."""

    evidence: str
    date: date
    ledger_file: str | None
    ledger_row: int | None

    @property
    def where(self) -> str:
        return f"{self.ledger_file}:{self.ledger_row}" if self.ledger_file else curie(URIRef(self.evidence))


@dataclass(frozen=True)
class DutyStatus:
    """What one zone has done about one duty for one period, as of a day."""

    zone: str
    zone_label: str
    duty: str
    duty_name: str
    kind: str
    period: str
    year: int
    quarter: int | None
    due: date
    status: str  # done | late | overdue | due
    report: Report | None  # the first report sent by the day asked about
    source: str  # the clause


def duty_status(kb: KnowledgeBase, duties: Sequence[Duty], zones: Iterable[str] | None, year: int,
                as_of: date) -> list[DutyStatus]:
    """Per zone, duty and period of `year`: done, late, overdue or due as of the day `as_of`.

    `zones` restricts the answer to those zones (IRIs); None means every zone a duty's clause obliges.
    A report dated after `as_of` had not been sent on that day and does not count.
    """
    wanted = None if zones is None else {str(z) for z in zones}
    obliged_query = parse_query_file(kb.layout.queries / "duty-zones.rq", "queries/duty-zones.rq")
    reports_query = parse_query_file(kb.layout.queries / "duty-reports.rq", "queries/duty-reports.rq")
    found = []
    for order, duty in enumerate(duties):
        obliged = {str(r.zone): str(r.label) if r.label is not None else curie(r.zone)
                   for r in run(kb.store, obliged_query, {"clause": duty.source})}
        if not obliged:
            raise RuleError(f"no zone is obliged by the clause {curie(duty.source)}", location=duty.location,
                            hint="name a clause of the knowledge base whose pkb:responsibleUnit is a collective of "
                                 "zones (pkb:zoneType), e.g. doc:zj-ftzo-2022-0505/mechanism/2")
        reports = _reports(kb, reports_query, duty, year, as_of)
        for zone, label in obliged.items():
            if wanted is not None and zone not in wanted:
                continue
            for period in duty.periods(year):
                report = reports.get((zone, period.quarter))
                found.append((zone, order, period.start, DutyStatus(
                    zone=zone, zone_label=label, duty=duty.id, duty_name=duty.name, kind=duty.kind,
                    period=period.label, year=period.year, quarter=period.quarter, due=period.due,
                    status=_status(period.due, report, as_of), report=report, source=str(duty.source))))
    return [status for *_, status in sorted(found, key=lambda f: f[:3])]


def _reports(kb: KnowledgeBase, query, duty: Duty, year: int, as_of: date) -> dict[tuple[str, int | None], Report]:
    """The first report per zone and quarter (None for a yearly duty) sent by `as_of`.

    Reports are dated (shape:DatedReport); one without a date cannot show when it was sent and is passed over.
    """
    first: dict[tuple[str, int | None], Report] = {}
    for row in run(kb.store, query, {"kind": duty.evidence_class, "year": Literal(year)}):
        sent = row.date.toPython() if row.date is not None else None
        if not isinstance(sent, date) or sent > as_of:
            continue
        quarter = int(row.quarter) if duty.every == "quarter" and row.quarter is not None else None
        if duty.every == "quarter" and quarter is None:
            continue
        report = Report(str(row.evidence), sent, str(row.file) if row.file is not None else None,
                        int(row.row) if row.row is not None else None)
        key = (str(row.zone), quarter)
        if key not in first or report.date < first[key].date:
            first[key] = report
    return first


def _status(due: date, report: Report | None, as_of: date) -> str:
    if report is not None:
        return DONE if report.date <= due else LATE
    return OVERDUE if as_of > due else DUE

