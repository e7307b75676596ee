/*  test_writer_actor — gapless-broker and gapless-writer as real processes,
    on a private PostgreSQL cluster of the test's own (it is restarted):

    - bars sent over the broker land, and WRITTEN reaches the scheduler
      and the coverage tracker after COMMIT, once per slice;
    - a fetcher process that claimed a slice is stopped (SIGSTOP) past its
      lease, the slice is re-dispatched and finished, then SIGCONT: its
      late batch is refused, no row changes, nothing is acknowledged;
    - an empty slice (a last part with no bars) completes with 0 rows;
    - first parts of as many slices as the writer has credit do not
      deadlock it: it writes them unfinished and takes the last parts;
    - PostgreSQL stopped and started again mid-stream: every bar lands
      once and every slice is acknowledged once, after its COMMIT;
    - every WRITTEN also goes to an address nobody holds: each bounce is
      logged and counted, and the writer goes on serving;
    - a writer configured for raw prices where split-adjusted bars are
      stored, or with a grid that is no grid, exits 2 at start naming the
      key, and sends nothing.

    The test binary is also the stopped fetcher: run with --stale-fetcher.
*/
#include "gl_glp.h"
#include "gl_msg.h"
#include "gl_process.h"
#include "gl_test.h"
#include "gl_testdb.h"
#include "gl_wire.h"
#include <czmq.h>
#include <inttypes.h>

#define HEARTBEAT_MS "200"
#define DAY 86400
#define T0 1704153600               //  2024-01-02 00:00 UTC
#define SLICE_BARS 390
#define RESTART_SLICES 40

static gl_db_t *s_db;
static char s_endpoint [64], s_pg_dir [512], s_pg_script [512], s_url [1024];

//  A raw GLP peer the test drives; it counts the WRITTEN it receives.
typedef struct {
    zsock_t *socket;
    int written [64];   //  WRITTEN per run id
    uint64_t last_rows;
} peer_t;

#define MAX_PEERS 4
static peer_t *s_peers [MAX_PEERS];
static int64_t s_last_beat;

//  Sends header + optional address + optional encoded body.
static void
s_peer_command (peer_t *self, gl_wire_command_t command, const char *address,
                const gl_msg_t *body)
{
    gl_glp_send (self->socket, command, address, body);
}

//  Reads what arrived on every peer for up to wait_ms, heartbeating, and
//  counts WRITTEN deliveries.
static void
s_pump (int wait_ms)
{
    int64_t deadline = gl_test_now_ms () + wait_ms;
    do {
        if (gl_test_now_ms () - s_last_beat >= 50) {
            s_last_beat = gl_test_now_ms ();
            for (int index = 0; index < MAX_PEERS; index++)
                if (s_peers [index])
                    s_peer_command (s_peers [index], GL_WIRE_HEARTBEAT, NULL, NULL);
        }
        for (int index = 0; index < MAX_PEERS; index++) {
            peer_t *peer = s_peers [index];
            zmsg_t *message;
            while (peer && zsock_events (peer->socket) & ZMQ_POLLIN
               && (message = zmsg_recv (peer->socket))) {
                zframe_t *header = zmsg_first (message);
                gl_wire_command_t command;
                if (gl_wire_header_parse (zframe_data (header), zframe_size (header), &command) == 0
                &&  command == GL_WIRE_DELIVER && zmsg_size (message) == 3) {
                    zframe_t *body = zmsg_last (message);
                    char error [GL_MSG_ERROR_MAX];
                    gl_msg_t *written = gl_msg_decode (zframe_data (body), zframe_size (body), error);
                    if (written && written->type == GL_MSG_WRITTEN
                    &&  written->written.run_id < 64) {
                        peer->written [written->written.run_id]++;
                        peer->last_rows = written->written.rows;
                    }
                    gl_msg_destroy (&written);
                }
                zmsg_destroy (&message);
            }
        }
        if (gl_test_now_ms () < deadline)
            zclock_sleep (1);
    } while (gl_test_now_ms () < deadline);
}

//  Connects and registers a peer; true once WELCOME came.
static peer_t *
s_peer_new (const char *service, const char *instance)
{
    peer_t *self = (peer_t *) zmalloc (sizeof (peer_t));
    self->socket = zsock_new_dealer (s_endpoint);
    zsock_set_linger (self->socket, 1000);
    gl_msg_t *ready = gl_msg_new (GL_MSG_READY);
    snprintf (ready->ready.service, sizeof ready->ready.service, "%s", service);
    snprintf (ready->ready.instance, sizeof ready->ready.instance, "%s", instance);
    ready->ready.credit = 1000;
    s_peer_command (self, GL_WIRE_READY, NULL, ready);
    gl_msg_destroy (&ready);
    bool welcomed = false;
    zpoller_t *poller = zpoller_new (self->socket, NULL);
    while (!welcomed && zpoller_wait (poller, 5000)) {
        zmsg_t *message = zmsg_recv (self->socket);
        zframe_t *header = zmsg_first (message);
        gl_wire_command_t command;
        welcomed = gl_wire_header_parse (zframe_data (header), zframe_size (header), &command) == 0
                && command == GL_WIRE_WELCOME;
        zmsg_destroy (&message);
    }
    zpoller_destroy (&poller);
    GL_CHECK (welcomed);
    for (int index = 0; index < MAX_PEERS; index++)
        if (!s_peers [index]) {
            s_peers [index] = self;
            break;
        }
    return self;
}

//  Disconnects and frees a peer.
static void
s_peer_destroy (peer_t **self_p)
{
    if (*self_p) {
        for (int index = 0; index < MAX_PEERS; index++)
            if (s_peers [index] == *self_p)
                s_peers [index] = NULL;
        s_peer_command (*self_p, GL_WIRE_DISCONNECT, NULL, NULL);
        zsock_destroy (&(*self_p)->socket);
        free (*self_p);
        *self_p = NULL;
    }
}

//  Sends part of a day of 1m bars (every parts-th bar from the part-th)
//  of the run to the writer; shift moves closes.
static void
s_send_part (peer_t *peer, uint64_t run_id, const char *token, const char *symbol,
             int64_t day, double shift, uint32_t part, uint32_t parts)
{
    gl_msg_t *message = gl_msg_new (GL_MSG_BARS);
    message->bars.run_id = run_id;
    snprintf (message->bars.lease_token, sizeof message->bars.lease_token, "%s", token);
    snprintf (message->bars.provider, sizeof message->bars.provider, "polygon");
    snprintf (message->bars.adjustment, sizeof message->bars.adjustment, "split");
    snprintf (message->bars.symbol, sizeof message->bars.symbol, "%s", symbol);
    snprintf (message->bars.timeframe, sizeof message->bars.timeframe, "1m");
    message->bars.part = part;
    message->bars.last = part + 1 == parts;
    for (int index = (int) part; index < SLICE_BARS; index += (int) parts) {
        double base = 50 + index % 17;
        gl_bar_t bar = { .ts = day + 52200 + index * 60, .open = base, .high = base + 1,
                         .low = base - 1, .close = base + shift, .volume = 100 };
        gl_msg_add_bar (message, &bar);
    }
    s_peer_command (peer, GL_WIRE_SEND, "writer", message);
    gl_msg_destroy (&message);
}

//  Sends a whole day in one part.
static void
s_send_bars (peer_t *peer, uint64_t run_id, const char *token, const char *symbol,
             int64_t day, double shift)
{
    s_send_part (peer, run_id, token, symbol, day, shift, 0, 1);
}

//  Runs a query and returns the first value as an integer (-1 on error).
static long long
s_scalar (gl_db_t *db, const char *sql)
{
    PGresult *result = PQexec (gl_db_conn (db), sql);
    long long value = -1;
    if (PQresultStatus (result) == PGRES_TUPLES_OK && PQntuples (result) == 1
    &&  !PQgetisnull (result, 0, 0))
        value = strtoll (PQgetvalue (result, 0, 0), NULL, 10);
    PQclear (result);
    return value;
}

//  Enqueues and claims the slice of one day; the token goes to token.
static uint64_t
s_claim (gl_db_t *db, const char *symbol, int64_t day, const char *owner, double lease_seconds,
         char *token)
{
    char sql [512];
    snprintf (sql, sizeof sql, "SELECT queue_enqueue('%s', '1m', to_timestamp(%" PRId64 "),"
              " to_timestamp(%" PRId64 "))", symbol, day, day + DAY);
    s_scalar (db, sql);
    snprintf (sql, sizeof sql, "SELECT id, lease_token FROM queue_claim('%s', 1, %f)", owner,
              lease_seconds);
    PGresult *result = PQexec (gl_db_conn (db), sql);
    uint64_t run_id = 0;
    if (PQresultStatus (result) == PGRES_TUPLES_OK && PQntuples (result) == 1) {
        run_id = strtoull (PQgetvalue (result, 0, 0), NULL, 10);
        snprintf (token, 65, "%s", PQgetvalue (result, 0, 1));
    }
    PQclear (result);
    return run_id;
}

//  True if the file holds the text.
static bool
s_log_has (const char *path, const char *text)
{
    char *content = NULL;
    size_t size = 0;
    FILE *file = fopen (path, "r");
    if (!file)
        return false;
    FILE *stream = open_memstream (&content, &size);
    int character;
    while ((character = fgetc (file)) != EOF)
        fputc (character, stream);
    fclose (stream);
    fclose (file);
    bool found = strstr (content, text) != NULL;
    free (content);
    return found;
}

//  Waits for a child, keeping the peers alive; returns its wait status
//  (stopped counts when until_stopped).
static int
s_wait_pumping (pid_t pid, bool until_stopped)
{
    int status = 0;
    while (waitpid (pid, &status, WNOHANG | (until_stopped? WUNTRACED: 0)) == 0)
        s_pump (10);
    return status;
}

//  Runs tools/pg.sh with an action on the test's cluster, keeping the
//  peers alive meanwhile; true on success.
static bool
s_pg (const char *action, bool for_tests)
{
    char *argv [] = { s_pg_script, (char *) action, for_tests? "--for-tests": s_pg_dir,
                      for_tests? s_pg_dir: NULL, NULL };
    int status = s_wait_pumping (gl_process_start (argv, "pg.log"), false);
    return WIFEXITED (status) && WEXITSTATUS (status) == 0;
}

//  The stopped fetcher: claims the slice, stops itself, and once
//  continued sends its (now stale) batch with different closes.
static int
s_stale_fetcher (char **argv)
{
    snprintf (s_endpoint, sizeof s_endpoint, "%s", argv [2]);
    gl_db_t *db = gl_db_new (argv [3], argv [4]);
    char token [65] = "";
    uint64_t run_id = db? s_claim (db, "STOP", T0, "stale-fetcher", 1.0, token): 0;
    gl_db_destroy (&db);
    if (!run_id)
        return 1;
    raise (SIGSTOP);
    peer_t *peer = s_peer_new ("fetcher.polygon", "stale");
    s_send_bars (peer, run_id, token, "STOP", T0, 9);
    s_peer_destroy (&peer);
    return 0;
}

//  A slice sent over the broker lands; WRITTEN reaches both services once.
static void
s_test_written (peer_t *fetcher, peer_t *scheduler, peer_t *coverage)
{
    char token [65];
    uint64_t run_id = s_claim (s_db, "FLOW", T0, "test", 600, token);
    GL_CHECK (run_id > 0 && run_id < 8);
    s_send_bars (fetcher, run_id, token, "FLOW", T0, 0);
    GL_CHECK (gl_test_wait_until ((s_pump (10), scheduler->written [run_id] == 1
                                   && coverage->written [run_id] == 1), 10000));
    GL_CHECK_INT (scheduler->last_rows, SLICE_BARS);
    GL_CHECK_INT (s_scalar (s_db, "SELECT count(*) FROM ohlc_bars WHERE symbol = 'FLOW'"), SLICE_BARS);
    GL_CHECK_INT (s_scalar (s_db, "SELECT count(*) FROM job_runs WHERE symbol = 'FLOW'"
                                  " AND status = 'succeeded'"), 1);
    //  Every WRITTEN also goes to an address nobody holds: the broker
    //  bounces it, the writer counts it and goes on serving.
    char bounced [96];
    snprintf (bounced, sizeof bounced, "event=written_bounced run_id=%" PRIu64
              " destination=absent/none code=no_such_instance", run_id);
    GL_CHECK (gl_test_wait_until ((s_pump (10), s_log_has ("writer.log", bounced)), 10000));
    //  The same delivery again is stale: no second WRITTEN.
    s_send_bars (fetcher, run_id, token, "FLOW", T0, 0);
    GL_CHECK (gl_test_wait_until (s_log_has ("writer.log", "event=bars_stale run_id="), 10000));
    s_pump (300);
    GL_CHECK_INT (scheduler->written [run_id], 1);
}

//  An empty slice (a holiday: one last part with no bars) completes with
//  0 rows at the next flush, and WRITTEN follows.
static void
s_test_empty (peer_t *fetcher, peer_t *scheduler, peer_t *coverage)
{
    char token [65];
    uint64_t run_id = s_claim (s_db, "HOLIDAY", T0, "test", 600, token);
    GL_CHECK (run_id > 0 && run_id < 64);
    gl_msg_t *message = gl_msg_new (GL_MSG_BARS);
    message->bars.run_id = run_id;
    snprintf (message->bars.lease_token, sizeof message->bars.lease_token, "%s", token);
    snprintf (message->bars.provider, sizeof message->bars.provider, "polygon");
    snprintf (message->bars.adjustment, sizeof message->bars.adjustment, "split");
    snprintf (message->bars.symbol, sizeof message->bars.symbol, "HOLIDAY");
    snprintf (message->bars.timeframe, sizeof message->bars.timeframe, "1m");
    message->bars.last = true;
    s_peer_command (fetcher, GL_WIRE_SEND, "writer", message);
    gl_msg_destroy (&message);
    scheduler->last_rows = UINT64_MAX;
    GL_CHECK (gl_test_wait_until ((s_pump (10), scheduler->written [run_id] == 1
                                   && coverage->written [run_id] == 1), 10000));
    GL_CHECK_INT (scheduler->last_rows, 0);
    char sql [256];
    snprintf (sql, sizeof sql, "SELECT count(*) FROM job_runs WHERE id = %" PRIu64
              " AND status = 'succeeded' AND rows_written = 0", run_id);
    GL_CHECK_INT (s_scalar (s_db, sql), 1);
}

//  The SIGSTOP scenario.
static void
s_test_stopped_fetcher (char *self_path, peer_t *fetcher, peer_t *scheduler)
{
    char schema [80];
    snprintf (schema, sizeof schema, "%s", gl_db_schema (s_db));
    char *argv [] = { self_path, "--stale-fetcher", s_endpoint, s_url, schema, NULL };
    pid_t stale = gl_process_start (argv, "stale-fetcher.log");
    int status = s_wait_pumping (stale, true);
    GL_CHECK (WIFSTOPPED (status));
    //  Its lease runs out; the slice is rescued, claimed again and finished.
    GL_CHECK (gl_test_wait_until ((s_pump (10), s_scalar (s_db, "SELECT queue_rescue()") == 1),
                                  10000));
    char token [65];
    uint64_t run_id = s_claim (s_db, "STOP", T0, "test", 600, token);
    GL_CHECK (run_id > 0 && run_id < 8);
    s_send_bars (fetcher, run_id, token, "STOP", T0, 0);
    GL_CHECK (gl_test_wait_until ((s_pump (10), scheduler->written [run_id] == 1), 10000));
    const char *fingerprint = "SELECT sum(hashtext(b::text)::bigint) FROM ohlc_bars b"
                              " WHERE symbol = 'STOP'";
    long long before = s_scalar (s_db, fingerprint);
    GL_CHECK_INT (s_scalar (s_db, "SELECT count(*) FROM ohlc_bars WHERE symbol = 'STOP'"), SLICE_BARS);

    char stale_line [64];
    snprintf (stale_line, sizeof stale_line, "event=bars_stale run_id=%" PRIu64 " ", run_id);
    kill (stale, SIGCONT);
    status = s_wait_pumping (stale, false);
    GL_CHECK (WIFEXITED (status) && WEXITSTATUS (status) == 0);
    GL_CHECK (gl_test_wait_until ((s_pump (10), s_log_has ("writer.log", stale_line)), 10000));
    s_pump (200);
    GL_CHECK_INT (s_scalar (s_db, fingerprint), before);
    GL_CHECK_INT (scheduler->written [run_id], 1);
    char sql [256];
    snprintf (sql, sizeof sql, "SELECT count(*) FROM job_runs WHERE id = %" PRIu64
              " AND status = 'succeeded' AND rows_written = %d", run_id, SLICE_BARS);
    GL_CHECK_INT (s_scalar (s_db, sql), 1);
}

//  First parts of as many slices as the writer has credit: without the
//  forced write of unfinished slices, the last parts would wait forever
//  behind the credit those first parts hold.
static void
s_test_credit_full_of_parts (peer_t *fetcher, peer_t *scheduler)
{
    enum { SLICES = 8 };            //  the writer's --credit
    uint64_t runs [SLICES];
    char tokens [SLICES][65];
    for (int index = 0; index < SLICES; index++) {
        runs [index] = s_claim (s_db, "FILL", T0 + index * DAY, "test", 600, tokens [index]);
        s_send_part (fetcher, runs [index], tokens [index], "FILL", T0 + index * DAY, 0, 0, 2);
    }
    for (int index = 0; index < SLICES; index++)
        s_send_part (fetcher, runs [index], tokens [index], "FILL", T0 + index * DAY, 0, 1, 2);
    int acknowledged = 0;
    gl_test_wait_until ((s_pump (10), acknowledged = 0,
        ({ for (int index = 0; index < SLICES; index++)
               acknowledged += scheduler->written [runs [index]] == 1; }),
        acknowledged == SLICES), 15000);
    GL_CHECK_INT (acknowledged, SLICES);
    char sql [256];
    snprintf (sql, sizeof sql, "SELECT count(*) FROM job_runs WHERE symbol = 'FILL'"
              " AND status = 'succeeded' AND rows_written = %d", SLICE_BARS);
    GL_CHECK_INT (s_scalar (s_db, sql), SLICES);
    GL_CHECK_INT (s_scalar (s_db, "SELECT count(*) FROM ohlc_bars WHERE symbol = 'FILL'"),
                  SLICES * SLICE_BARS);
}

//  PostgreSQL goes away mid-stream and comes back.
static void
s_test_restart (peer_t *fetcher, peer_t *scheduler, peer_t *coverage)
{
    uint64_t runs [RESTART_SLICES];
    char tokens [RESTART_SLICES][65];
    for (int index = 0; index < RESTART_SLICES; index++)
        runs [index] = s_claim (s_db, "RST", T0 + index * DAY, "test", 600, tokens [index]);
    for (int index = 0; index < RESTART_SLICES / 2; index++)
        s_send_bars (fetcher, runs [index], tokens [index], "RST", T0 + index * DAY, 0);
    GL_CHECK (gl_test_wait_until ((s_pump (10), scheduler->written [runs [0]] == 1), 10000));
    gl_db_destroy (&s_db);
    GL_CHECK (s_pg ("stop", false));
    for (int index = RESTART_SLICES / 2; index < RESTART_SLICES; index++)
        s_send_bars (fetcher, runs [index], tokens [index], "RST", T0 + index * DAY, 0);
    GL_CHECK (gl_test_wait_until ((s_pump (10), s_log_has ("writer.log", "event=writer_flush_failed")),
                                  10000));
    int before = 0;
    for (int index = 0; index < RESTART_SLICES; index++)
        before += scheduler->written [runs [index]];
    GL_CHECK (before < RESTART_SLICES);
    GL_CHECK (s_pg ("start", true));
    int acknowledged = 0;
    gl_test_wait_until ((s_pump (10), acknowledged = 0,
        ({ for (int index = 0; index < RESTART_SLICES; index++)
               acknowledged += scheduler->written [runs [index]] == 1
                            && coverage->written [runs [index]] == 1; }),
        acknowledged == RESTART_SLICES), 30000);
    GL_CHECK_INT (acknowledged, RESTART_SLICES);
    s_pump (300);
    for (int index = 0; index < RESTART_SLICES; index++)
        GL_CHECK_INT (scheduler->written [runs [index]], 1);
    s_db = gl_db_new (s_url, "gapless_test_writer_actor");
    GL_CHECK (s_db != NULL);
    GL_CHECK_INT (s_scalar (s_db, "SELECT count(*) FROM ohlc_bars WHERE symbol = 'RST'"),
                  RESTART_SLICES * SLICE_BARS);
    GL_CHECK_INT (s_scalar (s_db, "SELECT count(DISTINCT ts) FROM ohlc_bars WHERE symbol = 'RST'"),
                  RESTART_SLICES * SLICE_BARS);
    char sql [256];
    snprintf (sql, sizeof sql, "SELECT count(*) FROM job_runs WHERE symbol = 'RST'"
              " AND status = 'succeeded' AND rows_written = %d", SLICE_BARS);
    GL_CHECK_INT (s_scalar (s_db, sql), RESTART_SLICES);
}

//  Reads a file's first line into buffer.
static void
s_read_line (const char *path, char *buffer, size_t size)
{
    FILE *file = fopen (path, "r");
    buffer [0] = 0;
    if (file && fgets (buffer, (int) size, file))
        buffer [strcspn (buffer, "\n")] = 0;
    if (file)
        fclose (file);
}

//  A counter of the last writer_stats line in the log, or -1.
static long long
s_last_stat (const char *path, const char *name)
{
    FILE *file = fopen (path, "r");
    char line [2048], key [80];
    long long value = -1;
    snprintf (key, sizeof key, " %s=", name);
    while (file && fgets (line, sizeof line, file)) {
        char *found = strstr (line, "event=writer_stats")? strstr (line, key): NULL;
        if (found)
            value = strtoll (found + strlen (key), NULL, 10);
    }
    if (file)
        fclose (file);
    return value;
}

//  Runs every case and prints the summary.
//  Starts a writer with one setting from the environment and checks that
//  it exits 2 at start with a log line holding expected.
static void
s_test_policy_refused (char **writer_argv, const char *variable, const char *value,
                       const char *expected)
{
    unlink ("writer-policy.log");
    setenv (variable, value, 1);
    int status = s_wait_pumping (gl_process_start (writer_argv, "writer-policy.log"), false);
    unsetenv (variable);
    GL_CHECK (WIFEXITED (status) && WEXITSTATUS (status) == 2);
    GL_CHECK (s_log_has ("writer-policy.log", expected));
    GL_CHECK (!s_log_has ("writer-policy.log", "writer_connected"));
}

int
main (int argc, char **argv)
{
    if (argc == 5 && strcmp (argv [1], "--stale-fetcher") == 0)
        return s_stale_fetcher (argv);
    const char *source = getenv ("GL_SOURCE_DIR");
    snprintf (s_pg_script, sizeof s_pg_script, "%s/tools/pg.sh", source? source: ".");
    char cwd [256];
    snprintf (s_pg_dir, sizeof s_pg_dir, "%s/writer_actor_pg", getcwd (cwd, sizeof cwd));
    GL_CHECK (s_pg ("start", true));
    char url_path [600];
    snprintf (url_path, sizeof url_path, "%s/url", s_pg_dir);
    s_read_line (url_path, s_url, sizeof s_url);
    setenv ("GL_PG_DIR", s_pg_dir, 1);
    //  This test restarts its server: it must be its own, whatever the
    //  environment names.
    const char *variables [] = { "DATABASE_URL", "PGHOST", "PGPORT", "PGDATABASE", "PGUSER",
                                 "PGSERVICE" };
    for (size_t index = 0; index < sizeof variables / sizeof variables [0]; index++)
        unsetenv (variables [index]);
    s_db = gl_testdb_new ("writer_actor");
    GL_CHECK (s_db != NULL);
    if (!s_db) {
        s_pg ("stop", false);
        return gl_test_done ("test_writer_actor");
    }
    snprintf (s_endpoint, sizeof s_endpoint, "tcp://127.0.0.1:%d", gl_process_free_port ());
    setenv ("GAPLESS_BROKER_HEARTBEAT_MS", HEARTBEAT_MS, 1);
    char broker_path [512], writer_path [512];
    gl_process_binary ("broker/gapless-broker", broker_path, sizeof broker_path);
    gl_process_binary ("actors/writer/gapless-writer", writer_path, sizeof writer_path);
    char *broker_argv [] = { broker_path, "--bind", s_endpoint, "--heartbeat-ms", HEARTBEAT_MS, NULL };
    pid_t broker = gl_process_start (broker_argv, "broker.log");
    unlink ("writer.log");
    setenv ("GAPLESS_WRITER_NOTIFY", "scheduler,coverage,absent/none", 1);
    char *writer_argv [] = { writer_path, "--broker", s_endpoint, "--database", s_url,
                             "--schema", "gapless_test_writer_actor", "--credit", "8", NULL };
    pid_t writer = gl_process_start (writer_argv, "writer.log");
    peer_t *scheduler = s_peer_new ("scheduler", "test");
    peer_t *coverage = s_peer_new ("coverage", "test");
    peer_t *fetcher = s_peer_new ("fetcher.polygon", "test");
    s_test_written (fetcher, scheduler, coverage);
    s_test_empty (fetcher, scheduler, coverage);
    s_test_stopped_fetcher (argv [0], fetcher, scheduler);
    s_test_credit_full_of_parts (fetcher, scheduler);
    s_test_restart (fetcher, scheduler, coverage);
    int status = gl_process_stop (writer, SIGTERM);
    GL_CHECK (WIFEXITED (status) && WEXITSTATUS (status) == 0);
    //  Every slice's WRITTEN to absent/none bounced, and was counted.
    GL_CHECK (s_last_stat ("writer.log", "slices") > 0);
    GL_CHECK_INT (s_last_stat ("writer.log", "written_bounced"), s_last_stat ("writer.log", "slices"));
    GL_CHECK_INT (s_last_stat ("writer.log", "other_bounced"), 0);
    s_test_policy_refused (writer_argv, "GAPLESS_BARS_ADJUSTMENT", "raw",
                           "gapless-writer: config: bars/adjustment = 'raw' but 1m bars are stored"
                           " with split prices");
    s_test_policy_refused (writer_argv, "GAPLESS_BARS_GRID_1H", "hourly",
                           "gapless-writer: config: bars/grid_1h = 'hourly': expected clock or"
                           " session");
    status = gl_process_stop (broker, SIGTERM);
    GL_CHECK (WIFEXITED (status) && WEXITSTATUS (status) == 0);
    s_peer_destroy (&fetcher);
    s_peer_destroy (&coverage);
    s_peer_destroy (&scheduler);
    gl_db_destroy (&s_db);
    GL_CHECK (s_pg ("stop", false));
    return gl_test_done ("test_writer_actor");
}
