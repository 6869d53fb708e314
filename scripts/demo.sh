#!/usr/bin/env bash
# The main job: a cross-bank anti-fraud PSI on a local chain, end to end.
#
# On a fresh machine it installs the toolchain, builds `wefe` and `wefe-node`,
# starts anvil (london hardfork, FISCO BCOS-compatible EVM), deploys the
# contracts with three admins (threshold 2), onboards two banks and the
# regulator with real SM2 keys, appoints the regulator as certificate
# authority (issuing, then revoking, an SM2/SM3 X.509 certificate), starts
# three party nodes, imports generated customer lists with a known overlap,
# registers the datasets, and has both banks approve a PSI job: the nodes
# launch and finish it by themselves. It prints the intersection size and the
# audit timeline, then stops everything it started.
#
# Usage: scripts/demo.sh            (work files go to .demo/, replaced each run)
#        WEFE_DEMO_DIR=/tmp/x scripts/demo.sh
#        WEFE_DEMO_ROWS=100000 scripts/demo.sh   (Bank A's list size; Bank B has 80%, a quarter shared)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
work=${WEFE_DEMO_DIR:-$root/.demo}
rows=${WEFE_DEMO_ROWS:-10000}
case "$rows" in '' | *[!0-9]*) echo "WEFE_DEMO_ROWS must be a number, got '$rows'" >&2; exit 2 ;; esac
[ "$rows" -ge 4 ] || { echo "WEFE_DEMO_ROWS must be at least 4" >&2; exit 2; }
b_rows=$((rows * 4 / 5))
overlap=$((rows / 4))

total=16
n=0
step() { n=$((n + 1)); printf '\n\033[1m[%d/%d] %s\033[0m\n' "$n" "$total" "$*"; }
note() { printf '      %s\n' "$*"; }

step "toolchain (scripts/setup.sh)"
scripts/setup.sh

openssl genpkey -algorithm SM2 -out /dev/null 2>/dev/null ||
  { echo "this openssl cannot make SM2 keys (OpenSSL 1.1.1 or 3.x with SM2 is needed)" >&2; exit 1; }

step "build wefe and wefe-node (the first build on a fresh machine takes several minutes; cargo shows its progress)"
cargo build -p wefe-cli -p wefe-node --locked
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
mkdir -p "$work/keys" "$work/pki"
touch "$work/.wefe-demo"
chmod 700 "$work/keys"

step "start a local chain (anvil, chain id 31337, hardfork london)"
anvil_log="$work/anvil.log"
contracts/bin/anvil --host 127.0.0.1 --port 0 --chain-id 31337 --hardfork london >"$anvil_log" 2>&1 &
anvil_pid=$!
node_pids=()
cleanup() {
  for pid in ${node_pids[@]+"${node_pids[@]}"}; do kill "$pid" 2>/dev/null || true; done
  for pid in ${node_pids[@]+"${node_pids[@]}"}; do wait "$pid" 2>/dev/null || true; done
  kill "$anvil_pid" 2>/dev/null || true
  wait "$anvil_pid" 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM
port=""
for _ in $(seq 1 100); do
  port=$(sed -n 's/^Listening on .*:\([0-9]*\)$/\1/p' "$anvil_log" | head -1)
  [ -n "$port" ] && break
  sleep 0.1
done
[ -n "$port" ] || { echo "anvil did not start:" >&2; cat "$anvil_log" >&2; exit 1; }
export WEFE_RPC_URL="http://127.0.0.1:$port"
export WEFE_CHAIN_CONFIG="$work/chain.toml"
note "RPC $WEFE_RPC_URL (pid $anvil_pid)"

# anvil's public development keys (mnemonic "test test ... junk"): local use only.
dev_keys=(
  0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80
  0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d
  0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a
  0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6
  0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a
)
roles=(regulator admin-2 admin-3 bank-a bank-b)

step "encrypted keystores for the regulator, two more admins and two banks"
head -c 24 /dev/urandom | base64 >"$work/keys/password"
chmod 600 "$work/keys/password"
declare -A addr
for i in "${!roles[@]}"; do
  r=${roles[$i]}
  WEFE_PRIVATE_KEY=${dev_keys[$i]} "$wefe_bin" key import --out "$work/keys/$r.json" \
    --password-file "$work/keys/password" >/dev/null
  addr[$r]=$("$wefe_bin" key address --keystore "$work/keys/$r.json" --password-file "$work/keys/password")
  note "$r: ${addr[$r]}"
done
# Run wefe as ROLE: every transaction is signed from that role's own keystore.
as() { local role=$1; shift; "$wefe_bin" --keystore "$work/keys/$role.json" --password-file "$work/keys/password" "$@"; }

step "deploy the governance contracts (3 admins, threshold 2)"
as regulator chain deploy --admin "${addr[regulator]}" --admin "${addr[admin-2]}" --admin "${addr[admin-3]}" --threshold 2

free_port() { node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
declare -A gateway_port api_port
step "the banks and the regulator make SM2 keys and apply for membership"
for party in bank-a bank-b regulator; do
  openssl genpkey -algorithm SM2 -out "$work/pki/$party.key" 2>/dev/null
  pub=$(openssl pkey -in "$work/pki/$party.key" -pubout -outform DER | tail -c 65 | od -An -v -tx1 | tr -d ' \n')
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

step "the admins appoint the regulator as certificate authority"
proposal=$(as regulator admin propose appoint-ca --target "${addr[regulator]}" --json | json_field proposal_id)
note "proposal $proposal opened by the regulator; admin-3 votes"
as admin-3 admin vote "$proposal"

step "Bank A requests an SM2/SM3 certificate; the regulator issues it (X.509 checked by openssl)"
openssl genpkey -algorithm SM2 -out "$work/pki/ca.key" 2>/dev/null
openssl req -new -x509 -key "$work/pki/ca.key" -sm3 -days 3650 -subj "/O=wefe demo/CN=Regulator CA" -out "$work/pki/ca.pem" 2>/dev/null
openssl req -new -key "$work/pki/bank-a.key" -sm3 -subj "/O=Bank A/CN=${addr[bank-a]}" -outform DER -out "$work/pki/bank-a.csr" 2>/dev/null
cert_id=$(as bank-a cert request --csr "$work/pki/bank-a.csr" --json | json_field certificate_id)
openssl x509 -req -inform DER -in "$work/pki/bank-a.csr" -CA "$work/pki/ca.pem" -CAkey "$work/pki/ca.key" -sm3 \
  -days 365 -set_serial 1001 -outform DER -out "$work/pki/bank-a.der" 2>/dev/null
openssl x509 -inform DER -in "$work/pki/bank-a.der" -out "$work/pki/bank-a.pem"
openssl verify -CAfile "$work/pki/ca.pem" "$work/pki/bank-a.pem" | sed "s|^$work/||; s/^/      openssl verify: /"
as regulator cert issue "$cert_id" --cert "$work/pki/bank-a.der" --serial 1001 --days 365 --uri "file://$work/pki/bank-a.der"
"$wefe_bin" cert status "$cert_id"

step "the key behind it is declared compromised: the regulator revokes the certificate"
as regulator cert revoke "$cert_id" --reason "demo: key compromise drill" --code 1
"$wefe_bin" cert status "$cert_id" | grep -E '^(status|valid on chain|reason)'

step "three party nodes start (two banks, the regulator): each follows the chain and serves its gateway and API"
for party in bank-a bank-b regulator; do
  mkdir -p "$work/$party"
  cat >"$work/$party/party.toml" <<TOML
name = "$party"
member = "${addr[$party]}"
chain_config = "../chain.toml"
data_dir = "data"
poll_interval_ms = 200
keystore = "../keys/$party.json"
password_file = "../keys/password"
sm2_key = "../pki/$party.key"
gateway_listen = "127.0.0.1:${gateway_port[$party]}"
api_listen = "127.0.0.1:${api_port[$party]}"
import_root = ".."
TOML
  WEFE_LOG=${WEFE_LOG:-warn} "$node_bin" run --config "$work/$party/party.toml" >"$work/$party/node.log" 2>&1 &
  node_pids+=($!)
done
for party in bank-a bank-b regulator; do
  for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:${api_port[$party]}/health" >/dev/null && break; sleep 0.2; done
  curl -sf "http://127.0.0.1:${api_port[$party]}/health" >/dev/null || { echo "node $party did not start:" >&2; cat "$work/$party/node.log" >&2; exit 1; }
  note "$party: API http://127.0.0.1:${api_port[$party]}, gateway :${gateway_port[$party]}"
done

step "each bank imports its customer list (generated: $rows and $b_rows ids, $overlap in common) into its own node"
# Customer ids; the last quarter of Bank A's ids are also Bank B's first ones.
awk -v n="$rows" 'BEGIN { print "customer_id,segment"; for (i = 0; i < n; i++) printf "cust-%09d,%s\n", i, (i % 3 ? "retail" : "sme") }' >"$work/bank-a.csv"
awk -v from=$((rows - overlap)) -v n="$b_rows" 'BEGIN { print "customer_id,channel"; for (i = from; i < from + n; i++) printf "cust-%09d,%s\n", i, (i % 2 ? "app" : "branch") }' >"$work/bank-b.csv"
for bank in bank-a bank-b; do
  curl -sf -X POST "http://127.0.0.1:${api_port[$bank]}/datasets" -H 'content-type: application/json' \
    -d "{\"id\":\"$bank-customers\",\"id_column\":\"customer_id\",\"path\":\"$work/$bank.csv\"}" |
    node -e 'const d=JSON.parse(require("fs").readFileSync(0,"utf8")); console.log("      imported " + d.id + ": " + d.row_count + " rows, sha256 " + d.content_hash)'
done

step "the banks register the datasets on chain (hashes only; the data stays in each node)"
as bank-a dataset register bank-a-customers --schema "customer_id,segment" --rows "$rows" --visibility listed \
  --metadata '{"description":"customer ids (hashed phone numbers)","id_column":"customer_id"}'
as bank-a dataset grant bank-a-customers "${addr[bank-b]}"
as bank-b dataset register bank-b-customers --schema "customer_id,channel" --rows "$b_rows" --visibility public \
  --metadata '{"description":"customer ids (hashed phone numbers)","id_column":"customer_id"}'

step "Bank A proposes a cross-bank anti-fraud PSI job; both banks approve with their own keys"
job=$(as bank-a job propose --kind psi --participant "${addr[bank-a]}" --participant "${addr[bank-b]}" \
  --dataset bank-a-customers --dataset bank-b-customers \
  --params '{"protocol":"ecdh","reveal":"both","purpose":"anti-fraud"}' --deadline-blocks 100 --json | json_field job_id)
note "job $job proposed"
as bank-a job approve "$job"
as bank-b job approve "$job"
approved_at=$(date +%s.%N)

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
  case $status in Completed | Failed) break ;; esac
  [ $((i % 10)) -eq 0 ] && note "job $job: $status ..."
  sleep 0.2
done
finished=$(date +%s.%N)
[ "$status" = Completed ] || { echo "job $job ended $status:" >&2; "$wefe_bin" job show "$job" >&2; tail -20 "$work"/bank-*/node.log >&2; exit 1; }
"$wefe_bin" job show "$job"
for bank in bank-a bank-b; do
  # The node marks the job completed right after its own report is mined.
  for _ in $(seq 1 100); do
    curl -sf "http://127.0.0.1:${api_port[$bank]}/jobs/$job/result" -o "$work/$bank-result.csv" && break
    sleep 0.2
  done
  [ -s "$work/$bank-result.csv" ] || { echo "no result from $bank's node" >&2; exit 1; }
  size=$(($(wc -l <"$work/$bank-result.csv") - 1))
  note "$bank's node: intersection of $size customers (expected $overlap), result $work/$bank-result.csv"
  "$wefe_bin" audit verify "$job" --artifact "$work/$bank-result.csv" --participant "${addr[$bank]}" | sed 's/^/      /'
done

note "approval to completion: $(node -e "console.log(($finished - $approved_at).toFixed(2))") s"
for i in 0 1; do
  party=$([ $i -eq 0 ] && echo bank-a || echo bank-b)
  note "$party node peak memory: $(awk '/VmHWM/ {printf "%.1f MiB", $2 / 1024}' "/proc/${node_pids[$i]}/status" 2>/dev/null || echo unknown)"
done

step "the audit timeline of job $job, read straight from the chain"
"$wefe_bin" audit job "$job"

printf '\nDone. Job %s ran between the banks'"'"' nodes on their own; the chain holds who approved it and both result hashes.\n' "$job"
printf 'Work files (chain config, keystores, certificates, node data and logs) are in %s; nodes and anvil are stopped now.\n' "$work"
