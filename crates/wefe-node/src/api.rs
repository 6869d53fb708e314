//! The node's REST API (JSON over HTTP): liveness and health, dataset import
//! and listing, jobs (paginated) with their progress and result artifact, and
//! the audit timeline of a job from the indexed chain events. `GET
//! /openapi.json` serves the OpenAPI document generated from the handlers'
//! types ([`openapi`]).
//!
//! Errors are one [`ApiError`]: the body is always `{"error": "<message>"}`;
//! client errors (400, 401, 403, 404, 409, 413, 503) keep their message,
//! anything else is a generic 500 whose cause goes to the log.
//!
//! # Access
//!
//! Anything running on the node's host can reach its API, browsers included,
//! so every request passes three checks ([`ApiAccess`]):
//! - **Host**: the `Host` header must name this API (`localhost`, a loopback
//!   address, the listen address, or a configured name), else 403: a page
//!   whose domain was re-pointed at 127.0.0.1 (DNS rebinding) is refused.
//! - **Origin**: a request that carries an `Origin` (browsers do) must come
//!   from the API's own origin or a configured one, else 403 (CSRF).
//! - **Token**: `Authorization: Bearer <token>`, compared in constant time,
//!   else 401. The token is random, created at the node's first start in an
//!   owner-only file (`<data_dir>/api-token` by default, see [`ApiToken`]).
//!   Only `GET /livez` (`{"status":"ok"}`, nothing else) answers without it,
//!   for process supervisors.
//!
//! Path imports (`POST /datasets {"path": …}`) read only regular files under
//! [`ApiState::import_root`]; without one they are refused (uploads work).
//!
//! ```no_run
//! # async fn demo(store: wefe_store::Store) -> anyhow::Result<()> {
//! use wefe_node::api::{ApiAccess, ApiState, ApiToken, app};
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! let token = ApiToken::load_or_create("/var/lib/wefe/api-token".as_ref())?;
//! let access = ApiAccess::new(token, listener.local_addr()?);
//! let state = ApiState::new(store, "/var/lib/wefe".into(), alloy::primitives::Address::ZERO, access);
//! axum::serve(listener, app(state)).await?;
//! # Ok(()) }
//! ```

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use alloy::primitives::Address;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, FromRequest, Multipart, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::MethodRouter;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use subtle::ConstantTimeEq;
use utoipa::{OpenApi, ToSchema};
use wefe_store::{DatasetRecord, EventRecord, JobRecord, Store, StoreError};
use zeroize::Zeroizing;

use crate::datasets::{self, Chunk, ImportError, ImportRequest};

/// Default upload limit: 1 GiB.
pub const DEFAULT_UPLOAD_LIMIT: usize = 1 << 30;

/// Jobs per `GET /jobs` page when the client names no `limit`.
pub const DEFAULT_PAGE_SIZE: u32 = 100;

/// Largest `limit` of `GET /jobs`.
pub const MAX_PAGE_SIZE: u32 = 500;

/// Routes that answer without the API token.
pub const PUBLIC_ROUTES: [&str; 1] = ["/livez"];

/// What the handlers share.
#[derive(Debug, Clone)]
pub struct ApiState {
    /// The node's store (jobs, datasets, indexed events, chain cursor `chain`).
    pub store: Store,
    /// The node's data dir; datasets go to `<data_dir>/datasets/`.
    pub data_dir: PathBuf,
    /// The member account this node acts for (shown by `/health`).
    pub member: Address,
    /// Largest accepted request body in bytes (uploads); more is a 413.
    pub upload_limit: usize,
    /// `POST /datasets` with a `path` reads regular files under this folder
    /// only (relative paths are taken from it); `None` refuses path imports.
    pub import_root: Option<PathBuf>,
    /// The node's gateway, for online predictions (`None`: not served).
    pub gateway: Option<wefe_gateway::Gateway>,
    /// Who may call the API.
    pub access: ApiAccess,
    /// Chain head and peer checks (`None`: `/health` reports the cursor only).
    pub health: Option<crate::health::NodeHealth>,
    /// Blocks the listener waits for before indexing (shown by `/health`).
    pub confirmations: u64,
}

impl ApiState {
    /// State with the default upload limit and no path imports.
    pub fn new(store: Store, data_dir: PathBuf, member: Address, access: ApiAccess) -> Self {
        Self {
            store,
            data_dir,
            member,
            upload_limit: DEFAULT_UPLOAD_LIMIT,
            import_root: None,
            gateway: None,
            access,
            health: None,
            confirmations: 0,
        }
    }
}

// ------------------------------------------------------------------ access

/// The API's bearer token: at least 32 printable ASCII characters, kept out of
/// `Debug` and zeroized on drop.
#[derive(Clone)]
pub struct ApiToken(Arc<Zeroizing<String>>);

impl std::fmt::Debug for ApiToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApiToken(..)")
    }
}

impl ApiToken {
    /// Shortest token accepted.
    pub const MIN_LEN: usize = 32;

    /// A token from its text (e.g. one an operator chose).
    pub fn new(text: &str) -> Result<Self, String> {
        if text.len() < Self::MIN_LEN || !text.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(format!("an API token is at least {} printable ASCII characters, no spaces", Self::MIN_LEN));
        }
        Ok(Self(Arc::new(Zeroizing::new(text.to_owned()))))
    }

    /// A fresh random token: 32 bytes from the OS, in hex.
    pub fn generate() -> std::io::Result<Self> {
        let mut bytes = Zeroizing::new([0u8; 32]);
        getrandom::fill(bytes.as_mut()).map_err(|e| std::io::Error::other(format!("no randomness: {e}")))?;
        Ok(Self(Arc::new(Zeroizing::new(hex::encode(bytes.as_ref())))))
    }

    /// Reads the token in `path` (trailing newline dropped), which must be
    /// accessible to its owner only; creates it owner-only with a fresh token
    /// when it does not exist.
    pub fn load_or_create(path: &Path) -> anyhow::Result<Self> {
        use anyhow::Context;
        match std::fs::read_to_string(path) {
            Ok(text) => {
                let text = Zeroizing::new(text);
                wefe_crypto::keyfile::check_owner_only(path, "API token file")?;
                Self::new(text.trim_end_matches(['\n', '\r'])).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let token = Self::generate()?;
                match crate::files::create_private(path, format!("{}\n", token.0.as_str()).as_bytes()) {
                    Ok(()) => {
                        tracing::info!(path = %path.display(), "created the API token");
                        Ok(token)
                    }
                    // Another process created it meanwhile: use theirs.
                    Err(e)
                        if e.chain().any(|c| {
                            c.downcast_ref::<std::io::Error>()
                                .is_some_and(|io| io.kind() == std::io::ErrorKind::AlreadyExists)
                        }) =>
                    {
                        Self::load_or_create(path)
                    }
                    Err(e) => Err(e),
                }
            }
            Err(e) => Err(e).with_context(|| format!("cannot read the API token file {}", path.display())),
        }
    }

    /// Whether `presented` is this token (constant time in its content).
    fn matches(&self, presented: &[u8]) -> bool {
        self.0.as_bytes().ct_eq(presented).into()
    }
}

/// Who may call the API: the token, and the `Host` names and `Origin`s
/// accepted (see the module docs).
#[derive(Debug, Clone)]
pub struct ApiAccess {
    token: ApiToken,
    /// Lowercase host names, or `name:port`.
    hosts: Vec<String>,
    /// Lowercase `scheme://host[:port]`.
    origins: Vec<String>,
}

impl ApiAccess {
    /// Accepts `localhost`, the loopback addresses and `listen`'s address
    /// (unless it is the unspecified `0.0.0.0` / `::`), and same-origin requests.
    pub fn new(token: ApiToken, listen: SocketAddr) -> Self {
        let mut hosts = vec!["localhost".to_owned(), "127.0.0.1".to_owned(), "[::1]".to_owned()];
        if !listen.ip().is_unspecified() {
            hosts.push(host_name(listen.ip()));
        }
        Self { token, hosts, origins: Vec::new() }
    }

    /// Also accepts these `Host` names (e.g. the institution's proxy), each a
    /// name (any port) or `name:port`.
    pub fn allow_hosts<S: AsRef<str>>(mut self, hosts: impl IntoIterator<Item = S>) -> Self {
        self.hosts.extend(hosts.into_iter().map(|h| h.as_ref().trim_end_matches('.').to_ascii_lowercase()));
        self
    }

    /// Also accepts requests from these browser origins (`scheme://host[:port]`).
    pub fn allow_origins<S: AsRef<str>>(mut self, origins: impl IntoIterator<Item = S>) -> Self {
        self.origins.extend(origins.into_iter().map(|o| o.as_ref().trim_end_matches('/').to_ascii_lowercase()));
        self
    }

    /// Checks `Host` and `Origin` (every route).
    fn check_caller(&self, headers: &HeaderMap) -> ApiResult<()> {
        let host = headers
            .get(header::HOST)
            .and_then(|v| v.to_str().ok())
            .map(str::to_ascii_lowercase)
            .ok_or_else(|| ApiError::Forbidden("no Host header".into()))?;
        let name = strip_port(&host).trim_end_matches('.');
        if !self.hosts.iter().any(|allowed| *allowed == name || *allowed == host) {
            return Err(ApiError::Forbidden(format!(
                "Host '{}' is not this node's API (add it to api_allowed_hosts if it is)",
                shorten(&host)
            )));
        }
        let Some(origin) = headers.get(header::ORIGIN) else { return Ok(()) };
        let origin = origin.to_str().unwrap_or("").trim_end_matches('/').to_ascii_lowercase();
        let same_origin =
            origin.strip_prefix("http://").or_else(|| origin.strip_prefix("https://")) == Some(host.as_str());
        if same_origin || self.origins.contains(&origin) {
            Ok(())
        } else {
            Err(ApiError::Forbidden(format!(
                "requests from origin '{}' are not allowed (add it to api_allowed_origins if they should be)",
                shorten(&origin)
            )))
        }
    }

    /// Checks `Authorization: Bearer <token>`.
    fn check_token(&self, headers: &HeaderMap) -> ApiResult<()> {
        let presented = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.as_bytes().strip_prefix(b"Bearer "))
            .map(|t| t.trim_ascii());
        match presented {
            Some(token) if self.token.matches(token) => Ok(()),
            Some(_) => Err(ApiError::Unauthorized("wrong API token".into())),
            None => Err(ApiError::Unauthorized(
                "send Authorization: Bearer <token>, the token being in the node's api-token file".into(),
            )),
        }
    }
}

/// How an address appears in a `Host` header.
fn host_name(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => format!("[{v6}]"),
    }
}

/// `name:port` → `name`; `[v6]:port` → `[v6]`.
fn strip_port(host: &str) -> &str {
    match host.rfind(':') {
        Some(i) if !host[i..].contains(']') && (host.starts_with('[') || !host[..i].contains(':')) => &host[..i],
        _ => host,
    }
}

/// A client-supplied value, cut short for an error message.
fn shorten(text: &str) -> String {
    let mut short = crate::health::clean(text, 64);
    if text.chars().count() > 64 {
        short.push('…');
    }
    short
}

async fn check_caller(State(state): State<ApiState>, request: Request, next: Next) -> Response {
    match state.access.check_caller(request.headers()) {
        Ok(()) => next.run(request).await,
        Err(e) => e.into_response(),
    }
}

async fn require_token(State(state): State<ApiState>, request: Request, next: Next) -> Response {
    match state.access.check_token(request.headers()) {
        Ok(()) => next.run(request).await,
        Err(e) => e.into_response(),
    }
}

// ------------------------------------------------------------------ errors

/// Every API error. The `Display` text is the message a client sees (except for `Internal`).
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400: the request is malformed or its content invalid.
    #[error("{0}")]
    BadRequest(String),
    /// 401: no API token, or a wrong one.
    #[error("{0}")]
    Unauthorized(String),
    /// 403: a foreign `Host` or `Origin`, or a path the node may not read.
    #[error("{0}")]
    Forbidden(String),
    /// 404: no such thing.
    #[error("{0}")]
    NotFound(String),
    /// 409: conflicts with the current state (existing id, result not ready).
    #[error("{0}")]
    Conflict(String),
    /// 413: the body exceeds the upload limit.
    #[error("{0}")]
    TooLarge(String),
    /// 503: a peer or service this request needs is unavailable.
    #[error("{0}")]
    Unavailable(String),
    /// 500: the node's fault; the detail is logged, not returned.
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// The body of every error response.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// What went wrong, in one line (`internal error` for the node's own faults).
    pub error: String,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let error = match &self {
            Self::Internal(detail) => {
                tracing::error!(error = %detail, "API request failed");
                "internal error".to_owned()
            }
            client => client.to_string(),
        };
        let mut response = (self.status(), Json(ErrorBody { error })).into_response();
        if matches!(self, Self::Unauthorized(_)) {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(what) => Self::Conflict(format!("{what} already exists")),
            other => Self::Internal(other.to_string()),
        }
    }
}

impl From<ImportError> for ApiError {
    fn from(e: ImportError) -> Self {
        match e {
            ImportError::Invalid(m) => Self::BadRequest(m),
            ImportError::Refused(m) => Self::Forbidden(m),
            ImportError::Exists(m) => Self::Conflict(m),
            ImportError::TooLarge(m) => Self::TooLarge(m),
            other => Self::Internal(other.to_string()),
        }
    }
}

type ApiResult<T> = Result<T, ApiError>;

// ------------------------------------------------------------------ router

/// One route: method, path (axum syntax, `{id}`), handler. The router and
/// [`routes`] are both built from this table, and a test checks that
/// [`openapi`] documents exactly these.
macro_rules! route_table {
    ($($method:ident $path:literal => $handler:expr;)*) => {
        fn route_table() -> Vec<(&'static str, &'static str, MethodRouter<ApiState>)> {
            vec![$((stringify!($method), $path, axum::routing::$method($handler)),)*]
        }
    };
}

route_table! {
    get "/livez" => livez;
    get "/health" => health;
    get "/datasets" => list_datasets;
    post "/datasets" => import_dataset;
    get "/datasets/{id}" => show_dataset;
    get "/jobs" => list_jobs;
    get "/jobs/{id}" => show_job;
    get "/jobs/{id}/result" => job_result;
    get "/jobs/{id}/key" => job_key;
    get "/jobs/{id}/report/{name}" => job_report;
    post "/models/{id}/predict" => predict_online;
    get "/audit/jobs/{id}" => job_audit;
    get "/openapi.json" => openapi_document;
}

/// Every `(method, path)` the router serves, method in lowercase as in OpenAPI.
pub fn routes() -> Vec<(&'static str, &'static str)> {
    route_table().into_iter().map(|(method, path, _)| (method, path)).collect()
}

/// Largest JSON request body (path imports).
pub const JSON_BODY_LIMIT: usize = 64 * 1024;

/// The API router: every route checks `Host` and `Origin`, and every route but
/// [`PUBLIC_ROUTES`] the token.
pub fn app(state: ApiState) -> Router {
    let (mut public, mut protected) = (Router::new(), Router::new());
    for (_, path, handler) in route_table() {
        if PUBLIC_ROUTES.contains(&path) {
            public = public.route(path, handler);
        } else {
            protected = protected.route(path, handler);
        }
    }
    protected
        .route_layer(middleware::from_fn_with_state(state.clone(), require_token))
        .merge(public)
        .merge(operator_page())
        .fallback(no_route)
        .layer(middleware::from_fn_with_state(state.clone(), check_caller))
        // Outermost: the refusals of check_caller carry the headers too.
        .layer(middleware::from_fn(security_headers))
        .layer(DefaultBodyLimit::max(state.upload_limit))
        .with_state(state)
}

// ----------------------------------------------------------- operator page

/// The operator page's files (`/ui/`, and `/` redirects there): static, the
/// same for every node, so they answer without the token (still only to this
/// API's `Host` and `Origin`). The page asks for the token and sends it as
/// `Authorization: Bearer` with every API call it makes; it keeps it in the
/// tab's `sessionStorage` (gone when the tab closes), never in a cookie, so a
/// page from another origin cannot make the browser use it.
fn operator_page() -> Router<ApiState> {
    use axum::response::Redirect;
    use axum::routing::get;
    fn file(content_type: &'static str, body: &'static str) -> MethodRouter<ApiState> {
        get(move || async move { ([(header::CONTENT_TYPE, content_type)], body) })
    }
    Router::new()
        .route("/", get(|| async { Redirect::to("/ui/") }))
        .route("/ui", get(|| async { Redirect::to("/ui/") }))
        .route("/ui/", file("text/html; charset=utf-8", include_str!("../ui/index.html")))
        .route("/ui/app.js", file("text/javascript; charset=utf-8", include_str!("../ui/app.js")))
        .route("/ui/common.js", file("text/javascript; charset=utf-8", include_str!("../../../web/common.js")))
        .route("/ui/wefe.css", file("text/css; charset=utf-8", include_str!("../../../web/wefe.css")))
        // Browsers ask for it; there is none (204, not a 404 in their console).
        .route("/favicon.ico", get(|| async { StatusCode::NO_CONTENT }))
}

/// On every response: the page runs only its own scripts and styles, talks
/// only to this API, shows only its own or fetched (`blob:`) images, is never
/// framed, sends no referrer, and nothing is cached (results, keys).
async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; \
             connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
        ),
    );
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.entry(header::CACHE_CONTROL).or_insert(HeaderValue::from_static("no-store"));
    response
}

async fn no_route(method: Method, uri: Uri) -> ApiError {
    ApiError::NotFound(format!("no route for {method} {}", shorten(uri.path())))
}

// ------------------------------------------------------------------ health

/// `GET /livez`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Liveness {
    /// Always `ok`.
    #[schema(example = "ok")]
    pub status: String,
}

/// Liveness only (no token needed): the process answers.
#[utoipa::path(get, path = "/livez", security(()), responses((status = 200, body = Liveness), (status = 403, body = ErrorBody)))]
async fn livez() -> Json<Liveness> {
    Json(Liveness { status: "ok".into() })
}

/// `GET /health`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// `ok`, or `degraded` when the last chain read failed or an active peer's
    /// gateway did not answer its last check (`problems` says which).
    pub status: String,
    /// What is wrong, one line each (empty when `ok`).
    pub problems: Vec<String>,
    /// The member this node acts for (0x address).
    pub member: String,
    /// The last block applied from the chain.
    pub cursor: Option<ChainCursor>,
    /// The chain as the node last read it (absent when not tracked).
    pub chain: Option<ChainStatus>,
    /// This node's gateway (absent when it runs without one).
    pub gateway: Option<GatewayStatus>,
    /// Each active member's gateway at its last check (absent before the
    /// first round of checks, or when they are off: `peer_probe_secs = 0`).
    pub peers: Option<Vec<crate::health::PeerHealth>>,
}

/// The chain seen from this node.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChainStatus {
    /// The chain's newest block at the last read.
    pub head: Option<u64>,
    /// Blocks between the head and the node's cursor (the confirmations
    /// included: a node that keeps up lags by `confirmations`).
    pub lag_blocks: Option<u64>,
    /// Blocks the node waits for before it indexes one.
    pub confirmations: u64,
    /// When the head was read (Unix seconds).
    pub head_read_at: Option<i64>,
    /// The last failed read, if the node has not read the chain since.
    pub error: Option<String>,
    /// Failed reads in a row.
    pub failures: u32,
}

/// This node's gateway.
#[derive(Debug, Serialize, ToSchema)]
pub struct GatewayStatus {
    /// Sessions peers hold with this gateway (they send to it).
    pub sessions_in: usize,
    /// Sessions this gateway holds with peers (it sends to them).
    pub sessions_out: usize,
    /// Bytes received and not yet consumed by a job.
    pub queued_bytes: usize,
    /// Messages received and not yet consumed by a job.
    pub queued_messages: usize,
}

/// A block the node's index reached.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChainCursor {
    /// Block number.
    pub block_number: u64,
    /// Its hash (0x hex).
    pub block_hash: String,
}

/// The member this node acts for, the chain cursor and head, the gateway's
/// sessions and whether each peer's gateway answers.
#[utoipa::path(get, path = "/health", responses((status = 200, body = Health), (status = 401, body = ErrorBody), (status = 500, body = ErrorBody)))]
async fn health(State(state): State<ApiState>) -> ApiResult<Json<Health>> {
    let cursor = state.store.cursor("chain").await?;
    let mut problems = Vec::new();
    let chain = state.health.as_ref().map(|h| {
        let c = h.chain();
        if let Some(e) = &c.error {
            problems.push(format!("cannot read the chain ({} failures in a row): {e}", c.failures));
        }
        ChainStatus {
            head: c.head,
            lag_blocks: c.head.map(|head| head.saturating_sub(cursor.as_ref().map_or(0, |c| c.block_number))),
            confirmations: state.confirmations,
            head_read_at: c.head_read_at,
            error: c.error,
            failures: c.failures,
        }
    });
    let peers = state.health.as_ref().and_then(|h| h.peers());
    for p in peers.iter().flatten().filter(|p| !p.reachable) {
        problems.push(format!(
            "peer {} ({}) does not answer at {}: {}",
            p.member,
            shorten(&p.name),
            shorten(&p.endpoint),
            p.error.as_deref().unwrap_or("")
        ));
    }
    let gateway = state.gateway.as_ref().map(|g| {
        let queues = g.queue_stats();
        GatewayStatus {
            sessions_in: g.sessions_held(),
            sessions_out: g.sessions_opened(),
            queued_bytes: queues.bytes,
            queued_messages: queues.messages,
        }
    });
    Ok(Json(Health {
        status: if problems.is_empty() { "ok" } else { "degraded" }.into(),
        problems,
        member: state.member.to_checksum(None),
        cursor: cursor.map(|c| ChainCursor { block_number: c.block_number, block_hash: c.block_hash }),
        chain,
        gateway,
        peers,
    }))
}

// ---------------------------------------------------------------- datasets

/// An imported dataset.
#[derive(Debug, Serialize, ToSchema)]
pub struct Dataset {
    /// Dataset id (name, or 0x + 64 hex).
    pub id: String,
    /// Where the node keeps its copy.
    pub path: String,
    /// The id column.
    pub id_column: String,
    /// Column names, trimmed, in file order.
    pub columns: Vec<String>,
    /// Data rows.
    pub row_count: u64,
    /// 0x SHA-256 of the column names, trimmed, joined by ','.
    pub schema_hash: String,
    /// 0x SHA-256 of the stored file.
    pub content_hash: String,
    /// Unix seconds.
    pub imported_at: i64,
}

impl From<&DatasetRecord> for Dataset {
    fn from(d: &DatasetRecord) -> Self {
        Self {
            id: d.dataset_id.clone(),
            path: d.path.clone(),
            id_column: d.id_column.clone(),
            columns: string_list(&d.columns),
            row_count: d.row_count,
            schema_hash: d.schema_hash.clone(),
            content_hash: d.content_hash.clone(),
            imported_at: d.imported_at,
        }
    }
}

/// `GET /datasets`.
#[derive(Debug, Serialize, ToSchema)]
pub struct DatasetList {
    /// Every imported dataset, by id.
    pub datasets: Vec<Dataset>,
}

/// Stored JSON text as JSON (or as a string if it is not valid JSON).
fn parse_json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_owned()))
}

/// A stored JSON list of strings (or the stored text itself, so nothing is hidden).
fn string_list(text: &str) -> Vec<String> {
    serde_json::from_str(text).unwrap_or_else(|_| vec![text.to_owned()])
}

/// Imported datasets, by id.
#[utoipa::path(get, path = "/datasets", responses((status = 200, body = DatasetList), (status = 401, body = ErrorBody), (status = 500, body = ErrorBody)))]
async fn list_datasets(State(state): State<ApiState>) -> ApiResult<Json<DatasetList>> {
    let datasets = state.store.datasets().await?;
    Ok(Json(DatasetList { datasets: datasets.iter().map(Dataset::from).collect() }))
}

/// One dataset.
#[utoipa::path(get, path = "/datasets/{id}", params(("id" = String, Path, description = "Dataset id (name or 0x + 64 hex)")),
    responses((status = 200, body = Dataset), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 500, body = ErrorBody)))]
async fn show_dataset(
    State(state): State<ApiState>,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> ApiResult<Json<Dataset>> {
    // Look up by canonical form, so `0x6261…00` finds `ba`.
    let key = wefe_core::DatasetId::parse(&id).map(|d| d.to_string()).unwrap_or(id);
    match state.store.dataset(&key).await? {
        Some(d) => Ok(Json(Dataset::from(&d))),
        None => Err(ApiError::NotFound(format!("no dataset {}", shorten(&key)))),
    }
}

/// `POST /datasets` with a JSON body: import a file already on the node, under its import folder.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PathImport {
    /// Dataset id.
    pub id: String,
    /// The id column (default `id`).
    #[serde(default)]
    pub id_column: Option<String>,
    /// A regular file under the node's `import_root` (relative paths are taken from it).
    #[schema(value_type = String)]
    pub path: PathBuf,
}

/// `POST /datasets` as multipart/form-data (the text fields before the file).
#[derive(Debug, ToSchema)]
#[allow(dead_code, reason = "describes the multipart form in the OpenAPI document; read field by field")]
pub struct UploadForm {
    /// Dataset id.
    id: String,
    /// The id column (default `id`).
    id_column: Option<String>,
    /// The CSV file.
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
}

/// Import a CSV dataset: an upload, or a file on the node under its import folder.
///
/// The CSV needs a header with the id column, distinct column names, the
/// header's number of fields on every line, UTF-8, and non-empty unique ids.
/// Errors name the line and column, never the file's content.
#[utoipa::path(post, path = "/datasets",
    request_body(content((UploadForm = "multipart/form-data"), (PathImport = "application/json"))),
    responses((status = 201, body = Dataset), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 413, body = ErrorBody),
        (status = 500, body = ErrorBody)))]
async fn import_dataset(State(state): State<ApiState>, request: Request) -> ApiResult<(StatusCode, Json<Dataset>)> {
    let content_type = request.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let record = if content_type.starts_with("multipart/form-data") {
        let multipart = Multipart::from_request(request, &state).await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::TooLarge(too_large(state.upload_limit))
            } else {
                ApiError::BadRequest(format!("multipart: {}", e.body_text()))
            }
        })?;
        import_upload(&state, multipart).await?
    } else if content_type.starts_with("application/json") {
        // A JSON request only names a file: it is read whole, so it stays small
        // (the large limit is for streamed multipart uploads).
        let bytes = axum::body::to_bytes(request.into_body(), JSON_BODY_LIMIT)
            .await
            .map_err(|_| ApiError::TooLarge(format!("a JSON request body may be at most {JSON_BODY_LIMIT} bytes")))?;
        let body: PathImport =
            serde_json::from_slice(&bytes).map_err(|e| ApiError::BadRequest(format!("invalid JSON body: {e}")))?;
        import_path(&state, body).await?
    } else {
        return Err(ApiError::BadRequest(
            "send multipart/form-data (fields id, id_column, file) or application/json ({id, id_column, path})".into(),
        ));
    };
    Ok((StatusCode::CREATED, Json(Dataset::from(&record))))
}

async fn import_path(state: &ApiState, body: PathImport) -> ApiResult<DatasetRecord> {
    let request = ImportRequest::new(&body.id, body.id_column.as_deref())?;
    let Some(root) = state.import_root.clone() else {
        return Err(ApiError::Forbidden(
            "path imports are disabled on this node (no import_root in its config): upload the file instead".into(),
        ));
    };
    // Run to completion even if the client goes away, so no half-import remains.
    let (store, data_dir) = (state.store.clone(), state.data_dir.clone());
    let task = tokio::spawn(async move { datasets::import_file(store, data_dir, request, &root, &body.path).await });
    task.await.map_err(|e| ApiError::Internal(format!("import task: {e}")))?.map_err(Into::into)
}

/// Multipart upload: fields `id`, optional `id_column`, then `file` (the text
/// fields must come first so the file can be validated as it streams in).
async fn import_upload(state: &ApiState, mut multipart: Multipart) -> ApiResult<DatasetRecord> {
    let mut id: Option<String> = None;
    let mut id_column: Option<String> = None;
    while let Some(mut field) = multipart.next_field().await.map_err(multipart_error(state.upload_limit))? {
        match field.name().unwrap_or("") {
            "id" => id = Some(field.text().await.map_err(multipart_error(state.upload_limit))?),
            "id_column" => id_column = Some(field.text().await.map_err(multipart_error(state.upload_limit))?),
            "file" => {
                let Some(id) = id.as_deref() else {
                    return Err(ApiError::BadRequest("multipart: send the 'id' field before 'file'".into()));
                };
                let request = ImportRequest::new(id, id_column.as_deref())?;
                let (tx, reader) = datasets::upload_channel(16);
                // Spawned: once the upload is complete the import finishes even if
                // the client disconnects; before that, a dropped sender fails it.
                let task = tokio::spawn(datasets::import(state.store.clone(), state.data_dir.clone(), request, reader));
                loop {
                    let chunk = match field.chunk().await {
                        Ok(Some(bytes)) => Chunk::Data(bytes),
                        Ok(None) => Chunk::End,
                        Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => Chunk::Failed(std::io::Error::new(
                            std::io::ErrorKind::FileTooLarge,
                            too_large(state.upload_limit),
                        )),
                        Err(e) => Chunk::Failed(std::io::Error::other(format!("multipart: {}", e.body_text()))),
                    };
                    let last = !matches!(chunk, Chunk::Data(_));
                    // A closed channel means the importer already gave up: its error is the answer.
                    if tx.send(chunk).await.is_err() || last {
                        break;
                    }
                }
                drop(tx);
                return task.await.map_err(|e| ApiError::Internal(format!("import task: {e}")))?.map_err(Into::into);
            }
            other => return Err(ApiError::BadRequest(format!("multipart: unknown field '{}'", shorten(other)))),
        }
    }
    Err(ApiError::BadRequest("multipart: no 'file' field".into()))
}

fn too_large(limit: usize) -> String {
    format!("the request exceeds the upload limit of {limit} bytes")
}

fn multipart_error(limit: usize) -> impl Fn(axum::extract::multipart::MultipartError) -> ApiError {
    move |e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::TooLarge(too_large(limit))
        } else {
            ApiError::BadRequest(format!("multipart: {}", e.body_text()))
        }
    }
}

// -------------------------------------------------------------------- jobs

/// A job this node takes part in.
#[derive(Debug, Serialize, ToSchema)]
pub struct Job {
    /// On-chain job id.
    pub id: u64,
    /// `psi`, `vertical-lr`, `predict`, …
    pub kind: String,
    /// The job's params as proposed.
    pub params: Value,
    /// Participants (0x addresses).
    pub participants: Vec<String>,
    /// `NAME@0xOWNER` per dataset.
    pub datasets: Vec<String>,
    /// The description digest of each dataset the proposal bound.
    pub dataset_digests: Vec<String>,
    /// Block of the approval.
    pub approved_block: u64,
    /// After it anyone may close the job as timed out.
    pub run_deadline_block: u64,
    /// `approved`, `running`, `completed`, `failed` or `report_pending`.
    pub status: String,
    /// 0 to 1.
    pub progress: f64,
    /// PSI jobs: ids processed, ids in all, estimated seconds left.
    pub items: Option<JobItems>,
    /// The commitment reported on chain.
    pub result_commitment: Option<String>,
    /// URL path of the artifact when completed.
    pub result: Option<String>,
    /// URL path of the commitment key when completed.
    pub commitment_key: Option<String>,
    /// URL paths of the charts of a completed learning job.
    pub reports: Vec<String>,
    /// The full summary (only the fields params.publish lists went on chain).
    pub summary: Option<Value>,
    /// The failure's detail (kept here; its commitment went on chain).
    pub error: Option<String>,
    /// The failure's category and the key of its detail's commitment.
    pub failure: Option<JobFailureView>,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds.
    pub updated_at: i64,
}

/// Item progress of a PSI job.
#[derive(Debug, Serialize, ToSchema)]
pub struct JobItems {
    /// Ids processed (both sets, or every set this node handles).
    pub done: u64,
    /// Ids in all.
    pub total: u64,
    /// Estimated seconds left.
    pub eta_seconds: Option<f64>,
}

/// Why a job failed.
#[derive(Debug, Serialize, ToSchema)]
pub struct JobFailureView {
    /// The category reported on chain.
    pub category: String,
    /// Hex key of the detail's commitment: with `error`, an auditor checks it on chain.
    pub detail_key: Option<String>,
}

impl From<&JobRecord> for Job {
    fn from(j: &JobRecord) -> Self {
        let id = j.job.job_id;
        let has_result = j.status == "completed" && j.result_path.is_some();
        Self {
            id,
            kind: j.job.kind.clone(),
            params: parse_json(&j.job.params),
            participants: string_list(&j.job.participants),
            datasets: string_list(&j.job.datasets),
            dataset_digests: string_list(&j.job.dataset_digests),
            approved_block: j.job.approved_block,
            run_deadline_block: j.job.run_deadline_block,
            status: j.status.clone(),
            progress: j.progress,
            items: j.items.as_ref().map(|i| JobItems { done: i.done, total: i.total, eta_seconds: i.eta_seconds }),
            result_commitment: j.result_commitment.clone(),
            result: has_result.then(|| format!("/jobs/{id}/result")),
            commitment_key: has_result.then(|| format!("/jobs/{id}/key")),
            reports: report_files(j).iter().map(|name| format!("/jobs/{id}/report/{name}")).collect(),
            summary: j.summary.as_deref().map(parse_json),
            error: j.error.clone(),
            failure: j
                .failure_category
                .as_ref()
                .map(|category| JobFailureView { category: category.clone(), detail_key: j.failure_key.clone() }),
            created_at: j.created_at,
            updated_at: j.updated_at,
        }
    }
}

fn job_id(text: &str) -> ApiResult<u64> {
    text.parse().map_err(|_| ApiError::BadRequest(format!("job id '{}' is not a number", shorten(text))))
}

async fn find_job(store: &Store, id: &str) -> ApiResult<JobRecord> {
    let id = job_id(id)?;
    store.job(id).await?.ok_or_else(|| ApiError::NotFound(format!("no job {id}")))
}

/// `GET /jobs`: one page of jobs, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct JobPage {
    /// At most `limit` jobs, newest first.
    pub jobs: Vec<Job>,
    /// Jobs in all.
    pub total: u64,
    /// Jobs skipped before this page.
    pub offset: u64,
    /// The page size asked for.
    pub limit: u32,
    /// The `offset` of the next page, if there is one.
    pub next_offset: Option<u64>,
}

/// The query of `GET /jobs`.
#[derive(Debug, Default, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct JobsQuery {
    /// Jobs per page, 1 to 500 (default 100).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
    /// Jobs to skip, newest first (default 0).
    pub offset: Option<u64>,
}

impl JobsQuery {
    /// Parses `limit=…&offset=…`; anything else is an error naming the parameter.
    fn parse(query: Option<&str>) -> ApiResult<Self> {
        let mut parsed = Self::default();
        for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let number = || {
                value.parse::<u64>().map_err(|_| {
                    ApiError::BadRequest(format!("query parameter {name}: '{}' is not a number", shorten(value)))
                })
            };
            match name {
                "limit" => {
                    let limit = number()?;
                    if !(1..=u64::from(MAX_PAGE_SIZE)).contains(&limit) {
                        return Err(ApiError::BadRequest(format!(
                            "query parameter limit: {limit} is not from 1 to {MAX_PAGE_SIZE}"
                        )));
                    }
                    parsed.limit = Some(limit as u32);
                }
                "offset" => parsed.offset = Some(number()?),
                other => {
                    return Err(ApiError::BadRequest(format!(
                        "unknown query parameter '{}' (GET /jobs takes limit and offset)",
                        shorten(other)
                    )));
                }
            }
        }
        Ok(parsed)
    }
}

/// Jobs this node takes part in, newest first, a page at a time.
#[utoipa::path(get, path = "/jobs", params(JobsQuery),
    responses((status = 200, body = JobPage), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 500, body = ErrorBody)))]
async fn list_jobs(State(state): State<ApiState>, uri: Uri) -> ApiResult<Json<JobPage>> {
    let query = JobsQuery::parse(uri.query())?;
    let (limit, offset) = (query.limit.unwrap_or(DEFAULT_PAGE_SIZE), query.offset.unwrap_or(0));
    let total = state.store.job_count().await?;
    let jobs = state.store.jobs_page(limit, offset).await?;
    let end = offset.saturating_add(jobs.len() as u64);
    Ok(Json(JobPage {
        jobs: jobs.iter().map(Job::from).collect(),
        total,
        offset,
        limit,
        next_offset: (end < total && !jobs.is_empty()).then_some(end),
    }))
}

/// One job: status and progress.
#[utoipa::path(get, path = "/jobs/{id}", params(("id" = u64, Path, description = "On-chain job id")),
    responses((status = 200, body = Job), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 500, body = ErrorBody)))]
async fn show_job(
    State(state): State<ApiState>,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> ApiResult<Json<Job>> {
    Ok(Json(Job::from(&find_job(&state.store, &id).await?)))
}

/// The result artifact of a completed job; header `x-wefe-result-commitment`
/// carries the commitment reported on chain.
#[utoipa::path(get, path = "/jobs/{id}/result", params(("id" = u64, Path, description = "On-chain job id")),
    responses((status = 200, description = "The artifact", body = [u8], content_type = "application/octet-stream"),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 500, body = ErrorBody)))]
async fn job_result(
    State(state): State<ApiState>,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> ApiResult<Response> {
    let job = find_job(&state.store, &id).await?;
    let id = job.job.job_id;
    let path = match (&job.result_path, job.status.as_str()) {
        (Some(path), "completed") => PathBuf::from(path),
        (_, status) => return Err(ApiError::Conflict(format!("job {id} is {status}: no result yet"))),
    };
    let file = tokio::fs::File::open(&path)
        .await
        .map_err(|e| ApiError::Internal(format!("job {id} result {}: {e}", path.display())))?;
    let len = file.metadata().await.map_err(|e| ApiError::Internal(format!("job {id} result: {e}")))?.len();
    let name = path.file_name().map(|n| n.to_string_lossy().replace(['"', '\\'], "_")).unwrap_or_default();
    let mut response = Body::from_stream(tokio_util::io::ReaderStream::new(file)).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/octet-stream"));
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"job-{id}-{name}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    if let Some(c) = job.result_commitment.as_deref().and_then(|h| HeaderValue::from_str(h).ok()) {
        headers.insert("x-wefe-result-commitment", c);
    }
    Ok(response)
}

/// The commitment key file of a job's result (`job-N.key`).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CommitmentKeyFile {
    /// `HMAC-SHA-256, wefe/result-commitment/v1`.
    pub scheme: String,
    /// On-chain job id.
    pub job_id: u64,
    /// This member (0x address).
    pub participant: String,
    /// The artifact's file name.
    pub artifact: String,
    /// The commitment reported on chain.
    pub commitment: String,
    /// The key (hex).
    pub key: String,
    /// Agreed with the other holders of the same result.
    pub shared: bool,
}

/// The commitment key of a completed job's result: with the result, `wefe
/// audit verify` checks it against the chain.
#[utoipa::path(get, path = "/jobs/{id}/key", params(("id" = u64, Path, description = "On-chain job id")),
    responses((status = 200, body = CommitmentKeyFile), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 500, body = ErrorBody)))]
async fn job_key(
    State(state): State<ApiState>,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> ApiResult<Json<CommitmentKeyFile>> {
    let job = find_job(&state.store, &id).await?;
    let id = job.job.job_id;
    let path = match (&job.result_path, job.status.as_str()) {
        (Some(path), "completed") => Path::new(path).with_file_name(format!("job-{id}.key")),
        (_, status) => return Err(ApiError::Conflict(format!("job {id} is {status}: no result yet"))),
    };
    let text = Zeroizing::new(
        tokio::fs::read_to_string(&path)
            .await
            .map_err(|e| ApiError::Internal(format!("job {id} key {}: {e}", path.display())))?,
    );
    let key = serde_json::from_str(&text).map_err(|e| {
        ApiError::Internal(format!("job {id} key {}: line {}, column {}", path.display(), e.line(), e.column()))
    })?;
    Ok(Json(key))
}

/// Charts and tables a learning job may leave next to its result: ROC and
/// loss curves, feature importance (SecureBoost), the WOE/IV table and the
/// IV chart (binning).
const REPORT_FILES: [&str; 6] = ["roc.png", "loss.png", "importance.png", "importance.csv", "iv.png", "woe.csv"];

/// The report charts present for a completed job.
fn report_files(j: &JobRecord) -> Vec<&'static str> {
    let Some(dir) = j.result_path.as_deref().filter(|_| j.status == "completed").and_then(|p| Path::new(p).parent())
    else {
        return Vec::new();
    };
    REPORT_FILES.into_iter().filter(|name| dir.join(format!("job-{}-{name}", j.job.job_id)).is_file()).collect()
}

/// A report of a completed learning job: `roc.png` (ROC curve), `loss.png`
/// (loss per epoch or tree), `importance.png` / `importance.csv` (split
/// count and gain per feature), `iv.png` / `woe.csv` (binning).
#[utoipa::path(get, path = "/jobs/{id}/report/{name}",
    params(("id" = u64, Path, description = "On-chain job id"), ("name" = String, Path, description = "roc.png, loss.png, importance.png, importance.csv, iv.png or woe.csv")),
    responses((status = 200, description = "The PNG image or CSV table", body = [u8], content_type = "image/png"),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 500, body = ErrorBody)))]
async fn job_report(
    State(state): State<ApiState>,
    axum::extract::Path((id, name)): axum::extract::Path<(String, String)>,
) -> ApiResult<Response> {
    if !REPORT_FILES.contains(&name.as_str()) {
        return Err(ApiError::BadRequest(format!(
            "no report '{}' (reports: {})",
            shorten(&name),
            REPORT_FILES.join(", ")
        )));
    }
    let job = find_job(&state.store, &id).await?;
    let id = job.job.job_id;
    if job.status != "completed" {
        return Err(ApiError::Conflict(format!("job {id} is {}: no report yet", job.status)));
    }
    if !report_files(&job).contains(&name.as_str()) {
        return Err(ApiError::NotFound(format!("job {id} ({}) has no {name}", job.job.kind)));
    }
    let dir = job.result_path.as_deref().and_then(|p| Path::new(p).parent()).unwrap_or(Path::new("."));
    let path = dir.join(format!("job-{id}-{name}"));
    let bytes = tokio::fs::read(&path)
        .await
        .map_err(|e| ApiError::Internal(format!("job {id} report {}: {e}", path.display())))?;
    let mut response = Body::from(bytes).into_response();
    let content_type = if name.ends_with(".csv") { "text/csv; charset=utf-8" } else { "image/png" };
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    Ok(response)
}

// ------------------------------------------------------------------ models

/// Largest online prediction request (10 000 ids of up to 256 bytes fit).
const PREDICT_BODY_LIMIT: usize = 4 << 20;

/// `POST /models/{id}/predict`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PredictRequest {
    /// The ids to score, in this node's dataset.
    #[schema(min_items = 1, max_items = 10000)]
    pub ids: Vec<String>,
}

/// One online prediction.
#[derive(Debug, Serialize, ToSchema)]
pub struct Prediction {
    /// The requested id.
    pub id: String,
    /// Linear score.
    pub score: f64,
    /// σ(score).
    pub probability: f64,
    /// `probability ≥ threshold`.
    pub prediction: bool,
}

/// The answer of `POST /models/{id}/predict`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Predictions {
    /// The training job of the model.
    pub model_job: u64,
    /// One per id, in request order.
    pub predictions: Vec<Prediction>,
}

/// Online prediction with a split model trained with `"online_serving": true`
/// (this node holds the guest share; the hosts' nodes add their partial scores).
#[utoipa::path(post, path = "/models/{id}/predict", params(("id" = u64, Path, description = "On-chain id of the vertical-lr training job")),
    request_body = PredictRequest,
    responses((status = 200, body = Predictions), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 413, body = ErrorBody),
        (status = 503, body = ErrorBody)))]
async fn predict_online(
    State(state): State<ApiState>,
    axum::extract::Path(id): axum::extract::Path<String>,
    request: Request,
) -> ApiResult<Json<Predictions>> {
    let model_job = job_id(&id)?;
    let bytes = axum::body::to_bytes(request.into_body(), PREDICT_BODY_LIMIT)
        .await
        .map_err(|_| ApiError::TooLarge(format!("a prediction request may be at most {PREDICT_BODY_LIMIT} bytes")))?;
    let request: PredictRequest =
        serde_json::from_slice(&bytes).map_err(|e| ApiError::BadRequest(format!("invalid JSON body: {e}")))?;
    let gateway = state
        .gateway
        .as_ref()
        .ok_or_else(|| ApiError::Unavailable("this node runs without a gateway: no online predictions".into()))?;
    let transport = gateway.transport(crate::serving::channel(model_job));
    let predictions =
        crate::serving::predict_online(&state.store, &transport, state.member, model_job, request.ids).await?;
    let predictions = predictions
        .into_iter()
        .map(|p| Prediction { id: p.id, score: p.score, probability: p.probability, prediction: p.prediction })
        .collect();
    Ok(Json(Predictions { model_job, predictions }))
}

// ------------------------------------------------------------------- audit

/// One indexed chain event.
#[derive(Debug, Serialize, ToSchema)]
pub struct Event {
    /// Block number.
    pub block_number: u64,
    /// Log index in the block.
    pub log_index: u64,
    /// Block hash.
    pub block_hash: String,
    /// Transaction hash.
    pub tx_hash: String,
    /// Contract name.
    pub contract: String,
    /// Contract address.
    pub contract_address: String,
    /// Event name.
    pub event: String,
    /// The account that caused it, where the event names one.
    pub actor: Option<String>,
    /// The event's fields.
    pub fields: Value,
}

impl From<&EventRecord> for Event {
    fn from(e: &EventRecord) -> Self {
        Self {
            block_number: e.block_number,
            log_index: e.log_index,
            block_hash: e.block_hash.clone(),
            tx_hash: e.tx_hash.clone(),
            contract: e.contract.clone(),
            contract_address: e.contract_address.clone(),
            event: e.event.clone(),
            actor: e.actor.clone(),
            fields: parse_json(&e.fields),
        }
    }
}

/// `GET /audit/jobs/{id}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct JobAudit {
    /// On-chain job id.
    pub job_id: u64,
    /// Its events in chain order.
    pub events: Vec<Event>,
}

/// The indexed chain events of a job, in chain order.
#[utoipa::path(get, path = "/audit/jobs/{id}", params(("id" = u64, Path, description = "On-chain job id")),
    responses((status = 200, body = JobAudit), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 500, body = ErrorBody)))]
async fn job_audit(
    State(state): State<ApiState>,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> ApiResult<Json<JobAudit>> {
    let id = job_id(&id)?;
    let events = state.store.job_events(id).await?;
    if events.is_empty() {
        return Err(ApiError::NotFound(format!("no indexed events for job {id}")));
    }
    Ok(Json(JobAudit { job_id: id, events: events.iter().map(Event::from).collect() }))
}

// ----------------------------------------------------------------- openapi

/// This document.
#[utoipa::path(get, path = "/openapi.json", responses((status = 200, description = "OpenAPI 3.1 document", body = Object), (status = 401, body = ErrorBody)))]
async fn openapi_document() -> Json<Value> {
    Json(openapi())
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "wefe party node API",
        description = "One institution's node: datasets, jobs, results and the audit timeline. Every route but \
                       /livez needs `Authorization: Bearer <token>` (the node's api-token file); requests with a \
                       foreign Host or Origin are refused. Errors are {\"error\": message}."
    ),
    paths(livez, health, list_datasets, import_dataset, show_dataset, list_jobs, show_job, job_result, job_key,
          job_report, predict_online, job_audit, openapi_document),
    components(schemas(ErrorBody)),
    modifiers(&BearerToken),
    security(("api_token" = []))
)]
struct ApiDoc;

/// Declares the bearer-token scheme the document's `security` names.
struct BearerToken;

impl utoipa::Modify for BearerToken {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        let mut scheme = Http::new(HttpAuthScheme::Bearer);
        scheme.description = Some("The token in the node's api-token file (<data_dir>/api-token by default)".into());
        components.add_security_scheme("api_token", SecurityScheme::Http(scheme));
    }
}

/// The OpenAPI 3.1 description of every route (served at `/openapi.json`),
/// generated from the handlers' annotations and response types.
pub fn openapi() -> Value {
    let mut doc = ApiDoc::openapi();
    doc.info.version = env!("CARGO_PKG_VERSION").to_owned();
    serde_json::to_value(doc).expect("an OpenAPI document serialises")
}
