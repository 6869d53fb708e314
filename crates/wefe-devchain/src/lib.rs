//! `wefe-devchain`: a local test chain that speaks FISCO BCOS 3.x's native
//! JSON-RPC over an EVM (revm) whose KECCAK256 opcode computes SM3 in SM mode,
//! so the SM build of the contracts (`contracts/abi-sm`) runs as it would on
//! an SM chain, with SM2 accounts and FISCO's Tars transactions.
//!
//! It stands in for a FISCO BCOS node in tests and in `scripts/demo.sh
//! --fisco-sm`; it is not one. What it does as FISCO does: the method names
//! and parameter order (group, node, …), `getGroupInfo` with `smCryptoType`,
//! transactions checked like FISCO's txpool (Tars decoding, the field-wise
//! hash and the signature in the chain's suite, chain id, group id, block
//! limit within 600 blocks ahead, nonce reuse) with FISCO's status codes,
//! `sendTransaction` answering the receipt once mined, receipt status 0 on
//! success and 16 with the revert data on a revert, log addresses in receipts
//! without `0x`, millisecond block timestamps, `getLogs` reading at most
//! `max_log_blocks` blocks and dropping the rest, no gas price. What it does
//! not: consensus (one node, one transaction per block, mined at once),
//! persistence (state lives in memory), SM-TLS (its TLS, when asked for, is
//! FISCO's non-SM one: mutual TLS 1.2 with the node's `ca.crt`, `ssl.crt` and
//! `ssl.key`, see [`tls`]), FISCO's precompiled system
//! contracts and permissions, its contract address rule (created addresses
//! follow Ethereum's sender-and-nonce rule; clients read them from the
//! receipt), and the London hardfork's EVM, not FISCO's own EVM version.

pub mod chain;
pub mod evm;
pub mod tls;

use std::net::SocketAddr;

use axum::Router;
use axum::extract::State;
use axum::routing::post;
use serde_json::{Value, json};

pub use chain::{Chain, Settings};

/// Largest request body (a deployment's init code is tens of KiB in hex).
const MAX_BODY: usize = 4 * 1024 * 1024;
/// Most requests in one JSON-RPC batch.
const MAX_BATCH: usize = 1000;

/// A request and where its answer goes.
type Job = (Value, tokio::sync::oneshot::Sender<Value>);

/// The chain lives on its own thread (the EVM is not `Send`); requests reach
/// it through this channel, one at a time, as a node's executor takes them.
type Shared = std::sync::mpsc::Sender<Job>;

fn answer(chain: &mut Chain, request: &Value) -> Value {
    let id = request.get("id").cloned().unwrap_or(Value::Null);
    let Some(method) = request.get("method").and_then(Value::as_str) else {
        return json!({"jsonrpc": "2.0", "id": id, "error": {"code": -32600, "message": "no method"}});
    };
    let params = match request.get("params") {
        Some(Value::Array(p)) => p.as_slice(),
        None | Some(Value::Null) => &[],
        Some(_) => {
            return json!({"jsonrpc": "2.0", "id": id, "error": {"code": -32602, "message": "params is not a list"}});
        }
    };
    match chain.handle(method, params) {
        Ok(result) => json!({"jsonrpc": "2.0", "id": id, "result": result}),
        Err((code, message)) => json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}}),
    }
}

fn answer_all(chain: &mut Chain, request: &Value) -> Value {
    match request {
        Value::Array(batch) if batch.len() > MAX_BATCH => json!({"jsonrpc": "2.0", "id": null,
            "error": {"code": -32600, "message": format!("batch of {} requests (at most {MAX_BATCH})", batch.len())}}),
        Value::Array(batch) => Value::Array(batch.iter().map(|r| answer(chain, r)).collect()),
        single => answer(chain, single),
    }
}

async fn rpc(State(chain): State<Shared>, body: axum::body::Bytes) -> axum::Json<Value> {
    let request: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => {
            let error = json!({"code": -32700, "message": format!("parse error: {e}")});
            return axum::Json(json!({"jsonrpc": "2.0", "id": null, "error": error}));
        }
    };
    let (reply, answer) = tokio::sync::oneshot::channel();
    let stopped = || json!({"jsonrpc": "2.0", "id": null, "error": {"code": -32603, "message": "the chain stopped"}});
    if chain.send((request, reply)).is_err() {
        return axum::Json(stopped());
    }
    axum::Json(answer.await.unwrap_or_else(|_| stopped()))
}

async fn run<L: axum::serve::Listener>(listener: L, app: Router)
where
    L::Addr: std::fmt::Debug,
{
    if let Err(e) = axum::serve(listener, app).await {
        tracing::error!(error = %e, "devchain server stopped");
    }
}

/// A running chain.
#[derive(Debug)]
pub struct Running {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// The address it listens on.
    pub addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Serves a new chain over plain HTTP on `listen` (port 0: any free port)
/// until the returned handle is dropped.
pub async fn serve(settings: Settings, listen: SocketAddr) -> std::io::Result<Running> {
    serve_with(settings, listen, None).await
}

/// Serves a new chain on `listen`, over HTTPS with FISCO's mutual TLS when
/// `tls` is given ([`tls::server_config`]), until the returned handle is dropped.
pub async fn serve_with(
    settings: Settings,
    listen: SocketAddr,
    tls: Option<std::sync::Arc<rustls::ServerConfig>>,
) -> std::io::Result<Running> {
    let listener = tokio::net::TcpListener::bind(listen).await?;
    let addr = listener.local_addr()?;
    let (chain, jobs) = std::sync::mpsc::channel::<Job>();
    std::thread::Builder::new().name("devchain".into()).spawn(move || {
        let mut state = Chain::new(settings);
        // Ends when the server (holding every sender) is gone.
        while let Ok((request, reply)) = jobs.recv() {
            let _ = reply.send(answer_all(&mut state, &request));
        }
    })?;
    let app =
        Router::new().route("/", post(rpc)).layer(axum::extract::DefaultBodyLimit::max(MAX_BODY)).with_state(chain);
    let scheme = if tls.is_some() { "https" } else { "http" };
    let task = match tls {
        None => tokio::spawn(run(listener, app)),
        Some(config) => tokio::spawn(run(tls::TlsListener::new(listener, config)?, app)),
    };
    Ok(Running { url: format!("{scheme}://{addr}"), addr, task })
}
