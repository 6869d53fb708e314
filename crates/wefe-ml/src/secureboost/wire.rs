//! SecureBoost messages: `version ‖ kind ‖ body`, every count bounded
//! before anything is allocated. Public for the node's online serving, which
//! sends a host's [`Routing`] answer outside a job.
#![allow(missing_docs)]

use wefe_crypto::{Ciphertext, PublicKey};

use super::BoostParams;
use crate::wire::{Reader, ReaderExt, put_bytes, put_ciphertexts, put_count, put_f64, put_u32, put_u64};
use crate::{Error, Result};

/// Wire version of every SecureBoost message.
pub const VERSION: u8 = 1;
/// Most rows per party.
pub const MAX_ROWS: usize = 1 << 31;
/// Most candidates one host offers for one node.
pub const MAX_CANDIDATES: usize = 1 << 24;
/// Most nodes in one level message.
pub const MAX_LEVEL_NODES: usize = 1 << 16;
const MAX_KEY_BYTES: usize = 4096;
const MAX_PARAMS_BYTES: usize = 4096;

pub const TAG_SETUP: &str = "ml/sbt/v1/setup";
pub const TAG_GRADIENTS: &str = "ml/sbt/v1/gradients";
pub const TAG_LEVEL: &str = "ml/sbt/v1/level";
pub const TAG_CANDIDATES: &str = "ml/sbt/v1/candidates";
pub const TAG_DECISION: &str = "ml/sbt/v1/decision";
pub const TAG_PARTITION: &str = "ml/sbt/v1/partition";
pub const TAG_ROUTING: &str = "ml/sbt/v1/routing";
pub const TAG_TREE_END: &str = "ml/sbt/v1/tree-end";

const KIND_SETUP: u8 = 1;
const KIND_GRADIENTS: u8 = 2;
const KIND_LEVEL: u8 = 3;
const KIND_CANDIDATES: u8 = 4;
const KIND_DECISION: u8 = 5;
const KIND_PARTITION: u8 = 6;
const KIND_ROUTING: u8 = 7;
const KIND_TREE_END: u8 = 8;

/// A packed bitset over `len` items.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bits {
    len: usize,
    bytes: Vec<u8>,
}

impl Bits {
    /// `len` bits from a predicate.
    pub fn from_fn(len: usize, mut f: impl FnMut(usize) -> bool) -> Self {
        let mut bytes = vec![0u8; len.div_ceil(8)];
        for i in 0..len {
            if f(i) {
                bytes[i / 8] |= 1 << (i % 8);
            }
        }
        Self { len, bytes }
    }
    /// Bit `i`.
    pub fn get(&self, i: usize) -> bool {
        i < self.len && self.bytes[i / 8] >> (i % 8) & 1 == 1
    }
    /// Number of bits.
    pub fn len(&self) -> usize {
        self.len
    }
    /// No bits at all.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
    fn put(&self, out: &mut Vec<u8>) {
        put_count(out, self.len);
        out.extend_from_slice(&self.bytes);
    }
    fn read(r: &mut Reader<'_>, max: usize) -> Result<Self> {
        let len = r.count(max)?;
        let bytes = r.take(len.div_ceil(8))?.to_vec();
        if len % 8 != 0 && bytes.last().is_some_and(|b| b >> (len % 8) != 0) {
            return Err(r.malformed("bits set past the end of a bitset"));
        }
        Ok(Self { len, bytes })
    }
}

fn put_rows(out: &mut Vec<u8>, rows: &[u32]) {
    put_count(out, rows.len());
    rows.iter().for_each(|&r| put_u32(out, r));
}

/// Ascending row indices below `bound`.
fn read_rows(r: &mut Reader<'_>, bound: usize) -> Result<Vec<u32>> {
    let count = r.count(bound)?;
    let raw = r.records(count, 4)?;
    let mut rows = Vec::with_capacity(count);
    for b in raw {
        let v = u32::from_be_bytes(b.try_into().expect("4 bytes"));
        if v as usize >= bound || rows.last().is_some_and(|&l| l >= v) {
            return Err(r.malformed("row indices are not ascending below the row count"));
        }
        rows.push(v);
    }
    Ok(rows)
}

/// Guest → host: parameters, row counts, key, the host's index.
#[derive(Debug, Clone, PartialEq)]
pub struct Setup {
    pub params: BoostParams,
    pub train_rows: u64,
    pub validation_rows: u64,
    pub host_index: u32,
    pub public_key: PublicKey,
}

impl Setup {
    pub fn encode(&self) -> Vec<u8> {
        let mut out = vec![VERSION, KIND_SETUP];
        put_bytes(&mut out, &serde_json::to_vec(&self.params).expect("params serialise"));
        put_u64(&mut out, self.train_rows);
        put_u64(&mut out, self.validation_rows);
        put_u32(&mut out, self.host_index);
        put_bytes(&mut out, &self.public_key.to_bytes());
        out
    }

    pub fn decode(bytes: &[u8], allow_insecure_keys: bool) -> Result<Self> {
        let mut r = Reader::new("SecureBoost setup", bytes);
        r.header(VERSION, KIND_SETUP)?;
        let params: BoostParams = serde_json::from_slice(r.bytes(MAX_PARAMS_BYTES)?)
            .map_err(|e| r.malformed::<Error>(format!("params: {e}")))?;
        params.validate().map_err(|e| r.malformed::<Error>(e.to_string()))?;
        let train_rows = r.u64()?;
        let validation_rows = r.u64()?;
        if train_rows as usize > MAX_ROWS || validation_rows as usize > MAX_ROWS {
            return Err(r.malformed("row count above the limit"));
        }
        let host_index = r.u32()?;
        let key = r.bytes(MAX_KEY_BYTES)?;
        let public_key =
            if allow_insecure_keys { PublicKey::from_bytes_insecure(key) } else { PublicKey::from_bytes(key) }
                .map_err(|e| r.malformed::<Error>(format!("public key: {e}")))?;
        r.finish()?;
        Ok(Self { params, train_rows, validation_rows, host_index, public_key })
    }
}

/// Guest → host: a chunk of the tree's row ciphertexts (sampled rows, ascending).
#[derive(Debug, Clone, PartialEq)]
pub struct Gradients {
    pub tree: u32,
    pub offset: u64,
    pub cts: Vec<Ciphertext>,
}

impl Gradients {
    pub fn encode(&self, pk: &PublicKey) -> Vec<u8> {
        let mut out = vec![VERSION, KIND_GRADIENTS];
        put_u32(&mut out, self.tree);
        put_u64(&mut out, self.offset);
        put_ciphertexts(&mut out, pk, &self.cts);
        out
    }
    pub fn decode(bytes: &[u8], pk: &PublicKey, max: usize) -> Result<Self> {
        let mut r = Reader::new("SecureBoost gradients", bytes);
        r.header(VERSION, KIND_GRADIENTS)?;
        let tree = r.u32()?;
        let offset = r.u64()?;
        let cts = r.ciphertexts(pk, max)?;
        r.finish()?;
        Ok(Self { tree, offset, cts })
    }
}

/// One node to expand: its rows (all training rows reaching it), which of
/// them are in the tree's sample, and its parent (`u32::MAX` for the root).
#[derive(Debug, Clone, PartialEq)]
pub struct LevelNode {
    pub id: u32,
    pub parent: u32,
    pub rows: Vec<u32>,
    pub sampled: Bits,
}

/// Guest → hosts: the nodes of one level.
#[derive(Debug, Clone, PartialEq)]
pub struct Level {
    pub tree: u32,
    pub depth: u32,
    pub nodes: Vec<LevelNode>,
}

impl Level {
    pub fn encode(&self) -> Vec<u8> {
        let mut out = vec![VERSION, KIND_LEVEL];
        put_u32(&mut out, self.tree);
        put_u32(&mut out, self.depth);
        put_count(&mut out, self.nodes.len());
        for n in &self.nodes {
            put_u32(&mut out, n.id);
            put_u32(&mut out, n.parent);
            put_rows(&mut out, &n.rows);
            n.sampled.put(&mut out);
        }
        out
    }
    pub fn decode(bytes: &[u8], rows: usize) -> Result<Self> {
        let mut r = Reader::new("SecureBoost level", bytes);
        r.header(VERSION, KIND_LEVEL)?;
        let tree = r.u32()?;
        let depth = r.u32()?;
        let count = r.count(MAX_LEVEL_NODES)?;
        let mut nodes = Vec::with_capacity(count.min(64));
        for _ in 0..count {
            let id = r.u32()?;
            let parent = r.u32()?;
            let node_rows = read_rows(&mut r, rows)?;
            let sampled = Bits::read(&mut r, rows)?;
            if sampled.len() != node_rows.len() {
                return Err(r.malformed("sample bitset does not match the node's rows"));
            }
            nodes.push(LevelNode { id, parent, rows: node_rows, sampled });
        }
        r.finish()?;
        Ok(Self { tree, depth, nodes })
    }
}

/// One node's candidates: opaque ids and their left-side sums packed
/// `slots` per ciphertext (candidate `k` in ciphertext `k / slots`, slot `k % slots`).
#[derive(Debug, Clone, PartialEq)]
pub struct NodeCandidates {
    pub node: u32,
    pub ids: Vec<u64>,
    pub packed: Vec<Ciphertext>,
}

/// Host → guest: the candidates of every node of a level.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidates {
    pub tree: u32,
    pub depth: u32,
    pub nodes: Vec<NodeCandidates>,
}

impl Candidates {
    pub fn encode(&self, pk: &PublicKey) -> Vec<u8> {
        let mut out = vec![VERSION, KIND_CANDIDATES];
        put_u32(&mut out, self.tree);
        put_u32(&mut out, self.depth);
        put_count(&mut out, self.nodes.len());
        for n in &self.nodes {
            put_u32(&mut out, n.node);
            put_count(&mut out, n.ids.len());
            n.ids.iter().for_each(|&id| put_u64(&mut out, id));
            put_ciphertexts(&mut out, pk, &n.packed);
        }
        out
    }
    pub fn decode(bytes: &[u8], pk: &PublicKey, slots: usize) -> Result<Self> {
        let mut r = Reader::new("SecureBoost candidates", bytes);
        r.header(VERSION, KIND_CANDIDATES)?;
        let tree = r.u32()?;
        let depth = r.u32()?;
        let count = r.count(MAX_LEVEL_NODES)?;
        let mut nodes = Vec::with_capacity(count.min(64));
        for _ in 0..count {
            let node = r.u32()?;
            let n = r.count(MAX_CANDIDATES)?;
            let ids: Vec<u64> =
                r.records(n, 8)?.into_iter().map(|b| u64::from_be_bytes(b.try_into().expect("8 bytes"))).collect();
            let packed = r.ciphertexts(pk, MAX_CANDIDATES)?;
            if packed.len() != ids.len().div_ceil(slots.max(1)) {
                return Err(r.malformed(format!("{} candidates in {} ciphertexts", ids.len(), packed.len())));
            }
            nodes.push(NodeCandidates { node, ids, packed });
        }
        r.finish()?;
        Ok(Self { tree, depth, nodes })
    }
}

/// Guest → host: the host's splits chosen at this level `(node, id, gain)`.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    pub tree: u32,
    pub depth: u32,
    pub chosen: Vec<(u32, u64, f64)>,
}

impl Decision {
    pub fn encode(&self) -> Vec<u8> {
        let mut out = vec![VERSION, KIND_DECISION];
        put_u32(&mut out, self.tree);
        put_u32(&mut out, self.depth);
        put_count(&mut out, self.chosen.len());
        for &(node, id, gain) in &self.chosen {
            put_u32(&mut out, node);
            put_u64(&mut out, id);
            put_f64(&mut out, gain);
        }
        out
    }
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        let mut r = Reader::new("SecureBoost decision", bytes);
        r.header(VERSION, KIND_DECISION)?;
        let tree = r.u32()?;
        let depth = r.u32()?;
        let n = r.count(MAX_LEVEL_NODES)?;
        let chosen = (0..n).map(|_| Ok((r.u32()?, r.u64()?, r.f64()?))).collect::<Result<_>>()?;
        r.finish()?;
        Ok(Self { tree, depth, chosen })
    }
}

/// Host → guest: for each chosen split, which of the node's rows go left.
#[derive(Debug, Clone, PartialEq)]
pub struct Partition {
    pub tree: u32,
    pub depth: u32,
    pub nodes: Vec<(u32, Bits)>,
}

impl Partition {
    pub fn encode(&self) -> Vec<u8> {
        let mut out = vec![VERSION, KIND_PARTITION];
        put_u32(&mut out, self.tree);
        put_u32(&mut out, self.depth);
        put_count(&mut out, self.nodes.len());
        for (node, bits) in &self.nodes {
            put_u32(&mut out, *node);
            bits.put(&mut out);
        }
        out
    }
    pub fn decode(bytes: &[u8], rows: usize) -> Result<Self> {
        let mut r = Reader::new("SecureBoost partition", bytes);
        r.header(VERSION, KIND_PARTITION)?;
        let tree = r.u32()?;
        let depth = r.u32()?;
        let n = r.count(MAX_LEVEL_NODES)?;
        let nodes = (0..n).map(|_| Ok((r.u32()?, Bits::read(&mut r, rows)?))).collect::<Result<_>>()?;
        r.finish()?;
        Ok(Self { tree, depth, nodes })
    }
}

/// Host → guest: for the host's splits `(tree, node)`, which rows go left
/// (validation rows during training, the rows to predict in a predict job).
#[derive(Debug, Clone, PartialEq)]
pub struct Routing {
    pub splits: Vec<(u32, u32, Bits)>,
    /// More routing messages follow.
    pub more: bool,
}

impl Routing {
    pub fn encode(&self) -> Vec<u8> {
        let mut out = vec![VERSION, KIND_ROUTING];
        out.push(u8::from(self.more));
        put_count(&mut out, self.splits.len());
        for (tree, node, bits) in &self.splits {
            put_u32(&mut out, *tree);
            put_u32(&mut out, *node);
            bits.put(&mut out);
        }
        out
    }
    pub fn decode(bytes: &[u8], rows: usize) -> Result<Self> {
        let mut r = Reader::new("SecureBoost routing", bytes);
        r.header(VERSION, KIND_ROUTING)?;
        let more = match r.u8()? {
            0 => false,
            1 => true,
            _ => return Err(r.malformed("bad continuation flag")),
        };
        let n = r.count(MAX_LEVEL_NODES)?;
        let splits = (0..n)
            .map(|_| {
                let (tree, node) = (r.u32()?, r.u32()?);
                let bits = Bits::read(&mut r, rows)?;
                if bits.len() != rows {
                    return Err(r.malformed("routing bitset does not cover every row"));
                }
                Ok((tree, node, bits))
            })
            .collect::<Result<_>>()?;
        r.finish()?;
        Ok(Self { splits, more })
    }
}

/// Guest → hosts: after a tree, whether training stops and how many trees the model keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TreeEnd {
    pub tree: u32,
    pub stop: bool,
    pub keep: u32,
}

impl TreeEnd {
    pub fn encode(&self) -> Vec<u8> {
        let mut out = vec![VERSION, KIND_TREE_END];
        put_u32(&mut out, self.tree);
        out.push(u8::from(self.stop));
        put_u32(&mut out, self.keep);
        out
    }
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        let mut r = Reader::new("SecureBoost tree end", bytes);
        r.header(VERSION, KIND_TREE_END)?;
        let tree = r.u32()?;
        let stop = match r.u8()? {
            0 => false,
            1 => true,
            _ => return Err(r.malformed("bad stop flag")),
        };
        let keep = r.u32()?;
        r.finish()?;
        Ok(Self { tree, stop, keep })
    }
}
