//! wefe-store: what a party node remembers — the chain cursor, the audit index
//! of contract events, the jobs it takes part in and the datasets it imported.
//!
//! One schema, numbered migrations under `migrations/` run at start-up, on
//! SQLite (`sqlite://path`, the default, file created on demand) or PostgreSQL
//! (`postgres://…`), chosen by the URL. Writes that must happen together (an
//! event's effects and the cursor that says it was applied) take a
//! [`Transaction`] from [`Store::begin`].
//!
//! This crate knows nothing of chains, networks or protocols: values arrive as
//! plain numbers and strings.

use std::str::FromStr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{Any, AnyConnection, AnyPool, Row};

/// A transaction on the store.
pub type Transaction = sqlx::Transaction<'static, Any>;

/// What can go wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The URL is not one we can open.
    #[error("cannot open store {url}: {message}")]
    Open {
        /// The URL (without password).
        url: String,
        /// Why.
        message: String,
    },
    /// A migration failed.
    #[error("cannot migrate the store: {0}")]
    Migrate(String),
    /// A unique constraint refused the write (e.g. a job id already stored).
    #[error("{0} already exists")]
    Conflict(String),
    /// A value does not fit the schema (e.g. a block number beyond 2^63).
    #[error("invalid value for {what}: {message}")]
    Invalid {
        /// Which value.
        what: &'static str,
        /// Why.
        message: String,
    },
    /// The store was made for another deployment (chain id and contracts).
    #[error(
        "this store belongs to another deployment ({stored}); the configuration names {configured}: \
         give the node a new data_dir or store_url for these contracts"
    )]
    OtherDeployment {
        /// What the store recorded.
        stored: String,
        /// What the node was started with.
        configured: String,
    },
    /// Any other database error.
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
}

/// Result with [`StoreError`].
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Which database the URL named.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// A SQLite file.
    Sqlite,
    /// A PostgreSQL server.
    Postgres,
}

/// Where a chain follower stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    /// Last block whose events are fully applied.
    pub block_number: u64,
    /// That block's hash (0x-hex), to notice reorgs.
    pub block_hash: String,
}

/// One contract event in the audit index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventRecord {
    /// Block number.
    pub block_number: u64,
    /// Position in the block.
    pub log_index: u64,
    /// Block hash (0x-hex).
    pub block_hash: String,
    /// Transaction hash (0x-hex).
    pub tx_hash: String,
    /// Contract name, e.g. `JobRegistry`.
    pub contract: String,
    /// Contract address (0x-hex).
    pub contract_address: String,
    /// Event name, e.g. `JobApproved`.
    pub event: String,
    /// Transaction sender, when known.
    pub actor: Option<String>,
    /// The job the event concerns, for JobRegistry events.
    pub job_id: Option<u64>,
    /// Decoded fields as a JSON object.
    pub fields: String,
}

/// A job this node takes part in, as first recorded from `JobApproved`.
#[derive(Debug, Clone, PartialEq)]
pub struct NewJob {
    /// On-chain job id.
    pub job_id: u64,
    /// Job kind, e.g. `psi`.
    pub kind: String,
    /// Params JSON from the chain.
    pub params: String,
    /// Participants as a JSON array of addresses.
    pub participants: String,
    /// Datasets as a JSON array of `NAME@0xOWNER` references.
    pub datasets: String,
    /// The digest of each dataset's description the proposal bound, as a JSON
    /// array in the order of `datasets`.
    pub dataset_digests: String,
    /// Block of `JobApproved`.
    pub approved_block: u64,
    /// Block after which anyone may close the job as timed out.
    pub run_deadline_block: u64,
}

/// A stored job.
#[derive(Debug, Clone, PartialEq)]
pub struct JobRecord {
    /// What was recorded at approval.
    pub job: NewJob,
    /// Node-side status: `approved`, `running`, `completed`, `failed`.
    pub status: String,
    /// 0.0 ..= 1.0.
    pub progress: f64,
    /// The commitment to the result artifact (0x-hex) reported on chain; its
    /// key is stored beside the artifact.
    pub result_commitment: Option<String>,
    /// Where the artifact is, when completed.
    pub result_path: Option<String>,
    /// The full summary JSON (only the fields the params declare public go on chain).
    pub summary: Option<String>,
    /// Why it failed (the detail: only its commitment goes on chain).
    pub error: Option<String>,
    /// The failure's category as reported on chain (`JobRegistry.FailureCategory`).
    pub failure_category: Option<String>,
    /// Hex key of the commitment to `error` reported on chain.
    pub failure_key: Option<String>,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds.
    pub updated_at: i64,
    /// Items processed while running, for kinds that count them (PSI).
    pub items: Option<ItemProgress>,
}

/// The store: a connection pool on SQLite or PostgreSQL.
#[derive(Debug, Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
}

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

// SQL stays literal (sqlx refuses dynamic strings): shared column lists are macros.
macro_rules! event_select {
    () => {
        "SELECT block_number, log_index, block_hash, tx_hash, contract, contract_address, event, actor, job_id, \
         fields FROM chain_events "
    };
}
macro_rules! job_select {
    () => {
        "SELECT job_id, kind, params, participants, datasets, dataset_digests, approved_block, run_deadline_block, \
         status, progress, result_commitment, result_path, summary, error, failure_category, failure_key, \
         created_at, updated_at, items_done, items_total, eta_seconds FROM jobs "
    };
}

/// The URL with any password replaced, for messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

impl Store {
    /// Opens (creating a SQLite file and its folder if needed) and migrates the
    /// store at `url`: `sqlite://PATH` or `postgres://USER@HOST/DB`.
    pub async fn open(url: &str) -> Result<Self> {
        sqlx::any::install_default_drivers();
        let shown = redact(url);
        let err = |message: String| StoreError::Open { url: shown.clone(), message };
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else {
            return Err(err("the URL must start with sqlite:// or postgres://".into()));
        };
        let url = match backend {
            Backend::Sqlite => Self::prepare_sqlite(url).map_err(err)?,
            Backend::Postgres => url.to_owned(),
        };
        let options = AnyConnectOptions::from_str(&url).map_err(|e| err(e.to_string()))?;
        // One direct connection first: an unreachable server or a bad password
        // fails at once with the server's own words, not after a pool timeout.
        {
            use sqlx::Connection;
            let conn = AnyConnection::connect_with(&options).await.map_err(|e| err(e.to_string()))?;
            conn.close().await.map_err(|e| err(e.to_string()))?;
        }
        let pool = AnyPoolOptions::new()
            .max_connections(if backend == Backend::Sqlite { 1 } else { 8 })
            .acquire_timeout(Duration::from_secs(10))
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        // WAL survives a crash mid-write; a busy file waits instead of failing.
                        sqlx::query("PRAGMA journal_mode = WAL").execute(&mut *conn).await?;
                        sqlx::query("PRAGMA busy_timeout = 5000").execute(&mut *conn).await?;
                        sqlx::query("PRAGMA synchronous = FULL").execute(&mut *conn).await?;
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await
            .map_err(|e| err(e.to_string()))?;
        MIGRATOR.run(&pool).await.map_err(|e| StoreError::Migrate(e.to_string()))?;
        Ok(Self { pool, backend })
    }

    /// `sqlite://path` → the same with `mode=rwc` and the folder created.
    fn prepare_sqlite(url: &str) -> std::result::Result<String, String> {
        let rest = url.trim_start_matches("sqlite://").trim_start_matches("sqlite:");
        let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
        if path.is_empty() {
            return Err("no file path after sqlite://".into());
        }
        if path != ":memory:"
            && let Some(dir) = std::path::Path::new(path).parent().filter(|d| !d.as_os_str().is_empty())
        {
            std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        }
        let query = if query.contains("mode=") { query.to_owned() } else { format!("{query}&mode=rwc") };
        Ok(format!("sqlite://{path}?{}", query.trim_start_matches('&')))
    }

    /// Which database this is.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Starts a transaction.
    pub async fn begin(&self) -> Result<Transaction> {
        Ok(self.pool.begin().await?)
    }

    /// Closes the pool (waits for connections to be returned).
    pub async fn close(&self) {
        self.pool.close().await;
    }

    // --------------------------------------------------------- deployment

    /// Ties the store to a deployment (`chain 31337, JobRegistry 0x…`, any
    /// text naming it exactly): recorded on first use; afterwards a different
    /// deployment is refused, so jobs and cursors of one set of contracts are
    /// never mixed with another's.
    pub async fn bind_deployment(&self, deployment: &str) -> Result<()> {
        let row =
            sqlx::query("SELECT value FROM node_meta WHERE name = 'deployment'").fetch_optional(&self.pool).await?;
        match row {
            Some(row) => {
                let stored: String = row.try_get("value")?;
                if stored != deployment {
                    return Err(StoreError::OtherDeployment { stored, configured: deployment.to_owned() });
                }
            }
            None => {
                sqlx::query("INSERT INTO node_meta (name, value) VALUES ('deployment', $1)")
                    .bind(deployment)
                    .execute(&self.pool)
                    .await?;
            }
        }
        Ok(())
    }

    // ------------------------------------------------------------- cursor

    /// The cursor called `name`, if one was saved.
    pub async fn cursor(&self, name: &str) -> Result<Option<Cursor>> {
        let row = sqlx::query("SELECT block_number, block_hash FROM chain_cursor WHERE name = $1")
            .bind(name)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| {
            Ok(Cursor { block_number: to_u64(r.try_get("block_number")?)?, block_hash: r.try_get("block_hash")? })
        })
        .transpose()
    }

    /// Saves the cursor `name` inside `tx`.
    pub async fn set_cursor(conn: &mut AnyConnection, name: &str, cursor: &Cursor) -> Result<()> {
        sqlx::query(
            "INSERT INTO chain_cursor (name, block_number, block_hash, updated_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (name) DO UPDATE SET block_number = excluded.block_number, \
             block_hash = excluded.block_hash, updated_at = excluded.updated_at",
        )
        .bind(name)
        .bind(to_i64("block number", cursor.block_number)?)
        .bind(&cursor.block_hash)
        .bind(now())
        .execute(conn)
        .await?;
        Ok(())
    }

    // ------------------------------------------------------------- events

    /// Indexes an event inside `tx`; false when it was already indexed.
    pub async fn insert_event(conn: &mut AnyConnection, event: &EventRecord) -> Result<bool> {
        let job_id = event.job_id.map(|j| to_i64("job id", j)).transpose()?;
        let done = sqlx::query(
            "INSERT INTO chain_events (block_number, log_index, block_hash, tx_hash, contract, contract_address, \
             event, actor, job_id, fields) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
             ON CONFLICT (block_number, log_index) DO NOTHING",
        )
        .bind(to_i64("block number", event.block_number)?)
        .bind(to_i64("log index", event.log_index)?)
        .bind(&event.block_hash)
        .bind(&event.tx_hash)
        .bind(&event.contract)
        .bind(&event.contract_address)
        .bind(&event.event)
        .bind(event.actor.as_deref())
        .bind(job_id)
        .bind(&event.fields)
        .execute(conn)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Forgets indexed events after `block` (a reorg replaced them); returns how many.
    pub async fn delete_events_after(conn: &mut AnyConnection, block: u64) -> Result<u64> {
        let done = sqlx::query("DELETE FROM chain_events WHERE block_number > $1")
            .bind(to_i64("block number", block)?)
            .execute(conn)
            .await?;
        Ok(done.rows_affected())
    }

    /// Blocks holding indexed events at or below `upto`, newest first, with the
    /// block hash seen when indexing: where to look for the point a reorg forked.
    pub async fn indexed_blocks(&self, upto: u64, limit: u32) -> Result<Vec<(u64, String)>> {
        let rows = sqlx::query(
            "SELECT DISTINCT block_number, block_hash FROM chain_events WHERE block_number <= $1 \
             ORDER BY block_number DESC LIMIT $2",
        )
        .bind(to_i64("block number", upto)?)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|r| Ok((to_u64(r.try_get("block_number")?)?, r.try_get("block_hash")?))).collect()
    }

    /// Number of indexed events.
    pub async fn event_count(&self) -> Result<u64> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM chain_events").fetch_one(&self.pool).await?;
        to_u64(row.try_get("n")?)
    }

    /// The indexed events of a job, in chain order.
    pub async fn job_events(&self, job_id: u64) -> Result<Vec<EventRecord>> {
        let rows = sqlx::query(concat!(event_select!(), "WHERE job_id = $1 ORDER BY block_number, log_index"))
            .bind(to_i64("job id", job_id)?)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(event_from_row).collect()
    }

    /// Indexed events in a block range, optionally of one name, in chain order.
    pub async fn events(&self, from: u64, to: u64, event: Option<&str>) -> Result<Vec<EventRecord>> {
        let sql = match event {
            Some(_) => concat!(
                event_select!(),
                "WHERE block_number >= $1 AND block_number <= $2 AND event = $3 ORDER BY block_number, log_index"
            ),
            None => concat!(
                event_select!(),
                "WHERE block_number >= $1 AND block_number <= $2 ORDER BY block_number, log_index"
            ),
        };
        let mut query =
            sqlx::query(sql).bind(to_i64("block number", from)?).bind(to_i64("block number", to.min(i64::MAX as u64))?);
        if let Some(name) = event {
            query = query.bind(name);
        }
        let rows = query.fetch_all(&self.pool).await?;
        rows.iter().map(event_from_row).collect()
    }

    // --------------------------------------------------------------- jobs

    /// Records a job inside `tx`; false when its id is already stored (the row
    /// is left as it is). Never aborts the transaction, so the caller can go on
    /// writing in it (PostgreSQL aborts a transaction on a violated constraint).
    pub async fn insert_job(conn: &mut AnyConnection, job: &NewJob) -> Result<bool> {
        let now = now();
        let done = sqlx::query(
            "INSERT INTO jobs (job_id, kind, params, participants, datasets, dataset_digests, approved_block, \
             run_deadline_block, status, progress, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'approved', 0, $9, $9) ON CONFLICT (job_id) DO NOTHING",
        )
        .bind(to_i64("job id", job.job_id)?)
        .bind(&job.kind)
        .bind(&job.params)
        .bind(&job.participants)
        .bind(&job.datasets)
        .bind(&job.dataset_digests)
        .bind(to_i64("block number", job.approved_block)?)
        .bind(to_i64("block number", job.run_deadline_block)?)
        .bind(now)
        .execute(conn)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Moves a job from status `from` to `to` only if it is still in `from`
    /// (a runner claiming an approved job races a reorg that may forget it).
    /// False when the job is not (or no longer) in `from`.
    pub async fn transition_job(&self, job_id: u64, from: &str, to: &str) -> Result<bool> {
        let done = sqlx::query("UPDATE jobs SET status = $1, updated_at = $2 WHERE job_id = $3 AND status = $4")
            .bind(to)
            .bind(now())
            .bind(to_i64("job id", job_id)?)
            .bind(from)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Forgets jobs approved after `block` that have not started (a reorg
    /// removed their approval; the new chain may approve them again). Returns
    /// their ids. Jobs already running are kept: they cannot be undone here.
    pub async fn delete_unstarted_jobs_after(conn: &mut AnyConnection, block: u64) -> Result<Vec<u64>> {
        let rows = sqlx::query("DELETE FROM jobs WHERE approved_block > $1 AND status = 'approved' RETURNING job_id")
            .bind(to_i64("block number", block)?)
            .fetch_all(conn)
            .await?;
        rows.iter().map(|r| to_u64(r.try_get("job_id")?)).collect()
    }

    /// One job.
    pub async fn job(&self, job_id: u64) -> Result<Option<JobRecord>> {
        let row = sqlx::query(concat!(job_select!(), "WHERE job_id = $1"))
            .bind(to_i64("job id", job_id)?)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(job_from_row).transpose()
    }

    /// All jobs, newest first.
    pub async fn jobs(&self) -> Result<Vec<JobRecord>> {
        let rows = sqlx::query(concat!(job_select!(), "ORDER BY job_id DESC")).fetch_all(&self.pool).await?;
        rows.iter().map(job_from_row).collect()
    }

    /// The jobs in `status`, oldest first (an indexed lookup: the scheduler
    /// calls it every round, whatever the length of the history).
    pub async fn jobs_with_status(&self, status: &str) -> Result<Vec<JobRecord>> {
        let rows = sqlx::query(concat!(job_select!(), "WHERE status = $1 ORDER BY job_id"))
            .bind(status)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(job_from_row).collect()
    }

    /// The jobs whose run deadline block lies in `(after, upto]`, oldest first.
    pub async fn jobs_with_run_deadline(&self, after: u64, upto: u64) -> Result<Vec<JobRecord>> {
        let rows = sqlx::query(concat!(
            job_select!(),
            "WHERE run_deadline_block > $1 AND run_deadline_block <= $2 ORDER BY job_id"
        ))
        .bind(to_i64("block", after)?)
        .bind(to_i64("block", upto)?)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(job_from_row).collect()
    }

    /// At most `limit` jobs, newest first, after skipping the `offset` newest.
    pub async fn jobs_page(&self, limit: u32, offset: u64) -> Result<Vec<JobRecord>> {
        let rows = sqlx::query(concat!(job_select!(), "ORDER BY job_id DESC LIMIT $1 OFFSET $2"))
            .bind(i64::from(limit))
            .bind(to_i64("offset", offset)?)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(job_from_row).collect()
    }

    /// How many jobs are recorded.
    pub async fn job_count(&self) -> Result<u64> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM jobs").fetch_one(&self.pool).await?;
        to_u64(row.try_get("n")?)
    }

    /// Moves a job to `status` with `progress`; optional outcome fields are set when given.
    pub async fn update_job(&self, job_id: u64, update: &JobUpdate<'_>) -> Result<()> {
        if !(0.0..=1.0).contains(&update.progress) {
            return Err(StoreError::Invalid { what: "progress", message: format!("{} not in 0..=1", update.progress) });
        }
        sqlx::query(
            "UPDATE jobs SET status = $1, progress = $2, result_commitment = COALESCE($3, result_commitment), \
             result_path = COALESCE($4, result_path), summary = COALESCE($5, summary), \
             error = COALESCE($6, error), failure_category = COALESCE($7, failure_category), \
             failure_key = COALESCE($8, failure_key), updated_at = $9 WHERE job_id = $10",
        )
        .bind(update.status)
        .bind(update.progress)
        .bind(update.result_commitment)
        .bind(update.result_path)
        .bind(update.summary)
        .bind(update.error)
        .bind(update.failure_category)
        .bind(update.failure_key)
        .bind(now())
        .bind(to_i64("job id", job_id)?)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}

impl Store {
    /// Sets a job's progress only while it is in `status` (a late progress
    /// write never reopens a job that has moved on); true when it was.
    pub async fn set_progress(&self, job_id: u64, status: &str, progress: f64) -> Result<bool> {
        if !(0.0..=1.0).contains(&progress) {
            return Err(StoreError::Invalid { what: "progress", message: format!("{progress} not in 0..=1") });
        }
        let done = sqlx::query("UPDATE jobs SET progress = $1, updated_at = $2 WHERE job_id = $3 AND status = $4")
            .bind(progress)
            .bind(now())
            .bind(to_i64("job id", job_id)?)
            .bind(status)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Like [`set_progress`](Self::set_progress), with items processed,
    /// items in all and the estimated seconds left.
    pub async fn set_item_progress(
        &self,
        job_id: u64,
        status: &str,
        progress: f64,
        items: ItemProgress,
    ) -> Result<bool> {
        if !(0.0..=1.0).contains(&progress) {
            return Err(StoreError::Invalid { what: "progress", message: format!("{progress} not in 0..=1") });
        }
        if items.done > items.total || items.eta_seconds.is_some_and(|e| !e.is_finite() || e < 0.0) {
            return Err(StoreError::Invalid { what: "item progress", message: format!("{items:?}") });
        }
        let done = sqlx::query(
            "UPDATE jobs SET progress = $1, items_done = $2, items_total = $3, eta_seconds = $4, updated_at = $5 \
             WHERE job_id = $6 AND status = $7",
        )
        .bind(progress)
        .bind(to_i64("items done", items.done)?)
        .bind(to_i64("items total", items.total)?)
        .bind(items.eta_seconds)
        .bind(now())
        .bind(to_i64("job id", job_id)?)
        .bind(status)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }
}

/// Item-level progress of a running job.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ItemProgress {
    /// Items processed.
    pub done: u64,
    /// Items to process (may grow while the job learns its peers' sizes).
    pub total: u64,
    /// Estimated seconds left, once there is a rate to estimate from.
    pub eta_seconds: Option<f64>,
}

/// A change of a job's node-side state.
#[derive(Debug, Clone, Default)]
pub struct JobUpdate<'a> {
    /// New status.
    pub status: &'a str,
    /// 0.0 ..= 1.0.
    pub progress: f64,
    /// The commitment to the result artifact.
    pub result_commitment: Option<&'a str>,
    /// Where the artifact is.
    pub result_path: Option<&'a str>,
    /// Summary JSON.
    pub summary: Option<&'a str>,
    /// Failure detail.
    pub error: Option<&'a str>,
    /// Failure category.
    pub failure_category: Option<&'a str>,
    /// Key of the commitment to the failure detail.
    pub failure_key: Option<&'a str>,
}

fn event_from_row(r: &sqlx::any::AnyRow) -> Result<EventRecord> {
    Ok(EventRecord {
        block_number: to_u64(r.try_get("block_number")?)?,
        log_index: to_u64(r.try_get("log_index")?)?,
        block_hash: r.try_get("block_hash")?,
        tx_hash: r.try_get("tx_hash")?,
        contract: r.try_get("contract")?,
        contract_address: r.try_get("contract_address")?,
        event: r.try_get("event")?,
        actor: r.try_get("actor")?,
        job_id: r.try_get::<Option<i64>, _>("job_id")?.map(to_u64).transpose()?,
        fields: r.try_get("fields")?,
    })
}

fn job_from_row(r: &sqlx::any::AnyRow) -> Result<JobRecord> {
    Ok(JobRecord {
        job: NewJob {
            job_id: to_u64(r.try_get("job_id")?)?,
            kind: r.try_get("kind")?,
            params: r.try_get("params")?,
            participants: r.try_get("participants")?,
            datasets: r.try_get("datasets")?,
            dataset_digests: r.try_get("dataset_digests")?,
            approved_block: to_u64(r.try_get("approved_block")?)?,
            run_deadline_block: to_u64(r.try_get("run_deadline_block")?)?,
        },
        status: r.try_get("status")?,
        progress: r.try_get("progress")?,
        result_commitment: r.try_get("result_commitment")?,
        result_path: r.try_get("result_path")?,
        summary: r.try_get("summary")?,
        error: r.try_get("error")?,
        failure_category: r.try_get("failure_category")?,
        failure_key: r.try_get("failure_key")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
        items: match (r.try_get::<Option<i64>, _>("items_done")?, r.try_get::<Option<i64>, _>("items_total")?) {
            (Some(done), Some(total)) => Some(ItemProgress {
                done: to_u64(done)?,
                total: to_u64(total)?,
                eta_seconds: r.try_get("eta_seconds")?,
            }),
            _ => None,
        },
    })
}

fn to_i64(what: &'static str, value: u64) -> Result<i64> {
    i64::try_from(value).map_err(|_| StoreError::Invalid { what, message: format!("{value} exceeds 2^63-1") })
}

fn to_u64(value: i64) -> Result<u64> {
    u64::try_from(value)
        .map_err(|_| StoreError::Invalid { what: "stored number", message: format!("{value} is negative") })
}

fn now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

// ----------------------------------------------------------- datasets

/// A dataset imported into this node: where its file is and what it holds.
/// The data itself stays in the node's data dir; only hashes go on chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatasetRecord {
    /// The dataset id in its canonical text form (a `wefe_core::DatasetId`).
    pub dataset_id: String,
    /// Where the stored CSV file is.
    pub path: String,
    /// The column holding the row ids.
    pub id_column: String,
    /// Column names as a JSON array, in file order.
    pub columns: String,
    /// Data rows (without the header).
    pub row_count: u64,
    /// SHA-256 of the canonical header (0x-hex).
    pub schema_hash: String,
    /// SHA-256 of the stored file (0x-hex).
    pub content_hash: String,
    /// Unix seconds.
    pub imported_at: i64,
}

macro_rules! dataset_select {
    () => {
        "SELECT dataset_id, path, id_column, columns, row_count, schema_hash, content_hash, imported_at FROM datasets "
    };
}

impl Store {
    /// Records an imported dataset; [`StoreError::Conflict`] when its id is already stored.
    pub async fn insert_dataset(&self, d: &DatasetRecord) -> Result<()> {
        let result = sqlx::query(
            "INSERT INTO datasets (dataset_id, path, id_column, columns, row_count, schema_hash, content_hash, \
             imported_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&d.dataset_id)
        .bind(&d.path)
        .bind(&d.id_column)
        .bind(&d.columns)
        .bind(to_i64("row count", d.row_count)?)
        .bind(&d.schema_hash)
        .bind(&d.content_hash)
        .bind(d.imported_at)
        .execute(&self.pool)
        .await;
        match result {
            Ok(_) => Ok(()),
            Err(sqlx::Error::Database(db)) if db.is_unique_violation() => {
                Err(StoreError::Conflict(format!("dataset {}", d.dataset_id)))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// One dataset.
    pub async fn dataset(&self, id: &str) -> Result<Option<DatasetRecord>> {
        let row = sqlx::query(concat!(dataset_select!(), "WHERE dataset_id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(dataset_from_row).transpose()
    }

    /// All datasets, by id.
    pub async fn datasets(&self) -> Result<Vec<DatasetRecord>> {
        let rows = sqlx::query(concat!(dataset_select!(), "ORDER BY dataset_id")).fetch_all(&self.pool).await?;
        rows.iter().map(dataset_from_row).collect()
    }
}

fn dataset_from_row(r: &sqlx::any::AnyRow) -> Result<DatasetRecord> {
    Ok(DatasetRecord {
        dataset_id: r.try_get("dataset_id")?,
        path: r.try_get("path")?,
        id_column: r.try_get("id_column")?,
        columns: r.try_get("columns")?,
        row_count: to_u64(r.try_get("row_count")?)?,
        schema_hash: r.try_get("schema_hash")?,
        content_hash: r.try_get("content_hash")?,
        imported_at: r.try_get("imported_at")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_reach_messages() {
        assert_eq!(redact("postgres://wefe:s3cret@db:5432/wefe"), "postgres://wefe:***@db:5432/wefe");
        assert_eq!(redact("postgres://wefe@db/wefe"), "postgres://wefe@db/wefe");
        assert_eq!(redact("sqlite://./node.db"), "sqlite://./node.db");
    }

    #[test]
    fn sqlite_urls_get_create_mode() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a/b/node.db");
        let url = Store::prepare_sqlite(&format!("sqlite://{}", path.display())).unwrap();
        assert!(url.ends_with("node.db?mode=rwc"), "{url}");
        assert!(path.parent().unwrap().is_dir());
        assert!(Store::prepare_sqlite("sqlite://").is_err());
    }
}
