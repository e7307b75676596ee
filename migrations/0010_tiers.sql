-- Tiers and periodic work: the scheduler runs job_definitions on their
-- cadences, keeps each tier's latest bars fresh, re-fetches slices that
-- were stored while their bars were still provisional, and backfills a
-- symbol that joins a tier once, with no one asking.

-- freshness: a run also queues again the slices of its window that
-- succeeded while some of their bars were provisional, so the final
-- versions land (idempotent slices would otherwise never be fetched
-- again). sessions_only: the run happens only while a session of the
-- symbol's calendar is open, or within an hour of its close (the last
-- bars turn final then).
ALTER TABLE job_definitions
    ADD COLUMN freshness boolean NOT NULL DEFAULT false,
    ADD COLUMN sessions_only boolean NOT NULL DEFAULT false;

-- The seeds. T0 and T1 are the watchlist: kept fresh every minute and
-- every 5 minutes during sessions, with priorities above every user
-- backfill (the CLI's high is 10) so the scheduler's reserved share serves
-- them first (scheduler/live_priority); their coverage windows (30 days
-- of 15m, 90 days of 1h and 4h, 365 days of 1d) are checked hourly, and
-- a symbol joining the tier gets them at once. T2 holds every symbol
-- anyone ever backfilled (an enqueue adds unknown symbols as T2), so its
-- definitions ship disabled: enable them with
--   UPDATE job_definitions SET enabled = true WHERE tier = 'T2';
INSERT INTO job_definitions (name, kind, tier, timeframe, window_length, cadence,
                             priority, enabled, freshness, sessions_only)
VALUES ('fresh_t0_1m',      'periodic', 'T0', '1m',  '1 day',    '1 minute',  50, true,  true,  true),
       ('fresh_t1_1m',      'periodic', 'T1', '1m',  '1 day',    '5 minutes', 40, true,  true,  true),
       ('fresh_t2_1m',      'periodic', 'T2', '1m',  '1 day',    '1 hour',    20, false, true,  true),
       ('window_t0_15m',    'periodic', 'T0', '15m', '30 days',  '1 hour',    5,  true,  false, false),
       ('window_t0_1h',     'periodic', 'T0', '1h',  '90 days',  '1 hour',    5,  true,  false, false),
       ('window_t0_4h',     'periodic', 'T0', '4h',  '90 days',  '1 hour',    5,  true,  false, false),
       ('window_t0_1d',     'periodic', 'T0', '1d',  '365 days', '1 hour',    5,  true,  false, false),
       ('window_t1_15m',    'periodic', 'T1', '15m', '30 days',  '1 hour',    4,  true,  false, false),
       ('window_t1_1h',     'periodic', 'T1', '1h',  '90 days',  '1 hour',    4,  true,  false, false),
       ('window_t1_4h',     'periodic', 'T1', '4h',  '90 days',  '1 hour',    4,  true,  false, false),
       ('window_t1_1d',     'periodic', 'T1', '1d',  '365 days', '1 hour',    4,  true,  false, false),
       ('window_t2_15m',    'periodic', 'T2', '15m', '30 days',  '1 hour',    0,  false, false, false),
       ('window_t2_1h',     'periodic', 'T2', '1h',  '90 days',  '1 hour',    0,  false, false, false),
       ('window_t2_4h',     'periodic', 'T2', '4h',  '90 days',  '1 hour',    0,  false, false, false),
       ('window_t2_1d',     'periodic', 'T2', '1d',  '365 days', '1 hour',    0,  false, false, false)
ON CONFLICT (name) DO NOTHING;

-- Takes the periodic definitions that are due, marking them run now, so
-- that of several schedulers exactly one runs each (SKIP LOCKED).
CREATE FUNCTION job_definitions_due (p_limit integer)
RETURNS SETOF job_definitions LANGUAGE sql SET search_path FROM CURRENT AS $$
    WITH due AS (
        SELECT id FROM job_definitions
         WHERE kind = 'periodic' AND enabled
           AND (last_run_at IS NULL OR last_run_at + cadence <= now())
         ORDER BY priority DESC, id
         LIMIT p_limit
           FOR UPDATE SKIP LOCKED
    )
    UPDATE job_definitions d SET last_run_at = now()
      FROM due WHERE d.id = due.id
    RETURNING d.*;
$$;

-- The watchlist: one row per (symbol, definition) a symbol's arrival in a
-- tier calls for. The scheduler polls it (an indexed look at a table
-- that is nearly always empty, every scheduler/periodic_ms) and takes each
-- row by deleting it in the transaction that enqueues its backfill, so
-- exactly one backfill follows an arrival.
CREATE TABLE watchlist_pending (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    ticker        text NOT NULL REFERENCES symbols (ticker) ON DELETE CASCADE,
    definition_id bigint NOT NULL REFERENCES job_definitions (id) ON DELETE CASCADE,
    created_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT watchlist_pending_once UNIQUE (ticker, definition_id)
);

-- A symbol inserted active, or moved to another tier, or made active
-- again, is owed its tier's window definitions (and those naming it).
-- The scheduler's own insert of a symbol it was asked to backfill sets
-- gapless.watchlist = 'off' for its transaction: that symbol is being
-- backfilled as asked, not joining a watchlist.
CREATE FUNCTION watchlist_enlist ()
RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    IF coalesce(current_setting('gapless.watchlist', true), '') = 'off' OR NOT NEW.active THEN
        RETURN NEW;
    END IF;
    IF TG_OP = 'UPDATE' AND NEW.tier = OLD.tier AND OLD.active THEN
        RETURN NEW;
    END IF;
    INSERT INTO watchlist_pending (ticker, definition_id)
    SELECT NEW.ticker, d.id
      FROM job_definitions d
     WHERE d.enabled AND NOT d.freshness
       AND (d.tier = NEW.tier OR d.symbol = NEW.ticker)
    ON CONFLICT ON CONSTRAINT watchlist_pending_once DO NOTHING;
    RETURN NEW;
END;
$$;

CREATE TRIGGER symbols_watchlist
AFTER INSERT OR UPDATE OF tier, active ON symbols
FOR EACH ROW EXECUTE FUNCTION watchlist_enlist();

-- Queues again, inside a window, the succeeded slices of some symbols
-- that hold a provisional bar no provider has given a final version of
-- yet: the provider has one by now or soon. Returns how many.
CREATE FUNCTION queue_refresh_provisional (p_symbols text[], p_timeframe text,
                                           p_from timestamptz, p_priority integer,
                                           p_backfill_id bigint)
RETURNS bigint LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
DECLARE
    refreshed bigint;
BEGIN
    WITH stale AS (
        UPDATE job_runs r
           SET status = 'queued', attempt = 0, next_attempt_at = now(),
               priority = greatest(r.priority, p_priority),
               providers_refused = '{}', providers_empty = '{}',
               error_class = NULL, error_message = NULL,
               finished_at = NULL, updated_at = now()
         WHERE r.status = 'succeeded' AND r.timeframe = p_timeframe
           AND r.symbol = ANY (p_symbols) AND r.slice_to > p_from
           AND EXISTS (SELECT 1 FROM ohlc_bars b
                        WHERE b.symbol = r.symbol AND b.timeframe = r.timeframe
                          AND b.ts >= r.slice_from AND b.ts < r.slice_to AND b.provisional
                          AND NOT EXISTS (SELECT 1 FROM ohlc_bars f
                                           WHERE f.symbol = b.symbol AND f.timeframe = b.timeframe
                                             AND f.ts = b.ts AND NOT f.provisional))
        RETURNING r.id
    ), linked AS (
        INSERT INTO backfill_slices (backfill_id, run_id)
        SELECT p_backfill_id, id FROM stale WHERE p_backfill_id IS NOT NULL
        ON CONFLICT DO NOTHING
    )
    SELECT count(*) INTO refreshed FROM stale;
    RETURN refreshed;
END;
$$;

-- queue_enqueue_staged, with refresh: slices that ended (succeeded, dead
-- or cancelled) are queued again, pinned to p_provider when one is given,
-- with fresh attempts and no refusals, and the coverage check is skipped:
-- the caller knows the store is wrong or stale there. Returns how many
-- slices were new, shared with earlier requests, already stored, and
-- queued again.
DROP FUNCTION queue_enqueue_staged (bigint, integer, integer, text);
CREATE FUNCTION queue_enqueue_staged (p_backfill_id bigint, p_priority integer,
                                      p_max_attempts integer, p_provider text,
                                      p_refresh boolean,
                                      OUT created bigint, OUT shared bigint,
                                      OUT stored bigint, OUT refreshed bigint)
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
DECLARE
    staged bigint;
    covered boolean;
BEGIN
    SELECT count(*) INTO staged FROM pg_temp.enqueue_stage;
    refreshed := 0;
    IF p_refresh THEN
        WITH again AS (
            UPDATE job_runs r
               SET status = 'queued', attempt = 0, next_attempt_at = now(),
                   priority = greatest(r.priority, p_priority),
                   provider_pin = coalesce(p_provider, r.provider_pin),
                   providers_refused = '{}', providers_empty = '{}',
                   error_class = NULL, error_message = NULL,
                   finished_at = NULL, updated_at = now()
              FROM pg_temp.enqueue_stage s
             WHERE r.idx_hash = slice_hash(s.symbol, s.timeframe, s.slice_from, s.slice_to)
               AND r.status IN ('succeeded', 'dead', 'cancelled')
            RETURNING 1
        )
        SELECT count(*) INTO refreshed FROM again;
        covered := false;
    ELSE
        --  The coverage check costs a lookup per slice: only where coverage
        --  knows any of these symbols at all.
        SELECT EXISTS (SELECT 1 FROM coverage c
                        WHERE (c.symbol, c.timeframe) IN (SELECT DISTINCT symbol, timeframe
                                                            FROM pg_temp.enqueue_stage))
          INTO covered;
    END IF;
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
    shared := staged - created - stored - refreshed;
    DROP TABLE enqueue_hashed;
END;
$$;

-- queue_claim within a band of priorities: the scheduler claims live work
-- (the tiers' freshness, priority scheduler/live_priority and up) with
-- the whole of its fetchers' room, and bulk work with what the reserve
-- leaves. queue_claim is the band of every priority.
CREATE FUNCTION queue_claim_band (p_owner text, p_limit integer,
                                  p_lease_seconds double precision,
                                  p_min_priority integer, p_max_priority integer)
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
           AND priority BETWEEN coalesce(p_min_priority, -2147483648)
                            AND coalesce(p_max_priority, 2147483647)
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

CREATE OR REPLACE FUNCTION queue_claim (p_owner text, p_limit integer,
                                        p_lease_seconds double precision)
RETURNS SETOF job_runs LANGUAGE sql SET search_path FROM CURRENT AS $$
    SELECT * FROM queue_claim_band(p_owner, p_limit, p_lease_seconds, NULL, NULL);
$$;

-- What a freshness run scans: the succeeded slices of a few symbols near
-- now, without reading the whole queue every minute.
CREATE INDEX job_runs_succeeded ON job_runs (symbol, timeframe, slice_to)
    WHERE status = 'succeeded';
