"""Worker processes that evaluate queries, so that the time limit really stops the work.

Oxigraph evaluates a query outside Python and takes no time limit, and an aggregate or ORDER BY does all
its work before the first row, so the only sure way to stop a query is to stop the process running it.
The pool keeps N worker processes, each with the knowledge base's store open; a request waits for an idle
one (at most `queue_wait` seconds, then Busy → 503 with Retry-After), hands it a job and waits for the
reply until the deadline. At the deadline — or when the client has gone away — the worker is killed
and a fresh one is started in its place, while the other workers go on serving other clients. A worker
may use at most `query_memory` MiB beyond what its store needs (RLIMIT_DATA); a query that wants more
kills its worker, which is replaced the same way.

A worker opens the store the knowledge base was opened with (StoreSpec): a disk generation, which it
pins and opens read-only; the same Turtle files loaded into a memory store of its own; or a SPARQL
server's URL. When the pool is switched to a new StoreSpec (the files changed), idle workers reopen at
once and busy ones after their current job, so new queries see the new data and running ones finish
on the old.

Workers are forked from a clean server process (multiprocessing's forkserver, with policykb preloaded),
never from the web process with its threads and open store, so a fresh worker starts in milliseconds
plus the time to open its store.
"""

from __future__ import annotations

import asyncio
import fcntl
import hashlib
import multiprocessing
import os
import resource
import signal
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Awaitable, Callable
from urllib.parse import urlsplit

from ..errors import StorageError
from ..kb.evidence import EvidenceIndex
from ..kb.generations import PIN, Pinned
from ..kb.layout import Layout
from ..kb.load import KnowledgeBase, SourceFile, load
from ..kb.store import OxigraphStore
from .jobs import Context, Job, Limits
from .replies import Busy, QueryTimeout, Reply, WorkerLost, failure
from .sandbox import go_offline

START_TIMEOUT = 600.0  # seconds a worker may take to open its store (a large memory store loads for minutes)
_MiB = 1 << 20


@dataclass(frozen=True)
class StoreSpec:
    """Where a worker finds the store: a disk generation, the files loaded into memory, or a server's URL."""

    layout: Layout
    kind: str  # disk | memory | remote
    location: str  # the generation's folder, "memory", or the URL
    files: tuple[SourceFile, ...] = ()
    version: str = ""  # what identifies the data: the generation, or the digests of the files

    @classmethod
    def of(cls, kb: KnowledgeBase) -> "StoreSpec":
        files = tuple(sorted(kb.files.values(), key=lambda f: f.name))
        digest = hashlib.sha256("\n".join(f"{f.name} {f.digest}" for f in files).encode("utf-8")).hexdigest()
        store = kb.store
        if isinstance(store, OxigraphStore):
            if store.path is not None:
                return cls(kb.layout, "disk", str(store.path), files, str(store.path))
            return cls(kb.layout, "memory", "memory", files, digest)
        return cls(kb.layout, "remote", store.location, files, f"{store.location} {digest}")


def pin_generation(path: Path) -> Pinned:
    """Pin one given generation (the one the server serves), as kb.generations pins the current one."""
    try:
        fd = os.open(path / PIN, os.O_RDONLY | os.O_CLOEXEC)
    except OSError as exc:
        raise StorageError.from_os(exc, path, "open the store's generation") from None
    fcntl.flock(fd, fcntl.LOCK_SH)
    return Pinned(path, fd)


def open_kb(spec: StoreSpec) -> KnowledgeBase:
    """The knowledge base as a worker reads it."""
    if spec.kind == "disk":
        path = Path(spec.location)
        pinned = pin_generation(path)
        try:
            store = OxigraphStore(path, read_only=True)
        except BaseException:
            pinned.release()
            raise
        return KnowledgeBase(spec.layout, store, {f.name: f for f in spec.files},
                             EvidenceIndex(spec.layout.state_dir / "evidence"), _pin=pinned)
    return load(spec.layout, store="memory" if spec.kind == "memory" else spec.location)


# ---- inside a worker ------------------------------------------------------------------------------

def _data_size() -> int:
    """This process's data segment in bytes (what RLIMIT_DATA limits)."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmData:"):
                return int(line.split()[1]) * 1024
    return 0


def _cap_memory(query_memory: int | None) -> None:
    """Let the process grow by at most query_memory MiB from here (None: no limit)."""
    hard = resource.getrlimit(resource.RLIMIT_DATA)[1]
    soft = resource.RLIM_INFINITY if not query_memory else _data_size() + query_memory * _MiB
    if hard != resource.RLIM_INFINITY:
        soft = hard if soft == resource.RLIM_INFINITY else min(soft, hard)
    resource.setrlimit(resource.RLIMIT_DATA, (soft, hard))


def _open(spec: StoreSpec, limits: Limits, query_memory: int | None) -> Context:
    _cap_memory(None)
    ctx = Context(open_kb(spec), limits)
    ctx.library  # noqa: B018 — read the library now, not in the first job's time
    _cap_memory(query_memory)
    return ctx


def worker_main(conn, spec: StoreSpec, limits: Limits, query_memory: int | None) -> None:
    """A worker's life: open the store, then answer jobs until told to stop or the server goes away."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole process group; the server stops us
    if not limits.allow_service:
        allowed = []
        if spec.kind == "remote":
            url = urlsplit(spec.location)
            allowed.append((url.hostname or "", url.port or (443 if url.scheme == "https" else 80)))
        go_offline(allowed)
    ctx = None
    try:
        ctx = _open(spec, limits, query_memory)
        conn.send(("ready", None))
        while True:
            try:
                kind, payload = conn.recv()
            except (EOFError, OSError):
                break  # the server is gone
            if kind == "job":
                reply = payload.run(ctx)
                try:
                    conn.send(("reply", reply))
                except MemoryError:
                    conn.send(("reply", failure(MemoryError())))
            elif kind == "open":
                ctx.kb.close()
                ctx = None
                ctx = _open(payload, limits, query_memory)
                conn.send(("ready", None))
            else:
                break
    except Exception as exc:  # noqa: BLE001 — the server reports it; a worker has no one else to tell
        try:
            conn.send(("failed", str(exc)))
        except OSError:
            pass
    finally:
        if ctx is not None:
            ctx.kb.close()


# ---- in the server --------------------------------------------------------------------------------

class WorkerDied(Exception):
    """The worker process ended without answering."""


class WorkerFailed(Exception):
    """A worker could not open the store (the message says why)."""


class ClientGone(Exception):
    """The client went away while its query ran; the worker was stopped and nothing is answered."""


_context = None


def _process_context():
    """The forkserver context, with policykb preloaded in the server process workers are forked from."""
    global _context
    if _context is None:
        _context = multiprocessing.get_context("forkserver")
        _context.set_forkserver_preload(["policykb.serve.workers"])
    return _context


class Worker:
    """One worker process and the server's end of its pipe; every method blocks (call them in a thread)."""

    def __init__(self, spec: StoreSpec, limits: Limits, query_memory: int | None):
        ctx = _process_context()
        self.spec = spec
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(target=worker_main, args=(child, spec, limits, query_memory), daemon=True,
                                   name="policykb-worker")
        self.process.start()
        child.close()

    def wait_ready(self) -> "Worker":
        try:
            if not self.conn.poll(START_TIMEOUT):
                raise WorkerFailed(f"the worker did not open the store in {START_TIMEOUT:g} s")
            kind, payload = self.conn.recv()
        except (EOFError, OSError):
            raise WorkerFailed("the worker stopped while opening the store") from None
        if kind != "ready":
            raise WorkerFailed(payload)
        return self

    def call(self, job: Job) -> Reply:
        try:
            self.conn.send(("job", job))
            kind, payload = self.conn.recv()
        except (EOFError, OSError):
            raise WorkerDied() from None
        if kind != "reply":
            raise WorkerDied()
        return payload

    def reopen(self, spec: StoreSpec) -> "Worker":
        try:
            self.conn.send(("open", spec))
        except OSError:
            raise WorkerFailed("the worker is gone") from None
        self.spec = spec
        return self.wait_ready()

    def kill(self) -> None:
        if self.process.is_alive():
            self.process.kill()
        self.process.join(5)
        self.conn.close()

    def stop(self) -> None:
        try:
            self.conn.send(("stop", None))
        except OSError:
            pass
        self.process.join(2)
        self.kill()


class Pool:
    """N workers, a queue with a wait limit, a deadline per job, and a switch to new data."""

    def __init__(self, spec: StoreSpec, limits: Limits, *, size: int = 2, timeout: float | None = 30.0,
                 queue_wait: float = 5.0, query_memory: int | None = 2048,
                 log: Callable[[str], None] = lambda message: print(f"policykb: {message}", file=sys.stderr)):
        self.spec = spec
        self.limits = limits
        self.size = max(1, size)
        self.timeout = timeout
        self.queue_wait = queue_wait
        self.query_memory = query_memory
        self.log = log
        self._threads = ThreadPoolExecutor(max_workers=2 * self.size + 2, thread_name_prefix="policykb-pool")
        self._idle: asyncio.Queue[Worker] | None = None
        self._all: set[Worker] = set()
        self._tasks: set[asyncio.Task] = set()
        self._closed = False

    @property
    def idle(self) -> int:
        """Workers waiting for a job now."""
        return self._idle.qsize() if self._idle is not None else 0

    @property
    def retry_after(self) -> int:
        """Seconds a refused client should wait: about the time the queue gives a request."""
        return max(1, round(self.queue_wait))

    async def start(self) -> None:
        """Start every worker and wait until all have opened the store (a failure raises WorkerFailed)."""
        self._idle = asyncio.Queue()
        loop = asyncio.get_running_loop()
        started = await asyncio.gather(*(loop.run_in_executor(self._threads, self._new_worker)
                                          for _ in range(self.size)), return_exceptions=True)
        problems = [w for w in started if isinstance(w, BaseException)]
        for worker in started:
            if isinstance(worker, Worker):
                self._idle.put_nowait(worker)
        if problems:
            await self.close()
            raise problems[0]

    def _new_worker(self) -> Worker:
        worker = Worker(self.spec, self.limits, self.query_memory)
        self._all.add(worker)
        try:
            return worker.wait_ready()
        except BaseException:
            self._all.discard(worker)
            worker.kill()
            raise

    async def run(self, job: Job, *, disconnected: Callable[[], Awaitable[bool]] | None = None) -> Reply:
        """A job's reply; raises Busy (no worker free in time), QueryTimeout (killed at the deadline) or
        WorkerLost (the worker died: out of memory, or a crash)."""
        assert self._idle is not None, "start() the pool first"
        loop = asyncio.get_running_loop()
        try:
            worker = await asyncio.wait_for(self._idle.get(), self.queue_wait)
        except (asyncio.TimeoutError, TimeoutError):
            raise Busy() from None
        future = loop.run_in_executor(self._threads, worker.call, job)
        deadline = loop.time() + self.timeout if self.timeout else None
        try:
            while True:
                wait = 0.25 if disconnected else None
                if deadline is not None:
                    left = max(0.0, deadline - loop.time())
                    wait = left if wait is None else min(wait, left)
                done, _ = await asyncio.wait({future}, timeout=wait)
                if done:
                    break
                if deadline is not None and loop.time() >= deadline:
                    await self._abandon(worker, future)
                    raise QueryTimeout()
                if disconnected is not None and await disconnected():
                    await self._abandon(worker, future)
                    raise ClientGone()
            try:
                reply = future.result()
            except WorkerDied:
                await self._abandon(worker, future)
                raise WorkerLost() from None
        except asyncio.CancelledError:
            await self._abandon(worker, future)
            raise
        self._release(worker)
        return reply

    async def _abandon(self, worker: Worker, future) -> None:
        """Kill a worker (its job is given up) and start a fresh one in its place."""
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._threads, worker.kill)
        try:
            await future
        except BaseException:  # noqa: BLE001 — the job's end is of no interest once it is given up
            pass
        self._all.discard(worker)
        self._background(self._replace())

    def _release(self, worker: Worker) -> None:
        if self._closed:
            return
        if worker.spec != self.spec:
            self._background(self._reopen(worker))
        else:
            self._idle.put_nowait(worker)

    async def _replace(self, attempt: int = 0) -> None:
        loop = asyncio.get_running_loop()
        try:
            worker = await loop.run_in_executor(self._threads, self._new_worker)
        except Exception as exc:  # noqa: BLE001 — keep trying: the store may be back in a moment
            if self._closed:
                return
            self.log(f"a new worker could not open the store: {exc}; trying again")
            await asyncio.sleep(min(30.0, 2.0 ** attempt))
            self._background(self._replace(attempt + 1))
            return
        if self._closed:
            await loop.run_in_executor(self._threads, worker.stop)
            return
        self._release(worker)

    async def _reopen(self, worker: Worker) -> None:
        loop = asyncio.get_running_loop()
        spec = self.spec
        try:
            await loop.run_in_executor(self._threads, worker.reopen, spec)
        except WorkerFailed as exc:
            self.log(f"a worker could not open the new store: {exc}; starting a fresh one")
            await loop.run_in_executor(self._threads, worker.kill)
            self._all.discard(worker)
            self._background(self._replace())
            return
        self._release(worker)

    async def switch(self, spec: StoreSpec) -> None:
        """Serve `spec` from now on: idle workers reopen now, busy ones when their job is done."""
        self.spec = spec
        while self._idle is not None and not self._idle.empty():
            self._background(self._reopen(self._idle.get_nowait()))

    def _background(self, coroutine) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close(self) -> None:
        """Stop every worker."""
        self._closed = True
        for task in list(self._tasks):
            task.cancel()
        loop = asyncio.get_running_loop()
        workers = list(self._all)
        self._all.clear()
        await asyncio.gather(*(loop.run_in_executor(self._threads, w.stop) for w in workers), return_exceptions=True)
        self._threads.shutdown(wait=False, cancel_futures=True)

    def reply_to(self, exc: BaseException) -> Reply:
        """The reply to a failure of run()."""
        return failure(exc, timeout=self.timeout, retry_after=self.retry_after, query_memory=self.query_memory)
