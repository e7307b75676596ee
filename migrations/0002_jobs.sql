-- Work: a user's backfill request and the slices (job runs) it is cut
-- into. The queue functions that move slices through their states are in
-- 0004_queue.sql.

CREATE TABLE backfills (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    symbols           text[] NOT NULL
                      CONSTRAINT backfill_has_symbols
                      CHECK (cardinality(symbols) > 0),
    timeframe         timeframe NOT NULL,
    range_from        timestamptz NOT NULL,
    range_to          timestamptz NOT NULL,
    priority          integer NOT NULL DEFAULT 0,
    requested_by      text NOT NULL DEFAULT current_user,
    job_definition_id bigint REFERENCES job_definitions (id) ON DELETE SET NULL,
    status            text NOT NULL DEFAULT 'queued'
                      CONSTRAINT backfill_status_known
                      CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
    slices_total      integer NOT NULL DEFAULT 0 CHECK (slices_total >= 0),
    slices_done       integer NOT NULL DEFAULT 0 CHECK (slices_done >= 0),
    slices_failed     integer NOT NULL DEFAULT 0 CHECK (slices_failed >= 0),
    created_at        timestamptz NOT NULL DEFAULT now(),
    finished_at       timestamptz,
    CONSTRAINT backfill_range_not_empty CHECK (range_to > range_from)
);

-- The identity of a slice: md5 of "symbol|timeframe|from|to", the bounds
-- as Unix seconds so the key does not depend on the session's time zone.
-- Enqueueing the same slice twice hits the unique index on this key.
CREATE FUNCTION slice_hash (symbol text, timeframe text,
                            slice_from timestamptz, slice_to timestamptz)
RETURNS text LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN md5(symbol || '|' || timeframe || '|'
           || extract(epoch FROM slice_from)::bigint || '|'
           || extract(epoch FROM slice_to)::bigint);

-- One slice of work. Its life:
--   queued -> running (claimed: lease owner, token and expiry set)
--   running -> succeeded                    (complete with the live token)
--   running -> failed_will_retry -> running (fail, retryable, backoff)
--   running -> queued                       (lease expired, rescued)
--   running | failed_will_retry -> dead     (no attempts left, or fatal)
--   queued | failed_will_retry | running -> cancelled
--   dead | cancelled -> queued              (requeue)
-- attempt counts attempts that ended without success; the attempt in
-- progress is number attempt + 1.
CREATE TABLE job_runs (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    backfill_id      bigint REFERENCES backfills (id) ON DELETE SET NULL,
    symbol           text NOT NULL,
    timeframe        timeframe NOT NULL,
    slice_from       timestamptz NOT NULL,
    slice_to         timestamptz NOT NULL,
    idx_hash         text NOT NULL
                     GENERATED ALWAYS AS (slice_hash(symbol, timeframe, slice_from, slice_to)) STORED
                     CONSTRAINT job_run_slice_unique UNIQUE,
    -- The provider of the current or last attempt, set by the scheduler
    provider         text,
    status           text NOT NULL DEFAULT 'queued'
                     CONSTRAINT job_run_status_known
                     CHECK (status IN ('queued', 'running', 'succeeded',
                                       'failed_will_retry', 'dead', 'cancelled')),
    attempt          integer NOT NULL DEFAULT 0
                     CONSTRAINT job_run_attempt_not_negative CHECK (attempt >= 0),
    max_attempts     integer NOT NULL DEFAULT 5
                     CONSTRAINT job_run_max_attempts_positive CHECK (max_attempts >= 1),
    priority         integer NOT NULL DEFAULT 0,
    lease_owner      text,
    lease_token      uuid,
    lease_expires_at timestamptz,
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    rows_written     bigint NOT NULL DEFAULT 0
                     CONSTRAINT job_run_rows_not_negative CHECK (rows_written >= 0),
    error_class      text,
    error_message    text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    started_at       timestamptz,
    finished_at      timestamptz,
    CONSTRAINT job_run_range_not_empty CHECK (slice_to > slice_from),
    -- A lease exists exactly while the slice runs
    CONSTRAINT job_run_lease_iff_running
        CHECK ((status = 'running') = (lease_owner IS NOT NULL
                                       AND lease_token IS NOT NULL
                                       AND lease_expires_at IS NOT NULL)),
    CONSTRAINT job_run_lease_cleared
        CHECK (status = 'running' OR (lease_owner IS NULL AND lease_token IS NULL
                                      AND lease_expires_at IS NULL))
);

-- What claim scans: runnable slices, best first
CREATE INDEX job_runs_runnable ON job_runs (priority DESC, created_at, id)
    WHERE status IN ('queued', 'failed_will_retry');
-- What rescue scans
CREATE INDEX job_runs_leases ON job_runs (lease_expires_at) WHERE status = 'running';
CREATE INDEX job_runs_backfill ON job_runs (backfill_id);
CREATE INDEX job_runs_dead ON job_runs (updated_at) WHERE status = 'dead';

-- Dead letters: slices that ran out of attempts or failed for good, with
-- their last error. queue_requeue and queue_purge act on them.
CREATE VIEW dead_letters AS
SELECT id, backfill_id, symbol, timeframe, slice_from, slice_to, provider,
       attempt, max_attempts, priority, error_class, error_message,
       updated_at AS died_at
  FROM job_runs
 WHERE status = 'dead';
