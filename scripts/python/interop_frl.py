#!/usr/bin/env python3
"""The Python half of scripts/interop-frl: fair-research-login 0.3.1 reads and edits the files
globus-native-login writes, and writes fresh files for Rust to read.

    interop_frl.py check-rust DIR      read DIR/rust-frl.{cfg,json} with fair-research-login's
                                       storages and NativeClient.load_tokens, assert exact values,
                                       then save a token group into each (NativeClient.save_tokens)
    interop_frl.py write-fresh DIR     write DIR/py-frl.{cfg,json} with NativeClient.save_tokens
    interop_frl.py check-upgraded DIR  read what Rust added to DIR/py-frl.{cfg,json}; check that
                                       configparser / json.dump rewrite Rust's files byte for byte
    interop_frl.py fuzz DIR N          write N generated (and partly mutated) INI files to
                                       DIR/fuzz/ and what fair-research-login makes of each
                                       (read_tokens + verify_token_group) to DIR/fuzz/expected.json

Every check prints one line, `ok - ...` or `not ok - ...: why`; the exit status is 1 if any check
failed. The expected values are repeated in crates/globus-tokens-tools/src/bin/frl-interop.rs.
"""

from __future__ import annotations

import configparser
import io
import json
import pathlib
import sys
import traceback

from fair_research_login import JSONTokenStorage, MultiClientTokenStorage, NativeClient

CLIENT_A = "7414f0b4-7d05-4bb6-bb00-076fa3f17cf5"
CLIENT_B = "11111111-2222-3333-4444-555555555555"
TRANSFER = "urn:globus:auth:scope:transfer.api.globus.org:all"
GROUPS = "urn:globus:auth:scope:groups.api.globus.org:all"
SEARCH = "urn:globus:auth:scope:search.api.globus.org:all"


def group(rs, scope, at, rt, exp):
    return {
        "scope": scope,
        "access_token": at,
        "refresh_token": rt,
        "token_type": "Bearer",
        "expires_at_seconds": exp,
        "resource_server": rs,
    }


# What Rust writes (frl-interop write): client A (and the JSON file), client B.
RUST_A = {
    "auth.globus.org": group("auth.globus.org", "openid profile email", "AT-r-0", "RT-r-0", 2000000000),
    "transfer.api.globus.org": group("transfer.api.globus.org", TRANSFER, "AT-r-1", None, 2000000001),
    "scöpe.example.org": group("scöpe.example.org", "https://auth.globus.org/scopes/x/ünïcode", "AT-r-3", "RT-r-3", 2000000003),
}
RUST_B = {
    "groups.api.globus.org": group("groups.api.globus.org", GROUPS, "AT-r-2%", "RT-r-2", 2000000002),
}
# What Python saves into Rust's files.
PY_EDIT = {
    "groups.api.globus.org": group("groups.api.globus.org", GROUPS, "AT-p-9", "RT-p-9", 2000000009),
}
# What Python writes fresh: client A (and the JSON file), client B.
PY_A = {
    "auth.globus.org": group("auth.globus.org", "openid profile email", "AT-p-0", "RT-p-0", 2000000100),
    "transfer.api.globus.org": group("transfer.api.globus.org", TRANSFER, "AT-p-1", None, 2000000101),
}
PY_B = {
    "search.api.globus.org": group("search.api.globus.org", SEARCH, "AT-p-2", "RT-p-2", 2000000102),
}
# What Rust adds to Python's files.
RUST_EDIT = {
    "groups.api.globus.org": group("groups.api.globus.org", GROUPS, "AT-r-9", "RT-r-9", 2000000109),
}

failures = 0


def check(name, fn):
    global failures
    try:
        fn()
        print(f"ok - {name}")
    except Exception as exc:  # noqa: BLE001 - report every failure as a line
        failures += 1
        detail = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        print(f"not ok - {name}: {detail}")


def eq(actual, expected):
    if actual != expected:
        raise AssertionError(f"expected {expected!r}, got {actual!r}")


def ini_storage(path, client_id):
    storage = MultiClientTokenStorage(filename=str(path))
    storage.set_client_id(client_id)
    return storage


def client(storage, client_id=CLIENT_A):
    # No network: load_tokens with unexpired tokens and save_tokens only touch storage.
    return NativeClient(client_id=client_id, token_storage=storage, app_name="interop")


def ini_bytes_match(path):
    config = configparser.ConfigParser()
    config.read(str(path), encoding="utf-8")
    out = io.StringIO()
    config.write(out)
    eq(out.getvalue(), path.read_text(encoding="utf-8"))


def json_bytes_match(path):
    eq(json.dumps(json.loads(path.read_text(encoding="utf-8")), indent=2), path.read_text(encoding="utf-8"))


def check_rust(work):
    cfg, js = work / "rust-frl.cfg", work / "rust-frl.json"
    check("configparser rewrites Rust's INI file byte for byte",
          lambda: ini_bytes_match(cfg))
    check("json.dump(indent=2) rewrites Rust's JSON file byte for byte",
          lambda: json_bytes_match(js))
    check("fair-research-login's MultiClientTokenStorage reads Rust's INI section (client A)",
          lambda: eq(ini_storage(cfg, CLIENT_A).read_tokens(), RUST_A))
    check("... and the other client's section (client B)",
          lambda: eq(ini_storage(cfg, CLIENT_B).read_tokens(), RUST_B))
    check("NativeClient.load_tokens accepts Rust's INI tokens (verify_token_group, scopes, expiry)",
          lambda: eq(client(ini_storage(cfg, CLIENT_A)).load_tokens(requested_scopes=["openid", TRANSFER]),
                     {k: RUST_A[k] for k in ("auth.globus.org", "transfer.api.globus.org")}))
    check("JSONTokenStorage reads Rust's plain JSON file",
          lambda: eq(JSONTokenStorage(filename=str(js)).read_tokens(), RUST_A))
    check("NativeClient.load_tokens accepts Rust's JSON tokens",
          lambda: eq(client(JSONTokenStorage(filename=str(js))).load_tokens(), RUST_A))
    check("NativeClient.load_tokens_by_scope on Rust's INI file",
          lambda: eq(client(ini_storage(cfg, CLIENT_A)).load_tokens_by_scope(["email"])["email"]["access_token"], "AT-r-0"))

    def edit_ini():
        client(ini_storage(cfg, CLIENT_A)).save_tokens(PY_EDIT)
        eq(ini_storage(cfg, CLIENT_A).read_tokens(), {**RUST_A, **PY_EDIT})

    def edit_json():
        client(JSONTokenStorage(filename=str(js))).save_tokens(PY_EDIT)
        eq(JSONTokenStorage(filename=str(js)).read_tokens(), {**RUST_A, **PY_EDIT})

    check("NativeClient.save_tokens adds a group to Rust's INI file", edit_ini)
    check("NativeClient.save_tokens adds a group to Rust's JSON file", edit_json)


def write_fresh(work):
    cfg, js = work / "py-frl.cfg", work / "py-frl.json"

    def write_ini():
        client(ini_storage(cfg, CLIENT_A)).save_tokens(PY_A)
        client(ini_storage(cfg, CLIENT_B), CLIENT_B).save_tokens(PY_B)

    check("fair-research-login writes py-frl.cfg (two clients)", write_ini)
    check("fair-research-login writes py-frl.json",
          lambda: client(JSONTokenStorage(filename=str(js))).save_tokens(PY_A))


def check_upgraded(work):
    cfg, js = work / "py-frl.cfg", work / "py-frl.json"
    check("fair-research-login reads the group Rust added to its INI file",
          lambda: eq(client(ini_storage(cfg, CLIENT_A)).load_tokens(), {**PY_A, **RUST_EDIT}))
    check("... and the other client's section is unchanged",
          lambda: eq(ini_storage(cfg, CLIENT_B).read_tokens(), PY_B))
    check("fair-research-login reads the group Rust added to its JSON file",
          lambda: eq(client(JSONTokenStorage(filename=str(js))).load_tokens(), {**PY_A, **RUST_EDIT}))

    check("configparser rewrites py-frl.cfg (last written by Rust) byte for byte",
          lambda: ini_bytes_match(cfg))
    check("json.dump(indent=2) rewrites py-frl.json (last written by Rust) byte for byte",
          lambda: json_bytes_match(js))


FUZZ_SERVERS = ["auth.globus.org", "transfer.api.globus.org", "Search.API.example.org", "ünï.example.org", "a-b.example.org"]
FUZZ_FIELDS = ["scope", "access_token", "refresh_token", "token_type", "expires_at_seconds", "resource_server"]


def fuzz_text(rng):
    """An INI file in the shapes fair-research-login files take, with formatting variations."""
    out = []
    if rng.random() < 0.3:
        out.append(rng.choice(["# written by hand", "; note", "  # indented comment"]))
    if rng.random() < 0.15:
        out += ["[DEFAULT]", rng.choice(["color = blue", "x_org__token_type = Bearer"])]
    if rng.random() < 0.4:
        out += ["[other-client]", "auth_globus_org__scope = openid", "key: value %% 1", "  continued", ""]
    out.append("[c]")
    for rs in rng.sample(FUZZ_SERVERS, rng.randint(1, 3)):
        prefix = rs.replace(".", "_")
        values = {
            "scope": rng.choice(["openid profile", "urn:x:y:z", "s1\n    s2", "a:b=c"]),
            "access_token": rng.choice(["AT-1", "AT%%2", "A=T:3", "AT 4"]),
            "refresh_token": rng.choice(["", "RT-1", "RT%%2"]),
            "token_type": rng.choice(["Bearer", ""]),
            "expires_at_seconds": rng.choice(["2000000000", " +12", "-5", "0"]),
            "resource_server": rs,
        }
        fields = FUZZ_FIELDS[:]
        rng.shuffle(fields)
        for field in fields:
            if field in ("refresh_token", "token_type") and rng.random() < 0.2:
                continue
            key = f"{prefix}__{field}"
            key = key.upper() if rng.random() < 0.2 else key
            delim = rng.choice([" = ", "=", ": ", " :  "])
            out.append(f"{key}{delim}{values[field]}".rstrip(" ") if values[field] == "" and rng.random() < 0.5 else f"{key}{delim}{values[field]}")
            if rng.random() < 0.1:
                out.append(rng.choice(["", "# c", "; c"]))
    text = rng.choice(["\n", "\r\n"]).join(out) + "\n"
    if rng.random() < 0.35:
        chars = list(text)
        for _ in range(rng.randint(1, 3)):
            pos = rng.randrange(len(chars) + 1)
            op = rng.random()
            if op < 0.4 and chars:
                del chars[min(pos, len(chars) - 1)]
            else:
                chars.insert(pos, rng.choice(list("[]=:%_ \t\n#;()sx")))
        text = "".join(chars)
    return text


def fuzz(work, count):
    import random
    from fair_research_login.token_storage import verify_token_group

    rng = random.Random(20261124)
    directory = work / "fuzz"
    directory.mkdir(parents=True, exist_ok=True)
    expected = []
    for index in range(count):
        path = directory / f"{index:04d}.cfg"
        path.write_bytes(fuzz_text(rng).encode("utf-8"))
        try:
            raw = ini_storage(path, "c").read_tokens()
            tokens = {rs: verify_token_group(group) for rs, group in raw.items()}
            expected.append({"file": path.name, "ok": True, "tokens": tokens})
        except Exception as exc:  # noqa: BLE001 - any failure is "fair-research-login refuses it"
            expected.append({"file": path.name, "ok": False, "error": type(exc).__name__})
    (directory / "expected.json").write_text(json.dumps(expected, indent=1), encoding="utf-8")
    accepted = sum(1 for e in expected if e["ok"])
    print(f"ok - generated {count} INI files; fair-research-login accepts {accepted}")


def main(argv):
    if len(argv) == 4 and argv[1] == "fuzz":
        fuzz(pathlib.Path(argv[2]), int(argv[3]))
        return 1 if failures else 0
    if len(argv) != 3 or argv[1] not in ("check-rust", "write-fresh", "check-upgraded"):
        print(__doc__, file=sys.stderr)
        return 2
    work = pathlib.Path(argv[2])
    {"check-rust": check_rust, "write-fresh": write_fresh, "check-upgraded": check_upgraded}[argv[1]](work)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
