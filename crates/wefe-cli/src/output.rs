//! What a command prints: a human text and a JSON value (`--json`).

use serde_json::{Value, json};
use wefe_chain::TxOutcome;
use wefe_chain::abi::DecodedEvent;

/// A command's result.
#[derive(Debug)]
pub struct Output {
    text: String,
    json: Value,
}

impl Output {
    pub fn new(text: impl Into<String>, json: Value) -> Self {
        Self { text: text.into(), json }
    }

    /// A transaction's result: a summary line, then the events it emitted.
    pub fn tx(summary: impl Into<String>, outcome: &TxOutcome, extra: Value) -> Self {
        let events = wefe_chain::decode_events(outcome);
        let mut text = format!("{} (tx {}, block {})", summary.into(), outcome.tx_hash, outcome.block_number);
        for event in &events {
            text.push_str("\n  ");
            text.push_str(&event_line(event));
        }
        let mut value = json!({
            "ok": true,
            "tx_hash": outcome.tx_hash.to_string(),
            "block": outcome.block_number,
            "gas_used": outcome.gas_used,
            "events": events.iter().map(event_json).collect::<Vec<_>>(),
        });
        if let (Value::Object(map), Value::Object(more)) = (&mut value, extra) {
            map.extend(more);
        }
        Self { text, json: value }
    }

    pub fn print(&self, json: bool) {
        if json {
            println!("{}", self.json);
        } else {
            println!("{}", self.text);
        }
    }
}

pub fn event_line(event: &DecodedEvent) -> String {
    let fields: Vec<String> = event.fields.iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!("{} {}", event.event, fields.join(" "))
}

pub fn event_json(event: &DecodedEvent) -> Value {
    json!({ "contract": event.contract, "event": event.event, "fields": event.fields_json() })
}

/// Renders rows as an aligned table with a header.
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| -> String {
        let padded: Vec<String> = cells.iter().zip(&widths).map(|(c, w)| format!("{c:<w$}", w = *w)).collect();
        padded.join("  ").trim_end().to_owned()
    };
    let mut out = line(header.to_vec());
    for row in rows {
        out.push('\n');
        out.push_str(&line(row.iter().map(String::as_str).collect()));
    }
    if rows.is_empty() {
        out.push_str("\n(none)");
    }
    out
}

/// Renders `key: value` lines.
pub fn fields(pairs: &[(&str, String)]) -> String {
    let width = pairs.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    pairs.iter().map(|(k, v)| format!("{k:<width$}  {v}")).collect::<Vec<_>>().join("\n")
}
