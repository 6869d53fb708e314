use alloy::primitives::{B256, U256};
use anyhow::Result;
use serde_json::{Value, json};
use wefe_chain::bindings::JobRegistry;
use wefe_chain::{ChainBackend, Target};
use wefe_core::DatasetId;

use super::cert::{event_id, id_text};
use super::{collect_pages, short, variant};
use crate::args::{GlobalArgs, JobCommand};
use crate::context;
use crate::output::{Output, addresses, fields, num, table};

const STATUS: &str = "JobRegistry.JobStatus";
const STATE: &str = "JobRegistry.ParticipantState";

pub async fn run(global: &GlobalArgs, cmd: JobCommand) -> Result<Output> {
    match cmd {
        JobCommand::Propose { kind, participants, datasets, params, deadline_blocks, deadline_block } => {
            // Kind, participant and params limits are the contract's: its refusal
            // is decoded before anything is sent.
            let gov = context::connect(global, true).await?;
            let head = gov.backend().head_block().await?;
            let deadline = match deadline_block {
                Some(b) => b,
                None => head.saturating_add(deadline_blocks.max(1)),
            };
            let call = JobRegistry::proposeCall {
                kind: kind.clone(),
                participants,
                datasetIds: datasets.iter().map(|d| B256::from(d.to_bytes())).collect(),
                params,
                deadlineBlock: deadline,
            };
            let outcome = gov.send(Target::JobRegistry, call).await?;
            let id = event_id(&outcome, "JobProposed");
            Ok(Output::tx(
                format!("job {} ({kind}) proposed; participants must approve by block {deadline}", id_text(id)),
                &outcome,
                json!({ "job_id": id, "deadline_block": deadline }),
            ))
        }
        JobCommand::Approve { job } => {
            let gov = context::connect(global, true).await?;
            let outcome = gov.send(Target::JobRegistry, JobRegistry::approveCall { jobId: U256::from(job) }).await?;
            let events = wefe_chain::decode_events(&outcome);
            let approved = events.iter().any(|e| e.event == "JobApproved");
            let progress = events
                .iter()
                .find(|e| e.event == "JobApprovalGiven")
                .map(|e| format!("{} of {}", e.field("approvals").unwrap_or("?"), e.field("required").unwrap_or("?")))
                .unwrap_or_default();
            let summary = if approved {
                format!("job {job} approved by every participant ({progress}): the nodes launch it now")
            } else {
                format!("job {job}: your approval recorded ({progress} approvals)")
            };
            Ok(Output::tx(summary, &outcome, json!({ "job_id": job, "approved": approved })))
        }
        JobCommand::Reject { job, reason } => {
            let gov = context::connect(global, true).await?;
            let outcome =
                gov.send(Target::JobRegistry, JobRegistry::rejectCall { jobId: U256::from(job), reason }).await?;
            Ok(Output::tx(format!("job {job} rejected"), &outcome, json!({ "job_id": job })))
        }
        JobCommand::Cancel { job } => {
            let gov = context::connect(global, true).await?;
            let outcome = gov.send(Target::JobRegistry, JobRegistry::cancelCall { jobId: U256::from(job) }).await?;
            Ok(Output::tx(format!("job {job} cancelled"), &outcome, json!({ "job_id": job })))
        }
        JobCommand::Expire { job } => {
            let gov = context::connect(global, true).await?;
            let outcome = gov.send(Target::JobRegistry, JobRegistry::expireCall { jobId: U256::from(job) }).await?;
            Ok(Output::tx(format!("job {job} marked expired"), &outcome, json!({ "job_id": job })))
        }
        JobCommand::List { page, participant } => {
            let gov = context::connect(global, false).await?;
            let total = gov.call(Target::JobRegistry, JobRegistry::jobCountCall {}).await?;
            let names_participant = |j: &JobRegistry::Job| participant.is_some_and(|p| j.participants.contains(&p));
            let filter = participant.is_some().then_some(&names_participant as _);
            let jobs = collect_pages(page, total.saturating_to(), filter, |offset, limit| {
                let gov = &gov;
                async move { Ok(gov.call(Target::JobRegistry, JobRegistry::jobsPageCall { offset, limit }).await?) }
            })
            .await?;
            let rows: Vec<Vec<String>> = jobs
                .iter()
                .map(|j| {
                    vec![
                        j.id.to_string(),
                        j.kind.clone(),
                        variant(STATUS, j.status),
                        format!("{}/{}", j.approvals, j.participants.len()),
                        j.participants.iter().map(|p| short(&p.to_checksum(None))).collect::<Vec<_>>().join(","),
                        j.proposedBlock.to_string(),
                    ]
                })
                .collect();
            Ok(Output::new(
                table(&["id", "kind", "status", "approvals", "participants", "proposed block"], &rows),
                json!({ "ok": true, "jobs": jobs.iter().map(job_json).collect::<Vec<_>>() }),
            ))
        }
        JobCommand::Show { job } => show(global, job).await,
        JobCommand::Watch { job, node, interval } => watch(global, job, node.as_deref(), interval).await,
    }
}

/// Statuses after which a job never changes (Completed, Failed, Rejected, Cancelled, Expired).
const CLOSED_FROM: u8 = 4;

async fn watch(global: &GlobalArgs, job: u64, node: Option<&str>, interval: f64) -> Result<Output> {
    use std::io::{IsTerminal, Write};
    let gov = context::connect(global, false).await?;
    let client = reqwest::Client::builder().timeout(std::time::Duration::from_secs(5)).build()?;
    let tty = std::io::stderr().is_terminal();
    let mut printed: Option<(std::time::Instant, String)> = None;
    loop {
        let j = gov.call(Target::JobRegistry, JobRegistry::getJobCall { jobId: U256::from(job) }).await?;
        if j.status == 0 {
            anyhow::bail!("there is no job {job} on this chain");
        }
        if j.status >= CLOSED_FROM {
            if tty {
                eprintln!();
            }
            return show(global, job).await;
        }
        let mut line = format!(
            "job {job} {}: approvals {}/{}, completions {}/{}",
            variant(STATUS, j.status),
            j.approvals,
            j.participants.len(),
            j.completions,
            j.participants.len()
        );
        if let Some(url) = node {
            line.push_str(" | ");
            line.push_str(&node_progress(&client, url, job).await);
        }
        if tty {
            eprint!("\r{line:<110}");
            let _ = std::io::stderr().flush();
        } else if printed.as_ref().is_none_or(|(at, last)| *last != line && at.elapsed().as_secs() >= 5) {
            // Logs and pipes get a line when something changed, at most every 5 s.
            eprintln!("{line}");
            printed = Some((std::time::Instant::now(), line));
        }
        tokio::time::sleep(std::time::Duration::from_secs_f64(interval)).await;
    }
}

/// One node's view of the job as a bar: `[#####.....] 48% 960000/2000000 ids, ETA 5.2 s`.
async fn node_progress(client: &reqwest::Client, url: &str, job: u64) -> String {
    let response = match client.get(format!("{url}/jobs/{job}")).send().await {
        Ok(r) => r,
        Err(e) => return format!("node {url} unreachable ({})", e.without_url()),
    };
    if response.status() == reqwest::StatusCode::NOT_FOUND {
        return "the node has not recorded the job yet".into();
    }
    let body = match response.text().await {
        Ok(b) => b,
        Err(e) => return format!("node {url}: {}", e.without_url()),
    };
    let Ok(view) = serde_json::from_str::<Value>(&body) else {
        return format!("node {url} answered something that is not a job view");
    };
    progress_bar(&view)
}

fn progress_bar(view: &Value) -> String {
    let items = &view["items"];
    let (done, total) = (items["done"].as_u64(), items["total"].as_u64());
    let fraction = match (done, total) {
        (Some(d), Some(t)) if t > 0 => d as f64 / t as f64,
        _ => view["progress"].as_f64().unwrap_or(0.0),
    }
    .clamp(0.0, 1.0);
    let filled = (fraction * 24.0).round() as usize;
    let mut text = format!(
        "node: {} [{}{}] {:>3.0}%",
        view["status"].as_str().unwrap_or("?"),
        "#".repeat(filled),
        ".".repeat(24 - filled),
        fraction * 100.0
    );
    if let (Some(d), Some(t)) = (done, total) {
        text.push_str(&format!(" {d}/{t} ids"));
        if let Some(eta) = items["eta_seconds"].as_f64() {
            text.push_str(&format!(", ETA {eta:.1} s"));
        }
    }
    text
}

async fn show(global: &GlobalArgs, job: u64) -> Result<Output> {
    let gov = context::connect(global, false).await?;
    let j = gov.call(Target::JobRegistry, JobRegistry::getJobCall { jobId: U256::from(job) }).await?;
    let mut reports = Vec::new();
    for p in &j.participants {
        let r =
            gov.call(Target::JobRegistry, JobRegistry::participantReportCall { jobId: j.id, participant: *p }).await?;
        reports.push((*p, r));
    }
    let mut text = fields(&[
        ("job", j.id.to_string()),
        ("kind", j.kind.clone()),
        ("status", variant(STATUS, j.status)),
        ("proposer", j.proposer.to_checksum(None)),
        ("datasets", datasets_text(&j.datasetIds)),
        ("params", j.params.clone()),
        ("approvals", format!("{}/{}", j.approvals, j.participants.len())),
        ("completions", format!("{}/{}", j.completions, j.participants.len())),
        ("deadline block", j.deadlineBlock.to_string()),
        ("proposed block", j.proposedBlock.to_string()),
        ("approved block", if j.approvedBlock == 0 { "-".into() } else { j.approvedBlock.to_string() }),
        ("closed block", if j.closedBlock == 0 { "-".into() } else { j.closedBlock.to_string() }),
    ]);
    let rows: Vec<Vec<String>> = reports
        .iter()
        .map(|(p, r)| {
            vec![
                p.to_checksum(None),
                variant(STATE, r.state),
                if r.resultHash.is_zero() { "-".into() } else { r.resultHash.to_string() },
                if r.reason.is_empty() { r.summary.clone() } else { r.reason.clone() },
            ]
        })
        .collect();
    text.push_str("\n\n");
    text.push_str(&table(&["participant", "state", "result hash", "summary / reason"], &rows));
    let mut value = job_json(&j);
    value["ok"] = json!(true);
    value["reports"] = Value::Array(
        reports
            .iter()
            .map(|(p, r)| {
                json!({
                    "address": p.to_checksum(None),
                    "state": variant(STATE, r.state),
                    "result_hash": r.resultHash.to_string(),
                    "summary": r.summary,
                    "reason": r.reason,
                    "updated_block": r.updatedBlock,
                })
            })
            .collect(),
    );
    Ok(Output::new(text, value))
}

fn datasets_text(ids: &[B256]) -> String {
    if ids.is_empty() {
        return "(none)".into();
    }
    ids.iter().map(|d| DatasetId::from_bytes(d.0).to_string()).collect::<Vec<_>>().join(", ")
}

fn job_json(j: &JobRegistry::Job) -> Value {
    json!({
        "id": num(j.id),
        "kind": j.kind,
        "status": variant(STATUS, j.status),
        "proposer": j.proposer.to_checksum(None),
        "participants": addresses(&j.participants),
        "datasets": j.datasetIds.iter().map(|d| DatasetId::from_bytes(d.0).to_string()).collect::<Vec<_>>(),
        "params": serde_json::from_str::<Value>(&j.params).unwrap_or_else(|_| Value::String(j.params.clone())),
        "deadline_block": j.deadlineBlock,
        "proposed_block": j.proposedBlock,
        "approved_block": j.approvedBlock,
        "closed_block": j.closedBlock,
        "approvals": j.approvals,
        "completions": j.completions,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_bars_show_items_and_eta_or_the_overall_fraction() {
        let psi = json!({"status": "running", "progress": 0.5,
            "items": {"done": 480, "total": 1000, "eta_seconds": 5.24}});
        assert_eq!(progress_bar(&psi), "node: running [############............]  48% 480/1000 ids, ETA 5.2 s");
        let training = json!({"status": "running", "progress": 0.25, "items": null});
        assert_eq!(progress_bar(&training), "node: running [######..................]  25%");
        let odd = json!({"status": 7, "progress": 3.0});
        assert_eq!(progress_bar(&odd), "node: ? [########################] 100%");
    }
}
