//! Cryptographic primitives of wefe.
//!
//! This crate owns the cryptographic building blocks that the protocol,
//! gateway and CLI crates compose:
//!
//! - [`paillier`]: additively homomorphic encryption (keys, encryption with
//!   precomputed randomness, CRT decryption, homomorphic operations,
//!   multi-exponentiation inner products, fixed-point encoding of signed
//!   floats and size-checked serialization);
//! - [`sm`]: SM2 signatures, encryption and ECDH, SM3 and its KDF, SM4-GCM;
//! - [`cert`]: the consortium's SM2/SM3 X.509 certificates (root CA, CSRs,
//!   issuing, checking a peer's certificate against a trusted root);
//! - [`commitment`]: what the chain records instead of a job's result or a
//!   failure's detail (HMAC-SHA-256 under a key only the holders know).
//!
//! It is a leaf crate: it must not import the chain, network, store or node
//! crates (nor `wefe-core`); protocols such as vertical logistic regression
//! live elsewhere and call into it. See the crate README for what is and is
//! not constant-time and the limits of secret zeroization.
//!
//! ```
//! use wefe_crypto::paillier::{FixedPoint, KeySize, Keypair};
//!
//! // 2048-bit keys by default; 1024 only with the explicit insecure size.
//! let keys = Keypair::generate(KeySize::insecure(1024))?;
//! let (pk, sk) = (keys.public(), keys.private());
//! let fp = FixedPoint::default();
//! let a = pk.encrypt(&fp.encode(pk, 1.5)?)?;
//! let b = pk.encrypt(&fp.encode(pk, -4.25)?)?;
//! let sum = pk.add(&a, &b);
//! assert_eq!(fp.decode(pk, &sk.decrypt(&sum)?)?, -2.75);
//! # Ok::<(), wefe_crypto::Error>(())
//! ```
#![forbid(unsafe_code)]

pub mod cert;
pub mod commitment;
pub mod keyfile;
pub mod paillier;
pub mod sm;

/// Errors of this crate.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The requested modulus size is below 2048 bits without the insecure flag,
    /// or otherwise unusable.
    #[error("unsupported Paillier modulus size of {bits} bits: {reason}")]
    KeySize { bits: u32, reason: &'static str },
    /// The operating system's random number generator failed.
    #[error("random number generator failed: {0}")]
    Random(String),
    /// A plaintext was negative or not below the modulus n.
    #[error("plaintext out of range: it must lie in [0, n)")]
    PlaintextOutOfRange,
    /// A ciphertext was zero or not below n².
    #[error("ciphertext out of range: it must lie in (0, n²)")]
    CiphertextOutOfRange,
    /// The two slices of an inner product or batch have different lengths.
    #[error("length mismatch: {left} ciphertexts but {right} scalars")]
    LengthMismatch { left: usize, right: usize },
    /// A float to encode was NaN or infinite.
    #[error("cannot encode a non-finite float ({0})")]
    NotFinite(f64),
    /// A float is too large in magnitude for the fixed-point encoding under this key.
    #[error("fixed-point overflow encoding {value}: |value·2^{frac_bits}| exceeds n/3")]
    EncodeOverflow { value: f64, frac_bits: u32 },
    /// A decrypted value lies in the middle band (n/3, n − n/3): the computation overflowed.
    #[error("fixed-point overflow on decode: the plaintext lies in the overflow band (n/3, 2n/3)")]
    DecodeOverflow,
    /// Serialized bytes did not decode to a valid key or ciphertext.
    #[error("malformed {what}: {reason}")]
    Malformed { what: &'static str, reason: &'static str },
    /// A row index of a histogram is not below the number of rows.
    #[error("row {row} out of range: the table has {rows} rows")]
    RowOutOfRange { row: usize, rows: usize },
    /// A bin index of a histogram is not below the number of bins.
    #[error("bin {bin} of row {row} out of range: there are {bins} bins")]
    BinOutOfRange { row: usize, bin: usize, bins: usize },
    /// Packed slots need more bits than the plaintext has (or zero-width slots).
    #[error("cannot pack {slots} slots of {slot_bits} bits: the plaintext room is {room} bits")]
    PackOverflow { slots: usize, slot_bits: u32, room: u32 },
    /// An OpenSSL big-number operation failed (allocation).
    #[error("OpenSSL big-number operation failed: {0}")]
    OpenSsl(String),
    /// A key failed a consistency check.
    #[error("invalid key: {0}")]
    InvalidKey(&'static str),
    /// A signature did not verify.
    #[error("signature does not verify")]
    BadSignature,
    /// A ciphertext failed its integrity check (wrong key, tampered or truncated).
    #[error("cannot decrypt the {0}: wrong key, or the data was altered")]
    Decrypt(&'static str),
    /// A key file could not be read or written.
    #[error("{0}")]
    KeyFile(String),
    /// A certificate, CSR or their encoding is unusable.
    #[error("{0}")]
    Certificate(String),
}

/// Result type of this crate.
pub type Result<T> = std::result::Result<T, Error>;

pub use paillier::{Ciphertext, FixedPoint, KeySize, Keypair, PrivateKey, PublicKey};
