//! The REST API through its router (`tower::ServiceExt::oneshot`, no port) over
//! a SQLite store in a temp dir: what an operator or a script relies on, and
//! what a hostile page or local process must not get (token, Host, Origin,
//! import folder, no file content in errors).

use std::collections::BTreeSet;
use std::path::Path;

use alloy::primitives::Address;
use axum::Router;
use axum::body::{Body, to_bytes};
use axum::http::{Request, StatusCode, header};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tower::ServiceExt;
use wefe_node::api::{ApiAccess, ApiState, ApiToken, PUBLIC_ROUTES, app, openapi, routes};
use wefe_store::{Cursor, EventRecord, JobUpdate, NewJob, Store};

const MEMBER: &str = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
const BOUNDARY: &str = "wefe-test-boundary";
const TOKEN: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
/// The API's listen address in these tests (a request's default `Host`).
const LISTEN: &str = "127.0.0.1:7201";

struct Node {
    dir: tempfile::TempDir,
    state: ApiState,
}

impl Node {
    async fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&format!("sqlite://{}/store.db", dir.path().display())).await.unwrap();
        let access = ApiAccess::new(ApiToken::new(TOKEN).unwrap(), LISTEN.parse().unwrap());
        let mut state = ApiState::new(store, dir.path().join("data"), MEMBER.parse::<Address>().unwrap(), access);
        state.import_root = Some(dir.path().to_owned());
        Self { dir, state }
    }

    fn app(&self) -> Router {
        app(self.state.clone())
    }

    fn store(&self) -> &Store {
        &self.state.store
    }

    fn datasets_dir(&self) -> std::path::PathBuf {
        self.state.data_dir.join("datasets")
    }

    /// Files in the datasets folder (temporary ones included).
    fn dataset_files(&self) -> BTreeSet<String> {
        match std::fs::read_dir(self.datasets_dir()) {
            Ok(entries) => entries.map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect(),
            Err(_) => BTreeSet::new(),
        }
    }

    /// Sends `request` as a local script would: with the `Host` of the
    /// listen address and the token, unless the request sets its own.
    async fn call(&self, mut request: Request<Body>) -> (StatusCode, Vec<u8>) {
        let headers = request.headers_mut();
        if !headers.contains_key(header::HOST) {
            headers.insert(header::HOST, LISTEN.parse().unwrap());
        }
        if !headers.contains_key(header::AUTHORIZATION) {
            headers.insert(header::AUTHORIZATION, format!("Bearer {TOKEN}").parse().unwrap());
        }
        self.call_as_is(request).await
    }

    /// Sends `request` with exactly its own headers.
    async fn call_as_is(&self, request: Request<Body>) -> (StatusCode, Vec<u8>) {
        let response = self.app().oneshot(request).await.unwrap();
        let status = response.status();
        (status, to_bytes(response.into_body(), usize::MAX).await.unwrap().to_vec())
    }

    async fn json(&self, request: Request<Body>) -> (StatusCode, Value) {
        let (status, body) = self.call(request).await;
        let value = serde_json::from_slice(&body)
            .unwrap_or_else(|e| panic!("{status}: not JSON ({e}): {}", String::from_utf8_lossy(&body)));
        (status, value)
    }

    async fn get(&self, uri: &str) -> (StatusCode, Value) {
        self.json(Request::get(uri).body(Body::empty()).unwrap()).await
    }

    async fn upload(&self, id: &str, id_column: Option<&str>, csv: &[u8]) -> (StatusCode, Value) {
        let mut fields = vec![("id", id.as_bytes())];
        if let Some(column) = id_column {
            fields.push(("id_column", column.as_bytes()));
        }
        fields.push(("file", csv));
        self.json(multipart(&fields)).await
    }

    async fn import_path(&self, body: Value) -> (StatusCode, Value) {
        let request = Request::post("/datasets")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_string()))
            .unwrap();
        self.json(request).await
    }
}

/// A multipart/form-data POST /datasets with `fields` in order (`file` as a file part).
fn multipart(fields: &[(&str, &[u8])]) -> Request<Body> {
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(format!("--{BOUNDARY}\r\n").as_bytes());
        if *name == "file" {
            body.extend_from_slice(
                b"Content-Disposition: form-data; name=\"file\"; filename=\"data.csv\"\r\nContent-Type: text/csv\r\n\r\n",
            );
        } else {
            body.extend_from_slice(format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes());
        }
        body.extend_from_slice(value);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    Request::post("/datasets")
        .header(header::CONTENT_TYPE, format!("multipart/form-data; boundary={BOUNDARY}"))
        .body(Body::from(body))
        .unwrap()
}

fn sha256_hex(bytes: &[u8]) -> String {
    format!("0x{}", hex::encode(Sha256::digest(bytes)))
}

fn error_of(body: &Value) -> &str {
    body["error"].as_str().unwrap_or_else(|| panic!("no error message in {body}"))
}

const CUSTOMERS: &[u8] = b"id,age,city\nc-1,30,Paris\nc-2,41,\"Lyon, FR\"\nc-3,25,Nice\n";

#[tokio::test]
async fn health_shows_member_and_chain_cursor() {
    let node = Node::new().await;
    let (status, body) = node.get("/health").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body,
        json!({ "status": "ok", "problems": [], "member": MEMBER, "cursor": null, "chain": null, "gateway": null, "peers": null })
    );

    let mut tx = node.store().begin().await.unwrap();
    Store::set_cursor(&mut tx, "chain", &Cursor { block_number: 42, block_hash: "0x2a".into() }).await.unwrap();
    tx.commit().await.unwrap();
    let (_, body) = node.get("/health").await;
    assert_eq!(body["cursor"], json!({ "block_number": 42, "block_hash": "0x2a" }));
}

#[tokio::test]
async fn health_shows_the_chain_head_lag_and_peers_and_says_what_is_wrong() {
    let mut node = Node::new().await;
    let health = wefe_node::health::NodeHealth::new();
    node.state.health = Some(health.clone());
    node.state.confirmations = 2;
    let mut tx = node.store().begin().await.unwrap();
    Store::set_cursor(&mut tx, "chain", &Cursor { block_number: 42, block_hash: "0x2a".into() }).await.unwrap();
    tx.commit().await.unwrap();
    health.chain_read(50);
    let (_, body) = node.get("/health").await;
    assert_eq!((body["status"].as_str(), body["chain"]["head"].as_u64()), (Some("ok"), Some(50)));
    assert_eq!((body["chain"]["lag_blocks"].as_u64(), body["chain"]["confirmations"].as_u64()), (Some(8), Some(2)));
    assert!(body["peers"].is_null(), "no round of checks yet: {body}");

    health.chain_failed("connection refused (os error 111)");
    let (_, body) = node.get("/health").await;
    assert_eq!(body["status"], "degraded");
    let problem = body["problems"][0].as_str().unwrap();
    assert!(problem.contains("cannot read the chain") && problem.contains("connection refused"), "{problem}");
    health.chain_read(51);

    let peer = |member: &str, name: &str, reachable: bool| wefe_node::health::PeerHealth {
        member: member.into(),
        name: name.into(),
        endpoint: "http://127.0.0.1:1".into(),
        reachable,
        round_trip_ms: reachable.then_some(3.5),
        checked_at: 1_700_000_000,
        error: (!reachable).then(|| "transport error (Unavailable)".into()),
    };
    health.set_peers(vec![
        peer("0x90F79bf6EB2c4f870365E785982E1f101E93b906", "Bank B", true),
        peer("0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65", "<b>Mallory</b>\u{7}", false),
    ]);
    let (_, body) = node.get("/health").await;
    assert_eq!(body["status"], "degraded");
    assert_eq!(body["peers"].as_array().unwrap().len(), 2);
    assert_eq!(body["peers"][0]["round_trip_ms"], 3.5);
    let problem = body["problems"][0].as_str().unwrap();
    assert!(
        problem.contains("0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65") && problem.contains("Unavailable"),
        "{problem}"
    );
    assert!(!problem.contains('\u{7}'), "control characters of a member's name are dropped: {problem}");
}

#[tokio::test]
async fn the_operator_page_is_served_without_the_token_and_locked_down() {
    let node = Node::new().await;
    let get = |uri: &str| bare("GET", uri).header(header::HOST, LISTEN).body(Body::empty()).unwrap();
    let response = node.app().oneshot(get("/ui/")).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let headers = response.headers().clone();
    let csp = headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
    for directive in ["default-src 'none'", "script-src 'self'", "frame-ancestors 'none'", "connect-src 'self'"] {
        assert!(csp.contains(directive), "{csp}");
    }
    assert_eq!(headers[header::X_FRAME_OPTIONS], "DENY");
    assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    assert!(headers[header::CONTENT_TYPE].to_str().unwrap().starts_with("text/html"));
    let html = String::from_utf8(to_bytes(response.into_body(), usize::MAX).await.unwrap().to_vec()).unwrap();
    assert!(html.contains("/ui/app.js") && html.contains("/ui/common.js") && !html.contains("https://"), "{html}");

    let (status, js) = node.call_as_is(get("/ui/app.js")).await;
    let js = String::from_utf8(js).unwrap();
    assert_eq!(status, StatusCode::OK);
    let (_, common) = node.call_as_is(get("/ui/common.js")).await;
    let common = String::from_utf8(common).unwrap();
    for script in [&js, &common] {
        assert!(!script.contains("innerHTML") && !script.contains("eval("), "values go in as text only");
        assert!(!script.contains("https://") && !script.contains("http://"), "nothing fetched from elsewhere");
    }
    assert!(js.contains("sessionStorage") && !js.contains("document.cookie"), "the token stays in the tab");
    assert!(!js.contains("localStorage.setItem(TOKEN_KEY"), "the token is never kept beyond the tab");
    let (status, css) = node.call_as_is(get("/ui/wefe.css")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!css.is_empty());

    let response = node.app().oneshot(get("/")).await.unwrap();
    assert!(response.status().is_redirection());
    assert_eq!(response.headers()[header::LOCATION], "/ui/");

    // The page is static and public; the data behind it is not.
    let (status, _) = node.call_as_is(get("/jobs")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // A page on a re-pointed domain (DNS rebinding) gets nothing, not even the page.
    let (status, _) = node
        .call_as_is(bare("GET", "/ui/").header(header::HOST, "evil.example:7201").body(Body::empty()).unwrap())
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // API answers carry the same headers (a JSON body is never sniffed as HTML).
    let response = node.app().oneshot(get("/livez")).await.unwrap();
    assert_eq!(response.headers()[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    assert_eq!(response.headers()[header::CACHE_CONTROL], "no-store");
}

#[tokio::test]
async fn an_uploaded_csv_is_stored_verbatim_listed_and_shown() {
    let node = Node::new().await;
    let (status, body) = node.upload("bank-a-customers", None, CUSTOMERS).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["id"], "bank-a-customers");
    assert_eq!(body["id_column"], "id");
    assert_eq!(body["columns"], json!(["id", "age", "city"]));
    assert_eq!(body["row_count"], 3);
    assert_eq!(body["content_hash"], sha256_hex(CUSTOMERS));
    assert_eq!(body["schema_hash"], sha256_hex(b"id,age,city"));

    let stored = node.datasets_dir().join("bank-a-customers.csv");
    assert_eq!(body["path"], std::path::absolute(&stored).unwrap().display().to_string());
    assert_eq!(std::fs::read(&stored).unwrap(), CUSTOMERS);
    assert_eq!(node.dataset_files(), BTreeSet::from(["bank-a-customers.csv".to_owned()]));

    let (status, list) = node.get("/datasets").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list, json!({ "datasets": [body.clone()] }));
    let (status, shown) = node.get("/datasets/bank-a-customers").await;
    assert_eq!((status, shown), (StatusCode::OK, body));
}

#[tokio::test]
async fn a_server_side_file_is_imported_with_its_id_column() {
    let node = Node::new().await;
    let source = node.dir.path().join("export.csv");
    let csv = b"name,customer_id\nAda,17\nGrace,4\n";
    std::fs::write(&source, csv).unwrap();

    let (status, body) = node.import_path(json!({ "id": "bank-b", "id_column": "customer_id", "path": source })).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!((body["id_column"].clone(), body["row_count"].clone()), (json!("customer_id"), json!(2)));
    assert_eq!(body["content_hash"], sha256_hex(csv));
    assert_eq!(std::fs::read(node.datasets_dir().join("bank-b.csv")).unwrap(), csv);

    // Relative paths are relative to the import folder.
    std::fs::write(node.dir.path().join("in.csv"), b"id\nx\n").unwrap();
    let (status, body) = node.import_path(json!({ "id": "rel", "path": "in.csv" })).await;
    assert_eq!((status, body["row_count"].clone()), (StatusCode::CREATED, json!(1)), "{body}");

    let ids: Vec<Value> =
        node.get("/datasets").await.1["datasets"].as_array().unwrap().iter().map(|d| d["id"].clone()).collect();
    assert_eq!(ids, [json!("bank-b"), json!("rel")]);
}

#[tokio::test]
async fn every_csv_error_names_its_line_and_leaves_nothing_behind() {
    let mut long = String::from("id,a,b,c\n");
    for i in 2..=16 {
        long.push_str(&format!("r{i},1,2,3\n"));
    }
    long.push_str("r17,1,2\n");
    let mut dup = String::from("id,name\n");
    for i in 2..=8 {
        dup.push_str(&format!("c-{i},x\n"));
    }
    dup.push_str("c-4,y\n");

    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("empty file", b"".to_vec(), "line 1: no header (the file is empty)"),
        ("no id column", b"key,age\nk,1\n".to_vec(), "line 1: no id column 'id' in the header (2 columns)"),
        (
            "duplicate column",
            b"id,age, age\n1,2,3\n".to_vec(),
            "line 1, column 3: duplicate column name (same as column 2)",
        ),
        ("empty column name", b"id,,x\n1,2,3\n".to_vec(), "line 1, column 2: empty column name"),
        ("short row", long.into_bytes(), "line 17: 3 fields, header has 4"),
        ("long row", b"id,a\n1,2\n2,3,4\n".to_vec(), "line 3: 3 fields, header has 2"),
        ("duplicate id", dup.into_bytes(), "line 9, column 1: duplicate id (first on line 4)"),
        ("empty id", b"id,a\n1,x\n ,y\n".to_vec(), "line 3, column 1: empty id in column 'id'"),
        ("padded id", b"id,a\n1,x\n 2,y\n".to_vec(), "line 3, column 1: id with leading or trailing spaces"),
        ("id with a line break", b"id,a\n\"1\n2\",x\n".to_vec(), "line 2, column 1: id with a line break"),
        (
            "long id",
            format!("id,a\n{},x\n", "k".repeat(257)).into_bytes(),
            "line 2, column 1: id longer than 256 bytes",
        ),
        ("bad UTF-8 in a row", b"id,a\n1,ok\n2,caf\xe9\n".to_vec(), "line 3, column 2: not valid UTF-8"),
        ("bad UTF-8 in the header", b"id,\xff\n1,2\n".to_vec(), "line 1, column 2: not valid UTF-8"),
        ("header only", b"id,a\n".to_vec(), "no data rows after the header on line 1"),
    ];
    let node = Node::new().await;
    for (what, csv, expected) in &cases {
        let (status, body) = node.upload("broken", None, csv).await;
        assert_eq!((status, error_of(&body)), (StatusCode::BAD_REQUEST, *expected), "upload: {what}");

        // The same through a server-side path.
        let path = node.dir.path().join("broken.csv");
        std::fs::write(&path, csv).unwrap();
        let (status, body) = node.import_path(json!({ "id": "broken", "path": path })).await;
        assert_eq!((status, error_of(&body)), (StatusCode::BAD_REQUEST, *expected), "path: {what}");
    }
    assert_eq!(node.dataset_files(), BTreeSet::new(), "a failed import left files");
    assert_eq!(node.get("/datasets").await.1, json!({ "datasets": [] }));
    assert_eq!(node.get("/datasets/broken").await.0, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn bad_requests_are_refused_with_a_reason() {
    let node = Node::new().await;
    let (status, body) = node.upload("has space", None, CUSTOMERS).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(error_of(&body).contains("printable ASCII"), "{body}");

    let (status, body) = node.upload("0x1234", None, CUSTOMERS).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(error_of(&body).contains("0x + 64 hex"), "{body}");

    let (status, body) = node.upload("x", Some("customer_id"), CUSTOMERS).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(error_of(&body).starts_with("line 1: no id column 'customer_id'"), "{body}");

    // The file must come after the id, so it can be checked as it streams in.
    let (status, body) = node.json(multipart(&[("file", CUSTOMERS), ("id", b"x")])).await;
    assert_eq!((status, error_of(&body)), (StatusCode::BAD_REQUEST, "multipart: send the 'id' field before 'file'"));
    let (status, body) = node.json(multipart(&[("id", b"x")])).await;
    assert_eq!((status, error_of(&body)), (StatusCode::BAD_REQUEST, "multipart: no 'file' field"));

    let missing = node.dir.path().join("missing.csv");
    let (status, body) = node.import_path(json!({ "id": "x", "path": missing })).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error_of(&body), format!("cannot read {}: No such file or directory", missing.display()));

    let (status, body) = node.import_path(json!({ "id": "x" })).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(error_of(&body).contains("path"), "{body}");

    let request =
        Request::post("/datasets").header(header::CONTENT_TYPE, "text/csv").body(Body::from(CUSTOMERS)).unwrap();
    let (status, body) = node.json(request).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(error_of(&body).contains("multipart/form-data"), "{body}");
    assert_eq!(node.dataset_files(), BTreeSet::new());
}

#[tokio::test]
async fn a_second_import_under_the_same_id_is_a_conflict_and_the_first_stays() {
    let node = Node::new().await;
    let (status, first) = node.upload("bank-a", None, CUSTOMERS).await;
    assert_eq!(status, StatusCode::CREATED);

    let other = b"id,age\nz-1,99\n";
    let (status, body) = node.upload("bank-a", None, other).await;
    assert_eq!((status, error_of(&body)), (StatusCode::CONFLICT, "dataset bank-a already exists"));
    let path = node.dir.path().join("other.csv");
    std::fs::write(&path, other).unwrap();
    let (status, _) = node.import_path(json!({ "id": "bank-a", "path": path })).await;
    assert_eq!(status, StatusCode::CONFLICT);
    // The hex form of the same 32 bytes is the same dataset.
    let hex_id = format!("0x{}", hex::encode(wefe_core::DatasetId::parse("bank-a").unwrap().to_bytes()));
    let (status, _) = node.upload(&hex_id, None, other).await;
    assert_eq!(status, StatusCode::CONFLICT);

    assert_eq!(node.get("/datasets/bank-a").await.1, first);
    assert_eq!(node.get(&format!("/datasets/{hex_id}")).await.1, first);
    assert_eq!(std::fs::read(node.datasets_dir().join("bank-a.csv")).unwrap(), CUSTOMERS);
    assert_eq!(node.dataset_files(), BTreeSet::from(["bank-a.csv".to_owned()]));
}

#[tokio::test]
async fn an_upload_over_the_limit_is_413_and_leaves_nothing() {
    let mut node = Node::new().await;
    node.state.upload_limit = 4096;
    let mut csv = String::from("id,v\n");
    for i in 0..1000 {
        csv.push_str(&format!("{i},{}\n", "x".repeat(20)));
    }
    let (status, body) = node.upload("big", None, csv.as_bytes()).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert_eq!(error_of(&body), "the request exceeds the upload limit of 4096 bytes");
    assert_eq!(node.dataset_files(), BTreeSet::new());

    // Without a length up front, the limit stops the upload mid-file.
    let request = multipart(&[("id", b"big"), ("file", csv.as_bytes())]);
    let (parts, body) = request.into_parts();
    let bytes = to_bytes(body, usize::MAX).await.unwrap();
    let streamed = Body::from_stream(tokio_util::io::ReaderStream::with_capacity(std::io::Cursor::new(bytes), 512));
    let (status, body) = node.json(Request::from_parts(parts, streamed)).await;
    assert_eq!(
        (status, error_of(&body)),
        (StatusCode::PAYLOAD_TOO_LARGE, "the request exceeds the upload limit of 4096 bytes")
    );
    assert_eq!(node.dataset_files(), BTreeSet::new());
    assert_eq!(node.get("/datasets/big").await.0, StatusCode::NOT_FOUND);

    // Under the limit, the same node accepts.
    let (status, _) = node.upload("small", None, b"id\n1\n").await;
    assert_eq!(status, StatusCode::CREATED);
}

#[tokio::test]
async fn path_imports_can_be_confined_to_a_folder() {
    let mut node = Node::new().await;
    let inbox = node.dir.path().join("inbox");
    std::fs::create_dir_all(&inbox).unwrap();
    node.state.import_root = Some(inbox.clone());
    std::fs::write(inbox.join("ok.csv"), b"id\n1\n").unwrap();
    std::fs::write(node.dir.path().join("secret.csv"), b"id\n1\n").unwrap();

    let (status, _) = node.import_path(json!({ "id": "ok", "path": inbox.join("ok.csv") })).await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, body) = node.import_path(json!({ "id": "no", "path": inbox.join("../secret.csv") })).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(error_of(&body).contains("not under the import folder"), "{body}");
}

fn new_job(id: u64) -> NewJob {
    NewJob {
        job_id: id,
        kind: "psi".into(),
        params: r#"{"protocol":"ecdh"}"#.into(),
        participants: r#"["0x01","0x02"]"#.into(),
        datasets: r#"["bank-a@0x0000000000000000000000000000000000000001","bank-b@0x0000000000000000000000000000000000000002"]"#
            .into(),
        dataset_digests: "[]".into(),
        approved_block: 12,
        run_deadline_block: 512,
    }
}

async fn insert_job(store: &Store, id: u64) {
    let mut tx = store.begin().await.unwrap();
    Store::insert_job(&mut tx, &new_job(id)).await.unwrap();
    tx.commit().await.unwrap();
}

#[tokio::test]
async fn jobs_show_status_progress_and_stream_their_result() {
    let node = Node::new().await;
    insert_job(node.store(), 7).await;
    insert_job(node.store(), 8).await;
    node.store().update_job(7, &JobUpdate { status: "running", progress: 0.25, ..Default::default() }).await.unwrap();
    let artifact = node.dir.path().join("intersection.csv");
    let content = b"id\nc-1\nc-3\n";
    std::fs::write(&artifact, content).unwrap();
    let hash = sha256_hex(content);
    let update = JobUpdate {
        status: "completed",
        progress: 1.0,
        result_commitment: Some(&hash),
        result_path: Some(artifact.to_str().unwrap()),
        summary: Some(r#"{"intersection":2}"#),
        ..JobUpdate::default()
    };
    node.store().update_job(8, &update).await.unwrap();

    let (status, list) = node.get("/jobs").await;
    assert_eq!(status, StatusCode::OK);
    let summary: Vec<(Value, Value, Value)> = list["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| (j["id"].clone(), j["status"].clone(), j["progress"].clone()))
        .collect();
    assert_eq!(summary, [(json!(8), json!("completed"), json!(1.0)), (json!(7), json!("running"), json!(0.25))]);

    let (status, job) = node.get("/jobs/8").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(job["kind"], "psi");
    assert_eq!(job["params"], json!({ "protocol": "ecdh" }));
    assert_eq!(job["participants"], json!(["0x01", "0x02"]));
    assert_eq!(
        job["datasets"],
        json!([
            "bank-a@0x0000000000000000000000000000000000000001",
            "bank-b@0x0000000000000000000000000000000000000002"
        ])
    );
    assert_eq!(job["run_deadline_block"], 512);
    assert_eq!(job["summary"], json!({ "intersection": 2 }));
    assert_eq!((job["result_commitment"].clone(), job["result"].clone()), (json!(hash), json!("/jobs/8/result")));
    assert_eq!(node.get("/jobs/7").await.1["result"], Value::Null);

    let request = Request::get("/jobs/8/result")
        .header(header::HOST, LISTEN)
        .header(header::AUTHORIZATION, format!("Bearer {TOKEN}"))
        .body(Body::empty())
        .unwrap();
    let response = node.app().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["x-wefe-result-commitment"], hash.as_str());
    assert_eq!(response.headers()[header::CONTENT_TYPE], "application/octet-stream");
    assert_eq!(response.headers()[header::CONTENT_LENGTH], content.len().to_string().as_str());
    assert!(response.headers()[header::CONTENT_DISPOSITION].to_str().unwrap().contains("job-8-intersection.csv"));
    assert_eq!(to_bytes(response.into_body(), usize::MAX).await.unwrap(), &content[..]);

    let (status, body) = node.get("/jobs/7/result").await;
    assert_eq!((status, error_of(&body)), (StatusCode::CONFLICT, "job 7 is running: no result yet"));
    let (status, body) = node.get("/jobs/9").await;
    assert_eq!((status, error_of(&body)), (StatusCode::NOT_FOUND, "no job 9"));
    assert_eq!(node.get("/jobs/9/result").await.0, StatusCode::NOT_FOUND);
    let (status, body) = node.get("/jobs/seven").await;
    assert_eq!((status, error_of(&body)), (StatusCode::BAD_REQUEST, "job id 'seven' is not a number"));
}

#[tokio::test]
async fn internal_failures_are_a_generic_500() {
    let node = Node::new().await;
    insert_job(node.store(), 3).await;
    let gone = node.dir.path().join("gone.bin");
    let update = JobUpdate {
        status: "completed",
        progress: 1.0,
        result_path: Some(gone.to_str().unwrap()),
        ..Default::default()
    };
    node.store().update_job(3, &update).await.unwrap();
    let (status, body) = node.get("/jobs/3/result").await;
    assert_eq!((status, body), (StatusCode::INTERNAL_SERVER_ERROR, json!({ "error": "internal error" })));
}

fn event(block: u64, index: u64, name: &str, job: u64) -> EventRecord {
    EventRecord {
        block_number: block,
        log_index: index,
        block_hash: format!("0x{block:064x}"),
        tx_hash: format!("0x{:064x}", block * 100 + index),
        contract: "JobRegistry".into(),
        contract_address: "0x00000000000000000000000000000000000000aa".into(),
        event: name.into(),
        actor: Some("0x00000000000000000000000000000000000000bb".into()),
        job_id: Some(job),
        fields: format!(r#"{{"jobId":"{job}"}}"#),
    }
}

#[tokio::test]
async fn the_audit_timeline_lists_a_jobs_events_in_chain_order() {
    let node = Node::new().await;
    let mut tx = node.store().begin().await.unwrap();
    for e in [
        event(6, 1, "JobApproved", 1),
        event(5, 0, "JobProposed", 1),
        event(6, 0, "JobApprovalGiven", 1),
        event(6, 2, "JobProposed", 2),
    ] {
        Store::insert_event(&mut tx, &e).await.unwrap();
    }
    tx.commit().await.unwrap();

    let (status, body) = node.get("/audit/jobs/1").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["job_id"], 1);
    let events = body["events"].as_array().unwrap();
    let names: Vec<&str> = events.iter().map(|e| e["event"].as_str().unwrap()).collect();
    assert_eq!(names, ["JobProposed", "JobApprovalGiven", "JobApproved"]);
    assert_eq!(
        events[0],
        json!({
            "block_number": 5, "log_index": 0, "block_hash": format!("0x{:064x}", 5),
            "tx_hash": format!("0x{:064x}", 500), "contract": "JobRegistry",
            "contract_address": "0x00000000000000000000000000000000000000aa", "event": "JobProposed",
            "actor": "0x00000000000000000000000000000000000000bb", "fields": { "jobId": "1" }
        })
    );
    let (status, body) = node.get("/audit/jobs/3").await;
    assert_eq!((status, error_of(&body)), (StatusCode::NOT_FOUND, "no indexed events for job 3"));
    assert_eq!(node.get("/audit/jobs/x").await.0, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn unknown_routes_and_ids_are_json_404s() {
    let node = Node::new().await;
    let (status, body) = node.get("/nope").await;
    assert_eq!((status, error_of(&body)), (StatusCode::NOT_FOUND, "no route for GET /nope"));
    let (status, body) = node.get("/datasets/unknown").await;
    assert_eq!((status, error_of(&body)), (StatusCode::NOT_FOUND, "no dataset unknown"));
}

#[tokio::test]
async fn openapi_documents_exactly_the_routes_served() {
    let node = Node::new().await;
    let (status, doc) = node.get("/openapi.json").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(doc, openapi());
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));

    let mut documented = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            documented.insert((method.clone(), path.clone()));
        }
    }
    let served: BTreeSet<(String, String)> = routes().into_iter().map(|(m, p)| (m.to_owned(), p.to_owned())).collect();
    assert_eq!(documented, served);

    // And the router really answers each one (not the fallback, not 405), and
    // asks for the token exactly where the document says it does.
    assert_eq!(doc["components"]["securitySchemes"]["api_token"]["scheme"], "bearer");
    assert_eq!(doc["security"], json!([{ "api_token": [] }]));
    for (method, path) in &served {
        let uri = path.replace("{id}", "1").replace("{name}", "roc.png");
        let request = || Request::builder().method(method.to_uppercase().as_str()).uri(&uri);
        let (status, body) = node.call(request().body(Body::empty()).unwrap()).await;
        assert_ne!(status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
        assert!(!String::from_utf8_lossy(&body).contains("no route for"), "{method} {path} is not routed");

        let public = doc["paths"][path][method]["security"] == json!([{}]);
        assert_eq!(public, PUBLIC_ROUTES.contains(&path.as_str()), "{method} {path}: documented security");
        let (status, _) = node.call_as_is(request().header(header::HOST, LISTEN).body(Body::empty()).unwrap()).await;
        assert_eq!(status == StatusCode::UNAUTHORIZED, !public, "{method} {path} without a token: {status}");
    }

    // Every $ref points at a defined component.
    let text = doc.to_string();
    for reference in text.split("\"$ref\":\"#/components/").skip(1) {
        let pointer = format!("/components/{}", &reference[..reference.find('"').unwrap()]);
        assert!(doc.pointer(&pointer).is_some(), "dangling {pointer}");
    }
}

#[test]
fn data_dir_paths_are_inside_the_datasets_folder() {
    let id = wefe_core::DatasetId::parse("../../etc/passwd").unwrap();
    let path = wefe_node::datasets::dataset_path(Path::new("/d"), &id);
    assert_eq!(path.parent().unwrap(), Path::new("/d/datasets"));
}

#[tokio::test]
async fn json_requests_are_small_whatever_the_upload_limit() {
    let node = Node::new().await;
    let padding = "x".repeat(wefe_node::api::JSON_BODY_LIMIT);
    let (status, body) = node.import_path(json!({ "id": "big", "path": "a.csv", "padding": padding })).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert!(error_of(&body).contains("at most 65536 bytes"), "{body}");
    let (status, body) = node.import_path(json!({ "id": "ok-id", "path": "missing.csv" })).await;
    assert_ne!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
}

fn bare(method: &str, uri: &str) -> axum::http::request::Builder {
    Request::builder().method(method).uri(uri)
}

#[tokio::test]
async fn every_route_but_livez_needs_the_token() {
    let node = Node::new().await;
    let wrong = format!("Bearer {}", TOKEN.replace('0', "1"));
    for auth in [None, Some("Bearer"), Some(wrong.as_str()), Some(&format!("Basic {TOKEN}")), Some(TOKEN)] {
        for uri in ["/health", "/datasets", "/jobs", "/jobs/1", "/openapi.json", "/nope"] {
            let mut request = bare("GET", uri).header(header::HOST, LISTEN);
            if let Some(auth) = auth {
                request = request.header(header::AUTHORIZATION, auth);
            }
            let response = node.app().oneshot(request.body(Body::empty()).unwrap()).await.unwrap();
            if uri == "/nope" {
                // Unknown routes are 404 either way: nothing to protect, nothing told.
                assert_eq!(response.status(), StatusCode::NOT_FOUND);
                continue;
            }
            assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{uri} with {auth:?}");
            assert_eq!(response.headers()[header::WWW_AUTHENTICATE], "Bearer");
            let body: Value =
                serde_json::from_slice(&to_bytes(response.into_body(), usize::MAX).await.unwrap()).unwrap();
            assert!(!error_of(&body).contains(TOKEN), "{body}");
        }
    }
    // A refused upload stores nothing.
    let request = multipart(&[("id", b"x"), ("file", CUSTOMERS)]);
    let (parts, body) = request.into_parts();
    let mut request = Request::from_parts(parts, body);
    request.headers_mut().insert(header::HOST, LISTEN.parse().unwrap());
    assert_eq!(node.call_as_is(request).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(node.dataset_files(), BTreeSet::new());

    // The right token, with surrounding spaces tolerated.
    let request =
        bare("GET", "/health").header(header::HOST, LISTEN).header(header::AUTHORIZATION, format!("Bearer  {TOKEN} "));
    assert_eq!(node.call_as_is(request.body(Body::empty()).unwrap()).await.0, StatusCode::OK);

    // Liveness answers without it, and tells nothing else.
    let (status, body) =
        node.call_as_is(bare("GET", "/livez").header(header::HOST, LISTEN).body(Body::empty()).unwrap()).await;
    assert_eq!((status, serde_json::from_slice::<Value>(&body).unwrap()), (StatusCode::OK, json!({ "status": "ok" })));
}

#[test]
fn api_tokens_are_long_random_and_kept_owner_only() {
    assert!(ApiToken::new("short").is_err());
    assert!(ApiToken::new(&format!("{TOKEN} x")).is_err(), "spaces");
    assert_eq!(format!("{:?}", ApiToken::new(TOKEN).unwrap()), "ApiToken(..)");

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("data/api-token");
    ApiToken::load_or_create(&path).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    let token = text.trim_end();
    assert_eq!(token.len(), 64);
    assert!(token.bytes().all(|b| b.is_ascii_hexdigit()));
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
    assert_eq!(std::fs::metadata(path.parent().unwrap()).unwrap().permissions().mode() & 0o777, 0o700);
    // A second start keeps it.
    ApiToken::load_or_create(&path).unwrap();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
    // One that others can read is refused.
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let err = ApiToken::load_or_create(&path).unwrap_err().to_string();
    assert!(err.contains("accessible by other users"), "{err}");
    assert!(!err.contains(token), "{err}");
}

#[tokio::test]
async fn foreign_hosts_are_refused_dns_rebinding() {
    let mut node = Node::new().await;
    for host in
        ["evil.example:7201", "evil.example", "127.0.0.1.evil.example:7201", "localhost.evil.example", "10.0.0.8:7201"]
    {
        for uri in ["/livez", "/health", "/jobs"] {
            let request = bare("GET", uri).header(header::HOST, host).body(Body::empty()).unwrap();
            let (status, body) = node.call(request).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{host} {uri}");
            assert!(String::from_utf8_lossy(&body).contains("is not this node's API"), "{host}");
        }
    }
    // No Host at all.
    let request = bare("GET", "/health").header(header::AUTHORIZATION, format!("Bearer {TOKEN}"));
    assert_eq!(node.call_as_is(request.body(Body::empty()).unwrap()).await.0, StatusCode::FORBIDDEN);
    // The loopback names, with or without a port.
    for host in ["localhost:7201", "LOCALHOST", "127.0.0.1", "[::1]:7201", LISTEN] {
        let (status, body) =
            node.call(bare("GET", "/health").header(header::HOST, host).body(Body::empty()).unwrap()).await;
        assert_eq!(status, StatusCode::OK, "{host}: {}", String::from_utf8_lossy(&body));
    }
    // A name the operator allowed (e.g. the institution's proxy).
    node.state.access = node.state.access.clone().allow_hosts(["node.bank-a.example"]);
    let request = bare("GET", "/health").header(header::HOST, "node.bank-a.example:443").body(Body::empty()).unwrap();
    assert_eq!(node.call(request).await.0, StatusCode::OK);
}

#[tokio::test]
async fn foreign_origins_are_refused_csrf() {
    let mut node = Node::new().await;
    let source = node.dir.path().join("in.csv");
    std::fs::write(&source, b"id\n1\n").unwrap();
    let post = |origin: &str| {
        Request::post("/datasets")
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::ORIGIN, origin)
            .body(Body::from(json!({ "id": "x", "path": source }).to_string()))
            .unwrap()
    };
    for origin in
        ["http://evil.example", "null", "http://127.0.0.1:7201.evil.example", "http://localhost:8080", "file://"]
    {
        let (status, body) = node.call(post(origin)).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{origin}");
        assert!(String::from_utf8_lossy(&body).contains("are not allowed"), "{origin}");
        let request = bare("GET", "/jobs").header(header::ORIGIN, origin).body(Body::empty()).unwrap();
        assert_eq!(node.call(request).await.0, StatusCode::FORBIDDEN, "GET from {origin}");
    }
    assert_eq!(node.dataset_files(), BTreeSet::new(), "a refused request imported");

    // The API's own origin, and one the operator allowed.
    node.state.access = node.state.access.clone().allow_origins(["https://console.bank-a.example"]);
    let (status, body) = node.call(post("https://console.bank-a.example")).await;
    assert_eq!(status, StatusCode::CREATED, "{}", String::from_utf8_lossy(&body));
    let request = bare("GET", "/jobs").header(header::ORIGIN, format!("http://{LISTEN}")).body(Body::empty()).unwrap();
    assert_eq!(node.call(request).await.0, StatusCode::OK);
}

#[tokio::test]
async fn path_imports_are_refused_without_an_import_root_and_uploads_still_work() {
    let mut node = Node::new().await;
    node.state.import_root = None;
    let source = node.dir.path().join("in.csv");
    std::fs::write(&source, CUSTOMERS).unwrap();
    let (status, body) = node.import_path(json!({ "id": "x", "path": source })).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(error_of(&body).starts_with("path imports are disabled"), "{body}");
    assert_eq!(node.upload("x", None, CUSTOMERS).await.0, StatusCode::CREATED);
}

/// A file outside the import folder whose content must never come back.
const SECRET: &str = "WEFE_OPERATOR_KEY=0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";

#[tokio::test]
async fn path_imports_read_only_regular_files_under_the_import_folder() {
    let mut node = Node::new().await;
    let root = node.dir.path().join("inbox");
    std::fs::create_dir_all(root.join("sub")).unwrap();
    node.state.import_root = Some(root.clone());
    let outside = node.dir.path().join("secret.env");
    std::fs::write(&outside, format!("{SECRET}\n")).unwrap();
    std::os::unix::fs::symlink(&outside, root.join("escape.csv")).unwrap();
    std::os::unix::fs::symlink(node.dir.path(), root.join("up")).unwrap();
    std::os::unix::fs::symlink("/dev/zero", root.join("zero.csv")).unwrap();
    let fifo = root.join("pipe.csv");
    assert!(std::process::Command::new("mkfifo").arg(&fifo).status().unwrap().success());

    let cases: Vec<(&str, Value, StatusCode, &str)> = vec![
        ("absolute, outside", json!(outside), StatusCode::FORBIDDEN, "is not under the import folder"),
        ("dot-dot", json!("../secret.env"), StatusCode::FORBIDDEN, "is not under the import folder"),
        (
            "dot-dot after a folder",
            json!("sub/../../secret.env"),
            StatusCode::FORBIDDEN,
            "is not under the import folder",
        ),
        ("symlink out", json!("escape.csv"), StatusCode::FORBIDDEN, "is not under the import folder"),
        ("through a linked folder", json!("up/secret.env"), StatusCode::FORBIDDEN, "is not under the import folder"),
        ("symlink to a device", json!("zero.csv"), StatusCode::FORBIDDEN, "is not under the import folder"),
        ("/proc", json!("/proc/self/environ"), StatusCode::FORBIDDEN, "is not under the import folder"),
        ("a FIFO", json!("pipe.csv"), StatusCode::BAD_REQUEST, "it is not a regular file (a FIFO, device or socket)"),
        ("a folder", json!("sub"), StatusCode::BAD_REQUEST, "it is a folder"),
        ("the root itself", json!("."), StatusCode::BAD_REQUEST, "it is a folder"),
    ];
    for (what, path, expected, message) in cases {
        // A FIFO with no writer would block a reader forever: the import must not open it.
        let answer = tokio::time::timeout(
            std::time::Duration::from_secs(20),
            node.import_path(json!({ "id": "x", "path": path })),
        );
        let (status, body) = answer.await.unwrap_or_else(|_| panic!("{what}: the import hung"));
        assert_eq!(status, expected, "{what}: {body}");
        assert!(error_of(&body).contains(message), "{what}: {body}");
        assert!(
            !body.to_string().contains("WEFE_OPERATOR_KEY") && !body.to_string().contains("0xac09"),
            "{what}: {body}"
        );
    }
    assert_eq!(node.dataset_files(), BTreeSet::new());

    // A symlink that stays inside the folder is fine.
    std::fs::write(root.join("sub/data.csv"), CUSTOMERS).unwrap();
    std::os::unix::fs::symlink("sub/data.csv", root.join("link.csv")).unwrap();
    let (status, body) = node.import_path(json!({ "id": "linked", "path": "link.csv" })).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["content_hash"], sha256_hex(CUSTOMERS));
}

#[tokio::test]
async fn errors_never_echo_the_content_of_the_file() {
    let node = Node::new().await;
    let secret_line = SECRET;
    let secret_cell = "hunter2-correct-horse";
    // What a path import of a key file, an environment file or a password list answers.
    let files: Vec<(&str, String, Option<&str>, &str)> = vec![
        (
            "a secret first line",
            format!("{secret_line}\nmore\n"),
            None,
            "line 1: no id column 'id' in the header (1 column)",
        ),
        ("a secret header with commas", format!("{secret_line},b,c\n1,2,3\n"), None, "(3 columns)"),
        (
            "secret ids repeated",
            format!("id\n{secret_cell}\n{secret_cell}\n"),
            None,
            "line 3, column 1: duplicate id (first on line 2)",
        ),
        (
            "secret column names repeated",
            format!("id,{secret_cell},{secret_cell}\n1,2,3\n"),
            None,
            "line 1, column 3: duplicate column name (same as column 2)",
        ),
        ("a secret in a short row", format!("id,a\n{secret_cell}\n"), Some("id"), "line 2: 1 field, header has 2"),
    ];
    for (what, content, id_column, message) in files {
        let path = node.dir.path().join("leak.csv");
        std::fs::write(&path, &content).unwrap();
        let (status, body) = node.import_path(json!({ "id": "leak", "id_column": id_column, "path": path })).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{what}: {body}");
        assert!(error_of(&body).contains(message), "{what}: {body}");
        let text = body.to_string();
        assert!(!text.contains("WEFE_OPERATOR_KEY") && !text.contains("hunter2"), "{what} leaked: {text}");
        // And an error is one line.
        assert!(!error_of(&body).contains('\n'), "{what}: {body}");
    }
}

#[tokio::test]
async fn jobs_come_a_page_at_a_time() {
    let node = Node::new().await;
    for id in 1..=7 {
        insert_job(node.store(), id).await;
    }
    let ids =
        |page: &Value| page["jobs"].as_array().unwrap().iter().map(|j| j["id"].as_u64().unwrap()).collect::<Vec<_>>();

    let (status, page) = node.get("/jobs?limit=3").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ids(&page), [7, 6, 5]);
    assert_eq!((page["total"].clone(), page["offset"].clone(), page["limit"].clone()), (json!(7), json!(0), json!(3)));
    assert_eq!(page["next_offset"], 3);
    let (_, page) = node.get("/jobs?limit=3&offset=3").await;
    assert_eq!((ids(&page), page["next_offset"].clone()), (vec![4, 3, 2], json!(6)));
    let (_, page) = node.get("/jobs?offset=6&limit=3").await;
    assert_eq!((ids(&page), page["next_offset"].clone()), (vec![1], Value::Null));
    let (_, page) = node.get("/jobs?offset=70").await;
    assert_eq!((ids(&page), page["next_offset"].clone(), page["total"].clone()), (vec![], Value::Null, json!(7)));
    // The default page holds them all here (100), the largest is 500.
    let (_, page) = node.get("/jobs").await;
    assert_eq!((ids(&page).len(), page["limit"].clone()), (7, json!(100)));
    assert_eq!(node.get("/jobs?limit=500").await.0, StatusCode::OK);

    for (query, message) in [
        ("limit=0", "query parameter limit: 0 is not from 1 to 500"),
        ("limit=501", "query parameter limit: 501 is not from 1 to 500"),
        ("limit=ten", "query parameter limit: 'ten' is not a number"),
        ("offset=-1", "query parameter offset: '-1' is not a number"),
        ("page=2", "unknown query parameter 'page' (GET /jobs takes limit and offset)"),
    ] {
        let (status, body) = node.get(&format!("/jobs?{query}")).await;
        assert_eq!((status, error_of(&body)), (StatusCode::BAD_REQUEST, message), "{query}");
    }
}
