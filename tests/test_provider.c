/*  test_provider — the provider adapters on every fixture of
    tests/fixtures/providers and on each of the 25 edge cases of
    PROVIDERS.md (named edge_NN below): requests built per
    provider, bars normalised to the calendar convention, drops counted by
    reason, continuations, error classes with retry hints, and bodies that
    are not JSON at all.
*/
#include "gl_provider.h"
#include "gl_test.h"
#include <math.h>
#include <stdlib.h>
#include <time.h>

static gl_calendar_t *s_xnys;
static gl_calendar_t *s_xnys_session;     //  1h and 4h on the session grid
static gl_calendar_t *s_crypto;

//  UTC midnight of a civil date.
static int64_t
s_date (int year, int month, int day)
{
    struct tm civil = { .tm_year = year - 1900, .tm_mon = month - 1, .tm_mday = day };
    return (int64_t) timegm (&civil);
}

//  A query over [from, to) on XNYS, now far in the future of the bars.
static gl_provider_query_t
s_query (gl_provider_t provider, gl_timeframe_t timeframe, int64_t from, int64_t to)
{
    gl_provider_query_t query = {
        .provider = provider, .base_url = "https://example.test", .key = "KEY",
        .secret = "SECRET", .symbol = "AAPL", .timeframe = timeframe, .from = from, .to = to,
        .calendar = s_xnys, .now = s_date (2030, 1, 1),
    };
    return query;
}

//  Parses a body given as a string.
static gl_provider_result_t *
s_parse_text (const gl_provider_query_t *query, long status, const char *headers,
              const char *body)
{
    gl_provider_result_t *result = gl_provider_parse (query, status, headers, body, strlen (body));
    GL_CHECK (result != NULL);
    return result;
}

//  Parses a fixture file's body.
static gl_provider_result_t *
s_parse_fixture (const gl_provider_query_t *query, long status, const char *name)
{
    char path [512];
    snprintf (path, sizeof path, "%s/providers/%s", getenv ("GL_FIXTURES_DIR"), name);
    FILE *file = fopen (path, "rb");
    GL_CHECK (file != NULL);
    if (!file)
        return NULL;
    static char body [65536];
    size_t size = fread (body, 1, sizeof body, file);
    fclose (file);
    gl_provider_result_t *result = gl_provider_parse (query, status, NULL, body, size);
    GL_CHECK (result != NULL);
    return result;
}

//  The index-th bar, or a bar no check matches when there are fewer.
static const gl_bar_t *
s_bar (const gl_provider_result_t *result, size_t index)
{
    static const gl_bar_t none = { .ts = -1 };
    return index < result->bar_count? &result->bars [index]: &none;
}

//  Checks a bar's start and prices (to a thousandth of a cent) and volume.
static void
s_check_bar (const gl_bar_t *bar, int64_t ts, double open, double high, double low,
             double close, double volume)
{
    GL_CHECK_INT (bar->ts, ts);
    GL_CHECK (fabs (bar->open - open) < 1e-5);
    GL_CHECK (fabs (bar->high - high) < 1e-5);
    GL_CHECK (fabs (bar->low - low) < 1e-5);
    GL_CHECK (fabs (bar->close - close) < 1e-5);
    GL_CHECK (fabs (bar->volume - volume) < 1e-3);
}

//  Checks a failure's class, retry flag and a piece of its message.
static void
s_check_error (gl_provider_result_t *result, gl_provider_error_t error, bool retryable,
               const char *part)
{
    GL_CHECK_STR (gl_provider_error_name (result->error), gl_provider_error_name (error));
    GL_CHECK_INT (result->retryable, retryable);
    GL_CHECK_INT (result->bar_count, 0);
    GL_CHECK (result->continuation == NULL);
    if (part && !strstr (result->message, part)) {
        fprintf (stderr, "message \"%s\" lacks \"%s\"\n", result->message, part);
        GL_CHECK (false);
    }
}

//  Names, timeframes served and span limits.
static void
test_names_and_limits (void)
{
    GL_CHECK_INT (gl_capability_parse_name ("tradier"), GL_PROVIDER_TRADIER);
    GL_CHECK_INT (gl_capability_parse_name ("bloomberg"), GL_PROVIDER_INVALID);
    GL_CHECK_INT (gl_capability_parse_name (NULL), GL_PROVIDER_INVALID);
    GL_CHECK_STR (gl_capability_name (GL_PROVIDER_ALPACA), "alpaca");
    GL_CHECK_STR (gl_capability_name (GL_PROVIDER_INVALID), "invalid");
    GL_CHECK_STR (gl_provider_error_name (GL_PROVIDER_PARSE_ERROR), "parse_error");
    GL_CHECK_STR (gl_provider_drop_name (GL_PROVIDER_DROP_OFF_GRID), "off_grid");
    GL_CHECK (gl_capability_supports (GL_PROVIDER_POLYGON, GL_TF_4H));
    GL_CHECK (!gl_capability_supports (GL_PROVIDER_YAHOO, GL_TF_4H));
    GL_CHECK (!gl_capability_supports (GL_PROVIDER_FINNHUB, GL_TF_4H));
    GL_CHECK (!gl_capability_supports (GL_PROVIDER_TRADIER, GL_TF_1H));
    GL_CHECK (gl_capability_supports (GL_PROVIDER_TRADIER, GL_TF_1W));
    GL_CHECK (!gl_capability_supports (GL_PROVIDER_ALPACA, GL_TF_INVALID));
    GL_CHECK_INT (gl_capability_max_span (GL_PROVIDER_YAHOO, GL_TF_1M), 7 * 86400);
    GL_CHECK_INT (gl_capability_max_span (GL_PROVIDER_YAHOO, GL_TF_1D), 0);
    GL_CHECK_INT (gl_capability_max_span (GL_PROVIDER_FINNHUB, GL_TF_1H), 30 * 86400);
    GL_CHECK_INT (gl_capability_max_span (GL_PROVIDER_FINNHUB, GL_TF_1D), 0);
    GL_CHECK_INT (gl_capability_max_span (GL_PROVIDER_POLYGON, GL_TF_1M), 0);
}

//  Builds a request and checks URL, redacted URL and headers.
static void
s_check_request (const gl_provider_query_t *query, const char *url, const char *redacted,
                 const char *const *headers)
{
    char error [256] = "";
    gl_provider_request_t *request = gl_provider_request_new (query, error);
    GL_CHECK (request != NULL);
    if (!request) {
        fprintf (stderr, "request refused: %s\n", error);
        return;
    }
    GL_CHECK_STR (request->url, url);
    GL_CHECK_STR (request->redacted_url, redacted);
    size_t count = 0;
    for (; headers [count]; count++)
        GL_CHECK_STR (request->headers [count], headers [count]);
    GL_CHECK_INT (request->header_count, count);
    GL_CHECK (request->headers [count] == NULL);
    gl_provider_request_destroy (&request);
    gl_provider_request_destroy (&request);
    GL_CHECK (request == NULL);
}

//  Each provider's URL, credentials and headers.
static void
test_requests (void)
{
    int64_t monday = s_date (2024, 3, 11);
    gl_provider_query_t query = s_query (GL_PROVIDER_POLYGON, GL_TF_5M, monday, monday + 86400);
    query.symbol = "BRK.B";
    s_check_request (&query,
        "https://example.test/v2/aggs/ticker/BRK.B/range/5/minute/1710115200000/1710201599999"
        "?adjusted=true&sort=asc&limit=50000&apiKey=KEY",
        "https://example.test/v2/aggs/ticker/BRK.B/range/5/minute/1710115200000/1710201599999"
        "?adjusted=true&sort=asc&limit=50000&apiKey=REDACTED",
        (const char *[]) { "Accept: application/json", NULL });
    //  Yahoo's hours start at the session open: asked for on the session grid.
    query = s_query (GL_PROVIDER_YAHOO, GL_TF_1H, monday, monday + 86400);
    query.calendar = s_xnys_session;
    query.symbol = "^GSPC";
    s_check_request (&query,
        "https://example.test/v8/finance/chart/%5EGSPC?period1=1710115200&period2=1710201600"
        "&interval=60m&includePrePost=false",
        "https://example.test/v8/finance/chart/%5EGSPC?period1=1710115200&period2=1710201600"
        "&interval=60m&includePrePost=false",
        (const char *[]) { "User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 "
                           "(KHTML, like Gecko) Chrome/124.0 Safari/537.36",
                           "Accept: application/json", NULL });
    //  Timesales in New York time: 2024-03-11 is EDT, 09:30 .. 15:59 inclusive.
    //  Its prices are raw, so only a raw query is sent.
    query = s_query (GL_PROVIDER_TRADIER, GL_TF_1M, monday + 13 * 3600 + 1800, monday + 20 * 3600);
    query.adjustment = GL_ADJUSTMENT_RAW;
    s_check_request (&query,
        "https://example.test/v1/markets/timesales?symbol=AAPL&interval=1min"
        "&start=2024-03-11%2009%3A30&end=2024-03-11%2015%3A59&session_filter=open",
        "https://example.test/v1/markets/timesales?symbol=AAPL&interval=1min"
        "&start=2024-03-11%2009%3A30&end=2024-03-11%2015%3A59&session_filter=open",
        (const char *[]) { "Authorization: Bearer KEY", "Accept: application/json", NULL });
    query = s_query (GL_PROVIDER_TRADIER, GL_TF_1D, s_date (2018, 1, 1), s_date (2018, 3, 1));
    s_check_request (&query,
        "https://example.test/v1/markets/history?symbol=AAPL&interval=daily"
        "&start=2018-01-01&end=2018-02-28",
        "https://example.test/v1/markets/history?symbol=AAPL&interval=daily"
        "&start=2018-01-01&end=2018-02-28",
        (const char *[]) { "Authorization: Bearer KEY", "Accept: application/json", NULL });
    query = s_query (GL_PROVIDER_FINNHUB, GL_TF_1D, s_date (2019, 9, 1), s_date (2019, 10, 1));
    s_check_request (&query,
        "https://example.test/api/v1/stock/candle?symbol=AAPL&resolution=D"
        "&from=1567296000&to=1569887999",
        "https://example.test/api/v1/stock/candle?symbol=AAPL&resolution=D"
        "&from=1567296000&to=1569887999",
        (const char *[]) { "X-Finnhub-Token: KEY", "Accept: application/json", NULL });
    //  Every provider is asked for the one basis gapless stores: Polygon
    //  adjusted=true (split-adjusted) by default, adjusted=false for raw;
    //  Alpaca, raw by default, adjustment=split or adjustment=raw.
    query = s_query (GL_PROVIDER_POLYGON, GL_TF_1D, monday, monday + 86400);
    query.adjustment = GL_ADJUSTMENT_RAW;
    s_check_request (&query,
        "https://example.test/v2/aggs/ticker/AAPL/range/1/day/1710115200000/1710201599999"
        "?adjusted=false&sort=asc&limit=50000&apiKey=KEY",
        "https://example.test/v2/aggs/ticker/AAPL/range/1/day/1710115200000/1710201599999"
        "?adjusted=false&sort=asc&limit=50000&apiKey=REDACTED",
        (const char *[]) { "Accept: application/json", NULL });
    query = s_query (GL_PROVIDER_ALPACA, GL_TF_1M, monday, monday + 86400);
    query.adjustment = GL_ADJUSTMENT_RAW;
    s_check_request (&query,
        "https://example.test/v2/stocks/AAPL/bars?timeframe=1Min&start=2024-03-11T00:00:00Z"
        "&end=2024-03-11T23:59:59Z&limit=10000&adjustment=raw",
        "https://example.test/v2/stocks/AAPL/bars?timeframe=1Min&start=2024-03-11T00:00:00Z"
        "&end=2024-03-11T23:59:59Z&limit=10000&adjustment=raw",
        (const char *[]) { "APCA-API-KEY-ID: KEY", "APCA-API-SECRET-KEY: SECRET",
                           "Accept: application/json", NULL });
    query = s_query (GL_PROVIDER_ALPACA, GL_TF_1D, s_date (2022, 2, 1), s_date (2022, 3, 1));
    query.page_limit = 2;
    query.continuation = "QUFQTHxEfDIwMjItMDItMDJUMDU6MDA6MDAuMDAwMDAwMDAwWg==";
    s_check_request (&query,
        "https://example.test/v2/stocks/AAPL/bars?timeframe=1Day&start=2022-02-01T00:00:00Z"
        "&end=2022-02-28T23:59:59Z&limit=2&adjustment=split"
        "&page_token=QUFQTHxEfDIwMjItMDItMDJUMDU6MDA6MDAuMDAwMDAwMDAwWg%3D%3D",
        "https://example.test/v2/stocks/AAPL/bars?timeframe=1Day&start=2022-02-01T00:00:00Z"
        "&end=2022-02-28T23:59:59Z&limit=2&adjustment=split"
        "&page_token=QUFQTHxEfDIwMjItMDItMDJUMDU6MDA6MDAuMDAwMDAwMDAwWg%3D%3D",
        (const char *[]) { "APCA-API-KEY-ID: KEY", "APCA-API-SECRET-KEY: SECRET",
                           "Accept: application/json", NULL });
}

//  Requests refused before anything is sent.
static void
test_request_refusals (void)
{
    char error [256];
    int64_t day = s_date (2024, 3, 11);
    gl_provider_query_t query = s_query (GL_PROVIDER_TRADIER, GL_TF_1H, day, day + 86400);
    GL_CHECK (gl_provider_request_new (&query, error) == NULL);
    GL_CHECK (strstr (error, "does not serve timeframe 1h") != NULL);
    query = s_query (GL_PROVIDER_YAHOO, GL_TF_1M, day, day + 8 * 86400);
    GL_CHECK (gl_provider_request_new (&query, error) == NULL);
    GL_CHECK (strstr (error, "split the range") != NULL);
    query = s_query (GL_PROVIDER_POLYGON, GL_TF_1D, day, day);
    GL_CHECK (gl_provider_request_new (&query, error) == NULL);
    GL_CHECK (strstr (error, "from < to") != NULL);
    query = s_query (GL_PROVIDER_ALPACA, GL_TF_1D, day, day + 86400);
    query.secret = NULL;
    GL_CHECK (gl_provider_request_new (&query, error) == NULL);
    GL_CHECK (strstr (error, "secret") != NULL);
    query = s_query (GL_PROVIDER_POLYGON, GL_TF_1D, day, day + 86400);
    query.key = "";
    GL_CHECK (gl_provider_request_new (&query, error) == NULL);
    GL_CHECK (strstr (error, "API key") != NULL);
    query = s_query (GL_PROVIDER_INVALID, GL_TF_1D, day, day + 86400);
    GL_CHECK (gl_provider_request_new (&query, error) == NULL);
    GL_CHECK (strstr (error, "expected a provider") != NULL);
}

//  Times a provider cannot serve are refused before any URL is built: no
//  signed overflow (Polygon multiplies by 1000, every span is to - from)
//  on a range the codec lets through.
static void
test_request_time_bounds (void)
{
    char error [256];
    static const struct { int64_t from, to; } ranges [] = {
        { 0, INT64_MAX }, { INT64_MIN, 0 }, { INT64_MIN, INT64_MAX },
        { INT64_MAX / 1000, INT64_MAX / 1000 + 86400 }, { -86400, 86400 },
        { 4102444800, 4102444800 + 86400 },
    };
    gl_provider_t providers [] = { GL_PROVIDER_POLYGON, GL_PROVIDER_YAHOO, GL_PROVIDER_TRADIER,
                                   GL_PROVIDER_FINNHUB, GL_PROVIDER_ALPACA };
    for (size_t provider = 0; provider < sizeof (providers) / sizeof (providers [0]); provider++)
        for (size_t index = 0; index < sizeof (ranges) / sizeof (ranges [0]); index++) {
            gl_provider_query_t query = s_query (providers [provider], GL_TF_1D,
                                                 ranges [index].from, ranges [index].to);
            GL_CHECK (gl_provider_request_new (&query, error) == NULL);
            GL_CHECK (strstr (error, "expected times in [0, 4102444800]") != NULL);
        }
    gl_provider_query_t query = s_query (GL_PROVIDER_POLYGON, GL_TF_1D, 4102444800 - 86400,
                                         4102444800);
    gl_provider_request_t *request = gl_provider_request_new (&query, error);
    GL_CHECK (request && strstr (request->url, "/4102358400000/4102444799999?") != NULL);
    gl_provider_request_destroy (&request);
}

//  Tradier's XML answer (what it sends when Accept lacks json) is a
//  contract error for the request, not retryable; so is XML said only by
//  Content-Type. Broken JSON at 200 stays a retryable parse error.
static void
test_tradier_xml_contract (void)
{
    int64_t day = s_date (2024, 3, 11);
    gl_provider_query_t query = s_query (GL_PROVIDER_TRADIER, GL_TF_1D, day, day + 7 * 86400);
    gl_provider_result_t *result = s_parse_text (&query, 200,
        "HTTP/1.1 200 OK\r\nContent-Type: application/xml\r\n\r\n",
        "  <?xml version=\"1.0\" encoding=\"UTF-8\"?><history><day><date>2024-03-11</date>"
        "<open>1.0</open></day></history>");
    GL_CHECK_INT (result->error, GL_PROVIDER_PARSE_ERROR);
    GL_CHECK (!result->retryable);
    GL_CHECK (strstr (result->message, "answered XML, not JSON") != NULL);
    GL_CHECK_INT (result->bar_count, 0);
    gl_provider_result_destroy (&result);
    result = s_parse_text (&query, 200, "HTTP/1.1 200 OK\r\ncontent-type: text/xml; "
                           "charset=utf-8\r\n\r\n", "<history/>");
    GL_CHECK_INT (result->error, GL_PROVIDER_PARSE_ERROR);
    GL_CHECK (!result->retryable);
    gl_provider_result_destroy (&result);
    result = s_parse_text (&query, 200, NULL, "{\"history\":{\"day\":[");
    GL_CHECK_INT (result->error, GL_PROVIDER_PARSE_ERROR);
    GL_CHECK (result->retryable);
    gl_provider_result_destroy (&result);
}

//  client-go fixture: one daily bar stamped 04:00Z (EDT midnight).
static void
test_polygon_day_fixture (void)
{
    gl_provider_query_t query = s_query (GL_PROVIDER_POLYGON, GL_TF_1D,
                                         s_date (2021, 7, 1), s_date (2021, 8, 1));
    gl_provider_result_t *result = s_parse_fixture (&query, 200, "polygon-aggs-day-client-go-fixture.json");
    GL_CHECK_INT (result->error, GL_PROVIDER_OK);
    GL_CHECK_INT (result->bar_count, 1);
    GL_CHECK_INT (result->received, 1);
    s_check_bar (s_bar (result, 0), s_date (2021, 7, 22), 145.935, 148.195, 145.81, 146.8, 77287356);
    GL_CHECK (s_bar (result, 0)->has_vwap && fabs (s_bar (result, 0)->vwap - 146.991) < 1e-9);
    GL_CHECK (s_bar (result, 0)->has_trades && s_bar (result, 0)->trades == 480209);
    GL_CHECK (!s_bar (result, 0)->provisional);
    GL_CHECK (result->continuation == NULL);
    GL_CHECK (!result->limit.known);
    gl_provider_result_destroy (&result);
    gl_provider_result_destroy (&result);
    GL_CHECK (result == NULL);
}

//  edge_02: next_url followed with the key re-added; the end is its absence.
static void
test_edge_02_polygon_next_url (void)
{
    gl_provider_query_t query = s_query (GL_PROVIDER_POLYGON, GL_TF_1D,
                                         s_date (2020, 1, 1), s_date (2020, 1, 11));
    query.base_url = "https://api.polygon.io";
    gl_provider_result_t *result = s_parse_fixture (&query, 200, "polygon-aggs-docs-sample-next_url.json");
    GL_CHECK_INT (result->error, GL_PROVIDER_OK);
    GL_CHECK_INT (result->bar_count, 2);
    s_check_bar (s_bar (result, 0), s_date (2020, 1, 2), 74.06, 75.15, 73.7975, 75.0875, 135647456);
    s_check_bar (s_bar (result, 1), s_date (2020, 1, 3), 74.2875, 75.145, 74.125, 74.3575, 146535512);
    GL_CHECK_STR (result->continuation, "https://api.polygon.io/v2/aggs/ticker/AAPL/range/1/day/"
                  "1578114000000/2020-01-10?cursor=bGltaXQ9MiZzb3J0PWFzYw");
    query.continuation = result->continuation;
    char error [256];
    gl_provider_request_t *request = gl_provider_request_new (&query, error);
    GL_CHECK (request != NULL);
    if (request) {
        GL_CHECK_STR (request->url, "https://api.polygon.io/v2/aggs/ticker/AAPL/range/1/day/"
                      "1578114000000/2020-01-10?cursor=bGltaXQ9MiZzb3J0PWFzYw&apiKey=KEY");
        GL_CHECK (strstr (request->redacted_url, "apiKey=REDACTED") != NULL);
    }
    gl_provider_request_destroy (&request);
    //  A next_url on another host never gets the key.
    query.base_url = "https://api.massive.com";
    GL_CHECK (gl_provider_request_new (&query, error) == NULL);
    GL_CHECK (strstr (error, "must start with the base URL") != NULL);
    gl_provider_result_destroy (&result);
    const char *last_page = "{\"status\":\"OK\",\"resultsCount\":1,\"results\":[{\"t\":1578373200000,"
                            "\"o\":1,\"h\":2,\"l\":0.5,\"c\":1.5,\"v\":10}]}";
    result = s_parse_text (&query, 200, NULL, last_page);
    GL_CHECK_INT (result->bar_count, 1);
    GL_CHECK_INT (s_bar (result, 0)->ts, s_date (2020, 1, 7));
    GL_CHECK (result->continuation == NULL);
    gl_provider_result_destroy (&result);
}

//  edge_01: no results key, and "results":null, are the empty answer.
static void
test_edge_01_polygon_empty (void)
{
    gl_provider_query_t query = s_query (GL_PROVIDER_POLYGON, GL_TF_1D,
                                         s_date (2020, 1, 1), s_date (2020, 1, 2));
    gl_provider_result_t *result = s_parse_fixture (&query, 200, "polygon-aggs-empty-results-null-2020.json");
    s_check_error (result, GL_PROVIDER_NO_DATA, false, "no results");
    gl_provider_result_destroy (&result);
    result = s_parse_text (&query, 200, NULL, "{\"ticker\":\"AAPL\",\"queryCount\":0,"
                           "\"resultsCount\":0,\"adjusted\":true,\"status\":\"OK\"}");
    s_check_error (result, GL_PROVIDER_NO_DATA, false, "no results");
    gl_provider_result_destroy (&result);
}

//  edge_03: v as a float, adjusted as 1, no n/vw/otc.
static void
test_edge_03_polygon_loose_fields (void)
{
    gl_provider_query_t query = s_query (GL_PROVIDER_POLYGON, GL_TF_1D,
                                         s_date (2021, 3, 1), s_date (2021, 3, 6));
    gl_provider_result_t *result = s_parse_text (&query, 200, NULL,
        "{\"adjusted\":1,\"status\":\"OK\",\"results\":[{\"t\":1614578400000,\"o\":127.5,"
        "\"h\":128.1,\"l\":126.9,\"c\":127.8,\"v\":1.12117471e+08}]}");
    GL_CHECK_INT (result->error, GL_PROVIDER_OK);
    GL_CHECK_INT (result->bar_count, 1);
    s_check_bar (s_bar (result, 0), s_date (2021, 3, 1), 127.5, 128.1, 126.9, 127.8, 112117471);
    GL_CHECK (!s_bar (result, 0)->has_vwap);
    GL_CHECK (!s_bar (result, 0)->has_trades);
    gl_provider_result_destroy (&result);
}

//  edge_04: status DELAYED is success. Polygon stamps hours on the clock
//  (04:00-19:00 EDT, extended hours included): on the clock grid, the
//  default, the seven that overlap the session (09:00-15:00 EDT, 13:00Z-
//  19:00Z) are kept and the nine extended-hours bars dropped as off_grid.
//  On the session grid (09:30 + k hours) none is usable: a parse_error,
//  not retryable, saying why; on a 24x7 calendar all are on the grid.
static void
test_edge_04_polygon_delayed (void)
{
    int64_t day = s_date (2024, 3, 25);
    gl_provider_query_t query = s_query (GL_PROVIDER_POLYGON, GL_TF_1H, day, day + 86400);
    gl_provider_result_t *result = s_parse_fixture (&query, 200,
        "polygon-aggs-hour-AAPL-2024-03-25-status-DELAYED.json");
    GL_CHECK_INT (result->error, GL_PROVIDER_OK);
    GL_CHECK_INT (result->received, 16);
    GL_CHECK_INT (result->bar_count, 7);
    GL_CHECK_INT (result->dropped [GL_PROVIDER_DROP_OFF_GRID], 9);
    for (size_t index = 0; index < result->bar_count && index < 7; index++)
        GL_CHECK_INT (result->bars [index].ts, day + (13 + (int64_t) index) * 3600);
    gl_provider_result_destroy (&result);
    query.calendar = s_xnys_session;
    result = s_parse_fixture (&query, 200, "polygon-aggs-hour-AAPL-2024-03-25-status-DELAYED.json");
    GL_CHECK_INT (result->error, GL_PROVIDER_PARSE_ERROR);
    GL_CHECK (!result->retryable);
    GL_CHECK (strstr (result->message, "provider returned 16 bars, none usable: off_grid=16")
              != NULL);
    GL_CHECK_INT (result->bar_count, 0);
    gl_provider_result_destroy (&result);
    query.calendar = s_crypto;
    result = s_parse_fixture (&query, 200, "polygon-aggs-hour-AAPL-2024-03-25-status-DELAYED.json");
    GL_CHECK_INT (result->error, GL_PROVIDER_OK);
    GL_CHECK_INT (result->bar_count, 16);
    s_check_bar (s_bar (result, 0), 1711353600, 172.2, 172.2, 172, 172.18, 12304);
    s_check_bar (s_bar (result, 15), 1711407600, 170.9, 170.98, 170.83, 170.92, 18995);
    gl_provider_result_destroy (&result);
}

//  Polygon 401 and 429 (JSON and empty), and edge_05: 403's text under message.
static void
test_edge_05_polygon_errors (void)
{
    gl_provider_query_t query = s_query (GL_PROVIDER_POLYGON, GL_TF_1D,
                                         s_date (2024, 1, 1), s_date (2024, 2, 1));
    gl_provider_result_t *result = s_parse_fixture (&query, 401, "polygon-error-401-unknown-api-key.json");
    s_check_error (result, GL_PROVIDER_AUTH, false, "Unknown API Key");
    gl_provider_result_destroy (&result);
    result = s_parse_fixture (&query, 403, "polygon-error-403-not-authorized-timeframe.json");
    s_check_error (result, GL_PROVIDER_AUTH, false, "Your plan doesn't include this data timeframe");
    gl_provider_result_destroy (&result);
    result = s_parse_fixture (&query, 429, "polygon-error-429-rate-limit.json");
    s_check_error (result, GL_PROVIDER_RATE_LIMITED, true, "exceeded the maximum requests");
    GL_CHECK_INT (result->retry_after_ms, 0);
    gl_provider_result_destroy (&result);
    result = s_parse_text (&query, 429, "HTTP/1.1 429 Too Many Requests\r\nRetry-After: 12\r\n\r\n", "");
    s_check_error (result, GL_PROVIDER_RATE_LIMITED, true, "(empty body)");
    GL_CHECK_INT (result->retry_after_ms, 12000);
    gl_provider_result_destroy (&result);
}

//  edge_06: daily stamps at 05:00Z (EST) and 04:00Z (EDT) across the March
//  and November changes map to their dates, for Polygon and Alpaca.
static void
test_edge_06_daily_dst (void)
{
    gl_provider_query_t query = s_query (GL_PROVIDER_POLYGON, GL_TF_1D,
                                         s_date (2024, 3, 1), s_date (2024, 11, 30));
    gl_provider_result_t *result = s_parse_text (&query, 200, NULL,
        "{\"status\":\"OK\",\"results\":["
        "{\"t\":1709874000000,\"o\":1,\"h\":1,\"l\":1,\"c\":1,\"v\":1},"
        "{\"t\":1710129600000,\"o\":1,\"h\":1,\"l\":1,\"c\":1,\"v\":1},"
        "{\"t\":1730433600000,\"o\":1,\"h\":1,\"l\":1,\"c\":1,\"v\":1},"
        "{\"t\":1730696400000,\"o\":1,\"h\":1,\"l\":1,\"c\":1,\"v\":1}]}");
    GL_CHECK_INT (result->bar_count, 4);
    GL_CHECK_INT (s_bar (result, 0)->ts, s_date (2024, 3, 8));
    GL_CHECK_INT (s_bar (result, 1)->ts, s_date (2024, 3, 11));
    GL_CHECK_INT (s_bar (result, 2)->ts, s_date (2024, 11, 1));
    GL_CHECK_INT (s_bar (result, 3)->ts, s_date (2024, 11, 4));
    gl_provider_result_destroy (&result);
    query.provider = GL_PROVIDER_ALPACA;
    result = s_parse_text (&query, 200, NULL,
        "{\"bars\":[{\"t\":\"2024-03-08T05:00:00Z\",\"o\":1,\"h\":1,\"l\":1,\"c\":1,\"v\":1},"
        "{\"t\":\"2024-03-11T04:00:00Z\",\"o\":1,\"h\":1,\"l\":1,\"c\":1,\"v\":1}],"
        "\"symbol\":\"AAPL\",\"next_page_token\":null}");
    GL_CHECK_INT (result->bar_count, 2);
    GL_CHECK_INT (s_bar (result, 0)->ts, s_date (2024, 3, 8));
    GL_CHECK_INT (s_bar (result, 1)->ts, s_date (2024, 3, 11));
    gl_provider_result_destroy (&result);
}

//  Yahoo daily fixture; edge_12: float32 noise rounded to priceHint.
static void
test_edge_12_yahoo_daily_rounding (void)
{
    gl_provider_query_t query = s_query (GL_PROVIDER_YAHOO, GL_TF_1D,
                                         s_date (2020, 1, 1), s_date (2020, 1, 4));
    gl_provider_result_t *result = s_parse_fixture (&query, 200,
        "yahoo-chart-AAPL-1d-2020-01-01_to_2020-01-03.json");
    GL_CHECK_INT (result->error, GL_PROVIDER_OK);
    GL_CHECK_INT (result->bar_count, 1);
    s_check_bar (s_bar (result, 0), s_date (2020, 1, 2), 74.06, 75.15, 73.80, 75.09, 135480400);
    GL_CHECK (s_bar (result, 0)->open == 74.06);
    gl_provider_result_destroy (&result);
}

//  edge_09: no timestamp and quote:[{}] is the empty answer.
static void
test_edge_09_yahoo_empty (void)
{
    int64_t day = s_date (2021, 11, 23);
    gl_provider_query_t query = s_query (GL_PROVIDER_YAHOO, GL_TF_1H, day, day + 86400);
    query.calendar = s_xnys_session;
    gl_provider_result_t *result = s_parse_fixture (&query, 200, "yahoo-chart-TSLA-1h-same-day-empty.json");
    s_check_error (result, GL_PROVIDER_NO_DATA, false, "no timestamp");
    gl_provider_result_destroy (&result);
}

//  edge_14: the 30m prepost fixture keeps the 13 regular-session bars;
//  pre/post rows and a trailing live row are off the grid, a row past
//  period2 is outside the range.
static void
test_edge_14_yahoo_prepost_and_trailing (void)
{
    int64_t day = s_date (2021, 11, 22);
    gl_provider_query_t query = s_query (GL_PROVIDER_YAHOO, GL_TF_30M, day, day + 86400);
    gl_provider_result_t *result = s_parse_fixture (&query, 200, "yahoo-chart-TSLA-30m-2021-11-22-prepost.json");
    GL_CHECK_INT (result->error, GL_PROVIDER_OK);
    GL_CHECK_INT (result->received, 30);
    GL_CHECK_INT (result->bar_count, 13);
    GL_CHECK_INT (result->dropped [GL_PROVIDER_DROP_OFF_GRID], 17);
    s_check_bar (s_bar (result, 0), 1637591400, 1162.33, 1193.67, 1156.55, 1185.66, 6271983);
    s_check_bar (s_bar (result, 12), 1637613000, 1177, 1183.62, 1153.02, 1156.05, 2477475);
    gl_provider_result_destroy (&result);
    result = s_parse_text (&query, 200, NULL,
        "{\"chart\":{\"result\":[{\"meta\":{\"priceHint\":2},"
        "\"timestamp\":[1637591400,1637593200,1637593999,1637677800],"
        "\"indicators\":{\"quote\":[{\"open\":[1,1,1,1],\"high\":[2,2,2,2],"
        "\"low\":[0.5,0.5,0.5,0.5],\"close\":[1.5,1.5,1.5,1.5],\"volume\":[10,10,10,10]}]}}],"
        "\"error\":null}}");
    GL_CHECK_INT (result->bar_count, 2);
    GL_CHECK_INT (result->dropped [GL_PROVIDER_DROP_OFF_GRID], 1);
    GL_CHECK_INT (result->dropped [GL_PROVIDER_DROP_OUTSIDE_RANGE], 1);
    gl_provider_result_destroy (&result);
}

//  edge_07: a null at one index drops that bar only, the others stay
//  aligned; the fragment, which lacks open and volume, is refused.
static void
test_edge_07_yahoo_nulls (void)
{
    int64_t day = s_date (2021, 11, 22);
    gl_provider_query_t query = s_query (GL_PROVIDER_YAHOO, GL_TF_30M, day, day + 86400);
    gl_provider_result_t *result = s_parse_text (&query, 200, NULL,
        "{\"chart\":{\"result\":[{\"meta\":{\"priceHint\":2},"
        "\"timestamp\":[1637591400,1637593200,1637595000],"
        "\"indicators\":{\"quote\":[{\"open\":[1,null,3],\"high\":[2,null,4],"
        "\"low\":[0.5,null,2.5],\"close\":[1.5,2,3.5],\"volume\":[10,null,30]}]}}],"
        "\"error\":null}}");
    GL_CHECK_INT (result->error, GL_PROVIDER_OK);
    GL_CHECK_INT (result->bar_count, 2);
    GL_CHECK_INT (result->dropped [GL_PROVIDER_DROP_NULL], 1);
    s_check_bar (s_bar (result, 0), 1637591400, 1, 2, 0.5, 1.5, 10);
    s_check_bar (s_bar (result, 1), 1637595000, 3, 4, 2.5, 3.5, 30);
    gl_provider_result_destroy (&result);
    result = s_parse_fixture (&query, 200, "yahoo-chart-nulls-fragment-issue.json");
    s_check_error (result, GL_PROVIDER_PARSE_ERROR, true, "chart.result[0]");
    gl_provider_result_destroy (&result);
}

//  edge_08: parallel arrays of unequal length are refused.
static void
test_edge_08_yahoo_unequal_arrays (void)
{
    int64_t day = s_date (2021, 11, 22);
    gl_provider_query_t query = s_query (GL_PROVIDER_YAHOO, GL_TF_30M, day, day + 86400);
    gl_provider_result_t *result = s_parse_text (&query, 200, NULL,
        "{\"chart\":{\"result\":[{\"timestamp\":[1637591400,1637593200],"
        "\"indicators\":{\"quote\":[{\"open\":[1,1],\"high\":[2,2],"
        "\"low\":[0.5],\"close\":[1.5,1.5],\"volume\":[10,10]}]}}],\"error\":null}}");
    s_check_error (result, GL_PROVIDER_PARSE_ERROR, true, "low as an array of 2 items");
    gl_provider_result_destroy (&result);
}

//  edge_10: chart.error with result:null on 400 (no data), 404, 422.
static void
test_edge_10_yahoo_chart_errors (void)
{
    gl_provider_query_t query = s_query (GL_PROVIDER_YAHOO, GL_TF_1D,
                                         s_date (2020, 1, 1), s_date (2020, 1, 4));
    gl_provider_result_t *result = s_parse_fixture (&query, 400, "yahoo-chart-error-400-BEKE-data-doesnt-exist.json");
    s_check_error (result, GL_PROVIDER_NO_DATA, false, "Data doesn't exist");
    gl_provider_result_destroy (&result);
    result = s_parse_fixture (&query, 404, "yahoo-chart-error-404-not-found.json");
    s_check_error (result, GL_PROVIDER_NOT_FOUND, false, "symbol may be delisted");
    gl_provider_result_destroy (&result);
    result = s_parse_fixture (&query, 422, "yahoo-chart-error-422-1m-range.json");
    s_check_error (result, GL_PROVIDER_NOT_FOUND, false, "within the last 30 days");
    gl_provider_result_destroy (&result);
}

//  edge_11: gmtoffset says EST over EDT bars; the exchange date decides.
static void
test_edge_11_yahoo_stale_gmtoffset (void)
{
    gl_provider_query_t query = s_query (GL_PROVIDER_YAHOO, GL_TF_1D,
                                         s_date (2021, 8, 1), s_date (2021, 11, 1));
    //  Session opens 13:30Z (EDT) on 2021-08-02 and 2021-10-29.
    gl_provider_result_t *result = s_parse_text (&query, 200, NULL,
        "{\"chart\":{\"result\":[{\"meta\":{\"gmtoffset\":-18000,\"timezone\":\"EST\","
        "\"exchangeTimezoneName\":\"America/New_York\",\"priceHint\":2},"
        "\"timestamp\":[1627911000,1635514200],"
        "\"indicators\":{\"quote\":[{\"open\":[1,1],\"high\":[2,2],"
        "\"low\":[0.5,0.5],\"close\":[1.5,1.5],\"volume\":[10,10]}]}}],\"error\":null}}");
    GL_CHECK_INT (result->bar_count, 2);
    GL_CHECK_INT (s_bar (result, 0)->ts, s_date (2021, 8, 2));
    GL_CHECK_INT (s_bar (result, 1)->ts, s_date (2021, 10, 29));
    gl_provider_result_destroy (&result);
}

//  edge_13: intraday without adjclose, events keyed by string timestamps.
static void
test_edge_13_yahoo_events (void)
{
    int64_t day = s_date (2021, 11, 22);
    gl_provider_query_t query = s_query (GL_PROVIDER_YAHOO, GL_TF_30M, day, day + 86400);
    gl_provider_result_t *result = s_parse_text (&query, 200, NULL,
        "{\"chart\":{\"result\":[{\"timestamp\":[1637591400],"
        "\"events\":{\"dividends\":{\"1637591400\":{\"amount\":0.22,\"date\":1637591400}},"
        "\"splits\":{\"1637591400\":{\"numerator\":4,\"denominator\":1,\"splitRatio\":\"4:1\"}}},"
        "\"indicators\":{\"quote\":[{\"open\":[1],\"high\":[2],\"low\":[0.5],\"close\":[1.5],"
        "\"volume\":[10]}]}}],\"error\":null}}");
    GL_CHECK_INT (result->error, GL_PROVIDER_OK);
    GL_CHECK_INT (result->bar_count, 1);
    gl_provider_result_destroy (&result);
}

//  edge_15: 429 with the plain-text body.
static void
test_edge_15_yahoo_plain_429 (void)
{
    gl_provider_query_t query = s_query (GL_PROVIDER_YAHOO, GL_TF_1D,
                                         s_date (2020, 1, 1), s_date (2020, 1, 4));
    gl_provider_result_t *result = s_parse_fixture (&query, 429, "yahoo-429-edge-too-many-requests.txt");
    s_check_error (result, GL_PROVIDER_RATE_LIMITED, true, "Edge: Too Many Requests");
    gl_provider_result_destroy (&result);
}

//  Tradier daily fixture (37 bars) and edge_24: a bar dated today is
//  provisional while the session runs.
static void
test_edge_24_tradier_daily_and_today (void)
{
    gl_provider_query_t query = s_query (GL_PROVIDER_TRADIER, GL_TF_1D,
                                         s_date (2018, 1, 1), s_date (2018, 3, 1));
    gl_provider_result_t *result = s_parse_fixture (&query, 200,
        "tradier-history-daily-SPY-2018-01-02_to_2018-02-23.json");
    GL_CHECK_INT (result->error, GL_PROVIDER_OK);
    GL_CHECK_INT (result->bar_count, 37);
    s_check_bar (s_bar (result, 0), s_date (2018, 1, 2), 267.84, 268.81, 267.4, 268.77, 86631393);
    s_check_bar (s_bar (result, 36), s_date (2018, 2, 23), 271.79, 274.71, 271.25, 274.71, 92753578);
    GL_CHECK (!s_bar (result, 36)->provisional);
    gl_provider_result_destroy (&result);
    query.now = s_date (2018, 2, 23) + 18 * 3600;       //  13:00 EST, session open
    result = s_parse_fixture (&query, 200, "tradier-history-daily-SPY-2018-01-02_to_2018-02-23.json");
    GL_CHECK (s_bar (result, 36)->provisional);
    GL_CHECK (!s_bar (result, 35)->provisional);
    gl_provider_result_destroy (&result);
    query.now = s_date (2018, 2, 23) + 21 * 3600;       //  16:00 EST, closed
    result = s_parse_fixture (&query, 200, "tradier-history-daily-SPY-2018-01-02_to_2018-02-23.json");
    GL_CHECK (!s_bar (result, 36)->provisional);
    gl_provider_result_destroy (&result);
}

//  edge_18: monthly dates on non-trading days are not moved to a session.
static void
test_edge_18_tradier_monthly_dates (void)
{
    gl_provider_query_t query = s_query (GL_PROVIDER_TRADIER, GL_TF_1D,
                                         s_date (2017, 1, 1), s_date (2018, 3, 1));
    gl_provider_result_t *result = s_parse_fixture (&query, 200,
        "tradier-history-monthly-HD-2017-01_to_2018-02.json");
    GL_CHECK_INT (result->received, 14);
    GL_CHECK_INT (result->bar_count, 9);
    GL_CHECK_INT (result->dropped [GL_PROVIDER_DROP_OFF_GRID], 5);
    s_check_bar (s_bar (result, 0), s_date (2017, 2, 1), 137.66, 146.33, 136.33, 144.91, 75930406);
    gl_provider_result_destroy (&result);
}

//  edge_16: one item comes as an object, for day and for data.
static void
test_edge_16_tradier_single_object (void)
{
    gl_provider_query_t query = s_query (GL_PROVIDER_TRADIER, GL_TF_1D,
                                         s_date (2018, 12, 1), s_date (2019, 1, 1));
    gl_provider_result_t *result = s_parse_fixture (&query, 200,
        "tradier-history-single-object-SPY-2018-12-21.json");
    GL_CHECK_INT (result->bar_count, 1);
    s_check_bar (s_bar (result, 0), s_date (2018, 12, 21), 246.74, 249.71, 239.98, 240.7, 255320360);
    gl_provider_result_destroy (&result);
    int64_t day = s_date (2025, 7, 1);
    query = s_query (GL_PROVIDER_TRADIER, GL_TF_15M, day, day + 86400);
    result = s_parse_text (&query, 200, NULL,
        "{\"series\":{\"data\":{\"time\":\"2025-07-01T09:30:00\",\"timestamp\":1751376600,"
        "\"price\":207.26,\"open\":206.72,\"high\":208.38,\"low\":206.1401,\"close\":207.53,"
        "\"volume\":9876387,\"vwap\":207.32529}}}");
    GL_CHECK_INT (result->bar_count, 1);
    GL_CHECK_INT (s_bar (result, 0)->ts, 1751376600);
    gl_provider_result_destroy (&result);
}

//  Tradier timesales fixture; edge_18: time checked against timestamp;
//  edge_24: the running last bar is provisional.
static void
test_edge_24_tradier_timesales (void)
{
    int64_t day = s_date (2025, 7, 1);
    gl_provider_query_t query = s_query (GL_PROVIDER_TRADIER, GL_TF_15M, day, day + 86400);
    gl_provider_result_t *result = s_parse_fixture (&query, 200,
        "tradier-timesales-15min-AAPL-2025-07-01-docs.json");
    GL_CHECK_INT (result->error, GL_PROVIDER_OK);
    GL_CHECK_INT (result->bar_count, 3);
    s_check_bar (s_bar (result, 0), 1751376600, 206.72, 208.38, 206.1401, 207.53, 9876387);
    GL_CHECK (s_bar (result, 0)->has_vwap && fabs (s_bar (result, 0)->vwap - 207.32529) < 1e-9);
    s_check_bar (s_bar (result, 2), 1751378400, 209.06, 209.68, 208.56, 209.66, 4434833);
    GL_CHECK (!s_bar (result, 2)->provisional);
    gl_provider_result_destroy (&result);
    query.now = 1751378400 + 60;
    result = s_parse_text (&query, 200, NULL,
        "{\"series\":{\"data\":[{\"time\":\"2025-07-01T09:45:00\",\"timestamp\":1751377500,"
        "\"open\":207.53,\"high\":209.11,\"low\":207.48,\"close\":209.0848,\"volume\":6249782},"
        "{\"time\":\"2025-07-01T10:00:00\",\"timestamp\":1751378400,"
        "\"open\":209.06,\"high\":209.1,\"low\":209.0,\"close\":209.05,\"volume\":1700},"
        "{\"time\":\"2025-07-01T10:00:00\",\"timestamp\":1751377500,"
        "\"open\":209.06,\"high\":209.1,\"low\":209.0,\"close\":209.05,\"volume\":1700}]}}");
    GL_CHECK_INT (result->bar_count, 2);
    GL_CHECK (!s_bar (result, 0)->provisional);
    GL_CHECK (s_bar (result, 1)->provisional);
    GL_CHECK_INT (result->dropped [GL_PROVIDER_DROP_TIME_MISMATCH], 1);
    gl_provider_result_destroy (&result);
}

//  edge_17: null history and null series are the empty answer.
static void
test_edge_17_tradier_null (void)
{
    gl_provider_query_t query = s_query (GL_PROVIDER_TRADIER, GL_TF_1D,
                                         s_date (2018, 12, 1), s_date (2019, 1, 1));
    gl_provider_result_t *result = s_parse_text (&query, 200, NULL, "{\"history\":null}");
    s_check_error (result, GL_PROVIDER_NO_DATA, false, "null history or series");
    gl_provider_result_destroy (&result);
    query.timeframe = GL_TF_1M;
    result = s_parse_text (&query, 200, NULL, "{\"series\":null}");
    s_check_error (result, GL_PROVIDER_NO_DATA, false, "null history or series");
    gl_provider_result_destroy (&result);
}

//  edge_19: X-Ratelimit-Expiry in ms or s; the Quota Violation text.
static void
test_edge_19_tradier_limits (void)
{
    gl_provider_query_t query = s_query (GL_PROVIDER_TRADIER, GL_TF_1D,
                                         s_date (2018, 12, 1), s_date (2019, 1, 1));
    query.now = 1751378400;
    gl_provider_result_t *result = s_parse_text (&query, 429,
        "HTTP/2 429\r\nx-ratelimit-allowed: 120\r\nx-ratelimit-used: 120\r\n"
        "x-ratelimit-available: 0\r\nx-ratelimit-expiry: 1751378430000\r\n\r\n",
        "Quota Violation 1751378430000");
    s_check_error (result, GL_PROVIDER_RATE_LIMITED, true, "Quota Violation");
    GL_CHECK (result->limit.known);
    GL_CHECK_INT (result->limit.limit, 120);
    GL_CHECK_INT (result->limit.remaining, 0);
    GL_CHECK_INT (result->limit.reset_ms, 1751378430000LL);
    GL_CHECK_INT (result->retry_after_ms, 30000);
    gl_provider_result_destroy (&result);
    result = s_parse_text (&query, 200,
        "X-Ratelimit-Allowed: 120\r\nX-Ratelimit-Available: 119\r\n"
        "X-Ratelimit-Expiry: 1751378460\r\n", "{\"history\":null}");
    GL_CHECK_INT (result->limit.remaining, 119);
    GL_CHECK_INT (result->limit.reset_ms, 1751378460000LL);
    GL_CHECK_INT (result->retry_after_ms, 0);
    gl_provider_result_destroy (&result);
    //  The status is unverified for Quota Violation: the text decides.
    result = s_parse_text (&query, 400, NULL, "Quota Violation");
    GL_CHECK_INT (result->error, GL_PROVIDER_RATE_LIMITED);
    gl_provider_result_destroy (&result);
}

//  edge_20: the TooBigBody fault asks for a split.
static void
test_edge_20_tradier_too_big (void)
{
    gl_provider_query_t query = s_query (GL_PROVIDER_TRADIER, GL_TF_1M,
                                         s_date (2025, 7, 1), s_date (2025, 7, 2));
    gl_provider_result_t *result = s_parse_text (&query, 500, NULL,
        "{\"fault\":{\"faultstring\":\"Body buffer overflow\","
        "\"detail\":{\"errorcode\":\"protocol.http.TooBigBody\"}}}");
    s_check_error (result, GL_PROVIDER_SERVER_ERROR, true, "TooBigBody");
    GL_CHECK (result->split_range);
    gl_provider_result_destroy (&result);
}

//  Finnhub docs sample and errors; edge_22: 00:00Z stays on its date.
static void
test_edge_22_finnhub_daily (void)
{
    gl_provider_query_t query = s_query (GL_PROVIDER_FINNHUB, GL_TF_1D,
                                         s_date (2019, 9, 1), s_date (2019, 10, 1));
    gl_provider_result_t *result = s_parse_fixture (&query, 200, "finnhub-candle-docs-sample.json");
    GL_CHECK_INT (result->error, GL_PROVIDER_OK);
    GL_CHECK_INT (result->bar_count, 3);
    s_check_bar (s_bar (result, 0), s_date (2019, 9, 24), 221.03, 222.49, 217.19, 217.68, 33463820);
    s_check_bar (s_bar (result, 2), s_date (2019, 9, 26), 220, 220.94, 218.83, 219.89, 20730608);
    gl_provider_result_destroy (&result);
    result = s_parse_text (&query, 200, NULL,
        "{\"c\":[1.5],\"h\":[2],\"l\":[0.5],\"o\":[1],\"s\":\"ok\",\"t\":[1569283200],\"v\":[10]}");
    GL_CHECK_INT (result->bar_count, 1);
    GL_CHECK_INT (s_bar (result, 0)->ts, s_date (2019, 9, 24));
    gl_provider_result_destroy (&result);
    result = s_parse_fixture (&query, 401, "finnhub-error-401-no-key.json");
    s_check_error (result, GL_PROVIDER_AUTH, false, "Please use an API key.");
    gl_provider_result_destroy (&result);
    result = s_parse_fixture (&query, 403, "finnhub-error-403-no-access.json");
    s_check_error (result, GL_PROVIDER_AUTH, false, "don't have access");
    gl_provider_result_destroy (&result);
    query.now = 1700000000;
    result = gl_provider_parse (&query, 429,
        "X-Ratelimit-Limit: 60\r\nX-Ratelimit-Remaining: 0\r\nX-Ratelimit-Reset: 1700000007\r\n",
        "{\"error\":\"API limit reached. Please try again later. Remaining Limit: 0\"}", 73);
    s_check_error (result, GL_PROVIDER_RATE_LIMITED, true, "API limit reached");
    GL_CHECK_INT (result->limit.limit, 60);
    GL_CHECK_INT (result->retry_after_ms, 7000);
    gl_provider_result_destroy (&result);
    result = s_parse_fixture (&query, 429, "finnhub-error-429-limit.json");
    s_check_error (result, GL_PROVIDER_RATE_LIMITED, true, "Remaining Limit: 0");
    gl_provider_result_destroy (&result);
}

//  edge_21: s=no_data at 200, with and without empty arrays.
static void
test_edge_21_finnhub_no_data (void)
{
    gl_provider_query_t query = s_query (GL_PROVIDER_FINNHUB, GL_TF_1D,
                                         s_date (2019, 9, 1), s_date (2019, 10, 1));
    gl_provider_result_t *result = s_parse_fixture (&query, 200, "finnhub-candle-no_data.json");
    s_check_error (result, GL_PROVIDER_NO_DATA, false, "no_data");
    gl_provider_result_destroy (&result);
    result = s_parse_text (&query, 200, NULL,
        "{\"c\":[],\"h\":[],\"l\":[],\"o\":[],\"s\":\"no_data\",\"t\":[],\"v\":[]}");
    s_check_error (result, GL_PROVIDER_NO_DATA, false, "no_data");
    gl_provider_result_destroy (&result);
    result = s_parse_text (&query, 200, NULL,
        "{\"c\":[1],\"h\":[],\"l\":[],\"o\":[],\"s\":\"ok\",\"t\":[],\"v\":[]}");
    s_check_error (result, GL_PROVIDER_PARSE_ERROR, true, "one length");
    gl_provider_result_destroy (&result);
}

//  Alpaca single-symbol page with a token, and the 403.
static void
test_alpaca_fixtures (void)
{
    gl_provider_query_t query = s_query (GL_PROVIDER_ALPACA, GL_TF_1D,
                                         s_date (2022, 2, 1), s_date (2022, 3, 1));
    gl_provider_result_t *result = s_parse_fixture (&query, 200,
        "alpaca-bars-single-AAPL-1Day-2022-02-next_page_token.json");
    GL_CHECK_INT (result->error, GL_PROVIDER_OK);
    GL_CHECK_INT (result->bar_count, 2);
    s_check_bar (s_bar (result, 0), s_date (2022, 2, 1), 174, 174.84, 172.31, 174.61, 85998033);
    GL_CHECK (s_bar (result, 0)->has_trades && s_bar (result, 0)->trades == 732412);
    s_check_bar (s_bar (result, 1), s_date (2022, 2, 2), 174.64, 175.88, 173.33, 175.84, 84817432);
    GL_CHECK_STR (result->continuation, "QUFQTHxEfDIwMjItMDItMDJUMDU6MDA6MDAuMDAwMDAwMDAwWg==");
    gl_provider_result_destroy (&result);
    result = s_parse_fixture (&query, 403, "alpaca-error-403-recent-sip.json");
    s_check_error (result, GL_PROVIDER_AUTH, false, "subscription does not permit");
    gl_provider_result_destroy (&result);
}

//  edge_23: bars null (single) and {} (multi) are empty; the multi map is
//  read for our symbol, including a page that ends mid-symbol.
static void
test_edge_23_alpaca_multi (void)
{
    gl_provider_query_t query = s_query (GL_PROVIDER_ALPACA, GL_TF_1D,
                                         s_date (2022, 3, 1), s_date (2022, 4, 1));
    gl_provider_result_t *result = s_parse_fixture (&query, 200, "alpaca-bars-single-empty-bars-null.json");
    s_check_error (result, GL_PROVIDER_NO_DATA, false, "no bars");
    gl_provider_result_destroy (&result);
    result = s_parse_fixture (&query, 200, "alpaca-bars-multi-empty-bars-object.json");
    s_check_error (result, GL_PROVIDER_NO_DATA, false, "no bars");
    gl_provider_result_destroy (&result);
    query.symbol = "TSLA";
    result = s_parse_fixture (&query, 200, "alpaca-bars-multi-AAPL-TSLA-2022-03-09.json");
    GL_CHECK_INT (result->bar_count, 1);
    s_check_bar (s_bar (result, 0), s_date (2022, 3, 9), 839, 860.56, 832.01, 858.97, 19227323);
    GL_CHECK (result->continuation == NULL);
    gl_provider_result_destroy (&result);
    query.symbol = "AAPL";
    result = s_parse_text (&query, 200, NULL,
        "{\"bars\":{\"AAPL\":[{\"t\":\"2022-03-09T05:00:00Z\",\"o\":161.51,\"h\":163.41,"
        "\"l\":159.41,\"c\":162.95,\"v\":88496480}]},\"next_page_token\":\"QUFQTHxE\"}");
    GL_CHECK_INT (result->bar_count, 1);
    GL_CHECK_STR (result->continuation, "QUFQTHxE");
    gl_provider_result_destroy (&result);
    result = s_parse_text (&query, 200, NULL,
        "{\"bars\":{\"TSLA\":[{\"t\":\"2022-03-10T05:00:00Z\",\"o\":1,\"h\":1,"
        "\"l\":1,\"c\":1,\"v\":1}]},\"next_page_token\":\"VFNMQXxE\"}");
    GL_CHECK_INT (result->error, GL_PROVIDER_OK);
    GL_CHECK_INT (result->bar_count, 0);
    GL_CHECK_STR (result->continuation, "VFNMQXxE");
    gl_provider_result_destroy (&result);
}

//  Impossible bars dropped by reason: high < low, open outside, negative
//  volume, non-positive price, infinite number, a string, a duplicate.
static void
test_impossible_bars (void)
{
    gl_provider_query_t query = s_query (GL_PROVIDER_POLYGON, GL_TF_1D,
                                         s_date (2024, 3, 4), s_date (2024, 3, 9));
    gl_provider_result_t *result = s_parse_text (&query, 200, NULL,
        "{\"status\":\"OK\",\"results\":["
        "{\"t\":1709528400000,\"o\":1,\"h\":0.5,\"l\":1,\"c\":1,\"v\":1},"
        "{\"t\":1709528400000,\"o\":3,\"h\":2,\"l\":1,\"c\":1,\"v\":1},"
        "{\"t\":1709614800000,\"o\":1,\"h\":2,\"l\":0.5,\"c\":1,\"v\":-5},"
        "{\"t\":1709701200000,\"o\":0,\"h\":2,\"l\":0,\"c\":1,\"v\":5},"
        "{\"t\":1709701200000,\"o\":1,\"h\":1e999,\"l\":0.5,\"c\":1,\"v\":5},"
        "{\"t\":1709787600000,\"o\":\"1\",\"h\":2,\"l\":0.5,\"c\":1,\"v\":5},"
        "{\"t\":1709874000000,\"o\":1,\"h\":2,\"l\":0.5,\"c\":1,\"v\":5},"
        "{\"t\":1709874000000,\"o\":1,\"h\":2,\"l\":0.5,\"c\":1.2,\"v\":5},"
        "{\"t\":1709701200000,\"o\":1,\"h\":2,\"l\":0.5,\"c\":1,\"v\":5},"
        "null]}");
    GL_CHECK_INT (result->error, GL_PROVIDER_OK);
    GL_CHECK_INT (result->received, 10);
    GL_CHECK_INT (result->bar_count, 2);
    GL_CHECK_INT (result->dropped [GL_PROVIDER_DROP_HIGH_LOW], 2);
    GL_CHECK_INT (result->dropped [GL_PROVIDER_DROP_NEGATIVE_VOLUME], 1);
    GL_CHECK_INT (result->dropped [GL_PROVIDER_DROP_NOT_FINITE], 2);
    GL_CHECK_INT (result->dropped [GL_PROVIDER_DROP_NULL], 2);
    GL_CHECK_INT (result->dropped [GL_PROVIDER_DROP_DUPLICATE], 1);
    GL_CHECK_INT (gl_provider_result_dropped (result), 8);
    //  Out-of-order input comes out in start order, the first copy kept.
    GL_CHECK_INT (s_bar (result, 0)->ts, s_date (2024, 3, 6));
    GL_CHECK_INT (s_bar (result, 1)->ts, s_date (2024, 3, 8));
    GL_CHECK (s_bar (result, 1)->close == 1);
    gl_provider_result_destroy (&result);
}

//  Bodies whose trees outgrow the parser's first block, by many nodes and
//  by one string longer than a block, parse whole, and so does the body
//  after them.
static void
test_large_trees (void)
{
    gl_provider_query_t query = s_query (GL_PROVIDER_POLYGON, GL_TF_1M, s_date (2024, 3, 1),
                                         s_date (2024, 3, 8));
    query.calendar = s_crypto;
    char *body = NULL;
    size_t size = 0;
    FILE *stream = open_memstream (&body, &size);
    fprintf (stream, "{\"status\":\"OK\",\"results\":[");
    enum { BARS = 6000 };
    for (int index = 0; index < BARS; index++)
        fprintf (stream, "%s{\"t\":%lld,\"o\":%d.25,\"h\":%d.5,\"l\":%d,\"c\":%d.25,\"v\":%d}",
                 index? ",": "", (long long) (query.from + index * 60) * 1000, 100 + index % 50,
                 101 + index % 50, 100 + index % 50, 100 + index % 50, index + 1);
    fprintf (stream, "]}");
    fclose (stream);
    gl_provider_result_t *result = gl_provider_parse (&query, 200, NULL, body, size);
    GL_CHECK (result && result->error == GL_PROVIDER_OK && result->bar_count == BARS);
    if (result && result->bar_count == BARS) {
        const gl_bar_t *last = &result->bars [BARS - 1];
        GL_CHECK_INT (last->ts, query.from + (BARS - 1) * 60);
        GL_CHECK (last->close == 100 + (BARS - 1) % 50 + 0.25 && last->volume == BARS);
    }
    gl_provider_result_destroy (&result);
    free (body);

    enum { TEXT = 600 * 1024 };
    body = malloc (TEXT + 64);
    GL_CHECK (body != NULL);
    if (!body)
        return;
    size = (size_t) sprintf (body, "{\"status\":\"ERROR\",\"error\":\"");
    memset (body + size, 'x', TEXT);
    size += TEXT;
    size += (size_t) sprintf (body + size, "\"}");
    result = gl_provider_parse (&query, 500, NULL, body, size);
    s_check_error (result, GL_PROVIDER_SERVER_ERROR, true, "xxxxxxxx");
    gl_provider_result_destroy (&result);
    free (body);

    query = s_query (GL_PROVIDER_POLYGON, GL_TF_1D, s_date (2024, 1, 1), s_date (2024, 2, 1));
    result = s_parse_fixture (&query, 401, "polygon-error-401-unknown-api-key.json");
    s_check_error (result, GL_PROVIDER_AUTH, false, "Unknown API Key");
    gl_provider_result_destroy (&result);
}

//  edge_25: HTML, empty and truncated bodies on 429/502/504 (and a 200
//  cut short) never crash and get the status's class, for every provider.
static void
test_edge_25_non_json_bodies (void)
{
    const char *bodies [] = {
        "", "<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>",
        "{\"results\":[{\"t\":1", "\xff\xfe\x00garbage",
    };
    struct { long status; gl_provider_error_t error; } cases [] = {
        { 429, GL_PROVIDER_RATE_LIMITED }, { 502, GL_PROVIDER_SERVER_ERROR },
        { 504, GL_PROVIDER_SERVER_ERROR }, { 200, GL_PROVIDER_PARSE_ERROR },
    };
    for (int provider = 1; provider <= GL_PROVIDER_COUNT; provider++)
        for (size_t body = 0; body < 4; body++)
            for (size_t index = 0; index < 4; index++) {
                gl_provider_query_t query = s_query ((gl_provider_t) provider, GL_TF_1D,
                                                     s_date (2024, 3, 4), s_date (2024, 3, 9));
                size_t size = body == 3? 10: strlen (bodies [body]);
                gl_provider_result_t *result = gl_provider_parse (&query, cases [index].status,
                                                                  NULL, bodies [body], size);
                GL_CHECK (result != NULL);
                if (!result)
                    continue;
                GL_CHECK_STR (gl_provider_error_name (result->error),
                              gl_provider_error_name (cases [index].error));
                GL_CHECK (result->retryable);
                GL_CHECK_INT (result->bar_count, 0);
                gl_provider_result_destroy (&result);
            }
    gl_provider_query_t query = s_query (GL_PROVIDER_POLYGON, GL_TF_1D, 0, 86400);
    query.calendar = NULL;
    GL_CHECK (gl_provider_parse (&query, 200, NULL, "{}", 2) == NULL);
}

int
main (void)
{
    s_xnys = gl_calendar_new (GL_CALENDAR_XNYS);
    s_xnys_session = gl_calendar_new (GL_CALENDAR_XNYS);
    gl_calendar_set_grids (s_xnys_session, "1h=session,4h=session");
    s_crypto = gl_calendar_new (GL_CALENDAR_24X7);
    GL_CHECK (s_xnys && s_crypto);
    test_names_and_limits ();
    test_requests ();
    test_request_refusals ();
    test_request_time_bounds ();
    test_tradier_xml_contract ();
    test_polygon_day_fixture ();
    test_edge_01_polygon_empty ();
    test_edge_02_polygon_next_url ();
    test_edge_03_polygon_loose_fields ();
    test_edge_04_polygon_delayed ();
    test_edge_05_polygon_errors ();
    test_edge_06_daily_dst ();
    test_edge_07_yahoo_nulls ();
    test_edge_08_yahoo_unequal_arrays ();
    test_edge_09_yahoo_empty ();
    test_edge_10_yahoo_chart_errors ();
    test_edge_11_yahoo_stale_gmtoffset ();
    test_edge_12_yahoo_daily_rounding ();
    test_edge_13_yahoo_events ();
    test_edge_14_yahoo_prepost_and_trailing ();
    test_edge_15_yahoo_plain_429 ();
    test_edge_16_tradier_single_object ();
    test_edge_17_tradier_null ();
    test_edge_18_tradier_monthly_dates ();
    test_edge_19_tradier_limits ();
    test_edge_20_tradier_too_big ();
    test_edge_21_finnhub_no_data ();
    test_edge_22_finnhub_daily ();
    test_edge_23_alpaca_multi ();
    test_edge_24_tradier_daily_and_today ();
    test_edge_24_tradier_timesales ();
    test_edge_25_non_json_bodies ();
    test_large_trees ();
    test_alpaca_fixtures ();
    test_impossible_bars ();
    gl_calendar_destroy (&s_crypto);
    gl_calendar_destroy (&s_xnys);
    gl_calendar_destroy (&s_xnys_session);
    return gl_test_done ("test_provider");
}
