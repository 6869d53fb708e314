use alloy::primitives::{Address, U256};
use anyhow::{Result, bail};
use serde_json::{Value, json};
use wefe_chain::bindings::{Consortium, DataRegistry, JobRegistry};
use wefe_chain::jobs::read_proposal;
use wefe_chain::{AnyBackend, ChainBackend, Governance, Target};
use wefe_core::{DatasetRef, PeerId};

use super::cert::{event_id, id_text};
use super::{collect_pages, short, variant};
use crate::args::{DatasetSelector, GlobalArgs, JobCommand};
use crate::context;
use crate::output::{Output, addresses, fields, num, table};

const STATUS: &str = "JobRegistry.JobStatus";
const STATE: &str = "JobRegistry.ParticipantState";
const FAILURE: &str = "JobRegistry.FailureCategory";

pub async fn run(global: &GlobalArgs, cmd: JobCommand) -> Result<Output> {
    match cmd {
        JobCommand::Propose { kind, participants, datasets, params, deadline_blocks, deadline_block, run_blocks } => {
            // The kind and params are checked as the nodes will check them
            // (before anything is signed); participant and size limits are the
            // contract's, whose refusal is decoded before anything is sent.
            let peers: Vec<PeerId> = participants.iter().map(|a| PeerId::from_bytes(a.into_array())).collect();
            wefe_core::job::JobSpec::parse(&kind, &params, &peers).map_err(|e| anyhow::anyhow!("{e}"))?;
            let gov = context::connect(global, true).await?;
            let head = gov.backend().head_block().await?;
            let deadline = match deadline_block {
                Some(b) => b,
                None => head.saturating_add(deadline_blocks.max(1)),
            };
            let max_approval = gov.call(Target::Consortium, Consortium::maxApprovalBlocksCall {}).await?;
            let max_run = gov.call(Target::Consortium, Consortium::maxRunBlocksCall {}).await?;
            if deadline <= head {
                bail!("the approval deadline (block {deadline}) must be after the current block {head}");
            }
            if deadline - head > max_approval {
                bail!(
                    "the approval deadline is {} blocks away; the consortium allows at most {max_approval} \
                     (--deadline-blocks)",
                    deadline - head
                );
            }
            if run_blocks > max_run {
                bail!("--run-blocks {run_blocks}: the consortium allows at most {max_run} blocks to run a job");
            }
            let mut refs = Vec::with_capacity(datasets.len());
            for selector in &datasets {
                refs.push(resolve_dataset(&gov, *selector, &participants).await?);
            }
            let call = JobRegistry::proposeCall {
                kind: kind.clone(),
                participants,
                datasets: refs.iter().map(wefe_chain::jobs::to_contract_ref).collect(),
                params,
                deadlineBlock: deadline,
                runBlocks: run_blocks,
            };
            let outcome = gov.send(Target::JobRegistry, call).await?;
            let id = event_id(&outcome, "JobProposed");
            Ok(Output::tx(
                format!(
                    "job {} ({kind}) proposed; participants must approve by block {deadline}; once approved it \
                     has {run_blocks} blocks to complete",
                    id_text(id)
                ),
                &outcome,
                json!({
                    "job_id": id,
                    "deadline_block": deadline,
                    "run_blocks": run_blocks,
                    "datasets": refs.iter().map(ToString::to_string).collect::<Vec<_>>(),
                }),
            ))
        }
        JobCommand::Approve { job } => {
            let gov = context::connect(global, true).await?;
            // What changed is said before anything is signed: the contract would
            // only say that something did.
            let j = gov.call(Target::JobRegistry, JobRegistry::getJobCall { jobId: U256::from(job) }).await?;
            let mut summary_line = None;
            if j.status == PROPOSED {
                let proposal = read_proposal(&gov, job, j.proposedBlock, j.paramsHash).await?;
                let changes = wefe_chain::jobs::describe_change(&gov, &proposal).await?;
                if !changes.is_empty() {
                    bail!(
                        "job {job} cannot be approved: {}; approvals bind the descriptions proposed, so the job \
                         must be proposed again",
                        changes.join("; ")
                    );
                }
                // The nodes would refuse it: say so before an approval is spent on it.
                let peers: Vec<PeerId> =
                    proposal.participants.iter().map(|a| PeerId::from_bytes(a.into_array())).collect();
                if let Err(e) = wefe_core::job::JobSpec::parse(&proposal.kind, &proposal.params, &peers) {
                    bail!("job {job} cannot run: {e}; reject it (wefe job reject {job})");
                }
                summary_line = Some(approval_summary(&proposal));
                // Visibility is checked at the last approval only: say now what would make it fail.
                for d in &proposal.datasets {
                    let call = DataRegistry::checkUseCall {
                        owner: Address::from(d.owner.to_bytes()),
                        name: d.name.to_bytes().into(),
                        participants: proposal.participants.clone(),
                    };
                    if let Err(wefe_chain::ChainError::Reverted { message, .. }) =
                        gov.call(Target::DataRegistry, call).await
                    {
                        eprintln!("warning: {message}: the last approval will fail unless that changes");
                    }
                }
            }
            let outcome = gov.send(Target::JobRegistry, JobRegistry::approveCall { jobId: U256::from(job) }).await?;
            let events = wefe_chain::decode_events(&outcome);
            let approved = events.iter().find(|e| e.event == "JobApproved");
            let progress = events
                .iter()
                .find(|e| e.event == "JobApprovalGiven")
                .map(|e| format!("{} of {}", e.field("approvals").unwrap_or("?"), e.field("required").unwrap_or("?")))
                .unwrap_or_default();
            let mut summary = match approved {
                Some(e) => format!(
                    "job {job} approved by every participant ({progress}): the nodes launch it now; run deadline \
                     block {}",
                    e.field("runDeadlineBlock").unwrap_or("?")
                ),
                None => format!("job {job}: your approval recorded ({progress} approvals)"),
            };
            if let Some(line) = &summary_line {
                summary.push_str(&format!("\n{line}"));
            }
            Ok(Output::tx(
                summary,
                &outcome,
                json!({ "job_id": job, "approved": approved.is_some(), "approved_what": summary_line }),
            ))
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
        JobCommand::Timeout { job } => {
            let gov = context::connect(global, true).await?;
            let outcome = gov.send(Target::JobRegistry, JobRegistry::timeOutCall { jobId: U256::from(job) }).await?;
            Ok(Output::tx(
                format!("job {job} closed as timed out (its run deadline passed)"),
                &outcome,
                json!({ "job_id": job }),
            ))
        }
        JobCommand::List { page, participant } => {
            let gov = context::connect(global, false).await?;
            let total = gov.call(Target::JobRegistry, JobRegistry::jobCountCall {}).await?;
            let names_participant = |j: &JobRegistry::Job| participant.is_some_and(|p| j.participants.contains(&p));
            let filter = participant.is_some().then_some(&names_participant as _);
            // 25 maximal jobs (16 participants, 16 datasets) per call stay far below
            // any node's call gas cap.
            let jobs = collect_pages(page, total.saturating_to(), 25, filter, |offset, limit| {
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
                        deadline_text(j),
                    ]
                })
                .collect();
            Ok(Output::new(
                table(&["id", "kind", "status", "approvals", "participants", "proposed block", "deadline"], &rows),
                json!({ "ok": true, "jobs": jobs.iter().map(job_json).collect::<Vec<_>>() }),
            ))
        }
        JobCommand::Show { job } => show(global, job).await,
        JobCommand::Watch { job, node, node_token_file, interval } => {
            watch(global, job, node.as_deref(), node_token_file.as_deref(), interval).await
        }
    }
}

/// What an approver approves, in one line: the kind, the participants, the
/// datasets and what the params let go on chain.
fn approval_summary(p: &wefe_chain::jobs::JobProposal) -> String {
    let params: Value = serde_json::from_str(&p.params).unwrap_or(Value::Null);
    let published = match params.get("publish").and_then(Value::as_array) {
        Some(keys) if !keys.is_empty() => {
            keys.iter().map(|k| k.as_str().unwrap_or("?").to_owned()).collect::<Vec<_>>().join(", ")
        }
        _ => "nothing but commitments".to_owned(),
    };
    format!(
        "you approved job {} ({}) between {} participants on {}; on chain: {published}; run window {} blocks",
        p.job_id,
        p.kind,
        p.participants.len(),
        if p.datasets.is_empty() {
            "no datasets".to_owned()
        } else {
            p.datasets.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
        },
        p.run_blocks
    )
}

/// `JobRegistry.JobStatus.Proposed`.
const PROPOSED: u8 = 1;

/// The deadline that matters now: approval while proposed, run once approved.
fn deadline_text(j: &JobRegistry::Job) -> String {
    match variant(STATUS, j.status).as_str() {
        "Proposed" => format!("approve by {}", j.deadlineBlock),
        "Approved" | "Running" => format!("run by {}", j.runDeadlineBlock),
        _ => "-".into(),
    }
}

/// The owner of each `--dataset`: given as NAME@0xOWNER, or the only
/// participant that has an active dataset by that name.
async fn resolve_dataset(
    gov: &Governance<AnyBackend>,
    selector: DatasetSelector,
    participants: &[Address],
) -> Result<DatasetRef> {
    let make = |owner: Address| DatasetRef { owner: PeerId::from_bytes(owner.into_array()), name: selector.name };
    if let Some(owner) = selector.owner {
        return Ok(make(owner));
    }
    let mut owners = Vec::new();
    for p in participants {
        let call = DataRegistry::isActiveCall { owner: *p, name: selector.name.to_bytes().into() };
        if gov.call(Target::DataRegistry, call).await? && !owners.contains(p) {
            owners.push(*p);
        }
    }
    match owners.as_slice() {
        [one] => Ok(make(*one)),
        [] => bail!(
            "--dataset {}: no participant has an active dataset by that name (write NAME@0xOWNER to name another)",
            selector.name
        ),
        many => bail!(
            "--dataset {}: {} participants have a dataset by that name: write NAME@0xOWNER ({})",
            selector.name,
            many.len(),
            many.iter().map(|a| a.to_checksum(None)).collect::<Vec<_>>().join(", ")
        ),
    }
}

async fn watch(
    global: &GlobalArgs,
    job: u64,
    node: Option<&str>,
    token_file: Option<&std::path::Path>,
    interval: f64,
) -> Result<Output> {
    use std::io::{IsTerminal, Write};
    let mut headers = reqwest::header::HeaderMap::new();
    if node.is_some() {
        // Every node API route but /livez wants the node's bearer token.
        let Some(path) = token_file else {
            anyhow::bail!("--node needs the node's API token: --node-token-file <its data_dir>/api-token")
        };
        let token = zeroize::Zeroizing::new(
            std::fs::read_to_string(path)
                .map_err(|e| anyhow::anyhow!("cannot read the node API token {}: {e}", path.display()))?,
        );
        let mut value = reqwest::header::HeaderValue::from_str(&format!("Bearer {}", token.trim()))
            .map_err(|_| anyhow::anyhow!("{} does not hold an API token", path.display()))?;
        value.set_sensitive(true);
        headers.insert(reqwest::header::AUTHORIZATION, value);
    }
    let gov = context::connect(global, false).await?;
    let client =
        reqwest::Client::builder().timeout(std::time::Duration::from_secs(5)).default_headers(headers).build()?;
    let tty = std::io::stderr().is_terminal();
    let mut printed: Option<(std::time::Instant, String)> = None;
    loop {
        let j = gov.call(Target::JobRegistry, JobRegistry::getJobCall { jobId: U256::from(job) }).await?;
        if j.status == 0 {
            anyhow::bail!("there is no job {job} on this chain");
        }
        if wefe_chain::jobs::is_closed(j.status) {
            if tty {
                eprintln!();
            }
            return show(global, job).await;
        }
        let head = gov.backend().head_block().await?;
        let mut line = format!(
            "job {job} {}: approvals {}/{}, completions {}/{}",
            variant(STATUS, j.status),
            j.approvals,
            j.participants.len(),
            j.completions,
            j.participants.len()
        );
        line.push_str(&match variant(STATUS, j.status).as_str() {
            "Proposed" if head > j.deadlineBlock => {
                format!(", approval deadline {} passed (wefe job expire {job})", j.deadlineBlock)
            }
            "Proposed" => format!(", approve by block {} ({} left)", j.deadlineBlock, j.deadlineBlock - head),
            _ if head > j.runDeadlineBlock => {
                format!(", run deadline {} passed (wefe job timeout {job})", j.runDeadlineBlock)
            }
            _ => format!(", run deadline block {} ({} left)", j.runDeadlineBlock, j.runDeadlineBlock - head),
        });
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
    if matches!(response.status(), reqwest::StatusCode::UNAUTHORIZED | reqwest::StatusCode::FORBIDDEN) {
        return format!("node {url} refused the request ({}): check --node-token-file", response.status());
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
    let proposal = read_proposal(&gov, job, j.proposedBlock, j.paramsHash).await?;
    let mut reports = Vec::new();
    for p in &j.participants {
        let r =
            gov.call(Target::JobRegistry, JobRegistry::participantReportCall { jobId: j.id, participant: *p }).await?;
        reports.push((*p, r));
    }
    let block = |b: u64| if b == 0 { "-".to_owned() } else { b.to_string() };
    let mut text = fields(&[
        ("job", j.id.to_string()),
        ("kind", j.kind.clone()),
        ("status", variant(STATUS, j.status)),
        ("proposer", j.proposer.to_checksum(None)),
        ("datasets", datasets_text(&proposal)),
        ("params", proposal.params.clone()),
        ("approvals", format!("{}/{}", j.approvals, j.participants.len())),
        ("completions", format!("{}/{}", j.completions, j.participants.len())),
        ("approval deadline block", j.deadlineBlock.to_string()),
        ("run window", format!("{} blocks", j.runBlocks)),
        ("run deadline block", block(j.runDeadlineBlock)),
        ("proposed block", j.proposedBlock.to_string()),
        ("approved block", block(j.approvedBlock)),
        ("closed block", block(j.closedBlock)),
    ]);
    let rows: Vec<Vec<String>> = reports
        .iter()
        .map(|(p, r)| {
            vec![
                p.to_checksum(None),
                variant(STATE, r.state),
                if r.commitment.is_zero() { "-".into() } else { r.commitment.to_string() },
                report_text(r),
            ]
        })
        .collect();
    text.push_str("\n\n");
    text.push_str(&table(&["participant", "state", "commitment", "summary / reason"], &rows));
    let mut value = job_json(&j);
    value["ok"] = json!(true);
    value["params"] =
        serde_json::from_str::<Value>(&proposal.params).unwrap_or_else(|_| Value::String(proposal.params.clone()));
    value["dataset_digests"] = json!(proposal.digests.iter().map(ToString::to_string).collect::<Vec<_>>());
    value["reports"] = Value::Array(
        reports
            .iter()
            .map(|(p, r)| {
                let failed = variant(STATE, r.state) == "Failed";
                json!({
                    "address": p.to_checksum(None),
                    "state": variant(STATE, r.state),
                    "commitment": (!r.commitment.is_zero()).then(|| r.commitment.to_string()),
                    "summary": (variant(STATE, r.state) == "Completed").then(|| r.text.clone()),
                    "reason": (variant(STATE, r.state) == "Rejected").then(|| r.text.clone()),
                    "failure": failed.then(|| variant(FAILURE, r.failure)),
                    "updated_block": r.updatedBlock,
                })
            })
            .collect(),
    );
    Ok(Output::new(text, value))
}

/// What a participant's report says in one cell.
fn report_text(r: &JobRegistry::ParticipantReport) -> String {
    match variant(STATE, r.state).as_str() {
        "Failed" => format!("failed: {} (detail kept by the participant)", variant(FAILURE, r.failure)),
        "Completed" if r.text.is_empty() => "(nothing published)".into(),
        _ => r.text.clone(),
    }
}

fn datasets_text(proposal: &wefe_chain::jobs::JobProposal) -> String {
    if proposal.datasets.is_empty() {
        return "(none)".into();
    }
    proposal.datasets.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
}

fn job_json(j: &JobRegistry::Job) -> Value {
    json!({
        "id": num(j.id),
        "kind": j.kind,
        "status": variant(STATUS, j.status),
        "proposer": j.proposer.to_checksum(None),
        "participants": addresses(&j.participants),
        "datasets": j.datasets.iter().map(|d| wefe_chain::jobs::dataset_ref(d.owner, d.name).to_string()).collect::<Vec<_>>(),
        "params_hash": j.paramsHash.to_string(),
        "deadline_block": j.deadlineBlock,
        "run_blocks": j.runBlocks,
        "run_deadline_block": j.runDeadlineBlock,
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
