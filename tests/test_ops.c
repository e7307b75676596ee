/*  test_ops — the ops publisher with real processes: broker, scheduler,
    writer, a polygon fetcher on gapless-sim, PostgreSQL, gapless-ops and
    the gapless CLI.

    - a subscriber sees a backfill's progress from its start (running,
      nothing succeeded) to done, never going back, commits published as
      they land, each slice as it succeeds, and a slow call with its
      context and no credential;
    - a late joiner gets the whole snapshot (progress, providers, stats)
      as soon as it subscribes;
    - tools/examples/watch.py follows a backfill with python3-zmq and
      python3-msgpack;
    - /metrics passes promtool check metrics, and its counters move
      during a backfill;
    - enqueue --wait piped (plain lines), in a pseudo-terminal (the bar
      redrawn with \r) and on a backfill that fails (exit 1, dead letters
      in the summary);
    - watch in a pseudo-terminal quits on q; providers prints the table;
      every subcommand's --json parses;
    - events from coverage are relayed (their named fields only) and
      counted; hostile events are refused, counted, and ops goes on.
    Waits are conditions with deadlines.
*/
#include "gl_db.h"
#include "gl_glp.h"
#include "gl_process.h"
#include "gl_simclient.h"
#include "gl_test.h"
#include "gl_testdb.h"
#include <czmq.h>
#include <msgpack.h>

#define SCHEMA "gapless_test_ops"
#define HEARTBEAT_MS "250"
#define KEY "sekrit-polygon-key"
#define PYTHON "/usr/bin/python3"       //  the Debian python with python3-zmq

static gl_db_t *s_db;
static gl_simclient_t *s_sim;
static char s_broker [64], s_publish [64], s_http [64], s_cli_path [512];
static pid_t s_pids [8];
static size_t s_pid_count;

//  One received publication.
typedef struct {
    char topic [256];
    msgpack_unpacked unpacked;
    zmsg_t *message;
    const msgpack_object *map;
} s_pub_t;

//  --------------------------------------------------------------------------
//  Helpers

//  The value of key in a map, or NULL.
static const msgpack_object *
s_value (const msgpack_object *map, const char *key)
{
    for (uint32_t index = 0; map && map->type == MSGPACK_OBJECT_MAP && index < map->via.map.size;
         index++) {
        const msgpack_object *name = &map->via.map.ptr [index].key;
        if (name->type == MSGPACK_OBJECT_STR && name->via.str.size == strlen (key)
        &&  memcmp (name->via.str.ptr, key, name->via.str.size) == 0)
            return &map->via.map.ptr [index].val;
    }
    return NULL;
}

//  An integer value, or -999 when absent.
static int64_t
s_int (const msgpack_object *map, const char *key)
{
    const msgpack_object *value = s_value (map, key);
    if (value && value->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
        return (int64_t) value->via.u64;
    if (value && value->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
        return value->via.i64;
    return -999;
}

//  A string value compared with expected.
static bool
s_is (const msgpack_object *map, const char *key, const char *expected)
{
    const msgpack_object *value = s_value (map, key);
    return value && value->type == MSGPACK_OBJECT_STR && value->via.str.size == strlen (expected)
        && memcmp (value->via.str.ptr, expected, value->via.str.size) == 0;
}

//  A SUB socket on ops, subscribed to the topics (NULL-terminated).
static zsock_t *
s_sub_new (const char *const *topics)
{
    zsock_t *sub = zsock_new (ZMQ_SUB);
    for (size_t index = 0; topics [index]; index++)
        zsock_set_subscribe (sub, topics [index]);
    zsock_connect (sub, "%s", s_publish);
    return sub;
}

//  Receives one publication within timeout_ms into pub (replacing what it
//  held). Returns false on timeout or a body that is not a map.
static bool
s_recv (zsock_t *sub, s_pub_t *pub, int timeout_ms)
{
    zmsg_destroy (&pub->message);
    zsock_set_rcvtimeo (sub, timeout_ms);
    pub->message = zmsg_recv (sub);
    if (!pub->message || zmsg_size (pub->message) != 2)
        return false;
    zframe_t *topic = zmsg_first (pub->message), *body = zmsg_next (pub->message);
    snprintf (pub->topic, sizeof pub->topic, "%.*s", (int) zframe_size (topic),
              (const char *) zframe_data (topic));
    size_t offset = 0;
    if (msgpack_unpack_next (&pub->unpacked, (const char *) zframe_data (body), zframe_size (body),
                             &offset) != MSGPACK_UNPACK_SUCCESS
    ||  pub->unpacked.data.type != MSGPACK_OBJECT_MAP)
        return false;
    pub->map = &pub->unpacked.data;
    return true;
}

//  Receives until a publication under exactly topic comes, at most
//  timeout_ms. Counts in *skipped the others, when given.
static bool
s_recv_topic (zsock_t *sub, s_pub_t *pub, const char *topic, int64_t timeout_ms)
{
    int64_t deadline = zclock_mono () + timeout_ms;
    while (zclock_mono () < deadline)
        if (s_recv (sub, pub, (int) (deadline - zclock_mono ())) && strcmp (pub->topic, topic) == 0)
            return true;
    return false;
}

//  Runs a scheduler command of the CLI (enqueue, status, dlq) against
//  the test's broker (and ops, for enqueue --wait).
static int
s_cli (char *output, size_t size, const char *arguments)
{
    char command [2048];
    snprintf (command, sizeof command, "%s %s --broker %s%s%s 2>&1", s_cli_path, arguments,
              s_broker, strstr (arguments, "--wait")? " --ops ": "",
              strstr (arguments, "--wait")? s_publish: "");
    return gl_process_run (command, output, size);
}

//  Runs an ops command of the CLI (providers, watch) against the test's ops.
static int
s_cli_ops (char *output, size_t size, const char *arguments)
{
    char command [2048];
    snprintf (command, sizeof command, "%s %s --ops %s 2>&1", s_cli_path, arguments, s_publish);
    return gl_process_run (command, output, size);
}

//  Enqueues through the CLI; returns the backfill id (-1 on failure).
static int64_t
s_enqueue (const char *arguments)
{
    char output [4096], command [1024];
    snprintf (command, sizeof command, "%s enqueue %s --json --broker %s 2>&1", s_cli_path,
              arguments, s_broker);
    GL_CHECK_INT (gl_process_run (command, output, sizeof output), 0);
    return gl_process_json_number (output, "backfill_id");
}

//  GETs a path of ops' HTTP; returns the status, the body in body (heap,
//  the caller frees).
static long
s_http_get (const char *path, char **body)
{
    gl_simclient_reply_t reply;
    gl_simclient_request ("GET", s_http, path, NULL, 5000, &reply);
    long status = reply.status;
    *body = reply.body? strdup (reply.body): strdup ("");
    gl_simclient_reply_free (&reply);
    return status;
}

//  The value of a metric line "name{labels} value" in /metrics, or -1.
static double
s_metric (const char *series)
{
    char *body = NULL, pattern [512];
    s_http_get ("/metrics", &body);
    snprintf (pattern, sizeof pattern, "\n%s ", series);
    const char *found = strstr (body, pattern);
    double value = found? atof (found + strlen (pattern)): -1;
    free (body);
    return value;
}

//  Waits until a metric is above a value; returns its last value.
static double
s_wait_metric_above (const char *series, double above, int64_t timeout_ms)
{
    int64_t deadline = zclock_mono () + timeout_ms;
    double value;
    while ((value = s_metric (series)) <= above && zclock_mono () < deadline)
        zclock_sleep (50);
    return value;
}

//  Starts a process of the build with arguments (NULL-terminated).
static void
s_start_process (const char *relative, const char *log, char **arguments)
{
    char path [512];
    char *argv [16] = { (char *) gl_process_binary (relative, path, sizeof path) };
    for (size_t index = 0; arguments [index] && index < 14; index++)
        argv [index + 1] = arguments [index];
    s_pids [s_pid_count++] = gl_process_start (argv, log);
}

//  Starts the broker, writer, scheduler, a polygon fetcher and ops.
static void
s_start (void)
{
    gl_process_binary ("tools/cli/gapless", s_cli_path, sizeof s_cli_path);
    int http_port = gl_process_free_port ();
    snprintf (s_broker, sizeof s_broker, "tcp://127.0.0.1:%d", gl_process_free_port ());
    snprintf (s_publish, sizeof s_publish, "tcp://127.0.0.1:%d", gl_process_free_port ());
    snprintf (s_http, sizeof s_http, "http://127.0.0.1:%d", http_port);
    char port [16];
    snprintf (port, sizeof port, "%d", http_port);
    setenv ("GAPLESS_BROKER_HEARTBEAT_MS", HEARTBEAT_MS, 1);
    setenv ("GAPLESS_SCHEDULER_DISPATCH_MS", "50", 1);
    setenv ("GAPLESS_SCHEDULER_RESCUE_MS", "500", 1);
    setenv ("GAPLESS_SCHEDULER_NOT_NOW_MS", "200", 1);
    setenv ("GAPLESS_FETCHER_POLYGON_BASE_URL", gl_simclient_url (s_sim, "polygon"), 1);
    setenv ("GAPLESS_FETCHER_POLYGON_KEY", KEY, 1);
    setenv ("GAPLESS_FETCHER_POLYGON_LIMITS", "200/1s", 1);
    setenv ("GAPLESS_FETCHER_POLYGON_TIMEOUT_MS", "60000", 1);
    setenv ("GAPLESS_FETCHER_POLYGON_HEALTH_MS", "250", 1);
    setenv ("GAPLESS_OPS_SLOW_MS", "1000", 1);
    setenv ("GAPLESS_OPS_STATS_MS", "500", 1);
    char *broker [] = { "--bind", s_broker, "--heartbeat-ms", HEARTBEAT_MS, NULL };
    s_start_process ("broker/gapless-broker", "broker.log", broker);
    char *writer [] = { "--broker", s_broker, "--schema", SCHEMA, NULL };
    s_start_process ("actors/writer/gapless-writer", "writer.log", writer);
    char *scheduler [] = { "--broker", s_broker, "--schema", SCHEMA, NULL };
    s_start_process ("actors/scheduler/gapless-scheduler", "scheduler.log", scheduler);
    char *fetcher [] = { "--provider", "polygon", "--broker", s_broker, "--instance", "f1", NULL };
    s_start_process ("actors/fetcher/gapless-fetcher", "fetcher.log", fetcher);
    char *ops [] = { "--broker", s_broker, "--schema", SCHEMA, "--publish", s_publish,
                     "--http", port, "--instance", "o1", NULL };
    s_start_process ("actors/ops/gapless-ops", "ops.log", ops);
}

//  Stops every process; each must exit 0 on SIGTERM.
static void
s_stop (void)
{
    for (size_t index = s_pid_count; index-- > 0;) {
        int status = gl_process_stop (s_pids [index], SIGTERM);
        GL_CHECK (WIFEXITED (status) && WEXITSTATUS (status) == 0);
    }
}

//  Posts to the sim's admin listener.
static void
s_sim_admin (const char *path)
{
    gl_simclient_reply_t reply;
    gl_simclient_request ("POST", gl_simclient_url (s_sim, "admin"), path, NULL, 5000, &reply);
    GL_CHECK_INT (reply.status, 200);
    gl_simclient_reply_free (&reply);
}

//  Waits until ops sees the writer, scheduler and polygon fetcher live.
static bool
s_wait_ready (void)
{
    const char *topics [] = { "stats", NULL };
    zsock_t *sub = s_sub_new (topics);
    s_pub_t pub = { .map = NULL };
    msgpack_unpacked_init (&pub.unpacked);
    bool ready = false;
    int64_t deadline = zclock_mono () + 20000;
    while (!ready && zclock_mono () < deadline)
        if (s_recv_topic (sub, &pub, "stats", 1000)) {
            const msgpack_object *instances = s_value (pub.map, "instances");
            ready = s_int (instances, "writer") == 1 && s_int (instances, "scheduler") == 1
                 && s_int (instances, "fetcher.polygon") == 1;
        }
    msgpack_unpacked_destroy (&pub.unpacked);
    zmsg_destroy (&pub.message);
    zsock_destroy (&sub);
    return ready;
}

//  --------------------------------------------------------------------------
//  The publication

static int64_t s_backfill;          //  the first backfill, for the late joiner

//  True if the body of the last publication holds the text.
static bool
s_body_holds (const s_pub_t *pub, const char *text)
{
    zframe_t *body = zmsg_last (pub->message);
    return body && memmem (zframe_data (body), zframe_size (body), text, strlen (text)) != NULL;
}

//  Waits for any stats: the subscription is live from then on.
static void
s_wait_subscribed (zsock_t *sub, s_pub_t *pub)
{
    GL_CHECK (s_recv_topic (sub, pub, "stats", 10000));
}

//  A backfill from start to done; its slices; a slow call.
static void
s_test_progress (void)
{
    const char *topics [] = { "progress.", "slice.", "slow.", "stats", NULL };
    zsock_t *sub = s_sub_new (topics);
    s_pub_t pub = { .map = NULL };
    msgpack_unpacked_init (&pub.unpacked);
    s_wait_subscribed (sub, &pub);
    //  Each answer takes 3 s: the first snapshot (within 1 s) sees none done
    s_sim_admin ("/admin/faults?provider=polygon&slow=1&slow_ms=3000");
    s_backfill = s_enqueue ("AAPL --timeframe 1h --from 2024-01-01 --to 2024-04-01");
    GL_CHECK (s_backfill > 0);
    char topic [64], slices [64];
    snprintf (topic, sizeof topic, "progress.%" PRId64, s_backfill);
    snprintf (slices, sizeof slices, "slice.%" PRId64 ".", s_backfill);
    int64_t first_succeeded = -1, last_succeeded = 0, went_back = 0, commits = 0, messages = 0;
    int64_t succeeded_runs [8], succeeded_count = 0, slow = 0, leaks = 0;
    bool done = false, first_done = true, final_ok = false;
    int64_t deadline = zclock_mono () + 60000;
    //  Until done and a commit's snapshot came (a tick may show the end
    //  first, between the COMMIT and the WRITTEN reaching ops)
    while (!(done && commits > 0) && zclock_mono () < deadline) {
        if (!s_recv (sub, &pub, 1000))
            continue;
        leaks += s_body_holds (&pub, KEY);
        if (strcmp (pub.topic, topic) == 0) {
            int64_t succeeded = s_int (pub.map, "slices_succeeded");
            if (messages++ == 0) {
                first_succeeded = succeeded;
                first_done = s_value (pub.map, "done")->via.boolean;
            }
            went_back += succeeded < last_succeeded;
            last_succeeded = succeeded;
            commits += s_is (pub.map, "trigger", "commit");
            if (!done && s_value (pub.map, "done")->via.boolean) {
                done = true;
                deadline = zclock_mono () + 5000;
                final_ok = s_is (pub.map, "status", "succeeded")
                        && s_int (pub.map, "slices_total") == 3
                        && s_int (pub.map, "slices_succeeded") == 3
                        && s_int (pub.map, "bars_written") == 427
                        && s_int (s_value (pub.map, "bars_by_provider"), "polygon") == 427
                        && s_int (pub.map, "dead_letters") == 0
                        && s_int (pub.map, "last_finished_ms") > 0;
            }
        }
        else
        if (strncmp (pub.topic, slices, strlen (slices)) == 0 && s_is (pub.map, "status", "succeeded")) {
            int64_t run = s_int (pub.map, "run_id");
            bool seen = false;
            for (int64_t index = 0; index < succeeded_count; index++)
                seen |= succeeded_runs [index] == run;
            if (!seen && succeeded_count < 8)
                succeeded_runs [succeeded_count++] = run;
        }
        else
        if (strcmp (pub.topic, "slow.polygon") == 0) {
            const msgpack_object *fields = s_value (pub.map, "fields");
            const msgpack_object *endpoint = s_value (fields, "endpoint");
            slow += s_is (fields, "symbol", "AAPL") && s_int (fields, "duration_ms") >= 1000
                 && s_is (fields, "timeframe", "1h") && s_int (fields, "attempt") == 1
                 && endpoint && endpoint->type == MSGPACK_OBJECT_STR
                 && strncmp (endpoint->via.str.ptr, "/v2/aggs/ticker/AAPL", 20) == 0;
        }
    }
    s_sim_admin ("/admin/faults?provider=polygon&slow=0");
    GL_CHECK (done);
    GL_CHECK_INT (first_succeeded, 0);
    GL_CHECK (!first_done);
    GL_CHECK_INT (went_back, 0);
    GL_CHECK (commits >= 1);
    GL_CHECK_INT (succeeded_count, 3);
    GL_CHECK (slow >= 1);
    GL_CHECK_INT (leaks, 0);
    GL_CHECK (final_ok);
    printf ("test_ops: %" PRId64 " progress messages, %" PRId64 " after a commit\n", messages,
            commits);
    msgpack_unpacked_destroy (&pub.unpacked);
    zmsg_destroy (&pub.message);
    zsock_destroy (&sub);
}

//  A subscriber that joins after the end gets everything at once.
static void
s_test_late_joiner (void)
{
    char topic [64];
    snprintf (topic, sizeof topic, "progress.%" PRId64, s_backfill);
    const char *topics [] = { topic, "provider.", "stats", NULL };
    zsock_t *sub = s_sub_new (topics);
    s_pub_t pub = { .map = NULL };
    msgpack_unpacked_init (&pub.unpacked);
    bool progress = false, provider = false, stats = false;
    int64_t deadline = zclock_mono () + 10000;
    while (!(progress && provider && stats) && zclock_mono () < deadline) {
        if (!s_recv (sub, &pub, 1000))
            continue;
        if (strcmp (pub.topic, topic) == 0 && s_is (pub.map, "trigger", "subscribe"))
            progress = s_value (pub.map, "done")->via.boolean && s_is (pub.map, "status", "succeeded")
                    && s_int (pub.map, "bars_written") == 427;
        if (strcmp (pub.topic, "provider.polygon") == 0)
            provider = s_int (pub.map, "instances") == 1 && s_is (pub.map, "breaker", "closed")
                    && s_int (pub.map, "requests_total") >= 3;
        if (strcmp (pub.topic, "stats") == 0)
            stats = s_int (s_value (pub.map, "instances"), "writer") == 1
                 && s_int (pub.map, "queue_depth") == 0;
    }
    GL_CHECK (progress);
    GL_CHECK (provider);
    GL_CHECK (stats);
    msgpack_unpacked_destroy (&pub.unpacked);
    zmsg_destroy (&pub.message);
    zsock_destroy (&sub);
}

//  tools/examples/watch.py, as a person would run it.
static void
s_test_watch_py (void)
{
    int64_t backfill = s_enqueue ("MSFT --timeframe 1h --from 2024-01-01 --to 2024-04-01");
    char command [1024], output [8192];
    snprintf (command, sizeof command, PYTHON " %s/tools/examples/watch.py %" PRId64 " %s 2>&1",
              getenv ("GL_SOURCE_DIR"), backfill, s_publish);
    GL_CHECK_INT (gl_process_run (command, output, sizeof output), 0);
    GL_CHECK (strstr (output, "succeeded: 3/3 slices, 427 bars") != NULL);
    if (!strstr (output, "succeeded: 3/3 slices, 427 bars"))
        fprintf (stderr, "watch.py said: %s\n", output);
}

//  --------------------------------------------------------------------------
//  The CLI

//  enqueue --wait, piped: plain lines and the summary, no \r.
static void
s_test_wait_piped (void)
{
    char output [8192];
    GL_CHECK_INT (s_cli (output, sizeof output,
                         "enqueue IBM --timeframe 1h --from 2024-01-01 --to 2024-04-01 --wait"), 0);
    GL_CHECK (strstr (output, " succeeded: 3/3 slices succeeded, 427 bars stored (polygon 427),"
                              " 0 retries, 0 dead letters, wall time ") != NULL);
    GL_CHECK (strchr (output, '\r') == NULL);
    GL_CHECK (strstr (output, ": 3/3 slices, 427 bars, ") != NULL);
}

//  enqueue --wait in a pseudo-terminal: the bar redrawn in place.
static void
s_test_wait_terminal (void)
{
    char command [2048], output [16384];
    snprintf (command, sizeof command, "script -qec \"%s enqueue ORCL --timeframe 1h --from"
              " 2024-01-01 --to 2024-04-01 --wait --broker %s --ops %s\" /dev/null 2>&1",
              s_cli_path, s_broker, s_publish);
    GL_CHECK_INT (gl_process_run (command, output, sizeof output), 0);
    GL_CHECK (strstr (output, "\r[####################] 100% 3/3 slices") != NULL);
    GL_CHECK (strstr (output, " succeeded: 3/3 slices succeeded, 427 bars stored") != NULL);
    //  --no-progress: plain lines even on a terminal
    snprintf (command, sizeof command, "script -qec \"%s enqueue ORCL --timeframe 1h --from"
              " 2024-01-01 --to 2024-04-01 --wait --no-progress --broker %s --ops %s\" /dev/null"
              " 2>&1", s_cli_path, s_broker, s_publish);
    GL_CHECK_INT (gl_process_run (command, output, sizeof output), 0);
    GL_CHECK (strstr (output, "\r[") == NULL && strstr (output, " succeeded: 3/3 slices") != NULL);
}

//  enqueue --wait of a backfill whose slice dies: exit 1, said so.
static void
s_test_wait_failed (void)
{
    char output [8192];
    //  Longer than any ticker the sim knows: polygon answers not found
    GL_CHECK_INT (s_cli (output, sizeof output, "enqueue ABCDEFGHIJKLMNOPQRS --timeframe 1d"
                         " --from 2023-01-01 --to 2024-01-01 --provider polygon --wait"), 1);
    GL_CHECK (strstr (output, " failed: 0/1 slices succeeded, 0 bars stored") != NULL);
    GL_CHECK (strstr (output, "1 dead letters") != NULL);
    //  ops not there: a clear error, exit 1
    char command [1024];
    snprintf (command, sizeof command, "%s enqueue NVDA --timeframe 1d --from 2023-01-01"
              " --to 2024-01-01 --wait --broker %s --ops tcp://127.0.0.1:%d 2>&1",
              s_cli_path, s_broker, gl_process_free_port ());
    GL_CHECK_INT (gl_process_run (command, output, sizeof output), 1);
    GL_CHECK (strstr (output, "no progress of backfill") != NULL);
}

//  watch in a pseudo-terminal: the board, then q quits.
static void
s_test_watch_terminal (void)
{
    char command [1024], output [65536];
    snprintf (command, sizeof command, "printf q | TERM=xterm script -qec \"%s watch --ops %s\""
              " /dev/null 2>&1", s_cli_path, s_publish);
    GL_CHECK_INT (gl_process_run (command, output, sizeof output), 0);
    GL_CHECK (strstr (output, "gapless watch") && strstr (output, "PROVIDERS")
              && strstr (output, "BACKFILLS"));
    snprintf (command, sizeof command, "%s watch --ops %s </dev/null 2>&1", s_cli_path, s_publish);
    GL_CHECK_INT (gl_process_run (command, output, sizeof output), 2);
    GL_CHECK (strstr (output, "needs a terminal") != NULL);
}

//  providers: the table; ops absent: exit 1.
static void
s_test_providers (void)
{
    char output [8192], command [1024];
    GL_CHECK_INT (s_cli_ops (output, sizeof output, "providers"), 0);
    GL_CHECK (strstr (output, "PROVIDER HEALTH BREAKER") && strstr (output, "\npolygon "));
    snprintf (command, sizeof command, "%s providers --ops tcp://127.0.0.1:%d --timeout-ms 500 2>&1",
              s_cli_path, gl_process_free_port ());
    GL_CHECK_INT (gl_process_run (command, output, sizeof output), 1);
    GL_CHECK (strstr (output, "no answer from ops") != NULL);
    GL_CHECK_INT (s_cli_ops (output, sizeof output, "providers --timeout-ms x"), 2);
}

//  Every subcommand's --json is one JSON document.
static void
s_test_json (void)
{
    char status_one [64];
    snprintf (status_one, sizeof status_one, "status %" PRId64 " --json", s_backfill);
    const char *commands [] = { "providers --json", "watch --json", "status --json", status_one,
        "dlq list --json", "enqueue KO --timeframe 1d --from 2023-01-01 --to 2024-01-01 --plan --json",
        "enqueue KO --timeframe 1d --from 2023-01-01 --to 2024-01-01 --wait --json", NULL };
    //  (stderr is merged: a command that says anything there fails the parse)
    for (size_t index = 0; commands [index]; index++) {
        char output [65536];
        bool ops = strncmp (commands [index], "providers", 9) == 0
                || strncmp (commands [index], "watch", 5) == 0;
        int status = ops? s_cli_ops (output, sizeof output, commands [index])
                        : s_cli (output, sizeof output, commands [index]);
        GL_CHECK_INT (status, 0);
        FILE *file = fopen ("answer.json", "w");
        fputs (output, file);
        fclose (file);
        int parsed = system (PYTHON " -c 'import json,sys; json.load(open(\"answer.json\"))'");
        GL_CHECK_INT (parsed, 0);
        if (parsed != 0)
            fprintf (stderr, "not JSON: gapless %s:\n%s\n", commands [index], output);
    }
}

//  --------------------------------------------------------------------------
//  HTTP

//  /metrics passes promtool; counters move during a backfill.
static void
s_test_metrics (void)
{
    char *body = NULL;
    GL_CHECK_INT (s_http_get ("/metrics", &body), 200);
    FILE *file = fopen ("metrics.txt", "w");
    fputs (body, file);
    fclose (file);
    free (body);
    GL_CHECK_INT (system ("promtool check metrics < metrics.txt"), 0);
    const char *counters [] = {
        "gapless_provider_requests_total{provider=\"polygon\"}",
        "gapless_provider_selections_total{provider=\"polygon\"}",
        "gapless_provider_request_duration_seconds_count{provider=\"polygon\"}",
        "gapless_writer_rows_total",
        "gapless_writer_batch_duration_seconds_count",
        "gapless_jobs_processed_total{type=\"request\",timeframe=\"1h\",provider=\"polygon\","
        "status=\"succeeded\"}",
        "gapless_ops_published_messages_total{topic=\"progress\"}",
        "gapless_ops_publish_latency_seconds_count", NULL };
    double before [16];
    for (size_t index = 0; counters [index]; index++)
        before [index] = s_metric (counters [index]);
    char output [8192];
    GL_CHECK_INT (s_cli (output, sizeof output,
                         "enqueue AMD --timeframe 1h --from 2024-01-01 --to 2024-04-01 --wait"), 0);
    for (size_t index = 0; counters [index]; index++) {
        double after = s_wait_metric_above (counters [index], before [index], 10000);
        GL_CHECK (before [index] >= 0 && after > before [index]);
        if (!(after > before [index]))
            fprintf (stderr, "%s: %g then %g\n", counters [index], before [index], after);
    }
    GL_CHECK_INT (s_metric ("gapless_service_instances{service=\"writer\"}"), 1);
    GL_CHECK_INT (s_metric ("gapless_ops_database_up"), 1);
    GL_CHECK_INT (s_metric ("gapless_ops_broker_up"), 1);
    GL_CHECK (s_metric ("gapless_provider_health_score{provider=\"polygon\"}") > 0.5);
    char *health = NULL;
    GL_CHECK_INT (s_http_get ("/health", &health), 200);
    GL_CHECK (strstr (health, "\"status\": \"ok\"") && strstr (health, "\"writer\": 1"));
    free (health);
    char *missing = NULL;
    GL_CHECK_INT (s_http_get ("/nothing", &missing), 404);
    free (missing);
}

//  --------------------------------------------------------------------------
//  Events from elsewhere

//  A raw GLP peer registered as service, ready to send.
static zsock_t *
s_peer_new (const char *service)
{
    zsock_t *peer = zsock_new_dealer (s_broker);
    gl_msg_t *ready = gl_msg_new (GL_MSG_READY);
    snprintf (ready->ready.service, sizeof ready->ready.service, "%s", service);
    snprintf (ready->ready.instance, sizeof ready->ready.instance, "t1");
    ready->ready.credit = 10;
    gl_glp_send (peer, GL_WIRE_READY, NULL, ready);
    gl_msg_destroy (&ready);
    zsock_set_rcvtimeo (peer, 5000);
    zmsg_t *welcome = zmsg_recv (peer);
    GL_CHECK (welcome && zframe_size (zmsg_first (welcome)) == 4
              && zframe_data (zmsg_first (welcome)) [3] == GL_WIRE_WELCOME);
    zmsg_destroy (&welcome);
    return peer;
}

//  Sends ops an EVENT with fields (key, value, ..., NULL).
static void
s_send_event (zsock_t *peer, const char *name, const char *const *fields)
{
    gl_msg_t *event = gl_msg_new (GL_MSG_EVENT);
    snprintf (event->event.source, sizeof event->event.source, "coverage/t1");
    snprintf (event->event.name, sizeof event->event.name, "%s", name);
    event->event.time_ms = zclock_time ();
    for (size_t index = 0; fields [index]; index += 2)
        gl_msg_add_field (event, fields [index], fields [index + 1]);
    gl_glp_send (peer, GL_WIRE_SEND, "ops", event);
    gl_msg_destroy (&event);
}

//  The size of ops's log now.
static long
s_log_size (void)
{
    FILE *log = fopen ("ops.log", "r");
    long size = log && fseek (log, 0, SEEK_END) == 0? ftell (log): 0;
    if (log)
        fclose (log);
    return size;
}

//  How many lines of ops's log past offset contain text.
static int
s_log_count (long offset, const char *text)
{
    FILE *log = fopen ("ops.log", "r");
    char line [4096];
    int count = 0;
    if (log && fseek (log, offset, SEEK_SET) == 0)
        while (fgets (line, sizeof line, log))
            count += strstr (line, text) != NULL;
    if (log)
        fclose (log);
    return count;
}

//  Coverage's events are relayed and counted; hostile ones refused, and
//  a flood of them logged at a bounded rate, with the reason.
static void
s_test_events (void)
{
    long offset = s_log_size ();
    const char *topics [] = { "coverage.", "gaps.", "slo.", "stats", NULL };
    zsock_t *sub = s_sub_new (topics);
    s_pub_t pub = { .map = NULL };
    msgpack_unpacked_init (&pub.unpacked);
    s_wait_subscribed (sub, &pub);
    double refused = s_metric ("gapless_ops_refused_messages_total");
    zsock_t *peer = s_peer_new ("coverage");
    const char *snapshot [] = { "symbol", "AAPL", "timeframe", "1h", "ranges", "2", "gaps", "1",
        "stored", "420", "no_trades", "0", "not_fetched", "7", "provider_error", "0",
        "first_covered", "2024-01-02T14:30:00Z", "last_covered", "2024-03-28T19:30:00Z",
        "api_key", KEY, NULL };      //  a field ops does not relay
    const char *gaps [] = { "timeframe", "1h", "symbol", "AAPL", "count", "3", "bars", "7", NULL };
    const char *slo [] = { "tier", "T0", "timeframe", "1h", "sampled", "1000", "violations", "7",
                           "rate", "0.007", NULL };
    s_send_event (peer, "coverage_snapshot", snapshot);
    s_send_event (peer, "gaps_found", gaps);
    s_send_event (peer, "slo", slo);
    const char *bad_provider [] = { "provider", "nope", "requests", "1", NULL };
    const char *bad_tier [] = { "tier", "T9", "timeframe", "1h", "rate", "1", NULL };
    const char *bad_symbol [] = { "symbol", "no such symbol!", "timeframe", "1h", NULL };
    const char *bad_duration [] = { "rows", "1", "duration_ms", "soon", NULL };
    const char *bad_rate [] = { "tier", "T1", "timeframe", "1d", "rate", "nan", NULL };
    const char *none [] = { NULL };
    s_send_event (peer, "fetcher_health", bad_provider);
    s_send_event (peer, "slo", bad_tier);
    s_send_event (peer, "coverage_snapshot", bad_symbol);
    s_send_event (peer, "batch_written", bad_duration);
    s_send_event (peer, "slo", bad_rate);
    s_send_event (peer, "something_new", none);
    GL_CHECK (s_recv_topic (sub, &pub, "coverage.AAPL.1h", 5000)
              && s_int (s_value (pub.map, "fields"), "gaps") == 1
              && s_is (s_value (pub.map, "fields"), "last_covered", "2024-03-28T19:30:00Z")
              && !s_value (s_value (pub.map, "fields"), "api_key") && !s_body_holds (&pub, KEY));
    GL_CHECK (s_recv_topic (sub, &pub, "gaps.1h.AAPL", 5000)
              && s_int (s_value (pub.map, "fields"), "count") == 3);
    GL_CHECK (s_recv_topic (sub, &pub, "slo.T0.1h", 5000)
              && s_int (s_value (pub.map, "fields"), "violations") == 7);
    GL_CHECK_INT (s_wait_metric_above ("gapless_ops_refused_messages_total", refused + 4, 5000),
                  refused + 5);
    GL_CHECK_INT (s_metric ("gapless_gaps_found_total{timeframe=\"1h\"}"), 3);
    GL_CHECK (s_metric ("gapless_slo_gap_violation_rate{tier=\"T0\",timeframe=\"1h\"}") == 0.007);
    GL_CHECK (s_metric ("gapless_ops_events_total{name=\"other\"}") >= 1);
    //  200 more: counted each, but not a line each (from a peer registered
    //  again: the first, silent meanwhile, is dead to the broker)
    zsock_destroy (&peer);
    peer = s_peer_new ("coverage");
    for (int index = 0; index < 200; index++)
        s_send_event (peer, "fetcher_health", bad_provider);
    GL_CHECK_INT (s_wait_metric_above ("gapless_ops_refused_messages_total", refused + 204, 10000),
                  refused + 205);
    int lines = s_log_count (offset, "event=event_refused")
              + s_log_count (offset, "event=delivery_refused")
              + s_log_count (offset, "event=deliveries_refused");
    GL_CHECK (lines >= 1 && lines < 20);
    GL_CHECK (s_log_count (offset, "a field ops needs is missing or not valid") >= 1);
    //  ops goes on
    GL_CHECK (s_recv_topic (sub, &pub, "stats", 5000));
    zsock_destroy (&peer);
    msgpack_unpacked_destroy (&pub.unpacked);
    zmsg_destroy (&pub.message);
    zsock_destroy (&sub);
}

int
main (void)
{
    s_db = gl_testdb_new ("ops");
    s_sim = gl_simclient_new ("sim\n    polygon\n        keys\n            default = \"" KEY "\"\n",
                              NULL);
    GL_CHECK (s_db && s_sim);
    if (s_db && s_sim) {
        s_start ();
        GL_CHECK (s_wait_ready ());
        s_test_progress ();
        s_test_late_joiner ();
        s_test_watch_py ();
        s_test_wait_piped ();
        s_test_wait_terminal ();
        s_test_wait_failed ();
        s_test_watch_terminal ();
        s_test_providers ();
        s_test_json ();
        s_test_metrics ();
        s_test_events ();
        s_stop ();
    }
    if (s_sim)
        GL_CHECK_INT (gl_simclient_stop (s_sim), 0);
    gl_simclient_destroy (&s_sim);
    gl_db_destroy (&s_db);
    return gl_test_done ("test_ops");
}
