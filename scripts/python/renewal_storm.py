"""Renewal storm: N threads, one stale token, rotating refresh tokens; Python vs Rust.

Usage: renewal_storm.py FAKE_SERVER_BIN RUST_BENCH_BIN ROUNDS THREADS...
Starts the fake Globus Auth server (crates/globus-tokens-testkit, bin fake-globus-auth), and
for each round, thread count and language: issues a fresh refresh token, runs
bench_renewal.py (globus-sdk) or bench-renewal (globus-tokens) against it, and reads the
server's count of token requests. Prints one JSON line per run.
"""

import json
import pathlib
import subprocess
import sys

CLIENT_ID = "7414f0b4-7d05-4bb6-bb00-076fa3f17cf5"
RS = "transfer.api.globus.org"
SCOPE = "urn:globus:auth:scope:transfer.api.globus.org:all"
# Globus Auth answers in tens to hundreds of milliseconds; without a delay every thread but the
# first could find the new token by luck, which is not what happens against the real service.
TOKEN_DELAY_MS = 100


def main() -> None:
    server_bin, rust_bin, rounds, *threads = sys.argv[1:]
    here = pathlib.Path(__file__).resolve().parent
    server = subprocess.Popen(
        [server_bin], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )

    def command(line: str) -> dict:
        server.stdin.write(line + "\n")
        server.stdin.flush()
        return json.loads(server.stdout.readline())

    base_url = json.loads(server.stdout.readline())["base_url"]
    command(f"client {CLIENT_ID}")
    command(f"delay {TOKEN_DELAY_MS}")
    try:
        for round_number in range(1, int(rounds) + 1):
            for count in threads:
                for lang in ("python", "rust"):
                    refresh_token = command(f"issue {CLIENT_ID} {RS} {SCOPE}")["refresh_token"]
                    command("reset")
                    if lang == "python":
                        argv = [sys.executable, str(here / "bench_renewal.py")]
                    else:
                        argv = [rust_bin]
                    out = subprocess.run(
                        argv + [base_url, CLIENT_ID, refresh_token, count],
                        check=True,
                        capture_output=True,
                        text=True,
                    ).stdout
                    result = json.loads(out.strip().splitlines()[-1])
                    result.update(
                        scenario="renewal",
                        round=round_number,
                        token_requests=command("stats")["token_requests"],
                    )
                    print(json.dumps(result), flush=True)
    finally:
        server.stdin.close()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
