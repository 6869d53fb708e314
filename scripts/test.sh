#!/usr/bin/env bash
# Runs every check and test of wefe, installing the toolchain first:
# contracts (format, unit/fuzz/invariant tests and the invariant handlers'
# reach, gas snapshot, committed ABI),
# then Rust (format, clippy -D warnings, unit and integration tests against anvil),
# then the whole demo in FISCO SM mode on wefe-devchain (scripts/demo.sh --fisco-sm, 2000 rows),
# then the web console and the operator page in a real browser (scripts/browser-test.sh; alone: --browser).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

step() { printf '\n==> %s\n' "$*"; }

step "toolchain"
scripts/setup.sh

if [ "${1:-}" = "--browser" ]; then
  exec scripts/browser-test.sh
fi

if [ "${1:-}" = "--snapshot" ]; then
  (cd contracts && bin/forge snapshot --no-match-test 'testFuzz_|invariant_')
  exit 0
fi

step "contracts: forge fmt --check"
(cd contracts && bin/forge fmt --check)

logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT

step "contracts: forge test (unit, fuzz, invariant)"
rm -rf contracts/invariant-reach
(cd contracts && bin/forge test) 2>&1 | tee "$logs/forge.log"

step "contracts: the invariant handlers reached their deep states"
node scripts/lib/invariant-reach.js

step "contracts: forge coverage of contracts/src is 100% (lines, statements, branches, functions)"
(cd contracts && bin/forge coverage --no-match-path 'test/invariant/*' --report summary) >"$logs/coverage.log" 2>&1 ||
  { cat "$logs/coverage.log"; exit 1; }
covered=$(grep -c '^| src/' "$logs/coverage.log" || true)
uncovered=$(grep '^| src/' "$logs/coverage.log" | grep -E ' [0-9]{1,2}\.[0-9]{2}% ' || true)
if [ "$covered" -lt 4 ] || [ -n "$uncovered" ]; then
  grep -E '^\| (File|src/)' "$logs/coverage.log"
  echo "forge coverage: every contract in contracts/src must stay at 100%" >&2
  exit 1
fi
grep -E '^\| (File|src/)' "$logs/coverage.log"

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
if [ -z "${WEFE_TEST_POSTGRES_URL:-}" ]; then
  echo "(WEFE_TEST_POSTGRES_URL is not set: the store tests run on SQLite only)"
fi
set +e
cargo test --workspace --locked 2>&1 | tee "$logs/cargo.log"
cargo_status=${PIPESTATUS[0]}
set -e

step "the demo in FISCO SM mode: SM2 accounts, SM build, native RPC over mutual TLS (scripts/demo.sh --fisco-sm)"
set +e
demo_out="$root/test-output/demo-sm"
rm -rf "$demo_out"
mkdir -p "$root/test-output"
WEFE_DEMO_ROWS=2000 WEFE_DEMO_DIR="$demo_out" scripts/demo.sh --fisco-sm >"$root/test-output/demo-sm.log" 2>&1
demo_status=$?
set -e
if [ "$demo_status" -ne 0 ]; then
  tail -40 "$root/test-output/demo-sm.log"
  echo "scripts/demo.sh --fisco-sm failed (exit $demo_status): its log and work files (chain, nodes) are in test-output/" >&2
else
  tail -3 "$root/test-output/demo-sm.log"
fi

step "web console and operator page in a real browser (scripts/browser-test.sh)"
set +e
scripts/browser-test.sh 2>&1 | tee "$logs/browser.log"
browser_status=${PIPESTATUS[0]}
set -e

# One closing line for the whole run (forge and every cargo test binary).
forge_passed=$(sed -n 's/.* \([0-9][0-9]*\) tests passed, \([0-9][0-9]*\) failed.*/\1/p' "$logs/forge.log" | tail -1)
forge_failed=$(sed -n 's/.* \([0-9][0-9]*\) tests passed, \([0-9][0-9]*\) failed.*/\2/p' "$logs/forge.log" | tail -1)
cargo_passed=$(sed -n 's/^test result: [a-zA-Z]*\. \([0-9][0-9]*\) passed.*/\1/p' "$logs/cargo.log" | awk '{s+=$1} END {print s+0}')
cargo_failed=$(sed -n 's/^test result: .* \([0-9][0-9]*\) failed.*/\1/p' "$logs/cargo.log" | awk '{s+=$1} END {print s+0}')
echo
echo "forge: ${forge_passed:-0} passed, ${forge_failed:-0} failed"
echo "cargo: $cargo_passed passed, $cargo_failed failed"
browser_passed=$(grep -c '^ok   ' "$logs/browser.log" || true)
browser_failed=$(grep -c '^FAIL ' "$logs/browser.log" || true)
if [ "$browser_status" -ne 0 ] && [ "$browser_failed" -eq 0 ]; then browser_failed=1; fi
echo "browser: $browser_passed passed, $browser_failed failed"
demo_passed=$(( demo_status == 0 ? 1 : 0 ))
echo "demo --fisco-sm: $demo_passed passed, $(( 1 - demo_passed )) failed"
echo "total: $(( ${forge_passed:-0} + cargo_passed + demo_passed + browser_passed )) passed, $(( ${forge_failed:-0} + cargo_failed + 1 - demo_passed + browser_failed )) failed"
[ "$cargo_status" -eq 0 ] || exit "$cargo_status"
[ "$demo_status" -eq 0 ] || exit "$demo_status"
exit "$browser_status"
