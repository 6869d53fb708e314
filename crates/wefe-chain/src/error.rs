use alloy::primitives::B256;

/// Everything that can go wrong talking to the chain.
#[derive(Debug, thiserror::Error)]
pub enum ChainError {
    /// A contract refused the call; `message` is the decoded custom error.
    #[error("{message}")]
    Reverted {
        /// The contract whose error matched the revert data, if any.
        contract: Option<String>,
        /// The custom error's name, e.g. `NotActiveMember`.
        error: Option<String>,
        /// A one-line, human-readable explanation.
        message: String,
    },
    /// The node at `url` serves another chain than the configuration names.
    #[error("chain id mismatch: the configuration says {expected}, the node at {url} reports {actual}")]
    ChainIdMismatch {
        /// Chain id from the configuration.
        expected: u64,
        /// Chain id reported by the node.
        actual: u64,
        /// The RPC endpoint.
        url: String,
    },
    /// No receipt arrived in time.
    #[error("transaction {tx_hash} sent, but no receipt after {waited:.1?} (it may still be mined)")]
    ReceiptTimeout {
        /// Hash of the sent transaction.
        tx_hash: B256,
        /// How long we waited.
        waited: std::time::Duration,
    },
    /// The transaction was sent but its receipt could not be read.
    #[error("transaction {tx_hash} sent, but reading its receipt from {url} failed: {message}")]
    ReceiptUnavailable {
        /// Hash of the sent transaction.
        tx_hash: B256,
        /// The RPC endpoint.
        url: String,
        /// What went wrong.
        message: String,
    },
    /// The transaction was mined but reverted.
    #[error("transaction {tx_hash} reverted in block {block}")]
    TxReverted {
        /// Hash of the transaction.
        tx_hash: B256,
        /// Block it was mined in.
        block: u64,
    },
    /// A call needed a signing key and none was configured.
    #[error("this action sends a transaction: configure a key (--keystore FILE or WEFE_PRIVATE_KEY)")]
    NoSigner,
    /// The RPC endpoint failed or answered something unusable.
    #[error("RPC error from {url}: {message}")]
    Rpc {
        /// The RPC endpoint.
        url: String,
        /// What went wrong.
        message: String,
    },
    /// Return data or a log did not decode as the ABI says.
    #[error("cannot decode {what}: {message}")]
    Decode {
        /// What was being decoded.
        what: String,
        /// The decoder's complaint.
        message: String,
    },
    /// The configuration is unusable.
    #[error("chain configuration {path}: {message}")]
    Config {
        /// The file (or `environment`).
        path: String,
        /// What is wrong.
        message: String,
    },
    /// Spawning or talking to a local process (anvil) failed.
    #[error("{0}")]
    Process(String),
    /// A transaction signature could not be made or checked.
    #[error("transaction signature: {0}")]
    Signature(String),
}

/// Result with [`ChainError`].
pub type Result<T, E = ChainError> = std::result::Result<T, E>;
