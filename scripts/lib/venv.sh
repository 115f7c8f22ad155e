# shellcheck shell=bash
# Shared Python virtualenv setup for the interop and benchmark scripts.
#
# Source this file, then call `ensure_python_venv` (or `ensure_globus_cli_venv`). It creates `.venv/`
# (`.venv-globus-cli/`) at the repository root (gitignored) and installs
# scripts/python/requirements.txt (requirements-globus-cli.txt) into it. The install is skipped when
# `.venv/.requirements.sha256` matches the requirements file's hash, so repeated runs are fast.
# After it returns, VENV_PYTHON holds the path of the venv's python.

_venv_sh_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="${REPO_ROOT:-$(cd "$_venv_sh_dir/../.." && pwd)}"

_venv_hash() {
    if command -v sha256sum >/dev/null 2>&1; then
        sha256sum "$1" | cut -d' ' -f1
    else
        shasum -a 256 "$1" | cut -d' ' -f1
    fi
}

ensure_python_venv() {
    _ensure_venv "$REPO_ROOT/.venv" "$REPO_ROOT/scripts/python/requirements.txt" || return 1
    VENV_PYTHON="$REPO_ROOT/.venv/bin/python"
}

# The real globus-cli (which pins its own globus-sdk 4.x) in `.venv-globus-cli/`; sets
# GLOBUS_CLI_PYTHON to its python.
ensure_globus_cli_venv() {
    _ensure_venv "$REPO_ROOT/.venv-globus-cli" "$REPO_ROOT/scripts/python/requirements-globus-cli.txt" || return 1
    GLOBUS_CLI_PYTHON="$REPO_ROOT/.venv-globus-cli/bin/python"
}

# Create VENV (if needed) and install REQUIREMENTS into it, unless its stamp says they are.
_ensure_venv() {
    local venv="$1"
    local requirements="$2"
    local stamp="$venv/.requirements.sha256"
    local want
    want="$(_venv_hash "$requirements")"
    local venv_python="$venv/bin/python"
    if [[ -x "$venv_python" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
        return 0
    fi
    local python="${PYTHON:-python3}"
    if ! command -v "$python" >/dev/null 2>&1; then
        echo "ensure_python_venv: $python not found; install Python 3 (with venv)" >&2
        return 1
    fi
    if [[ ! -x "$venv_python" ]]; then
        echo "venv: creating $venv" >&2
        "$python" -m venv "$venv" || {
            echo "ensure_python_venv: '$python -m venv' failed (on Debian/Ubuntu: apt-get install python3-venv)" >&2
            return 1
        }
    fi
    echo "venv: installing $(grep -v '^#' "$requirements" | tr '\n' ' ')" >&2
    "$venv_python" -m pip install --quiet --disable-pip-version-check -r "$requirements" >&2 || {
        echo "ensure_python_venv: pip install failed" >&2
        return 1
    }
    printf '%s\n' "$want" >"$stamp"
}
