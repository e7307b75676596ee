/*  test_writer — gl_writer against a real PostgreSQL: fresh bars by direct
    COPY, identical re-deliveries that rewrite nothing, provisional then
    final then revised bars, stale tokens and repeated deliveries that
    change nothing, parts in any order, forced writes of unfinished slices,
    overlapping writes, a poisoned batch, bars PostgreSQL cannot hold, bars outside their slice, slices whose last part never comes, runs split over two writers,
    point-in-time history, a server it cannot reach, and the bar policy
    against what is stored.
*/
#include "gl_capability.h"
#include "gl_testdb.h"
#include "gl_test.h"
#include "gl_writer.h"
#include <inttypes.h>
#include <stdlib.h>

#define T0 1704067200               //  2024-01-01 00:00 UTC
#define MINUTE 60

static gl_db_t *s_db;

//  Runs a query and returns the first value as an integer (-1 on error).
static long long
s_scalar (const char *sql)
{
    PGresult *result = PQexec (gl_db_conn (s_db), sql);
    long long value = -1;
    if (PQresultStatus (result) == PGRES_TUPLES_OK && PQntuples (result) == 1
    &&  !PQgetisnull (result, 0, 0))
        value = strtoll (PQgetvalue (result, 0, 0), NULL, 10);
    else
    if (PQresultStatus (result) != PGRES_TUPLES_OK)
        fprintf (stderr, "query failed: %s: %s", sql, PQresultErrorMessage (result));
    PQclear (result);
    return value;
}

//  Runs a query and copies the first value into text ("" on error).
static void
s_text (const char *sql, char *text, size_t size)
{
    PGresult *result = PQexec (gl_db_conn (s_db), sql);
    text [0] = 0;
    if (PQresultStatus (result) == PGRES_TUPLES_OK && PQntuples (result) == 1)
        snprintf (text, size, "%s", PQgetvalue (result, 0, 0));
    else
        fprintf (stderr, "query failed: %s: %s", sql, PQresultErrorMessage (result));
    PQclear (result);
}

//  A claimed slice.
typedef struct {
    uint64_t run_id;
    char token [65];
} lease_t;

//  Enqueues and claims a slice of symbol's bars of timeframe in [from, to).
static lease_t
s_claim_timeframe (const char *symbol, const char *timeframe, int64_t from, int64_t to,
                   double lease_seconds)
{
    lease_t lease = { 0 };
    char sql [512];
    snprintf (sql, sizeof sql,
        "SELECT queue_enqueue('%s', '%s', to_timestamp(%" PRId64 "), to_timestamp(%" PRId64 "))",
        symbol, timeframe, from, to);
    GL_CHECK (s_scalar (sql) > 0);
    snprintf (sql, sizeof sql, "SELECT id, lease_token FROM queue_claim('test', 1, %f)",
              lease_seconds);
    PGresult *result = PQexec (gl_db_conn (s_db), sql);
    GL_CHECK_INT (PQntuples (result), 1);
    if (PQntuples (result) == 1) {
        lease.run_id = strtoull (PQgetvalue (result, 0, 0), NULL, 10);
        snprintf (lease.token, sizeof lease.token, "%s", PQgetvalue (result, 0, 1));
    }
    PQclear (result);
    return lease;
}

//  Enqueues and claims a slice of symbol's 1m bars [from, to).
static lease_t
s_claim (const char *symbol, int64_t from, int64_t to, double lease_seconds)
{
    return s_claim_timeframe (symbol, "1m", from, to, lease_seconds);
}

//  A bars message of count 1m bars from first; prices move with close_shift.
static gl_msg_t *
s_bars (const lease_t *lease, const char *symbol, uint32_t part, bool last, int64_t first,
        int count, double close_shift, bool provisional)
{
    gl_msg_t *message = gl_msg_new (GL_MSG_BARS);
    message->bars.run_id = lease->run_id;
    snprintf (message->bars.lease_token, sizeof message->bars.lease_token, "%s", lease->token);
    snprintf (message->bars.provider, sizeof message->bars.provider, "polygon");
    snprintf (message->bars.adjustment, sizeof message->bars.adjustment, "split");
    snprintf (message->bars.symbol, sizeof message->bars.symbol, "%s", symbol);
    snprintf (message->bars.timeframe, sizeof message->bars.timeframe, "1m");
    message->bars.part = part;
    message->bars.last = last;
    for (int index = 0; index < count; index++) {
        int64_t ts = first + index * MINUTE;
        double base = 100 + (double) (ts % 997) / 10;
        gl_bar_t bar = { .ts = ts, .open = base, .high = base + 2, .low = base - 2,
                         .close = base + 1 + close_shift, .volume = 1000 + (double) (ts / MINUTE % 100),
                         .vwap = base + 0.5, .trades = 10, .has_vwap = true,
                         .has_trades = ts / MINUTE % 2 == 0, .provisional = provisional };
        gl_msg_add_bar (message, &bar);
    }
    return message;
}

//  Adds the message and checks it was taken.
static void
s_add (gl_writer_t *writer, gl_msg_t *message)
{
    GL_CHECK_INT (gl_writer_add (writer, &message), 0);
    GL_CHECK (message == NULL);
}

//  Counts the WRITTEN messages queued, checking the first against run_id.
static int
s_drain_written (gl_writer_t *writer, uint64_t run_id, uint64_t rows, uint64_t revisions)
{
    int count = 0;
    gl_msg_t *written;
    while ((written = gl_writer_next_written (writer))) {
        if (count++ == 0) {
            GL_CHECK_INT (written->written.run_id, run_id);
            GL_CHECK_INT (written->written.rows, rows);
            GL_CHECK_INT (written->written.revisions, revisions);
        }
        gl_msg_destroy (&written);
    }
    return count;
}

//  A run's status code: 1 succeeded, 2 running, 0 other; rows in *rows_p.
static int
s_run_state (uint64_t run_id, long long *rows_p)
{
    char sql [256];
    snprintf (sql, sizeof sql, "SELECT CASE status WHEN 'succeeded' THEN 1 WHEN 'running' THEN 2"
              " ELSE 0 END FROM job_runs WHERE id = %" PRIu64, run_id);
    int state = (int) s_scalar (sql);
    snprintf (sql, sizeof sql, "SELECT rows_written FROM job_runs WHERE id = %" PRIu64, run_id);
    *rows_p = s_scalar (sql);
    return state;
}

//  A fingerprint of every stored row of symbol, as_of included: equal
//  fingerprints mean no row was rewritten.
static long long
s_fingerprint (const char *symbol)
{
    char sql [512];
    snprintf (sql, sizeof sql,
        "SELECT coalesce(sum(hashtext(b::text)::bigint), 0) FROM ohlc_bars b WHERE symbol = '%s'",
        symbol);
    return s_scalar (sql);
}

//  How many bars of symbol are stored.
static long long
s_count (const char *symbol)
{
    char sql [256];
    snprintf (sql, sizeof sql, "SELECT count(*) FROM ohlc_bars WHERE symbol = '%s'", symbol);
    return s_scalar (sql);
}

//  Two slices of one series around a stored one (fetchers deliver out of
//  order) are fresh: they go straight in by COPY, not through the merge.
static void
s_test_interleaved (gl_writer_t *writer)
{
    lease_t middle = s_claim ("WEAVE", T0 + 100 * MINUTE, T0 + 200 * MINUTE, 600);
    s_add (writer, s_bars (&middle, "WEAVE", 0, true, T0 + 100 * MINUTE, 100, 0, false));
    GL_CHECK_INT (gl_writer_flush (writer, false), 0);
    GL_CHECK_INT (s_drain_written (writer, middle.run_id, 100, 0), 1);
    lease_t before = s_claim ("WEAVE", T0, T0 + 100 * MINUTE, 600);
    lease_t after = s_claim ("WEAVE", T0 + 200 * MINUTE, T0 + 300 * MINUTE, 600);
    s_add (writer, s_bars (&after, "WEAVE", 0, true, T0 + 200 * MINUTE, 100, 0, false));
    s_add (writer, s_bars (&before, "WEAVE", 0, true, T0, 100, 0, false));
    uint64_t direct = gl_writer_stats (writer)->direct_copies;
    uint64_t merges = gl_writer_stats (writer)->merges;
    GL_CHECK_INT (gl_writer_flush (writer, false), 0);
    GL_CHECK_INT (gl_writer_stats (writer)->direct_copies, direct + 1);
    GL_CHECK_INT (gl_writer_stats (writer)->merges, merges);
    GL_CHECK_INT (s_drain_written (writer, before.run_id, 100, 0), 2);
    GL_CHECK_INT (s_count ("WEAVE"), 300);
}

//  Fresh bars go straight in by COPY; the slice completes in the same
//  transaction; WRITTEN names the slice's range.
static void
s_test_fresh (gl_writer_t *writer)
{
    lease_t lease = s_claim ("FRESH", T0, T0 + 1000 * MINUTE, 600);
    s_add (writer, s_bars (&lease, "FRESH", 0, true, T0, 1000, 0, false));
    GL_CHECK_INT (gl_writer_ready_rows (writer), 1000);
    GL_CHECK_INT (gl_writer_held_messages (writer), 1);
    uint64_t direct = gl_writer_stats (writer)->direct_copies;
    GL_CHECK_INT (gl_writer_flush (writer, false), 0);
    GL_CHECK_INT (gl_writer_stats (writer)->direct_copies, direct + 1);
    GL_CHECK_INT (gl_writer_held_messages (writer), 0);
    gl_msg_t *written = gl_writer_next_written (writer);
    GL_CHECK (written != NULL);
    if (written) {
        GL_CHECK_INT (written->written.run_id, lease.run_id);
        GL_CHECK_STR (written->written.symbol, "FRESH");
        GL_CHECK_STR (written->written.timeframe, "1m");
        GL_CHECK_INT (written->written.from, T0);
        GL_CHECK_INT (written->written.to, T0 + 1000 * MINUTE);
        GL_CHECK_INT (written->written.rows, 1000);
        GL_CHECK_INT (written->written.revisions, 0);
    }
    gl_msg_destroy (&written);
    GL_CHECK (gl_writer_next_written (writer) == NULL);
    long long rows;
    GL_CHECK_INT (s_run_state (lease.run_id, &rows), 1);
    GL_CHECK_INT (rows, 1000);
    GL_CHECK_INT (s_count ("FRESH"), 1000);
    GL_CHECK_INT (s_scalar ("SELECT count(*) FROM ohlc_bars WHERE symbol = 'FRESH'"
                            " AND trade_count IS NULL"), 500);
    GL_CHECK_INT (s_scalar ("SELECT count(*) FROM ohlc_bars WHERE symbol = 'FRESH'"
                            " AND ts = '2024-01-01 00:01:00+00' AND vwap = open + 0.5 AND volume = 1021"), 1);
}

//  The same bars under a new slice: nothing is rewritten; changed bars are
//  updated and, being final, counted as revisions.
static void
s_test_redelivery (gl_writer_t *writer)
{
    long long before = s_fingerprint ("FRESH");
    lease_t lease = s_claim ("FRESH", T0, T0 + 1001 * MINUTE, 600);
    s_add (writer, s_bars (&lease, "FRESH", 0, true, T0, 1000, 0, false));
    gl_writer_stats_t stats = *gl_writer_stats (writer);
    GL_CHECK_INT (gl_writer_flush (writer, false), 0);
    GL_CHECK_INT (s_drain_written (writer, lease.run_id, 1000, 0), 1);
    GL_CHECK_INT (gl_writer_stats (writer)->inserted, stats.inserted);
    GL_CHECK_INT (gl_writer_stats (writer)->updated, stats.updated);
    GL_CHECK_INT (gl_writer_stats (writer)->rows, stats.rows + 1000);
    GL_CHECK_INT (s_fingerprint ("FRESH"), before);

    lease = s_claim ("FRESH", T0, T0 + 1100 * MINUTE, 600);
    s_add (writer, s_bars (&lease, "FRESH", 0, true, T0 + 900 * MINUTE, 200, 0.25, false));
    GL_CHECK_INT (gl_writer_flush (writer, false), 0);
    GL_CHECK_INT (s_drain_written (writer, lease.run_id, 200, 100), 1);
    GL_CHECK_INT (gl_writer_stats (writer)->inserted, stats.inserted + 100);
    GL_CHECK_INT (gl_writer_stats (writer)->updated, stats.updated + 100);
    GL_CHECK_INT (gl_writer_stats (writer)->revisions, stats.revisions + 100);
    GL_CHECK_INT (s_count ("FRESH"), 1100);
}

//  Provisional bars are replaced by final ones (not a revision); a late
//  provisional bar never replaces a final one.
static void
s_test_provisional (gl_writer_t *writer)
{
    lease_t lease = s_claim ("PROV", T0, T0 + 10 * MINUTE, 600);
    s_add (writer, s_bars (&lease, "PROV", 0, true, T0, 10, 0, true));
    GL_CHECK_INT (gl_writer_flush (writer, false), 0);
    GL_CHECK_INT (s_drain_written (writer, lease.run_id, 10, 0), 1);
    GL_CHECK_INT (s_scalar ("SELECT count(*) FROM ohlc_bars WHERE symbol = 'PROV' AND provisional"), 10);

    lease = s_claim ("PROV", T0, T0 + 11 * MINUTE, 600);
    s_add (writer, s_bars (&lease, "PROV", 0, true, T0, 10, 0.5, false));
    uint64_t updated = gl_writer_stats (writer)->updated;
    GL_CHECK_INT (gl_writer_flush (writer, false), 0);
    GL_CHECK_INT (s_drain_written (writer, lease.run_id, 10, 0), 1);
    GL_CHECK_INT (gl_writer_stats (writer)->updated, updated + 10);
    GL_CHECK_INT (s_scalar ("SELECT count(*) FROM ohlc_bars WHERE symbol = 'PROV' AND provisional"), 0);

    long long before = s_fingerprint ("PROV");
    lease = s_claim ("PROV", T0, T0 + 12 * MINUTE, 600);
    s_add (writer, s_bars (&lease, "PROV", 0, true, T0, 10, 0.75, true));
    GL_CHECK_INT (gl_writer_flush (writer, false), 0);
    GL_CHECK_INT (s_drain_written (writer, lease.run_id, 10, 0), 1);
    GL_CHECK_INT (s_fingerprint ("PROV"), before);
}

//  A delivery whose lease was taken back, and the same delivery twice,
//  change nothing and produce no WRITTEN.
static void
s_test_stale (gl_writer_t *writer)
{
    lease_t lease = s_claim ("STALE", T0, T0 + 10 * MINUTE, 0.01);
    GL_CHECK (gl_test_wait_until (s_scalar ("SELECT queue_rescue()") == 1, 5000));
    char sql [128];
    snprintf (sql, sizeof sql, "SELECT queue_cancel(%" PRIu64 ")::int", lease.run_id);
    GL_CHECK_INT (s_scalar (sql), 1);
    s_add (writer, s_bars (&lease, "STALE", 0, true, T0, 10, 0, false));
    uint64_t stale = gl_writer_stats (writer)->stale;
    GL_CHECK_INT (gl_writer_flush (writer, false), 0);
    GL_CHECK_INT (gl_writer_stats (writer)->stale, stale + 1);
    GL_CHECK_INT (s_drain_written (writer, 0, 0, 0), 0);
    GL_CHECK_INT (s_count ("STALE"), 0);
    GL_CHECK_INT (gl_writer_held_messages (writer), 0);

    lease = s_claim ("STALE", T0, T0 + 11 * MINUTE, 600);
    s_add (writer, s_bars (&lease, "STALE", 0, true, T0, 10, 0, false));
    GL_CHECK_INT (gl_writer_flush (writer, false), 0);
    GL_CHECK_INT (s_drain_written (writer, lease.run_id, 10, 0), 1);
    long long before = s_fingerprint ("STALE"), rows;
    s_add (writer, s_bars (&lease, "STALE", 0, true, T0, 10, 3, false));
    GL_CHECK_INT (gl_writer_flush (writer, false), 0);
    GL_CHECK_INT (gl_writer_stats (writer)->stale, stale + 2);
    GL_CHECK_INT (s_drain_written (writer, 0, 0, 0), 0);
    GL_CHECK_INT (s_fingerprint ("STALE"), before);
    GL_CHECK_INT (s_run_state (lease.run_id, &rows), 1);
    GL_CHECK_INT (rows, 10);

    gl_msg_t *forged = s_bars (&lease, "STALE", 0, true, T0, 1, 0, false);
    snprintf (forged->bars.lease_token, sizeof forged->bars.lease_token, "not-a-uuid");
    GL_CHECK_INT (gl_writer_add (writer, &forged), -1);
    GL_CHECK (forged == NULL);
}

//  Parts arrive out of order and twice; the slice completes once all are
//  in. A forced flush writes an unfinished slice without completing it.
static void
s_test_parts (gl_writer_t *writer)
{
    lease_t lease = s_claim ("PARTS", T0, T0 + 30 * MINUTE, 600);
    s_add (writer, s_bars (&lease, "PARTS", 2, true, T0 + 20 * MINUTE, 10, 0, false));
    s_add (writer, s_bars (&lease, "PARTS", 0, false, T0, 10, 0, false));
    uint64_t duplicates = gl_writer_stats (writer)->duplicate_parts;
    s_add (writer, s_bars (&lease, "PARTS", 0, false, T0, 10, 0, false));
    GL_CHECK_INT (gl_writer_stats (writer)->duplicate_parts, duplicates + 1);
    GL_CHECK_INT (gl_writer_held_messages (writer), 2);
    GL_CHECK_INT (gl_writer_ready_rows (writer), 0);
    GL_CHECK_INT (gl_writer_flush (writer, false), 0);
    GL_CHECK_INT (s_count ("PARTS"), 0);
    GL_CHECK_INT (gl_writer_flush (writer, true), 0);
    GL_CHECK_INT (s_count ("PARTS"), 20);
    GL_CHECK_INT (gl_writer_held_messages (writer), 0);
    long long rows;
    GL_CHECK_INT (s_run_state (lease.run_id, &rows), 2);
    GL_CHECK_INT (s_drain_written (writer, 0, 0, 0), 0);

    gl_msg_t *contradiction = s_bars (&lease, "PARTS", 3, false, T0, 1, 0, false);
    GL_CHECK_INT (gl_writer_add (writer, &contradiction), -1);
    s_add (writer, s_bars (&lease, "PARTS", 1, false, T0 + 10 * MINUTE, 10, 0, false));
    GL_CHECK_INT (gl_writer_ready_rows (writer), 10);
    GL_CHECK_INT (gl_writer_flush (writer, false), 0);
    GL_CHECK_INT (s_drain_written (writer, lease.run_id, 30, 0), 1);
    GL_CHECK_INT (s_run_state (lease.run_id, &rows), 1);
    GL_CHECK_INT (rows, 30);
    GL_CHECK_INT (s_count ("PARTS"), 30);
}

//  [t0,t2] then [t1,t3], twice, leaves what one write of [t0,t3] leaves;
//  two slices of one batch that share bars store each bar once.
static void
s_test_overlap (gl_writer_t *writer)
{
    for (int round = 0; round < 2; round++) {
        lease_t first = s_claim ("OVER", T0, T0 + (200 + round) * MINUTE, 600);
        s_add (writer, s_bars (&first, "OVER", 0, true, T0, 200, 0, false));
        GL_CHECK_INT (gl_writer_flush (writer, false), 0);
        GL_CHECK_INT (s_drain_written (writer, first.run_id, 200, 0), 1);
        lease_t second = s_claim ("OVER", T0 + 100 * MINUTE, T0 + (300 + round) * MINUTE, 600);
        s_add (writer, s_bars (&second, "OVER", 0, true, T0 + 100 * MINUTE, 200, 0, false));
        GL_CHECK_INT (gl_writer_flush (writer, false), 0);
        GL_CHECK_INT (s_drain_written (writer, second.run_id, 200, 0), 1);
    }
    lease_t whole = s_claim ("ONCE", T0, T0 + 300 * MINUTE, 600);
    s_add (writer, s_bars (&whole, "ONCE", 0, true, T0, 300, 0, false));
    GL_CHECK_INT (gl_writer_flush (writer, false), 0);
    GL_CHECK_INT (s_drain_written (writer, whole.run_id, 300, 0), 1);
    const char *columns = "timeframe, ts, provider, open, high, low, close, volume, vwap,"
                          " trade_count, provisional";
    char sql [1024];
    snprintf (sql, sizeof sql, "SELECT count(*) FROM ((SELECT %s FROM ohlc_bars WHERE symbol = 'OVER'"
              " EXCEPT SELECT %s FROM ohlc_bars WHERE symbol = 'ONCE') UNION ALL"
              " (SELECT %s FROM ohlc_bars WHERE symbol = 'ONCE'"
              " EXCEPT SELECT %s FROM ohlc_bars WHERE symbol = 'OVER')) difference",
              columns, columns, columns, columns);
    GL_CHECK_INT (s_scalar (sql), 0);
    GL_CHECK_INT (s_count ("OVER"), 300);

    //  Each slice's count is what landed of its own bars: 20 each, though
    //  the 10 they share are stored once (it was 10 for the first).
    lease_t left = s_claim ("BOTH", T0, T0 + 20 * MINUTE, 600);
    lease_t right = s_claim ("BOTH", T0 + 10 * MINUTE, T0 + 30 * MINUTE, 600);
    lease_t inner = s_claim ("BOTH", T0 + 5 * MINUTE, T0 + 25 * MINUTE, 600);
    s_add (writer, s_bars (&left, "BOTH", 0, true, T0, 20, 0, false));
    s_add (writer, s_bars (&right, "BOTH", 0, true, T0 + 10 * MINUTE, 20, 0, false));
    s_add (writer, s_bars (&inner, "BOTH", 0, true, T0 + 5 * MINUTE, 20, 0, false));
    uint64_t committed = gl_writer_stats (writer)->rows;
    GL_CHECK_INT (gl_writer_flush (writer, false), 0);
    int written_count = 0;
    gl_msg_t *written;
    while ((written = gl_writer_next_written (writer))) {
        GL_CHECK_INT (written->written.rows, 20);
        written_count++;
        gl_msg_destroy (&written);
    }
    GL_CHECK_INT (written_count, 3);
    GL_CHECK_INT (gl_writer_stats (writer)->rows, committed + 30);
    GL_CHECK_INT (s_count ("BOTH"), 30);
    GL_CHECK_INT (s_scalar ("SELECT count(*) FROM job_runs WHERE symbol = 'BOTH'"
                            " AND status = 'succeeded' AND rows_written = 20"), 3);
}

//  A bar PostgreSQL refuses (high < low) is isolated; the good ones land
//  and the slice completes with them.
static void
s_test_poison (gl_writer_t *writer)
{
    lease_t lease = s_claim ("POISON", T0, T0 + 100 * MINUTE, 600);
    gl_msg_t *message = s_bars (&lease, "POISON", 0, true, T0, 100, 0, false);
    message->bars.bars [37].high = message->bars.bars [37].low - 1;
    message->bars.bars [80].volume = -5;
    s_add (writer, message);
    uint64_t bad = gl_writer_stats (writer)->bad_rows;
    GL_CHECK_INT (gl_writer_flush (writer, false), 0);
    GL_CHECK_INT (gl_writer_stats (writer)->bad_rows, bad + 2);
    GL_CHECK_INT (s_drain_written (writer, lease.run_id, 98, 0), 1);
    GL_CHECK_INT (s_count ("POISON"), 98);
    GL_CHECK_INT (s_scalar ("SELECT count(*) FROM ohlc_bars WHERE symbol = 'POISON'"
                            " AND ts IN (to_timestamp(1704067200 + 37 * 60),"
                            " to_timestamp(1704067200 + 80 * 60))"), 0);
    long long rows;
    GL_CHECK_INT (s_run_state (lease.run_id, &rows), 1);
    GL_CHECK_INT (rows, 98);
}

//  A bar PostgreSQL cannot hold at all (its ts is past PostgreSQL's last
//  timestamp, or past what a timestamp can encode) is a data error like a
//  CHECK violation: isolated, counted and logged, while the good slice
//  beside it and the rest of its own slice land. Before, the range
//  check's error made every flush fail as "retry later".
static void
s_test_data_error (gl_writer_t *writer)
{
    lease_t good = s_claim ("GOOD", T0, T0 + 10 * MINUTE, 600);
    lease_t far = s_claim ("FAR", T0, T0 + 12 * MINUTE, 600);
    s_add (writer, s_bars (&good, "GOOD", 0, true, T0, 10, 0, false));
    gl_msg_t *message = s_bars (&far, "FAR", 0, true, T0, 12, 0, false);
    message->bars.bars [10].ts = 9224318016000 + 60;    //  PostgreSQL's end + 1 min
    message->bars.bars [11].ts = INT64_MAX;
    s_add (writer, message);
    const gl_writer_stats_t *stats = gl_writer_stats (writer);
    uint64_t refused = stats->bad_rows + stats->outside_rows;
    GL_CHECK_INT (gl_writer_flush (writer, false), 0);
    GL_CHECK_INT (stats->bad_rows + stats->outside_rows, refused + 2);
    GL_CHECK_INT (s_drain_written (writer, good.run_id, 10, 0), 2);
    GL_CHECK_INT (gl_writer_held_messages (writer), 0);
    GL_CHECK_INT (s_count ("GOOD"), 10);
    GL_CHECK_INT (s_count ("FAR"), 10);
    long long rows;
    GL_CHECK_INT (s_run_state (far.run_id, &rows), 1);
    GL_CHECK_INT (rows, 10);
}

//  A bars message of 1h bars at the given starts, from provider.
static gl_msg_t *
s_hourly_bars (const lease_t *lease, const char *symbol, const char *provider,
               const int64_t *starts, size_t count)
{
    gl_msg_t *message = s_bars (lease, symbol, 0, true, T0, 0, 0, false);
    snprintf (message->bars.provider, sizeof message->bars.provider, "%s", provider);
    snprintf (message->bars.timeframe, sizeof message->bars.timeframe, "1h");
    for (size_t index = 0; index < count; index++) {
        gl_bar_t bar = { .ts = starts [index], .open = 100, .high = 101, .low = 99,
                         .close = 100.5, .volume = 1000 };
        gl_msg_add_bar (message, &bar);
    }
    return message;
}

//  One grid per timeframe: the writer recorded the policy's clock grid
//  for 1h and 4h when it connected; Polygon's clock bars (14:00Z, 15:00Z
//  on 2024-01-02) land on it; a later
//  batch's session-aligned bars (Yahoo's 14:30Z, 15:30Z) are refused as
//  bad rows naming both grids, so 1h never interleaves two grids, while
//  the clock bar beside them lands and the slice completes.
static void
s_test_grid (gl_writer_t *writer)
{
    int64_t day = T0 + 86400;
    lease_t clock = s_claim_timeframe ("GRIDC", "1h", day, day + 86400, 600);
    int64_t clock_starts [] = { day + 14 * 3600, day + 15 * 3600 };
    s_add (writer, s_hourly_bars (&clock, "GRIDC", "polygon", clock_starts, 2));
    GL_CHECK_INT (gl_writer_flush (writer, false), 0);
    GL_CHECK_INT (s_drain_written (writer, clock.run_id, 2, 0), 1);
    char grid [32] = "";
    s_text ("SELECT grid FROM bar_grids WHERE timeframe = '1h'", grid, sizeof grid);
    GL_CHECK_STR (grid, "clock");

    lease_t session = s_claim_timeframe ("GRIDS", "1h", day, day + 86400, 600);
    int64_t session_starts [] = { day + 14 * 3600 + 1800, day + 15 * 3600 + 1800,
                                  day + 16 * 3600 };
    s_add (writer, s_hourly_bars (&session, "GRIDS", "yahoo", session_starts, 3));
    uint64_t bad = gl_writer_stats (writer)->bad_rows;
    GL_CHECK_INT (gl_writer_flush (writer, false), 0);
    GL_CHECK_INT (gl_writer_stats (writer)->bad_rows, bad + 2);
    GL_CHECK_INT (s_drain_written (writer, session.run_id, 1, 0), 1);
    GL_CHECK_INT (s_count ("GRIDS"), 1);
    GL_CHECK_INT (s_scalar ("SELECT count(*) FROM ohlc_bars WHERE timeframe = '1h'"
                            " AND extract(minute FROM ts AT TIME ZONE 'UTC') <> 0"), 0);
    //  1m bars are on both grids and never checked.
    GL_CHECK_INT (s_scalar ("SELECT count(*) FROM bar_grids"), 2);
}

//  One price basis per timeframe: every stored row carries the basis its
//  message named; the first 1m bars recorded split-adjusted, so a slice
//  of raw 1m bars (Alpaca's default) is refused row by row, naming both
//  bases, and completes empty; the bars view shows no raw price. Raw
//  prices over stored split-adjusted bars are refused the same way.
static void
s_test_adjustment (gl_writer_t *writer)
{
    GL_CHECK_INT (s_scalar ("SELECT count(*) FROM ohlc_bars WHERE timeframe = '1m'"
                            " AND adjustment IS DISTINCT FROM 'split'"), 0);
    char basis [32] = "";
    s_text ("SELECT adjustment FROM bar_adjustments WHERE timeframe = '1m'", basis, sizeof basis);
    GL_CHECK_STR (basis, "split");
    lease_t lease = s_claim ("RAWPX", T0, T0 + 10 * MINUTE, 600);
    gl_msg_t *message = s_bars (&lease, "RAWPX", 0, true, T0, 10, 0, false);
    snprintf (message->bars.adjustment, sizeof message->bars.adjustment, "raw");
    snprintf (message->bars.provider, sizeof message->bars.provider, "alpaca");
    s_add (writer, message);
    uint64_t bad = gl_writer_stats (writer)->bad_rows;
    GL_CHECK_INT (gl_writer_flush (writer, false), 0);
    GL_CHECK_INT (gl_writer_stats (writer)->bad_rows, bad + 10);
    GL_CHECK_INT (s_drain_written (writer, lease.run_id, 0, 0), 1);
    GL_CHECK_INT (s_count ("RAWPX"), 0);
    GL_CHECK_INT (s_scalar ("SELECT count(*) FROM bars WHERE adjustment IS DISTINCT FROM 'split'"), 0);

    //  A re-delivery of stored split-adjusted bars in raw prices would
    //  change their basis: refused row by row too, the stored bars kept.
    lease_t first = s_claim ("REBASE", T0, T0 + 5 * MINUTE, 600);
    s_add (writer, s_bars (&first, "REBASE", 0, true, T0, 5, 0, false));
    GL_CHECK_INT (gl_writer_flush (writer, false), 0);
    GL_CHECK_INT (s_drain_written (writer, first.run_id, 5, 0), 1);
    lease_t again = s_claim ("REBASE", T0, T0 + 5 * MINUTE - 1, 600);
    message = s_bars (&again, "REBASE", 0, true, T0, 5, 0.5, false);
    snprintf (message->bars.adjustment, sizeof message->bars.adjustment, "raw");
    s_add (writer, message);
    bad = gl_writer_stats (writer)->bad_rows;
    GL_CHECK_INT (gl_writer_flush (writer, false), 0);
    GL_CHECK_INT (gl_writer_stats (writer)->bad_rows, bad + 5);
    GL_CHECK_INT (s_drain_written (writer, again.run_id, 0, 0), 1);
    GL_CHECK_INT (s_scalar ("SELECT count(*) FROM ohlc_bars WHERE symbol = 'REBASE'"
                            " AND adjustment = 'split'"), 5);
    GL_CHECK_INT (s_scalar ("SELECT count(*) FROM bar_revisions WHERE symbol = 'REBASE'"), 0);
}

//  A live token stores only bars inside its slice's [from, to): bars in
//  1970, 30 days later, and at `to` itself are left out and counted, the
//  rest lands and the slice completes with them. Bars for another symbol
//  than the run's store nothing and are counted as mismatched.
static void
s_test_outside (gl_writer_t *writer)
{
    lease_t lease = s_claim ("OUTSIDE", T0, T0 + 10 * MINUTE, 600);
    gl_msg_t *message = s_bars (&lease, "OUTSIDE", 0, true, T0, 13, 0, false);
    message->bars.bars [10].ts = 0;
    message->bars.bars [11].ts = T0 + 30 * 86400;
    message->bars.bars [12].ts = T0 + 10 * MINUTE;
    s_add (writer, message);
    const gl_writer_stats_t *stats = gl_writer_stats (writer);
    uint64_t outside = stats->outside_rows, bad = stats->bad_rows;
    GL_CHECK_INT (gl_writer_flush (writer, false), 0);
    GL_CHECK_INT (stats->outside_rows, outside + 3);
    GL_CHECK_INT (stats->bad_rows, bad);
    GL_CHECK_INT (s_drain_written (writer, lease.run_id, 10, 0), 1);
    GL_CHECK_INT (s_count ("OUTSIDE"), 10);
    GL_CHECK_INT (s_scalar ("SELECT count(*) FROM ohlc_bars WHERE symbol = 'OUTSIDE'"
                            " AND ts >= '2024-01-01 00:00+00' AND ts < '2024-01-01 00:10+00'"), 10);
    long long rows;
    GL_CHECK_INT (s_run_state (lease.run_id, &rows), 1);
    GL_CHECK_INT (rows, 10);

    lease = s_claim ("MISMATCH", T0, T0 + 10 * MINUTE, 600);
    s_add (writer, s_bars (&lease, "OTHER", 0, true, T0, 10, 0, false));
    uint64_t mismatched = stats->mismatched;
    GL_CHECK_INT (gl_writer_flush (writer, false), 0);
    GL_CHECK_INT (stats->mismatched, mismatched + 1);
    GL_CHECK_INT (s_drain_written (writer, 0, 0, 0), 0);
    GL_CHECK_INT (s_count ("OTHER"), 0);
    GL_CHECK_INT (s_run_state (lease.run_id, &rows), 2);
}

//  A slice whose last part never comes: a forced flush writes its first
//  part without completing it, and once it is older than the configured
//  age it is dropped, with a second slice still holding unwritten parts;
//  a ready slice stays. The last part arriving after that alone completes
//  nothing.
static void
s_test_expire (void)
{
    gl_writer_options_t options = { .slice_max_age_ms = 1 };
    gl_writer_t *writer = gl_writer_new (NULL, gl_db_schema (s_db), &options);
    lease_t lease = s_claim ("AGED", T0, T0 + 20 * MINUTE, 600);
    s_add (writer, s_bars (&lease, "AGED", 0, false, T0, 10, 0, false));
    GL_CHECK_INT (gl_writer_flush (writer, true), 0);
    GL_CHECK_INT (s_count ("AGED"), 10);
    long long rows;
    GL_CHECK_INT (s_run_state (lease.run_id, &rows), 2);
    lease_t held = s_claim ("AGED", T0 + 20 * MINUTE, T0 + 40 * MINUTE, 600);
    s_add (writer, s_bars (&held, "AGED", 0, false, T0 + 20 * MINUTE, 10, 0, false));
    lease_t ready = s_claim ("AGED", T0 + 40 * MINUTE, T0 + 60 * MINUTE, 600);
    s_add (writer, s_bars (&ready, "AGED", 0, true, T0 + 40 * MINUTE, 20, 0, false));
    GL_CHECK (gl_test_wait_until ((gl_writer_expire (writer),
                                   gl_writer_stats (writer)->expired == 2), 5000));
    GL_CHECK_INT (gl_writer_held_messages (writer), 1);
    GL_CHECK_INT (gl_writer_ready_rows (writer), 20);
    GL_CHECK_INT (gl_writer_flush (writer, false), 0);
    GL_CHECK_INT (s_drain_written (writer, ready.run_id, 20, 0), 1);

    s_add (writer, s_bars (&lease, "AGED", 1, true, T0 + 10 * MINUTE, 10, 0, false));
    GL_CHECK_INT (gl_writer_ready_rows (writer), 0);
    GL_CHECK_INT (gl_writer_flush (writer, true), 0);
    GL_CHECK_INT (s_drain_written (writer, 0, 0, 0), 0);
    GL_CHECK_INT (s_run_state (lease.run_id, &rows), 2);
    GL_CHECK_INT (s_run_state (held.run_id, &rows), 2);
    GL_CHECK_INT (s_count ("AGED"), 40);
    GL_CHECK (gl_test_wait_until ((gl_writer_expire (writer),
                                   gl_writer_stats (writer)->expired == 3), 5000));
    GL_CHECK_INT (gl_writer_held_messages (writer), 0);
    gl_writer_destroy (&writer);
}

//  One version of symbol's bars: when it landed, and a fingerprint of its
//  values (as_of left out, so a point-in-time read can be compared).
typedef struct {
    char as_of [64];
    long long fingerprint;
} version_t;

//  A fingerprint of the bars a row source returns, as_of left out.
static long long
s_values_fingerprint (const char *source)
{
    char sql [768];
    snprintf (sql, sizeof sql, "SELECT coalesce(sum(hashtext(row (b.symbol, b.timeframe, b.ts,"
              " b.provider, b.open, b.high, b.low, b.close, b.volume, b.vwap, b.trade_count,"
              " b.provisional)::text)::bigint), 0) FROM %s b", source);
    return s_scalar (sql);
}

//  Writes one delivery of symbol's bars as a new slice and records the
//  version it leaves stored.
static version_t
s_write_version (gl_writer_t *writer, const char *symbol, int round, gl_msg_t *(*make) (const lease_t *))
{
    lease_t lease = s_claim (symbol, T0, T0 + (10 + round) * MINUTE, 600);
    s_add (writer, make (&lease));
    GL_CHECK_INT (gl_writer_flush (writer, false), 0);
    gl_msg_t *written = gl_writer_next_written (writer);
    GL_CHECK (written && written->written.run_id == lease.run_id && written->written.rows == 10);
    gl_msg_destroy (&written);
    GL_CHECK (gl_writer_next_written (writer) == NULL);
    version_t version;
    char sql [256], source [128];
    snprintf (sql, sizeof sql, "SELECT max(as_of)::text FROM ohlc_bars WHERE symbol = '%s'", symbol);
    s_text (sql, version.as_of, sizeof version.as_of);
    snprintf (source, sizeof source, "(SELECT * FROM ohlc_bars WHERE symbol = '%s')", symbol);
    version.fingerprint = s_values_fingerprint (source);
    return version;
}

//  The deliveries of s_test_history: provisional bars, then final ones,
//  then revised (every bar: the update-first path), then revised again
//  from the second bar on (the full merge), then the same again.
static gl_msg_t *
s_history_provisional (const lease_t *lease)
{
    return s_bars (lease, "HIST", 0, true, T0, 10, 0, true);
}
static gl_msg_t *
s_history_final (const lease_t *lease)
{
    return s_bars (lease, "HIST", 0, true, T0, 10, 0, false);
}
static gl_msg_t *
s_history_revised (const lease_t *lease)
{
    return s_bars (lease, "HIST", 0, true, T0, 10, 0.5, false);
}
static gl_msg_t *
s_history_revised_tail (const lease_t *lease)
{
    gl_msg_t *message = s_bars (lease, "HIST", 0, true, T0, 10, 0.75, false);
    message->bars.bars [0].close -= 0.25;       //  the first bar as stored
    return message;
}

//  Every replaced version is kept in bar_revisions, and ohlc_bars_as_of
//  and bars_as_of return each version at the time it was current.
static void
s_test_history (gl_writer_t *writer)
{
    version_t versions [5];
    versions [0] = s_write_version (writer, "HIST", 0, s_history_provisional);
    versions [1] = s_write_version (writer, "HIST", 1, s_history_final);
    versions [2] = s_write_version (writer, "HIST", 2, s_history_revised);
    versions [3] = s_write_version (writer, "HIST", 3, s_history_revised_tail);
    versions [4] = s_write_version (writer, "HIST", 4, s_history_revised_tail);
    GL_CHECK (versions [0].fingerprint != versions [1].fingerprint);
    GL_CHECK (versions [2].fingerprint != versions [3].fingerprint);
    GL_CHECK_INT (versions [4].fingerprint, versions [3].fingerprint);
    GL_CHECK_STR (versions [4].as_of, versions [3].as_of);
    //  10 provisional, 10 final, 9 revised (the first bar was identical).
    GL_CHECK_INT (s_scalar ("SELECT count(*) FROM bar_revisions WHERE symbol = 'HIST'"), 3);
    GL_CHECK_INT (s_scalar ("SELECT count(*) FROM bar_revisions r, unnest(r.ts) t"
                            " WHERE r.symbol = 'HIST' AND t BETWEEN r.first_ts AND r.last_ts"), 29);
    GL_CHECK_INT (s_scalar ("SELECT count(*) FROM bar_revisions r, unnest(r.provisional) p"
                            " WHERE r.symbol = 'HIST' AND p"), 10);
    GL_CHECK_INT (s_scalar ("SELECT count(*) FROM bar_revisions r, unnest(r.as_of) a"
                            " WHERE r.symbol = 'HIST' AND r.superseded_at <= a"), 0);
    for (int index = 0; index < 4; index++) {
        char source [512];
        snprintf (source, sizeof source, "ohlc_bars_as_of('HIST', '1m', to_timestamp(%d),"
                  " to_timestamp(%d), '%s')", T0, T0 + 10 * MINUTE, versions [index].as_of);
        GL_CHECK_INT (s_values_fingerprint (source), versions [index].fingerprint);
        snprintf (source, sizeof source, "bars_as_of('HIST', '1m', to_timestamp(%d),"
                  " to_timestamp(%d), '%s')", T0, T0 + 10 * MINUTE, versions [index].as_of);
        GL_CHECK_INT (s_values_fingerprint (source), versions [index].fingerprint);
    }
    char sql [512];
    snprintf (sql, sizeof sql, "SELECT count(*) FROM ohlc_bars_as_of('HIST', '1m',"
              " to_timestamp(%d), to_timestamp(%d), timestamptz '%s' - interval '1 microsecond')",
              T0, T0 + 10 * MINUTE, versions [0].as_of);
    GL_CHECK_INT (s_scalar (sql), 0);
}

//  A run split over two writers (an old fetcher), and parts reaching a
//  writer that never saw part 0: neither writer completes the slice, even
//  when forced, and both age its parts out; the run stays running for
//  its lease to expire.
static void
s_test_split_run (void)
{
    gl_writer_options_t options = { .slice_max_age_ms = 1 };
    gl_writer_t *first = gl_writer_new (NULL, gl_db_schema (s_db), &options);
    gl_writer_t *second = gl_writer_new (NULL, gl_db_schema (s_db), &options);
    lease_t lease = s_claim ("SPLIT", T0, T0 + 30 * MINUTE, 600);
    s_add (first, s_bars (&lease, "SPLIT", 0, false, T0, 10, 0, false));
    s_add (first, s_bars (&lease, "SPLIT", 2, true, T0 + 20 * MINUTE, 10, 0, false));
    s_add (second, s_bars (&lease, "SPLIT", 1, false, T0 + 10 * MINUTE, 10, 0, false));
    lease_t tail = s_claim ("SPLIT", T0 + 30 * MINUTE, T0 + 60 * MINUTE, 600);
    s_add (second, s_bars (&tail, "SPLIT", 1, false, T0 + 40 * MINUTE, 10, 0, false));
    s_add (second, s_bars (&tail, "SPLIT", 2, true, T0 + 50 * MINUTE, 10, 0, false));
    GL_CHECK_INT (gl_writer_ready_slices (first), 0);
    GL_CHECK_INT (gl_writer_ready_slices (second), 0);
    GL_CHECK_INT (gl_writer_flush (first, true), 0);
    GL_CHECK_INT (gl_writer_flush (second, true), 0);
    GL_CHECK (gl_writer_next_written (first) == NULL);
    GL_CHECK (gl_writer_next_written (second) == NULL);
    GL_CHECK_INT (gl_writer_stats (first)->slices + gl_writer_stats (second)->slices, 0);
    long long rows;
    GL_CHECK_INT (s_run_state (lease.run_id, &rows), 2);
    GL_CHECK_INT (s_run_state (tail.run_id, &rows), 2);
    GL_CHECK_INT (s_count ("SPLIT"), 50);
    GL_CHECK (gl_test_wait_until ((gl_writer_expire (first), gl_writer_expire (second),
                                   gl_writer_stats (first)->expired == 1
                                   && gl_writer_stats (second)->expired == 2), 5000));
    GL_CHECK_INT (gl_writer_held_messages (first) + gl_writer_held_messages (second), 0);
    GL_CHECK_INT (s_run_state (lease.run_id, &rows), 2);
    GL_CHECK_INT (s_run_state (tail.run_id, &rows), 2);
    gl_writer_destroy (&first);
    gl_writer_destroy (&second);
}

//  A writer that never held anything flushes (as the actor does when it
//  stops) without sorting an array it never allocated: the sanitized
//  build halts on qsort (NULL, 0, ...).
static void
s_test_nothing_pending (void)
{
    gl_writer_t *writer = gl_writer_new (NULL, gl_db_schema (s_db), NULL);
    GL_CHECK_INT (gl_writer_flush (writer, false), 0);
    GL_CHECK_INT (gl_writer_flush (writer, true), 0);
    GL_CHECK (gl_writer_next_written (writer) == NULL);
    GL_CHECK_INT (gl_writer_stats (writer)->failures, 0);
    gl_writer_destroy (&writer);
}

//  With no server, a flush fails and keeps everything for the next try.
static void
s_test_unreachable (void)
{
    gl_writer_t *writer = gl_writer_new ("postgresql:///gapless?host=/nonexistent", NULL, NULL);
    lease_t lease = { 1, "00000000-0000-0000-0000-000000000001" };
    s_add (writer, s_bars (&lease, "NOPE", 0, true, T0, 5, 0, false));
    GL_CHECK_INT (gl_writer_flush (writer, false), -1);
    GL_CHECK_INT (gl_writer_held_messages (writer), 1);
    GL_CHECK_INT (gl_writer_ready_rows (writer), 5);
    GL_CHECK_INT (gl_writer_stats (writer)->failures, 1);
    gl_writer_destroy (&writer);
    gl_writer_destroy (&writer);
    GL_CHECK (writer == NULL);
}

//  Puts in force the bar policy of a configuration with one key set
//  (none: the defaults).
static void
s_policy (const char *key, const char *value)
{
    char error [GL_CONFIG_ERROR_MAX] = "";
    gl_config_t *config = gl_config_load (NULL, error);
    if (config && key)
        gl_config_set (config, key, value);
    GL_CHECK_INT (gl_capability_configure (config, error), 0);
    gl_config_destroy (&config);
}

//  The bar policy against what is stored. Here 1m bars are stored
//  split-adjusted and 1h bars on the clock: a writer configured for raw
//  prices or session hours refuses to go on, naming the key, and changes
//  nothing recorded. In a new schema the same writers record their
//  policy (raw for every timeframe, replacing what 0008 seeded; session
//  1h), raw bars then land and split ones are refused; a timeframe that
//  holds no bar takes a changed policy.
static void
s_test_policy (void)
{
    char error [GL_CONFIG_ERROR_MAX] = "";
    s_policy ("bars/adjustment", "raw");
    gl_writer_t *writer = gl_writer_new (NULL, gl_db_schema (s_db), NULL);
    GL_CHECK_INT (gl_writer_check_policy (writer, error), -1);
    GL_CHECK (strstr (error, "config: bars/adjustment = 'raw' but 1m bars are stored with split"
                             " prices") != NULL);
    gl_writer_destroy (&writer);
    GL_CHECK_INT (s_scalar ("SELECT count(*) FROM bar_adjustments WHERE adjustment = 'split'"), 8);
    s_policy ("bars/grid_1h", "session");
    writer = gl_writer_new (NULL, gl_db_schema (s_db), NULL);
    GL_CHECK_INT (gl_writer_check_policy (writer, error), -1);
    GL_CHECK (strstr (error, "config: bars/grid_1h = 'session' but the 1h bars stored are on the"
                             " clock grid") != NULL);
    gl_writer_destroy (&writer);
    char grid [32] = "";
    s_text ("SELECT grid FROM bar_grids WHERE timeframe = '1h'", grid, sizeof grid);
    GL_CHECK_STR (grid, "clock");

    gl_db_t *fresh = gl_testdb_new ("writer_policy");
    GL_CHECK (fresh != NULL);
    gl_db_t *stored = s_db;
    s_db = fresh;
    s_policy ("bars/adjustment", "raw");
    writer = gl_writer_new (NULL, gl_db_schema (s_db), NULL);
    GL_CHECK_INT (gl_writer_check_policy (writer, error), 0);
    GL_CHECK_INT (s_scalar ("SELECT count(*) FROM bar_adjustments WHERE adjustment = 'raw'"), 8);
    lease_t raw = s_claim ("RAWOK", T0, T0 + 10 * MINUTE, 600);
    gl_msg_t *message = s_bars (&raw, "RAWOK", 0, true, T0, 10, 0, false);
    snprintf (message->bars.adjustment, sizeof message->bars.adjustment, "raw");
    s_add (writer, message);
    lease_t split = s_claim ("SPLITNO", T0, T0 + 10 * MINUTE, 600);
    s_add (writer, s_bars (&split, "SPLITNO", 0, true, T0, 10, 0, false));
    GL_CHECK_INT (gl_writer_flush (writer, false), 0);
    GL_CHECK_INT (gl_writer_stats (writer)->bad_rows, 10);
    GL_CHECK_INT (s_count ("RAWOK"), 10);
    GL_CHECK_INT (s_count ("SPLITNO"), 0);
    gl_writer_destroy (&writer);
    s_policy ("bars/grid_1h", "session");
    writer = gl_writer_new (NULL, gl_db_schema (s_db), NULL);
    GL_CHECK_INT (gl_writer_check_policy (writer, error), -1);
    GL_CHECK (strstr (error, "bars/adjustment = 'split' but 1m bars are stored with raw") != NULL);
    gl_writer_destroy (&writer);
    GL_CHECK_INT (s_scalar ("SELECT count(*) FROM bar_grids WHERE grid = 'clock'"), 2);
    GL_CHECK_INT (s_scalar ("WITH d AS (DELETE FROM ohlc_bars WHERE symbol = 'RAWOK' RETURNING 1)"
                            " SELECT count(*) FROM d"), 10);
    writer = gl_writer_new (NULL, gl_db_schema (s_db), NULL);
    GL_CHECK_INT (gl_writer_check_policy (writer, error), 0);
    gl_writer_destroy (&writer);
    s_text ("SELECT grid FROM bar_grids WHERE timeframe = '1h'", grid, sizeof grid);
    GL_CHECK_STR (grid, "session");
    GL_CHECK_INT (s_scalar ("SELECT count(*) FROM bar_adjustments WHERE adjustment = 'split'"), 8);
    s_db = stored;
    gl_db_destroy (&fresh);
    s_policy (NULL, NULL);
}

//  Runs every case and prints the summary.
int
main (void)
{
    s_db = gl_testdb_new ("writer");
    GL_CHECK (s_db != NULL);
    if (!s_db)
        return gl_test_done ("test_writer");
    s_test_nothing_pending ();
    gl_writer_t *writer = gl_writer_new (NULL, gl_db_schema (s_db), NULL);
    s_test_fresh (writer);
    s_test_interleaved (writer);
    s_test_redelivery (writer);
    s_test_provisional (writer);
    s_test_stale (writer);
    s_test_parts (writer);
    s_test_overlap (writer);
    s_test_poison (writer);
    s_test_data_error (writer);
    s_test_outside (writer);
    s_test_grid (writer);
    s_test_adjustment (writer);
    s_test_history (writer);
    s_test_expire ();
    s_test_split_run ();
    s_test_unreachable ();
    s_test_policy ();
    gl_writer_destroy (&writer);
    gl_db_destroy (&s_db);
    return gl_test_done ("test_writer");
}
