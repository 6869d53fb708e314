#!/usr/bin/env bash
# Writes contracts/abi/<Contract>.json (ABI + creation and runtime bytecode) from a
# fresh forge build, so the Rust crates build without forge, and the SM build
# for FISCO BCOS SM chains beside it: contracts/abi-sm/<Contract>.json, compiled
# by the SM3 compiler scripts/setup.sh derives (or FISCO's solc-0.8.11-gm named
# by WEFE_SOLC_GM), with the SHA-256 of every SM bytecode in
# contracts/abi-sm/SHA256SUMS. With --check it leaves both folders alone and
# fails when the committed files differ from a fresh build (forge's own out/,
# out-sm/, cache/ and cache-sm/ are refreshed either way).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root/contracts"
case "${1:-}" in
  "") mode=write ;;
  --check) mode=--check ;;
  *) echo "usage: scripts/abi.sh [--check]" >&2; exit 2 ;;
esac
contracts=(Consortium CertificateRegistry DataRegistry JobRegistry)

bin/forge build --skip test --skip script >/dev/null
# The SM build: the same contracts and settings, the SM3 compiler. Only src/ (forge-std's
# mixed-case address literals fail an SM3 EIP-55 checksum, as with FISCO's gm solc).
if [ -n "${WEFE_SOLC_GM:-}" ]; then
  bin/forge build src --use "$WEFE_SOLC_GM" --out out-sm --cache-path cache-sm >/dev/null
else
  sm_soljson=node_modules/.wefe-solc-sm3/soljson.js
  [ -f "$sm_soljson" ] || { echo "no SM3 compiler at contracts/$sm_soljson: run scripts/setup.sh" >&2; exit 1; }
  WEFE_SOLC_SOLJSON=$sm_soljson bin/forge build src --out out-sm --cache-path cache-sm >/dev/null
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/sm"
for c in "${contracts[@]}"; do
  for build in out:"$tmp/$c.json" out-sm:"$tmp/sm/$c.json"; do
  node -e '
    const fs = require("fs");
    const a = JSON.parse(fs.readFileSync(process.argv[1], "utf8"));
    const obj = (b) => (typeof b === "string" ? b : b.object);
    const out = { contractName: process.argv[2], abi: a.abi,
      bytecode: { object: obj(a.bytecode) }, deployedBytecode: { object: obj(a.deployedBytecode) } };
    if (!out.bytecode.object || out.bytecode.object === "0x") throw new Error("empty bytecode for " + process.argv[2]);
    fs.writeFileSync(process.argv[3], JSON.stringify(out, null, 2) + "\n");
  ' "${build%%:*}/$c.sol/$c.json" "$c" "${build#*:}"
  done
done
# SHA-256 of each SM bytecode (the bytes, not their hex).
node -e '
  const fs = require("fs"), crypto = require("crypto");
  const [dir, ...names] = process.argv.slice(1);
  const lines = [];
  for (const c of names) {
    const a = JSON.parse(fs.readFileSync(`${dir}/${c}.json`, "utf8"));
    for (const [kind, b] of [["creation", a.bytecode.object], ["runtime", a.deployedBytecode.object]]) {
      const bytes = Buffer.from(b.replace(/^0x/, ""), "hex");
      lines.push(`${crypto.createHash("sha256").update(bytes).digest("hex")}  ${c} ${kind}`);
    }
  }
  fs.writeFileSync(`${dir}/SHA256SUMS`, lines.join("\n") + "\n");
' "$tmp/sm" "${contracts[@]}"

if [ "$mode" = "--check" ]; then
  status=0
  for c in "${contracts[@]}"; do
    if ! cmp -s "$tmp/$c.json" "abi/$c.json"; then
      echo "contracts/abi/$c.json is stale: run scripts/abi.sh and commit the result" >&2
      status=1
    fi
    if ! cmp -s "$tmp/sm/$c.json" "abi-sm/$c.json"; then
      echo "contracts/abi-sm/$c.json is stale: run scripts/abi.sh and commit the result" >&2
      status=1
    fi
  done
  if ! cmp -s "$tmp/sm/SHA256SUMS" abi-sm/SHA256SUMS; then
    echo "contracts/abi-sm/SHA256SUMS differs from the SM build's bytecode:" >&2
    diff abi-sm/SHA256SUMS "$tmp/sm/SHA256SUMS" >&2 || true
    status=1
  fi
  [ $status -eq 0 ] && echo "abi: ${#contracts[@]} committed artifacts and their SM builds match a fresh build"
  exit $status
fi
mkdir -p abi abi-sm
for c in "${contracts[@]}"; do
  cp "$tmp/$c.json" "abi/$c.json"
  cp "$tmp/sm/$c.json" "abi-sm/$c.json"
done
cp "$tmp/sm/SHA256SUMS" abi-sm/SHA256SUMS
echo "abi: wrote contracts/abi/{$(IFS=,; echo "${contracts[*]}")}.json and their SM builds in contracts/abi-sm/"
