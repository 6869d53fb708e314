#!/usr/bin/env bash
# Writes the RPC TLS files of a FISCO BCOS 3.x chain in non-SM TLS mode the way
# its build_chain.sh makes them (RSA 2048 keys, a self-signed chain CA, node and
# SDK certificates issued by it with basicConstraints CA:FALSE, keys in PKCS#8):
#   DIR/ca.crt, DIR/ca.key            the chain CA
#   DIR/node/{ca.crt,ssl.crt,ssl.key} a node's conf/ (wefe-devchain --tls-dir DIR/node)
#   DIR/sdk/{ca.crt,sdk.crt,sdk.key}  what an SDK client holds (chain.toml fisco_sdk_certs = "DIR/sdk")
# For tests and the demo; a real chain's files come from its own build_chain.sh.
# Usage: scripts/lib/fisco-certs.sh DIR
set -euo pipefail
dir=${1:?usage: scripts/lib/fisco-certs.sh DIR}
command -v openssl >/dev/null || { echo "fisco-certs.sh: openssl is not installed (apt-get install openssl)" >&2; exit 1; }
mkdir -p "$dir/node" "$dir/sdk"
cnf=$(mktemp)
trap 'rm -f "$cnf" "$dir"/*.csr "$dir"/*.srl' EXIT
cat >"$cnf" <<'CNF'
[req]
distinguished_name = dn
[dn]
[v4_req]
basicConstraints = CA:FALSE
CNF
id=$RANDOM
openssl genrsa -out "$dir/ca.key" 2048 2>/dev/null
openssl req -new -x509 -days 3650 -subj "/CN=FISCO-BCOS-$id/O=FISCO-BCOS-$id/OU=chain" \
  -key "$dir/ca.key" -config "$cnf" -out "$dir/ca.crt" 2>/dev/null
issue() { # issue NAME OUT_DIR CERT_FILE KEY_FILE
  local key_rsa="$dir/$1.rsa.key"
  openssl genrsa -out "$key_rsa" 2048 2>/dev/null
  openssl req -new -sha256 -subj "/CN=FISCO-BCOS-$id/O=fisco-bcos/OU=agency" -key "$key_rsa" \
    -config "$cnf" -out "$dir/$1.csr" 2>/dev/null
  openssl x509 -req -days 3650 -sha256 -CA "$dir/ca.crt" -CAkey "$dir/ca.key" -CAcreateserial \
    -in "$dir/$1.csr" -out "$2/$3" -extensions v4_req -extfile "$cnf" 2>/dev/null
  openssl pkcs8 -topk8 -in "$key_rsa" -out "$2/$4" -nocrypt
  rm -f "$key_rsa"
  chmod 600 "$2/$4"
  cp "$dir/ca.crt" "$2/ca.crt"
}
issue node "$dir/node" ssl.crt ssl.key
issue sdk "$dir/sdk" sdk.crt sdk.key
chmod 600 "$dir/ca.key"
