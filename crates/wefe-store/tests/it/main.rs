//! The store against real databases: SQLite always, PostgreSQL when
//! `WEFE_TEST_POSTGRES_URL` points at a server (each test gets its own database).

use wefe_store::{Backend, Cursor, EventRecord, ItemProgress, JobUpdate, NewJob, Store, StoreError};

/// A fresh store: a SQLite file in a temp dir, or a new PostgreSQL database.
struct Fresh {
    store: Store,
    _dir: Option<tempfile::TempDir>,
    cleanup: Option<(String, String)>,
}

async fn fresh(backend: Backend) -> Option<Fresh> {
    match backend {
        Backend::Sqlite => {
            let dir = tempfile::tempdir().unwrap();
            let url = format!("sqlite://{}/node/store.db", dir.path().display());
            Some(Fresh { store: Store::open(&url).await.unwrap(), _dir: Some(dir), cleanup: None })
        }
        Backend::Postgres => {
            let admin_url = std::env::var("WEFE_TEST_POSTGRES_URL").ok()?;
            let name = format!("wefe_test_{}_{}", std::process::id(), rand_suffix());
            admin(&admin_url, &format!("CREATE DATABASE {name}")).await;
            let (base, _) = admin_url.rsplit_once('/').expect("postgres URL with a database");
            let store = Store::open(&format!("{base}/{name}")).await.unwrap();
            Some(Fresh { store, _dir: None, cleanup: Some((admin_url, name)) })
        }
    }
}

impl Fresh {
    async fn drop_db(self) {
        self.store.close().await;
        if let Some((admin_url, name)) = self.cleanup {
            admin(&admin_url, &format!("DROP DATABASE IF EXISTS {name}")).await;
        }
    }
}

async fn admin(url: &str, sql: &str) {
    use sqlx::Connection;
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(url).await.expect("WEFE_TEST_POSTGRES_URL reachable");
    // Only the test-generated database name is formatted into this SQL.
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned())).execute(&mut conn).await.unwrap();
}

fn rand_suffix() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(std::time::SystemTime::now().elapsed().map(|d| d.as_nanos() as u64).unwrap_or(0));
    h.finish() % 1_000_000_000
}

fn event(block: u64, index: u64, name: &str, job: Option<u64>) -> EventRecord {
    EventRecord {
        block_number: block,
        log_index: index,
        block_hash: format!("0x{:064x}", block),
        tx_hash: format!("0x{:064x}", block.wrapping_mul(1000).wrapping_add(index)),
        contract: "JobRegistry".into(),
        contract_address: "0x00000000000000000000000000000000000000aa".into(),
        event: name.into(),
        actor: Some("0x00000000000000000000000000000000000000bb".into()),
        job_id: job,
        fields: r#"{"jobId":"1"}"#.into(),
    }
}

fn job(id: u64) -> NewJob {
    NewJob {
        job_id: id,
        kind: "psi".into(),
        params: r#"{"protocol":"ecdh"}"#.into(),
        participants: r#"["0x01","0x02"]"#.into(),
        datasets: r#"["bank-a@0x0000000000000000000000000000000000000001"]"#.into(),
        dataset_digests: format!(r#"["0x{}"]"#, "ab".repeat(32)),
        approved_block: 9,
        run_deadline_block: 509,
    }
}

async fn each_backend<F, Fut>(test: F)
where
    F: Fn(Store) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let Some(f) = fresh(backend).await else {
            eprintln!("skipping PostgreSQL: WEFE_TEST_POSTGRES_URL is not set");
            continue;
        };
        assert_eq!(f.store.backend(), backend);
        test(f.store.clone()).await;
        f.drop_db().await;
    }
}

#[tokio::test]
async fn cursor_and_events_commit_together_or_not_at_all() {
    each_backend(|store| async move {
        assert_eq!(store.cursor("chain").await.unwrap(), None);

        // Dropped without commit: neither the event nor the cursor exists.
        let mut tx = store.begin().await.unwrap();
        assert!(Store::insert_event(&mut tx, &event(5, 0, "JobProposed", Some(1))).await.unwrap());
        Store::set_cursor(&mut tx, "chain", &Cursor { block_number: 5, block_hash: "0x05".into() }).await.unwrap();
        drop(tx);
        assert_eq!(store.cursor("chain").await.unwrap(), None);
        assert!(store.job_events(1).await.unwrap().is_empty());

        let mut tx = store.begin().await.unwrap();
        assert!(Store::insert_event(&mut tx, &event(5, 0, "JobProposed", Some(1))).await.unwrap());
        assert!(Store::insert_event(&mut tx, &event(6, 2, "JobApproved", Some(1))).await.unwrap());
        assert!(Store::insert_event(&mut tx, &event(6, 1, "JobApprovalGiven", Some(1))).await.unwrap());
        Store::set_cursor(&mut tx, "chain", &Cursor { block_number: 6, block_hash: "0x06".into() }).await.unwrap();
        tx.commit().await.unwrap();

        // Replaying an event is a no-op, not a duplicate.
        let mut tx = store.begin().await.unwrap();
        assert!(!Store::insert_event(&mut tx, &event(6, 2, "JobApproved", Some(1))).await.unwrap());
        Store::set_cursor(&mut tx, "chain", &Cursor { block_number: 7, block_hash: "0x07".into() }).await.unwrap();
        tx.commit().await.unwrap();

        assert_eq!(store.cursor("chain").await.unwrap(), Some(Cursor { block_number: 7, block_hash: "0x07".into() }));
        let names: Vec<String> = store.job_events(1).await.unwrap().into_iter().map(|e| e.event).collect();
        assert_eq!(names, ["JobProposed", "JobApprovalGiven", "JobApproved"]);
        assert_eq!(store.events(6, 6, Some("JobApproved")).await.unwrap().len(), 1);
        assert_eq!(store.events(0, u64::MAX, None).await.unwrap().len(), 3);
        assert_eq!(store.events(0, 5, None).await.unwrap()[0], event(5, 0, "JobProposed", Some(1)));

        // A reorg below block 6 removes what came after it.
        let mut tx = store.begin().await.unwrap();
        assert_eq!(Store::delete_events_after(&mut tx, 5).await.unwrap(), 2);
        tx.commit().await.unwrap();
        assert_eq!(store.events(0, u64::MAX, None).await.unwrap().len(), 1);
    })
    .await;
}

#[tokio::test]
async fn a_job_id_is_stored_once() {
    each_backend(|store| async move {
        let mut tx = store.begin().await.unwrap();
        assert!(Store::insert_job(&mut tx, &job(7)).await.unwrap());
        tx.commit().await.unwrap();

        // A replayed approval is a no-op and the transaction stays usable
        // (PostgreSQL would abort it on a violated constraint).
        let mut tx = store.begin().await.unwrap();
        let mut other = job(7);
        other.kind = "vertical-lr".into();
        assert!(!Store::insert_job(&mut tx, &other).await.unwrap());
        Store::set_cursor(&mut tx, "chain", &Cursor { block_number: 9, block_hash: "0x09".into() }).await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!(store.cursor("chain").await.unwrap().unwrap().block_number, 9);

        // Claiming moves a job only from the status the caller expects.
        assert!(store.transition_job(7, "approved", "running").await.unwrap());
        assert!(!store.transition_job(7, "approved", "running").await.unwrap());
        assert!(!store.transition_job(8, "approved", "running").await.unwrap());

        let stored = store.job(7).await.unwrap().unwrap();
        assert_eq!((stored.job.clone(), stored.status.as_str(), stored.progress), (job(7), "running", 0.0));
        // Progress moves only while the job is in the expected status.
        assert!(store.set_progress(7, "running", 0.5).await.unwrap());
        assert!(!store.set_progress(7, "approved", 0.7).await.unwrap());
        assert!(store.set_progress(7, "running", 1.2).await.is_err());
        assert_eq!(store.job(7).await.unwrap().unwrap().progress, 0.5);
        // Item progress (PSI): counts and an ETA, refused when inconsistent.
        assert_eq!(store.job(7).await.unwrap().unwrap().items, None);
        let items = ItemProgress { done: 250, total: 1000, eta_seconds: Some(12.5) };
        assert!(store.set_item_progress(7, "running", 0.3, items).await.unwrap());
        assert!(!store.set_item_progress(7, "approved", 0.3, items).await.unwrap());
        let backwards = ItemProgress { done: 1001, total: 1000, eta_seconds: None };
        assert!(store.set_item_progress(7, "running", 0.3, backwards).await.is_err());
        let stored = store.job(7).await.unwrap().unwrap();
        assert_eq!((stored.progress, stored.items), (0.3, Some(items)));

        let update = JobUpdate {
            status: "completed",
            progress: 1.0,
            result_commitment: Some("0xabc"),
            result_path: Some("/data/results/7.csv"),
            summary: Some(r#"{"intersection":2}"#),
            ..JobUpdate::default()
        };
        store.update_job(7, &update).await.unwrap();
        let done = store.job(7).await.unwrap().unwrap();
        assert_eq!((done.status.as_str(), done.result_commitment.as_deref()), ("completed", Some("0xabc")));
        assert_eq!((done.job.run_deadline_block, done.job.dataset_digests.len()), (509, 70));
        // A failure keeps its category and the key of the detail's commitment.
        let failed = JobUpdate {
            status: "failed",
            progress: 1.0,
            error: Some("peer 0x02 stopped answering"),
            failure_category: Some("Peer"),
            failure_key: Some("00ff"),
            ..JobUpdate::default()
        };
        store.update_job(7, &failed).await.unwrap();
        let stored = store.job(7).await.unwrap().unwrap();
        assert_eq!(
            (stored.failure_category.as_deref(), stored.failure_key.as_deref(), stored.result_commitment.as_deref()),
            (Some("Peer"), Some("00ff"), Some("0xabc"))
        );
        assert!(
            store.update_job(7, &JobUpdate { status: "running", progress: 1.5, ..Default::default() }).await.is_err()
        );
        assert_eq!(store.jobs().await.unwrap().len(), 1);
        assert!(store.job(8).await.unwrap().is_none());
    })
    .await;
}

#[tokio::test]
async fn reopening_keeps_data_and_migrations_are_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/store.db", dir.path().display());
    let store = Store::open(&url).await.unwrap();
    let mut tx = store.begin().await.unwrap();
    Store::insert_job(&mut tx, &job(1)).await.unwrap();
    tx.commit().await.unwrap();
    store.close().await;
    let again = Store::open(&url).await.unwrap();
    assert_eq!(again.jobs().await.unwrap().len(), 1);
}

#[tokio::test]
async fn bad_urls_are_explained() {
    let err = Store::open("mysql://root@localhost/x").await.unwrap_err().to_string();
    assert!(err.contains("must start with sqlite:// or postgres://"), "{err}");
    let err = Store::open("postgres://wefe:hunter2@127.0.0.1:9/none").await.unwrap_err().to_string();
    assert!(err.contains("cannot open store") && !err.contains("hunter2"), "{err}");
}

#[tokio::test]
async fn numbers_beyond_the_schema_are_refused() {
    each_backend(|store| async move {
        let mut tx = store.begin().await.unwrap();
        let err = Store::insert_event(&mut tx, &event(u64::MAX, 0, "X", None)).await.unwrap_err();
        assert!(matches!(err, StoreError::Invalid { what: "block number", .. }), "{err}");
    })
    .await;
}

fn dataset(id: &str) -> wefe_store::DatasetRecord {
    wefe_store::DatasetRecord {
        dataset_id: id.into(),
        path: format!("/data/datasets/{id}.csv"),
        id_column: "id".into(),
        columns: r#"["id","age"]"#.into(),
        row_count: 3,
        schema_hash: format!("0x{}", "5c".repeat(32)),
        content_hash: format!("0x{}", "c0".repeat(32)),
        imported_at: 1_700_000_000,
    }
}

#[tokio::test]
async fn a_dataset_id_is_stored_once() {
    each_backend(|store| async move {
        assert!(store.datasets().await.unwrap().is_empty());
        assert_eq!(store.dataset("bank-a").await.unwrap(), None);

        store.insert_dataset(&dataset("bank-b")).await.unwrap();
        store.insert_dataset(&dataset("bank-a")).await.unwrap();
        let mut other = dataset("bank-a");
        other.row_count = 99;
        let err = store.insert_dataset(&other).await.unwrap_err();
        assert!(matches!(err, StoreError::Conflict(ref what) if what == "dataset bank-a"), "{err}");

        // The first record is intact, and listing is by id.
        assert_eq!(store.dataset("bank-a").await.unwrap(), Some(dataset("bank-a")));
        let ids: Vec<String> = store.datasets().await.unwrap().into_iter().map(|d| d.dataset_id).collect();
        assert_eq!(ids, ["bank-a", "bank-b"]);

        let mut huge = dataset("huge");
        huge.row_count = u64::MAX;
        assert!(matches!(store.insert_dataset(&huge).await, Err(StoreError::Invalid { what: "row count", .. })));
    })
    .await;
}

#[tokio::test]
async fn a_store_belongs_to_one_deployment() {
    each_backend(|store| async move {
        store.bind_deployment("chain 31337, JobRegistry 0x01").await.unwrap();
        store.bind_deployment("chain 31337, JobRegistry 0x01").await.unwrap();
        let err = store.bind_deployment("chain 31337, JobRegistry 0x02").await.unwrap_err();
        assert!(err.to_string().contains("belongs to another deployment (chain 31337, JobRegistry 0x01)"), "{err}");
    })
    .await;
}
