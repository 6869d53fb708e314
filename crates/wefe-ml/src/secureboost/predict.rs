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

/// A host's answer for `x`: for each split it keeps, which rows go left.
pub fn host_routing(model: &BoostModel, x: &Binned) -> Result<Vec<(u32, u32, Bits)>> {
    let BoostModel::Host { splits, .. } = model else {
        return Err(Error::InvalidParams("a host predicts with a host's model share".into()));
    };
    Ok(splits
        .iter()
        .map(|s| {
            let col = x.feature(s.feature);
            (s.tree, s.node, Bits::from_fn(x.rows(), |r| col[r] <= s.threshold_bin))
        })
        .collect())
}

/// The host's side: routing of every row by every split it keeps.
pub async fn run_predict_host(
    transport: &impl Transport,
    guest: &PeerId,
    model: &BoostModel,
    x: &Binned,
) -> Result<()> {
    let rows = x.rows();
    // Keep each message well under the transport's limit.
    let per_msg = (transport.max_message_bytes() / 2 / (rows / 8 + 16).max(1)).clamp(1, 4096);
    let all = host_routing(model, x)?;
    let mut chunks = all.chunks(per_msg).peekable();
    if chunks.peek().is_none() {
        transport.send(guest, TAG_ROUTING, Routing { splits: Vec::new(), more: false }.encode()).await?;
    }
    while let Some(chunk) = chunks.next() {
        let routing = Routing { splits: chunk.to_vec(), more: chunks.peek().is_some() };
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
    let BoostModel::Guest { hosts: model_hosts, .. } = model else {
        return Err(Error::InvalidParams("the guest predicts with the guest's model share".into()));
    };
    if *model_hosts as usize != hosts.len() {
        return Err(Error::Shape(format!(
            "the model was trained with {model_hosts} hosts, the job names {}",
            hosts.len()
        )));
    }
    let rows = x.rows();
    let mut answers = Vec::with_capacity(hosts.len());
    for h in hosts {
        let mut splits = Vec::new();
        loop {
            let r = from_peer(h, Routing::decode(&transport.recv(h, TAG_ROUTING).await?, rows))?;
            splits.extend(r.splits);
            if !r.more {
                break;
            }
        }
        answers.push(splits);
    }
    combine(model, x, answers).map_err(|(host, e)| match host {
        Some(h) => Error::FromPeer { peer: hosts[h].to_string(), source: Box::new(e) },
        None => e,
    })
}

/// The scores of `x`'s rows from the guest's share and every host's routing
/// (in the model's host order). An error names the host (by index) whose
/// answer does not fit the model.
pub fn combine(
    model: &BoostModel,
    x: &Binned,
    answers: Vec<Vec<(u32, u32, Bits)>>,
) -> std::result::Result<Vec<f64>, (Option<usize>, Error)> {
    let BoostModel::Guest { base_score, trees, .. } = model else {
        return Err((None, Error::InvalidParams("the guest predicts with the guest's model share".into())));
    };
    let rows = x.rows();
    let mut routes: HashMap<(u32, u32), (usize, Bits)> = HashMap::new();
    for (hi, splits) in answers.into_iter().enumerate() {
        for (tree, node, bits) in splits {
            let owner = trees.get(tree as usize).and_then(|t| t.nodes.get(node as usize));
            if !matches!(owner, Some(Node::Host { host, .. }) if *host as usize == hi)
                || bits.len() != rows
                || routes.insert((tree, node), (hi, bits)).is_some()
            {
                return Err((
                    Some(hi),
                    Error::Malformed {
                        message: "SecureBoost routing",
                        reason: format!("tree {tree} node {node} is not one of this host's splits"),
                    },
                ));
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
            Node::Leaf { .. } => Err(Error::InvalidParams("a leaf has no split".into())),
        })
        .map_err(|e| (None, e))?;
        scores.iter_mut().zip(&delta).for_each(|(s, d)| *s += d);
    }
    Ok(scores)
}
