/*  test_fetcher_e2e — every provider end to end: one real gapless-fetcher
    process per provider, a real broker and a real gapless-sim; raw GLP
    peers play scheduler, writer and ops.

    Each provider fetches a range that takes several requests the way it
    pages: Polygon next_url and Alpaca next_page_token (a page limit of
    500), Finnhub intraday windows of 30 days, Yahoo 1m windows of 7 days.
    Tradier has neither pages nor a span cap in the sim (it never answers
    TooBigBody), so its timesales and history ranges are one request each.
    A daily or weekly range across the March DST change is fetched too,
    since each provider stamps those differently. Every run must arrive
    in parts ending with last=true and hold exactly the bars gl_simbars
    generates (start, open, high, low, close, volume), Yahoo's nulled bars
    dropped; the sim's audit shows exactly the requests expected.
*/
#include "test_fetcher_peers.h"
#include "gl_simbars.h"

#define MONDAY 1710115200           //  2024-03-11 00:00 UTC, the day after the DST change
#define DAY 86400
#define WEEK (7 * DAY)
#define NULL_RATE 0.02

//  One range to fetch and how many requests it takes.
typedef struct {
    const char *provider;
    const char *timeframe;
    int64_t from, to;
    long requests;              //  exactly, without faults or limits
} case_t;

static const case_t s_cases [] = {
    { "polygon", "1m", MONDAY, MONDAY + 3 * DAY, 3 },
    { "polygon", "1d", MONDAY - 60 * DAY, MONDAY + 60 * DAY, 1 },
    { "alpaca", "1m", MONDAY, MONDAY + 3 * DAY, 3 },
    { "alpaca", "1w", MONDAY - 10 * WEEK, MONDAY + 10 * WEEK, 1 },
    { "finnhub", "1m", MONDAY, MONDAY + 40 * DAY, 2 },
    { "finnhub", "1d", MONDAY - 60 * DAY, MONDAY + 60 * DAY, 1 },
    { "yahoo", "1m", MONDAY, MONDAY + 10 * DAY, 2 },
    { "yahoo", "1d", MONDAY - 60 * DAY, MONDAY + 60 * DAY, 1 },
    { "tradier", "1m", MONDAY, MONDAY + 3 * DAY, 1 },
    { "tradier", "1d", MONDAY - 60 * DAY, MONDAY + 60 * DAY, 1 },
    { "tradier", "1w", MONDAY - 10 * WEEK, MONDAY + 10 * WEEK, 1 },
};
#define CASES (sizeof (s_cases) / sizeof (s_cases [0]))

static const char *s_providers [] = { "polygon", "alpaca", "finnhub", "yahoo", "tradier" };
#define PROVIDERS 5

//  The sim's credential label for a provider (Yahoo has no keys).
static const char *
s_key_label (const char *provider)
{
    return strcmp (provider, "yahoo") == 0? "anonymous": "default";
}

//  Points the provider's fetcher at the sim, with its credential.
static void
s_configure (gl_simclient_t *sim, const char *provider)
{
    static const struct { const char *provider, *key, *secret; } credentials [] = {
        { "polygon", "pk", "" }, { "alpaca", "AKID", "SECRET" }, { "finnhub", "fk", "" },
        { "yahoo", "", "" }, { "tradier", "tk", "" },
    };
    char upper [16], name [64];
    size_t length = 0;
    for (; provider [length] && length < sizeof (upper) - 1; length++)
        upper [length] = (char) toupper ((unsigned char) provider [length]);
    upper [length] = 0;
    struct { const char *setting, *value; } settings [] = {
        { "BASE_URL", gl_simclient_url (sim, provider) }, { "LIMITS", "100/1s" },
        { "PAGE_LIMIT", "500" }, { "PART_BARS", "1000" }, { "GUARD_MS", "30" },
        { "KEY", "" }, { "SECRET", "" }, { "HEALTH_MS", "200" },
    };
    for (size_t index = 0; index < PROVIDERS; index++)
        if (strcmp (credentials [index].provider, provider) == 0) {
            settings [5].value = credentials [index].key;
            settings [6].value = credentials [index].secret;
        }
    for (size_t index = 0; index < sizeof (settings) / sizeof (settings [0]); index++) {
        snprintf (name, sizeof (name), "GAPLESS_FETCHER_%s_%s", upper, settings [index].setting);
        setenv (name, settings [index].value, 1);
    }
}

//  The bars the sim serves for a case, as the provider delivers them:
//  Yahoo's nulled bars are missing. Returns the count; caller frees.
static size_t
s_expected (gl_calendar_t *calendar, const case_t *test, gl_simbar_t **bars_p)
{
    gl_timeframe_t timeframe = gl_timeframe_parse (test->timeframe);
    size_t count = 0;
    if (gl_simbars_generate (calendar, "MSFT", timeframe, test->from, test->to, bars_p,
                             &count) != 0)
        return 0;
    if (strcmp (test->provider, "yahoo") != 0)
        return count;
    size_t kept = 0;
    for (size_t index = 0; index < count; index++)
        if (gl_simbars_chance ("MSFT", timeframe, (*bars_p) [index].start,
                               GL_SIMBARS_SALT_YAHOO_NULL) >= NULL_RATE)
            (*bars_p) [kept++] = (*bars_p) [index];
    return kept;
}

//  Cents of a delivered price.
static int64_t
s_cents (double price)
{
    return (int64_t) (price * 100 + (price >= 0? 0.5: -0.5));
}

//  Checks one run against the sim's bars: same count, and every bar's
//  start, prices and volume equal.
static void
s_check_run (gl_calendar_t *calendar, size_t index)
{
    const case_t *test = &s_cases [index];
    peers_run_t *run = &peers_runs [index + 1];
    gl_simbar_t *expected = NULL;
    size_t expected_count = s_expected (calendar, test, &expected);
    size_t same = 0;
    for (size_t bar = 0; bar < run->bar_count && bar < expected_count; bar++) {
        const gl_bar_t *got = &run->bars [bar];
        same += got->ts == expected [bar].start
             && s_cents (got->open) == expected [bar].open
             && s_cents (got->high) == expected [bar].high
             && s_cents (got->low) == expected [bar].low
             && s_cents (got->close) == expected [bar].close
             && (int64_t) (got->volume + 0.5) == expected [bar].volume
             && !got->provisional;
    }
    printf ("e2e: provider=%s timeframe=%s bars=%zu expected=%zu same=%zu parts=%u failed=%s\n",
            test->provider, test->timeframe, run->bar_count, expected_count, same, run->parts,
            run->failed);
    GL_CHECK_STR (run->failed, "");
    GL_CHECK (run->last);
    GL_CHECK (expected_count > 0);
    GL_CHECK_INT (run->bar_count, expected_count);
    GL_CHECK_INT (same, expected_count);
    //  Parts of at most PART_BARS: a long range comes in several.
    GL_CHECK (run->parts >= (expected_count + 999) / 1000);
    free (expected);
}

//  Every case at once, one fetcher per provider; then each run and each
//  provider's request count.
static void
s_test_every_provider (gl_simclient_t *sim)
{
    pid_t fetchers [PROVIDERS];
    for (size_t index = 0; index < PROVIDERS; index++) {
        s_configure (sim, s_providers [index]);
        fetchers [index] = peers_fetcher_start (s_providers [index], "e2e");
    }
    for (size_t index = 0; index < CASES; index++)
        peers_fetch (s_cases [index].provider, index + 1, "MSFT", s_cases [index].timeframe,
                     s_cases [index].from, s_cases [index].to);
    GL_CHECK (peers_wait_for (peers_answers == (int) CASES, 60000));
    gl_calendar_t *calendar = gl_calendar_new (GL_CALENDAR_XNYS);
    for (size_t index = 0; index < CASES; index++)
        s_check_run (calendar, index);
    gl_calendar_destroy (&calendar);
    //  Health reports completeness: every expected bar came, except at
    //  Yahoo, whose nulled bars are missing.
    for (size_t provider = 0; provider < PROVIDERS; provider++) {
        char source [64];
        snprintf (source, sizeof (source), "fetcher.%s/e2e", s_providers [provider]);
        bool yahoo = strcmp (s_providers [provider], "yahoo") == 0;
        GL_CHECK (peers_wait_for (yahoo? strcmp (peers_completeness (source), "1.0000") < 0
                                             && strcmp (peers_completeness (source), "0.9") > 0
                                       : strcmp (peers_completeness (source), "1.0000") == 0,
                                  5000));
        printf ("e2e: provider=%s completeness=%s\n", s_providers [provider],
                peers_completeness (source));
    }
    for (size_t provider = 0; provider < PROVIDERS; provider++) {
        long requests = 0;
        for (size_t index = 0; index < CASES; index++)
            if (strcmp (s_cases [index].provider, s_providers [provider]) == 0)
                requests += s_cases [index].requests;
        peers_audit_t audit = peers_sim_audit (sim, s_providers [provider],
                                               s_key_label (s_providers [provider]), "200");
        printf ("e2e: provider=%s requests=%ld expected=%ld\n", s_providers [provider],
                audit.total, requests);
        GL_CHECK_INT (audit.total, requests);
        GL_CHECK_INT (audit.with_status, audit.total);
        GL_CHECK (peers_fetcher_stop (fetchers [provider]));
    }
}

int
main (void)
{
    peers_start ();
    gl_simclient_t *sim = gl_simclient_new (
        "sim\n"
        "    yahoo\n"
        "        null_rate = 0.02\n"
        "    polygon\n        keys\n            default = \"pk\"\n"
        "    tradier\n        keys\n            default = \"tk\"\n"
        "    finnhub\n        keys\n            default = \"fk\"\n"
        "    alpaca\n        keys\n            default = \"AKID:SECRET\"\n", NULL);
    GL_CHECK (sim != NULL);
    if (sim) {
        s_test_every_provider (sim);
        GL_CHECK_INT (gl_simclient_stop (sim), 0);
        gl_simclient_destroy (&sim);
    }
    peers_stop ();
    return gl_test_done ("test_fetcher_e2e");
}
