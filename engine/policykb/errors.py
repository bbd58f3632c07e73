"""One error type per kind of user mistake, each carrying where it happened and what to write instead.

Every error that reaches the command line is a PolicyKBError: it prints as
``FILE:LINE:COL: message`` followed by a hint, and the command exits with status 1 (2 for usage).
"""

from __future__ import annotations

import errno
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Location:
    """A place in a user's file: path plus optional 1-based line and column (or row and column name)."""

    file: str | None = None
    line: int | None = None
    column: int | str | None = None

    def __str__(self) -> str:
        parts = [self.file or "<input>"]
        if self.line is not None:
            parts.append(str(self.line))
            if self.column is not None:
                parts.append(str(self.column))
        return ":".join(parts)


class PolicyKBError(Exception):
    """Base class: a problem in the user's input, reported with location and hint."""

    exit_code = 1
    kind = "error"

    def __init__(self, message: str, *, location: Location | None = None, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.location = location
        self.hint = hint

    def __str__(self) -> str:
        text = f"{self.location}: {self.message}" if self.location else self.message
        if self.hint:
            text += f"\n  hint: {self.hint}"
        return text

    def as_dict(self) -> dict:
        loc = self.location or Location()
        return {
            "kind": self.kind,
            "file": loc.file,
            "line": loc.line,
            "column": loc.column,
            "message": self.message,
            "hint": self.hint,
        }


class UsageError(PolicyKBError):
    """The command line itself is wrong (unknown scheme, missing argument)."""

    exit_code = 2
    kind = "usage"


class TurtleSyntaxError(PolicyKBError):
    """A Turtle file in the ontology or knowledge base does not parse."""

    kind = "turtle-syntax"


class Several(PolicyKBError):
    """Several problems of one kind, all reported at once: each on its own lines, then what they add up to."""

    def __init__(self, errors: list, summary: str):
        super().__init__(summary)
        self.errors = errors

    def __str__(self) -> str:
        return "\n".join([str(e) for e in self.errors] + [self.message])


class TurtleSyntaxErrors(Several):
    """Several Turtle files (or places) that do not parse, all reported at once."""

    kind = "turtle-syntax"

    def __init__(self, errors: list[TurtleSyntaxError]):
        super().__init__(errors, f"{len(errors)} Turtle file(s) do not parse")


class LayoutError(PolicyKBError):
    """A knowledge-base directory does not have the expected layout."""

    kind = "layout"


@dataclass(frozen=True)
class Violation:
    """One failed check of the knowledge base, in words an office worker can act on."""

    message: str
    focus: str | None = None
    focus_label: str | None = None
    path: str | None = None
    value: str | None = None
    severity: str = "Violation"
    file: str | None = None
    line: int | None = None
    shape: str | None = None
    check: str = "shacl"

    def __str__(self) -> str:
        where = self.file or "<knowledge base>"
        if self.line:
            where += f":{self.line}"
        subject = self.focus or ""
        if self.focus_label:
            subject += f" ({self.focus_label})"
        head = f"{where}: {self.severity.lower()}: {subject}" if subject else f"{where}: {self.severity.lower()}"
        if self.path:
            head += f" — {self.path}"
        text = f"{head}\n  {self.message}"
        if self.value:
            text += f"\n  value found: {self.value}"
        return text


class ValidationError(PolicyKBError):
    """The knowledge base breaks its shapes or integrity checks."""

    kind = "validation"

    def __init__(self, violations: list[Violation], *, context: str = "the knowledge base"):
        count = sum(1 for v in violations if v.severity == "Violation")
        super().__init__(f"{context} has {count} violation(s)")
        self.violations = violations

    def __str__(self) -> str:
        lines = [str(v) for v in self.violations]
        lines.append(self.message)
        return "\n".join(lines)


class RuleError(PolicyKBError):
    """A rule file is malformed, refers to something unknown, or breaks the rubric's arithmetic."""

    kind = "rule"


class RuleErrors(Several):
    """Several problems found in one rule file; all are reported at once."""

    kind = "rule"

    def __init__(self, errors: list[RuleError]):
        super().__init__(errors, f"{len(errors)} problem(s) in rule file")


class LedgerError(PolicyKBError):
    """A ledger (台账) row or cell cannot be imported."""

    kind = "ledger"


class LedgerErrors(PolicyKBError):
    """Every problem found in the ledgers of one import, reported at once (the first `limit`, then a count)."""

    kind = "ledger"

    def __init__(self, errors: list[LedgerError], *, limit: int = 100):
        self.errors = list(errors)
        self.limit = limit
        files = {e.location.file for e in self.errors if e.location and e.location.file}
        noun = "file" if len(files) == 1 else "files"  # a ledger or a statistics table
        super().__init__(f"{len(self.errors)} problem(s) in {max(len(files), 1)} {noun}; nothing was imported")

    def __str__(self) -> str:
        lines = [self.message + ":"] + [str(e) for e in self.errors[: self.limit]]
        if len(self.errors) > self.limit:
            lines.append(f"… and {len(self.errors) - self.limit} more problem(s), not shown: correct these first, "
                         "then run the command again to see the rest")
        return "\n".join(lines)


class QueryError(PolicyKBError):
    """A SPARQL query does not parse, or a parameter is missing or of the wrong type."""

    kind = "query"


class UpdateRefused(QueryError):
    """A SPARQL Update (INSERT, DELETE, LOAD, CLEAR, …) where only queries are run."""

    kind = "update-refused"


class ServiceRefused(QueryError):
    """A SERVICE call to another endpoint, which would make policykb connect to an arbitrary address."""

    kind = "service-refused"


class UnknownGraph(QueryError):
    """FROM / FROM NAMED (or the protocol's graph parameters) name a graph the knowledge base does not hold."""

    kind = "unknown-graph"


class BusyError(PolicyKBError):
    """Another policykb command holds the knowledge base and did not let go in time."""

    kind = "busy"


class StorageError(PolicyKBError):
    """The disk refused a read or write: full, read-only, no permission. Nothing was changed."""

    kind = "storage"

    _WHY = {
        errno.ENOSPC: ("the disk is full", "free some space on that disk and run the command again"),
        errno.EDQUOT: ("the disk quota is used up", "free some space or ask for a larger quota, then run the command again"),
        errno.EROFS: ("the folder is on a read-only file system", "work on a writable copy (--kb DIR)"),
        errno.EACCES: ("permission denied", "ask for write permission on the folder, or work on a copy (--kb DIR)"),
        errno.EPERM: ("permission denied", "ask for write permission on the folder, or work on a copy (--kb DIR)"),
    }

    @classmethod
    def from_os(cls, exc: OSError, path, doing: str, *, changed: bool = False) -> "StorageError":
        """An OSError in words people act on: what failed, where, and that nothing changed (unless `changed`)."""
        why, hint = cls._WHY.get(exc.errno, (exc.strerror or str(exc), "check the disk and the folder, then run the command again"))
        tail = "" if changed else "; nothing was changed"
        return cls(f"cannot {doing}: {why}{tail}", location=Location(str(path)), hint=hint)


class EngineError(PolicyKBError):
    """The rule engine lost or failed to process facts; the result would be wrong, so it stops."""

    kind = "engine"


@dataclass
class ErrorList:
    """Collects errors of one kind so that a check can report all of them, not only the first."""

    errors: list = field(default_factory=list)

    def add(self, error: PolicyKBError) -> None:
        self.errors.append(error)

    def __bool__(self) -> bool:
        return bool(self.errors)
