#!/usr/bin/env python3
"""The Python half of scripts/interop-globus-cli: the real globus-cli (3.44.0, pinned in
scripts/python/requirements-globus-cli.txt, with its globus-sdk 4.x) against the fake Globus
Auth, sharing its login with globus-tokens (run by crates/globus-tokens-tools'
globus-cli-interop, which sets HOME and GLOBUS_SDK_SERVICE_URL_AUTH).

    interop_globus_cli.py write CLIENT_ID SECRET RT...   globus-cli's own storage code records
                                                         its templated client and stores the
                                                         tokens each refresh token gets
    interop_globus_cli.py check TRANSFER_TOKEN           globus-cli's storage holds the token
                                                         globus-tokens renewed, and `globus
                                                         whoami` works on the renewed login
    interop_globus_cli.py renew SECONDS                  globus-cli's own authorizer renews the
                                                         transfer token again and again for
                                                         SECONDS (on_refresh stores it); prints
                                                         `ready` first

Every check prints one line, `ok - ...` or `not ok - ...: why`; the exit status is 1 if any
check failed.
"""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys
import traceback

import globus_sdk
from globus_cli.login_manager import LoginManager
from globus_cli.login_manager.storage import CLIStorage

TRANSFER = "transfer.api.globus.org"
IDENTITY_USERNAME = "tester@globusid.org"

failed = 0


def check(ok: bool, what: str, why: str = "") -> None:
    global failed
    if ok:
        print(f"ok - {what}")
    else:
        failed += 1
        print(f"not ok - {what}: {why}")


def write(client_id: str, secret: str, refresh_tokens: list[str]) -> None:
    storage = CLIStorage()
    storage.store_well_known_config(
        "auth_client_data", {"client_id": client_id, "client_secret": secret}
    )
    client = storage.cli_confidential_client
    for refresh_token in refresh_tokens:
        storage.store(client.oauth2_refresh_token(refresh_token))
    db = pathlib.Path(os.environ["HOME"]) / ".globus/cli/storage.db"
    check(db.exists(), "globus-cli wrote ~/.globus/cli/storage.db", str(db))
    stored = storage.adapter.get_by_resource_server()
    check(
        TRANSFER in stored and "auth.globus.org" in stored,
        "globus-cli stored its transfer and auth tokens (namespace userprofile/production)",
        repr(sorted(stored)),
    )
    storage.close()


def check_renewed(transfer_token: str) -> None:
    storage = CLIStorage()
    stored = storage.adapter.get_token_data(TRANSFER)
    check(
        stored is not None and stored["access_token"] == transfer_token,
        "globus-cli reads the transfer token globus-tokens renewed",
        "a different token is stored",
    )
    versions = storage.read_well_known_config("scope_contract_versions") or {}
    check(
        TRANSFER in versions,
        "globus-cli's scope contract versions are intact",
        repr(versions),
    )
    storage.close()
    globus = pathlib.Path(sys.executable).parent / "globus"
    run = subprocess.run(
        [str(globus), "whoami", "--format", "json"],
        capture_output=True,
        text=True,
        env=os.environ.copy(),
        timeout=120,
    )
    try:
        who = json.loads(run.stdout) if run.returncode == 0 else {}
    except json.JSONDecodeError:
        who = {}
    check(
        run.returncode == 0 and who.get("preferred_username") == IDENTITY_USERNAME,
        "`globus whoami` works on the login globus-tokens renewed",
        f"exit {run.returncode}: {run.stdout.strip()} {run.stderr.strip()}",
    )


def renew(seconds: float) -> None:
    import time

    print("ready", flush=True)
    deadline = time.monotonic() + seconds
    renewals = 0
    while time.monotonic() < deadline:
        manager = LoginManager()
        authorizer = manager._get_client_authorizer(TRANSFER)
        before = authorizer.access_token
        # What globus-cli does after a 401: drop the token, get a new one (stored by
        # on_refresh, globus-cli's own storage code).
        authorizer.handle_missing_authorization()
        header = authorizer.get_authorization_header()
        manager.close()
        if header is None or header == f"Bearer {before}":
            check(False, "globus-cli's authorizer renewed the transfer token", repr(header))
            return
        renewals += 1
    check(renewals > 0, f"globus-cli's own authorizer renewed the transfer token {renewals} times")


def main() -> int:
    command, args = sys.argv[1], sys.argv[2:]
    try:
        if command == "write":
            write(args[0], args[1], args[2:])
        elif command == "check":
            check_renewed(args[0])
        elif command == "renew":
            renew(float(args[0]))
        else:
            print(f"not ok - unknown command {command}")
            return 2
    except Exception:
        check(False, f"{command} raised", traceback.format_exc().replace("\n", " | "))
    return 1 if failed else 0


if __name__ == "__main__":
    globus_sdk  # imported for its version in tracebacks
    sys.exit(main())
