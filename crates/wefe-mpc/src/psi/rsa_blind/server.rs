//! The RSA-PSI server (the signer): sends [`ServerHello`], signs the client's
//! [`BlindRequest`], sends its own set in the [`SignedReply`].

use std::collections::HashMap;

use crypto_bigint::BoxedUint;
use getrandom::SysRng;
use rayon::prelude::*;
use rsa::traits::PublicKeyParts;

use super::{
    BlindRequest, ClientResult, RsaParams, ServerHello, ServerSet, ServerSetEncoding, SignedReply, TAG_BYTES,
    element_from_bytes, full_domain_hash, modulus_bytes, signature_tag, to_fixed_bytes,
};
use crate::psi::bloom::BloomFilter;
use crate::psi::{Progress, PsiOutput, dedupe};
use crate::{Error, Result};

/// The server's RSA key. The private key is zeroized on drop by the `rsa`
/// crate (OpenSSL clears its copy with `BN_clear_free`) and never printed.
///
/// The private-key operation is OpenSSL's (`RSA_private_decrypt` without
/// padding: CRT with constant-time Montgomery exponentiation, base blinding
/// and a check of the result against the public key, recomputing without CRT
/// on a mismatch); the `rsa` crate holds the key for everything else.
#[derive(Clone)]
pub struct BlindSigner {
    pub(super) key: rsa::PrivateKey,
    signer: std::sync::Arc<openssl::rsa::Rsa<openssl::pkey::Private>>,
}

/// The `rsa` crate's two-prime key as an OpenSSL key (CRT parameters computed).
fn openssl_key(key: &rsa::PrivateKey) -> Result<openssl::rsa::Rsa<openssl::pkey::Private>> {
    use openssl::bn::{BigNum, BigNumContext};
    use rsa::traits::PrivateKeyParts;
    let failed = |e: openssl::error::ErrorStack| Error::InvalidParams(format!("OpenSSL RSA key: {e}"));
    let bn = |x: &BoxedUint| BigNum::from_slice(&x.to_be_bytes()).map_err(failed);
    let [p, q] = key.primes() else {
        return Err(Error::InvalidParams(format!("RSA keys need 2 primes, this one has {}", key.primes().len())));
    };
    let (n, e, d) = (bn(key.n().as_ref())?, bn(key.e())?, bn(key.d())?);
    let (p, q) = (bn(p.as_ref())?, bn(q.as_ref())?);
    let mut ctx = BigNumContext::new().map_err(failed)?;
    let one = BigNum::from_u32(1).map_err(failed)?;
    let crt = |prime: &BigNum, ctx: &mut BigNumContext| -> Result<BigNum> {
        let mut minus_one = BigNum::new().map_err(failed)?;
        minus_one.checked_sub(prime, &one).map_err(failed)?;
        let mut out = BigNum::new().map_err(failed)?;
        out.nnmod(&d, &minus_one, ctx).map_err(failed)?;
        Ok(out)
    };
    let (dmp1, dmq1) = (crt(&p, &mut ctx)?, crt(&q, &mut ctx)?);
    let mut iqmp = BigNum::new().map_err(failed)?;
    iqmp.mod_inverse(&q, &p, &mut ctx).map_err(failed)?;
    openssl::rsa::Rsa::from_private_components(n, e, d, p, q, dmp1, dmq1, iqmp).map_err(failed)
}

impl std::fmt::Debug for BlindSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlindSigner").field("bits", &self.bits()).finish_non_exhaustive()
    }
}

impl BlindSigner {
    /// Generates a key of `params.key_bits` bits (e = 65537), refusing sizes
    /// `params` does not allow.
    pub fn generate(params: &RsaParams) -> Result<Self> {
        params.check_key_bits(params.key_bits)?;
        let bits = params.key_bits as usize;
        let key = if params.key_bits >= super::MIN_KEY_BITS {
            rsa::PrivateKey::new(&mut SysRng, bits)?
        } else {
            rsa::PrivateKey::new_unchecked(&mut SysRng, bits)?
        };
        Ok(Self { signer: std::sync::Arc::new(openssl_key(&key)?), key })
    }

    /// Uses an existing key, refusing sizes `params` does not allow.
    pub fn from_key(key: rsa::PrivateKey, params: &RsaParams) -> Result<Self> {
        let signer = Self { signer: std::sync::Arc::new(openssl_key(&key)?), key };
        params.check_key_bits(signer.bits())?;
        Ok(signer)
    }

    /// Modulus size in bits.
    pub fn bits(&self) -> u32 {
        self.key.n().as_ref().bit_width()
    }

    /// RSASP1 on `count` full-domain hashes, as the server computes them; for
    /// measuring this machine's private-key operation rate (benchmarks).
    pub fn sign_hashes(&self, count: usize) -> Result<()> {
        for i in 0..count {
            self.sign(&super::full_domain_hash(self.key.n(), &(i as u64).to_be_bytes())?)?;
        }
        Ok(())
    }

    /// RSASP1: `m^d mod n` for `m < n` (OpenSSL, see the type's docs).
    fn sign(&self, m: &BoxedUint) -> Result<BoxedUint> {
        let n = self.key.n();
        let k = modulus_bytes(n);
        let input = to_fixed_bytes(m, k);
        let mut out = vec![0u8; self.signer.size() as usize];
        let len = self
            .signer
            .private_decrypt(&input, &mut out, openssl::rsa::Padding::NONE)
            .map_err(|e| Error::InvalidParams(format!("RSA private-key operation failed: {e}")))?;
        let signature = BoxedUint::from_be_slice(&out[..len], n.as_ref().bits_precision())
            .map_err(|_| Error::InvalidParams("RSA private-key operation returned a value above the modulus".into()))?;
        out.fill(0);
        Ok(signature)
    }

    /// [`sign`](Self::sign), for tests.
    #[cfg(test)]
    pub(super) fn sign_for_test(&self, m: &BoxedUint) -> Result<BoxedUint> {
        self.sign(m)
    }

    /// RSASP1 by the `rsa` crate (CRT with blinding and a fault check): the
    /// reference the OpenSSL path is tested against.
    #[cfg(test)]
    pub(super) fn sign_with_rsa_crate(&self, m: &BoxedUint) -> Result<BoxedUint> {
        Ok(rsa::hazmat::rsa_decrypt_and_check(&self.key, Some(&mut SysRng), m)?)
    }
}

/// The server after [`ServerHello`], waiting for the [`BlindRequest`].
pub struct AwaitingRequest {
    params: RsaParams,
    signer: BlindSigner,
    items: Vec<Vec<u8>>,
}

/// Shows the parameters, the key size and the number of ids, never the ids.
impl std::fmt::Debug for AwaitingRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AwaitingRequest")
            .field("params", &self.params)
            .field("signer", &self.signer)
            .field("items", &self.items.len())
            .finish()
    }
}

/// What the server does after its [`SignedReply`].
#[derive(Debug)]
pub enum ServerStep {
    /// Finished; the server learns nothing.
    Done(PsiOutput),
    /// The server learns the intersection from the client's [`ClientResult`].
    AwaitResult(AwaitingResult),
}

/// The server waiting for the [`ClientResult`].
pub struct AwaitingResult {
    by_tag: HashMap<[u8; TAG_BYTES], Vec<u8>>,
    /// How many ids the client asked to have signed: it cannot report more as common.
    requested: usize,
}

/// Shows the number of ids, never the ids or their tags.
impl std::fmt::Debug for AwaitingResult {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AwaitingResult").field("items", &self.by_tag.len()).field("requested", &self.requested).finish()
    }
}

/// The server role.
#[derive(Debug)]
pub struct Server;

impl Server {
    /// Starts a run over `items` (duplicates removed): the first message.
    pub fn start<I>(params: RsaParams, signer: BlindSigner, items: I) -> Result<(AwaitingRequest, ServerHello)>
    where
        I: IntoIterator,
        I::Item: AsRef<[u8]>,
    {
        let items = dedupe(items);
        params.check_set(&items)?;
        params.check_key_bits(signer.bits())?;
        let hello = ServerHello {
            reveal: params.reveal,
            server_set: params.server_set,
            n: signer.key.n_bytes().into_vec(),
            e: signer.key.e_bytes().into_vec(),
        };
        Ok((AwaitingRequest { params, signer, items }, hello))
    }
}

impl AwaitingRequest {
    /// Bytes of one element on the wire (what [`BlindRequest::decode`] needs).
    pub fn modulus_bytes(&self) -> usize {
        modulus_bytes(self.signer.key.n())
    }

    /// The server's number of ids (after removing duplicates).
    pub fn items(&self) -> usize {
        self.items.len()
    }

    /// Signs the client's blinded ids and the server's own ids, counting each in `progress`.
    pub fn on_request(self, request: BlindRequest, progress: &Progress) -> Result<(SignedReply, ServerStep)> {
        let Self { params, signer, items } = self;
        let n = signer.key.n();
        let k = modulus_bytes(n);
        let requested = request.blinded.len();

        let signatures = request
            .blinded
            .par_iter()
            .enumerate()
            .map(|(i, bytes)| {
                let blinded = element_from_bytes("RSA-PSI blind request", bytes, n, i)?;
                let signature = to_fixed_bytes(&signer.sign(&blinded)?, k);
                progress.advance(1);
                Ok(signature)
            })
            .collect::<Result<Vec<_>>>()?;

        let tags = items
            .par_iter()
            .map(|item| {
                let tag = signature_tag(&signer.sign(&full_domain_hash(n, item)?)?, k);
                progress.advance(1);
                Ok(tag)
            })
            .collect::<Result<Vec<[u8; TAG_BYTES]>>>()?;

        let server_set = match params.server_set {
            ServerSetEncoding::HashList => {
                let mut sorted = tags.clone();
                sorted.sort_unstable();
                ServerSet::HashList(sorted)
            }
            ServerSetEncoding::Bloom { fpr_log2 } => {
                let mut filter = BloomFilter::new(tags.len(), fpr_log2)?;
                tags.iter().for_each(|t| filter.insert(t));
                ServerSet::Bloom(filter)
            }
        };
        let step = match params.reveal {
            super::RsaReveal::Client => ServerStep::Done(PsiOutput::Nothing),
            super::RsaReveal::Both => {
                ServerStep::AwaitResult(AwaitingResult { by_tag: tags.into_iter().zip(items).collect(), requested })
            }
        };
        Ok((SignedReply { signatures, server_set }, step))
    }
}

impl AwaitingResult {
    /// The server's ids whose tags the client reported as common. Tags that
    /// match none of ours (Bloom false positives on the client's side, which
    /// may outnumber our set) are ignored; more tags than the client had
    /// signed (at most `max_items`, checked when decoding) are refused.
    pub fn on_result(self, result: ClientResult) -> Result<PsiOutput> {
        if result.tags.len() > self.requested {
            return Err(Error::Malformed {
                message: "RSA-PSI client result",
                reason: format!("{} tags for {} signed client ids", result.tags.len(), self.requested),
            });
        }
        let mut common: Vec<Vec<u8>> = result.tags.iter().filter_map(|t| self.by_tag.get(t).cloned()).collect();
        common.sort();
        common.dedup();
        Ok(PsiOutput::Intersection(common))
    }
}
