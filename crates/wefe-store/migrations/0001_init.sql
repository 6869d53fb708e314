-- wefe node store, schema 1. Portable SQL: the same file runs on SQLite and
-- PostgreSQL (hashes and addresses as lowercase 0x-hex TEXT, times as Unix
-- seconds, JSON as TEXT).

-- Where each chain follower stopped: the last block whose events are fully
-- applied, and that block's hash (to notice reorgs).
CREATE TABLE chain_cursor (
    name TEXT PRIMARY KEY,
    block_number BIGINT NOT NULL,
    block_hash TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- The audit index: every event of the governance contracts.
CREATE TABLE chain_events (
    block_number BIGINT NOT NULL,
    log_index BIGINT NOT NULL,
    block_hash TEXT NOT NULL,
    tx_hash TEXT NOT NULL,
    contract TEXT NOT NULL,
    contract_address TEXT NOT NULL,
    event TEXT NOT NULL,
    actor TEXT,
    job_id BIGINT,
    fields TEXT NOT NULL,
    PRIMARY KEY (block_number, log_index)
);
CREATE INDEX chain_events_job ON chain_events (job_id, block_number, log_index);
CREATE INDEX chain_events_event ON chain_events (event, block_number);

-- Jobs this node takes part in: one row per on-chain job id, so a replayed
-- JobApproved never launches a job twice.
CREATE TABLE jobs (
    job_id BIGINT PRIMARY KEY,
    kind TEXT NOT NULL,
    params TEXT NOT NULL,
    participants TEXT NOT NULL,
    datasets TEXT NOT NULL,
    approved_block BIGINT NOT NULL,
    status TEXT NOT NULL,
    progress DOUBLE PRECISION NOT NULL DEFAULT 0,
    result_hash TEXT,
    result_path TEXT,
    summary TEXT,
    error TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX jobs_status ON jobs (status);

-- Datasets imported into this node (the data stays in the node's data dir).
CREATE TABLE datasets (
    dataset_id TEXT PRIMARY KEY,
    path TEXT NOT NULL,
    id_column TEXT NOT NULL,
    columns TEXT NOT NULL,
    row_count BIGINT NOT NULL,
    schema_hash TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    imported_at BIGINT NOT NULL
);
