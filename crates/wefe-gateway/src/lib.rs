//! wefe-gateway: the signed gRPC gateway through which consortium members'
//! nodes exchange protocol messages.
//!
//! It owns the wire format (`proto/wefe/gateway/v1/gateway.proto`), SM2
//! signing of every envelope ([`signing`]), the acceptance checks a receiving
//! gateway applies (active member, registered key, addressee, clock window,
//! replayed nonces, chunk and message sizes, reassembly), and
//! [`GatewayTransport`], the [`wefe_core::Transport`] that job runners use.
//!
//! It learns who the members are only through [`PeerDirectory`]; it must not
//! import the chain, store or node crates (the node implements the directory
//! from chain events and wires the pieces together).
//!
//! # Against a hostile member
//!
//! Members do not trust each other. What one member (with a valid key and
//! session) can and cannot do to another's gateway:
//!
//! - It cannot send into a job it takes no part in. A job is admitted with
//!   its participants ([`Gateway::job_transport`], called by the node when it
//!   starts the job); others' envelopes for it are refused with
//!   `PERMISSION_DENIED` before their signature is checked. Before the
//!   gateway knows a job, any member may queue a few messages for it
//!   (`unknown_job_*` in [`GatewayConfig`]: 16 messages and 4 MiB per sender
//!   and job, 4 such jobs per sender, kept 30 min), then gets
//!   `RESOURCE_EXHAUSTED`; admission drops what non-participants queued.
//! - It cannot send into a job that ended: [`Gateway::forget_job`] frees the
//!   job's queues and refuses its later messages (`PERMISSION_DENIED`).
//! - It cannot exhaust memory for others: every message, empty or not, counts
//!   against its sender's share (16 Ki messages, 1280 MiB) and the gateway's
//!   total (4 GiB); payload counts as it arrives, not as announced, so a
//!   message announcing 1 GiB and trickling holds only what arrived (and
//!   dies after `call_idle_timeout` without a chunk).
//! - It cannot fill the replay cache, the delivered-message log or the
//!   session table for others: each has a per-sender share.
//! - It cannot make the gateway verify signatures at will: handshakes are
//!   rate-limited per member and source address (a burst of 16, then one
//!   per 4 s), and all cheap checks (shape, membership, clock, replayed
//!   nonce, job admission, rate) run before signature and certificate checks.
//! - A peer that vanishes mid-job fails the job's `recv` after
//!   `recv_timeout` (10 min by default), not after the job timeout.
//!
//! What it still can do: fill its own shares (a participant can still slow
//! down a job it takes part in, or fail it by not answering); make the
//! gateway do the cheap checks and one signature verification per envelope
//! within its session and a job it takes part in; open connections and
//! calls up to the HTTP/2 limits (`max_concurrent_calls` per connection);
//! and observe sizes, timing and metadata on the wire, since there is no TLS
//! under gRPC yet (payloads are SM4-GCM encrypted).
#![forbid(unsafe_code)]

mod config;
mod dial;
mod directory;
mod error;
mod gateway;
mod inbox;
mod incoming;
mod ledger;
mod replay;
pub mod session;
pub mod signing;
mod throttle;
mod transport;

/// Messages and service stubs generated from `wefe.gateway.v1`.
#[allow(missing_docs, clippy::all, clippy::pedantic)]
pub mod proto {
    tonic::include_proto!("wefe.gateway.v1");
}

pub use config::{GatewayConfig, GatewayTls, MESSAGE_OVERHEAD_BYTES, MIB};
pub use dial::PeerNetworks;
pub use directory::{CertificateRecord, PeerDirectory, PeerInfo, StaticPeerDirectory};
pub use error::{GatewayError, Result};
pub use gateway::{Gateway, GatewayService, ProbeError};
pub use ledger::QueueStats;
pub use signing::{MemberKey, PublicKeyBytes};
pub use transport::GatewayTransport;
