//! wefe-core: the vocabulary every other wefe crate shares — identifiers and
//! their text forms, with validation of anything a user or a peer can send.
//!
//! This crate depends on no chain, network or database library: protocol and
//! learning code build on it alone.

mod ids;

pub use ids::{DatasetId, IdError};
