# shellcheck shell=bash
# A DynamoDB-compatible server on loopback for the globus-tokens-dynamodb tests: moto's server
# (pinned in scripts/python/requirements-moto.txt) in its own venv, `.venv-moto/`, started through
# scripts/python/dynamodb_server.py (one request at a time: moto is not thread-safe).
#
#   source scripts/lib/dynamodb.sh
#   ensure_dynamodb_server            # idempotent; installs moto on first use
#   trap stop_dynamodb_server EXIT    # the caller stops it
#
# After it returns, GLOBUS_TOKENS_DYNAMODB_ENDPOINT is exported (http://127.0.0.1:PORT) and the
# same URL is in target/dynamodb-endpoint. A server this shell already started and that still
# answers is reused. Only 127.0.0.1 is ever bound.

_dynamodb_sh_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="${REPO_ROOT:-$(cd "$_dynamodb_sh_dir/../.." && pwd)}"
DYNAMODB_VENV="$REPO_ROOT/.venv-moto"
DYNAMODB_ENDPOINT_FILE="$REPO_ROOT/target/dynamodb-endpoint"
DYNAMODB_SERVER_PID=""

_dynamodb_hash() {
    if command -v sha256sum >/dev/null 2>&1; then
        sha256sum "$1" | cut -d' ' -f1
    else
        shasum -a 256 "$1" | cut -d' ' -f1
    fi
}

# Install moto into .venv-moto/ unless the pinned requirements are already installed.
ensure_moto_venv() {
    local requirements="$REPO_ROOT/scripts/python/requirements-moto.txt"
    local stamp="$DYNAMODB_VENV/.requirements.sha256"
    local want
    want="$(_dynamodb_hash "$requirements")"
    if [[ -x "$DYNAMODB_VENV/bin/moto_server" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
        return 0
    fi
    local python="${PYTHON:-python3}"
    if [[ ! -x "$DYNAMODB_VENV/bin/python" ]]; then
        echo "dynamodb: creating $DYNAMODB_VENV" >&2
        "$python" -m venv "$DYNAMODB_VENV" || {
            echo "ensure_moto_venv: '$python -m venv' failed (on Debian/Ubuntu: apt-get install python3-venv)" >&2
            return 1
        }
    fi
    echo "dynamodb: installing $(grep -v '^#' "$requirements" | tr '\n' ' ')" >&2
    "$DYNAMODB_VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$requirements" >&2 || {
        echo "ensure_moto_venv: pip install failed" >&2
        return 1
    }
    printf '%s\n' "$want" >"$stamp"
}

# Whether a DynamoDB endpoint answers ListTables.
_dynamodb_answers() {
    "$DYNAMODB_VENV/bin/python" - "$1" <<'PY' >/dev/null 2>&1
import sys, urllib.request
req = urllib.request.Request(sys.argv[1] + "/", data=b"{}", method="POST", headers={
    "X-Amz-Target": "DynamoDB_20120810.ListTables",
    "Content-Type": "application/x-amz-json-1.0",
    "Authorization": "AWS4-HMAC-SHA256 Credential=test/20250101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0",
})
sys.exit(0 if urllib.request.urlopen(req, timeout=2).status == 200 else 1)
PY
}

ensure_dynamodb_server() {
    if [[ -n "$DYNAMODB_SERVER_PID" ]] && kill -0 "$DYNAMODB_SERVER_PID" 2>/dev/null \
        && _dynamodb_answers "$GLOBUS_TOKENS_DYNAMODB_ENDPOINT"; then
        return 0
    fi
    ensure_moto_venv || return 1
    local port
    port="$("$DYNAMODB_VENV/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
    local endpoint="http://127.0.0.1:$port"
    mkdir -p "$(dirname "$DYNAMODB_ENDPOINT_FILE")"
    # moto's server, one request at a time (see scripts/python/dynamodb_server.py)
    "$DYNAMODB_VENV/bin/python" "$REPO_ROOT/scripts/python/dynamodb_server.py" 127.0.0.1 "$port" \
        >"$REPO_ROOT/target/dynamodb-server.log" 2>&1 &
    DYNAMODB_SERVER_PID=$!
    local tries=0
    until _dynamodb_answers "$endpoint"; do
        tries=$((tries + 1))
        if ((tries > 150)) || ! kill -0 "$DYNAMODB_SERVER_PID" 2>/dev/null; then
            echo "ensure_dynamodb_server: the DynamoDB server did not answer on $endpoint; log:" >&2
            cat "$REPO_ROOT/target/dynamodb-server.log" >&2
            stop_dynamodb_server
            return 1
        fi
        sleep 0.2
    done
    printf '%s\n' "$endpoint" >"$DYNAMODB_ENDPOINT_FILE"
    export GLOBUS_TOKENS_DYNAMODB_ENDPOINT="$endpoint"
    echo "dynamodb: moto server (pid $DYNAMODB_SERVER_PID) at $endpoint" >&2
}

stop_dynamodb_server() {
    if [[ -n "$DYNAMODB_SERVER_PID" ]]; then
        kill "$DYNAMODB_SERVER_PID" 2>/dev/null || true
        wait "$DYNAMODB_SERVER_PID" 2>/dev/null || true
        DYNAMODB_SERVER_PID=""
    fi
    rm -f "$DYNAMODB_ENDPOINT_FILE"
}
