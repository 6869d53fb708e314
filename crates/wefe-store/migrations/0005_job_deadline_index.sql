-- The scheduler looks only at the jobs whose run deadline passed since its
-- last look (never at the whole history).
CREATE INDEX jobs_run_deadline ON jobs (run_deadline_block);
