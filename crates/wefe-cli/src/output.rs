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
    let fields: Vec<String> = event.fields.iter().map(|(k, v)| format!("{k}={}", clean(v))).collect();
    format!("{} {}", event.event, fields.join(" "))
}

/// Text from the chain (names, endpoints, metadata, reasons) is written by
/// anyone: control characters are escaped so it can never fake a table row or
/// move the cursor in an admin's terminal.
pub fn clean(text: &str) -> String {
    if !text.chars().any(char::is_control) {
        return text.to_owned();
    }
    text.chars().map(|c| if c.is_control() { c.escape_default().to_string() } else { c.to_string() }).collect()
}

/// A uint256 in JSON: a number when it fits in 64 bits, else a decimal string.
pub fn num(value: alloy::primitives::U256) -> Value {
    match u64::try_from(value) {
        Ok(n) => json!(n),
        Err(_) => json!(value.to_string()),
    }
}

/// Checksummed addresses.
pub fn addresses(list: &[alloy::primitives::Address]) -> Vec<String> {
    list.iter().map(|a| a.to_checksum(None)).collect()
}

pub fn event_json(event: &DecodedEvent) -> Value {
    json!({ "contract": event.contract, "event": event.event, "fields": event.fields_json() })
}

/// Renders rows as an aligned table with a header.
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let rows: Vec<Vec<String>> = rows.iter().map(|row| row.iter().map(|c| clean(c)).collect()).collect();
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| -> String {
        let padded: Vec<String> = cells.iter().zip(&widths).map(|(c, w)| format!("{c:<w$}", w = *w)).collect();
        padded.join("  ").trim_end().to_owned()
    };
    let mut out = line(header.to_vec());
    for row in &rows {
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
    pairs.iter().map(|(k, v)| format!("{k:<width$}  {}", clean(v))).collect::<Vec<_>>().join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chain_text_cannot_fake_rows() {
        let rows = vec![vec!["0xabc".to_owned(), "Evil\n0xdef  Active".to_owned()]];
        let out = table(&["address", "name"], &rows);
        assert_eq!(out.lines().count(), 2, "{out}");
        assert!(out.contains("Evil\\n0xdef"), "{out}");
        assert_eq!(clean("Bank A"), "Bank A");
        assert_eq!(clean("a\u{1b}[2J"), "a\\u{1b}[2J");
        assert_eq!(fields(&[("name", "x\ry".into())]), "name  x\\ry");
    }

    #[test]
    fn big_numbers_stay_exact_in_json() {
        assert_eq!(num(alloy::primitives::U256::from(7)), json!(7));
        assert_eq!(num(alloy::primitives::U256::MAX), json!(alloy::primitives::U256::MAX.to_string()));
    }
}
