use std::io::IsTerminal;

use alloy::primitives::{Address, B256, U256};
use anyhow::{Result, bail};
use serde_json::{Value, json};
use wefe_chain::audit::{self, AuditEvent, AuditQuery};
use wefe_chain::bindings::JobRegistry;
use wefe_chain::{EthereumBackend, Governance, Target};

use super::hash_or_file;
use crate::args::{AuditCommand, AuditFormat, BlockRange, GlobalArgs};
use crate::context;
use crate::output::{Output, clean, table};

pub async fn run(global: &GlobalArgs, cmd: AuditCommand) -> Result<Output> {
    match cmd {
        AuditCommand::Job { job, format } => {
            check_format(global, format)?;
            let gov = context::connect(global, false).await?;
            // Fails with "unknown job N" before scanning anything.
            gov.call(Target::JobRegistry, JobRegistry::getJobCall { jobId: U256::from(job) }).await?;
            let events = audit::job_timeline(&gov, job, progress(global)).await?;
            Ok(render(&format!("job {job}"), &events, format))
        }
        AuditCommand::Member { member, range, format } => {
            check_format(global, format)?;
            let gov = context::connect(global, false).await?;
            let events = scan(&gov, range, global).await?;
            let events: Vec<_> = events.into_iter().filter(|e| e.involves(member)).collect();
            Ok(render(&format!("member {}", member.to_checksum(None)), &events, format))
        }
        AuditCommand::Events { range, events: names, format } => {
            check_format(global, format)?;
            for name in &names {
                if !wefe_chain::abi::event_names().any(|known| known == name) {
                    let known: Vec<&str> = wefe_chain::abi::event_names().collect();
                    bail!("unknown event '{name}' (known: {})", known.join(", "));
                }
            }
            let gov = context::connect(global, false).await?;
            let events = scan(&gov, range, global).await?;
            let events: Vec<_> = events.into_iter().filter(|e| names.is_empty() || names.contains(&e.event)).collect();
            Ok(render("events", &events, format))
        }
        AuditCommand::Verify { job, artifact, participant } => {
            let hash = hash_or_file(None, Some(&artifact))?;
            let gov = context::connect(global, false).await?;
            verify(&gov, job, hash, participant, &artifact.display().to_string()).await
        }
    }
}

fn check_format(global: &GlobalArgs, format: AuditFormat) -> Result<()> {
    if format.csv && global.json {
        bail!("choose one of --csv and --json");
    }
    Ok(())
}

async fn scan(gov: &Governance<EthereumBackend>, range: BlockRange, global: &GlobalArgs) -> Result<Vec<AuditEvent>> {
    let query = AuditQuery { from_block: range.from_block, to_block: range.to_block, ..AuditQuery::default() };
    Ok(audit::scan(gov, &query, progress(global)).await?)
}

/// Progress of long scans on stderr, for people at a terminal.
fn progress(global: &GlobalArgs) -> impl FnMut(u64, u64) + use<> {
    let show = !global.json && std::io::stderr().is_terminal();
    move |done, total| {
        if show && total > audit::DEFAULT_CHUNK {
            eprint!("\rscanned {done} of {total} blocks");
            if done == total {
                eprintln!();
            }
        }
    }
}

fn details(event: &AuditEvent) -> String {
    event.fields.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(" ")
}

fn actor(event: &AuditEvent) -> String {
    event.actor.map(|a| a.to_checksum(None)).unwrap_or_else(|| "-".into())
}

fn render(what: &str, events: &[AuditEvent], format: AuditFormat) -> Output {
    let json_events: Vec<Value> = events
        .iter()
        .map(|e| {
            json!({
                "block": e.block,
                "tx_hash": e.tx_hash.to_string(),
                "log_index": e.log_index,
                "contract": e.contract,
                "event": e.event,
                "actor": e.actor.map(|a| a.to_checksum(None)),
                "fields": Value::Object(e.fields.iter().map(|(k, v)| (k.clone(), json!(v))).collect()),
            })
        })
        .collect();
    let value = json!({ "ok": true, "events": json_events });
    let text = if format.csv {
        let mut out = String::from("block,tx_hash,log_index,contract,event,actor,details");
        for e in events {
            let row = [
                e.block.to_string(),
                e.tx_hash.to_string(),
                e.log_index.to_string(),
                e.contract.clone(),
                e.event.clone(),
                actor(e),
                details(e),
            ];
            out.push('\n');
            out.push_str(&row.iter().map(|c| csv_cell(c)).collect::<Vec<_>>().join(","));
        }
        out
    } else {
        let rows: Vec<Vec<String>> = events
            .iter()
            .map(|e| vec![e.block.to_string(), e.tx_hash.to_string(), actor(e), e.event.clone(), details(e)])
            .collect();
        format!(
            "audit trail of {what}: {} events\n{}",
            events.len(),
            table(&["block", "tx", "actor", "event", "details"], &rows)
        )
    };
    Output::new(text, value)
}

/// RFC 4180 quoting; control characters escaped like every other chain text,
/// and cells that a spreadsheet would run as a formula are prefixed with '.
fn csv_cell(text: &str) -> String {
    let mut cell = clean(text);
    if cell.starts_with(['=', '+', '-', '@']) {
        cell.insert(0, '\'');
    }
    if cell.contains([',', '"', '\n', '\r']) { format!("\"{}\"", cell.replace('"', "\"\"")) } else { cell }
}

async fn verify(
    gov: &Governance<EthereumBackend>,
    job: u64,
    hash: B256,
    only: Option<Address>,
    shown: &str,
) -> Result<Output> {
    let j = gov.call(Target::JobRegistry, JobRegistry::getJobCall { jobId: U256::from(job) }).await?;
    if let Some(p) = only
        && !j.participants.contains(&p)
    {
        bail!("job {job}: {} is not a participant", p.to_checksum(None));
    }
    let mut reported = Vec::new();
    for p in j.participants.iter().filter(|p| only.is_none_or(|o| o == **p)) {
        let r =
            gov.call(Target::JobRegistry, JobRegistry::participantReportCall { jobId: j.id, participant: *p }).await?;
        if !r.resultHash.is_zero() {
            reported.push((*p, r.resultHash, r.updatedBlock));
        }
    }
    if reported.is_empty() {
        bail!("job {job}: no participant has reported a result hash yet");
    }
    match reported.iter().find(|(_, h, _)| *h == hash) {
        Some((p, _, block)) => Ok(Output::new(
            format!(
                "{shown} matches the result hash {hash} that {} reported for job {job} in block {block}",
                p.to_checksum(None)
            ),
            json!({ "ok": true, "job_id": job, "sha256": hash.to_string(), "participant": p.to_checksum(None), "block": block }),
        )),
        None => {
            let list: Vec<String> = reported.iter().map(|(p, h, _)| format!("{}={h}", p.to_checksum(None))).collect();
            bail!("{shown} (sha256 {hash}) matches no result hash of job {job} (reported: {})", list.join(", "))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::csv_cell;

    #[test]
    fn csv_cells_are_quoted_and_defused() {
        assert_eq!(csv_cell("plain"), "plain");
        assert_eq!(csv_cell("a,b"), "\"a,b\"");
        assert_eq!(csv_cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_cell("=HYPERLINK(1)"), "'=HYPERLINK(1)");
        assert_eq!(csv_cell("line\nbreak"), "line\\nbreak");
    }
}
