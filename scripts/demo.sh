#!/usr/bin/env bash
# The main job: cross-bank anti-fraud on a local chain, end to end: align the
# customers (PSI), train a fraud model together (vertical logistic
# regression), predict with it, audit all of it.
#
# On a fresh machine it installs the toolchain, builds `wefe` and `wefe-node`,
# starts anvil (london hardfork, FISCO BCOS-compatible EVM), deploys the
# contracts with three admins (threshold 2), onboards two banks and the
# regulator with real SM2 keys, appoints the regulator as certificate
# authority (issuing, then revoking, an SM2/SM3 X.509 certificate), starts
# three party nodes, imports generated customer lists with a known overlap,
# registers the datasets, and has both banks approve a PSI job: the nodes
# (each running with an operator key that can only report job progress, never
# with the member's governance key) launch and finish it by themselves, and put
# only commitments and the summary fields the banks agreed to publish on chain. On the intersection the banks then train
# a fraud model (Bank A holds the label, Bank B more features; Paillier
# vertical LR, 30% held out for evaluation) and run a prediction job with it;
# then they bin their features and rank them by information value (federated
# WOE/IV), train vertical SecureBoost on those bins and the same hold-out,
# compare its AUC with the LR model's, and predict with the trees.
# It prints the intersection size, the models' hold-out metrics, the charts,
# the IV ranking, the predictions and the audit timeline of the six jobs,
# then stops everything it started.
#
# Usage: scripts/demo.sh            (work files go to .demo/, replaced each run)
#        scripts/demo.sh --keep     (leave the chain and the nodes running and serve the
#                                    web console, printing its URLs and the nodes'
#                                    operator pages, until Ctrl-C)
#        scripts/demo.sh --fisco-sm (the same on wefe-devchain instead of anvil: FISCO BCOS
#                                    3.x's native JSON-RPC and Tars transactions, SM mode:
#                                    SM2 accounts, SM3 hashing, the SM build of the contracts,
#                                    RPC over FISCO's mutual TLS 1.2 with build_chain.sh-style certificates)
#        WEFE_DEMO_DIR=/tmp/x scripts/demo.sh
#        WEFE_DEMO_ROWS=100000 scripts/demo.sh   (Bank A's list size; Bank B has 80%, a quarter shared)
set -euo pipefail
keep=0
fisco_sm=0
for arg in "$@"; do
  case "$arg" in
    --keep) keep=1 ;;
    --fisco-sm) fisco_sm=1 ;;
    *) echo "usage: scripts/demo.sh [--keep] [--fisco-sm]   (unknown argument '$arg')" >&2; exit 2 ;;
  esac
done
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
work=${WEFE_DEMO_DIR:-$root/.demo}
rows=${WEFE_DEMO_ROWS:-10000}
case "$rows" in '' | *[!0-9]*) echo "WEFE_DEMO_ROWS must be a number, got '$rows'" >&2; exit 2 ;; esac
[ "$rows" -ge 4 ] || { echo "WEFE_DEMO_ROWS must be at least 4" >&2; exit 2; }
b_rows=$((rows * 4 / 5))
overlap=$((rows / 4))

total=20
n=0
step() { n=$((n + 1)); printf '\n\033[1m[%d/%d] %s\033[0m\n' "$n" "$total" "$*"; }
note() { printf '      %s\n' "$*"; }

step "toolchain (scripts/setup.sh)"
scripts/setup.sh

openssl genpkey -algorithm SM2 -out /dev/null 2>/dev/null ||
  { echo "this openssl cannot make SM2 keys (OpenSSL 1.1.1 or 3.x with SM2 is needed)" >&2; exit 1; }

step "build wefe and wefe-node (the first build on a fresh machine takes several minutes; cargo shows its progress)"
# One build for both modes (wefe-devchain too), so scripts/test.sh's runs share it.
cargo build -p wefe-cli -p wefe-node -p wefe-devchain --locked
# JSON fields are read with node, which setup.sh guarantees.
json_field() { node -e 'const v = JSON.parse(require("fs").readFileSync(0, "utf8"))[process.argv[1]]; if (v === undefined || v === null) process.exit(1); console.log(v)' "$1"; }
target_dir=$(cargo metadata --format-version 1 --no-deps | json_field target_directory)
wefe_bin="$target_dir/debug/wefe"
node_bin="$target_dir/debug/wefe-node"

# The work folder is replaced on every run: refuse to delete anything that is not ours.
if [ -e "$work" ] && [ ! -f "$work/.wefe-demo" ]; then
  echo "$work exists and was not made by this script: set WEFE_DEMO_DIR to a new or former demo folder" >&2
  exit 1
fi
rm -rf "$work"
# Results, commitment keys and keystores the demo writes are for its user only.
umask 077
mkdir -p "$work/keys" "$work/pki"
touch "$work/.wefe-demo"
chmod 700 "$work/keys"

chain_log="$work/chain.log"
if [ "$fisco_sm" = 1 ]; then
  step "start a local FISCO BCOS stand-in in SM mode (wefe-devchain: chain0, group0, SM2 + SM3, KECCAK256 = SM3, RPC over FISCO's mutual TLS)"
  # The chain's RPC TLS files as build_chain.sh writes them: the node's conf/ and the SDK's.
  scripts/lib/fisco-certs.sh "$work/fisco-certs"
  "$target_dir/debug/wefe-devchain" --listen 127.0.0.1:0 --crypto-suite sm --tls-dir "$work/fisco-certs/node" \
    >"$chain_log" 2>&1 &
else
  step "start a local chain (anvil, chain id 31337, hardfork london)"
  contracts/bin/anvil --host 127.0.0.1 --port 0 --chain-id 31337 --hardfork london >"$chain_log" 2>&1 &
fi
chain_pid=$!
node_pids=()
cleanup() {
  for pid in ${node_pids[@]+"${node_pids[@]}"}; do kill "$pid" 2>/dev/null || true; done
  for pid in ${node_pids[@]+"${node_pids[@]}"}; do wait "$pid" 2>/dev/null || true; done
  kill "$chain_pid" 2>/dev/null || true
  wait "$chain_pid" 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM
# Waits up to 10 s for a line of LOG that the sed SCRIPT prints; prints it, or
# says WHAT did not start (with the log) and exits.
wait_for_line() { # wait_for_line LOG SCRIPT WHAT
  local found=""
  for _ in $(seq 1 100); do
    found=$(sed -n "$2" "$1" | head -1)
    [ -n "$found" ] && { printf '%s\n' "$found"; return; }
    sleep 0.1
  done
  echo "$3 did not start:" >&2
  cat "$1" >&2
  exit 1
}
if [ "$fisco_sm" = 1 ]; then
  port=$(wait_for_line "$chain_log" 's/^wefe-devchain: .* listening on https:\/\/127\.0\.0\.1:\([0-9]*\)$/\1/p' wefe-devchain)
  export WEFE_RPC_URL="https://127.0.0.1:$port"
else
  port=$(wait_for_line "$chain_log" 's/^Listening on .*:\([0-9]*\)$/\1/p' anvil)
  export WEFE_RPC_URL="http://127.0.0.1:$port"
fi
export WEFE_CHAIN_CONFIG="$work/chain.toml"
note "RPC $WEFE_RPC_URL (pid $chain_pid)"

# anvil's public development keys (mnemonic "test test ... junk"): local use only.
dev_keys=(
  0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80
  0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d
  0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a
  0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6
  0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a
)
roles=(regulator admin-2 admin-3 bank-a bank-b)

head -c 24 /dev/urandom | base64 >"$work/keys/password"
chmod 600 "$work/keys/password"
# An account key: an Ethereum JSON keystore on anvil; an encrypted SM2 PEM key
# (whose address is SM3 of its public key) on the SM chain.
if [ "$fisco_sm" = 1 ]; then key_ext=pem; else key_ext=json; fi
new_account() { # new_account NAME [DEV_KEY]: prints the address
  local out="$work/keys/$1.$key_ext"
  if [ "$fisco_sm" = 1 ]; then
    "$wefe_bin" key sm2-new --out "$out" --key-password-file "$work/keys/password" --json | json_field sm_address
  elif [ -n "${2:-}" ]; then
    WEFE_PRIVATE_KEY=$2 "$wefe_bin" key import --out "$out" --password-file "$work/keys/password" >/dev/null
    "$wefe_bin" key address --keystore "$out" --password-file "$work/keys/password"
  else
    "$wefe_bin" key new --out "$out" --password-file "$work/keys/password" >/dev/null
    "$wefe_bin" key address --keystore "$out" --password-file "$work/keys/password"
  fi
}
if [ "$fisco_sm" = 1 ]; then
  step "encrypted SM2 account keys for the regulator, two more admins and two banks"
else
  step "encrypted keystores for the regulator, two more admins and two banks"
fi
declare -A addr
for i in "${!roles[@]}"; do
  r=${roles[$i]}
  addr[$r]=$(new_account "$r" "${dev_keys[$i]}")
  note "$r: ${addr[$r]}"
done
# Run wefe as ROLE: every transaction is signed from that role's own key.
as() {
  local role=$1
  shift
  "$wefe_bin" --keystore "$work/keys/$role.$key_ext" --password-file "$work/keys/password" \
    --key-password-file "$work/keys/password" "$@"
}

step "deploy the governance contracts (3 admins, threshold 2)"
deploy_flags=()
[ "$fisco_sm" = 1 ] && deploy_flags=(--backend fisco --crypto-suite sm
  --fisco-sdk-certs "$work/fisco-certs/sdk" --fisco-node-cert "$work/fisco-certs/node/ssl.crt")
as regulator chain deploy "${deploy_flags[@]}" --admin "${addr[regulator]}" --admin "${addr[admin-2]}" --admin "${addr[admin-3]}" --threshold 2

free_port() { node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
declare -A gateway_port api_port cert_id
step "the banks and the regulator make SM2 gateway keys (encrypted key files) and apply for membership"
for party in bank-a bank-b regulator; do
  pub=$(as "$party" key sm2-new --out "$work/pki/$party.key" --json | json_field public_key)
  gateway_port[$party]=$(free_port)
  api_port[$party]=$(free_port)
  case $party in bank-a) name="Bank A" ;; bank-b) name="Bank B" ;; *) name="Regulator" ;; esac
  as "$party" member apply --name "$name" --endpoint "http://127.0.0.1:${gateway_port[$party]}" --public-key "$pub"
done

step "admins approve the three members (2 of 3 votes each)"
for party in bank-a bank-b regulator; do
  as regulator member approve "${addr[$party]}"
  as admin-2 member approve "${addr[$party]}"
done
"$wefe_bin" member list

step "each member makes an operator key for its node: nominated by the member, accepted by the key (it can report job progress, nothing else)"
declare -A operator
for party in bank-a bank-b regulator; do
  operator[$party]=$(new_account "$party-operator")
  # anvil charges gas (FISCO BCOS does not): the new account gets some test ether.
  if [ "$fisco_sm" = 0 ]; then
    contracts/bin/cast send --rpc-url "$WEFE_RPC_URL" --private-key "${dev_keys[0]}" --value 1ether \
      "${operator[$party]}" >/dev/null
  fi
  as "$party" member set-operator "${operator[$party]}" >/dev/null
  as "$party-operator" member accept-operator "${addr[$party]}" >/dev/null
  note "$party: node operator key ${operator[$party]} (the governance key stays with the member)"
done

step "the admins appoint the regulator as certificate authority"
proposal=$(as regulator admin propose appoint-ca --target "${addr[regulator]}" --json | json_field proposal_id)
note "proposal $proposal opened by the regulator; admin-3 votes"
as admin-3 admin vote "$proposal"

step "the regulator creates its root CA (SM2/SM3 X.509) and publishes the root's key on chain"
as regulator cert ca-init --key "$work/pki/ca.key" --out "$work/pki/ca.pem" --name "Regulator Root CA" --days 3650 >/dev/null
as regulator cert publish-root --cert "$work/pki/ca.pem"

step "each member requests a certificate for its registered key; the regulator checks the chain and issues it"
issue_cert() {
  local party=$1 out=$2 id
  rm -f "$work/pki/$party.csr"
  as "$party" cert csr --key "$work/pki/$party.key" --out "$work/pki/$party.csr" >/dev/null
  id=$(as "$party" cert request --csr "$work/pki/$party.csr" --json | json_field certificate_id)
  as regulator cert issue "$id" --csr "$work/pki/$party.csr" --ca-key "$work/pki/ca.key" --ca-cert "$work/pki/ca.pem" \
    --out "$out" --days 365 --uri "file://$out" --json | json_field certificate_id
}
for party in bank-a bank-b regulator; do
  cert_id[$party]=$(issue_cert "$party" "$work/pki/$party.pem")
  note "$party: certificate ${cert_id[$party]} -> pki/$party.pem"
done
openssl verify -vfyopt distid:1234567812345678 -CAfile "$work/pki/ca.pem" "$work/pki/bank-a.pem" |
  sed "s|^$work/||; s/^/      openssl verify: /"
"$wefe_bin" cert verify --cert "$work/pki/bank-a.pem"

step "drill: the regulator revokes Bank A's certificate (superseded) and issues a new one; the old one is refused"
as regulator cert revoke "${cert_id[bank-a]}" --reason "demo: superseded" --code 4
"$wefe_bin" cert verify --cert "$work/pki/bank-a.pem" 2>&1 | sed 's/^/      /' || true
mv "$work/pki/bank-a.pem" "$work/pki/bank-a.revoked.pem"
cert_id[bank-a]=$(issue_cert bank-a "$work/pki/bank-a.pem")
note "bank-a: new certificate ${cert_id[bank-a]}"

step "three party nodes start (two banks, the regulator): each follows the chain and serves its gateway and API"
for party in bank-a bank-b regulator; do
  mkdir -p "$work/$party"
  cat >"$work/$party/party.toml" <<TOML
name = "$party"
member = "${addr[$party]}"
chain_config = "../chain.toml"
data_dir = "data"
poll_interval_ms = 200
operator_keystore = "../keys/$party-operator.$key_ext"
operator_password_file = "../keys/password"
sm2_key = "../pki/$party.key"
sm2_key_password_file = "../keys/password"
certificate = "../pki/$party.pem"
require_peer_certificates = true
gateway_listen = "127.0.0.1:${gateway_port[$party]}"
# The whole consortium is on this host: its peers are called on loopback only
# (a node refuses loopback peers unless its peer_networks lists them).
peer_networks = ["127.0.0.0/8"]
api_listen = "127.0.0.1:${api_port[$party]}"
import_root = ".."
TOML
  WEFE_LOG=${WEFE_LOG:-warn} "$node_bin" run --config "$work/$party/party.toml" >"$work/$party/node.log" 2>&1 &
  node_pids+=($!)
done
# Every API call but /livez needs the token a node writes, owner-only, to
# <data_dir>/api-token at its first start. curl reads the header from an
# owner-only file (-H @file), so the token never shows on a command line.
api() { # api PARTY PATH [curl options...]
  local party=$1 path=$2
  shift 2
  curl -sf -H @"$work/$party/api-auth" "http://127.0.0.1:${api_port[$party]}$path" "$@"
}
for party in bank-a bank-b regulator; do
  for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:${api_port[$party]}/livez" >/dev/null && break; sleep 0.2; done
  (umask 077 && printf 'Authorization: Bearer %s\n' "$(cat "$work/$party/data/api-token" 2>/dev/null)" >"$work/$party/api-auth")
  api "$party" /health >/dev/null || { echo "node $party did not start:" >&2; cat "$work/$party/node.log" >&2; exit 1; }
  note "$party: API http://127.0.0.1:${api_port[$party]}, gateway :${gateway_port[$party]}"
done

step "each bank imports its customer table (generated: $rows and $b_rows customers, $overlap in common) into its own node"
# Bank A: fraud label + transaction features; Bank B: credit features. The last
# quarter of Bank A's customers are Bank B's first ones.
node scripts/lib/demo-data.js "$rows" "$b_rows" "$overlap" "$work/bank-a.csv" "$work/bank-b.csv"
schema_a=$(head -1 "$work/bank-a.csv")
schema_b=$(head -1 "$work/bank-b.csv")
note "Bank A columns: $schema_a"
note "Bank B columns: $schema_b"
for bank in bank-a bank-b; do
  api "$bank" /datasets -X POST -H 'content-type: application/json' \
    -d "{\"id\":\"$bank-customers\",\"id_column\":\"customer_id\",\"path\":\"$work/$bank.csv\"}" |
    node -e 'const d=JSON.parse(require("fs").readFileSync(0,"utf8")); console.log("      imported " + d.id + ": " + d.row_count + " rows, sha256 " + d.content_hash)'
done

step "the banks register the datasets on chain (hashes only; the data stays in each node)"
as bank-a dataset register bank-a-customers --schema "$schema_a" --rows "$rows" --visibility listed \
  --metadata '{"description":"customers with fraud label and transaction features","id_column":"customer_id"}'
as bank-a dataset grant bank-a-customers "${addr[bank-b]}"
as bank-b dataset register bank-b-customers --schema "$schema_b" --rows "$b_rows" --visibility public \
  --metadata '{"description":"customers with credit features","id_column":"customer_id"}'

step "Bank A proposes a cross-bank anti-fraud PSI job; both banks approve with their own keys"
# The banks agree to publish the intersection's size; everything else about the
# result stays off chain (the chain gets a commitment per bank).
job=$(as bank-a job propose --kind psi --participant "${addr[bank-a]}" --participant "${addr[bank-b]}" \
  --dataset bank-a-customers --dataset bank-b-customers \
  --params '{"protocol":"ecdh","reveal":"both","purpose":"anti-fraud","publish":["intersection_size"]}' \
  --deadline-blocks 100 --run-blocks 2000 --json | json_field job_id)
note "job $job proposed (approve by 100 blocks from now; once approved, 2000 blocks to complete or anyone may time it out)"
as bank-a job approve "$job"
as bank-b job approve "$job"
approved_at=$(date +%s.%N)

# A one-line progress bar of a job on a bank's node: ids processed and ETA for
# PSI jobs (the node's `items`), the overall fraction for other kinds.
progress_line() {
  api "$1" "/jobs/$2" | node -e '
    const j = JSON.parse(require("fs").readFileSync(0, "utf8"));
    const f = j.items && j.items.total ? j.items.done / j.items.total : j.progress;
    const bar = "#".repeat(Math.round(f * 30)).padEnd(30, ".");
    let text = `[${bar}] ${Math.round(f * 100)}%`;
    if (j.items) text += ` ${j.items.done}/${j.items.total} ids` + (j.items.eta_seconds != null ? `, ETA ${j.items.eta_seconds.toFixed(1)} s` : "");
    console.log(text);' 2>/dev/null || echo "[waiting for the node]"
}

step "the nodes launch the job by themselves (no scheduler anywhere), run ECDH-PSI through their gateways and report"
status=""
launched=""
for i in $(seq 1 3000); do
  show=$("$wefe_bin" job show "$job" --json)
  status=$(printf '%s' "$show" | json_field status)
  if [ -z "$launched" ] && printf '%s' "$show" | node -e 'const j=JSON.parse(require("fs").readFileSync(0,"utf8")); process.exit(j.reports.every(r => r.state !== "Approved") ? 0 : 1)'; then
    launched=$(date +%s.%N)
    note "both nodes reported started $(node -e "console.log(($launched - $approved_at).toFixed(2))") s after the approval"
  fi
  case $status in Completed | Failed | TimedOut) break ;; esac
  [ $((i % 5)) -eq 0 ] && note "job $job: $status, Bank A's node $(progress_line bank-a "$job")"
  sleep 0.2
done
finished=$(date +%s.%N)
note "Bank A's node: $(progress_line bank-a "$job")"
[ "$status" = Completed ] || { echo "job $job ended $status:" >&2; "$wefe_bin" job show "$job" >&2; tail -20 "$work"/bank-*/node.log >&2; exit 1; }
"$wefe_bin" job show "$job"
for bank in bank-a bank-b; do
  # The node marks the job completed right after its own report is mined.
  for _ in $(seq 1 100); do
    api "$bank" "/jobs/$job/result" -o "$work/$bank-result.csv" && break
    sleep 0.2
  done
  [ -s "$work/$bank-result.csv" ] || { echo "no result from $bank's node" >&2; exit 1; }
  size=$(($(wc -l <"$work/$bank-result.csv") - 1))
  note "$bank's node: intersection of $size customers (expected $overlap), result $work/$bank-result.csv"
  # The commitment key the node keeps beside the result: with it (and only
  # with it) the result can be checked against the chain.
  api "$bank" "/jobs/$job/key" -o "$work/$bank-result.key"
  "$wefe_bin" audit verify "$job" --artifact "$work/$bank-result.csv" --participant "${addr[$bank]}" | sed 's/^/      /'
done

note "approval to completion: $(node -e "console.log(($finished - $approved_at).toFixed(2))") s"
for i in 0 1; do
  party=$([ $i -eq 0 ] && echo bank-a || echo bank-b)
  note "$party node peak memory: $(awk '/VmHWM/ {printf "%.1f MiB", $2 / 1024}' "/proc/${node_pids[$i]}/status" 2>/dev/null || echo unknown)"
done

psi_job=$job

# Proposes a job between the banks, has both approve it, and waits until the
# nodes finish it. Prints the job id last.
run_job() {
  local kind=$1 params=$2 id st
  id=$(as bank-a job propose --kind "$kind" --participant "${addr[bank-a]}" --participant "${addr[bank-b]}" \
    --dataset bank-a-customers --dataset bank-b-customers --params "$params" --deadline-blocks 200 --run-blocks 5000 \
    --json | json_field job_id)
  as bank-a job approve "$id" >/dev/null
  as bank-b job approve "$id" >/dev/null
  note "job $id ($kind) proposed and approved by both banks" >&2
  # `wefe job watch` follows the chain until the job closes, with Bank A's
  # node's progress bar (a line every few seconds when not on a terminal).
  "$wefe_bin" job watch "$id" --node "http://127.0.0.1:${api_port[bank-a]}" --node-token-file "$work/bank-a/data/api-token" --interval 0.5 2>&1 >/dev/null |
    sed 's/^/      /' >&2
  st=$("$wefe_bin" job show "$id" --json | json_field status)
  [ "$st" = Completed ] || { echo "job $id ended $st:" >&2; "$wefe_bin" job show "$id" >&2; tail -20 "$work"/bank-*/node.log >&2; exit 1; }
  # Each node marks the job completed right after its own report is mined.
  for bank in bank-a bank-b; do
    for _ in $(seq 1 100); do
      [ "$(api "$bank" "/jobs/$id" | json_field status)" = completed ] && break
      sleep 0.2
    done
  done
  echo "$id"
}

step "the banks train a fraud model together on the $overlap shared customers (Paillier vertical LR, 30% held out)"
note "Bank A (guest) holds is_fraud and 4 features and a fresh 2048-bit Paillier key; Bank B (host) 4 features"
train_started=$(date +%s.%N)
train_job=$(run_job vertical-lr "{\"label\":\"is_fraud\",\"psi_job\":$psi_job,\"epochs\":8,\"batch_size\":256,\"learning_rate\":0.3,\"validation_fraction\":0.3,\"seed\":7,\"online_serving\":true,\"purpose\":\"anti-fraud model\",\"publish\":[\"metrics.auc\"]}")
note "trained in $(node -e "console.log(($(date +%s.%N) - $train_started).toFixed(1))") s (approval to both completions)"
api "bank-a" "/jobs/$train_job" | node -e '
  const j = JSON.parse(require("fs").readFileSync(0, "utf8")), s = j.summary, m = s.metrics;
  console.log(`      ${s.rows.train} training rows, ${s.rows.validation} held out; ${s.epochs_run} epochs`);
  console.log(`      hold-out: AUC ${m.auc.toFixed(4)}  KS ${m.ks.toFixed(4)}  accuracy ${m.accuracy.toFixed(4)}  precision ${m.precision.toFixed(4)}  recall ${m.recall.toFixed(4)}  F1 ${m.f1.toFixed(4)}  log-loss ${m.log_loss.toFixed(4)}`);
  console.log(`      Bank A model share ${s.model_hash} (each bank keeps only its own weights)`);'
for chart in roc.png loss.png; do
  api "bank-a" "/jobs/$train_job/report/$chart" -o "$work/model-$chart"
  note "chart: $work/model-$chart ($(wc -c <"$work/model-$chart") bytes)"
done
for bank in bank-a bank-b; do
  api "$bank" "/jobs/$train_job/result" -o "$work/$bank-model.json"
  api "$bank" "/jobs/$train_job/key" -o "$work/$bank-model.key"
  "$wefe_bin" audit verify "$train_job" --artifact "$work/$bank-model.json" --participant "${addr[$bank]}" | sed 's/^/      /'
done
note "on chain for job $train_job: each bank's commitment and, as the params agreed, the hold-out AUC only:"
"$wefe_bin" job show "$train_job" --json | node -e '
  const j = JSON.parse(require("fs").readFileSync(0, "utf8"));
  for (const r of j.reports) console.log(`        ${r.address}: ${r.state}, commitment ${r.commitment}, published ${r.summary || "(nothing)"}`);'


step "a prediction job scores the shared customers with the split model (Bank B learns no score)"
predict_job=$(run_job predict "{\"model_job\":$train_job,\"psi_job\":$psi_job,\"purpose\":\"score shared customers\"}")
api "bank-a" "/jobs/$predict_job/result" -o "$work/predictions.csv"
note "predictions: $work/predictions.csv ($(($(wc -l <"$work/predictions.csv") - 1)) rows); the first ones:"
head -4 "$work/predictions.csv" | sed 's/^/        /'
api "bank-a" "/jobs/$predict_job" | node -e '
  const s = JSON.parse(require("fs").readFileSync(0, "utf8")).summary;
  console.log(`      ${s.predicted_positive} of ${s.rows} flagged at p >= ${s.threshold}; AUC on these (training + hold-out) rows ${s.metrics.auc.toFixed(4)}`);'
api "bank-b" "/jobs/$predict_job/result" | sed 's/^/      Bank B node result: /'
ids=$(sed -n '2,4p' "$work/predictions.csv" | cut -d, -f1 | node -e 'console.log(JSON.stringify({ids: require("fs").readFileSync(0, "utf8").trim().split("\n")}))')
note "online: POST /models/$train_job/predict on Bank A's node (approved on chain with online_serving; Bank B's node adds its partial scores):"
for _ in $(seq 1 50); do
  online=$(curl -s -H @"$work/bank-a/api-auth" -X POST "http://127.0.0.1:${api_port[bank-a]}/models/$train_job/predict" -H 'content-type: application/json' -d "$ids") &&
    printf '%s' "$online" | grep -q '"predictions"' && break
  sleep 0.2 # Bank B's node starts serving within a couple of seconds of the training
done
printf '%s' "$online" | node -e '
  const r = JSON.parse(require("fs").readFileSync(0, "utf8"));
  if (!r.predictions) { console.error("online prediction failed: " + JSON.stringify(r)); process.exit(1); }
  for (const p of r.predictions) console.log(`        ${p.id}: probability ${p.probability.toFixed(6)}, flagged ${p.prediction}`);'

step "the banks bin their features and rank them by information value (federated WOE/IV: Bank B never sees a label)"
bin_job=$(run_job binning "{\"label\":\"is_fraud\",\"psi_job\":$psi_job,\"bins\":10,\"reveal\":\"iv\",\"purpose\":\"feature ranking\"}")
for bank in bank-a bank-b; do
  api "$bank" "/jobs/$bin_job/result" | node -e '
    const r = JSON.parse(require("fs").readFileSync(0, "utf8"));
    const cols = r.columns.map(c => `${c.name} ${c.iv.toFixed(3)}`).sort((a, b) => parseFloat(b.split(" ").pop()) - parseFloat(a.split(" ").pop()));
    console.log(`      ${process.argv[1]} (${r.role}), IV per own column: ${cols.join(", ")}`);' "$bank"
done
api "bank-a" "/jobs/$bin_job/result" | node -e '
  const r = JSON.parse(require("fs").readFileSync(0, "utf8"));
  console.log(`      Bank A learns Bank B'"'"'s IVs by column index only (reveal = iv): ${(r.host_ivs[0] || []).map(v => v.toFixed(3)).join(", ")}`);'
api "bank-b" "/jobs/$bin_job/report/iv.png" -o "$work/bank-b-iv.png"
api "bank-b" "/jobs/$bin_job/report/woe.csv" -o "$work/bank-b-woe.csv"
note "Bank B's WOE table: $work/bank-b-woe.csv; its IV chart: $work/bank-b-iv.png"

step "the banks train boosted trees on the same customers and hold-out (vertical SecureBoost on those bins)"
note "Bank A encrypts g and h per customer under a fresh key; Bank B sums them per bin and keeps its thresholds"
sb_started=$(date +%s.%N)
sb_job=$(run_job secureboost "{\"label\":\"is_fraud\",\"psi_job\":$psi_job,\"binning_job\":$bin_job,\"trees\":15,\"max_depth\":3,\"min_child_rows\":20,\"validation_fraction\":0.3,\"seed\":7,\"purpose\":\"anti-fraud trees\",\"publish\":[\"metrics.auc\"]}")
note "trained in $(node -e "console.log(($(date +%s.%N) - $sb_started).toFixed(1))") s (approval to both completions)"
lr_auc=$(api "bank-a" "/jobs/$train_job" | node -e 'console.log(JSON.parse(require("fs").readFileSync(0, "utf8")).summary.metrics.auc)')
api "bank-a" "/jobs/$sb_job" | node -e '
  const s = JSON.parse(require("fs").readFileSync(0, "utf8")).summary, m = s.metrics, lr = parseFloat(process.argv[1]);
  console.log(`      ${s.trees} trees; hold-out AUC ${m.auc.toFixed(4)} (vertical LR on the same rows: ${lr.toFixed(4)}, ${m.auc >= lr ? "trees ahead by " : "LR ahead by "}${Math.abs(m.auc - lr).toFixed(4)})`);' "$lr_auc"
for bank in bank-a bank-b; do
  api "$bank" "/jobs/$sb_job/report/importance.csv" -o "$work/$bank-importance.csv"
  note "$bank feature importance (its own features; Bank A sees Bank B only as \"host 0\"): $(sed -n '2,4p' "$work/$bank-importance.csv" | cut -d, -f1-3 | paste -sd';')"
done
sb_predict_job=$(run_job predict "{\"model_job\":$sb_job,\"psi_job\":$psi_job,\"purpose\":\"score shared customers with trees\"}")
api "bank-a" "/jobs/$sb_predict_job/result" -o "$work/tree-predictions.csv"
note "tree predictions: $work/tree-predictions.csv ($(($(wc -l <"$work/tree-predictions.csv") - 1)) rows; Bank B answered only which side of its own splits each customer falls)"

step "the audit timeline of the jobs ($psi_job psi, $train_job vertical-lr, $predict_job predict, $bin_job binning, $sb_job secureboost, $sb_predict_job predict), read straight from the chain"
for j in "$psi_job" "$train_job" "$predict_job" "$bin_job" "$sb_job" "$sb_predict_job"; do
  "$wefe_bin" audit job "$j"
  echo
done

printf '\nDone. The banks aligned, trained (LR and boosted trees), binned and predicted on their own nodes; the chain holds who approved each job, a commitment to every result and only the summary fields the banks agreed to publish.\n'
if [ "$keep" = 0 ]; then
  printf 'Work files (chain config, keystores, certificates, node data, charts and logs) are in %s; nodes and the chain are stopped now.\n' "$work"
  printf 'To browse all of this in the web console, run scripts/demo.sh --keep: it leaves the chain and nodes running and prints the console URLs.\n'
  exit 0
fi
# --keep: the auditor's console on the same chain, until Ctrl-C.
"$wefe_bin" console --listen 127.0.0.1:0 >"$work/console.log" 2>&1 &
node_pids+=($!)
console_url=$(wait_for_line "$work/console.log" 's|^wefe console: \(http://[^ ]*\)/ .*|\1|p' "the console")
printf '\nWeb console (read-only, from the chain; Chinese/English switch at the top right):\n'
printf '  consortium      %s/\n' "$console_url"
printf '  members         %s/#/members\n' "$console_url"
printf '  Bank A          %s/#/members/%s\n' "$console_url" "${addr[bank-a]}"
printf '  jobs            %s/#/jobs\n' "$console_url"
printf '  PSI job         %s/#/jobs/%s   (check %s against its commitment there, with %s)\n' \
  "$console_url" "$psi_job" "$work/bank-a-result.csv" "$work/bank-a-result.key"
printf '  SecureBoost job %s/#/jobs/%s\n' "$console_url" "$sb_job"
printf '  all events      %s/#/events\n' "$console_url"
printf '\nEach node'"'"'s operator page (its own jobs with live progress, reports, datasets and imports, health;\nsign in with the token in the file named):\n'
for party in bank-a bank-b regulator; do
  printf '  %-15s http://127.0.0.1:%s/ui/   (token: %s)\n' "$party node" "${api_port[$party]}" "$work/$party/data/api-token"
done
printf '\nWork files are in %s. The chain, the three nodes and the console keep running until Ctrl-C.\n' "$work"
while true; do sleep 3600; done
