"""Personal pages under load: `rectify web` (its own process, as deployed) over a ledger
of N items on SQLite, hit by bursts of C concurrent page loads, each a different
person's link. Prints latency (median, 90th percentile, max) per burst and overall, the
throughput, and the server's peak memory.

    .venv/bin/python bench/web_bench.py [--items 10000] [--concurrency 200] [--bursts 5] [--db URL]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
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
from rectify_core.delivery.mailsink import free_port
from rectify_core.ledger import db
from rectify_core.runs import daily
from rectify_core.web import links

SECRET = "bench-secret-0123456789abcdef"
UNIT = "基准测试单位"


async def _load(host: str, port: int, path: str) -> tuple[float, int]:
    """One page load as a phone makes it: a new connection, GET, read to the end. A lean
    client (asyncio streams), so that what is timed is the server, not the client."""
    start = time.perf_counter()
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n\r\n".encode())
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    length = int(re.search(rb"(?i)content-length: *(\d+)", head).group(1))  # type: ignore[union-attr]
    body = await reader.readexactly(length)  # done when the page is in, as a browser is
    elapsed = time.perf_counter() - start
    writer.close()
    if head[9:12] != b"200":
        raise SystemExit(f"{path}: HTTP {head[9:12].decode(errors='replace')}")
    return elapsed, len(body)


async def _burst(host: str, port: int, paths: list[str]) -> list[tuple[float, int]]:
    return await asyncio.gather(*(_load(host, port, p) for p in paths))


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=200)
    parser.add_argument("--bursts", type=int, default=5)
    parser.add_argument("--workers", type=int, default=2, help="rectify web --workers (2: this machine's cores)")
    parser.add_argument("--per-person", type=int, default=20, help="items each owner holds (owners = items / this)")
    parser.add_argument("--db", help="database URL (default: a new SQLite file)")
    args = parser.parse_args()
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
        people = [f"责任人{i * owners // args.concurrency}" for i in range(args.concurrency)]
        paths = [f"/p/{quote(links.issue(SECRET.encode(), UNIT, name, now))}" for name in people]
        asyncio.run(_burst("127.0.0.1", port, paths[:10]))  # warm-up: templates compiled
        print(f"{engine.dialect.name}, {args.items:,} items, {tally.inserted:,} notices; "
              f"{args.concurrency} concurrent page loads per burst, each a different person")
        every: list[float] = []
        sizes: list[int] = []
        wall = 0.0
        for n in range(1, args.bursts + 1):
            start = time.perf_counter()
            results = asyncio.run(_burst("127.0.0.1", port, paths))
            wall += time.perf_counter() - start
            times = sorted(t for t, _ in results)
            every += times
            sizes += [s for _, s in results]
            print(f"  burst {n}: median {statistics.median(times) * 1000:6.0f} ms   "
                  f"p90 {times[int(len(times) * 0.9)] * 1000:6.0f} ms   max {times[-1] * 1000:6.0f} ms")
        every.sort()
        print(f"overall: median {statistics.median(every) * 1000:.0f} ms, "
              f"p90 {every[int(len(every) * 0.9)] * 1000:.0f} ms, "
              f"p99 {every[min(int(len(every) * 0.99), len(every) - 1)] * 1000:.0f} ms, "
              f"{len(every) / wall:.0f} pages/s, page {statistics.mean(sizes) / 1024:.0f} KB on average, "
              f"{args.workers} worker(s), "
              f"server peak RSS {_rss_mb(server.pid):.0f} MB")
    finally:
        server.terminate()
        server.wait(10)


if __name__ == "__main__":
    main()
