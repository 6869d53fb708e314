//! Command-line grammar and the parsers that validate every argument before any
//! chain call is made.

use std::path::PathBuf;
use std::str::FromStr;

use alloy::primitives::{Address, B256};
use clap::{Args, Parser, Subcommand, ValueEnum};
use wefe_core::{DatasetId, DatasetRef};

#[derive(Debug, Parser)]
#[command(
    name = "wefe",
    version,
    about = "Admin wallet for a wefe consortium: members, admins, certificates, datasets and jobs on chain",
    long_about = "Admin wallet for a wefe consortium. Every command that changes the chain is a transaction \
                  signed with your own key; the contracts decide whether it is allowed. Keys come from an \
                  encrypted Ethereum JSON keystore (--keystore, password from --password-file, \
                  WEFE_KEYSTORE_PASSWORD or a prompt) or from WEFE_PRIVATE_KEY.",
    propagate_version = true
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Args)]
pub struct GlobalArgs {
    /// Chain configuration written by `wefe chain deploy`.
    #[arg(long, global = true, env = "WEFE_CHAIN_CONFIG", default_value = "chain.toml")]
    pub chain_config: PathBuf,
    /// JSON-RPC URL, overriding the configuration's `rpc_url`.
    #[arg(long, global = true, env = "WEFE_RPC_URL", visible_alias = "rpc")]
    pub rpc_url: Option<String>,
    /// Encrypted JSON keystore holding your key.
    #[arg(long, global = true, env = "WEFE_KEYSTORE")]
    pub keystore: Option<PathBuf>,
    /// File holding the keystore password (a trailing newline is ignored).
    #[arg(long, global = true, env = "WEFE_KEYSTORE_PASSWORD_FILE")]
    pub password_file: Option<PathBuf>,
    /// File holding the password of encrypted SM2 key files (else
    /// WEFE_SM2_KEY_PASSWORD, else a prompt).
    #[arg(long, global = true, env = "WEFE_SM2_KEY_PASSWORD_FILE")]
    pub key_password_file: Option<PathBuf>,
    /// Print one JSON object instead of text (for scripts).
    #[arg(long, global = true)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create or inspect signing keys.
    #[command(subcommand)]
    Key(KeyCommand),
    /// Deploy the contracts; show the chain.
    #[command(subcommand)]
    Chain(ChainCommand),
    /// Apply for membership; approve, suspend, reinstate or remove members (admins); list them.
    #[command(subcommand)]
    Member(MemberCommand),
    /// Admin proposals (M-of-N): propose, vote, cancel, list, show.
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Certificates: request (member), issue / reject / revoke (certificate authority), status.
    #[command(subcommand)]
    Cert(CertCommand),
    /// Datasets: register, update, retire, grant, revoke, list, show.
    #[command(subcommand)]
    Dataset(DatasetCommand),
    /// Jobs: propose, approve, reject, cancel, expire, list, show.
    #[command(subcommand)]
    Job(JobCommand),
    /// The history on chain: who did what, in which block and transaction (needs only an RPC URL).
    #[command(subcommand)]
    Audit(AuditCommand),
    /// The audit trail in a browser: members, jobs, datasets, proposals and their evidence, read
    /// from the chain (read-only, needs no key and no node).
    Console(ConsoleArgs),
}

#[derive(Debug, Args)]
pub struct ConsoleArgs {
    /// Address to serve on. Loopback by default: the console shows what every
    /// chain member can read, which is not for everyone on the network.
    #[arg(long, default_value = "127.0.0.1:8090")]
    pub listen: std::net::SocketAddr,
    /// Seconds between polls of the chain head.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub poll_secs: u64,
    /// Blocks read per poll while catching up with a long history (the page
    /// shows how far it got after each step).
    #[arg(long, default_value_t = 50_000, value_parser = clap::value_parser!(u64).range(1..=10_000_000))]
    pub scan_step: u64,
    /// Another `host:port` browsers may use to reach the console (e.g. behind
    /// a reverse proxy); requests for any other host are refused.
    #[arg(long)]
    pub allow_host: Vec<String>,
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// The timeline of a job: proposal, approvals, launch, reports, outcome.
    Job {
        job: u64,
        #[command(flatten)]
        format: AuditFormat,
    },
    /// Everything a member did or was named in.
    Member {
        #[arg(value_parser = parse_address)]
        member: Address,
        #[command(flatten)]
        range: BlockRange,
        #[command(flatten)]
        format: AuditFormat,
    },
    /// Contract events in a block range.
    Events {
        #[command(flatten)]
        range: BlockRange,
        /// Only events with this name (e.g. JobApproved); repeat for several.
        #[arg(long = "event")]
        events: Vec<String>,
        #[command(flatten)]
        format: AuditFormat,
    },
    /// Check a result file against the commitment a participant reported on chain. Needs the
    /// commitment key its holder keeps beside the result (`job-N.key`): without it nobody can test a
    /// guessed result against the chain.
    Verify {
        job: u64,
        /// The result artifact.
        #[arg(long)]
        artifact: PathBuf,
        /// The commitment key: the holder's key file (`job-N.key`, JSON or 64 hex digits). Default: the
        /// artifact's path with the extension replaced by `.key`.
        #[arg(long)]
        key: Option<PathBuf>,
        /// Only compare with this participant's report.
        #[arg(long, value_parser = parse_address)]
        participant: Option<Address>,
    },
    /// Check the detail of a participant's failure against the commitment it reported on chain, with the
    /// key its node keeps (job view: `failure.detail_key`).
    VerifyFailure {
        job: u64,
        /// The participant that reported the failure.
        #[arg(long, value_parser = parse_address)]
        participant: Address,
        #[command(flatten)]
        detail: DetailArgs,
        /// The commitment key: 64 hex digits.
        #[arg(long)]
        key: String,
    },
}

#[derive(Debug, Clone, Args)]
#[group(required = true, multiple = false)]
pub struct DetailArgs {
    /// The failure's detail, exactly as the participant's node keeps it (job view: `error`).
    #[arg(long)]
    pub detail: Option<String>,
    /// A file holding the detail (without a trailing newline of its own).
    #[arg(long)]
    pub detail_file: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, Args)]
pub struct BlockRange {
    /// First block (default: the deployment block).
    #[arg(long)]
    pub from_block: Option<u64>,
    /// Last block (default: the head).
    #[arg(long)]
    pub to_block: Option<u64>,
}

#[derive(Debug, Clone, Copy, Args)]
pub struct AuditFormat {
    /// Print CSV (one row per event) instead of a table.
    #[arg(long)]
    pub csv: bool,
}

#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// Generate a new key into an encrypted keystore file and print its address.
    New {
        /// Keystore file to create (never overwritten).
        #[arg(long)]
        out: PathBuf,
    },
    /// Encrypt an existing private key (read from WEFE_PRIVATE_KEY, else from a hidden prompt) into a keystore.
    Import {
        /// Keystore file to create (never overwritten).
        #[arg(long)]
        out: PathBuf,
    },
    /// Print the address of the configured key.
    Address,
    /// Generate an SM2 key (a member's gateway key, or a certificate authority's) into an encrypted PKCS#8 file; print its public key.
    Sm2New {
        /// Key file to create (never overwritten; owner-only).
        #[arg(long)]
        out: PathBuf,
    },
    /// Print the public key (x||y, the form `member apply --public-key` takes) of an SM2 key file.
    Sm2Public {
        /// SM2 key file (encrypted or not).
        #[arg(long)]
        key: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
// Parsed once per run: the deploy variant's size does not matter.
#[allow(clippy::large_enum_variant)]
pub enum ChainCommand {
    /// Deploy Consortium, CertificateRegistry, DataRegistry and JobRegistry; write the chain configuration.
    Deploy {
        /// Initial admin (repeat for each admin).
        #[arg(long = "admin", required = true, value_parser = parse_address)]
        admins: Vec<Address>,
        /// Admin approvals a proposal needs: 1 to (number of admins - 1), so that losing one admin key never
        /// locks governance.
        #[arg(long)]
        threshold: u64,
        /// Deploy with a single admin (threshold 1): for development chains only, since losing that one key
        /// loses governance for good.
        #[arg(long)]
        single_admin: bool,
        /// Expected chain id; refused if the node reports another. Default: what the node reports.
        #[arg(long, env = "WEFE_CHAIN_ID")]
        chain_id: Option<u64>,
        /// How to talk to the chain: `ethereum` (Ethereum JSON-RPC: anvil, geth, Besu, FISCO BCOS's
        /// Web3 RPC) or `fisco` (FISCO BCOS 3.x native JSON-RPC, the only way to an SM chain).
        #[arg(long, default_value = "ethereum", value_parser = ["ethereum", "fisco"])]
        backend: String,
        /// The chain's accounts and hashing: `ecdsa` (secp256k1 + Keccak-256) or `sm` (SM2 + SM3,
        /// FISCO BCOS in SM mode; needs --backend fisco, deploys the SM build of the contracts and
        /// signs with an SM2 account key).
        #[arg(long, default_value = "ecdsa", value_parser = parse_suite)]
        crypto_suite: wefe_chain::CryptoSuite,
        /// --backend fisco: the group (default group0).
        #[arg(long)]
        group: Option<String>,
        /// --backend fisco: the node to ask within the group (default: any).
        #[arg(long)]
        node: Option<String>,
        /// --backend fisco: the chain's text id (e.g. chain0); refused if the node serves another.
        /// Default: what the node reports.
        #[arg(long)]
        fisco_chain_id: Option<String>,
        /// --backend fisco over https://: the directory of the chain's SDK TLS files (ca.crt,
        /// sdk.crt, sdk.key from build_chain.sh's sdk/ folder), recorded as an absolute path.
        #[arg(long, value_name = "DIR")]
        fisco_sdk_certs: Option<std::path::PathBuf>,
        /// With --fisco-sdk-certs: the node's own TLS certificate (its conf/ssl.crt), whose
        /// SHA-256 is recorded as fisco_node_cert_sha256: only that node is then accepted, not any
        /// holder of a certificate of the chain's CA (another member's SDK certificate).
        #[arg(long, value_name = "FILE", requires = "fisco_sdk_certs")]
        fisco_node_cert: Option<std::path::PathBuf>,
        /// Most blocks one log request spans, recorded in the configuration. Default: no limit on
        /// Ethereum chains, 10 with --backend fisco (FISCO's filter_max_process_block default).
        #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
        max_log_blocks: Option<u64>,
        /// Confirmation depth recorded for nodes.
        #[arg(long, env = "WEFE_CONFIRMATIONS", default_value_t = 0)]
        confirmations: u64,
        /// How long to wait for each receipt; recorded in the configuration.
        #[arg(long, env = "WEFE_RECEIPT_TIMEOUT_SECS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..))]
        receipt_timeout_secs: u64,
        /// Where to write the chain configuration (default: --chain-config).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Overwrite an existing configuration file.
        #[arg(long)]
        force: bool,
    },
    /// Show the configured chain, contracts, admins, threshold and counts.
    Info,
}

#[derive(Debug, Subcommand)]
pub enum MemberCommand {
    /// Apply for membership with your institution's name, gateway endpoint and SM2 public key.
    Apply {
        /// Institution name (1..64 bytes).
        #[arg(long)]
        name: String,
        /// Gateway endpoint, e.g. https://gw.bank-a.example:7443 (1..256 bytes).
        #[arg(long)]
        endpoint: String,
        /// SM2 public key: 64 bytes (x||y) or 65 bytes (04||x||y) in hex.
        #[arg(long, value_parser = parse_public_key)]
        public_key: PublicKey,
    },
    /// Move your gateway to a new endpoint.
    UpdateEndpoint {
        /// The new endpoint.
        #[arg(long)]
        endpoint: String,
    },
    /// Register a new SM2 public key (you become pending until re-approved).
    RotateKey {
        /// SM2 public key, 64 or 65 bytes in hex.
        #[arg(long, value_parser = parse_public_key)]
        public_key: PublicKey,
    },
    /// Withdraw your application before it is approved (you may apply again later).
    Withdraw,
    /// Nominate an operator key for your node: once it accepts (`member accept-operator`), it may report
    /// your jobs' progress (started, completed, failed) and nothing else. The node runs with it, never
    /// with your governance key.
    SetOperator {
        /// The operator's address (a fresh account: `wefe key new --out node-operator.json`).
        #[arg(value_parser = parse_address)]
        operator: Address,
    },
    /// Run with the operator key: accept the nomination of MEMBER (the key becomes its operator).
    AcceptOperator {
        /// The member that nominated this key.
        #[arg(value_parser = parse_address)]
        member: Address,
    },
    /// Remove your operator key and any pending nomination (its reports are refused from then on).
    ClearOperator,
    /// Run with an operator key: give up its operator role.
    ResignOperator,
    /// Admins: vote to approve a pending member's current key (opens the proposal, or votes on the open one).
    Approve {
        #[arg(value_parser = parse_address)]
        member: Address,
        /// The key version you reviewed (`member show`): refused if the member registered another key since.
        #[arg(long)]
        key_version: Option<u32>,
    },
    /// Admins: vote to suspend an active member.
    Suspend {
        #[arg(value_parser = parse_address)]
        member: Address,
    },
    /// Admins: vote to reinstate a suspended member.
    Reinstate {
        #[arg(value_parser = parse_address)]
        member: Address,
    },
    /// Admins: vote to remove a member.
    Remove {
        #[arg(value_parser = parse_address)]
        member: Address,
    },
    /// List members.
    List {
        #[command(flatten)]
        page: PageArgs,
        /// Only members with this status.
        #[arg(long)]
        status: Option<MemberStatusArg>,
    },
    /// Show one member.
    Show {
        #[arg(value_parser = parse_address)]
        member: Address,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum MemberStatusArg {
    Pending,
    Active,
    Suspended,
    Removed,
    Withdrawn,
}

impl MemberStatusArg {
    /// The variant's name in `Consortium.MemberStatus`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Pending => "Pending",
            Self::Active => "Active",
            Self::Suspended => "Suspended",
            Self::Removed => "Removed",
            Self::Withdrawn => "Withdrawn",
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Open a proposal (your vote counts at once).
    Propose {
        /// What to do.
        kind: ProposalKindArg,
        /// The member, admin or certificate authority concerned (not for change-threshold and the job windows).
        #[arg(long, value_parser = parse_address)]
        target: Option<Address>,
        /// change-threshold: the new threshold. set-max-approval-blocks / set-max-run-blocks: the new cap in
        /// blocks. approve-member: the key version being approved; suspend-, reinstate-, remove-member: the
        /// membership instance (default for both: the member's current one, read from the chain).
        #[arg(long)]
        value: Option<u64>,
    },
    /// Vote for an open proposal; it executes when the threshold is reached.
    Vote { proposal: u64 },
    /// Withdraw an open proposal you made.
    Cancel { proposal: u64 },
    /// Show admins, threshold, certificate authorities and proposals.
    List {
        #[command(flatten)]
        page: PageArgs,
        /// Only open proposals.
        #[arg(long)]
        open: bool,
    },
    /// Show one proposal and who voted for it.
    Show { proposal: u64 },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ProposalKindArg {
    ApproveMember,
    SuspendMember,
    ReinstateMember,
    RemoveMember,
    AddAdmin,
    RemoveAdmin,
    ChangeThreshold,
    AppointCa,
    DismissCa,
    SetMaxApprovalBlocks,
    SetMaxRunBlocks,
}

impl ProposalKindArg {
    /// Index in `Consortium.ProposalKind`.
    pub fn index(self) -> u8 {
        self as u8
    }
}

#[derive(Debug, Subcommand)]
pub enum CertCommand {
    /// Certificate authorities: create a root key (unless --key exists) and a self-signed SM2/SM3 root certificate.
    CaInit {
        /// The authority's SM2 key file (created encrypted when missing).
        #[arg(long)]
        key: PathBuf,
        /// Root certificate file to write (PEM; never overwritten).
        #[arg(long)]
        out: PathBuf,
        /// The authority's name (the root's CN).
        #[arg(long)]
        name: String,
        /// Validity in days.
        #[arg(long, default_value_t = 3650)]
        days: u64,
    },
    /// Certificate authorities: publish the root certificate's hash and key on chain (gateways trust it from then on).
    PublishRoot {
        /// The root certificate (PEM or DER).
        #[arg(long)]
        cert: PathBuf,
    },
    /// Members: make a certificate signing request for an SM2 key.
    Csr {
        /// The member's SM2 key file (the key registered on chain).
        #[arg(long)]
        key: PathBuf,
        /// CSR file to write (PEM; never overwritten).
        #[arg(long)]
        out: PathBuf,
        /// Member name (default: the name registered on chain).
        #[arg(long)]
        name: Option<String>,
        /// Member address (default: the configured wallet's).
        #[arg(long, value_parser = parse_address)]
        address: Option<Address>,
    },
    /// Members: request a certificate for the key in a CSR.
    Request {
        /// SHA-256 / SM3 hash of the DER CSR (0x + 64 hex digits), recorded without checks.
        #[arg(long, value_parser = parse_b256, conflicts_with = "csr", required_unless_present = "csr")]
        csr_hash: Option<B256>,
        /// CSR file (from `cert csr`): checked against your membership and registered key; its SM3 hash is recorded.
        #[arg(long)]
        csr: Option<PathBuf>,
    },
    /// Certificate authorities: issue a requested certificate: from the member's CSR (--csr, --ca-key, --ca-cert, --out),
    /// or record one made elsewhere (--cert / --cert-hash with --serial).
    Issue {
        /// The request id.
        id: u64,
        /// The member's CSR: checked against the request and the chain, then signed.
        #[arg(long, conflicts_with_all = ["cert", "cert_hash"], requires_all = ["ca_key", "ca_cert", "out"])]
        csr: Option<PathBuf>,
        /// The authority's SM2 key file (with --csr).
        #[arg(long)]
        ca_key: Option<PathBuf>,
        /// The authority's root certificate (with --csr).
        #[arg(long)]
        ca_cert: Option<PathBuf>,
        /// Where to write the issued certificate (PEM; with --csr).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Hash of the DER certificate (0x + 64 hex digits).
        #[arg(long, value_parser = parse_b256, conflicts_with = "cert")]
        cert_hash: Option<B256>,
        /// Certificate file (PEM or DER, SM2/SM3): its SM3 hash is recorded, as gateways look it up; its
        /// serial and validity are used unless given.
        #[arg(long)]
        cert: Option<PathBuf>,
        /// Serial number (unique per issuer; random with --csr).
        #[arg(long)]
        serial: Option<u64>,
        /// Start of validity, Unix seconds (default: now).
        #[arg(long)]
        not_before: Option<u64>,
        /// End of validity, Unix seconds (default: not-before + --days).
        #[arg(long, conflicts_with = "days")]
        not_after: Option<u64>,
        /// Validity in days when --not-after is not given.
        #[arg(long, default_value_t = 365)]
        days: u64,
        /// Where peers can fetch the certificate.
        #[arg(long, default_value = "")]
        uri: String,
    },
    /// Members: withdraw a certificate request of yours that is still open (at most 3 may be open at once).
    Withdraw { id: u64 },
    /// Certificate authorities: decline a request.
    Reject {
        id: u64,
        #[arg(long)]
        reason: String,
    },
    /// Certificate authorities (or the holder): revoke a certificate.
    Revoke {
        id: u64,
        /// Why, in words.
        #[arg(long)]
        reason: String,
        /// RFC 5280 CRLReason code (0 unspecified, 1 keyCompromise, 3 affiliationChanged, 4 superseded, 5 cessationOfOperation).
        #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u8).range(0..=10))]
        code: u8,
    },
    /// Status of a certificate, by id or by certificate hash.
    Status {
        /// Certificate id or 0x-hash.
        certificate: String,
    },
    /// Check a certificate file as gateways do: recorded and issued on chain, signed by its appointed authority's
    /// published root, within its validity, for the member's registered key. Fails when it would be refused.
    Verify {
        /// Certificate (PEM or DER).
        #[arg(long)]
        cert: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub enum DatasetCommand {
    /// Register a dataset in your namespace (its description only: the data never leaves your node).
    Register {
        /// Dataset name: 1..32 printable ASCII bytes, or 0x + 64 hex digits; unique among your datasets.
        #[arg(value_parser = parse_dataset_id)]
        name: DatasetId,
        #[command(flatten)]
        schema: SchemaArgs,
        /// Number of rows.
        #[arg(long)]
        rows: u64,
        /// Metadata JSON (at most 4096 bytes).
        #[arg(long, default_value = "{}", value_parser = parse_json)]
        metadata: String,
        /// Who may use it in jobs.
        #[arg(long, value_enum, default_value_t = VisibilityArg::Private)]
        visibility: VisibilityArg,
    },
    /// Change the description of a dataset you own (fields not given keep their value): its version goes up
    /// and jobs proposed before can no longer be approved. --visibility alone changes only who may use it.
    Update {
        #[arg(value_parser = parse_dataset_id)]
        name: DatasetId,
        /// Schema hash (0x + 64 hex digits).
        #[arg(long, value_parser = parse_b256, conflicts_with = "schema")]
        schema_hash: Option<B256>,
        /// The CSV header, column names joined by ","; its SHA-256 is recorded.
        #[arg(long)]
        schema: Option<String>,
        #[arg(long)]
        rows: Option<u64>,
        #[arg(long, value_parser = parse_json)]
        metadata: Option<String>,
        #[arg(long, value_enum)]
        visibility: Option<VisibilityArg>,
    },
    /// Retire a dataset you own (final: the name cannot be registered again by you).
    Retire {
        #[arg(value_parser = parse_dataset_id)]
        name: DatasetId,
    },
    /// Let a member use a Listed dataset you own.
    Grant {
        #[arg(value_parser = parse_dataset_id)]
        name: DatasetId,
        #[arg(value_parser = parse_address)]
        member: Address,
    },
    /// Withdraw a member's access.
    Revoke {
        #[arg(value_parser = parse_dataset_id)]
        name: DatasetId,
        #[arg(value_parser = parse_address)]
        member: Address,
    },
    /// List datasets (without their metadata: see `dataset show`).
    List {
        #[command(flatten)]
        page: PageArgs,
        /// Only datasets of this owner.
        #[arg(long, value_parser = parse_address)]
        owner: Option<Address>,
    },
    /// Show one dataset: NAME@0xOWNER, or NAME for one of your own (or the only one by that name).
    Show {
        #[arg(value_parser = parse_dataset_selector)]
        dataset: DatasetSelector,
    },
}

#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub struct SchemaArgs {
    /// Schema hash (0x + 64 hex digits).
    #[arg(long, value_parser = parse_b256)]
    pub schema_hash: Option<B256>,
    /// The CSV header, column names joined by "," (e.g. "customer_id,segment"); its SHA-256 is
    /// recorded, which is how a node hashes the header of the file it imports.
    #[arg(long)]
    pub schema: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum VisibilityArg {
    Public,
    Listed,
    Private,
}

impl VisibilityArg {
    pub fn index(self) -> u8 {
        self as u8
    }
}

#[derive(Debug, Subcommand)]
pub enum JobCommand {
    /// Propose a joint job.
    Propose {
        /// Job kind: psi, vertical-lr or predict (kind and params are checked as the nodes check them,
        /// before anything is signed).
        #[arg(long, value_parser = parse_kind)]
        kind: String,
        /// Participant (repeat; 2..16).
        #[arg(long = "participant", required = true, value_parser = parse_address)]
        participants: Vec<Address>,
        /// Dataset the job reads (repeat): NAME@0xOWNER, or NAME when exactly one participant has a dataset
        /// by that name.
        #[arg(long = "dataset", value_parser = parse_dataset_selector)]
        datasets: Vec<DatasetSelector>,
        /// Parameters as a JSON object (each key once); `publish` lists the summary fields that go on chain.
        #[arg(long, default_value = "{}", value_parser = parse_params)]
        params: String,
        /// Approval deadline, in blocks from now (at most the consortium's maxApprovalBlocks).
        #[arg(long, default_value_t = 1000, conflicts_with = "deadline_block")]
        deadline_blocks: u64,
        /// Approval deadline as an absolute block number.
        #[arg(long)]
        deadline_block: Option<u64>,
        /// Run window: blocks the participants have, from the approval, to complete; after it anyone can
        /// close the job as timed out (1 to the consortium's maxRunBlocks).
        #[arg(long, default_value_t = 7200, value_parser = clap::value_parser!(u64).range(1..))]
        run_blocks: u64,
    },
    /// Approve a job you participate in.
    Approve { job: u64 },
    /// Reject a job you participate in.
    Reject {
        job: u64,
        #[arg(long)]
        reason: String,
    },
    /// Withdraw a job you proposed (before approval).
    Cancel { job: u64 },
    /// Mark a job whose approval deadline passed as expired.
    Expire { job: u64 },
    /// Close a job whose run deadline passed before every participant completed (anyone may).
    Timeout { job: u64 },
    /// List jobs.
    List {
        #[command(flatten)]
        page: PageArgs,
        /// Only jobs naming this participant.
        #[arg(long, value_parser = parse_address)]
        participant: Option<Address>,
    },
    /// Show one job with each participant's decision and report.
    Show { job: u64 },
    /// Follow a job until it closes on chain, then show it. With `--node`, a
    /// progress bar from that node's REST API (PSI: ids processed and ETA).
    Watch {
        job: u64,
        /// A participant node's REST API, e.g. http://127.0.0.1:8081.
        #[arg(long, value_parser = parse_node_url)]
        node: Option<String>,
        /// The file holding that node's API token (its `<data_dir>/api-token`).
        #[arg(long, env = "WEFE_NODE_TOKEN_FILE", requires = "node")]
        node_token_file: Option<std::path::PathBuf>,
        /// Seconds between polls (0.2 to 60).
        #[arg(long, default_value_t = 1.0, value_parser = parse_interval)]
        interval: f64,
    },
}

#[derive(Debug, Clone, Copy, Args)]
pub struct PageArgs {
    /// Skip this many entries.
    #[arg(long, default_value_t = 0)]
    pub offset: u64,
    /// Show at most this many entries.
    #[arg(long, default_value_t = 100)]
    pub limit: u64,
}

/// `ecdsa` or `sm`.
fn parse_suite(text: &str) -> Result<wefe_chain::CryptoSuite, String> {
    match text {
        "ecdsa" => Ok(wefe_chain::CryptoSuite::Ecdsa),
        "sm" => Ok(wefe_chain::CryptoSuite::Sm),
        other => Err(format!("'{other}' is not a crypto suite (ecdsa or sm)")),
    }
}

/// `0x` + 40 hex digits; mixed case must be a valid EIP-55 checksum.
pub fn parse_address(text: &str) -> Result<Address, String> {
    let hex_part = text
        .strip_prefix("0x")
        .ok_or_else(|| format!("'{text}' is not an address: expected 0x followed by 40 hex digits"))?;
    if hex_part.len() != 40 || !hex_part.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(format!("'{text}' is not an address: expected 0x followed by 40 hex digits"));
    }
    let mixed = hex_part.bytes().any(|b| b.is_ascii_lowercase()) && hex_part.bytes().any(|b| b.is_ascii_uppercase());
    if mixed {
        return Address::parse_checksummed(text, None)
            .map_err(|_| format!("'{text}' has a wrong EIP-55 checksum (mistyped?)"));
    }
    Address::from_str(text).map_err(|e| format!("'{text}' is not an address: {e}"))
}

/// `0x` + 64 hex digits.
pub fn parse_b256(text: &str) -> Result<B256, String> {
    let ok = text.len() == 66 && text.starts_with("0x") && text[2..].bytes().all(|b| b.is_ascii_hexdigit());
    if !ok {
        return Err(format!("'{text}' is not a 32-byte hash: expected 0x followed by 64 hex digits"));
    }
    B256::from_str(text).map_err(|e| e.to_string())
}

/// An SM2 public key as registered on chain: the 64 bytes x||y.
#[derive(Debug, Clone)]
pub struct PublicKey(pub Vec<u8>);

/// 64 bytes (x||y) or 65 bytes (04||x||y) of hex, with or without 0x.
pub fn parse_public_key(text: &str) -> Result<PublicKey, String> {
    let hex_part = text.strip_prefix("0x").unwrap_or(text);
    let bytes = alloy::hex::decode(hex_part).map_err(|_| format!("public key is not hex: '{text}'"))?;
    match bytes.len() {
        64 => Ok(PublicKey(bytes)),
        65 if bytes[0] == 0x04 => Ok(PublicKey(bytes[1..].to_vec())),
        n => Err(format!("public key must be 64 bytes (x||y) or 65 bytes starting with 04, got {n} bytes")),
    }
}

pub fn parse_dataset_id(text: &str) -> Result<DatasetId, String> {
    DatasetId::parse(text).map_err(|e| e.to_string())
}

/// A dataset on the command line: `NAME@0xOWNER`, or a bare `NAME` the
/// command resolves against the chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DatasetSelector {
    pub name: DatasetId,
    pub owner: Option<Address>,
}

pub fn parse_dataset_selector(text: &str) -> Result<DatasetSelector, String> {
    let (name, owner) = DatasetRef::split(text).map_err(|e| e.to_string())?;
    Ok(DatasetSelector { name, owner: owner.map(|o| Address::from(o.to_bytes())) })
}

/// Any JSON value; kept as given (compact) so its hash is what the user wrote.
pub fn parse_json(text: &str) -> Result<String, String> {
    serde_json::from_str::<serde_json::Value>(text)
        .map(|_| text.to_owned())
        .map_err(|e| format!("not valid JSON ({e})"))
}

/// A job kind the nodes run.
pub fn parse_kind(text: &str) -> Result<String, String> {
    wefe_core::job::JobKind::parse(text).map(|k| k.name().to_owned()).map_err(|e| e.to_string())
}

/// A job's params: a JSON object without repeated keys, kept as given.
pub fn parse_params(text: &str) -> Result<String, String> {
    wefe_chain::jobs::check_params_json(text).map(|()| text.to_owned())
}

fn parse_node_url(text: &str) -> Result<String, String> {
    let url = text.trim_end_matches('/');
    let rest = url.strip_prefix("http://").ok_or_else(|| {
        format!("node URL '{text}' must start with http:// (the node API listens on plain HTTP, behind your proxy)")
    })?;
    if rest.is_empty() || rest.contains(char::is_whitespace) || rest.contains('/') {
        return Err(format!("node URL '{text}' must be http://host:port"));
    }
    Ok(url.to_owned())
}

fn parse_interval(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(v) if (0.2..=60.0).contains(&v) => Ok(v),
        _ => Err(format!("interval '{text}' must be a number of seconds from 0.2 to 60")),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn watch_options_are_checked() {
        assert_eq!(super::parse_node_url("http://127.0.0.1:8081/").unwrap(), "http://127.0.0.1:8081");
        assert!(super::parse_node_url("https://node").unwrap_err().contains("http://"));
        assert!(super::parse_node_url("http://node/jobs").is_err());
        assert!(super::parse_interval("0.5").is_ok());
        assert!(super::parse_interval("0").is_err() && super::parse_interval("x").is_err());
    }

    use super::*;

    #[test]
    fn addresses_are_strict() {
        assert!(parse_address("0x0000000000000000000000000000000000000001").is_ok());
        assert!(parse_address("0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266").is_ok());
        assert!(parse_address("0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266").is_ok());
        // one letter's case flipped: checksum fails
        assert!(parse_address("0xF39Fd6e51aad88F6F4ce6aB8827279cffFb92266").unwrap_err().contains("checksum"));
        assert!(parse_address("f39fd6e51aad88f6f4ce6ab8827279cfffb92266").is_err());
        assert!(parse_address("0x1234").unwrap_err().contains("40 hex digits"));
        assert!(parse_address("0xzz39fd6e51aad88f6f4ce6ab8827279cfffb9226").is_err());
    }

    #[test]
    fn public_keys_accept_both_sec1_forms() {
        let xy = "11".repeat(64);
        assert_eq!(parse_public_key(&xy).unwrap().0.len(), 64);
        assert_eq!(parse_public_key(&format!("0x04{xy}")).unwrap().0.len(), 64);
        assert!(parse_public_key(&format!("05{xy}")).unwrap_err().contains("65 bytes"));
        assert!(parse_public_key("abc").is_err());
    }

    #[test]
    fn hashes_and_json() {
        assert!(parse_b256(&format!("0x{}", "ab".repeat(32))).is_ok());
        assert!(parse_b256("0xab").is_err());
        assert!(parse_json(r#"{"a":1}"#).is_ok());
        assert!(parse_json("{a:1}").unwrap_err().contains("not valid JSON"));
    }

    /// The clap enums encode the Solidity enums by position: check every
    /// variant against the contract's own declaration order.
    #[test]
    fn clap_enums_match_the_contract_enums() {
        use wefe_chain::abi::enum_index;
        let squash = |s: &str| s.replace('-', "").to_lowercase();
        for kind in ProposalKindArg::value_variants() {
            let name = kind.to_possible_value().unwrap().get_name().to_owned();
            let solidity = squash(&name).replace("ca", "certificateauthority");
            let index = enum_index("Consortium.ProposalKind", &solidity).unwrap_or_else(|| panic!("{name}"));
            assert_eq!(kind.index(), index, "{name}");
        }
        for v in VisibilityArg::value_variants() {
            let name = v.to_possible_value().unwrap().get_name().to_owned();
            assert_eq!(Some(v.index()), enum_index("DataRegistry.Visibility", &name), "{name}");
        }
        for s in MemberStatusArg::value_variants() {
            assert!(enum_index("Consortium.MemberStatus", s.name()).is_some(), "{}", s.name());
            assert_eq!(s.to_possible_value().unwrap().get_name(), s.name().to_lowercase());
        }
    }

    #[test]
    fn cli_definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
