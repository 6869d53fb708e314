//! The RSA-PSI client: blinds its ids for the server to sign, unblinds the
//! signatures and looks their tags up in the server's set.

use std::collections::HashSet;

use crypto_bigint::{BoxedUint, NonZero, RandomMod};
use getrandom::SysRng;
use rayon::prelude::*;
use rsa::hazmat::rsa_encrypt;
use rsa::traits::PublicKeyParts;
use zeroize::Zeroizing;

use super::{
    BlindRequest, ClientResult, MIN_FPR_LOG2_REVEAL_BOTH, RsaParams, RsaReveal, ServerHello, ServerSet,
    ServerSetEncoding, SignedReply, TAG_BYTES, bloom_max_bits, element_from_bytes, full_domain_hash, modulus_bytes,
    public_key_from_hello, signature_tag, to_fixed_bytes,
};
use crate::psi::{PsiOutput, dedupe, random_permutation};
use crate::{Error, Result};

/// The client before the [`ServerHello`].
pub struct Client {
    params: RsaParams,
    items: Vec<Vec<u8>>,
}

/// Shows the parameters and the number of ids, never the ids.
impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client").field("params", &self.params).field("items", &self.items.len()).finish()
    }
}

/// One blinded id: what is needed to unblind and check its signature.
struct Pending {
    item: Vec<u8>,
    hashed: BoxedUint,
    /// `r⁻¹ mod n`: with the blinded value it would reveal `FDH(x)`.
    unblinder: Zeroizing<BoxedUint>,
}

/// The client after its [`BlindRequest`], waiting for the [`SignedReply`].
pub struct AwaitingSignatures {
    params: RsaParams,
    key: rsa::PublicKey,
    /// In the order of the request.
    pending: Vec<Pending>,
}

impl std::fmt::Debug for AwaitingSignatures {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AwaitingSignatures").field("items", &self.pending.len()).finish_non_exhaustive()
    }
}

impl Client {
    /// Prepares a run over `items` (duplicates removed).
    pub fn new<I>(params: RsaParams, items: I) -> Result<Self>
    where
        I: IntoIterator,
        I::Item: AsRef<[u8]>,
    {
        let items = dedupe(items);
        params.check_set(&items)?;
        Ok(Self { params, items })
    }

    /// Checks the server's parameters and key, then blinds the (shuffled) ids.
    /// The number of ids (after removing duplicates).
    pub fn items(&self) -> usize {
        self.items.len()
    }

    /// Handles the server's hello: blinds the ids.
    pub fn on_hello(self, hello: ServerHello) -> Result<(BlindRequest, AwaitingSignatures)> {
        let Self { params, items } = self;
        if hello.reveal != params.reveal || hello.server_set != params.server_set {
            return Err(Error::ParamsMismatch(format!(
                "server uses reveal {:?} / {:?}, this party was started with {:?} / {:?}",
                hello.reveal, hello.server_set, params.reveal, params.server_set
            )));
        }
        // `params` passed this in `new`; the hello's set encoding equals it.
        params.check_server_set()?;
        let key = public_key_from_hello(&hello, &params)?;
        let n = key.n();
        let k = modulus_bytes(n);

        let mut slots: Vec<Option<Vec<u8>>> = items.into_iter().map(Some).collect();
        let items: Vec<Vec<u8>> = random_permutation(slots.len()).into_iter().filter_map(|i| slots[i].take()).collect();
        let factors = blinding_factors(n, items.len())?;
        let blinded: Vec<(Vec<u8>, Pending)> = items
            .into_par_iter()
            .zip(factors)
            .map(|(item, (r, unblinder))| {
                let hashed = full_domain_hash(n, &item)?;
                let blinding = Zeroizing::new(rsa_encrypt(&key, &r)?);
                let request = to_fixed_bytes(&hashed.mul_mod(&blinding, n), k);
                Ok((request, Pending { item, hashed, unblinder }))
            })
            .collect::<Result<_>>()?;
        let (blinded, pending): (Vec<_>, Vec<_>) = blinded.into_iter().unzip();
        Ok((BlindRequest { blinded }, AwaitingSignatures { params, key, pending }))
    }
}

/// Ids whose blinding factors share one modular inversion.
const INVERSION_BATCH: usize = 128;

/// `count` random blinding factors `r` in `Z_n^*` with their inverses,
/// inverted in batches by Montgomery's trick (prefix products, one
/// inversion, back-substitution: 3 multiplications per factor instead of one
/// inversion each). A batch whose product is not invertible (a factor shares
/// a prime with `n`, probability ~2^-1023) is drawn again.
fn blinding_factors(n: &NonZero<BoxedUint>, count: usize) -> Result<Vec<(Zeroizing<BoxedUint>, Zeroizing<BoxedUint>)>> {
    let batches: Vec<usize> = (0..count).step_by(INVERSION_BATCH).collect();
    let chunks = batches
        .into_par_iter()
        .map(|start| {
            let len = INVERSION_BATCH.min(count - start);
            loop {
                let rs = (0..len)
                    .map(|_| {
                        BoxedUint::try_random_mod_vartime(&mut SysRng, n)
                            .map(Zeroizing::new)
                            .map_err(|e| Error::Random(e.to_string()))
                    })
                    .collect::<Result<Vec<_>>>()?;
                // prefix[i] = r_0 · … · r_i mod n
                let mut prefix: Vec<Zeroizing<BoxedUint>> = Vec::with_capacity(len);
                for r in &rs {
                    let next = match prefix.last() {
                        None => (**r).clone(),
                        Some(p) => p.mul_mod(r, n),
                    };
                    prefix.push(Zeroizing::new(next));
                }
                let Some(last) = prefix.last() else { return Ok(Vec::new()) };
                let Some(mut running) = Option::<BoxedUint>::from(last.invert_mod(n)).map(Zeroizing::new) else {
                    continue;
                };
                // Walking back: running = (r_0 · … · r_i)^-1, so r_i^-1 = running · prefix[i-1].
                let mut inverses: Vec<Zeroizing<BoxedUint>> = vec![Zeroizing::new(BoxedUint::zero()); len];
                for i in (0..len).rev() {
                    inverses[i] =
                        Zeroizing::new(if i == 0 { (*running).clone() } else { running.mul_mod(&prefix[i - 1], n) });
                    running = Zeroizing::new(running.mul_mod(&rs[i], n));
                }
                return Ok(rs.into_iter().zip(inverses).collect::<Vec<_>>());
            }
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(chunks.into_iter().flatten().collect())
}

impl AwaitingSignatures {
    /// Bytes of one element on the wire (what [`SignedReply::decode`] needs).
    pub fn modulus_bytes(&self) -> usize {
        modulus_bytes(self.key.n())
    }

    /// Unblinds and checks every signature, then looks the tags up in the
    /// server's set. Returns the intersection and, if the server learns too,
    /// the [`ClientResult`] to send it.
    pub fn on_reply(self, reply: SignedReply) -> Result<(Option<ClientResult>, PsiOutput)> {
        let Self { params, key, pending } = self;
        if reply.signatures.len() != pending.len() {
            return Err(Error::Malformed {
                message: "RSA-PSI signed reply",
                reason: format!("{} signatures for {} requests", reply.signatures.len(), pending.len()),
            });
        }
        check_server_set(&reply.server_set, &params)?;
        let n = key.n();
        let k = modulus_bytes(n);
        let tags = reply
            .signatures
            .par_iter()
            .zip(&pending)
            .enumerate()
            .map(|(i, (bytes, p))| {
                let blind_signature = element_from_bytes("RSA-PSI signed reply", bytes, n, i)?;
                let signature = blind_signature.mul_mod(&p.unblinder, n);
                // s^e = FDH(x) proves the server signed what we sent, with the key it announced.
                if rsa_encrypt(&key, &signature)? != p.hashed {
                    return Err(Error::BadSignature(i));
                }
                Ok(signature_tag(&signature, k))
            })
            .collect::<Result<Vec<[u8; TAG_BYTES]>>>()?;

        let is_common: Vec<bool> = match &reply.server_set {
            ServerSet::HashList(list) => {
                let set: HashSet<&[u8; TAG_BYTES]> = list.iter().collect();
                tags.iter().map(|t| set.contains(t)).collect()
            }
            ServerSet::Bloom(filter) => tags.iter().map(|t| filter.contains(t)).collect(),
        };
        let mut common: Vec<Vec<u8>> =
            pending.iter().zip(&is_common).filter(|(_, c)| **c).map(|(p, _)| p.item.clone()).collect();
        common.sort();
        let result = (params.reveal == RsaReveal::Both).then(|| {
            let mut tags: Vec<[u8; TAG_BYTES]> =
                tags.iter().zip(&is_common).filter(|(_, c)| **c).map(|(t, _)| *t).collect();
            tags.sort_unstable();
            ClientResult { tags }
        });
        Ok((result, PsiOutput::Intersection(common)))
    }
}

/// Checks that the server's set is what was agreed in the hello and, for a
/// Bloom filter, that it cannot match far more often than 2^-`fpr_log2`:
/// the number of hash functions must be `fpr_log2` (at least
/// [`MIN_FPR_LOG2_REVEAL_BOTH`] with [`RsaReveal::Both`]), the size within
/// what `max_items` ids need, and no more bits set than an honest filter has
/// ([`crate::psi::bloom::BloomFilter::max_plausible_ones`]). With `Both` the
/// tags of false positives go to the server, which can test guessed ids
/// against them.
fn check_server_set(set: &ServerSet, params: &RsaParams) -> Result<()> {
    let malformed = |reason: String| Error::Malformed { message: "RSA-PSI signed reply", reason };
    let filter = match (set, params.server_set) {
        (ServerSet::HashList(_), ServerSetEncoding::HashList) => return Ok(()),
        (ServerSet::Bloom(filter), ServerSetEncoding::Bloom { fpr_log2 }) => {
            if filter.num_hashes() != fpr_log2 {
                return Err(malformed(format!(
                    "Bloom filter with {} hash functions, the hello announced fpr_log2 = {fpr_log2}",
                    filter.num_hashes()
                )));
            }
            if params.reveal == RsaReveal::Both && fpr_log2 < MIN_FPR_LOG2_REVEAL_BOTH {
                return Err(Error::InvalidParams(format!(
                    "Bloom filter fpr_log2 {fpr_log2} is below {MIN_FPR_LOG2_REVEAL_BOTH} with reveal Both"
                )));
            }
            filter
        }
        _ => return Err(malformed("the server's set is not in the encoding of the hello".into())),
    };
    let max_items = usize::try_from(params.max_items).unwrap_or(usize::MAX);
    let max_bits = bloom_max_bits(max_items, filter.num_hashes());
    if filter.num_bits() > max_bits {
        return Err(malformed(format!("Bloom filter of {} bits, more than {max_bits}", filter.num_bits())));
    }
    let limit = crate::psi::bloom::BloomFilter::max_plausible_ones(filter.num_bits(), filter.num_hashes());
    if filter.count_ones() > limit {
        return Err(malformed(format!(
            "Bloom filter has {} of {} bits set, more than an honest filter ({limit})",
            filter.count_ones(),
            filter.num_bits()
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every factor times its inverse is 1 mod n, across batch boundaries.
    #[test]
    fn batched_inverses_are_inverses() {
        let key = rsa::PrivateKey::new_unchecked(&mut SysRng, 512).unwrap();
        let n = key.n();
        for count in [0, 1, INVERSION_BATCH - 1, INVERSION_BATCH, 2 * INVERSION_BATCH + 3] {
            let factors = blinding_factors(n, count).unwrap();
            assert_eq!(factors.len(), count);
            for (r, inverse) in &factors {
                assert_eq!(r.mul_mod(inverse, n), BoxedUint::one_with_precision(n.as_ref().bits_precision()));
            }
        }
    }
}
