//! wefe-ml: the learning protocols of wefe and the metrics that judge them.
//!
//! This crate owns [`vertical_lr`] (the FATE/WeFe hetero logistic regression
//! between a label-holding guest and feature-holding hosts, with Paillier
//! encrypted residuals and masked gradients, and federated prediction in
//! [`vertical_lr::predict`]), its centralised reference
//! [`logistic::train_plain`], a party's model share and its file in [`model`],
//! the data checks in [`data`], [`metrics`] (AUC, KS, accuracy,
//! precision/recall/F1, log-loss) and the ROC / loss charts in [`report`].
//!
//! Numeric tables are [`ndarray`] arrays: a [`Features`] table is an
//! `Array2<f64>` (row-major), weights, gradients and scores are `Array1<f64>`.
//! Messages and model files keep plain `Vec<f64>` fields (their formats do
//! not depend on ndarray); conversion happens at that boundary. (ndarray's
//! `s!` macro expands to `#[allow(unsafe_code)]`, which this crate's
//! `forbid` rejects: slice with `slice_axis` instead.)
//!
//! Protocols are sans-IO state machines (one file per role) with small
//! `run_*` drivers over [`wefe_core::Transport`]. The crate must not import
//! the chain, network (gateway, tonic), store or node crates, nor an async
//! runtime: I/O belongs to the node's runners.
#![forbid(unsafe_code)]

pub mod binning;
pub mod data;
pub mod logistic;
pub mod metrics;
pub mod model;
pub mod report;
pub mod secureboost;
#[cfg(test)]
mod test_util;
pub mod vertical_lr;
mod wire;

pub use data::Features;

/// Why a training step, a metric or a message failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A feature value is NaN or infinite.
    #[error("{what}: value {value} at row {row}, column {column} is not finite")]
    NonFinite {
        /// Which table (e.g. "guest training features").
        what: &'static str,
        /// Row index (0-based).
        row: usize,
        /// Column index (0-based).
        column: usize,
        /// The offending value.
        value: f64,
    },
    /// A label is not 0 or 1.
    #[error("{what}: label {value} at row {row} is not 0 or 1")]
    BadLabel {
        /// Which label vector.
        what: &'static str,
        /// Row index (0-based).
        row: usize,
        /// The offending value.
        value: f64,
    },
    /// Shapes that must agree do not (rows of two parties, labels vs rows, ...).
    #[error("shape mismatch: {0}")]
    Shape(String),
    /// Local parameters that cannot be used.
    #[error("invalid parameters: {0}")]
    InvalidParams(String),
    /// A metric is undefined for this input (e.g. AUC with one class only).
    #[error("metric undefined: {0}")]
    Undefined(String),
    /// The parties were started with different parameters.
    #[error("parameters differ from the peer's: {0}")]
    ParamsMismatch(String),
    /// A peer's message does not parse or does not fit the protocol state.
    #[error("malformed {message} message: {reason}")]
    Malformed {
        /// Which message.
        message: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// A peer's message carries a version this code does not speak.
    #[error("{message} message has version {found}, expected {expected}")]
    Version {
        /// Which message.
        message: &'static str,
        /// Version byte received.
        found: u8,
        /// Version this code speaks.
        expected: u8,
    },
    /// A message arrived (or was requested) in the wrong protocol phase.
    #[error("unexpected {got} in phase {phase}")]
    UnexpectedMessage {
        /// The message.
        got: &'static str,
        /// The state machine's phase.
        phase: &'static str,
    },
    /// Paillier failure (key, ciphertext, fixed-point overflow).
    #[error("paillier: {0}")]
    Crypto(#[from] wefe_crypto::Error),
    /// The operating system's random number generator failed.
    #[error("random number generator failed: {0}")]
    Random(String),
    /// A peer's message, or the step it triggered, failed.
    #[error("from peer {peer}: {source}")]
    FromPeer {
        /// The peer (0x address).
        peer: String,
        /// What failed.
        source: Box<Error>,
    },
    /// Moving a message to or from a peer failed.
    #[error(transparent)]
    Transport(#[from] wefe_core::TransportError),
    /// Drawing a chart or encoding it as PNG failed.
    #[error("plot: {0}")]
    Plot(String),
}

/// Result of this crate's operations.
pub type Result<T> = std::result::Result<T, Error>;
