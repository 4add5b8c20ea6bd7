"""End-to-end benchmark: `watcher once` on thousands of feeds served from 127.0.0.1.

    .venv/bin/python bench/run.py                      # 2,000 feeds x 30 items, then with
                                                       # 100 ms latency; a few minutes
    .venv/bin/python bench/run.py --feeds 200 --items 10 --latency 0 50
    .venv/bin/python bench/run.py --cycles 20          # daemon-style: RSS per cycle

What it does, in one run:

1. Starts bench/feed_server.py (another process, so its CPU is not the pipeline's) with
   a deterministic corpus from bench/corpus.py: RSS and Atom, news-sized items, wire copy
   shared across feeds.
2. Parses every document with bare `feedparser.parse` in this process: the floor, what
   a single-process reader spends before doing anything with the items. It is measured
   again after the polls, and the polls are compared with the mean of the two (a shared
   machine's speed drifts by several per cent over minutes).
3. For each latency (default 0 and 100 ms per request), on a fresh database:
   - first poll: `python -m watcher --config … once` as a child process, so wall time,
     CPU (user + system of the process and its parse workers, from wait4) and memory
     are its own. Memory is sampled from /proc every 50 ms over the process tree: the
     largest sum of RSS seen, and the sum of each process's own peak (VmHWM), an upper
     bound that no short spike escapes;
   - second poll with nothing changed (every feed answers 304);
   - third poll after 10% of the feeds published two items and edited one;
   - the database size.
4. Prints one table, with the targets of issue 7 checked.

`--cycles N` instead runs the daemon's way: one process (this one), one Poller, one
parse pool, N cycles over every feed with 10% of them changed before each cycle after the
first, printing wall time, CPU and RSS (main process and workers) per cycle, so memory
growth shows.

Nothing is asserted: it prints figures. Work files go to a temporary folder (or --keep DIR).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import http.client
import io
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(1, str(ROOT))

from corpus import Corpus  # noqa: E402 - bench scripts run as files, not as a package

VERBOSE = False
PAGE = os.sysconf("SC_PAGE_SIZE")
TICK = os.sysconf("SC_CLK_TCK")
PROXY_VARIABLES = (
    "http_proxy",
    "https_proxy",
    "all_proxy",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
)

# Topics a newsroom might watch in this corpus: the two of config/watcher.yaml and
# narrower ones built from the corpus's newsroom words and names.
TOPICS = {
    "istanbul-talks": "(istanbul OR turkey OR turkiye) AND (talks OR negotiat* OR memorand*"
    " OR delegation*) AND (russia* OR kremlin OR moscow) AND (ukrain* OR kyiv OR"
    " zelensk* OR peace OR ceasefire)",
    "putin-zelenskyy-meeting": "(@putin NEAR/15 @zelenskyy) NEAR/10 (meet* OR summit OR"
    ' "face to face" OR talks)',
    "ceasefire-talks": '"ceasefire talks" OR (ceasefire NEAR/3 negotiations)',
    "prisoner-exchange": '"prisoners exchange" OR (prisoners NEAR/2 exchange)',
    "sanctions-energy": "sanction* NEAR/5 (gas OR oil OR energy)",
    "border-attack": "(border NEAR/4 attack) AND (troops OR forces)",
    "kyiv-summit": "title:kyiv OR (kyiv NEAR/3 summit)",
    "erdogan-trump": "@erdogan NEAR/8 trump",
    "geneva-memorandum": "geneva AND memorandum AND draft",
    "rates-inflation": '"inflation" NEAR/3 ("rates" OR "prices") AND bank',
    "flood-storm": "(flood* OR storm*) NEAR/5 (killed OR wounded)",
    "parliament-election": "parliament NEAR/4 election AND opposition",
    "hospital-strike": "hospital NEAR/3 strike",
    "doha-delegation": "doha NEAR/6 delegation",
    "tehran-sanctions": "tehran NEAR/6 sanction*",
    "macron-merz": "macron NEAR/6 merz",
    "regex-zelensk": "/zelensk(y|yy|iy)/ AND geneva",
    "lavrov-rubio": "lavrov NEAR/10 rubio",
    "budget-protest": "budget NEAR/5 protest",
    "beijing-delhi": "beijing AND delhi AND summit",
}
ALIASES = {
    "putin": ["putin*", "путин*", "vladimir putin"],
    "zelenskyy": ["zelensk*", "зеленск*", "volodymyr zelensky"],
    "erdogan": ["erdogan", "erdoğan", "эрдоган*"],
}


# --- measuring processes -------------------------------------------------------------------


def _children() -> dict[int, list[int]]:
    """ppid -> pids, from /proc (no psutil)."""
    tree: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        ppid = int(stat[stat.rindex(b")") + 2 :].split()[1])
        tree.setdefault(ppid, []).append(int(entry.name))
    return tree


def descendants(pid: int) -> list[int]:
    tree, found, todo = _children(), [], [pid]
    while todo:
        for child in tree.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def rss_bytes(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/statm", "rb") as f:
            return int(f.read().split()[1]) * PAGE
    except (OSError, IndexError, ValueError):
        return 0


def cpu_seconds(pid: int) -> float:
    """user + system CPU of one live process."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return 0.0
    fields = stat[stat.rindex(b")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def peak_rss_bytes(pid: int) -> int:
    """The process's own high-water mark of RSS (VmHWM), 0 if it is gone."""
    try:
        with open(f"/proc/{pid}/status", "rb") as f:
            for line in f:
                if line.startswith(b"VmHWM:"):
                    return int(line.split()[1]) * 1024
    except (OSError, IndexError, ValueError):
        pass
    return 0


class TreeSampler(threading.Thread):
    """Samples a process and its descendants until stopped: summed RSS, and each one's
    peak RSS and CPU time (the last value seen before it exited)."""

    def __init__(self, pid: int, every: float = 0.05):
        super().__init__(daemon=True)
        self.pid, self.every = pid, every
        self.peak = 0  # largest sum of RSS seen at one moment
        self.hwm: dict[int, int] = {}  # pid -> its VmHWM
        self.cpu: dict[int, float] = {}  # pid -> its CPU seconds
        self.timeline: list[tuple[float, int, int]] = []  # (time, main RSS, others' RSS)
        self._t0 = time.monotonic()
        self._stop_event = threading.Event()

    def sample(self) -> None:
        pids = [self.pid, *descendants(self.pid)]
        sizes = [rss_bytes(p) for p in pids]
        self.peak = max(self.peak, sum(sizes))
        self.timeline.append((time.monotonic() - self._t0, sizes[0], sum(sizes[1:])))
        for p in pids:
            self.hwm[p] = max(self.hwm.get(p, 0), peak_rss_bytes(p))
            self.cpu[p] = max(self.cpu.get(p, 0.0), cpu_seconds(p))

    def run(self) -> None:
        while not self._stop_event.wait(self.every):
            self.sample()

    def stop(self) -> None:
        self._stop_event.set()
        self.join()

    @property
    def peak_bound(self) -> int:
        """Sum of every process's own peak: what the tree can at most have held at once."""
        return sum(self.hwm.values())

    @property
    def children_cpu(self) -> float:
        return sum(cpu for pid, cpu in self.cpu.items() if pid != self.pid)


# --- the feed server ---------------------------------------------------------------------


class FeedServer:
    """bench/feed_server.py in a child process, and its control endpoints."""

    def __init__(self, feeds: int, items: int, seed: int, anchor: float):
        self.proc = subprocess.Popen(
            [
                sys.executable,
                str(HERE / "feed_server.py"),
                "--feeds",
                str(feeds),
                "--items",
                str(items),
                "--seed",
                str(seed),
                "--anchor",
                str(anchor),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        self.port = 0

    def wait_ready(self) -> None:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().decode()
        if not line.startswith("READY "):
            raise RuntimeError(f"feed server did not start: {line!r}")
        self.port = int(line.split()[1])

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def control(self, command: str) -> dict:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        try:
            conn.request("GET", f"/_control/{command}")
            return json.loads(conn.getresponse().read())
        finally:
            conn.close()

    def close(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()  # the server stops when its stdin closes
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


# --- one poll --------------------------------------------------------------------------------


@dataclass
class Poll:
    wall: float
    cpu: float
    workers_cpu: float
    peak_tree_rss: int  # the largest sum seen by sampling
    peak_bound: int  # sum of each process's own peak (VmHWM): an upper bound
    processes: int
    summary: str
    new_items: int = 0
    alerts: int = 0
    server_cpu: float = 0.0
    load: float = 0.0  # 1-minute load average when it started: others' work on the cores
    statuses: dict[str, int] = field(default_factory=dict)


_SUMMARY = re.compile(
    r"(\d+) feeds polled in .*?(\d+) new items, (\d+) republications, "
    r"(\d+) alerts queued"
)


def clean_env() -> dict[str, str]:
    """The environment without proxies: every request here is to 127.0.0.1."""
    env = {k: v for k, v in os.environ.items() if k not in PROXY_VARIABLES}
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    return env


def run_once(config: Path, workdir: Path, server: FeedServer, tag: str) -> Poll:
    """`watcher once` in a child process; its wall time, CPU and memory."""
    before = server.control("stats")
    load = os.getloadavg()[0]
    out, err = workdir / f"{tag}.out", workdir / f"{tag}.err"
    started = time.perf_counter()
    with out.open("wb") as stdout, err.open("wb") as stderr:
        proc = subprocess.Popen(
            [sys.executable, "-m", "watcher", "--config", str(config), "once"],
            stdout=stdout,
            stderr=stderr,
            cwd=workdir,
            env=clean_env(),
        )
    sampler = TreeSampler(proc.pid)
    sampler.start()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    sampler.stop()
    after = server.control("stats")
    if proc.returncode != 0:
        sys.stderr.write(err.read_text()[-3000:])
        raise SystemExit(f"watcher once failed with exit code {proc.returncode} ({tag})")
    if VERBOSE:
        step = max(1, len(sampler.timeline) // 20)
        for t, main, others in sampler.timeline[::step]:
            print(f"    {tag} t={t:6.1f}s main {mb(main)}, workers {mb(others)}")
    text = out.read_text()
    summary = next((line for line in text.splitlines() if " feeds polled in " in line), "")
    poll = Poll(
        wall=wall,
        cpu=usage.ru_utime + usage.ru_stime,
        workers_cpu=sampler.children_cpu,
        peak_tree_rss=sampler.peak,
        # not usage.ru_maxrss: Linux folds the high-water mark of the process image
        # before exec (a fork of this benchmark, corpus and all) into it
        peak_bound=sampler.peak_bound,
        processes=len(sampler.hwm),
        summary=summary,
        server_cpu=after["cpu"] - before["cpu"],
        load=load,
        statuses={
            "200": after["ok"] - before["ok"],
            "304": after["not_modified"] - before["not_modified"],
        },
    )
    if match := _SUMMARY.search(summary):
        poll.new_items, poll.alerts = int(match.group(2)), int(match.group(4))
    return poll


# --- config ------------------------------------------------------------------------------


def write_config(workdir: Path, server: FeedServer, feeds: int, concurrency: int) -> Path:
    """A config for every feed of the server, the benchmark topics and a webhook channel.

    All feeds share one host here, but a newsroom's thousands of feeds are spread over
    hundreds: per_host_concurrency is raised to max_concurrency so the per-host
    politeness limit (meant for many feeds of one publisher) does not serialize them.
    """
    lines = [
        f"database: {json.dumps(str(workdir / 'watcher.db'))}",
        f"max_concurrency: {concurrency}",
        f"per_host_concurrency: {min(concurrency, 64)}",
        "defaults: {interval: 10m, timeout: 30s}",
        "backfill: 24h",
        "aliases:",
        *(
            f"  {name}: {json.dumps(spellings, ensure_ascii=False)}"
            for name, spellings in ALIASES.items()
        ),
        "topics:",
        *(
            f"  - {{name: {name}, query: {json.dumps(query)}, channels: [hook]}}"
            for name, query in TOPICS.items()
        ),
        "channels:",
        f"  hook: {{type: webhook, url: {server.url('/hook')}, format: json}}",
        "feeds:",
        *(f"  - url: {server.url(f'/feeds/{n}.xml')}" for n in range(feeds)),
    ]
    path = workdir / "watcher.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def db_size(workdir: Path) -> int:
    return sum(p.stat().st_size for p in workdir.glob("watcher.db*"))


# --- the floor ---------------------------------------------------------------------------


@dataclass
class Floor:
    wall: float
    cpu: float
    items: int
    bytes: int
    load: float = 0.0
    walls: tuple[float, ...] = ()  # each measurement, when this is their mean


def feedparser_floor(documents: list[bytes]) -> Floor:
    """Every document through bare feedparser.parse, in this one process."""
    import feedparser

    size = sum(len(d) for d in documents)
    load = os.getloadavg()[0]
    items = 0
    wall, cpu = time.perf_counter(), time.process_time()
    for document in documents:
        items += len(feedparser.parse(io.BytesIO(document)).entries)
    return Floor(time.perf_counter() - wall, time.process_time() - cpu, items, size, load)


def mean_floor(before: Floor, after: Floor) -> Floor:
    return Floor(
        (before.wall + after.wall) / 2,
        (before.cpu + after.cpu) / 2,
        before.items,
        before.bytes,
        before.load,
        walls=(before.wall, after.wall),
    )


# --- the report --------------------------------------------------------------------------


def mb(n: float) -> str:
    return f"{n / 1e6:,.0f} MB"


@dataclass
class Pass:
    latency_ms: float
    first: Poll
    unchanged: Poll
    changed: Poll
    changed_feeds: int
    db_bytes: int


def report(args: argparse.Namespace, floor: Floor, passes: list[Pass]) -> None:
    items = floor.items
    floor_rate = items / floor.wall
    print()
    print(
        f"watcher bench: {args.feeds:,} feeds x {args.items} items = {items:,} items, "
        f"{floor.bytes / 1e6:.0f} MB of feeds; {os.cpu_count()} cores; "
        f"max_concurrency {args.concurrency}"
    )
    print(
        f"feedparser floor (bare feedparser.parse, one process): {floor.wall:.1f}s wall, "
        f"{floor.cpu:.1f}s CPU, {floor_rate:,.0f} items/s (load average {floor.load:.1f})"
        + (
            f"\n  the mean of {' and '.join(f'{w:.1f}s' for w in floor.walls)}, measured"
            " before and after the polls"
            if floor.walls
            else ""
        )
    )
    print()
    heads = [f"latency {p.latency_ms:g} ms" for p in passes]
    width = max(22, *(len(h) + 2 for h in heads))
    rows: list[tuple[str, list[str]]] = []

    def row(label: str, values: list[str]) -> None:
        rows.append((label, values))

    row("first poll: wall", [f"{p.first.wall:.1f} s" for p in passes])
    row("first poll: CPU (all processes)", [f"{p.first.cpu:.1f} s" for p in passes])
    row(
        "  main process / parse workers",
        [f"{p.first.cpu - p.first.workers_cpu:.1f} / {p.first.workers_cpu:.1f} s" for p in passes],
    )
    row("first poll: items/s", [f"{items / p.first.wall:,.0f}" for p in passes])
    row("  vs feedparser floor", [f"{items / p.first.wall / floor_rate:.2f}x" for p in passes])
    row(
        f"  CPU ms per item (floor {floor.cpu / items * 1e3:.2f})",
        [f"{p.first.cpu / items * 1e3:.2f}" for p in passes],
    )
    cores = len(os.sched_getaffinity(0))
    row(
        f"  items/s if {cores} cores were ours",
        [
            f"{items / max(p.first.cpu / cores, p.first.cpu - p.first.workers_cpu):,.0f}"
            for p in passes
        ],
    )
    row(
        "  new items / alerts queued",
        [f"{p.first.new_items:,} / {p.first.alerts:,}" for p in passes],
    )
    row("  feed server CPU", [f"{p.first.server_cpu:.1f} s" for p in passes])
    row("  load average at start", [f"{p.first.load:.1f}" for p in passes])
    row("unchanged poll: wall", [f"{p.unchanged.wall:.1f} s" for p in passes])
    row("unchanged poll: CPU", [f"{p.unchanged.cpu:.2f} s" for p in passes])
    row("  CPU vs first poll", [f"{p.unchanged.cpu / p.first.cpu:.1%}" for p in passes])
    row(
        "  answers 304 / 200",
        [f"{p.unchanged.statuses['304']} / {p.unchanged.statuses['200']}" for p in passes],
    )
    row("10% changed: wall", [f"{p.changed.wall:.1f} s" for p in passes])
    row("10% changed: CPU", [f"{p.changed.cpu:.2f} s" for p in passes])
    row(
        "  feeds changed / new items",
        [f"{p.changed_feeds} / {p.changed.new_items:,}" for p in passes],
    )
    polls = [(p.first, p.unchanged, p.changed) for p in passes]
    peak = [max(x.peak_tree_rss for x in three) for three in polls]
    bound = [max(x.peak_bound for x in three) for three in polls]
    row("peak RSS, all processes", [mb(v) for v in peak])
    row("  sum of each one's peak", [mb(v) for v in bound])
    row("database size", [mb(p.db_bytes) for p in passes])
    label_width = max(len(label) for label, _ in rows) + 2
    print(" " * label_width + "".join(h.rjust(width) for h in heads))
    for label, values in rows:
        print(label.ljust(label_width) + "".join(v.rjust(width) for v in values))
    print()
    print("targets (issue 7):")
    for p in passes:
        tag = f"[{p.latency_ms:g} ms]"
        rate = items / p.first.wall
        checks = [
            (
                p.latency_ms == 0,
                f"first poll >= floor: {rate:,.0f} vs {floor_rate:,.0f} items/s",
                rate >= floor_rate,
            ),
            (
                True,
                f"unchanged poll CPU < 5% of first: {p.unchanged.cpu / p.first.cpu:.1%}",
                p.unchanged.cpu < 0.05 * p.first.cpu,
            ),
            (
                p.latency_ms >= 100,
                f"unchanged re-poll with latency < 15 s: {p.unchanged.wall:.1f} s",
                p.unchanged.wall < 15,
            ),
            (True, f"peak RSS < 250 MB: {mb(max(bound))} at most", max(bound) < 250e6),
        ]
        for applies, text, ok in checks:
            if applies:
                print(f"  {tag} {'ok  ' if ok else 'MISS'} {text}")


# --- main modes --------------------------------------------------------------------------


def one_pass(args: argparse.Namespace, server: FeedServer, latency_ms: float, base: Path) -> Pass:
    workdir = base / f"latency-{latency_ms:g}ms"
    workdir.mkdir(parents=True, exist_ok=True)
    server.control("reset")
    server.control(f"latency?seconds={latency_ms / 1000}")
    config = write_config(workdir, server, args.feeds, args.concurrency)
    print(f"[{latency_ms:g} ms] first poll ...", flush=True)
    first = run_once(config, workdir, server, "first")
    print(f"[{latency_ms:g} ms]   {first.summary}", flush=True)
    unchanged = run_once(config, workdir, server, "unchanged")
    print(f"[{latency_ms:g} ms] unchanged: {unchanged.wall:.1f}s", flush=True)
    changed_feeds = len(server.control("bump?fraction=0.1&round=1")["changed"])
    changed = run_once(config, workdir, server, "changed")
    print(f"[{latency_ms:g} ms] 10% changed: {changed.summary}", flush=True)
    return Pass(latency_ms, first, unchanged, changed, changed_feeds, db_size(workdir))


@contextlib.contextmanager
def workspace(keep: Path | None) -> Iterator[Path]:
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
        yield keep.resolve()
        return
    base = Path(tempfile.mkdtemp(prefix="watcher-bench-"))
    try:
        yield base
    finally:
        shutil.rmtree(base, ignore_errors=True)


def anchor_now() -> float:
    """The corpus is dated up to the current hour, so `backfill: 24h` sees its last day."""
    return float(int(time.time()) // 3600 * 3600)


def main_table(args: argparse.Namespace) -> int:
    anchor = anchor_now()
    corpus = Corpus(args.feeds, args.items, seed=args.seed, anchor=anchor)
    server = FeedServer(args.feeds, args.items, args.seed, anchor)
    try:
        print("generating the corpus and measuring the feedparser floor ...", flush=True)
        # the server renders the same corpus meanwhile; wait for it before timing
        documents = [corpus.document(n) for n in range(corpus.feeds)]
        server.wait_ready()
        before = feedparser_floor(documents)
        print(f"floor: {before.items:,} items in {before.wall:.1f}s", flush=True)
        with workspace(args.keep) as base:
            passes = [one_pass(args, server, ms, base) for ms in args.latency]
        # again, after the polls: a shared machine's speed drifts over minutes, and the
        # polls are compared with the mean of the two
        after = feedparser_floor(documents)
        print(f"floor again: {after.items:,} items in {after.wall:.1f}s", flush=True)
    finally:
        server.close()
    report(args, mean_floor(before, after), passes)
    return 0


def main_cycles(args: argparse.Namespace) -> int:
    """N polling cycles in this process, as the daemon runs them; RSS per cycle."""
    for name in PROXY_VARIABLES:
        os.environ.pop(name, None)
    from watcher.config import load_config
    from watcher.fetch import Fetcher
    from watcher.notify.delivery import Deliverer
    from watcher.pipeline import Poller
    from watcher.runner import Progress, fetch_settings, inflight_limit, poll_all
    from watcher.store import feeds as feed_store
    from watcher.store import open_database
    from watcher.workers import make_parse_pool

    anchor = anchor_now()
    server = FeedServer(args.feeds, args.items, args.seed, anchor)
    me = os.getpid()

    def tree_cpu() -> float:
        """CPU of this process, its live children (not the feed server) and those reaped."""
        children = [p for p in descendants(me) if p != server.proc.pid]
        reaped = resource.getrusage(resource.RUSAGE_CHILDREN)
        return (
            cpu_seconds(me)
            + sum(cpu_seconds(p) for p in children)
            + reaped.ru_utime
            + reaped.ru_stime
        )

    async def cycles(config_path: Path, workdir: Path) -> None:
        config = load_config(config_path)
        db = open_database(config.database_path)
        feed_store.sync_feeds(db, config.feeds, time.time())
        pool = make_parse_pool()
        fetcher = Fetcher(fetch_settings(config))
        poller = Poller(db, config, fetcher, executor=pool)
        deliverer = Deliverer(db, config)
        limit = inflight_limit(config, pool.workers if pool else 1)
        print(
            f"{'cycle':>5} {'changed':>8} {'new':>7} {'wall s':>7} {'CPU s':>7} "
            f"{'RSS main':>9} {'children':>12} {'total':>9} {'db':>8}"
        )
        rows = []
        try:
            for cycle in range(1, args.cycles + 1):
                changed = args.feeds
                if cycle > 1:
                    changed = len(server.control(f"bump?fraction=0.1&round={cycle}")["changed"])
                cpu0, wall0 = tree_cpu(), time.perf_counter()
                feeds = [f for f in feed_store.all_feeds(db) if f.status == feed_store.ACTIVE]
                new = 0
                async for outcome in poll_all(poller, feeds, Progress(0, False), limit=limit):
                    new += outcome.ingest.new_items
                await deliverer.deliver_due()
                wall, cpu = time.perf_counter() - wall0, tree_cpu() - cpu0
                children = [p for p in descendants(me) if p != server.proc.pid]
                main_rss = rss_bytes(me)
                child_rss = sum(rss_bytes(p) for p in children)
                rows.append(main_rss + child_rss)
                print(
                    f"{cycle:>5} {changed:>8} {new:>7,} {wall:>7.1f} {cpu:>7.1f} "
                    f"{mb(main_rss):>9} {mb(child_rss) + f' ({len(children)})':>12} "
                    f"{mb(main_rss + child_rss):>9} {mb(db_size(workdir)):>8}",
                    flush=True,
                )
        finally:
            await fetcher.aclose()
            await deliverer.aclose()
            if pool is not None:
                pool.shutdown(wait=True)
            db.close()
        if len(rows) >= 4:
            second_half = rows[len(rows) // 2 :]
            print(
                f"total RSS after cycle 2: {mb(rows[1])}; over the last {len(second_half)} "
                f"cycles: {mb(min(second_half))} to {mb(max(second_half))} "
                f"(last minus cycle 2: {(rows[-1] - rows[1]) / 1e6:+.1f} MB)"
            )

    try:
        server.wait_ready()
        with workspace(args.keep) as base:
            workdir = base / "cycles"
            workdir.mkdir(parents=True, exist_ok=True)
            config = write_config(workdir, server, args.feeds, args.concurrency)
            asyncio.run(cycles(config, workdir))
    finally:
        server.close()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(f"peak RSS of this process: {mb(peak)}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--feeds", type=int, default=2000)
    parser.add_argument("--items", type=int, default=30)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--latency",
        type=float,
        nargs="+",
        default=[0, 100],
        metavar="MS",
        help="per-request latencies to run, in ms (default: 0 100)",
    )
    parser.add_argument(
        "--concurrency",
        type=int,
        default=32,
        help="max_concurrency in the config (default 32, watcher's default)",
    )
    parser.add_argument(
        "--cycles",
        type=int,
        metavar="N",
        help="daemon mode: N cycles in one process, RSS per cycle",
    )
    parser.add_argument(
        "--keep",
        type=Path,
        metavar="DIR",
        help="keep databases, configs and logs in DIR (e.g. bench/out)",
    )
    parser.add_argument("--verbose", action="store_true", help="print RSS over each poll")
    args = parser.parse_args(argv)
    global VERBOSE
    VERBOSE = args.verbose
    if args.cycles:
        return main_cycles(args)
    return main_table(args)


if __name__ == "__main__":
    sys.exit(main())
