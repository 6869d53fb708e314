use std::io::IsTerminal;

use std::path::Path;

use alloy::primitives::{Address, U256};
use anyhow::{Context, Result, bail};
use serde_json::{Value, json};
use wefe_chain::audit::{self, AuditEvent, AuditQuery};
use wefe_chain::bindings::JobRegistry;
use wefe_chain::{AnyBackend, Governance, Target};

use crate::args::{AuditCommand, AuditFormat, BlockRange, GlobalArgs};
use crate::context;
use crate::output::{Output, clean, table};
use wefe_crypto::commitment::{CommitmentKey, ResultCommitter};

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
        AuditCommand::Verify { job, artifact, key, participant } => {
            let key_path = key.unwrap_or_else(|| artifact.with_extension("key"));
            let key = read_commitment_key(&key_path)?;
            // Fail on an unreadable artifact before any chain call.
            std::fs::File::open(&artifact).with_context(|| format!("cannot read {}", artifact.display()))?;
            let gov = context::connect(global, false).await?;
            verify(&gov, job, &artifact, &key, participant).await
        }
        AuditCommand::VerifyFailure { job, participant, detail, key } => {
            let text = match (detail.detail, detail.detail_file) {
                (Some(text), _) => text,
                (None, Some(path)) => {
                    std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?
                }
                (None, None) => bail!("give --detail or --detail-file"),
            };
            let key = CommitmentKey::from_hex(&key).map_err(|e| anyhow::anyhow!("--key: {e}"))?;
            let gov = context::connect(global, false).await?;
            verify_failure(&gov, job, participant, &text, &key).await
        }
    }
}

/// Checks a failure's detail against the participant's commitment on chain.
async fn verify_failure(
    gov: &Governance<AnyBackend>,
    job: u64,
    participant: Address,
    detail: &str,
    key: &CommitmentKey,
) -> Result<Output> {
    let r = gov
        .call(Target::JobRegistry, JobRegistry::participantReportCall { jobId: U256::from(job), participant })
        .await?;
    let state = super::variant("JobRegistry.ParticipantState", r.state);
    if state != "Failed" {
        bail!("job {job}: {} did not report a failure (its state is {state})", participant.to_checksum(None));
    }
    let category = super::variant("JobRegistry.FailureCategory", r.failure);
    if r.commitment.is_zero() {
        bail!(
            "job {job}: {} reported a failure ({category}) without a commitment to its detail",
            participant.to_checksum(None)
        );
    }
    let expected = wefe_crypto::commitment::failure_commitment(key, job, participant.into_array(), detail);
    if !ResultCommitter::equal(&expected, &r.commitment.0) {
        bail!(
            "this detail with this key is not what {} committed to for job {job} ({category}, commitment {})",
            participant.to_checksum(None),
            r.commitment
        );
    }
    Ok(Output::new(
        format!(
            "the detail matches the commitment {} reported with its failure of job {job} ({category}, block {})",
            participant.to_checksum(None),
            r.updatedBlock
        ),
        json!({ "ok": true, "job_id": job, "participant": participant.to_checksum(None), "category": category, "block": r.updatedBlock }),
    ))
}

fn check_format(global: &GlobalArgs, format: AuditFormat) -> Result<()> {
    if format.csv && global.json {
        bail!("choose one of --csv and --json");
    }
    Ok(())
}

async fn scan(gov: &Governance<AnyBackend>, range: BlockRange, global: &GlobalArgs) -> Result<Vec<AuditEvent>> {
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
pub(crate) fn csv_cell(text: &str) -> String {
    let mut cell = clean(text);
    if cell.starts_with(['=', '+', '-', '@']) {
        cell.insert(0, '\'');
    }
    if cell.contains([',', '"', '\n', '\r']) { format!("\"{}\"", cell.replace('"', "\"\"")) } else { cell }
}

/// A commitment key file: the node's `job-N.key` (JSON with a `key` field) or
/// 64 hex digits.
fn read_commitment_key(path: &Path) -> Result<CommitmentKey> {
    let text = std::fs::read_to_string(path).with_context(|| {
        format!(
            "cannot read the commitment key {} (the result's holder keeps it beside the result; give it with --key)",
            path.display()
        )
    })?;
    let hex_key = match serde_json::from_str::<Value>(&text) {
        Ok(Value::Object(map)) => match map.get("key").and_then(Value::as_str) {
            Some(k) => k.to_owned(),
            None => bail!("{}: a JSON key file needs a \"key\" field", path.display()),
        },
        _ => text.trim().to_owned(),
    };
    CommitmentKey::from_hex(&hex_key).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

/// The artifact's commitment for `participant`, streamed from the file.
fn commitment_of(path: &Path, key: &CommitmentKey, job: u64, participant: Address) -> Result<[u8; 32]> {
    use std::io::Read;
    let mut file = std::fs::File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut committer = ResultCommitter::new(key, job, participant.into_array());
    let mut buffer = vec![0u8; 1 << 16];
    loop {
        let n = file.read(&mut buffer).with_context(|| format!("cannot read {}", path.display()))?;
        if n == 0 {
            break;
        }
        committer.update(&buffer[..n]);
    }
    Ok(committer.finish())
}

async fn verify(
    gov: &Governance<AnyBackend>,
    job: u64,
    artifact: &Path,
    key: &CommitmentKey,
    only: Option<Address>,
) -> Result<Output> {
    let shown = artifact.display().to_string();
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
        if super::variant("JobRegistry.ParticipantState", r.state) == "Completed" {
            reported.push((*p, r.commitment, r.updatedBlock));
        }
    }
    if reported.is_empty() {
        bail!("job {job}: no participant has reported a result commitment yet");
    }
    let mut matched = Vec::new();
    for (p, commitment, block) in &reported {
        let mine = commitment_of(artifact, key, job, *p)?;
        if ResultCommitter::equal(&mine, &commitment.0) {
            matched.push((*p, *commitment, *block));
        }
    }
    if matched.is_empty() {
        let list: Vec<String> = reported.iter().map(|(p, c, _)| format!("{}={c}", p.to_checksum(None))).collect();
        bail!(
            "{shown} with this key matches no result commitment of job {job} (reported: {}): the file or the key \
             differs from what was committed",
            list.join(", ")
        );
    }
    let who: Vec<String> =
        matched.iter().map(|(p, _, block)| format!("{} (block {block})", p.to_checksum(None))).collect();
    Ok(Output::new(
        format!("{shown} matches the result commitment that {} reported for job {job}", who.join(" and ")),
        json!({
            "ok": true,
            "job_id": job,
            "matches": matched
                .iter()
                .map(|(p, c, block)| json!({ "participant": p.to_checksum(None), "commitment": c.to_string(), "block": block }))
                .collect::<Vec<_>>(),
        }),
    ))
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
        assert_eq!(csv_cell("-2"), "'-2");
        assert_eq!(csv_cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(csv_cell(""), "");
        assert_eq!(csv_cell("line\nbreak"), "line\\nbreak");
    }
}
