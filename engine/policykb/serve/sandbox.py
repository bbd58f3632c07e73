"""Run one query under a time limit and without network access, in the calling thread.

Python cannot kill a thread, and rdflib offers no cancellation, so a watchdog timer raises QueryTimeout
inside the running thread (CPython's PyThreadState_SetAsyncExc) when the limit passes; the evaluation
unwinds at its next bytecode. While a guarded call runs, an audit hook refuses every outgoing connection
from that thread (socket connect, name lookup, urllib), so that no query — whatever path rdflib takes,
SERVICE included — can make the process reach another address unless the caller allows it.
"""

from __future__ import annotations

import ctypes
import sys
import threading
from typing import Callable, TypeVar

T = TypeVar("T")

_NETWORK_EVENTS = frozenset({"socket.connect", "socket.getaddrinfo", "socket.gethostbyname", "socket.gethostbyaddr",
                             "socket.sendto", "socket.sendmsg", "urllib.Request", "http.client.connect"})
_state = threading.local()
_hook_lock = threading.Lock()
_hook_installed = False
_RETRY_SECONDS = 0.05  # re-raise until the thread has left the guarded call (rdflib has a few bare `except:`)
_MAX_RETRIES = 200


class QueryTimeout(BaseException):
    """The guarded call ran past its time limit (a BaseException, so that `except Exception` cannot swallow it)."""


class NetworkRefused(PermissionError):
    """A guarded call tried to connect out."""


def _audit(event: str, args) -> None:
    if event in _NETWORK_EVENTS and getattr(_state, "offline", False):
        raise NetworkRefused(f"policykb refuses to connect out while running a query ({event})")


def _install_hook() -> None:
    global _hook_installed
    with _hook_lock:
        if not _hook_installed:
            sys.addaudithook(_audit)  # audit hooks cannot be removed; this one acts only inside guarded calls
            _hook_installed = True


def run_guarded(call: Callable[[], T], seconds: float | None, *, allow_network: bool = False) -> T:
    """Return call(); raise QueryTimeout if it runs past `seconds`, NetworkRefused if it tries to connect out."""
    _install_hook()
    thread = threading.get_ident()
    lock = threading.Lock()
    inside = [True]

    def fire() -> None:
        for _ in range(_MAX_RETRIES):
            with lock:
                if not inside[0]:
                    return
                ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread), ctypes.py_object(QueryTimeout))
            stop.wait(_RETRY_SECONDS)

    stop = threading.Event()
    timer = threading.Timer(seconds, fire) if seconds else None
    previous = getattr(_state, "offline", False)
    _state.offline = not allow_network
    if timer:
        timer.daemon = True
        timer.start()
    try:
        return call()
    finally:
        with lock:
            inside[0] = False
        stop.set()
        if timer:
            timer.cancel()
        _state.offline = previous
