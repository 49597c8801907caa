"""Personal pages under load: `rectify web` (its own process, as deployed) over a ledger
of N items on SQLite (or --db), each owner holding --per-person items. Prints:
  - sequential page loads, one at a time (a new connection each, as a phone opens a link):
    median and 99th percentile, the service time as a client sees it;
  - bursts of C concurrent page loads, each a different person's link: latency (median,
    90th percentile, max) per burst and overall (with the 99th percentile), errors, the
    throughput, and the server's peak memory;
  - with --while-notify, the same while `rectify notify` runs day after day on the same
    database in a process of its own (planning, enqueueing and delivering: writing);
  - with --rates, open loop instead of bursts: page loads started at each stated arrival
    rate (Poisson arrivals, for --seconds each) whether or not earlier ones have finished,
    as people open their links; per rate the service time (Server-Timing, median and p99)
    and the latency from each load's scheduled start (so a slow server cannot hide its
    queue), errors and the rate achieved. Goals (issue 42): 20-item page ≤ 2 ms, 200-item
    page ≤ 8 ms service time; p99 ≤ 100 ms at 100 requests/s on 2 workers.

    .venv/bin/python bench/web_bench.py [--items 10000] [--per-person 20] [--concurrency 20]
                                        [--bursts 20] [--while-notify] [--db URL]
                                        [--rates 25 50 100 200 [--seconds 10]]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

import httpx

from rectify_core.config.settings import load_settings
from rectify_core.config.web import SECRET_ENV

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.benchdata import populate
from rectify_core.config.calendar import local_today
from rectify_core.delivery import links
from rectify_core.delivery.mailsink import free_port
from rectify_core.ledger import db
from rectify_core.runs import daily

SECRET = "bench-secret-0123456789abcdef"
UNIT = "基准测试单位"


async def _load(host: str, port: int, path: str) -> tuple[float, int]:
    """One page load as a phone makes it: a new connection, GET, read to the end. A lean
    client (asyncio streams), so that what is timed is the server, not the client. An
    answer other than 200, or a failed connection, counts as an error (size -1)."""
    start = time.perf_counter()
    try:
        reader, writer = await asyncio.open_connection(host, port)
        writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n\r\n".encode())
        await writer.drain()
        head = await reader.readuntil(b"\r\n\r\n")
        length = int(re.search(rb"(?i)content-length: *(\d+)", head).group(1))  # type: ignore[union-attr]
        body = await reader.readexactly(length)  # done when the page is in, as a browser is
        elapsed = time.perf_counter() - start
        writer.close()
    except (OSError, asyncio.IncompleteReadError, AttributeError):
        return time.perf_counter() - start, -1
    if took := re.search(rb"(?i)server-timing: *app;dur=([\d.]+)", head):
        SERVICE.append(float(took.group(1)) / 1000)
    return elapsed, len(body) if head[9:12] == b"200" else -1


SERVICE: list[float] = []  # what the server says each page took to make (its Server-Timing header)


async def _burst(host: str, port: int, paths: list[str]) -> list[tuple[float, int]]:
    return await asyncio.gather(*(_load(host, port, p) for p in paths))


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _notifier(url: str, today: dt.date, env: dict[str, str]) -> subprocess.Popen[bytes]:
    """`rectify notify` for one day after another, until stopped: the daily run writing."""
    days = " ".join((today + dt.timedelta(days=k)).isoformat() for k in range(1, 60))
    script = f'for d in {days}; do "{sys.executable}" -m flows --db "{url}" notify --date "$d"; done'
    return subprocess.Popen(["bash", "-c", script], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _p99(values: list[float]) -> float:
    return sorted(values)[min(int(len(values) * 0.99), len(values) - 1)]


def _sequential(port: int, paths: list[str], count: int) -> None:
    """Page loads one at a time, each person in turn: the client's time and the server's."""
    SERVICE.clear()
    one = [asyncio.run(_burst("127.0.0.1", port, [paths[i % len(paths)]]))[0][0] for i in range(count)]
    print(f"sequential ({count} page loads): median {statistics.median(one) * 1000:.1f} ms, "
          f"p99 {_p99(one) * 1000:.1f} ms at the client; service time (Server-Timing) "
          f"median {statistics.median(SERVICE) * 1000:.2f} ms, p99 {_p99(SERVICE) * 1000:.2f} ms")


def _bursts(port: int, paths: list[str], args: argparse.Namespace, pid: int, label: str) -> None:
    print(f"{args.concurrency} concurrent page loads per burst, each a different person{' ' + label if label else ''}")
    every: list[float] = []
    sizes: list[int] = []
    errors = 0
    wall = 0.0
    # beside a writer, bursts go on for --seconds (the writer's runs take seconds each)
    until = time.perf_counter() + args.seconds if label else None
    n = 0
    while n < args.bursts or (until is not None and time.perf_counter() < until):
        n += 1
        start = time.perf_counter()
        results = asyncio.run(_burst("127.0.0.1", port, paths[(n * args.concurrency) % len(paths):][:args.concurrency]
                                     or paths[:args.concurrency]))
        wall += time.perf_counter() - start
        times = sorted(t for t, _ in results)
        errors += sum(size < 0 for _, size in results)
        every += times
        sizes += [s for _, s in results]
        if n % max(args.bursts // 5, 1) == 0 and n <= args.bursts:
            print(f"  burst {n}: median {statistics.median(times) * 1000:6.0f} ms   "
                  f"p90 {times[int(len(times) * 0.9)] * 1000:6.0f} ms   max {times[-1] * 1000:6.0f} ms")
    every.sort()
    print(f"overall: median {statistics.median(every) * 1000:.0f} ms, "
          f"p90 {every[int(len(every) * 0.9)] * 1000:.0f} ms, "
          f"p99 {_p99(every) * 1000:.0f} ms, {errors} errors, "
          f"{len(every) / wall:.0f} pages/s, page {statistics.mean(sizes) / 1024:.0f} KB on average, "
          f"{args.workers} worker(s), server peak RSS {_rss_mb(pid):.0f} MB")


async def _open_loop(port: int, paths: list[str], rate: float, seconds: float) -> tuple[list[float], int, float]:
    """Loads started at Poisson arrivals of `rate` a second for `seconds`: each one's latency
    from its scheduled start, the errors, and the rate achieved."""
    rng = random.Random(int(rate))
    starts, at = [], 0.0
    while at < seconds:
        at += rng.expovariate(rate)
        starts.append(at)
    begin = time.perf_counter()

    async def one(n: int, offset: float) -> tuple[float, int]:
        await asyncio.sleep(max(0.0, begin + offset - time.perf_counter()))
        _, size = await _load("127.0.0.1", port, paths[n % len(paths)])
        return time.perf_counter() - (begin + offset), size

    results = await asyncio.gather(*(one(n, offset) for n, offset in enumerate(starts)))
    wall = time.perf_counter() - begin
    return sorted(t for t, _ in results), sum(size < 0 for _, size in results), len(results) / wall


def _rates(port: int, paths: list[str], args: argparse.Namespace, pid: int) -> None:
    print(f"open loop, {args.workers} worker(s), {args.seconds:g} s a rate (Poisson arrivals); "
          "latency from each load's scheduled start")
    print(f"{'rate':>8} {'achieved':>9} {'service p50':>12} {'service p99':>12} {'latency p50':>12} "
          f"{'latency p99':>12} {'errors':>7}")
    for rate in args.rates:
        SERVICE.clear()
        took, errors, achieved = asyncio.run(_open_loop(port, paths, rate, args.seconds))
        print(f"{rate:>6g}/s {achieved:>7.1f}/s {statistics.median(SERVICE) * 1000:>10.2f}ms "
              f"{_p99(SERVICE) * 1000:>10.2f}ms {statistics.median(took) * 1000:>10.1f}ms "
              f"{_p99(took) * 1000:>10.1f}ms {errors:>7}")
    print(f"server peak RSS {_rss_mb(pid):.0f} MB")


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--bursts", type=int, default=20)
    parser.add_argument("--sequential", type=int, default=200, help="page loads one at a time first")
    parser.add_argument("--while-notify", action="store_true",
                        help="run `rectify notify` day after day on the database meanwhile")
    parser.add_argument("--seconds", type=float, default=15,
                        help="with --while-notify: how long the bursts go on; with --rates: each rate")
    parser.add_argument("--workers", type=int, default=2, help="rectify web --workers (2: this machine's cores)")
    parser.add_argument("--per-person", type=int, default=20, help="items each owner holds (owners = items / this)")
    parser.add_argument("--db", help="database URL (default: a new SQLite file)")
    parser.add_argument("--rates", type=float, nargs="+", help="open loop at these arrival rates (requests/s)")
    return parser.parse_args()


def main() -> None:
    args = _arguments()
    work = Path(tempfile.mkdtemp(prefix="rectify-web-bench-"))
    url = args.db or f"sqlite:///{work / 'bench.db'}"
    now = dt.datetime.now(dt.UTC)
    today = local_today(now)
    owners = max(1, args.items // args.per_person)
    populate(url, args.items, today, owners=owners)
    engine = db.make_engine(url)
    tally = daily.plan_and_enqueue(engine, load_settings(None), today, now)  # notices: the step on each card
    engine.dispose()
    port = free_port()
    env = {**os.environ, SECRET_ENV: SECRET}
    server = subprocess.Popen([sys.executable, "-m", "flows", "--db", url, "web", "--port", str(port),
                               "--workers", str(args.workers),
                               "--data-dir", str(work / "uploads")], env=env, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.05)
        paths = [f"/p/{quote(links.issue(SECRET.encode(), UNIT, f'责任人{i}', now))}" for i in range(owners)]
        asyncio.run(_burst("127.0.0.1", port, paths[:10]))  # warm-up: templates compiled
        print(f"{engine.dialect.name}, {args.items:,} items, {owners} owners ({args.per_person} items each), "
              f"{tally.inserted:,} notices")
        _sequential(port, paths, args.sequential)
        if args.rates:
            _rates(port, paths, args, server.pid)
            return
        writer = _notifier(url, today, env) if args.while_notify else None
        if writer is not None:
            time.sleep(2)  # its first run has started planning and writing
        try:
            _bursts(port, paths, args, server.pid, "while `rectify notify` writes" if writer else "")
        finally:
            if writer is not None:
                writer.terminate()
                writer.wait(30)
    finally:
        server.terminate()
        server.wait(10)


if __name__ == "__main__":
    main()
