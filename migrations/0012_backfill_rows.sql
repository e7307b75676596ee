-- Progress read in proportion to one backfill, not to the whole queue.
--
-- 0006's backfill_runs was a UNION, so every read of it (backfill_progress
-- included) hashed every (backfill, slice) pair in job_runs to remove
-- duplicates before any filter applied, then joined each pair back to
-- job_runs: ops' progress query after a commit cost 120 to 220 ms with
-- 80 000 slices queued, whatever the backfill's size. The two sources
-- cannot overlap (a backfill's own slices, and the slices it shares,
-- which backfill_slices holds only for another backfill's slices; the
-- filter below keeps that true for any row), so UNION ALL is the same
-- set, and a filter on the backfill reaches both branches' indexes.

-- Every backfill's slices as job_runs rows: its own, and those it shares
-- with an earlier backfill (backfill_slices), each once. of_backfill is
-- the backfill the row is read for; backfill_id stays the owner's.
CREATE VIEW backfill_run_rows AS
SELECT r.backfill_id AS of_backfill, r.*
  FROM job_runs r
 WHERE r.backfill_id IS NOT NULL
UNION ALL
SELECT s.backfill_id, r.*
  FROM backfill_slices s JOIN job_runs r ON r.id = s.run_id
 WHERE r.backfill_id IS DISTINCT FROM s.backfill_id;

CREATE OR REPLACE VIEW backfill_runs AS
SELECT of_backfill AS backfill_id, id AS run_id FROM backfill_run_rows;

-- The same columns and rules as 0006's; each backfill's slices are
-- aggregated by a lateral subquery on its id, so a read of a few
-- backfills reads only their slices.
CREATE OR REPLACE VIEW backfill_progress AS
SELECT b.id,
       CASE WHEN b.status IN ('paused', 'cancelled') THEN b.status
            WHEN p.slices_total > 0 AND p.slices_total = p.slices_succeeded THEN 'succeeded'
            WHEN p.slices_total > 0 AND p.slices_total = p.slices_ended THEN 'failed'
            WHEN p.slices_started > 0 THEN 'running'
            WHEN p.slices_total = 0 THEN 'succeeded'
            ELSE 'queued' END AS status,
       b.timeframe, b.range_from, b.range_to, b.priority,
       b.provider, b.created_at, b.finished_at,
       p.slices_total, p.slices_queued, p.slices_running, p.slices_succeeded,
       p.slices_retrying, p.slices_dead, p.slices_cancelled, p.slices_paused,
       p.bars_written, p.oldest_queued_at
  FROM backfills b
 CROSS JOIN LATERAL (
       SELECT count(*) AS slices_total,
              count(*) FILTER (WHERE r.status = 'queued') AS slices_queued,
              count(*) FILTER (WHERE r.status = 'running') AS slices_running,
              count(*) FILTER (WHERE r.status = 'succeeded') AS slices_succeeded,
              count(*) FILTER (WHERE r.status = 'failed_will_retry') AS slices_retrying,
              count(*) FILTER (WHERE r.status = 'dead') AS slices_dead,
              count(*) FILTER (WHERE r.status = 'cancelled') AS slices_cancelled,
              count(*) FILTER (WHERE r.status = 'paused') AS slices_paused,
              count(*) FILTER (WHERE r.status IN ('succeeded', 'dead', 'cancelled'))
                  AS slices_ended,
              count(*) FILTER (WHERE r.status <> 'queued' OR r.attempt > 0) AS slices_started,
              coalesce(sum(r.rows_written), 0) AS bars_written,
              min(r.created_at) FILTER (WHERE r.status IN ('queued', 'failed_will_retry'))
                  AS oldest_queued_at
         FROM backfill_run_rows r
        WHERE r.of_backfill = b.id) p;
