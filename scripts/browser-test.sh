#!/usr/bin/env bash
# The web console in a real browser: Debian's Chromium (installed when missing)
# driven by playwright-core from npm, pinned by tests/browser/package-lock.json
# (it is pointed at /usr/bin/chromium; no browser is downloaded).
#
# Brings up the demo's consortium with `scripts/demo.sh --keep` (a local
# chain, three party nodes, six jobs), runs tests/browser/console.test.mjs
# against the console it prints, saves a screenshot of each page under
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
  url=$(sed -n 's|^  consortium *\(http://[^ ]*\)/$|\1|p' "$out/demo.log" | head -1)
done
echo "[browser] console at $url"
node tests/browser/console.test.mjs "$url" "$out/demo" "$out"
echo "[browser] screenshots in $out"
