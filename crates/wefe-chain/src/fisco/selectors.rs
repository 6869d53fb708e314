//! Translating between the Keccak world the rest of wefe speaks (the `sol!`
//! bindings, [`crate::abi`]'s decoders, the audit) and an SM chain, where every
//! function selector, event topic and error selector is the SM3 of the same
//! signature. A backend for an SM chain rewrites the selector of the call data
//! it sends ([`SuiteMap::call_to_chain`]), the topic 0 of the logs it reads
//! and asks for ([`SuiteMap::topic_from_chain`], [`SuiteMap::topic_to_chain`])
//! and the selector of revert data ([`SuiteMap::revert_from_chain`]), so that
//! everything above it stays as it is. The table is built from the four
//! contracts' ABIs plus `Error(string)` and `Panic(uint256)`; what it does not
//! know passes unchanged (and then fails to decode, as it would anyway).

use std::collections::HashMap;
use std::sync::OnceLock;

use alloy::json_abi::ContractObject;
use alloy::primitives::B256;

use crate::bindings::ARTIFACTS;
use crate::suite::CryptoSuite;

/// Keccak ↔ SM3 selectors and topics of the contracts.
#[derive(Debug, Default)]
pub struct SuiteMap {
    to_sm: HashMap<[u8; 4], [u8; 4]>,
    from_sm: HashMap<[u8; 4], [u8; 4]>,
    topics_to_sm: HashMap<B256, B256>,
    topics_from_sm: HashMap<B256, B256>,
}

fn selectors(signature: &str) -> ([u8; 4], [u8; 4]) {
    (CryptoSuite::Ecdsa.selector(signature), CryptoSuite::Sm.selector(signature))
}

impl SuiteMap {
    /// The table for wefe's contracts (built once).
    pub fn contracts() -> &'static SuiteMap {
        static MAP: OnceLock<SuiteMap> = OnceLock::new();
        MAP.get_or_init(|| {
            let mut map = SuiteMap::default();
            let mut add = |signature: String| {
                let (keccak, sm) = selectors(&signature);
                map.to_sm.insert(keccak, sm);
                map.from_sm.insert(sm, keccak);
            };
            add("Error(string)".into());
            add("Panic(uint256)".into());
            let mut topics = Vec::new();
            for (_, json) in ARTIFACTS {
                let object: ContractObject = serde_json::from_str(json).expect("committed ABI artifact is valid JSON");
                let abi = object.abi.expect("committed ABI artifact has an abi field");
                abi.functions().for_each(|f| add(f.signature()));
                abi.errors().for_each(|e| add(e.signature()));
                topics.extend(abi.events().map(|e| e.signature()));
            }
            for signature in topics {
                let keccak = B256::from(CryptoSuite::Ecdsa.event_topic(&signature));
                let sm = B256::from(CryptoSuite::Sm.event_topic(&signature));
                map.topics_to_sm.insert(keccak, sm);
                map.topics_from_sm.insert(sm, keccak);
            }
            map
        })
    }

    fn swap(table: &HashMap<[u8; 4], [u8; 4]>, data: &mut [u8]) {
        if let Some(head) = data.get(..4)
            && let Some(other) = table.get(&<[u8; 4]>::try_from(head).expect("4 bytes"))
        {
            data[..4].copy_from_slice(other);
        }
    }

    /// Call data as the SM chain dispatches it (Keccak selector → SM3 selector).
    pub fn call_to_chain(&self, data: &mut [u8]) {
        Self::swap(&self.to_sm, data);
    }

    /// Revert data as [`crate::abi::decode_revert`] reads it (SM3 selector → Keccak selector).
    pub fn revert_from_chain(&self, data: &mut [u8]) {
        Self::swap(&self.from_sm, data);
    }

    /// An event topic 0 as the SM chain writes it.
    pub fn topic_to_chain(&self, topic: B256) -> B256 {
        self.topics_to_sm.get(&topic).copied().unwrap_or(topic)
    }

    /// A topic 0 read from the SM chain, as the decoders know it.
    pub fn topic_from_chain(&self, topic: B256) -> B256 {
        self.topics_from_sm.get(&topic).copied().unwrap_or(topic)
    }

    /// Function, error and event signatures known.
    pub fn len(&self) -> usize {
        self.to_sm.len() + self.topics_to_sm.len()
    }

    /// Whether it knows nothing (never, for wefe's contracts).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use alloy::sol_types::{SolCall, SolEvent};

    use super::*;
    use crate::bindings::{Consortium, JobRegistry};

    #[test]
    fn calls_reverts_and_topics_translate_both_ways() {
        let map = SuiteMap::contracts();
        assert!(map.len() > 100, "{} signatures", map.len());
        // A call encoded by the sol! bindings dispatches on the SM build.
        let mut data = Consortium::memberCountCall {}.abi_encode();
        let args = data[4..].to_vec();
        map.call_to_chain(&mut data);
        assert_eq!(data[..4], CryptoSuite::Sm.selector("memberCount()"));
        assert_eq!(data[4..], args, "the arguments are untouched");
        // FISCO's published SM selectors of the standard errors come back as Keccak's.
        let mut revert = hex::decode("c703cb12").unwrap();
        map.revert_from_chain(&mut revert);
        assert_eq!(hex::encode(&revert), "08c379a0");
        let mut panic = hex::decode("b95aa35500").unwrap();
        map.revert_from_chain(&mut panic);
        assert_eq!(hex::encode(&panic), "4e487b7100");
        // Topics.
        let keccak = JobRegistry::JobApproved::SIGNATURE_HASH;
        let sm = map.topic_to_chain(keccak);
        assert_eq!(sm.0, CryptoSuite::Sm.event_topic(JobRegistry::JobApproved::SIGNATURE));
        assert_eq!(map.topic_from_chain(sm), keccak);
        // Unknown data passes unchanged; short data too.
        let mut unknown = vec![1, 2, 3, 4, 5];
        map.call_to_chain(&mut unknown);
        assert_eq!(unknown, [1, 2, 3, 4, 5]);
        let mut short = vec![1, 2];
        map.revert_from_chain(&mut short);
        assert_eq!(short, [1, 2]);
        assert_eq!(map.topic_from_chain(B256::ZERO), B256::ZERO);
    }

    #[test]
    fn no_two_signatures_collide_in_either_suite() {
        let map = SuiteMap::contracts();
        assert_eq!(map.to_sm.len(), map.from_sm.len(), "an SM3 selector collision would make translation ambiguous");
        assert_eq!(map.topics_to_sm.len(), map.topics_from_sm.len());
    }
}
