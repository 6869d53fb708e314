//! A scripted JSON-RPC node for tests: HTTP/1.1 with keep-alive on
//! 127.0.0.1, one JSON request per HTTP request, answered by a handler that
//! gets the request's `method` and `params` and returns the JSON-RPC
//! `result` (`Ok`) or `error` object (`Err`).

use std::sync::Arc;

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// What a handler answers: a `result`, or an `error` object (`{code, message, data?}`).
/// The error [`DROP_CONNECTION`] closes the connection without an answer (a transport failure).
pub type Answer = Result<Value, Value>;

/// An error a handler returns to close the connection unanswered.
pub const DROP_CONNECTION: &str = "test_rpc: drop the connection";

/// Serves `handler` until the test ends; returns the node's URL.
pub async fn serve(handler: impl Fn(&str, &[Value]) -> Answer + Send + Sync + 'static) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let handler = Arc::new(handler);
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let handler = Arc::clone(&handler);
            tokio::spawn(async move {
                let mut buffer = Vec::new();
                loop {
                    let mut chunk = [0u8; 65536];
                    let Ok(n) = socket.read(&mut chunk).await else { return };
                    if n == 0 {
                        return;
                    }
                    buffer.extend_from_slice(&chunk[..n]);
                    let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") else { continue };
                    let head = String::from_utf8_lossy(&buffer[..end]).to_ascii_lowercase();
                    let length: usize = head
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:"))
                        .and_then(|v| v.trim().parse().ok())
                        .unwrap_or(0);
                    if buffer.len() < end + 4 + length {
                        continue;
                    }
                    let request: Value = serde_json::from_slice(&buffer[end + 4..end + 4 + length]).unwrap_or_default();
                    buffer.drain(..end + 4 + length);
                    // Each request reaches the handler once; None: drop the connection.
                    let answer = |r: &Value| {
                        let params = r["params"].as_array().cloned().unwrap_or_default();
                        match handler(r["method"].as_str().unwrap_or(""), &params) {
                            Ok(result) => Some(json!({"jsonrpc": "2.0", "id": r["id"], "result": result})),
                            Err(error) if error == json!(DROP_CONNECTION) => None,
                            Err(error) => Some(json!({"jsonrpc": "2.0", "id": r["id"], "error": error})),
                        }
                    };
                    // A batch is answered as one.
                    let body = match &request {
                        Value::Array(batch) => match batch.iter().map(answer).collect::<Option<Vec<_>>>() {
                            Some(answers) => Value::Array(answers),
                            None => return,
                        },
                        single => match answer(single) {
                            Some(answer) => answer,
                            None => return,
                        },
                    }
                    .to_string();
                    let response = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
                        body.len()
                    );
                    if socket.write_all(response.as_bytes()).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    url
}
