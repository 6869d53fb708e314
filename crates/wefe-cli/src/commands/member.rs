use alloy::primitives::Bytes;
use alloy::sol_types::SolCall;
use anyhow::Result;
use serde_json::{Value, json};
use wefe_chain::Target;
use wefe_chain::bindings::Consortium;

use super::admin::propose_or_vote;
use super::{collect_pages, variant};
use crate::args::{GlobalArgs, MemberCommand, MemberStatusArg, ProposalKindArg};
use crate::context;
use crate::output::{Output, fields, table};

const STATUS: &str = "Consortium.MemberStatus";

pub async fn run(global: &GlobalArgs, cmd: MemberCommand) -> Result<Output> {
    match cmd {
        MemberCommand::Apply { name, endpoint, public_key } => {
            let gov = context::connect(global, true).await?;
            let call = Consortium::applyForMembershipCall {
                name: name.clone(),
                endpoint,
                publicKey: Bytes::from(public_key.0),
            };
            let outcome = gov.send(Target::Consortium, call).await?;
            let me = context::sender(&gov).to_checksum(None);
            Ok(Output::tx(
                format!("{name} ({me}) applied for membership; pending until the admins approve"),
                &outcome,
                json!({ "member": me }),
            ))
        }
        MemberCommand::UpdateEndpoint { endpoint } => {
            let gov = context::connect(global, true).await?;
            let outcome =
                gov.send(Target::Consortium, Consortium::updateEndpointCall { endpoint: endpoint.clone() }).await?;
            Ok(Output::tx(format!("endpoint updated to {endpoint}"), &outcome, json!({})))
        }
        MemberCommand::RotateKey { public_key } => {
            let gov = context::connect(global, true).await?;
            let outcome = gov
                .send(Target::Consortium, Consortium::rotateKeyCall { publicKey: Bytes::from(public_key.0) })
                .await?;
            Ok(Output::tx("public key rotated; pending until the admins approve again", &outcome, json!({})))
        }
        MemberCommand::Withdraw => {
            let gov = context::connect(global, true).await?;
            let outcome = gov.send(Target::Consortium, Consortium::withdrawApplicationCall {}).await?;
            Ok(Output::tx("application withdrawn; you may apply again later", &outcome, json!({})))
        }
        MemberCommand::SetOperator { operator } => {
            let gov = context::connect(global, true).await?;
            let outcome = gov.send(Target::Consortium, Consortium::setOperatorCall { operator }).await?;
            let me = context::sender(&gov).to_checksum(None);
            Ok(Output::tx(
                format!(
                    "{} nominated as your operator key; it takes the role with `wefe member accept-operator {me}` \
                     (signed with that key), then may report your jobs' progress and nothing else",
                    operator.to_checksum(None)
                ),
                &outcome,
                json!({ "nominated": operator.to_checksum(None) }),
            ))
        }
        MemberCommand::AcceptOperator { member } => {
            let gov = context::connect(global, true).await?;
            let outcome = gov.send(Target::Consortium, Consortium::acceptOperatorCall { member }).await?;
            let me = context::sender(&gov).to_checksum(None);
            Ok(Output::tx(
                format!("{me} is now the operator key of {}: run its node with this key", member.to_checksum(None)),
                &outcome,
                json!({ "operator": me, "member": member.to_checksum(None) }),
            ))
        }
        MemberCommand::ClearOperator => {
            let gov = context::connect(global, true).await?;
            let call = Consortium::setOperatorCall { operator: alloy::primitives::Address::ZERO };
            let outcome = gov.send(Target::Consortium, call).await?;
            Ok(Output::tx("operator key removed: its reports are refused from now on", &outcome, json!({})))
        }
        MemberCommand::ResignOperator => {
            let gov = context::connect(global, true).await?;
            let outcome = gov.send(Target::Consortium, Consortium::resignOperatorCall {}).await?;
            Ok(Output::tx("this key is no longer an operator key", &outcome, json!({})))
        }
        MemberCommand::Approve { member, key_version } => {
            let gov = context::connect(global, true).await?;
            let m = gov.call(Target::Consortium, Consortium::getMemberCall { account: member }).await?;
            if let Some(reviewed) = key_version
                && reviewed != m.keyVersion
            {
                anyhow::bail!(
                    "{member} registered key version {} (04{}…) since the version {reviewed} you reviewed: \
                     review the new key (wefe member show) before approving it",
                    m.keyVersion,
                    alloy::hex::encode(&m.publicKey[..8.min(m.publicKey.len())])
                );
            }
            propose_or_vote(&gov, ProposalKindArg::ApproveMember, member).await
        }
        MemberCommand::Suspend { member } => {
            propose_or_vote(&context::connect(global, true).await?, ProposalKindArg::SuspendMember, member).await
        }
        MemberCommand::Reinstate { member } => {
            propose_or_vote(&context::connect(global, true).await?, ProposalKindArg::ReinstateMember, member).await
        }
        MemberCommand::Remove { member } => {
            propose_or_vote(&context::connect(global, true).await?, ProposalKindArg::RemoveMember, member).await
        }
        MemberCommand::List { page, status } => {
            let gov = context::connect(global, false).await?;
            let total = gov.call(Target::Consortium, Consortium::memberCountCall {}).await?;
            let wanted = status.map(MemberStatusArg::name);
            let has_status = |m: &Consortium::Member| Some(variant(STATUS, m.status).as_str()) == wanted;
            let filter = wanted.is_some().then_some(&has_status as _);
            let members = collect_pages(page, total.saturating_to(), 100, filter, |offset, limit| {
                let gov = &gov;
                async move { Ok(gov.call(Target::Consortium, Consortium::membersPageCall { offset, limit }).await?) }
            })
            .await?;
            let rows: Vec<Vec<String>> = members
                .iter()
                .map(|m| {
                    vec![m.account.to_checksum(None), variant(STATUS, m.status), m.name.clone(), m.endpoint.clone()]
                })
                .collect();
            Ok(Output::new(
                table(&["address", "status", "name", "endpoint"], &rows),
                json!({ "ok": true, "members": members.iter().map(member_json).collect::<Vec<_>>() }),
            ))
        }
        MemberCommand::Show { member } => {
            let gov = context::connect(global, false).await?;
            let m = gov.call(Target::Consortium, Consortium::getMemberCall { account: member }).await?;
            let is_admin = gov.call(Target::Consortium, Consortium::isAdminCall::new((member,))).await?;
            let is_ca = gov.call(Target::Consortium, Consortium::isCertificateAuthorityCall::new((member,))).await?;
            let operator = gov.call(Target::Consortium, Consortium::operatorOfCall::new((member,))).await?;
            let nominated = gov.call(Target::Consortium, Consortium::nominatedOperatorOfCall::new((member,))).await?;
            let text = fields(&[
                ("address", m.account.to_checksum(None)),
                ("name", m.name.clone()),
                ("status", variant(STATUS, m.status)),
                ("endpoint", m.endpoint.clone()),
                ("public key", format!("04{}", alloy::hex::encode(&m.publicKey))),
                ("key version", m.keyVersion.to_string()),
                (
                    "approved key version",
                    if m.approvedKeyVersion == 0 { "-".into() } else { m.approvedKeyVersion.to_string() },
                ),
                ("membership", m.instance.to_string()),
                ("operator key", if operator.is_zero() { "-".into() } else { operator.to_checksum(None) }),
                (
                    "nominated operator",
                    if nominated.is_zero() {
                        "-".into()
                    } else {
                        format!("{} (not accepted yet)", nominated.to_checksum(None))
                    },
                ),
                ("applied block", m.appliedBlock.to_string()),
                ("updated block", m.updatedBlock.to_string()),
                ("admin", is_admin.to_string()),
                ("certificate authority", is_ca.to_string()),
            ]);
            let mut value = member_json(&m);
            value["ok"] = json!(true);
            value["admin"] = json!(is_admin);
            value["certificate_authority"] = json!(is_ca);
            value["operator"] = if operator.is_zero() { Value::Null } else { json!(operator.to_checksum(None)) };
            value["nominated_operator"] =
                if nominated.is_zero() { Value::Null } else { json!(nominated.to_checksum(None)) };
            Ok(Output::new(text, value))
        }
    }
}

fn member_json(m: &Consortium::Member) -> Value {
    json!({
        "address": m.account.to_checksum(None),
        "name": m.name,
        "status": variant(STATUS, m.status),
        "endpoint": m.endpoint,
        "public_key": format!("04{}", alloy::hex::encode(&m.publicKey)),
        "key_version": m.keyVersion,
        "approved_key_version": m.approvedKeyVersion,
        "membership": m.instance,
        "applied_block": m.appliedBlock,
        "updated_block": m.updatedBlock,
    })
}
