"""`policykb serve`: a read-only SPARQL 1.1 Protocol endpoint over the knowledge base, and its pages.

`/sparql` takes queries by GET and POST (form-encoded or application/sparql-query) and answers in SPARQL
JSON, XML, CSV, TSV or Turtle, or for CONSTRUCT/DESCRIBE in Turtle, JSON-LD, N-Triples or RDF/XML, by
content negotiation or a `format` parameter; without a query it gives its service description. Updates
are refused; SERVICE is refused unless the server was started to allow it, and no worker can connect out
otherwise; FROM / FROM NAMED and the protocol's default-graph-uri / named-graph-uri may name only graphs
the knowledge base holds. Relative IRIs in a query resolve against https://w3id.org/policykb/.

Queries run in worker processes (serve.workers) under a time limit that stops them, with a row cap. The
server follows the knowledge base's files: about once a second it checks whether they (or the store's
current generation) changed, brings the store in step, and moves new queries to the new data.
Extra pages (the report pages) are mounted from a small route table: `ExtraPage(path, render)`.
"""

from __future__ import annotations

import asyncio
import socket
import sys
import threading
from dataclasses import dataclass
from typing import Awaitable, Callable, Mapping, Sequence

import uvicorn

from ..errors import PolicyKBError, UsageError
from ..kb import sync
from ..kb.generations import Generations
from ..kb.load import KnowledgeBase, load
from ..kb.queries import library
from .app import build_app
from .jobs import Job, Limits
from .replies import Busy, QueryTimeout, Reply, WorkerLost
from .workers import ClientGone, Pool, StoreSpec, WorkerFailed

LOOPBACK = ("127.0.0.1", "localhost", "::1")


@dataclass(frozen=True)
class Settings:
    """How the endpoint limits each request."""

    timeout: float | None = 30.0  # seconds per query, parsing and writing the answer included; None: no limit
    max_rows: int = 10_000  # rows (or triples) per answer
    allow_service: bool = False  # let SERVICE call other endpoints
    max_body: int = 1 << 20  # bytes of a POST body
    read_timeout: float = 10.0  # seconds a request body may take to arrive
    workers: int = 2  # worker processes, so queries evaluated at once
    queue_wait: float = 5.0  # seconds a request waits for a free worker before 503 Retry-After
    query_memory: int | None = 2048  # MiB a worker may use beyond its store; None: no limit
    watch_interval: float = 1.0  # seconds between checks for changed files; 0: never check
    quiet: bool = False  # no request log on stderr


@dataclass(frozen=True)
class ExtraPage:
    """A page mounted beside the endpoint: `render(kb, params)` returns an HTML document. It runs in a worker,
    under the time limit, so it must be a module-level function (workers import it by name)."""

    path: str
    render: Callable[[KnowledgeBase, Mapping[str, str]], str]
    title: str = ""


class SparqlService:
    """The endpoint's state: the knowledge base it serves (following its files), the library and the workers."""

    def __init__(self, kb: KnowledgeBase, settings: Settings | None = None, pages: Sequence[ExtraPage] = (), *,
                 own: bool = False):
        self.kb = kb
        self.settings = settings or Settings()
        self.pages = tuple(pages)
        self.layout = kb.layout
        self.library = library(kb.layout.queries)
        self.spec = StoreSpec.of(kb)
        self.pool = Pool(self.spec, Limits(self.settings.max_rows, self.settings.allow_service),
                         size=self.settings.workers, timeout=self.settings.timeout,
                         queue_wait=self.settings.queue_wait, query_memory=self.settings.query_memory, log=self.log)
        self.switches = 0  # how often the server moved to new data
        # a knowledge base this service may close: one it opened, or the one it was given to own (its pin
        # would otherwise keep an old generation of the store on disk for as long as the server runs)
        self._owned: KnowledgeBase | None = kb if own else None
        self._refused: tuple | None = None  # the files of the last change that did not load
        self._watcher: asyncio.Task | None = None

    def log(self, message: str) -> None:
        print(f"policykb: {message}", file=sys.stderr)

    async def start(self) -> None:
        try:
            await self.pool.start()
        except WorkerFailed as exc:
            raise PolicyKBError(f"the workers could not open the knowledge base: {exc}",
                                hint="run `policykb info` with the same --kb to see what is wrong") from None
        if self.settings.watch_interval:
            self._watcher = asyncio.get_running_loop().create_task(self._watch())

    async def stop(self) -> None:
        if self._watcher is not None:
            self._watcher.cancel()
        await self.pool.close()
        if self._owned is not None:
            self._owned.close()
            self._owned = None

    async def run(self, job: Job, disconnected: Callable[[], Awaitable[bool]] | None = None) -> Reply:
        """A job's reply from a worker, or the protocol's reply when none could give it in time."""
        try:
            return await self.pool.run(job, disconnected=disconnected)
        except (Busy, QueryTimeout, WorkerLost) as exc:
            return self.pool.reply_to(exc)
        except ClientGone:
            return Reply(499)  # never reaches anyone: the client has gone

    # ---- following the files ----------------------------------------------------------------

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(self.settings.watch_interval)
            try:
                changed = await asyncio.to_thread(self._changed)
                if changed:
                    await self._follow(changed)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 — the server goes on with the data it has
                self.log(f"could not check the knowledge base's files: {exc}")

    def _changed(self) -> tuple | None:
        """The files' digests when they (or the store's current generation) differ from what is served."""
        digests = tuple(sorted((s.name, s.digest) for s in sync.scan(self.layout).sources))
        served = tuple(sorted((f.name, f.digest) for f in self.spec.files))
        if digests != served and digests != self._refused:
            return digests
        if self.spec.kind == "disk":
            current = Generations(self.layout.state_dir / "oxigraph").current()
            if current is not None and str(current) != self.spec.location:
                return digests
        return None

    async def _follow(self, digests: tuple) -> None:
        store = {"disk": "disk", "memory": "memory"}.get(self.spec.kind, self.spec.location)
        try:
            kb = await asyncio.to_thread(load, self.layout, store=store, doing="serve the changed files")
        except PolicyKBError as exc:
            self._refused = digests
            self.log(f"the files changed but do not load, so the server goes on with the data it had:\n{exc}")
            return
        self._refused = None
        spec = StoreSpec.of(kb)
        if spec == self.spec:
            kb.close()
            return
        await self.pool.switch(spec)
        previous, self._owned, self.kb, self.spec = self._owned, kb, kb, spec
        self.switches += 1
        if previous is not None:
            previous.close()  # the workers pin the generation they read; the server no longer needs it
        if not self.settings.quiet:
            self.log(f"the knowledge base changed; new queries read {spec.location if spec.kind == 'disk' else 'the new files'}")


class Server:
    """The endpoint on a listening socket, served by uvicorn: serve_forever() in the foreground, or start()
    in a thread and shutdown() (tests, embedding)."""

    def __init__(self, service: SparqlService, host: str, port: int):
        self.service = service
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.socket = socket.socket(family, socket.SOCK_STREAM)
        try:
            self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self.socket.bind((host, port))
            self.socket.listen(128)
        except OSError as exc:
            self.socket.close()
            raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror or exc}",
                             hint="choose another port with --port (0 picks a free one) or another --host") from None
        self.socket.set_inheritable(False)
        self.host, self.port = host, self.socket.getsockname()[1]
        quiet = service.settings.quiet
        config = uvicorn.Config(build_app(service, _allowed_hosts(host, self.port)), lifespan="off",
                                log_level="warning" if quiet else "info", access_log=not quiet, server_header=False,
                                timeout_keep_alive=15, limit_concurrency=256, timeout_graceful_shutdown=2,
                                h11_max_incomplete_event_size=64 * 1024)
        self._uvicorn = uvicorn.Server(config)
        self._thread: threading.Thread | None = None
        self._failure: BaseException | None = None
        self._ready = threading.Event()

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/"

    async def _main(self) -> None:
        try:
            await self.service.start()
        except BaseException as exc:
            self._failure = exc
            self._ready.set()
            raise
        try:
            task = asyncio.get_running_loop().create_task(self._uvicorn.serve(sockets=[self.socket]))
            while not self._uvicorn.started and not task.done():
                await asyncio.sleep(0.01)
            self._ready.set()
            await task
        finally:
            self._ready.set()
            await self.service.stop()

    def serve_forever(self) -> None:
        """Serve until Ctrl-C (or SIGTERM); errors while starting (the workers cannot open the store) are raised."""
        try:
            asyncio.run(self._main())
        finally:
            self.socket.close()

    def start(self) -> "Server":
        """Serve in a background thread; returns once the server answers requests."""
        self._thread = threading.Thread(target=self._run_quietly, name="policykb-serve", daemon=True)
        self._thread.start()
        self._ready.wait()
        if self._failure is not None:
            raise self._failure
        return self

    def _run_quietly(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:  # noqa: BLE001 — start() raises it in the caller's thread
            self._failure = self._failure or exc
            self._ready.set()

    def shutdown(self) -> None:
        self._uvicorn.should_exit = True
        if self._thread is not None:
            self._thread.join(30)
        self.socket.close()


def make_server(kb: KnowledgeBase, host: str = "127.0.0.1", port: int = 7878, settings: Settings | None = None,
                pages: Sequence[ExtraPage] = (), *, own: bool = False) -> Server:
    """A server ready to serve_forever() or start(); port 0 picks a free port (see .url). With `own`, the server
    closes `kb` once it has moved to newer data (or stops)."""
    return Server(SparqlService(kb, settings, pages, own=own), host, port)


def _allowed_hosts(host: str, port: int) -> set[str] | None:
    """Host headers a loopback server accepts (a guard against DNS rebinding); None: any."""
    if host not in LOOPBACK:
        return None
    return {f"{name}:{port}" for name in ("127.0.0.1", "localhost", "[::1]")} | {"127.0.0.1", "localhost", "[::1]"}
