//! One module per command group; each returns an [`Output`].

mod admin;
pub(crate) mod audit;
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

pub(crate) use crate::args::PageArgs;
use crate::args::{Cli, Command};
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
        Command::Audit(cmd) => audit::run(global, cmd).await,
        Command::Console(args) => {
            crate::console::run(global, &args).await?;
            Ok(Output::new("console stopped", serde_json::json!({ "ok": true })))
        }
    }
}

/// The name of an enum value, or its number if the contract has grown a variant.
pub(crate) fn variant(enum_name: &str, index: u8) -> String {
    enum_variant(enum_name, index).unwrap_or_else(|| index.to_string())
}

/// SHA-256 of a file's bytes, for CSR / certificate hashes.
fn file_sha256(path: &std::path::Path) -> Result<B256> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    Ok(B256::from_slice(&Sha256::digest(&bytes)))
}

/// SHA-256 of a text.
pub(crate) fn text_sha256(text: &str) -> B256 {
    B256::from_slice(&Sha256::digest(text.as_bytes()))
}

/// Reads a paged view (`fetch(offset, limit)`, at most `chunk` per call: the
/// caller picks a size whose call fits any node's gas cap) and returns the
/// entries `keep` accepts, skipping the first `page.offset` accepted ones and
/// stopping at `page.limit`. Offset and limit count what the user asked to see,
/// so a filter never hides entries behind a page boundary.
pub(crate) async fn collect_pages<T, F, Fut>(
    page: PageArgs,
    total: u64,
    chunk: u64,
    keep: Option<&dyn Fn(&T) -> bool>,
    mut fetch: F,
) -> Result<Vec<T>>
where
    F: FnMut(U256, U256) -> Fut,
    Fut: std::future::Future<Output = Result<Vec<T>>>,
{
    const CHUNK_MAX: u64 = 100;
    let chunk = chunk.clamp(1, CHUNK_MAX);
    let mut out = Vec::new();
    // Without a filter the chain can skip the offset for us.
    let (mut next, mut skipped) = if keep.is_none() { (page.offset, page.offset) } else { (0, 0) };
    while next < total && (out.len() as u64) < page.limit {
        let items = fetch(U256::from(next), U256::from(chunk.min(total - next))).await?;
        if items.is_empty() {
            break;
        }
        next += items.len() as u64;
        for item in items {
            if keep.is_some_and(|keep| !keep(&item)) {
                continue;
            }
            if skipped < page.offset {
                skipped += 1;
            } else if (out.len() as u64) < page.limit {
                out.push(item);
            }
        }
    }
    Ok(out)
}

/// The hash given, or the SHA-256 of the file given (clap requires exactly one).
pub(crate) fn hash_or_file(hash: Option<B256>, file: Option<&std::path::Path>) -> Result<B256> {
    match (hash, file) {
        (Some(h), _) => Ok(h),
        (None, Some(path)) => file_sha256(path),
        (None, None) => anyhow::bail!("give a hash or a file"),
    }
}

/// Addresses joined by ", ", or "(none)".
pub(crate) fn list_or_none(list: &[alloy::primitives::Address]) -> String {
    if list.is_empty() { "(none)".to_owned() } else { crate::output::addresses(list).join(", ") }
}

/// Shortens a hex string for tables: 0x1234…abcd.
pub(crate) fn short(text: &str) -> String {
    if text.len() > 14 { format!("{}…{}", &text[..6], &text[text.len() - 4..]) } else { text.to_owned() }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn run(page: PageArgs, keep: Option<&dyn Fn(&u64) -> bool>) -> (Vec<u64>, usize) {
        let rows: Vec<u64> = (0..250).collect();
        let mut calls = 0;
        let out = collect_pages(page, rows.len() as u64, 100, keep, |offset, limit| {
            calls += 1;
            let (o, l) = (offset.to::<usize>(), limit.to::<usize>());
            assert!(l <= 100, "pages are at most 100");
            let slice = rows[o..(o + l).min(rows.len())].to_vec();
            async move { Ok(slice) }
        })
        .await
        .unwrap();
        (out, calls)
    }

    #[tokio::test]
    async fn pages_without_filter_start_at_the_offset() {
        let (out, calls) = run(PageArgs { offset: 120, limit: 1000 }, None).await;
        assert_eq!(out, (120..250).collect::<Vec<_>>());
        assert_eq!(calls, 2);
        let (out, _) = run(PageArgs { offset: 0, limit: 3 }, None).await;
        assert_eq!(out, vec![0, 1, 2]);
        let (out, calls) = run(PageArgs { offset: 300, limit: 10 }, None).await;
        assert!(out.is_empty());
        assert_eq!(calls, 0);
    }

    #[tokio::test]
    async fn offset_and_limit_count_filtered_entries() {
        let odd = |v: &u64| v % 2 == 1;
        let (out, _) = run(PageArgs { offset: 60, limit: 5 }, Some(&odd)).await;
        assert_eq!(out, vec![121, 123, 125, 127, 129]);
        let (out, _) = run(PageArgs { offset: 0, limit: 1000 }, Some(&odd)).await;
        assert_eq!(out.len(), 125);
        let only_last = |v: &u64| *v == 249;
        let (out, _) = run(PageArgs { offset: 0, limit: 1 }, Some(&only_last)).await;
        assert_eq!(out, vec![249]);
    }
}
