//! Integration tests of wefe-crypto's public API.

mod cert;
mod paillier;
