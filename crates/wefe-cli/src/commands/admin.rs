use alloy::primitives::{Address, U256};
use alloy::sol_types::SolCall;
use anyhow::{Result, bail};
use serde_json::{Value, json};
use wefe_chain::bindings::Consortium;
use wefe_chain::{EthereumBackend, Governance, Target, TxOutcome};

use super::{collect_pages, variant};
use crate::args::{AdminCommand, GlobalArgs, ProposalKindArg};
use crate::context;
use crate::output::{Output, fields, table};

const KIND: &str = "Consortium.ProposalKind";
const STATUS: &str = "Consortium.ProposalStatus";

pub async fn run(global: &GlobalArgs, cmd: AdminCommand) -> Result<Output> {
    match cmd {
        AdminCommand::Propose { kind, target, value } => {
            let (target, value) = proposal_operands(kind, target, value)?;
            let gov = context::connect(global, true).await?;
            let value = match (kind, value) {
                (ProposalKindArg::ApproveMember, None) => key_version(&gov, target).await?,
                (_, v) => v.unwrap_or(0),
            };
            let call = Consortium::proposeCall { kind: kind.index(), target, value: U256::from(value) };
            let outcome = gov.send(Target::Consortium, call).await?;
            proposal_output(&gov, &outcome).await
        }
        AdminCommand::Vote { proposal } => {
            let gov = context::connect(global, true).await?;
            let outcome =
                gov.send(Target::Consortium, Consortium::voteCall { proposalId: U256::from(proposal) }).await?;
            proposal_output(&gov, &outcome).await
        }
        AdminCommand::Cancel { proposal } => {
            let gov = context::connect(global, true).await?;
            let outcome =
                gov.send(Target::Consortium, Consortium::cancelCall { proposalId: U256::from(proposal) }).await?;
            Ok(Output::tx(format!("proposal {proposal} cancelled"), &outcome, json!({ "proposal_id": proposal })))
        }
        AdminCommand::List { page, open } => {
            let gov = context::connect(global, false).await?;
            let admins = gov.call(Target::Consortium, Consortium::adminsCall {}).await?;
            let threshold = gov.call(Target::Consortium, Consortium::thresholdCall {}).await?;
            let cas = gov.call(Target::Consortium, Consortium::certificateAuthoritiesCall {}).await?;
            let total = gov.call(Target::Consortium, Consortium::proposalCountCall {}).await?;
            let epoch = gov.call(Target::Consortium, Consortium::adminEpochCall {}).await?;
            let proposals = collect_pages(page, total.saturating_to(), |offset, limit| {
                let gov = &gov;
                async move { Ok(gov.call(Target::Consortium, Consortium::proposalsPageCall { offset, limit }).await?) }
            })
            .await?;
            let proposals: Vec<_> =
                proposals.into_iter().filter(|p| !open || (p.status == 1 && p.epoch == epoch)).collect();
            let names = |v: &[Address]| v.iter().map(|a| a.to_checksum(None)).collect::<Vec<_>>();
            let rows: Vec<Vec<String>> = proposals
                .iter()
                .map(|p| {
                    vec![
                        p.id.to_string(),
                        variant(KIND, p.kind),
                        if p.target.is_zero() { "-".into() } else { p.target.to_checksum(None) },
                        p.value.to_string(),
                        status_text(p, epoch),
                        format!("{}/{}", p.approvals, threshold),
                    ]
                })
                .collect();
            let text = format!(
                "{}\n\n{}",
                fields(&[
                    ("admins", names(&admins).join(", ")),
                    ("threshold", threshold.to_string()),
                    ("certificate authorities", if cas.is_empty() { "(none)".into() } else { names(&cas).join(", ") }),
                ]),
                table(&["id", "kind", "target", "value", "status", "approvals"], &rows)
            );
            Ok(Output::new(
                text,
                json!({
                    "ok": true,
                    "admins": names(&admins),
                    "threshold": threshold.to_string(),
                    "certificate_authorities": names(&cas),
                    "proposals": proposals.iter().map(|p| proposal_json(p, epoch)).collect::<Vec<_>>(),
                }),
            ))
        }
        AdminCommand::Show { proposal } => {
            let gov = context::connect(global, false).await?;
            let p =
                gov.call(Target::Consortium, Consortium::getProposalCall { proposalId: U256::from(proposal) }).await?;
            let epoch = gov.call(Target::Consortium, Consortium::adminEpochCall {}).await?;
            let admins = gov.call(Target::Consortium, Consortium::adminsCall {}).await?;
            let mut voted = Vec::new();
            for admin in &admins {
                let call = Consortium::hasVotedCall::new((U256::from(proposal), *admin));
                if gov.call(Target::Consortium, call).await? {
                    voted.push(admin.to_checksum(None));
                }
            }
            let text = fields(&[
                ("proposal", p.id.to_string()),
                ("kind", variant(KIND, p.kind)),
                ("target", p.target.to_checksum(None)),
                ("value", p.value.to_string()),
                ("status", status_text(&p, epoch)),
                ("approvals", p.approvals.to_string()),
                ("proposer", p.proposer.to_checksum(None)),
                ("created block", p.createdBlock.to_string()),
                ("closed block", if p.closedBlock == 0 { "-".into() } else { p.closedBlock.to_string() }),
                ("current admins who voted", if voted.is_empty() { "(none)".into() } else { voted.join(", ") }),
            ]);
            let mut value = proposal_json(&p, epoch);
            value["voted"] = json!(voted);
            value["ok"] = json!(true);
            Ok(Output::new(text, value))
        }
    }
}

/// Checks a proposal's operands the way the contract will, with clearer words.
/// The value stays None for approve-member when not given: it is then the
/// member's current key version, read from the chain.
fn proposal_operands(
    kind: ProposalKindArg,
    target: Option<Address>,
    value: Option<u64>,
) -> Result<(Address, Option<u64>)> {
    if kind == ProposalKindArg::ChangeThreshold {
        if target.is_some() {
            bail!("change-threshold takes --value N, not --target");
        }
        let Some(v) = value else { bail!("change-threshold needs --value N (the new threshold)") };
        return Ok((Address::ZERO, Some(v)));
    }
    if value.is_some() && kind != ProposalKindArg::ApproveMember {
        bail!("--value is only for change-threshold (new threshold) and approve-member (key version)");
    }
    let Some(t) = target else { bail!("this proposal needs --target ADDRESS") };
    Ok((t, value))
}

/// The member's current key version: what an approval binds to.
async fn key_version(gov: &Governance<EthereumBackend>, member: Address) -> Result<u64> {
    Ok(gov.call(Target::Consortium, Consortium::getMemberCall { account: member }).await?.keyVersion.into())
}

fn status_text(p: &Consortium::Proposal, epoch: u64) -> String {
    if p.status == 1 && p.epoch != epoch { "Stale".into() } else { variant(STATUS, p.status) }
}

fn proposal_json(p: &Consortium::Proposal, epoch: u64) -> Value {
    json!({
        "id": p.id.to_string(),
        "kind": variant(KIND, p.kind),
        "target": p.target.to_checksum(None),
        "value": p.value.to_string(),
        "proposer": p.proposer.to_checksum(None),
        "status": status_text(p, epoch),
        "epoch": p.epoch,
        "created_block": p.createdBlock,
        "closed_block": p.closedBlock,
        "approvals": p.approvals,
    })
}

/// Opens the proposal, or votes on the identical open one: what `member approve` etc. do.
/// An approval binds to the member's current key version, so admins approve the
/// key they can see with `wefe member show`.
pub async fn propose_or_vote(
    gov: &Governance<EthereumBackend>,
    kind: ProposalKindArg,
    target: Address,
) -> Result<Output> {
    let value = match kind {
        ProposalKindArg::ApproveMember => U256::from(key_version(gov, target).await?),
        _ => U256::ZERO,
    };
    let open =
        gov.call(Target::Consortium, Consortium::openProposalForCall { kind: kind.index(), target, value }).await?;
    let outcome = if open.is_zero() {
        gov.send(Target::Consortium, Consortium::proposeCall { kind: kind.index(), target, value }).await?
    } else {
        gov.send(Target::Consortium, Consortium::voteCall { proposalId: open }).await?
    };
    proposal_output(gov, &outcome).await
}

/// Summarises a propose/vote transaction from its events: which proposal, how
/// many approvals of how many, and whether it executed.
async fn proposal_output(gov: &Governance<EthereumBackend>, outcome: &TxOutcome) -> Result<Output> {
    let events = wefe_chain::decode_events(outcome);
    let voted = events.iter().find(|e| e.event == "ProposalVoted");
    let executed = events.iter().any(|e| e.event == "ProposalExecuted");
    let id: u64 = voted.and_then(|e| e.field("proposalId")).and_then(|v| v.parse().ok()).unwrap_or_default();
    let p = gov.call(Target::Consortium, Consortium::getProposalCall { proposalId: U256::from(id) }).await?;
    let approvals = voted.and_then(|e| e.field("approvals")).unwrap_or("?");
    let threshold = voted.and_then(|e| e.field("threshold")).unwrap_or("?");
    let target = match variant(KIND, p.kind).as_str() {
        "ChangeThreshold" => format!("to {}", p.value),
        "ApproveMember" => format!("{} with key version {}", p.target.to_checksum(None), p.value),
        _ => p.target.to_checksum(None),
    };
    let summary = format!(
        "proposal {id} ({} {target}): {approvals} of {threshold} approvals{}",
        variant(KIND, p.kind),
        if executed { ", executed" } else { ", waiting for more votes" }
    );
    Ok(Output::tx(summary, outcome, json!({ "proposal_id": id, "executed": executed })))
}
