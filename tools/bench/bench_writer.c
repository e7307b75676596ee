/*  bench_writer — rows/s of the writer actor (fed over a real broker) for
    fresh bars, identical re-deliveries and changed re-deliveries, beside
    baselines on the same table in the same run: a raw binary COPY of the
    same rows, and a plain staging-table merge (COPY to a temp table, then
    INSERT ... SELECT ... ON CONFLICT DO UPDATE of every row).

    Needs a PostgreSQL server found the way gapless finds one (DATABASE_URL,
    PG*, or tools/pg.sh start). Uses the schema gapless_test_bench_writer.
        build/tools/bench/bench_writer [slices] [bars per slice] [changed pairs] [--rows]
    --rows: the writer's three rows of bench_rows.h (fresh and changed: the
    median of the pairs when there are any; the pairs count both).
*/
#include "bench_rows.h"
#include "gl_msg.h"
#include "gl_pgcopy.h"
#include "gl_testdb.h"
#include "gl_wire.h"
#include <czmq.h>
#include <inttypes.h>
#include <signal.h>
#include <sys/wait.h>

#define T0 1577923200               //  2020-01-02 00:00 UTC
#define WEEK (86400 * 7)            //  each slice's bars start a week after the last's
//  Every stored row names its basis, as the writer's do: a re-delivery
//  then changes prices, never the basis (which would run 0008's check).
#define COLUMNS GL_PGCOPY_COLUMNS

static gl_db_t *s_db;
static int s_slices = 40, s_bars = 5000, s_pairs = 5;

//  Seconds on the monotonic clock.
static double
s_now (void)
{
    return zclock_usecs () / 1e6;
}

//  Runs a statement, reporting a failure on stderr.
static void
s_exec (const char *sql)
{
    PGresult *result = PQexec (gl_db_conn (s_db), sql);
    if (PQresultStatus (result) != PGRES_COMMAND_OK && PQresultStatus (result) != PGRES_TUPLES_OK)
        fprintf (stderr, "bench_writer: %s: %s", sql, PQresultErrorMessage (result));
    PQclear (result);
}

//  The bar index of slice at position; shift moves the close.
static gl_bar_t
s_bar (int slice, int index, double shift)
{
    double base = 100 + index % 50;
    return (gl_bar_t) { .ts = T0 + (int64_t) slice * WEEK + index * 60, .open = base,
                        .high = base + 2, .low = base - 2, .close = base + shift,
                        .volume = 1000, .vwap = base, .trades = 7, .has_vwap = true,
                        .has_trades = true };
}

//  COPYs every row in binary into table; returns the seconds it took.
static double
s_copy (const char *table, double shift)
{
    double start = s_now ();
    gl_pgcopy_t copy;
    gl_pgcopy_open (&copy, gl_db_conn (s_db), table);
    for (int slice = 0; slice < s_slices; slice++)
        for (int index = 0; index < s_bars; index++) {
            gl_bar_t bar = s_bar (slice, index, shift);
            gl_pgcopy_row (&copy, "BENCH", "1m", "polygon", "split", &bar);
        }
    if (gl_pgcopy_close (&copy))
        fprintf (stderr, "bench_writer: copy failed\n");
    return s_now () - start;
}

//  The plain merge: COPY to a temp table, upsert every row.
static double
s_plain_merge (double shift)
{
    double start = s_now ();
    s_exec ("BEGIN");
    s_exec ("CREATE TEMP TABLE plain_stage (LIKE ohlc_bars INCLUDING DEFAULTS) ON COMMIT DROP");
    s_copy ("plain_stage", shift);
    s_exec ("INSERT INTO ohlc_bars (" COLUMNS ") SELECT " COLUMNS " FROM plain_stage"
            " ON CONFLICT (symbol, timeframe, ts, provider) DO UPDATE"
            " SET open = EXCLUDED.open, high = EXCLUDED.high, low = EXCLUDED.low,"
            " close = EXCLUDED.close, volume = EXCLUDED.volume, vwap = EXCLUDED.vwap,"
            " trade_count = EXCLUDED.trade_count, provisional = EXCLUDED.provisional,"
            " as_of = now()");
    s_exec ("COMMIT");
    return s_now () - start;
}

//  Sends header + optional address + optional body on the DEALER.
static void
s_command (zsock_t *socket, gl_wire_command_t command, const char *address, const gl_msg_t *body)
{
    zmsg_t *message = zmsg_new ();
    uint8_t header [GL_WIRE_HEADER_SIZE];
    gl_wire_header (header, command);
    zmsg_addmem (message, header, sizeof header);
    if (address)
        zmsg_addstr (message, address);
    if (body) {
        char *data = NULL, error [GL_MSG_ERROR_MAX];
        size_t size = 0;
        if (gl_msg_encode (body, &data, &size, error) == 0)
            zmsg_addmem (message, data, size);
        free (data);
    }
    zmsg_send (&message, socket);
}

//  A registered DEALER peer.
static zsock_t *
s_peer (const char *endpoint, const char *service)
{
    zsock_t *socket = zsock_new_dealer (endpoint);
    gl_msg_t *ready = gl_msg_new (GL_MSG_READY);
    snprintf (ready->ready.service, sizeof ready->ready.service, "%s", service);
    snprintf (ready->ready.instance, sizeof ready->ready.instance, "bench");
    ready->ready.credit = 100000;
    s_command (socket, GL_WIRE_READY, NULL, ready);
    gl_msg_destroy (&ready);
    zmsg_t *welcome = zmsg_recv (socket);
    zmsg_destroy (&welcome);
    return socket;
}

//  Claims s_slices fresh slices and sends their bars through the writer;
//  returns the seconds until every WRITTEN came back.
static double
s_through_writer (zsock_t *fetcher, zsock_t *scheduler, int round, double shift)
{
    char sql [512];
    //  Slice s covers its bars (the writer stores none outside a slice);
    //  each round's slices start a second earlier than the last round's,
    //  so they are new slices over the same bars (their end says which).
    snprintf (sql, sizeof sql, "SELECT queue_enqueue('BENCH', '1m', to_timestamp(%d + s * %d - %d),"
              " to_timestamp(%d + s * %d + %d)) FROM generate_series(0, %d) s",
              T0, WEEK, round, T0, WEEK, s_bars * 60, s_slices - 1);
    s_exec (sql);
    snprintf (sql, sizeof sql, "SELECT id, lease_token,"
              " (extract(epoch FROM slice_to)::bigint - %d - %d) / %d"
              " FROM queue_claim('bench', %d, 600)", T0, s_bars * 60, WEEK, s_slices);
    PGresult *claimed = PQexec (gl_db_conn (s_db), sql);
    int count = PQntuples (claimed);
    gl_msg_t **messages = calloc ((size_t) count, sizeof (gl_msg_t *));
    for (int slice = 0; slice < count; slice++) {
        gl_msg_t *message = messages [slice] = gl_msg_new (GL_MSG_BARS);
        message->bars.run_id = strtoull (PQgetvalue (claimed, slice, 0), NULL, 10);
        snprintf (message->bars.lease_token, sizeof message->bars.lease_token, "%s",
                  PQgetvalue (claimed, slice, 1));
        snprintf (message->bars.provider, sizeof message->bars.provider, "polygon");
        snprintf (message->bars.adjustment, sizeof message->bars.adjustment, "split");
        snprintf (message->bars.symbol, sizeof message->bars.symbol, "BENCH");
        snprintf (message->bars.timeframe, sizeof message->bars.timeframe, "1m");
        message->bars.last = true;
        int week = atoi (PQgetvalue (claimed, slice, 2));
        for (int index = 0; index < s_bars; index++) {
            gl_bar_t bar = s_bar (week, index, shift);
            gl_msg_add_bar (message, &bar);
        }
    }
    PQclear (claimed);
    double start = s_now ();
    for (int slice = 0; slice < count; slice++)
        s_command (fetcher, GL_WIRE_SEND, "writer", messages [slice]);
    int written = 0;
    double beat = start;
    zpoller_t *poller = zpoller_new (scheduler, NULL);
    while (written < count && s_now () - start < 120) {
        if (s_now () - beat > 0.2) {
            s_command (fetcher, GL_WIRE_HEARTBEAT, NULL, NULL);
            s_command (scheduler, GL_WIRE_HEARTBEAT, NULL, NULL);
            beat = s_now ();
        }
        if (!zpoller_wait (poller, 50))
            continue;
        zmsg_t *message = zmsg_recv (scheduler);
        zframe_t *header = zmsg_first (message);
        gl_wire_command_t command;
        if (gl_wire_header_parse (zframe_data (header), zframe_size (header), &command) == 0
        &&  command == GL_WIRE_DELIVER)
            written++;
        zmsg_destroy (&message);
    }
    double elapsed = s_now () - start;
    zpoller_destroy (&poller);
    for (int slice = 0; slice < count; slice++)
        gl_msg_destroy (&messages [slice]);
    free (messages);
    if (written < count)
        fprintf (stderr, "bench_writer: only %d of %d slices acknowledged\n", written, count);
    return elapsed;
}

//  Starts a daemon; its output goes to the terminal.
static pid_t
s_start (char *const argv [])
{
    pid_t pid = fork ();
    if (pid == 0) {
        execv (argv [0], argv);
        _exit (127);
    }
    return pid;
}

//  Orders doubles.
static int
s_compare_doubles (const void *left_p, const void *right_p)
{
    double left = *(const double *) left_p, right = *(const double *) right_p;
    return (left > right) - (left < right);
}

//  What a pair measures: fresh bars beside a raw COPY into the empty
//  table, or changed re-deliveries beside the plain merge.
typedef enum { S_FRESH, S_CHANGED } pair_kind_t;

//  What the pairs measured: the median ratio (baseline / writer time),
//  and each side's median seconds.
typedef struct {
    double ratio, baseline_s, writer_s;
} pairs_t;

//  Empties the table; for changed rows, fills it again by one COPY, so
//  no run gains from room an earlier rewrite left.
static void
s_pair_table (pair_kind_t kind)
{
    s_exec ("TRUNCATE ohlc_bars, bar_revisions");
    if (kind == S_CHANGED) {
        s_copy ("ohlc_bars", 0);
        s_exec ("VACUUM ohlc_bars");
    }
}

//  A pair's baseline; returns the seconds.
static double
s_pair_baseline (pair_kind_t kind)
{
    s_pair_table (kind);
    return kind == S_FRESH? s_copy ("ohlc_bars", 0): s_plain_merge (0.5);
}

//  A pair's run through the writer; returns the seconds. The peers
//  register again each time: the broker declares them dead while a
//  baseline runs without heartbeats.
static double
s_pair_writer (const char *endpoint, pair_kind_t kind, int round)
{
    s_pair_table (kind);
    zsock_t *scheduler = s_peer (endpoint, "scheduler");
    zsock_t *fetcher = s_peer (endpoint, "fetcher.polygon");
    double writer = s_through_writer (fetcher, scheduler, round, kind == S_CHANGED? 0.5: 0);
    zsock_destroy (&fetcher);
    zsock_destroy (&scheduler);
    return writer;
}

//  The median of count doubles (sorts them).
static double
s_median (double *values, int count)
{
    qsort (values, (size_t) count, sizeof (double), s_compare_doubles);
    return count % 2? values [count / 2]: (values [count / 2 - 1] + values [count / 2]) / 2;
}

//  The baseline and the writer measured in pairs, back to back, so both
//  of a pair see the same load on a shared machine, the one first in a
//  pair taking turns (what one run leaves the server doing, autovacuum or
//  a checkpoint, then weighs on each side alike). Rounds from first on,
//  one per pair. Prints each pair's ratio.
static pairs_t
s_pairs_median (const char *endpoint, pair_kind_t kind, int first, bool quiet)
{
    double ratios [64], baselines [64], writers [64];
    int pairs = s_pairs < 64? s_pairs: 64;
    if (!quiet)
        printf ("\n%s in %d back-to-back pairs (writer vs %s):",
                kind == S_FRESH? "fresh bars": "changed re-delivery", pairs,
                kind == S_FRESH? "raw COPY": "plain merge");
    for (int pair = 0; pair < pairs; pair++) {
        if (pair % 2 == 0) {
            baselines [pair] = s_pair_baseline (kind);
            writers [pair] = s_pair_writer (endpoint, kind, first + pair);
        }
        else {
            writers [pair] = s_pair_writer (endpoint, kind, first + pair);
            baselines [pair] = s_pair_baseline (kind);
        }
        ratios [pair] = baselines [pair] / writers [pair];
        if (!quiet)
            printf (" %.2f", ratios [pair]);
    }
    pairs_t result = { s_median (ratios, pairs), s_median (baselines, pairs),
                       s_median (writers, pairs) };
    if (!quiet)
        printf ("\nmedian %.2f x %s\n", result.ratio, kind == S_FRESH? "COPY": "merge");
    return result;
}

//  The rows: fresh beside COPY, identical and changed beside the merge
//  (fresh and changed as the median ratio of their pairs, each side's
//  rate from its median time), the targets of issue 16.
static void
s_rows (double rows, pairs_t fresh, double plain_same, double same, pairs_t changed)
{
    char measured [64], baseline [64];
    snprintf (measured, sizeof measured, "%.0f rows/s", rows / fresh.writer_s);
    snprintf (baseline, sizeof baseline, "raw binary COPY %.0f rows/s", rows / fresh.baseline_s);
    bench_rows_print ("writer fresh bars (median of pairs)", measured, baseline, fresh.ratio,
                      ">=", 0.8);
    snprintf (measured, sizeof measured, "%.0f rows/s", rows / same);
    snprintf (baseline, sizeof baseline, "plain staging merge %.0f rows/s", rows / plain_same);
    bench_rows_print ("writer identical re-delivery", measured, baseline, plain_same / same,
                      ">", 1.0);
    snprintf (measured, sizeof measured, "%.0f rows/s", rows / changed.writer_s);
    snprintf (baseline, sizeof baseline, "plain staging merge %.0f rows/s",
              rows / changed.baseline_s);
    bench_rows_print ("writer changed re-delivery (median of pairs)", measured, baseline,
                      changed.ratio, ">=", 1.0);
}

//  Measures the baselines, then the writer, and prints the table.
int
main (int argc, char **argv)
{
    bool rows_only = bench_rows_requested (&argc, argv);
    if (argc > 1)
        s_slices = atoi (argv [1]);
    if (argc > 2)
        s_bars = atoi (argv [2]);
    if (argc > 3)
        s_pairs = atoi (argv [3]);
    if (s_slices < 1 || s_bars < 1 || s_bars > GL_MSG_MAX_BARS || s_pairs < 0 || s_pairs > 64) {
        fprintf (stderr, "usage: bench_writer [slices] [bars per slice, at most %d]"
                 " [changed pairs, at most 64]\n", GL_MSG_MAX_BARS);
        return 2;
    }
    s_db = gl_testdb_new ("bench_writer");
    if (!s_db)
        return 1;
    double rows = (double) s_slices * s_bars;
    //  Every re-delivery run, baseline or writer, starts from a table just
    //  filled by one COPY, so none gains from room an earlier rewrite left.
    s_exec ("TRUNCATE ohlc_bars");
    double raw = s_copy ("ohlc_bars", 0);
    s_exec ("VACUUM ohlc_bars");
    double plain_same = s_plain_merge (0);
    s_exec ("TRUNCATE ohlc_bars");
    s_copy ("ohlc_bars", 0);
    s_exec ("VACUUM ohlc_bars");
    double plain_changed = s_plain_merge (0.5);
    s_exec ("TRUNCATE ohlc_bars");
    double plain_fresh = s_plain_merge (0);
    s_exec ("TRUNCATE ohlc_bars");
    s_exec ("VACUUM ohlc_bars");

    char endpoint [64], *db_url = gl_db_default_conninfo ();
    snprintf (endpoint, sizeof endpoint, "ipc:///tmp/bench-writer-%d.ipc", getpid ());
    setenv ("GAPLESS_WRITER_NOTIFY", "scheduler", 1);
    char *broker_argv [] = { GL_BROKER_PATH, "--bind", endpoint, NULL };
    char *writer_argv [] = { GL_WRITER_PATH, "--broker", endpoint, "--database", db_url,
                             "--schema", "gapless_test_bench_writer", NULL };
    pid_t broker = s_start (broker_argv);
    pid_t writer = s_start (writer_argv);
    zsock_t *scheduler = s_peer (endpoint, "scheduler");
    zsock_t *fetcher = s_peer (endpoint, "fetcher.polygon");
    double fresh = s_through_writer (fetcher, scheduler, 0, 0);
    s_exec ("VACUUM ohlc_bars");
    double same = s_through_writer (fetcher, scheduler, 1, 0);
    s_exec ("VACUUM ohlc_bars");
    double changed = s_through_writer (fetcher, scheduler, 2, 0.5);

    if (!rows_only) {
        printf ("bench_writer: %d slices x %d 1m bars = %.0f rows per run\n\n", s_slices, s_bars, rows);
        printf ("%-34s %12s %22s\n", "path", "rows/s", "ratio");
        printf ("%-34s %12.0f %22s\n", "raw binary COPY (fresh)", rows / raw, "baseline");
        printf ("%-34s %12.0f %22s\n", "plain merge, fresh", rows / plain_fresh, "");
        printf ("%-34s %12.0f %22s\n", "plain merge, identical rows", rows / plain_same, "baseline");
        printf ("%-34s %12.0f %22s\n", "plain merge, changed rows", rows / plain_changed, "baseline");
        printf ("%-34s %12.0f %14.2f x COPY\n", "writer actor, fresh", rows / fresh, raw / fresh);
        printf ("%-34s %12.0f %13.2f x merge\n", "writer actor, identical", rows / same,
                plain_same / same);
        printf ("%-34s %12.0f %13.2f x merge\n", "writer actor, changed", rows / changed,
                plain_changed / changed);
    }
    zsock_destroy (&fetcher);
    zsock_destroy (&scheduler);
    //  Rounds 0-2 were the single runs above; the pairs' rounds follow.
    pairs_t fresh_pairs = { raw / fresh, raw, fresh };
    pairs_t changed_pairs = { plain_changed / changed, plain_changed, changed };
    if (s_pairs > 0) {
        fresh_pairs = s_pairs_median (endpoint, S_FRESH, 3, rows_only);
        changed_pairs = s_pairs_median (endpoint, S_CHANGED, 3 + s_pairs, rows_only);
    }
    if (rows_only)
        s_rows (rows, fresh_pairs, plain_same, same, changed_pairs);
    else
        printf ("\ntargets: fresh >= 0.80 x COPY, identical > 1.00 x merge,"
                " changed >= 1.00 x merge (0.90 in the history issue)\n");

    kill (writer, SIGTERM);
    waitpid (writer, NULL, 0);
    kill (broker, SIGTERM);
    waitpid (broker, NULL, 0);
    free (db_url);
    gl_db_destroy (&s_db);
    return 0;
}
