/*  test_scheduler — the whole loop with real processes: the gapless CLI
    asks a real gapless-scheduler through a real broker; real fetchers
    fetch from gapless-sim, a real writer stores into PostgreSQL.

    - a 2-symbol x 3-month 1h backfill lands exactly the sim's bars;
    - 50 CLI processes sending one request at once make one set of slices;
    - a SIGKILLed fetcher's slices are queued again on the broker's
      announcement that it left, long before their lease could expire,
      and finish on the other fetcher; the time it took is printed in
      heartbeat intervals;
    - two schedulers at once never send one slice twice (the sim counts
      one request per slice);
    - pause, resume and cancel through the CLI;
    - a failing provider trips its breaker and its slices finish at the
      next provider, none dead-lettered;
    - schedulers killed mid-run: a new one adopts the running slices and
      the backfill finishes;
    - a slice every allowed provider refuses is dead-lettered, listed,
      requeued and purged through the CLI;
    - every CLI error path gives a one-line error and the documented exit
      status;
    - FAILED answers with a lease token not the slice's are counted stale
      and change nothing; dead-letter commands for a slice that is not
      dead are refused;
    - a symbol inserted into T0 gets its tier's windows backfilled, each
      once, with two schedulers watching;
    - live work (priority 30 and up) finishes long before a bulk backlog
      ahead of it drains.
    Waits are conditions with deadlines; nothing asserts on wall-clock time.
*/
#include "gl_calendar.h"
#include "gl_db.h"
#include "gl_simbars.h"
#include "gl_testdb.h"
#include "test_fetcher_peers.h"
#include <math.h>
#include <time.h>

#define SCHEMA "gapless_test_scheduler"
#define HEARTBEAT_MS 250
#define DATE(y, m, d) gl_calendar_date_utc (y, m, d)

static gl_db_t *s_db;
static gl_simclient_t *s_sim;
static char s_endpoint [64], s_cli_path [512];
static pid_t s_broker, s_writer, s_schedulers [2], s_fetchers [4];

//  The one value of a query as a number (-1 on failure).
static int64_t
s_number (const char *sql)
{
    return gl_testdb_number (s_db, sql);
}

//  Waits until the query's value equals expected; returns the last value.
static int64_t
s_wait_number (const char *sql, int64_t expected, int64_t timeout_ms)
{
    int64_t deadline = zclock_mono () + timeout_ms, value;
    while ((value = s_number (sql)) != expected && zclock_mono () < deadline)
        zclock_sleep (50);
    return value;
}

//  Runs the CLI with arguments (a shell word list the test controls),
//  against the test's broker unless bare; stores its output in output and
//  returns its exit status.
static int
s_run_cli (char *output, size_t size, const char *arguments, bool bare)
{
    char command [2048];
    snprintf (command, sizeof command, "%s %s%s%s 2>&1", s_cli_path, arguments,
              bare? "": " --timeout-ms 10000 --broker ", bare? "": s_endpoint);
    return gl_process_run (command, output, size);
}

#define s_cli(output, size, arguments) s_run_cli ((output), (size), (arguments), false)
#define s_cli_bare(output, size, arguments) s_run_cli ((output), (size), (arguments), true)

//  Starts a fetcher for a provider pointed at the sim.
static pid_t
s_provider_fetcher_start (const char *provider, const char *instance)
{
    char path [512];
    gl_process_binary ("actors/fetcher/gapless-fetcher", path, sizeof path);
    char *argv [] = { path, "--provider", (char *) provider, "--broker", s_endpoint,
                      "--instance", (char *) instance, NULL };
    return gl_process_start (argv, "fetcher.log");
}

//  Starts a fetcher for polygon pointed at the sim.
static pid_t
s_fetcher_start (const char *instance)
{
    return s_provider_fetcher_start ("polygon", instance);
}

//  Starts a scheduler on the test's schema.
static pid_t
s_scheduler_start (const char *instance)
{
    char path [512];
    gl_process_binary ("actors/scheduler/gapless-scheduler", path, sizeof path);
    char *argv [] = { path, "--broker", s_endpoint, "--schema", SCHEMA,
                      "--instance", (char *) instance, NULL };
    return gl_process_start (argv, "scheduler.log");
}

//  Starts the broker, the writer, one scheduler and one fetcher.
static void
s_start (void)
{
    char broker_path [512], writer_path [512], heartbeat [16];
    gl_process_binary ("broker/gapless-broker", broker_path, sizeof broker_path);
    gl_process_binary ("actors/writer/gapless-writer", writer_path, sizeof writer_path);
    gl_process_binary ("tools/cli/gapless", s_cli_path, sizeof s_cli_path);
    snprintf (s_endpoint, sizeof s_endpoint, "tcp://127.0.0.1:%d", gl_process_free_port ());
    snprintf (heartbeat, sizeof heartbeat, "%d", HEARTBEAT_MS);
    setenv ("GAPLESS_BROKER_HEARTBEAT_MS", heartbeat, 1);
    setenv ("GAPLESS_SCHEDULER_DISPATCH_MS", "50", 1);
    setenv ("GAPLESS_SCHEDULER_RESCUE_MS", "500", 1);
    setenv ("GAPLESS_SCHEDULER_NOT_NOW_MS", "200", 1);
    setenv ("GAPLESS_FETCHER_POLYGON_BASE_URL", gl_simclient_url (s_sim, "polygon"), 1);
    setenv ("GAPLESS_FETCHER_POLYGON_KEY", "pk", 1);
    setenv ("GAPLESS_FETCHER_POLYGON_LIMITS", "200/1s", 1);
    setenv ("GAPLESS_FETCHER_POLYGON_TIMEOUT_MS", "60000", 1);
    setenv ("GAPLESS_FETCHER_POLYGON_HEALTH_MS", "250", 1);
    char *broker_argv [] = { broker_path, "--bind", s_endpoint, "--heartbeat-ms", heartbeat, NULL };
    s_broker = gl_process_start (broker_argv, "broker.log");
    char *writer_argv [] = { writer_path, "--broker", s_endpoint, "--schema", SCHEMA, NULL };
    s_writer = gl_process_start (writer_argv, "writer.log");
    s_schedulers [0] = s_scheduler_start ("s1");
    s_fetchers [0] = s_fetcher_start ("f1");
}

//  Stops every process; each must exit 0 on SIGTERM (a sanitizer report
//  or a crash would not).
static void
s_stop (void)
{
    pid_t pids [] = { s_fetchers [0], s_fetchers [1], s_fetchers [2], s_fetchers [3],
                      s_schedulers [0], s_schedulers [1], s_writer, s_broker };
    for (size_t index = 0; index < sizeof pids / sizeof pids [0]; index++)
        if (pids [index] > 0) {
            int status = gl_process_stop (pids [index], SIGTERM);
            GL_CHECK (WIFEXITED (status) && WEXITSTATUS (status) == 0);
        }
}

//  Enqueues through the CLI and returns the backfill id (-1 on failure).
static int64_t
s_enqueue (const char *arguments)
{
    char output [4096], command [1024];
    snprintf (command, sizeof command, "enqueue %s --json", arguments);
    int status = s_cli (output, sizeof output, command);
    if (status != 0)
        fprintf (stderr, "enqueue %s: status %d: %s\n", arguments, status, output);
    GL_CHECK_INT (status, 0);
    return gl_process_json_number (output, "backfill_id");
}

//  Waits until the scheduler counts this many live fetcher instances.
static bool
s_wait_instances (int64_t expected)
{
    char output [4096];
    int64_t deadline = zclock_mono () + 20000, seen = -1;
    while (zclock_mono () < deadline) {
        if (s_cli (output, sizeof output, "enqueue X --timeframe 1d --from 2024-01-01"
                   " --to 2024-02-01 --plan --json") == 0
        &&  (seen = gl_process_json_number (output, "fetcher_instances")) == expected)
            return true;
        zclock_sleep (100);
    }
    fprintf (stderr, "fetcher instances: %" PRId64 ", expected %" PRId64 "\n", seen, expected);
    return false;
}

//  Waits for a backfill to reach a status.
static bool
s_wait_status (int64_t backfill, const char *status, int64_t timeout_ms)
{
    char sql [256];
    snprintf (sql, sizeof sql, "SELECT count(*) FROM backfill_progress WHERE id = %" PRId64
              " AND status = '%s'", backfill, status);
    return s_wait_number (sql, 1, timeout_ms) == 1;
}

//  Compares the stored bars of symbol/timeframe in [from, to) with the
//  sim's, bar by bar. Returns how many matched.
static size_t
s_compare_bars (gl_calendar_t *calendar, const char *symbol, gl_timeframe_t timeframe,
                int64_t from, int64_t to)
{
    gl_simbar_t *bars = NULL;
    size_t count = 0, matched = 0;
    GL_CHECK_INT (gl_simbars_generate (calendar, symbol, timeframe, from, to, &bars, &count), 0);
    char sql [512];
    snprintf (sql, sizeof sql, "SELECT extract(epoch FROM ts)::bigint, open, high, low, close,"
              " volume FROM ohlc_bars WHERE symbol = '%s' AND timeframe = '%s' AND ts >="
              " to_timestamp(%" PRId64 ") AND ts < to_timestamp(%" PRId64 ") ORDER BY ts",
              symbol, gl_timeframe_name (timeframe), from, to);
    PGresult *result = PQexec (gl_db_conn (s_db), sql);
    GL_CHECK_INT (PQntuples (result), (int) count);
    for (int row = 0; row < PQntuples (result) && (size_t) row < count; row++) {
        const gl_simbar_t *bar = &bars [row];
        bool same = atoll (PQgetvalue (result, row, 0)) == bar->start
            && fabs (atof (PQgetvalue (result, row, 1)) - (double) bar->open / 100) < 1e-6
            && fabs (atof (PQgetvalue (result, row, 2)) - (double) bar->high / 100) < 1e-6
            && fabs (atof (PQgetvalue (result, row, 3)) - (double) bar->low / 100) < 1e-6
            && fabs (atof (PQgetvalue (result, row, 4)) - (double) bar->close / 100) < 1e-6
            && fabs (atof (PQgetvalue (result, row, 5)) - (double) bar->volume) < 1e-6;
        matched += same;
    }
    PQclear (result);
    free (bars);
    return matched;
}

//  Two symbols, three months of 1h: exactly the sim's bars, once each.
static void
s_test_backfill_lands (gl_calendar_t *calendar)
{
    int64_t backfill = s_enqueue ("AAPL,MSFT --timeframe 1h --from 2024-01-01 --to 2024-04-01");
    GL_CHECK (backfill > 0);
    GL_CHECK (s_wait_status (backfill, "succeeded", 60000));
    GL_CHECK_INT (s_compare_bars (calendar, "AAPL", GL_TF_1H, DATE (2024, 1, 1), DATE (2024, 4, 1)),
                  427);
    GL_CHECK_INT (s_compare_bars (calendar, "MSFT", GL_TF_1H, DATE (2024, 1, 1), DATE (2024, 4, 1)),
                  427);
    GL_CHECK_INT (s_number ("SELECT count(*) FROM job_runs WHERE symbol IN ('AAPL', 'MSFT')"), 6);
    //  Asked again: nothing new, everything stored already
    char output [4096];
    GL_CHECK_INT (s_cli (output, sizeof output, "enqueue AAPL,MSFT --timeframe 1h --from 2024-01-01"
                         " --to 2024-04-01 --json"), 0);
    GL_CHECK_INT (gl_process_json_number (output, "slices_new"), 0);
    GL_CHECK_INT (gl_process_json_number (output, "slices_stored"), 6);
    //  --refresh would fetch them again (a plan: nothing changes)
    GL_CHECK_INT (s_cli (output, sizeof output, "enqueue AAPL,MSFT --timeframe 1h --from 2024-01-01"
                         " --to 2024-04-01 --refresh --provider polygon --plan --json"), 0);
    GL_CHECK_INT (gl_process_json_number (output, "slices_refreshed"), 6);
    GL_CHECK_INT (gl_process_json_number (output, "slices_stored"), 0);
    GL_CHECK_INT (s_number ("SELECT count(*) FROM job_runs WHERE symbol IN ('AAPL', 'MSFT')"
                            " AND status = 'succeeded'"), 6);
    //  status shows it done
    GL_CHECK_INT (s_cli (output, sizeof output, "status"), 0);
    GL_CHECK (strstr (output, "succeeded") != NULL);
}

//  50 CLI processes send one request at once: one backfill, one set of slices.
static void
s_test_parallel_requests (void)
{
    char command [4096];
    snprintf (command, sizeof command, "for i in $(seq 50); do %s enqueue NVDA,AMD --timeframe 1d"
              " --from 2020-01-01 --to 2023-01-01 --broker %s --timeout-ms 20000 >/dev/null"
              " 2>>parallel.log & done; wait", s_cli_path, s_endpoint);
    GL_CHECK_INT (system (command), 0);
    GL_CHECK_INT (s_number ("SELECT count(*) FROM job_runs WHERE symbol IN ('NVDA', 'AMD')"
                            " AND timeframe = '1d'"), 6);
    GL_CHECK_INT (s_number ("SELECT count(*) FROM backfills WHERE timeframe = '1d'"), 1);
    int64_t backfill = s_number ("SELECT id FROM backfills WHERE timeframe = '1d'");
    GL_CHECK (s_wait_status (backfill, "succeeded", 60000));
    GL_CHECK_INT (s_number ("SELECT count(*) FROM ohlc_bars WHERE symbol = 'NVDA'"
                            " AND timeframe = '1d'"), 253 + 252 + 251);
}

//  A fetcher killed while it holds slices: they are queued again when the
//  broker says it left, not when their lease (120 s) runs out, and finish
//  on the other fetcher.
static void
s_test_fetcher_killed (void)
{
    s_fetchers [1] = s_fetcher_start ("f2");
    GL_CHECK (s_wait_instances (2));
    //  Every request hangs, so slices stay with the fetchers that hold them
    peers_sim_admin (s_sim, "/admin/faults?provider=polygon&hang=1&hang_ms=5000");
    int64_t backfill = s_enqueue ("TSLA --timeframe 1m --from 2024-03-04 --to 2024-03-09");
    GL_CHECK (backfill > 0);
    GL_CHECK_INT (s_wait_number ("SELECT count(*) FROM job_runs WHERE symbol = 'TSLA'"
                                 " AND status = 'running'", 5, 20000), 5);
    int64_t killed_at = zclock_mono ();
    gl_process_stop (s_fetchers [0], SIGKILL);
    s_fetchers [0] = 0;
    //  Each slice f1 held comes back as worker_lost; none waits for its lease
    int64_t lost = 0;
    int64_t deadline = zclock_mono () + 20000;
    while ((lost = s_number ("SELECT count(*) FROM job_runs WHERE symbol = 'TSLA'"
                             " AND error_class = 'worker_lost'")) == 0
    &&     zclock_mono () < deadline)
        zclock_sleep (20);
    int64_t requeued_at = zclock_mono ();
    GL_CHECK (lost >= 1);
    printf ("test_scheduler: %" PRId64 " slices of the killed fetcher queued again after %.1f"
            " heartbeat intervals (lease 120 s = %d intervals)\n", lost,
            (double) (requeued_at - killed_at) / HEARTBEAT_MS, 120000 / HEARTBEAT_MS);
    GL_CHECK_INT (s_number ("SELECT count(*) FROM job_runs WHERE symbol = 'TSLA'"
                            " AND error_class = 'lease_expired'"), 0);
    //  The faults end: everything finishes on f2, the lost slices with one
    //  attempt spent
    peers_sim_admin (s_sim, "/admin/faults?provider=polygon&hang=0");
    GL_CHECK (s_wait_status (backfill, "succeeded", 90000));
    GL_CHECK_INT (s_number ("SELECT count(*) FROM ohlc_bars WHERE symbol = 'TSLA'"
                            " AND timeframe = '1m'"), 5 * 390);
}

//  Two schedulers share the queue: no slice is sent twice.
static void
s_test_two_schedulers (void)
{
    s_schedulers [1] = s_scheduler_start ("s2");
    peers_sim_admin (s_sim, "/admin/reset");
    int64_t backfill = s_enqueue ("IBM,ORCL --timeframe 1m --from 2024-04-01 --to 2024-04-13");
    GL_CHECK (backfill > 0);
    GL_CHECK (s_wait_status (backfill, "succeeded", 90000));
    //  Ten sessions of two symbols: twenty slices, twenty requests
    GL_CHECK_INT (s_number ("SELECT count(*) FROM job_runs WHERE symbol IN ('IBM', 'ORCL')"
                            " AND timeframe = '1m' AND attempt = 0"), 20);
    peers_audit_t audit = peers_sim_audit (s_sim, "polygon", "default", "200");
    GL_CHECK_INT (audit.with_status, 20);
}

//  pause, resume and cancel through the CLI.
static void
s_test_control (void)
{
    char output [4096], command [256];
    peers_sim_admin (s_sim, "/admin/faults?provider=polygon&hang=1&hang_ms=5000");
    int64_t backfill = s_enqueue ("KO --timeframe 1m --from 2024-05-01 --to 2024-06-01");
    snprintf (command, sizeof command, "pause %" PRId64, backfill);
    GL_CHECK_INT (s_cli (output, sizeof output, command), 0);
    GL_CHECK (s_wait_status (backfill, "paused", 5000));
    GL_CHECK_INT (s_cli (output, sizeof output, command), 1);       //  already paused
    GL_CHECK (strstr (output, "cannot be pause") != NULL);
    snprintf (command, sizeof command, "resume %" PRId64, backfill);
    GL_CHECK_INT (s_cli (output, sizeof output, command), 0);
    snprintf (command, sizeof command, "cancel %" PRId64, backfill);
    GL_CHECK_INT (s_cli (output, sizeof output, command), 0);
    GL_CHECK (s_wait_status (backfill, "cancelled", 5000));
    char sql [256];
    snprintf (sql, sizeof sql, "SELECT count(*) FROM job_runs r JOIN backfill_runs l ON"
              " l.run_id = r.id WHERE l.backfill_id = %" PRId64 " AND r.status NOT IN"
              " ('cancelled', 'succeeded')", backfill);
    GL_CHECK_INT (s_number (sql), 0);
    peers_sim_admin (s_sim, "/admin/faults?provider=polygon&hang=0");
    snprintf (command, sizeof command, "status %" PRId64 " --json", backfill);
    GL_CHECK_INT (s_cli (output, sizeof output, command), 0);
    GL_CHECK (strstr (output, "\"status\": \"cancelled\"") != NULL);
}

//  Polygon fails every request: its breaker opens, the scheduler hears it
//  and sends the slices to Alpaca; nothing is dead-lettered.
static void
s_test_breaker_routing (void)
{
    //  A polygon fetcher whose breaker opens after 3 calls, and an alpaca one
    gl_process_stop (s_fetchers [1], SIGTERM);
    s_fetchers [1] = 0;
    setenv ("GAPLESS_FETCHER_POLYGON_BREAKER_MINIMUM_CALLS", "3", 1);
    setenv ("GAPLESS_FETCHER_POLYGON_BREAKER_OPEN_MS", "120000", 1);
    s_fetchers [2] = s_fetcher_start ("f3");
    setenv ("GAPLESS_FETCHER_ALPACA_BASE_URL", gl_simclient_url (s_sim, "alpaca"), 1);
    setenv ("GAPLESS_FETCHER_ALPACA_KEY", "AKID", 1);
    setenv ("GAPLESS_FETCHER_ALPACA_SECRET", "SECRET", 1);
    setenv ("GAPLESS_FETCHER_ALPACA_LIMITS", "200/1s", 1);
    s_fetchers [3] = s_provider_fetcher_start ("alpaca", "a1");
    GL_CHECK (s_wait_instances (2));
    peers_sim_admin (s_sim, "/admin/faults?provider=polygon&server_error=1");
    int64_t backfill = s_enqueue ("PEP --timeframe 1m --from 2024-06-03 --to 2024-06-07");
    GL_CHECK (s_wait_status (backfill, "succeeded", 90000));
    peers_sim_admin (s_sim, "/admin/faults?provider=polygon&server_error=0");
    GL_CHECK_INT (s_number ("SELECT count(*) FROM job_runs WHERE symbol = 'PEP'"
                            " AND provider = 'alpaca' AND status = 'succeeded'"), 4);
    GL_CHECK_INT (s_number ("SELECT count(*) FROM ohlc_bars WHERE symbol = 'PEP'"
                            " AND provider = 'alpaca'"), 4 * 390);
    GL_CHECK_INT (s_number ("SELECT count(*) FROM dead_letters WHERE symbol = 'PEP'"), 0);
    //  The health the router ranks by is kept: the last 60 samples per
    //  provider (the polygon fetchers sent one every 250 ms, far more)
    GL_CHECK (s_number ("SELECT count(*) FROM provider_health WHERE provider = 'polygon'") > 0);
    GL_CHECK (s_number ("SELECT count(*) FROM provider_health WHERE provider = 'polygon'") <= 60);
}

//  Every scheduler killed while slices run: a new one adopts them and the
//  backfill finishes.
static void
s_test_scheduler_restart (void)
{
    peers_sim_admin (s_sim, "/admin/faults?provider=alpaca&hang=1&hang_ms=3000");
    int64_t backfill = s_enqueue ("MCD --timeframe 1m --from 2024-06-10 --to 2024-06-13");
    GL_CHECK (backfill > 0);
    GL_CHECK_INT (s_wait_number ("SELECT count(*) FROM job_runs WHERE symbol = 'MCD'"
                                 " AND status = 'running'", 3, 20000), 3);
    //  A SIGKILL loses what libzmq has not sent yet: let the FETCHes leave
    //  the dispatching scheduler (the hang holds them at alpaca 3 s), else
    //  a slice no fetcher got waits out its 120 s lease (CI saw it once)
    zclock_sleep (500);
    for (int index = 0; index < 2; index++) {
        gl_process_stop (s_schedulers [index], SIGKILL);
        s_schedulers [index] = 0;
    }
    peers_sim_admin (s_sim, "/admin/faults?provider=alpaca&hang=0");
    s_schedulers [0] = s_scheduler_start ("s3");
    GL_CHECK (s_wait_status (backfill, "succeeded", 90000));
    GL_CHECK_INT (s_number ("SELECT count(*) FROM ohlc_bars WHERE symbol = 'MCD'"), 3 * 390);
}

//  A slice whose fetcher is still working when half its lease is gone
//  keeps its lease: with a 5 s lease and 9 s answers, nothing is rescued.
static void
s_test_lease_extended (void)
{
    gl_process_stop (s_schedulers [0], SIGTERM);
    setenv ("GAPLESS_SCHEDULER_LEASE_SECONDS", "5", 1);
    s_schedulers [0] = s_scheduler_start ("s4");
    GL_CHECK (s_wait_instances (2));
    peers_sim_admin (s_sim, "/admin/faults?provider=alpaca&slow=1&slow_ms=9000");
    int64_t backfill = s_enqueue ("HD --timeframe 1m --from 2024-06-17 --to 2024-06-19"
                                  " --provider alpaca");
    GL_CHECK (s_wait_status (backfill, "succeeded", 60000));
    peers_sim_admin (s_sim, "/admin/faults?provider=alpaca&slow=0");
    //  No attempt spent, no lease lost (a breaker_open answer from the
    //  polygon fetcher, whose breaker the breaker test left open, costs none)
    GL_CHECK_INT (s_number ("SELECT count(*) FROM job_runs WHERE symbol = 'HD'"
                            " AND (attempt > 0 OR error_class = 'lease_expired')"), 0);
    GL_CHECK_INT (s_number ("SELECT count(*) FROM ohlc_bars WHERE symbol = 'HD'"), 2 * 390);
}

//  A slice no allowed provider can serve ends dead with its reason; the
//  CLI lists, requeues and purges it.
static void
s_test_dead_letters (void)
{
    char output [8192], command [256];
    //  Longer than any ticker the sim knows: polygon answers not found
    int64_t backfill = s_enqueue ("ABCDEFGHIJKLMNOPQRS --timeframe 1d --from 2023-01-01"
                                  " --to 2024-01-01 --provider polygon");
    GL_CHECK (s_wait_status (backfill, "failed", 30000));
    GL_CHECK_INT (s_cli (output, sizeof output, "dlq list"), 0);
    GL_CHECK (strstr (output, "ABCDEFGHIJKLMNOPQRS") && strstr (output, "no_provider"));
    int64_t run = s_number ("SELECT id FROM dead_letters WHERE symbol = 'ABCDEFGHIJKLMNOPQRS'");
    GL_CHECK (run > 0);
    snprintf (command, sizeof command, "dlq requeue %" PRId64, run);
    GL_CHECK_INT (s_cli (output, sizeof output, command), 0);
    GL_CHECK (strstr (output, "done: 1 slices") != NULL);
    //  Refused again by the same provider, so dead again; then purged
    char sql [256];
    snprintf (sql, sizeof sql, "SELECT count(*) FROM dead_letters WHERE id = %" PRId64, run);
    GL_CHECK_INT (s_wait_number (sql, 1, 30000), 1);
    snprintf (command, sizeof command, "dlq purge %" PRId64, run);
    GL_CHECK_INT (s_cli (output, sizeof output, command), 0);
    GL_CHECK_INT (s_number (sql), 0);
}

//  Every error path: one line, the documented exit status.
static void
s_test_cli_errors (void)
{
    char output [4096];
    GL_CHECK_INT (s_cli_bare (output, sizeof output, "enqueue AAPL --timeframe 2h --from 2024-01-01"
                              " --to 2024-02-01"), 2);
    GL_CHECK (strstr (output, "--timeframe expects") != NULL);
    GL_CHECK_INT (s_cli_bare (output, sizeof output, "enqueue AAPL --timeframe 1h --from 2024-02-01"
                              " --to 2024-01-01"), 2);
    GL_CHECK (strstr (output, "--from must be before --to") != NULL);
    GL_CHECK_INT (s_cli_bare (output, sizeof output, "enqueue 'AA PL' --timeframe 1h"
                              " --from 2024-01-01 --to 2024-02-01"), 2);
    GL_CHECK (strstr (output, "expected a ticker") != NULL);
    GL_CHECK_INT (s_cli_bare (output, sizeof output, "enqueue AAPL --timeframe 1h --from 2024-02-30"
                              " --to 2024-03-01"), 2);
    GL_CHECK (strstr (output, "--from expects") != NULL);
    GL_CHECK_INT (s_cli_bare (output, sizeof output, "enqueue --timeframe 1h --from 2024-01-01"
                              " --to 2024-02-01"), 2);
    GL_CHECK (strstr (output, "give symbols") != NULL);
    GL_CHECK_INT (s_cli_bare (output, sizeof output, "enqueue AAPL --tier T1 --timeframe 1h"
                              " --from 2024-01-01 --to 2024-02-01"), 2);
    GL_CHECK_INT (s_cli_bare (output, sizeof output, "enqueue AAPL --timeframe 1h --from 2024-01-01"
                              " --to 2024-02-01 --priority urgent"), 2);
    GL_CHECK_INT (s_cli_bare (output, sizeof output, "enqueue AAPL --timeframe 1h --from 2024-01-01"
                              " --to 2024-02-01 --provider nasdaq"), 2);
    GL_CHECK_INT (s_cli_bare (output, sizeof output, "enqueue AAPL --timeframe 1h --from 2024-01-01"
                              " --to 2024-02-01 --broker tcp://127.0.0.1:1 --timeout-ms 500"), 1);
    GL_CHECK (strstr (output, "no answer from the broker at tcp://127.0.0.1:1") != NULL);
    GL_CHECK_INT (s_cli_bare (output, sizeof output, "cancel"), 2);
    GL_CHECK (strstr (output, "needs an id") != NULL);
    GL_CHECK_INT (s_cli_bare (output, sizeof output, "pause x12"), 2);
    GL_CHECK_INT (s_cli_bare (output, sizeof output, "dlq sweep"), 2);
    GL_CHECK_INT (s_cli_bare (output, sizeof output, "status 1 2"), 2);
    GL_CHECK_INT (s_cli (output, sizeof output, "status 999999"), 1);
    GL_CHECK (strstr (output, "no backfill 999999") != NULL);
    //  A tier with no symbol, and a request over a tier's cap, are refused whole
    GL_CHECK_INT (s_cli (output, sizeof output, "enqueue --tier T0 --timeframe 1d"
                         " --from 2020-01-01 --to 2021-01-01"), 1);
    GL_CHECK (strstr (output, "holds no active symbol") != NULL);
    const char *helps [] = { "enqueue --help", "status --help", "cancel --help", "dlq --help",
                             "pause --help", "resume --help" };
    for (size_t index = 0; index < sizeof helps / sizeof helps [0]; index++) {
        GL_CHECK_INT (s_cli_bare (output, sizeof output, helps [index]), 0);
        GL_CHECK (strstr (output, "usage: gapless") != NULL);
    }
    //  The dead-letter list answers (empty or not) in JSON
    GL_CHECK_INT (s_cli (output, sizeof output, "dlq list --json"), 0);
    GL_CHECK (strstr (output, "\"rows\": [") != NULL);
}

//  The stale= value of the latest scheduler_stats line written past
//  offset in the scheduler's log, or -1 when there is none (yet).
static int64_t
s_stale_after (long offset)
{
    FILE *log = fopen ("scheduler.log", "r");
    if (!log)
        return -1;
    char line [4096];
    int64_t stale = -1;
    fseek (log, offset, SEEK_SET);
    while (fgets (line, sizeof line, log)) {
        const char *field = strstr (line, "event=scheduler_stats")? strstr (line, " stale="): NULL;
        if (field)
            stale = atoll (field + 7);
    }
    fclose (log);
    return stale;
}

//  Answers from a peer that holds no lease: FAILED of every kind with a
//  token that is not the slice's (breaker_open among them) is counted
//  stale; dead-letter commands for slices that are not dead are refused;
//  a health sample out of range is clamped.
static void
s_test_forged_answers (void)
{
    char output [4096];
    GL_CHECK_INT (s_cli (output, sizeof output, "dlq requeue 999999999"), 1);
    GL_CHECK (strstr (output, "no dead slice 999999999") != NULL);
    GL_CHECK_INT (s_cli (output, sizeof output, "dlq purge 999999999"), 1);
    GL_CHECK (strstr (output, "no dead slice 999999999") != NULL);
    FILE *log = fopen ("scheduler.log", "r");
    long offset = 0;
    if (log && fseek (log, 0, SEEK_END) == 0)
        offset = ftell (log);
    if (log)
        fclose (log);
    zsock_t *peer = zsock_new_dealer (s_endpoint);
    GL_CHECK (peer != NULL);
    zsock_set_linger (peer, 0);
    zsock_set_rcvtimeo (peer, 5000);
    gl_msg_t *ready = gl_msg_new (GL_MSG_READY);
    snprintf (ready->ready.service, sizeof ready->ready.service, "forger");
    snprintf (ready->ready.instance, sizeof ready->ready.instance, "f1");
    gl_glp_send (peer, GL_WIRE_READY, NULL, ready);
    gl_msg_destroy (&ready);
    zmsg_t *welcome = zmsg_recv (peer);
    GL_CHECK (welcome != NULL);
    zmsg_destroy (&welcome);
    const char *classes [] = { "breaker_open", "server_error", "not_found" };
    for (size_t index = 0; index < 3; index++) {
        gl_msg_t *failed = gl_msg_new (GL_MSG_FAILED);
        failed->failed.run_id = 999999990 + index;
        snprintf (failed->failed.lease_token, sizeof failed->failed.lease_token,
                  "00000000-0000-0000-0000-00000000000%zu", index);
        snprintf (failed->failed.provider, sizeof failed->failed.provider, "polygon");
        snprintf (failed->failed.error_class, sizeof failed->failed.error_class, "%s",
                  classes [index]);
        failed->failed.retryable = true;
        snprintf (failed->failed.message, sizeof failed->failed.message, "forged");
        gl_glp_send (peer, GL_WIRE_SEND, "scheduler", failed);
        gl_msg_destroy (&failed);
    }
    //  A health sample out of every range is stored clamped, not refused
    //  by the table's CHECKs (tradier: no fetcher of it ever runs here)
    gl_msg_t *event = gl_msg_new (GL_MSG_EVENT);
    snprintf (event->event.source, sizeof event->event.source, "forger");
    snprintf (event->event.name, sizeof event->event.name, "fetcher_health");
    gl_msg_add_field (event, "provider", "tradier");
    gl_msg_add_field (event, "breaker", "closed");
    gl_msg_add_field (event, "failure_rate", "500");
    gl_msg_add_field (event, "completeness", "-7");
    gl_msg_add_field (event, "latency_le_ms", "-100,inf");
    gl_msg_add_field (event, "latency_counts", "5,5");
    gl_glp_send (peer, GL_WIRE_SEND, "scheduler", event);
    gl_msg_destroy (&event);
    GL_CHECK_INT (s_wait_number ("SELECT count(*) FROM provider_health WHERE provider = 'tradier'"
                                 " AND error_rate = 1 AND incompleteness = 1 AND latency_ms = 0",
                                 1, 10000), 1);
    gl_glp_send (peer, GL_WIRE_DISCONNECT, NULL, NULL);
    zsock_destroy (&peer);
    //  A stats line (every 10 s) counts the three
    int64_t deadline = zclock_mono () + 25000, stale;
    while ((stale = s_stale_after (offset)) != 3 && zclock_mono () < deadline)
        zclock_sleep (200);
    GL_CHECK_INT (stale, 3);
}

//  A symbol inserted into T0 gets the tier's windows without anyone
//  asking, each exactly once although two schedulers watch the list.
static void
s_test_watchlist (void)
{
    pid_t second = s_scheduler_start ("watch2");
    GL_CHECK_INT (s_number ("WITH added AS (INSERT INTO symbols (ticker, tier) VALUES"
                            " ('WATCHED', 'T0') RETURNING 1) SELECT count(*) FROM added"), 1);
    GL_CHECK_INT (s_wait_number ("SELECT count(*) FROM watchlist_pending", 0, 20000), 0);
    static const char *windows =
        "SELECT count(*) FROM backfill_progress p JOIN backfills b ON b.id = p.id"
        " JOIN job_definitions d ON d.id = b.job_definition_id"
        " WHERE 'WATCHED' = ANY (b.symbols) AND NOT d.freshness";
    char sql [512];
    snprintf (sql, sizeof sql, "%s AND p.status = 'succeeded'", windows);
    GL_CHECK_INT (s_wait_number (sql, 4, 60000), 4);        //  15m, 1h, 4h, 1d
    GL_CHECK_INT (s_number (windows), 4);
    GL_CHECK_INT (s_number ("SELECT count(DISTINCT timeframe) FROM ohlc_bars"
                            " WHERE symbol = 'WATCHED'"), 4);
    int status = gl_process_stop (second, SIGTERM);
    GL_CHECK (WIFEXITED (status) && WEXITSTATUS (status) == 0);
}

//  Live work (priority 30 and up) jumps a bulk backlog: while a slow
//  fetcher works through hundreds of bulk slices, a live request finishes
//  after at most what the scheduler holds in flight, long before the
//  bulk drains.
static void
s_test_live_jumps_queue (void)
{
    for (size_t index = 0; index < sizeof s_fetchers / sizeof s_fetchers [0]; index++)
        if (s_fetchers [index] > 0) {
            gl_process_stop (s_fetchers [index], SIGTERM);
            s_fetchers [index] = 0;
        }
    setenv ("GAPLESS_FETCHER_POLYGON_LIMITS", "20/1s", 1);
    s_fetchers [0] = s_fetcher_start ("slow1");
    setenv ("GAPLESS_FETCHER_POLYGON_LIMITS", "200/1s", 1);
    GL_CHECK (s_wait_instances (1));
    char output [4096];
    GL_CHECK_INT (s_cli (output, sizeof output, "enqueue BULK --timeframe 1m --from 2023-01-01"
                         " --to 2023-11-01 --json"), 0);
    int64_t bulk = gl_process_json_number (output, "backfill_id"), total = gl_process_json_number (output, "slices_new");
    GL_CHECK (total > 200);
    char sql [1024];
    snprintf (sql, sizeof sql, "SELECT least (count(*) FILTER (WHERE status = 'succeeded'), 20)"
              " FROM job_runs WHERE backfill_id = %" PRId64, bulk);
    GL_CHECK_INT (s_wait_number (sql, 20, 60000), 20);
    GL_CHECK_INT (s_cli (output, sizeof output, "enqueue LIVEA,LIVEB,LIVEC --timeframe 1d"
                         " --from 2023-01-01 --to 2024-01-01 --priority 50 --json"), 0);
    int64_t live = gl_process_json_number (output, "backfill_id");
    GL_CHECK (s_wait_status (live, "succeeded", 60000));
    //  Bulk slices that finished while the live ones waited, and those left
    snprintf (sql, sizeof sql, "WITH l AS (SELECT b.created_at AS asked, max (r.finished_at)"
              " AS done FROM backfills b JOIN job_runs r ON r.backfill_id = b.id WHERE b.id ="
              " %" PRId64 " GROUP BY b.created_at) SELECT count(*) FILTER (WHERE r.finished_at"
              " > l.asked AND r.finished_at <= l.done) * 100000 + count(*) FILTER (WHERE"
              " r.finished_at IS NULL OR r.finished_at > l.done) FROM job_runs r, l WHERE"
              " r.backfill_id = %" PRId64, live, bulk);
    int64_t counts = s_number (sql), jumped = counts / 100000, left = counts % 100000;
    fprintf (stderr, "live work: %" PRId64 " bulk slices finished while it waited, %" PRId64
             " of %" PRId64 " still to do\n", jumped, left, total);
    //  At most what one fetcher holds (GL_ROUTER_INSTANCE_MAX) and a
    //  second of its rate; without priority it would wait for all of them
    GL_CHECK (jumped <= 64 + 20);
    GL_CHECK (left > 0);
    GL_CHECK (s_wait_status (bulk, "succeeded", 120000));
}

int
main (void)
{
    s_db = gl_testdb_new ("scheduler");
    gl_calendar_t *calendar = gl_calendar_new (GL_CALENDAR_XNYS);
    s_sim = gl_simclient_new ("sim\n    polygon\n        keys\n            default = \"pk\"\n", NULL);
    GL_CHECK (s_db && calendar && s_sim);
    if (s_db && calendar && s_sim) {
        s_start ();
        GL_CHECK (s_wait_instances (1));
        s_test_cli_errors ();
        s_test_forged_answers ();
        s_test_backfill_lands (calendar);
        s_test_parallel_requests ();
        s_test_fetcher_killed ();
        s_test_two_schedulers ();
        s_test_control ();
        s_test_dead_letters ();
        s_test_breaker_routing ();
        s_test_scheduler_restart ();
        s_test_lease_extended ();
        s_test_watchlist ();
        s_test_live_jumps_queue ();
        s_stop ();
    }
    if (s_sim)
        GL_CHECK_INT (gl_simclient_stop (s_sim), 0);
    gl_simclient_destroy (&s_sim);
    gl_calendar_destroy (&calendar);
    gl_db_destroy (&s_db);
    return gl_test_done ("test_scheduler");
}
