/*  test_provider_sim — round trips against a real gapless-sim over HTTP:
    for every provider and every timeframe it serves, the request the
    adapter builds is answered by the sim, pages are followed through the
    continuation to the end, and the parsed bars are exactly the bars
    gl_simbars generates for the range (starts, cents, volume, and vwap
    and trades where the provider sends them). Yahoo's nulls are dropped
    and counted, one per bar the sim's coin nulled. Also: an empty day,
    a refused key and a 1m span Yahoo would refuse.
*/
#include "gl_provider.h"
#include "gl_simbars.h"
#include "gl_simclient.h"
#include "gl_test.h"
#include <math.h>
#include <stdlib.h>
#include <time.h>

#define S_NULL_RATE 0.05

static const char *s_config =
    "sim\n"
    "    yahoo\n"
    "        null_rate = 0.05\n"
    "    polygon\n"
    "        splits = \"SPLT:2024-06-10:4\"\n"
    "        keys\n"
    "            alpha = \"pk-alpha\"\n"
    "    tradier\n"
    "        keys\n"
    "            alpha = \"tk-alpha\"\n"
    "    finnhub\n"
    "        keys\n"
    "            alpha = \"fk-alpha\"\n"
    "    alpaca\n"
    "        splits = \"SPLT:2024-06-10:4\"\n"
    "        keys\n"
    "            alpha = \"AKID:SECRET\"\n";

static gl_simclient_t *s_sim;
static gl_calendar_t *s_calendar;         //  the default grids: 1h and 4h on the clock
static gl_calendar_t *s_session;          //  1h and 4h on the session grid

//  UTC midnight of a civil date.
static int64_t
s_date (int year, int month, int day)
{
    struct tm civil = { .tm_year = year - 1900, .tm_mon = month - 1, .tm_mday = day };
    return (int64_t) timegm (&civil);
}

//  A query for provider against the sim, with its credential.
static gl_provider_query_t
s_query (gl_provider_t provider, gl_timeframe_t timeframe, int64_t from, int64_t to)
{
    static const char *keys [] = { NULL, "pk-alpha", NULL, "tk-alpha", "fk-alpha", "AKID" };
    gl_provider_query_t query = {
        .provider = provider, .base_url = gl_simclient_url (s_sim, gl_capability_name (provider)),
        .key = keys [provider], .secret = "SECRET", .symbol = "MSFT", .timeframe = timeframe,
        .from = from, .to = to, .calendar = s_calendar, .now = s_date (2030, 1, 1),
    };
    return query;
}

//  The fetched pages of one range.
typedef struct {
    gl_bar_t *bars;
    size_t count;
    size_t pages;
    size_t nulls;
    gl_provider_error_t error;
    char message [256];
} s_fetch_t;

//  Fetches every page of the query into fetch; returns 0, or -1 if a
//  request could not be built or sent.
static int
s_fetch (gl_provider_query_t query, s_fetch_t *fetch)
{
    memset (fetch, 0, sizeof *fetch);
    char *continuation = NULL;
    int rc = 0;
    do {
        query.continuation = continuation;
        char error [256];
        gl_provider_request_t *request = gl_provider_request_new (&query, error);
        if (!request) {
            fprintf (stderr, "request refused: %s\n", error);
            rc = -1;
            break;
        }
        gl_simclient_reply_t reply;
        gl_simclient_request ("GET", "", request->url, (const char *const *) request->headers,
                              10000, &reply);
        gl_provider_request_destroy (&request);
        gl_provider_result_t *result = gl_provider_parse (&query, reply.status, reply.headers,
                                                          reply.body, reply.size);
        gl_simclient_reply_free (&reply);
        if (!result) {
            rc = -1;
            break;
        }
        fetch->pages++;
        fetch->error = result->error;
        snprintf (fetch->message, sizeof fetch->message, "%s", result->message);
        fetch->nulls += result->dropped [GL_PROVIDER_DROP_NULL];
        GL_CHECK_INT (gl_provider_result_dropped (result), result->dropped [GL_PROVIDER_DROP_NULL]);
        gl_bar_t *bars = result->bar_count == 0? NULL: realloc (fetch->bars, (fetch->count + result->bar_count + 1) * sizeof (gl_bar_t));
        if (bars && result->bar_count > 0) {
            fetch->bars = bars;
            memcpy (bars + fetch->count, result->bars, result->bar_count * sizeof (gl_bar_t));
            fetch->count += result->bar_count;
        }
        free (continuation);
        continuation = result->continuation;
        result->continuation = NULL;
        gl_provider_result_destroy (&result);
    } while (continuation && fetch->pages < 1000);
    free (continuation);
    return rc;
}

//  Whole cents of a price.
static int64_t
s_cents (double price)
{
    return llround (price * 100);
}

//  Fetches a range and compares it with the generated bars; Yahoo's
//  nulled bars are expected dropped.
//  Returns how many bars were fetched; the calendar's grid is the one in
//  force, and a provider that does not serve it is skipped (returns 0).
static size_t
s_round_trip_on (gl_calendar_t *calendar, gl_adjustment_t adjustment, gl_provider_t provider,
                 gl_timeframe_t timeframe, int64_t from, int64_t to, uint32_t page_limit,
                 size_t minimum_pages)
{
    if (!gl_capability_serves (provider, timeframe, gl_calendar_grid (calendar, timeframe),
                               adjustment))
        return 0;
    gl_provider_query_t query = s_query (provider, timeframe, from, to);
    query.calendar = calendar;
    query.adjustment = adjustment;
    query.page_limit = page_limit;
    s_fetch_t fetch;
    GL_CHECK (s_fetch (query, &fetch) == 0);
    gl_simbar_t *expected = NULL;
    size_t expected_count = 0;
    GL_CHECK (gl_simbars_generate (calendar, "MSFT", timeframe, from, to,
                                   &expected, &expected_count) == 0);
    size_t index = 0, nulls = 0, mismatches = 0;
    for (size_t bar = 0; bar < expected_count; bar++) {
        const gl_simbar_t *want = &expected [bar];
        if (provider == GL_PROVIDER_YAHOO
        &&  gl_simbars_chance ("MSFT", timeframe, want->start, GL_SIMBARS_SALT_YAHOO_NULL) < S_NULL_RATE) {
            nulls++;
            continue;
        }
        const gl_bar_t *got = index < fetch.count? &fetch.bars [index++]: NULL;
        bool same = got && got->ts == want->start && s_cents (got->open) == want->open
                 && s_cents (got->high) == want->high && s_cents (got->low) == want->low
                 && s_cents (got->close) == want->close && llround (got->volume) == want->volume
                 && (!got->has_vwap || s_cents (got->vwap) == want->vwap)
                 && (!got->has_trades || (int64_t) got->trades == want->trades)
                 && !got->provisional;
        if (!same && mismatches++ < 3)
            fprintf (stderr, "%s %s bar %zu: expected start %lld, got %lld\n",
                     gl_capability_name (provider), gl_timeframe_name (timeframe), bar,
                     (long long) want->start, got? (long long) got->ts: -1LL);
    }
    if (fetch.count != index || mismatches || fetch.nulls != nulls || fetch.pages < minimum_pages)
        fprintf (stderr, "%s %s: %zu bars in %zu pages (%s %s), expected %zu in %zu+ pages,"
                 " %zu nulls (got %zu)\n", gl_capability_name (provider),
                 gl_timeframe_name (timeframe), fetch.count, fetch.pages,
                 gl_provider_error_name (fetch.error), fetch.message, expected_count - nulls,
                 minimum_pages, nulls, fetch.nulls);
    GL_CHECK (expected_count > 0);
    GL_CHECK_INT (fetch.error, GL_PROVIDER_OK);
    GL_CHECK_INT (fetch.count, index);
    GL_CHECK_INT (mismatches, 0);
    GL_CHECK_INT (fetch.nulls, nulls);
    GL_CHECK (fetch.pages >= minimum_pages);
    free (expected);
    free (fetch.bars);
    return fetch.count;
}

//  A round trip on the default grids, in the default basis or, where the
//  provider serves only raw bars (Tradier timesales, Finnhub intraday), raw.
static void
s_round_trip (gl_provider_t provider, gl_timeframe_t timeframe, int64_t from, int64_t to,
              uint32_t page_limit, size_t minimum_pages)
{
    gl_adjustment_t adjustment = gl_capability_adjustment (provider, timeframe,
                                                           GL_ADJUSTMENT_DEFAULT);
    s_round_trip_on (s_calendar, adjustment, provider, timeframe, from, to,
                     page_limit, minimum_pages);
}

//  1h for March 2024 (to Good Friday) from every provider, on each grid: the sim stamps
//  Polygon, Alpaca and Finnhub hours on the clock and Yahoo's from the
//  open, so a provider serves the grid it stamps (every bar, none off
//  the grid) and is refused for the other one before any request is
//  sent. Prints the bars stored per provider against those expected.
//  Finnhub's intraday bars are raw, so it is not routed for the default
//  split-adjusted basis; its grid is checked asking for raw bars.
static void
test_hourly_grids (void)
{
    //  Four weeks (Finnhub's span is 30 days): 20 sessions, Good Friday after.
    int64_t from = s_date (2024, 3, 1), to = s_date (2024, 3, 29);
    gl_calendar_t *calendars [] = { s_calendar, s_session };
    for (size_t index = 0; index < 2; index++) {
        gl_calendar_t *calendar = calendars [index];
        gl_grid_t grid = gl_calendar_grid (calendar, GL_TF_1H);
        int64_t expected = gl_calendar_count_bars (calendar, GL_TF_1H, from, to);
        GL_CHECK_INT (expected, 20 * 7);
        for (int provider = 1; provider <= GL_PROVIDER_COUNT; provider++) {
            bool serves = provider == GL_PROVIDER_YAHOO? grid == GL_GRID_SESSION
                        : provider != GL_PROVIDER_TRADIER && grid == GL_GRID_CLOCK;
            gl_adjustment_t adjustment = provider == GL_PROVIDER_FINNHUB? GL_ADJUSTMENT_RAW
                                                                        : GL_ADJUSTMENT_DEFAULT;
            gl_provider_query_t query = s_query ((gl_provider_t) provider, GL_TF_1H, from, to);
            query.calendar = calendar;
            query.adjustment = adjustment;
            char error [256] = "";
            gl_provider_request_t *request = gl_provider_request_new (&query, error);
            GL_CHECK ((request != NULL) == serves);
            gl_provider_request_destroy (&request);
            size_t stored = s_round_trip_on (calendar, adjustment, (gl_provider_t) provider,
                                             GL_TF_1H, from, to, 0, 1);
            fprintf (stderr, "hourly grid=%s adjustment=%s provider=%s stored=%zu"
                     " expected=%lld%s%s\n", gl_calendar_grid_name (grid),
                     gl_capability_adjustment_name (adjustment),
                     gl_capability_name ((gl_provider_t) provider),
                     stored, serves? (long long) expected: 0LL,
                     serves? "": " refused=", serves? "": error);
            if (serves && provider != GL_PROVIDER_YAHOO)
                GL_CHECK_INT (stored, expected);
        }
    }
}

//  Every provider, every timeframe it serves, across DST changes,
//  holidays and an early close; small pages where the provider pages.
static void
test_round_trips (void)
{
    for (int provider = 1; provider <= GL_PROVIDER_COUNT; provider++) {
        bool pages = provider == GL_PROVIDER_POLYGON || provider == GL_PROVIDER_ALPACA;
        //  Friday, the DST weekend, Monday and Tuesday.
        s_round_trip (provider, GL_TF_1M, s_date (2024, 3, 8), s_date (2024, 3, 13),
                      pages? 500: 0, pages? 3: 1);
        s_round_trip (provider, GL_TF_5M, s_date (2024, 11, 1), s_date (2024, 11, 6), 0, 1);
        //  Thanksgiving, and the early close the day after.
        s_round_trip (provider, GL_TF_15M, s_date (2023, 11, 20), s_date (2023, 11, 28), 0, 1);
        s_round_trip (provider, GL_TF_30M, s_date (2024, 6, 17), s_date (2024, 6, 22), 0, 1);
        s_round_trip (provider, GL_TF_1H, s_date (2024, 3, 1), s_date (2024, 3, 31), 0, 1);
        s_round_trip (provider, GL_TF_4H, s_date (2024, 3, 1), s_date (2024, 3, 31), 0, 1);
        s_round_trip (provider, GL_TF_1D, s_date (2023, 1, 1), s_date (2025, 1, 1),
                      pages? 100: 0, pages? 5: 1);
        s_round_trip (provider, GL_TF_1W, s_date (2023, 1, 1), s_date (2025, 1, 1), 0, 1);
    }
}

//  The daily closes of SPLT around its 4:1 split on 2024-06-10 from a
//  provider asked for a basis: the week before and the week of the split.
static void
s_split_closes (gl_provider_t provider, gl_adjustment_t adjustment, int64_t *closes,
                size_t size, size_t *count)
{
    gl_provider_query_t query = s_query (provider, GL_TF_1D, s_date (2024, 6, 3),
                                         s_date (2024, 6, 15));
    query.symbol = "SPLT";
    query.adjustment = adjustment;
    s_fetch_t fetch;
    GL_CHECK (s_fetch (query, &fetch) == 0);
    GL_CHECK_INT (fetch.error, GL_PROVIDER_OK);
    *count = 0;
    for (size_t index = 0; index < fetch.count && index < size; index++)
        closes [(*count)++] = s_cents (fetch.bars [index].close);
    free (fetch.bars);
}

//  A configured split: asked for split-adjusted bars, Polygon and Alpaca
//  serve the continuous series the sim generates; asked for raw bars,
//  the closes before the split date are four times as high and those
//  from it on the same, so raw prices jump at the split and adjusted ones
//  do not. Either way the fetcher gets the basis it asked for.
static void
test_split (void)
{
    gl_simbar_t *expected = NULL;
    size_t expected_count = 0;
    GL_CHECK (gl_simbars_generate (s_calendar, "SPLT", GL_TF_1D, s_date (2024, 6, 3),
                                   s_date (2024, 6, 15), &expected, &expected_count) == 0);
    GL_CHECK_INT (expected_count, 10);
    gl_provider_t providers [] = { GL_PROVIDER_POLYGON, GL_PROVIDER_ALPACA };
    for (size_t which = 0; which < 2 && expected_count == 10; which++) {
        int64_t adjusted [16], raw [16];
        size_t adjusted_count = 0, raw_count = 0;
        s_split_closes (providers [which], GL_ADJUSTMENT_SPLIT, adjusted, 16, &adjusted_count);
        s_split_closes (providers [which], GL_ADJUSTMENT_RAW, raw, 16, &raw_count);
        GL_CHECK_INT (adjusted_count, 10);
        GL_CHECK_INT (raw_count, 10);
        for (size_t index = 0; index < 10 && adjusted_count == 10 && raw_count == 10; index++) {
            bool before = expected [index].start < s_date (2024, 6, 10);
            GL_CHECK_INT (adjusted [index], expected [index].close);
            GL_CHECK_INT (raw [index], before? 4 * expected [index].close: expected [index].close);
        }
    }
    free (expected);
}

//  A weekend is each provider's empty answer: no_data, no bars.
static void
test_empty_weekend (void)
{
    for (int provider = 1; provider <= GL_PROVIDER_COUNT; provider++) {
        gl_provider_query_t query = s_query ((gl_provider_t) provider, GL_TF_1D,
                                             s_date (2024, 3, 9), s_date (2024, 3, 11));
        s_fetch_t fetch;
        GL_CHECK (s_fetch (query, &fetch) == 0);
        GL_CHECK_STR (gl_provider_error_name (fetch.error), "no_data");
        GL_CHECK_INT (fetch.count, 0);
        free (fetch.bars);
    }
}

//  A key the sim does not know is auth, not retryable.
static void
test_unknown_key (void)
{
    for (int provider = 1; provider <= GL_PROVIDER_COUNT; provider++) {
        if (provider == GL_PROVIDER_YAHOO)
            continue;
        gl_provider_query_t query = s_query ((gl_provider_t) provider, GL_TF_1D,
                                             s_date (2024, 3, 4), s_date (2024, 3, 9));
        query.key = "wrong";
        s_fetch_t fetch;
        GL_CHECK (s_fetch (query, &fetch) == 0);
        GL_CHECK_STR (gl_provider_error_name (fetch.error), "auth");
        GL_CHECK_INT (fetch.count, 0);
        free (fetch.bars);
    }
}

int
main (void)
{
    s_calendar = gl_calendar_new (GL_CALENDAR_XNYS);
    s_session = gl_calendar_new (GL_CALENDAR_XNYS);
    s_sim = gl_simclient_new (s_config, NULL);
    GL_CHECK (s_calendar && s_session && s_sim);
    if (s_calendar && s_session && s_sim
    &&  gl_calendar_set_grids (s_session, "1h=session,4h=session") == 0) {
        test_round_trips ();
        test_hourly_grids ();
        test_split ();
        test_empty_weekend ();
        test_unknown_key ();
    }
    gl_simclient_destroy (&s_sim);
    gl_calendar_destroy (&s_calendar);
    gl_calendar_destroy (&s_session);
    return gl_test_done ("test_provider_sim");
}
