"""What the endpoint sends back: a Reply (status, body, type, headers), and the reply to every kind of failure.

Replies are made where the work is done — a worker process for anything that reads the store, the
web process for the protocol's own refusals — and travel between them pickled, so they hold only
bytes and strings. Every error body is `policykb: message` and a `hint:` line, never a traceback.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import PolicyKBError, ServiceRefused, UpdateRefused
from .formats import NotAcceptable

TEXT = "text/plain; charset=utf-8"
HTML = "text/html; charset=utf-8"


@dataclass(frozen=True)
class Reply:
    """One HTTP answer."""

    status: int
    body: bytes = b""
    content_type: str = TEXT
    headers: dict = field(default_factory=dict)


class QueryTimeout(Exception):
    """The query's worker ran past the time limit and was stopped."""


class Busy(Exception):
    """Every worker stayed busy for as long as a request may wait."""


class WorkerLost(Exception):
    """The query's worker died before it answered (it ran out of the memory a query may use, or crashed)."""


def error(status: int, message: str, hint: str | None = None, headers: dict | None = None) -> Reply:
    text = f"policykb: {message}\n" + (f"  hint: {hint}\n" if hint else "")
    return Reply(status, text.encode("utf-8"), TEXT, dict(headers or {}))


def read_only() -> Reply:
    return error(403, "this endpoint is read-only: SPARQL Update (INSERT, DELETE, LOAD, CLEAR, …) is refused",
                 "change the knowledge base by editing its Turtle files or importing ledgers; the server follows them")


def failure(exc: BaseException, *, timeout: float | None = None, retry_after: int = 1,
            query_memory: int | None = None) -> Reply:
    """The protocol's answer to a request that could not be answered."""
    if isinstance(exc, QueryTimeout):
        limit = f" of {timeout:g} s" if timeout else ""
        return error(503, f"the query ran past the time limit{limit} and was stopped",
                     "narrow it (a more selective pattern, LIMIT, fewer OPTIONALs) or ask the administrator for a "
                     "longer --timeout")
    if isinstance(exc, Busy):
        return error(503, "the server is busy with other queries", f"try again in {retry_after} s",
                     {"Retry-After": str(retry_after)})
    if isinstance(exc, WorkerLost):
        limit = f" ({query_memory} MiB)" if query_memory else ""
        return error(503, f"the query was stopped: it needed more memory than a query may use{limit}, or its "
                          "worker failed", "narrow it (LIMIT, fewer variables in ORDER BY or GROUP BY), or ask the "
                                           "administrator for a larger --query-memory")
    if isinstance(exc, MemoryError):
        return error(503, "the answer needed more memory than a query may use",
                     "narrow the query, or ask the administrator for a larger --query-memory")
    if isinstance(exc, NotAcceptable):
        return error(406, str(exc), "ask for one of the formats named")
    if isinstance(exc, PolicyKBError):
        status = 403 if isinstance(exc, (UpdateRefused, ServiceRefused)) else 400
        return Reply(status, f"policykb: {exc}\n".encode("utf-8"))
    return error(500, f"the request could not be answered: {type(exc).__name__}: {exc}",
                 "report this with the query that caused it")
