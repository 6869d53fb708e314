use alloy::primitives::{Address, U256};
use alloy::sol_types::SolCall;
use anyhow::{Result, bail};
use serde_json::{Value, json};
use wefe_chain::bindings::Consortium;
use wefe_chain::{AnyBackend, Governance, Target, TxOutcome};

use super::{collect_pages, list_or_none, variant};
use crate::args::{AdminCommand, GlobalArgs, ProposalKindArg};
use crate::context;
use crate::output::{Output, addresses, fields, num, table};

const KIND: &str = "Consortium.ProposalKind";
const STATUS: &str = "Consortium.ProposalStatus";

pub async fn run(global: &GlobalArgs, cmd: AdminCommand) -> Result<Output> {
    match cmd {
        AdminCommand::Propose { kind, target, value } => {
            let (target, value) = proposal_operands(kind, target, value)?;
            let gov = context::connect(global, true).await?;
            let value = match value {
                Some(v) => v,
                None => member_binding(&gov, kind, target).await?,
            };
            let call = Consortium::proposeCall { kind: kind.index(), target, value: U256::from(value) };
            let outcome = gov.send(Target::Consortium, call).await?;
            Ok(proposal_output(&describe(kind.index(), target, U256::from(value)), &outcome))
        }
        AdminCommand::Vote { proposal } => {
            let gov = context::connect(global, true).await?;
            // Read first (an unknown id fails here, before sending), so the
            // outcome is described without another read after the vote.
            let p =
                gov.call(Target::Consortium, Consortium::getProposalCall { proposalId: U256::from(proposal) }).await?;
            let outcome =
                gov.send(Target::Consortium, Consortium::voteCall { proposalId: U256::from(proposal) }).await?;
            Ok(proposal_output(&describe(p.kind, p.target, p.value), &outcome))
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
            let is_open = |p: &Consortium::Proposal| status_text(p, epoch) == "Open";
            let proposals = collect_pages(page, total.saturating_to(), 100, open.then_some(&is_open as _), |offset, limit| {
                let gov = &gov;
                async move { Ok(gov.call(Target::Consortium, Consortium::proposalsPageCall { offset, limit }).await?) }
            })
            .await?;
            let rows: Vec<Vec<String>> = proposals
                .iter()
                .map(|p| {
                    vec![
                        p.id.to_string(),
                        variant(KIND, p.kind),
                        if p.target.is_zero() { "-".into() } else { p.target.to_checksum(None) },
                        p.value.to_string(),
                        status_text(p, epoch),
                        // Only an open proposal of this epoch is measured against today's threshold.
                        if is_open(p) { format!("{}/{}", p.approvals, threshold) } else { p.approvals.to_string() },
                    ]
                })
                .collect();
            let text = format!(
                "{}\n\n{}",
                fields(&[
                    ("admins", addresses(&admins).join(", ")),
                    ("threshold", threshold.to_string()),
                    ("certificate authorities", list_or_none(&cas)),
                ]),
                table(&["id", "kind", "target", "value", "status", "approvals"], &rows)
            );
            Ok(Output::new(
                text,
                json!({
                    "ok": true,
                    "admins": addresses(&admins),
                    "threshold": num(threshold),
                    "certificate_authorities": addresses(&cas),
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
                    voted.push(*admin);
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
                ("current admins who voted", list_or_none(&voted)),
            ]);
            let mut value = proposal_json(&p, epoch);
            value["voted"] = json!(addresses(&voted));
            value["ok"] = json!(true);
            Ok(Output::new(text, value))
        }
    }
}

/// Checks a proposal's operands the way the contract will, with clearer words.
/// The value stays None for member proposals when not given: it is then the
/// member's current key version (approve) or membership instance (suspend,
/// reinstate, remove), read from the chain.
fn proposal_operands(
    kind: ProposalKindArg,
    target: Option<Address>,
    value: Option<u64>,
) -> Result<(Address, Option<u64>)> {
    use ProposalKindArg::*;
    if matches!(kind, ChangeThreshold | SetMaxApprovalBlocks | SetMaxRunBlocks) {
        let what = match kind {
            ChangeThreshold => "the new threshold",
            _ => "the new cap in blocks",
        };
        if target.is_some() {
            bail!("this proposal takes --value N ({what}), not --target");
        }
        let Some(v) = value else { bail!("this proposal needs --value N ({what})") };
        return Ok((Address::ZERO, Some(v)));
    }
    if value.is_some() && !is_member_proposal(kind) {
        bail!(
            "--value is for change-threshold, the job windows, approve-member (key version) and \
             suspend/reinstate/remove-member (membership instance)"
        );
    }
    let Some(t) = target else { bail!("this proposal needs --target ADDRESS") };
    Ok((t, value))
}

fn is_member_proposal(kind: ProposalKindArg) -> bool {
    use ProposalKindArg::*;
    matches!(kind, ApproveMember | SuspendMember | ReinstateMember | RemoveMember)
}

/// What a member proposal binds to, read from the chain: the key version an
/// approval approves, or the membership instance a suspension, reinstatement
/// or removal targets (so it cannot execute against a later re-admission).
/// 0 for proposals that carry no value.
async fn member_binding(gov: &Governance<AnyBackend>, kind: ProposalKindArg, member: Address) -> Result<u64> {
    if !is_member_proposal(kind) {
        return Ok(0);
    }
    let m = gov.call(Target::Consortium, Consortium::getMemberCall { account: member }).await?;
    Ok(if kind == ProposalKindArg::ApproveMember { m.keyVersion.into() } else { m.instance.into() })
}

/// The proposal's status; an Open proposal of an earlier admin epoch can never
/// execute and reads "Stale".
fn status_text(p: &Consortium::Proposal, epoch: u64) -> String {
    let status = variant(STATUS, p.status);
    if status == "Open" && p.epoch != epoch { "Stale".into() } else { status }
}

fn proposal_json(p: &Consortium::Proposal, epoch: u64) -> Value {
    json!({
        "id": num(p.id),
        "kind": variant(KIND, p.kind),
        "target": p.target.to_checksum(None),
        "value": num(p.value),
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
/// key they can see with `wefe member show`; a suspension, reinstatement or
/// removal binds to the member's current membership.
pub async fn propose_or_vote(gov: &Governance<AnyBackend>, kind: ProposalKindArg, target: Address) -> Result<Output> {
    let value = U256::from(member_binding(gov, kind, target).await?);
    let open =
        gov.call(Target::Consortium, Consortium::openProposalForCall { kind: kind.index(), target, value }).await?;
    let outcome = if open.is_zero() {
        gov.send(Target::Consortium, Consortium::proposeCall { kind: kind.index(), target, value }).await?
    } else {
        gov.send(Target::Consortium, Consortium::voteCall { proposalId: open }).await?
    };
    Ok(proposal_output(&describe(kind.index(), target, value), &outcome))
}

/// "ApproveMember 0x… with key version 2", "ChangeThreshold to 3", …
fn describe(kind: u8, target: Address, value: U256) -> String {
    let name = variant(KIND, kind);
    match name.as_str() {
        "ChangeThreshold" => format!("{name} to {value}"),
        "SetMaxApprovalBlocks" | "SetMaxRunBlocks" => format!("{name} to {value} blocks"),
        "ApproveMember" => format!("{name} {} with key version {value}", target.to_checksum(None)),
        "SuspendMember" | "ReinstateMember" | "RemoveMember" => {
            format!("{name} {} (membership {value})", target.to_checksum(None))
        }
        _ => format!("{name} {}", target.to_checksum(None)),
    }
}

/// Summarises a mined propose/vote transaction from its own events (no further
/// reads: the vote is cast, a failing read must not report it as failed).
fn proposal_output(description: &str, outcome: &TxOutcome) -> Output {
    let events = wefe_chain::decode_events(outcome);
    let voted = events.iter().find(|e| e.event == "ProposalVoted");
    let executed = events.iter().any(|e| e.event == "ProposalExecuted");
    let id: Option<u64> = voted.and_then(|e| e.field("proposalId")).and_then(|v| v.parse().ok());
    let approvals = voted.and_then(|e| e.field("approvals")).unwrap_or("?");
    let threshold = voted.and_then(|e| e.field("threshold")).unwrap_or("?");
    let summary = format!(
        "proposal {} ({description}): {approvals} of {threshold} approvals{}",
        id.map_or_else(|| "?".to_owned(), |id| id.to_string()),
        if executed { ", executed" } else { ", waiting for more votes" }
    );
    Output::tx(summary, outcome, json!({ "proposal_id": id, "executed": executed }))
}
