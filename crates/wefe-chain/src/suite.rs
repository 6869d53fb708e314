//! The cryptography a chain uses for accounts, transactions and the ABI.
//!
//! Ethereum (and FISCO BCOS in its default mode) use secp256k1 ECDSA with
//! Keccak-256; FISCO BCOS in SM (national cryptography) mode uses SM2 with
//! SM3 for the same four jobs:
//!
//! | job | [`CryptoSuite::Ecdsa`] | [`CryptoSuite::Sm`] |
//! |---|---|---|
//! | function selector | first 4 bytes of Keccak-256(signature) | first 4 bytes of SM3(signature) |
//! | event topic | Keccak-256(signature) | SM3(signature) |
//! | address | last 20 bytes of Keccak-256(x ‖ y) | last 20 bytes of SM3(x ‖ y) |
//! | transaction signature | ECDSA `r ‖ s ‖ v` (65 bytes) over the hash | SM2 (id `1234567812345678`) `r ‖ s ‖ x ‖ y` (128 bytes) over the hash |
//!
//! The SM column reproduces FISCO BCOS's published values: the selector of
//! `get()` is `299f7f9d` and of `set(string)` is `3590b49f` (FISCO-BCOS
//! java-sdk `HelloWorld` test contract), and its `KeyToolTest` key pairs map
//! to their addresses (see the tests below).

use alloy::primitives::{Address, keccak256};
use alloy::signers::SignerSync;
use alloy::signers::local::PrivateKeySigner;
use wefe_crypto::sm::{self, Sm2KeyPair, Sm2PublicKey};

use crate::error::{ChainError, Result};

/// The hash and signature algorithms of a chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CryptoSuite {
    /// secp256k1 ECDSA with Keccak-256 (Ethereum, FISCO BCOS default mode).
    #[default]
    Ecdsa,
    /// SM2 with SM3 (FISCO BCOS SM mode).
    Sm,
}

/// A transaction signing key of either suite. `Debug` never shows the secret.
#[derive(Debug, Clone)]
pub enum SuiteKey {
    /// A secp256k1 key.
    Ecdsa(PrivateKeySigner),
    /// An SM2 key.
    Sm(Sm2KeyPair),
}

impl SuiteKey {
    /// A hex private key (64 digits, `0x` optional) as a key of `suite`: the
    /// same 32 bytes are a secp256k1 or an SM2 scalar. Errors never show the key.
    pub fn from_hex(text: &str, suite: CryptoSuite) -> Result<Self> {
        let bad = |message: String| ChainError::Signature(message);
        let trimmed = text.trim();
        let digits = trimmed.strip_prefix("0x").unwrap_or(trimmed);
        if digits.len() != 64 || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad(format!(
                "not a private key: expected 64 hex digits (32 bytes), got {} characters",
                digits.len()
            )));
        }
        let mut bytes = zeroize::Zeroizing::new([0u8; 32]);
        alloy::hex::decode_to_slice(digits, bytes.as_mut()).map_err(|_| bad("not a private key".into()))?;
        match suite {
            CryptoSuite::Ecdsa => PrivateKeySigner::from_slice(bytes.as_ref())
                .map(Self::Ecdsa)
                .map_err(|_| bad("not a valid secp256k1 private key".into())),
            CryptoSuite::Sm => {
                Sm2KeyPair::from_bytes(&bytes).map(Self::Sm).map_err(|_| bad("not a valid SM2 private key".into()))
            }
        }
    }

    /// Reads an account key file, whichever suite it holds: an Ethereum JSON
    /// keystore (a secp256k1 key, as `wefe key new` writes) or an SM2 private
    /// key in PKCS#8 PEM, encrypted (`wefe key sm2-new`) or not (FISCO BCOS's
    /// console accounts). `password` is asked only for encrypted files. A file
    /// others can read is refused before anything is asked.
    pub fn read_file(
        path: &std::path::Path,
        password: impl FnOnce() -> std::result::Result<zeroize::Zeroizing<String>, String>,
    ) -> Result<Self> {
        let fail = |message: String| ChainError::Config { path: path.display().to_string(), message };
        wefe_crypto::keyfile::check_owner_only(path, "account key").map_err(|e| fail(e.to_string()))?;
        let meta = std::fs::metadata(path).map_err(|e| fail(format!("cannot read it: {e}")))?;
        if meta.len() > 64 * 1024 {
            return Err(fail(format!("{} bytes: not an account key file", meta.len())));
        }
        let text =
            zeroize::Zeroizing::new(std::fs::read_to_string(path).map_err(|e| fail(format!("cannot read it: {e}")))?);
        if text.trim_start().starts_with('{') {
            let password = password().map_err(&fail)?;
            return PrivateKeySigner::decrypt_keystore(path, password.as_bytes()).map(Self::Ecdsa).map_err(|e| {
                let e = e.to_string();
                fail(if e.contains("Mac Mismatch") || e.contains("MacMismatch") {
                    "cannot open the keystore: wrong password".into()
                } else {
                    format!("cannot open the keystore: {e}")
                })
            });
        }
        if text.contains("-----BEGIN") {
            return Sm2KeyPair::from_pem_with(&text, || password().map_err(wefe_crypto::Error::KeyFile))
                .map(Self::Sm)
                .map_err(|e| {
                    fail(format!(
                        "{e} (account key files are Ethereum JSON keystores or SM2 PEM keys; import another \
                         key's hex with `wefe key import`)"
                    ))
                });
        }
        Err(fail("neither an Ethereum JSON keystore nor an SM2 PEM key".into()))
    }

    /// The suite this key belongs to.
    pub fn suite(&self) -> CryptoSuite {
        match self {
            Self::Ecdsa(_) => CryptoSuite::Ecdsa,
            Self::Sm(_) => CryptoSuite::Sm,
        }
    }

    /// The account address of this key under its suite.
    pub fn address(&self) -> Address {
        match self {
            Self::Ecdsa(signer) => signer.address(),
            Self::Sm(key) => CryptoSuite::Sm.address_of(&key.public_key().to_xy()),
        }
    }

    /// Signs a 32-byte transaction hash in the suite's on-chain layout.
    pub fn sign_hash(&self, hash: &[u8; 32]) -> Result<Vec<u8>> {
        match self {
            Self::Ecdsa(signer) => {
                let signature = signer
                    .sign_hash_sync(&hash.into())
                    .map_err(|e| ChainError::Signature(format!("ECDSA signing failed: {e}")))?;
                Ok(signature.as_bytes().to_vec())
            }
            Self::Sm(key) => {
                let rs = key.sign(hash).map_err(|e| ChainError::Signature(format!("SM2 signing failed: {e}")))?;
                let mut out = Vec::with_capacity(128);
                out.extend_from_slice(&rs);
                out.extend_from_slice(&key.public_key().to_xy());
                Ok(out)
            }
        }
    }
}

impl CryptoSuite {
    /// The suite's 256-bit hash.
    pub fn hash(self, data: &[u8]) -> [u8; 32] {
        match self {
            Self::Ecdsa => keccak256(data).0,
            Self::Sm => sm::sm3(data),
        }
    }

    /// The function selector of a canonical signature such as `set(string)`.
    pub fn selector(self, signature: &str) -> [u8; 4] {
        let hash = self.hash(signature.as_bytes());
        [hash[0], hash[1], hash[2], hash[3]]
    }

    /// The topic 0 of an event with this canonical signature.
    pub fn event_topic(self, signature: &str) -> [u8; 32] {
        self.hash(signature.as_bytes())
    }

    /// The account address of an uncompressed public key `x ‖ y`.
    pub fn address_of(self, public_xy: &[u8; 64]) -> Address {
        let hash = self.hash(public_xy);
        Address::from_slice(&hash[12..])
    }

    /// Checks a transaction signature made by [`SuiteKey::sign_hash`] and
    /// returns the signer's address.
    pub fn recover(self, hash: &[u8; 32], signature: &[u8]) -> Result<Address> {
        match self {
            Self::Ecdsa => {
                let signature = alloy::primitives::Signature::try_from(signature)
                    .map_err(|e| ChainError::Signature(format!("not an ECDSA signature r || s || v: {e}")))?;
                signature
                    .recover_address_from_prehash(&hash.into())
                    .map_err(|e| ChainError::Signature(format!("ECDSA signature does not recover: {e}")))
            }
            Self::Sm => {
                if signature.len() != 128 {
                    return Err(ChainError::Signature(format!(
                        "an SM2 transaction signature is r || s || x || y (128 bytes), got {}",
                        signature.len()
                    )));
                }
                let public = Sm2PublicKey::from_xy(&signature[64..])
                    .map_err(|e| ChainError::Signature(format!("SM2 signature's public key: {e}")))?;
                public
                    .verify(hash, &signature[..64])
                    .map_err(|e| ChainError::Signature(format!("SM2 transaction signature: {e}")))?;
                Ok(self.address_of(&public.to_xy()))
            }
        }
    }
}

impl std::fmt::Display for CryptoSuite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Ecdsa => "ecdsa (secp256k1 + keccak-256)",
            Self::Sm => "sm (SM2 + SM3)",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h32(s: &str) -> [u8; 32] {
        alloy::hex::decode(s).unwrap().try_into().unwrap()
    }

    /// FISCO-BCOS java-sdk, `src/integration-test/.../contract/solidity/HelloWorld.java`:
    /// its ABI lists each selector as [Keccak, SM3]: get = [0x6d4ce63c, 0x299f7f9d],
    /// set(string) = [0x4ed3885e, 0x3590b49f].
    #[test]
    fn selectors_match_fisco_bcos() {
        assert_eq!(alloy::hex::encode(CryptoSuite::Sm.selector("get()")), "299f7f9d");
        assert_eq!(alloy::hex::encode(CryptoSuite::Sm.selector("set(string)")), "3590b49f");
        assert_eq!(alloy::hex::encode(CryptoSuite::Ecdsa.selector("get()")), "6d4ce63c");
        assert_eq!(alloy::hex::encode(CryptoSuite::Ecdsa.selector("set(string)")), "4ed3885e");
        // The ECDSA suite agrees with alloy's generated bindings.
        use alloy::sol_types::{SolCall, SolEvent};
        assert_eq!(
            CryptoSuite::Ecdsa.selector("request(bytes32)"),
            crate::bindings::CertificateRegistry::requestCall::SELECTOR
        );
        assert_eq!(
            CryptoSuite::Ecdsa.event_topic("CertificateRequested(uint256,address,bytes32)"),
            crate::bindings::CertificateRegistry::CertificateRequested::SIGNATURE_HASH.0
        );
    }

    /// FISCO-BCOS java-sdk `src/test/java/.../crypto/KeyToolTest.java`
    /// (`testSMLoadPEMFile`, `testLoadSMP12File`): SM2 private keys, their
    /// public keys and FISCO addresses.
    #[test]
    fn sm_addresses_match_fisco_bcos() {
        for (secret, public, address) in [
            (
                "901744c34e2adffc9fd7fb12e8cba2d88a79aaf54be9b4e11660153287489f13",
                "3b72cd28244c856d3d89b67d1c5ff22e1f26835bafcd63e9a4ad3424a2a57f2b759149f46c696df08b9d9473686675fc6dade744d0c82bdc5598d759e015fd96",
                "0x40b3558746e8f9a47a474774e8c4a9e67d4e3174",
            ),
            (
                "d0cbcdfea24e206688ce6c1a63171a24d9e1e0cf5331151ed5406e07fdb38256",
                "a809a0176dc24432490697b6ed74995a6716a122a0fa5c73429a259cd73f14995934522288f226a049bbbb803d78f296289bee8fb4f5d7821514e731a57c9f2f",
                "0x6f68461309925093236df82b51df630a55d32377",
            ),
        ] {
            let key = Sm2KeyPair::from_bytes(&h32(secret)).unwrap();
            assert_eq!(alloy::hex::encode(key.public_key().to_xy()), public);
            let suite_key = SuiteKey::Sm(key);
            assert_eq!(suite_key.address(), address.parse::<Address>().unwrap());
        }
    }

    /// Account key files: a JSON keystore is a secp256k1 key, a PEM an SM2
    /// key (encrypted or not); the password is asked only when needed, a file
    /// others can read is refused first, and no error shows the key.
    #[test]
    fn account_keys_load_from_hex_and_files_of_either_suite() {
        let secret = "901744c34e2adffc9fd7fb12e8cba2d88a79aaf54be9b4e11660153287489f13";
        let sm = SuiteKey::from_hex(secret, CryptoSuite::Sm).unwrap();
        assert_eq!(sm.address(), "0x40b3558746e8f9a47a474774e8c4a9e67d4e3174".parse::<Address>().unwrap());
        let ecdsa = SuiteKey::from_hex(&format!("0x{secret}"), CryptoSuite::Ecdsa).unwrap();
        assert_eq!(ecdsa.suite(), CryptoSuite::Ecdsa);
        for bad in [&secret[1..], "zz", &"0".repeat(64)] {
            for suite in [CryptoSuite::Sm, CryptoSuite::Ecdsa] {
                let e = SuiteKey::from_hex(bad, suite).unwrap_err().to_string();
                assert!(e.contains("private key") && !e.contains(&secret[1..]), "{e}");
            }
        }

        let dir = tempfile::tempdir().unwrap();
        let owner_only = |path: &std::path::Path| {
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
            }
        };
        let no_password = || -> std::result::Result<zeroize::Zeroizing<String>, String> { panic!("not encrypted") };
        let password = || Ok(zeroize::Zeroizing::new("pw".to_owned()));
        let wrong = || Ok(zeroize::Zeroizing::new("nope".to_owned()));

        let SuiteKey::Sm(pair) = &sm else { unreachable!() };
        let plain = dir.path().join("plain.pem");
        std::fs::write(&plain, pair.to_pkcs8_pem().unwrap().as_bytes()).unwrap();
        owner_only(&plain);
        assert_eq!(SuiteKey::read_file(&plain, no_password).unwrap().address(), sm.address());
        let encrypted = dir.path().join("encrypted.pem");
        std::fs::write(&encrypted, pair.to_encrypted_pem(b"pw").unwrap().as_bytes()).unwrap();
        owner_only(&encrypted);
        assert_eq!(SuiteKey::read_file(&encrypted, password).unwrap().address(), sm.address());
        let e = SuiteKey::read_file(&encrypted, wrong).unwrap_err().to_string();
        assert!(e.contains("wrong password"), "{e}");

        let SuiteKey::Ecdsa(signer) = &ecdsa else { unreachable!() };
        PrivateKeySigner::encrypt_keystore(
            dir.path(),
            &mut rand::thread_rng(),
            signer.to_bytes(),
            b"pw",
            Some("keystore.json"),
        )
        .unwrap();
        let keystore = dir.path().join("keystore.json");
        owner_only(&keystore);
        let read = SuiteKey::read_file(&keystore, password).unwrap();
        assert_eq!((read.suite(), read.address()), (CryptoSuite::Ecdsa, signer.address()));
        let e = SuiteKey::read_file(&keystore, wrong).unwrap_err().to_string();
        assert!(e.contains("wrong password"), "{e}");

        let junk = dir.path().join("junk.txt");
        std::fs::write(&junk, "hello").unwrap();
        owner_only(&junk);
        let e = SuiteKey::read_file(&junk, no_password).unwrap_err().to_string();
        assert!(e.contains("neither an Ethereum JSON keystore nor an SM2 PEM key"), "{e}");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&plain, std::fs::Permissions::from_mode(0o644)).unwrap();
            let e = SuiteKey::read_file(&plain, no_password).unwrap_err().to_string();
            assert!(e.contains("chmod 600"), "{e}");
        }
    }

    #[test]
    fn ecdsa_addresses_match_alloy() {
        let signer: PrivateKeySigner = crate::anvil::DEV_KEYS[0].parse().unwrap();
        let point = signer.credential().verifying_key().to_encoded_point(false);
        let xy: [u8; 64] = point.as_bytes()[1..].try_into().unwrap();
        assert_eq!(CryptoSuite::Ecdsa.address_of(&xy), signer.address());
    }

    #[test]
    fn transaction_signatures_round_trip_in_both_suites() {
        let hash = CryptoSuite::Sm.hash(b"a transaction");
        let keys = [
            SuiteKey::Ecdsa(crate::anvil::DEV_KEYS[1].parse().unwrap()),
            SuiteKey::Sm(Sm2KeyPair::generate().unwrap()),
        ];
        for key in keys {
            let suite = key.suite();
            let signature = key.sign_hash(&hash).unwrap();
            assert_eq!(signature.len(), if suite == CryptoSuite::Sm { 128 } else { 65 });
            assert_eq!(suite.recover(&hash, &signature).unwrap(), key.address());
            let mut other = hash;
            other[0] ^= 1;
            assert_ne!(suite.recover(&other, &signature).ok(), Some(key.address()));
            let shown = format!("{key:?}");
            assert!(!shown.contains(&crate::anvil::DEV_KEYS[1][2..]), "{shown}");
            if let SuiteKey::Sm(sm) = &key {
                assert!(!shown.contains(&alloy::hex::encode(sm.secret_bytes().as_ref())), "{shown}");
            }
        }
        assert!(CryptoSuite::Sm.recover(&hash, &[0; 64]).is_err());
    }
}
