#!/usr/bin/env bash
# The web pages in a real browser: Debian's Chromium (installed when missing)
# driven by playwright-core from npm, pinned by tests/browser/package-lock.json
# (it is pointed at /usr/bin/chromium; no browser is downloaded).
#
# Brings up the demo's consortium with `scripts/demo.sh --keep` (a local
# chain, three party nodes, six jobs), runs tests/browser/console.test.mjs
# against the auditor's console it prints and tests/browser/operator.test.mjs
# against Bank A's node's operator page (including a PSI job run while the
# page watches its progress bar), saves a screenshot of each page under
# test-output/browser/, and stops everything it started.
#
# Usage: scripts/browser-test.sh     (also: scripts/test.sh --browser)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

# Chromium, and a Chinese font so that the zh screenshots show characters.
packages=()
command -v chromium >/dev/null 2>&1 || packages+=(chromium)
if ! { command -v fc-list >/dev/null 2>&1 && fc-list :lang=zh | grep -q .; }; then packages+=(fonts-wqy-zenhei); fi
if [ ${#packages[@]} -gt 0 ]; then
  echo "[browser] installing from Debian: ${packages[*]}"
  sudo_cmd=()
  [ "$(id -u)" = 0 ] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq "${packages[@]}" >/dev/null
fi
scripts/setup.sh >/dev/null # node and npm, the contracts' toolchain the demo needs
(cd tests/browser && npm ci --no-audit --no-fund --silent)

out="$root/test-output/browser"
rm -rf "$out"
mkdir -p "$out"
# The demo in its own process group, so that stopping it stops its chain and nodes too.
WEFE_DEMO_DIR="$out/demo" setsid scripts/demo.sh --keep >"$out/demo.log" 2>&1 &
demo_pid=$!
stop_demo() {
  kill -TERM -- "-$demo_pid" 2>/dev/null || true
  wait "$demo_pid" 2>/dev/null || true
}
trap stop_demo EXIT
echo "[browser] bringing up the demo consortium (log: $out/demo.log)"
url=""
while [ -z "$url" ]; do
  if ! kill -0 "$demo_pid" 2>/dev/null; then
    tail -40 "$out/demo.log" >&2
    echo "[browser] the demo stopped before its console started" >&2
    exit 1
  fi
  sleep 1
  # The demo's last line comes after every URL it prints.
  grep -q '^Work files are in' "$out/demo.log" || continue
  url=$(sed -n 's|^  consortium *\(http://[^ ]*\)/$|\1|p' "$out/demo.log" | head -1)
done
echo "[browser] console at $url"
node_url() { sed -n "s|^  $1 node *\(http://[^ ]*\)/ui/ .*|\1|p" "$out/demo.log" | head -1; }
node_a=$(node_url bank-a)
node_b=$(node_url bank-b)
[ -n "$node_a" ] && [ -n "$node_b" ] || { tail -20 "$out/demo.log" >&2; echo "[browser] the demo printed no operator page" >&2; exit 1; }
target_dir=$(cargo metadata --format-version 1 --no-deps | node -e 'console.log(JSON.parse(require("fs").readFileSync(0, "utf8")).target_directory)')
status=0
node tests/browser/console.test.mjs "$url" "$out/demo" "$out" || status=1
echo "[browser] Bank A's operator page at $node_a/ui/"
node tests/browser/operator.test.mjs "$node_a" "$node_b" "$out/demo" "$out" "$target_dir/debug/wefe" || status=1
# Scale: 1 000 more jobs on the same chain, for the console's first render.
# The nodes stop first (they would launch every job that names them).
demo_nodes() { ps -eo pid=,args= | grep -F -- "wefe-node run --config $out/demo/" | grep -v -F grep | awk '{print $1}'; }
demo_nodes | xargs -r kill -TERM 2>/dev/null || true
for _ in $(seq 1 100); do [ -z "$(demo_nodes)" ] && break; sleep 0.2; done
rpc=$(sed -n 's/^rpc_url *= *"\(.*\)"$/\1/p' "$out/demo/chain.toml" | head -1)
members=()
for role in bank-a bank-b regulator; do
  members+=("$("$target_dir/debug/wefe" key address --keystore "$out/demo/keys/$role.json" --password-file "$out/demo/keys/password")")
done
echo "[browser] the console with 1 000 more jobs (chain $rpc)"
node tests/browser/scale.test.mjs "$url" "$rpc" "$out/demo/chain.toml" contracts/bin/cast "${members[@]}" || status=1
echo "[browser] screenshots in $out"
exit "$status"
