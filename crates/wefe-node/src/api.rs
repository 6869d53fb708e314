//! The node's REST API (JSON over HTTP): health, dataset import and listing,
//! jobs with their progress and result artifact, and the audit timeline of a
//! job from the indexed chain events. `GET /openapi.json` describes every route.
//!
//! Errors are one [`ApiError`]: the body is always `{"error": "<message>"}`;
//! client errors (400, 404, 409, 413) keep their message, anything else is a
//! generic 500 whose cause goes to the log.
//!
//! The API has no authentication of its own: it is the operator's interface to
//! their own node, so bind it to localhost or put it behind the institution's
//! proxy. Path imports read files with the node's permissions; set
//! [`ApiState::import_root`] to confine them to one folder.
//!
//! ```no_run
//! # async fn demo(store: wefe_store::Store) -> std::io::Result<()> {
//! use wefe_node::api::{ApiState, app};
//! let state = ApiState::new(store, "/var/lib/wefe".into(), alloy::primitives::Address::ZERO);
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! axum::serve(listener, app(state)).await
//! # }
//! ```

use std::path::{Path, PathBuf};

use alloy::primitives::Address;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, FromRequest, Multipart, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::MethodRouter;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};
use wefe_store::{DatasetRecord, EventRecord, JobRecord, Store, StoreError};

use crate::datasets::{self, Chunk, ImportError, ImportRequest};

/// Default upload limit: 1 GiB.
pub const DEFAULT_UPLOAD_LIMIT: usize = 1 << 30;

/// What the handlers share.
#[derive(Debug, Clone)]
pub struct ApiState {
    /// The node's store (jobs, datasets, indexed events, chain cursor `chain`).
    pub store: Store,
    /// The node's data dir; datasets go to `<data_dir>/datasets/`, relative
    /// import paths are resolved against it.
    pub data_dir: PathBuf,
    /// The member account this node acts for (shown by `/health`).
    pub member: Address,
    /// Largest accepted request body in bytes (uploads); more is a 413.
    pub upload_limit: usize,
    /// When set, `POST /datasets` with a `path` only reads files under this folder.
    pub import_root: Option<PathBuf>,
    /// The node's gateway, for online predictions (`None`: not served).
    pub gateway: Option<wefe_gateway::Gateway>,
}

impl ApiState {
    /// State with the default upload limit and unrestricted path imports.
    pub fn new(store: Store, data_dir: PathBuf, member: Address) -> Self {
        Self { store, data_dir, member, upload_limit: DEFAULT_UPLOAD_LIMIT, import_root: None, gateway: None }
    }
}

/// Every API error. The `Display` text is the message a client sees (except for `Internal`).
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400: the request is malformed or its content invalid.
    #[error("{0}")]
    BadRequest(String),
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
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let message = match &self {
            Self::Internal(detail) => {
                tracing::error!(error = %detail, "API request failed");
                "internal error".to_owned()
            }
            client => client.to_string(),
        };
        (self.status(), Json(json!({ "error": message }))).into_response()
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
            ImportError::Exists(m) => Self::Conflict(m),
            ImportError::TooLarge(m) => Self::TooLarge(m),
            other => Self::Internal(other.to_string()),
        }
    }
}

type ApiResult<T> = Result<T, ApiError>;

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

/// The API router.
pub fn app(state: ApiState) -> Router {
    let mut router = Router::new();
    for (_, path, handler) in route_table() {
        router = router.route(path, handler);
    }
    router.fallback(no_route).layer(DefaultBodyLimit::max(state.upload_limit)).with_state(state)
}

async fn no_route(method: Method, uri: Uri) -> ApiError {
    ApiError::NotFound(format!("no route for {method} {}", uri.path()))
}

// ------------------------------------------------------------------ health

async fn health(State(state): State<ApiState>) -> ApiResult<Json<Value>> {
    let cursor = state.store.cursor("chain").await?;
    Ok(Json(json!({
        "status": "ok",
        "member": state.member.to_checksum(None),
        "cursor": cursor.map(|c| json!({ "block_number": c.block_number, "block_hash": c.block_hash })),
    })))
}

// ---------------------------------------------------------------- datasets

fn dataset_json(d: &DatasetRecord) -> Value {
    json!({
        "id": d.dataset_id,
        "path": d.path,
        "id_column": d.id_column,
        "columns": parse_json(&d.columns),
        "row_count": d.row_count,
        "schema_hash": d.schema_hash,
        "content_hash": d.content_hash,
        "imported_at": d.imported_at,
    })
}

/// Stored JSON text as JSON (or as a string if it is not valid JSON).
fn parse_json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_owned()))
}

async fn list_datasets(State(state): State<ApiState>) -> ApiResult<Json<Value>> {
    let datasets = state.store.datasets().await?;
    Ok(Json(json!({ "datasets": datasets.iter().map(dataset_json).collect::<Vec<_>>() })))
}

async fn show_dataset(
    State(state): State<ApiState>,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> ApiResult<Json<Value>> {
    // Look up by canonical form, so `0x6261…00` finds `ba`.
    let key = wefe_core::DatasetId::parse(&id).map(|d| d.to_string()).unwrap_or(id);
    match state.store.dataset(&key).await? {
        Some(d) => Ok(Json(dataset_json(&d))),
        None => Err(ApiError::NotFound(format!("no dataset {key}"))),
    }
}

/// `POST /datasets` with a JSON body: import a file already on the node.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PathImport {
    id: String,
    #[serde(default)]
    id_column: Option<String>,
    path: PathBuf,
}

async fn import_dataset(State(state): State<ApiState>, request: Request) -> ApiResult<(StatusCode, Json<Value>)> {
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
    Ok((StatusCode::CREATED, Json(dataset_json(&record))))
}

async fn import_path(state: &ApiState, body: PathImport) -> ApiResult<DatasetRecord> {
    let request = ImportRequest::new(&body.id, body.id_column.as_deref())?;
    let path = state.data_dir.join(&body.path);
    if let Some(root) = &state.import_root {
        check_under(root, &path)?;
    }
    // Run to completion even if the client goes away, so no half-import remains.
    let task = tokio::spawn(datasets::import_file(state.store.clone(), state.data_dir.clone(), request, path));
    task.await.map_err(|e| ApiError::Internal(format!("import task: {e}")))?.map_err(Into::into)
}

fn check_under(root: &Path, path: &Path) -> ApiResult<()> {
    let outside = || ApiError::BadRequest(format!("{} is not under the import folder", path.display()));
    let root = root.canonicalize().map_err(|e| ApiError::Internal(format!("import root {}: {e}", root.display())))?;
    let path = path.canonicalize().map_err(|e| ApiError::BadRequest(format!("cannot read {}: {e}", path.display())))?;
    if path.starts_with(&root) { Ok(()) } else { Err(outside()) }
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
            other => return Err(ApiError::BadRequest(format!("multipart: unknown field '{other}'"))),
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

fn job_id(text: &str) -> ApiResult<u64> {
    text.parse().map_err(|_| ApiError::BadRequest(format!("job id '{text}' is not a number")))
}

fn job_json(j: &JobRecord) -> Value {
    let id = j.job.job_id;
    let has_result = j.status == "completed" && j.result_path.is_some();
    json!({
        "id": id,
        "kind": j.job.kind,
        "params": parse_json(&j.job.params),
        "participants": parse_json(&j.job.participants),
        "datasets": parse_json(&j.job.datasets),
        "dataset_digests": parse_json(&j.job.dataset_digests),
        "approved_block": j.job.approved_block,
        "run_deadline_block": j.job.run_deadline_block,
        "status": j.status,
        "progress": j.progress,
        "items": j.items.map(|i| json!({ "done": i.done, "total": i.total, "eta_seconds": i.eta_seconds })),
        "result_commitment": j.result_commitment,
        "result": has_result.then(|| format!("/jobs/{id}/result")),
        "commitment_key": has_result.then(|| format!("/jobs/{id}/key")),
        "reports": report_files(j).iter().map(|name| format!("/jobs/{id}/report/{name}")).collect::<Vec<_>>(),
        "summary": j.summary.as_deref().map(parse_json),
        "error": j.error,
        "failure": j.failure_category.as_ref().map(|category| json!({
            "category": category,
            // With the detail (`error`), lets an auditor check the commitment on chain.
            "detail_key": j.failure_key,
        })),
        "created_at": j.created_at,
        "updated_at": j.updated_at,
    })
}

async fn find_job(store: &Store, id: &str) -> ApiResult<JobRecord> {
    let id = job_id(id)?;
    store.job(id).await?.ok_or_else(|| ApiError::NotFound(format!("no job {id}")))
}

async fn list_jobs(State(state): State<ApiState>) -> ApiResult<Json<Value>> {
    let jobs = state.store.jobs().await?;
    Ok(Json(json!({ "jobs": jobs.iter().map(job_json).collect::<Vec<_>>() })))
}

async fn show_job(
    State(state): State<ApiState>,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> ApiResult<Json<Value>> {
    Ok(Json(job_json(&find_job(&state.store, &id).await?)))
}

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

/// `GET /jobs/{id}/key`: the commitment key of a completed job's result (the
/// file `job-N.key` beside it), which `wefe audit verify` needs with the result.
async fn job_key(
    State(state): State<ApiState>,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> ApiResult<Json<Value>> {
    let job = find_job(&state.store, &id).await?;
    let id = job.job.job_id;
    let path = match (&job.result_path, job.status.as_str()) {
        (Some(path), "completed") => Path::new(path).with_file_name(format!("job-{id}.key")),
        (_, status) => return Err(ApiError::Conflict(format!("job {id} is {status}: no result yet"))),
    };
    let text = tokio::fs::read_to_string(&path)
        .await
        .map_err(|e| ApiError::Internal(format!("job {id} key {}: {e}", path.display())))?;
    let value: Value =
        serde_json::from_str(&text).map_err(|e| ApiError::Internal(format!("job {id} key {}: {e}", path.display())))?;
    Ok(Json(value))
}

/// Charts a learning job may leave next to its result.
const REPORT_FILES: [&str; 2] = ["roc.png", "loss.png"];

/// The report charts present for a completed job.
fn report_files(j: &JobRecord) -> Vec<&'static str> {
    let Some(dir) = j.result_path.as_deref().filter(|_| j.status == "completed").and_then(|p| Path::new(p).parent())
    else {
        return Vec::new();
    };
    REPORT_FILES.into_iter().filter(|name| dir.join(format!("job-{}-{name}", j.job.job_id)).is_file()).collect()
}

async fn job_report(
    State(state): State<ApiState>,
    axum::extract::Path((id, name)): axum::extract::Path<(String, String)>,
) -> ApiResult<Response> {
    if !REPORT_FILES.contains(&name.as_str()) {
        return Err(ApiError::BadRequest(format!("no report '{name}' (reports: {})", REPORT_FILES.join(", "))));
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
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("image/png"));
    Ok(response)
}

// ------------------------------------------------------------------ models

/// Largest online prediction request (10 000 ids of up to 256 bytes fit).
const PREDICT_BODY_LIMIT: usize = 4 << 20;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PredictRequest {
    ids: Vec<String>,
}

async fn predict_online(
    State(state): State<ApiState>,
    axum::extract::Path(id): axum::extract::Path<String>,
    request: Request,
) -> ApiResult<Json<Value>> {
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
    Ok(Json(json!({ "model_job": model_job, "predictions": predictions })))
}

// ------------------------------------------------------------------- audit

fn event_json(e: &EventRecord) -> Value {
    json!({
        "block_number": e.block_number,
        "log_index": e.log_index,
        "block_hash": e.block_hash,
        "tx_hash": e.tx_hash,
        "contract": e.contract,
        "contract_address": e.contract_address,
        "event": e.event,
        "actor": e.actor,
        "fields": parse_json(&e.fields),
    })
}

async fn job_audit(
    State(state): State<ApiState>,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> ApiResult<Json<Value>> {
    let id = job_id(&id)?;
    let events = state.store.job_events(id).await?;
    if events.is_empty() {
        return Err(ApiError::NotFound(format!("no indexed events for job {id}")));
    }
    Ok(Json(json!({ "job_id": id, "events": events.iter().map(event_json).collect::<Vec<_>>() })))
}

// ----------------------------------------------------------------- openapi

async fn openapi_document() -> Json<Value> {
    Json(openapi())
}

/// The OpenAPI 3.0 description of every route (served at `/openapi.json`).
pub fn openapi() -> Value {
    let error = json!({ "$ref": "#/components/responses/Error" });
    let id_param = |what: &str| json!([{ "name": "id", "in": "path", "required": true, "description": what, "schema": { "type": "string" } }]);
    let ok = |schema: &str| json!({ "description": "OK", "content": { "application/json": { "schema": { "$ref": format!("#/components/schemas/{schema}") } } } });
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "wefe party node API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "One institution's node: datasets, jobs, results and the audit timeline. Errors are {\"error\": message}."
        },
        "paths": {
            "/health": { "get": {
                "summary": "Liveness, the member this node acts for, and the chain cursor",
                "responses": { "200": ok("Health"), "500": error }
            }},
            "/datasets": {
                "get": {
                    "summary": "Imported datasets, by id",
                    "responses": { "200": ok("DatasetList"), "500": error }
                },
                "post": {
                    "summary": "Import a CSV dataset (upload, or a file on the node)",
                    "description": "multipart/form-data: fields `id`, optional `id_column` (default `id`), then `file`. application/json: `{id, id_column?, path}` with `path` relative to the data dir or absolute. The CSV needs a header with the id column, distinct column names, the header's number of fields on every line, UTF-8, and non-empty unique ids; errors name the line.",
                    "requestBody": { "required": true, "content": {
                        "multipart/form-data": { "schema": { "type": "object", "required": ["id", "file"], "properties": {
                            "id": { "type": "string" }, "id_column": { "type": "string" }, "file": { "type": "string", "format": "binary" }
                        }}},
                        "application/json": { "schema": { "$ref": "#/components/schemas/PathImport" } }
                    }},
                    "responses": {
                        "201": { "description": "Imported", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Dataset" } } } },
                        "400": error, "409": error, "413": error, "500": error
                    }
                }
            },
            "/datasets/{id}": { "get": {
                "summary": "One dataset",
                "parameters": id_param("Dataset id (name or 0x + 64 hex)"),
                "responses": { "200": ok("Dataset"), "404": error, "500": error }
            }},
            "/jobs": { "get": {
                "summary": "Jobs this node takes part in, newest first",
                "responses": { "200": ok("JobList"), "500": error }
            }},
            "/jobs/{id}": { "get": {
                "summary": "One job: status and progress",
                "parameters": id_param("On-chain job id"),
                "responses": { "200": ok("Job"), "400": error, "404": error, "500": error }
            }},
            "/jobs/{id}/result": { "get": {
                "summary": "The result artifact of a completed job",
                "parameters": id_param("On-chain job id"),
                "responses": {
                    "200": { "description": "The artifact; header x-wefe-result-commitment carries the commitment reported on chain",
                             "content": { "application/octet-stream": { "schema": { "type": "string", "format": "binary" } } } },
                    "400": error, "404": error, "409": error, "500": error
                }
            }},
            "/jobs/{id}/key": { "get": {
                "summary": "The commitment key of a completed job's result: with the result, `wefe audit verify` checks it against the chain",
                "parameters": id_param("On-chain job id"),
                "responses": { "200": ok("CommitmentKey"), "400": error, "404": error, "409": error, "500": error }
            }},
            "/jobs/{id}/report/{name}": { "get": {
                "summary": "A chart of a completed learning job: roc.png (ROC curve) or loss.png (loss per epoch)",
                "parameters": [
                    { "name": "id", "in": "path", "required": true, "description": "On-chain job id", "schema": { "type": "integer" } },
                    { "name": "name", "in": "path", "required": true, "description": "roc.png or loss.png", "schema": { "type": "string", "enum": REPORT_FILES } }
                ],
                "responses": {
                    "200": { "description": "The PNG image", "content": { "image/png": { "schema": { "type": "string", "format": "binary" } } } },
                    "400": error, "404": error, "409": error, "500": error
                }
            }},
            "/models/{id}/predict": { "post": {
                "summary": "Online prediction with a split model trained with \"online_serving\": true (this node holds the guest share; the hosts' nodes add their partial scores)",
                "parameters": id_param("On-chain id of the vertical-lr training job"),
                "requestBody": { "required": true, "content": { "application/json": { "schema": {
                    "type": "object", "required": ["ids"], "additionalProperties": false,
                    "properties": { "ids": { "type": "array", "items": { "type": "string" }, "minItems": 1, "maxItems": crate::serving::MAX_ONLINE_ROWS } }
                } } } },
                "responses": {
                    "200": { "description": "One prediction per id, in request order", "content": { "application/json": { "schema": {
                        "type": "object", "properties": {
                            "model_job": { "type": "integer" },
                            "predictions": { "type": "array", "items": { "type": "object", "properties": {
                                "id": { "type": "string" }, "score": { "type": "number" }, "probability": { "type": "number" }, "prediction": { "type": "boolean" }
                            } } }
                        } } } } },
                    "400": error, "404": error, "409": error, "413": error, "503": error
                }
            }},
            "/audit/jobs/{id}": { "get": {
                "summary": "The indexed chain events of a job, in chain order",
                "parameters": id_param("On-chain job id"),
                "responses": { "200": ok("JobAudit"), "400": error, "404": error, "500": error }
            }},
            "/openapi.json": { "get": {
                "summary": "This document",
                "responses": { "200": { "description": "OpenAPI 3 document", "content": { "application/json": { "schema": { "type": "object" } } } } }
            }}
        },
        "components": {
            "responses": {
                "Error": { "description": "An error", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } }
            },
            "schemas": {
                "Error": { "type": "object", "required": ["error"], "properties": { "error": { "type": "string" } } },
                "Health": { "type": "object", "properties": {
                    "status": { "type": "string", "enum": ["ok"] },
                    "member": { "type": "string", "description": "0x address" },
                    "cursor": { "type": "object", "nullable": true, "properties": {
                        "block_number": { "type": "integer" }, "block_hash": { "type": "string" } } }
                }},
                "PathImport": { "type": "object", "required": ["id", "path"], "properties": {
                    "id": { "type": "string" }, "id_column": { "type": "string", "default": "id" }, "path": { "type": "string" }
                }},
                "Dataset": { "type": "object", "properties": {
                    "id": { "type": "string" }, "path": { "type": "string" }, "id_column": { "type": "string" },
                    "columns": { "type": "array", "items": { "type": "string" } },
                    "row_count": { "type": "integer" },
                    "schema_hash": { "type": "string", "description": "0x SHA-256 of the column names, trimmed, joined by ','" },
                    "content_hash": { "type": "string", "description": "0x SHA-256 of the stored file" },
                    "imported_at": { "type": "integer", "description": "Unix seconds" }
                }},
                "DatasetList": { "type": "object", "properties": {
                    "datasets": { "type": "array", "items": { "$ref": "#/components/schemas/Dataset" } } } },
                "Job": { "type": "object", "properties": {
                    "id": { "type": "integer" }, "kind": { "type": "string" }, "params": {},
                    "participants": { "type": "array", "items": { "type": "string" } },
                    "datasets": { "type": "array", "items": { "type": "string" }, "description": "NAME@0xOWNER" },
                    "dataset_digests": { "type": "array", "items": { "type": "string" },
                                         "description": "The description digest of each dataset the proposal bound" },
                    "approved_block": { "type": "integer" },
                    "run_deadline_block": { "type": "integer", "description": "After it anyone may close the job as timed out" },
                    "status": { "type": "string", "enum": ["approved", "running", "completed", "failed", "report_pending"] },
                    "progress": { "type": "number", "minimum": 0, "maximum": 1 },
                    "items": {
                        "type": ["object", "null"],
                        "description": "PSI jobs: ids processed (both sets, or every set this node handles), ids in all, estimated seconds left",
                        "properties": {
                            "done": { "type": "integer" },
                            "total": { "type": "integer" },
                            "eta_seconds": { "type": ["number", "null"] }
                        }
                    },
                    "result_commitment": { "type": "string", "nullable": true, "description": "The commitment reported on chain" },
                    "result": { "type": "string", "nullable": true, "description": "URL path of the artifact when completed" },
                    "commitment_key": { "type": "string", "nullable": true, "description": "URL path of the commitment key when completed" },
                    "summary": { "nullable": true, "description": "The full summary (only the fields params.publish lists went on chain)" },
                    "error": { "type": "string", "nullable": true, "description": "The failure's detail (kept here; its commitment went on chain)" },
                    "failure": { "type": "object", "nullable": true, "properties": {
                        "category": { "type": "string" }, "detail_key": { "type": "string", "description": "Hex key of the detail's commitment" } } },
                    "created_at": { "type": "integer" }, "updated_at": { "type": "integer" }
                }},
                "CommitmentKey": { "type": "object", "properties": {
                    "scheme": { "type": "string" }, "job_id": { "type": "integer" }, "participant": { "type": "string" },
                    "artifact": { "type": "string" }, "commitment": { "type": "string" }, "key": { "type": "string" },
                    "shared": { "type": "boolean", "description": "Agreed with the other holders of the same result" }
                }},
                "JobList": { "type": "object", "properties": {
                    "jobs": { "type": "array", "items": { "$ref": "#/components/schemas/Job" } } } },
                "Event": { "type": "object", "properties": {
                    "block_number": { "type": "integer" }, "log_index": { "type": "integer" },
                    "block_hash": { "type": "string" }, "tx_hash": { "type": "string" },
                    "contract": { "type": "string" }, "contract_address": { "type": "string" },
                    "event": { "type": "string" }, "actor": { "type": "string", "nullable": true },
                    "fields": { "type": "object" }
                }},
                "JobAudit": { "type": "object", "properties": {
                    "job_id": { "type": "integer" },
                    "events": { "type": "array", "items": { "$ref": "#/components/schemas/Event" } } } }
            }
        }
    })
}
