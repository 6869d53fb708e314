//! wefe-node: one institution's party node. Today it follows the chain
//! ([`listener`]), indexes every governance event into its store (the audit
//! index) and records each approved job that names its member, exactly once
//! across crashes (a reorg deeper than the confirmation depth can replace an
//! approval; see [`listener`]). Runners, the gateway and the REST API build on it.
//!
//! Protocol code never lives here: the node drives `wefe-mpc` / `wefe-ml`
//! state machines through `wefe_core::Transport`.

pub mod api;
pub mod config;
pub mod datasets;
pub mod inputs;
pub mod listener;
pub mod ml;
pub mod peers;
pub mod runner;
pub mod scheduler;
pub mod serving;
