#!/usr/bin/env bash
# Runs every check and test of wefe, installing the toolchain first:
# contracts (format, unit/fuzz/invariant tests, gas snapshot, committed ABI),
# then Rust (format, clippy -D warnings, unit and integration tests against anvil).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

step() { printf '\n==> %s\n' "$*"; }

step "toolchain"
scripts/setup.sh

if [ "${1:-}" = "--snapshot" ]; then
  (cd contracts && bin/forge snapshot --no-match-test 'testFuzz_|invariant_')
  exit 0
fi

step "contracts: forge fmt --check"
(cd contracts && bin/forge fmt --check)

step "contracts: forge test (unit, fuzz, invariant)"
(cd contracts && bin/forge test)

step "contracts: gas snapshot matches contracts/.gas-snapshot"
# Fuzz and invariant gas figures depend on the random inputs, so the snapshot
# covers the deterministic tests only. Regenerate with: scripts/test.sh --snapshot
(cd contracts && bin/forge snapshot --check --no-match-test 'testFuzz_|invariant_')

step "contracts: committed ABI matches a fresh build"
scripts/abi.sh --check

step "rust: cargo fmt --check"
cargo fmt --all --check

step "rust: clippy -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "rust: tests"
cargo test --workspace --locked
