//! Generic decoding of the contracts' custom errors and events, driven by the
//! committed ABI artifacts. Revert data becomes a one-line message a user can
//! act on (`job 7: already approved by 0x…`); any log of the four contracts
//! becomes a named event with named, formatted fields (for `show` and audit).

use std::collections::HashMap;
use std::sync::OnceLock;

use alloy::dyn_abi::{DynSolValue, EventExt, JsonAbiExt};
use alloy::json_abi::{ContractObject, Error as AbiError, Event, Param};
use alloy::primitives::{B256, U256};
use serde_json::Value;

use crate::ChainLog;
use crate::bindings::ARTIFACTS;
#[cfg(test)]
use crate::bindings::{DataRegistry, JobRegistry};

struct Registry {
    /// selector → (contract, error); a file-level error appears once per contract using it.
    errors: HashMap<[u8; 4], Vec<(&'static str, AbiError)>>,
    /// topic0 → (contract, event).
    events: HashMap<B256, (&'static str, Event)>,
}

fn registry() -> &'static Registry {
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    REGISTRY.get_or_init(|| {
        let mut errors: HashMap<[u8; 4], Vec<(&'static str, AbiError)>> = HashMap::new();
        let mut events = HashMap::new();
        for (contract, json) in ARTIFACTS {
            // The artifacts are compiled into the binary and checked by scripts/abi.sh.
            let object: ContractObject = serde_json::from_str(json).expect("committed ABI artifact is valid JSON");
            let abi = object.abi.expect("committed ABI artifact has an abi field");
            for error in abi.errors() {
                errors.entry(error.selector().0).or_default().push((contract, error.clone()));
            }
            for event in abi.events() {
                events.insert(event.selector(), (contract, event.clone()));
            }
        }
        Registry { errors, events }
    })
}

/// A revert decoded against the contracts' ABIs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodedRevert {
    /// The contract that declares the error (None for `Error(string)`, panics and unknown data).
    pub contract: Option<String>,
    /// The error's name (None when unknown).
    pub error: Option<String>,
    /// One line for a human.
    pub message: String,
}

/// Decodes revert data. `prefer` names the contract that was called, to pick
/// the right declaration when two contracts declare an error with the same
/// signature.
pub fn decode_revert(data: &[u8], prefer: Option<&str>) -> DecodedRevert {
    let unknown = |message: String| DecodedRevert { contract: None, error: None, message };
    if data.len() < 4 {
        return unknown(if data.is_empty() {
            "execution reverted without a reason".to_owned()
        } else {
            format!("execution reverted with malformed data 0x{}", alloy::hex::encode(data))
        });
    }
    let selector: [u8; 4] = data[..4].try_into().expect("length checked");
    // Error(string) and Panic(uint256) from require/assert/arithmetic.
    if selector == [0x08, 0xc3, 0x79, 0xa0]
        && let Ok(values) = alloy::dyn_abi::DynSolType::String.abi_decode_params(&data[4..])
        && let Some(s) = values.as_str()
    {
        return unknown(format!("execution reverted: {s}"));
    }
    if selector == [0x4e, 0x48, 0x7b, 0x71] && data.len() == 36 {
        let code = U256::from_be_slice(&data[4..]);
        return unknown(format!("execution panicked: {}", panic_reason(code)));
    }
    let Some(candidates) = registry().errors.get(&selector) else {
        return unknown(format!("execution reverted with unknown error 0x{}", alloy::hex::encode(data)));
    };
    let (contract, error) = candidates.iter().find(|(c, _)| Some(*c) == prefer).unwrap_or(&candidates[0]);
    let Ok(values) = error.abi_decode_input(&data[4..]) else {
        return unknown(format!("execution reverted with malformed {} data", error.name));
    };
    let fields: Vec<(String, String)> = error
        .inputs
        .iter()
        .zip(&values)
        .map(|(param, value)| (param.name.clone(), format_value(param, value)))
        .collect();
    DecodedRevert {
        contract: Some((*contract).to_owned()),
        error: Some(error.name.clone()),
        message: render_error(&error.name, &fields),
    }
}

fn panic_reason(code: U256) -> String {
    let text = match code.saturating_to::<u64>() {
        0x01 => "assertion failed",
        0x11 => "arithmetic overflow or underflow",
        0x12 => "division by zero",
        0x21 => "invalid enum value",
        0x31 => "pop on an empty array",
        0x32 => "array index out of bounds",
        0x41 => "out of memory",
        _ => "unknown panic code",
    };
    format!("{text} (code {code:#x})")
}

/// Message templates for the contracts' custom errors: `{field}` is replaced by
/// the formatted field, `{field:lower}` by its lowercase form.
fn template(error: &str) -> Option<&'static str> {
    Some(match error {
        "NotActiveMember" => "not an active member: {account}",
        "ZeroAddress" => "the zero address is not allowed here",
        "NotAdmin" => "not an admin: {account}",
        "InvalidThreshold" => {
            "invalid threshold {threshold}: it must be between 1 and the number of admins ({adminCount})"
        }
        "DuplicateAdmin" => "admin listed twice: {account}",
        "AlreadyApplied" => "{account} has already applied (status: {status:lower})",
        "InvalidName" => "invalid member name: {length} bytes (1 to 64 allowed)",
        "InvalidEndpoint" => "invalid gateway endpoint: {length} bytes (1 to 256 allowed)",
        "InvalidPublicKey" => "invalid SM2 public key: {length} bytes (64 expected: x || y)",
        "UnknownMember" => "unknown member: {account}",
        "InvalidMemberStatus" => "member {account} is {status:lower}: not allowed for this action",
        "UnknownProposal" => "unknown proposal {proposalId}",
        "ProposalNotOpen" => "proposal {proposalId} is {status:lower}, not open",
        "ProposalStale" => {
            "proposal {proposalId} was opened before the admin set changed (epoch {proposalEpoch}, now {currentEpoch}): open a new one"
        }
        "ProposalAlreadyOpen" => "an identical proposal is already open: {proposalId} (vote on it instead)",
        "AlreadyVoted" => "proposal {proposalId}: already voted by {admin}",
        "NotProposer" => "only the proposer may cancel {proposalId}{jobId}, not {account}",
        "StaleMemberKey" => {
            "member {account} changed its key since this approval was proposed (key version {proposedVersion}, now {currentVersion}): review the new key and approve again"
        }
        "AlreadyAdmin" => "already an admin: {account}",
        "StaleMembership" => {
            "member {account} was removed and admitted again since this proposal was opened (membership {proposedInstance}, now {currentInstance}): open a new one"
        }
        "UnrecoverableThreshold" => {
            "threshold {threshold} with {adminCount} admins would lock governance if one admin key were lost: keep the threshold below the number of admins"
        }
        "InvalidOperator" => {
            "{operator} cannot be an operator key: it must be a fresh account (no member, applicant, admin or certificate authority), and zero only clears an operator that is set"
        }
        "OperatorInUse" => "{operator} is already the operator key of {member}",
        "NotNominated" => {
            "{account} was not nominated as operator key by {member}: the member nominates it first (wefe member set-operator)"
        }
        "StaleRequest" => {
            "request {certificateId} was made for key version {requestedKeyVersion}, the member now has {currentKeyVersion}: it must request again for its current key"
        }
        "AccountIsOperator" => {
            "{account} is an operator key: it cannot be a member, an admin or a certificate authority"
        }
        "AlreadyCertificateAuthority" => "already a certificate authority: {account}",
        "NotCertificateAuthority" => "not a certificate authority: {account}",
        "InvalidProposalValue" => "invalid value {value} for a {kind} proposal",
        "ZeroHash" => "a zero hash is not allowed",
        "UnknownCertificate" => "unknown certificate {certificateId}",
        "UnknownCertificateHash" => "no certificate with hash {certificateHash}",
        "InvalidCertificateStatus" => "certificate {certificateId} is {status:lower}: not allowed for this action",
        "CertificateHashInUse" => {
            "certificate hash {certificateHash} is already recorded (certificate {certificateId})"
        }
        "SerialInUse" => "serial {serial} was already used by issuer {issuer}",
        "InvalidValidity" => "invalid validity: notAfter {notAfter} must be after notBefore {notBefore}",
        "InvalidUri" => "certificate URI too long: {length} bytes (512 allowed)",
        "InvalidReason" => "reason too long: {length} bytes (256 allowed)",
        "InvalidRootKey" => "invalid root SM2 public key: {length} bytes (64 expected: x || y)",
        "NotAllowedToRevoke" => {
            "{account} may not revoke certificate {certificateId}: only a certificate authority or the holder may"
        }
        "TooManyOpenRequests" => {
            "{member} already has {open} certificate requests open: withdraw one (cert withdraw) or wait for an authority"
        }
        "NotRequester" => "only the member that made request {certificateId} may withdraw it, not {account}",
        "ZeroDatasetName" => "the dataset name must not be zero",
        "DatasetExists" => "{owner} already has a dataset named {name} (retired names cannot be reused)",
        "UnknownDataset" => "{owner} has no dataset named {name}",
        "DatasetIsRetired" => "dataset {name} of {owner} is retired",
        "InvalidMetadata" => "dataset metadata too long: {length} bytes (4096 allowed)",
        "AlreadyGranted" => "dataset {name} of {owner} is already granted to {member}",
        "NotGranted" => "dataset {name} of {owner} is not granted to {member}",
        "UnchangedDescription" => "dataset {name} of {owner}: the new description equals the current one",
        "InvalidKind" => "invalid job kind: {length} bytes (1 to 32 allowed)",
        "InvalidParams" => "job params too long: {length} bytes (16384 allowed)",
        "InvalidText" => "text too long: {length} bytes (4096 allowed)",
        "InvalidParticipantCount" => "a job needs 2 to 16 participants, got {count}",
        "InvalidDatasetCount" => "a job may use at most 16 datasets, got {count}",
        "DuplicateParticipant" => "participant listed twice: {participant}",
        "DuplicateDataset" => "dataset listed twice: {name} of {owner}",
        "DatasetNotActive" => "{owner} has no active dataset named {name} (unknown or retired)",
        "DatasetOwnerNotParticipant" => "dataset {name} belongs to {owner}, who is not a participant",
        "DatasetNotVisible" => "dataset {name} of {owner} is not visible to participant {participant}",
        "DeadlineInPast" => "deadline block {deadlineBlock} is not after the current block {currentBlock}",
        "DeadlineTooFar" => {
            "approval deadline block {deadlineBlock} is too far: the consortium allows up to block {latestAllowed}"
        }
        "InvalidRunBlocks" => "run window of {runBlocks} blocks: it must be 1 to {maxRunBlocks} blocks",
        "RunDeadlinePassed" => {
            "job {jobId}: the run deadline (block {runDeadlineBlock}) has passed; it can only be timed out or failed"
        }
        "RunDeadlineNotPassed" => "job {jobId}: the run deadline (block {runDeadlineBlock}) has not passed yet",
        "DatasetChanged" => {
            "job {jobId}: dataset {name} of {owner} changed after the job was proposed; its approvals cannot count: propose the job again"
        }
        "UnknownJob" => "unknown job {jobId}",
        "InvalidJobStatus" => "job {jobId} is {status:lower}: not allowed for this action",
        "DeadlinePassed" => "job {jobId}: the approval deadline (block {deadlineBlock}) has passed",
        "DeadlineNotPassed" => "job {jobId}: the approval deadline (block {deadlineBlock}) has not passed yet",
        "NotParticipant" => "job {jobId}: {account} is not a participant",
        "AlreadyResponded" => "job {jobId}: already {state:lower} by {participant}",
        "InvalidParticipantState" => {
            "job {jobId}: participant {participant} is {state:lower}: not allowed for this action"
        }
        "ZeroCommitment" => "the result commitment must not be zero",
        _ => return None,
    })
}

fn render_error(name: &str, fields: &[(String, String)]) -> String {
    let Some(template) = template(name) else {
        // An error added to a contract without a template still reads clearly.
        let args: Vec<String> = fields.iter().map(|(k, v)| format!("{k}={v}")).collect();
        return format!("{name}({})", args.join(", "));
    };
    // One pass over the template: values are inserted, never rescanned, so a
    // value containing braces stays intact. Placeholders of fields this error
    // does not have (shared templates) vanish.
    let mut out = String::with_capacity(template.len() + 64);
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let Some(len) = rest[start..].find('}') else {
            rest = &rest[start..];
            break;
        };
        let placeholder = &rest[start + 1..start + len];
        let (key, lower) = match placeholder.strip_suffix(":lower") {
            Some(key) => (key, true),
            None => (placeholder, false),
        };
        if let Some((_, value)) = fields.iter().find(|(k, _)| k == key) {
            out.push_str(&if lower { value.to_lowercase() } else { value.clone() });
        }
        rest = &rest[start + len + 1..];
    }
    out.push_str(rest);
    out
}

/// Formats one ABI value for a human: addresses checksummed, enums by name,
/// dataset ids as text when they are text, bytes as hex.
pub fn format_value(param: &Param, value: &DynSolValue) -> String {
    let internal = param.internal_type.as_ref().map(|t| t.to_string()).unwrap_or_default();
    format_typed(&param.name, &internal, value)
}

fn format_typed(name: &str, internal: &str, value: &DynSolValue) -> String {
    match value {
        DynSolValue::Address(a) => a.to_checksum(None),
        DynSolValue::Bool(b) => b.to_string(),
        DynSolValue::Uint(u, _) => {
            if let Some(enum_name) = internal.strip_prefix("enum ")
                && let Some(variant) = enum_variant(enum_name, u.saturating_to::<u8>())
            {
                return variant;
            }
            u.to_string()
        }
        DynSolValue::Int(i, _) => i.to_string(),
        DynSolValue::FixedBytes(word, size) => {
            let bytes = &word[..*size];
            if *size == 32 && (name.starts_with("datasetId") || name == "name") {
                wefe_core::DatasetId::from_bytes(word.0).to_string()
            } else {
                format!("0x{}", alloy::hex::encode(bytes))
            }
        }
        DynSolValue::Bytes(b) => format!("0x{}", alloy::hex::encode(b)),
        DynSolValue::String(s) => s.clone(),
        DynSolValue::Array(items) | DynSolValue::FixedArray(items) => {
            let inner = internal.strip_suffix("[]").unwrap_or(internal);
            let parts: Vec<String> = items.iter().map(|v| format_typed(name, inner, v)).collect();
            format!("[{}]", parts.join(", "))
        }
        DynSolValue::Tuple(items)
            if internal == "struct DatasetRef"
                && let [DynSolValue::Address(owner), DynSolValue::FixedBytes(name, 32)] = items.as_slice() =>
        {
            format!("{}@{}", wefe_core::DatasetId::from_bytes(name.0), owner.to_checksum(None))
        }
        DynSolValue::Tuple(items) => {
            let parts: Vec<String> = items.iter().map(|v| format_typed("", "", v)).collect();
            format!("({})", parts.join(", "))
        }
        other => format!("{other:?}"),
    }
}

/// The contracts' enums, variant names in declaration order. The JSON ABI keeps
/// only `uint8` and the enum's name, so the names live here; a unit test checks
/// them against the Solidity sources.
pub const ENUMS: [(&str, &[&str]); 10] = [
    ("Consortium.MemberStatus", &["None", "Pending", "Active", "Suspended", "Removed", "Withdrawn"]),
    (
        "Consortium.ProposalKind",
        &[
            "ApproveMember",
            "SuspendMember",
            "ReinstateMember",
            "RemoveMember",
            "AddAdmin",
            "RemoveAdmin",
            "ChangeThreshold",
            "AppointCertificateAuthority",
            "DismissCertificateAuthority",
            "SetMaxApprovalBlocks",
            "SetMaxRunBlocks",
        ],
    ),
    ("Consortium.ProposalStatus", &["None", "Open", "Executed", "Cancelled"]),
    ("CertificateRegistry.CertificateStatus", &["None", "Requested", "Issued", "Revoked", "Rejected", "Withdrawn"]),
    (
        "CertificateRegistry.Validity",
        &["Valid", "Unknown", "Revoked", "IssuerDismissed", "RootReplaced", "MemberNotActive", "KeyRotated"],
    ),
    ("DataRegistry.Visibility", &["Public", "Listed", "Private"]),
    ("DataRegistry.DatasetStatus", &["None", "Active", "Retired"]),
    (
        "JobRegistry.JobStatus",
        &[
            "None",
            "Proposed",
            "Approved",
            "Running",
            "Completed",
            "Failed",
            "Rejected",
            "Cancelled",
            "Expired",
            "TimedOut",
        ],
    ),
    ("JobRegistry.ParticipantState", &["None", "Pending", "Approved", "Rejected", "Started", "Completed", "Failed"]),
    (
        "JobRegistry.FailureCategory",
        &[
            "Unspecified",
            "InvalidJob",
            "Input",
            "Peer",
            "Protocol",
            "Timeout",
            "Membership",
            "Internal",
            "Cancelled",
            "Interrupted",
        ],
    ),
];

/// The name of variant `index` of a contract enum such as `JobRegistry.JobStatus`.
pub fn enum_variant(enum_name: &str, index: u8) -> Option<String> {
    let (_, variants) = ENUMS.iter().find(|(name, _)| *name == enum_name)?;
    variants.get(usize::from(index)).map(|v| (*v).to_owned())
}

/// The index of variant `variant` (case-insensitive) of a contract enum.
pub fn enum_index(enum_name: &str, variant: &str) -> Option<u8> {
    let (_, variants) = ENUMS.iter().find(|(name, _)| *name == enum_name)?;
    variants.iter().position(|v| v.eq_ignore_ascii_case(variant)).and_then(|i| u8::try_from(i).ok())
}

/// A log of one of the four contracts, decoded by name.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct DecodedEvent {
    /// Declaring contract.
    pub contract: String,
    /// Event name, e.g. `JobApproved`.
    pub event: String,
    /// Fields in declaration order, formatted for humans.
    pub fields: Vec<(String, String)>,
}

impl DecodedEvent {
    /// The fields as a JSON object.
    pub fn fields_json(&self) -> Value {
        Value::Object(self.fields.iter().map(|(k, v)| (k.clone(), Value::String(v.clone()))).collect())
    }

    /// One field by name.
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

/// Decodes a log of one of the contracts; None for logs of other contracts.
pub fn decode_event(log: &ChainLog) -> Option<DecodedEvent> {
    let topic0 = log.topics.first()?;
    let (contract, event) = registry().events.get(topic0)?;
    let decoded = event.decode_log_parts(log.topics.iter().copied(), &log.data).ok()?;
    let mut indexed = decoded.indexed.into_iter();
    let mut body = decoded.body.into_iter();
    let fields = event
        .inputs
        .iter()
        .map(|input| {
            let value = if input.indexed { indexed.next() } else { body.next() };
            let internal = input.internal_type.as_ref().map(|t| t.to_string()).unwrap_or_default();
            let text = value.map(|v| format_typed(&input.name, &internal, &v)).unwrap_or_default();
            (input.name.clone(), text)
        })
        .collect();
    Some(DecodedEvent { contract: (*contract).to_owned(), event: event.name.clone(), fields })
}

/// The names of every event of the four contracts.
pub fn event_names() -> impl Iterator<Item = &'static str> {
    registry().events.values().map(|(_, e)| e.name.as_str())
}

/// Topic-0 hashes of every event of `contract`, for log filters.
pub fn event_topics(contract: &str) -> Vec<B256> {
    registry().events.iter().filter(|(_, (c, _))| *c == contract).map(|(topic, _)| *topic).collect()
}

#[cfg(test)]
mod tests {
    use alloy::primitives::{Address, address};
    use alloy::sol_types::SolError;

    use super::*;

    #[test]
    fn decodes_custom_error_with_enum_and_template() {
        let participant: Address = address!("00000000000000000000000000000000000000aa");
        let err = JobRegistry::AlreadyResponded {
            jobId: U256::from(7),
            participant,
            state: 2, // Approved
        };
        let decoded = decode_revert(&err.abi_encode(), Some("JobRegistry"));
        assert_eq!(decoded.error.as_deref(), Some("AlreadyResponded"));
        assert_eq!(decoded.message, format!("job 7: already approved by {}", participant.to_checksum(None)));
    }

    #[test]
    fn shared_error_prefers_called_contract() {
        let account = address!("00000000000000000000000000000000000000bb");
        let data = JobRegistry::NotProposer { jobId: U256::from(3), account }.abi_encode();
        let decoded = decode_revert(&data, Some("JobRegistry"));
        assert_eq!(decoded.contract.as_deref(), Some("JobRegistry"));
        assert_eq!(decoded.message, format!("only the proposer may cancel 3, not {}", account.to_checksum(None)));
    }

    #[test]
    fn every_contract_error_has_a_template() {
        let missing: Vec<String> = registry()
            .errors
            .values()
            .flatten()
            .filter(|(_, e)| template(&e.name).is_none())
            .map(|(c, e)| format!("{c}.{}", e.name))
            .collect();
        assert!(missing.is_empty(), "errors without a message template: {missing:?}");
    }

    #[test]
    fn enum_tables_match_the_solidity_sources() {
        for (qualified, variants) in ENUMS {
            let (contract, name) = qualified.split_once('.').unwrap();
            let path = format!("{}/../../contracts/src/{contract}.sol", env!("CARGO_MANIFEST_DIR"));
            let source = std::fs::read_to_string(&path).unwrap();
            let start = source.find(&format!("enum {name} {{")).unwrap_or_else(|| panic!("{qualified} not in {path}"));
            let body = &source[start..];
            let body = &body[body.find('{').unwrap() + 1..body.find('}').unwrap()];
            // Comments between variants are not variants.
            let body: String = body.lines().map(|l| l.split("//").next().unwrap_or("")).collect::<Vec<_>>().join("\n");
            let declared: Vec<&str> = body.split(',').map(str::trim).filter(|s| !s.is_empty()).collect();
            assert_eq!(declared, variants.to_vec(), "{qualified}");
        }
    }

    #[test]
    fn dataset_names_render_as_text() {
        let id = wefe_core::DatasetId::parse("bank-a-customers").unwrap();
        let owner = address!("00000000000000000000000000000000000000cc");
        let data = DataRegistry::UnknownDataset { owner, name: id.to_bytes().into() }.abi_encode();
        assert_eq!(
            decode_revert(&data, None).message,
            format!("{} has no dataset named bank-a-customers", owner.to_checksum(None))
        );
        let data = JobRegistry::DatasetChanged { jobId: U256::from(4), owner, name: id.to_bytes().into() }.abi_encode();
        assert!(decode_revert(&data, None).message.starts_with("job 4: dataset bank-a-customers of 0x"));
    }

    #[test]
    fn unknown_and_malformed_revert_data_are_reported_not_panicked() {
        assert!(decode_revert(&[], None).message.contains("without a reason"));
        assert!(decode_revert(&[1, 2], None).message.contains("malformed"));
        assert!(decode_revert(&[1, 2, 3, 4, 5], None).message.contains("unknown error 0x0102030405"));
        // A known selector with truncated arguments.
        let mut data = DataRegistry::UnknownDataset { owner: Address::ZERO, name: B256::ZERO }.abi_encode();
        data.truncate(10);
        assert!(decode_revert(&data, None).message.contains("malformed"));
    }

    #[test]
    fn braces_in_values_survive_rendering() {
        let id = wefe_core::DatasetId::parse("{odd}").unwrap();
        let data = DataRegistry::UnknownDataset { owner: Address::ZERO, name: id.to_bytes().into() }.abi_encode();
        assert!(decode_revert(&data, None).message.ends_with("has no dataset named {odd}"));
    }

    #[test]
    fn huge_panic_codes_do_not_panic() {
        let mut data = vec![0x4e, 0x48, 0x7b, 0x71];
        data.extend_from_slice(&[0xff; 32]);
        assert!(decode_revert(&data, None).message.contains("unknown panic code"));
    }

    #[test]
    fn decodes_require_strings_and_panics() {
        let data = alloy::sol_types::Revert::from("nope").abi_encode();
        assert_eq!(decode_revert(&data, None).message, "execution reverted: nope");
        let data = alloy::sol_types::Panic::from(0x11u64).abi_encode();
        assert!(decode_revert(&data, None).message.contains("overflow"));
    }
}
