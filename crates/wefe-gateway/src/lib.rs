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
//! Not yet here: TLS, certificate checks (`CertificateRegistry`) and SM4
//! payload encryption; see the crate README.
#![forbid(unsafe_code)]

mod config;
mod directory;
mod error;
mod gateway;
mod inbox;
mod replay;
pub mod session;
pub mod signing;
mod transport;

/// Messages and service stubs generated from `wefe.gateway.v1`.
#[allow(missing_docs, clippy::all, clippy::pedantic)]
pub mod proto {
    tonic::include_proto!("wefe.gateway.v1");
}

pub use config::{GatewayConfig, MIB};
pub use directory::{CertificateRecord, PeerDirectory, PeerInfo, StaticPeerDirectory};
pub use error::{GatewayError, Result};
pub use gateway::{Gateway, GatewayService};
pub use signing::{MemberKey, PublicKeyBytes};
pub use transport::GatewayTransport;
