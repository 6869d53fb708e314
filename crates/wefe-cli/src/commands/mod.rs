//! One module per command group; each returns an [`Output`].

mod admin;
mod cert;
mod chain;
mod dataset;
mod job;
mod key;
mod member;

use alloy::primitives::{B256, U256};
use anyhow::{Context, Result};
use sha2::{Digest, Sha256};
use wefe_chain::abi::enum_variant;

use crate::args::{Cli, Command, PageArgs};
use crate::output::Output;

pub async fn run(cli: Cli) -> Result<Output> {
    let global = &cli.global;
    match cli.command {
        Command::Key(cmd) => key::run(global, cmd),
        Command::Chain(cmd) => chain::run(global, cmd).await,
        Command::Member(cmd) => member::run(global, cmd).await,
        Command::Admin(cmd) => admin::run(global, cmd).await,
        Command::Cert(cmd) => cert::run(global, cmd).await,
        Command::Dataset(cmd) => dataset::run(global, cmd).await,
        Command::Job(cmd) => job::run(global, cmd).await,
    }
}

/// The name of an enum value, or its number if the contract has grown a variant.
pub(crate) fn variant(enum_name: &str, index: u8) -> String {
    enum_variant(enum_name, index).unwrap_or_else(|| index.to_string())
}

/// SHA-256 of a file's bytes, for CSR / certificate hashes.
pub(crate) fn file_sha256(path: &std::path::Path) -> Result<B256> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    Ok(B256::from_slice(&Sha256::digest(&bytes)))
}

/// SHA-256 of a text.
pub(crate) fn text_sha256(text: &str) -> B256 {
    B256::from_slice(&Sha256::digest(text.as_bytes()))
}

/// Reads a paged view until `page.limit` entries were collected or the view runs dry.
pub(crate) async fn collect_pages<T, F, Fut>(page: PageArgs, total: u64, mut fetch: F) -> Result<Vec<T>>
where
    F: FnMut(U256, U256) -> Fut,
    Fut: std::future::Future<Output = Result<Vec<T>>>,
{
    const CHUNK: u64 = 100;
    let mut out = Vec::new();
    let mut offset = page.offset;
    let end = total.min(page.offset.saturating_add(page.limit));
    while offset < end {
        let want = CHUNK.min(end - offset);
        let items = fetch(U256::from(offset), U256::from(want)).await?;
        if items.is_empty() {
            break;
        }
        offset += items.len() as u64;
        out.extend(items);
    }
    Ok(out)
}

/// Shortens a hex string for tables: 0x1234…abcd.
pub(crate) fn short(text: &str) -> String {
    if text.len() > 14 { format!("{}…{}", &text[..6], &text[text.len() - 4..]) } else { text.to_owned() }
}
