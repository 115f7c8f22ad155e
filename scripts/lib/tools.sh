# Cargo tools the test command needs, installed once per machine (idempotent).
# shellcheck shell=bash

CARGO_DENY_VERSION=0.20.2

ensure_cargo_deny() {
  if cargo deny --version 2>/dev/null | grep -q "cargo-deny ${CARGO_DENY_VERSION}"; then
    return 0
  fi
  echo "installing cargo-deny ${CARGO_DENY_VERSION} (once per machine)" >&2
  cargo install --locked --quiet "cargo-deny@${CARGO_DENY_VERSION}"
}
