"""Keep a worker process from connecting out: nothing a query does may reach another address.

Queries are checked before they run (a SERVICE call is refused unless the administrator allows it), and
this is the second wall, for the whole worker process: an audit hook refuses every outgoing connection
Python makes (socket connect, name lookup, urllib) except to the addresses the worker must reach (a remote
store's server), and, where the operating system lets the process do it (root, or CAP_SYS_ADMIN), the
worker moves into a network namespace of its own, which holds nothing but an unconfigured loopback
device, so that not even Oxigraph's own HTTP client can reach anything.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import socket
import sys
from typing import Collection

_NETWORK_EVENTS = frozenset({"socket.connect", "socket.getaddrinfo", "socket.gethostbyname", "socket.gethostbyaddr",
                             "socket.sendto", "socket.sendmsg", "urllib.Request", "http.client.connect"})
_CLONE_NEWNET = 0x40000000
_allowed: set | None = None  # None: the hook is not installed; otherwise the (host, port) pairs allowed


class NetworkRefused(PermissionError):
    """A worker tried to connect out."""


def _audit(event: str, args) -> None:
    if _allowed is None or event not in _NETWORK_EVENTS:
        return
    if event == "socket.connect" and isinstance(args[1], tuple) and tuple(args[1][:2]) in _allowed:
        return
    if event == "socket.getaddrinfo" and (args[0], args[1]) in _allowed:
        return
    if event == "http.client.connect" and (args[1], args[2]) in _allowed:
        return
    if event == "urllib.Request" and _allowed:
        return  # the connection it makes is checked at socket.connect
    raise NetworkRefused(f"policykb refuses to connect out while serving queries ({event})")


def go_offline(allowed: Collection[tuple[str, int]] = ()) -> bool:
    """Refuse every outgoing connection of this process from now on, except to `allowed` (host, port) pairs
    (their addresses are looked up now). Returns True when the process also got a network namespace of its own
    (only when nothing is allowed). Irreversible: call it in a worker process, never in the server's."""
    global _allowed
    pairs = set()
    for host, port in allowed:
        pairs.add((host, port))
        try:
            pairs.update((info[4][0], port) for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM))
        except OSError:
            pass  # the connection will fail on its own, with the store's message
    isolated = not pairs and _unshare_network()
    _allowed = pairs
    sys.addaudithook(_audit)
    return isolated


def _unshare_network() -> bool:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        return libc.unshare(_CLONE_NEWNET) == 0
    except (OSError, AttributeError):
        return False
