/*  test_coverage — the coverage tracker with real processes: broker,
    scheduler, writer, fetchers for Polygon and Yahoo against gapless-sim,
    gapless-coverage and PostgreSQL; the gapless CLI asks, a raw GLP peer
    registered as ops hears the events.

    - a symbol stored 2019-2027 (coverage rows built from the calendar,
      loaded at start) has no gap in 1m, 1h, 1d or 1w: no false gap on any
      holiday, early close or DST day;
    - a daily bar that disagrees with its day's 1m bars is reported, and
      only it;
    - nothing is expected before a listing date;
    - Yahoo drops bars (the sim's null_rate): the holes are exactly the
      bars missing from ohlc_bars, gaps_found goes to ops, and the refill
      is asked of Polygon (the next provider of the route), which fills
      them;
    - with Yahoo the only provider of 5m, the bars it lacks are no trades:
      no gap, recorded in coverage_no_trades, never asked for again;
    - a bar deleted from ohlc_bars is found by the audit, exactly (its
      gaps_found says one bar), and refilled;
    - the SLO rate of T0 1m moves from 0 to 0.5 when a 24x7 symbol's
      latest bars are deleted;
    - a restarted tracker answers the same from what it saved;
    - hostile gaps requests (bad symbol, unknown symbol, from >= to, a
      huge range, garbage) get clear refusals and the tracker goes on; a
      WRITTEN of a slice job_runs does not hold is not believed.
    Waits are conditions with deadlines; nothing asserts on wall-clock time.
*/
#include "gl_calendar.h"
#include "gl_db.h"
#include "gl_glp.h"
#include "gl_process.h"
#include "gl_simclient.h"
#include "gl_test.h"
#include "gl_testdb.h"
#include <czmq.h>
#include <time.h>

#define SCHEMA "gapless_test_coverage"
#define HEARTBEAT_MS 250
#define DATE(y, m, d) gl_calendar_date_utc (y, m, d)
#define MINUTE 60

static gl_db_t *s_db;
static gl_simclient_t *s_sim;
static char s_endpoint [64], s_cli_path [512];
static pid_t s_broker, s_writer, s_scheduler, s_polygon, s_yahoo, s_coverage;

//  What the ops peer heard.
static zsock_t *s_ops;
static int s_gaps_found [4];            //  by symbol: HOLE, QUIET, ETHX, other
static int64_t s_hole_bars;             //  bars of HOLE's latest gaps_found
static struct { char rate [16]; int sampled, violations; bool heard; } s_slo;
static int s_snapshots;
static int s_mismatches;                //  reconcile_mismatch events
static char s_mismatch_fields [256];    //  "day:field;" of each
static gl_msg_t *s_last_reply;          //  a reply to the peer's own gaps request

//  The one value of a query as a number (-1 on failure).
static int64_t
s_number (const char *sql)
{
    return gl_testdb_number (s_db, sql);
}

//  Runs SQL that returns nothing.
static void
s_exec (const char *sql)
{
    if (gl_db_exec (s_db, sql))
        fprintf (stderr, "%s: %s\n", sql, gl_db_error (s_db));
}

//  A field of an event, or "".
static const char *
s_event_field (const gl_msg_t *event, const char *key)
{
    const char *value = gl_msg_field (event->event.fields, event->event.field_count, key);
    return value? value: "";
}

//  Records one event delivered to the ops peer.
static void
s_record (const gl_msg_t *body)
{
    if (body->type != GL_MSG_EVENT || strcmp (body->event.source, "coverage") != 0)
        return;
    const char *name = body->event.name;
    if (strcmp (name, "gaps_found") == 0) {
        const char *symbol = s_event_field (body, "symbol");
        int index = strcmp (symbol, "HOLE") == 0? 0: strcmp (symbol, "QUIET") == 0? 1
                  : strcmp (symbol, "ETHX") == 0? 2: 3;
        s_gaps_found [index]++;
        if (index == 0)
            s_hole_bars = atoll (s_event_field (body, "bars"));
    }
    else
    if (strcmp (name, "coverage_snapshot") == 0)
        s_snapshots++;
    else
    if (strcmp (name, "reconcile_mismatch") == 0) {
        s_mismatches++;
        size_t used = strlen (s_mismatch_fields);
        snprintf (s_mismatch_fields + used, sizeof s_mismatch_fields - used, "%s:%s;",
                  s_event_field (body, "day"), s_event_field (body, "field"));
    }
    else
    if (strcmp (name, "slo") == 0 && strcmp (s_event_field (body, "tier"), "T0") == 0
    &&  strcmp (s_event_field (body, "timeframe"), "1m") == 0) {
        snprintf (s_slo.rate, sizeof s_slo.rate, "%s", s_event_field (body, "rate"));
        s_slo.sampled = atoi (s_event_field (body, "sampled"));
        s_slo.violations = atoi (s_event_field (body, "violations"));
        s_slo.heard = true;
    }
}

static int64_t s_last_beat;
static bool s_welcomed;

//  Registers the ops peer (again: the broker forgets a peer silent for 3
//  intervals, which a test busy with the CLI can be).
static void
s_ops_ready (void)
{
    gl_msg_t *ready = gl_msg_new (GL_MSG_READY);
    snprintf (ready->ready.service, sizeof ready->ready.service, "ops");
    snprintf (ready->ready.instance, sizeof ready->ready.instance, "test");
    ready->ready.credit = 1000;
    gl_glp_send (s_ops, GL_WIRE_READY, NULL, ready);
    gl_msg_destroy (&ready);
    s_welcomed = false;
    s_last_beat = gl_test_now_ms ();
}

//  Heartbeats; after a silence the broker may have taken for death, and
//  when it says it does not know the peer, registers again.
static void
s_keepalive (void)
{
    int64_t silent = gl_test_now_ms () - s_last_beat;
    if (silent > 2 * HEARTBEAT_MS)
        s_ops_ready ();
    else
    if (silent >= HEARTBEAT_MS / 2) {
        gl_glp_send (s_ops, GL_WIRE_HEARTBEAT, NULL, NULL);
        s_last_beat = gl_test_now_ms ();
    }
}

//  Pumps the ops peer for up to timeout_ms: heartbeats, records what is
//  delivered, gives each delivery's credit back.
static void
s_poll (int timeout_ms)
{
    s_keepalive ();
    zpoller_t *poller = zpoller_new (s_ops, NULL);
    bool ready = zpoller_wait (poller, timeout_ms) != NULL;
    zpoller_destroy (&poller);
    if (!ready)
        return;
    zmsg_t *message = zmsg_recv (s_ops);
    zframe_t *header = zmsg_pop (message);
    gl_wire_command_t command;
    if (header && gl_wire_header_parse (zframe_data (header), zframe_size (header), &command) == 0) {
        if (command == GL_WIRE_WELCOME)
            s_welcomed = true;
        if (command == GL_WIRE_ERROR || command == GL_WIRE_DISCONNECT
        ||  command == GL_WIRE_BOUNCE)
            s_ops_ready ();
    }
    if (header && gl_wire_header_parse (zframe_data (header), zframe_size (header), &command) == 0
    &&  command == GL_WIRE_DELIVER) {
        char *sender = zmsg_popstr (message);
        zframe_t *frame = zmsg_pop (message);
        char error [GL_MSG_ERROR_MAX];
        gl_msg_t *body = frame? gl_msg_decode (zframe_data (frame), zframe_size (frame), error)
                              : NULL;
        if (body && body->type == GL_MSG_REPLY) {
            gl_msg_destroy (&s_last_reply);
            s_last_reply = body;        //  a reply to the peer's own gaps request
            body = NULL;
        }
        if (body)
            s_record (body);
        gl_msg_destroy (&body);
        zframe_destroy (&frame);
        free (sender);
        gl_msg_t *credit = gl_msg_new (GL_MSG_CREDIT);
        credit->credit.credit = 1;
        gl_glp_send (s_ops, GL_WIRE_CREDIT, NULL, credit);
        gl_msg_destroy (&credit);
    }
    zframe_destroy (&header);
    zmsg_destroy (&message);
}

//  Pumps the peer until the condition holds or timeout_ms passes; yields it.
#define s_wait_for(condition, timeout_ms) ({ \
    int64_t deadline_ = gl_test_now_ms () + (timeout_ms); \
    while (!(condition) && gl_test_now_ms () < deadline_) \
        s_poll (20); \
    (condition); \
})

//  Connects and registers the ops peer.
static void
s_ops_join (void)
{
    s_ops = zsock_new_dealer (s_endpoint);
    s_ops_ready ();
}

//  Sends a body to an address from the ops peer, registered.
static void
s_ops_send (const char *address, const gl_msg_t *body)
{
    s_keepalive ();
    s_wait_for (s_welcomed, 10000);
    gl_glp_send (s_ops, GL_WIRE_SEND, address, body);
}

//  Runs the CLI (arguments: a shell word list the test controls) against
//  the test's broker, output into output; returns its exit status.
static int
s_cli (char *output, size_t size, const char *arguments)
{
    char command [2048];
    snprintf (command, sizeof command, "%s %s --timeout-ms 10000 --broker %s 2>&1", s_cli_path,
              arguments, s_endpoint);
    return gl_process_run (command, output, size);
}

//  Asks the tracker through the CLI (--json); the answer goes to output.
static int
s_gaps (char *output, size_t size, const char *symbol, const char *timeframe, const char *from,
        const char *to)
{
    char arguments [256];
    snprintf (arguments, sizeof arguments, "coverage %s %s --from %s --to %s --json", symbol,
              timeframe, from, to);
    return s_cli (output, size, arguments);
}

//  The number of gaps the tracker reports (-1 if it did not answer).
static int64_t
s_gap_count (const char *symbol, const char *timeframe, const char *from, const char *to)
{
    char output [65536];
    if (s_gaps (output, sizeof output, symbol, timeframe, from, to) != 0)
        return -1;
    return gl_process_json_number (output, "gaps");
}

//  Starts the tracker on the test's schema.
static pid_t
s_coverage_start (void)
{
    char path [512];
    gl_process_binary ("actors/coverage/gapless-coverage", path, sizeof path);
    char *argv [] = { path, "--broker", s_endpoint, "--schema", SCHEMA, "--instance", "c1", NULL };
    return gl_process_start (argv, "coverage.log");
}

//  Starts a fetcher for a provider pointed at the sim.
static pid_t
s_fetcher_start (const char *provider)
{
    char path [512];
    gl_process_binary ("actors/fetcher/gapless-fetcher", path, sizeof path);
    char *argv [] = { path, "--provider", (char *) provider, "--broker", s_endpoint,
                      "--instance", (char *) provider, NULL };
    return gl_process_start (argv, "fetcher.log");
}

//  Sets the environment every process reads.
static void
s_environment (void)
{
    char heartbeat [16];
    snprintf (heartbeat, sizeof heartbeat, "%d", HEARTBEAT_MS);
    setenv ("GAPLESS_BROKER_HEARTBEAT_MS", heartbeat, 1);
    setenv ("GAPLESS_SCHEDULER_DISPATCH_MS", "50", 1);
    setenv ("GAPLESS_SCHEDULER_RESCUE_MS", "500", 1);
    setenv ("GAPLESS_SCHEDULER_NOT_NOW_MS", "200", 1);
    //  Yahoo first for 1m (Polygon refills), alone for 5m
    setenv ("GAPLESS_SCHEDULER_ROUTE_1M", "yahoo,polygon", 1);
    setenv ("GAPLESS_SCHEDULER_ROUTE_5M", "yahoo", 1);
    setenv ("GAPLESS_COVERAGE_AUDIT_MS", "200", 1);
    setenv ("GAPLESS_COVERAGE_SNAPSHOT_MS", "200", 1);
    setenv ("GAPLESS_COVERAGE_SLO_MS", "300", 1);
    setenv ("GAPLESS_COVERAGE_RELOAD_MS", "500", 1);
    setenv ("GAPLESS_COVERAGE_RECONCILE_MS", "50", 1);
    setenv ("GAPLESS_FETCHER_POLYGON_BASE_URL", gl_simclient_url (s_sim, "polygon"), 1);
    setenv ("GAPLESS_FETCHER_POLYGON_KEY", "pk", 1);
    setenv ("GAPLESS_FETCHER_POLYGON_LIMITS", "200/1s", 1);
    setenv ("GAPLESS_FETCHER_YAHOO_BASE_URL", gl_simclient_url (s_sim, "yahoo"), 1);
    setenv ("GAPLESS_FETCHER_YAHOO_LIMITS", "200/1s", 1);
}

//  Starts the broker, writer, scheduler, both fetchers and the tracker.
static void
s_start (void)
{
    char broker_path [512], writer_path [512], scheduler_path [512], heartbeat [16];
    gl_process_binary ("broker/gapless-broker", broker_path, sizeof broker_path);
    gl_process_binary ("actors/writer/gapless-writer", writer_path, sizeof writer_path);
    gl_process_binary ("actors/scheduler/gapless-scheduler", scheduler_path, sizeof scheduler_path);
    gl_process_binary ("tools/cli/gapless", s_cli_path, sizeof s_cli_path);
    snprintf (s_endpoint, sizeof s_endpoint, "tcp://127.0.0.1:%d", gl_process_free_port ());
    snprintf (heartbeat, sizeof heartbeat, "%d", HEARTBEAT_MS);
    s_environment ();
    char *broker_argv [] = { broker_path, "--bind", s_endpoint, "--heartbeat-ms", heartbeat, NULL };
    s_broker = gl_process_start (broker_argv, "broker.log");
    char *writer_argv [] = { writer_path, "--broker", s_endpoint, "--schema", SCHEMA, NULL };
    s_writer = gl_process_start (writer_argv, "writer.log");
    char *scheduler_argv [] = { scheduler_path, "--broker", s_endpoint, "--schema", SCHEMA,
                                "--instance", "s1", NULL };
    s_scheduler = gl_process_start (scheduler_argv, "scheduler.log");
    s_polygon = s_fetcher_start ("polygon");
    s_yahoo = s_fetcher_start ("yahoo");
    s_coverage = s_coverage_start ();
    s_ops_join ();
}

//  Stops a process; it must exit 0 on SIGTERM.
static void
s_stop_one (pid_t *pid)
{
    if (*pid > 0) {
        int status = gl_process_stop (*pid, SIGTERM);
        GL_CHECK (WIFEXITED (status) && WEXITSTATUS (status) == 0);
    }
    *pid = 0;
}

//  Stops every process.
static void
s_stop (void)
{
    zsock_destroy (&s_ops);
    s_stop_one (&s_coverage);
    s_stop_one (&s_polygon);
    s_stop_one (&s_yahoo);
    s_stop_one (&s_scheduler);
    s_stop_one (&s_writer);
    s_stop_one (&s_broker);
}

//  Waits until the tracker answers (it loads its state first).
static bool
s_wait_tracker (void)
{
    return s_wait_for (s_gap_count ("FULL", "1d", "2024-01-01", "2024-02-01") >= 0, 20000);
}

//  --------------------------------------------------------------------------
//  Before start: a fully stored symbol, a listed one

//  The first and last bar of each UTC day of a walk, as two array
//  literals "{..}" of Unix seconds.
typedef struct {
    char *firsts, *lasts;
    size_t used_firsts, used_lasts, size;
    int64_t first, last;        //  of the day in progress, first -1: none
} s_days_t;

//  Appends the day in progress to both literals.
static void
s_days_flush (s_days_t *days)
{
    if (days->first < 0)
        return;
    days->used_firsts += (size_t) snprintf (days->firsts + days->used_firsts,
                                            days->size - days->used_firsts, "%s%" PRId64,
                                            days->used_firsts > 1? ",": "", days->first);
    days->used_lasts += (size_t) snprintf (days->lasts + days->used_lasts,
                                           days->size - days->used_lasts, "%s%" PRId64,
                                           days->used_lasts > 1? ",": "", days->last);
}

static int
s_days_bar (int64_t bar_start, void *argument)
{
    s_days_t *days = (s_days_t *) argument;
    if (days->first >= 0 && bar_start / 86400 != days->first / 86400) {
        s_days_flush (days);
        days->first = -1;
    }
    if (days->first < 0)
        days->first = bar_start;
    days->last = bar_start;
    return 0;
}

//  FULL holds every bar of 2019-2027 in 1m, 1h, 1d and 1w, and coverage
//  says so per session (per bar for 1d and 1w): what the tracker loads.
static void
s_seed_full (gl_calendar_t *calendar)
{
    s_exec ("INSERT INTO symbols (ticker, listed_on) VALUES ('FULL', '1980-12-12'),"
            " ('NEWCO', '2024-03-01'), ('NEWER', '2024-03-01'), ('HOLE', NULL), ('QUIET', NULL)");
    gl_timeframe_t timeframes [] = { GL_TF_1M, GL_TF_1H, GL_TF_1D, GL_TF_1W };
    size_t size = 4000 * 24;
    for (size_t index = 0; index < 4; index++) {
        s_days_t days = { malloc (size), malloc (size), 1, 1, size, -1, -1 };
        strcpy (days.firsts, "{");
        strcpy (days.lasts, "{");
        gl_calendar_each_bar (calendar, timeframes [index], DATE (2019, 1, 1), DATE (2028, 1, 1),
                              s_days_bar, &days);
        s_days_flush (&days);
        strcat (days.firsts, "}");
        strcat (days.lasts, "}");
        const char *name = gl_timeframe_name (timeframes [index]);
        int64_t length = gl_timeframe_seconds (timeframes [index]);
        size_t sql_size = 2 * size + 512;
        char *sql = malloc (sql_size);
        snprintf (sql, sql_size, "INSERT INTO ohlc_bars (symbol, timeframe, ts, provider, open,"
                  " high, low, close) SELECT 'FULL', '%s', generate_series(to_timestamp(f),"
                  " to_timestamp(l), interval '%" PRId64 " seconds'), 'polygon', 1, 1, 1, 1"
                  "   FROM unnest('%s'::bigint[], '%s'::bigint[]) AS u (f, l)", name, length,
                  days.firsts, days.lasts);
        s_exec (sql);
        snprintf (sql, sql_size, "INSERT INTO coverage (symbol, timeframe, range_from, range_to)"
                  " SELECT 'FULL', '%s', to_timestamp(f), to_timestamp(l + %" PRId64 ")"
                  "   FROM unnest('%s'::bigint[], '%s'::bigint[]) AS u (f, l)", name, length,
                  days.firsts, days.lasts);
        s_exec (sql);
        free (sql);
        free (days.firsts);
        free (days.lasts);
    }
    s_exec ("INSERT INTO coverage (symbol, timeframe, range_from, range_to)"
            " VALUES ('NEWCO', '1d', '2024-03-01', '2024-03-29')");
    s_exec ("INSERT INTO ohlc_bars (symbol, timeframe, ts, provider, open, high, low, close)"
            " SELECT 'NEWCO', '1d', ts, 'yahoo', 1, 1, 1, 1 FROM ohlc_bars"
            "  WHERE symbol = 'FULL' AND timeframe = '1d' AND ts >= '2024-03-01'"
            "    AND ts < '2024-03-29'");
}

//  2019-2027 fully stored: no gap in any timeframe, every bar stored.
static void
s_test_no_false_gap (gl_calendar_t *calendar)
{
    const char *timeframes [] = { "1m", "1h", "1d", "1w" };
    gl_timeframe_t parsed [] = { GL_TF_1M, GL_TF_1H, GL_TF_1D, GL_TF_1W };
    for (size_t index = 0; index < 4; index++) {
        char output [65536];
        GL_CHECK_INT (s_gaps (output, sizeof output, "FULL", timeframes [index], "2019-01-01",
                              "2028-01-01"), 0);
        GL_CHECK_INT (gl_process_json_number (output, "gaps"), 0);
        GL_CHECK_INT (gl_process_json_number (output, "not_fetched"), 0);
        GL_CHECK_INT (gl_process_json_number (output, "ranges"), 1);
        int64_t expected = gl_calendar_count_bars (calendar, parsed [index], DATE (2019, 1, 1),
                                                   DATE (2028, 1, 1));
        GL_CHECK_INT (gl_process_json_number (output, "expected"), expected);
        GL_CHECK_INT (gl_process_json_number (output, "stored"), expected);
    }
    //  The person's view says the same
    char output [4096];
    GL_CHECK_INT (s_cli (output, sizeof output, "coverage FULL 1m --from 2024-11-28 --to"
                         " 2024-11-30"), 0);
    //  Thanksgiving closed, the Friday after an early close at 13:00: 210 bars
    GL_CHECK (strstr (output, "210 expected bars, 1 covered range, 0 gaps") != NULL);
    GL_CHECK (strstr (output, "stored 210, no trades 0, not fetched 0, provider error 0") != NULL);
}

//  A daily bar that disagrees with its day's 1m bars is reported, field
//  by field; the days that agree are not.
static void
s_test_reconcile (void)
{
    //  The bars view shows bars of the stored basis only
    s_exec ("UPDATE ohlc_bars SET adjustment = 'split' WHERE symbol = 'FULL'"
            " AND timeframe IN ('1m', '1d') AND ts >= '2024-03-01' AND ts < '2024-04-01'");
    s_exec ("UPDATE ohlc_bars SET high = 2, close = 2 WHERE symbol = 'FULL' AND timeframe = '1d'"
            " AND ts = '2024-03-05'");
    GL_CHECK (s_wait_for (s_mismatches >= 2, 30000));
    GL_CHECK_STR (s_mismatch_fields, "2024-03-05:high;2024-03-05:close;");
    //  A whole pass later, nothing more: every other day agrees
    GL_CHECK (s_wait_for (s_mismatches >= 4, 30000));
    GL_CHECK_STR (s_mismatch_fields, "2024-03-05:high;2024-03-05:close;"
                                     "2024-03-05:high;2024-03-05:close;");
}

//  Nothing expected before the listing date.
static void
s_test_listing (void)
{
    char output [4096];
    GL_CHECK_INT (s_gap_count ("NEWCO", "1d", "2024-01-01", "2024-04-01"), 0);
    GL_CHECK_INT (s_gaps (output, sizeof output, "NEWER", "1d", "2024-01-01", "2024-04-01"), 0);
    GL_CHECK_INT (gl_process_json_number (output, "gaps"), 1);
    GL_CHECK_INT (gl_process_json_number (output, "not_fetched"), 20);
    GL_CHECK (strstr (output, "\"from\": \"2024-03-01T00:00:00Z\", \"to\": \"2024-03-29T00:00:00Z\"")
              != NULL);
}

//  --------------------------------------------------------------------------
//  Holes left by a provider

//  Enqueues through the CLI; returns the backfill id, or -1.
static int64_t
s_enqueue (const char *arguments)
{
    char output [4096], command [512];
    snprintf (command, sizeof command, "enqueue %s --json", arguments);
    int status = s_cli (output, sizeof output, command);
    if (status != 0)
        fprintf (stderr, "enqueue %s: %d: %s\n", arguments, status, output);
    return status == 0? gl_process_json_number (output, "backfill_id"): -1;
}

//  Sets a provider's fault settings at the sim ("all" for every one;
//  query: "rate_limited=1").
static void
s_faults (const char *provider, const char *query)
{
    char path [128];
    snprintf (path, sizeof path, "/admin/faults?provider=%s&%s", provider, query);
    gl_simclient_reply_t reply;
    gl_simclient_request ("POST", gl_simclient_url (s_sim, "admin"), path, NULL, 5000, &reply);
    GL_CHECK_INT (reply.status, 200);
    gl_simclient_reply_free (&reply);
}

//  Yahoo drops bars; the holes are exactly those bars; Polygon refills.
//  Polygon answers 429 (which costs the refill nothing) until the holes
//  are checked, so the refill cannot fill them while the test looks.
static void
s_test_provider_holes (void)
{
    s_faults ("polygon", "rate_limited=1");
    int64_t backfill = s_enqueue ("HOLE --timeframe 1m --from 2024-03-04 --to 2024-03-05"
                                  " --provider yahoo");
    GL_CHECK (backfill > 0);
    //  The tracker hears the WRITTEN, finds the holes, tells ops
    GL_CHECK (s_wait_for (s_gaps_found [0] >= 1, 60000));
    int64_t stored = s_number ("SELECT count(*) FROM ohlc_bars WHERE symbol = 'HOLE'");
    GL_CHECK (stored > 300 && stored < 390);
    char output [65536];
    GL_CHECK_INT (s_gaps (output, sizeof output, "HOLE", "1m", "2024-03-04", "2024-03-05"), 0);
    GL_CHECK_INT (gl_process_json_number (output, "stored"), stored);
    GL_CHECK_INT (gl_process_json_number (output, "not_fetched"), 390 - stored);
    //  Every missing minute is inside a gap, and no gap holds a stored one:
    //  the gap rows' bars add up to the missing count
    int64_t total = 0;
    for (const char *cursor = strstr (output, "\"bars\": "); cursor;
         cursor = strstr (cursor + 1, "\"bars\": "))
        total += atoll (cursor + 8);
    GL_CHECK_INT (total, 390 - stored);
    int64_t first_missing = s_number (
        "SELECT extract(epoch FROM min(t))::bigint FROM generate_series("
        "'2024-03-04 14:30+00'::timestamptz, '2024-03-04 20:59+00', '1 minute') AS t"
        " WHERE t NOT IN (SELECT ts FROM ohlc_bars WHERE symbol = 'HOLE')");
    char first [64];
    time_t instant = (time_t) first_missing;
    struct tm utc;
    gmtime_r (&instant, &utc);
    strftime (first, sizeof first, "\"from\": \"%Y-%m-%dT%H:%M:%SZ\"", &utc);
    GL_CHECK (strstr (output, first) != NULL);
    s_faults ("polygon", "rate_limited=0");
    //  The refill goes to Polygon, the next provider allowed for 1m
    GL_CHECK (s_wait_for (s_number ("SELECT count(*) FROM backfills WHERE 'HOLE' = ANY (symbols)"
                                    " AND provider = 'polygon'") == 1, 20000));
    //  The scheduler queues the slice again (refresh), pinned to Polygon
    GL_CHECK (s_wait_for (s_gap_count ("HOLE", "1m", "2024-03-04", "2024-03-05") == 0, 60000));
    GL_CHECK_INT (s_number ("SELECT count(*) FROM ohlc_bars WHERE symbol = 'HOLE'"
                            " AND provider = 'polygon'"), 390);
    GL_CHECK (s_wait_for (s_number ("SELECT count(*) FROM coverage_holes"
                                    " WHERE symbol = 'HOLE'") == 0, 10000));
}

//  Yahoo alone serves 5m: what it lacks is no trades, never asked again.
static void
s_test_no_trades (void)
{
    int64_t backfill = s_enqueue ("QUIET --timeframe 5m --from 2024-03-04 --to 2024-03-09");
    GL_CHECK (backfill > 0);
    char sql [256];
    snprintf (sql, sizeof sql, "SELECT count(*) FROM backfill_progress WHERE id = %" PRId64
              " AND status = 'succeeded'", backfill);
    GL_CHECK (s_wait_for (s_number (sql) == 1, 60000));
    int64_t stored = s_number ("SELECT count(*) FROM ohlc_bars WHERE symbol = 'QUIET'");
    GL_CHECK (stored > 0 && stored < 5 * 78);
    char output [65536];
    GL_CHECK (s_wait_for (s_gaps (output, sizeof output, "QUIET", "5m", "2024-03-04",
                                  "2024-03-09") == 0
                          && gl_process_json_number (output, "no_trades") == 5 * 78 - stored, 20000));
    GL_CHECK_INT (gl_process_json_number (output, "gaps"), 0);
    GL_CHECK_INT (gl_process_json_number (output, "stored"), stored);
    GL_CHECK (s_wait_for (s_number ("SELECT count(*) FROM coverage_no_trades"
                                    " WHERE symbol = 'QUIET'") > 0, 10000));
    //  No refill was asked, and asking again fetches nothing: all stored
    GL_CHECK_INT (s_number ("SELECT count(*) FROM backfills WHERE 'QUIET' = ANY (symbols)"), 1);
    GL_CHECK (s_wait_for (s_number ("SELECT count(*) FROM coverage WHERE symbol = 'QUIET'") > 0,
                          10000));
    GL_CHECK_INT (s_cli (output, sizeof output, "enqueue QUIET --timeframe 5m --from 2024-03-04"
                         " --to 2024-03-09 --json"), 0);
    GL_CHECK_INT (gl_process_json_number (output, "slices_new"), 0);
    GL_CHECK_INT (s_gaps_found [1], 0);
}

//  A bar deleted from the store: the audit finds exactly it.
static void
s_test_deleted_bar (void)
{
    int found = s_gaps_found [0];
    s_exec ("DELETE FROM ohlc_bars WHERE symbol = 'HOLE' AND ts = '2024-03-04 15:31+00'");
    //  The audit reports exactly that bar (gaps_found), then refills it from
    //  the first allowed provider; the gap may close before anyone asks, so
    //  the event is the witness, and the end state is the bar back in place
    GL_CHECK (s_wait_for (s_gaps_found [0] > found, 30000));
    GL_CHECK_INT (s_hole_bars, 1);
    char output [65536];
    GL_CHECK (s_wait_for (s_gaps (output, sizeof output, "HOLE", "1m", "2024-03-04",
                                  "2024-03-05") == 0 && gl_process_json_number (output, "gaps") == 0,
                          30000));
    GL_CHECK_INT (s_number ("SELECT count(*) FROM ohlc_bars WHERE symbol = 'HOLE'"
                            " AND ts = '2024-03-04 15:31+00'"), 1);
}

//  A dead slice's bars are provider errors, not "not fetched".
static void
s_test_provider_error (void)
{
    //  Longer than any ticker the sim knows: Polygon answers not found
    int64_t backfill = s_enqueue ("ABCDEFGHIJKLMNOPQRS --timeframe 1d --from 2023-01-01"
                                  " --to 2024-01-01 --provider polygon");
    GL_CHECK (backfill > 0);
    char output [65536];
    GL_CHECK (s_wait_for (s_gaps (output, sizeof output, "ABCDEFGHIJKLMNOPQRS", "1d",
                                  "2023-01-01", "2024-01-01") == 0
                          && gl_process_json_number (output, "provider_error") == 250, 30000));
    GL_CHECK_INT (gl_process_json_number (output, "not_fetched"), 0);
    GL_CHECK (strstr (output, "\"kind\": \"provider_error\"") != NULL);
}

//  More than 1000 gaps: 1000 rows, and the total says how many.
static void
s_test_many_gaps (void)
{
    s_exec ("INSERT INTO symbols (ticker, calendar) VALUES ('SPARSE', '24x7')");
    s_exec ("INSERT INTO ohlc_bars (symbol, timeframe, ts, provider, open, high, low, close)"
            " SELECT 'SPARSE', '1m', t, 'polygon', 1, 1, 1, 1 FROM generate_series("
            "'2024-05-01 00:00+00'::timestamptz, '2024-05-02 23:58+00', '2 minutes') AS t");
    //  Every other minute stored and written (each a slice job_runs holds:
    //  coverage believes no other WRITTEN)
    s_exec ("INSERT INTO job_runs (symbol, timeframe, slice_from, slice_to, status, provider)"
            " SELECT 'SPARSE', '1m', t, t + interval '1 minute', 'succeeded', 'polygon'"
            " FROM generate_series('2024-05-01 00:00+00'::timestamptz, '2024-05-02 23:58+00',"
            " '2 minutes') AS t");
    int64_t first = s_number ("SELECT min(id) FROM job_runs WHERE symbol = 'SPARSE'");
    for (int64_t start = DATE (2024, 5, 1); start < DATE (2024, 5, 3); start += 2 * MINUTE) {
        gl_msg_t *written = gl_msg_new (GL_MSG_WRITTEN);
        written->written.run_id = (uint64_t) (first + (start - DATE (2024, 5, 1)) / (2 * MINUTE));
        snprintf (written->written.symbol, sizeof written->written.symbol, "SPARSE");
        snprintf (written->written.timeframe, sizeof written->written.timeframe, "1m");
        written->written.from = start;
        written->written.to = start + MINUTE;
        written->written.rows = 1;
        s_ops_send ("coverage", written);
        gl_msg_destroy (&written);
    }
    char output [1 << 18];
    GL_CHECK (s_wait_for (s_gaps (output, sizeof output, "SPARSE", "1m", "2024-05-01",
                                  "2024-05-03") == 0 && gl_process_json_number (output, "stored") == 1440,
                          30000));
    GL_CHECK_INT (gl_process_json_number (output, "gaps"), 1440);
    GL_CHECK_INT (gl_process_json_number (output, "rows_total"), 1440);
    int rows = 0;
    for (const char *cursor = strstr (output, "\"kind\": "); cursor;
         cursor = strstr (cursor + 1, "\"kind\": "))
        rows++;
    GL_CHECK_INT (rows, 1000);
}

//  --------------------------------------------------------------------------
//  Freshness

//  Sends WRITTEN for a 24x7 symbol's bars in [from, to) from the ops peer,
//  for a slice recorded succeeded in job_runs.
static void
s_written (const char *symbol, int64_t from, int64_t to)
{
    char sql [512];
    snprintf (sql, sizeof sql, "INSERT INTO job_runs (symbol, timeframe, slice_from, slice_to,"
              " status, provider) VALUES ('%s', '1m', to_timestamp(%" PRId64 "), to_timestamp(%"
              PRId64 "), 'succeeded', 'polygon') ON CONFLICT DO NOTHING", symbol, from, to);
    s_exec (sql);
    snprintf (sql, sizeof sql, "SELECT id FROM job_runs WHERE symbol = '%s' AND timeframe = '1m'"
              " AND slice_from = to_timestamp(%" PRId64 ")", symbol, from);
    gl_msg_t *written = gl_msg_new (GL_MSG_WRITTEN);
    written->written.run_id = (uint64_t) s_number (sql);
    snprintf (written->written.symbol, sizeof written->written.symbol, "%s", symbol);
    snprintf (written->written.timeframe, sizeof written->written.timeframe, "1m");
    written->written.from = from;
    written->written.to = to;
    written->written.rows = (uint64_t) ((to - from) / MINUTE);
    s_ops_send ("coverage", written);
    gl_msg_destroy (&written);
}

//  Two 24x7 T0 symbols fresh: rate 0; one's latest bars deleted: 0.5.
static void
s_test_slo (void)
{
    int64_t now = (int64_t) time (NULL), minute = now / MINUTE * MINUTE;
    int64_t from = minute - 120 * MINUTE, to = minute + 10 * MINUTE;
    s_exec ("INSERT INTO symbols (ticker, calendar, tier) VALUES ('BTCX', '24x7', 'T0'),"
            " ('ETHX', '24x7', 'T0')");
    char sql [512];
    snprintf (sql, sizeof sql, "INSERT INTO ohlc_bars (symbol, timeframe, ts, provider, open,"
              " high, low, close) SELECT s, '1m', t, 'polygon', 1, 1, 1, 1"
              "   FROM unnest(ARRAY['BTCX', 'ETHX']) AS s, generate_series(to_timestamp(%"
              PRId64 "), to_timestamp(%" PRId64 "), '1 minute') AS t", from, to - MINUTE);
    s_exec (sql);
    //  The symbols reload, then the slices arrive
    GL_CHECK (s_wait_for (s_gap_count ("ETHX", "1m", "2024-01-01", "2024-01-02") == 1, 20000));
    s_slo.heard = false;
    //  WRITTEN is idempotent: sent again while the peer may have been away
    for (int attempt = 0; attempt < 10 && !(s_slo.heard && s_slo.sampled == 2); attempt++) {
        s_written ("BTCX", from, to);
        s_written ("ETHX", from, to);
        s_wait_for (s_slo.heard && s_slo.sampled == 2, 2000);
    }
    GL_CHECK (s_slo.heard && s_slo.sampled == 2);
    GL_CHECK_INT (s_slo.violations, 0);
    GL_CHECK_STR (s_slo.rate, "0.0000");
    //  ETHX loses its last half hour: the audit finds it, the rate moves.
    //  Every provider answers 429 meanwhile (which costs nothing), so the
    //  refill cannot mend the hole before the SLO samples it
    s_faults ("all", "rate_limited=1");
    snprintf (sql, sizeof sql, "DELETE FROM ohlc_bars WHERE symbol = 'ETHX' AND ts >="
              " to_timestamp(%" PRId64 ")", minute - 20 * MINUTE);
    s_exec (sql);
    GL_CHECK (s_wait_for (s_slo.violations == 1, 20000));
    GL_CHECK_STR (s_slo.rate, "0.5000");
    GL_CHECK_INT (s_slo.sampled, 2);
    s_faults ("all", "rate_limited=0");
    GL_CHECK (s_gaps_found [2] >= 1);
    GL_CHECK (s_snapshots > 0);
}

//  --------------------------------------------------------------------------
//  Restart and hostile requests

//  A restarted tracker answers as before from what it saved.
static void
s_test_restart (void)
{
    char before [3][65536], after [65536];
    const char *symbols [] = { "HOLE", "QUIET", "FULL" }, *timeframes [] = { "1m", "5m", "1m" };
    for (int index = 0; index < 3; index++)
        GL_CHECK_INT (s_gaps (before [index], sizeof before [index], symbols [index],
                              timeframes [index], "2024-03-01", "2024-03-10"), 0);
    s_stop_one (&s_coverage);
    s_coverage = s_coverage_start ();
    GL_CHECK (s_wait_tracker ());
    for (int index = 0; index < 3; index++) {
        GL_CHECK_INT (s_gaps (after, sizeof after, symbols [index], timeframes [index],
                              "2024-03-01", "2024-03-10"), 0);
        GL_CHECK_STR (after, before [index]);
    }
}

//  Sends a gaps request from the ops peer and waits for its reply.
static bool
s_raw_gaps (const char *symbol, int64_t from, int64_t to)
{
    gl_msg_t *request = gl_msg_new (GL_MSG_GAPS);
    snprintf (request->gaps.request_id, sizeof request->gaps.request_id, "raw:%" PRId64, from);
    snprintf (request->gaps.symbol, sizeof request->gaps.symbol, "%s", symbol);
    snprintf (request->gaps.timeframe, sizeof request->gaps.timeframe, "1m");
    request->gaps.from = from;
    request->gaps.to = to;
    gl_msg_destroy (&s_last_reply);
    //  Sent again if the broker bounced it (the peer was forgotten)
    for (int attempt = 0; attempt < 5 && !s_last_reply; attempt++) {
        gl_msg_destroy (&s_last_reply);
        s_ops_send ("coverage", request);
        s_wait_for (s_last_reply != NULL, 2000);
    }
    gl_msg_destroy (&request);
    return s_last_reply != NULL;
}

//  Every hostile request is refused with a reason; the tracker goes on.
static void
s_test_hostile (void)
{
    char output [4096];
    //  the CLI refuses a bad ticker before sending it; the tracker, on the wire
    GL_CHECK_INT (s_cli (output, sizeof output, "coverage 'AA PL' 1m --from 2024-01-01"
                         " --to 2024-01-02"), 2);
    GL_CHECK (strstr (output, "expected a ticker") != NULL);
    GL_CHECK (s_raw_gaps ("AA PL", DATE (2024, 1, 1), DATE (2024, 1, 2)));
    GL_CHECK (s_last_reply && !s_last_reply->reply.ok
              && strstr (s_last_reply->reply.error, "expected a ticker") != NULL);
    GL_CHECK_INT (s_cli (output, sizeof output, "coverage NOSUCH 1m --from 2024-01-01"
                         " --to 2024-01-02"), 1);
    GL_CHECK (strstr (output, "unknown symbol NOSUCH") != NULL);
    GL_CHECK_INT (s_cli (output, sizeof output, "coverage FULL 1m --from 1971-01-01"
                         " --to 2099-01-01"), 1);
    GL_CHECK (strstr (output, "range too large") != NULL);
    GL_CHECK_INT (s_cli (output, sizeof output, "coverage FULL 1m --from 2024-02-01"
                         " --to 2024-01-01"), 2);
    GL_CHECK (strstr (output, "--from must be before --to") != NULL);
    GL_CHECK_INT (s_cli (output, sizeof output, "coverage FULL"), 2);
    GL_CHECK_INT (s_cli (output, sizeof output, "coverage FULL 1m --from 2024-02-30"
                         " --to 2024-03-01"), 2);
    GL_CHECK_INT (s_cli (output, sizeof output, "coverage --help"), 0);
    GL_CHECK (strstr (output, "usage: gapless coverage") != NULL);
    //  from >= to straight on the wire
    GL_CHECK (s_raw_gaps ("FULL", DATE (2024, 2, 1), DATE (2024, 1, 1)));
    GL_CHECK (s_last_reply && !s_last_reply->reply.ok
              && strstr (s_last_reply->reply.error, "expected from < to") != NULL);
    //  A WRITTEN of no slice job_runs holds, claiming every bar of a
    //  session nothing was stored for, is not believed
    gl_msg_t *written = gl_msg_new (GL_MSG_WRITTEN);
    written->written.run_id = 999999999;
    snprintf (written->written.symbol, sizeof written->written.symbol, "FULL");
    snprintf (written->written.timeframe, sizeof written->written.timeframe, "1m");
    written->written.from = DATE (2030, 1, 2) + 870 * MINUTE;      //  14:30 to 21:00 UTC
    written->written.to = DATE (2030, 1, 2) + 1260 * MINUTE;
    written->written.rows = 390;
    s_ops_send ("coverage", written);
    gl_msg_destroy (&written);
    GL_CHECK (s_raw_gaps ("FULL", DATE (2030, 1, 2), DATE (2030, 1, 3)));
    GL_CHECK_STR (s_last_reply? gl_msg_field (s_last_reply->reply.fields,
                                              s_last_reply->reply.field_count, "stored"): NULL,
                  "0");
    //  Garbage bodies are dropped by the runtime
    zmsg_t *garbage = zmsg_new ();
    uint8_t header [GL_WIRE_HEADER_SIZE];
    gl_wire_header (header, GL_WIRE_SEND);
    zmsg_addmem (garbage, header, sizeof header);
    zmsg_addstr (garbage, "coverage");
    zmsg_addmem (garbage, "\x81\xa4type\xa4gaps", 11);
    zmsg_send (&garbage, s_ops);
    //  ... and it still answers, correctly
    GL_CHECK (s_raw_gaps ("FULL", DATE (2024, 1, 2), DATE (2024, 1, 3)));
    GL_CHECK (s_last_reply && s_last_reply->reply.ok);
    GL_CHECK_STR (s_last_reply? gl_msg_field (s_last_reply->reply.fields,
                                              s_last_reply->reply.field_count, "stored"): NULL,
                  "390");
    GL_CHECK_INT (s_gap_count ("FULL", "1m", "2024-01-01", "2024-02-01"), 0);
}

int
main (void)
{
    s_db = gl_testdb_new ("coverage");
    gl_calendar_t *calendar = gl_calendar_new (GL_CALENDAR_XNYS);
    s_sim = gl_simclient_new ("sim\n"
                              "    polygon\n        keys\n            default = \"pk\"\n"
                              "    yahoo\n        null_rate = 0.03\n", NULL);
    GL_CHECK (s_db && calendar && s_sim);
    if (s_db && calendar && s_sim) {
        s_seed_full (calendar);
        s_start ();
        GL_CHECK (s_wait_tracker ());
        s_test_no_false_gap (calendar);
        s_test_reconcile ();
        s_test_listing ();
        s_test_hostile ();
        s_test_provider_holes ();
        s_test_no_trades ();
        s_test_deleted_bar ();
        s_test_provider_error ();
        s_test_many_gaps ();
        s_test_slo ();
        s_test_restart ();
        s_stop ();
    }
    gl_msg_destroy (&s_last_reply);
    if (s_sim)
        GL_CHECK_INT (gl_simclient_stop (s_sim), 0);
    gl_simclient_destroy (&s_sim);
    gl_calendar_destroy (&calendar);
    gl_db_destroy (&s_db);
    return gl_test_done ("test_coverage");
}
