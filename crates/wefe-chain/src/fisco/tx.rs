//! FISCO BCOS 3.x native transactions (`bcos-tars-protocol`'s
//! `Transaction.tars`): the [`TransactionData`] a sender fills in, its hash,
//! and the signed [`Transaction`] that `sendTransaction` takes as hex.
//!
//! The hash is not over the Tars bytes: it is the suite's hash (Keccak-256, or
//! SM3 on an SM chain) over the fields concatenated in order — `version` as a
//! big-endian `i32`, `chainID`, `groupID`, `blockLimit` as a big-endian `i64`,
//! `nonce`, `to`, `input`, `abi` as their raw bytes; from version 1 also
//! `value`, `gasPrice`, `gasLimit` (big-endian `i64`), `maxFeePerGas`,
//! `maxPriorityFeePerGas`; from version 2 also `extension`
//! (`impl/TarsHashable.h`). Strings are hashed exactly as sent, so `to` is
//! written the way the Java and C++ SDKs write it: `0x` and lowercase hex.
//!
//! The signature is over that hash: secp256k1 `r ‖ s ‖ v` with `v` the
//! recovery id 0 or 1 (not 27/28), or SM2 with identifier `1234567812345678`
//! (the hash signed as a message, e = SM3(Z ‖ hash)) as `r ‖ s ‖ x ‖ y`.
//!
//! The encoder writes what FISCO's own SDKs write: `version`, `chainID`,
//! `groupID`, `blockLimit`, `nonce` and `input` always, every other field only
//! when it is not its default. The tests check it byte for byte against the
//! go-sdk and java-sdk vectors.

use super::tars::{Reader, Value, Writer};
use crate::error::{ChainError, Result};
use crate::suite::{CryptoSuite, SuiteKey};
use alloy::primitives::Address;

/// What a transaction asks (`TransactionData`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TransactionData {
    /// 0 (the original fields), 1 (adds value and gas fields) or 2 (adds `extension`).
    pub version: i32,
    /// The chain's id, e.g. `chain0` (the node refuses another).
    pub chain_id: String,
    /// The group's id, e.g. `group0`.
    pub group_id: String,
    /// Last block that may include it: above the current block, at most 600 ahead.
    pub block_limit: i64,
    /// Random text, unique per sender within the block limit window.
    pub nonce: String,
    /// The contract called, `0x` + 40 lowercase hex; empty to deploy.
    pub to: String,
    /// The call data, or the creation code.
    pub input: Vec<u8>,
    /// The contract's ABI JSON for a deployment (optional).
    pub abi: String,
    /// Version ≥ 1: value transferred, `0x` hex (empty: none).
    pub value: String,
    /// Version ≥ 1: gas price, `0x` hex.
    pub gas_price: String,
    /// Version ≥ 1: gas limit.
    pub gas_limit: i64,
    /// Version ≥ 1: EIP-1559 max fee, `0x` hex.
    pub max_fee_per_gas: String,
    /// Version ≥ 1: EIP-1559 priority fee, `0x` hex.
    pub max_priority_fee_per_gas: String,
    /// Version ≥ 2: extension bytes.
    pub extension: Vec<u8>,
}

impl TransactionData {
    /// A version-0 call (or a deployment when `to` is `None`) with a fresh
    /// random nonce (two random `u64`s in decimal, as the C++ SDK makes them).
    pub fn new(chain_id: &str, group_id: &str, block_limit: i64, to: Option<Address>, input: Vec<u8>) -> Result<Self> {
        let mut random = [0u8; 16];
        getrandom::fill(&mut random).map_err(|e| ChainError::Signature(format!("no randomness for a nonce: {e}")))?;
        let (a, b) = random.split_at(8);
        let nonce = format!(
            "{}{}",
            u64::from_le_bytes(a.try_into().expect("8 bytes")),
            u64::from_le_bytes(b.try_into().expect("8 bytes"))
        );
        Ok(Self {
            chain_id: chain_id.to_owned(),
            group_id: group_id.to_owned(),
            block_limit,
            nonce,
            to: to.map(|a| format!("{a:#x}")).unwrap_or_default(),
            input,
            ..Self::default()
        })
    }

    /// The fields in Tars, without struct delimiters (the hashable `TransactionData`).
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        self.write(&mut w);
        w.finish()
    }

    fn write(&self, w: &mut Writer) {
        w.int(1, i64::from(self.version));
        w.string(2, self.chain_id.as_bytes());
        w.string(3, self.group_id.as_bytes());
        w.int(4, self.block_limit);
        w.string(5, self.nonce.as_bytes());
        if !self.to.is_empty() {
            w.string(6, self.to.as_bytes());
        }
        w.bytes(7, &self.input);
        let optional_strings = [
            (8, &self.abi),
            (9, &self.value),
            (10, &self.gas_price),
            (12, &self.max_fee_per_gas),
            (13, &self.max_priority_fee_per_gas),
        ];
        for (tag, text) in optional_strings.iter().take(3) {
            if !text.is_empty() {
                w.string(*tag, text.as_bytes());
            }
        }
        if self.gas_limit != 0 {
            w.int(11, self.gas_limit);
        }
        for (tag, text) in optional_strings.iter().skip(3) {
            if !text.is_empty() {
                w.string(*tag, text.as_bytes());
            }
        }
        if !self.extension.is_empty() {
            w.bytes(14, &self.extension);
        }
    }

    /// The transaction hash under `suite` (see the module docs).
    pub fn hash(&self, suite: CryptoSuite) -> [u8; 32] {
        let mut bytes = Vec::with_capacity(128 + self.input.len() + self.abi.len());
        bytes.extend_from_slice(&self.version.to_be_bytes());
        bytes.extend_from_slice(self.chain_id.as_bytes());
        bytes.extend_from_slice(self.group_id.as_bytes());
        bytes.extend_from_slice(&self.block_limit.to_be_bytes());
        bytes.extend_from_slice(self.nonce.as_bytes());
        bytes.extend_from_slice(self.to.as_bytes());
        bytes.extend_from_slice(&self.input);
        bytes.extend_from_slice(self.abi.as_bytes());
        if self.version >= 1 {
            bytes.extend_from_slice(self.value.as_bytes());
            bytes.extend_from_slice(self.gas_price.as_bytes());
            bytes.extend_from_slice(&self.gas_limit.to_be_bytes());
            bytes.extend_from_slice(self.max_fee_per_gas.as_bytes());
            bytes.extend_from_slice(self.max_priority_fee_per_gas.as_bytes());
        }
        if self.version >= 2 {
            bytes.extend_from_slice(&self.extension);
        }
        suite.hash(&bytes)
    }

    fn from_fields(fields: Vec<(u8, Value)>) -> Result<Self> {
        let mut data = Self::default();
        for (tag, value) in fields {
            let bad = |what: &str| ChainError::Decode {
                what: "transaction data".into(),
                message: format!("field {tag} should be {what}"),
            };
            match (tag, value) {
                (1, Value::Int(v)) => data.version = i32::try_from(v).map_err(|_| bad("a 32-bit version"))?,
                (4, Value::Int(v)) => data.block_limit = v,
                (11, Value::Int(v)) => data.gas_limit = v,
                (7, Value::Bytes(b)) => data.input = b,
                (14, Value::Bytes(b)) => data.extension = b,
                (2 | 3 | 5 | 6 | 8 | 9 | 10 | 12 | 13, Value::Bytes(b)) => {
                    let text = String::from_utf8(b).map_err(|_| bad("UTF-8 text"))?;
                    match tag {
                        2 => data.chain_id = text,
                        3 => data.group_id = text,
                        5 => data.nonce = text,
                        6 => data.to = text,
                        8 => data.abi = text,
                        9 => data.value = text,
                        10 => data.gas_price = text,
                        12 => data.max_fee_per_gas = text,
                        _ => data.max_priority_fee_per_gas = text,
                    }
                }
                (1 | 4 | 11, _) => return Err(bad("an integer")),
                (2..=14, _) => return Err(bad("text or bytes")),
                _ => {} // a field of a later version: ignored, as FISCO's own readers do
            }
        }
        Ok(data)
    }

    /// Decodes the Tars fields of a `TransactionData`.
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        Self::from_fields(Reader::new("transaction data", bytes).top_level()?)
    }

    /// Signs: the [`Transaction`] to send, with its hash and `key`'s signature in
    /// the layout of `key`'s suite.
    pub fn sign(self, key: &SuiteKey) -> Result<Transaction> {
        let hash = self.hash(key.suite());
        let mut signature = key.sign_hash(&hash)?;
        if key.suite() == CryptoSuite::Ecdsa {
            // alloy writes v as 27/28; FISCO wants the recovery id (0/1).
            if let Some(v) = signature.last_mut()
                && *v >= 27
            {
                *v -= 27;
            }
        }
        Ok(Transaction { data: self, data_hash: hash.to_vec(), signature, attribute: 0, import_time: 0 })
    }
}

/// A signed transaction (`Transaction`): what `sendTransaction` takes, as hex.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transaction {
    /// What it asks.
    pub data: TransactionData,
    /// The hash of `data` (see [`TransactionData::hash`]).
    pub data_hash: Vec<u8>,
    /// The sender's signature over `data_hash`.
    pub signature: Vec<u8>,
    /// Flags (1: EVM ABI codec); 0 by default.
    pub attribute: i32,
    /// Set by the node when it imports the transaction.
    pub import_time: i64,
}

impl Transaction {
    /// The Tars bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.structure(1, |w| self.data.write(w));
        if !self.data_hash.is_empty() {
            w.bytes(2, &self.data_hash);
        }
        if !self.signature.is_empty() {
            w.bytes(3, &self.signature);
        }
        if self.import_time != 0 {
            w.int(4, self.import_time);
        }
        if self.attribute != 0 {
            w.int(5, i64::from(self.attribute));
        }
        w.finish()
    }

    /// Decodes the Tars bytes of a transaction.
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        let mut tx = Self {
            data: TransactionData::default(),
            data_hash: Vec::new(),
            signature: Vec::new(),
            attribute: 0,
            import_time: 0,
        };
        let mut has_data = false;
        for (tag, value) in Reader::new("transaction", bytes).top_level()? {
            let bad = |what: &str| ChainError::Decode {
                what: "transaction".into(),
                message: format!("field {tag} should be {what}"),
            };
            match (tag, value) {
                (1, Value::Struct(fields)) => {
                    tx.data = TransactionData::from_fields(fields)?;
                    has_data = true;
                }
                (2, Value::Bytes(b)) => tx.data_hash = b,
                (3, Value::Bytes(b)) => tx.signature = b,
                (4, Value::Int(v)) => tx.import_time = v,
                (5, Value::Int(v)) => tx.attribute = i32::try_from(v).map_err(|_| bad("a 32-bit attribute"))?,
                (1, _) => return Err(bad("a struct")),
                (2 | 3, _) => return Err(bad("bytes")),
                (4 | 5, _) => return Err(bad("an integer")),
                _ => {}
            }
        }
        if !has_data {
            return Err(ChainError::Decode { what: "transaction".into(), message: "no data (field 1)".into() });
        }
        Ok(tx)
    }

    /// Checks the hash and the signature under `suite`; returns the sender.
    pub fn verify(&self, suite: CryptoSuite) -> Result<Address> {
        let hash = self.data.hash(suite);
        if self.data_hash != hash {
            return Err(ChainError::Signature(format!(
                "the transaction's hash {} is not the {suite} hash of its data {}",
                hex::encode(&self.data_hash),
                hex::encode(hash)
            )));
        }
        if suite == CryptoSuite::Ecdsa && self.signature.len() == 65 && self.signature[64] > 3 {
            return Err(ChainError::Signature(format!(
                "FISCO BCOS wants v as the recovery id 0-3, got {}",
                self.signature[64]
            )));
        }
        suite.recover(&hash, &self.signature)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // go-sdk v3/types/transaction_test.go (FISCO-BCOS/go-sdk): `set("hello,
    // world")` on HelloWorld, signed with secp256k1 (Keccak) and with SM2 (SM3).
    // go-sdk writes `to` without 0x; the hash covers the text as written.
    const SET_TX: &str = "1a1c2606636861696e30360667726f75703041020a56273136313235353631323839383636383633323732353836393034303732333238373635373533336628613663646334666564393662626638633963303133636331393230306233633862613935633933657d0000644ed3885e0000000000000000000000000000000000000000000000000000000000000020000000000000000000000000000000000000000000000000000000000000000c68656c6c6f2c20776f726c6400000000000000000000000000000000000000000b2d000020b1e82e9052f066250532968bf9ad3a05f19dba10291089a27cea931ddfc8e9b53d000041aa923c250f2e8b64f401766b9348b27234858ee7cceefedda8c72cefc94d4142723d0b2584e753629a69404b8bfb33748747ec6b5a286488f9bebce79b2ef27101";
    const SET_TX_SM: &str = "1a1c2606636861696e30360667726f7570304101f456273134323433393934373830323139353931303230323835343436343433333339333430333931356628633035323364626464393462613237653134623033333664373939343839333430636132346364667d0000644ed3885e0000000000000000000000000000000000000000000000000000000000000020000000000000000000000000000000000000000000000000000000000000000c68656c6c6f2c20776f726c6400000000000000000000000000000000000000000b2d000020db9d06a9258d4e8dbbe490a4f4c3f0bfa4fe8aa783ad77c2720c749410ee9bca3d0001008045e0d42a74157f03aaf9e7d2631df0c21e74ce72dbee2c3c047ac12e0435d24f8563b5b3b7b0a62bd0f95b297530a4e8d789bfb29762f5c47e789e6ffe366fa74c5a43dcbecdb28436cf138f5b74f8f4809415be473fa31e923e27a0e0eaebabe002537bbf5f787e87df7fa9acf7b13391ccf85618009ccb7413376641b19133";
    // java-sdk TransactionDecodeTest `txV0` (FISCO-BCOS/java-sdk): `to` with 0x.
    const JAVA_TX_V0: &str = "1a1c2606636861696e30360667726f7570304101fd562831343230303535313832363235373935303133363132373836353832393033393938343232343237662a3078303130326538623666633863646639363236666464633163336561386331653739623366636539347d0000644ed3885e0000000000000000000000000000000000000000000000000000000000000020000000000000000000000000000000000000000000000000000000000000000474657374000000000000000000000000000000000000000000000000000000000b2d00002082b0283ac2793fb68be2f2f79056251664093500a57313e3adad74d852cb32e53d000041cb1d9cc1e3b87ec4afa9ccf680ce11cad980056b63a58641dff78c84a6e7c6a41f3480b0cfa1a9a5107f4a0bf2ccffabeb1a550d66a1a754e9aba6b266cde7da00";

    // FISCO-BCOS bcos-sdk/tests/unittests/tx/TransactionTest.cpp `test_transaction_v1`:
    // a version-1 deployment (no `to`, gas limit 1, a 1062-byte input), secp256k1.
    const BCOS_SDK_DEPLOY_V1: &str = "1a10012606636861696e30360667726f7570304100855628313331343736363932313039343437323233313631323634333933363134333635383636353733317d00010426608060405234801561001057600080fd5b506040518060400160405280600d81526020017f48656c6c6f2c20576f726c6421000000000000000000000000000000000000008152506000908051906020019061005c929190610062565b50610107565b828054600181600116156101000203166002900490600052602060002090601f016020900481019282601f106100a357805160ff19168380011785556100d1565b828001600101855582156100d1579182015b828111156100d05782518255916020019190600101906100b5565b5b5090506100de91906100e2565b5090565b61010491905b808211156101005760008160009055506001016100e8565b5090565b90565b610310806101166000396000f3fe608060405234801561001057600080fd5b50600436106100365760003560e01c80634ed3885e1461003b5780636d4ce63c146100f6575b600080fd5b6100f46004803603602081101561005157600080fd5b810190808035906020019064010000000081111561006e57600080fd5b82018360208201111561008057600080fd5b803590602001918460018302840111640100000000831117156100a257600080fd5b91908080601f016020809104026020016040519081016040528093929190818152602001838380828437600081840152601f19601f820116905080830192505050505050509192919290505050610179565b005b6100fe610193565b6040518080602001828103825283818151815260200191508051906020019080838360005b8381101561013e578082015181840152602081019050610123565b50505050905090810190601f16801561016b5780820380516001836020036101000a031916815260200191505b509250505060405180910390f35b806000908051906020019061018f929190610235565b5050565b606060008054600181600116156101000203166002900480601f01602080910402602001604051908101604052809291908181526020018280546001816001161561010002031660029004801561022b5780601f106102005761010080835404028352916020019161022b565b820191906000526020600020905b81548152906001019060200180831161020e57829003601f168201915b5050505050905090565b828054600181600116156101000203166002900490600052602060002090601f016020900481019282601f1061027657805160ff19168380011785556102a4565b828001600101855582156102a4579182015b828111156102a3578251825591602001919060010190610288565b5b5090506102b191906102b5565b5090565b6102d791905b808211156102d35760008160009055506001016102bb565b5090565b9056fea2646970667358221220b5943f43c48cc93c6d71cdcf27aee5072566c88755ce9186e32ce83b24e8dc6c64736f6c634300060a0033b0010b2d000020f03b8fdfa96a9b2128a83c22ddc691e6f1d9e0589b7c34088675e33cb059dbb23d000041313563c18509553f1d83747c004f29ec67f1137bb1c3104e8551ecc4c057187609c58a9d0220f02971abcf3f9bc6ba44423de56cb435b20b1fcf5eee4587840b01";

    fn addr(hex_text: &str) -> Address {
        hex_text.parse().unwrap()
    }

    #[test]
    fn sdk_transactions_decode_hash_verify_and_re_encode_byte_for_byte() {
        for (vector, suite, hash, sender, nonce) in [
            (
                SET_TX,
                CryptoSuite::Ecdsa,
                "b1e82e9052f066250532968bf9ad3a05f19dba10291089a27cea931ddfc8e9b5",
                "0xfbb18d54e9ee57529cda8c7c52242efe879f064f",
                "161255612898668632725869040723287657533",
            ),
            (
                SET_TX_SM,
                CryptoSuite::Sm,
                "db9d06a9258d4e8dbbe490a4f4c3f0bfa4fe8aa783ad77c2720c749410ee9bca",
                "0x69a69e8cca296d8def216820cd76ded88a3f4215",
                "142439947802195910202854464433393403915",
            ),
            (
                JAVA_TX_V0,
                CryptoSuite::Ecdsa,
                "82b0283ac2793fb68be2f2f79056251664093500a57313e3adad74d852cb32e5",
                "0x6e6057d5d09257d38299fa36edc7d8e9e78cbe7d",
                "1420055182625795013612786582903998422427",
            ),
        ] {
            let bytes = hex::decode(vector).unwrap();
            let tx = Transaction::decode(&bytes).unwrap();
            assert_eq!((tx.data.chain_id.as_str(), tx.data.group_id.as_str()), ("chain0", "group0"));
            assert_eq!(tx.data.nonce, nonce);
            assert_eq!(hex::encode(tx.data.hash(suite)), hash, "{suite} hash");
            assert_eq!(hex::encode(&tx.data_hash), hash);
            assert_eq!(tx.verify(suite).unwrap(), addr(sender), "{suite} sender");
            assert_eq!(hex::encode(tx.encode()), vector, "re-encoded byte for byte");
            // The other suite's hash differs: a transaction is bound to its suite.
            let other = if suite == CryptoSuite::Sm { CryptoSuite::Ecdsa } else { CryptoSuite::Sm };
            assert!(tx.verify(other).unwrap_err().to_string().contains("is not the"));
        }
        let tx = Transaction::decode(&hex::decode(SET_TX).unwrap()).unwrap();
        assert_eq!((tx.data.block_limit, tx.data.to.as_str()), (522, "a6cdc4fed96bbf8c9c013cc19200b3c8ba95c93e"));
        assert_eq!(&tx.data.input[..4], [0x4e, 0xd3, 0x88, 0x5e]);
    }

    #[test]
    fn bcos_sdk_v1_deployment_round_trips() {
        let bytes = hex::decode(BCOS_SDK_DEPLOY_V1).unwrap();
        let tx = Transaction::decode(&bytes).unwrap();
        assert_eq!((tx.data.version, tx.data.block_limit, tx.data.gas_limit), (1, 133, 1));
        assert_eq!((tx.data.to.as_str(), tx.data.input.len()), ("", 1062));
        assert_eq!(
            hex::encode(tx.data.hash(CryptoSuite::Ecdsa)),
            "f03b8fdfa96a9b2128a83c22ddc691e6f1d9e0589b7c34088675e33cb059dbb2"
        );
        tx.verify(CryptoSuite::Ecdsa).unwrap();
        assert_eq!(hex::encode(tx.encode()), BCOS_SDK_DEPLOY_V1, "re-encoded byte for byte");
    }

    #[test]
    fn java_sdk_v1_hash() {
        // java-sdk TransactionDecodeTest `txV1`: version 1 with value and gas price "0x0".
        // set("tes\n")
        let mut input = hex::decode("4ed3885e").unwrap();
        input.extend_from_slice(&alloy::sol_types::SolValue::abi_encode_params(&("tes\n".to_owned(),)));
        let data = TransactionData {
            version: 1,
            chain_id: "chain0".into(),
            group_id: "group0".into(),
            block_limit: 507,
            nonce: "71dd0345b15747578d517fa6adb3094a".into(),
            to: "0x31ed5233b81c79d5adddeef991f531a9bbc2ad01".into(),
            input,
            value: "0x0".into(),
            gas_price: "0x0".into(),
            ..TransactionData::default()
        };
        assert_eq!(
            hex::encode(data.hash(CryptoSuite::Ecdsa)),
            "5bb1fa7f6b420cbc5d99f075edf4e2f340d003f76c35cc95d83ce3d6f790a482"
        );
        let round = TransactionData::decode(&data.encode()).unwrap();
        assert_eq!(round, data);
    }

    #[test]
    fn signed_transactions_verify_in_both_suites_with_fisco_layouts() {
        let keys = [
            SuiteKey::Ecdsa("0xbcec428d5205abe0f0cc8a734083908d9eb8563e31f943d760786edf42ad67dd".parse().unwrap()),
            SuiteKey::Sm(
                wefe_crypto::sm::Sm2KeyPair::from_bytes(
                    &hex::decode("ca508b2b49c1d2dc46cbd5a011686fdc19937dbc704afe6c547a862b3e2b6c69")
                        .unwrap()
                        .try_into()
                        .unwrap(),
                )
                .unwrap(),
            ),
        ];
        for key in keys {
            let data = TransactionData::new(
                "chain0",
                "group0",
                600,
                Some(addr("0x6849f21d1e455e9f0712b1e99fa4fcd23758e8f1")),
                vec![1, 2, 3],
            )
            .unwrap();
            assert!(data.nonce.len() >= 2 && data.nonce.bytes().all(|b| b.is_ascii_digit()));
            assert_eq!(data.to, "0x6849f21d1e455e9f0712b1e99fa4fcd23758e8f1");
            let tx = data.sign(&key).unwrap();
            match key.suite() {
                CryptoSuite::Ecdsa => {
                    assert!(tx.signature.len() == 65 && tx.signature[64] <= 1, "v is the recovery id")
                }
                CryptoSuite::Sm => assert_eq!(&tx.signature[64..], &key_xy(&key)),
            }
            let decoded = Transaction::decode(&tx.encode()).unwrap();
            assert_eq!(decoded, tx);
            assert_eq!(decoded.verify(key.suite()).unwrap(), key.address());
            // A changed field no longer matches its hash.
            let mut forged = decoded.clone();
            forged.data.block_limit += 1;
            assert!(forged.verify(key.suite()).is_err());
        }
        // Two transactions never share a nonce.
        let a = TransactionData::new("c", "g", 1, None, Vec::new()).unwrap();
        let b = TransactionData::new("c", "g", 1, None, Vec::new()).unwrap();
        assert_ne!(a.nonce, b.nonce);
        assert!(a.to.is_empty() && !hex::encode(a.encode()).contains("6628"), "a deployment has no `to`");
    }

    fn key_xy(key: &SuiteKey) -> Vec<u8> {
        match key {
            SuiteKey::Sm(k) => k.public_key().to_xy().to_vec(),
            SuiteKey::Ecdsa(_) => Vec::new(),
        }
    }

    #[test]
    fn bad_transactions_are_named() {
        assert!(Transaction::decode(&[]).unwrap_err().to_string().contains("no data"));
        // Field 1 as a string instead of a struct.
        assert!(
            Transaction::decode(&[0x16, 0x01, b'x']).unwrap_err().to_string().contains("field 1 should be a struct")
        );
        let mut tx = Transaction::decode(&hex::decode(SET_TX).unwrap()).unwrap();
        tx.signature[64] = 27;
        assert!(tx.verify(CryptoSuite::Ecdsa).unwrap_err().to_string().contains("recovery id"));
    }
}
