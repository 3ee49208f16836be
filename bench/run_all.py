"""`make bench`: every benchmark on SQLite and PostgreSQL, figures printed.

Set BENCH_BACKENDS=sqlite to skip PostgreSQL. Needs wrk (apt-get install wrk) for the
single-POST benchmark.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent

RUNS = [
    ["single_posts.py"],
    ["single_posts.py", "--workers", "2"],
    ["batch_ingest.py"],
    ["batch_ingest.py", "--workers", "2", "--concurrency", "4"],
    ["end_to_end.py"],
    ["campaign.py"],
    ["webhooks.py"],
    ["devices.py"],
]


def main() -> None:
    for args in RUNS:
        subprocess.run([sys.executable, str(HERE / args[0]), *args[1:]], check=True, cwd=HERE)


if __name__ == "__main__":
    main()
