-- The job queue: functions that move job_runs through their states. Every
-- change to a running slice is fenced by its lease token: a caller holding
-- a stale token (its lease was rescued, cancelled or already finished)
-- changes nothing and gets false back.
--
-- The writer stores a slice's bars and completes it in ONE transaction:
--   BEGIN;
--   SELECT queue_complete(run_id, token, rows);   -- false: ROLLBACK, stop
--   INSERT/COPY the bars ...;
--   COMMIT;
-- queue_complete first, because it locks the slice's row: a concurrent
-- rescue or a second delivery of the same attempt then waits for this
-- transaction and sees the slice finished. Parts before the last one use
-- queue_extend, which takes the same lock and fences the same way.
--
-- Each function runs with the search_path it was created with, so it
-- finds its tables whatever the caller's search_path is.

-- Adds a slice unless the same slice (symbol|timeframe|from|to) exists.
-- Returns the new run's id, or NULL when it existed.
CREATE FUNCTION queue_enqueue (p_symbol text, p_timeframe text,
                               p_from timestamptz, p_to timestamptz,
                               p_priority integer DEFAULT 0,
                               p_max_attempts integer DEFAULT 5,
                               p_backfill_id bigint DEFAULT NULL)
RETURNS bigint LANGUAGE sql SET search_path FROM CURRENT AS $$
    INSERT INTO job_runs (symbol, timeframe, slice_from, slice_to, priority,
                          max_attempts, backfill_id)
    VALUES (p_symbol, p_timeframe, p_from, p_to, p_priority, p_max_attempts,
            p_backfill_id)
    ON CONFLICT ON CONSTRAINT job_run_slice_unique DO NOTHING
    RETURNING id
$$;

-- Takes up to p_limit runnable slices (queued, or failed_will_retry whose
-- next_attempt_at has come), highest priority first, oldest first, and
-- leases them to p_owner for p_lease_seconds with a fresh token each.
-- SKIP LOCKED lets concurrent claimers pass each other's rows instead of
-- waiting or taking them twice. Returns the claimed rows.
CREATE FUNCTION queue_claim (p_owner text, p_limit integer,
                             p_lease_seconds double precision)
RETURNS SETOF job_runs LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    IF p_owner IS NULL OR p_owner = '' THEN
        RAISE EXCEPTION 'queue_claim: owner must be a non-empty name';
    END IF;
    IF p_limit IS NULL OR p_limit < 1 OR p_limit > 10000 THEN
        RAISE EXCEPTION 'queue_claim: limit must be 1 to 10000, got %', p_limit;
    END IF;
    IF p_lease_seconds IS NULL OR NOT p_lease_seconds > 0 THEN
        RAISE EXCEPTION 'queue_claim: lease_seconds must be positive, got %', p_lease_seconds;
    END IF;
    RETURN QUERY
    WITH picked AS (
        SELECT id
          FROM job_runs
         WHERE status IN ('queued', 'failed_will_retry')
           AND next_attempt_at <= now()
         ORDER BY priority DESC, created_at, id
         LIMIT p_limit
           FOR UPDATE SKIP LOCKED
    )
    UPDATE job_runs AS run
       SET status = 'running',
           lease_owner = p_owner,
           lease_token = gen_random_uuid(),
           lease_expires_at = now() + make_interval(secs => p_lease_seconds),
           started_at = now(),
           updated_at = now()
      FROM picked
     WHERE run.id = picked.id
    RETURNING run.*;
END;
$$;

-- Locks a running slice if p_token is its live lease token. The base of
-- every fenced function.
CREATE FUNCTION queue_lock_lease (p_run_id bigint, p_token uuid)
RETURNS job_runs LANGUAGE sql SET search_path FROM CURRENT AS $$
    SELECT *
      FROM job_runs
     WHERE id = p_run_id AND status = 'running' AND lease_token = p_token
       FOR UPDATE
$$;

-- Extends a live lease to now + p_lease_seconds. Returns false for a
-- stale token.
CREATE FUNCTION queue_extend (p_run_id bigint, p_token uuid,
                              p_lease_seconds double precision)
RETURNS boolean LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    IF p_lease_seconds IS NULL OR NOT p_lease_seconds > 0 THEN
        RAISE EXCEPTION 'queue_extend: lease_seconds must be positive, got %', p_lease_seconds;
    END IF;
    IF (queue_lock_lease(p_run_id, p_token)).id IS NULL THEN
        RETURN false;
    END IF;
    UPDATE job_runs
       SET lease_expires_at = now() + make_interval(secs => p_lease_seconds),
           updated_at = now()
     WHERE id = p_run_id;
    RETURN true;
END;
$$;

-- Marks a running slice succeeded with the rows it wrote. Returns false,
-- changing nothing, for a stale token. A lease that ran out still counts
-- until queue_rescue takes the slice back: the work is as good as ever.
CREATE FUNCTION queue_complete (p_run_id bigint, p_token uuid, p_rows bigint)
RETURNS boolean LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    IF p_rows IS NULL OR p_rows < 0 THEN
        RAISE EXCEPTION 'queue_complete: rows must be 0 or more, got %', p_rows;
    END IF;
    UPDATE job_runs
       SET status = 'succeeded',
           rows_written = p_rows,
           lease_owner = NULL, lease_token = NULL, lease_expires_at = NULL,
           finished_at = now(),
           updated_at = now()
     WHERE id = p_run_id AND status = 'running' AND lease_token = p_token;
    RETURN FOUND;
END;
$$;

-- The wait before retry number p_attempt + 1: 10 s doubled per failed
-- attempt, at most one hour, times a random factor in [0.5, 1) so slices
-- that failed together do not come back together.
CREATE FUNCTION queue_backoff (p_attempt integer)
RETURNS interval LANGUAGE sql VOLATILE SET search_path FROM CURRENT AS $$
    SELECT make_interval(secs => least(3600.0, 10.0 * 2 ^ least(greatest(p_attempt - 1, 0), 20))
                                 * (0.5 + random() / 2))
$$;

-- Records a failed attempt of a running slice. Retryable, with attempts
-- left: failed_will_retry after the backoff, or after p_retry_after
-- seconds if the provider asked for longer. Otherwise: dead. Returns
-- false, changing nothing, for a stale token.
CREATE FUNCTION queue_fail (p_run_id bigint, p_token uuid, p_error_class text,
                            p_message text, p_retryable boolean,
                            p_retry_after double precision DEFAULT NULL)
RETURNS boolean LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
DECLARE
    run job_runs;
    retry boolean;
BEGIN
    IF p_error_class IS NULL OR p_error_class = '' THEN
        RAISE EXCEPTION 'queue_fail: error_class must be a non-empty name';
    END IF;
    run := queue_lock_lease(p_run_id, p_token);
    IF run.id IS NULL THEN
        RETURN false;
    END IF;
    retry := coalesce(p_retryable, false) AND run.attempt + 1 < run.max_attempts;
    UPDATE job_runs
       SET status = CASE WHEN retry THEN 'failed_will_retry' ELSE 'dead' END,
           attempt = attempt + 1,
           next_attempt_at = CASE WHEN retry
                THEN now() + greatest(queue_backoff(run.attempt + 1),
                                      make_interval(secs => coalesce(p_retry_after, 0)))
                ELSE next_attempt_at END,
           lease_owner = NULL, lease_token = NULL, lease_expires_at = NULL,
           error_class = p_error_class,
           error_message = left(p_message, 4000),
           finished_at = CASE WHEN retry THEN NULL ELSE now() END,
           updated_at = now()
     WHERE id = p_run_id;
    RETURN true;
END;
$$;

-- Takes back every slice whose lease expired: queued again with attempt
-- + 1, or dead when that was its last attempt. Rows locked by a writer
-- finishing them right now are skipped; the next rescue sees them.
-- Returns how many slices it took back.
CREATE FUNCTION queue_rescue ()
RETURNS integer LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
DECLARE
    rescued integer;
BEGIN
    WITH expired AS (
        SELECT id
          FROM job_runs
         WHERE status = 'running' AND lease_expires_at < now()
           FOR UPDATE SKIP LOCKED
    )
    UPDATE job_runs AS run
       SET status = CASE WHEN run.attempt + 1 < run.max_attempts
                         THEN 'queued' ELSE 'dead' END,
           attempt = run.attempt + 1,
           next_attempt_at = now(),
           error_class = 'lease_expired',
           error_message = 'lease of ' || run.lease_owner || ' expired at '
                           || run.lease_expires_at,
           lease_owner = NULL, lease_token = NULL, lease_expires_at = NULL,
           finished_at = CASE WHEN run.attempt + 1 < run.max_attempts
                              THEN NULL ELSE now() END,
           updated_at = now()
      FROM expired
     WHERE run.id = expired.id;
    GET DIAGNOSTICS rescued = ROW_COUNT;
    RETURN rescued;
END;
$$;

-- Cancels a slice that has not finished; a running one loses its lease,
-- so its late results are refused. Returns false if it had finished.
CREATE FUNCTION queue_cancel (p_run_id bigint)
RETURNS boolean LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    UPDATE job_runs
       SET status = 'cancelled',
           lease_owner = NULL, lease_token = NULL, lease_expires_at = NULL,
           finished_at = now(),
           updated_at = now()
     WHERE id = p_run_id AND status IN ('queued', 'failed_will_retry', 'running');
    RETURN FOUND;
END;
$$;

-- Puts a dead or cancelled slice back in the queue with all its attempts.
-- The last error stays for reference. Returns false for any other state.
CREATE FUNCTION queue_requeue (p_run_id bigint)
RETURNS boolean LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    UPDATE job_runs
       SET status = 'queued',
           attempt = 0,
           next_attempt_at = now(),
           finished_at = NULL,
           updated_at = now()
     WHERE id = p_run_id AND status IN ('dead', 'cancelled');
    RETURN FOUND;
END;
$$;

-- Deletes dead slices: one (p_run_id) or all (NULL). Their ranges may
-- then be enqueued afresh. Returns how many were deleted.
CREATE FUNCTION queue_purge (p_run_id bigint DEFAULT NULL)
RETURNS integer LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
DECLARE
    purged integer;
BEGIN
    DELETE FROM job_runs
     WHERE status = 'dead' AND (p_run_id IS NULL OR id = p_run_id);
    GET DIAGNOSTICS purged = ROW_COUNT;
    RETURN purged;
END;
$$;
