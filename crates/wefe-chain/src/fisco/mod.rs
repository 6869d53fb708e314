//! FISCO BCOS 3.x's own transaction format (not its optional Web3 endpoint):
//! [`tars`] is the binary encoding, [`tx`] the transaction, its field-wise
//! hash and its signature in either suite (secp256k1 with Keccak-256, or SM2
//! with SM3 on an SM chain), checked byte for byte against FISCO's SDK vectors;
//! [`selectors`] maps the contracts' Keccak selectors and topics to their SM3
//! counterparts, so a backend for an SM chain can serve the Keccak-based
//! bindings and decoders unchanged.

pub mod backend;
pub mod selectors;
pub mod tars;
pub mod tls;
pub mod tx;

pub use backend::{FiscoBackend, FiscoSettings};
pub use selectors::SuiteMap;
pub use tx::{Transaction, TransactionData};

#[cfg(test)]
mod tests {
    use alloy::json_abi::ContractObject;

    use crate::CryptoSuite;

    /// The SM build (`contracts/abi-sm`, made by `scripts/abi.sh` with the SM3
    /// compiler) dispatches on SM3 selectors and emits SM3 topics: every
    /// function's SM3 selector is pushed by its dispatcher and every event's
    /// SM3 topic by its emitter, and no Keccak selector or topic is left. This
    /// ties the compiler `scripts/setup.sh` derives to [`CryptoSuite::Sm`].
    #[test]
    fn the_sm_build_uses_sm3_selectors_and_topics_throughout() {
        let builds = [
            ("Consortium", include_str!("../../../../contracts/abi-sm/Consortium.json")),
            ("CertificateRegistry", include_str!("../../../../contracts/abi-sm/CertificateRegistry.json")),
            ("DataRegistry", include_str!("../../../../contracts/abi-sm/DataRegistry.json")),
            ("JobRegistry", include_str!("../../../../contracts/abi-sm/JobRegistry.json")),
        ];
        for (name, json) in builds {
            let object: ContractObject = serde_json::from_str(json).unwrap();
            let abi = object.abi.unwrap();
            let runtime = hex::encode(object.deployed_bytecode.unwrap());
            // A selector is pushed with its leading zero bytes dropped (PUSH1..PUSH4).
            let push = |selector: [u8; 4]| {
                let significant: Vec<u8> = selector.iter().copied().skip_while(|b| *b == 0).collect();
                format!("{:02x}{}", 0x5f + significant.len().max(1), hex::encode(&significant))
            };
            let mut checked = 0;
            for f in abi.functions() {
                let signature = f.signature();
                let sm = push(CryptoSuite::Sm.selector(&signature));
                let keccak = push(CryptoSuite::Ecdsa.selector(&signature));
                assert!(runtime.contains(&sm), "{name}: {signature} dispatches on its SM3 selector ({sm})");
                assert!(!runtime.contains(&keccak), "{name}: {signature}'s Keccak selector ({keccak}) is gone");
                checked += 1;
            }
            for e in abi.events() {
                let signature = e.signature();
                let sm = hex::encode(CryptoSuite::Sm.event_topic(&signature));
                let keccak = hex::encode(CryptoSuite::Ecdsa.event_topic(&signature));
                // Contracts emit the events they declare; interfaces' events may live elsewhere.
                if runtime.contains(&sm) {
                    checked += 1;
                }
                assert!(!runtime.contains(&keccak), "{name}: {signature}'s Keccak topic is gone");
            }
            assert!(checked > 10, "{name}: {checked} selectors and topics checked");
        }
    }
}
