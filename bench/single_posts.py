"""Benchmark 1: single-message POSTs over 32 concurrent keep-alive connections.

Load comes from wrk (C, one thread) so the load generator takes little of the 2 cores.
Prints messages accepted per second (HTTP 202, each one committed before the reply).
"""

from __future__ import annotations

import argparse
import itertools
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from _harness import backends, fresh_database, start_server

LUA = r"""
-- Every run starts at a new offset: the same text to the same number twice within the
-- reload window would be refused (and is not what a load of distinct codes looks like).
local counter = tonumber(os.getenv("BENCH_OFFSET"))
local key = os.getenv("BENCH_KEY")
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. key
request = function()
  counter = counter + 1
  local body = string.format('{"to":"+49176%08d","text":"Your code is %06d"}',
                             counter, counter % 1000000)
  return wrk.format(nil, "/api/v1/messages", nil, body)
end
"""


_offsets = itertools.count(0, 10_000_000)


def run_wrk(base_url: str, key: str, seconds: int, connections: int) -> tuple[float, int, str]:
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "post.lua"
        script.write_text(LUA)
        out = subprocess.run(
            [
                "wrk",
                "-t1",
                f"-c{connections}",
                f"-d{seconds}s",
                "--latency",
                "-s",
                str(script),
                base_url,
            ],
            capture_output=True,
            text=True,
            check=True,
            env={"BENCH_KEY": key, "BENCH_OFFSET": str(next(_offsets)), "PATH": "/usr/bin:/bin"},
        ).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    p99 = re.search(r"99%\s+(\S+)", out)
    return rate, int(non2xx.group(1)) if non2xx else 0, p99.group(1) if p99 else "?"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument(
        "--with-worker", action="store_true", help="also run the dispatcher in the same process"
    )
    parser.add_argument("--workers", type=int, default=1, help="HTTP worker processes")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed: apt-get install wrk")
    for backend in backends():
        with fresh_database(backend) as url:
            server = start_server(url, worker=args.with_worker, workers=args.workers)
            try:
                run_wrk(server.base_url, server.key, 2, args.connections)  # warm-up
                rate, errors, p99 = run_wrk(
                    server.base_url, server.key, args.seconds, args.connections
                )
            finally:
                server.stop()
        mode = ("with dispatcher" if args.with_worker else "API only") + f", workers={args.workers}"
        print(
            f"single POST  {backend:10s} {mode:15s} {rate:8.0f} msg/s accepted  "
            f"p99 {p99}  errors {errors}"
        )


if __name__ == "__main__":
    main()
