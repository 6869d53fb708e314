//! The responder of ECDH-PSI: handles [`Hello`], sends [`Reply`], may handle [`Finish`].

use super::{BlindingKey, EcdhParams, Finish, Hello, OutputKind, Reply, check_size, compare};
use crate::psi::{PsiOutput, dedupe, random_permutation};
use crate::{Error, Result};

super::debug_counts_only!(Responder);

/// The responder before the initiator's [`Hello`].
pub struct Responder {
    params: EcdhParams,
    key: BlindingKey,
    items: Vec<Vec<u8>>,
}

/// What the responder does after sending its [`Reply`].
#[derive(Debug)]
pub enum ResponderStep {
    /// Finished; the responder learns nothing more.
    Done(PsiOutput),
    /// The responder learns the result from the initiator's [`Finish`].
    AwaitFinish(AwaitingFinish),
}

/// The responder waiting for [`Finish`].
pub struct AwaitingFinish {
    output: OutputKind,
    /// In the order they were sent in [`Reply::blinded`].
    items: Vec<Vec<u8>>,
    /// The initiator's ids, double-blinded.
    initiators_double: Vec<[u8; 32]>,
}

/// Shows the numbers of ids, never the ids or their blinded values.
impl std::fmt::Debug for AwaitingFinish {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AwaitingFinish")
            .field("output", &self.output)
            .field("items", &self.items.len())
            .field("initiators_double", &self.initiators_double.len())
            .finish()
    }
}

impl Responder {
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

    /// Checks the initiator's parameters, double-blinds its ids and blinds ours.
    pub fn on_hello(self, hello: Hello) -> Result<(Reply, ResponderStep)> {
        let Self { params, key, items } = self;
        if hello.reveal != params.reveal || hello.output != params.output {
            return Err(Error::ParamsMismatch(format!(
                "initiator asks for reveal {:?} / output {:?}, this party was started with {:?} / {:?}",
                hello.reveal, hello.output, params.reveal, params.output
            )));
        }
        let initiators_double = key.reblind("ECDH-PSI hello", &hello.blinded)?;

        let mut slots: Vec<Option<Vec<u8>>> = items.into_iter().map(Some).collect();
        let items: Vec<Vec<u8>> = random_permutation(slots.len()).into_iter().filter_map(|i| slots[i].take()).collect();
        let blinded = key.blind_items(&items);

        let double_blinded = params.reveal.initiator_learns().then(|| match params.output {
            OutputKind::Intersection => initiators_double.clone(),
            OutputKind::Cardinality => {
                random_permutation(initiators_double.len()).into_iter().map(|i| initiators_double[i]).collect()
            }
        });
        let reply = Reply { blinded, double_blinded };
        let step = if params.reveal.responder_learns() {
            ResponderStep::AwaitFinish(AwaitingFinish { output: params.output, items, initiators_double })
        } else {
            ResponderStep::Done(PsiOutput::Nothing)
        };
        Ok((reply, step))
    }
}

impl AwaitingFinish {
    /// Compares our double-blinded ids with the initiator's.
    pub fn on_finish(self, finish: Finish) -> Result<PsiOutput> {
        if finish.double_blinded.len() != self.items.len() {
            return Err(Error::Malformed {
                message: "ECDH-PSI finish",
                reason: format!("{} double-blinded values for {} sent", finish.double_blinded.len(), self.items.len()),
            });
        }
        Ok(compare(self.output, &self.items, &finish.double_blinded, &self.initiators_double))
    }
}
