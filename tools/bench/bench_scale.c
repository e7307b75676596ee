/*  bench_scale — how the writer and the coverage actor fare as ohlc_bars
    grows: each figure measured on a small table and on a big one, each
    beside a baseline taken on the same table in the same run, so where a
    cost bends with size shows in one table.

    The tables are 1m bars of S0000.. on the XNYS calendar from 2020-01-02
    on, filled by binary COPY FROM STDIN from two connections at once,
    without the primary key (added afterwards, one sorted build instead of
    millions of index inserts) and with session_replication_role = replica
    (the statement trigger of 0011 would otherwise hold every loaded row
    in a transition table). Then, per table:

    (a) the writer actor (fed over a real broker) storing fresh bars,
        beside a raw binary COPY of the same rows into the same table;
    (b) the writer's changed re-delivery of those rows, beside a plain
        staging merge (COPY to a temp table, INSERT ... ON CONFLICT DO
        UPDATE), each from the rows just stored by COPY;
    (c) a real gapless-coverage: start-up (process start to the first
        GAPS answered) and GAPS round trips p50/p99, beside a refused
        request; the continuity audit's windows over some symbols, rows/s,
        beside one SELECT count(*) of the same rows;
    (d) heap and index bytes on disk per row, and the B-tree's depth.

    --partitioned makes ohlc_bars a table partitioned by month of ts (the
    bench's own DDL; the old table stays, empty, renamed).

    Needs a PostgreSQL server found the way gapless finds one (DATABASE_URL,
    PG*, or tools/pg.sh start) where the user may set
    session_replication_role (a superuser: the private cluster). Uses the
    schemas gapless_test_scale_<size>[_part]; --keep reuses one that holds
    a finished load of the same shape.
        build/tools/bench/bench_scale [--rows N] [--small N] [--symbols N]
                                      [--quick] [--partitioned] [--keep]
*/
#include "gl_calendar.h"
#include "gl_coverage.h"
#include "gl_coverage_store.h"
#include "gl_glp.h"
#include "gl_process.h"
#include "gl_testdb.h"
#include <czmq.h>
#include <endian.h>
#include <inttypes.h>

#define T0 1577923200               //  2020-01-02 00:00 UTC: the first bar's day
#define PG_EPOCH 946684800          //  2000-01-01, where PostgreSQL's timestamps count from
#define SLICES 40                   //  fresh slices per writer run, one symbol each
#define SLICE_BARS 5000
#define AUDIT_SYMBOLS 50
#define ROUND_TRIPS 2000
#define S_REPEATS 3                 //  writer runs and baselines, medians reported
#define LOADERS 2
#define COLUMNS "symbol, timeframe, ts, provider, open, high, low, close, volume, vwap, " \
                "trade_count, provisional, adjustment"
#define BUFFER_SIZE (1 << 20)

//  One table size and what was measured on it.
typedef struct {
    int64_t rows;
    char name [16];                 //  "small", "big"
    char schema [64];
    gl_db_t *db;
    int64_t per_symbol;             //  bars each symbol holds after the load
    double load, key;               //  seconds: COPY, primary key build
    bool loaded_before;
    double copy_fresh, writer_fresh, merge_changed, writer_changed;
    double startup, gaps_p50, gaps_p99, refused_p50, refused_p99;
    double audit, audit_count;      //  rows/s
    int64_t audit_rows, audit_short;
    int64_t heap_bytes, index_bytes, depth;
} s_size_t;

static int64_t *s_starts;           //  every bar start from T0 on
static int64_t s_start_count;
static int s_symbols = 1000;
static bool s_partitioned, s_keep;
static char *s_conninfo;

//  Seconds on the monotonic clock.
static double
s_now (void)
{
    return (double) zclock_usecs () / 1e6;
}

//  Runs a statement; a failure is printed and returns -1.
static int
s_exec (gl_db_t *db, const char *sql)
{
    int rc = gl_db_exec (db, sql);
    if (rc == -1)
        fprintf (stderr, "bench_scale: %.200s: %s\n", sql, gl_db_error (db));
    return rc;
}

//  Seconds a statement takes.
static double
s_timed (gl_db_t *db, const char *sql)
{
    double start = s_now ();
    s_exec (db, sql);
    return s_now () - start;
}

//  Records bar starts until argument's count is reached.
static int
s_collect_start (int64_t bar_start, void *argument)
{
    s_starts [s_start_count++] = bar_start;
    return s_start_count == *(int64_t *) argument;
}

//  Sorts durations.
static int
s_compare (const void *left, const void *right)
{
    double a = *(const double *) left, b = *(const double *) right;
    return (a > b) - (a < b);
}

//  --------------------------------------------------------------------------
//  Binary COPY

typedef struct {
    PGconn *conn;
    char data [BUFFER_SIZE];
    size_t used;
    bool failed;
} s_stream_t;

static void
s_flush (s_stream_t *stream)
{
    if (stream->used && PQputCopyData (stream->conn, stream->data, (int) stream->used) != 1)
        stream->failed = true;
    stream->used = 0;
}

//  Appends one field: its length, then its bytes (already big-endian).
static void
s_field (s_stream_t *stream, const void *bytes, uint32_t size)
{
    uint32_t length = htobe32 (size);
    memcpy (stream->data + stream->used, &length, 4);
    memcpy (stream->data + stream->used + 4, bytes, size);
    stream->used += 4 + size;
}

static void
s_field_64 (s_stream_t *stream, uint64_t value)
{
    uint64_t wire = htobe64 (value);
    s_field (stream, &wire, 8);
}

static void
s_field_double (s_stream_t *stream, double value)
{
    uint64_t bits;
    memcpy (&bits, &value, 8);
    s_field_64 (stream, bits);
}

//  Appends the row of symbol's bar at ts; shift moves the close.
static void
s_row (s_stream_t *stream, const char *symbol, int64_t ts, double shift)
{
    if (stream->used > BUFFER_SIZE - 256)
        s_flush (stream);
    double base = 100 + (double) (ts / 60 % 50);
    uint16_t fields = htobe16 (13);
    memcpy (stream->data + stream->used, &fields, 2);
    stream->used += 2;
    s_field (stream, symbol, (uint32_t) strlen (symbol));
    s_field (stream, "1m", 2);
    s_field_64 (stream, (uint64_t) (ts - PG_EPOCH) * 1000000);
    s_field (stream, "polygon", 7);
    s_field_double (stream, base);
    s_field_double (stream, base + 2);
    s_field_double (stream, base - 2);
    s_field_double (stream, base + shift);
    s_field_double (stream, 1000);
    s_field_double (stream, base);
    s_field_64 (stream, 7);
    s_field (stream, "\0", 1);
    s_field (stream, "split", 5);
}

//  Opens a binary COPY of COLUMNS into table; NULL on failure.
static s_stream_t *
s_copy_open (PGconn *conn, const char *table)
{
    char sql [256];
    snprintf (sql, sizeof sql, "COPY %s (" COLUMNS ") FROM STDIN (FORMAT binary)", table);
    PGresult *result = PQexec (conn, sql);
    bool ready = PQresultStatus (result) == PGRES_COPY_IN;
    if (!ready)
        fprintf (stderr, "bench_scale: %s: %s", sql, PQresultErrorMessage (result));
    PQclear (result);
    if (!ready)
        return NULL;
    s_stream_t *stream = malloc (sizeof (s_stream_t));
    stream->conn = conn;
    stream->failed = false;
    memcpy (stream->data, "PGCOPY\n\377\r\n\0\0\0\0\0\0\0\0\0", 19);
    stream->used = 19;
    return stream;
}

//  Ends the COPY; returns 0 or -1.
static int
s_copy_close (s_stream_t *stream)
{
    memcpy (stream->data + stream->used, "\377\377", 2);
    stream->used += 2;
    s_flush (stream);
    int rc = stream->failed || PQputCopyEnd (stream->conn, NULL) != 1? -1: 0;
    PGresult *result;
    while ((result = PQgetResult (stream->conn))) {
        if (PQresultStatus (result) != PGRES_COMMAND_OK) {
            fprintf (stderr, "bench_scale: copy: %s", PQresultErrorMessage (result));
            rc = -1;
        }
        PQclear (result);
    }
    free (stream);
    return rc;
}

static void
s_symbol_name (int symbol, char *name, size_t size)
{
    snprintf (name, size, "S%04d", symbol);
}

//  The fresh slices: SLICES symbols spread over the table, each the
//  SLICE_BARS bars after the ones it holds.
static int
s_slice_symbol (int slice)
{
    return slice * (s_symbols / SLICES);
}

//  COPYs the fresh slices' rows into table; returns the seconds or -1.
static double
s_copy_fresh (s_size_t *size, const char *table, double shift)
{
    double start = s_now ();
    s_stream_t *stream = s_copy_open (gl_db_conn (size->db), table);
    if (!stream)
        return -1;
    for (int slice = 0; slice < SLICES; slice++) {
        char symbol [16];
        s_symbol_name (s_slice_symbol (slice), symbol, sizeof symbol);
        for (int64_t bar = size->per_symbol; bar < size->per_symbol + SLICE_BARS; bar++)
            s_row (stream, symbol, s_starts [bar], shift);
    }
    return s_copy_close (stream) == 0? s_now () - start: -1;
}

//  --------------------------------------------------------------------------
//  The load

//  Loads symbols [first, last) in one connection; 0 or -1.
static int
s_load_part (s_size_t *size, int first, int last)
{
    gl_db_t *db = gl_db_new (s_conninfo, size->schema);
    if (!db || s_exec (db, "SET session_replication_role = replica") == -1)
        return -1;
    s_stream_t *stream = s_copy_open (gl_db_conn (db), "ohlc_bars");
    if (!stream)
        return -1;
    for (int symbol = first; symbol < last; symbol++) {
        char name [16];
        s_symbol_name (symbol, name, sizeof name);
        for (int64_t bar = 0; bar < size->per_symbol; bar++)
            s_row (stream, name, s_starts [bar], 0);
    }
    int rc = s_copy_close (stream);
    gl_db_destroy (&db);
    return rc;
}

//  Monthly partitions over every bar start, the old table renamed away
//  (views are created again on the new table; the SQL functions find it
//  by name).
static int
s_partition (gl_db_t *db)
{
    char sql [2048];
    snprintf (sql, sizeof sql,
        "DO $$ DECLARE d record; views text[]; triggers text[]; m timestamptz; BEGIN"
        " SELECT array_agg(format('CREATE OR REPLACE VIEW %%I AS %%s', c.relname,"
        "                         pg_get_viewdef(c.oid)))"
        "   INTO views FROM pg_class c WHERE c.relkind = 'v'"
        "    AND c.relnamespace = current_schema()::regnamespace"
        "    AND pg_get_viewdef(c.oid) LIKE '%%ohlc_bars%%';"
        " SELECT array_agg(pg_get_triggerdef(oid)) INTO triggers FROM pg_trigger"
        "  WHERE tgrelid = 'ohlc_bars'::regclass AND NOT tgisinternal;"
        " CREATE TABLE ohlc_bars_partitioned (LIKE ohlc_bars INCLUDING DEFAULTS"
        "   INCLUDING CONSTRAINTS) PARTITION BY RANGE (ts);"
        " ALTER TABLE ohlc_bars RENAME CONSTRAINT ohlc_bars_pkey TO ohlc_bars_unpartitioned_pkey;"
        " ALTER TABLE ohlc_bars RENAME TO ohlc_bars_unpartitioned;"
        " ALTER TABLE ohlc_bars_partitioned RENAME TO ohlc_bars;"
        " FOR m IN SELECT generate_series(to_timestamp(%" PRId64 "), to_timestamp(%" PRId64 "),"
        "                                 interval '1 month') LOOP"
        "  EXECUTE format('CREATE TABLE %%I PARTITION OF ohlc_bars FOR VALUES FROM (%%L) TO (%%L)',"
        "                 'ohlc_bars_' || to_char(m, 'YYYYMM'), m, m + interval '1 month');"
        " END LOOP;"
        " FOR d IN SELECT unnest(views || triggers) AS ddl LOOP EXECUTE d.ddl; END LOOP;"
        " END $$",
        (int64_t) 1577836800, s_starts [s_start_count - 1]);
    return s_exec (db, "SET TIME ZONE 'UTC'") || s_exec (db, sql);
}

//  True when the schema holds a finished load of this size and shape.
static bool
s_reusable (s_size_t *size)
{
    size->db = gl_db_new (s_conninfo, size->schema);
    if (!size->db)
        return false;
    PGresult *result = PQexec (gl_db_conn (size->db), "SELECT rows, symbols FROM scale_loaded");
    bool same = PQresultStatus (result) == PGRES_TUPLES_OK && PQntuples (result) == 1
             && atoll (PQgetvalue (result, 0, 0)) == size->rows
             && atoi (PQgetvalue (result, 0, 1)) == s_symbols;
    PQclear (result);
    if (!same)
        gl_db_destroy (&size->db);
    return same;
}

//  A fresh schema filled with size->rows bars; 0 or -1.
static int
s_load (s_size_t *size)
{
    size->per_symbol = size->rows / s_symbols;
    if (s_keep && s_reusable (size)) {
        size->loaded_before = true;
        //  The last run's slices would be claimed as done again
        return s_exec (size->db, "TRUNCATE job_runs, coverage CASCADE");
    }
    size->db = gl_testdb_new (size->schema + strlen ("gapless_test_"));
    if (!size->db
    ||  (s_partitioned? s_partition (size->db)
                      : s_exec (size->db, "ALTER TABLE ohlc_bars DROP CONSTRAINT ohlc_bars_pkey"))
    ||  s_exec (size->db, "CREATE EXTENSION IF NOT EXISTS pageinspect SCHEMA public"))
        return -1;
    double start = s_now ();
    pid_t loaders [LOADERS];
    for (int loader = 0; loader < LOADERS; loader++) {
        loaders [loader] = fork ();
        if (loaders [loader] == 0)
            _exit (s_load_part (size, s_symbols * loader / LOADERS,
                                s_symbols * (loader + 1) / LOADERS) == 0? 0: 1);
    }
    int failed = 0;
    for (int loader = 0; loader < LOADERS; loader++) {
        int status = 0;
        waitpid (loaders [loader], &status, 0);
        failed += !WIFEXITED (status) || WEXITSTATUS (status) != 0;
    }
    size->load = s_now () - start;
    if (failed)
        return -1;
    size->key = s_timed (size->db, "SET maintenance_work_mem = '2GB';"
                         " ALTER TABLE ohlc_bars ADD PRIMARY KEY (symbol, timeframe, ts, provider)");
    s_exec (size->db, "VACUUM ANALYZE ohlc_bars");
    char sql [128];
    snprintf (sql, sizeof sql, "CREATE TABLE scale_loaded AS SELECT %" PRId64 "::bigint AS rows,"
              " %d AS symbols", size->rows, s_symbols);
    return s_exec (size->db, sql);
}

//  --------------------------------------------------------------------------
//  The writer

//  Deletes the fresh slices' rows and vacuums, so the next run starts
//  from the loaded table.
static void
s_forget_fresh (s_size_t *size)
{
    char sql [256];
    snprintf (sql, sizeof sql, "DELETE FROM ohlc_bars WHERE ts >= to_timestamp(%" PRId64 ")"
              " AND symbol IN (SELECT 'S' || lpad((n * %d)::text, 4, '0')"
              "                  FROM generate_series(0, %d) n)",
              s_starts [size->per_symbol], s_symbols / SLICES, SLICES - 1);
    s_exec (size->db, sql);
    s_exec (size->db, "TRUNCATE bar_revisions");
    s_exec (size->db, "VACUUM ohlc_bars");
}

//  The fresh slices as bars messages of claimed runs; round makes each
//  run's slices new ones (a second shorter) over the same bars.
static gl_msg_t **
s_claim_slices (s_size_t *size, int round, double shift)
{
    gl_msg_t **messages = calloc (SLICES, sizeof (gl_msg_t *));
    for (int slice = 0; slice < SLICES; slice++) {
        char sql [256], symbol [16];
        s_symbol_name (s_slice_symbol (slice), symbol, sizeof symbol);
        snprintf (sql, sizeof sql, "SELECT count(queue_enqueue('%s', '1m', to_timestamp(%" PRId64 "),"
                  " to_timestamp(%" PRId64 ")))", symbol, s_starts [size->per_symbol],
                  s_starts [size->per_symbol + SLICE_BARS - 1] + 60 - round);
        gl_testdb_number (size->db, sql);
    }
    PGresult *claimed = PQexec (gl_db_conn (size->db),
                                "SELECT id, lease_token, symbol FROM queue_claim('scale', 1000, 600)");
    for (int row = 0; row < PQntuples (claimed) && row < SLICES; row++) {
        gl_msg_t *message = messages [row] = gl_msg_new (GL_MSG_BARS);
        message->bars.run_id = strtoull (PQgetvalue (claimed, row, 0), NULL, 10);
        snprintf (message->bars.lease_token, sizeof message->bars.lease_token, "%s",
                  PQgetvalue (claimed, row, 1));
        snprintf (message->bars.provider, sizeof message->bars.provider, "polygon");
        snprintf (message->bars.adjustment, sizeof message->bars.adjustment, "split");
        snprintf (message->bars.symbol, sizeof message->bars.symbol, "%s",
                  PQgetvalue (claimed, row, 2));
        snprintf (message->bars.timeframe, sizeof message->bars.timeframe, "1m");
        message->bars.last = true;
        for (int64_t bar = size->per_symbol; bar < size->per_symbol + SLICE_BARS; bar++) {
            double base = 100 + (double) (s_starts [bar] / 60 % 50);
            gl_bar_t value = { .ts = s_starts [bar], .open = base, .high = base + 2,
                               .low = base - 2, .close = base + shift, .volume = 1000,
                               .vwap = base, .trades = 7, .has_vwap = true, .has_trades = true };
            gl_msg_add_bar (message, &value);
        }
    }
    PQclear (claimed);
    return messages;
}

//  The index of the slice the WRITTEN delivered in message is for, or -1.
static int
s_written_slice (zmsg_t *message, gl_msg_t **messages)
{
    zframe_t *header = zmsg_first (message);
    gl_wire_command_t command;
    if (gl_wire_header_parse (zframe_data (header), zframe_size (header), &command) != 0
    ||  command != GL_WIRE_DELIVER)
        return -1;
    zmsg_next (message);                        //  the sender's address
    zframe_t *frame = zmsg_next (message);
    char error [GL_MSG_ERROR_MAX];
    gl_msg_t *written = frame? gl_msg_decode (zframe_data (frame), zframe_size (frame), error): NULL;
    int found = -1;
    for (int slice = 0; written && written->type == GL_MSG_WRITTEN && slice < SLICES; slice++)
        if (messages [slice] && messages [slice]->bars.run_id == written->written.run_id)
            found = slice;
    gl_msg_destroy (&written);
    return found;
}

//  Sends the fresh slices through the writer; seconds until every WRITTEN
//  came back, or -1. A slice not acknowledged after 30 s of silence is sent
//  again (a peer the loaded machine let the broker declare dead loses what
//  was in flight; the writer takes a repeated delivery as a no-op).
static double
s_through_writer (s_size_t *size, const char *endpoint, int round, double shift)
{
    gl_msg_t **messages = s_claim_slices (size, round, shift);
    zsock_t *scheduler = gl_glp_peer (endpoint, "scheduler", "scale", 100000);
    zsock_t *fetcher = gl_glp_peer (endpoint, "fetcher.polygon", "scale", 100000);
    if (!scheduler || !fetcher) {
        fprintf (stderr, "bench_scale: the broker did not welcome the peers\n");
        _exit (1);
    }
    bool done [SLICES] = { false };
    int written = 0, resent = 0;
    double start = s_now (), beat = start, heard = start;
    for (int slice = 0; slice < SLICES; slice++)
        if (messages [slice])
            gl_glp_send (fetcher, GL_WIRE_SEND, "writer", messages [slice]);
    zpoller_t *poller = zpoller_new (scheduler, NULL);
    while (written < SLICES && s_now () - start < 600) {
        if (s_now () - beat > 0.2) {
            gl_glp_send (fetcher, GL_WIRE_HEARTBEAT, NULL, NULL);
            gl_glp_send (scheduler, GL_WIRE_HEARTBEAT, NULL, NULL);
            beat = s_now ();
        }
        if (s_now () - heard > 30) {
            for (int slice = 0; slice < SLICES; slice++)
                if (messages [slice] && !done [slice]) {
                    gl_glp_send (fetcher, GL_WIRE_SEND, "writer", messages [slice]);
                    resent++;
                }
            heard = s_now ();
        }
        if (!zpoller_wait (poller, 50))
            continue;
        zmsg_t *message = zmsg_recv (scheduler);
        int slice = s_written_slice (message, messages);
        if (slice >= 0 && !done [slice]) {
            done [slice] = true;
            written++;
            heard = s_now ();
        }
        zmsg_destroy (&message);
    }
    double elapsed = s_now () - start;
    zpoller_destroy (&poller);
    zsock_destroy (&fetcher);
    zsock_destroy (&scheduler);
    for (int slice = 0; slice < SLICES; slice++)
        gl_msg_destroy (&messages [slice]);
    free (messages);
    if (resent)
        fprintf (stderr, "bench_scale: %s: %d slices sent again\n", size->name, resent);
    if (written < SLICES) {
        fprintf (stderr, "bench_scale: %s: only %d of %d slices written\n", size->name, written,
                 SLICES);
        return -1;
    }
    return elapsed;
}

//  The plain merge of the fresh slices' rows, changed by shift.
static double
s_plain_merge (s_size_t *size, double shift)
{
    double start = s_now ();
    s_exec (size->db, "BEGIN; CREATE TEMP TABLE plain_stage (LIKE ohlc_bars INCLUDING DEFAULTS)"
                      " ON COMMIT DROP");
    s_copy_fresh (size, "plain_stage", shift);
    s_exec (size->db, "INSERT INTO ohlc_bars (" COLUMNS ") SELECT " COLUMNS " FROM plain_stage"
            " ON CONFLICT (symbol, timeframe, ts, provider) DO UPDATE"
            " SET open = EXCLUDED.open, high = EXCLUDED.high, low = EXCLUDED.low,"
            " close = EXCLUDED.close, volume = EXCLUDED.volume, vwap = EXCLUDED.vwap,"
            " trade_count = EXCLUDED.trade_count, provisional = EXCLUDED.provisional,"
            " as_of = now(); COMMIT");
    return s_now () - start;
}

//  The median of count seconds.
static double
s_median (double *seconds, int count)
{
    qsort (seconds, (size_t) count, sizeof (double), s_compare);
    return count % 2? seconds [count / 2]: (seconds [count / 2 - 1] + seconds [count / 2]) / 2;
}

//  (a) and (b) through a writer of the size's schema on the broker, each
//  run S_REPEATS times back to back with its baseline; the medians.
static void
s_bench_writer (s_size_t *size, const char *endpoint)
{
    char log [128];
    snprintf (log, sizeof log, "/tmp/bench-scale-writer-%s.log", size->name);
    char *writer_argv [] = { GL_WRITER_PATH, "--broker", (char *) endpoint, "--database",
                             s_conninfo, "--schema", size->schema, NULL };
    pid_t writer = gl_process_start (writer_argv, log);
    zclock_sleep (500);
    double copy [S_REPEATS], fresh [S_REPEATS], merge [S_REPEATS], changed [S_REPEATS];
    for (int repeat = 0; repeat < S_REPEATS; repeat++) {
        s_forget_fresh (size);
        copy [repeat] = s_copy_fresh (size, "ohlc_bars", 0);
        s_forget_fresh (size);
        fresh [repeat] = s_through_writer (size, endpoint, 2 * repeat, 0);
        //  Changed rows: each side from the rows just stored by one COPY
        s_forget_fresh (size);
        s_copy_fresh (size, "ohlc_bars", 0);
        s_exec (size->db, "VACUUM ohlc_bars");
        merge [repeat] = s_plain_merge (size, 0.5);
        s_forget_fresh (size);
        s_copy_fresh (size, "ohlc_bars", 0);
        s_exec (size->db, "VACUUM ohlc_bars");
        changed [repeat] = s_through_writer (size, endpoint, 2 * repeat + 1, 0.5);
    }
    s_forget_fresh (size);
    size->copy_fresh = s_median (copy, S_REPEATS);
    size->writer_fresh = s_median (fresh, S_REPEATS);
    size->merge_changed = s_median (merge, S_REPEATS);
    size->writer_changed = s_median (changed, S_REPEATS);
    gl_process_stop (writer, SIGTERM);
}

//  --------------------------------------------------------------------------
//  The coverage actor and the audit

//  The p-th percentile of sorted seconds, in microseconds.
static double
s_percentile (const double *sorted, int count, double p)
{
    return sorted [(int) (p * (count - 1))] * 1e6;
}

//  Sends a GAPS request for the symbol's March 2020; true if answered ok.
static bool
s_gaps (zsock_t *socket, const char *symbol, int trip, int timeout_ms)
{
    gl_msg_t *request = gl_msg_new (GL_MSG_GAPS);
    snprintf (request->gaps.request_id, sizeof request->gaps.request_id, "s:%d", trip);
    snprintf (request->gaps.symbol, sizeof request->gaps.symbol, "%s", symbol);
    snprintf (request->gaps.timeframe, sizeof request->gaps.timeframe, "1m");
    request->gaps.from = gl_calendar_date_utc (2020, 3, 1);
    request->gaps.to = gl_calendar_date_utc (2020, 4, 1);
    gl_glp_send (socket, GL_WIRE_SEND, "coverage", request);
    gl_msg_t *reply = gl_glp_reply (socket, request->gaps.request_id, timeout_ms);
    bool ok = reply && reply->reply.ok;
    gl_msg_destroy (&reply);
    gl_msg_destroy (&request);
    return ok;
}

//  Round trips for known symbols (or a refused one): p50 and p99.
static void
s_round_trips (zsock_t *socket, bool refused, double *p50, double *p99)
{
    double *seconds = malloc (ROUND_TRIPS * sizeof (double));
    for (int trip = 0; trip < ROUND_TRIPS; trip++) {
        char symbol [16];
        s_symbol_name ((trip * 7919) % s_symbols, symbol, sizeof symbol);
        double start = s_now ();
        if (s_gaps (socket, refused? "NOT A TICKER": symbol, trip, 5000) == refused)
            fprintf (stderr, "bench_scale: unexpected reply to %s\n", symbol);
        seconds [trip] = s_now () - start;
    }
    qsort (seconds, ROUND_TRIPS, sizeof (double), s_compare);
    *p50 = s_percentile (seconds, ROUND_TRIPS, 0.5);
    *p99 = s_percentile (seconds, ROUND_TRIPS, 0.99);
    free (seconds);
}

//  The loaded bars' coverage, one range per symbol.
static gl_coverage_t *
s_coverage (s_size_t *size, int symbols)
{
    gl_coverage_t *coverage = gl_coverage_new ();
    for (int symbol = 0; symbol < symbols; symbol++) {
        char name [16];
        s_symbol_name (symbol, name, sizeof name);
        gl_coverage_cover (coverage, name, GL_TF_1M, s_starts [0],
                           s_starts [size->per_symbol - 1] + 60);
    }
    return coverage;
}

//  (c) start-up and round trips of a real gapless-coverage.
static void
s_bench_coverage (s_size_t *size, const char *endpoint)
{
    gl_coverage_t *coverage = s_coverage (size, s_symbols);
    char sql [256];
    snprintf (sql, sizeof sql, "INSERT INTO symbols (ticker) SELECT 'S' || lpad(n::text, 4, '0')"
              " FROM generate_series(0, %d) n ON CONFLICT DO NOTHING", s_symbols - 1);
    s_exec (size->db, sql);
    for (size_t index = 0; index < gl_coverage_count (coverage); index++)
        gl_coverage_store_save (size->db, coverage, index);
    gl_coverage_destroy (&coverage);
    setenv ("GAPLESS_COVERAGE_AUDIT_MS", "86400000", 1);     //  no audit while timing
    char log [128];
    snprintf (log, sizeof log, "/tmp/bench-scale-coverage-%s.log", size->name);
    char *tracker_argv [] = { GL_COVERAGE_PATH, "--broker", (char *) endpoint, "--database",
                              s_conninfo, "--schema", size->schema, NULL };
    zsock_t *socket = gl_glp_peer (endpoint, "bench", "scale", 1000);
    if (!socket) {
        fprintf (stderr, "bench_scale: the broker did not welcome the peer\n");
        _exit (1);
    }
    double start = s_now ();
    pid_t tracker = gl_process_start (tracker_argv, log);
    bool answered = false;
    for (int attempt = 0; attempt < 3000 && !answered; attempt++)
        answered = s_gaps (socket, "S0001", -1, 20);
    size->startup = s_now () - start;
    if (answered) {
        s_round_trips (socket, false, &size->gaps_p50, &size->gaps_p99);
        s_round_trips (socket, true, &size->refused_p50, &size->refused_p99);
    }
    else
        fprintf (stderr, "bench_scale: %s: the tracker did not answer\n", size->name);
    zsock_destroy (&socket);
    gl_process_stop (tracker, SIGTERM);
}

//  (c) the audit's windows over the first AUDIT_SYMBOLS symbols, beside
//  one count of the same rows; a first count, untimed, brings the rows
//  into the cache for both.
static void
s_bench_audit (s_size_t *size)
{
    char sql [256];
    snprintf (sql, sizeof sql, "SELECT count(*) FROM ohlc_bars WHERE timeframe = '1m'"
              " AND symbol < 'S%04d'", AUDIT_SYMBOLS);
    gl_testdb_number (size->db, sql);
    gl_coverage_t *coverage = s_coverage (size, AUDIT_SYMBOLS);
    gl_coverage_cursor_t cursor = GL_COVERAGE_CURSOR_START;
    const char *symbol;
    gl_timeframe_t timeframe;
    int64_t from, to;
    double start = s_now ();
    while (gl_coverage_next_window (coverage, &cursor, 0, &symbol, &timeframe, &from, &to)) {
        int64_t stored = gl_coverage_store_count (size->db, symbol, timeframe, from, to);
        size->audit_rows += stored;
        size->audit_short += stored != gl_coverage_needed (coverage, symbol, timeframe, from, to);
    }
    size->audit = (double) size->audit_rows / (s_now () - start);
    gl_coverage_destroy (&coverage);
    start = s_now ();
    int64_t counted = gl_testdb_number (size->db, sql);
    size->audit_count = (double) counted / (s_now () - start);
}

//  (d) bytes on disk and the primary key's depth (the deepest partition's).
static void
s_bench_disk (s_size_t *size)
{
    const char *parts = "(SELECT oid AS relid FROM pg_class WHERE relkind = 'r' AND (oid = 'ohlc_bars'::regclass"
                        " OR oid IN (SELECT relid FROM pg_partition_tree('ohlc_bars')))) p";
    char sql [512];
    snprintf (sql, sizeof sql, "SELECT sum(pg_relation_size(relid)) FROM %s", parts);
    size->heap_bytes = gl_testdb_number (size->db, sql);
    snprintf (sql, sizeof sql, "SELECT sum(pg_indexes_size(relid)) FROM %s", parts);
    size->index_bytes = gl_testdb_number (size->db, sql);
    snprintf (sql, sizeof sql, "SELECT max(m.level) + 1 FROM %s, pg_index i,"
              " LATERAL public.bt_metap(i.indexrelid::regclass::text) m WHERE i.indrelid = p.relid",
              parts);
    size->depth = gl_testdb_number (size->db, sql);
}

//  --------------------------------------------------------------------------

static void
s_print_row (const char *label, double small, double big, const char *format)
{
    char left [32], right [32];
    snprintf (left, sizeof left, format, small);
    snprintf (right, sizeof right, format, big);
    printf ("| %-44s | %14s | %14s | %6.2f |\n", label, left, right, big / small);
}

static void
s_print (const s_size_t *small, const s_size_t *big)
{
    double rows = SLICES * SLICE_BARS;
    printf ("\nbench_scale: %s ohlc_bars, %d symbols; writer runs of %d slices x %d bars"
            " (median of %d); audit of %d symbols\n\n",
            s_partitioned? "partitioned (monthly)": "plain", s_symbols, SLICES, SLICE_BARS,
            S_REPEATS, AUDIT_SYMBOLS);
    printf ("| measure | %.0f rows | %.0f rows | big/small |\n|---|---|---|---|\n",
            (double) small->rows, (double) big->rows);
    if (!big->loaded_before) {
        s_print_row ("load: binary COPY, 2 connections, rows/s", (double) small->rows / small->load,
                     (double) big->rows / big->load, "%.0f");
        s_print_row ("load: primary key build, s", small->key, big->key, "%.1f");
    }
    s_print_row ("(a) raw binary COPY of fresh rows, rows/s", rows / small->copy_fresh,
                 rows / big->copy_fresh, "%.0f");
    s_print_row ("(a) writer actor, fresh, rows/s", rows / small->writer_fresh,
                 rows / big->writer_fresh, "%.0f");
    s_print_row ("(a) writer fresh / COPY", small->copy_fresh / small->writer_fresh,
                 big->copy_fresh / big->writer_fresh, "%.2f");
    s_print_row ("(b) plain merge, changed, rows/s", rows / small->merge_changed,
                 rows / big->merge_changed, "%.0f");
    s_print_row ("(b) writer actor, changed, rows/s", rows / small->writer_changed,
                 rows / big->writer_changed, "%.0f");
    s_print_row ("(b) writer changed / plain merge", small->merge_changed / small->writer_changed,
                 big->merge_changed / big->writer_changed, "%.2f");
    s_print_row ("(c) coverage start-up to first GAPS, ms", small->startup * 1e3,
                 big->startup * 1e3, "%.0f");
    s_print_row ("(c) GAPS round trip p50, us", small->gaps_p50, big->gaps_p50, "%.0f");
    s_print_row ("(c) GAPS round trip p99, us", small->gaps_p99, big->gaps_p99, "%.0f");
    s_print_row ("(c) refused request p50 (baseline), us", small->refused_p50, big->refused_p50,
                 "%.0f");
    s_print_row ("(c) audit windows, rows/s", small->audit, big->audit, "%.0f");
    s_print_row ("(c) SELECT count(*) same rows, rows/s", small->audit_count, big->audit_count,
                 "%.0f");
    s_print_row ("(c) audit / count", small->audit / small->audit_count,
                 big->audit / big->audit_count, "%.2f");
    s_print_row ("(c) audit windows not as expected", (double) small->audit_short,
                 (double) big->audit_short, "%.0f");
    s_print_row ("(d) heap bytes/row", (double) small->heap_bytes / (double) small->rows,
                 (double) big->heap_bytes / (double) big->rows, "%.1f");
    s_print_row ("(d) index bytes/row", (double) small->index_bytes / (double) small->rows,
                 (double) big->index_bytes / (double) big->rows, "%.1f");
    s_print_row ("(d) heap + index, MB", (double) (small->heap_bytes + small->index_bytes) / 1e6,
                 (double) (big->heap_bytes + big->index_bytes) / 1e6, "%.0f");
    s_print_row ("(d) primary key B-tree levels", (double) small->depth, (double) big->depth,
                 "%.0f");
}

//  Loads the size and measures it; 0 or -1.
static int
s_run (s_size_t *size, const char *endpoint)
{
    snprintf (size->schema, sizeof size->schema, "gapless_test_scale_%s%s", size->name,
              s_partitioned? "_part": "");
    if (s_load (size) == -1 || size->per_symbol < 2) {
        fprintf (stderr, "bench_scale: %s: the load failed\n", size->name);
        return -1;
    }
    fprintf (stderr, "bench_scale: %s: %" PRId64 " rows loaded in %.0f s, key %.0f s\n",
             size->name, size->rows, size->load, size->key);
    s_bench_disk (size);            //  before the writer runs leave dead entries
    s_bench_writer (size, endpoint);
    s_bench_coverage (size, endpoint);
    s_bench_audit (size);
    fprintf (stderr, "bench_scale: %s: measured\n", size->name);
    return 0;
}

int
main (int argc, char **argv)
{
    s_size_t small = { .rows = 1000000, .name = "small" }, big = { .rows = 100000000, .name = "big" };
    for (int arg = 1; arg < argc; arg++) {
        if (streq (argv [arg], "--rows") && arg + 1 < argc)
            big.rows = atoll (argv [++arg]);
        else
        if (streq (argv [arg], "--small") && arg + 1 < argc)
            small.rows = atoll (argv [++arg]);
        else
        if (streq (argv [arg], "--symbols") && arg + 1 < argc)
            s_symbols = atoi (argv [++arg]);
        else
        if (streq (argv [arg], "--quick"))
            big.rows = 4000000;
        else
        if (streq (argv [arg], "--partitioned"))
            s_partitioned = true;
        else
        if (streq (argv [arg], "--keep"))
            s_keep = true;
        else {
            fprintf (stderr, "usage: bench_scale [--rows N] [--small N] [--symbols N] [--quick]"
                     " [--partitioned] [--keep]\n");
            return 2;
        }
    }
    if (s_symbols < SLICES || s_symbols > 10000 || small.rows < 2 * s_symbols
    ||  big.rows < small.rows) {
        fprintf (stderr, "bench_scale: needs %d..10000 symbols, 2 rows per symbol at least,"
                 " and --rows >= --small\n", SLICES);
        return 2;
    }
    s_conninfo = gl_db_default_conninfo ();
    gl_calendar_t *calendar = gl_calendar_new (GL_CALENDAR_XNYS);
    int64_t bars = big.rows / s_symbols + SLICE_BARS;
    s_starts = malloc ((size_t) bars * sizeof (int64_t));
    for (int64_t from = T0; s_start_count < bars; from += 86400 * 365)
        if (gl_calendar_each_bar (calendar, GL_TF_1M, from, from + 86400 * 365, s_collect_start,
                                  &bars) == -1)
            break;
    gl_calendar_destroy (&calendar);
    if (!s_conninfo || s_start_count < bars)
        return 1;

    char endpoint [64], broker_log [64] = "/tmp/bench-scale-broker.log";
    snprintf (endpoint, sizeof endpoint, "ipc:///tmp/bench-scale-%d.ipc", getpid ());
    setenv ("GAPLESS_WRITER_NOTIFY", "scheduler", 1);
    //  A long heartbeat: the bench loads the machine, and a peer declared
    //  dead loses the slices in flight
    char *broker_argv [] = { GL_BROKER_PATH, "--bind", endpoint, "--heartbeat-ms", "5000", NULL };
    pid_t broker = gl_process_start (broker_argv, broker_log);
    int rc = s_run (&small, endpoint) || s_run (&big, endpoint);
    if (rc == 0)
        s_print (&small, &big);
    gl_process_stop (broker, SIGTERM);
    gl_db_destroy (&small.db);
    gl_db_destroy (&big.db);
    free (s_starts);
    free (s_conninfo);
    return rc;
}
