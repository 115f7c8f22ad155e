#!/usr/bin/env python3
"""Record what globus-sdk 3.65.0's `globus_sdk.scopes` does, for the globus-scopes crate's tests.

    scopes_corpus.py           write crates/globus-scopes/tests/data/{scopes,consents}_corpus.json
    scopes_corpus.py --check   regenerate in memory; exit 1 if the committed files differ

Run it with the pinned venv: `.venv/bin/python scripts/python/scopes_corpus.py`.

The Rust tests (crates/globus-scopes/tests/python_*.rs) assert that the crate agrees with every
recorded answer. What is recorded:

- scopes_corpus.json: for each input string, either the parse result or the error. globus-sdk
  keeps top-level scopes and dependencies in sets, so its output order depends on the hash seed;
  the parse result is recorded with siblings sorted by (scope_string, optional), which is
  deterministic, and the Rust side sorts its own result the same way before comparing. A cycle
  error names whichever scope the set order reaches first, so for cycles the set of scopes that
  lie on a cycle is recorded instead of the message (and Python's own message is checked to
  name one of them). Also: Python's whitespace (`str.isspace`), the service scope constants and
  the scope builders' output.
- consents_corpus.json: consent bodies (as Globus Auth returns them), and for each one either
  the error globus-sdk raises or its forest's shape and `meets_scope_requirements` answers.
"""

from __future__ import annotations

import json
import pathlib
import sys
import typing as t

import globus_sdk
from globus_sdk.scopes import (
    AuthScopes,
    ComputeScopes,
    FlowsScopes,
    GCSCollectionScopeBuilder,
    GCSEndpointScopeBuilder,
    GroupsScopes,
    NexusScopes,
    Scope,
    ScopeBuilder,
    ScopeCycleError,
    ScopeParseError,
    SearchScopes,
    SpecificFlowScopeBuilder,
    TimersScopes,
    TransferScopes,
)
from globus_sdk.scopes.consents import (
    ConsentForest,
    ConsentParseError,
    ConsentTreeConstructionError,
)

REPO = pathlib.Path(__file__).resolve().parents[2]
DATA = REPO / "crates" / "globus-scopes" / "tests" / "data"

TRANSFER = "urn:globus:auth:scope:transfer.api.globus.org:all"
C1 = "https://auth.globus.org/scopes/542a86fc-1766-450d-841f-065488a2ec01/data_access"
C2 = "https://auth.globus.org/scopes/c2c2c2c2-0000-4000-8000-000000000002/data_access"
FLOWS_RUN = "https://auth.globus.org/scopes/eec9b274-0c81-4334-bdc2-54e90e689b9a/run"

SCOPE_STRINGS = [
    # valid: plain, several, real scopes
    "",
    "   ",
    "openid",
    "openid profile email",
    f"{TRANSFER}[{C1}]",
    f"{TRANSFER}[*{C1}]",
    f"openid {TRANSFER}[*{C1} {C2}] {FLOWS_RUN}[{TRANSFER}[{C1}]]",
    # nesting
    "a[b c[d e[f]]]",
    "a[b[c[d[e[f[g]]]]]]",
    "*a[*b[*c]]",
    "*a",
    # merging: one scope string is one node
    "a[b] b[c]",
    "a[b[x]] c[b[y]]",
    "a[x] *a",
    "a *a",
    "a a a",
    "a[b] c[d] a[e]",
    "a[b c] b[c]",
    "x[a[b]] y[b[c]] z[c]",
    "a[b] *b[c]",
    "a[*b[c]] d[b]",
    "a[*b b]",
    "a[b *b]",
    "a[*b] a[*b]",
    "a[*c b c]",
    "a[b] a[*b]",
    # '*' inside words
    "a*b",
    "a*b*c",
    "a[b*c]",
    # spaces and other whitespace
    "  a  ",
    "a  b",
    "a[ b ]",
    "a[b ] c",
    "a[ b  c ]",
    "a\tb",
    "a\t b",
    "a\n",
    "\ta",
    "*\ta",
    "a\u00a0",
    "a\x1c",
    "a\u200b",
    "\u3000a b\u3000",
    "a\r\nb",
    # unicode
    "\u00e9[\u00fc *\u00df]",
    "\u65e5\u672c[\u8a9e]",
    "\U0001f642[*\U0001f643]",
    # syntax errors
    "* a",
    "a* b",
    "a[b]c",
    "a[b]*c",
    "a[b][c]",
    "a[b]\t",
    "a [b]",
    " [a]",
    "a[b] [c]",
    "a[b]x[c]",
    "a *",
    "a*",
    "*",
    "**a",
    "a[*]",
    "a[b *]",
    "*[a]",
    "a[",
    "a[]",
    "a[ ]",
    "a[[b]]",
    "[a]",
    "]",
    "a]",
    "a[b]]",
    "a[b] ]",
    "a[b",
    "a[b[c]",
    "] a[",
    # cycles
    "a[a]",
    "a[*a]",
    "a[b] b[a]",
    "a[b[c[a]]]",
    "x y[z[y]]",
    "a[b] b[c] c[a] d",
]

WHITESPACE_PROBE = range(sys.maxunicode + 1)


def canonical(scope: Scope) -> dict[str, t.Any]:
    return {
        "scope_string": scope.scope_string,
        "optional": scope.optional,
        "dependencies": sorted_trees(scope.dependencies),
    }


def sorted_trees(scopes: list[Scope]) -> list[dict[str, t.Any]]:
    trees = [canonical(s) for s in scopes]
    return sorted(trees, key=lambda d: (d["scope_string"], d["optional"]))


def serialize_tree(tree: dict[str, t.Any]) -> str:
    """globus-sdk's own serialisation, applied to the sorted tree."""

    def build(d: dict[str, t.Any]) -> Scope:
        s = Scope(d["scope_string"], optional=d["optional"])
        for dep in d["dependencies"]:
            s.add_dependency(build(dep))
        return s

    return str(build(tree))


def cycle_nodes(text: str) -> list[str]:
    """Scope strings lying on a cycle of the scope graph, found independently of the parser's
    own DFS: a node is on a cycle when it can reach itself."""
    from globus_sdk.scopes._parser import ScopeTreeNode, _convert_trees

    graph = _convert_trees(ScopeTreeNode.parse(text))
    on_cycle = []
    for node in sorted(graph.nodes):
        seen: set[str] = set()
        todo = [dest for _, dest, _ in graph.adjacency_matrix[node]]
        while todo:
            current = todo.pop()
            if current == node:
                on_cycle.append(node)
                break
            if current in seen:
                continue
            seen.add(current)
            todo.extend(dest for _, dest, _ in graph.adjacency_matrix[current])
    return on_cycle


def scope_case(text: str) -> dict[str, t.Any]:
    case: dict[str, t.Any] = {"input": text}
    try:
        scopes = Scope.parse(text)
    except ScopeCycleError as e:
        nodes = cycle_nodes(text)
        message = str(e)
        assert any(message == f"A cycle was found involving '{n}'" for n in nodes), (
            text,
            message,
            nodes,
        )
        case.update(result="error", error_class="ScopeCycleError", cycle_nodes=nodes)
        return case
    except ScopeParseError as e:
        case.update(result="error", error_class="ScopeParseError", message=str(e))
        return case
    trees = sorted_trees(scopes)
    try:
        Scope.deserialize(text)
        deserialize_ok = True
    except ValueError:
        deserialize_ok = False
    case.update(
        result="ok",
        trees=trees,
        canonical=" ".join(serialize_tree(tree) for tree in trees),
        deserialize_ok=deserialize_ok,
    )
    return case


def collections() -> dict[str, t.Any]:
    out: dict[str, t.Any] = {}
    for name, builder in [
        ("AuthScopes", AuthScopes),
        ("ComputeScopes", ComputeScopes),
        ("FlowsScopes", FlowsScopes),
        ("GroupsScopes", GroupsScopes),
        ("NexusScopes", NexusScopes),
        ("SearchScopes", SearchScopes),
        ("TimersScopes", TimersScopes),
        ("TransferScopes", TransferScopes),
    ]:
        out[name] = {
            "resource_server": builder.resource_server,
            "scopes": [[attr, getattr(builder, attr)] for attr in builder.scope_names],
        }
    return out


def builders() -> dict[str, t.Any]:
    collection = GCSCollectionScopeBuilder("542a86fc-1766-450d-841f-065488a2ec01")
    endpoint = GCSEndpointScopeBuilder("c0ffee00-1111-4222-8333-444455556666")
    flow = SpecificFlowScopeBuilder("2fbdda78-a599-4cb5-ac3d-1fbcfbc6a754")
    generic = ScopeBuilder("actions.globus.org")
    return {
        "gcs_collection": {
            "id": "542a86fc-1766-450d-841f-065488a2ec01",
            "scope_names": collection.scope_names,
            "data_access": collection.data_access,
            "https": collection.https,
        },
        "gcs_endpoint": {
            "id": "c0ffee00-1111-4222-8333-444455556666",
            "scope_names": endpoint.scope_names,
            "manage_collections": endpoint.manage_collections,
        },
        "specific_flow": {
            "id": "2fbdda78-a599-4cb5-ac3d-1fbcfbc6a754",
            "scope_names": flow.scope_names,
            "user": flow.user,
        },
        "generic": {
            "resource_server": "actions.globus.org",
            "urn_all": generic.urn_scope_string("all"),
            "url_hello_world": generic.url_scope_string("hello_world"),
        },
    }


def scopes_corpus() -> dict[str, t.Any]:
    return {
        "generated_by": "scripts/python/scopes_corpus.py",
        "globus_sdk_version": globus_sdk.__version__,
        "cases": [scope_case(s) for s in SCOPE_STRINGS],
        "python_whitespace": [c for c in WHITESPACE_PROBE if chr(c).isspace()],
        "collections": collections(),
        "builders": builders(),
    }


# ---------------------------------------------------------------- consents

IDENTITY = "8ca28797-3541-4a5d-a264-05b00f91e608"


def consent(
    id_: int,
    path: list[int],
    scope_name: str,
    *,
    client: str = "065db752-2f43-4fe1-a633-2ee68c9da889",
    status: str = "approved",
    atomically_revocable: bool = False,
) -> dict[str, t.Any]:
    return {
        "created": "2022-09-21T17:10:14.270581+00:00",
        "id": id_,
        "status": status,
        "updated": "2022-09-21T17:10:14.270581+00:00",
        "allows_refresh": True,
        "dependency_path": path,
        "scope_name": scope_name,
        "atomically_revocable": atomically_revocable,
        "effective_identity": IDENTITY,
        "auto_approved": False,
        "last_used": "2024-03-18T17:34:04.719126+00:00",
        "scope": f"00000000-0000-4000-8000-{id_:012d}",
        "client": client,
    }


def without(d: dict[str, t.Any], *keys: str) -> dict[str, t.Any]:
    return {k: v for k, v in d.items() if k not in keys}


FORESTS: list[tuple[str, list[dict[str, t.Any]]]] = [
    (
        # globus-sdk's own test fixture (_testing/data/auth/get_consents.py)
        "sdk_fixture",
        [
            consent(142632, [142632], TRANSFER),
            consent(
                433892,
                [142632, 433892],
                C1,
                client="2fbdda78-a599-4cb5-ac3d-1fbcfbc6a754",
                atomically_revocable=True,
            ),
        ],
    ),
    (
        "several_trees",
        [
            consent(1, [1], TRANSFER),
            consent(2, [1, 2], C1, atomically_revocable=True),
            consent(3, [1, 3], C2, status="revoked"),
            consent(4, [4], FLOWS_RUN),
            consent(5, [4, 5], TRANSFER),
            consent(6, [4, 5, 6], C1),
            consent(7, [7], "openid"),
            consent(8, [8], TRANSFER),
            consent(9, [8, 9], C2),
        ],
    ),
    ("empty", []),
    (
        "letters",
        [
            consent(1, [1], "a"),
            consent(2, [1, 2], "b"),
            consent(3, [1, 2, 3], "c"),
            consent(4, [1, 4], "d"),
            consent(5, [1, 5], "b"),
            consent(6, [1, 5, 6], "e"),
            consent(7, [], "orphan"),
        ],
    ),
    (
        "shared_ids",
        [
            consent(1, [1], "a"),
            consent(2, [1, 2], "b"),
            consent(2, [1, 2], "b2"),
            consent(3, [3], "a"),
        ],
    ),
    ("missing_parent", [consent(1, [1], "a"), consent(3, [2, 3], "c")]),
    ("missing_scope_name", [consent(1, [1], "a"), without(consent(2, [1, 2], "b"), "scope_name")]),
    ("missing_two_keys", [without(consent(1, [1], "a"), "status", "client")]),
]

REQUIREMENTS = [
    "",
    TRANSFER,
    f"*{TRANSFER}",
    f"{TRANSFER}[{C1}]",
    f"{TRANSFER}[*{C1}]",
    f"{TRANSFER}[{C2}]",
    f"{TRANSFER}[{C1} {C2}]",
    f"{TRANSFER}[{C1}[{C2}]]",
    f"{FLOWS_RUN}[{TRANSFER}[{C1}]]",
    f"{FLOWS_RUN}[{TRANSFER}[{C2}]]",
    f"{FLOWS_RUN}[{TRANSFER}]",
    f"{FLOWS_RUN} {TRANSFER}[{C2}]",
    f"openid {TRANSFER}[{C1}]",
    C1,
    "openid",
    "a",
    "a[b]",
    "a[b[c]]",
    "a[b[c e]]",
    "a[b[e]]",
    "a[d b[c]]",
    "a[c]",
    "a[b2]",
    "a[b b2]",
    "*a[*b[*c]]",
    "b",
    "orphan",
    "a d",
]


def consent_case(name: str, consents: list[dict[str, t.Any]]) -> dict[str, t.Any]:
    case: dict[str, t.Any] = {"name": name, "body": {"consents": consents}}
    try:
        forest = ConsentForest(case["body"]["consents"])
    except ConsentParseError as e:
        case.update(result="error", error_class="ConsentParseError", message=str(e))
        return case
    except ConsentTreeConstructionError as e:
        case.update(
            result="error", error_class="ConsentTreeConstructionError", message=str(e)
        )
        return case
    case.update(
        result="ok",
        trees=[
            {
                "root": tree.root.id,
                "node_ids": sorted(n.id for n in tree.nodes),
                "max_depth": tree.max_depth,
            }
            for tree in forest.trees
        ],
        consent_strings=[str(n) for n in forest.nodes],
        forest_string=str(forest),
        meets=[
            {"requirement": r, "meets": forest.meets_scope_requirements(r)}
            for r in REQUIREMENTS
        ],
    )
    return case


def consents_corpus() -> dict[str, t.Any]:
    return {
        "generated_by": "scripts/python/scopes_corpus.py",
        "globus_sdk_version": globus_sdk.__version__,
        "cases": [consent_case(name, consents) for name, consents in FORESTS],
    }


def main() -> int:
    outputs = {
        DATA / "scopes_corpus.json": scopes_corpus(),
        DATA / "consents_corpus.json": consents_corpus(),
    }
    check = sys.argv[1:] == ["--check"]
    if sys.argv[1:] not in ([], ["--check"]):
        print(__doc__, file=sys.stderr)
        return 2
    failed = False
    for path, data in outputs.items():
        text = json.dumps(data, indent=1, ensure_ascii=True) + "\n"
        if check:
            ok = path.exists() and path.read_text(encoding="utf-8") == text
            print(f"{'ok' if ok else 'not ok'} - {path.relative_to(REPO)}")
            failed |= not ok
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path.relative_to(REPO)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
