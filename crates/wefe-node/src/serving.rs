//! Online prediction with a split model, outside any job: the guest's node
//! answers `POST /models/{job}/predict` by asking every host's node, over the
//! gateway, for its partial scores of the requested ids (vertical LR) or for
//! the routing of those ids by each of its own splits (SecureBoost).
//!
//! A host serves a model only when the training job's params, approved on
//! chain by every party, say `"online_serving": true`; otherwise each
//! prediction needs a `predict` job of its own. Requests come only from the
//! model's guest (the gateway authenticates every message with the sender's
//! SM2 key registered on chain), carry at most [`MAX_ONLINE_ROWS`] ids, and
//! may only name rows the model was trained on (the training job's aligned
//! rows; any other id gets one uniform refusal, so the guest cannot probe
//! which ids a host holds). The host learns which of those rows the guest
//! scores, and no score. Online predictions are not recorded on
//! chain: the on-chain approval of the training job is the consent.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use alloy::primitives::Address;
use anyhow::{Context, Result, ensure};
use wefe_core::wire::{Reader, put_bytes, put_count, put_u64};
use wefe_core::{PeerId, Transport};
use wefe_ml::model::{PartyModel, Role};
use wefe_ml::secureboost::BoostModel;
use wefe_ml::secureboost::wire::Routing;
use wefe_ml::vertical_lr::predict::PartialScores;
use wefe_store::Store;

use crate::api::ApiError;
use crate::ml::{load_artifact, read_table};
use crate::runner::secureboost::TreeModelFile;
use crate::scheduler::{ColumnRequest, NumericTable, status};

/// Most ids one online request may score.
pub const MAX_ONLINE_ROWS: usize = 10_000;
/// Longest id accepted in a request (as at import).
const MAX_ID_BYTES: usize = crate::datasets::MAX_ID_BYTES;
/// How long the guest waits for a host's answer.
pub const HOST_TIMEOUT: Duration = Duration::from_secs(30);

const VERSION: u8 = 1;
const TAG_REQUEST: &str = "ml/serve/v1/request";

/// The gateway channel of a model's online serving: never a chain job id
/// (those count up from 1), so it cannot mix with a job's messages.
pub fn channel(model_job: u64) -> u64 {
    (1 << 63) | model_job
}

/// One response mailbox per model and host: the request id travels inside,
/// so a late answer is recognised and dropped by the next request instead of
/// staying queued (requests to one model are serialised, see [`predict_online`]).
const TAG_RESPONSE: &str = "ml/serve/v1/response";

/// A model's guest-side state: its feature table, read once (datasets and
/// models never change after they are stored).
type ModelSlot = Arc<tokio::sync::Mutex<Option<Arc<NumericTable>>>>;

/// The slot of a model; holding its lock makes online predictions with the
/// model one at a time on this node.
fn model_slot(model_job: u64) -> ModelSlot {
    static SLOTS: std::sync::OnceLock<std::sync::Mutex<HashMap<u64, ModelSlot>>> = std::sync::OnceLock::new();
    let mut slots = SLOTS.get_or_init(Default::default).lock().unwrap_or_else(|e| e.into_inner());
    Arc::clone(slots.entry(model_job).or_default())
}

/// The job kinds whose models are served online.
const SERVED_KINDS: [&str; 2] = ["vertical-lr", "secureboost"];

/// A party's share of a servable model.
#[derive(Debug)]
enum Share {
    Linear(PartyModel),
    Trees(TreeModelFile),
}

impl Share {
    fn job_id(&self) -> u64 {
        match self {
            Share::Linear(m) => m.job_id,
            Share::Trees(f) => f.job_id,
        }
    }
    fn parties(&self) -> &[String] {
        match self {
            Share::Linear(m) => &m.parties,
            Share::Trees(f) => &f.parties,
        }
    }
    fn party(&self) -> &str {
        match self {
            Share::Linear(m) => &m.party,
            Share::Trees(f) => &f.party,
        }
    }
    fn dataset(&self) -> &str {
        match self {
            Share::Linear(m) => &m.dataset,
            Share::Trees(f) => &f.dataset,
        }
    }
    fn features(&self) -> &[String] {
        match self {
            Share::Linear(m) => &m.features,
            Share::Trees(f) => &f.features,
        }
    }
    fn threshold(&self) -> f64 {
        match self {
            Share::Linear(m) => m.threshold,
            Share::Trees(f) => f.threshold,
        }
    }
    fn is_guest(&self) -> bool {
        match self {
            Share::Linear(m) => m.role == Role::Guest,
            Share::Trees(f) => matches!(f.model, BoostModel::Guest { .. }),
        }
    }

    /// A host's answer for `rows` of its table: partial scores or routing bits.
    fn host_answer(&self, table: &NumericTable, rows: &[usize]) -> Result<Vec<u8>> {
        match self {
            Share::Linear(m) => {
                let x = table.features(rows)?;
                Ok(PartialScores { scores: m.partial_scores(&x).map_err(|e| anyhow::anyhow!("{e}"))? }.encode())
            }
            Share::Trees(f) => {
                let edges = match &f.model {
                    BoostModel::Guest { edges, .. } | BoostModel::Host { edges, .. } => edges,
                };
                let x = edges.apply(table.matrix(rows).view())?;
                let splits = wefe_ml::secureboost::predict::host_routing(&f.model, &x)?;
                Ok(Routing { splits, more: false }.encode())
            }
        }
    }
}

/// The share of model `job` stored here.
async fn load_share(store: &Store, job: u64) -> Result<Share> {
    let (kind, bytes) = load_artifact(store, job, &SERVED_KINDS).await?;
    if kind == "secureboost" {
        Ok(Share::Trees(TreeModelFile::from_bytes(&bytes).with_context(|| format!("model of job {job}"))?))
    } else {
        Ok(Share::Linear(PartyModel::from_bytes(&bytes).map_err(|e| anyhow::anyhow!("model of job {job}: {e}"))?))
    }
}

/// True when the training job's approved params allow online serving.
pub fn allowed(params_json: &str) -> bool {
    serde_json::from_str::<serde_json::Value>(params_json)
        .ok()
        .and_then(|v| v.get("online_serving").and_then(serde_json::Value::as_bool))
        .unwrap_or(false)
}

fn encode_request(request: u64, ids: &[Vec<u8>]) -> Vec<u8> {
    let mut out = vec![VERSION];
    put_u64(&mut out, request);
    put_count(&mut out, ids.len());
    for id in ids {
        put_bytes(&mut out, id);
    }
    out
}

fn decode_request(bytes: &[u8]) -> Result<(u64, Vec<Vec<u8>>)> {
    let mut r = Reader::new("online prediction request", bytes);
    let version = r.u8()?;
    ensure!(version == VERSION, "online prediction request version {version}, expected {VERSION}");
    let request = r.u64()?;
    let count = r.count(MAX_ONLINE_ROWS)?;
    let ids = (0..count).map(|_| r.bytes(MAX_ID_BYTES).map(<[u8]>::to_vec)).collect::<Result<Vec<_>, _>>()?;
    r.finish()?;
    Ok((request, ids))
}

/// `request ‖ 0 ‖ answer` (`PartialScores` or `Routing`) or `request ‖ 1 ‖ error text`.
fn encode_response(request: u64, result: &Result<Vec<u8>>) -> Vec<u8> {
    let mut out = request.to_be_bytes().to_vec();
    match result {
        Ok(answer) => {
            out.push(0);
            out.extend_from_slice(answer);
        }
        Err(e) => {
            let mut text = format!("{e:#}");
            text.truncate(text.floor_char_boundary(1024));
            out.push(1);
            out.extend(text.into_bytes());
        }
    }
    out
}

/// The request id a response answers (`None`: too short to carry one).
fn response_request(bytes: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(bytes.get(..8)?.try_into().ok()?))
}

/// A host's answer, as the model's kind reads it.
enum Answer {
    Scores(Vec<f64>),
    Routing(Vec<(u32, u32, wefe_ml::secureboost::wire::Bits)>),
}

/// A host's answer: its scores or routing, a refusal (the request's fault:
/// 400) or garbage (the host's fault: 503).
fn decode_response(bytes: &[u8], rows: usize, host: &PeerId, trees: bool) -> Result<Answer, ApiError> {
    let bad = |why: String| ApiError::Unavailable(format!("host {host} {why}"));
    match bytes.get(8..).and_then(<[u8]>::split_first) {
        Some((0, body)) if trees => {
            let routing = Routing::decode(body, rows).map_err(|e| bad(format!("sent {e}")))?;
            Ok(Answer::Routing(routing.splits))
        }
        Some((0, body)) => {
            let scores = PartialScores::decode(body, rows).map_err(|e| bad(format!("sent {e}")))?.scores;
            if scores.len() != rows {
                return Err(bad(format!("sent {} partial scores for {rows} ids", scores.len())));
            }
            Ok(Answer::Scores(scores))
        }
        Some((1, text)) => Err(ApiError::BadRequest(format!("host {host} refused: {}", String::from_utf8_lossy(text)))),
        _ => Err(bad("sent a malformed online prediction response".into())),
    }
}

/// The rows of `ids` in `table` (an unknown id is an error naming it).
fn rows_of(table: &NumericTable, ids: &[Vec<u8>]) -> Result<Vec<usize>> {
    let index: HashMap<&[u8], usize> = table.ids.iter().enumerate().map(|(i, id)| (id.as_slice(), i)).collect();
    ids.iter()
        .map(|id| {
            index
                .get(id.as_slice())
                .copied()
                .with_context(|| format!("id '{}' is not in dataset {}", String::from_utf8_lossy(id), table.dataset))
        })
        .collect()
}

/// The model's feature table on this node (its dataset, imported here).
async fn model_table(store: &Store, model: &Share) -> Result<NumericTable> {
    let record = store
        .dataset(model.dataset())
        .await?
        .with_context(|| format!("dataset {} of the model is not imported on this node", model.dataset()))?;
    let request = ColumnRequest {
        features: Some(model.features().to_vec()),
        label: None,
        label_required: false,
        skip: None,
        allow_missing: matches!(model, Share::Trees(_)),
    };
    let dataset = model.dataset().to_owned();
    tokio::task::spawn_blocking(move || {
        read_table(&dataset, std::path::Path::new(&record.path), &record.id_column, &request)
    })
    .await
    .context("reading the dataset")?
}

/// One online prediction, from the guest's node.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct OnlinePrediction {
    /// The requested id.
    pub id: String,
    /// Linear score `u`.
    pub score: f64,
    /// `σ(u)`.
    pub probability: f64,
    /// `probability ≥ threshold`.
    pub prediction: bool,
}

/// Scores `ids` with model `model_job`: this node must hold its guest share.
pub async fn predict_online<T: Transport>(
    store: &Store,
    transport: &T,
    me: Address,
    model_job: u64,
    ids: Vec<String>,
) -> Result<Vec<OnlinePrediction>, ApiError> {
    let record =
        store.job(model_job).await?.ok_or_else(|| ApiError::NotFound(format!("no job {model_job} on this node")))?;
    if !SERVED_KINDS.contains(&record.job.kind.as_str()) || record.status != status::COMPLETED {
        return Err(ApiError::NotFound(format!(
            "job {model_job} is a {} job, {} here: not a trained model",
            record.job.kind, record.status
        )));
    }
    if !allowed(&record.job.params) {
        return Err(ApiError::Conflict(format!(
            "model job {model_job} was not approved for online serving (its params lack \"online_serving\": true); \
             run a predict job instead"
        )));
    }
    let model = load_share(store, model_job).await.map_err(|e| ApiError::Conflict(format!("{e:#}")))?;
    if !model.is_guest() || model.party() != format!("{me:#x}") {
        return Err(ApiError::Conflict(format!(
            "this node holds a host share of model {model_job}; ask the guest's node ({})",
            model.parties()[0]
        )));
    }
    if ids.is_empty() || ids.len() > MAX_ONLINE_ROWS {
        return Err(ApiError::BadRequest(format!("send 1 to {MAX_ONLINE_ROWS} ids, not {}", ids.len())));
    }
    if let Some(long) = ids.iter().position(|id| id.len() > MAX_ID_BYTES) {
        return Err(ApiError::BadRequest(format!("id {long} is longer than {MAX_ID_BYTES} bytes")));
    }
    let unique: HashSet<&String> = ids.iter().collect();
    if unique.len() != ids.len() {
        return Err(ApiError::BadRequest("the ids contain duplicates".into()));
    }
    let raw: Vec<Vec<u8>> = ids.iter().map(|s| s.as_bytes().to_vec()).collect();
    // Held until the hosts have answered: one request per model at a time.
    let slot = model_slot(model_job);
    let mut cached = slot.lock().await;
    let table = match &*cached {
        Some(table) => Arc::clone(table),
        None => {
            let table = Arc::new(model_table(store, &model).await.map_err(|e| ApiError::Conflict(format!("{e:#}")))?);
            *cached = Some(Arc::clone(&table));
            table
        }
    };
    let rows = rows_of(&table, &raw).map_err(|e| ApiError::BadRequest(format!("{e:#}")))?;

    let request = u64::from_be_bytes(rand_bytes());
    let hosts: Vec<PeerId> = model.parties()[1..]
        .iter()
        .map(|p| p.parse::<Address>().map(|a| PeerId::from_bytes(a.into_array())))
        .collect::<Result<_, _>>()
        .map_err(|e| ApiError::Conflict(format!("model {model_job}: bad party address: {e}")))?;
    let message = encode_request(request, &raw);
    for h in &hosts {
        transport
            .send(h, TAG_REQUEST, message.clone())
            .await
            .map_err(|e| ApiError::Unavailable(format!("host {h}: {e}")))?;
    }
    let deadline = tokio::time::Instant::now() + HOST_TIMEOUT;
    let mut answers = Vec::with_capacity(hosts.len());
    for h in &hosts {
        // Answers to earlier requests that timed out are dropped here.
        let answer = loop {
            let answer = tokio::time::timeout_at(deadline, transport.recv(h, TAG_RESPONSE))
                .await
                .map_err(|_| ApiError::Unavailable(format!("host {h} did not answer within {HOST_TIMEOUT:?}")))?
                .map_err(|e| ApiError::Unavailable(format!("host {h}: {e}")))?;
            if response_request(&answer) == Some(request) {
                break answer;
            }
        };
        answers.push(decode_response(&answer, rows.len(), h, matches!(model, Share::Trees(_)))?);
    }
    let conflict = |e: &dyn std::fmt::Display| ApiError::Conflict(format!("{e:#}"));
    let u = match &model {
        Share::Linear(m) => {
            let x = table.features(&rows).map_err(|e| conflict(&e))?;
            let mut u = m.partial_scores(&x).map_err(|e| conflict(&e))?;
            for answer in answers {
                if let Answer::Scores(scores) = answer {
                    u.iter_mut().zip(scores).for_each(|(a, b)| *a += b);
                }
            }
            u
        }
        Share::Trees(f) => {
            let edges = match &f.model {
                BoostModel::Guest { edges, .. } | BoostModel::Host { edges, .. } => edges,
            };
            let x = edges.apply(table.matrix(&rows).view()).map_err(|e| conflict(&e))?;
            let routing = answers
                .into_iter()
                .map(|a| match a {
                    Answer::Routing(r) => r,
                    Answer::Scores(_) => Vec::new(),
                })
                .collect();
            wefe_ml::secureboost::predict::combine(&f.model, &x, routing).map_err(|(host, e)| match host {
                Some(h) => ApiError::Unavailable(format!("host {}: {e}", hosts[h])),
                None => conflict(&e),
            })?
        }
    };
    Ok(ids
        .into_iter()
        .zip(u)
        .map(|(id, score)| {
            let probability = wefe_ml::logistic::sigmoid(score);
            OnlinePrediction { id, score, probability, prediction: probability >= model.threshold() }
        })
        .collect())
}

fn rand_bytes() -> [u8; 8] {
    let mut b = [0u8; 8];
    // The OS generator failing is not recoverable here; a fixed id still works
    // (ids only separate concurrent requests).
    let _ = getrandom::fill(&mut b);
    b
}

/// The members of a model (guest first), as gateway peers.
fn model_peers(model: &Share) -> Vec<PeerId> {
    model
        .parties()
        .iter()
        .filter_map(|p| p.parse::<Address>().ok())
        .map(|a| PeerId::from_bytes(a.into_array()))
        .collect()
}

/// Serves every model this node holds a host share of and that was approved
/// for online serving, starting newly trained ones as they complete; runs
/// until the task is dropped.
///
/// `transport_for(channel, parties)` gives the transport of a model's
/// serving channel between its parties; it is also called (and the
/// transport dropped) for models this node is the guest of, so that the
/// gateway accepts answers on their channels from the model's hosts only.
pub async fn serve_models<T, F>(store: Store, me: Address, transport_for: F)
where
    T: Transport + 'static,
    F: Fn(u64, &[PeerId]) -> T + Send + Sync + 'static,
{
    let mut served = HashSet::new();
    loop {
        if let Ok(jobs) = store.jobs().await {
            for job in jobs {
                let id = job.job.job_id;
                if !SERVED_KINDS.contains(&job.job.kind.as_str())
                    || job.status != status::COMPLETED
                    || !allowed(&job.job.params)
                    || served.contains(&id)
                {
                    continue;
                }
                match load_share(&store, id).await {
                    Ok(model) if !model.is_guest() && model.party() == format!("{me:#x}") => {
                        served.insert(id);
                        let transport = transport_for(channel(id), &model_peers(&model));
                        let store = store.clone();
                        tokio::spawn(async move {
                            if let Err(e) = serve_one(&store, &transport, model).await {
                                tracing::warn!(model = id, error = %format!("{e:#}"), "online serving stopped");
                            }
                        });
                        tracing::info!(model = id, "serving online predictions");
                    }
                    Ok(model) => {
                        if model.party() == format!("{me:#x}") {
                            drop(transport_for(channel(id), &model_peers(&model)));
                        }
                        served.insert(id);
                    }
                    // Retried on the next round (e.g. the dataset is imported later).
                    Err(e) => tracing::warn!(model = id, error = %format!("{e:#}"), "cannot serve the model yet"),
                }
            }
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}

/// Answers the guest's requests for one model, one at a time, for the rows
/// the model was trained on only: any other id gets the same refusal, so the
/// guest cannot test which ids this host holds beyond the alignment.
async fn serve_one<T: Transport>(store: &Store, transport: &T, model: Share) -> Result<()> {
    let guest: Address = model.parties()[0].parse().context("the model's guest address")?;
    let guest = PeerId::from_bytes(guest.into_array());
    let table = Arc::new(model_table(store, &model).await?);
    let training = store.job(model.job_id()).await?.context("the model's training job")?;
    let parties: Vec<Address> =
        serde_json::from_str(&training.job.participants).context("the training job's parties")?;
    let peers: Vec<PeerId> = parties.iter().map(|a| PeerId::from_bytes(a.into_array())).collect();
    let psi_job = match wefe_core::job::JobSpec::parse(&training.job.kind, &training.job.params, &peers) {
        Ok(wefe_core::job::JobSpec::VerticalLr(params)) => params.psi_job,
        Ok(wefe_core::job::JobSpec::SecureBoost(params)) => params.psi_job,
        Ok(other) => anyhow::bail!("job {} is a {} job, not a servable model", model.job_id(), other.kind()),
        Err(e) => anyhow::bail!("the training job's params: {e}"),
    };
    let allowed: HashSet<usize> =
        crate::ml::aligned_rows(store, &table, psi_job, &parties).await?.into_iter().collect();
    loop {
        let bytes = transport.recv(&guest, TAG_REQUEST).await?;
        let (request, ids) = match decode_request(&bytes) {
            Ok(decoded) => decoded,
            Err(e) => {
                tracing::warn!(model = model.job_id(), error = %format!("{e:#}"), "malformed online request ignored");
                continue;
            }
        };
        let result = match rows_of(&table, &ids) {
            Ok(rows) if rows.iter().all(|r| allowed.contains(r)) => model.host_answer(&table, &rows),
            _ => Err(anyhow::anyhow!("the request names ids outside the rows the model was trained on")),
        };
        // A guest that went away misses this answer; the next request is served.
        if let Err(e) = transport.send(&guest, TAG_RESPONSE, encode_response(request, &result)).await {
            tracing::warn!(model = model.job_id(), error = %e, "cannot answer an online request");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_round_trip_and_bad_ones_are_errors() {
        let ids = vec![b"a".to_vec(), b"bc".to_vec()];
        let bytes = encode_request(7, &ids);
        assert_eq!(decode_request(&bytes).unwrap(), (7, ids));
        assert!(decode_request(&bytes[..bytes.len() - 1]).is_err());
        assert!(decode_request(&[2]).is_err());
        let host = PeerId::from_bytes([9; 20]);
        let scores = |v: Vec<f64>| Ok(PartialScores { scores: v }.encode());
        let answer = encode_response(5, &scores(vec![1.0, 2.0]));
        assert_eq!(response_request(&answer), Some(5));
        assert!(matches!(decode_response(&answer, 2, &host, false), Ok(Answer::Scores(s)) if s == vec![1.0, 2.0]));
        assert_eq!(response_request(&[1, 2]), None);
        let err = decode_response(&encode_response(5, &scores(vec![1.0])), 2, &host, false).err().unwrap().to_string();
        assert!(err.contains("1 partial scores for 2 ids"), "{err}");
        let refused = decode_response(&encode_response(5, &Err(anyhow::anyhow!("id 'x' unknown"))), 2, &host, false);
        assert!(refused.err().unwrap().to_string().contains("refused: id 'x' unknown"));
        assert!(decode_response(&[7], 1, &host, false).is_err());
        // A tree model's answer is routing bits over the requested rows.
        let bits = wefe_ml::secureboost::wire::Bits::from_fn(2, |r| r == 0);
        let routing = Ok(Routing { splits: vec![(0, 0, bits.clone())], more: false }.encode());
        let answer = encode_response(6, &routing);
        assert!(matches!(decode_response(&answer, 2, &host, true), Ok(Answer::Routing(r)) if r == vec![(0, 0, bits)]));
        assert!(decode_response(&answer, 3, &host, true).is_err(), "bits for 2 rows, 3 requested");
        assert!(decode_response(&encode_response(5, &scores(vec![1.0, 2.0])), 2, &host, true).is_err());
        assert!(allowed(r#"{"label":"y","online_serving":true}"#));
        assert!(!allowed(r#"{"label":"y"}"#) && !allowed("not json"));
        assert_ne!(channel(1), 1);
    }
}
