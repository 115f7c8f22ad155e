#!/usr/bin/env python3
"""The Python half of scripts/bench-vs-python: the workload of
crates/globus-tokens-tools/src/bin/bench-storage.rs through globus-sdk's tokenstorage.

    bench_tokenstorage.py DIR [--backend json1|sqlite|all] [--warmup N]
                              [--store-samples N] [--get-samples N] [--get-batch N]

For each backend, in a fresh file under DIR: store the 3-resource-server token response
(crates/globus-tokens-tools/data/response-authorization-code.json) repeatedly with
SimpleJSONFileAdapter or SQLiteAdapter, then read one resource server back repeatedly. Each sample times one store, or
--get-batch gets; the median over samples, in nanoseconds per operation, is printed as one JSON
line per measurement, like the Rust side.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import statistics
import time
import typing as t

import requests

import globus_sdk
from globus_sdk.tokenstorage import SimpleJSONFileAdapter, SQLiteAdapter

REPO = pathlib.Path(__file__).resolve().parents[2]
RESPONSE = REPO / "crates" / "globus-tokens-tools" / "data" / "response-authorization-code.json"
GET_RS = "transfer.api.globus.org"


def token_response() -> globus_sdk.OAuthTokenResponse:
    """The fixture as the SDK builds it from an HTTP reply (parsed once, outside timing)."""
    raw = requests.Response()
    raw.status_code = 200
    raw.headers["Content-Type"] = "application/json"
    raw.encoding = "utf-8"
    raw._content = RESPONSE.read_bytes()
    client = globus_sdk.NativeAppAuthClient("7414f0b4-7d05-4bb6-bb00-076fa3f17cf5")
    return globus_sdk.OAuthTokenResponse(raw, client)


def report(backend: str, op: str, samples: list[float], ops_per_sample: int) -> None:
    line = {
        "lang": "python",
        "backend": backend,
        "op": op,
        "median_ns": statistics.median(samples),
        "samples": len(samples),
        "ops_per_sample": ops_per_sample,
    }
    print(json.dumps(line), flush=True)


def run(backend: str, adapter: t.Any, args: argparse.Namespace) -> None:
    response = token_response()
    clock = time.perf_counter_ns

    for _ in range(args.warmup):
        adapter.store(response)
    samples = []
    for _ in range(args.store_samples):
        start = clock()
        adapter.store(response)
        samples.append(float(clock() - start))
    report(backend, "store", samples, 1)

    get = adapter.get_token_data
    # "get_fresh": right after the stores; "get": once the file has been left alone for a few
    # seconds, the steady state of a token file (read far more often than written).
    for op in ("get_fresh", "get"):
        if op == "get":
            time.sleep(args.settle_seconds)
        for _ in range(args.warmup * args.get_batch):
            get(GET_RS)
        samples = []
        batch = range(args.get_batch)
        for _ in range(args.get_samples):
            start = clock()
            for _ in batch:
                data = get(GET_RS)
            samples.append((clock() - start) / args.get_batch)
            if data is None:
                raise SystemExit(f"{backend}: {GET_RS} missing after store")
        report(backend, op, samples, args.get_batch)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dir", type=pathlib.Path)
    parser.add_argument("--backend", choices=("json1", "sqlite", "all"), default="all")
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--store-samples", type=int, default=200)
    parser.add_argument("--get-samples", type=int, default=200)
    parser.add_argument("--get-batch", type=int, default=20)
    parser.add_argument("--settle-seconds", type=float, default=3.0)
    args = parser.parse_args()
    backends = ["json1", "sqlite"] if args.backend == "all" else [args.backend]
    for backend in backends:
        if backend == "json1":
            adapter = SimpleJSONFileAdapter(args.dir / "bench-v1.json")
            run(backend, adapter, args)
        else:
            adapter = SQLiteAdapter(args.dir / "bench.db")
            run(backend, adapter, args)
            adapter.close()


if __name__ == "__main__":
    main()
