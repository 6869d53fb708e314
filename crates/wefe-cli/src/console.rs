//! `wefe console`: the auditor's view of a consortium in a browser, read
//! straight from the chain (no wefe node, no key).
//!
//! One process: a poller follows the chain head and appends the four
//! contracts' events to an in-memory index ([`Index`]); an HTTP server on a
//! loopback address serves a JSON API derived from that index and a page
//! (HTML, CSS and JavaScript compiled into the binary, no framework, nothing
//! fetched at run time) that renders it. The page updates when the index
//! grows (server-sent events on `/api/live`), shows the last indexed block,
//! and checks an artifact against its on-chain commitment in the browser
//! (WebCrypto HMAC-SHA-256; the file and the key never leave the page).
//!
//! Trust: everything served is public to anyone with chain access, but not to
//! every web page the auditor has open. The server answers only requests
//! whose `Host` is the address it listens on (or `--allow-host`), so a
//! foreign site cannot read it through DNS rebinding; it sends no CORS
//! headers, so other origins cannot read its answers; it has no state-changing
//! route. Event fields (member names, reasons, metadata) are chosen by
//! members and may be hostile: the page only ever inserts them as text.
//!
//! Chain problems (unreachable RPC, another chain id, contracts that are not
//! wefe's at the configured addresses) do not stop the console: `/api/status`
//! reports them with the setting to change, the page shows them, and the
//! poller retries.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use alloy::primitives::Address;
use anyhow::{Context, Result};
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio::sync::{RwLock, watch};
use wefe_chain::audit::{self, AuditEvent, AuditQuery};
use wefe_chain::{AnyBackend, ChainBackend, Governance};

use crate::args::{ConsoleArgs, GlobalArgs};
use crate::commands::audit::csv_cell;
use crate::context;

/// Most events one `/api/events` answer holds (the page pages through more).
const MAX_PAGE: usize = 1_000;
/// Most `/api/live` streams open at once: anything on the auditor's host can
/// open them, and each holds a connection and a task until closed. Beyond
/// it a stream is refused (503); the page tries again later.
const MAX_LIVE_STREAMS: usize = 64;

/// A problem with the chain, for the page: what is wrong and what to change.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Problem {
    /// `connect`, `contracts` or `scan`.
    pub stage: &'static str,
    /// The error, one line.
    pub message: String,
    /// What to change.
    pub hint: &'static str,
}

/// The events read so far and the chain's state.
#[derive(Debug, Default)]
pub struct Index {
    /// Events in chain order.
    pub events: Vec<AuditEvent>,
    /// Last block scanned (`None` before the first scan).
    pub indexed_block: Option<u64>,
    /// Chain head at the last poll.
    pub head: Option<u64>,
    /// Unix seconds of the last successful poll.
    pub updated_at: Option<u64>,
    /// The current problem, if the last poll failed.
    pub problem: Option<Problem>,
}

/// Shared state of the server.
pub struct Console {
    rpc_url: String,
    chain_id: u64,
    deployed_block: u64,
    contracts: Vec<(String, String)>,
    index: RwLock<Index>,
    updates: watch::Sender<u64>,
    allowed_hosts: Vec<String>,
    scan_step: u64,
    /// `/api/live` streams open now.
    live_streams: std::sync::atomic::AtomicUsize,
    /// Set when the console stops: live streams end, so the graceful
    /// shutdown does not wait for browser tabs.
    stopping: watch::Sender<bool>,
}

impl Console {
    /// A console for the chain configuration in `global` (read, not
    /// connected yet), serving on `listen`.
    pub fn new(global: &GlobalArgs, listen: SocketAddr, args: &ConsoleArgs) -> Result<Arc<Self>> {
        let mut config = wefe_chain::ChainConfig::load(&global.chain_config)?;
        if let Some(url) = &global.rpc_url {
            config.chain.rpc_url = url.clone();
        }
        let c = &config.contracts;
        let contracts = vec![
            ("Consortium".to_owned(), c.consortium.to_checksum(None)),
            ("CertificateRegistry".to_owned(), c.certificate_registry.to_checksum(None)),
            ("DataRegistry".to_owned(), c.data_registry.to_checksum(None)),
            ("JobRegistry".to_owned(), c.job_registry.to_checksum(None)),
        ];
        let (updates, _) = watch::channel(0);
        Ok(Arc::new(Console {
            rpc_url: config.chain.rpc_url.clone(),
            chain_id: config.chain.chain_id,
            deployed_block: c.deployed_block,
            contracts,
            index: RwLock::new(Index::default()),
            updates,
            allowed_hosts: allowed_hosts(listen, &args.allow_host),
            scan_step: args.scan_step,
            live_streams: std::sync::atomic::AtomicUsize::new(0),
            stopping: watch::channel(false).0,
        }))
    }
}

/// `Host` values the server answers: the listen address, and `localhost` /
/// `127.0.0.1` / `[::1]` with its port when it listens on loopback.
fn allowed_hosts(listen: SocketAddr, extra: &[String]) -> Vec<String> {
    let port = listen.port();
    let mut hosts = vec![listen.to_string()];
    if listen.ip().is_loopback() || listen.ip().is_unspecified() {
        hosts.extend([format!("localhost:{port}"), format!("127.0.0.1:{port}"), format!("[::1]:{port}")]);
    }
    hosts.extend(extra.iter().map(|h| h.to_ascii_lowercase()));
    hosts
}

/// Runs `wefe console` until interrupted.
pub async fn run(global: &GlobalArgs, args: &ConsoleArgs) -> Result<()> {
    // A bad configuration fails before the port is taken.
    wefe_chain::ChainConfig::load(&global.chain_config)?;
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {} (choose another with --listen)", args.listen))?;
    // The bound address (the port may have been 0: any free one).
    let addr = listener.local_addr()?;
    let console = Console::new(global, addr, args)?;
    eprintln!("wefe console: http://{addr}/ (chain {}, {}); Ctrl-C stops it", console.chain_id, console.rpc_url);
    let poller = tokio::spawn(follow(console.clone(), global.clone(), Duration::from_secs(args.poll_secs)));
    let app = router(console.clone());
    let served = axum::serve(listener, app).with_graceful_shutdown(async move {
        let _ = tokio::signal::ctrl_c().await;
        console.stopping.send_replace(true);
    });
    let result = served.await.context("console server");
    poller.abort();
    result
}

/// Follows the chain: connects (and reconnects after a problem), checks the
/// contracts, and scans new blocks every `every` (without pausing while it
/// is more than `--scan-step` blocks behind).
async fn follow(console: Arc<Console>, global: GlobalArgs, every: Duration) {
    let mut gov: Option<Governance<AnyBackend>> = None;
    loop {
        let step = poll(&console, &global, &mut gov).await;
        let caught_up = !matches!(step, Ok(false));
        {
            let mut index = console.index.write().await;
            match step {
                Ok(_) => {
                    index.problem = None;
                    index.updated_at = Some(unix_now());
                }
                Err(problem) => {
                    // A problem drops the connection, so the next poll re-checks everything.
                    gov = None;
                    index.problem = Some(problem);
                }
            }
        }
        console.updates.send_modify(|n| *n += 1);
        if caught_up {
            tokio::time::sleep(every).await;
        }
    }
}

async fn poll(
    console: &Console,
    global: &GlobalArgs,
    gov: &mut Option<Governance<AnyBackend>>,
) -> std::result::Result<bool, Problem> {
    if gov.is_none() {
        let connected = context::connect(global, false).await.map_err(|e| Problem {
            stage: "connect",
            message: one_line(&e),
            hint: "check that the chain node is running and that --rpc-url (or rpc_url in the chain \
                   configuration) and chain_id match it",
        })?;
        connected.check_contracts().await.map_err(|e| Problem {
            stage: "contracts",
            message: one_line(&anyhow::Error::from(e)),
            hint: "the addresses in the chain configuration do not hold wefe's contracts on this chain: \
                   use the chain.toml written by `wefe chain deploy` for this chain",
        })?;
        *gov = Some(connected);
    }
    let Some(g) = gov.as_ref() else { return Ok(true) };
    let scan_problem = |e: wefe_chain::ChainError| Problem {
        stage: "scan",
        message: one_line(&anyhow::Error::from(e)),
        hint: "the chain node stopped answering or refused a log query; the console retries by itself",
    };
    let head = g.backend().head_block().await.map_err(scan_problem)?;
    let from = console.index.read().await.indexed_block.map_or(console.deployed_block, |b| b + 1);
    // At most `--scan-step` blocks per poll: a long history is read in steps that
    // each land in the index (the page shows how far it got), and a failure
    // loses one step, not the whole scan.
    let to = head.min(from.saturating_add(console.scan_step.max(1) - 1));
    let mut new_events = Vec::new();
    if from <= to {
        let query =
            AuditQuery { from_block: Some(from), to_block: Some(to), block_times: true, ..AuditQuery::default() };
        new_events = audit::scan(g, &query, |_, _| {}).await.map_err(scan_problem)?;
    }
    let mut index = console.index.write().await;
    index.events.extend(new_events);
    index.indexed_block = Some(to.max(index.indexed_block.unwrap_or(0)));
    index.head = Some(head);
    Ok(to >= head)
}

fn one_line(e: &anyhow::Error) -> String {
    format!("{e:#}").lines().map(str::trim).collect::<Vec<_>>().join(" ")
}

/// `YYYY-MM-DDTHH:MM:SSZ` for Unix seconds (civil-from-days, proleptic Gregorian).
fn iso_utc(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Howard Hinnant's days-to-civil algorithm.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// The HTTP routes (public for the tests).
pub fn router(console: Arc<Console>) -> Router {
    Router::new()
        .route("/", get(page))
        .route("/app.js", get(script))
        .route("/app.css", get(style))
        .route("/common.js", get(common_script))
        .route("/favicon.ico", get(|| async { StatusCode::NO_CONTENT }))
        .route("/api/status", get(status))
        .route("/api/events", get(events))
        .route("/api/jobs", get(jobs))
        .route("/api/jobs/{id}", get(job))
        .route("/api/members", get(members))
        .route("/api/members/{address}", get(member))
        .route("/api/datasets", get(datasets))
        .route("/api/proposals", get(proposals))
        .route("/api/live", get(live))
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(console.clone(), guard))
        .with_state(console)
}

/// Refuses requests for another host name (DNS rebinding) and adds the
/// security headers to every answer.
async fn guard(State(console): State<Arc<Console>>, request: Request, next: Next) -> Response {
    let host = request.headers().get(header::HOST).and_then(|h| h.to_str().ok()).map(str::to_ascii_lowercase);
    let mut response = match host {
        Some(h) if console.allowed_hosts.contains(&h) => next.run(request).await,
        _ => error(
            StatusCode::MISDIRECTED_REQUEST,
            "this console answers only at the address it listens on (add others with --allow-host)",
        ),
    };
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; \
             connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
        ),
    );
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(json!({ "error": message.into() }))).into_response()
}

async fn not_found() -> Response {
    error(StatusCode::NOT_FOUND, "no such page: the console's pages start at / (members, jobs, datasets, events)")
}

async fn page() -> Response {
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], include_str!("../console/index.html")).into_response()
}

async fn script() -> Response {
    ([(header::CONTENT_TYPE, "text/javascript; charset=utf-8")], include_str!("../console/app.js")).into_response()
}

async fn common_script() -> Response {
    ([(header::CONTENT_TYPE, "text/javascript; charset=utf-8")], include_str!("../../../web/common.js")).into_response()
}

async fn style() -> Response {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], include_str!("../../../web/wefe.css")).into_response()
}

async fn status(State(console): State<Arc<Console>>) -> Response {
    let index = console.index.read().await;
    let contracts: BTreeMap<&str, &str> = console.contracts.iter().map(|(n, a)| (n.as_str(), a.as_str())).collect();
    Json(json!({
        "rpc_url": console.rpc_url,
        "chain_id": console.chain_id,
        "deployed_block": console.deployed_block,
        "contracts": contracts,
        "head": index.head,
        "indexed_block": index.indexed_block,
        "updated_at": index.updated_at,
        "events": index.events.len(),
        "problem": index.problem,
    }))
    .into_response()
}

/// Filters shared by the lists; every one optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Filter {
    /// Events that involve this account (sender or any field).
    member: Option<String>,
    /// Contract name (`Consortium`, `CertificateRegistry`, `DataRegistry`, `JobRegistry`).
    contract: Option<String>,
    /// Event name.
    event: Option<String>,
    /// Job kind (jobs list).
    kind: Option<String>,
    /// Job status (jobs list).
    status: Option<String>,
    /// First block, inclusive.
    from: Option<u64>,
    /// Last block, inclusive.
    to: Option<u64>,
    /// Events to skip (paging).
    offset: Option<usize>,
    /// Events per page (at most 1 000).
    limit: Option<usize>,
    /// `json` (default) or `csv`.
    format: Option<String>,
}

struct Checked {
    member: Option<Address>,
    csv: bool,
}

/// Checks the filters; the error is the message of a 400 answer.
fn check(filter: &Filter) -> std::result::Result<Checked, String> {
    let bad = |m: String| Err(m);
    let member = match filter.member.as_deref().map(str::trim).filter(|m| !m.is_empty()) {
        None => None,
        Some(m) => match m.parse::<Address>() {
            Ok(a) => Some(a),
            Err(_) => return bad("member: expected an account address (0x and 40 hex digits)".into()),
        },
    };
    if let Some(c) = &filter.contract
        && !["Consortium", "CertificateRegistry", "DataRegistry", "JobRegistry"].contains(&c.as_str())
    {
        return bad("contract: one of Consortium, CertificateRegistry, DataRegistry, JobRegistry".into());
    }
    if let Some(e) = &filter.event
        && !wefe_chain::abi::event_names().any(|known| known == e)
    {
        return bad("event: not an event of wefe's contracts".into());
    }
    if let (Some(from), Some(to)) = (filter.from, filter.to)
        && from > to
    {
        return bad(format!("from block {from} is after to block {to}"));
    }
    let csv = match filter.format.as_deref() {
        None | Some("json") => false,
        Some("csv") => true,
        Some(_) => return bad("format: json or csv".into()),
    };
    Ok(Checked { member, csv })
}

fn matches(e: &AuditEvent, f: &Filter, member: Option<Address>) -> bool {
    f.from.is_none_or(|b| e.block >= b)
        && f.to.is_none_or(|b| e.block <= b)
        && f.contract.as_ref().is_none_or(|c| &e.contract == c)
        && f.event.as_ref().is_none_or(|n| &e.event == n)
        && member.is_none_or(|m| e.involves(m))
}

fn event_json(e: &AuditEvent) -> Value {
    let fields: serde_json::Map<String, Value> =
        e.fields.iter().map(|(k, v)| (k.clone(), Value::String(v.clone()))).collect();
    json!({
        "block": e.block,
        "tx": e.tx_hash.to_string(),
        "log_index": e.log_index,
        "contract": e.contract,
        "event": e.event,
        "actor": e.actor.map(|a| a.to_checksum(None)),
        "time": e.time,
        "fields": fields,
    })
}

fn csv_response(name: &str, header_row: &[&str], rows: impl Iterator<Item = Vec<String>>) -> Response {
    let mut out = header_row.join(",");
    out.push('\n');
    for row in rows {
        // Quoted, control characters escaped and formula cells defused, as `wefe audit --csv`.
        out.push_str(&row.iter().map(|f| csv_cell(f)).collect::<Vec<_>>().join(","));
        out.push('\n');
    }
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}.csv\"")),
        ],
        out,
    )
        .into_response()
}

fn events_csv(name: &str, events: &[&AuditEvent]) -> Response {
    csv_response(
        name,
        &["block", "time_utc", "tx", "log_index", "contract", "event", "actor", "fields"],
        events.iter().map(|e| {
            vec![
                e.block.to_string(),
                e.time.map(iso_utc).unwrap_or_default(),
                e.tx_hash.to_string(),
                e.log_index.to_string(),
                e.contract.clone(),
                e.event.clone(),
                e.actor.map(|a| a.to_checksum(None)).unwrap_or_default(),
                e.fields.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; "),
            ]
        }),
    )
}

async fn events(State(console): State<Arc<Console>>, Query(filter): Query<Filter>) -> Response {
    let checked = match check(&filter) {
        Ok(c) => c,
        Err(m) => return error(StatusCode::BAD_REQUEST, m),
    };
    let index = console.index.read().await;
    let selected: Vec<&AuditEvent> = index.events.iter().filter(|e| matches(e, &filter, checked.member)).collect();
    if checked.csv {
        return events_csv("events", &selected);
    }
    let offset = filter.offset.unwrap_or(0).min(selected.len());
    let limit = filter.limit.unwrap_or(200).clamp(1, MAX_PAGE);
    let page: Vec<Value> = selected[offset..].iter().take(limit).map(|e| event_json(e)).collect();
    Json(json!({ "total": selected.len(), "offset": offset, "events": page, "indexed_block": index.indexed_block }))
        .into_response()
}

/// A job as its events describe it.
#[derive(Debug, Clone, Serialize)]
pub struct JobSummary {
    id: u64,
    kind: String,
    proposer: String,
    participants: Vec<String>,
    datasets: String,
    deadline_block: String,
    status: &'static str,
    proposed_block: u64,
    proposed_time: Option<u64>,
    last_block: u64,
    last_time: Option<u64>,
    approvals: u32,
    events: usize,
}

/// `[a, b]` as formatted by the ABI decoder → `["a", "b"]`.
fn list_field(text: &str) -> Vec<String> {
    let inner = text.trim().trim_start_matches('[').trim_end_matches(']');
    inner.split(", ").map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect()
}

fn job_id_of(e: &AuditEvent) -> Option<u64> {
    (e.contract == "JobRegistry").then(|| e.field("jobId")?.parse().ok()).flatten()
}

/// Status after an event (later events win; a failure or time-out is final).
fn job_status(event: &str, current: &'static str) -> &'static str {
    match (current, event) {
        ("failed" | "timed out" | "cancelled" | "expired" | "rejected", _) => current,
        (_, "JobProposed") => "proposed",
        (_, "JobApprovalGiven") if current == "proposed" => "approving",
        (_, "JobApproved") => "approved",
        (_, "JobStarted") => "running",
        (_, "JobParticipantCompleted") => "reporting",
        (_, "JobCompleted") => "completed",
        (_, "JobFailed") => "failed",
        (_, "JobTimedOut") => "timed out",
        (_, "JobCancelled") => "cancelled",
        (_, "JobExpired") => "expired",
        (_, "JobRejected") => "rejected",
        _ => current,
    }
}

fn summarize_jobs(events: &[AuditEvent]) -> BTreeMap<u64, JobSummary> {
    let mut jobs: BTreeMap<u64, JobSummary> = BTreeMap::new();
    for e in events {
        let Some(id) = job_id_of(e) else { continue };
        if e.event == "JobProposed" {
            jobs.insert(
                id,
                JobSummary {
                    id,
                    kind: e.field("kind").unwrap_or_default().to_owned(),
                    proposer: e.field("proposer").unwrap_or_default().to_owned(),
                    participants: list_field(e.field("participants").unwrap_or_default()),
                    datasets: e.field("datasets").unwrap_or_default().to_owned(),
                    deadline_block: e.field("deadlineBlock").unwrap_or_default().to_owned(),
                    status: "proposed",
                    proposed_block: e.block,
                    proposed_time: e.time,
                    last_block: e.block,
                    last_time: e.time,
                    approvals: 0,
                    events: 0,
                },
            );
        }
        let Some(job) = jobs.get_mut(&id) else { continue };
        job.status = job_status(&e.event, job.status);
        job.last_block = e.block;
        job.last_time = e.time;
        job.events += 1;
        if e.event == "JobApprovalGiven" {
            job.approvals = e.field("approvals").and_then(|a| a.parse().ok()).unwrap_or(job.approvals);
        }
    }
    jobs
}

async fn jobs(State(console): State<Arc<Console>>, Query(filter): Query<Filter>) -> Response {
    let checked = match check(&filter) {
        Ok(c) => c,
        Err(m) => return error(StatusCode::BAD_REQUEST, m),
    };
    let index = console.index.read().await;
    let member = checked.member.map(|m| m.to_checksum(None));
    let list: Vec<JobSummary> = summarize_jobs(&index.events)
        .into_values()
        .rev()
        .filter(|j| filter.kind.as_ref().is_none_or(|k| &j.kind == k))
        .filter(|j| filter.status.as_ref().is_none_or(|s| j.status == s))
        .filter(|j| member.as_ref().is_none_or(|m| &j.proposer == m || j.participants.contains(m)))
        .filter(|j| filter.from.is_none_or(|b| j.last_block >= b) && filter.to.is_none_or(|b| j.proposed_block <= b))
        .collect();
    if checked.csv {
        return csv_response(
            "jobs",
            &["id", "kind", "status", "proposer", "participants", "datasets", "proposed_block", "last_block"],
            list.iter().map(|j| {
                vec![
                    j.id.to_string(),
                    j.kind.clone(),
                    j.status.to_owned(),
                    j.proposer.clone(),
                    j.participants.join(" "),
                    j.datasets.clone(),
                    j.proposed_block.to_string(),
                    j.last_block.to_string(),
                ]
            }),
        );
    }
    Json(json!({ "jobs": list, "indexed_block": index.indexed_block })).into_response()
}

async fn job(State(console): State<Arc<Console>>, Path(id): Path<String>) -> Response {
    let Ok(id) = id.parse::<u64>() else {
        return error(StatusCode::BAD_REQUEST, "a job is named by its number, e.g. /#/jobs/3");
    };
    let index = console.index.read().await;
    let Some(summary) = summarize_jobs(&index.events).remove(&id) else {
        return error(
            StatusCode::NOT_FOUND,
            format!(
                "no job {id} up to block {}: check the number, or wait for the console to reach the block that proposed it",
                index.indexed_block.map_or("-".into(), |b| b.to_string())
            ),
        );
    };
    let timeline: Vec<Value> = index.events.iter().filter(|e| job_id_of(e) == Some(id)).map(event_json).collect();
    Json(json!({ "job": summary, "timeline": timeline, "indexed_block": index.indexed_block })).into_response()
}

/// A member as its events describe it.
#[derive(Debug, Clone, Serialize)]
pub struct MemberSummary {
    address: String,
    name: String,
    endpoint: String,
    status: String,
    key_version: String,
    applied_block: u64,
    certificates: usize,
    roles: Vec<&'static str>,
    /// The operator key its node reports with now (empty: none).
    operator: String,
    /// Every operator key it ever accepted, oldest first (their past reports
    /// stay attributable to the member after a change).
    operators: Vec<String>,
}

fn summarize_members(events: &[AuditEvent]) -> BTreeMap<String, MemberSummary> {
    let mut members: BTreeMap<String, MemberSummary> = BTreeMap::new();
    let mut roles: BTreeMap<String, Vec<&'static str>> = BTreeMap::new();
    for e in events.iter().filter(|e| e.contract == "Consortium" || e.contract == "CertificateRegistry") {
        let field = |n: &str| e.field(n).unwrap_or_default().to_owned();
        match e.event.as_str() {
            "MemberApplied" => {
                members.insert(
                    field("member"),
                    MemberSummary {
                        address: field("member"),
                        name: field("name"),
                        endpoint: field("endpoint"),
                        status: "Pending".into(),
                        key_version: field("keyVersion"),
                        applied_block: e.block,
                        certificates: 0,
                        roles: Vec::new(),
                        operator: String::new(),
                        operators: Vec::new(),
                    },
                );
            }
            "OperatorChanged" => {
                if let Some(m) = members.get_mut(&field("member")) {
                    let operator = field("operator");
                    if operator.trim_start_matches("0x").bytes().all(|b| b == b'0') {
                        m.operator.clear();
                    } else {
                        if !m.operators.contains(&operator) {
                            m.operators.push(operator.clone());
                        }
                        m.operator = operator;
                    }
                }
            }
            "MemberStatusChanged" => {
                if let Some(m) = members.get_mut(&field("member")) {
                    m.status = field("to");
                }
            }
            "MemberEndpointUpdated" => {
                if let Some(m) = members.get_mut(&field("member")) {
                    m.endpoint = field("endpoint");
                }
            }
            "MemberKeyRotated" => {
                if let Some(m) = members.get_mut(&field("member")) {
                    m.key_version = field("keyVersion");
                }
            }
            "CertificateIssued" => {
                if let Some(m) = members.get_mut(&field("member")) {
                    m.certificates += 1;
                }
            }
            "AdminAdded" => roles.entry(field("admin")).or_default().push("admin"),
            "AdminRemoved" => roles.entry(field("admin")).or_default().retain(|r| *r != "admin"),
            "CertificateAuthorityAppointed" => roles.entry(field("authority")).or_default().push("ca"),
            "CertificateAuthorityDismissed" => roles.entry(field("authority")).or_default().retain(|r| *r != "ca"),
            _ => {}
        }
    }
    for (address, r) in roles {
        if let Some(m) = members.get_mut(&address) {
            m.roles = r;
        } else if !r.is_empty() {
            // Admins and authorities need not be members.
            members.insert(
                address.clone(),
                MemberSummary {
                    address,
                    name: String::new(),
                    endpoint: String::new(),
                    status: "-".into(),
                    key_version: String::new(),
                    applied_block: 0,
                    certificates: 0,
                    roles: r,
                    operator: String::new(),
                    operators: Vec::new(),
                },
            );
        }
    }
    members
}

async fn members(State(console): State<Arc<Console>>, Query(filter): Query<Filter>) -> Response {
    let checked = match check(&filter) {
        Ok(c) => c,
        Err(m) => return error(StatusCode::BAD_REQUEST, m),
    };
    let index = console.index.read().await;
    let list: Vec<MemberSummary> = summarize_members(&index.events)
        .into_values()
        .filter(|m| filter.status.as_ref().is_none_or(|s| &m.status == s))
        .collect();
    if checked.csv {
        return csv_response(
            "members",
            &["address", "name", "status", "endpoint", "key_version", "certificates", "roles", "operator"],
            list.iter().map(|m| {
                vec![
                    m.address.clone(),
                    m.name.clone(),
                    m.status.clone(),
                    m.endpoint.clone(),
                    m.key_version.clone(),
                    m.certificates.to_string(),
                    m.roles.join(" "),
                    m.operator.clone(),
                ]
            }),
        );
    }
    Json(json!({ "members": list, "indexed_block": index.indexed_block })).into_response()
}

async fn member(State(console): State<Arc<Console>>, Path(address): Path<String>) -> Response {
    let Ok(account) = address.trim().parse::<Address>() else {
        return error(StatusCode::BAD_REQUEST, "a member is named by its account address (0x and 40 hex digits)");
    };
    let index = console.index.read().await;
    let key = account.to_checksum(None);
    let summary = summarize_members(&index.events).remove(&key);
    // Its events, and every event of a governance proposal about it (the
    // votes on its admission name only the proposal).
    let about: std::collections::HashSet<&str> = index
        .events
        .iter()
        .filter(|e| e.event == "ProposalCreated" && e.field("target") == Some(key.as_str()))
        .filter_map(|e| e.field("proposalId"))
        .collect();
    let history: Vec<Value> = index
        .events
        .iter()
        .filter(|e| {
            e.involves(account)
                || (e.contract == "Consortium" && e.field("proposalId").is_some_and(|id| about.contains(id)))
        })
        .map(event_json)
        .collect();
    if summary.is_none() && history.is_empty() {
        return error(StatusCode::NOT_FOUND, format!("{key} has no event on chain: it never applied or acted"));
    }
    Json(json!({ "member": summary, "address": key, "history": history, "indexed_block": index.indexed_block }))
        .into_response()
}

/// A dataset as its events describe it.
#[derive(Debug, Clone, Serialize)]
pub struct DatasetSummary {
    owner: String,
    name: String,
    schema_hash: String,
    rows: String,
    visibility: String,
    version: String,
    retired: bool,
    grants: Vec<String>,
    registered_block: u64,
}

fn summarize_datasets(events: &[AuditEvent]) -> Vec<DatasetSummary> {
    let mut sets: BTreeMap<(String, String), DatasetSummary> = BTreeMap::new();
    for e in events.iter().filter(|e| e.contract == "DataRegistry") {
        let field = |n: &str| e.field(n).unwrap_or_default().to_owned();
        let key = (field("owner"), field("name"));
        match e.event.as_str() {
            "DatasetRegistered" => {
                sets.insert(
                    key,
                    DatasetSummary {
                        owner: field("owner"),
                        name: field("name"),
                        schema_hash: field("schemaHash"),
                        rows: field("rowCount"),
                        visibility: field("visibility"),
                        version: "1".into(),
                        retired: false,
                        grants: Vec::new(),
                        registered_block: e.block,
                    },
                );
            }
            "DatasetUpdated" => {
                if let Some(d) = sets.get_mut(&key) {
                    d.schema_hash = field("schemaHash");
                    d.rows = field("rowCount");
                    d.version = field("version");
                }
            }
            "DatasetVisibilityChanged" => {
                if let Some(d) = sets.get_mut(&key) {
                    d.visibility = field("visibility");
                }
            }
            "DatasetRetired" => {
                if let Some(d) = sets.get_mut(&key) {
                    d.retired = true;
                }
            }
            "DatasetAccessGranted" => {
                if let Some(d) = sets.get_mut(&key) {
                    d.grants.push(field("member"));
                }
            }
            "DatasetAccessRevoked" => {
                if let Some(d) = sets.get_mut(&key) {
                    let m = field("member");
                    d.grants.retain(|g| *g != m);
                }
            }
            _ => {}
        }
    }
    sets.into_values().collect()
}

async fn datasets(State(console): State<Arc<Console>>, Query(filter): Query<Filter>) -> Response {
    let checked = match check(&filter) {
        Ok(c) => c,
        Err(m) => return error(StatusCode::BAD_REQUEST, m),
    };
    let index = console.index.read().await;
    let owner = checked.member.map(|m| m.to_checksum(None));
    let list: Vec<DatasetSummary> = summarize_datasets(&index.events)
        .into_iter()
        .filter(|d| owner.as_ref().is_none_or(|o| &d.owner == o))
        .collect();
    if checked.csv {
        return csv_response(
            "datasets",
            &["owner", "name", "rows", "visibility", "version", "retired", "schema_hash", "grants"],
            list.iter().map(|d| {
                vec![
                    d.owner.clone(),
                    d.name.clone(),
                    d.rows.clone(),
                    d.visibility.clone(),
                    d.version.clone(),
                    d.retired.to_string(),
                    d.schema_hash.clone(),
                    d.grants.join(" "),
                ]
            }),
        );
    }
    Json(json!({ "datasets": list, "indexed_block": index.indexed_block })).into_response()
}

/// Governance proposals with their votes.
async fn proposals(State(console): State<Arc<Console>>) -> Response {
    let index = console.index.read().await;
    let mut list: BTreeMap<String, Value> = BTreeMap::new();
    for e in index.events.iter().filter(|e| e.contract == "Consortium") {
        let Some(id) = e.field("proposalId") else { continue };
        match e.event.as_str() {
            "ProposalCreated" => {
                list.insert(
                    id.to_owned(),
                    json!({
                        "id": id,
                        "kind": e.field("kind"),
                        "target": e.field("target"),
                        "value": e.field("value"),
                        "proposer": e.field("proposer"),
                        "block": e.block,
                        "status": "open",
                        "votes": [],
                    }),
                );
            }
            "ProposalVoted" => {
                if let Some(Value::Array(votes)) = list.get_mut(id).and_then(|p| p.get_mut("votes")) {
                    votes.push(json!({ "admin": e.field("admin"), "block": e.block, "tx": e.tx_hash.to_string() }));
                }
            }
            "ProposalExecuted" | "ProposalCancelled" => {
                if let Some(p) = list.get_mut(id) {
                    p["status"] = json!(if e.event == "ProposalExecuted" { "executed" } else { "cancelled" });
                    p["closed_block"] = json!(e.block);
                }
            }
            _ => {}
        }
    }
    let list: Vec<Value> = list.into_values().collect();
    Json(json!({ "proposals": list, "indexed_block": index.indexed_block })).into_response()
}

/// Server-sent events: `status` whenever a poll ends (new blocks or a
/// problem), so the page refreshes without reloading.
async fn live(State(console): State<Arc<Console>>) -> Response {
    let Some(slot) = LiveSlot::take(&console) else {
        return error(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("{MAX_LIVE_STREAMS} live streams are open already: close other console tabs"),
        );
    };
    let mut rx = console.updates.subscribe();
    rx.borrow_and_update();
    let stop = console.stopping.subscribe();
    let stream = futures_util::stream::unfold((slot, rx, stop), |(slot, mut rx, mut stop)| async move {
        tokio::select! {
            changed = rx.changed() => changed.ok()?,
            _ = stop.wait_for(|stopping| *stopping) => return None,
        }
        let data = {
            let index = slot.0.index.read().await;
            json!({ "indexed_block": index.indexed_block, "head": index.head, "problem": index.problem }).to_string()
        };
        Some((Ok::<_, std::convert::Infallible>(Event::default().event("status").data(data)), (slot, rx, stop)))
    });
    Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))).into_response()
}

/// One of the [`MAX_LIVE_STREAMS`] places, given back when its stream is dropped.
struct LiveSlot(Arc<Console>);

impl LiveSlot {
    fn take(console: &Arc<Console>) -> Option<Self> {
        use std::sync::atomic::Ordering;
        console
            .live_streams
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| (n < MAX_LIVE_STREAMS).then_some(n + 1))
            .ok()
            .map(|_| Self(Arc::clone(console)))
    }
}

impl Drop for LiveSlot {
    fn drop(&mut self) {
        self.0.live_streams.fetch_sub(1, std::sync::atomic::Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn consortium_event(block: u64, event: &str, fields: &[(&str, &str)]) -> AuditEvent {
        AuditEvent {
            block,
            tx_hash: Default::default(),
            log_index: 0,
            contract: "Consortium".into(),
            event: event.into(),
            fields: fields.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(),
            actor: None,
            time: None,
        }
    }

    #[test]
    fn operator_keys_stay_attributed_to_their_member() {
        const BANK: &str = "0x90F79bf6EB2c4f870365E785982E1f101E93b906";
        const OLD: &str = "0x00000000000000000000000000000000000000A1";
        const NEW: &str = "0x00000000000000000000000000000000000000B2";
        const ZERO: &str = "0x0000000000000000000000000000000000000000";
        let events = [
            consortium_event(1, "MemberApplied", &[("member", BANK), ("name", "Bank A"), ("keyVersion", "1")]),
            consortium_event(2, "OperatorChanged", &[("member", BANK), ("previous", ZERO), ("operator", OLD)]),
            consortium_event(3, "OperatorChanged", &[("member", BANK), ("previous", OLD), ("operator", NEW)]),
            consortium_event(4, "OperatorChanged", &[("member", BANK), ("previous", NEW), ("operator", ZERO)]),
            consortium_event(5, "OperatorChanged", &[("member", BANK), ("previous", ZERO), ("operator", OLD)]),
        ];
        let members = summarize_members(&events[..4]);
        assert_eq!(
            (members[BANK].operator.as_str(), members[BANK].operators.clone()),
            ("", vec![OLD.into(), NEW.into()])
        );
        let members = summarize_members(&events);
        assert_eq!(members[BANK].operator, OLD);
        assert_eq!(members[BANK].operators, vec![OLD.to_owned(), NEW.to_owned()], "each key once, oldest first");
        // An operator change for someone who never applied is not a member.
        let stray = [consortium_event(1, "OperatorChanged", &[("member", NEW), ("previous", ZERO), ("operator", OLD)])];
        assert!(summarize_members(&stray).is_empty());
    }

    #[test]
    fn job_status_follows_the_lifecycle_and_keeps_final_states() {
        let mut s = "proposed";
        for (event, want) in [
            ("JobApprovalGiven", "approving"),
            ("JobApprovalGiven", "approving"),
            ("JobApproved", "approved"),
            ("JobStarted", "running"),
            ("JobParticipantCompleted", "reporting"),
            ("JobCompleted", "completed"),
        ] {
            s = job_status(event, s);
            assert_eq!(s, want, "after {event}");
        }
        let failed = job_status("JobFailed", "running");
        assert_eq!(failed, "failed");
        // A late report or time-out does not hide the failure.
        assert_eq!(job_status("JobParticipantCompleted", failed), "failed");
        assert_eq!(job_status("JobTimedOut", failed), "failed");
        assert_eq!(job_status("JobRejected", "approving"), "rejected");
        assert_eq!(job_status("SomethingElse", "running"), "running");
    }

    #[test]
    fn utc_times() {
        assert_eq!(iso_utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(iso_utc(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(iso_utc(1_796_400_000), "2026-12-04T16:00:00Z");
        assert_eq!(iso_utc(4_107_542_399), "2100-02-28T23:59:59Z");
    }

    #[test]
    fn list_fields_split_the_decoder_format() {
        assert_eq!(list_field("[0xA, 0xB]"), vec!["0xA", "0xB"]);
        assert_eq!(list_field("[]"), Vec::<String>::new());
        assert_eq!(list_field(""), Vec::<String>::new());
    }

    #[test]
    fn hosts_allowed_are_the_listen_address_and_loopback_names() {
        let hosts = allowed_hosts("127.0.0.1:8090".parse().unwrap(), &["Console.Example:443".into()]);
        for h in ["127.0.0.1:8090", "localhost:8090", "[::1]:8090", "console.example:443"] {
            assert!(hosts.contains(&h.to_owned()), "{h}");
        }
        assert!(!hosts.contains(&"evil.example:8090".to_owned()));
        let public = allowed_hosts("10.0.0.5:80".parse().unwrap(), &[]);
        assert_eq!(public, vec!["10.0.0.5:80".to_owned()]);
    }
}
