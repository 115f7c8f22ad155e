"""The Python half of the renewal-storm comparison in scripts/bench-vs-python.

THREADS threads ask one globus_sdk.RefreshTokenAuthorizer holding a stale token for a header at
the same moment. Usage: bench_renewal.py BASE_URL CLIENT_ID REFRESH_TOKEN THREADS
Prints one JSON line: {"lang": "python", "threads": N, "failed": N, "distinct_tokens": N}.
The token requests made are counted by the server (fake-globus-auth's `stats`).
"""

import json
import os
import sys
import threading


def main() -> None:
    base_url, client_id, refresh_token, threads = sys.argv[1:]
    threads = int(threads)
    # globus-sdk reads the Auth base URL from the environment when the client is created.
    os.environ["GLOBUS_SDK_SERVICE_URL_AUTH"] = base_url
    import globus_sdk

    client = globus_sdk.NativeAppAuthClient(client_id)
    authorizer = globus_sdk.RefreshTokenAuthorizer(
        refresh_token, client, access_token="AT-stale", expires_at=0
    )
    barrier = threading.Barrier(threads)
    results = []
    lock = threading.Lock()

    def ask() -> None:
        barrier.wait()
        try:
            header = authorizer.get_authorization_header()
            outcome = ("ok", header)
        except Exception as err:  # noqa: BLE001 - every failure counts
            outcome = ("failed", type(err).__name__)
        with lock:
            results.append(outcome)

    workers = [threading.Thread(target=ask) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    failed = sum(1 for kind, _ in results if kind == "failed")
    distinct = len({value for kind, value in results if kind == "ok"})
    print(json.dumps({"lang": "python", "threads": threads, "failed": failed, "distinct_tokens": distinct}))


if __name__ == "__main__":
    main()
