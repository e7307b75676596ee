/*  bench_coverage — the coverage tracker's costs, each beside a baseline
    measured in the same run:

    1. memory: 5,000 symbols x 2 years of 1m bars, covered session by
       session as the scheduler's slices land (one symbol in ten missing
       a few sessions), in bytes per symbol-timeframe; beside one range
       per slice (what a list of written slices would hold);
    2. GAPS in memory (gl_coverage_account with the gap rows) over a
       month and over the two years, p50/p99; beside counting the
       calendar's expected bars of the same range (the least a
       calendar-aware answer does);
    3. GAPS through the broker to a real gapless-coverage holding the same
       5,000 symbols, round trip p50/p99; beside a refused request (the
       transport and the actor loop alone);
    4. the continuity audit over ohlc_bars (windowed distinct counts, bar
       lists where they differ), rows/s; beside a plain SELECT count(*)
       of the same rows.

    Needs a PostgreSQL server found the way gapless finds one
    (DATABASE_URL, PG*, or tools/pg.sh start). Uses the schema
    gapless_test_bench_coverage; writes nothing in the working directory.
        build/tools/bench/bench_coverage [audit symbols] [--rows]
    --rows: the same figures as rows of bench_rows.h (no targets).
*/
#include "bench_rows.h"
#include "gl_coverage.h"
#include "gl_coverage_store.h"
#include "gl_glp.h"
#include "gl_process.h"
#include "gl_testdb.h"
#include <czmq.h>
#include <inttypes.h>
#include <malloc.h>

#define SYMBOLS 5000
#define DATE(y, m, d) gl_calendar_date_utc (y, m, d)
#define FROM DATE (2023, 1, 1)
#define TO DATE (2025, 1, 1)
#define QUERIES 20000
#define ROUND_TRIPS 2000

static gl_db_t *s_db;
static bool s_rows;               //  A GAPS row (microseconds): p50 and p99 beside the baseline's, ratio of p50s.
static void
s_row (const char *what, const char *span, double p50, double p99, const char *base_name,
       double base50, double base99)
{
    char name [96], measured [64], baseline [96];
    snprintf (name, sizeof name, "%s%s", what, span);
    snprintf (measured, sizeof measured, "p50 %.1f us, p99 %.1f us", p50, p99);
    snprintf (baseline, sizeof baseline, "%s p50 %.1f us, p99 %.1f us", base_name, base50, base99);
    bench_rows_print (name, measured, baseline, base50 > 0? p50 / base50: 0, NULL, 0);
}

//  --rows

//  Nanoseconds on the monotonic clock.
static int64_t
s_nanos (void)
{
    struct timespec now;
    clock_gettime (CLOCK_MONOTONIC, &now);
    return (int64_t) now.tv_sec * 1000000000 + now.tv_nsec;
}

//  Sorts durations.
static int
s_compare (const void *left, const void *right)
{
    int64_t a = *(const int64_t *) left, b = *(const int64_t *) right;
    return (a > b) - (a < b);
}

//  The p-th percentile of sorted durations, in microseconds.
static double
s_percentile (int64_t *durations, size_t count, double p)
{
    qsort (durations, count, sizeof (int64_t), s_compare);
    return (double) durations [(size_t) (p * (double) (count - 1))] / 1000.0;
}

//  The sessions of [FROM, TO): first bar and last bar's end, per day.
typedef struct {
    int64_t (*sessions) [2];
    size_t count;
} s_sessions_t;

static int
s_session_bar (int64_t bar_start, void *argument)
{
    s_sessions_t *sessions = (s_sessions_t *) argument;
    if (sessions->count == 0 || bar_start / 86400 != sessions->sessions [sessions->count - 1][0]
                                                      / 86400)
        sessions->sessions [sessions->count++][0] = bar_start;
    sessions->sessions [sessions->count - 1][1] = bar_start + 60;
    return 0;
}

static char s_symbol [SYMBOLS][16];

//  Covers every session of every symbol; symbol i % 10 == 3 misses three.
static void
s_fill (gl_coverage_t *coverage, const s_sessions_t *sessions)
{
    for (int symbol = 0; symbol < SYMBOLS; symbol++) {
        snprintf (s_symbol [symbol], sizeof s_symbol [symbol], "S%04d", symbol);
        gl_coverage_set_symbol (coverage, s_symbol [symbol], GL_CALENDAR_XNYS, "T2", 0);
        for (size_t session = 0; session < sessions->count; session++)
            if (symbol % 10 != 3 || session % 150 != 75)
                gl_coverage_cover (coverage, s_symbol [symbol], GL_TF_1M,
                                   sessions->sessions [session][0], sessions->sessions [session][1]);
    }
}

//  Counts gap rows (the answer builds them).
static int
s_gap_seen (const gl_coverage_gap_t *gap, void *argument)
{
    (*(size_t *) argument)++;
    return 0;
}

//  p50/p99 of answering [from, from + span) for random symbols, and of
//  counting its expected bars.
static void
s_bench_gaps (gl_coverage_t *coverage, gl_calendar_t *calendar, int64_t span, const char *label)
{
    int64_t *answer = malloc (QUERIES * sizeof (int64_t)), *count = malloc (QUERIES * sizeof (int64_t));
    size_t rows = 0;
    uint64_t seed = 42;
    for (int query = 0; query < QUERIES; query++) {
        seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
        int symbol = (int) ((seed >> 33) % SYMBOLS);
        int64_t room = (TO - FROM) - span;
        int64_t from = FROM + (room > 0? (int64_t) ((seed >> 17) % (uint64_t) room) / 60 * 60: 0);
        gl_coverage_report_t report;
        int64_t start = s_nanos ();
        gl_coverage_account (coverage, s_symbol [symbol], GL_TF_1M, from, from + span, &report,
                             s_gap_seen, &rows);
        answer [query] = s_nanos () - start;
        start = s_nanos ();
        gl_calendar_count_bars (calendar, GL_TF_1M, from, from + span);
        count [query] = s_nanos () - start;
    }
    double answer_p50 = s_percentile (answer, QUERIES, 0.5), answer_p99 = s_percentile (answer, QUERIES, 0.99);
    double count_p50 = s_percentile (count, QUERIES, 0.5), count_p99 = s_percentile (count, QUERIES, 0.99);
    if (s_rows)
        s_row ("coverage GAPS in memory, ", label, answer_p50, answer_p99, "count expected bars",
               count_p50, count_p99);
    else
        printf ("| GAPS in memory, %-8s | %8.1f | %8.1f | count expected bars | %8.1f | %8.1f | %5.2f |\n",
                label, answer_p50, answer_p99, count_p50, count_p99, answer_p50 / count_p50);
    free (answer);
    free (count);
}

//  --------------------------------------------------------------------------
//  Through the actor

//  Round trips of gaps requests for random symbols (or a bad one).
static void
s_round_trips (zsock_t *socket, bool refused, int64_t *durations)
{
    gl_msg_t *request = gl_msg_new (GL_MSG_GAPS);
    snprintf (request->gaps.timeframe, sizeof request->gaps.timeframe, "1m");
    request->gaps.from = DATE (2024, 3, 1);
    request->gaps.to = DATE (2024, 4, 1);
    for (int trip = 0; trip < ROUND_TRIPS; trip++) {
        snprintf (request->gaps.request_id, sizeof request->gaps.request_id, "b:%d", trip);
        snprintf (request->gaps.symbol, sizeof request->gaps.symbol, "%s",
                  refused? "NOT A TICKER": s_symbol [(trip * 7919) % SYMBOLS]);
        int64_t start = s_nanos ();
        gl_glp_send (socket, GL_WIRE_SEND, "coverage", request);
        gl_msg_t *reply = gl_glp_reply (socket, request->gaps.request_id, 5000);
        durations [trip] = s_nanos () - start;
        if (!reply || reply->reply.ok == refused)
            fprintf (stderr, "bench_coverage: unexpected reply to %s\n", request->gaps.symbol);
        gl_msg_destroy (&reply);
    }
    gl_msg_destroy (&request);
}

//  Starts a broker and the tracker on the bench schema (holding the
//  symbols' coverage) and measures round trips.
static void
s_bench_actor (void)
{
    char endpoint [64], heartbeat [] = "1000", broker [512], tracker [512];
    snprintf (endpoint, sizeof endpoint, "tcp://127.0.0.1:%d", gl_process_free_port ());
    snprintf (broker, sizeof broker, "%s", GL_BROKER_PATH);
    snprintf (tracker, sizeof tracker, "%s", GL_COVERAGE_PATH);
    setenv ("GAPLESS_COVERAGE_AUDIT_MS", "86400000", 1);     //  no audit while timing
    char *broker_argv [] = { broker, "--bind", endpoint, "--heartbeat-ms", heartbeat, NULL };
    char *tracker_argv [] = { tracker, "--broker", endpoint, "--schema",
                              "gapless_test_bench_coverage", NULL };
    pid_t broker_pid = gl_process_start (broker_argv, "/dev/null");
    pid_t tracker_pid = gl_process_start (tracker_argv, "/dev/null");
    zsock_t *socket = zsock_new_dealer (endpoint);
    gl_msg_t *ready = gl_msg_new (GL_MSG_READY);
    snprintf (ready->ready.service, sizeof ready->ready.service, "bench");
    snprintf (ready->ready.instance, sizeof ready->ready.instance, "b1");
    ready->ready.credit = 1000;
    gl_glp_send (socket, GL_WIRE_READY, NULL, ready);
    gl_msg_destroy (&ready);
    //  Wait for the tracker: until one request is answered
    gl_msg_t *probe = gl_msg_new (GL_MSG_GAPS), *reply = NULL;
    snprintf (probe->gaps.request_id, sizeof probe->gaps.request_id, "probe");
    snprintf (probe->gaps.symbol, sizeof probe->gaps.symbol, "S0001");
    snprintf (probe->gaps.timeframe, sizeof probe->gaps.timeframe, "1m");
    probe->gaps.from = FROM;
    probe->gaps.to = TO;
    for (int attempt = 0; attempt < 60 && !reply; attempt++) {
        gl_glp_send (socket, GL_WIRE_SEND, "coverage", probe);
        reply = gl_glp_reply (socket, "probe", 1000);
    }
    gl_msg_destroy (&probe);
    if (reply) {
        int64_t *answered = malloc (ROUND_TRIPS * sizeof (int64_t));
        int64_t *refused = malloc (ROUND_TRIPS * sizeof (int64_t));
        s_round_trips (socket, false, answered);
        s_round_trips (socket, true, refused);
        double p50 = s_percentile (answered, ROUND_TRIPS, 0.5);
        double p99 = s_percentile (answered, ROUND_TRIPS, 0.99);
        double base50 = s_percentile (refused, ROUND_TRIPS, 0.5);
        double base99 = s_percentile (refused, ROUND_TRIPS, 0.99);
        if (s_rows)
            s_row ("coverage GAPS via broker, ", "month", p50, p99, "refused request", base50, base99);
        else
            printf ("| GAPS via broker, month  | %8.1f | %8.1f | refused request     | %8.1f | %8.1f | %5.2f |\n",
                    p50, p99, base50, base99, p50 / base50);
        free (answered);
        free (refused);
    }
    else
        fprintf (stderr, "bench_coverage: the tracker did not answer\n");
    gl_msg_destroy (&reply);
    zsock_destroy (&socket);
    gl_process_stop (tracker_pid, SIGTERM);
    gl_process_stop (broker_pid, SIGTERM);
}

//  --------------------------------------------------------------------------
//  The audit

//  Seconds of a query's run.
static double
s_time_query (const char *sql, int64_t *value)
{
    int64_t start = s_nanos ();
    PGresult *result = PQexec (gl_db_conn (s_db), sql);
    double seconds = (double) (s_nanos () - start) / 1e9;
    if (PQresultStatus (result) == PGRES_TUPLES_OK && value)
        *value = strtoll (PQgetvalue (result, 0, 0), NULL, 10);
    else
    if (PQresultStatus (result) != PGRES_TUPLES_OK && PQresultStatus (result) != PGRES_COMMAND_OK)
        fprintf (stderr, "bench_coverage: %s: %s", sql, PQresultErrorMessage (result));
    PQclear (result);
    return seconds;
}

//  Stores a year of 1m bars for the first count symbols, deletes a few,
//  then times one audit pass against a plain count of the same rows.
static void
s_bench_audit (const s_sessions_t *sessions, int count)
{
    size_t size = sessions->count * 24 + 16;
    char *firsts = malloc (size), *lasts = malloc (size), *sql = malloc (2 * size + 1024);
    size_t used_firsts = (size_t) snprintf (firsts, size, "{"), used_lasts = (size_t) snprintf (lasts, size, "{");
    size_t year = 0;
    for (size_t session = 0; session < sessions->count; session++)
        if (sessions->sessions [session][0] >= DATE (2024, 1, 1)) {
            used_firsts += (size_t) snprintf (firsts + used_firsts, size - used_firsts, "%s%" PRId64,
                                              year? ",": "", sessions->sessions [session][0]);
            used_lasts += (size_t) snprintf (lasts + used_lasts, size - used_lasts, "%s%" PRId64,
                                             year? ",": "", sessions->sessions [session][1] - 60);
            year++;
        }
    snprintf (firsts + used_firsts, size - used_firsts, "}");
    snprintf (lasts + used_lasts, size - used_lasts, "}");
    snprintf (sql, 2 * size + 1024, "INSERT INTO ohlc_bars (symbol, timeframe, ts, provider, open,"
              " high, low, close) SELECT 'S' || lpad(n::text, 4, '0'), '1m', generate_series("
              "to_timestamp(f), to_timestamp(l), interval '1 minute'), 'polygon', 1, 1, 1, 1"
              "  FROM generate_series(0, %d) AS n, unnest('%s'::bigint[], '%s'::bigint[]) AS u (f, l)",
              count - 1, firsts, lasts);
    s_time_query (sql, NULL);
    //  A bar gone from every tenth symbol: those windows are read bar by bar
    s_time_query ("DELETE FROM ohlc_bars WHERE right(symbol, 1) = '3'"
                  " AND ts = '2024-06-03 15:31+00'", NULL);
    s_time_query ("VACUUM ANALYZE ohlc_bars", NULL);
    gl_coverage_t *coverage = gl_coverage_new ();
    for (int symbol = 0; symbol < count; symbol++)
        gl_coverage_cover (coverage, s_symbol [symbol], GL_TF_1M, DATE (2024, 1, 1), DATE (2025, 1, 1));
    gl_provider_t allowed [] = { GL_PROVIDER_POLYGON };
    gl_coverage_cursor_t cursor = GL_COVERAGE_CURSOR_START;
    const char *symbol;
    gl_timeframe_t timeframe;
    int64_t from, to, rows = 0, windows = 0, mismatched = 0;
    int64_t start = s_nanos ();
    while (gl_coverage_next_window (coverage, &cursor, 0, &symbol, &timeframe, &from, &to)) {
        int64_t needed = gl_coverage_needed (coverage, symbol, timeframe, from, to);
        int64_t stored = gl_coverage_store_count (s_db, symbol, timeframe, from, to);
        windows++;
        rows += stored;
        if (stored != needed) {
            int64_t *starts = NULL;
            int64_t read = gl_coverage_store_starts (s_db, symbol, timeframe, from, to, &starts);
            gl_coverage_outcome_t outcome;
            gl_coverage_apply (coverage, symbol, timeframe, from, to, starts, (size_t) read,
                               GL_PROVIDER_INVALID, allowed, 1, &outcome);
            free (starts);
            mismatched++;
        }
    }
    double audit = (double) (s_nanos () - start) / 1e9;
    int64_t counted = 0, windowed = 0;
    double plain = s_time_query ("SELECT count(*) FROM ohlc_bars WHERE timeframe = '1m'"
                                 " AND symbol LIKE 'S%'", &counted);
    //  The same windows, counted plainly
    double per_window = 0;
    cursor = (gl_coverage_cursor_t) GL_COVERAGE_CURSOR_START;
    while (gl_coverage_next_window (coverage, &cursor, 0, &symbol, &timeframe, &from, &to)) {
        int64_t value = 0;
        snprintf (sql, 2 * size + 1024, "SELECT count(*) FROM ohlc_bars WHERE symbol = '%s'"
                  " AND timeframe = '1m' AND ts >= to_timestamp(%" PRId64 ") AND ts <"
                  " to_timestamp(%" PRId64 ")", symbol, from, to);
        per_window += s_time_query (sql, &value);
        windowed += value;
    }
    double audit_rate = (double) rows / audit;
    if (s_rows) {
        char name [64], measured [64], baseline [64];
        snprintf (name, sizeof name, "coverage audit, %d symbols x 2024 of 1m", count);
        snprintf (measured, sizeof measured, "%.0f rows/s", audit_rate);
        snprintf (baseline, sizeof baseline, "SELECT count(*) per window %.0f rows/s",
                  (double) windowed / per_window);
        bench_rows_print (name, measured, baseline, audit_rate / ((double) windowed / per_window),
                          NULL, 0);
    }
    else {
        printf ("| audit (windowed DISTINCT ts, bar lists where short) | %.0f rows/s | %" PRId64
                " rows, %" PRId64 " windows, %" PRId64 " read bar by bar |\n", audit_rate, rows,
                windows, mismatched);
        printf ("| baseline: one SELECT count(*) of the same rows | %.0f rows/s | ratio %.2f |\n",
                (double) counted / plain, audit_rate / ((double) counted / plain));
        printf ("| baseline: SELECT count(*) per window | %.0f rows/s | ratio %.2f |\n",
                (double) windowed / per_window, audit_rate / ((double) windowed / per_window));
    }
    gl_coverage_destroy (&coverage);
    free (firsts);
    free (lasts);
    free (sql);
}

//  Writes the symbols' coverage, one merged range each, for the actor.
static void
s_save_all (gl_coverage_t *coverage)
{
    s_time_query ("INSERT INTO symbols (ticker) SELECT 'S' || lpad(n::text, 4, '0')"
                  "  FROM generate_series(0, 4999) AS n", NULL);
    for (size_t index = 0; index < gl_coverage_count (coverage); index++)
        gl_coverage_store_save (s_db, coverage, index);
}

int
main (int argc, char **argv)
{
    s_rows = bench_rows_requested (&argc, argv);
    int audit_symbols = argc > 1? atoi (argv [1]): 20;
    if (audit_symbols < 1 || audit_symbols > SYMBOLS) {
        fprintf (stderr, "usage: bench_coverage [audit symbols, 1..5000]\n");
        return 2;
    }
    s_db = gl_testdb_new ("bench_coverage");
    gl_calendar_t *calendar = gl_calendar_new (GL_CALENDAR_XNYS);
    if (!s_db || !calendar)
        return 1;
    s_sessions_t sessions = { calloc (1000, sizeof (int64_t [2])), 0 };
    gl_calendar_each_bar (calendar, GL_TF_1M, FROM, TO, s_session_bar, &sessions);

    //  1. Memory
    size_t before = mallinfo2 ().uordblks;
    gl_coverage_t *coverage = gl_coverage_new ();
    int64_t start = s_nanos ();
    s_fill (coverage, &sessions);
    double fill = (double) (s_nanos () - start) / 1e9;
    size_t after = mallinfo2 ().uordblks;
    gl_rangeset_t *slices = gl_rangeset_new ();
    size_t slices_before = mallinfo2 ().uordblks;
    for (size_t session = 0; session < sessions.count; session++)
        gl_rangeset_add (slices, sessions.sessions [session][0], sessions.sessions [session][1]);
    size_t slices_after = mallinfo2 ().uordblks;
    double memory_ratio = (double) (after - before) / SYMBOLS / (double) (slices_after - slices_before);
    if (s_rows) {
        char measured [64], baseline [64];
        snprintf (measured, sizeof measured, "%zu bytes", (after - before) / SYMBOLS);
        snprintf (baseline, sizeof baseline, "one range per slice %zu bytes",
                  slices_after - slices_before);
        bench_rows_print ("coverage memory per symbol-timeframe, 5000 sym x 2 y", measured,
                          baseline, memory_ratio, NULL, 0);
    }
    else {
        printf ("bench_coverage: %d symbols x %zu sessions of 1m (2023-2024), covered slice by"
                " slice in %.2f s\n\n", SYMBOLS, sessions.count, fill);
        printf ("| measure | tracker | | baseline | | | ratio |\n|---|---|---|---|---|---|---|\n");
        printf ("| memory per symbol-timeframe | %zu bytes | | one range per slice | %zu bytes | |"
                " %.3f |\n", (after - before) / SYMBOLS, slices_after - slices_before, memory_ratio);
    }
    gl_rangeset_destroy (&slices);

    //  2. GAPS in memory
    if (!s_rows)
        printf ("\n| GAPS (microseconds) | p50 | p99 | baseline | p50 | p99 | p50 ratio |\n"
                "|---|---|---|---|---|---|---|\n");
    s_bench_gaps (coverage, calendar, 31 * 86400, "month");
    s_bench_gaps (coverage, calendar, TO - FROM - 86400, "2 years");

    //  3. Through the actor
    s_save_all (coverage);
    s_bench_actor ();

    //  4. The audit
    if (!s_rows)
        printf ("\n| continuity audit, %d symbols x 2024 of 1m | rows/s | |\n|---|---|---|\n",
                audit_symbols);
    s_bench_audit (&sessions, audit_symbols);
    gl_coverage_destroy (&coverage);
    gl_calendar_destroy (&calendar);
    free (sessions.sessions);
    gl_db_destroy (&s_db);
    return 0;
}
