#!/usr/bin/env bash
# Installs the toolchain wefe needs on a fresh Debian machine that reaches only
# the package registries: Foundry (forge, anvil, cast: the native linux-x64
# binaries published on npm) and solc-js, pinned by contracts/package.json +
# package-lock.json; Node.js, npm, openssl, curl, m4, pkg-config and libssl-dev
# (OpenSSL headers for RSA-PSI) from Debian when missing.
# Idempotent: a second run checks and prints "nothing to do".
#
# Prerequisite: Rust >= 1.94.1 with rustfmt and clippy (rustup), which cannot be
# installed from the package registries.
#
# After it: contracts/bin/{forge,anvil,cast} are the native binaries (the npm
# launcher scripts always exit 0, even when tests fail, so we never use them).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

say() { printf '[setup] %s\n' "$*"; }
die() { printf '[setup] error: %s\n' "$*" >&2; exit 1; }

installed=()

need() { command -v "$1" >/dev/null 2>&1; }

# --- system tools -----------------------------------------------------------
apt_pkgs=()
need node || apt_pkgs+=(nodejs)
need npm || apt_pkgs+=(npm)
need cc || apt_pkgs+=(gcc)
need openssl || apt_pkgs+=(openssl)
need curl || apt_pkgs+=(curl)
need m4 || apt_pkgs+=(m4) # GMP's bundled build (rug, for Paillier) needs it
need pkg-config || apt_pkgs+=(pkg-config) # openssl-sys finds the system OpenSSL with it
[ -f /usr/include/openssl/rsa.h ] || apt_pkgs+=(libssl-dev) # RSA-PSI's private-key operation
if [ ${#apt_pkgs[@]} -gt 0 ]; then
  need apt-get || die "missing ${apt_pkgs[*]} and no apt-get to install them"
  say "installing Debian packages: ${apt_pkgs[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${apt_pkgs[@]}" >/dev/null
  installed+=("apt: ${apt_pkgs[*]}")
fi
node_major=$(node -p 'process.versions.node.split(".")[0]')
[ "$node_major" -ge 18 ] || die "Node.js $(node --version) is too old: solc-js and npm need Node.js 18 or newer"

need cargo || die "cargo not found: install Rust >= 1.94.1 (rustup) first"
rust_version=$(cargo --version | awk '{print $2}')
if [ "$(printf '%s\n1.94.1\n' "${rust_version%%-*}" | sort -V | head -1)" != "1.94.1" ]; then
  die "cargo $rust_version is too old: wefe needs Rust >= 1.94.1 (rustup update stable)"
fi
for component in fmt clippy; do
  cargo "$component" --version >/dev/null 2>&1 || die "cargo $component is missing: rustup component add ${component/fmt/rustfmt}"
done

# --- Foundry + solc-js from npm ---------------------------------------------
cd "$root/contracts"
stamp=node_modules/.wefe-lock.sha256
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  say "npm ci (Foundry 1.7.1, solc-js 0.8.11, forge-std) ..."
  # No install scripts: the packages we use ship their files, and a script
  # that downloads from elsewhere would fail here.
  npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
  echo "$want" > "$stamp"
  installed+=("npm: $(node -e 'const p=require("./package.json");console.log(Object.entries(p.dependencies).map(([k,v])=>k+"@"+v).join(" "))')")
fi

mkdir -p bin
for tool in forge anvil cast; do
  src="$root/contracts/node_modules/@foundry-rs/${tool}-linux-amd64/bin/${tool}"
  [ -x "$src" ] || die "$src is missing: npm did not install @foundry-rs/${tool}-linux-amd64 (only linux x86_64 is supported)"
  if [ "$(readlink bin/$tool 2>/dev/null || true)" != "$src" ]; then
    ln -sfn "$src" "bin/$tool"
    installed+=("link: contracts/bin/$tool -> native $tool")
  fi
done
chmod +x tools/solc
ver=$(./tools/solc --version | sed -n 's/^Version: //p')
case "$ver" in 0.8.11*) ;; *) die "tools/solc reports '$ver', expected 0.8.11" ;; esac

# The SM3 ("gm") compiler for FISCO BCOS SM chains, derived from the pinned
# solc-js on this machine (scripts/lib/solc-sm3.js: fails closed, self-tests;
# GPL-3.0, never committed). WEFE_SOLC_GM names FISCO's own solc-0.8.11-gm
# instead, which must pass the same self-test.
sm_solc=node_modules/.wefe-solc-sm3/soljson.js
if [ -n "${WEFE_SOLC_GM:-}" ]; then
  node "$root/scripts/lib/solc-sm3.js" --native "$WEFE_SOLC_GM" >/dev/null ||
    die "WEFE_SOLC_GM=$WEFE_SOLC_GM fails the SM compiler self-test (see above); unset it to derive one from solc-js"
else
  # Derived again whenever solc-js or the derivation changes.
  sm_want=$(cat node_modules/solc-0.8.11/soljson.js "$root/scripts/lib/solc-sm3.js" | sha256sum | cut -d' ' -f1)
  if [ ! -f "$sm_solc" ] || [ "$(cat "$sm_solc.sha256" 2>/dev/null)" != "$sm_want" ]; then
    mkdir -p "$(dirname "$sm_solc")"
    node "$root/scripts/lib/solc-sm3.js" node_modules/solc-0.8.11/soljson.js "$sm_solc" >/dev/null ||
      die "could not derive the SM3 compiler from solc-js 0.8.11 (see above)"
    echo "$sm_want" >"$sm_solc.sha256"
    installed+=("SM3 compiler: contracts/$sm_solc (derived from solc-js 0.8.11, self-test passed)")
  fi
fi

if [ ${#installed[@]} -eq 0 ]; then
  say "nothing to do: forge $(bin/forge --version | head -1 | awk '{print $3}'), solc $ver already installed"
else
  for i in "${installed[@]}"; do say "installed $i"; done
  say "forge: $(bin/forge --version | head -1)"
  say "solc:  $ver"
fi
