/*  bench_ops — the ops publisher's two figures, each beside a baseline
    measured in the same run:

    1. commit to subscriber: a 1m backfill of 40 symbols x 5 sessions
       (200 slices) through real broker, scheduler, fetcher (no rate
       limit, gapless-sim) and writer processes. The writer notifies the
       bench too (writer/notify), so the bench knows when each slice was
       committed (its WRITTEN, sent after COMMIT); the latency of slice k
       is from the k-th WRITTEN to the first progress message of ops that
       counts k slices succeeded. Baseline: a client polling the
       backfill_progress view every 100 ms, the way one would without ops.
    2. ops' CPU and RSS while it publishes 1 000 concurrent backfills (each
       one queued slice, no scheduler running, so they stay live) for 10 s,
       beside the same ops with no backfill (idle), measured from /proc.

    Needs a PostgreSQL server found the way gapless finds one (DATABASE_URL,
    PG*, or tools/pg.sh start); uses the schema gapless_test_bench_ops.
    Process logs go to a temporary folder, nothing to the working directory.
        build/tools/bench/bench_ops [backfills for part 2, default 1000] [--rows]
    --rows: the same figures as rows of bench_rows.h (the latency's ratio
    is its p99 over the 250 ms target).
*/
#include "bench_rows.h"
#include "gl_db.h"
#include "gl_glp.h"
#include "gl_process.h"
#include "gl_simclient.h"
#include "gl_testdb.h"
#include <czmq.h>
#include <inttypes.h>
#include <msgpack.h>
#include <pthread.h>

#define SCHEMA "gapless_test_bench_ops"
#define SLICES_MAX 4096

static gl_db_t *s_db;
static char s_folder [64], s_broker [96], s_publish [96];

//  Runs a statement, reporting a failure.
static void
s_exec (const char *sql)
{
    PGresult *result = PQexec (gl_db_conn (s_db), sql);
    if (PQresultStatus (result) != PGRES_COMMAND_OK && PQresultStatus (result) != PGRES_TUPLES_OK)
        fprintf (stderr, "bench_ops: %.80s: %s", sql, PQresultErrorMessage (result));
    PQclear (result);
}

//  Starts a binary of the build with its log in the bench's folder.
static pid_t
s_start (const char *relative, const char *log, char *const *arguments)
{
    char path [512], log_path [128];
    char *argv [16] = { (char *) gl_process_binary (relative, path, sizeof path) };
    for (size_t index = 0; arguments [index] && index < 14; index++)
        argv [index + 1] = arguments [index];
    snprintf (log_path, sizeof log_path, "%s/%s", s_folder, log);
    return gl_process_start (argv, log_path);
}

//  The value of key in a map as an integer, or -1.
static int64_t
s_int (const msgpack_object *map, const char *key)
{
    for (uint32_t index = 0; map->type == MSGPACK_OBJECT_MAP && index < map->via.map.size; index++) {
        const msgpack_object *name = &map->via.map.ptr [index].key;
        const msgpack_object *value = &map->via.map.ptr [index].val;
        if (name->type == MSGPACK_OBJECT_STR && name->via.str.size == strlen (key)
        &&  memcmp (name->via.str.ptr, key, name->via.str.size) == 0)
            return value->type == MSGPACK_OBJECT_POSITIVE_INTEGER? (int64_t) value->via.u64
                 : value->type == MSGPACK_OBJECT_NEGATIVE_INTEGER? value->via.i64: -1;
    }
    return -1;
}

//  Decodes a publication's map into unpacked; false if it is none.
static bool
s_decode (zmsg_t *message, msgpack_unpacked *unpacked)
{
    if (!message || zmsg_size (message) != 2)
        return false;
    zframe_t *body = zmsg_last (message);
    size_t offset = 0;
    return msgpack_unpack_next (unpacked, (const char *) zframe_data (body), zframe_size (body),
                                &offset) == MSGPACK_UNPACK_SUCCESS
        && unpacked->data.type == MSGPACK_OBJECT_MAP;
}

//  The p-th percentile (0..100) of count values, sorted in place.
static int
s_compare (const void *left, const void *right)
{
    double one = *(const double *) left, other = *(const double *) right;
    return one < other? -1: one > other;
}

static double
s_percentile (double *values, size_t count, double p)
{
    if (count == 0)
        return -1;
    qsort (values, count, sizeof (double), s_compare);
    size_t index = (size_t) (p / 100 * (double) (count - 1) + 0.5);
    return values [index < count? index: count - 1];
}

//  --------------------------------------------------------------------------
//  1. commit to subscriber

//  The polling baseline: when it first saw k slices succeeded.
typedef struct {
    int64_t backfill;
    volatile bool stop;
    int64_t seen_us [SLICES_MAX + 1];
    int64_t seen;
} s_poller_t;

//  Thread: polls the progress view every 100 ms on its own connection.
static void *
s_poll (void *argument)
{
    s_poller_t *poller = (s_poller_t *) argument;
    gl_db_t *db = gl_db_new (NULL, SCHEMA);
    char sql [128];
    snprintf (sql, sizeof sql, "SELECT slices_succeeded FROM backfill_progress WHERE id = %" PRId64,
              poller->backfill);
    while (db && !poller->stop) {
        PGresult *result = PQexec (gl_db_conn (db), sql);
        int64_t now = zclock_usecs ();
        int64_t succeeded = PQntuples (result) == 1? atoll (PQgetvalue (result, 0, 0)): 0;
        PQclear (result);
        while (poller->seen < succeeded && poller->seen < SLICES_MAX)
            poller->seen_us [++poller->seen] = now;
        zclock_sleep (100);
    }
    gl_db_destroy (&db);
    return NULL;
}

//  A raw GLP peer, service "bench", with credit for every WRITTEN.
static zsock_t *
s_peer_new (void)
{
    zsock_t *peer = zsock_new_dealer (s_broker);
    gl_msg_t *ready = gl_msg_new (GL_MSG_READY);
    snprintf (ready->ready.service, sizeof ready->ready.service, "bench");
    snprintf (ready->ready.instance, sizeof ready->ready.instance, "b1");
    ready->ready.credit = 1000000;
    gl_glp_send (peer, GL_WIRE_READY, NULL, ready);
    gl_msg_destroy (&ready);
    return peer;
}

//  Enqueues the backfill through the CLI; returns its id.
static int64_t
s_enqueue (void)
{
    char path [512], command [1024], output [4096] = "";
    snprintf (command, sizeof command, "%s enqueue", gl_process_binary ("tools/cli/gapless", path,
                                                                        sizeof path));
    for (int symbol = 0; symbol < 40; symbol++)
        snprintf (command + strlen (command), sizeof command - strlen (command), "%sB%02d",
                  symbol? ",": " ", symbol);
    snprintf (command + strlen (command), sizeof command - strlen (command),
              " --timeframe 1m --from 2024-03-04 --to 2024-03-09 --json --broker %s", s_broker);
    FILE *pipe = popen (command, "r");
    size_t used = pipe? fread (output, 1, sizeof output - 1, pipe): 0;
    output [used] = '\0';
    if (pipe)
        pclose (pipe);
    const char *found = strstr (output, "\"backfill_id\": ");
    return found? atoll (found + 15): -1;
}

//  Measures commit to subscriber; fills the percentiles, returns samples.
static size_t
s_latency (double *ops_p50, double *ops_p99, double *poll_p50, double *poll_p99)
{
    zsock_t *peer = s_peer_new ();
    zsock_t *sub = zsock_new_sub (s_publish, "progress.");
    zclock_sleep (500);             //  registered and subscribed before the first commit
    s_poller_t poller = { .backfill = s_enqueue () };
    if (poller.backfill <= 0) {
        fprintf (stderr, "bench_ops: enqueue failed\n");
        return 0;
    }
    pthread_t thread;
    pthread_create (&thread, NULL, s_poll, &poller);
    static int64_t written_us [SLICES_MAX + 1], ops_us [SLICES_MAX + 1];
    int64_t written = 0, counted = 0, heartbeat_at = 0;
    bool done = false;
    zpoller_t *wait = zpoller_new (peer, sub, NULL);
    msgpack_unpacked unpacked;
    msgpack_unpacked_init (&unpacked);
    int64_t deadline = zclock_mono () + 120000;
    while (!(done && written >= counted) && zclock_mono () < deadline) {
        if (zclock_mono () >= heartbeat_at) {
            gl_glp_send (peer, GL_WIRE_HEARTBEAT, NULL, NULL);
            heartbeat_at = zclock_mono () + 300;
        }
        void *ready = zpoller_wait (wait, 10);
        zmsg_t *message = ready? zmsg_recv (ready): NULL;
        int64_t now = zclock_usecs ();
        if (ready == peer && message && zmsg_size (message) == 3
        &&  zframe_data (zmsg_first (message)) [3] == GL_WIRE_DELIVER && written < SLICES_MAX)
            written_us [++written] = now;
        else
        if (ready == sub && s_decode (message, &unpacked)
        &&  s_int (&unpacked.data, "backfill_id") == poller.backfill) {
            int64_t succeeded = s_int (&unpacked.data, "slices_succeeded");
            while (counted < succeeded && counted < SLICES_MAX)
                ops_us [++counted] = now;
            done = s_int (&unpacked.data, "slices_total") == succeeded && succeeded > 0;
        }
        zmsg_destroy (&message);
    }
    zclock_sleep (300);             //  the poller's last look
    poller.stop = true;
    pthread_join (thread, NULL);
    double *ops = calloc (SLICES_MAX, sizeof (double)), *poll = calloc (SLICES_MAX, sizeof (double));
    size_t samples = 0, polled = 0;
    for (int64_t k = 1; k <= written && k <= counted; k++)
        ops [samples++] = (double) (ops_us [k] - written_us [k]) / 1000;
    for (int64_t k = 1; k <= written && k <= poller.seen; k++)
        poll [polled++] = (double) (poller.seen_us [k] - written_us [k]) / 1000;
    *ops_p50 = s_percentile (ops, samples, 50);
    *ops_p99 = s_percentile (ops, samples, 99);
    *poll_p50 = s_percentile (poll, polled, 50);
    *poll_p99 = s_percentile (poll, polled, 99);
    free (ops);
    free (poll);
    msgpack_unpacked_destroy (&unpacked);
    zpoller_destroy (&wait);
    zsock_destroy (&sub);
    zsock_destroy (&peer);
    return samples;
}

//  --------------------------------------------------------------------------
//  2. CPU and RSS

//  Over 10 s: ops' CPU (percent of one core), its RSS at the end, and the
//  progress messages a subscriber received per second.
static void
s_load (pid_t ops, double *cpu, double *rss, double *rate)
{
    zsock_t *sub = zsock_new_sub (s_publish, "progress.");
    zclock_sleep (2500);            //  ops has found them and published a round
    //  What came while waiting is not counted: read until a pause between
    //  two rounds of snapshots.
    zsock_set_rcvtimeo (sub, 200);
    zmsg_t *queued;
    while ((queued = zmsg_recv (sub)))
        zmsg_destroy (&queued);
    double before = gl_process_cpu_seconds (ops);
    int64_t start = zclock_mono (), messages = 0;
    zsock_set_rcvtimeo (sub, 100);
    while (zclock_mono () - start < 10000) {
        zmsg_t *message = zmsg_recv (sub);
        messages += message != NULL;
        zmsg_destroy (&message);
    }
    double elapsed = (double) (zclock_mono () - start) / 1000;
    *cpu = (gl_process_cpu_seconds (ops) - before) / elapsed * 100;
    *rss = gl_process_status_kb (ops, "VmRSS") / 1024.0;
    *rate = (double) messages / elapsed;
    zsock_destroy (&sub);
}

//  Adds count backfills of one queued 1d slice each.
static void
s_add_backfills (int count)
{
    char sql [1024];
    snprintf (sql, sizeof sql,
        "WITH made AS (INSERT INTO backfills (symbols, timeframe, range_from, range_to)"
        " SELECT ARRAY['L' || g], '1d', '2023-01-01', '2024-01-01' FROM generate_series(1, %d) g"
        " RETURNING id, symbols [1] AS symbol)"
        " INSERT INTO job_runs (backfill_id, symbol, timeframe, slice_from, slice_to)"
        " SELECT id, symbol, '1d', '2023-01-01', '2024-01-01' FROM made", count);
    s_exec (sql);
}

//  The rows: the latency against its target, ops' RSS busy beside idle.
static void
s_rows (size_t samples, double ops_p50, double ops_p99, double poll_p99, int backfills,
        double idle_rss, double busy_rss, double busy_cpu)
{
    char measured [96], baseline [96], name [64];
    snprintf (measured, sizeof measured, "p99 %.1f ms, p50 %.1f ms (%zu samples)", ops_p99,
              ops_p50, samples);
    snprintf (baseline, sizeof baseline, "polling the view every 100 ms: p99 %.1f ms", poll_p99);
    bench_rows_print ("ops progress latency, COMMIT to subscriber, p99 / 250 ms", measured,
                      baseline, samples > 0? ops_p99 / 250: 99, "<=", 1.0);
    snprintf (name, sizeof name, "ops RSS with %d live backfills vs idle", backfills);
    snprintf (measured, sizeof measured, "%.1f MiB, %.1f %% CPU", busy_rss, busy_cpu);
    snprintf (baseline, sizeof baseline, "idle %.1f MiB", idle_rss);
    bench_rows_print (name, measured, baseline, idle_rss > 0? busy_rss / idle_rss: 0, NULL, 0);
}

int
main (int argc, char **argv)
{
    bool rows = bench_rows_requested (&argc, argv);
    int backfills = argc > 1? atoi (argv [1]): 1000;
    if (backfills < 1 || backfills > 100000) {
        fprintf (stderr, "usage: bench_ops [backfills for part 2, 1..100000]\n");
        return 2;
    }
    setenv ("GL_BINARY_DIR", GL_BINARY_DIR, 0);
    s_db = gl_testdb_new ("bench_ops");
    if (!s_db)
        return 1;
    snprintf (s_folder, sizeof s_folder, "/tmp/bench_ops_XXXXXX");
    if (!mkdtemp (s_folder))
        return 1;
    gl_simclient_t *sim = gl_simclient_new ("sim\n    polygon\n        keys\n"
                                            "            default = \"pk\"\n", NULL);
    if (!sim)
        return 1;
    snprintf (s_broker, sizeof s_broker, "ipc://%s/broker.ipc", s_folder);
    snprintf (s_publish, sizeof s_publish, "ipc://%s/ops.ipc", s_folder);
    char http [16];
    snprintf (http, sizeof http, "%d", gl_process_free_port ());
    setenv ("GAPLESS_FETCHER_POLYGON_BASE_URL", gl_simclient_url (sim, "polygon"), 1);
    setenv ("GAPLESS_FETCHER_POLYGON_KEY", "pk", 1);
    setenv ("GAPLESS_FETCHER_POLYGON_LIMITS", "100000/1s", 1);     //  as good as none
    setenv ("GAPLESS_FETCHER_POLYGON_TIMEOUT_MS", "60000", 1);
    setenv ("GAPLESS_SCHEDULER_DISPATCH_MS", "20", 1);
    setenv ("GAPLESS_WRITER_NOTIFY", "scheduler,ops,bench", 1);
    char *broker_arguments [] = { "--bind", s_broker, NULL };
    char *writer_arguments [] = { "--broker", s_broker, "--schema", SCHEMA, NULL };
    char *scheduler_arguments [] = { "--broker", s_broker, "--schema", SCHEMA, NULL };
    char *fetcher_arguments [] = { "--provider", "polygon", "--broker", s_broker, NULL };
    char *ops_arguments [] = { "--broker", s_broker, "--schema", SCHEMA, "--publish", s_publish,
                               "--http", http, NULL };
    pid_t broker = s_start ("broker/gapless-broker", "broker.log", broker_arguments);
    zclock_sleep (300);
    pid_t writer = s_start ("actors/writer/gapless-writer", "writer.log", writer_arguments);
    pid_t scheduler = s_start ("actors/scheduler/gapless-scheduler", "scheduler.log",
                               scheduler_arguments);
    pid_t fetcher = s_start ("actors/fetcher/gapless-fetcher", "fetcher.log", fetcher_arguments);
    pid_t ops = s_start ("actors/ops/gapless-ops", "ops.log", ops_arguments);
    zclock_sleep (2000);            //  the fetcher's first window (5/1s default guard) passes

    double ops_p50, ops_p99, poll_p50, poll_p99;
    size_t samples = s_latency (&ops_p50, &ops_p99, &poll_p50, &poll_p99);
    fprintf (stderr, "bench_ops: latency measured\n");

    //  2. the scheduler stops, so what is queued stays queued
    gl_process_stop (scheduler, SIGTERM);
    s_exec ("TRUNCATE backfill_slices, job_runs, backfills, ohlc_bars CASCADE");
    double idle_cpu, idle_rss, idle_rate, busy_cpu, busy_rss, busy_rate;
    s_load (ops, &idle_cpu, &idle_rss, &idle_rate);
    s_add_backfills (backfills);
    s_load (ops, &busy_cpu, &busy_rss, &busy_rate);

    if (rows)
        s_rows (samples, ops_p50, ops_p99, poll_p99, backfills, idle_rss, busy_rss, busy_cpu);
    else {
        printf ("\nbench_ops: commit to subscriber, 1m backfill of 200 slices, no rate limit\n");
        printf ("%-34s %10s %10s %8s\n", "", "p50 ms", "p99 ms", "samples");
        printf ("%-34s %10.1f %10.1f %8zu\n", "ops publication (progress.<id>)", ops_p50, ops_p99, samples);
        printf ("%-34s %10.1f %10.1f %8s\n", "baseline: poll the view every 100 ms", poll_p50, poll_p99, "");
        printf ("%-34s %10.2f %10.2f\n", "ratio ops / poll", poll_p50 > 0? ops_p50 / poll_p50: 0,
                poll_p99 > 0? ops_p99 / poll_p99: 0);
        printf ("target: p99 <= 250 ms\n");
        printf ("\nbench_ops: gapless-ops publishing concurrent backfills, 10 s each\n");
        printf ("%-34s %12s %8s %9s\n", "", "progress/s", "CPU %", "RSS MiB");
        printf ("%-34s %12.0f %8.1f %9.1f\n", "baseline: no backfill (idle)", idle_rate, idle_cpu,
                idle_rss);
        char label [64];
        snprintf (label, sizeof label, "%d live backfills", backfills);
        printf ("%-34s %12.0f %8.1f %9.1f\n", label, busy_rate, busy_cpu, busy_rss);
        printf ("%-34s %12s %8s %9.2f\n", "ratio to idle", "", "", idle_rss > 0? busy_rss / idle_rss: 0);

    }

    pid_t pids [] = { ops, fetcher, writer, broker };
    for (size_t index = 0; index < 4; index++)
        gl_process_stop (pids [index], SIGTERM);
    gl_simclient_destroy (&sim);
    gl_db_destroy (&s_db);
    return 0;
}
