#!/usr/bin/env bash
# Benchmarks; one JSON line per case.
#   scripts/bench.sh psi [--quick]       two-party PSI between two processes with their own gateways on loopback:
#       kkrt at n = 10^4 .. 10^7 ids per side (half common), ecdh at 10^4 .. 10^6, rsa at 10^4 and 10^5
#       (--quick: n = 2000 each); about 8 minutes on 2 cores (RSA at 10^6 only with WEFE_BENCH_RSA_1M=1)
#   scripts/bench.sh paillier            Paillier-2048 keygen, encrypt, decrypt, add, mul, inner product (per core)
#   scripts/bench.sh vertical-lr [--quick | --fate]
#       one epoch of vertical LR, guest and host as two processes with their own gateways on loopback,
#       batch 1024, Paillier-2048: epoch-100k is 100k rows x (10 guest + 20 host) features (--quick: 5k rows);
#       --fate runs FATE 2.0's published shape instead, epoch-fate-shape: guest 100k x 30, host 100k x 300 (~15 min)
#   scripts/bench.sh secureboost [--quick]
#       FATE 2.0's published shape, guest 100k x 30 and host 100k x 300 features, 32 bins, Paillier-2048, as two
#       processes with their own gateways on loopback: tree-fate-shape (one depth-3 SecureBoost tree) and
#       binning-fate-shape (federated binning with WOE/IV); --quick: 5k rows, 10 x 30 features
#   scripts/bench.sh node [--quick]      the node under stress, two node processes with their own gateways on loopback:
#       gateway-flood: a non-participant member floods a node (10^5 empty messages, 4 slow 1 GiB messages,
#       handshakes) while it runs a 10^5 ECDH-PSI job with an honest peer; gateway-latency-under-load: round
#       trips of a small gateway message while a 10^6 ECDH-PSI runs between the same nodes (--quick: n/10);
#       launch-latency-history: a recorded approved job to its start, with 0 and 10 000 finished jobs in the store
#   scripts/bench.sh demo [--quick]      the whole demo (scripts/demo.sh: six jobs launched by three nodes, audit)
#       on anvil and on wefe-devchain in SM mode (--fisco-sm), each timed from start to end (it exits 0 only when
#       all six jobs finished) after one warm-up build; demo-fisco-sm also reports its ratio to the anvil run (issue 16's target: at most 1.5);
#       WEFE_DEMO_ROWS=10000 by default (--quick: 2000); logs in .bench-demo/; always demo.sh's own (dev) build
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
    bench=(cargo run -q --locked --profile "$profile" -p wefe-node --example psi_bench --)
    if [ "$quick" = "--quick" ]; then
      "${bench[@]}" --case ecdh --case rsa --case kkrt --n 2000
    else
      "${bench[@]}" --case kkrt --n 10000 --n 100000 --n 1000000 --n 10000000
      "${bench[@]}" --case ecdh --n 10000 --n 100000 --n 1000000
      "${bench[@]}" --case rsa --n 10000 --n 100000
      # RSA at 10^6 is 2*10^6 private-key operations (~9 minutes on 2 cores): WEFE_BENCH_RSA_1M=1 adds it.
      if [ -n "${WEFE_BENCH_RSA_1M:-}" ]; then "${bench[@]}" --case rsa --n 1000000; fi
    fi
    ;;
  paillier)
    cargo run -q --locked --profile "$profile" -p wefe-crypto --example paillier_bench
    ;;
  vertical-lr)
    case "$quick" in
      "") shape=(--case epoch-100k --rows 100000 --guest-features 10 --host-features 20) ;;
      --quick) shape=(--case epoch-5k --rows 5000 --guest-features 10 --host-features 20) ;;
      --fate) shape=(--case epoch-fate-shape --rows 100000 --guest-features 30 --host-features 300) ;;
      *) echo "usage: scripts/bench.sh vertical-lr [--quick | --fate]" >&2; exit 2 ;;
    esac
    cargo run -q --locked --profile "$profile" -p wefe-node --example vertical_lr_bench -- "${shape[@]}" --batch 1024
    ;;
  secureboost)
    sb=(cargo run -q --locked --profile "$profile" -p wefe-node --example secureboost_bench --)
    if [ "$quick" = "--quick" ]; then
      small=(--rows 5000 --guest-features 10 --host-features 30)
      "${sb[@]}" --kind tree --case tree-5k "${small[@]}" --trees 2
      "${sb[@]}" --kind binning --case binning-5k "${small[@]}"
    else
      "${sb[@]}" --kind binning --case binning-fate-shape
      "${sb[@]}" --kind tree --case tree-fate-shape --trees 1
    fi
    ;;
  node)
    # One entry per case: "<example> <its arguments>"; --quick arguments after "|". Add cases here.
    node_cases=(
      "gateway_bench --case gateway-flood --n 100000 | --n 10000"
      "gateway_bench --case gateway-latency-under-load --n 1000000 | --n 100000"
      "launch_bench --history 0 --history 10000 --runs 30 | --runs 10"
    )
    for entry in "${node_cases[@]}"; do
      full=${entry%%|*}
      read -r -a words <<<"$full"
      example=${words[0]}
      args=("${words[@]:1}")
      if [ "$quick" = "--quick" ] && [[ "$entry" == *"|"* ]]; then
        read -r -a extra <<<"${entry#*|}"
        args+=("${extra[@]}")
      fi
      cargo run -q --locked --profile "$profile" -p wefe-node --example "$example" -- "${args[@]}"
    done
    ;;
  demo)
    rows=${WEFE_DEMO_ROWS:-10000}
    if [ "$quick" = "--quick" ]; then rows=2000; fi
    out=$root/.bench-demo
    rm -rf "$out" && mkdir -p "$out"
    # Warm-up: the toolchain and demo.sh's build, so neither run pays for them.
    scripts/setup.sh >"$out/setup.log" 2>&1 || { tail -20 "$out/setup.log" >&2; exit 1; }
    cargo build -q --locked -p wefe-cli -p wefe-node -p wefe-devchain
    anvil_s=
    for mode in anvil fisco-sm; do
      args=()
      if [ "$mode" = fisco-sm ]; then args=(--fisco-sm); fi
      start=$(date +%s.%N)
      if ! WEFE_DEMO_ROWS=$rows WEFE_DEMO_DIR="$out/$mode" scripts/demo.sh ${args[@]+"${args[@]}"} >"$out/$mode.log" 2>&1; then
        echo "scripts/demo.sh ${args[*]} failed: see $out/$mode.log" >&2
        tail -20 "$out/$mode.log" >&2
        exit 1
      fi
      end=$(date +%s.%N)
      wall=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }')
      if [ "$mode" = anvil ]; then
        anvil_s=$wall
        printf '{"case":"demo-anvil","rows":%d,"wall_s":%s}\n' "$rows" "$wall"
      else
        ratio=$(awk -v a="$wall" -v b="$anvil_s" 'BEGIN { printf "%.2f", a / b }')
        printf '{"case":"demo-fisco-sm","rows":%d,"wall_s":%s,"ratio_to_anvil":%s}\n' "$rows" "$wall" "$ratio"
      fi
    done
    ;;
  *)
    echo "usage: scripts/bench.sh psi [--quick] | paillier | vertical-lr [--quick | --fate] | secureboost [--quick] | node [--quick] | demo [--quick]" >&2
    exit 2
    ;;
esac
