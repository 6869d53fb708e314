-- Item-level progress of a running job (PSI: ids of both sets processed),
-- with the estimated seconds left. NULL when the job kind does not count items.
ALTER TABLE jobs ADD COLUMN items_done BIGINT;
ALTER TABLE jobs ADD COLUMN items_total BIGINT;
ALTER TABLE jobs ADD COLUMN eta_seconds DOUBLE PRECISION;
