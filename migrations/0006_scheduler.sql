-- The scheduler's side of the queue: backfills that share slices, bulk
-- enqueueing, "not now" answers that cost no attempt, and pausing,
-- resuming and cancelling a whole backfill.

-- A backfill may pin one provider, may be paused, and is known by the
-- request that made it: the same request while it is still active finds
-- the same backfill, however many clients send it at once.
ALTER TABLE backfills
    DROP CONSTRAINT backfill_status_known,
    ADD CONSTRAINT backfill_status_known
        CHECK (status IN ('queued', 'running', 'paused', 'succeeded', 'failed', 'cancelled')),
    ADD COLUMN provider text,
    ADD COLUMN request_key text;
CREATE UNIQUE INDEX backfills_active_request ON backfills (request_key)
    WHERE status IN ('queued', 'running', 'paused');

-- A slice of a paused backfill waits as 'paused', out of claim's reach.
-- provider_pin is the provider a backfill asked for (NULL: routing picks);
-- providers_refused lists providers that said they cannot serve the slice
-- (not_found, no_data, auth), so routing moves to the next one, and
-- providers_empty those of them that answered "no data": when every
-- allowed provider says so, the slice is empty, not failed.
ALTER TABLE job_runs
    DROP CONSTRAINT job_run_status_known,
    ADD CONSTRAINT job_run_status_known
        CHECK (status IN ('queued', 'running', 'succeeded', 'failed_will_retry',
                          'dead', 'cancelled', 'paused')),
    ADD COLUMN provider_pin text,
    ADD COLUMN providers_refused text[] NOT NULL DEFAULT '{}',
    ADD COLUMN providers_empty text[] NOT NULL DEFAULT '{}';

-- The same result as 0002's slice_hash, from expressions that are all
-- immutable (extract on a timestamptz is only stable; on the interval
-- since the epoch it is immutable), so PostgreSQL inlines it instead of
-- calling a SQL function per row: the generated idx_hash of a bulk insert
-- costs a third of what it did.
CREATE OR REPLACE FUNCTION slice_hash (symbol text, timeframe text,
                                       slice_from timestamptz, slice_to timestamptz)
RETURNS text LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN md5(symbol || '|' || timeframe || '|'
           || extract(epoch FROM slice_from - '1970-01-01 00:00+00'::timestamptz)::bigint::text
           || '|'
           || extract(epoch FROM slice_to - '1970-01-01 00:00+00'::timestamptz)::bigint::text);

-- Which backfills a slice serves besides the one that created it
-- (job_runs.backfill_id). Overlapping requests share slices, and each
-- one's progress counts every slice it names.
CREATE TABLE backfill_slices (
    backfill_id bigint NOT NULL REFERENCES backfills (id) ON DELETE CASCADE,
    run_id      bigint NOT NULL REFERENCES job_runs (id) ON DELETE CASCADE,
    PRIMARY KEY (backfill_id, run_id)
);
CREATE INDEX backfill_slices_run ON backfill_slices (run_id);

-- Every (backfill, slice) pair: the slices a backfill created and those it
-- shares with earlier ones.
CREATE VIEW backfill_runs AS
SELECT backfill_id, id AS run_id FROM job_runs WHERE backfill_id IS NOT NULL
UNION
SELECT backfill_id, run_id FROM backfill_slices;

-- Progress of every backfill, from its slices' states. Its status follows
-- them: paused and cancelled as set; otherwise succeeded when every slice
-- succeeded, failed when every slice ended and some died, running once a
-- slice ran, queued before.
CREATE VIEW backfill_progress AS
SELECT b.id,
       CASE WHEN b.status IN ('paused', 'cancelled') THEN b.status
            WHEN count(r.id) > 0 AND count(r.id) = count(r.id) FILTER (WHERE r.status = 'succeeded')
                 THEN 'succeeded'
            WHEN count(r.id) > 0 AND count(r.id) = count(r.id) FILTER
                 (WHERE r.status IN ('succeeded', 'dead', 'cancelled')) THEN 'failed'
            WHEN count(r.id) FILTER (WHERE r.status <> 'queued' OR r.attempt > 0) > 0
                 THEN 'running'
            WHEN count(r.id) = 0 THEN 'succeeded'
            ELSE 'queued' END AS status,
       b.timeframe, b.range_from, b.range_to, b.priority,
       b.provider, b.created_at, b.finished_at,
       count(r.id) AS slices_total,
       count(r.id) FILTER (WHERE r.status = 'queued') AS slices_queued,
       count(r.id) FILTER (WHERE r.status = 'running') AS slices_running,
       count(r.id) FILTER (WHERE r.status = 'succeeded') AS slices_succeeded,
       count(r.id) FILTER (WHERE r.status = 'failed_will_retry') AS slices_retrying,
       count(r.id) FILTER (WHERE r.status = 'dead') AS slices_dead,
       count(r.id) FILTER (WHERE r.status = 'cancelled') AS slices_cancelled,
       count(r.id) FILTER (WHERE r.status = 'paused') AS slices_paused,
       coalesce(sum(r.rows_written), 0) AS bars_written,
       min(r.created_at) FILTER (WHERE r.status IN ('queued', 'failed_will_retry'))
           AS oldest_queued_at
  FROM backfills b
  LEFT JOIN backfill_runs l ON l.backfill_id = b.id
  LEFT JOIN job_runs r ON r.id = l.run_id
 GROUP BY b.id;

-- Creates the session's enqueue_stage, where a scheduler COPYs the slices
-- of one backfill before queue_enqueue_staged; emptied at commit.
CREATE FUNCTION queue_stage ()
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    CREATE TEMP TABLE IF NOT EXISTS enqueue_stage (
        symbol     text NOT NULL,
        timeframe  text NOT NULL,
        slice_from timestamptz NOT NULL,
        slice_to   timestamptz NOT NULL
    ) ON COMMIT DELETE ROWS;
END;
$$;

-- Enqueues the slices in the session's enqueue_stage for one backfill. A
-- slice the store already holds (inside a coverage range, or a slice that
-- succeeded) is not enqueued again; one already queued or running is
-- shared. Every slice that has a run is linked to the backfill, so its
-- progress counts shared and finished slices too. Returns how many slices
-- were new, shared with earlier requests, and already stored.
CREATE FUNCTION queue_enqueue_staged (p_backfill_id bigint, p_priority integer,
                                      p_max_attempts integer, p_provider text,
                                      OUT created bigint, OUT shared bigint,
                                      OUT stored bigint)
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
DECLARE
    staged bigint;
    covered boolean;
BEGIN
    SELECT count(*) INTO staged FROM pg_temp.enqueue_stage;
    --  The coverage check costs a lookup per slice: only where coverage
    --  knows any of these symbols at all.
    SELECT EXISTS (SELECT 1 FROM coverage c
                    WHERE (c.symbol, c.timeframe) IN (SELECT DISTINCT symbol, timeframe
                                                        FROM pg_temp.enqueue_stage))
      INTO covered;
    WITH inserted AS (
        INSERT INTO job_runs (symbol, timeframe, slice_from, slice_to, priority,
                              max_attempts, backfill_id, provider_pin)
        SELECT s.symbol, s.timeframe, s.slice_from, s.slice_to, p_priority,
               p_max_attempts, p_backfill_id, p_provider
          FROM pg_temp.enqueue_stage s
         WHERE NOT covered
            OR NOT EXISTS (SELECT 1 FROM coverage c
                            WHERE c.symbol = s.symbol AND c.timeframe = s.timeframe
                              AND c.range_from <= s.slice_from AND c.range_to >= s.slice_to)
        ON CONFLICT ON CONSTRAINT job_run_slice_unique DO NOTHING
        RETURNING 1
    )
    SELECT count(*) INTO created FROM inserted;
    shared := 0;
    stored := 0;
    IF created = staged THEN
        RETURN;                 --  all new: nothing to share, nothing stored
    END IF;
    --  Some slices existed (or are covered): link the existing ones to this
    --  backfill, and count what the store holds already.
    CREATE TEMP TABLE enqueue_hashed ON COMMIT DROP AS
    SELECT slice_hash(s.symbol, s.timeframe, s.slice_from, s.slice_to) AS idx_hash,
           covered AND EXISTS (SELECT 1 FROM coverage c
                                WHERE c.symbol = s.symbol AND c.timeframe = s.timeframe
                                  AND c.range_from <= s.slice_from
                                  AND c.range_to >= s.slice_to) AS in_coverage
      FROM pg_temp.enqueue_stage s;
    INSERT INTO backfill_slices (backfill_id, run_id)
    SELECT p_backfill_id, r.id
      FROM enqueue_hashed h JOIN job_runs r ON r.idx_hash = h.idx_hash
     WHERE r.backfill_id IS DISTINCT FROM p_backfill_id
    ON CONFLICT DO NOTHING;
    SELECT count(*) FILTER (WHERE h.in_coverage OR r.status = 'succeeded')
      INTO stored
      FROM enqueue_hashed h LEFT JOIN job_runs r ON r.idx_hash = h.idx_hash;
    shared := staged - created - stored;
    DROP TABLE enqueue_hashed;
END;
$$;

-- Gives a running slice back without spending an attempt: the answer was
-- "not now" (breaker open, rate limited, no fetcher for the provider, a
-- fetcher that died with it). It runs again after p_delay seconds.
-- Returns false, changing nothing, for a stale token.
CREATE FUNCTION queue_release (p_run_id bigint, p_token uuid, p_delay double precision,
                               p_error_class text, p_message text)
RETURNS boolean LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    IF (queue_lock_lease(p_run_id, p_token)).id IS NULL THEN
        RETURN false;
    END IF;
    UPDATE job_runs
       SET status = 'queued',
           next_attempt_at = now() + make_interval(secs => greatest(coalesce(p_delay, 0), 0)),
           lease_owner = NULL, lease_token = NULL, lease_expires_at = NULL,
           error_class = p_error_class,
           error_message = left(p_message, 4000),
           updated_at = now()
     WHERE id = p_run_id;
    RETURN true;
END;
$$;

-- Takes back a running slice whose fetcher died with it: it is queued
-- again at once (no backoff: the fetcher died, not the provider), and the
-- death counts as an attempt, so a slice that keeps killing fetchers ends
-- dead with p_error_class instead of crash-looping the fleet. Returns
-- false, changing nothing, for a stale token.
CREATE FUNCTION queue_lost (p_run_id bigint, p_token uuid, p_error_class text,
                            p_message text)
RETURNS boolean LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
DECLARE
    run job_runs;
    retry boolean;
BEGIN
    run := queue_lock_lease(p_run_id, p_token);
    IF run.id IS NULL THEN
        RETURN false;
    END IF;
    retry := run.attempt + 1 < run.max_attempts;
    UPDATE job_runs
       SET status = CASE WHEN retry THEN 'queued' ELSE 'dead' END,
           attempt = attempt + 1,
           next_attempt_at = now(),
           lease_owner = NULL, lease_token = NULL, lease_expires_at = NULL,
           error_class = p_error_class,
           error_message = left(p_message, 4000),
           finished_at = CASE WHEN retry THEN NULL ELSE now() END,
           updated_at = now()
     WHERE id = p_run_id;
    RETURN true;
END;
$$;

-- Records that p_provider cannot serve a running slice (p_empty: it said
-- it has no data for the range) and queues the slice again at once for
-- the next provider, spending no attempt. Returns false, changing
-- nothing, for a stale token.
CREATE FUNCTION queue_refuse (p_run_id bigint, p_token uuid, p_provider text,
                              p_empty boolean, p_error_class text, p_message text)
RETURNS boolean LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    IF (queue_lock_lease(p_run_id, p_token)).id IS NULL THEN
        RETURN false;
    END IF;
    UPDATE job_runs
       SET status = 'queued',
           next_attempt_at = now(),
           providers_refused = CASE WHEN p_provider = ANY (providers_refused)
                                    THEN providers_refused
                                    ELSE array_append(providers_refused, p_provider) END,
           providers_empty = CASE WHEN NOT p_empty OR p_provider = ANY (providers_empty)
                                  THEN providers_empty
                                  ELSE array_append(providers_empty, p_provider) END,
           lease_owner = NULL, lease_token = NULL, lease_expires_at = NULL,
           error_class = p_error_class,
           error_message = left(p_message, 4000),
           updated_at = now()
     WHERE id = p_run_id;
    RETURN true;
END;
$$;

-- True if the slice serves an active, unpaused backfill other than
-- p_backfill_id: pausing or cancelling one backfill leaves such slices be.
CREATE FUNCTION queue_slice_needed (p_run_id bigint, p_backfill_id bigint)
RETURNS boolean LANGUAGE sql STABLE SET search_path FROM CURRENT AS $$
    SELECT EXISTS (SELECT 1
                     FROM backfill_runs l JOIN backfills b ON b.id = l.backfill_id
                    WHERE l.run_id = p_run_id AND l.backfill_id <> p_backfill_id
                      AND b.status IN ('queued', 'running'))
$$;

-- Pauses a backfill: its waiting slices that no other active backfill
-- needs become 'paused'; running ones finish. Returns how many paused.
CREATE FUNCTION queue_pause_backfill (p_backfill_id bigint)
RETURNS integer LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
DECLARE
    paused integer;
BEGIN
    UPDATE backfills SET status = 'paused'
     WHERE id = p_backfill_id AND status IN ('queued', 'running');
    IF NOT FOUND THEN
        RETURN -1;
    END IF;
    UPDATE job_runs r
       SET status = 'paused', updated_at = now()
      FROM backfill_runs l
     WHERE l.backfill_id = p_backfill_id AND r.id = l.run_id
       AND r.status IN ('queued', 'failed_will_retry')
       AND NOT queue_slice_needed(r.id, p_backfill_id);
    GET DIAGNOSTICS paused = ROW_COUNT;
    RETURN paused;
END;
$$;

-- Resumes a paused backfill: its paused slices wait in the queue again.
-- Returns how many it resumed, or -1 if the backfill was not paused.
CREATE FUNCTION queue_resume_backfill (p_backfill_id bigint)
RETURNS integer LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
DECLARE
    resumed integer;
BEGIN
    UPDATE backfills SET status = 'queued' WHERE id = p_backfill_id AND status = 'paused';
    IF NOT FOUND THEN
        RETURN -1;
    END IF;
    UPDATE job_runs r
       SET status = 'queued', next_attempt_at = now(), updated_at = now()
      FROM backfill_runs l
     WHERE l.backfill_id = p_backfill_id AND r.id = l.run_id AND r.status = 'paused';
    GET DIAGNOSTICS resumed = ROW_COUNT;
    RETURN resumed;
END;
$$;

-- Cancels a backfill: its unfinished slices that no other active backfill
-- needs are cancelled (a running one loses its lease, so its late results
-- are refused). Returns how many, or -1 if it had already ended.
CREATE FUNCTION queue_cancel_backfill (p_backfill_id bigint)
RETURNS integer LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
DECLARE
    cancelled integer;
BEGIN
    UPDATE backfills SET status = 'cancelled', finished_at = now()
     WHERE id = p_backfill_id AND status IN ('queued', 'running', 'paused');
    IF NOT FOUND THEN
        RETURN -1;
    END IF;
    UPDATE job_runs r
       SET status = 'cancelled',
           lease_owner = NULL, lease_token = NULL, lease_expires_at = NULL,
           finished_at = now(), updated_at = now()
      FROM backfill_runs l
     WHERE l.backfill_id = p_backfill_id AND r.id = l.run_id
       AND r.status IN ('queued', 'failed_will_retry', 'running', 'paused')
       AND NOT queue_slice_needed(r.id, p_backfill_id);
    GET DIAGNOSTICS cancelled = ROW_COUNT;
    RETURN cancelled;
END;
$$;
