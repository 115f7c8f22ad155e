#!/usr/bin/env python3
"""The Python half of scripts/interop-app: globus-sdk 3.65's UserApp against the fake Globus
Auth, sharing its tokens with globus-app's UserApp (run by crates/globus-tokens-tools'
app-interop, which sets HOME and GLOBUS_SDK_SERVICE_URL_AUTH).

    interop_app.py login STORAGE            log in with the command-line flow (app-interop
                                            reads the URL and types the code) and check what
                                            was stored
    interop_app.py check STORAGE TOKEN      with a Transfer requirement (dependent scope
                                            included) added by Rust's login: nothing to log in
                                            for, and the authorizer hands out TOKEN

Every check prints one line, `ok - ...` or `not ok - ...: why`; the exit status is 1 if any
check failed. The constants are repeated in crates/globus-tokens-tools/src/bin/app-interop.rs.
"""

from __future__ import annotations

import os
import pathlib
import sys
import traceback

from globus_sdk import GlobusAppConfig, Scope, UserApp
from globus_sdk.tokenstorage import TokenValidationError

CLIENT_ID = "5f0e3d6c-9a51-4c2e-b1a7-2d6c8e4f0a13"
APP_NAME = "Interop App"
TRANSFER = "transfer.api.globus.org"
TRANSFER_REQUIREMENT = (
    "urn:globus:auth:scope:transfer.api.globus.org:all"
    "[*https://auth.globus.org/scopes/542a86fc-1766-450d-841f-065488a2ec01/data_access]"
)
IDENTITY_ID = "8f7e9c1a-3b5d-4e2f-9a6b-0c1d2e3f4a5b"

failed = 0


def check(ok: bool, what: str, why: str = "") -> None:
    global failed
    if ok:
        print(f"ok - {what}")
    else:
        failed += 1
        print(f"not ok - {what}: {why}")


def app(storage: str, **kwargs) -> UserApp:
    return UserApp(
        APP_NAME,
        client_id=CLIENT_ID,
        config=GlobusAppConfig(token_storage=storage),
        **kwargs,
    )


def token_file(storage: str) -> pathlib.Path:
    ext = "json" if storage == "json" else "db"
    return pathlib.Path(os.environ["HOME"]) / ".globus/app" / CLIENT_ID / "interop-app" / f"tokens.{ext}"


def login(storage: str) -> None:
    a = app(storage)
    check(a.login_required(), f"{storage}: Python: nothing stored, login required")
    a.login()
    print()  # the code prompt had no newline
    data = a.token_storage.get_token_data("auth.globus.org")
    check(data is not None and data.identity_id == IDENTITY_ID, f"{storage}: Python stored tokens with identity_id",
          repr(data and data.identity_id))
    check(token_file(storage).exists(), f"{storage}: Python's file is at the per-app path", str(token_file(storage)))
    check(not a.login_required(), f"{storage}: Python: logged in")


def check_rust(storage: str, token: str) -> None:
    a = app(storage, scope_requirements={TRANSFER: [Scope.parse(TRANSFER_REQUIREMENT)[0]]})
    try:
        required = a.login_required()
        check(not required, f"{storage}: Python: Rust's login meets the dependent-scope requirement")
        authorizer = a.get_authorizer(TRANSFER)
        check(authorizer.access_token == token, f"{storage}: Python hands out Rust's Transfer token")
    except TokenValidationError as err:
        check(False, f"{storage}: Python validates Rust's tokens", repr(err))
    check(a.token_storage.identity_id == IDENTITY_ID, f"{storage}: Python reads the identity Rust kept",
          repr(a.token_storage.identity_id))


def main(argv: list[str]) -> int:
    try:
        if argv[:1] == ["login"] and len(argv) == 2:
            login(argv[1])
        elif argv[:1] == ["check"] and len(argv) == 3:
            check_rust(argv[1], argv[2])
        else:
            print(__doc__, file=sys.stderr)
            return 2
    except Exception:  # report, do not crash silently
        check(False, " ".join(argv), traceback.format_exc().replace("\n", " | "))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
