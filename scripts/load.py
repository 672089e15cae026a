"""make load: bounded load on the local API — concurrent pollers on loopback, then p50/p99 and the error count.

Usage: python scripts/load.py [--url URL] [--pollers 20] [--requests 5000] [--seconds 300]

Without --url it starts the local API (demo data) on a free loopback port and stops it afterwards. Each poller
keeps one connection and polls the demo jobs in turn with its owner's key; it stops after its share of the
requests or when the time limit is reached. Exit status 1 when any request failed or the limit cut the run short.
"""

import argparse
import http.client
import statistics
import sys
import threading
import time
from urllib.parse import urlsplit

from music_local.launcher import launched

KEY = "frd_test_ecyWJFrOeyePLimY7BxcQhWzSkVOa32StzqY"  # the demo key of usr_alice01 (local/demo.json)
PATHS = [
    f"/v1/music/org_abc123/generations/{job}"
    for job in ("mgen_2f8b1c4e9a7d", "mgen_queued0001", "mgen_running0001", "mgen_failed00001")
]


def poll(url: str, count: int, deadline: float, latencies: list[float], errors: list[str]) -> None:
    target = urlsplit(url)
    connection = http.client.HTTPConnection(target.hostname or "127.0.0.1", target.port, timeout=30)
    try:
        for index in range(count):
            if time.monotonic() > deadline:
                errors.append("time limit reached")
                return
            path = PATHS[index % len(PATHS)]
            started = time.perf_counter()
            connection.request("GET", path, headers={"X-API-Key": KEY})
            response = connection.getresponse()
            response.read()
            latencies.append(time.perf_counter() - started)
            if response.status != 200:
                errors.append(f"{path}: {response.status}")
    except (OSError, http.client.HTTPException) as error:
        errors.append(f"{type(error).__name__}: {error}")
    finally:
        connection.close()


def run(url: str, pollers: int, requests: int, seconds: float) -> tuple[list[float], list[str], float]:
    latencies: list[float] = []
    errors: list[str] = []
    deadline = time.monotonic() + seconds
    shares = [requests // pollers + (1 if i < requests % pollers else 0) for i in range(pollers)]
    started = time.perf_counter()
    threads = [threading.Thread(target=poll, args=(url, share, deadline, latencies, errors)) for share in shares]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, errors, time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="an already running local API (default: start one)")
    parser.add_argument("--pollers", type=int, default=20)
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--seconds", type=float, default=300, help="time limit for the whole run")
    args = parser.parse_args()
    if args.url:
        latencies, errors, elapsed = run(args.url, args.pollers, args.requests, args.seconds)
    else:
        with launched() as api:
            latencies, errors, elapsed = run(api.url, args.pollers, args.requests, args.seconds)
    milliseconds = sorted(latency * 1000 for latency in latencies)
    p99 = milliseconds[min(len(milliseconds) - 1, int(len(milliseconds) * 0.99))] if milliseconds else 0.0
    print(
        f"{len(latencies)} requests by {args.pollers} pollers in {elapsed:.1f} s "
        f"({len(latencies) / elapsed:.0f}/s): p50 {statistics.median(milliseconds or [0]):.1f} ms, "
        f"p99 {p99:.1f} ms, errors {len(errors)}"
    )
    for error in errors[:10]:
        print(f"  error: {error}")
    return 1 if errors or len(latencies) < args.requests else 0


if __name__ == "__main__":
    sys.exit(main())
