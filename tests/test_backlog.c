/*  test_backlog — backfills and their slices on a real PostgreSQL: one
    COPY per request, the same request twice (and 50 at once from 50
    connections) makes one backfill and one set of slices, overlapping
    requests share slices, stored slices are not enqueued again, closed
    days make none, nothing before a listing or after now; "not now"
    costs no attempt; pause, resume and cancel leave shared slices be;
    refresh and freshness queue again what ended or is provisional; periodic
    definitions and watchlist arrivals are each taken once.
*/
#include "gl_backlog.h"
#include "gl_testdb.h"
#include "gl_test.h"
#include <limits.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define DATE(y, m, d) gl_calendar_date_utc (y, m, d)
#define PARALLEL 50

static const char *s_two [] = { "AAPL", "MSFT" };

//  A 1h request for AAPL and MSFT over [from, to).
static gl_backlog_request_t
s_request (int64_t from, int64_t to)
{
    return (gl_backlog_request_t) {
        .symbols = s_two, .symbol_count = 2, .timeframe = GL_TF_1H,
        .from = from, .to = to, .priority = 0,
    };
}

//  Enqueues and checks it worked; returns the counts.
static gl_backlog_counts_t
s_enqueue (gl_backlog_t *backlog, const gl_backlog_request_t *request)
{
    gl_backlog_counts_t counts;
    char error [256] = "";
    int rc = gl_backlog_enqueue (backlog, request, &counts, error);
    if (rc != 0)
        fprintf (stderr, "enqueue failed: %s\n", error);
    GL_CHECK_INT (rc, 0);
    return counts;
}

//  Months of 1h for two symbols; the same again; an overlap; closed days.
static void
s_test_idempotent_and_shared (gl_db_t *db, gl_backlog_t *backlog)
{
    gl_backlog_request_t request = s_request (DATE (2024, 1, 1), DATE (2024, 4, 1));
    gl_backlog_counts_t first = s_enqueue (backlog, &request);
    GL_CHECK_INT (first.created, 6);
    GL_CHECK_INT (first.shared, 0);
    GL_CHECK_INT (first.stored, 0);
    //  January 21 sessions, February 20, March 20; 7 bars each
    GL_CHECK_INT (first.bars_expected, 2 * 61 * 7);
    gl_backlog_counts_t again = s_enqueue (backlog, &request);
    GL_CHECK_INT (again.backfill_id, first.backfill_id);
    GL_CHECK_INT (again.created, 0);
    GL_CHECK_INT (again.shared, 6);
    GL_CHECK_INT (gl_testdb_number (db, "SELECT count(*) FROM job_runs"), 6);
    GL_CHECK_INT (gl_testdb_number (db, "SELECT count(*) FROM backfills"), 1);

    //  March and April: March is shared, April is new
    request = s_request (DATE (2024, 3, 15), DATE (2024, 4, 15));
    gl_backlog_counts_t overlap = s_enqueue (backlog, &request);
    GL_CHECK (overlap.backfill_id != first.backfill_id);
    GL_CHECK_INT (overlap.created, 2);
    GL_CHECK_INT (overlap.shared, 2);
    GL_CHECK_INT (gl_testdb_number (db, "SELECT count(*) FROM job_runs"), 8);
    char sql [256];
    snprintf (sql, sizeof sql, "SELECT slices_total FROM backfill_progress WHERE id = %" PRId64,
              overlap.backfill_id);
    GL_CHECK_INT (gl_testdb_number (db, sql), 4);
    //  A backfill's own slice named in backfill_slices too (the queue never
    //  writes one) is still one slice of it.
    snprintf (sql, sizeof sql, "WITH i AS (INSERT INTO backfill_slices SELECT backfill_id, id"
                               " FROM job_runs WHERE backfill_id = %" PRId64 " RETURNING 1)"
                               " SELECT count(*) FROM i", first.backfill_id);
    GL_CHECK_INT (gl_testdb_number (db, sql), 6);
    snprintf (sql, sizeof sql, "SELECT slices_total FROM backfill_progress WHERE id = %" PRId64,
              first.backfill_id);
    GL_CHECK_INT (gl_testdb_number (db, sql), 6);
    snprintf (sql, sizeof sql, "SELECT count(*) FROM backfill_runs WHERE backfill_id = %" PRId64,
              first.backfill_id);
    GL_CHECK_INT (gl_testdb_number (db, sql), 6);
    snprintf (sql, sizeof sql, "WITH d AS (DELETE FROM backfill_slices WHERE backfill_id = %" PRId64
                               " RETURNING 1) SELECT count(*) FROM d", first.backfill_id);
    GL_CHECK_INT (gl_testdb_number (db, sql), 6);

    //  A weekend and a holiday hold no bar: no slice
    const char *one [] = { "AAPL" };
    gl_backlog_request_t closed = { .symbols = one, .symbol_count = 1, .timeframe = GL_TF_1M,
                                    .from = DATE (2024, 3, 23), .to = DATE (2024, 3, 25) };
    gl_backlog_counts_t none = s_enqueue (backlog, &closed);
    GL_CHECK_INT (none.created + none.shared + none.stored, 0);
    closed.from = DATE (2024, 7, 4);
    closed.to = DATE (2024, 7, 5);
    none = s_enqueue (backlog, &closed);
    GL_CHECK_INT (none.created + none.shared + none.stored, 0);
}

//  A succeeded slice and a covered range are stored: not enqueued again.
static void
s_test_stored (gl_db_t *db, gl_backlog_t *backlog)
{
    const char *one [] = { "IBM" };
    gl_backlog_request_t request = { .symbols = one, .symbol_count = 1, .timeframe = GL_TF_1D,
                                     .from = DATE (2022, 1, 1), .to = DATE (2024, 1, 1) };
    gl_backlog_counts_t counts = s_enqueue (backlog, &request);
    GL_CHECK_INT (counts.created, 2);
    //  2022 succeeds; 2021 is covered by a range the coverage tracker knows
    GL_CHECK_INT (gl_testdb_number (db,
        "WITH claimed AS (SELECT * FROM queue_claim ('test', 10, 60) WHERE symbol = 'IBM'"
        " AND slice_from < '2023-01-01') SELECT count(*) FILTER (WHERE queue_complete (id,"
        " lease_token, 251)) FROM claimed"), 1);
    GL_CHECK_INT (gl_testdb_number (db,
        "WITH added AS (INSERT INTO coverage (symbol, timeframe, range_from, range_to) VALUES"
        " ('IBM', '1d', '2020-06-01', '2022-01-01') RETURNING 1) SELECT count(*) FROM added"), 1);
    request.from = DATE (2021, 1, 1);
    counts = s_enqueue (backlog, &request);
    GL_CHECK_INT (counts.created, 0);
    GL_CHECK_INT (counts.stored, 2);            //  2021 covered, 2022 succeeded
    GL_CHECK (counts.shared >= 0);
}

//  Nothing before the listing date, nothing that has not closed by now.
static void
s_test_listing_and_now (gl_db_t *db, gl_backlog_t *backlog)
{
    GL_CHECK_INT (gl_testdb_number (db, "WITH added AS (INSERT INTO symbols (ticker, listed_on) VALUES"
                                " ('NEWCO', '2024-02-15') RETURNING 1) SELECT count(*) FROM added"), 1);
    const char *one [] = { "NEWCO" };
    gl_backlog_request_t request = { .symbols = one, .symbol_count = 1, .timeframe = GL_TF_1H,
                                     .from = DATE (2024, 1, 1), .to = DATE (2024, 5, 1),
                                     .now = DATE (2024, 4, 10) + 16 * 3600 };
    gl_backlog_counts_t counts = s_enqueue (backlog, &request);
    GL_CHECK_INT (counts.created, 3);           //  February, March, April up to now
    //  April 1..9: 7 sessions of 7 bars; April 10 on the clock grid (1h bars
    //  09:00, 10:00 .. EDT): 13:00Z..14:00Z, 14:00Z..15:00Z and 15:00Z..16:00Z
    //  have closed by 16:00Z, 16:00Z..17:00Z has not
    GL_CHECK_INT (gl_testdb_number (db, "SELECT extract(epoch FROM max(slice_to))::bigint FROM job_runs"
                                " WHERE symbol = 'NEWCO'"), DATE (2024, 4, 10) + 16 * 3600);
    GL_CHECK_INT (gl_testdb_number (db, "SELECT count(*) FROM job_runs WHERE symbol = 'NEWCO'"
                                " AND slice_from < '2024-02-01'"), 0);
}

//  One enqueue from its own connection.
static void *
s_parallel_enqueue (void *argument)
{
    gl_db_t *db = gl_db_new (NULL, "gapless_test_backlog");
    gl_backlog_t *backlog = db? gl_backlog_new (db): NULL;
    const char *symbols [] = { "TSLA", "NVDA", "AMD" };
    gl_backlog_request_t request = { .symbols = symbols, .symbol_count = 3,
                                     .timeframe = GL_TF_5M, .from = DATE (2024, 5, 1),
                                     .to = DATE (2024, 6, 1) };
    gl_backlog_counts_t counts;
    char error [256];
    int *rc = (int *) argument;
    *rc = backlog? gl_backlog_enqueue (backlog, &request, &counts, error): -1;
    gl_backlog_destroy (&backlog);
    gl_db_destroy (&db);
    return NULL;
}

//  50 clients send the same request at once: one backfill, one set of slices.
static void
s_test_parallel (gl_db_t *db)
{
    pthread_t threads [PARALLEL];
    int results [PARALLEL];
    for (int index = 0; index < PARALLEL; index++)
        GL_CHECK_INT (pthread_create (&threads [index], NULL, s_parallel_enqueue, &results [index]), 0);
    int failed = 0;
    for (int index = 0; index < PARALLEL; index++) {
        pthread_join (threads [index], NULL);
        failed += results [index] != 0;
    }
    GL_CHECK_INT (failed, 0);
    //  May 2024: weeks of Apr 29, May 6, 13, 20, 27 for three symbols
    GL_CHECK_INT (gl_testdb_number (db, "SELECT count(*) FROM job_runs WHERE timeframe = '5m'"), 15);
    GL_CHECK_INT (gl_testdb_number (db, "SELECT count(*) FROM backfills WHERE timeframe = '5m'"), 1);
    GL_CHECK_INT (gl_testdb_number (db, "SELECT count(*) FROM backfill_runs l JOIN job_runs r"
                                " ON r.id = l.run_id WHERE r.timeframe = '5m'"), 15);
}

//  "Not now" gives the slice back without spending an attempt; a stale
//  token changes nothing.
static void
s_test_release (gl_db_t *db)
{
    int64_t runnable = gl_testdb_number (db, "SELECT count(*) FROM job_runs WHERE status = 'queued'");
    GL_CHECK (runnable >= 15);
    GL_CHECK_INT (gl_testdb_number (db,
        "WITH claimed AS (SELECT * FROM queue_claim ('test', 1000, 60))"
        " SELECT count(*) FILTER (WHERE queue_release (id, lease_token, 0, 'breaker_open',"
        " 'polygon breaker open')) FROM claimed"), runnable);
    GL_CHECK_INT (gl_testdb_number (db, "SELECT count(*) FROM job_runs WHERE error_class = 'breaker_open'"
                                " AND status = 'queued' AND attempt = 0"), runnable);
    GL_CHECK_INT (gl_testdb_number (db, "SELECT count(*) FILTER (WHERE queue_release (id,"
                                " gen_random_uuid (), 0, 'x', 'y')) FROM job_runs"), 0);
    //  A slice whose fetcher dies with it each time: queued again at once,
    //  each death an attempt, dead with worker_lost after the last
    GL_CHECK_INT (gl_testdb_number (db, "UPDATE job_runs SET max_attempts = 3 WHERE symbol = 'AMD'"
                                " AND slice_from = '2024-04-29 13:30+00' RETURNING attempt"), 0);
    for (int death = 1; death <= 3; death++) {
        GL_CHECK_INT (gl_testdb_number (db,
            "WITH target AS (UPDATE job_runs SET status = 'running', lease_owner = 'test',"
            " lease_token = gen_random_uuid (), lease_expires_at = now () + interval '1 minute'"
            " WHERE symbol = 'AMD' AND slice_from = '2024-04-29 13:30+00' RETURNING id, lease_token)"
            " SELECT count(*) FILTER (WHERE queue_lost (id, lease_token, 'worker_lost',"
            " 'fetcher.polygon/f1 left')) FROM target"), 1);
        GL_CHECK_INT (gl_testdb_number (db, "SELECT attempt FROM job_runs WHERE symbol = 'AMD'"
                                    " AND slice_from = '2024-04-29 13:30+00'"), death);
    }
    GL_CHECK_INT (gl_testdb_number (db, "SELECT count(*) FROM dead_letters WHERE symbol = 'AMD'"
                                " AND error_class = 'worker_lost'"), 1);
    GL_CHECK_INT (gl_testdb_number (db, "SELECT count(*) FROM job_runs WHERE symbol = 'AMD'"
                                " AND status = 'queued' AND next_attempt_at <= now ()"), 4);
}

//  Pausing or cancelling one backfill leaves the slices another needs.
static void
s_test_pause_cancel (gl_db_t *db, gl_backlog_t *backlog)
{
    const char *one [] = { "ORCL" };
    gl_backlog_request_t first = { .symbols = one, .symbol_count = 1, .timeframe = GL_TF_1D,
                                   .from = DATE (2018, 1, 1), .to = DATE (2020, 1, 1) };
    gl_backlog_request_t second = first;
    second.from = DATE (2019, 1, 1);
    second.to = DATE (2021, 1, 1);
    int64_t a = s_enqueue (backlog, &first).backfill_id;
    int64_t b = s_enqueue (backlog, &second).backfill_id;
    char sql [256];
    snprintf (sql, sizeof sql, "SELECT queue_pause_backfill (%" PRId64 ")", a);
    GL_CHECK_INT (gl_testdb_number (db, sql), 1);       //  2018 only: 2019 serves b too
    GL_CHECK_INT (gl_testdb_number (db, sql), -1);      //  already paused
    GL_CHECK_INT (gl_testdb_number (db, "SELECT count(*) FROM job_runs WHERE symbol = 'ORCL'"
                                " AND status = 'paused'"), 1);
    GL_CHECK_INT (gl_testdb_number (db, "SELECT count(*) FROM queue_claim ('test', 100, 60)"
                                " WHERE symbol = 'ORCL' AND slice_from < '2019-01-01'"), 0);
    snprintf (sql, sizeof sql, "SELECT queue_resume_backfill (%" PRId64 ")", a);
    GL_CHECK_INT (gl_testdb_number (db, sql), 1);
    snprintf (sql, sizeof sql, "SELECT queue_cancel_backfill (%" PRId64 ")", b);
    GL_CHECK_INT (gl_testdb_number (db, sql), 1);       //  2020 only: 2019 serves a
    GL_CHECK_INT (gl_testdb_number (db, sql), -1);
    GL_CHECK_INT (gl_testdb_number (db, "SELECT count(*) FROM job_runs WHERE symbol = 'ORCL'"
                                " AND status = 'cancelled' AND slice_from >= '2020-01-01'"), 1);
    GL_CHECK_INT (gl_testdb_number (db, "SELECT count(*) FROM job_runs WHERE symbol = 'ORCL'"
                                " AND status = 'cancelled'"), 1);
}

//  Counts running slices that name a provider.
static void
s_count_running (uint64_t run_id, const char *token, const char *provider,
                 int64_t lease_expires, void *argument)
{
    *(int64_t *) argument += strcmp (provider, "polygon") == 0 && strlen (token) == 36
                           && lease_expires > 0;
}

//  Claimed slices carry what routing needs; each outcome is fenced.
static void
s_test_outcomes (gl_db_t *db, gl_backlog_t *backlog)
{
    const char *one [] = { "QCOM" };
    gl_backlog_request_t request = { .symbols = one, .symbol_count = 1, .timeframe = GL_TF_1D,
                                     .from = DATE (2015, 1, 1), .to = DATE (2017, 1, 1),
                                     .priority = 50, .provider = "polygon" };
    GL_CHECK_INT (s_enqueue (backlog, &request).created, 2);
    gl_backlog_slice_t slices [2];
    GL_CHECK_INT (gl_backlog_claim (backlog, "scheduler/test", 2, 60, INT_MIN, INT_MAX, slices), 2);
    GL_CHECK_STR (slices [0].symbol, "QCOM");
    GL_CHECK_STR (slices [0].provider_pin, "polygon");
    GL_CHECK_INT (slices [0].timeframe, GL_TF_1D);
    GL_CHECK_INT (slices [0].from, DATE (2015, 1, 2));
    GL_CHECK_INT (strlen (slices [0].token), 36);
    uint64_t ids [] = { slices [0].run_id, slices [1].run_id };
    const char *providers [] = { "polygon", "polygon" };
    GL_CHECK_INT (gl_backlog_dispatched (backlog, ids, providers, 2), 0);
    GL_CHECK_INT (gl_testdb_number (db, "SELECT count(*) FROM job_runs WHERE symbol = 'QCOM'"
                                " AND provider = 'polygon'"), 2);
    int64_t running = 0;
    GL_CHECK (gl_backlog_running (backlog, s_count_running, &running) >= 2);
    GL_CHECK (running >= 2);

    //  Two providers refuse the first slice, one for lack of data
    GL_CHECK_INT (gl_backlog_refuse (backlog, ids [0], slices [0].token, "polygon", true,
                                     "no_data", "no bars"), 1);
    GL_CHECK_INT (gl_backlog_refuse (backlog, ids [0], slices [0].token, "polygon", true,
                                     "no_data", "again"), 0);        //  stale token
    gl_backlog_slice_t again [8];
    int claimed = gl_backlog_claim (backlog, "scheduler/test", 8, 60, INT_MIN, INT_MAX, again);
    GL_CHECK (claimed >= 1);
    GL_CHECK_INT (again [0].run_id, ids [0]);                        //  priority 50 first
    GL_CHECK_INT (again [0].refused_count, 1);
    GL_CHECK_STR (again [0].refused [0], "polygon");
    GL_CHECK_INT (again [0].empty_count, 1);
    GL_CHECK_INT (again [0].attempt, 0);
    GL_CHECK_INT (gl_backlog_complete_empty (backlog, ids [0], again [0].token), 1);
    GL_CHECK_INT (gl_testdb_number (db, "SELECT count(*) FROM job_runs WHERE symbol = 'QCOM'"
                                " AND status = 'succeeded' AND rows_written = 0"), 1);
    for (int index = 1; index < claimed; index++)
        GL_CHECK_INT (gl_backlog_release (backlog, again [index].run_id, again [index].token, 0,
                                          "test", "not this one"), 1);
    //  The second slice: a retryable failure spends an attempt, lost too
    GL_CHECK_INT (gl_backlog_fail (backlog, ids [1], slices [1].token, "server_error", "502",
                                   true, 0), 1);
    GL_CHECK_INT (gl_testdb_number (db, "SELECT attempt FROM job_runs WHERE symbol = 'QCOM'"
                                " AND status = 'failed_will_retry'"), 1);
    //  The first retry waits the backoff (5-10 s, jittered) ...
    GL_CHECK_INT (gl_testdb_number (db, "SELECT count(*) FROM job_runs WHERE symbol = 'QCOM'"
                                " AND status = 'failed_will_retry' AND next_attempt_at"
                                " BETWEEN updated_at + interval '5 s' AND updated_at + interval '10 s'"), 1);
    //  ... or the provider's retry-after when that is longer; a "not now"
    //  waits its delay and spends nothing
    GL_CHECK_INT (gl_testdb_number (db, "UPDATE job_runs SET status = 'running', lease_owner = 't',"
                                " lease_token = '00000000-0000-4000-8000-000000000001',"
                                " lease_expires_at = now () + interval '1 min'"
                                " WHERE symbol = 'QCOM' AND status = 'failed_will_retry' RETURNING 0"), 0);
    GL_CHECK_INT (gl_backlog_fail (backlog, ids [1], "00000000-0000-4000-8000-000000000001",
                                   "server_error", "503", true, 600), 1);
    GL_CHECK_INT (gl_testdb_number (db, "SELECT count(*) FROM job_runs WHERE id IN (SELECT id FROM"
                                " job_runs WHERE symbol = 'QCOM' AND attempt = 2) AND next_attempt_at"
                                " >= updated_at + interval '600 s'"), 1);
    GL_CHECK_INT (gl_testdb_number (db, "UPDATE job_runs SET status = 'running', lease_owner = 't',"
                                " lease_token = '00000000-0000-4000-8000-000000000002',"
                                " lease_expires_at = now () + interval '1 min'"
                                " WHERE symbol = 'QCOM' AND status = 'failed_will_retry' RETURNING 0"), 0);
    GL_CHECK_INT (gl_backlog_release (backlog, ids [1], "00000000-0000-4000-8000-000000000002",
                                      45, "rate_limited", "429"), 1);
    GL_CHECK_INT (gl_testdb_number (db, "SELECT count(*) FROM job_runs WHERE symbol = 'QCOM'"
                                " AND attempt = 2 AND status = 'queued' AND next_attempt_at"
                                " >= updated_at + interval '45 s'"), 1);
    GL_CHECK_INT (gl_backlog_lost (backlog, ids [1], "00000000-0000-4000-8000-000000000002",
                                   "worker_lost", "x"), 0);
    GL_CHECK (gl_backlog_rescue (backlog) >= 0);
}

//  Bad requests are refused with a reason; nothing is half enqueued.
static void
s_test_refusals (gl_db_t *db, gl_backlog_t *backlog)
{
    int64_t before = gl_testdb_number (db, "SELECT count(*) FROM job_runs");
    const char *bad [] = { "AAPL", "no spaces" };
    gl_backlog_request_t request = s_request (DATE (2024, 1, 1), DATE (2024, 2, 1));
    request.symbols = bad;
    gl_backlog_counts_t counts;
    char error [256] = "";
    GL_CHECK_INT (gl_backlog_enqueue (backlog, &request, &counts, error), -1);
    GL_CHECK (strstr (error, "no spaces") != NULL);
    request = s_request (DATE (2024, 2, 1), DATE (2024, 1, 1));
    GL_CHECK_INT (gl_backlog_enqueue (backlog, &request, &counts, error), -1);
    GL_CHECK (strstr (error, "from < to") != NULL);
    request = s_request (DATE (2024, 1, 1), INT64_MAX);
    GL_CHECK_INT (gl_backlog_enqueue (backlog, &request, &counts, error), -1);
    request = s_request (DATE (2024, 1, 1), DATE (2024, 2, 1));
    request.timeframe = GL_TF_1W;
    request.unit = GL_SLICE_MONTH;
    GL_CHECK_INT (gl_backlog_enqueue (backlog, &request, &counts, error), -1);
    GL_CHECK (strstr (error, "month") != NULL);
    //  1m bars of 10,000 symbols over 50 years: refused before any is cut
    static char tickers [10000][8];
    static const char *many [10000];
    for (int index = 0; index < 10000; index++) {
        snprintf (tickers [index], sizeof tickers [index], "S%d", index);
        many [index] = tickers [index];
    }
    request = s_request (DATE (1974, 1, 1), DATE (2024, 1, 1));
    request.timeframe = GL_TF_1M;
    request.symbols = many;
    request.symbol_count = 10000;
    GL_CHECK_INT (gl_backlog_enqueue (backlog, &request, &counts, error), -1);
    GL_CHECK (strstr (error, "more than the 5000000 slices one request may make") != NULL);
    GL_CHECK_INT (gl_testdb_number (db, "SELECT count(*) FROM job_runs"), before);
}

//  Completes every running slice of a symbol (claimed by the test).
static int64_t
s_complete_all (gl_db_t *db, const char *symbol)
{
    char sql [512];
    snprintf (sql, sizeof sql,
        "WITH claimed AS (SELECT * FROM queue_claim ('test', 100, 60) WHERE symbol = '%s')"
        " SELECT count(*) FILTER (WHERE queue_complete (id, lease_token, 1)) FROM claimed",
        symbol);
    return gl_testdb_number (db, sql);
}

//  refresh queues again what ended, pinned to the provider asked for, and
//  skips the coverage check: a refill.
static void
s_test_refresh (gl_db_t *db, gl_backlog_t *backlog)
{
    //  s_test_stored left IBM 1d: 2021 covered (no slice), 2022 succeeded,
    //  2023 queued
    const char *one [] = { "IBM" };
    gl_backlog_request_t request = { .symbols = one, .symbol_count = 1, .timeframe = GL_TF_1D,
                                     .from = DATE (2021, 1, 1), .to = DATE (2024, 1, 1),
                                     .refresh = true, .provider = "polygon" };
    gl_backlog_counts_t counts = s_enqueue (backlog, &request);
    GL_CHECK_INT (counts.created, 1);           //  2021, inside coverage
    GL_CHECK_INT (counts.refreshed, 1);         //  2022
    GL_CHECK_INT (counts.shared, 1);            //  2023, still queued
    GL_CHECK_INT (counts.stored, 0);
    GL_CHECK_INT (gl_testdb_number (db, "SELECT count(*) FROM job_runs WHERE symbol = 'IBM'"
        " AND slice_from = '2022-01-03' AND status = 'queued' AND attempt = 0"
        " AND provider_pin = 'polygon' AND finished_at IS NULL"), 1);
    //  Without refresh the same request is all shared now
    request.refresh = false;
    counts = s_enqueue (backlog, &request);
    GL_CHECK_INT (counts.refreshed, 0);
    GL_CHECK_INT (counts.created, 0);
}

//  Freshness: slices reach the bar forming now, and a succeeded slice
//  holding a provisional bar is queued again until a final version lands.
static void
s_test_freshness (gl_db_t *db, gl_backlog_t *backlog)
{
    const char *one [] = { "LIVE" };
    int64_t now = DATE (2024, 4, 10) + 14 * 3600 + 30 * 60 + 20;     //  10:30:20 New York
    gl_backlog_request_t request = { .symbols = one, .symbol_count = 1, .timeframe = GL_TF_1M,
                                     .from = now - 86400, .to = now, .now = now,
                                     .priority = 50, .freshness = true };
    gl_backlog_counts_t counts = s_enqueue (backlog, &request);
    GL_CHECK_INT (counts.created, 2);           //  April 9, April 10 so far
    //  The 10:30 bar has begun: the slice holds it; a backfill would not
    GL_CHECK_INT (gl_testdb_number (db, "SELECT extract(epoch FROM max(slice_to))::bigint"
                                    " FROM job_runs WHERE symbol = 'LIVE'"), now - 20 + 60);
    GL_CHECK_INT (s_complete_all (db, "LIVE"), 2);
    //  The fetcher stored the 10:30 bar provisional
    GL_CHECK_INT (gl_testdb_number (db, "WITH added AS (INSERT INTO ohlc_bars (symbol, timeframe,"
        " ts, provider, open, high, low, close, provisional, adjustment) VALUES ('LIVE', '1m',"
        " '2024-04-10 14:30:00+00', 'polygon', 1, 1, 1, 1, true, 'split') RETURNING 1)"
        " SELECT count(*) FROM added"), 1);
    counts = s_enqueue (backlog, &request);
    GL_CHECK_INT (counts.refreshed, 1);
    GL_CHECK_INT (counts.created, 0);
    GL_CHECK_INT (gl_testdb_number (db, "SELECT count(*) FROM job_runs WHERE symbol = 'LIVE'"
                                    " AND status = 'queued'"), 1);
    //  A final version from any provider ends it
    GL_CHECK_INT (s_complete_all (db, "LIVE"), 1);
    GL_CHECK_INT (gl_testdb_number (db, "WITH added AS (INSERT INTO ohlc_bars (symbol, timeframe,"
        " ts, provider, open, high, low, close, provisional, adjustment) VALUES ('LIVE', '1m',"
        " '2024-04-10 14:30:00+00', 'alpaca', 1, 1, 1, 1, false, 'split') RETURNING 1)"
        " SELECT count(*) FROM added"), 1);
    counts = s_enqueue (backlog, &request);
    GL_CHECK_INT (counts.refreshed, 0);
    //  Live work is claimed apart from bulk work
    gl_backlog_slice_t slices [4];
    gl_backlog_request_t bulk = { .symbols = one, .symbol_count = 1, .timeframe = GL_TF_1D,
                                  .from = DATE (2023, 1, 1), .to = DATE (2024, 1, 1) };
    s_enqueue (backlog, &bulk);
    request.now = request.to = now + 60;
    s_enqueue (backlog, &request);              //  10:31: a new forming slice
    GL_CHECK_INT (gl_backlog_claim (backlog, "scheduler/test", 4, 60, 30, INT_MAX, slices), 1);
    GL_CHECK_INT (slices [0].timeframe, GL_TF_1M);
    GL_CHECK_INT (gl_backlog_claim (backlog, "scheduler/test", 4, 60, 30, INT_MAX, slices), 0);
    GL_CHECK_INT (gl_backlog_claim (backlog, "scheduler/test", 4, 60, INT_MIN, 29, slices), 1);
    GL_CHECK_INT (slices [0].timeframe, GL_TF_1D);
}

//  Periodic definitions: each due one is taken once, then not until its
//  cadence has passed.
static void
s_test_periodic (gl_db_t *db, gl_backlog_t *backlog)
{
    gl_backlog_periodic_t runs [32];
    int due = gl_backlog_due (backlog, runs, 32);
    //  The seeds: T0 and T1 freshness and windows are enabled, T2's are not
    GL_CHECK_INT (due, 10);
    bool found = false;
    for (int index = 0; index < due; index++)
        if (strcmp (runs [index].name, "fresh_t0_1m") == 0) {
            found = true;
            GL_CHECK_STR (runs [index].tier, "T0");
            GL_CHECK_INT (runs [index].timeframe, GL_TF_1M);
            GL_CHECK_INT (runs [index].window, 86400);
            GL_CHECK_INT (runs [index].priority, 50);
            GL_CHECK (runs [index].freshness && runs [index].sessions_only);
            GL_CHECK_INT (runs [index].watchlist_id, 0);
        }
    GL_CHECK (found);
    GL_CHECK_INT (gl_backlog_due (backlog, runs, 32), 0);
    GL_CHECK_INT (gl_testdb_number (db, "WITH moved AS (UPDATE job_definitions SET last_run_at ="
        " now() - interval '61 seconds' WHERE name = 'fresh_t0_1m' RETURNING 1)"
        " SELECT count(*) FROM moved"), 1);
    GL_CHECK_INT (gl_backlog_due (backlog, runs, 32), 1);
    GL_CHECK_STR (runs [0].name, "fresh_t0_1m");
}

//  A symbol joining a tier is owed the tier's windows once; a symbol the
//  scheduler adds for a request is not; an arrival is taken once.
static void
s_test_arrivals (gl_db_t *db, gl_backlog_t *backlog)
{
    GL_CHECK_INT (gl_testdb_number (db, "SELECT count(*) FROM watchlist_pending"), 0);
    GL_CHECK_INT (gl_testdb_number (db, "WITH added AS (INSERT INTO symbols (ticker, tier)"
        " VALUES ('WATCH', 'T0') RETURNING 1) SELECT count(*) FROM added"), 1);
    gl_backlog_periodic_t runs [32];
    int count = gl_backlog_arrivals (backlog, runs, 32);
    GL_CHECK_INT (count, 4);                    //  15m, 1h, 4h, 1d
    GL_CHECK_INT (gl_backlog_arrivals (backlog, runs, 32), 4);      //  not taken by looking
    int64_t now = DATE (2024, 6, 3) + 20 * 3600;
    for (int index = 0; index < count; index++) {
        GL_CHECK_STR (runs [index].symbol, "WATCH");
        GL_CHECK (runs [index].watchlist_id > 0 && !runs [index].freshness);
        GL_CHECK (runs [index].calendars [GL_CALENDAR_XNYS]);
        const char *one [] = { "WATCH" };
        gl_backlog_request_t request = {
            .symbols = one, .symbol_count = 1, .timeframe = runs [index].timeframe,
            .from = now - runs [index].window, .to = now, .now = now,
            .priority = runs [index].priority, .definition_id = runs [index].definition_id,
            .watchlist_id = runs [index].watchlist_id };
        s_enqueue (backlog, &request);
        gl_backlog_counts_t counts;
        char error [256] = "";
        GL_CHECK_INT (gl_backlog_enqueue (backlog, &request, &counts, error), -1);
        GL_CHECK (strstr (error, "taken") != NULL);
    }
    GL_CHECK_INT (gl_testdb_number (db, "SELECT count(*) FROM backfills WHERE 'WATCH' = ANY (symbols)"
                                    " AND job_definition_id IS NOT NULL"), 4);
    GL_CHECK_INT (gl_backlog_arrivals (backlog, runs, 32), 0);
    //  Added by a request: owed nothing; moved to T1 later: owed T1's windows
    const char *auto_added [] = { "AUTO" };
    gl_backlog_request_t request = { .symbols = auto_added, .symbol_count = 1,
                                     .timeframe = GL_TF_1D, .from = DATE (2023, 1, 1),
                                     .to = DATE (2024, 1, 1) };
    s_enqueue (backlog, &request);
    GL_CHECK_INT (gl_testdb_number (db, "SELECT count(*) FROM watchlist_pending"), 0);
    GL_CHECK_INT (gl_testdb_number (db, "WITH moved AS (UPDATE symbols SET tier = 'T1' WHERE"
        " ticker = 'AUTO' RETURNING 1) SELECT count(*) FROM moved"), 1);
    GL_CHECK_INT (gl_testdb_number (db, "WITH moved AS (UPDATE symbols SET tier = 'T1' WHERE"
        " ticker = 'AUTO' RETURNING 1) SELECT count(*) FROM moved"), 1);
    GL_CHECK_INT (gl_testdb_number (db, "SELECT count(*) FROM watchlist_pending WHERE"
                                    " ticker = 'AUTO'"), 4);
}

//  Counts the busy calls of long work.
static void
s_count_busy (void *argument)
{
    (*(int *) argument)++;
}

//  An enqueue says it is busy at each statement and each COPY chunk, so
//  a request ten times bigger says so more often (a plan: nothing kept).
static void
s_test_busy (gl_backlog_t *backlog)
{
    static const char *symbols [100];
    static char names [100][8];
    for (int index = 0; index < 100; index++) {
        snprintf (names [index], sizeof names [index], "BZ%02d", index);
        symbols [index] = names [index];
    }
    int calls [2] = { 0, 0 };
    for (int size = 0; size < 2; size++) {
        gl_backlog_on_busy (backlog, s_count_busy, &calls [size]);
        gl_backlog_request_t request = {
            .symbols = symbols, .symbol_count = size? 100: 10, .timeframe = GL_TF_1M,
            .from = 1704067200, .to = 1711929600, .plan = true,    //  2024-01..03
        };
        gl_backlog_counts_t counts = s_enqueue (backlog, &request);
        GL_CHECK_INT (counts.created, size? 100 * 61: 10 * 61);
    }
    gl_backlog_on_busy (backlog, NULL, NULL);
    GL_CHECK (calls [0] >= 3);
    GL_CHECK (calls [1] > calls [0]);
}

int
main (void)
{
    gl_db_t *db = gl_testdb_new ("backlog");
    gl_backlog_t *backlog = db? gl_backlog_new (db): NULL;
    GL_CHECK (backlog != NULL);
    if (backlog) {
        s_test_idempotent_and_shared (db, backlog);
        s_test_stored (db, backlog);
        s_test_listing_and_now (db, backlog);
        s_test_parallel (db);
        s_test_release (db);
        s_test_pause_cancel (db, backlog);
        s_test_outcomes (db, backlog);
        s_test_refusals (db, backlog);
        s_test_refresh (db, backlog);
        s_test_freshness (db, backlog);
        s_test_periodic (db, backlog);
        s_test_arrivals (db, backlog);
        s_test_busy (backlog);
    }
    gl_backlog_destroy (&backlog);
    gl_db_destroy (&db);
    return gl_test_done ("test_backlog");
}
