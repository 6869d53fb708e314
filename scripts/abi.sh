#!/usr/bin/env bash
# Writes contracts/abi/<Contract>.json (ABI + creation and runtime bytecode) from a
# fresh forge build, so the Rust crates build without forge. With --check it
# leaves contracts/abi alone and fails when the committed files differ from a
# fresh build (forge's own out/ and cache/ are refreshed either way).
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
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for c in "${contracts[@]}"; do
  node -e '
    const fs = require("fs");
    const a = JSON.parse(fs.readFileSync(process.argv[1], "utf8"));
    const obj = (b) => (typeof b === "string" ? b : b.object);
    const out = { contractName: process.argv[2], abi: a.abi,
      bytecode: { object: obj(a.bytecode) }, deployedBytecode: { object: obj(a.deployedBytecode) } };
    if (!out.bytecode.object || out.bytecode.object === "0x") throw new Error("empty bytecode for " + process.argv[2]);
    fs.writeFileSync(process.argv[3], JSON.stringify(out, null, 2) + "\n");
  ' "out/$c.sol/$c.json" "$c" "$tmp/$c.json"
done

if [ "$mode" = "--check" ]; then
  status=0
  for c in "${contracts[@]}"; do
    if ! cmp -s "$tmp/$c.json" "abi/$c.json"; then
      echo "contracts/abi/$c.json is stale: run scripts/abi.sh and commit the result" >&2
      status=1
    fi
  done
  [ $status -eq 0 ] && echo "abi: ${#contracts[@]} committed artifacts match a fresh build"
  exit $status
fi
mkdir -p abi
for c in "${contracts[@]}"; do cp "$tmp/$c.json" "abi/$c.json"; done
echo "abi: wrote contracts/abi/{$(IFS=,; echo "${contracts[*]}")}.json"
