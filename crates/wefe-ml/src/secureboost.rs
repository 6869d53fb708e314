//! Vertical SecureBoost: gradient-boosted decision trees over vertically
//! partitioned data (Cheng et al., "SecureBoost: A Lossless Federated
//! Learning Framework", arXiv:1901.08755), binary classification with the
//! logistic loss, histogram splits over each party's own bins
//! ([`crate::binning`]), and the split rule of XGBoost (Chen & Guestrin,
//! KDD 2016, eq. 7) without the ½: `gain = G_L²/(H_L+λ) + G_R²/(H_R+λ) −
//! G²/(H+λ)`, leaf weight `−η·G/(H+λ)`.
//!
//! The **guest** holds the labels, its own binned features and a fresh
//! Paillier key; each **host** holds binned features. Rows are aligned by
//! index (a PSI aligned them).
//!
//! ```text
//! guest                                               host h (each of them)
//!   Setup { params, rows, [[·]] key, host index }  ──►  checks params, rows
//! per tree t:
//!   g, h of every sampled row (rows sampled from the shared seed),
//!   [[1 + h·2^c + (g+1)·2^(c+s_h)]] per row          ──►  (one ciphertext per row: g, h and a
//!                                                          count packed, fixed point 2^-40)
//!   per level: Level { nodes, their rows }          ──►  histograms of the smaller child of
//!                                                          each pair (sibling = parent − child),
//!                                                          prefix sums per bin = left-side sums,
//!                                                          several candidates packed per
//!                                                          ciphertext, re-randomised
//!                                              ◄──     Candidates { opaque ids, packed [[·]] }
//!   decrypts, gain of every candidate (its own in the clear), best per node
//!   Decision { (node, opaque id, gain) chosen }     ──►  looks up (feature, bin)
//!                                              ◄──     Partition { rows going left }
//!   after the last level: leaf weights, scores;
//!                                              ◄──     Routing { validation rows going left, per host split }
//!   TreeEnd { stop, trees kept }                    ──►
//! ```
//!
//! The slot layout: with `c = bits(rows)`, a row's plaintext is
//! `1 + H_i·2^c + G_i·2^(c + c + 39)` with `G_i = round((g_i + 1)·2^40)` and
//! `H_i = round(h_i·2^40)`; sums over any subset of rows never carry from
//! one slot into the next ([`GhLayout`]), so a sum decrypts to the subset's
//! row count, `ΣH` and `ΣG + count·2^40`. The same integers drive
//! [`plain::train`], the centralised reference: with the same bins and
//! parameters it makes the same split choices and leaf values, bit for bit
//! (the tests check it).
//!
//! # What each party learns (semi-honest parties)
//!
//! - **The guest** learns, for every node, each host's candidate splits as
//!   opaque ids with their left-side sums `(ΣG, ΣH, count)` (the published
//!   protocol's leakage: SecureBoost and FATE show the same aggregates), the
//!   partition of the node's rows by the chosen host split, and, with a
//!   validation set, the routing of validation rows by each host split. It
//!   learns the number of candidates a host offers per node, not which
//!   feature or threshold an id stands for (ids are random and shuffled per
//!   node), nor any feature value.
//! - **A host** learns the ciphertexts (under a key it cannot decrypt), the
//!   rows of every node (the instance space of the tree, as in SecureBoost
//!   and FATE), which of its own splits were chosen and their gains, and the
//!   stopping decisions. It never sees labels, gradients, leaf weights,
//!   scores, the guest's features or other hosts' splits. A host refuses to
//!   offer a split that would leave fewer than `min_child_rows` rows on a
//!   side, so the sums the guest decrypts are always over at least that
//!   many rows.
//! - The model stays split: the guest keeps the tree structure and leaf
//!   weights, each host its own split features and thresholds.
//!
//! Against a malicious party there is no guarantee (a guest could encrypt
//! crafted gradients, a host could lie about partitions); decoding makes
//! malformed messages errors, never panics.

pub mod guest;
pub mod host;
pub mod plain;
pub mod predict;
pub mod wire;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use rug::Integer;
use serde::{Deserialize, Serialize};

use crate::binning::BinEdges;
use crate::data::SplitMix64;
use crate::{Error, Result};

pub use guest::{GuestData, run_guest};
pub use host::{HostData, run_host};

/// Fractional bits of the fixed-point g and h.
pub const GH_FRAC_BITS: u32 = 40;
/// Most trees a job may ask for.
pub const MAX_TREES: u32 = 10_000;
/// Deepest tree (levels of splits).
pub const MAX_DEPTH: u32 = 16;
/// Smallest `min_child_rows` (so no decrypted sum covers fewer rows).
pub const MIN_CHILD_ROWS_FLOOR: u32 = 2;

/// Early stopping on the validation rows' log-loss.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BoostEarlyStopping {
    /// Trees without improvement before training stops.
    pub patience: u32,
    /// Smallest decrease of the loss that counts as an improvement.
    pub min_delta: f64,
}

/// Hyper-parameters, the same at every party.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BoostParams {
    /// Number of trees (boosting rounds).
    pub trees: u32,
    /// Levels of splits per tree (a depth-3 tree has up to 8 leaves).
    pub max_depth: u32,
    /// Shrinkage η applied to every leaf weight.
    pub learning_rate: f64,
    /// L2 regularisation λ on leaf weights.
    pub l2: f64,
    /// Smallest hessian sum of a child.
    pub min_child_weight: f64,
    /// Smallest row count of a child (hides individual rows' gradients).
    pub min_child_rows: u32,
    /// Smallest gain of a split (XGBoost's γ).
    pub min_split_gain: f64,
    /// Fraction of rows sampled per tree (1: all).
    pub row_sample: f64,
    /// Fraction of each party's features sampled per tree (1: all).
    pub feature_sample: f64,
    /// Early stopping on the validation rows (needs validation rows).
    pub early_stopping: Option<BoostEarlyStopping>,
    /// Seed of the row and feature samples.
    pub seed: u64,
}

impl Default for BoostParams {
    fn default() -> Self {
        Self {
            trees: 20,
            max_depth: 3,
            learning_rate: 0.3,
            l2: 1.0,
            min_child_weight: 1.0,
            min_child_rows: 10,
            min_split_gain: 0.0,
            row_sample: 1.0,
            feature_sample: 1.0,
            early_stopping: None,
            seed: 0,
        }
    }
}

impl BoostParams {
    /// Checks ranges; the error names the parameter.
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(Error::InvalidParams(m));
        if self.trees == 0 || self.trees > MAX_TREES {
            return bad(format!("trees {} is not in 1..={MAX_TREES}", self.trees));
        }
        if self.max_depth == 0 || self.max_depth > MAX_DEPTH {
            return bad(format!("max_depth {} is not in 1..={MAX_DEPTH}", self.max_depth));
        }
        if !(self.learning_rate.is_finite() && self.learning_rate > 0.0 && self.learning_rate <= 1.0) {
            return bad(format!("learning_rate {} is not in (0, 1]", self.learning_rate));
        }
        for (name, v) in
            [("l2", self.l2), ("min_child_weight", self.min_child_weight), ("min_split_gain", self.min_split_gain)]
        {
            if !(v.is_finite() && v >= 0.0) {
                return bad(format!("{name} {v} must be a finite number ≥ 0"));
            }
        }
        if self.min_child_rows < MIN_CHILD_ROWS_FLOOR {
            return bad(format!(
                "min_child_rows {} is below {MIN_CHILD_ROWS_FLOOR}: a split could expose one row's gradient",
                self.min_child_rows
            ));
        }
        for (name, v) in [("row_sample", self.row_sample), ("feature_sample", self.feature_sample)] {
            if !(v.is_finite() && v > 0.0 && v <= 1.0) {
                return bad(format!("{name} {v} is not in (0, 1]"));
            }
        }
        if let Some(es) = self.early_stopping
            && (es.patience == 0 || !(es.min_delta.is_finite() && es.min_delta >= 0.0))
        {
            return bad("early_stopping needs patience ≥ 1 and min_delta ≥ 0".into());
        }
        Ok(())
    }

    /// The rows of tree `t` (ascending), sampled from the shared seed.
    pub fn tree_rows(&self, t: u32, rows: usize) -> Vec<u32> {
        if self.row_sample >= 1.0 {
            return (0..rows as u32).collect();
        }
        let mut rng = SplitMix64::new(self.seed ^ 0x005E_ED0F_7EE5 ^ u64::from(t).wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let take = ((rows as f64 * self.row_sample).ceil() as usize).clamp(1, rows.max(1));
        let mut idx: Vec<u32> = (0..rows as u32).collect();
        rng.shuffle(&mut idx);
        idx.truncate(take);
        idx.sort_unstable();
        idx
    }

    /// The features party `party` (0 = guest, 1.. = hosts) uses in tree `t`.
    pub fn tree_features(&self, t: u32, party: u32, features: usize) -> Vec<usize> {
        if self.feature_sample >= 1.0 {
            return (0..features).collect();
        }
        let mut rng = SplitMix64::new(
            self.seed
                ^ 0xFEA7_u64.wrapping_mul(u64::from(party) + 1)
                ^ u64::from(t).wrapping_mul(0xD1B5_4A32_D192_ED03),
        );
        let take = ((features as f64 * self.feature_sample).ceil() as usize).clamp(1, features.max(1)).min(features);
        let mut idx: Vec<usize> = (0..features).collect();
        rng.shuffle(&mut idx);
        idx.truncate(take);
        idx.sort_unstable();
        idx
    }
}

/// Where g, h and the row count sit in one plaintext.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GhLayout {
    /// Bits of the count slot (`bits(rows)`).
    pub count_bits: u32,
    /// Bits of the ΣH slot.
    pub h_bits: u32,
    /// Bits of the ΣG slot.
    pub g_bits: u32,
}

impl GhLayout {
    /// Layout for sums over at most `rows` rows.
    pub fn for_rows(rows: u64) -> Self {
        let c = 64 - rows.max(1).leading_zeros();
        // H_i ≤ 2^(F−2): ΣH < rows·2^(F−2)+rows ≤ 2^(c+F−1). G_i ≤ 2^(F+1): ΣG ≤ 2^(c+F+1).
        Self { count_bits: c, h_bits: c + GH_FRAC_BITS - 1, g_bits: c + GH_FRAC_BITS + 2 }
    }
    /// Bits of one candidate's slot.
    pub fn slot_bits(&self) -> u32 {
        self.count_bits + self.h_bits + self.g_bits
    }
    /// The plaintext of one row.
    pub fn row_plaintext(&self, gh: Gh) -> Integer {
        let mut m = Integer::from(gh.g);
        m <<= self.h_bits;
        m += gh.h;
        m <<= self.count_bits;
        m += 1u32;
        m
    }
    /// Splits a slot's value into its sums.
    pub fn decode(&self, v: &Integer) -> Result<GhSum> {
        let mask = |bits: u32, shift: u32| -> Integer {
            let mut x = Integer::from(v >> shift);
            x.keep_bits_mut(bits);
            x
        };
        let count = mask(self.count_bits, 0);
        let h = mask(self.h_bits, self.count_bits);
        let g = Integer::from(v >> (self.count_bits + self.h_bits));
        match (count.to_u64(), h.to_u128(), g.to_u128()) {
            (Some(count), Some(h), Some(g)) if g.significant_bits_lt(self.g_bits + 1) => Ok(GhSum { g, h, count }),
            _ => Err(Error::Malformed { message: "SecureBoost candidates", reason: "slot value out of range".into() }),
        }
    }
}

trait BitsLt {
    fn significant_bits_lt(&self, bits: u32) -> bool;
}
impl BitsLt for u128 {
    fn significant_bits_lt(&self, bits: u32) -> bool {
        bits >= 128 || *self >> bits == 0
    }
}

/// One row's fixed-point gradient and hessian: `g = round((g+1)·2^40)`,
/// `h = round(h·2^40)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gh {
    /// Offset gradient.
    pub g: u64,
    /// Hessian.
    pub h: u64,
}

impl Gh {
    /// Logistic-loss g and h at score `u` for label `y`, quantised.
    pub fn logistic(u: f64, y: f64) -> Gh {
        let p = crate::logistic::sigmoid(u);
        let scale = (1u64 << GH_FRAC_BITS) as f64;
        Gh { g: ((p - y + 1.0) * scale).round() as u64, h: (p * (1.0 - p) * scale).round() as u64 }
    }
}

/// Sums of `Gh` over a set of rows, exact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct GhSum {
    /// ΣG (offset included).
    pub g: u128,
    /// ΣH.
    pub h: u128,
    /// Rows.
    pub count: u64,
}

impl GhSum {
    /// Adds one row.
    pub fn add(&mut self, gh: Gh) {
        self.g += u128::from(gh.g);
        self.h += u128::from(gh.h);
        self.count += 1;
    }
    /// `self − other` (other a subset of self), or `None` if it is not.
    pub fn minus(&self, other: &GhSum) -> Option<GhSum> {
        Some(GhSum {
            g: self.g.checked_sub(other.g)?,
            h: self.h.checked_sub(other.h)?,
            count: self.count.checked_sub(other.count)?,
        })
    }
    /// `(G, H)` as reals (offset removed).
    pub fn real(&self) -> (f64, f64) {
        let scale = (1u64 << GH_FRAC_BITS) as f64;
        let g = self.g as i128 - (i128::from(self.count) << GH_FRAC_BITS);
        (g as f64 / scale, self.h as f64 / scale)
    }
}

/// `G²/(H+λ)`.
fn score(s: &GhSum, l2: f64) -> f64 {
    let (g, h) = s.real();
    g * g / (h + l2)
}

/// Gain of splitting `total` into `left` and the rest, if the split is allowed.
pub fn split_gain(params: &BoostParams, total: &GhSum, left: &GhSum) -> Option<f64> {
    let right = total.minus(left)?;
    let min_rows = u64::from(params.min_child_rows);
    if left.count < min_rows || right.count < min_rows {
        return None;
    }
    let (hl, hr) = (left.real().1, right.real().1);
    if hl < params.min_child_weight || hr < params.min_child_weight {
        return None;
    }
    let gain = score(left, params.l2) + score(&right, params.l2) - score(total, params.l2);
    (gain.is_finite() && gain > params.min_split_gain).then_some(gain)
}

/// The leaf weight `−η·G/(H+λ)`.
pub fn leaf_weight(params: &BoostParams, s: &GhSum) -> f64 {
    let (g, h) = s.real();
    -params.learning_rate * g / (h + params.l2)
}

/// The initial score: the log-odds of the training labels' mean.
pub fn base_score(labels: &[f64]) -> f64 {
    let p = (labels.iter().sum::<f64>() / labels.len().max(1) as f64).clamp(1e-6, 1.0 - 1e-6);
    (p / (1.0 - p)).ln()
}

/// A node of the guest's view of a tree.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Node {
    /// A leaf and its weight.
    Leaf {
        /// Added to the score of rows reaching it.
        value: f64,
    },
    /// A split on one of the guest's features: `bin ≤ threshold_bin` goes left.
    Guest {
        /// Feature index in the guest's table.
        feature: usize,
        /// Largest bin going left.
        threshold_bin: u8,
        /// Left child.
        left: u32,
        /// Right child.
        right: u32,
        /// Gain when it was chosen.
        gain: f64,
    },
    /// A split a host keeps; the guest knows only which host.
    Host {
        /// Host index (0-based, in the job's host order).
        host: u32,
        /// Left child.
        left: u32,
        /// Right child.
        right: u32,
        /// Gain when it was chosen.
        gain: f64,
    },
}

/// One tree as the guest holds it (node 0 is the root).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tree {
    /// Nodes, children after parents.
    pub nodes: Vec<Node>,
}

/// A split a host keeps: `(tree, node) → (feature, bin)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HostSplit {
    /// Tree index.
    pub tree: u32,
    /// Node index within the tree.
    pub node: u32,
    /// Feature index in the host's table.
    pub feature: usize,
    /// Largest bin going left.
    pub threshold_bin: u8,
    /// Gain the guest reported.
    pub gain: f64,
}

/// A party's share of a SecureBoost model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "role", rename_all = "snake_case")]
pub enum BoostModel {
    /// The label holder: tree structure and leaf weights.
    Guest {
        /// Initial score.
        base_score: f64,
        /// The trees kept.
        trees: Vec<Tree>,
        /// Bin edges of the guest's columns.
        edges: BinEdges,
        /// Number of hosts.
        hosts: u32,
    },
    /// A feature holder: its splits.
    Host {
        /// Trees in the model (the guest's count).
        trees: u32,
        /// The host's splits.
        splits: Vec<HostSplit>,
        /// Bin edges of the host's columns.
        edges: BinEdges,
    },
}

impl BoostModel {
    /// JSON bytes of the model file.
    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec_pretty(self).expect("model serialises")
    }

    /// Parses and checks a model file.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let m: BoostModel = serde_json::from_slice(bytes)
            .map_err(|e| Error::InvalidParams(format!("not a SecureBoost model file: {e}")))?;
        m.validate()?;
        Ok(m)
    }

    /// Structural checks: children in range and after their parent, finite values.
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(Error::InvalidParams(format!("SecureBoost model: {m}")));
        match self {
            BoostModel::Guest { base_score, trees, edges, hosts } => {
                if !base_score.is_finite() {
                    return bad("base score is not finite".into());
                }
                for (t, tree) in trees.iter().enumerate() {
                    if tree.nodes.is_empty() {
                        return bad(format!("tree {t} is empty"));
                    }
                    for (i, node) in tree.nodes.iter().enumerate() {
                        let (left, right) = match node {
                            Node::Leaf { value } if value.is_finite() => continue,
                            Node::Leaf { .. } => return bad(format!("tree {t} node {i}: leaf value is not finite")),
                            Node::Guest { feature, threshold_bin, left, right, .. } => {
                                match edges.columns.get(*feature) {
                                    Some(c) if usize::from(*threshold_bin) < c.total_bins() => {}
                                    _ => {
                                        return bad(format!(
                                            "tree {t} node {i}: no guest feature {feature} with that bin"
                                        ));
                                    }
                                }
                                (*left, *right)
                            }
                            Node::Host { host, left, right, .. } => {
                                if host >= hosts {
                                    return bad(format!("tree {t} node {i}: host {host} of {hosts}"));
                                }
                                (*left, *right)
                            }
                        };
                        let n = tree.nodes.len() as u32;
                        if left as usize <= i || right as usize <= i || left >= n || right >= n || left == right {
                            return bad(format!("tree {t} node {i}: children out of order"));
                        }
                    }
                }
                Ok(())
            }
            BoostModel::Host { trees, splits, edges } => {
                let mut seen = BTreeMap::new();
                for s in splits {
                    if s.tree >= *trees {
                        return bad(format!("split in tree {} of {trees}", s.tree));
                    }
                    match edges.columns.get(s.feature) {
                        Some(c) if usize::from(s.threshold_bin) < c.total_bins() => {}
                        _ => return bad(format!("split on unknown feature {}", s.feature)),
                    }
                    if seen.insert((s.tree, s.node), ()).is_some() {
                        return bad(format!("two splits for tree {} node {}", s.tree, s.node));
                    }
                }
                Ok(())
            }
        }
    }

    /// Feature importance of the features this party can name: `(name,
    /// splits, total gain)`, most gain first. The guest lists its own
    /// features and one line per host (`host N`), a host only its features.
    pub fn importance(&self) -> Vec<(String, u32, f64)> {
        let mut acc: BTreeMap<String, (u32, f64)> = BTreeMap::new();
        match self {
            BoostModel::Guest { trees, edges, .. } => {
                for node in trees.iter().flat_map(|t| &t.nodes) {
                    let (key, gain) = match node {
                        Node::Leaf { .. } => continue,
                        Node::Guest { feature, gain, .. } => (edges.columns[*feature].name.clone(), *gain),
                        Node::Host { host, gain, .. } => (format!("host {host} (its features are its own)"), *gain),
                    };
                    let e = acc.entry(key).or_default();
                    e.0 += 1;
                    e.1 += gain;
                }
            }
            BoostModel::Host { splits, edges, .. } => {
                for s in splits {
                    let e = acc.entry(edges.columns[s.feature].name.clone()).or_default();
                    e.0 += 1;
                    e.1 += s.gain;
                }
            }
        }
        let mut out: Vec<(String, u32, f64)> = acc.into_iter().map(|(k, (n, g))| (k, n, g)).collect();
        out.sort_by(|a, b| b.2.total_cmp(&a.2).then(a.0.cmp(&b.0)));
        out
    }
}

/// Routes every row through a tree: `goes_left(node, row)` answers splits.
pub fn route(
    tree: &Tree,
    rows: usize,
    mut goes_left: impl FnMut(u32, &Node, usize) -> Result<bool>,
) -> Result<Vec<f64>> {
    (0..rows)
        .map(|row| {
            let mut i = 0u32;
            for _ in 0..=tree.nodes.len() {
                let node =
                    tree.nodes.get(i as usize).ok_or_else(|| Error::InvalidParams("tree node out of range".into()))?;
                match node {
                    Node::Leaf { value } => return Ok(*value),
                    Node::Guest { left, right, .. } | Node::Host { left, right, .. } => {
                        i = if goes_left(i, node, row)? { *left } else { *right };
                    }
                }
            }
            Err(Error::InvalidParams("tree has a cycle".into()))
        })
        .collect()
}

/// The best split of one node among plaintext histograms: `hist[f][b]` sums
/// per bin of feature `features[f]`. Thresholds whose last bin is empty are
/// skipped (they repeat the previous threshold's partition). Returns
/// `(gain, index into features, threshold bin)` of the first best.
pub fn best_plain_split(
    params: &BoostParams,
    total: &GhSum,
    hist: &[Vec<GhSum>],
    features: &[usize],
) -> Option<(f64, usize, u8)> {
    let mut best: Option<(f64, usize, u8)> = None;
    for (fi, bins) in hist.iter().enumerate() {
        let mut left = GhSum::default();
        for (b, s) in bins.iter().enumerate().take(bins.len().saturating_sub(1)) {
            left.g += s.g;
            left.h += s.h;
            left.count += s.count;
            if s.count == 0 {
                continue;
            }
            if let Some(gain) = split_gain(params, total, &left)
                && best.is_none_or(|(g, _, _)| gain > g)
            {
                best = Some((gain, features[fi], b as u8));
            }
        }
    }
    best
}

/// Plaintext histograms of `rows` for `features` of a binned table.
pub fn plain_histograms(
    binned: &crate::binning::Binned,
    features: &[usize],
    rows: &[u32],
    gh: &[Gh],
) -> Vec<Vec<GhSum>> {
    use rayon::prelude::*;
    features
        .par_iter()
        .map(|&f| {
            let col = binned.feature(f);
            let mut h = vec![GhSum::default(); binned.total_bins[f]];
            for &r in rows {
                h[col[r as usize] as usize].add(gh[r as usize]);
            }
            h
        })
        .collect()
}

/// Log-loss of scores against labels.
pub fn log_loss(scores: &[f64], labels: &[f64]) -> f64 {
    let n = scores.len().max(1) as f64;
    scores
        .iter()
        .zip(labels)
        .map(|(&u, &y)| {
            let p = crate::logistic::sigmoid(u).clamp(1e-15, 1.0 - 1e-15);
            -(y * p.ln() + (1.0 - y) * (1.0 - p).ln())
        })
        .sum::<f64>()
        / n
}

/// Per-tree training statistics (the guest's report).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TreeStats {
    /// Tree index.
    pub tree: u32,
    /// Training log-loss after this tree.
    pub train_loss: f64,
    /// Validation log-loss after this tree (if there are validation rows).
    pub validation_loss: Option<f64>,
    /// Leaves of the tree.
    pub leaves: u32,
}

/// What the guest reports after training.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BoostReport {
    /// One entry per tree trained (including ones dropped by early stopping).
    pub history: Vec<TreeStats>,
    /// Trees kept in the model.
    pub trees_kept: u32,
    /// Scores (log-odds) of the validation rows with the trees kept.
    pub validation_scores: Vec<f64>,
}
