/*  bench_scheduler — the scheduler's three figures, each beside a
    baseline measured in the same run:

    1. enqueue: 500 symbols x 2 years of 1m (about 251 k slices) through
       gl_backlog (the scheduler's path: one COPY, one INSERT .. ON
       CONFLICT, links) beside a plain multi-row INSERT of the same rows
       into job_runs, 1000 rows per statement;
    2. dispatch: a 1m backfill of 40 symbols x 5 sessions (200 slices,
       78 000 bars) from `gapless enqueue` to the last slice succeeded,
       through real broker, scheduler, fetcher and writer processes on an
       unlimited gapless-sim, beside a text COPY of the same bars;
    3. recovery: a fetcher SIGKILLed while it holds slices, three times:
       heartbeat intervals (1 s) from the kill until its slices are queued
       again (the lease is 120 s).

    Needs a PostgreSQL server found the way gapless finds one (DATABASE_URL,
    PG*, or tools/pg.sh start); uses the schema gapless_test_bench_scheduler.
    Process logs go to a temporary folder, nothing to the working directory.
        build/tools/bench/bench_scheduler [symbols for enqueue] [--rows]
    --rows: the same figures as rows of bench_rows.h.
*/
#include "bench_rows.h"
#include "gl_backlog.h"
#include "gl_simbars.h"
#include "gl_testdb.h"
#include "test_fetcher_peers.h"
#include <inttypes.h>
#include <time.h>

#define SCHEMA "gapless_test_bench_scheduler"
#define DATE(y, m, d) gl_calendar_date_utc (y, m, d)

static gl_db_t *s_db;
static char s_folder [64], s_endpoint [64];

//  Seconds on the monotonic clock.
static double
s_now (void)
{
    return zclock_usecs () / 1e6;
}

//  Runs a statement, reporting a failure.
static void
s_exec (const char *sql)
{
    PGresult *result = PQexec (gl_db_conn (s_db), sql);
    if (PQresultStatus (result) != PGRES_COMMAND_OK && PQresultStatus (result) != PGRES_TUPLES_OK)
        fprintf (stderr, "bench_scheduler: %.80s: %s", sql, PQresultErrorMessage (result));
    PQclear (result);
}

//  The one value of a query as a number (-1 on failure).
static int64_t
s_number (const char *sql)
{
    return gl_testdb_number (s_db, sql);
}

//  Empties the work tables.
static void
s_clear (void)
{
    s_exec ("TRUNCATE backfill_slices, job_runs, backfills, ohlc_bars, symbols CASCADE");
}

//  The tickers S000 .. S<count-1>.
static char **
s_tickers (int count)
{
    char **tickers = calloc ((size_t) count, sizeof (char *));
    for (int index = 0; index < count; index++) {
        tickers [index] = malloc (16);
        snprintf (tickers [index], 16, "S%03d", index);
    }
    return tickers;
}

//  --------------------------------------------------------------------------
//  1. enqueue

typedef struct {
    char *sql;
    size_t used, size, rows, total;
    const char *symbol;
} s_insert_t;

//  Sends the batched INSERT.
static void
s_insert_flush (s_insert_t *insert)
{
    if (insert->rows == 0)
        return;
    insert->used--;                         //  the last comma
    insert->sql [insert->used] = '\0';
    s_exec (insert->sql);
    insert->used = (size_t) sprintf (insert->sql, "INSERT INTO job_runs (symbol, timeframe,"
                                     " slice_from, slice_to) VALUES ");
    insert->rows = 0;
}

//  Adds one slice to the batched INSERT.
static int
s_insert_slice (const gl_slice_t *slice, void *argument)
{
    s_insert_t *insert = (s_insert_t *) argument;
    insert->used += (size_t) snprintf (insert->sql + insert->used, insert->size - insert->used,
        "('%s','1m',to_timestamp(%" PRId64 "),to_timestamp(%" PRId64 ")),", insert->symbol,
        slice->from, slice->to);
    insert->total++;
    if (++insert->rows == 1000)
        s_insert_flush (insert);
    return 0;
}

//  The plain INSERT baseline: slices/s.
static double
s_plain_insert (char **tickers, int count, int64_t *slices)
{
    gl_calendar_t *calendar = gl_calendar_new (GL_CALENDAR_XNYS);
    s_insert_t insert = { .size = 256 * 1024 };
    insert.sql = malloc (insert.size);
    insert.used = (size_t) sprintf (insert.sql, "INSERT INTO job_runs (symbol, timeframe,"
                                    " slice_from, slice_to) VALUES ");
    double start = s_now ();
    s_exec ("BEGIN");
    for (int index = 0; index < count; index++) {
        insert.symbol = tickers [index];
        gl_slicer_cut (calendar, GL_TF_1M, GL_SLICE_SESSION, DATE (2023, 1, 1), DATE (2025, 1, 1),
                       s_insert_slice, &insert);
    }
    s_insert_flush (&insert);
    s_exec ("COMMIT");
    double elapsed = s_now () - start;
    free (insert.sql);
    gl_calendar_destroy (&calendar);
    *slices = (int64_t) insert.total;
    return (double) insert.total / elapsed;
}

//  The scheduler's path: slices/s.
static double
s_backlog_enqueue (char **tickers, int count, int64_t *slices)
{
    gl_backlog_t *backlog = gl_backlog_new (s_db);
    gl_backlog_request_t request = {
        .symbols = (const char *const *) tickers, .symbol_count = (size_t) count,
        .timeframe = GL_TF_1M, .from = DATE (2023, 1, 1), .to = DATE (2025, 1, 1),
    };
    gl_backlog_counts_t counts;
    char error [256];
    double start = s_now ();
    if (gl_backlog_enqueue (backlog, &request, &counts, error) == -1)
        fprintf (stderr, "bench_scheduler: enqueue: %s\n", error);
    double elapsed = s_now () - start;
    gl_backlog_destroy (&backlog);
    *slices = counts.created;
    return (double) counts.created / elapsed;
}

//  --------------------------------------------------------------------------
//  2. dispatch and 3. recovery: real processes

//  Starts a binary of the build with its log in the bench's folder.
static pid_t
s_start (const char *relative, const char *log, char *const *arguments)
{
    char path [512], log_path [128];
    gl_process_binary (relative, path, sizeof path);
    snprintf (log_path, sizeof log_path, "%s/%s", s_folder, log);
    char *argv [16] = { path };
    for (int index = 0; arguments [index] && index < 14; index++)
        argv [index + 1] = arguments [index];
    return gl_process_start (argv, log_path);
}

//  Starts a fetcher for polygon.
static pid_t
s_fetcher (const char *instance)
{
    char *arguments [] = { "--provider", "polygon", "--broker", s_endpoint, "--instance",
                           (char *) instance, NULL };
    return s_start ("actors/fetcher/gapless-fetcher", "fetcher.log", arguments);
}

//  Runs the CLI's enqueue; returns its exit status.
static int
s_enqueue (const char *arguments)
{
    char path [512], command [1024];
    gl_process_binary ("tools/cli/gapless", path, sizeof path);
    snprintf (command, sizeof command, "%s enqueue %s --broker %s >/dev/null", path, arguments,
              s_endpoint);
    return system (command);
}

//  Waits until the query's value is expected (at most timeout seconds).
static bool
s_wait (const char *sql, int64_t expected, double timeout)
{
    double deadline = s_now () + timeout;
    while (s_number (sql) != expected)
        if (s_now () > deadline)
            return false;
        else
            zclock_sleep (5);
    return true;
}

//  Text COPY of the bars of the dispatch run: bars/s.
static double
s_copy_baseline (char **tickers, int count, int64_t from, int64_t to, int64_t *bars_p)
{
    gl_calendar_t *calendar = gl_calendar_new (GL_CALENDAR_XNYS);
    s_exec ("TRUNCATE ohlc_bars");
    double start = s_now ();
    PGresult *result = PQexec (gl_db_conn (s_db), "COPY ohlc_bars (symbol, timeframe, ts,"
                               " provider, open, high, low, close, volume) FROM STDIN");
    PQclear (result);
    char line [256];
    int64_t bars = 0;
    for (int index = 0; index < count; index++) {
        gl_simbar_t *generated = NULL;
        size_t generated_count = 0;
        gl_simbars_generate (calendar, tickers [index], GL_TF_1M, from, to, &generated,
                             &generated_count);
        for (size_t bar = 0; bar < generated_count; bar++) {
            const gl_simbar_t *row = &generated [bar];
            time_t seconds = (time_t) row->start;
            struct tm utc;
            gmtime_r (&seconds, &utc);
            char stamp [32];
            strftime (stamp, sizeof stamp, "%Y-%m-%d %H:%M:%S+00", &utc);
            int length = snprintf (line, sizeof line,
                "%s\t1m\t%s\tpolygon\t%.2f\t%.2f\t%.2f\t%.2f\t%" PRId64 "\n",
                tickers [index], stamp, row->open / 100.0, row->high / 100.0,
                row->low / 100.0, row->close / 100.0, row->volume);
            PQputCopyData (gl_db_conn (s_db), line, length);
        }
        bars += (int64_t) generated_count;
        free (generated);
    }
    PQputCopyEnd (gl_db_conn (s_db), NULL);
    result = PQgetResult (gl_db_conn (s_db));
    if (PQresultStatus (result) != PGRES_COMMAND_OK)
        fprintf (stderr, "bench_scheduler: COPY: %s", PQresultErrorMessage (result));
    PQclear (result);
    double elapsed = s_now () - start;
    gl_calendar_destroy (&calendar);
    *bars_p = bars;
    return (double) bars / elapsed;
}

int
main (int argc, char **argv)
{
    bool rows = bench_rows_requested (&argc, argv);
    int symbols = argc > 1? atoi (argv [1]): 500;
    if (symbols < 1 || symbols > 1000) {
        fprintf (stderr, "usage: bench_scheduler [symbols for enqueue, 1..1000]\n");
        return 2;
    }
    setenv ("GL_BINARY_DIR", GL_BINARY_DIR, 0);
    s_db = gl_testdb_new ("bench_scheduler");
    if (!s_db)
        return 1;
    snprintf (s_folder, sizeof s_folder, "/tmp/bench_scheduler_XXXXXX");
    if (!mkdtemp (s_folder))
        return 1;
    char **tickers = s_tickers (symbols);

    //  1. enqueue
    int64_t plain_slices = 0, backlog_slices = 0;
    s_clear ();
    double plain = s_plain_insert (tickers, symbols, &plain_slices);
    s_clear ();
    double backlog = s_backlog_enqueue (tickers, symbols, &backlog_slices);
    fprintf (stderr, "bench_scheduler: enqueue measured\n");

    //  2. dispatch, on an unlimited sim
    s_clear ();
    gl_simclient_t *sim = gl_simclient_new ("sim\n    polygon\n        keys\n"
                                            "            default = \"pk\"\n", NULL);
    if (!sim)
        return 1;
    snprintf (s_endpoint, sizeof s_endpoint, "ipc:///tmp/bench-scheduler-%d.ipc", getpid ());
    setenv ("GAPLESS_FETCHER_POLYGON_BASE_URL", gl_simclient_url (sim, "polygon"), 1);
    setenv ("GAPLESS_FETCHER_POLYGON_KEY", "pk", 1);
    setenv ("GAPLESS_FETCHER_POLYGON_LIMITS", "100000/1s", 1);     //  as good as none
    setenv ("GAPLESS_FETCHER_POLYGON_TIMEOUT_MS", "60000", 1);
    setenv ("GAPLESS_SCHEDULER_DISPATCH_MS", "20", 1);
    char *broker_arguments [] = { "--bind", s_endpoint, NULL };
    char *writer_arguments [] = { "--broker", s_endpoint, "--schema", SCHEMA, NULL };
    char *scheduler_arguments [] = { "--broker", s_endpoint, "--schema", SCHEMA, NULL };
    pid_t broker = s_start ("broker/gapless-broker", "broker.log", broker_arguments);
    pid_t writer = s_start ("actors/writer/gapless-writer", "writer.log", writer_arguments);
    pid_t scheduler = s_start ("actors/scheduler/gapless-scheduler", "scheduler.log",
                               scheduler_arguments);
    pid_t fetcher = s_fetcher ("f1");
    zclock_sleep (1500);                //  every process registered
    int64_t copy_bars = 0;
    double copy = s_copy_baseline (tickers, 40, DATE (2024, 3, 4), DATE (2024, 3, 9), &copy_bars);
    s_exec ("TRUNCATE ohlc_bars");
    char list [1024] = "";
    for (int index = 0; index < 40; index++)
        snprintf (list + strlen (list), sizeof list - strlen (list), "%s%s", index? ",": "",
                  tickers [index]);
    char arguments [1200];
    snprintf (arguments, sizeof arguments, "%s --timeframe 1m --from 2024-03-04 --to 2024-03-09",
              list);
    double start = s_now ();
    s_enqueue (arguments);
    bool done = s_wait ("SELECT count(*) FROM job_runs WHERE status = 'succeeded'", 200, 300);
    double dispatch_elapsed = s_now () - start;
    int64_t stored = s_number ("SELECT count(*) FROM ohlc_bars");
    fprintf (stderr, "bench_scheduler: dispatch measured\n");

    //  3. recovery, three kills of the one fetcher, which then holds every
    //  running slice (with two, the killed one may hold none of them)
    double heartbeats [3] = { 0 };
    zclock_sleep (1500);
    for (int kill_index = 0; kill_index < 3; kill_index++) {
        peers_sim_admin (sim, "/admin/faults?provider=polygon&hang=1&hang_ms=4000");
        char ticker [16], request [256], sql [256];
        snprintf (ticker, sizeof ticker, "K%d", kill_index);
        snprintf (request, sizeof request, "%s --timeframe 1m --from 2024-05-06 --to 2024-05-11",
                  ticker);
        s_enqueue (request);
        snprintf (sql, sizeof sql, "SELECT count(*) FROM job_runs WHERE symbol = '%s'"
                  " AND status = 'running'", ticker);
        s_wait (sql, 5, 30);
        double killed = s_now ();
        gl_process_stop (fetcher, SIGKILL);
        snprintf (sql, sizeof sql, "SELECT least (count(*), 1) FROM job_runs WHERE symbol = '%s'"
                  " AND error_class = 'worker_lost'", ticker);
        s_wait (sql, 1, 30);
        heartbeats [kill_index] = s_now () - killed;
        peers_sim_admin (sim, "/admin/faults?provider=polygon&hang=0");
        fetcher = s_fetcher ("f1");
        //  Every slice so far done before the next kill: the fetcher's
        //  credit (8) would otherwise still hold the last kill's slices,
        //  hanging, and the next ones would wait at the broker, where a
        //  kill does not lose them.
        s_wait ("SELECT count(*) FROM job_runs WHERE symbol LIKE 'K_' AND status <> 'succeeded'",
                0, 60);
    }
    gl_process_stop (fetcher, SIGTERM);
    gl_process_stop (scheduler, SIGTERM);
    gl_process_stop (writer, SIGTERM);
    gl_process_stop (broker, SIGTERM);
    gl_simclient_stop (sim);
    gl_simclient_destroy (&sim);

    if (rows) {
        char name [64], measured [96], baseline [96];
        snprintf (name, sizeof name, "enqueue %d symbols x 2 y x 1m", symbols);
        snprintf (measured, sizeof measured, "gl_backlog %.0f slices/s (%" PRId64 ")", backlog,
                  backlog_slices);
        snprintf (baseline, sizeof baseline, "plain INSERT %.0f slices/s (%" PRId64 ")", plain,
                  plain_slices);
        bench_rows_print (name, measured, baseline, backlog_slices == plain_slices?
                          backlog / plain: 0, ">=", 1.0);
        snprintf (measured, sizeof measured, "%s%.0f bars/s (%" PRId64 " bars)",
                  done? "": "UNFINISHED ", (double) stored / dispatch_elapsed, stored);
        snprintf (baseline, sizeof baseline, "text COPY %.0f bars/s", copy);
        bench_rows_print ("dispatch 40 sym x 5 d, enqueue to last commit", measured, baseline,
                          ((double) stored / dispatch_elapsed) / copy, NULL, 0);
        snprintf (measured, sizeof measured, "%.1f, %.1f, %.1f heartbeats", heartbeats [0],
                  heartbeats [1], heartbeats [2]);
        bench_rows_print ("fetcher SIGKILL to its slices queued again", measured,
                          "lease 120 heartbeats",
                          (heartbeats [0] + heartbeats [1] + heartbeats [2]) / 3 / 120, NULL, 0);
    }
    else {
        printf ("\nbench_scheduler (logs in %s)\n\n", s_folder);
        printf ("| measure | baseline (same run) | gapless | ratio |\n|---|---|---|---|\n");
        printf ("| enqueue %d symbols x 2 y x 1m | plain INSERT %" PRId64 " slices: %.0f slices/s"
                " | gl_backlog %" PRId64 " slices: %.0f slices/s | %.2fx |\n", symbols, plain_slices,
                plain, backlog_slices, backlog, backlog / plain);
        printf ("| dispatch 200 slices, enqueue to last commit | text COPY of %" PRId64 " bars:"
                " %.0f bars/s | %s%.0f slices/s, %.0f bars/s (%" PRId64 " bars) | %.2fx |\n",
                copy_bars, copy, done? "": "UNFINISHED ", 200 / dispatch_elapsed,
                (double) stored / dispatch_elapsed, stored,
                ((double) stored / dispatch_elapsed) / copy);
        printf ("| fetcher SIGKILL to its slices queued again | lease 120 s = 120 intervals |"
                " %.1f, %.1f, %.1f heartbeat intervals | %.3fx |\n", heartbeats [0], heartbeats [1],
                heartbeats [2], (heartbeats [0] + heartbeats [1] + heartbeats [2]) / 3 / 120);
    }
    for (int index = 0; index < symbols; index++)
        free (tickers [index]);
    free (tickers);
    gl_db_destroy (&s_db);
    return 0;
}
