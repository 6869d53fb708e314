//! The REST API through its router (`tower::ServiceExt::oneshot`, no port) over
//! a SQLite store in a temp dir: what an operator or a script relies on.

use std::collections::BTreeSet;
use std::path::Path;

use alloy::primitives::Address;
use axum::Router;
use axum::body::{Body, to_bytes};
use axum::http::{Request, StatusCode, header};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tower::ServiceExt;
use wefe_node::api::{ApiState, app, openapi, routes};
use wefe_store::{Cursor, EventRecord, JobUpdate, NewJob, Store};

const MEMBER: &str = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
const BOUNDARY: &str = "wefe-test-boundary";

struct Node {
    dir: tempfile::TempDir,
    state: ApiState,
}

impl Node {
    async fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&format!("sqlite://{}/store.db", dir.path().display())).await.unwrap();
        let state = ApiState::new(store, dir.path().join("data"), MEMBER.parse::<Address>().unwrap());
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

    async fn call(&self, request: Request<Body>) -> (StatusCode, Vec<u8>) {
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
    assert_eq!(body, json!({ "status": "ok", "member": MEMBER, "cursor": null }));

    let mut tx = node.store().begin().await.unwrap();
    Store::set_cursor(&mut tx, "chain", &Cursor { block_number: 42, block_hash: "0x2a".into() }).await.unwrap();
    tx.commit().await.unwrap();
    let (_, body) = node.get("/health").await;
    assert_eq!(body["cursor"], json!({ "block_number": 42, "block_hash": "0x2a" }));
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

    // Relative paths are relative to the data dir.
    std::fs::write(node.state.data_dir.join("in.csv"), b"id\nx\n").unwrap();
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
        ("no id column", b"key,age\nk,1\n".to_vec(), "line 1: no id column 'id' in the header (columns: key, age)"),
        (
            "duplicate column",
            b"id,age, age\n1,2,3\n".to_vec(),
            "line 1, column 3: duplicate column name 'age' (first in column 2)",
        ),
        ("empty column name", b"id,,x\n1,2,3\n".to_vec(), "line 1, column 2: empty column name"),
        ("short row", long.into_bytes(), "line 17: 3 fields, header has 4"),
        ("long row", b"id,a\n1,2\n2,3,4\n".to_vec(), "line 3: 3 fields, header has 2"),
        ("duplicate id", dup.into_bytes(), "line 9: duplicate id 'c-4' (first on line 4)"),
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
    assert!(error_of(&body).starts_with(&format!("cannot read {}", missing.display())), "{body}");

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
    assert_eq!(status, StatusCode::BAD_REQUEST);
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

    let response = node.app().oneshot(Request::get("/jobs/8/result").body(Body::empty()).unwrap()).await.unwrap();
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

    // And the router really answers each one (not the fallback, not 405).
    for (method, path) in &served {
        let uri = path.replace("{id}", "1");
        let request = Request::builder().method(method.to_uppercase().as_str()).uri(&uri).body(Body::empty()).unwrap();
        let (status, body) = node.call(request).await;
        assert_ne!(status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
        assert!(!String::from_utf8_lossy(&body).contains("no route for"), "{method} {path} is not routed");
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
