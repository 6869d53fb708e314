#!/usr/bin/env bash
# Benchmarks; one JSON line per case.
#   scripts/bench.sh psi [--quick]       ECDH-PSI and RSA-PSI, 10^5 x 10^5 (--quick: 2000) through two gateways
#   scripts/bench.sh paillier            Paillier-2048 keygen, encrypt, decrypt, add, mul, inner product (per core)
#   scripts/bench.sh vertical-lr [--quick]  one epoch of vertical LR, 100k (--quick: 5k) rows x (10 + 20) features
# Built with the dev profile, whose dependencies (all the cryptography) are
# optimised at opt-level 3; `WEFE_BENCH_PROFILE=release` builds everything optimised.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
suite=${1:-}
quick=${2:-}
profile=${WEFE_BENCH_PROFILE:-dev}
case "$suite" in
  psi)
    n=100000
    [ "$quick" = "--quick" ] && n=2000
    cargo run -q --locked --profile "$profile" -p wefe-node --example psi_bench -- --n "$n"
    ;;
  paillier)
    cargo run -q --locked --profile "$profile" -p wefe-crypto --example paillier_bench
    ;;
  vertical-lr)
    rows=100000
    [ "$quick" = "--quick" ] && rows=5000
    cargo run -q --locked --profile "$profile" -p wefe-ml --example vertical_lr_epoch -- "$rows"
    ;;
  *)
    echo "usage: scripts/bench.sh psi [--quick] | paillier | vertical-lr [--quick]" >&2
    exit 2
    ;;
esac
