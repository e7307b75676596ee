/*  bench_fetcher — one gapless-fetcher (polygon) on a real broker and a
    real gapless-sim, raw GLP peers as scheduler, writer and ops.

    (a) rate-limited: N one-request slices (FETCH of a week of daily bars)
        under a sim limit of R per window, shared by 1, 2 and 4 fetchers
        of one key; the time to the last answer beside the ideal N/R of
        the same run (the target is <= 1.02 x N/R), and the sim's count
        of requests over the limit (must be 0); then the same under two
        rules at once, Finnhub's shape (30/1s and 300/60s: a loose short
        window over a tight long one) scaled down to 6/1s and 12/4s, where
        R is the tighter, the long rule's 3/s;
    (b) unlimited: 1m bars per second parsed and forwarded to the writer
        peer by the fetcher (FETCH of four weeks of 1m bars each), beside the
        sim's raw serving rate: the same requests, built by the same
        adapter, fetched by plain libcurl (keep-alive, as many threads as
        the fetcher's concurrency) without parsing, in the same run.

        build/tools/bench/bench_fetcher [slices N] [limit R per 2 s] [1m slices]
                                        [two-rule slices] [--rows]
        --rows: the same figures as rows of bench_rows.h.
*/
#include "bench_rows.h"
#include "test_fetcher_peers.h"
#include "gl_provider.h"
#include "gl_simbars.h"
#include <curl/curl.h>
#include <pthread.h>

#define MONDAY 1710115200           //  2024-03-11 00:00 UTC
#define DAY 86400
#define WEEK (7 * DAY)
#define CONCURRENCY 4
#define WINDOW_S 2
#define FETCHERS_MAX 4
//  Finnhub's 30/1s and 300/60s, scaled down: R = 12 / 4 s.
#define TWO_RULES "6/1s,12/4s"
#define TWO_RULES_RATE 3.0

static gl_calendar_t *s_calendar;

//  Seconds on the monotonic clock.
static double
s_seconds (void)
{
    return zclock_usecs () / 1e6;
}

//  The range of unlimited slice index: four weeks of 1m bars (one
//  Polygon page of at most 50000), going back.
static void
s_month (int index, int64_t *from, int64_t *to)
{
    *from = MONDAY - (int64_t) index * 4 * WEEK;
    *to = *from + 4 * WEEK;
}

//  Starts `count` polygon fetchers sharing the key, each logging to its
//  own file, and waits until each knows all the members and one window
//  has passed since (every share transition over: the longest window).
static void
s_fetchers_start (int count, pid_t *fetchers, int64_t window_ms)
{
    char logs [FETCHERS_MAX][64], members [32];
    snprintf (members, sizeof (members), "members=%d", count);
    for (int index = 0; index < count; index++) {
        char instance [32];
        snprintf (instance, sizeof (instance), "bench-%d", index + 1);
        snprintf (logs [index], sizeof (logs [index]), "bench_fetcher_%d.log", index + 1);
        fetchers [index] = peers_fetcher_start_logged ("polygon", instance, logs [index]);
    }
    for (int index = 0; index < count; index++)
        peers_wait_for (peers_log_count (logs [index], members) > 0, 10000);
    int64_t settled = gl_test_now_ms () + window_ms + 300;
    peers_wait_for (gl_test_now_ms () >= settled, window_ms + 400);
}

//  (a) N slices under rules ("N/window,..."; the longest window is
//  window_ms), shared by `count` fetchers: seconds to the last answer.
static double
s_rate_limited (int count, int slices, const char *rules, int64_t window_ms, long *over_limit,
                int *answered)
{
    char config [256];
    snprintf (config, sizeof (config), "sim\n    polygon\n        limits = \"%s\"\n"
              "        abuse = \"100000/60s\"\n        keys\n            default = \"pk\"\n", rules);
    gl_simclient_t *sim = gl_simclient_new (config, NULL);
    if (!sim)
        return -1;
    setenv ("GAPLESS_FETCHER_POLYGON_BASE_URL", gl_simclient_url (sim, "polygon"), 1);
    setenv ("GAPLESS_FETCHER_POLYGON_LIMITS", rules, 1);
    setenv ("GAPLESS_LOG_LEVEL", "info", 1);    //  share_changed tells when all are members
    pid_t fetchers [FETCHERS_MAX];
    s_fetchers_start (count, fetchers, window_ms);
    setenv ("GAPLESS_LOG_LEVEL", "warn", 1);
    peers_sim_admin (sim, "/admin/reset");
    peers_runs_clear ();
    double start = s_seconds ();
    for (int index = 1; index <= slices; index++)
        peers_fetch ("polygon", (uint64_t) index, "MSFT", "1d", MONDAY, MONDAY + WEEK);
    peers_wait_for (peers_answers == slices, 600000);
    double elapsed = s_seconds () - start;
    *answered = 0;
    for (int index = 1; index <= slices; index++)
        *answered += peers_runs [index].last && peers_runs [index].bar_count == 5;
    *over_limit = peers_sim_audit (sim, "polygon", "default", "200").over_limit;
    for (int index = 0; index < count; index++)
        peers_fetcher_stop (fetchers [index]);
    gl_simclient_destroy (&sim);
    return elapsed;
}

//  (b) The fetcher: seconds to deliver `slices` of 1m bars.
static double
s_fetcher_unlimited (gl_simclient_t *sim, int slices, size_t *bars)
{
    setenv ("GAPLESS_FETCHER_POLYGON_BASE_URL", gl_simclient_url (sim, "polygon"), 1);
    setenv ("GAPLESS_FETCHER_POLYGON_LIMITS", "1000000/1s", 1);
    peers_runs_clear ();
    pid_t fetcher = peers_fetcher_start ("polygon", "bench");
    peers_fetch ("polygon", PEERS_RUNS_MAX - 1, "MSFT", "1d", MONDAY, MONDAY + WEEK);
    peers_wait_for (peers_answers == 1, 10000);
    peers_runs_clear ();
    double start = s_seconds ();
    for (int index = 1; index <= slices; index++) {
        int64_t from, to;
        s_month (index, &from, &to);
        peers_fetch ("polygon", (uint64_t) index, "MSFT", "1m", from, to);
    }
    peers_wait_for (peers_answers == slices, 600000);
    double elapsed = s_seconds () - start;
    *bars = 0;
    for (int index = 1; index <= slices; index++)
        *bars += peers_runs [index].bar_count;
    peers_fetcher_stop (fetcher);
    return elapsed;
}

//  libcurl write callback: counts the bytes and drops them.
static size_t
s_discard (char *data, size_t size, size_t count, void *argument)
{
    *(size_t *) argument += size * count;
    return size * count;
}

//  A plain libcurl worker's share of the slices.
typedef struct {
    gl_simclient_t *sim;
    int first, step, slices;
    size_t bytes;
    int failures;
} worker_t;

//  Fetches slices first, first + step, ... with one reused easy handle.
static void *
s_worker (void *argument)
{
    worker_t *worker = (worker_t *) argument;
    CURL *easy = curl_easy_init ();
    curl_easy_setopt (easy, CURLOPT_WRITEFUNCTION, s_discard);
    curl_easy_setopt (easy, CURLOPT_WRITEDATA, &worker->bytes);
    for (int index = worker->first; index <= worker->slices; index += worker->step) {
        int64_t from, to;
        s_month (index, &from, &to);
        gl_provider_query_t query = {
            .provider = GL_PROVIDER_POLYGON, .base_url = gl_simclient_url (worker->sim, "polygon"),
            .key = "pk", .symbol = "MSFT", .timeframe = GL_TF_1M, .from = from, .to = to,
            .calendar = s_calendar,
        };
        char error [256];
        gl_provider_request_t *request = gl_provider_request_new (&query, error);
        struct curl_slist *headers = NULL;
        for (size_t header = 0; request && header < request->header_count; header++)
            headers = curl_slist_append (headers, request->headers [header]);
        long status = 0;
        if (request) {
            curl_easy_setopt (easy, CURLOPT_URL, request->url);
            curl_easy_setopt (easy, CURLOPT_HTTPHEADER, headers);
        }
        if (!request || curl_easy_perform (easy) != CURLE_OK
        ||  curl_easy_getinfo (easy, CURLINFO_RESPONSE_CODE, &status) != CURLE_OK || status != 200)
            worker->failures++;
        curl_easy_setopt (easy, CURLOPT_HTTPHEADER, NULL);
        curl_slist_free_all (headers);
        gl_provider_request_destroy (&request);
    }
    curl_easy_cleanup (easy);
    return NULL;
}

//  (b) Baseline: seconds for plain libcurl to fetch the same requests.
static double
s_curl_unlimited (gl_simclient_t *sim, int slices, size_t *bytes, int *failures)
{
    worker_t workers [CONCURRENCY];
    pthread_t threads [CONCURRENCY];
    double start = s_seconds ();
    for (int index = 0; index < CONCURRENCY; index++) {
        workers [index] = (worker_t) { .sim = sim, .first = index + 1, .step = CONCURRENCY,
                                       .slices = slices };
        pthread_create (&threads [index], NULL, s_worker, &workers [index]);
    }
    *bytes = 0;
    *failures = 0;
    for (int index = 0; index < CONCURRENCY; index++) {
        pthread_join (threads [index], NULL);
        *bytes += workers [index].bytes;
        *failures += workers [index].failures;
    }
    return s_seconds () - start;
}

//  The bars the sim serves for the unlimited slices.
static size_t
s_expected_bars (int slices)
{
    size_t total = 0;
    for (int index = 1; index <= slices; index++) {
        int64_t from, to;
        s_month (index, &from, &to);
        gl_simbar_t *bars = NULL;
        size_t count = 0;
        if (gl_simbars_generate (s_calendar, "MSFT", GL_TF_1M, from, to, &bars, &count) == 0)
            total += count;
        free (bars);
    }
    return total;
}

//  The rate-limited rows: time to the last answer beside N/R, each a
//  fail when a slice went unanswered or a request went over the limit.
static void
s_rows (const char *rules, const int counts [3], const double seconds [3], double ideal,
        const long over_limit [3], const int answered [3], int slices)
{
    for (int row = 0; row < 3; row++) {
        char name [96], measured [96], baseline [64];
        snprintf (name, sizeof name, "rate-limited%s, %d fetcher%s sharing a key", rules,
                  counts [row], counts [row] > 1? "s": "");
        snprintf (measured, sizeof measured, "%.2f s, answered %d/%d, over the limit %ld",
                  seconds [row], answered [row], slices, over_limit [row]);
        snprintf (baseline, sizeof baseline, "N/R %.2f s", ideal);
        bool whole = answered [row] == slices && over_limit [row] == 0;
        bench_rows_print (name, measured, baseline, whole? seconds [row] / ideal: 99, "<=", 1.02);
    }
}

int
main (int argc, char **argv)
{
    bool rows = bench_rows_requested (&argc, argv);
    int slices = argc > 1? atoi (argv [1]): 120;
    int limit = argc > 2? atoi (argv [2]): 20;
    int minute_slices = argc > 3? atoi (argv [3]): 100;
    int two_rule_slices = argc > 4? atoi (argv [4]): 60;
    if (slices < 1 || slices >= PEERS_RUNS_MAX - 1 || limit < 1
    ||  minute_slices < 1 || minute_slices >= PEERS_RUNS_MAX - 1
    ||  two_rule_slices < 1 || two_rule_slices >= PEERS_RUNS_MAX - 1) {
        fprintf (stderr, "usage: bench_fetcher [slices 1..%d] [limit per %d s] [1m slices 1..%d]"
                 " [two-rule slices 1..%d]\n", PEERS_RUNS_MAX - 2, WINDOW_S, PEERS_RUNS_MAX - 2,
                 PEERS_RUNS_MAX - 2);
        return 2;
    }
    setenv ("GL_BINARY_DIR", GL_BINARY_DIR, 0);
    //  The processes' logs go to a folder of the run's own: a benchmark
    //  writes nothing where it is started
    char folder [] = "/tmp/gapless-bench-fetcher-XXXXXX";
    if (!mkdtemp (folder) || chdir (folder) != 0) {
        fprintf (stderr, "bench_fetcher: cannot make a folder for the logs in /tmp\n");
        return 1;
    }
    fprintf (stderr, "bench_fetcher: logs in %s\n", folder);
    setenv ("GAPLESS_FETCHER_POLYGON_KEY", "pk", 1);
    setenv ("GAPLESS_FETCHER_POLYGON_GUARD_MS", "30", 1);
    setenv ("GAPLESS_FETCHER_POLYGON_PAGE_LIMIT", "50000", 1);
    setenv ("GAPLESS_FETCHER_POLYGON_CONCURRENCY", "4", 1);
    setenv ("GAPLESS_LOG_LEVEL", "warn", 0);
    curl_global_init (CURL_GLOBAL_DEFAULT);
    s_calendar = gl_calendar_new (GL_CALENDAR_XNYS);
    peers_start ();

    static const int counts [] = { 1, 2, 4 };
    long over_limit [3] = { -1, -1, -1 }, two_over_limit [3] = { -1, -1, -1 };
    int answered [3] = { 0 }, two_answered [3] = { 0 };
    double limited [3], two_limited [3];
    char rules [32];
    snprintf (rules, sizeof (rules), "%d/%ds", limit, WINDOW_S);
    for (int row = 0; row < 3; row++)
        limited [row] = s_rate_limited (counts [row], slices, rules, WINDOW_S * 1000,
                                        &over_limit [row], &answered [row]);
    for (int row = 0; row < 3; row++)
        two_limited [row] = s_rate_limited (counts [row], two_rule_slices, TWO_RULES, 4000,
                                            &two_over_limit [row], &two_answered [row]);
    double ideal = (double) slices * WINDOW_S / limit;
    double two_ideal = two_rule_slices / TWO_RULES_RATE;

    gl_simclient_t *sim = gl_simclient_new ("sim\n    polygon\n        keys\n"
                                            "            default = \"pk\"\n", NULL);
    size_t fetched_bars = 0, bytes = 0;
    int failures = 0;
    double fetcher = sim? s_fetcher_unlimited (sim, minute_slices, &fetched_bars): -1;
    double raw = sim? s_curl_unlimited (sim, minute_slices, &bytes, &failures): -1;
    size_t expected = s_expected_bars (minute_slices);
    gl_simclient_destroy (&sim);
    peers_stop ();
    gl_calendar_destroy (&s_calendar);
    curl_global_cleanup ();

    if (rows) {
        s_rows ("", counts, limited, ideal, over_limit, answered, slices);
        s_rows (", two rules", counts, two_limited, two_ideal, two_over_limit, two_answered,
                two_rule_slices);
        char measured [96], baseline [96];
        snprintf (measured, sizeof measured, "%.0f bars/s (%zu of %zu bars)",
                  fetched_bars / fetcher, fetched_bars, expected);
        snprintf (baseline, sizeof baseline, "plain libcurl %.0f bars/s", expected / raw);
        bench_rows_print ("fetcher unlimited 1m, parsed and forwarded", measured, baseline,
                          fetched_bars == expected? (fetched_bars / fetcher) / (expected / raw): 0,
                          NULL, 0);
        return 0;
    }
    printf ("bench_fetcher: polygon fetchers, concurrency %d each, on one broker and one sim\n\n",
            CONCURRENCY);
    printf ("(a) rate-limited: %d slices under %d/%ds (R = %.1f/s)\n", slices, limit, WINDOW_S,
            (double) limit / WINDOW_S);
    printf ("%-36s %10s %16s\n", "", "seconds", "ratio");
    printf ("%-36s %10.2f %16s\n", "ideal N/R", ideal, "baseline");
    printf ("%-36s %10.2f %12.3f x N/R\n", "ideal after a first burst, (N-R)/R",
            ideal - WINDOW_S, (ideal - WINDOW_S) / ideal);
    for (int row = 0; row < 3; row++) {
        char label [48];
        snprintf (label, sizeof (label), "%d fetcher%s, to the last answer", counts [row],
                  counts [row] > 1? "s": "");
        printf ("%-36s %10.2f %12.3f x N/R   answered %d/%d, over the limit %ld\n", label,
                limited [row], limited [row] / ideal, answered [row], slices, over_limit [row]);
    }
    printf ("target <= 1.02 x N/R, 0 requests over the limit\n\n");
    printf ("(a) two rules, Finnhub's shape scaled down: %d slices under %s (R = %.1f/s)\n",
            two_rule_slices, TWO_RULES, TWO_RULES_RATE);
    printf ("%-36s %10s %16s\n", "", "seconds", "ratio");
    printf ("%-36s %10.2f %16s\n", "ideal N/R", two_ideal, "baseline");
    for (int row = 0; row < 3; row++) {
        char label [48];
        snprintf (label, sizeof (label), "%d fetcher%s, to the last answer", counts [row],
                  counts [row] > 1? "s": "");
        printf ("%-36s %10.2f %12.3f x N/R   answered %d/%d, over the limit %ld\n", label,
                two_limited [row], two_limited [row] / two_ideal, two_answered [row],
                two_rule_slices, two_over_limit [row]);
    }
    printf ("target <= 1.02 x N/R, 0 requests over either limit\n\n");
    printf ("(b) unlimited: %d slices of four weeks of 1m bars (%zu bars, %.1f MB of JSON)\n",
            minute_slices, expected, bytes / 1e6);
    printf ("%-36s %10s %12s %16s\n", "", "seconds", "bars/s", "ratio");
    printf ("%-36s %10.2f %12.0f %16s\n", "plain libcurl, no parsing", raw, expected / raw,
            "baseline");
    printf ("%-36s %10.2f %12.0f %12.3f x raw\n", "fetcher, parsed and forwarded", fetcher,
            fetched_bars / fetcher, (fetched_bars / fetcher) / (expected / raw));
    printf ("fetcher delivered %zu/%zu bars; libcurl failures %d\n", fetched_bars, expected,
            failures);
    return 0;
}
