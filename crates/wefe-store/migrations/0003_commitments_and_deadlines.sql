-- Issue 12: jobs bind their datasets' descriptions, run until a deadline block
-- on chain, and report commitments instead of plain hashes.
-- The result column holds the HMAC commitment reported on chain (its key is
-- stored beside the artifact), no longer a SHA-256 of the artifact.
ALTER TABLE jobs RENAME COLUMN result_hash TO result_commitment;
-- Block after which anyone may close the job as timed out (0: unknown).
ALTER TABLE jobs ADD COLUMN run_deadline_block BIGINT NOT NULL DEFAULT 0;
-- JSON array: the digest of each dataset's description the proposal bound, in
-- the order of `datasets` (which now holds NAME@0xOWNER references).
ALTER TABLE jobs ADD COLUMN dataset_digests TEXT NOT NULL DEFAULT '[]';
-- A failure as reported on chain: its category, and the key of the commitment
-- to the detail kept in `error` (so the detail can be shown to an auditor).
ALTER TABLE jobs ADD COLUMN failure_category TEXT;
ALTER TABLE jobs ADD COLUMN failure_key TEXT;
