/*  test_fetcher_grid — the bar policy across real processes: the gapless
    CLI, a broker, a scheduler, fetchers, a writer, gapless-sim and
    PostgreSQL, every process reading the same bars/ settings.

    - the default policy (1h on the clock): a month of 1h bars pinned to
      Polygon and to Alpaca lands exactly the sim's clock-aligned hours
      for each (printed: expected and stored per provider);
    - a scheduler configured for session hours on that database refuses
      to start, naming bars/grid_1h;
    - in a new database, every process configured with bars/grid_1h =
      session: an unpinned 1h backfill routes Yahoo (the one provider
      stamping hours from the open) although a Polygon fetcher is there
      too, and lands exactly the sim's session-aligned hours; a backfill
      pinned to Polygon is refused at enqueue.
    Waits are conditions with deadlines; nothing asserts on wall-clock time.
*/
#include "gl_calendar.h"
#include "gl_db.h"
#include "gl_simbars.h"
#include "gl_testdb.h"
#include "test_fetcher_peers.h"

#define HEARTBEAT_MS "250"
#define FROM 1709251200             //  2024-03-01 00:00 UTC
#define TO 1711929600               //  2024-04-01 00:00 UTC

static gl_simclient_t *s_sim;
static char s_endpoint [64], s_cli_path [512];

//  The processes of one phase.
typedef struct {
    const char *schema;
    gl_db_t *db;
    pid_t pids [5];
    size_t count;
} phase_t;

//  Starts a binary (relative to the build directory) with arguments.
static pid_t
s_spawn (phase_t *phase, const char *binary, const char *log, char *const *arguments)
{
    char path [512];
    gl_process_binary (binary, path, sizeof path);
    char *argv [16] = { path };
    size_t used = 1;
    for (; arguments [used - 1] && used < 15; used++)
        argv [used] = arguments [used - 1];
    argv [used] = NULL;
    pid_t pid = gl_process_start (argv, log);
    if (phase)
        phase->pids [phase->count++] = pid;
    return pid;
}

//  Starts the broker, writer, scheduler and one fetcher per provider
//  named, on the phase's schema.
static void
s_phase_start (phase_t *phase, const char *const *providers, size_t provider_count)
{
    snprintf (s_endpoint, sizeof s_endpoint, "tcp://127.0.0.1:%d", gl_process_free_port ());
    char *broker [] = { "--bind", s_endpoint, "--heartbeat-ms", HEARTBEAT_MS, NULL };
    s_spawn (phase, "broker/gapless-broker", "broker.log", broker);
    char *writer [] = { "--broker", s_endpoint, "--schema", (char *) phase->schema, NULL };
    s_spawn (phase, "actors/writer/gapless-writer", "writer.log", writer);
    char *scheduler [] = { "--broker", s_endpoint, "--schema", (char *) phase->schema, NULL };
    s_spawn (phase, "actors/scheduler/gapless-scheduler", "scheduler.log", scheduler);
    for (size_t index = 0; index < provider_count; index++) {
        char *fetcher [] = { "--provider", (char *) providers [index], "--broker", s_endpoint,
                             NULL };
        s_spawn (phase, "actors/fetcher/gapless-fetcher", "fetcher.log", fetcher);
    }
}

//  Stops every process of the phase; each must exit 0 on SIGTERM.
static void
s_phase_stop (phase_t *phase)
{
    while (phase->count) {
        int status = gl_process_stop (phase->pids [--phase->count], SIGTERM);
        GL_CHECK (WIFEXITED (status) && WEXITSTATUS (status) == 0);
    }
}

//  Runs the CLI against the phase's broker; stores its output, returns
//  its exit status.
static int
s_cli (char *output, size_t size, const char *arguments)
{
    char command [2048];
    snprintf (command, sizeof command, "%s %s --timeout-ms 10000 --broker %s 2>&1", s_cli_path,
              arguments, s_endpoint);
    return gl_process_run (command, output, size);
}

//  Enqueues a backfill of symbol's 1h bars for March 2024 (pinned to
//  provider unless NULL) once the scheduler answers; returns the CLI's
//  exit status with its output.
static int
s_enqueue (const char *symbol, const char *provider, char *output, size_t size)
{
    char arguments [256];
    snprintf (arguments, sizeof arguments, "enqueue %s --timeframe 1h --from 2024-03-01"
              " --to 2024-04-01%s%s --json", symbol, provider? " --provider ": "",
              provider? provider: "");
    int status = -1;
    int64_t deadline = zclock_mono () + 20000;
    //  The CLI exits 3 (no answer) until the scheduler has joined.
    while ((status = s_cli (output, size, arguments)) == 3 && zclock_mono () < deadline)
        zclock_sleep (100);
    return status;
}

//  Waits until the symbol's backfill succeeded.
static bool
s_wait_succeeded (gl_db_t *db, const char *symbol)
{
    char sql [256];
    snprintf (sql, sizeof sql, "SELECT count(*) FROM backfills b JOIN backfill_progress p"
              " ON p.id = b.id WHERE p.status = 'succeeded' AND '%s' = ANY (b.symbols)", symbol);
    int64_t deadline = zclock_mono () + 60000;
    while (gl_testdb_number (db, sql) != 1 && zclock_mono () < deadline)
        zclock_sleep (100);
    return gl_testdb_number (db, sql) == 1;
}

//  Compares the symbol's stored 1h bars with the sim's on a grid: every
//  start, from the provider. Prints and returns how many are stored.
static int64_t
s_stored (gl_db_t *db, gl_calendar_t *calendar, const char *symbol, const char *provider,
          gl_grid_t grid)
{
    int64_t expected = gl_calendar_count_bars_on (calendar, GL_TF_1H, grid, FROM, TO);
    char sql [512];
    snprintf (sql, sizeof sql, "SELECT count(*) FROM ohlc_bars WHERE symbol = '%s'"
              " AND timeframe = '1h' AND provider = '%s'", symbol, provider);
    int64_t stored = gl_testdb_number (db, sql);
    gl_simbar_t *bars = NULL;
    size_t count = 0;
    GL_CHECK_INT (gl_simbars_generate_on (calendar, grid, symbol, GL_TF_1H, FROM, TO, &bars,
                                          &count), 0);
    int64_t matched = 0;
    for (size_t index = 0; index < count; index++) {
        snprintf (sql, sizeof sql, "SELECT count(*) FROM ohlc_bars WHERE symbol = '%s'"
                  " AND timeframe = '1h' AND provider = '%s' AND ts = to_timestamp(%" PRId64 ")"
                  " AND abs(close - %f) < 1e-6", symbol, provider, bars [index].start,
                  (double) bars [index].close / 100);
        matched += gl_testdb_number (db, sql);
    }
    free (bars);
    printf ("grid=%s provider=%s symbol=%s expected=%" PRId64 " stored=%" PRId64
            " matched=%" PRId64 "\n", gl_calendar_grid_name (grid), provider, symbol, expected,
            stored, matched);
    GL_CHECK_INT (stored, expected);
    GL_CHECK_INT (matched, expected);
    return stored;
}

//  The default policy: Polygon's and Alpaca's clock hours land whole.
static void
s_test_clock (gl_calendar_t *calendar, phase_t *phase)
{
    static const char *const providers [] = { "polygon", "alpaca" };
    s_phase_start (phase, providers, 2);
    char output [4096];
    GL_CHECK_INT (s_enqueue ("AAPL", "polygon", output, sizeof output), 0);
    GL_CHECK_INT (s_enqueue ("MSFT", "alpaca", output, sizeof output), 0);
    GL_CHECK (s_wait_succeeded (phase->db, "AAPL"));
    GL_CHECK (s_wait_succeeded (phase->db, "MSFT"));
    GL_CHECK (s_stored (phase->db, calendar, "AAPL", "polygon", GL_GRID_CLOCK) > 0);
    GL_CHECK (s_stored (phase->db, calendar, "MSFT", "alpaca", GL_GRID_CLOCK) > 0);
    s_phase_stop (phase);
}

//  Session hours where clock hours are stored: the scheduler refuses.
static void
s_test_contradicted (phase_t *phase)
{
    unlink ("scheduler-contradicted.log");
    setenv ("GAPLESS_BARS_GRID_1H", "session", 1);
    char *scheduler [] = { "--broker", "tcp://127.0.0.1:1", "--schema", (char *) phase->schema,
                           NULL };
    pid_t pid = s_spawn (NULL, "actors/scheduler/gapless-scheduler",
                         "scheduler-contradicted.log", scheduler);
    int status = 0;
    waitpid (pid, &status, 0);
    unsetenv ("GAPLESS_BARS_GRID_1H");
    GL_CHECK (WIFEXITED (status) && WEXITSTATUS (status) != 0);
    FILE *log = fopen ("scheduler-contradicted.log", "r");
    char line [1024];
    bool named = false;
    while (log && fgets (line, sizeof line, log))
        named |= strstr (line, "config: bars/grid_1h = 'session' but the 1h bars stored are on"
                               " the clock grid") != NULL;
    if (log)
        fclose (log);
    GL_CHECK (named);
}

//  Session hours configured everywhere: Yahoo is routed, Polygon is not.
static void
s_test_session (gl_calendar_t *calendar, phase_t *phase)
{
    setenv ("GAPLESS_BARS_GRID_1H", "session", 1);
    static const char *const providers [] = { "polygon", "yahoo" };
    s_phase_start (phase, providers, 2);
    char output [4096];
    GL_CHECK_INT (s_enqueue ("AAPL", NULL, output, sizeof output), 0);
    GL_CHECK (s_wait_succeeded (phase->db, "AAPL"));
    GL_CHECK (s_stored (phase->db, calendar, "AAPL", "yahoo", GL_GRID_SESSION) > 0);
    GL_CHECK_INT (gl_testdb_number (phase->db, "SELECT count(*) FROM ohlc_bars"
                                    " WHERE provider <> 'yahoo'"), 0);
    GL_CHECK_INT (gl_testdb_number (phase->db, "SELECT count(*) FROM job_runs"
                                    " WHERE provider IS DISTINCT FROM 'yahoo'"), 0);
    int status = s_enqueue ("MSFT", "polygon", output, sizeof output);
    GL_CHECK (status != 0);
    GL_CHECK (strstr (output, "does not serve that timeframe on the grid") != NULL);
    s_phase_stop (phase);
    unsetenv ("GAPLESS_BARS_GRID_1H");
}

int
main (void)
{
    gl_process_binary ("tools/cli/gapless", s_cli_path, sizeof s_cli_path);
    setenv ("GAPLESS_BROKER_HEARTBEAT_MS", HEARTBEAT_MS, 1);
    setenv ("GAPLESS_SCHEDULER_DISPATCH_MS", "50", 1);
    setenv ("GAPLESS_SCHEDULER_NOT_NOW_MS", "200", 1);
    s_sim = gl_simclient_new ("sim\n"
                              "    polygon\n        keys\n            default = \"pk\"\n"
                              "    alpaca\n        keys\n            default = \"AKID:SECRET\"\n",
                              NULL);
    gl_calendar_t *calendar = gl_calendar_new (GL_CALENDAR_XNYS);
    phase_t clock = { .schema = "gapless_test_grid_clock", .db = gl_testdb_new ("grid_clock") };
    phase_t session = { .schema = "gapless_test_grid_session",
                        .db = gl_testdb_new ("grid_session") };
    GL_CHECK (s_sim && calendar && clock.db && session.db);
    if (s_sim && calendar && clock.db && session.db) {
        struct { const char *name, *value; } settings [] = {
            { "GAPLESS_FETCHER_POLYGON_BASE_URL", gl_simclient_url (s_sim, "polygon") },
            { "GAPLESS_FETCHER_POLYGON_KEY", "pk" },
            { "GAPLESS_FETCHER_ALPACA_BASE_URL", gl_simclient_url (s_sim, "alpaca") },
            { "GAPLESS_FETCHER_ALPACA_KEY", "AKID" },
            { "GAPLESS_FETCHER_ALPACA_SECRET", "SECRET" },
            { "GAPLESS_FETCHER_YAHOO_BASE_URL", gl_simclient_url (s_sim, "yahoo") },
        };
        for (size_t index = 0; index < sizeof settings / sizeof settings [0]; index++)
            setenv (settings [index].name, settings [index].value, 1);
        s_test_clock (calendar, &clock);
        s_test_contradicted (&clock);
        s_test_session (calendar, &session);
    }
    if (s_sim)
        GL_CHECK_INT (gl_simclient_stop (s_sim), 0);
    gl_simclient_destroy (&s_sim);
    gl_calendar_destroy (&calendar);
    gl_db_destroy (&clock.db);
    gl_db_destroy (&session.db);
    return gl_test_done ("test_fetcher_grid");
}
