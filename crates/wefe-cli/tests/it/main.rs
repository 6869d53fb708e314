//! The `wefe` binary against a real local chain (anvil, london hardfork), as an
//! admin or member would drive it: the full governance story, and every kind of
//! bad input refused with one line and no chain state changed.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use alloy::primitives::{Address, B256, U256};
use alloy::signers::local::PrivateKeySigner;
use alloy::sol_types::SolEvent;
use serde_json::{Value, json};
use wefe_chain::anvil::{Anvil, DEV_KEYS};
use wefe_chain::bindings::JobRegistry;
use wefe_chain::{ChainBackend, ChainConfig, EthereumBackend, Governance, LogQuery, Target};
use wefe_core::DatasetId;

const PASSWORD: &str = "correct horse battery staple";

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    fn json(&self) -> Value {
        serde_json::from_str(self.stdout.trim())
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}\nstderr: {}", self.stdout, self.stderr))
    }
}

/// A fresh chain, a scratch directory and the chain configuration in it.
struct Env {
    anvil: Anvil,
    dir: tempfile::TempDir,
}

fn address(key_index: usize) -> Address {
    DEV_KEYS[key_index].parse::<PrivateKeySigner>().unwrap().address()
}

fn addr(key_index: usize) -> String {
    address(key_index).to_checksum(None)
}

impl Env {
    fn new() -> Self {
        Self::with_anvil_args(&[])
    }

    fn with_anvil_args(args: &[&str]) -> Self {
        let anvil = Anvil::spawn_with(args).expect("anvil starts (run scripts/setup.sh first)");
        Self { anvil, dir: tempfile::tempdir().unwrap() }
    }

    fn config(&self) -> PathBuf {
        self.dir.path().join("chain.toml")
    }

    fn command(&self) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_wefe"));
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("WEFE_CHAIN_CONFIG", self.config())
            .env("WEFE_RPC_URL", self.anvil.url())
            .current_dir(self.dir.path());
        cmd
    }

    /// Runs `wefe` signing with dev key `key` (None: no key).
    fn run(&self, key: Option<usize>, args: &[&str]) -> Run {
        let mut cmd = self.command();
        if let Some(k) = key {
            cmd.env("WEFE_PRIVATE_KEY", DEV_KEYS[k]);
        }
        run(cmd.args(args))
    }

    /// Runs `wefe` and insists it succeeded.
    fn ok(&self, key: Option<usize>, args: &[&str]) -> Run {
        let r = self.run(key, args);
        assert_eq!(r.code, 0, "wefe {args:?} failed: {}{}", r.stderr, r.stdout);
        r
    }

    fn ok_json(&self, key: Option<usize>, args: &[&str]) -> Value {
        let mut all = args.to_vec();
        all.push("--json");
        self.ok(key, &all).json()
    }

    /// Deploys with admins 0, 1, 2 and threshold 2; admin 0 signs from a keystore.
    fn deploy(&self) {
        let mut import = self.command();
        import.env("WEFE_PRIVATE_KEY", DEV_KEYS[0]).env("WEFE_KEYSTORE_PASSWORD", PASSWORD);
        let r = run(import.args(["key", "import", "--out", "admin0.json"]));
        assert_eq!(r.code, 0, "{}", r.stderr);
        assert!(!r.stdout.contains(&DEV_KEYS[0][2..]), "a private key was printed");
        let out = self.keystore_run(&[
            "chain",
            "deploy",
            "--admin",
            &addr(0),
            "--admin",
            &addr(1),
            "--admin",
            &addr(2),
            "--threshold",
            "2",
        ]);
        assert_eq!(out.code, 0, "deploy failed: {}", out.stderr);
        assert!(self.config().exists());
    }

    /// Runs `wefe` as admin 0 through the encrypted keystore.
    fn keystore_run(&self, args: &[&str]) -> Run {
        let mut cmd = self.command();
        cmd.env("WEFE_KEYSTORE", self.dir.path().join("admin0.json")).env("WEFE_KEYSTORE_PASSWORD", PASSWORD);
        run(cmd.args(args))
    }

    /// Member `key` applies; admins 0 (keystore) and 1 approve.
    fn onboard(&self, key: usize, name: &str) {
        let pubkey = format!("04{}", format!("{key:02x}").repeat(64));
        self.ok(
            Some(key),
            &["member", "apply", "--name", name, "--endpoint", "http://127.0.0.1:7001", "--public-key", &pubkey],
        );
        let first = self.keystore_run(&["member", "approve", &addr(key), "--json"]);
        assert_eq!(first.code, 0, "{}", first.stderr);
        assert_eq!(first.json()["executed"], false);
        let second = self.ok_json(Some(1), &["member", "approve", &addr(key)]);
        assert_eq!(second["executed"], true);
    }

    async fn backend(&self) -> EthereumBackend {
        EthereumBackend::connect(&self.anvil.url(), Some(31337), None, Duration::from_secs(10)).await.unwrap()
    }

    async fn head(&self) -> u64 {
        self.backend().await.head_block().await.unwrap()
    }
}

fn run(cmd: &mut Command) -> Run {
    let out = cmd.output().expect("wefe runs");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// (what, signing dev key, arguments, extra environment, expected text in the error).
type BadInput<'a> = (&'a str, Option<usize>, Vec<&'a str>, Vec<(&'a str, &'a str)>, String);

fn hash(byte: u8) -> String {
    format!("0x{}", format!("{byte:02x}").repeat(32))
}

#[tokio::test(flavor = "multi_thread")]
async fn governance_story_on_anvil() {
    let env = Env::new();
    env.deploy();
    let info = env.ok_json(None, &["chain", "info"]);
    assert_eq!(info["threshold"], 2);
    assert_eq!(info["admins"].as_array().unwrap().len(), 3);

    // Two banks onboard through 2-of-3 admin votes.
    env.onboard(3, "Bank A");
    env.onboard(4, "Bank B");
    // A third institution applies but is not approved yet: filters, offsets and
    // limits count the members the filter keeps.
    let pubkey = format!("04{}", "55".repeat(64));
    env.ok(Some(5), &["member", "apply", "--name", "Insurer C", "--endpoint", "http://c", "--public-key", &pubkey]);
    let names = |args: &[&str]| -> Vec<String> {
        let mut all = vec!["member", "list"];
        all.extend_from_slice(args);
        let listed = env.ok_json(None, &all);
        listed["members"].as_array().unwrap().iter().map(|m| m["name"].as_str().unwrap().to_owned()).collect()
    };
    assert_eq!(names(&["--status", "active"]), ["Bank A", "Bank B"]);
    assert_eq!(names(&["--status", "active", "--offset", "1"]), ["Bank B"]);
    assert_eq!(names(&["--status", "pending", "--limit", "1"]), ["Insurer C"]);
    assert_eq!(names(&["--offset", "1", "--limit", "1"]), ["Bank B"]);
    assert!(names(&["--status", "suspended"]).is_empty());

    // Admin 0 (the regulator) becomes a certificate authority.
    let proposal = env.ok_json(Some(0), &["admin", "propose", "appoint-ca", "--target", &addr(0)]);
    assert_eq!(proposal["executed"], false);
    let id = proposal["proposal_id"].as_u64().unwrap().to_string();
    assert_eq!(env.ok_json(Some(2), &["admin", "vote", &id])["executed"], true);
    assert_eq!(env.ok_json(None, &["admin", "show", &id])["status"], "Executed");
    let info = env.ok_json(None, &["chain", "info"]);
    assert_eq!(info["certificate_authorities"][0], addr(0));

    // Certificate: requested by Bank A, issued by the CA, then revoked.
    let req = env.ok_json(Some(3), &["cert", "request", "--csr-hash", &hash(0xc5)]);
    let cert_id = req["certificate_id"].as_u64().unwrap().to_string();
    env.ok(
        Some(0),
        &[
            "cert",
            "issue",
            &cert_id,
            "--cert-hash",
            &hash(0xce),
            "--serial",
            "1001",
            "--uri",
            "https://ca.example/1001.pem",
        ],
    );
    let status = env.ok_json(None, &["cert", "status", &hash(0xce)]);
    assert_eq!((status["status"].as_str(), status["valid"].as_bool()), (Some("Issued"), Some(true)));
    assert_eq!(status["validity"], "valid");
    env.ok(Some(0), &["cert", "revoke", &cert_id, "--reason", "key compromise", "--code", "1"]);
    let status = env.ok_json(None, &["cert", "status", &cert_id]);
    assert_eq!((status["status"].as_str(), status["valid"].as_bool()), (Some("Revoked"), Some(false)));
    assert_eq!(status["reason"], "key compromise");

    // Datasets: Bank A's is Listed and granted to Bank B; Bank B's is public.
    env.ok(
        Some(3),
        &[
            "dataset",
            "register",
            "bank-a-customers",
            "--schema",
            "id:string",
            "--rows",
            "1000",
            "--visibility",
            "listed",
            "--metadata",
            r#"{"desc":"customer ids"}"#,
        ],
    );
    env.ok(Some(3), &["dataset", "grant", "bank-a-customers", &addr(4)]);
    env.ok(
        Some(4),
        &[
            "dataset",
            "register",
            "bank-b-customers",
            "--schema",
            "id:string",
            "--rows",
            "800",
            "--visibility",
            "public",
        ],
    );
    let shown = env.ok_json(None, &["dataset", "show", "bank-a-customers"]);
    assert_eq!((shown["owner"].as_str(), shown["visibility"].as_str()), (Some(addr(3).as_str()), Some("Listed")));
    assert_eq!(shown["metadata"]["desc"], "customer ids");

    // A PSI job: proposed by Bank A, approved by both.
    let params = r#"{"protocol":"ecdh","reveal":"both"}"#;
    let job = env.ok_json(
        Some(3),
        &[
            "job",
            "propose",
            "--kind",
            "psi",
            "--participant",
            &addr(3),
            "--participant",
            &addr(4),
            "--dataset",
            "bank-a-customers",
            "--dataset",
            "bank-b-customers",
            "--params",
            params,
            "--deadline-blocks",
            "50",
        ],
    );
    let job_id = job["job_id"].as_u64().unwrap();
    let first = env.ok_json(Some(3), &["job", "approve", &job_id.to_string()]);
    assert_eq!(first["approved"], false);
    let second = env.ok_json(Some(4), &["job", "approve", &job_id.to_string()]);
    assert_eq!(second["approved"], true);
    let shown = env.ok_json(None, &["job", "show", &job_id.to_string()]);
    assert_eq!(shown["status"], "Approved");
    assert_eq!(shown["participants"][1], addr(4));
    assert_eq!(shown["reports"][1]["state"], "Approved");

    // The launch trigger, read back from the chain's logs with typed decoding.
    let config = ChainConfig::load(&env.config()).unwrap();
    let backend = env.backend().await;
    let head = backend.head_block().await.unwrap();
    let logs = backend
        .logs(&LogQuery {
            addresses: vec![config.contracts.job_registry],
            from_block: config.contracts.deployed_block,
            to_block: head,
            event_signatures: vec![JobRegistry::JobApproved::SIGNATURE_HASH],
            ..LogQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(logs.len(), 1, "exactly one JobApproved");
    let log = &logs[0];
    let event = JobRegistry::JobApproved::decode_raw_log(log.topics.iter().copied(), &log.data).unwrap();
    assert_eq!(event.jobId, U256::from(job_id));
    assert_eq!(event.kind, "psi");
    assert_eq!(event.participants, vec![address(3), address(4)]);
    let datasets: Vec<(Address, B256)> = [("bank-a-customers", 3), ("bank-b-customers", 4)]
        .iter()
        .map(|(d, key)| (address(*key), B256::from(DatasetId::parse(d).unwrap().to_bytes())))
        .collect();
    assert_eq!(event.datasets.iter().map(|d| (d.owner, d.name)).collect::<Vec<_>>(), datasets);
    // The params are in JobProposed only; the approval carries their hash.
    assert_eq!(event.paramsHash, alloy::primitives::keccak256(params.as_bytes()));
    assert_eq!(shown["params"], serde_json::from_str::<Value>(params).unwrap());
    assert!(shown["run_deadline_block"].as_u64().unwrap() > head - 1);

    // The nodes' reports (sent here through the library, as a node will): a
    // commitment under a key both banks hold (they learned the same result).
    let artifact = env.dir.path().join("intersection.csv");
    std::fs::write(&artifact, "customer_id\nc-17\nc-42\n").unwrap();
    let key = wefe_crypto::commitment::CommitmentKey::random().unwrap();
    std::fs::write(env.dir.path().join("intersection.key"), key.to_hex()).unwrap();
    for bank in [3, 4] {
        let backend = EthereumBackend::connect(
            &env.anvil.url(),
            Some(31337),
            Some(DEV_KEYS[bank].parse().unwrap()),
            Duration::from_secs(10),
        )
        .await
        .unwrap();
        let gov = Governance::new(backend, config.contracts);
        gov.send(Target::JobRegistry, JobRegistry::reportStartedCall { jobId: U256::from(job_id) }).await.unwrap();
        let commitment = wefe_crypto::commitment::result_commitment(
            &key,
            job_id,
            address(bank).into_array(),
            &std::fs::read(&artifact).unwrap(),
        );
        let call = JobRegistry::reportCompletedCall {
            jobId: U256::from(job_id),
            resultCommitment: B256::from(commitment),
            summary: String::new(),
        };
        gov.send(Target::JobRegistry, call).await.unwrap();
    }

    // The audit timeline, straight from the chain: who did what, in order.
    let timeline = env.ok_json(None, &["audit", "job", &job_id.to_string()]);
    let steps: Vec<(String, String)> = timeline["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["event"].as_str().unwrap().to_owned(), e["actor"].as_str().unwrap().to_owned()))
        .collect();
    let (a, b) = (addr(3), addr(4));
    let expected = [
        ("JobProposed", &a),
        ("JobApprovalGiven", &a),
        ("JobApprovalGiven", &b),
        ("JobApproved", &b),
        ("JobStarted", &a),
        ("JobParticipantCompleted", &a),
        ("JobStarted", &b),
        ("JobParticipantCompleted", &b),
        ("JobCompleted", &b),
    ];
    let expected: Vec<(String, String)> = expected.iter().map(|(e, w)| (e.to_string(), w.to_string())).collect();
    assert_eq!(steps, expected);
    let blocks: Vec<u64> =
        timeline["events"].as_array().unwrap().iter().map(|e| e["block"].as_u64().unwrap()).collect();
    assert!(blocks.windows(2).all(|w| w[0] <= w[1]), "chain order: {blocks:?}");

    // Verify an artifact with its key (found beside it) against the commitments on chain.
    let verify = |args: &[&str]| {
        let mut all = vec!["audit", "verify"];
        all.extend_from_slice(args);
        env.run(None, &all)
    };
    let job_text = job_id.to_string();
    let artifact_text = artifact.to_str().unwrap();
    let ok = verify(&[&job_text, "--artifact", artifact_text, "--json"]).json();
    assert_eq!(ok["matches"].as_array().unwrap().len(), 2, "{ok}");
    assert_eq!(ok["matches"][1]["participant"], addr(4));
    // Without the key nobody can test the file (a guessed result) against the chain.
    let other_key = env.dir.path().join("other.key");
    std::fs::write(&other_key, wefe_crypto::commitment::CommitmentKey::random().unwrap().to_hex()).unwrap();
    let guess = verify(&[&job_text, "--artifact", artifact_text, "--key", other_key.to_str().unwrap()]);
    assert_ne!(guess.code, 0);
    assert!(guess.stderr.contains("matches no result commitment of job"), "{}", guess.stderr);
    let missing = verify(&[&job_text, "--artifact", artifact_text, "--key", "absent.key"]);
    assert!(missing.stderr.contains("cannot read the commitment key absent.key"), "{}", missing.stderr);
    std::fs::write(&artifact, "customer_id\nc-17\n").unwrap();
    let bad = verify(&[&job_text, "--artifact", artifact_text]);
    assert_ne!(bad.code, 0);
    assert!(bad.stderr.contains("matches no result commitment of job"), "{}", bad.stderr);

    // A member's trail and a filtered event listing, as CSV.
    let trail = env.ok_json(None, &["audit", "member", &addr(4)]);
    let names: Vec<&str> = trail["events"].as_array().unwrap().iter().map(|e| e["event"].as_str().unwrap()).collect();
    for needed in ["MemberApplied", "ProposalExecuted", "DatasetAccessGranted", "DatasetRegistered", "JobApprovalGiven"]
    {
        assert!(names.contains(&needed), "{needed} missing from {names:?}");
    }
    let csv = env.ok(None, &["audit", "events", "--event", "JobApproved", "--csv"]).stdout;
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 2, "{csv}");
    assert!(lines[0].starts_with("block,tx_hash") && lines[1].contains(",JobApproved,"), "{csv}");
    let unknown = env.run(None, &["audit", "events", "--event", "JobApprovd"]);
    assert!(unknown.stderr.contains("unknown event 'JobApprovd'"), "{}", unknown.stderr);
}

/// Each bad input: non-zero exit, one line on stderr naming the problem, no block mined.
#[tokio::test(flavor = "multi_thread")]
async fn bad_input_is_refused_in_one_line_without_changing_the_chain() {
    let env = Env::new();
    env.deploy();
    env.onboard(3, "Bank A");
    env.onboard(4, "Bank B");
    env.ok(Some(3), &["dataset", "register", "a-ids", "--schema", "id", "--rows", "5", "--visibility", "public"]);
    let job = env.ok_json(
        Some(3),
        &[
            "job",
            "propose",
            "--kind",
            "psi",
            "--participant",
            &addr(3),
            "--participant",
            &addr(4),
            "--dataset",
            "a-ids",
        ],
    );
    let job_id = job["job_id"].as_u64().unwrap().to_string();
    env.ok(Some(3), &["job", "approve", &job_id]);
    env.ok(Some(3), &["cert", "request", "--csr-hash", &hash(0x01)]);
    let cert_hash = hash(0x02);
    let stranger = "0x000000000000000000000000000000000000dEaD";
    let pubkey = "04".to_owned() + &"ab".repeat(64);

    let (a3, a4, a5) = (addr(3), addr(4), addr(5));
    let cases: Vec<BadInput> = vec![
        ("malformed address", Some(0), vec!["member", "approve", "0x1234"], vec![], "not an address".into()),
        (
            "bad checksum",
            Some(0),
            vec!["member", "approve", "0xF39Fd6e51aad88F6F4ce6aB8827279cffFb92266"],
            vec![],
            "checksum".into(),
        ),
        (
            "malformed key",
            None,
            vec!["member", "apply", "--name", "X", "--endpoint", "http://x", "--public-key", &pubkey],
            vec![("WEFE_PRIVATE_KEY", "0x1234")],
            "64 hex digits".into(),
        ),
        (
            "malformed public key",
            Some(5),
            vec!["member", "apply", "--name", "X", "--endpoint", "http://x", "--public-key", "0x04abcd"],
            vec![],
            "64 bytes".into(),
        ),
        ("malformed job id", Some(3), vec!["job", "approve", "seven"], vec![], "invalid value 'seven'".into()),
        ("malformed dataset id", Some(3), vec!["dataset", "show", "has space"], vec![], "printable ASCII".into()),
        (
            "malformed JSON",
            Some(3),
            vec!["dataset", "register", "x", "--schema", "id", "--rows", "1", "--metadata", "{bad"],
            vec![],
            "not valid JSON".into(),
        ),
        (
            "malformed params",
            Some(3),
            vec!["job", "propose", "--kind", "psi", "--participant", &a3, "--participant", &a4, "--params", "[1,"],
            vec![],
            "not valid JSON".into(),
        ),
        (
            "misspelt params key",
            Some(3),
            vec![
                "job",
                "propose",
                "--kind",
                "psi",
                "--participant",
                &a3,
                "--participant",
                &a4,
                "--params",
                r#"{"protcol":"kkrt"}"#,
            ],
            vec![],
            "psi params: unknown field `protcol`".into(),
        ),
        (
            "unknown protocol",
            Some(3),
            vec![
                "job",
                "propose",
                "--kind",
                "psi",
                "--participant",
                &a3,
                "--participant",
                &a4,
                "--params",
                r#"{"protocol":"rr22"}"#,
            ],
            vec![],
            "unknown variant `rr22`".into(),
        ),
        (
            "impossible combination",
            Some(3),
            vec![
                "job",
                "propose",
                "--kind",
                "psi",
                "--participant",
                &a3,
                "--participant",
                &a4,
                "--params",
                r#"{"protocol":"kkrt","output":"cardinality"}"#,
            ],
            vec![],
            "output 'cardinality' is not supported with protocol 'kkrt'".into(),
        ),
        (
            "unknown kind",
            Some(3),
            vec!["job", "propose", "--kind", "secure-boost", "--participant", &a3, "--participant", &a4],
            vec![],
            "unknown job kind 'secure-boost'".into(),
        ),
        (
            "publish names no summary field",
            Some(3),
            vec![
                "job",
                "propose",
                "--kind",
                "vertical-lr",
                "--participant",
                &a3,
                "--participant",
                &a4,
                "--params",
                r#"{"label":"y","publish":["auc"]}"#,
            ],
            vec![],
            "publish names 'auc'".into(),
        ),
        ("unknown member", Some(0), vec!["member", "approve", stranger], vec![], format!("unknown member: {stranger}")),
        ("unknown job", Some(3), vec!["job", "approve", "99"], vec![], "unknown job 99".into()),
        ("unknown dataset", None, vec!["dataset", "show", "nope"], vec![], "no member has a dataset named nope".into()),
        ("not an admin", Some(3), vec!["member", "suspend", &a4], vec![], format!("not an admin: {}", addr(3))),
        (
            "not a member",
            Some(6),
            vec!["job", "propose", "--kind", "psi", "--participant", &a3, "--participant", &a4],
            vec![],
            format!("not an active member: {}", addr(6)),
        ),
        (
            "already approved",
            Some(3),
            vec!["job", "approve", &job_id],
            vec![],
            format!("job {job_id}: already approved by {}", addr(3)),
        ),
        (
            "not a participant",
            Some(0),
            vec!["job", "reject", &job_id, "--reason", "no"],
            vec![],
            format!("job {job_id}: {} is not a participant", addr(0)),
        ),
        (
            "not the owner",
            Some(4),
            vec!["dataset", "retire", "a-ids"],
            vec![],
            format!("{} has no dataset named a-ids", addr(4)),
        ),
        (
            "dataset of no participant",
            Some(4),
            vec!["job", "propose", "--kind", "psi", "--participant", &a4, "--participant", &a5, "--dataset", "a-ids"],
            vec![],
            "--dataset a-ids: no participant has an active dataset by that name".into(),
        ),
        (
            "run window too long",
            Some(3),
            vec![
                "job",
                "propose",
                "--kind",
                "psi",
                "--participant",
                &a3,
                "--participant",
                &a4,
                "--run-blocks",
                "999999",
            ],
            vec![],
            "allows at most 201600 blocks".into(),
        ),
        (
            "approval window too long",
            Some(3),
            vec![
                "job",
                "propose",
                "--kind",
                "psi",
                "--participant",
                &a3,
                "--participant",
                &a4,
                "--deadline-blocks",
                "999999",
            ],
            vec![],
            "allows at most 201600".into(),
        ),
        (
            "unrecoverable threshold",
            Some(0),
            vec!["admin", "propose", "change-threshold", "--value", "3"],
            vec![],
            "would lock governance if one admin key were lost".into(),
        ),
        (
            "single admin without the flag",
            Some(0),
            vec!["chain", "deploy", "--admin", &a3, "--threshold", "1", "--out", "other.toml"],
            vec![],
            "--single-admin".into(),
        ),
        (
            "threshold equal to the admins",
            Some(0),
            vec!["chain", "deploy", "--admin", &a3, "--admin", &a4, "--threshold", "2", "--out", "other.toml"],
            vec![],
            "--threshold 2 with 2 admins".into(),
        ),
        (
            "operator is a member",
            Some(3),
            vec!["member", "set-operator", &a4],
            vec![],
            "cannot be an operator key".into(),
        ),
        (
            "withdraw another's request",
            Some(4),
            vec!["cert", "withdraw", "1"],
            vec![],
            "only the member that made request 1 may withdraw it".into(),
        ),
        (
            "malformed hash",
            Some(0),
            vec!["cert", "issue", "1", "--cert-hash", "0x12", "--serial", "1"],
            vec![],
            "not a 32-byte hash".into(),
        ),
        (
            "not a CA",
            Some(3),
            vec!["cert", "issue", "1", "--cert-hash", &cert_hash, "--serial", "1"],
            vec![],
            format!("not a certificate authority: {}", addr(3)),
        ),
        (
            "empty validity",
            Some(0),
            vec![
                "cert",
                "issue",
                "1",
                "--cert-hash",
                &cert_hash,
                "--serial",
                "1",
                "--not-before",
                "100",
                "--not-after",
                "100",
            ],
            vec![],
            "validity is empty".into(),
        ),
        (
            "threshold too high",
            Some(0),
            vec!["admin", "propose", "change-threshold", "--value", "4"],
            vec![],
            "invalid threshold 4".into(),
        ),
        (
            "wrong chain id",
            Some(0),
            vec!["member", "approve", &a5],
            vec![("WEFE_CHAIN_ID", "1")],
            "chain id mismatch: the configuration says 1, the node".into(),
        ),
        (
            "unreachable node",
            Some(0),
            vec!["member", "list"],
            vec![("WEFE_RPC_URL", "http://127.0.0.1:9")],
            "cannot reach".into(),
        ),
        ("no key", None, vec!["member", "approve", &a5], vec![], "configure a key".into()),
        (
            "wrong password",
            None,
            vec!["member", "approve", &a5],
            vec![("WEFE_KEYSTORE", "admin0.json"), ("WEFE_KEYSTORE_PASSWORD", "wrong")],
            "wrong password".into(),
        ),
        (
            "missing config",
            None,
            vec!["member", "list"],
            vec![("WEFE_CHAIN_CONFIG", "/nonexistent/chain.toml")],
            "cannot read".into(),
        ),
    ];

    let before = env.head().await;
    for (what, key, args, vars, expected) in &cases {
        let mut cmd = env.command();
        if let Some(k) = key {
            cmd.env("WEFE_PRIVATE_KEY", DEV_KEYS[*k]);
        }
        for (k, v) in vars {
            cmd.env(k, v);
        }
        let r = run(cmd.args(args));
        assert_ne!(r.code, 0, "{what}: wefe {args:?} succeeded: {}", r.stdout);
        let stderr = r.stderr.trim_end();
        assert_eq!(stderr.lines().count(), 1, "{what}: expected one line, got:\n{stderr}");
        assert!(stderr.starts_with("error: "), "{what}: {stderr}");
        assert!(stderr.contains(expected.as_str()), "{what}: expected '{expected}' in: {stderr}");
        assert!(!stderr.contains(&DEV_KEYS[0][2..]), "{what}: a private key leaked");
    }
    assert_eq!(env.head().await, before, "a refused command mined a transaction");

    // A missing argument is named, and usage errors honour --json too.
    let r = env.run(Some(0), &["chain", "deploy", "--admin", &addr(0), "--json"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.trim_end().lines().count() == 1 && r.stderr.contains("--threshold"), "{}", r.stderr);
    assert!(r.json()["error"].as_str().unwrap().contains("--threshold"));

    // --json errors are machine-readable too.
    let r = env.run(Some(3), &["job", "approve", "99", "--json"]);
    assert_eq!(r.json()["ok"], false);
    assert!(r.json()["error"].as_str().unwrap().contains("unknown job 99"));
}

/// An approval binds to the key the admins saw: a key rotated mid-approval
/// voids the open proposal, and the member is approved only for its new key.
#[tokio::test(flavor = "multi_thread")]
async fn key_rotation_voids_an_open_approval() {
    let env = Env::new();
    env.deploy();
    let key1 = format!("04{}", "11".repeat(64));
    let key2 = format!("04{}", "22".repeat(64));
    env.ok(Some(3), &["member", "apply", "--name", "Bank A", "--endpoint", "http://a", "--public-key", &key1]);
    let first = env.ok_json(Some(0), &["member", "approve", &addr(3)]);
    let stale = first["proposal_id"].as_u64().unwrap().to_string();
    env.ok(Some(3), &["member", "rotate-key", "--public-key", &key2]);

    let r = env.run(Some(1), &["admin", "vote", &stale]);
    assert_ne!(r.code, 0);
    assert!(
        r.stderr.contains("changed its key since this approval was proposed (key version 1, now 2)"),
        "{}",
        r.stderr
    );

    // `member approve` now opens a fresh proposal for key version 2 instead of executing the stale one.
    let fresh = env.ok_json(Some(1), &["member", "approve", &addr(3)]);
    assert_ne!(fresh["proposal_id"].as_u64().unwrap().to_string(), stale);
    assert_eq!(fresh["executed"], false);
    assert_eq!(env.ok_json(Some(0), &["member", "approve", &addr(3)])["executed"], true);
    let shown = env.ok_json(None, &["member", "show", &addr(3)]);
    assert_eq!((shown["status"].as_str(), shown["key_version"].as_u64()), (Some("Active"), Some(2)));
    assert_eq!(shown["public_key"], key2);
}

#[test]
fn every_verb_has_help() {
    let verbs: [(&str, &[&str]); 8] = [
        ("key", &["new", "import", "address", "sm2-new", "sm2-public"]),
        ("chain", &["deploy", "info"]),
        (
            "member",
            &[
                "apply",
                "update-endpoint",
                "rotate-key",
                "withdraw",
                "set-operator",
                "accept-operator",
                "clear-operator",
                "resign-operator",
                "approve",
                "suspend",
                "reinstate",
                "remove",
                "list",
                "show",
            ],
        ),
        ("admin", &["propose", "vote", "cancel", "list", "show"]),
        (
            "cert",
            &["ca-init", "publish-root", "csr", "request", "withdraw", "issue", "reject", "revoke", "status", "verify"],
        ),
        ("dataset", &["register", "update", "retire", "grant", "revoke", "list", "show"]),
        ("job", &["propose", "approve", "reject", "cancel", "expire", "timeout", "list", "show", "watch"]),
        ("audit", &["job", "member", "events", "verify", "verify-failure"]),
    ];
    for (group, names) in verbs {
        for verb in names.iter().copied() {
            let out = Command::new(env!("CARGO_BIN_EXE_wefe")).args([group, verb, "--help"]).output().unwrap();
            let text = String::from_utf8_lossy(&out.stdout);
            assert!(
                out.status.success() && text.contains(&format!("Usage: wefe {group} {verb}")),
                "{group} {verb}: {text}"
            );
        }
    }
}

/// The X.509 path: an authority's root on chain, a member's CSR checked against
/// its registered key, issuing, `cert verify` (the gateways' checks), OpenSSL
/// reading the result, revocation; and every refusal before anything is recorded.
#[tokio::test(flavor = "multi_thread")]
async fn x509_certificates_checked_against_the_chain() {
    let env = Env::new();
    env.deploy();
    let sm = |key: Option<usize>, args: &[&str]| -> Run {
        let mut cmd = env.command();
        cmd.env("WEFE_SM2_KEY_PASSWORD", PASSWORD);
        if let Some(k) = key {
            cmd.env("WEFE_PRIVATE_KEY", DEV_KEYS[k]);
        }
        run(cmd.args(args))
    };
    let ok = |key: Option<usize>, args: &[&str]| -> Value {
        let mut all = args.to_vec();
        all.push("--json");
        let r = sm(key, &all);
        assert_eq!(r.code, 0, "wefe {args:?} failed: {}{}", r.stderr, r.stdout);
        r.json()
    };
    let refused = |key: Option<usize>, args: &[&str], part: &str| {
        let r = sm(key, args);
        assert_ne!(r.code, 0, "wefe {args:?} should have failed: {}", r.stdout);
        assert!(r.stderr.contains(part), "wefe {args:?}: {:?} lacks {part:?}", r.stderr);
        assert_eq!(r.stderr.trim().lines().count(), 1, "not one line: {}", r.stderr);
    };

    // Bank A (dev key 3) makes an encrypted SM2 key and applies with it.
    let public = ok(None, &["key", "sm2-new", "--out", "a.key"])["public_key"].as_str().unwrap().to_owned();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(env.dir.path().join("a.key")).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    assert_eq!(ok(None, &["key", "sm2-public", "--key", "a.key"])["public_key"], public.as_str());
    env.ok(Some(3), &["member", "apply", "--name", "Bank A", "--endpoint", "http://a", "--public-key", &public]);
    assert_eq!(env.keystore_run(&["member", "approve", &addr(3)]).code, 0);
    env.ok(Some(1), &["member", "approve", &addr(3)]);
    let proposal = env.ok_json(Some(0), &["admin", "propose", "appoint-ca", "--target", &addr(0)]);
    env.ok(Some(2), &["admin", "vote", &proposal["proposal_id"].as_u64().unwrap().to_string()]);

    ok(None, &["cert", "ca-init", "--key", "ca.key", "--out", "ca.pem", "--name", "Test Root CA"]);
    refused(None, &["cert", "ca-init", "--key", "ca.key", "--out", "ca.pem", "--name", "X"], "already exists");

    // The member's CSR (name read from the chain) and its request.
    ok(Some(3), &["cert", "csr", "--key", "a.key", "--out", "a.csr"]);
    let id = ok(Some(3), &["cert", "request", "--csr", "a.csr"])["certificate_id"].as_u64().unwrap().to_string();

    // A CSR for a key that is not the registered one is refused before anything is sent.
    ok(None, &["key", "sm2-new", "--out", "b.key"]);
    ok(None, &["cert", "csr", "--key", "b.key", "--out", "b.csr", "--name", "Bank A", "--address", &addr(3)]);
    refused(Some(3), &["cert", "request", "--csr", "b.csr"], "is not the SM2 key registered on chain");
    refused(Some(4), &["cert", "request", "--csr", "a.csr"], &format!("the CSR names member {}", addr(3)));
    refused(Some(3), &["cert", "request", "--csr", "ca.pem"], "expected a \"CERTIFICATE REQUEST\"");
    let second = env.run(None, &["cert", "status", "2"]);
    assert_ne!(second.code, 0, "a refused request reached the chain: {}", second.stdout);

    let issue = |csr: &str| -> Vec<String> {
        ["cert", "issue", id.as_str(), "--csr", csr, "--ca-key", "ca.key", "--ca-cert", "ca.pem", "--out", "a.pem"]
            .map(String::from)
            .to_vec()
    };
    fn args(v: &[String]) -> Vec<&str> {
        v.iter().map(String::as_str).collect()
    }
    // The root is not on chain yet.
    refused(Some(0), &args(&issue("a.csr")), "publish-root");
    assert!(!env.dir.path().join("a.pem").exists());
    refused(Some(4), &["cert", "publish-root", "--cert", "ca.pem"], "is not a certificate authority");
    ok(Some(0), &["cert", "publish-root", "--cert", "ca.pem"]);
    // Another CSR than the request's, and a non-authority, are refused.
    refused(Some(0), &args(&issue("b.csr")), &format!("is not the CSR of request {id}"));
    refused(Some(4), &args(&issue("a.csr")), "is not a certificate authority");
    assert!(!env.dir.path().join("a.pem").exists());

    let issued = ok(Some(0), &args(&issue("a.csr")));
    assert_eq!(issued["certificate_id"].as_u64().unwrap().to_string(), id);
    let verified = ok(None, &["cert", "verify", "--cert", "a.pem"]);
    assert_eq!(verified["valid"], true);
    assert_eq!(verified["member"], addr(3));

    // OpenSSL reads and verifies it.
    let openssl = |args: &[&str]| {
        let out = Command::new("openssl").args(args).current_dir(env.dir.path()).output().expect("openssl");
        (out.status.success(), String::from_utf8_lossy(&out.stdout).into_owned())
    };
    let (parsed, text) = openssl(&["x509", "-in", "a.pem", "-noout", "-subject"]);
    assert!(parsed && text.contains("Bank A"), "{text}");
    let (verified, text) = openssl(&["verify", "-vfyopt", "distid:1234567812345678", "-CAfile", "ca.pem", "a.pem"]);
    assert!(verified, "{text}");

    // Malformed input, then revocation.
    std::fs::write(env.dir.path().join("junk.pem"), "-----BEGIN CERTIFICATE-----\n!!\n-----END CERTIFICATE-----\n")
        .unwrap();
    refused(None, &["cert", "verify", "--cert", "junk.pem"], "malformed PEM");
    env.ok(Some(0), &["cert", "revoke", &id, "--reason", "drill", "--code", "1"]);
    refused(None, &["cert", "verify", "--cert", "a.pem"], "Revoked");
}

/// The review's attacks by one member on the others, through the CLI: each is
/// refused (or made harmless) with one line saying why.
#[tokio::test(flavor = "multi_thread")]
async fn adversarial_members_are_refused() {
    let env = Env::new();
    env.deploy();
    env.onboard(3, "Bank A");
    env.onboard(4, "Bank B");
    let refused = |key: Option<usize>, args: &[&str], part: &str| {
        let r = env.run(key, args);
        assert_ne!(r.code, 0, "wefe {args:?} should have failed: {}", r.stdout);
        assert!(r.stderr.contains(part), "wefe {args:?}: {:?} lacks {part:?}", r.stderr);
        assert_eq!(r.stderr.trim().lines().count(), 1, "not one line: {}", r.stderr);
    };
    let register = |key: usize, name: &str, rows: &str| {
        env.ok(Some(key), &["dataset", "register", name, "--schema", "id", "--rows", rows, "--visibility", "public"]);
    };

    // Name squatting: Bank B registers Bank A's name first and retires it;
    // Bank A's own dataset of that name is unaffected.
    register(4, "bank-a-customers", "1");
    env.ok(Some(4), &["dataset", "retire", "bank-a-customers"]);
    register(3, "bank-a-customers", "1000");
    let a_ref = format!("bank-a-customers@{}", addr(3));
    let shown = env.ok_json(None, &["dataset", "show", &a_ref]);
    assert_eq!((shown["status"].as_str(), shown["rows"].as_u64()), (Some("Active"), Some(1000)));
    // Both have one by that name now: a bare name is ambiguous.
    register(4, "shared-name", "5");
    register(3, "shared-name", "6");
    refused(None, &["dataset", "show", "shared-name"], "2 members have a dataset named shared-name");
    let job_args = |datasets: &[&str]| -> Vec<String> {
        let mut args: Vec<String> =
            ["job", "propose", "--kind", "psi", "--participant", &addr(3), "--participant", &addr(4)]
                .map(String::from)
                .to_vec();
        for d in datasets {
            args.push("--dataset".into());
            args.push((*d).to_owned());
        }
        args
    };
    fn as_args(v: &[String]) -> Vec<&str> {
        v.iter().map(String::as_str).collect()
    }
    let ambiguous = job_args(&["shared-name"]);
    refused(Some(3), &as_args(&ambiguous), "2 participants have a dataset by that name");

    // Approvals bind the data: Bank A changes its dataset after the proposal;
    // Bank B's approval is refused before anything is signed, saying what changed.
    register(4, "bank-b-customers", "800");
    let mut args = job_args(&["bank-a-customers", "bank-b-customers"]);
    args.push("--json".into());
    let job = env.ok(Some(3), &as_args(&args)).json()["job_id"].as_u64().unwrap().to_string();
    env.ok(Some(3), &["job", "approve", &job]);
    env.ok(Some(3), &["dataset", "update", "bank-a-customers", "--rows", "1200"]);
    let before = env.head().await;
    refused(Some(4), &["job", "approve", &job], "changed since the proposal: version 1 → 2; rows 1000 → 1200");
    assert_eq!(env.head().await, before, "nothing was sent");

    // A job cannot hang: approved with two blocks to run, nobody reports; once
    // the deadline has passed anyone can close it as timed out.
    let mut args = job_args(&["bank-b-customers"]);
    args.extend(["--run-blocks", "2", "--json"].map(String::from));
    let job = env.ok(Some(4), &as_args(&args)).json()["job_id"].as_u64().unwrap().to_string();
    env.ok(Some(3), &["job", "approve", &job]);
    env.ok(Some(4), &["job", "approve", &job]);
    refused(Some(9), &["job", "timeout", &job], "the run deadline");
    for _ in 0..3 {
        env.ok(
            Some(4),
            &["dataset", "register", &format!("filler-{}", env.head().await), "--schema", "x", "--rows", "1"],
        );
    }
    env.ok(Some(9), &["job", "timeout", &job]);
    let shown = env.ok_json(None, &["job", "show", &job]);
    assert_eq!(shown["status"], "TimedOut");
    let watched = env.ok_json(None, &["job", "watch", &job]);
    assert_eq!(watched["status"], "TimedOut", "watch returns once the job is closed");

    // A key rotation cannot dodge a suspension: the vote opened before the
    // rotation still executes, and reinstatement asks for the new key's approval.
    let first = env.ok_json(Some(0), &["member", "suspend", &addr(4)]);
    assert_eq!(first["executed"], false);
    let key2 = format!("04{}", "77".repeat(64));
    env.ok(Some(4), &["member", "rotate-key", "--public-key", &key2]);
    assert_eq!(env.ok_json(Some(1), &["member", "suspend", &addr(4)])["executed"], true);
    assert_eq!(env.ok_json(None, &["member", "show", &addr(4)])["status"], "Suspended");
    env.ok(Some(0), &["member", "reinstate", &addr(4)]);
    env.ok(Some(1), &["member", "reinstate", &addr(4)]);
    assert_eq!(env.ok_json(None, &["member", "show", &addr(4)])["status"], "Pending");
    env.ok(Some(0), &["member", "approve", &addr(4)]);
    env.ok(Some(1), &["member", "approve", &addr(4)]);

    // Member proposals bind the membership they target: a suspension opened
    // against Bank B's membership cannot execute after it was removed and
    // admitted again.
    let stale = env.ok_json(Some(0), &["member", "suspend", &addr(4)])["proposal_id"].as_u64().unwrap().to_string();
    env.ok(Some(1), &["member", "remove", &addr(4)]);
    env.ok(Some(2), &["member", "remove", &addr(4)]);
    let key3 = format!("04{}", "78".repeat(64));
    env.ok(Some(4), &["member", "apply", "--name", "Bank B", "--endpoint", "http://b", "--public-key", &key3]);
    env.ok(Some(0), &["member", "approve", &addr(4)]);
    env.ok(Some(1), &["member", "approve", &addr(4)]);
    refused(Some(1), &["admin", "vote", &stale], "was removed and admitted again since this proposal was opened");
    let shown = env.ok_json(None, &["member", "show", &addr(4)]);
    assert_eq!((shown["status"].as_str(), shown["membership"].as_u64()), (Some("Active"), Some(2)));

    // An operator key reports for its member and can do nothing else. It
    // takes the role itself: a nomination alone binds nothing, so nobody can
    // squat an account (say, a future admin's) as an operator.
    env.ok(Some(4), &["member", "set-operator", &addr(9)]);
    let shown = env.ok_json(None, &["member", "show", &addr(4)]);
    assert_eq!((shown["operator"].clone(), shown["nominated_operator"].clone()), (Value::Null, json!(addr(9))));
    env.ok(Some(3), &["member", "set-operator", &addr(8)]);
    refused(Some(9), &["member", "accept-operator", &addr(3)], "was not nominated");
    env.ok(Some(8), &["member", "accept-operator", &addr(3)]);
    assert_eq!(env.ok_json(None, &["member", "show", &addr(3)])["operator"], addr(8));
    refused(Some(3), &["member", "approve", &addr(4), "--key-version", "1"], "registered key version 3");
    let propose = job_args(&[]);
    refused(Some(8), &as_args(&propose), &format!("not an active member: {}", addr(8)));
    refused(Some(8), &["dataset", "register", "x", "--schema", "x", "--rows", "1"], "not an active member");
    refused(Some(9), &["member", "set-operator", &addr(8)], "unknown member");
    env.ok(Some(3), &["member", "clear-operator"]);
    assert_eq!(env.ok_json(None, &["member", "show", &addr(3)])["operator"], Value::Null);

    // A failure's detail stays with the participant; the chain gets a category
    // and a commitment, which the detail and its key open (and nothing else does).
    let mut args = job_args(&[]);
    args.push("--json".into());
    let job = env.ok(Some(3), &as_args(&args)).json()["job_id"].as_u64().unwrap();
    env.ok(Some(3), &["job", "approve", &job.to_string()]);
    let approved = env.ok(Some(4), &["job", "approve", &job.to_string()]);
    assert!(approved.stdout.contains("on chain: nothing but commitments"), "{}", approved.stdout);
    let detail = "dataset a, line 8, column 'f12': not a number";
    let key = wefe_crypto::commitment::CommitmentKey::random().unwrap();
    let commitment = wefe_crypto::commitment::failure_commitment(&key, job, address(3).into_array(), detail);
    let backend = EthereumBackend::connect(
        &env.anvil.url(),
        Some(31337),
        Some(DEV_KEYS[3].parse().unwrap()),
        Duration::from_secs(10),
    )
    .await
    .unwrap();
    let gov = Governance::new(backend, ChainConfig::load(&env.config()).unwrap().contracts);
    let call =
        JobRegistry::reportFailedCall { jobId: U256::from(job), category: 2, detailCommitment: B256::from(commitment) };
    gov.send(Target::JobRegistry, call).await.unwrap();
    let shown = env.ok_json(None, &["job", "show", &job.to_string()]);
    assert_eq!((shown["status"].as_str(), shown["reports"][0]["failure"].as_str()), (Some("Failed"), Some("Input")));
    let key_hex = key.to_hex();
    let verify = |detail: &str| {
        env.run(
            None,
            &[
                "audit",
                "verify-failure",
                &job.to_string(),
                "--participant",
                &addr(3),
                "--detail",
                detail,
                "--key",
                &key_hex,
            ],
        )
    };
    assert_eq!(verify(detail).code, 0, "{}", verify(detail).stderr);
    let wrong = verify("dataset a, line 9, column 'f12': not a number");
    assert!(wrong.stderr.contains("is not what"), "{}", wrong.stderr);

    // Certificate requests are bounded per member, and withdrawn by their owner.
    for i in 0..3u8 {
        env.ok(Some(3), &["cert", "request", "--csr-hash", &hash(0x10 + i)]);
    }
    refused(Some(3), &["cert", "request", "--csr-hash", &hash(0x20)], "already has 3 certificate requests open");
    env.ok(Some(3), &["cert", "withdraw", "1"]);
    env.ok(Some(3), &["cert", "request", "--csr-hash", &hash(0x20)]);
}

/// "Views that fit any call": 1 000 maximal jobs (16 participants, 16
/// datasets, 16 KiB params) and 1 000 datasets with 4 KiB metadata on chain;
/// `job list` and `dataset list` still read every one of them.
#[tokio::test(flavor = "multi_thread")]
async fn lists_read_a_thousand_maximal_jobs_and_datasets() {
    use alloy::network::TransactionBuilder;
    use alloy::providers::{Provider, ProviderBuilder};
    use alloy::rpc::types::TransactionRequest;
    use alloy::sol_types::SolCall;
    use wefe_chain::bindings::{Consortium, DataRegistry};

    // A base fee of zero stays zero however full the blocks are, so transactions
    // sent ahead of their predecessors' mining never become underpriced.
    // Blocks large enough for all of them: the bulk is mined in a few blocks, not
    // one block per transaction.
    let env = Env::with_anvil_args(&["--block-base-fee-per-gas", "0", "--gas-limit", "4000000000"]);
    env.deploy();
    let config = ChainConfig::load(&env.config()).unwrap();
    let c = config.contracts;
    let url: alloy::transports::http::reqwest::Url = env.anvil.url().parse().unwrap();
    let members: Vec<PrivateKeySigner> = (0..16).map(|_| PrivateKeySigner::random()).collect();
    let plain = ProviderBuilder::new().connect_http(url.clone());
    for m in &members {
        let _: Value =
            plain.raw_request("anvil_setBalance".into(), (m.address(), "0x3635c9adc5dea00000")).await.unwrap();
    }
    // Sends a call from `signer` without waiting for its receipt; one provider
    // per sender counts its nonces locally, so calls never wait on each other.
    let providers: std::collections::HashMap<Address, _> = members
        .iter()
        .cloned()
        .chain([DEV_KEYS[0].parse().unwrap(), DEV_KEYS[1].parse().unwrap()])
        .map(|s: PrivateKeySigner| {
            let address = s.address();
            (address, ProviderBuilder::new().with_cached_nonce_management().wallet(s).connect_http(url.clone()))
        })
        .collect();
    let send = async |signer: &PrivateKeySigner, to: Address, input: Vec<u8>| {
        let tx = TransactionRequest::default()
            .with_to(to)
            .with_input(input)
            .with_gas_limit(4_500_000)
            .with_max_fee_per_gas(1_000_000_000)
            .with_max_priority_fee_per_gas(0);
        providers[&signer.address()].send_transaction(tx).await.unwrap().tx_hash().to_owned()
    };
    let admin0: PrivateKeySigner = DEV_KEYS[0].parse().unwrap();
    let admin1: PrivateKeySigner = DEV_KEYS[1].parse().unwrap();
    for (i, m) in members.iter().enumerate() {
        let apply = Consortium::applyForMembershipCall {
            name: format!("member {i:02}"),
            endpoint: "http://127.0.0.1:1".into(),
            publicKey: vec![i as u8 + 1; 64].into(),
        };
        send(m, c.consortium, apply.abi_encode()).await;
        let approve = Consortium::proposeCall { kind: 0, target: m.address(), value: U256::from(1) };
        send(&admin0, c.consortium, approve.abi_encode()).await;
        send(&admin1, c.consortium, Consortium::voteCall { proposalId: U256::from(i + 1) }.abi_encode()).await;
    }
    let _: Value = plain.raw_request("evm_setAutomine".into(), (false,)).await.unwrap();
    // 1 000 datasets with maximal metadata, the first of each member public.
    let metadata = format!("{{\"pad\":\"{}\"}}", "m".repeat(4096 - 10));
    assert_eq!(metadata.len(), 4096);
    for d in 0..1000usize {
        let owner = &members[d % 16];
        let register = DataRegistry::registerCall {
            name: B256::from(DatasetId::parse(&format!("data-{d:04}")).unwrap().to_bytes()),
            schemaHash: B256::repeat_byte(1),
            rowCount: d as u64,
            metadata: metadata.clone(),
            visibility: 0,
        };
        send(owner, c.data_registry, register.abi_encode()).await;
    }
    // 1 000 maximal jobs: every member takes part and brings one dataset.
    let participants: Vec<Address> = members.iter().map(PrivateKeySigner::address).collect();
    let _: Value = plain.raw_request("anvil_mine".into(), ("0x1",)).await.unwrap();
    let datasets: Vec<JobRegistry::DatasetRef> = (0..16usize)
        .map(|d| JobRegistry::DatasetRef {
            owner: members[d].address(),
            name: B256::from(DatasetId::parse(&format!("data-{d:04}")).unwrap().to_bytes()),
        })
        .collect();
    let params = format!("{{\"pad\":\"{}\"}}", "p".repeat(16_384 - 10));
    let deadline = env.head().await + 150_000;
    let mut last = B256::ZERO;
    for _ in 0..1000 {
        let propose = JobRegistry::proposeCall {
            kind: "k".repeat(32),
            participants: participants.clone(),
            datasets: datasets.clone(),
            params: params.clone(),
            deadlineBlock: deadline,
            runBlocks: 100,
        };
        last = send(&members[0], c.job_registry, propose.abi_encode()).await;
    }
    let _: Value = plain.raw_request("evm_setAutomine".into(), (true,)).await.unwrap();
    let mut receipt = None;
    for _ in 0..600 {
        // Whatever is still pending is mined now.
        let _: Value = plain.raw_request("anvil_mine".into(), ("0x1",)).await.unwrap();
        receipt = plain.get_transaction_receipt(last).await.unwrap();
        if receipt.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(receipt.expect("the last proposal was mined").status(), "the last proposal failed");
    let count = |target: Address, input: Vec<u8>| {
        let plain = plain.clone();
        async move {
            let tx = TransactionRequest::default().with_to(target).with_input(input);
            U256::from_be_slice(&plain.call(tx).await.unwrap())
        }
    };
    assert_eq!(count(c.data_registry, DataRegistry::datasetCountCall {}.abi_encode()).await, U256::from(1000));
    assert_eq!(count(c.job_registry, JobRegistry::jobCountCall {}.abi_encode()).await, U256::from(1000));

    let jobs = env.ok_json(None, &["job", "list", "--limit", "2000"]);
    let jobs = jobs["jobs"].as_array().unwrap();
    assert_eq!(jobs.len(), 1000);
    assert_eq!(jobs[999]["participants"].as_array().unwrap().len(), 16);
    assert_eq!(jobs[999]["datasets"].as_array().unwrap().len(), 16);
    let listed = env.ok_json(None, &["dataset", "list", "--limit", "2000"]);
    assert_eq!(listed["datasets"].as_array().unwrap().len(), 1000);
    // One of them in full, metadata included.
    let shown = env.ok_json(None, &["dataset", "show", &format!("data-0999@{}", members[999 % 16].address())]);
    assert_eq!(shown["metadata"]["pad"].as_str().unwrap().len(), 4096 - 10);
}

/// A running `wefe console`, stopped on drop.
struct ConsoleProcess {
    child: std::process::Child,
    base: String,
}

impl Drop for ConsoleProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Env {
    /// Starts `wefe console` on a free loopback port with `extra` arguments
    /// and reads its address from the first line it prints.
    fn console(&self, extra: &[&str]) -> ConsoleProcess {
        use std::io::BufRead;
        let mut cmd = self.command();
        cmd.args(["console", "--listen", "127.0.0.1:0", "--poll-secs", "1"])
            .args(extra)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped());
        let mut child = cmd.spawn().expect("wefe console starts");
        let mut line = String::new();
        std::io::BufReader::new(child.stderr.take().unwrap()).read_line(&mut line).unwrap();
        let base = line
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .unwrap_or_else(|| panic!("no address in {line:?}"))
            .trim_end_matches('/')
            .to_owned();
        ConsoleProcess { child, base }
    }
}

impl ConsoleProcess {
    async fn get(&self, path: &str) -> (u16, Value) {
        let r = reqwest::get(format!("{}{path}", self.base)).await.unwrap();
        let status = r.status().as_u16();
        let text = r.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    /// Polls `/api/status` until `ready` holds (at most 30 s).
    async fn wait_status(&self, ready: impl Fn(&Value) -> bool) -> Value {
        for _ in 0..300 {
            let (_, s) = self.get("/api/status").await;
            if ready(&s) {
                return s;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the console's status never became ready: {}", self.get("/api/status").await.1);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn console_serves_the_consortium_from_the_chain() {
    let env = Env::new();
    env.deploy();
    // A member whose name is markup and a formula: the console must carry it as text.
    let hostile = "=HYPERLINK(\"x\")<img src=x onerror=alert(1)>";
    let pubkey = format!("04{}", "05".repeat(64));
    env.ok(
        Some(5),
        &["member", "apply", "--name", hostile, "--endpoint", "http://127.0.0.1:7001", "--public-key", &pubkey],
    );
    env.onboard(3, "Bank A");
    let console = env.console(&[]);
    let head = env.head().await;
    let status = console.wait_status(|s| s["indexed_block"].as_u64() >= Some(head)).await;
    assert_eq!(status["chain_id"], 31337);
    assert!(status["problem"].is_null(), "{status}");
    assert!(status["events"].as_u64().unwrap() > 5);

    // The page and its assets come from the binary, with a strict policy.
    let page = reqwest::get(format!("{}/", console.base)).await.unwrap();
    let csp = page.headers()["content-security-policy"].to_str().unwrap().to_owned();
    assert!(csp.contains("default-src 'self'") && csp.contains("frame-ancestors 'none'"), "{csp}");
    let html = page.text().await.unwrap();
    assert!(html.contains("/app.js") && !html.contains("https://"), "no external resource");
    let (code, js) = console.get("/app.js").await;
    assert_eq!(code, 200);
    assert!(!js.as_str().unwrap().contains("innerHTML"), "chain text is only ever inserted as text");

    // Members, with statuses and roles, and the hostile name verbatim.
    let (code, members) = console.get("/api/members").await;
    assert_eq!(code, 200);
    let list = members["members"].as_array().unwrap();
    let bank = list.iter().find(|m| m["address"] == addr(3)).unwrap();
    assert_eq!(bank["name"], "Bank A");
    assert_eq!(bank["status"], "Active");
    let odd = list.iter().find(|m| m["address"] == addr(5)).unwrap();
    assert_eq!(odd["name"], hostile);
    assert_eq!(odd["status"], "Pending");
    assert!(list.iter().any(|m| m["address"] == addr(0) && m["roles"].to_string().contains("admin")));
    // Its page: every event that involves it, with block, transaction and actor.
    let (code, page) = console.get(&format!("/api/members/{}", addr(3))).await;
    assert_eq!(code, 200);
    let history = page["history"].as_array().unwrap();
    assert!(history.iter().any(|e| e["event"] == "MemberApplied" && e["actor"] == addr(3)));
    assert!(history.iter().any(|e| e["event"] == "ProposalVoted" && e["actor"] == addr(1)));
    assert!(history.iter().all(|e| e["block"].as_u64().is_some() && e["tx"].as_str().unwrap().len() == 66));
    // Each event carries its block's timestamp (anvil: the wall clock).
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    assert!(history.iter().all(|e| e["time"].as_u64().is_some_and(|t| t + 3600 > now && t <= now + 60)));
    // Governance proposals with each vote.
    let (_, proposals) = console.get("/api/proposals").await;
    let executed: Vec<&Value> =
        proposals["proposals"].as_array().unwrap().iter().filter(|p| p["status"] == "executed").collect();
    assert_eq!(executed.len(), 1);
    assert_eq!(executed[0]["votes"].as_array().unwrap().len(), 2);

    // CSV export: formula characters neutralised, quotes doubled.
    let csv = reqwest::get(format!("{}/api/members?format=csv", console.base)).await.unwrap();
    assert!(csv.headers()["content-disposition"].to_str().unwrap().contains("members.csv"));
    let csv = csv.text().await.unwrap();
    assert!(csv.starts_with("address,name,status"));
    assert!(csv.contains("\"'=HYPERLINK(\"\"x\"\")<img"), "{csv}");
    // Filters: events of one member in a block range; paging.
    let events_csv =
        reqwest::get(format!("{}/api/events?format=csv", console.base)).await.unwrap().text().await.unwrap();
    assert!(events_csv.starts_with("block,time_utc,tx,"), "{events_csv}");
    assert!(events_csv.lines().nth(1).unwrap().split(',').nth(1).unwrap().ends_with('Z'));
    let (code, events) = console.get(&format!("/api/events?member={}&contract=Consortium&limit=1", addr(3))).await;
    assert_eq!(code, 200);
    assert_eq!(events["events"].as_array().unwrap().len(), 1);
    assert!(events["total"].as_u64().unwrap() >= 3);

    // Live: a new event is indexed without restarting, and announced on /api/live.
    let mut live = reqwest::get(format!("{}/api/live", console.base)).await.unwrap();
    assert_eq!(live.headers()["content-type"], "text/event-stream");
    env.onboard(4, "Bank B");
    let head = env.head().await;
    console.wait_status(|s| s["indexed_block"].as_u64() >= Some(head)).await;
    let (_, members) = console.get("/api/members").await;
    assert!(members["members"].as_array().unwrap().iter().any(|m| m["name"] == "Bank B"));
    let chunk = tokio::time::timeout(Duration::from_secs(10), live.chunk()).await.unwrap().unwrap().unwrap();
    let text = String::from_utf8_lossy(&chunk);
    assert!(text.contains("event: status") && text.contains("indexed_block"), "{text}");

    // At most 64 live streams at once (anything on the host can open them); a closed one frees its place.
    let mut open = Vec::new();
    for _ in 0..63 {
        let stream = reqwest::get(format!("{}/api/live", console.base)).await.unwrap();
        assert_eq!(stream.status(), 200);
        open.push(stream);
    }
    let refused = reqwest::get(format!("{}/api/live", console.base)).await.unwrap();
    assert_eq!(refused.status(), 503);
    assert!(refused.text().await.unwrap().contains("64 live streams are open already"));
    drop(open);
    // The server sees a closed stream at its next write (an update, or the 15 s keep-alive).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let again = reqwest::get(format!("{}/api/live", console.base)).await.unwrap();
        if again.status() == 200 {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "closed live streams never gave their places back");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }

    // Bad deep links and filters: a JSON error that says what is wrong, never a crash.
    for (path, code, needle) in [
        ("/api/members/0x12", 400, "account address"),
        ("/api/members/0x00000000000000000000000000000000000000aa", 404, "no event on chain"),
        ("/api/jobs/abc", 400, "by its number"),
        ("/api/jobs/999", 404, "no job 999"),
        ("/api/events?member=bank", 400, "member:"),
        ("/api/events?contract=Foo", 400, "contract:"),
        ("/api/events?event=Nope", 400, "event:"),
        ("/api/events?from=9&to=3", 400, "after to block"),
        ("/api/events?format=xml", 400, "format:"),
        ("/nowhere", 404, "no such page"),
    ] {
        let (got, body) = console.get(path).await;
        assert_eq!(got, code, "{path}: {body}");
        assert!(body["error"].as_str().unwrap_or_default().contains(needle), "{path}: {body}");
    }
    let (got, _) = console.get("/api/events?colour=red").await;
    assert_eq!(got, 400, "unknown filters are refused");

    // Another host name (DNS rebinding): refused.
    let client = reqwest::Client::new();
    let r = client.get(format!("{}/api/status", console.base)).header("Host", "evil.example:80").send().await.unwrap();
    assert_eq!(r.status().as_u16(), 421);
    assert!(r.headers().get("access-control-allow-origin").is_none());
}

#[tokio::test(flavor = "multi_thread")]
async fn console_explains_chain_problems_instead_of_failing() {
    let env = Env::new();
    env.deploy();
    // Nothing listens there.
    let console = env.console(&["--rpc-url", "http://127.0.0.1:9"]);
    let s = console.wait_status(|s| !s["problem"].is_null()).await;
    assert_eq!(s["problem"]["stage"], "connect", "{s}");
    assert!(s["problem"]["hint"].as_str().unwrap().contains("rpc"));
    let page = reqwest::get(format!("{}/", console.base)).await.unwrap();
    assert_eq!(page.status().as_u16(), 200, "the page is still served");
    drop(console);

    // Addresses that hold no wefe contract on this chain.
    let text = std::fs::read_to_string(env.config()).unwrap();
    let config = ChainConfig::load(&env.config()).unwrap();
    let other =
        text.replace(&format!("{:#x}", config.contracts.job_registry), &format!("{:#x}", Address::repeat_byte(0x42)));
    assert_ne!(other, text, "the configuration names the job registry by its address");
    std::fs::write(env.dir.path().join("other.toml"), other).unwrap();
    let console = env.console(&["--chain-config", env.dir.path().join("other.toml").to_str().unwrap()]);
    let s = console.wait_status(|s| !s["problem"].is_null()).await;
    assert_eq!(s["problem"]["stage"], "contracts", "{s}");
    drop(console);

    // Another chain id than the node's.
    let other = text.replace("chain_id = 31337", "chain_id = 20200");
    assert_ne!(other, text);
    std::fs::write(env.dir.path().join("other-id.toml"), other).unwrap();
    let console = env.console(&["--chain-config", env.dir.path().join("other-id.toml").to_str().unwrap()]);
    let s = console.wait_status(|s| !s["problem"].is_null()).await;
    assert_eq!(s["problem"]["stage"], "connect", "{s}");
    assert!(s["problem"]["message"].as_str().unwrap().contains("31337"), "{s}");
    assert!(s["problem"]["hint"].as_str().unwrap().contains("chain_id"));

    drop(console);

    // A long history is read in steps (`--scan-step` blocks per poll, here 2
    // of the chain's blocks): the application at the end is reached.
    env.onboard(3, "Late Bank");
    let head = env.head().await;
    assert!(head > 6, "head {head}");
    let console = env.console(&["--scan-step", "2"]);
    let s = console.wait_status(|s| s["indexed_block"].as_u64() >= Some(head)).await;
    assert!(s["problem"].is_null(), "{s}");
    let (_, members) = console.get("/api/members").await;
    let list = members["members"].as_array().unwrap();
    assert!(list.iter().any(|m| m["name"] == "Late Bank"));
    assert!(list.iter().any(|m| m["roles"].to_string().contains("admin")), "the first step's events too");
    let (_, applied) = console.get("/api/events?event=MemberApplied").await;
    assert_eq!(applied["total"], 1, "no block read twice");
    drop(console);

    // A chain configuration that cannot be read is a one-line error at start.
    let r = env.run(None, &["console", "--chain-config", "missing.toml", "--listen", "127.0.0.1:0"]);
    assert_ne!(r.code, 0);
    assert_eq!(r.stderr.trim().lines().count(), 1, "{}", r.stderr);
}
