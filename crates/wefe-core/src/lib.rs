//! wefe-core: the vocabulary every other wefe crate shares — identifiers and
//! their text forms, with validation of anything a user or a peer can send;
//! the job kinds and their typed params ([`job`]), checked the same way by
//! the CLI before it signs and by the node before it runs; the one
//! [`Progress`] type of every job — and the [`Transport`] trait through
//! which protocol code talks to peers.
//!
//! This crate depends on no chain, network or database library: protocol and
//! learning code build on it alone.

mod ids;
pub mod job;
mod progress;
pub mod transport;
pub mod wire;

pub use ids::{DatasetId, DatasetRef, IdError};
pub use progress::Progress;
#[cfg(any(test, feature = "memory"))]
pub use transport::memory::{MemoryNetwork, MemoryTransport};
pub use transport::{PeerId, Transport, TransportError};
