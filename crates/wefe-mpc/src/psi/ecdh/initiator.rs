//! The initiator of ECDH-PSI: sends [`Hello`], handles [`Reply`], may send [`Finish`].

use super::{BlindingKey, EcdhParams, Finish, Hello, OutputKind, Reply, check_size, compare};
use crate::psi::{PsiOutput, dedupe, random_permutation};
use crate::{Error, Result};

super::debug_counts_only!(Initiator, AwaitingReply);

/// The initiator before it has sent anything.
pub struct Initiator {
    params: EcdhParams,
    key: BlindingKey,
    items: Vec<Vec<u8>>,
}

/// The initiator after [`Hello`], waiting for the responder's [`Reply`].
pub struct AwaitingReply {
    params: EcdhParams,
    key: BlindingKey,
    /// In the order they were sent in [`Hello::blinded`].
    items: Vec<Vec<u8>>,
}

impl Initiator {
    /// Prepares a run over `items` (duplicates removed) with a fresh secret key.
    pub fn new<I>(params: EcdhParams, items: I) -> Result<Self>
    where
        I: IntoIterator,
        I::Item: AsRef<[u8]>,
    {
        let items = dedupe(items);
        check_size(&items, params.max_items)?;
        Ok(Self { params, key: BlindingKey::random()?, items })
    }

    /// Blinds the (shuffled) ids: the first message.
    pub fn start(self) -> Result<(AwaitingReply, Hello)> {
        let Self { params, key, items } = self;
        let mut items: Vec<Option<Vec<u8>>> = items.into_iter().map(Some).collect();
        let items: Vec<Vec<u8>> = random_permutation(items.len()).into_iter().filter_map(|i| items[i].take()).collect();
        let blinded = key.blind_items(&items);
        let hello = Hello { reveal: params.reveal, output: params.output, blinded };
        Ok((AwaitingReply { params, key, items }, hello))
    }
}

impl AwaitingReply {
    /// Handles the responder's reply: computes what this party learns and, if
    /// the responder learns too, the [`Finish`] to send it.
    pub fn on_reply(self, reply: Reply) -> Result<(Option<Finish>, PsiOutput)> {
        let Self { params, key, items } = self;
        let peers_double = key.reblind("ECDH-PSI reply", &reply.blinded)?;

        let output = match (params.reveal.initiator_learns(), reply.double_blinded) {
            (true, Some(own)) => {
                if own.len() != items.len() {
                    return Err(Error::Malformed {
                        message: "ECDH-PSI reply",
                        reason: format!("{} double-blinded values for {} sent", own.len(), items.len()),
                    });
                }
                compare(params.output, &items, &own, &peers_double)
            }
            (true, None) => {
                return Err(Error::Malformed {
                    message: "ECDH-PSI reply",
                    reason: "missing the initiator's double-blinded values".into(),
                });
            }
            (false, Some(_)) => {
                return Err(Error::Malformed {
                    message: "ECDH-PSI reply",
                    reason: "double-blinded values sent although the initiator learns nothing".into(),
                });
            }
            (false, None) => PsiOutput::Nothing,
        };

        let finish = params.reveal.responder_learns().then(|| {
            let double_blinded = match params.output {
                OutputKind::Intersection => peers_double,
                OutputKind::Cardinality => {
                    random_permutation(peers_double.len()).into_iter().map(|i| peers_double[i]).collect()
                }
            };
            Finish { double_blinded }
        });
        Ok((finish, output))
    }
}
