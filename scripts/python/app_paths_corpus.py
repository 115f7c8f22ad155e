#!/usr/bin/env python3
"""Write the table of GlobusApp token-file locations that crates/globus-app tests against.

    app_paths_corpus.py OUT.json

Run once with globus-sdk 3.65.0 (scripts/python/requirements.txt); the output is committed as
crates/globus-app/tests/data/app_paths.json. Every slug, error and path in it is computed by
globus-sdk's own code (`globus_sdk.tokenstorage.v2.base._slugify_app_name` and
`_default_globus_app_filepath`, plus the storages' `file_format`), never by this script:

- "slugs": app names and what `_slugify_app_name` makes of them, or which error it raises.
  Besides hand-picked names there are sweeps: runs of consecutive code points (so every
  character's printability and lowercase form is checked), and "com"/"lpt" followed by every
  Unicode decimal digit (globus-sdk's reserved-name pattern uses `\\d`, which is Unicode-aware).
  Code points unassigned in this Python's Unicode database are left out, since their category
  depends on the Unicode version (see "unicode_version"); so are surrogates, which a Rust
  string cannot hold.
- "paths": full token-file paths for Linux (HOME) and, with `sys.platform` set to "win32" and
  `ntpath` for `os.path`, for Windows (LOCALAPPDATA, APPDATA, USERPROFILE), for several client
  ids, names and environments. The composition is checked against `for_globus_app` itself.
"""

from __future__ import annotations

import json
import ntpath
import os
import sys
import tempfile
import types
import unicodedata

import globus_sdk
from globus_sdk.globus_app import GlobusAppConfig
from globus_sdk.tokenstorage import JSONTokenStorage, SQLiteTokenStorage
from globus_sdk.tokenstorage.v2 import base

NAMES = [
    "Unnamed Globus App",
    "my app",
    "My App",
    "My.App v1.2",
    "a. b",
    "AB",
    "a?",
    'a<b>c:d"e/f\\g|h?i*j',
    "...",
    " ",
    "   ",
    "-",
    "_under_score_",
    "tab\there",
    "new\nline",
    "nul\x00byte",
    "\x00",
    "\x00\x01\x1f\x7f",
    "\x7f",
    "",
    "con",
    "CON",
    "Con",
    "con.txt",
    "con ",
    " con",
    "prn",
    "aux",
    "nul",
    "NUL",
    "com0",
    "com1",
    "COM9",
    "com10",
    "com",
    "lpt1",
    "LPT9",
    "lpt",
    "lpt12",
    "console",
    "\x00con",
    "co\x00n",
    "con\u200b",
    "c\u00d3n",
    "com\u0661",
    "lpt\uff11",
    "com\u00b9",
    "com\u2460",
    "caf\u00e9",
    "CAF\u00c9",
    "\u00c9COLE",
    "\u0130stanbul",
    "\u03a3\u039f\u03a6\u039f\u03a3",
    "\u03c3\u03bf\u03c6\u03bf\u03c2",
    "\u1e9e",
    "\u00df",
    "\u2126",
    "\u212a",
    "\u00a0nbsp",
    "zero\u200bwidth",
    "soft\u00adhyphen",
    "bidi\u202emark",
    "line\u2028sep",
    "para\u2029sep",
    "ideographic\u3000space",
    "private\ue000use",
    "bom\ufeff",
    "\ufeff",
    "\u200b\u200c\u200d",
    "emoji \U0001f600",
    "\U0001f468\u200d\U0001f469\u200d\U0001f467",
    "\U000e0001tag",
    "\U0001d400bold",
    "\U00010400deseret",
    "\U0001e900adlam",
    "\u65e5\u672c\u8a9e \u30a2\u30d7\u30ea",
    "\ud55c\uad6d\uc5b4",
    "\u0627\u0644\u0639\u0631\u0628\u064a\u0629",
    "x" * 300,
    "with/slash",
    "..\\..\\up",
    "../../up",
    "C:\\Windows",
    "a+b",
    "100%",
    "#hash",
    "~tilde",
    "$HOME",
]

# Code point ranges swept in runs of RUN characters: ASCII, Latin-1 and Latin Extended,
# Greek and Cyrillic, General Punctuation (spaces, format characters, separators),
# Letterlike Symbols, Number Forms, Georgian (case changes), full-width forms, Specials,
# and a few supplementary-plane blocks with case (Deseret, Osage, Adlam) or formats (Tags).
SWEEPS = [
    (0x0000, 0x0250),
    (0x0370, 0x0530),
    (0x10A0, 0x1100),
    (0x13A0, 0x1400),
    (0x1E00, 0x2000),
    (0x2000, 0x2070),
    (0x2100, 0x2190),
    (0x2C00, 0x2C80),
    (0xFEFF, 0xFF00),
    (0xFF00, 0xFFF0),
    (0xFFF0, 0x10000),
    (0x10400, 0x10450),
    (0x104B0, 0x10500),
    (0x1E900, 0x1E960),
    (0xE0000, 0xE0080),
]
RUN = 32


def assigned(code_point: int) -> bool:
    """Whether the character has a category other than unassigned/surrogate here."""
    return unicodedata.category(chr(code_point)) not in ("Cn", "Cs")


def slug_entry(name: str) -> dict[str, str]:
    try:
        return {"name": name, "slug": base._slugify_app_name(name)}
    except globus_sdk.GlobusSDKUsageError as err:
        kind = "reserved" if "reserved filename" in str(err) else "empty"
        return {"name": name, "error": kind, "message": str(err)}


def sweep_names() -> list[str]:
    names = []
    for start, end in SWEEPS:
        for run_start in range(start, end, RUN):
            chars = [
                chr(cp) for cp in range(run_start, min(run_start + RUN, end)) if assigned(cp)
            ]
            if chars:
                # A leading letter keeps runs of only removable characters from being empty.
                names.append("x" + "".join(chars))
    return names


def digit_names() -> list[str]:
    digits = [
        chr(cp)
        for cp in range(sys.maxunicode + 1)
        if assigned(cp) and unicodedata.category(chr(cp)) == "Nd"
    ]
    # Every decimal digit after "com", a sample after "lpt" and "COM" (the same pattern).
    return (
        ["com" + d for d in digits]
        + ["lpt" + d for d in digits[::7]]
        + ["COM" + d for d in digits[::11]]
    )


class Platform:
    """Run globus-sdk's path code as on Linux or as on Windows, with given variables."""

    def __init__(self, windows: bool, variables: dict[str, str]):
        self.windows = windows
        self.variables = variables

    def __enter__(self) -> None:
        self.saved_environ = dict(os.environ)
        for name in ("HOME", "LOCALAPPDATA", "APPDATA", "USERPROFILE", "HOMEPATH", "HOMEDRIVE"):
            os.environ.pop(name, None)
        os.environ.update(self.variables)
        self.saved = (base.sys, base.os)
        if self.windows:
            base.sys = types.SimpleNamespace(platform="win32")
            base.os = types.SimpleNamespace(getenv=os.getenv, path=ntpath)

    def __exit__(self, *exc: object) -> None:
        base.sys, base.os = self.saved
        os.environ.clear()
        os.environ.update(self.saved_environ)


def path_entries() -> list[dict[str, object]]:
    client_ids = ["61338d24-54d5-408f-a10d-66c06b59f6d2", "my-client"]
    apps = ["My App", "Unnamed Globus App", "a?b. c"]
    environments = ["production", "sandbox", "preview", "test", "my-env"]
    platforms = [
        ("linux", False, {"HOME": "/home/tester"}),
        ("linux", False, {"HOME": "/home/tester/"}),
        (
            "windows",
            True,
            {
                "LOCALAPPDATA": "C:\\Users\\tester\\AppData\\Local",
                "APPDATA": "C:\\Users\\tester\\AppData\\Roaming",
                "USERPROFILE": "C:\\Users\\tester",
            },
        ),
        (
            "windows",
            True,
            {"APPDATA": "C:\\Users\\tester\\AppData\\Roaming", "USERPROFILE": "C:\\Users\\tester"},
        ),
        ("windows", True, {"USERPROFILE": "C:\\Users\\tester"}),
    ]
    entries = []
    for platform, windows, variables in platforms:
        for client_id in client_ids:
            for app in apps:
                for environment in environments:
                    with Platform(windows, variables):
                        stem = base._default_globus_app_filepath(client_id, app, environment)
                    entries.append(
                        {
                            "platform": platform,
                            "variables": variables,
                            "client_id": client_id,
                            "app_name": app,
                            "environment": environment,
                            "json": f"{stem}.{JSONTokenStorage.file_format}",
                            "sqlite": f"{stem}.{SQLiteTokenStorage.file_format}",
                        }
                    )
    return entries


def check_composition() -> None:
    """`for_globus_app` itself gives the same file as the entries' composition."""
    with tempfile.TemporaryDirectory() as home:
        with Platform(False, {"HOME": home}):
            config = GlobusAppConfig(environment="sandbox")
            for cls in (JSONTokenStorage, SQLiteTokenStorage):
                storage = cls.for_globus_app(
                    client_id="cid", app_name="My App", config=config, namespace="DEFAULT"
                )
                stem = base._default_globus_app_filepath("cid", "My App", "sandbox")
                assert storage.filepath == f"{stem}.{cls.file_format}", storage.filepath
                assert storage.namespace == "DEFAULT"
                if isinstance(storage, SQLiteTokenStorage):
                    storage.close()
        with Platform(False, {"HOME": home, "GLOBUS_SDK_ENVIRONMENT": "preview"}):
            assert GlobusAppConfig().environment == "preview"
        with Platform(False, {"HOME": home}):
            assert GlobusAppConfig().environment == "production"


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    check_composition()
    names = NAMES + sweep_names() + digit_names()
    corpus = {
        "generator": "scripts/python/app_paths_corpus.py",
        "globus_sdk_version": globus_sdk.__version__,
        "python_version": sys.version.split()[0],
        "unicode_version": unicodedata.unidata_version,
        "slugs": [slug_entry(name) for name in names],
        "paths": path_entries(),
    }
    with open(sys.argv[1], "w", encoding="utf-8") as out:
        json.dump(corpus, out, ensure_ascii=True, indent=1)
        out.write("\n")


if __name__ == "__main__":
    main()
