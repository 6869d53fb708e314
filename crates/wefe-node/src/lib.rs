//! wefe-node: one institution's party node. Today it follows the chain
//! ([`listener`]), indexes every governance event into its store (the audit
//! index) and records each approved job that names its member, exactly once
//! across crashes and reorgs. Runners, the gateway and the REST API build on it.
//!
//! Protocol code never lives here: the node drives `wefe-mpc` / `wefe-ml`
//! state machines through `wefe_core::Transport`.

pub mod config;
pub mod listener;
