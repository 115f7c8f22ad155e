#!/usr/bin/env python3
"""The Python half of scripts/interop: globus-sdk 3.65.0 reads and edits what Rust wrote, and
writes fresh files for Rust to read.

    interop_check.py check-rust DIR      read DIR/rust-*.{json,db}, assert, then edit them
    interop_check.py write-fresh DIR     write DIR/py-*.{json,db} with the Python classes
    interop_check.py check-upgraded DIR  read what Rust wrote into Python's files
    interop_check.py live DIR N          check Rust's generation N-1 in DIR/live-*, write N
                                         (run by `interop live`, which keeps its handles open)

Every check prints one line, `ok - ...` or `not ok - ...: why`; the exit status is 1 if any
check failed. The expected values come from crates/globus-tokens-tools/data/interop-tokens.json
(shared with the Rust side), including the values Python writes.
"""

from __future__ import annotations

import json
import os
import pathlib
import sys
import traceback
import typing as t
from unittest import mock

import requests

import globus_sdk
from globus_sdk.tokenstorage import (
    JSONTokenStorage,
    SimpleJSONFileAdapter,
    SQLiteAdapter,
    SQLiteTokenStorage,
    TokenStorageData,
)

REPO = pathlib.Path(__file__).resolve().parents[2]
DATA = REPO / "crates" / "globus-tokens-tools" / "data"
SPEC = json.loads((DATA / "interop-tokens.json").read_text(encoding="utf-8"))

# time.time() while Python builds token responses, so expires_at_seconds is exact
PY = SPEC["python"]
T_PY: int = PY["received_at"]
NON_ASCII_SCOPE = SPEC["tokens"]["DEFAULT"]["groups.api.globus.org"]["scope"]
SEARCH = PY["search"]
BOB = PY["bob"]
CLIENTAPP = PY["clientapp"]
PY_CLI_CONFIG = PY["cli_config"]
PY_EDITED_CONFIG = PY["edited_cli_config"]
PY_ALICE_CONFIG = PY["alice_config"]
V2_FIELDS = (
    "resource_server",
    "identity_id",
    "scope",
    "access_token",
    "refresh_token",
    "expires_at_seconds",
    "token_type",
)

passed = 0
failed = 0


def check(name: str, fn: t.Callable[[], None]) -> None:
    """Run one check; print one line; never raise."""
    global passed, failed
    try:
        fn()
    except Exception as err:  # noqa: BLE001 - report every failure the same way
        failed += 1
        detail = str(err) or type(err).__name__
        if not isinstance(err, AssertionError):
            detail = f"{type(err).__name__}: {detail}\n" + "".join(
                traceback.format_exception(err)
            )
        print(f"not ok - python: {name}: {detail}", flush=True)
    else:
        passed += 1
        print(f"ok - python: {name}", flush=True)


def eq(got: t.Any, want: t.Any, what: str = "value") -> None:
    if got != want:
        raise AssertionError(f"{what}: got {got!r}, want {want!r}")


def token_response(body: t.Any, at: int = T_PY) -> globus_sdk.OAuthTokenResponse:
    """An OAuthTokenResponse as the SDK builds it from an HTTP reply, received at `at`."""
    raw = requests.Response()
    raw.status_code = 200
    raw.headers["Content-Type"] = "application/json"
    raw.encoding = "utf-8"
    raw._content = json.dumps(body).encode("utf-8")
    client = globus_sdk.NativeAppAuthClient("7414f0b4-7d05-4bb6-bb00-076fa3f17cf5")
    with mock.patch("time.time", return_value=at):
        return globus_sdk.OAuthTokenResponse(raw, client)


def authorization_code_body() -> dict[str, t.Any]:
    """The 3-resource-server fixture, with a non-ASCII groups scope."""
    body = json.loads((DATA / "response-authorization-code.json").read_text("utf-8"))
    body["other_tokens"][1]["scope"] = NON_ASCII_SCOPE
    return body


def refresh_body() -> dict[str, t.Any]:
    return json.loads((DATA / "response-refresh.json").read_text("utf-8"))


def legacy_from_response(body: dict[str, t.Any], at: int = T_PY) -> dict[str, dict]:
    """What the legacy adapters store for a response: globus-sdk's by_resource_server."""
    out = {}
    for tok in [body, *body.get("other_tokens", [])]:
        out[tok["resource_server"]] = {
            "scope": tok["scope"],
            "access_token": tok["access_token"],
            "refresh_token": tok.get("refresh_token"),
            "token_type": tok.get("token_type"),
            "expires_at_seconds": at + tok["expires_in"],
            "resource_server": tok["resource_server"],
        }
    return out


def as_v2_dict(legacy: dict[str, t.Any]) -> dict[str, t.Any]:
    """Field values a TokenStorageData should hold for a stored dict (missing = None)."""
    return {field: legacy.get(field) for field in V2_FIELDS}


def extra_of(stored: dict[str, t.Any]) -> dict[str, t.Any]:
    return {k: v for k, v in stored.items() if k not in V2_FIELDS}


def assert_tsd(got: TokenStorageData | None, want: dict[str, t.Any], what: str) -> None:
    """A TokenStorageData equals a stored dict: known fields and extra."""
    assert got is not None, f"{what}: missing"
    eq({f: getattr(got, f) for f in V2_FIELDS}, as_v2_dict(want), f"{what} fields")
    eq(got.extra, extra_of(want), f"{what} extra fields")


def owner_only(path: pathlib.Path) -> None:
    mode = path.stat().st_mode & 0o777
    assert mode & 0o077 == 0, f"{path.name} mode is {oct(mode)}, want owner-only"


def same_as_python(path: pathlib.Path) -> None:
    """The file is what json.dump writes for the same data (key order, spacing, escapes)."""
    text = path.read_text("utf-8")
    eq(text, json.dumps(json.loads(text)), f"{path.name} text")


def rust_tokens(namespace: str) -> dict[str, dict[str, t.Any]]:
    return SPEC["tokens"][namespace]


# -- phase 1: Python reads and edits what Rust wrote ------------------------------------------


def check_rust(d: pathlib.Path) -> None:
    spec_default = rust_tokens("DEFAULT")
    spec_alice = rust_tokens("userprofile/alice")
    refreshed = legacy_from_response(refresh_body())

    # JSON 1.0
    v1 = d / "rust-v1.json"
    check("rust-v1.json is owner-only (0600)", lambda: owner_only(v1))

    def v1_raw() -> None:
        raw = json.loads(v1.read_text("utf-8"))
        eq(raw.get("format_version"), "1.0", "format_version")
        assert isinstance(raw.get("globus-sdk.version"), str), "globus-sdk.version not a string"
        eq(sorted(raw), ["by_rs", "format_version", "globus-sdk.version"], "top-level keys")

    check("rust-v1.json has the 1.0 top-level shape", v1_raw)
    check("rust-v1.json is byte for byte what Python's json.dump writes", lambda: same_as_python(v1))
    check(
        "SimpleJSONFileAdapter reads rust-v1.json exactly (extra fields, identity_id, null RT, non-ASCII)",
        lambda: eq(SimpleJSONFileAdapter(v1).get_by_resource_server(), spec_default, "by_rs"),
    )
    check(
        "SimpleJSONFileAdapter.get_token_data(groups) keeps the non-ASCII scope and null refresh token",
        lambda: eq(
            SimpleJSONFileAdapter(v1).get_token_data("groups.api.globus.org"),
            spec_default["groups.api.globus.org"],
        ),
    )

    def v1_edit() -> None:
        SimpleJSONFileAdapter(v1).store(token_response(refresh_body()))
        got = SimpleJSONFileAdapter(v1).get_by_resource_server()
        eq(got["transfer.api.globus.org"], refreshed["transfer.api.globus.org"], "transfer")
        eq(got["auth.globus.org"], spec_default["auth.globus.org"], "auth")

    check("SimpleJSONFileAdapter.store(refresh response) into rust-v1.json", v1_edit)

    # JSON 2.0
    v2 = d / "rust-v2.json"
    check("rust-v2.json is owner-only (0600)", lambda: owner_only(v2))

    def v2_raw() -> None:
        raw = json.loads(v2.read_text("utf-8"))
        eq(raw.get("format_version"), "2.0", "format_version")
        assert isinstance(raw.get("globus-sdk.version"), str), "globus-sdk.version not a string"
        eq(sorted(raw["data"]), ["DEFAULT", "userprofile/alice"], "namespaces")
        groups = raw["data"]["DEFAULT"]["groups.api.globus.org"]
        assert "refresh_token" not in groups, "2.0 data should omit a null refresh_token"
        assert "identity_id" not in groups, "2.0 data should omit a null identity_id"

    check("rust-v2.json has the 2.0 shape, None fields omitted", v2_raw)
    check("rust-v2.json is byte for byte what Python's json.dump writes", lambda: same_as_python(v2))

    def v2_read() -> None:
        for ns, spec in (("DEFAULT", spec_default), ("userprofile/alice", spec_alice)):
            got = JSONTokenStorage(v2, namespace=ns).get_token_data_by_resource_server()
            eq(sorted(got), sorted(spec), f"{ns} resource servers")
            for rs, want in spec.items():
                assert_tsd(got[rs], want, f"{ns}/{rs}")

    check("JSONTokenStorage reads both namespaces of rust-v2.json (fields + extra)", v2_read)

    def v2_edit() -> None:
        default = JSONTokenStorage(v2, namespace="DEFAULT")
        default.store_token_response(token_response(refresh_body()))
        eq(default.remove_token_data("groups.api.globus.org"), True, "remove groups")
        alice = JSONTokenStorage(v2, namespace="userprofile/alice")
        alice.store_token_data_by_resource_server(
            {"search.api.globus.org": TokenStorageData(**SEARCH)}
        )
        got = default.get_token_data("transfer.api.globus.org")
        assert_tsd(got, refreshed["transfer.api.globus.org"], "DEFAULT/transfer after store")
        assert default.get_token_data("groups.api.globus.org") is None, "groups still present"

    check(
        "JSONTokenStorage edits rust-v2.json (store response, remove groups, store in 2nd namespace)",
        v2_edit,
    )

    # SQLite, schema 1
    db = d / "rust.db"
    check("rust.db is owner-only (0600)", lambda: owner_only(db))

    def db_read() -> None:
        for ns, spec in (("DEFAULT", spec_default), ("userprofile/alice", spec_alice)):
            adapter = SQLiteAdapter(db, namespace=ns)
            eq(adapter.get_by_resource_server(), spec, f"{ns} by_resource_server")
            for rs, want in spec.items():
                eq(adapter.get_token_data(rs), want, f"{ns}/{rs}")
            for name, config in SPEC["configs"][ns].items():
                eq(adapter.read_config(name), config, f"{ns} config {name}")
            adapter.close()

    check("SQLiteAdapter reads rust.db exactly (tokens and config, both namespaces)", db_read)

    def db_namespaces() -> None:
        adapter = SQLiteAdapter(db)
        eq(sorted(adapter.iter_namespaces()), ["DEFAULT", "userprofile/alice"], "namespaces")
        eq(
            sorted(adapter.iter_namespaces(include_config_namespaces=True)),
            ["DEFAULT", "userprofile/alice"],
            "namespaces incl. config",
        )
        adapter.close()

    check("SQLiteAdapter.iter_namespaces on rust.db", db_namespaces)

    def db_schema() -> None:
        import sqlite3

        conn = sqlite3.connect(db)
        rows = dict(conn.execute("SELECT attribute, value FROM sdk_storage_adapter_internal"))
        conn.close()
        eq(rows.get("globus-sdk.database_schema_version"), "1", "schema version")
        assert isinstance(rows.get("globus-sdk.version"), str), "globus-sdk.version missing"

    check("rust.db declares database_schema_version 1", db_schema)

    def db_json_text() -> None:
        import sqlite3

        conn = sqlite3.connect(db)
        rows = list(conn.execute("SELECT token_data_json FROM token_storage"))
        rows += list(conn.execute("SELECT config_data_json FROM config_storage"))
        conn.close()
        assert rows, "no rows"
        for (text,) in rows:
            eq(text, json.dumps(json.loads(text)), "stored JSON text")

    check("rust.db stores JSON text exactly as Python's json.dumps does", db_json_text)

    def db_v2_read() -> None:
        storage = SQLiteTokenStorage(db, namespace="userprofile/alice")
        got = storage.get_token_data_by_resource_server()
        eq(sorted(got), sorted(spec_alice), "resource servers")
        for rs, want in spec_alice.items():
            assert_tsd(got[rs], want, f"alice/{rs}")
        storage.close()

    check("SQLiteTokenStorage reads rust.db (schema 1) too", db_v2_read)

    def db_edit() -> None:
        adapter = SQLiteAdapter(db)
        adapter.store(token_response(refresh_body()))
        eq(adapter.remove_tokens_for_resource_server("groups.api.globus.org"), True, "remove")
        adapter.store_config("cli_config", PY_EDITED_CONFIG)
        eq(adapter.remove_config("to_remove"), True, "remove_config")
        adapter.close()
        alice = SQLiteAdapter(db, namespace="userprofile/alice")
        alice.store_config("py_config", PY_ALICE_CONFIG)
        alice.close()
        v2 = SQLiteTokenStorage(db, namespace="python/v2")
        v2.store_token_data_by_resource_server(
            {"search.api.globus.org": TokenStorageData(**SEARCH)}
        )
        v2.close()

    check(
        "SQLiteAdapter/SQLiteTokenStorage edit rust.db (store, remove, config replace/remove, new namespace)",
        db_edit,
    )


    # SQLite, schema 2: a file Rust created in SQLiteTokenStorage's layout
    db2 = d / "rust-v2.db"
    check("rust-v2.db is owner-only (0600)", lambda: owner_only(db2))

    def db2_layout() -> None:
        import sqlite3
        import tempfile

        def layout(path: pathlib.Path) -> tuple[list, list]:
            conn = sqlite3.connect(path)
            master = list(
                conn.execute("SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY rowid")
            )
            internal = list(
                conn.execute("SELECT attribute FROM sdk_storage_adapter_internal ORDER BY rowid")
            )
            version = conn.execute(
                "SELECT value FROM sdk_storage_adapter_internal "
                "WHERE attribute = 'globus-sdk.database_schema_version'"
            ).fetchone()
            conn.close()
            return master, internal + [version]

        with tempfile.TemporaryDirectory() as tmp:
            fresh = pathlib.Path(tmp) / "fresh.db"
            SQLiteTokenStorage(fresh).close()
            eq(layout(db2), layout(fresh), "sqlite_master and internal rows vs. SQLiteTokenStorage's")

    check("rust-v2.db has exactly the tables and schema version SQLiteTokenStorage creates", db2_layout)

    def db2_read() -> None:
        for ns, spec in (("DEFAULT", spec_default), ("userprofile/alice", spec_alice)):
            storage = SQLiteTokenStorage(db2, namespace=ns)
            got = storage.get_token_data_by_resource_server()
            eq(sorted(got), sorted(spec), f"{ns} resource servers")
            for rs, want in spec.items():
                assert_tsd(got[rs], want, f"{ns}/{rs}")
                assert_tsd(storage.get_token_data(rs), want, f"{ns}/{rs} get_token_data")
            eq(sorted(storage.iter_namespaces()), ["DEFAULT", "userprofile/alice"], "namespaces")
            storage.close()

    check("SQLiteTokenStorage reads rust-v2.db exactly (both namespaces)", db2_read)

    def db2_json_text() -> None:
        import sqlite3

        conn = sqlite3.connect(db2)
        rows = list(conn.execute("SELECT token_data_json FROM token_storage"))
        conn.close()
        assert rows, "no rows"
        for (text,) in rows:
            # SQLiteTokenStorage writes to_dict() (extra fields dropped); Rust keeps the extra
            # fields, after the known ones, which to_dict(include_extra=True) reproduces.
            stored = TokenStorageData.from_dict(json.loads(text))
            want = json.dumps(stored.to_dict(include_extra=True))
            eq(text, want, "stored JSON text vs. SQLiteTokenStorage's")

    check(
        "rust-v2.db stores JSON text as SQLiteTokenStorage does (field order, json.dumps; extra fields kept)",
        db2_json_text,
    )

    def db2_edit() -> None:
        storage = SQLiteTokenStorage(db2)
        storage.store_token_data_by_resource_server(
            {"search.api.globus.org": TokenStorageData(**SEARCH)}
        )
        assert_tsd(storage.get_token_data("search.api.globus.org"), SEARCH, "stored search")
        storage.close()

    check("SQLiteTokenStorage writes to rust-v2.db", db2_edit)

# -- phase 2: Python writes fresh files -------------------------------------------------------


def write_fresh(d: pathlib.Path) -> None:
    body = authorization_code_body()

    def v1() -> None:
        SimpleJSONFileAdapter(d / "py-v1.json").store(token_response(body))
        SimpleJSONFileAdapter(d / "py-v1-upgrade.json").store(token_response(body))

    check("SimpleJSONFileAdapter writes py-v1.json and py-v1-upgrade.json", v1)

    def v2() -> None:
        JSONTokenStorage(d / "py-v2.json").store_token_response(token_response(body))
        JSONTokenStorage(d / "py-v2.json", namespace="userprofile/bob").store_token_data_by_resource_server(
            {"transfer.api.globus.org": TokenStorageData(**BOB)}
        )

    check("JSONTokenStorage writes py-v2.json (DEFAULT + userprofile/bob)", v2)

    def db1() -> None:
        adapter = SQLiteAdapter(d / "py-v1.db")
        adapter.store(token_response(body))
        adapter.store_config("cli_config", PY_CLI_CONFIG)
        adapter.close()
        alice = SQLiteAdapter(d / "py-v1.db", namespace="userprofile/alice")
        alice.store(token_response(refresh_body()))
        alice.store_config("profile", PY_ALICE_CONFIG)
        alice.close()

    check("SQLiteAdapter writes py-v1.db (2 namespaces + config)", db1)

    def db2() -> None:
        storage = SQLiteTokenStorage(d / "py-v2.db")
        storage.store_token_response(token_response(body))
        storage.close()
        client = SQLiteTokenStorage(d / "py-v2.db", namespace="clientapp")
        client.store_token_data_by_resource_server(
            {"transfer.api.globus.org": TokenStorageData(**CLIENTAPP)}
        )
        client.close()

    check("SQLiteTokenStorage writes py-v2.db (schema 2, DEFAULT + clientapp)", db2)


# -- phase 3: Python reads what Rust wrote into Python's files ---------------------------------


def check_upgraded(d: pathlib.Path) -> None:
    body = authorization_code_body()
    original = legacy_from_response(body)
    upgrade = SPEC["upgrade_entry"]
    up = d / "py-v1-upgrade.json"

    def raw() -> None:
        data = json.loads(up.read_text("utf-8"))
        eq(data.get("format_version"), "2.0", "format_version")
        eq(sorted(data["data"]), ["DEFAULT", "rust/upgraded"], "namespaces")

    check("py-v1-upgrade.json was rewritten by Rust as format 2.0", raw)

    def read() -> None:
        default = JSONTokenStorage(up).get_token_data_by_resource_server()
        eq(sorted(default), sorted(original), "DEFAULT resource servers")
        for rs, want in original.items():
            assert_tsd(default[rs], want, f"DEFAULT/{rs}")
        got = JSONTokenStorage(up, namespace="rust/upgraded").get_token_data(
            upgrade["resource_server"]
        )
        assert_tsd(got, upgrade, "rust/upgraded entry")

    check("JSONTokenStorage reads the upgraded file (original 1.0 tokens + Rust's entry)", read)

    def old_reader_refuses() -> None:
        try:
            SimpleJSONFileAdapter(up).get_by_resource_server()
        except ValueError:
            return
        raise AssertionError("SimpleJSONFileAdapter accepted a 2.0 file")

    check("SimpleJSONFileAdapter refuses the upgraded 2.0 file, as after a Python upgrade", old_reader_refuses)

    def db2() -> None:
        storage = SQLiteTokenStorage(d / "py-v2.db", namespace="rust")
        assert_tsd(storage.get_token_data(upgrade["resource_server"]), upgrade, "rust entry")
        eq(sorted(storage.iter_namespaces()), ["DEFAULT", "clientapp", "rust"], "namespaces")
        default = SQLiteTokenStorage(d / "py-v2.db").get_token_data_by_resource_server()
        eq(sorted(default), sorted(original), "DEFAULT untouched")
        storage.close()

    check("SQLiteTokenStorage reads Rust's namespace in py-v2.db (schema 2)", db2)


# -- live: Python and long-lived Rust handles write the same files in turn ---------------------

LIVE_RS = "transfer.api.globus.org"
LIVE_SCOPE = "urn:globus:auth:scope:transfer.api.globus.org:all"
LIVE_EXPIRES = 2_000_000_000


def live_legacy(generation: int) -> dict[str, t.Any]:
    return {
        "scope": LIVE_SCOPE,
        "access_token": f"AT-live-{generation}",
        "refresh_token": f"RT-live-{generation}",
        "token_type": "Bearer",
        "expires_at_seconds": LIVE_EXPIRES,
        "resource_server": LIVE_RS,
    }


def live(d: pathlib.Path, generation: int) -> None:
    """Check Rust's generation - 1 in the live files, then write `generation`."""
    previous = live_legacy(generation - 1)
    body = {
        "access_token": f"AT-live-{generation}",
        "refresh_token": f"RT-live-{generation}",
        "scope": LIVE_SCOPE,
        "expires_in": LIVE_EXPIRES - T_PY,
        "token_type": "Bearer",
        "resource_server": LIVE_RS,
        "other_tokens": [],
    }

    def v1() -> None:
        adapter = SimpleJSONFileAdapter(d / "live-v1.json")
        eq(adapter.get_token_data(LIVE_RS), previous, "before")
        adapter.store(token_response(body))
        eq(adapter.get_token_data(LIVE_RS), live_legacy(generation), "after")

    check(f"live {generation}: SimpleJSONFileAdapter sees Rust's generation {generation - 1}, writes {generation}", v1)

    def v2() -> None:
        storage = JSONTokenStorage(d / "live-v2.json")
        assert_tsd(storage.get_token_data(LIVE_RS), previous, "before")
        storage.store_token_data_by_resource_server(
            {LIVE_RS: TokenStorageData.from_dict(live_legacy(generation))}
        )

    check(f"live {generation}: JSONTokenStorage sees Rust's generation {generation - 1}, writes {generation}", v2)

    def db() -> None:
        adapter = SQLiteAdapter(d / "live.db")
        eq(adapter.get_token_data(LIVE_RS), previous, "before")
        eq(adapter.read_config("live"), {"n": generation - 1}, "config before")
        adapter.store(token_response(body))
        adapter.store_config("live", {"n": generation})
        adapter.close()

    check(f"live {generation}: SQLiteAdapter sees Rust's generation {generation - 1}, writes {generation}", db)


def main() -> int:
    assert globus_sdk.__version__ == "3.65.0", f"globus-sdk {globus_sdk.__version__}"
    os.umask(0o022)  # the Python classes must apply their own owner-only umask
    if len(sys.argv) == 4 and sys.argv[1] == "live" and sys.argv[3].isdigit():
        live(pathlib.Path(sys.argv[2]), int(sys.argv[3]))
        return 1 if failed else 0
    if len(sys.argv) != 3 or sys.argv[1] not in ("check-rust", "write-fresh", "check-upgraded"):
        print(__doc__, file=sys.stderr)
        return 2
    phase, directory = sys.argv[1], pathlib.Path(sys.argv[2])
    {"check-rust": check_rust, "write-fresh": write_fresh, "check-upgraded": check_upgraded}[
        phase
    ](directory)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
