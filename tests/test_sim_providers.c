/*  test_sim_providers — a real gapless-sim answers like each provider:
    the fixtures' structure (same keys, same value types at the same
    paths), pagination to the end with exactly the generated bars, each
    provider's empty form on a weekend or holiday, auth failures with the
    providers' bodies, and the same body for the same request.
*/
#include "gl_simbars.h"
#include "gl_simclient.h"
#include "gl_test.h"
#include <cjson/cJSON.h>
#include <stdlib.h>

static const char *s_config =
    "sim\n"
    "    seed = 3\n"
    "    polygon\n"
    "        keys\n"
    "            alpha = \"pk-alpha\"\n"
    "        forbidden\n"
    "            free = \"pk-free\"\n"
    "    yahoo\n"
    "        null_rate = 0.05\n"
    "    tradier\n"
    "        limits = \"100/60s\"\n"
    "        keys\n"
    "            alpha = \"tk-alpha\"\n"
    "    finnhub\n"
    "        keys\n"
    "            alpha = \"fk-alpha\"\n"
    "        forbidden\n"
    "            free = \"fk-free\"\n"
    "    alpaca\n"
    "        keys\n"
    "            alpha = \"AKID:SECRET\"\n";

static gl_simclient_t *s_sim;
static gl_calendar_t *s_calendar;

//  Loads a fixture as JSON.
static cJSON *
s_fixture (const char *name)
{
    char path [512];
    snprintf (path, sizeof path, "%s/providers/%s", getenv ("GL_FIXTURES_DIR"), name);
    FILE *file = fopen (path, "rb");
    if (!file)
        return NULL;
    static char text [65536];
    size_t size = fread (text, 1, sizeof text - 1, file);
    fclose (file);
    text [size] = 0;
    return cJSON_Parse (text);
}

//  True if both items are of the same JSON kind.
static bool
s_same_kind (cJSON *expected, cJSON *actual)
{
    if (cJSON_IsBool (expected))
        return cJSON_IsBool (actual);
    return (expected->type & 0xFF) == (actual->type & 0xFF);
}

//  Checks actual has the fixture's structure; extra keys only if listed
//  in allowed ("|key|key|"). Prints the first difference's path.
static bool
s_same_shape (cJSON *expected, cJSON *actual, const char *path, const char *allowed)
{
    char child_path [256];
    if (!actual || !s_same_kind (expected, actual)) {
        fprintf (stderr, "shape differs at %s\n", path);
        return false;
    }
    if (cJSON_IsObject (expected)) {
        for (cJSON *item = expected->child; item; item = item->next) {
            if (strcmp (item->string, "_fragment_note") == 0)
                continue;
            snprintf (child_path, sizeof child_path, "%s.%s", path, item->string);
            if (!s_same_shape (item, cJSON_GetObjectItemCaseSensitive (actual, item->string),
                               child_path, allowed))
                return false;
        }
        for (cJSON *item = actual->child; item; item = item->next) {
            char needle [64];
            snprintf (needle, sizeof needle, "|%s|", item->string);
            if (!cJSON_GetObjectItemCaseSensitive (expected, item->string) && !strstr (allowed, needle)) {
                fprintf (stderr, "unexpected key %s.%s\n", path, item->string);
                return false;
            }
        }
    }
    if (cJSON_IsArray (expected) && expected->child) {
        cJSON *model = expected->child;
        bool nulls = false;
        for (cJSON *item = expected->child; item; item = item->next) {
            nulls |= cJSON_IsNull (item);
            if (!cJSON_IsNull (item))
                model = item;
        }
        int index = 0;
        for (cJSON *item = actual->child; item; item = item->next, index++) {
            snprintf (child_path, sizeof child_path, "%s[%d]", path, index);
            //  Yahoo's numeric arrays may hold nulls anywhere (PROVIDERS.md edge case 7).
            bool null_allowed = nulls || cJSON_IsNumber (model);
            if (!(null_allowed && cJSON_IsNull (item)) && !s_same_shape (model, item, child_path, allowed))
                return false;
        }
    }
    return true;
}

//  GET on a provider; returns the parsed body (caller deletes) and status.
static cJSON *
s_get (const char *provider, const char *path, const char *const *headers, long *status,
       char **raw)
{
    gl_simclient_reply_t reply;
    gl_simclient_request ("GET", gl_simclient_url (s_sim, provider), path, headers, 10000, &reply);
    *status = reply.status;
    cJSON *document = cJSON_Parse (reply.body);
    if (raw)
        *raw = strdup (reply.body);
    gl_simclient_reply_free (&reply);
    return document;
}

//  Requests path and compares with the fixture's structure.
static void
s_check_shape (const char *provider, const char *path, const char *const *headers,
               long expected_status, const char *fixture_name, const char *allowed)
{
    long status;
    cJSON *actual = s_get (provider, path, headers, &status, NULL);
    cJSON *fixture = s_fixture (fixture_name);
    GL_CHECK (fixture);
    GL_CHECK_INT (status, expected_status);
    bool same = fixture && s_same_shape (fixture, actual, fixture_name, allowed);
    if (!same)
        fprintf (stderr, "  for %s %s\n", provider, path);
    GL_CHECK (same);
    cJSON_Delete (actual);
    cJSON_Delete (fixture);
}

//  UTC seconds of a civil date.
static int64_t
s_utc (int year, int month, int day)
{
    struct tm civil = { .tm_year = year - 1900, .tm_mon = month - 1, .tm_mday = day };
    return (int64_t) timegm (&civil);
}

static const char *s_tradier [] = { "Authorization: Bearer tk-alpha", "Accept: application/json", NULL };
static const char *s_alpaca [] = { "APCA-API-KEY-ID: AKID", "APCA-API-SECRET-KEY: SECRET", NULL };
static const char *s_finnhub [] = { "X-Finnhub-Token: fk-alpha", NULL };

//  Every provider's data, empty and error shapes against the fixtures.
static void
s_test_shapes (void)
{
    const char *polygon_extra = "|next_url|count|";
    s_check_shape ("polygon", "/v2/aggs/ticker/AAPL/range/1/day/2024-03-11/2024-03-12?apiKey=pk-alpha",
                   NULL, 200, "polygon-aggs-day-client-go-fixture.json", polygon_extra);
    s_check_shape ("polygon", "/v2/aggs/ticker/AAPL/range/1/day/2024-03-04/2024-03-12?apiKey=pk-alpha&limit=2",
                   NULL, 200, "polygon-aggs-docs-sample-next_url.json", polygon_extra);
    s_check_shape ("polygon", "/v2/aggs/ticker/AAPL/range/1/hour/2024-03-25/2024-03-25?apiKey=pk-alpha",
                   NULL, 200, "polygon-aggs-hour-AAPL-2024-03-25-status-DELAYED.json", polygon_extra);
    s_check_shape ("polygon", "/v2/aggs/ticker/AAPL/range/1/day/2024-03-11/2024-03-12",
                   NULL, 401, "polygon-error-401-unknown-api-key.json", "");
    s_check_shape ("polygon", "/v2/aggs/ticker/AAPL/range/1/day/2024-03-11/2024-03-12?apiKey=nope",
                   NULL, 401, "polygon-error-401-unknown-api-key.json", "");
    s_check_shape ("polygon", "/v2/aggs/ticker/AAPL/range/1/day/2024-03-11/2024-03-12?apiKey=pk-free",
                   NULL, 403, "polygon-error-403-not-authorized-timeframe.json", "");

    s_check_shape ("yahoo", "/v8/finance/chart/AAPL?period1=1710115200&period2=1710288000&interval=1d",
                   NULL, 200, "yahoo-chart-AAPL-1d-2020-01-01_to_2020-01-03.json", "");
    s_check_shape ("yahoo", "/v8/finance/chart/TSLA?period1=1710115200&period2=1710201600&interval=30m",
                   NULL, 200, "yahoo-chart-TSLA-30m-2021-11-22-prepost.json", "");
    s_check_shape ("yahoo", "/v8/finance/chart/TSLA?period1=1710028800&period2=1710115200&interval=1h",
                   NULL, 200, "yahoo-chart-TSLA-1h-same-day-empty.json", "");
    s_check_shape ("yahoo", "/v8/finance/chart/A%22B?period1=1&period2=2", NULL, 404,
                   "yahoo-chart-error-404-not-found.json", "");
    s_check_shape ("yahoo", "/v8/finance/chart/AAPL?period1=1709251200&period2=1710288000&interval=1m",
                   NULL, 422, "yahoo-chart-error-422-1m-range.json", "");
    s_check_shape ("yahoo", "/v8/finance/chart/AAPL?period1=5&period2=1&interval=1d",
                   NULL, 400, "yahoo-chart-error-400-BEKE-data-doesnt-exist.json", "");

    s_check_shape ("tradier", "/v1/markets/history?symbol=SPY&interval=daily&start=2024-03-01&end=2024-03-12",
                   s_tradier, 200, "tradier-history-daily-SPY-2018-01-02_to_2018-02-23.json", "");
    s_check_shape ("tradier", "/v1/markets/history?symbol=SPY&interval=daily&start=2024-03-12&end=2024-03-12",
                   s_tradier, 200, "tradier-history-single-object-SPY-2018-12-21.json", "");
    s_check_shape ("tradier", "/v1/markets/timesales?symbol=AAPL&interval=15min&start=2024-03-12%2009:30&end=2024-03-12%2010:00",
                   s_tradier, 200, "tradier-timesales-15min-AAPL-2025-07-01-docs.json", "");

    s_check_shape ("finnhub", "/api/v1/stock/candle?symbol=AAPL&resolution=D&from=1710115200&to=1710288000",
                   s_finnhub, 200, "finnhub-candle-docs-sample.json", "");
    s_check_shape ("finnhub", "/api/v1/stock/candle?symbol=AAPL&resolution=D&from=1710028800&to=1710086400&token=fk-alpha",
                   NULL, 200, "finnhub-candle-no_data.json", "");
    s_check_shape ("finnhub", "/api/v1/stock/candle?symbol=AAPL&resolution=D&from=1&to=2", NULL, 401,
                   "finnhub-error-401-no-key.json", "");
    s_check_shape ("finnhub", "/api/v1/stock/candle?symbol=AAPL&resolution=D&from=1&to=2&token=fk-free",
                   NULL, 403, "finnhub-error-403-no-access.json", "");

    s_check_shape ("alpaca", "/v2/stocks/AAPL/bars?timeframe=1Day&start=2024-03-01&end=2024-03-12&limit=2",
                   s_alpaca, 200, "alpaca-bars-single-AAPL-1Day-2022-02-next_page_token.json", "");
    s_check_shape ("alpaca", "/v2/stocks/AAPL/bars?timeframe=1Day&start=2024-03-09&end=2024-03-10",
                   s_alpaca, 200, "alpaca-bars-single-empty-bars-null.json", "");
}

//  Follows Polygon's next_url (adding the key back) to the end.
static void
s_test_polygon_pages (void)
{
    gl_simbar_t *bars;
    size_t count;
    gl_simbars_generate (s_calendar, "MSFT", GL_TF_1M, s_utc (2024, 3, 11), s_utc (2024, 3, 13), &bars, &count);
    GL_CHECK_INT (count, 780);
    char path [1024];
    snprintf (path, sizeof path, "/v2/aggs/ticker/MSFT/range/1/minute/2024-03-11/2024-03-12?apiKey=pk-alpha&limit=250");
    size_t seen = 0, pages = 0, wrong = 0;
    bool key_in_next_url = false;
    while (*path && pages < 20) {
        long status;
        cJSON *page = s_get ("polygon", path, NULL, &status, NULL);
        GL_CHECK_INT (status, 200);
        pages++;
        cJSON *results = cJSON_GetObjectItem (page, "results");
        cJSON *item;
        cJSON_ArrayForEach (item, results) {
            int64_t t = (int64_t) cJSON_GetObjectItem (item, "t")->valuedouble;
            if (seen >= count || t != bars [seen].start * 1000
                || (int64_t) (cJSON_GetObjectItem (item, "o")->valuedouble * 100 + 0.5) != bars [seen].open)
                wrong++;
            seen++;
        }
        cJSON *next = cJSON_GetObjectItem (page, "next_url");
        *path = 0;
        if (cJSON_IsString (next)) {
            key_in_next_url |= strstr (next->valuestring, "apiKey") != NULL;
            const char *rest = strstr (next->valuestring, "/v2/");
            snprintf (path, sizeof path, "%s&apiKey=pk-alpha", rest? rest: "");
        }
        cJSON_Delete (page);
    }
    GL_CHECK_INT (pages, 4);
    GL_CHECK_INT (seen, count);
    GL_CHECK_INT (wrong, 0);
    GL_CHECK (!key_in_next_url);
    free (bars);
}

//  Follows Alpaca's next_page_token to the end.
static void
s_test_alpaca_pages (void)
{
    gl_simbar_t *bars;
    size_t count;
    gl_simbars_generate (s_calendar, "AAPL", GL_TF_5M, s_utc (2024, 3, 4), s_utc (2024, 3, 9), &bars, &count);
    GL_CHECK_INT (count, 5 * 78);
    char token [256] = "";
    size_t seen = 0, pages = 0, wrong = 0;
    do {
        char path [512];
        snprintf (path, sizeof path, "/v2/stocks/AAPL/bars?timeframe=5Min&start=2024-03-04T00:00:00Z"
                  "&end=2024-03-09T00:00:00Z&limit=100%s%s", *token? "&page_token=": "", token);
        long status;
        cJSON *page = s_get ("alpaca", path, s_alpaca, &status, NULL);
        GL_CHECK_INT (status, 200);
        pages++;
        cJSON *item;
        cJSON_ArrayForEach (item, cJSON_GetObjectItem (page, "bars")) {
            char expected [32];
            time_t start = (time_t) (seen < count? bars [seen].start: 0);
            strftime (expected, sizeof expected, "%Y-%m-%dT%H:%M:%SZ", gmtime (&start));
            if (seen >= count || strcmp (cJSON_GetObjectItem (item, "t")->valuestring, expected) != 0)
                wrong++;
            seen++;
        }
        cJSON *next = cJSON_GetObjectItem (page, "next_page_token");
        *token = 0;
        if (cJSON_IsString (next)) {
            //  Tokens are base64 with '+', '/', '=': escape them for the URL.
            char *out = token;
            for (const char *c = next->valuestring; *c && out < token + sizeof token - 4; c++)
                out += strchr ("+/=", *c)? sprintf (out, "%%%02X", *c): sprintf (out, "%c", *c);
        }
        cJSON_Delete (page);
    } while (*token && pages < 20);
    GL_CHECK_INT (pages, 4);
    GL_CHECK_INT (seen, count);
    GL_CHECK_INT (wrong, 0);
    free (bars);
}

//  Empty days in each provider's own form, and XML without Accept.
static void
s_test_empty_days (void)
{
    long status;
    char *raw;
    cJSON *body = s_get ("polygon", "/v2/aggs/ticker/AAPL/range/1/minute/2024-12-25/2024-12-25?apiKey=pk-alpha",
                         NULL, &status, NULL);
    GL_CHECK_INT (status, 200);
    GL_CHECK (!cJSON_GetObjectItem (body, "results"));
    GL_CHECK_INT (cJSON_GetObjectItem (body, "resultsCount")->valueint, 0);
    cJSON_Delete (body);
    body = s_get ("tradier", "/v1/markets/history?symbol=SPY&interval=daily&start=2024-03-09&end=2024-03-10",
                  s_tradier, &status, &raw);
    GL_CHECK_STR (raw, "{\"history\":null}");
    free (raw);
    cJSON_Delete (body);
    body = s_get ("tradier", "/v1/markets/timesales?symbol=SPY&interval=1min&start=2024-12-25%2009:30&end=2024-12-25%2016:00",
                  s_tradier, &status, &raw);
    GL_CHECK_STR (raw, "{\"series\":null}");
    free (raw);
    cJSON_Delete (body);
    static const char *no_accept [] = { "Authorization: Bearer tk-alpha", NULL };
    body = s_get ("tradier", "/v1/markets/history?symbol=SPY&interval=daily&start=2024-03-12&end=2024-03-12",
                  no_accept, &status, &raw);
    GL_CHECK (!body && strncmp (raw, "<?xml", 5) == 0 && strstr (raw, "<date>2024-03-12</date>"));
    free (raw);
    body = s_get ("alpaca", "/v2/stocks/AAPL/bars?timeframe=1Min&start=2024-12-25&end=2024-12-25",
                  s_alpaca, &status, NULL);
    GL_CHECK (cJSON_IsNull (cJSON_GetObjectItem (body, "bars")));
    cJSON_Delete (body);
}

//  Yahoo's nulls fall where gl_simbars_chance says; the same request
//  gives the same body; auth failures.
static void
s_test_determinism_and_auth (void)
{
    const char *path = "/v8/finance/chart/AAPL?period1=1710163800&period2=1710187200&interval=1m";
    long status;
    char *first, *second;
    cJSON *chart = s_get ("yahoo", path, NULL, &status, &first);
    cJSON_Delete (s_get ("yahoo", path, NULL, &status, &second));
    GL_CHECK_STR (first, second);
    cJSON *result = cJSON_GetArrayItem (cJSON_GetObjectItem (cJSON_GetObjectItem (chart, "chart"), "result"), 0);
    cJSON *stamps = cJSON_GetObjectItem (result, "timestamp");
    cJSON *quote = cJSON_GetArrayItem (cJSON_GetObjectItem (cJSON_GetObjectItem (result, "indicators"), "quote"), 0);
    cJSON *closes = cJSON_GetObjectItem (quote, "close");
    GL_CHECK_INT (cJSON_GetArraySize (stamps), 390);
    int nulls = 0, misplaced = 0;
    for (int index = 0; index < cJSON_GetArraySize (stamps); index++) {
        int64_t start = (int64_t) cJSON_GetArrayItem (stamps, index)->valuedouble;
        bool expected = gl_simbars_chance ("AAPL", GL_TF_1M, start, GL_SIMBARS_SALT_YAHOO_NULL) < 0.05;
        bool is_null = cJSON_IsNull (cJSON_GetArrayItem (closes, index));
        nulls += is_null;
        misplaced += expected != is_null;
    }
    GL_CHECK (nulls > 0);
    GL_CHECK_INT (misplaced, 0);
    cJSON_Delete (chart);
    free (first);
    free (second);

    static const char *wrong_secret [] = { "APCA-API-KEY-ID: AKID", "APCA-API-SECRET-KEY: nope", NULL };
    cJSON *refusal = s_get ("alpaca", "/v2/stocks/AAPL/bars?timeframe=1Day&start=2024-03-01&end=2024-03-02",
                            wrong_secret, &status, NULL);
    GL_CHECK_INT (status, 401);
    GL_CHECK (cJSON_GetObjectItem (refusal, "message"));
    cJSON_Delete (refusal);
    static const char *wrong_token [] = { "Authorization: Bearer nope", NULL };
    cJSON_Delete (s_get ("tradier", "/v1/markets/history?symbol=SPY&start=2024-03-01&end=2024-03-02",
                         wrong_token, &status, &first));
    GL_CHECK_INT (status, 401);
    GL_CHECK_STR (first, "Invalid Access Token");
    free (first);
}

int
main (void)
{
    s_calendar = gl_calendar_new (GL_CALENDAR_XNYS);
    s_sim = gl_simclient_new (s_config, NULL);
    GL_CHECK (s_sim);
    if (s_sim) {
        s_test_shapes ();
        s_test_polygon_pages ();
        s_test_alpaca_pages ();
        s_test_empty_days ();
        s_test_determinism_and_auth ();
        GL_CHECK_INT (gl_simclient_stop (s_sim), 0);
    }
    gl_simclient_destroy (&s_sim);
    gl_calendar_destroy (&s_calendar);
    return gl_test_done ("test_sim_providers");
}
