//! wefe-node: one institution's party node. It follows the chain
//! ([`listener`]), indexes every governance event into its store (the audit
//! index) and records each approved job that names its member, exactly once
//! across crashes (a reorg deeper than the confirmation depth can replace an
//! approval; see [`listener`]). The [`scheduler`] launches those jobs by
//! itself — one [`runner`] module per job kind, run on the [`compute`] pool —
//! and
//! reports them on chain — commitments and the summary fields the params
//! declare public only ([`disclosure`]); [`serving`] answers online
//! predictions and [`api`] is the REST API. Everything the node keeps is
//! written owner-only through [`files`].
//!
//! Protocol code never lives here: the node drives `wefe-mpc` / `wefe-ml`
//! state machines through `wefe_core::Transport`.

pub mod api;
pub mod compute;
pub mod config;
pub mod datasets;
pub mod disclosure;
pub mod files;
pub mod health;
pub mod inputs;
pub mod listener;
pub mod ml;
pub mod peers;
pub mod runner;
pub mod scheduler;
pub mod serving;
