"""Parsing in worker processes, so a busy poll uses every core.

feedparser is pure Python: in threads, parsing is bound to one core by the GIL, and on a
first poll of thousands of feeds that core is the bottleneck. `ParsePool` runs
`parse_feed` in a process pool instead, sized to the cores this process may use; the
event loop and the database (single writer) stay in the main process.

    pool = make_parse_pool()            # None on a single core: parse in a thread then
    poller = Poller(db, config, fetcher, executor=pool)
    ...
    pool.shutdown()                     # joins the workers (their CPU time is then ours)

Why these choices:

* 'spawn' context: the main process has threads (the executor's own, sqlite, asyncio's
  default executor), and forking a process with threads can copy a held lock. Spawned
  workers are also direct children, so `getrusage(RUSAGE_CHILDREN)` counts their CPU once
  they are joined, which is what the benchmark measures.
* Workers start lazily, on the first document to parse: an unchanged poll (all 304s)
  never pays for them.
* Workers run at a lower priority (nice 10): the main process, which every document
  passes through (ingest, the single database writer) and which keeps the event loop's
  timing, gets a core whenever it needs one; workers use the rest.
* Workers ignore SIGINT and SIGTERM. systemd's default KillMode signals the whole
  cgroup, and Ctrl-C the whole process group; the main process then finishes or cancels
  its polls and shuts the pool down itself. A worker whose parent dies, however it
  died, exits at once (a thread watches the parent's sentinel).
* A worker that dies (killed, out of memory, crashed on a document) breaks a
  ProcessPoolExecutor for good. `ParsePool` replaces a broken pool on the next submit,
  so one bad document costs one failed poll, never every poll after it.
* Every RECYCLE_AFTER documents the pool is replaced by a fresh one (the old one finishes
  what it holds, then its workers exit): a long-running daemon's parser processes never
  accumulate what feedparser or the allocator keep. Not `max_tasks_per_child`, which
  deadlocks the executor on Python 3.11 to 3.13 (CPython gh-115634).
"""

from __future__ import annotations

import logging
import multiprocessing
import multiprocessing.connection
import os
import signal
import threading
from collections.abc import Callable
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, fields
from typing import Any

from watcher.dedup.decide import DedupSettings, PreparedItem, prepare
from watcher.model import Item, ParsedFeed
from watcher.parse import parse_feed
from watcher.prematch import FeedLabel, PreMatch, TopicContext, prematch
from watcher.query import TopicIndex

log = logging.getLogger(__name__)

RECYCLE_AFTER = 20_000  # documents parsed by one pool before it is replaced
# Workers yield the CPU to the main process, the single database writer and event loop:
# with as many workers as cores, all three compete, and an evenly shared CPU would starve
# the one process every document must pass through (and delay fetches and timeouts).
WORKER_NICENESS = 10


def usable_cores() -> int:
    """Cores this process may run on (its CPU affinity, e.g. under taskset or a cgroup)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


# In a worker: the topics it matches with (watcher.prematch), set when it starts.
_topics: TopicContext | None = None
_index: TopicIndex | None = None


def _worker_init(topics: TopicContext | None = None) -> None:
    """The main process decides when workers stop, and comes first for the CPU; see the
    module docstring. `topics` are what this worker matches items with."""
    global _topics, _index
    _topics, _index = topics, None
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    try:
        os.nice(WORKER_NICENESS)
    except OSError:
        pass
    parent = multiprocessing.parent_process()
    if parent is not None:
        threading.Thread(
            target=_exit_with, args=(parent.sentinel,), name="parent-watch", daemon=True
        ).start()


def _exit_with(parent_sentinel: int) -> None:
    """End this worker as soon as its parent is gone (even killed with SIGKILL).

    A worker holds both ends of its task queue's pipe, so it would never see EOF there
    and would wait forever, orphaned; the parent's sentinel becomes ready when it dies.
    """
    multiprocessing.connection.wait([parent_sentinel])
    os._exit(0)


@dataclass(frozen=True, slots=True)
class PreparedFeed(ParsedFeed):
    """A ParsedFeed with the dedup preparation of its items, made in a parse worker.

    `prepared[i]` is `prepare(items[i], settings)`, or None for an item the database
    already holds unchanged (it will not be assessed). `Ingestor.ingest` uses them, so the
    main process, which alone writes the database, only looks fingerprints up.
    """

    prepared: tuple[PreparedItem | None, ...] = ()
    # `prematched[i]`: item i's topics if dedup finds none of it stored (watcher.prematch)
    prematched: tuple[PreMatch | None, ...] = ()


def parse_job(
    body: bytes,
    url: str,
    content_type: str | None,
    dedup: DedupSettings | None = None,
    known: frozenset[str] = frozenset(),
    label: FeedLabel | None = None,
) -> ParsedFeed:
    """Parse one document; in a worker process, do there what needs no database.

    Lives here, not in watcher.pipeline, so a worker imports the parser and dedup's pure
    part only. Each item's content hash is computed here (it is pickled with the item);
    with `dedup` settings, each item whose content hash is not in `known` (the hashes the
    feed's stored items have) is prepared for dedup too, and with the feed's `label`
    matched against this worker's topics as if nothing of it were stored.
    """
    parsed = parse_feed(body, url=url, content_type=content_type)
    for item in parsed.items:
        _ = item.content_hash
    if dedup is None:
        return parsed
    prepared = tuple(
        None if item.content_hash in known else prepare(item, dedup) for item in parsed.items
    )
    return PreparedFeed(
        # every ParsedFeed field, so one added there is never dropped here
        **{f.name: getattr(parsed, f.name) for f in fields(parsed)},
        prepared=prepared,
        prematched=_prematch_all(parsed, prepared, dedup, label),
    )


def _prematch_all(
    parsed: ParsedFeed,
    prepared: tuple[PreparedItem | None, ...],
    dedup: DedupSettings,
    label: FeedLabel | None,
) -> tuple[PreMatch | None, ...]:
    global _index
    if label is None or _topics is None or _topics.key != label.topics_key:
        return ()
    if _index is None:
        _index = TopicIndex(list(_topics.topics))
    index = _index
    feed_name = label.feed_name(parsed.title)

    def one(item: Item, ready: PreparedItem | None) -> PreMatch | None:
        if ready is None or _silent(item, label):
            return None
        return prematch(item, ready, index=index, topics_key=label.topics_key,
                        feed_name=feed_name, feed_url=label.url, settings=dedup)  # fmt: skip

    return tuple(one(item, ready) for item, ready in zip(parsed.items, prepared, strict=True))


def _silent(item: Item, label: FeedLabel) -> bool:
    """A backfilled item that will not alert: not worth matching here (if the main
    process decides otherwise, it matches the item itself)."""
    if label.silent_before is None:
        return False
    return item.published is None or item.published.timestamp() < label.silent_before


class ParsePool(Executor):
    """A process pool that replaces itself when a worker dies.

    It is an `Executor`, so `loop.run_in_executor(pool, ...)` works as with any other.
    """

    def __init__(self, workers: int, *, recycle_after: int = RECYCLE_AFTER):
        if workers < 1:
            raise ValueError(f"a parse pool needs at least one worker, got {workers}")
        self.workers = workers
        self.recycle_after = recycle_after
        self._lock = threading.Lock()
        self._closed = False
        self._submitted = 0
        self._topics: TopicContext | None = None
        self._pool = self._new_pool()

    def _new_pool(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            max_workers=self.workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_worker_init,
            initargs=(self._topics,),
        )

    @property
    def topics_key(self) -> str | None:
        """The key of the topics the workers match with (None: they do not match)."""
        return self._topics.key if self._topics else None

    def use_topics(self, topics: TopicContext) -> None:
        """Workers match items with these topics from now on. Other topics replace the
        pool (workers start on the next document); documents the old one holds are
        still parsed, and their results tell which topics they were matched with."""
        with self._lock:
            if self._closed or (self._topics is not None and self._topics.key == topics.key):
                return
            self._topics = topics
            self._replace()

    def _replace(self) -> None:
        old, self._pool, self._submitted = self._pool, self._new_pool(), 0
        old.shutdown(wait=False)  # what it holds is still parsed; then its workers exit

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        with self._lock:
            if self._closed:
                raise RuntimeError("cannot parse after the parse pool was shut down")
            if self._submitted >= self.recycle_after:
                self._replace()
            self._submitted += 1
            try:
                return self._pool.submit(fn, *args, **kwargs)
            except BrokenProcessPool:
                log.warning("a parser process died; starting a new parse pool")
                self._replace()
                return self._pool.submit(fn, *args, **kwargs)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Stop the workers; with `wait`, join them (pending documents are parsed first
        unless `cancel_futures`)."""
        with self._lock:
            self._closed = True
            pool = self._pool
        pool.shutdown(wait=wait, cancel_futures=cancel_futures)

    def terminate(self) -> None:
        """Kill the workers now, mid-document: for a stop that cannot wait (SIGTERM must
        end the daemon within seconds, and a worker may be deep in a 10 MB feed). Their
        jobs fail with BrokenProcessPool."""
        with self._lock:
            self._closed = True
            pool = self._pool
        # ProcessPoolExecutor has no public way to do this before Python 3.14
        processes = list((getattr(pool, "_processes", None) or {}).values())
        pool.shutdown(wait=False, cancel_futures=True)
        for process in processes:
            if process.is_alive():
                process.kill()  # they ignore SIGTERM


def make_parse_pool(workers: int | None = None) -> ParsePool | None:
    """A parse pool with one worker per usable core, or None with a single core (a
    worker process would then only add pickling to the same CPU time)."""
    count = usable_cores() if workers is None else workers
    if count < 2 and workers is None:
        return None
    return ParsePool(count)
