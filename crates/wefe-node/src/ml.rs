//! What the learning runners (`vertical-lr`, `predict`: see
//! [`crate::runner`]) share: the parties' roles, the row alignment, the
//! hold-out split, feature tables read from a dataset, and stored models.
//!
//! The first participant is the **guest** (it holds the label column and
//! the Paillier key), the others are **hosts**. Each party brings one of the
//! job's datasets; its rows are aligned with the other parties' either by a
//! PSI job that ran before (`psi_job`: the intersection's ids) or by the
//! datasets' own id columns (they must hold the same ids). Before any
//! learning message, every party checks with the guest that they hold the
//! same ids in the same order (a salted SHA-256 of the sorted ids), so
//! mismatched data fails the job with both peers named instead of
//! training on misaligned rows.

use std::collections::HashMap;
use std::path::Path;

use alloy::primitives::Address;
use anyhow::{Context, Result, bail, ensure};
use sha2::{Digest, Sha256};
use wefe_core::{PeerId, Progress, Transport};
use wefe_ml::Features;
use wefe_ml::data::SplitMix64;
use wefe_ml::model::Evaluation;
use wefe_store::{JobRecord, Store};

use crate::scheduler::{ColumnRequest, NumericTable};

/// The parties of a learning job as seen from this member.
pub(crate) struct Parties {
    pub(crate) me: Address,
    pub(crate) guest: PeerId,
    pub(crate) hosts: Vec<PeerId>,
    pub(crate) all: Vec<Address>,
}

impl Parties {
    pub(crate) fn of(participants: &[Address], me: Address) -> Result<Self> {
        ensure!(participants.len() >= 2, "a learning job needs a guest and at least one host");
        ensure!(participants.contains(&me), "{me} is not a participant of this job");
        let peer = |a: &Address| PeerId::from_bytes(a.into_array());
        Ok(Self {
            me,
            guest: peer(&participants[0]),
            hosts: participants[1..].iter().map(peer).collect(),
            all: participants.to_vec(),
        })
    }

    pub(crate) fn is_guest(&self) -> bool {
        self.all[0] == self.me
    }

    pub(crate) fn names(&self) -> Vec<String> {
        self.all.iter().map(|a| format!("{a:#x}")).collect()
    }
}

/// Metrics rounded to 6 decimals (the summary is stored on chain).
pub(crate) fn rounded(e: &Evaluation) -> serde_json::Value {
    let r = |v: f64| (v * 1e6).round() / 1e6;
    serde_json::json!({
        "rows": e.rows, "positives": e.positives, "auc": r(e.auc), "ks": r(e.ks), "accuracy": r(e.accuracy),
        "precision": r(e.precision), "recall": r(e.recall), "f1": r(e.f1), "log_loss": r(e.log_loss),
        "threshold": e.threshold,
    })
}

/// The artifact of a completed job of one of `kinds` (its kind and bytes),
/// checked against its commitment.
pub(crate) async fn load_artifact(store: &Store, job_id: u64, kinds: &[&str]) -> Result<(String, Vec<u8>)> {
    let record = store.job(job_id).await?.with_context(|| format!("job {job_id} is not known to this node"))?;
    ensure!(
        kinds.contains(&record.job.kind.as_str()),
        "job {job_id} is a '{}' job, not {}",
        record.job.kind,
        kinds.join(" or ")
    );
    ensure!(
        record.status == crate::scheduler::status::COMPLETED,
        "job {job_id} is '{}' on this node, not completed",
        record.status
    );
    let bytes = read_checked(&record).with_context(|| format!("result of job {job_id}"))?;
    Ok((record.job.kind.clone(), bytes))
}

/// A completed job's artifact, refused when it no longer opens the
/// commitment recorded (and reported) when it was written.
fn read_checked(record: &JobRecord) -> Result<Vec<u8>> {
    crate::disclosure::read_committed(record)
}

/// The table's rows in the job's canonical order: the PSI intersection's ids
/// (each must be in the dataset) or all rows, sorted by id.
pub(crate) async fn aligned_rows(
    store: &Store,
    table: &NumericTable,
    psi_job: Option<u64>,
    participants: &[Address],
) -> Result<Vec<usize>> {
    let index: HashMap<&[u8], usize> = table.ids.iter().enumerate().map(|(i, id)| (id.as_slice(), i)).collect();
    ensure!(index.len() == table.ids.len(), "dataset {} has duplicate ids", table.dataset);
    let mut ids: Vec<&[u8]> = match psi_job {
        None => table.ids.iter().map(Vec::as_slice).collect(),
        Some(p) => {
            let record = store.job(p).await?.with_context(|| format!("PSI job {p} is not known to this node"))?;
            ensure!(record.job.kind == "psi", "job {p} is a '{}' job, not psi", record.job.kind);
            ensure!(
                record.status == crate::scheduler::status::COMPLETED,
                "PSI job {p} is '{}' on this node, not completed",
                record.status
            );
            ensure!(
                record.result_path.as_deref().is_some_and(|path| path.ends_with(".csv")),
                "PSI job {p} gave this member no intersection (only a count, or nothing: see its reveal)"
            );
            let psi_parties: Vec<Address> = serde_json::from_str(&record.job.participants)
                .with_context(|| format!("stored participants of PSI job {p}"))?;
            ensure!(
                participants.iter().all(|a| psi_parties.contains(a)),
                "PSI job {p} did not run between all participants of this job"
            );
            let bytes = read_checked(&record).with_context(|| format!("result of PSI job {p}"))?;
            let matched = psi_ids(&bytes, p)?;
            let mut rows = Vec::with_capacity(matched.len());
            // Reasons go on chain, readable by every member: no id in them.
            for (n, id) in matched.iter().enumerate() {
                let Some(&row) = index.get(id.as_slice()) else {
                    bail!("the id on line {} of PSI job {p}'s result is not in dataset {}", n + 2, table.dataset)
                };
                rows.push(row);
            }
            rows.sort_by(|&a, &b| table.ids[a].cmp(&table.ids[b]));
            ensure!(!rows.is_empty(), "PSI job {p}'s intersection is empty: nothing to learn from");
            return Ok(rows);
        }
    };
    ids.sort();
    Ok(ids.iter().map(|id| index[id]).collect())
}

/// The ids of a PSI result file (CSV: an `id` header, one id per row).
fn psi_ids(bytes: &[u8], job: u64) -> Result<Vec<Vec<u8>>> {
    let mut reader = csv::ReaderBuilder::new().has_headers(true).from_reader(bytes);
    let header = reader.byte_headers().with_context(|| format!("the result of PSI job {job} is not CSV"))?;
    ensure!(
        header.len() == 1 && &header[0] == b"id",
        "the result of PSI job {job} does not start with the 'id' header"
    );
    let mut ids = Vec::new();
    for (n, record) in reader.byte_records().enumerate() {
        let record = record.with_context(|| format!("the result of PSI job {job}, row {}", n + 2))?;
        ensure!(record.len() == 1, "the result of PSI job {job}, row {}: not one id", n + 2);
        ids.push(record[0].to_vec());
    }
    Ok(ids)
}

const TAG_ALIGN: &str = "ml/align/v1";

/// Checks with the guest (the guest: with every host) that both hold the
/// same ids in the same order; neither learns the other's ids.
pub(crate) async fn check_alignment(
    transport: &impl Transport,
    parties: &Parties,
    job_id: u64,
    table: &NumericTable,
    rows: &[usize],
) -> Result<()> {
    let mut hasher = Sha256::new();
    hasher.update(b"wefe/align/v1");
    hasher.update(job_id.to_be_bytes());
    for &r in rows {
        hasher.update((table.ids[r].len() as u64).to_be_bytes());
        hasher.update(&table.ids[r]);
    }
    let mut mine = (rows.len() as u64).to_be_bytes().to_vec();
    mine.extend_from_slice(&hasher.finalize());
    let peers = if parties.is_guest() { parties.hosts.clone() } else { vec![parties.guest] };
    for p in &peers {
        transport.send(p, TAG_ALIGN, mine.clone()).await?;
    }
    for p in &peers {
        let theirs = transport.recv(p, TAG_ALIGN).await?;
        ensure!(theirs.len() == 40, "peer {p} sent a malformed alignment message ({} bytes)", theirs.len());
        let their_rows = u64::from_be_bytes(theirs[..8].try_into().expect("8 bytes"));
        ensure!(
            their_rows == rows.len() as u64,
            "rows are not aligned with peer {p}: {} rows here, {their_rows} there",
            rows.len()
        );
        ensure!(theirs == mine, "rows are not aligned with peer {p}: both have {their_rows} rows but not the same ids");
    }
    Ok(())
}

/// The hold-out split: a seeded shuffle every party derives alike; the
/// first `fraction` of it is held out. Both parts keep the canonical order.
pub(crate) fn split(rows: &[usize], fraction: f64, seed: u64) -> (Vec<usize>, Vec<usize>) {
    let held = (rows.len() as f64 * fraction).round() as usize;
    let mut positions: Vec<usize> = (0..rows.len()).collect();
    SplitMix64::new(seed ^ 0x5EED_0F57_1170_0000).shuffle(&mut positions);
    let mut out = vec![false; rows.len()];
    positions[..held].iter().for_each(|&p| out[p] = true);
    let (mut train, mut validation) = (Vec::new(), Vec::new());
    for (p, &row) in rows.iter().enumerate() {
        if out[p] { validation.push(row) } else { train.push(row) }
    }
    (train, validation)
}

/// A transport that counts the messages of one tag it receives as progress
/// (one per mini-batch).
pub(crate) struct Counting<'a, T> {
    pub(crate) inner: &'a T,
    pub(crate) tag: &'static str,
    pub(crate) progress: &'a Progress,
}

impl<T: Transport> Transport for Counting<'_, T> {
    fn local_peer(&self) -> PeerId {
        self.inner.local_peer()
    }

    fn max_message_bytes(&self) -> usize {
        self.inner.max_message_bytes()
    }

    async fn send(&self, to: &PeerId, tag: &str, payload: Vec<u8>) -> Result<(), wefe_core::TransportError> {
        self.inner.send(to, tag, payload).await
    }

    async fn recv(&self, from: &PeerId, tag: &str) -> Result<Vec<u8>, wefe_core::TransportError> {
        let message = self.inner.recv(from, tag).await?;
        if tag == self.tag {
            self.progress.advance(1);
        }
        Ok(message)
    }
}

impl NumericTable {
    /// The feature rows `rows`, in that order.
    pub fn features(&self, rows: &[usize]) -> Result<Features> {
        let cols = self.names.len();
        let mut values = Vec::with_capacity(rows.len() * cols);
        for &r in rows {
            values.extend_from_slice(&self.values[r * cols..(r + 1) * cols]);
        }
        Features::new("feature table", rows.len(), cols, values).map_err(|e| anyhow::anyhow!("{e}"))
    }

    /// The feature rows `rows` as a matrix (NaN where a value is missing).
    pub fn matrix(&self, rows: &[usize]) -> ndarray::Array2<f64> {
        let cols = self.names.len();
        ndarray::Array2::from_shape_fn((rows.len(), cols), |(i, j)| self.values[rows[i] * cols + j])
    }

    /// The labels of `rows` (an error when the table has none).
    pub fn labels_of(&self, rows: &[usize]) -> Result<Vec<f64>> {
        let labels = self.labels.as_ref().with_context(|| format!("dataset {} has no label column", self.dataset))?;
        Ok(rows.iter().map(|&r| labels[r]).collect())
    }
}

/// Reads the requested numeric columns of a dataset CSV (validated at
/// import): every value must be a finite number, every label 0 or 1, and
/// errors name the dataset, the line and the column — never the value, as
/// a job's failure reason is readable by every member on chain.
pub fn read_table(dataset: &str, path: &Path, id_column: &str, request: &ColumnRequest) -> Result<NumericTable> {
    let shown = path.display();
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_path(path)
        .with_context(|| format!("cannot open dataset file {shown}"))?;
    let headers: Vec<String> = reader
        .headers()
        .with_context(|| format!("cannot read the header of {shown}"))?
        .iter()
        .map(|h| h.trim().to_owned())
        .collect();
    let find = |name: &str| headers.iter().position(|h| h == name);
    let id_index = find(id_column).with_context(|| format!("{shown} has no id column '{id_column}'"))?;
    let label_index = match &request.label {
        Some(label) => match find(label) {
            Some(i) => Some(i),
            None if request.label_required => {
                bail!("dataset {dataset} has no label column '{label}'")
            }
            None => None,
        },
        None => None,
    };
    let feature_indices: Vec<usize> = match &request.features {
        Some(names) => names
            .iter()
            .map(|n| find(n).with_context(|| format!("dataset {dataset} has no feature column '{n}'")))
            .collect::<Result<_>>()?,
        None => (0..headers.len())
            .filter(|&i| {
                i != id_index
                    && Some(i) != label_index
                    && request.label.as_deref() != Some(&headers[i])
                    && request.skip.as_deref() != Some(&headers[i])
            })
            .collect(),
    };
    ensure!(!feature_indices.is_empty(), "dataset {dataset} has no feature column besides the id and the label");
    let names: Vec<String> = feature_indices.iter().map(|&i| headers[i].clone()).collect();
    let (mut ids, mut values, mut labels) = (Vec::new(), Vec::new(), label_index.map(|_| Vec::new()));
    let mut record = csv::StringRecord::new();
    let mut line = 1u64;
    while reader.read_record(&mut record).with_context(|| format!("{shown}: cannot read the row after line {line}"))? {
        line = record.position().map_or(line + 1, |p| p.line());
        let field = |i: usize| record.get(i).unwrap_or("").trim();
        ids.push(field(id_index).as_bytes().to_vec());
        for (&i, name) in feature_indices.iter().zip(&names) {
            let text = field(i);
            values.push(if request.allow_missing && is_missing(text) {
                f64::NAN
            } else {
                number(text, dataset, line, name)?
            });
        }
        if let (Some(i), Some(labels)) = (label_index, labels.as_mut()) {
            let name = &headers[i];
            let v = number(field(i), dataset, line, name)?;
            ensure!(v == 0.0 || v == 1.0, "dataset {dataset}, line {line}, label column '{name}': not 0 or 1");
            labels.push(v);
        }
    }
    Ok(NumericTable { dataset: dataset.to_owned(), ids, names, values, labels })
}

/// A missing value where a job allows them (tree models and binning): an
/// empty cell, `NA`, `NaN` or `null` (any case).
pub(crate) fn is_missing(text: &str) -> bool {
    text.is_empty() || ["na", "nan", "null"].iter().any(|m| text.eq_ignore_ascii_case(m))
}

fn number(text: &str, dataset: &str, line: u64, column: &str) -> Result<f64> {
    ensure!(!text.is_empty(), "dataset {dataset}, line {line}, column '{column}': empty value");
    let v: f64 =
        text.parse().map_err(|_| anyhow::anyhow!("dataset {dataset}, line {line}, column '{column}': not a number"))?;
    ensure!(v.is_finite(), "dataset {dataset}, line {line}, column '{column}': not a finite number");
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_split_is_seeded_and_keeps_canonical_order() {
        let rows: Vec<usize> = (0..100).rev().collect();
        let (t, v) = split(&rows, 0.3, 9);
        assert_eq!((t.len(), v.len()), (70, 30));
        assert_eq!(split(&rows, 0.3, 9), (t.clone(), v.clone()));
        assert_ne!(split(&rows, 0.3, 10).1, v);
        // Canonical order kept: both parts are subsequences of `rows`.
        assert!(t.windows(2).all(|w| w[0] > w[1]) && v.windows(2).all(|w| w[0] > w[1]));
        assert_eq!(split(&rows, 0.0, 1).1.len(), 0);
    }

    #[test]
    fn tables_name_the_bad_cell() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.csv");
        let request = ColumnRequest {
            features: None,
            label: Some("y".into()),
            label_required: true,
            skip: None,
            allow_missing: false,
        };
        let read = |content: &str, request: &ColumnRequest| {
            std::fs::write(&path, content).unwrap();
            read_table("d", &path, "id", request)
        };
        let t = read("id,a,y,b\nx,1,0,2.5\nz,-3,1,1e3\n", &request).unwrap();
        assert_eq!(t.names, ["a", "b"]);
        assert_eq!(t.values, [1.0, 2.5, -3.0, 1000.0]);
        assert_eq!(t.labels.as_deref(), Some(&[0.0, 1.0][..]));
        let e = |content: &str| format!("{:#}", read(content, &request).unwrap_err());
        let bad = e("id,a,y\nx,abc,0\n");
        assert!(bad.contains("line 2, column 'a': not a number") && !bad.contains("abc"), "{bad}");
        assert!(e("id,a,y\nx,1,0\nz,,1\n").contains("line 3, column 'a': empty value"));
        assert!(e("id,a,y\nx,NaN,0\n").contains("not a finite number"));
        assert!(e("id,a,y\nx,1,2\n").contains("line 2, label column 'y': not 0 or 1"));
        assert!(e("id,a\nx,1\n").contains("no label column 'y'"));
        assert!(e("id,y\nx,1\n").contains("no feature column"));
        let named = ColumnRequest {
            features: Some(vec!["b".into()]),
            label: None,
            label_required: false,
            skip: None,
            allow_missing: false,
        };
        assert!(format!("{:#}", read("id,a\nx,1\n", &named).unwrap_err()).contains("no feature column 'b'"));
        // A host skips a column named like the label and never parses it.
        let host = ColumnRequest {
            features: None,
            label: None,
            label_required: false,
            skip: Some("y".into()),
            allow_missing: false,
        };
        let t = read("id,a,y\nx,1,7\n", &host).unwrap();
        assert_eq!((t.names.as_slice(), t.labels.is_none()), (&["a".to_owned()][..], true));
        // Tree models and binning read missing values as NaN; labels are never missing.
        let trees = ColumnRequest { allow_missing: true, ..request.clone() };
        let t = read("id,a,y\nx,,0\nz,NA,1\nw,2,0\n", &trees).unwrap();
        assert!(t.values[0].is_nan() && t.values[1].is_nan() && t.values[2] == 2.0);
        assert!(
            format!("{:#}", read("id,a,y\nx,1,\n", &trees).unwrap_err()).contains("line 2, column 'y': empty value")
        );
        // Prediction: the label is optional.
        let optional = ColumnRequest {
            features: None,
            label: Some("y".into()),
            label_required: false,
            skip: None,
            allow_missing: false,
        };
        assert!(read("id,a\nx,1\n", &optional).unwrap().labels.is_none());
    }

    #[tokio::test]
    async fn counted_messages_are_the_learning_progress() {
        let net = wefe_core::MemoryNetwork::new(1 << 20);
        let (a, b) = (PeerId::from_bytes([1; 20]), PeerId::from_bytes([2; 20]));
        let (a_net, b_net) = (net.endpoint(a), net.endpoint(b));
        let progress = Progress::new();
        progress.add_total(4);
        let counted = Counting { inner: &b_net, tag: "count", progress: &progress };
        for tag in ["count", "other", "count", "count", "count"] {
            a_net.send(&b, tag, vec![1]).await.unwrap();
        }
        counted.recv(&a, "count").await.unwrap();
        assert_eq!(progress.snapshot(), (1, 4));
        counted.recv(&a, "other").await.unwrap();
        assert_eq!(progress.snapshot(), (1, 4));
        for _ in 0..3 {
            counted.recv(&a, "count").await.unwrap();
        }
        assert_eq!(progress.snapshot(), (4, 4));
    }

    #[test]
    fn psi_results_and_csv_fields() {
        assert_eq!(psi_ids(b"id\na\nb\n", 1).unwrap(), vec![b"a".to_vec(), b"b".to_vec()]);
        assert!(psi_ids(b"{\"intersection_size\":3}\n", 1).is_err());
        // Ids holding a comma or a double quote are quoted, and read back as they were.
        let mut out = b"id\n".to_vec();
        crate::runner::write_csv_field(&mut out, b"a,\"b");
        out.push(b'\n');
        assert_eq!(out, b"id\n\"a,\"\"b\"\n");
        assert_eq!(psi_ids(&out, 1).unwrap(), vec![b"a,\"b".to_vec()]);
    }
}
