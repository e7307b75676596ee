/*  test_fetcher — gapless-fetcher processes against a real broker and a
    real gapless-sim; raw GLP peers play scheduler, writer and ops.

    - one provider end to end: a multi-page 1m range arrives in parts and
      holds exactly the sim's bars;
    - rate-limit sharing: 1, 2 and 4 fetchers on one key (one of the four
      killed mid-run): the sim's audit shows no request over the limit,
      peak <= limit, and utilisation >= 95%;
    - the breaker: a 5xx storm opens it (FAILED server_error, then
      breaker_open at once), half-open probes close it after the storm;
      each change reaches ops as an EVENT;
    - every fault, every provider end to end: test_fetcher_faults.c and
      test_fetcher_e2e.c.
*/
//  A peer or fetcher is dead after 3 silent beats: at 400 ms a loaded
//  machine's pauses are not taken for deaths, which would lose the jobs
//  the dead held (no scheduler here re-sends them).
#define PEERS_HEARTBEAT_MS 400
#include "test_fetcher_peers.h"
#include "gl_simbars.h"

#define LIMIT 10
#define WINDOW_MS 2000

//  Sends FETCH run_id for symbol/timeframe/[from, to) to fetcher.polygon.
static void
s_fetch (uint64_t run_id, const char *symbol, const char *timeframe, int64_t from, int64_t to)
{
    peers_fetch ("polygon", run_id, symbol, timeframe, from, to);
}

//  Starts a fetcher for polygon on the sim.
static pid_t
s_fetcher_start (const char *instance)
{
    return peers_fetcher_start ("polygon", instance);
}

#define MONDAY 1710115200           //  2024-03-11 00:00 UTC
#define DAY 86400

//  Three sessions of 1m bars (1170) in pages of 500: exactly the sim's.
static void
s_test_end_to_end (void)
{
    peers_runs_clear ();
    setenv ("GAPLESS_FETCHER_POLYGON_PAGE_LIMIT", "500", 1);
    setenv ("GAPLESS_FETCHER_POLYGON_PART_BARS", "400", 1);
    pid_t fetcher = s_fetcher_start ("e2e");
    s_fetch (1, "MSFT", "1m", MONDAY, MONDAY + 3 * DAY);
    GL_CHECK (peers_wait_for (peers_answers == 1, 20000));
    peers_run_t *run = &peers_runs [1];
    GL_CHECK (run->last);
    GL_CHECK_STR (run->failed, "");
    gl_calendar_t *calendar = gl_calendar_new (GL_CALENDAR_XNYS);
    gl_simbar_t *expected = NULL;
    size_t expected_count = 0;
    gl_simbars_generate (calendar, "MSFT", GL_TF_1M, MONDAY, MONDAY + 3 * DAY, &expected,
                         &expected_count);
    GL_CHECK_INT (expected_count, 1170);
    GL_CHECK_INT (run->bar_count, expected_count);
    GL_CHECK (run->parts >= 3);
    size_t same = 0;
    for (size_t index = 0; index < run->bar_count && index < expected_count; index++)
        same += run->bars [index].ts == expected [index].start
             && (int64_t) (run->bars [index].close * 100 + 0.5) == expected [index].close
             && (int64_t) (run->bars [index].high * 100 + 0.5) == expected [index].high
             && (int64_t) (run->bars [index].volume + 0.5) == expected [index].volume;
    GL_CHECK_INT (same, expected_count);
    free (expected);
    gl_calendar_destroy (&calendar);
    int status = gl_process_stop (fetcher, SIGTERM);
    GL_CHECK (WIFEXITED (status) && WEXITSTATUS (status) == 0);
    unsetenv ("GAPLESS_FETCHER_POLYGON_PAGE_LIMIT");
    unsetenv ("GAPLESS_FETCHER_POLYGON_PART_BARS");
}

//  Utilisation between first and last: the mean, over every window of
//  WINDOW_MS that starts in [first, last - WINDOW_MS], of the answers in
//  it, divided by the limit. Steady use at the limit gives 1 whatever the
//  phases of the fetchers; edge bursts do not inflate it.
static double
s_utilisation (int64_t first, int64_t last, int jobs)
{
    if (last - first <= WINDOW_MS)
        return 0;
    double sum = 0;
    for (int64_t start = first; start <= last - WINDOW_MS; start++)
        for (int index = 1; index <= jobs; index++)
            sum += peers_runs [index].answered_at >= start
                && peers_runs [index].answered_at < start + WINDOW_MS;
    return sum / (double) (last - WINDOW_MS - first + 1) / LIMIT;
}

//  `fetchers` fetchers share "10/2s" over `jobs` one-request jobs; with
//  kill, the last one is killed after a third of the answers.
static void
s_test_sharing (gl_simclient_t *sim, int fetchers, int jobs, bool kill_one)
{
    peers_runs_clear ();
    peers_sim_admin (sim, "/admin/reset");
    setenv ("GAPLESS_FETCHER_POLYGON_CREDIT", "1", 1);
    setenv ("GAPLESS_FETCHER_POLYGON_CONCURRENCY", "1", 1);
    pid_t pids [4];
    for (int index = 0; index < fetchers; index++) {
        char instance [16];
        snprintf (instance, sizeof (instance), "share%d", index);
        pids [index] = s_fetcher_start (instance);
    }
    for (int index = 0; index < jobs; index++)
        s_fetch ((uint64_t) index + 1, "AAPL", "1d", MONDAY, MONDAY + 5 * DAY);
    //  With a kill, utilisation counts from when the dead fetcher's share
    //  is reclaimed: 3 missed heartbeats (5 at most, with the sweep), one
    //  window and the guard later.
    int64_t counted_from = 0;
    if (kill_one) {
        GL_CHECK (peers_wait_for (peers_answers >= jobs / 3, 30000));
        gl_process_stop (pids [fetchers - 1], SIGKILL);
        pids [fetchers - 1] = 0;
        counted_from = gl_test_now_ms () + 5 * PEERS_HEARTBEAT_MS + WINDOW_MS + 100;
    }
    //  A killed fetcher may take one job (its credit) with it.
    int expected = kill_one? jobs - 1: jobs;
    GL_CHECK (peers_wait_for (peers_answers >= expected, 60000));
    peers_audit_t audit = peers_sim_audit (sim, "polygon", "default", "200");
    long total = audit.total, over_limit = audit.over_limit, peak = audit.peak;
    GL_CHECK_INT (over_limit, 0);
    GL_CHECK (peak >= 1 && peak <= LIMIT);
    //  Utilisation: after the first window's burst, requests per window
    //  over the time between the first and last answers.
    int64_t first = INT64_MAX, last = 0;
    int answered = 0, bars_ok = 0;
    for (int index = 1; index <= jobs; index++) {
        peers_run_t *run = &peers_runs [index];
        if (!run->answered_at)
            continue;
        answered++;
        bars_ok += run->last && run->bar_count == 5;
        if (run->answered_at < counted_from)
            continue;
        first = run->answered_at < first? run->answered_at: first;
        last = run->answered_at > last? run->answered_at: last;
    }
    GL_CHECK_INT (bars_ok, answered);
    //  Work is queued until fewer than a window's worth of jobs remain:
    //  the last LIMIT answers are the drain, not counted.
    int later = 0;
    do {
        later = 0;
        for (int index = 1; index <= jobs; index++)
            later += peers_runs [index].answered_at >= last;
        if (later <= LIMIT)
            last--;
    } while (later <= LIMIT && last > first);
    double utilisation = s_utilisation (first, last, jobs);
    printf ("sharing: fetchers=%d kill=%d requests=%ld answered=%d peak=%ld over_limit=%ld "
            "span_ms=%lld utilisation=%.3f\n", fetchers, kill_one, total, answered,
            peak, over_limit, (long long) (last - first), utilisation);
    GL_CHECK (utilisation >= 0.95);
    for (int index = 0; index < fetchers; index++)
        if (pids [index]) {
            int status = gl_process_stop (pids [index], SIGTERM);
            GL_CHECK (WIFEXITED (status) && WEXITSTATUS (status) == 0);
        }
    unsetenv ("GAPLESS_FETCHER_POLYGON_CREDIT");
    unsetenv ("GAPLESS_FETCHER_POLYGON_CONCURRENCY");
}

//  A 5xx storm opens the breaker; FETCH is then refused at once; after
//  the storm, half-open probes close it. Ops hears every change.
static void
s_test_breaker (gl_simclient_t *sim)
{
    peers_runs_clear ();
    peers_sim_admin (sim, "/admin/reset");
    setenv ("GAPLESS_FETCHER_POLYGON_BREAKER_WINDOW", "6", 1);
    setenv ("GAPLESS_FETCHER_POLYGON_BREAKER_MINIMUM_CALLS", "4", 1);
    setenv ("GAPLESS_FETCHER_POLYGON_BREAKER_OPEN_MS", "1500", 1);
    setenv ("GAPLESS_FETCHER_POLYGON_BREAKER_HALF_OPEN_CALLS", "2", 1);
    setenv ("GAPLESS_FETCHER_POLYGON_CONCURRENCY", "1", 1);
    pid_t fetcher = s_fetcher_start ("breaker");
    peers_sim_admin (sim, "/admin/faults?provider=polygon&server_error=1");
    for (int index = 1; index <= 4; index++)
        s_fetch ((uint64_t) index, "AAPL", "1d", MONDAY, MONDAY + 5 * DAY);
    GL_CHECK (peers_wait_for (peers_answers == 4, 20000));
    for (int index = 1; index <= 4; index++)
        GL_CHECK_STR (peers_runs [index].failed, "server_error");
    GL_CHECK (peers_wait_for (strstr (peers_events, "closed>open ") != NULL, 5000));
    //  Open: refused at once, without a request.
    long before = peers_sim_audit (sim, "polygon", "default", "200").total;
    s_fetch (5, "AAPL", "1d", MONDAY, MONDAY + 5 * DAY);
    GL_CHECK (peers_wait_for (peers_answers == 5, 5000));
    GL_CHECK_STR (peers_runs [5].failed, "breaker_open");
    GL_CHECK_INT (peers_sim_audit (sim, "polygon", "default", "200").total, before);
    //  The storm ends; half-open lets probes through, which succeed.
    peers_sim_admin (sim, "/admin/faults?provider=polygon&server_error=0");
    GL_CHECK (peers_wait_for (strstr (peers_events, "open>half_open ") != NULL, 5000));
    s_fetch (6, "AAPL", "1d", MONDAY, MONDAY + 5 * DAY);
    s_fetch (7, "AAPL", "1d", MONDAY, MONDAY + 5 * DAY);
    GL_CHECK (peers_wait_for (peers_answers == 7, 10000));
    GL_CHECK (peers_runs [6].last && peers_runs [7].last);
    GL_CHECK (peers_wait_for (strstr (peers_events, "half_open>closed ") != NULL, 5000));
    int status = gl_process_stop (fetcher, SIGTERM);
    GL_CHECK (WIFEXITED (status) && WEXITSTATUS (status) == 0);
    unsetenv ("GAPLESS_FETCHER_POLYGON_BREAKER_WINDOW");
    unsetenv ("GAPLESS_FETCHER_POLYGON_BREAKER_MINIMUM_CALLS");
    unsetenv ("GAPLESS_FETCHER_POLYGON_BREAKER_OPEN_MS");
    unsetenv ("GAPLESS_FETCHER_POLYGON_BREAKER_HALF_OPEN_CALLS");
    unsetenv ("GAPLESS_FETCHER_POLYGON_CONCURRENCY");
}

//  How many of runs 1..jobs delivered their last part.
static int
s_delivered (int jobs)
{
    int delivered = 0;
    for (int run = 1; run <= jobs; run++)
        delivered += peers_runs [run].last;
    return delivered;
}

//  Writes text into path (truncated first).
static void
s_write_text (const char *path, const char *text)
{
    FILE *file = fopen (path, "w");
    GL_CHECK (file != NULL);
    if (file) {
        fputs (text, file);
        fclose (file);
    }
}

//  Four fetchers share "5/2s" (shares 2, 1, 1, 1) with their default
//  credit over 40 slices. Each holds only what it can start, so the queue
//  waits at the broker for whichever has room: past the first 8 each
//  (the READY credit, dealt before any share is known), no fetcher is
//  dealt a slice it has no room to start (each would log
//  fetch_held_back), and the share-2 fetcher answers the most. Were
//  credit the full credit whatever the share (each credit given back as
//  its job ends, or in batches of half the credit as the runtime once
//  did), a slice dealt to a share-1 fetcher as one ended would wait
//  behind its backlog while the share-2 fetcher idles at the end: 8 of
//  the 8 slices dealt past the first credit are held back then. Counts
//  only, no clock.
static void
s_test_tail (gl_simclient_t *sim)
{
    peers_runs_clear ();
    peers_sim_admin (sim, "/admin/reset");
    enum { FETCHERS = 4, JOBS = 40 };
    setenv ("GAPLESS_FETCHER_POLYGON_LIMITS", "5/2s", 1);
    pid_t pids [FETCHERS];
    char logs [FETCHERS][32];
    for (int index = 0; index < FETCHERS; index++) {
        char instance [16];
        snprintf (instance, sizeof (instance), "tail%d", index);
        snprintf (logs [index], sizeof (logs [index]), "fetcher_tail%d.log", index);
        pids [index] = peers_fetcher_start_logged ("polygon", instance, logs [index]);
    }
    for (int index = 0; index < FETCHERS; index++)
        GL_CHECK (peers_wait_for (peers_log_count (logs [index], "members=4") > 0, 10000));
    //  Past every share transition: one window and the guard.
    int64_t settled = gl_test_now_ms () + WINDOW_MS + 100;
    peers_wait_for (gl_test_now_ms () >= settled, WINDOW_MS + 200);
    for (int index = 0; index < JOBS; index++)
        s_fetch ((uint64_t) index + 1, "AAPL", "1d", MONDAY, MONDAY + 5 * DAY);
    //  Answers are counted by run: a late one of the test before may come.
    GL_CHECK (peers_wait_for (s_delivered (JOBS) == JOBS, 60000));
    int answered [FETCHERS] = { 0 };
    for (int run = 1; run <= JOBS; run++)
        for (int index = 0; index < FETCHERS; index++) {
            char instance [16];
            snprintf (instance, sizeof (instance), "tail%d", index);
            answered [index] += strcmp (peers_runs [run].instance, instance) == 0
                             && peers_runs [run].last;
        }
    peers_audit_t audit = peers_sim_audit (sim, "polygon", "default", "200");
    printf ("tail: answered=%d,%d,%d,%d over_limit=%ld peak=%ld\n", answered [0], answered [1],
            answered [2], answered [3], audit.over_limit, audit.peak);
    GL_CHECK_INT (answered [0] + answered [1] + answered [2] + answered [3], JOBS);
    GL_CHECK_INT (audit.over_limit, 0);
    GL_CHECK (answered [0] >= answered [1] && answered [0] >= answered [2]
           && answered [0] >= answered [3]);
    int held_back = 0;
    for (int index = 0; index < FETCHERS; index++) {
        int status = gl_process_stop (pids [index], SIGTERM);
        GL_CHECK (WIFEXITED (status) && WEXITSTATUS (status) == 0);
        held_back += peers_log_count (logs [index], "fetch_held_back");
    }
    printf ("tail: held_back=%d\n", held_back);
    GL_CHECK_INT (held_back, 0);
    setenv ("GAPLESS_FETCHER_POLYGON_LIMITS", "10/2s", 1);
}

//  SIGHUP with new limits and breaker thresholds puts them in force while
//  the fetcher works: after the reload to 2/2s the sim never counts more
//  than 2 requests in 2 s (the fetcher had been sending at 10/2s, and
//  would go on at up to 8 per window were the reload not applied). A file
//  with a bad limit is refused, the running limits stay, the fetcher goes
//  on. The environment's limits would override the file's, so it has none.
static void
s_test_reload (gl_simclient_t *sim)
{
    peers_runs_clear ();
    peers_sim_admin (sim, "/admin/reset");
    unsetenv ("GAPLESS_FETCHER_POLYGON_LIMITS");
    setenv ("GAPLESS_FETCHER_POLYGON_CREDIT", "1", 1);
    setenv ("GAPLESS_FETCHER_POLYGON_CONCURRENCY", "1", 1);
    const char *file = "fetcher_reload.cfg", *log = "fetcher_reload.log";
    s_write_text (file, "fetcher\n    polygon\n        limits = \"10/2s\"\n");
    FILE *truncated = fopen (log, "w");
    if (truncated)
        fclose (truncated);
    char *argv [] = { peers_fetcher_path, "--provider", "polygon", "--broker", peers_endpoint,
                      "--instance", "reload", "--config", (char *) file, NULL };
    pid_t fetcher = gl_process_start (argv, log);
    GL_CHECK (peers_wait_for (peers_log_count (log, "members=1") > 0, 10000));
    for (int index = 1; index <= 4; index++)
        s_fetch ((uint64_t) index, "AAPL", "1d", MONDAY, MONDAY + 5 * DAY);
    GL_CHECK (peers_wait_for (s_delivered (4) == 4, 20000));
    s_write_text (file, "fetcher\n    polygon\n        limits = \"2/2s\"\n"
                        "        breaker\n            failure_rate = 90\n");
    kill (fetcher, SIGHUP);
    GL_CHECK (peers_wait_for (peers_log_count (log, "limits_changed=yes") == 1, 10000));
    GL_CHECK_INT (peers_log_count (log, "breaker_changed=yes"), 1);
    peers_sim_admin (sim, "/admin/reset");
    for (int index = 5; index <= 12; index++)
        s_fetch ((uint64_t) index, "AAPL", "1d", MONDAY, MONDAY + 5 * DAY);
    GL_CHECK (peers_wait_for (s_delivered (12) == 12, 30000));
    peers_audit_t audit = peers_sim_audit (sim, "polygon", "default", "200");
    printf ("reload: requests=%ld peak=%ld (limit 2 per 2 s after the reload)\n", audit.total,
            audit.peak);
    GL_CHECK_INT (audit.total, 8);
    GL_CHECK (audit.peak >= 1 && audit.peak <= 2);
    s_write_text (file, "fetcher\n    polygon\n        limits = \"0/2s\"\n");
    kill (fetcher, SIGHUP);
    GL_CHECK (peers_wait_for (peers_log_count (log, "config_reload_refused") >= 1, 10000));
    GL_CHECK_INT (peers_log_count (log, "limits_changed=yes"), 1);
    GL_CHECK (peers_alive (fetcher));
    int status = gl_process_stop (fetcher, SIGTERM);
    GL_CHECK (WIFEXITED (status) && WEXITSTATUS (status) == 0);
    unlink (file);
    setenv ("GAPLESS_FETCHER_POLYGON_LIMITS", "10/2s", 1);
    unsetenv ("GAPLESS_FETCHER_POLYGON_CREDIT");
    unsetenv ("GAPLESS_FETCHER_POLYGON_CONCURRENCY");
}

int
main (void)
{
    peers_start ();
    gl_simclient_t *sim = gl_simclient_new (
        "sim\n    polygon\n        limits = \"10/2s\"\n        abuse = \"1000/60s\"\n"
        "        keys\n            default = \"pk\"\n", NULL);
    GL_CHECK (sim != NULL);
    if (sim) {
        setenv ("GAPLESS_FETCHER_POLYGON_BASE_URL", gl_simclient_url (sim, "polygon"), 1);
        setenv ("GAPLESS_FETCHER_POLYGON_KEY", "pk", 1);
        setenv ("GAPLESS_FETCHER_POLYGON_LIMITS", "10/2s", 1);
        setenv ("GAPLESS_FETCHER_POLYGON_HEALTH_MS", "500", 1);
        setenv ("GAPLESS_FETCHER_POLYGON_GUARD_MS", "30", 1);
        s_test_end_to_end ();
        s_test_breaker (sim);
        s_test_sharing (sim, 1, 40, false);
        s_test_sharing (sim, 2, 40, false);
        s_test_sharing (sim, 4, 100, true);
        s_test_tail (sim);
        s_test_reload (sim);
        GL_CHECK_INT (gl_simclient_stop (sim), 0);
        gl_simclient_destroy (&sim);
    }
    peers_stop ();
    return gl_test_done ("test_fetcher");
}
