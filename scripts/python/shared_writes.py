"""Shared-store writes: 8 processes each store 50 distinct resource servers into one store.

Usage: shared_writes.py RUST_WRITER_BIN PROCESSES PER_PROCESS
For JSON 1.0 (SimpleJSONFileAdapter vs SimpleJsonFileAdapter) and SQLite (SQLiteAdapter vs
SqliteAdapter), starts PROCESSES writers at once against one fresh file, waits, then reads the
file with Python's json / sqlite3 and counts: entries lost, operations failed, and whether the
file is readable at the end. Prints one JSON line per side and backend.
"""

import json
import os
import sqlite3
import subprocess
import sys
import tempfile

PYTHON_WRITER = r"""
import json, sys, types
from globus_sdk.tokenstorage import SimpleJSONFileAdapter, SQLiteAdapter
backend, path, writer, count = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
failed = 0
try:
    adapter = SimpleJSONFileAdapter(path) if backend == "json1" else SQLiteAdapter(path)
except Exception:
    print(json.dumps({"lang": "python", "writer": writer, "failed": count}))
    raise SystemExit(0)
for index in range(count):
    rs = f"rs-{writer}-{index}.example.org"
    response = types.SimpleNamespace(by_resource_server={rs: {
        "scope": "scope", "access_token": f"AT-{writer}-{index}", "refresh_token": None,
        "token_type": "Bearer", "expires_at_seconds": 2000000000, "resource_server": rs}})
    try:
        adapter.store(response)
    except Exception:
        failed += 1
print(json.dumps({"lang": "python", "writer": writer, "failed": failed}))
"""


def final_state(backend: str, path: str) -> tuple[bool, int]:
    """Whether the file reads, and how many entries it holds."""
    try:
        if backend == "json1":
            with open(path, encoding="utf-8") as f:
                return True, len(json.load(f)["by_rs"])
        connection = sqlite3.connect(path)
        (verdict,) = connection.execute("PRAGMA integrity_check").fetchone()
        (count,) = connection.execute("SELECT COUNT(*) FROM token_storage").fetchone()
        return verdict == "ok", count
    except Exception:
        return False, 0


def main() -> None:
    rust_writer, processes, per_process = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    for backend in ("json1", "sqlite"):
        for lang in ("python", "rust"):
            with tempfile.TemporaryDirectory() as tmp:
                path = os.path.join(tmp, "tokens.json" if backend == "json1" else "tokens.db")
                if lang == "python":
                    argv = [sys.executable, "-c", PYTHON_WRITER]
                else:
                    argv = [rust_writer]
                children = [
                    subprocess.Popen(
                        argv + [backend, path, str(w), str(per_process)],
                        stdout=subprocess.PIPE,
                        stderr=subprocess.DEVNULL,
                        text=True,
                    )
                    for w in range(processes)
                ]
                failed = 0
                for child in children:
                    out, _ = child.communicate()
                    lines = [line for line in out.splitlines() if line.strip()]
                    failed += json.loads(lines[-1])["failed"] if lines else per_process
                readable, entries = final_state(backend, path)
                print(json.dumps({
                    "scenario": "shared_writes", "backend": backend, "lang": lang,
                    "processes": processes, "per_process": per_process,
                    "expected": processes * per_process, "entries": entries,
                    "lost": processes * per_process - entries, "failed": failed,
                    "readable": readable,
                }), flush=True)


if __name__ == "__main__":
    main()
