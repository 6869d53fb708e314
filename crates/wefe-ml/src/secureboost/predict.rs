//! Federated prediction with a SecureBoost model: every host answers, for
//! each of its own splits, which rows go left; the guest routes the rows
//! through its trees and adds the leaf weights.
//!
//! ```text
//! guest                                   host h (each of them)
//!                               ◄──  Routing { (tree, node, rows going left) … } (chunked)
//!   u = base + Σ_trees leaf(row), p = σ(u)
//! ```
//!
//! **What each party learns.** A host sends and receives nothing else: it
//! learns nothing about scores or labels. The guest learns the scores and,
//! per host split, which rows go left — the same routing it learns during
//! training — never a host's feature, threshold or values.

use std::collections::HashMap;

use wefe_core::{PeerId, Transport};

use super::wire::{Bits, Routing, TAG_ROUTING};
use super::{BoostModel, Node};
use crate::binning::Binned;
use crate::vertical_lr::from_peer;
use crate::{Error, Result};

/// The host's side: routing of every row by every split it keeps.
pub async fn run_predict_host(
    transport: &impl Transport,
    guest: &PeerId,
    model: &BoostModel,
    x: &Binned,
) -> Result<()> {
    let BoostModel::Host { splits, .. } = model else {
        return Err(Error::InvalidParams("a host predicts with a host's model share".into()));
    };
    let rows = x.rows();
    // Keep each message well under the transport's limit.
    let per_msg = (transport.max_message_bytes() / 2 / (rows / 8 + 16).max(1)).clamp(1, 4096);
    let mut chunks = splits.chunks(per_msg).peekable();
    if chunks.peek().is_none() {
        transport.send(guest, TAG_ROUTING, Routing { splits: Vec::new(), more: false }.encode()).await?;
    }
    while let Some(chunk) = chunks.next() {
        let routing = Routing {
            splits: chunk
                .iter()
                .map(|s| {
                    let col = x.feature(s.feature);
                    (s.tree, s.node, Bits::from_fn(rows, |r| col[r] <= s.threshold_bin))
                })
                .collect(),
            more: chunks.peek().is_some(),
        };
        transport.send(guest, TAG_ROUTING, routing.encode()).await?;
    }
    Ok(())
}

/// The guest's side: scores (log-odds) of `x`'s rows; `hosts` in the
/// model's host order.
pub async fn run_predict_guest(
    transport: &impl Transport,
    hosts: &[PeerId],
    model: &BoostModel,
    x: &Binned,
) -> Result<Vec<f64>> {
    let BoostModel::Guest { base_score, trees, hosts: model_hosts, .. } = model else {
        return Err(Error::InvalidParams("the guest predicts with the guest's model share".into()));
    };
    if *model_hosts as usize != hosts.len() {
        return Err(Error::Shape(format!(
            "the model was trained with {model_hosts} hosts, the job names {}",
            hosts.len()
        )));
    }
    let rows = x.rows();
    let mut routes: HashMap<(u32, u32), (usize, Bits)> = HashMap::new();
    for (hi, h) in hosts.iter().enumerate() {
        loop {
            let r = from_peer(h, Routing::decode(&transport.recv(h, TAG_ROUTING).await?, rows))?;
            for (tree, node, bits) in r.splits {
                let owner = trees.get(tree as usize).and_then(|t| t.nodes.get(node as usize));
                if !matches!(owner, Some(Node::Host { host, .. }) if *host as usize == hi)
                    || routes.insert((tree, node), (hi, bits)).is_some()
                {
                    return Err(from_peer(
                        h,
                        Err(Error::Malformed {
                            message: "SecureBoost routing",
                            reason: format!("tree {tree} node {node} is not one of this host's splits"),
                        }),
                    )?);
                }
            }
            if !r.more {
                break;
            }
        }
    }
    let mut scores = vec![*base_score; rows];
    for (t, tree) in trees.iter().enumerate() {
        let delta = super::route(tree, rows, |i, node, row| match node {
            Node::Guest { feature, threshold_bin, .. } => Ok(x.feature(*feature)[row] <= *threshold_bin),
            Node::Host { host, .. } => routes.get(&(t as u32, i)).map(|(_, b)| b.get(row)).ok_or_else(|| {
                Error::Shape(format!(
                    "host {host} did not answer for tree {t} node {i}: is its model from the same job?"
                ))
            }),
            Node::Leaf { .. } => unreachable!("route answers splits only"),
        })?;
        scores.iter_mut().zip(&delta).for_each(|(s, d)| *s += d);
    }
    Ok(scores)
}
