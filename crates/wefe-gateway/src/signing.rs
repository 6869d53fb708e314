//! SM2 signatures over envelopes, and member keys.
//!
//! # Canonical encoding
//!
//! An envelope's signature covers every field except `signature`, encoded as
//! below (integers big-endian, `len32(x)` = `x`'s length as u32 big-endian
//! followed by `x`):
//!
//! ```text
//! len32("wefe.gateway.v2.Envelope")   domain separation
//! version        u32
//! job_id         u64
//! len32(from)    20 bytes when valid
//! len32(to)      20 bytes when valid
//! len32(tag)     UTF-8 bytes
//! seq            u64
//! chunk          u32
//! last           u8 (0 or 1)
//! len32(nonce)   16 bytes when valid
//! len32(session) 16 bytes when valid
//! timestamp_ms   i64 (two's complement)
//! total_len      u64
//! payload_len    u64
//! payload        payload_len bytes
//! ```
//!
//! Every variable-length field carries its length, so no two different
//! envelopes share an encoding. The payload comes last so it is hashed in
//! place (the signer and verifier never copy it).
//!
//! The signature is SM2 (GM/T 0003.2-2012 §6, "digital signature generation
//! algorithm") with SM3 and the distinguishing identifier `1234567812345678`
//! (the default user id of GM/T 0009-2012 §10, also OpenSSL's default), i.e.
//! `e = SM3(Z_A || M)` with `M` the encoding above. It is sent as 64 bytes
//! `r || s`. The RustCrypto `sm2` crate computes `Z_A` and the signature; this
//! module only builds `M`.
//!
//! The payload is the SM4-GCM ciphertext of the chunk under the session's key
//! (see [`crate::session`]); the signature covers the ciphertext.

use getrandom::SysRng;
use sm2::dsa::signature::{MultipartVerifier, RandomizedMultipartSigner};
use sm2::dsa::{Signature, SigningKey, VerifyingKey};
use sm2::elliptic_curve::zeroize::Zeroizing;
use sm2::pkcs8::{DecodePrivateKey, EncodePrivateKey, LineEnding};

use crate::error::{GatewayError, Result};
use crate::proto::Envelope;

/// The SM2 distinguishing identifier (user id) of every gateway signature.
pub const DIST_ID: &str = "1234567812345678";

/// The wire format version this crate writes and accepts.
pub const WIRE_VERSION: u32 = 2;

/// Domain-separation prefix of the canonical encoding.
pub const SIGNING_DOMAIN: &[u8] = b"wefe.gateway.v2.Envelope";

/// Length of an SM2 signature on the wire (`r || s`).
pub const SIGNATURE_BYTES: usize = 64;

/// A member's SM2 public key as registered on chain (`Consortium.Member.publicKey`):
/// the affine coordinates `x || y`, 32 bytes each.
pub type PublicKeyBytes = [u8; 64];

/// The canonical encoding of `env` without its payload (which follows it; see the module docs).
pub fn signed_header(env: &Envelope) -> Vec<u8> {
    fn len32(out: &mut Vec<u8>, bytes: &[u8]) {
        // Fields longer than 4 GiB cannot exist in a decoded envelope (the
        // decoder's size limit is far lower); saturate rather than wrap anyway.
        out.extend_from_slice(&u32::try_from(bytes.len()).unwrap_or(u32::MAX).to_be_bytes());
        out.extend_from_slice(bytes);
    }
    let mut out = Vec::with_capacity(128 + env.tag.len());
    len32(&mut out, SIGNING_DOMAIN);
    out.extend_from_slice(&env.version.to_be_bytes());
    out.extend_from_slice(&env.job_id.to_be_bytes());
    len32(&mut out, &env.from);
    len32(&mut out, &env.to);
    len32(&mut out, env.tag.as_bytes());
    out.extend_from_slice(&env.seq.to_be_bytes());
    out.extend_from_slice(&env.chunk.to_be_bytes());
    out.push(u8::from(env.last));
    len32(&mut out, &env.nonce);
    len32(&mut out, &env.session);
    out.extend_from_slice(&env.timestamp_ms.to_be_bytes());
    out.extend_from_slice(&env.total_len.to_be_bytes());
    out.extend_from_slice(&(env.payload.len() as u64).to_be_bytes());
    out
}

/// A member's SM2 signing key (its gateway identity).
///
/// `Debug` shows only the public key; the secret scalar is zeroized on drop
/// by the `sm2` crate.
#[derive(Clone)]
pub struct MemberKey {
    signing: SigningKey,
    public: PublicKeyBytes,
}

impl std::fmt::Debug for MemberKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemberKey").field("public_key", &hex::encode(self.public)).finish_non_exhaustive()
    }
}

impl MemberKey {
    /// Reads a PKCS#8 PEM private key (`-----BEGIN PRIVATE KEY-----`), as
    /// written by `openssl genpkey -algorithm SM2`.
    pub fn from_pkcs8_pem(pem: &str) -> Result<Self> {
        let secret = sm2::SecretKey::from_pkcs8_pem(pem).map_err(|e| GatewayError::PrivateKey(e.to_string()))?;
        Self::from_secret(&secret)
    }

    /// Wraps a 32-byte big-endian secret scalar (in `[1, n-1]`).
    pub fn from_secret_bytes(bytes: &[u8; 32]) -> Result<Self> {
        let secret = sm2::SecretKey::from_slice(bytes)
            .map_err(|_| GatewayError::PrivateKey("scalar is zero or not below the group order".into()))?;
        Self::from_secret(&secret)
    }

    /// A fresh random key from the operating system's generator.
    pub fn generate() -> Result<Self> {
        loop {
            let mut bytes = Zeroizing::new([0u8; 32]);
            getrandom::fill(bytes.as_mut()).map_err(|e| GatewayError::PrivateKey(e.to_string()))?;
            // A random 256-bit string is out of range with probability ~2^-32.
            if let Ok(key) = Self::from_secret_bytes(&bytes) {
                return Ok(key);
            }
        }
    }

    fn from_secret(secret: &sm2::SecretKey) -> Result<Self> {
        let signing = SigningKey::new(DIST_ID, secret).map_err(|e| GatewayError::PrivateKey(e.to_string()))?;
        let sec1 = secret.public_key().to_sec1_bytes();
        let public: PublicKeyBytes = sec1
            .get(1..)
            .filter(|_| sec1.len() == 65 && sec1[0] == 0x04)
            .and_then(|xy| xy.try_into().ok())
            .ok_or_else(|| GatewayError::PrivateKey("public key is not an uncompressed point".into()))?;
        Ok(Self { signing, public })
    }

    /// Writes the key as PKCS#8 PEM (the format `from_pkcs8_pem` reads).
    pub fn to_pkcs8_pem(&self) -> Result<Zeroizing<String>> {
        let secret = sm2::SecretKey::from(self.signing.as_nonzero_scalar());
        secret.to_pkcs8_pem(LineEnding::LF).map_err(|e| GatewayError::PrivateKey(e.to_string()))
    }

    /// The public key `x || y` to register on chain.
    pub fn public_key(&self) -> PublicKeyBytes {
        self.public
    }

    /// Signs the concatenation of `parts`: 64 bytes `r || s`.
    pub fn sign_parts(&self, parts: &[&[u8]]) -> Result<Vec<u8>> {
        let signature: Signature = self
            .signing
            .try_multipart_sign_with_rng(&mut SysRng, parts)
            .map_err(|e| GatewayError::PrivateKey(format!("signing failed: {e}")))?;
        Ok(signature.to_vec())
    }

    /// Signs `env` (every field but `signature`) and stores the signature in it.
    pub fn sign(&self, env: &mut Envelope) -> Result<()> {
        let header = signed_header(env);
        // Randomized (hedged) signing: RFC 6979 nonce derivation mixed with OS randomness.
        let signature: Signature = self
            .signing
            .try_multipart_sign_with_rng(&mut SysRng, &[&header, &env.payload])
            .map_err(|e| GatewayError::PrivateKey(format!("signing failed: {e}")))?;
        env.signature = signature.to_vec();
        Ok(())
    }
}

/// An SM2 verifying key with this crate's distinguishing identifier, from `x || y`.
pub fn verifying_key(public: &PublicKeyBytes) -> Result<VerifyingKey> {
    let mut sec1 = [0u8; 65];
    sec1[0] = 0x04;
    sec1[1..].copy_from_slice(public);
    VerifyingKey::from_sec1_bytes(DIST_ID, &sec1)
        .map_err(|_| GatewayError::PublicKey("not a point on the SM2 curve".into()))
}

/// Whether `signature` is a valid signature by `key` over the concatenation of `parts`.
pub fn verify_parts(parts: &[&[u8]], signature: &[u8], key: &VerifyingKey) -> bool {
    Signature::from_slice(signature).is_ok_and(|signature| key.multipart_verify(parts, &signature).is_ok())
}

/// Whether `env.signature` is a valid signature by `key` over `env`.
pub fn verify(env: &Envelope, key: &VerifyingKey) -> bool {
    let Ok(signature) = Signature::from_slice(&env.signature) else {
        return false;
    };
    let header = signed_header(env);
    key.multipart_verify(&[&header, &env.payload], &signature).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use sm2::dsa::signature::Verifier;

    fn envelope() -> Envelope {
        Envelope {
            version: WIRE_VERSION,
            job_id: 7,
            from: vec![0xa1; 20],
            to: vec![0xb0; 20],
            tag: "psi/ecdh/m1".into(),
            seq: 3,
            chunk: 1,
            last: true,
            nonce: vec![0x5a; 16],
            timestamp_ms: 1_700_000_000_000,
            payload: bytes::Bytes::from_static(b"hello"),
            signature: Vec::new(),
            total_len: 1_048_581,
            session: vec![0x3c; 16],
        }
    }

    /// Verification vector from the RustCrypto `sm2` crate's tests
    /// (tests/sm2dsa.rs), made there with
    /// `openssl pkeyutl -sign -digest sm3 -pkeyopt distid:example@rustcrypto.org`:
    /// checks that `x || y` keys are read in the order OpenSSL writes them.
    #[test]
    fn verifies_an_openssl_made_signature_from_xy_key_bytes() {
        let xy = hex::decode(concat!(
            "08D77AE04C01CC4C1104360DD8AF6B6F7DF334283D7C1A6AFD5652407B87BEE5",
            "014E2A57C36C150D16324DC664E31E6432359609C4E79847A5B161C8C7364C8A"
        ))
        .unwrap();
        let sig = hex::decode(concat!(
            "d1dcccedd9fb785e0f67c16b7c52901625c0b69de9bca2144acc7be713cad2fc",
            "f7d1eae6e3a157b36c65f672f738ca8b46298bf149a6510072c431b49cd88b1c"
        ))
        .unwrap();
        let mut sec1 = vec![0x04];
        sec1.extend_from_slice(&xy);
        let key = VerifyingKey::from_sec1_bytes("example@rustcrypto.org", &sec1).unwrap();
        let sig = Signature::from_slice(&sig).unwrap();
        assert!(key.verify(b"testing", &sig).is_ok());
        assert!(key.verify(b"testinG", &sig).is_err());
    }

    #[test]
    fn header_layout_is_the_documented_one() {
        let env = envelope();
        let header = signed_header(&env);
        let mut expected = Vec::new();
        expected.extend_from_slice(&24u32.to_be_bytes());
        expected.extend_from_slice(b"wefe.gateway.v2.Envelope");
        expected.extend_from_slice(&2u32.to_be_bytes());
        expected.extend_from_slice(&7u64.to_be_bytes());
        expected.extend_from_slice(&20u32.to_be_bytes());
        expected.extend_from_slice(&[0xa1; 20]);
        expected.extend_from_slice(&20u32.to_be_bytes());
        expected.extend_from_slice(&[0xb0; 20]);
        expected.extend_from_slice(&11u32.to_be_bytes());
        expected.extend_from_slice(b"psi/ecdh/m1");
        expected.extend_from_slice(&3u64.to_be_bytes());
        expected.extend_from_slice(&1u32.to_be_bytes());
        expected.push(1);
        expected.extend_from_slice(&16u32.to_be_bytes());
        expected.extend_from_slice(&[0x5a; 16]);
        expected.extend_from_slice(&16u32.to_be_bytes());
        expected.extend_from_slice(&[0x3c; 16]);
        expected.extend_from_slice(&1_700_000_000_000i64.to_be_bytes());
        expected.extend_from_slice(&1_048_581u64.to_be_bytes());
        expected.extend_from_slice(&5u64.to_be_bytes());
        assert_eq!(header, expected);
    }

    #[test]
    fn signatures_cover_every_field() {
        let key = MemberKey::generate().unwrap();
        let vk = verifying_key(&key.public_key()).unwrap();
        let mut env = envelope();
        key.sign(&mut env).unwrap();
        assert_eq!(env.signature.len(), SIGNATURE_BYTES);
        assert!(verify(&env, &vk));

        type Change = Box<dyn Fn(&mut Envelope)>;
        let tampered: Vec<Change> = vec![
            Box::new(|e| e.version += 1),
            Box::new(|e| e.job_id += 1),
            Box::new(|e| e.from[0] ^= 1),
            Box::new(|e| e.to[19] ^= 1),
            Box::new(|e| e.tag.push('x')),
            Box::new(|e| e.seq += 1),
            Box::new(|e| e.chunk += 1),
            Box::new(|e| e.last = !e.last),
            Box::new(|e| e.nonce[0] ^= 1),
            Box::new(|e| e.session[15] ^= 1),
            Box::new(|e| e.timestamp_ms += 1),
            Box::new(|e| e.total_len += 1),
            Box::new(|e| e.payload = bytes::Bytes::from_static(b"hellp")),
            Box::new(|e| e.signature[10] ^= 1),
            Box::new(|e| e.signature.truncate(63)),
        ];
        for (i, change) in tampered.iter().enumerate() {
            let mut bad = env.clone();
            change(&mut bad);
            assert!(!verify(&bad, &vk), "change {i} went unnoticed");
        }
        let other = MemberKey::generate().unwrap();
        assert!(!verify(&env, &verifying_key(&other.public_key()).unwrap()));
    }

    #[test]
    fn keys_round_trip_through_pem_and_reject_bad_public_keys() {
        let key = MemberKey::generate().unwrap();
        let pem = key.to_pkcs8_pem().unwrap();
        assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----"));
        let back = MemberKey::from_pkcs8_pem(&pem).unwrap();
        assert_eq!(back.public_key(), key.public_key());
        assert!(!format!("{key:?}").contains(&pem[30..60]));
        assert!(MemberKey::from_pkcs8_pem("not a key").is_err());
        assert!(MemberKey::from_secret_bytes(&[0; 32]).is_err());
        assert!(verifying_key(&[0x11; 64]).is_err());
    }
}
