"""Process start to printed token: `globus-tokens token RS` vs the globus-sdk equivalent.

Usage: cli_start.py RUST_CLI_BIN RUNS
Makes a SQLite store (globus-sdk's SQLiteAdapter) holding a fresh transfer token, then runs,
alternating, the Rust command and a Python program doing what a globus-sdk user would
(SQLiteAdapter + RefreshTokenAuthorizer, print the token), RUNS times each. Each run's wall
time and peak resident memory (GNU time) are recorded; prints one JSON line per side.
"""

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

from globus_sdk.tokenstorage import SQLiteAdapter

import bench_tokenstorage

RS = "transfer.api.globus.org"
PYTHON_PROGRAM = """
import sys
import globus_sdk
from globus_sdk.tokenstorage import SQLiteAdapter
adapter = SQLiteAdapter(sys.argv[1])
data = adapter.get_token_data("transfer.api.globus.org")
client = globus_sdk.NativeAppAuthClient("7414f0b4-7d05-4bb6-bb00-076fa3f17cf5")
authorizer = globus_sdk.RefreshTokenAuthorizer(
    data["refresh_token"], client, access_token=data["access_token"],
    expires_at=data["expires_at_seconds"], on_refresh=adapter.on_refresh)
print(authorizer.get_authorization_header()[len("Bearer "):])
"""


def store(path: str) -> str:
    """Store the fixture response (fresh: expires in 48 hours) with SQLiteAdapter."""
    response = bench_tokenstorage.token_response()
    adapter = SQLiteAdapter(path)
    adapter.store(response)
    adapter.close()
    return response.by_resource_server[RS]["access_token"]


GNU_TIME = "/usr/bin/time"


def run(argv: list[str], rss_file: str) -> tuple[float, float, str]:
    """Wall time, peak resident memory in MB, and standard output of one run.

    Peak memory comes from GNU time when installed: a child forked from this Python process
    would report Python's own size as its peak (the pages it shared before exec).
    """
    measured = [GNU_TIME, "-f", "%M", "-o", rss_file] + argv if os.path.exists(GNU_TIME) else argv
    start = time.perf_counter()
    child = subprocess.run(measured, capture_output=True, check=False)
    elapsed = time.perf_counter() - start
    if child.returncode != 0:
        raise SystemExit(f"{argv[0]} exited {child.returncode}: {child.stderr.decode()}")
    rss_mb = float("nan")
    if measured[0] == GNU_TIME:
        with open(rss_file, encoding="utf-8") as f:
            rss_mb = int(f.read().split()[-1]) / 1024
    return elapsed, rss_mb, child.stdout.decode().strip()


def main() -> None:
    rust_cli, runs = sys.argv[1], int(sys.argv[2])
    with tempfile.TemporaryDirectory() as tmp:
        db = os.path.join(tmp, "tokens.db")
        expected = store(db)
        sides = {
            "python": [sys.executable, "-c", PYTHON_PROGRAM, db],
            "rust": [rust_cli, "--store", f"sqlite:{db}", "token", RS],
        }
        results = {side: [] for side in sides}
        for _ in range(runs):
            for side, argv in sides.items():
                elapsed, rss_mb, printed = run(argv, os.path.join(tmp, "rss"))
                if printed != expected:
                    raise SystemExit(f"{side} printed {printed!r}")
                results[side].append((elapsed, rss_mb))
        for side, samples in results.items():
            print(json.dumps({
                "scenario": "cli_start", "lang": side, "runs": runs,
                "median_ms": statistics.median(s[0] for s in samples) * 1e3,
                "peak_rss_mb": max(s[1] for s in samples),
            }))


if __name__ == "__main__":
    main()
