/*  gl_simyahoo — Yahoo Finance chart v8. See gl_simyahoo.h.

    Quirks kept: parallel arrays, prices passed through float32
    (74.05999755859375; round to meta.priceHint), daily and weekly bars
    stamped at the session open, nulls at a deterministic fraction of
    indexes (option null_rate, decided by gl_simbars_chance with
    GL_SIMBARS_SALT_YAHOO_NULL), meta.gmtoffset and currentTradingPeriod
    of the last session before period2 (so they can disagree with bars
    across a DST change), chart.error objects on 400/404/422, the empty
    form without "timestamp" and with quote:[{}], and a plain-text 429.
*/
#include "gl_simyahoo.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ONE_MINUTE_DAYS_MAX 7

typedef struct {
    char symbol [GL_SIMBARS_SYMBOL_MAX + 1];
    const char *interval;
    gl_timeframe_t timeframe;
    int64_t period1;
    int64_t period2;
} s_query_t;

//  The crumb query argument (real Yahoo pairs it with a cookie); only
//  checked when sim/yahoo/keys lists crumbs.
static void
s_credential (gl_simrequest_t *request, char *buffer, size_t size)
{
    const char *crumb = gl_simrequest_query (request, "crumb");
    snprintf (buffer, size, "%s", crumb? crumb: "");
}

//  Renders {"chart":{"result":null,"error":{code,description}}}.
static void
s_error (gl_simresponse_t *response, int status, const char *code, const char *description)
{
    response->status = status;
    response->content_type = "application/json;charset=utf-8";
    gl_simtext_clear (response->body);
    gl_simtext_printf (response->body,
                       "{\"chart\":{\"result\":null,\"error\":{\"code\":\"%s\",\"description\":\"%s\"}}}",
                       code, description);
}

//  Maps a Yahoo interval to a timeframe.
static gl_timeframe_t
s_timeframe (const char *interval)
{
    static const struct { const char *name; gl_timeframe_t timeframe; } map [] = {
        { "1m", GL_TF_1M }, { "5m", GL_TF_5M }, { "15m", GL_TF_15M }, { "30m", GL_TF_30M },
        { "60m", GL_TF_1H }, { "1h", GL_TF_1H }, { "1d", GL_TF_1D }, { "1wk", GL_TF_1W },
    };
    for (size_t index = 0; index < sizeof map / sizeof map [0]; index++)
        if (strcmp (map [index].name, interval) == 0)
            return map [index].timeframe;
    return GL_TF_INVALID;
}

//  Reads parameters; renders Yahoo's error and returns -1 if bad.
static int
s_parse (gl_simrequest_t *request, s_query_t *query, gl_simresponse_t *response)
{
    int used = 0;
    if (sscanf (request->path, "/v8/finance/chart/%16[^/]%n", query->symbol, &used) != 1
        || request->path [used] || !gl_simbars_symbol_valid (query->symbol)) {
        s_error (response, 404, "Not Found", "No data found, symbol may be delisted");
        return -1;
    }
    const char *interval = gl_simrequest_query (request, "interval");
    query->interval = interval? interval: "1d";
    query->timeframe = s_timeframe (query->interval);
    char description [200];
    if (query->timeframe == GL_TF_INVALID) {
        snprintf (description, sizeof description,
                  "Invalid input - interval=%.20s is not supported. Valid intervals: [1m, 5m, 15m, 30m, 60m, 1h, 1d, 1wk]",
                  query->interval);
        s_error (response, 400, "Bad Request", description);
        return -1;
    }
    if (gl_simhttp_parse_integer (gl_simrequest_query (request, "period1"), &query->period1) != 0
        || gl_simhttp_parse_integer (gl_simrequest_query (request, "period2"), &query->period2) != 0
        || query->period1 < 0 || query->period2 <= query->period1) {
        s_error (response, 400, "Bad Request",
                 "Invalid input - period1 and period2 must be epoch seconds with period1 < period2");
        return -1;
    }
    if (query->timeframe == GL_TF_1M && query->period2 - query->period1 > ONE_MINUTE_DAYS_MAX * 86400) {
        snprintf (description, sizeof description,
                  "1m data not available for startTime=%lld and endTime=%lld. Only 7 days worth of 1m granularity data are allowed to be fetched per request.",
                  (long long) query->period1, (long long) query->period2);
        s_error (response, 422, "Unprocessable Entity", description);
        return -1;
    }
    return 0;
}

//  Appends a price as Yahoo sends it: a float32 widened to double.
static void
s_price (gl_simtext_t *body, int64_t cents)
{
    gl_simtext_printf (body, "%.17g", (double) (float) ((double) cents / 100.0));
}

//  Appends one trading period object.
static void
s_period (gl_simtext_t *body, int64_t start, int64_t end, int64_t offset)
{
    gl_simtext_printf (body, "{\"timezone\":\"%s\",\"start\":%lld,\"end\":%lld,\"gmtoffset\":%lld}",
                       offset == -14400? "EDT": "EST", (long long) start, (long long) end,
                       (long long) offset);
}

//  Appends {"pre":..,"regular":..,"post":..} for the session opening at open.
static void
s_session_periods (gl_simtext_t *body, int64_t open, int64_t close, int64_t offset)
{
    int64_t midnight = open - 34200;
    gl_simtext_append (body, "\"pre\":");
    s_period (body, midnight + 14400, open, offset);
    gl_simtext_append (body, ",\"regular\":");
    s_period (body, open, close, offset);
    gl_simtext_append (body, ",\"post\":");
    s_period (body, close, midnight + 72000, offset);
}

//  Appends "tradingPeriods": per part, one [period] per session of the bars.
static void
s_trading_periods (gl_simrequest_t *request, gl_simbar_t *bars, size_t count, gl_simtext_t *body)
{
    static const char *parts [3] = { "pre", "regular", "post" };
    gl_simtext_append (body, ",\"tradingPeriods\":{");
    for (int part = 0; part < 3; part++) {
        gl_simtext_printf (body, "%s\"%s\":[", part? ",": "", parts [part]);
        int64_t last_day = -1;
        for (size_t index = 0; index < count; index++) {
            int64_t day = bars [index].start / 86400;
            int64_t open, close;
            if (day == last_day || gl_calendar_next_session (request->calendar, day * 86400,
                                                             &open, &close) != 0)
                continue;
            int64_t midnight = open - 34200;
            int64_t offset = gl_simbars_new_york_offset (request->calendar, open);
            gl_simtext_append (body, last_day < 0? "[": ",[");
            s_period (body, part == 0? midnight + 14400: part == 1? open: close,
                      part == 0? open: part == 1? close: midnight + 72000, offset);
            gl_simtext_append (body, "]");
            last_day = day;
        }
        gl_simtext_append (body, "]");
    }
    gl_simtext_append (body, "}");
}

//  Appends the meta object.
static void
s_meta (gl_simrequest_t *request, s_query_t *query, gl_simbar_t *bars, size_t count,
        gl_simtext_t *body)
{
    int64_t open = 0, close = 0;
    gl_calendar_previous_session (request->calendar, query->period2, &open, &close);
    int64_t offset = gl_simbars_new_york_offset (request->calendar, open);
    int64_t last_time = count? gl_simbars_stamp (request->calendar, GL_SIMBARS_SESSION_OPEN,
                                                 query->timeframe, bars [count - 1].start): close;
    gl_simtext_printf (body, "\"meta\":{\"currency\":\"USD\",\"symbol\":\"%s\",\"exchangeName\":\"NMS\","
                       "\"instrumentType\":\"EQUITY\",\"firstTradeDate\":345479400,"
                       "\"regularMarketTime\":%lld,\"gmtoffset\":%lld,\"timezone\":\"%s\","
                       "\"exchangeTimezoneName\":\"America/New_York\",\"regularMarketPrice\":",
                       query->symbol, (long long) last_time, (long long) offset,
                       offset == -14400? "EDT": "EST");
    gl_simtext_cents (body, count? bars [count - 1].close: 10000);
    gl_simtext_append (body, ",\"chartPreviousClose\":");
    gl_simtext_cents (body, count? bars [0].open: 10000);
    if (gl_timeframe_is_intraday (query->timeframe)) {
        gl_simtext_append (body, ",\"previousClose\":");
        gl_simtext_cents (body, count? bars [0].open: 10000);
        gl_simtext_append (body, ",\"scale\":3");
    }
    gl_simtext_append (body, ",\"priceHint\":2,\"currentTradingPeriod\":{");
    s_session_periods (body, open, close, offset);
    gl_simtext_append (body, "}");
    if (gl_timeframe_is_intraday (query->timeframe)) {
        if (count == 0)
            gl_simtext_append (body, ",\"tradingPeriods\":{\"pre\":[],\"post\":[]}");
        else
            s_trading_periods (request, bars, count, body);
    }
    gl_simtext_printf (body, ",\"dataGranularity\":\"%s\",\"range\":\"\",\"validRanges\":"
                       "[\"1d\",\"5d\",\"1mo\",\"3mo\",\"6mo\",\"1y\",\"2y\",\"5y\",\"10y\",\"ytd\",\"max\"]}",
                       query->interval);
}

typedef enum { OPEN, HIGH, LOW, CLOSE, VOLUME, ADJCLOSE } s_field_t;

//  Appends one parallel array of the bars' field, null where chosen.
static void
s_array (gl_simtext_t *body, const char *name, s_field_t field, gl_simbar_t *bars,
         bool *nulls, size_t count)
{
    gl_simtext_printf (body, "\"%s\":[", name);
    for (size_t index = 0; index < count; index++) {
        gl_simbar_t *bar = &bars [index];
        if (index)
            gl_simtext_append (body, ",");
        if (nulls [index])
            gl_simtext_append (body, "null");
        else
        if (field == VOLUME)
            gl_simtext_printf (body, "%lld", (long long) bar->volume);
        else
            s_price (body, field == OPEN? bar->open: field == HIGH? bar->high:
                           field == LOW? bar->low: bar->close);
    }
    gl_simtext_append (body, "]");
}

//  Renders the chart for the bars (none: the empty form).
static void
s_render (gl_simrequest_t *request, s_query_t *query, gl_simbar_t *bars, bool *nulls,
          size_t count, gl_simresponse_t *response)
{
    gl_simtext_t *body = response->body;
    response->status = 200;
    response->content_type = "application/json;charset=utf-8";
    gl_simtext_clear (body);
    gl_simtext_append (body, "{\"chart\":{\"result\":[{");
    s_meta (request, query, bars, count, body);
    if (count == 0) {
        gl_simtext_append (body, ",\"indicators\":{\"quote\":[{}]}}],\"error\":null}}");
        return;
    }
    gl_simtext_append (body, ",\"timestamp\":[");
    for (size_t index = 0; index < count; index++)
        gl_simtext_printf (body, "%s%lld", index? ",": "",
                           (long long) gl_simbars_stamp (request->calendar, GL_SIMBARS_SESSION_OPEN,
                                                         query->timeframe, bars [index].start));
    gl_simtext_append (body, "],\"indicators\":{\"quote\":[{");
    s_array (body, "open", OPEN, bars, nulls, count);
    gl_simtext_append (body, ",");
    s_array (body, "close", CLOSE, bars, nulls, count);
    gl_simtext_append (body, ",");
    s_array (body, "volume", VOLUME, bars, nulls, count);
    gl_simtext_append (body, ",");
    s_array (body, "high", HIGH, bars, nulls, count);
    gl_simtext_append (body, ",");
    s_array (body, "low", LOW, bars, nulls, count);
    gl_simtext_append (body, "}]");
    if (!gl_timeframe_is_intraday (query->timeframe)) {
        gl_simtext_append (body, ",\"adjclose\":[{");
        s_array (body, "adjclose", ADJCLOSE, bars, nulls, count);
        gl_simtext_append (body, "}]");
    }
    gl_simtext_append (body, "}}],\"error\":null}}");
}

//  GET /v8/finance/chart/{T}: the chart for [period1, period2).
static void
s_answer (gl_simrequest_t *request, bool empty, gl_simresponse_t *response)
{
    s_query_t query;
    if (s_parse (request, &query, response) != 0)
        return;
    gl_simwindow_t window;
    gl_simwindow_init (&window);
    window.first_stamp = query.period1;
    window.last_stamp = query.period2 - 1;
    gl_simbar_t *bars = NULL;
    size_t count = 0;
    if (!empty && gl_simwindow_bars (&window, request, query.symbol, query.timeframe,
                                     GL_SIMBARS_SESSION_OPEN, &bars, &count) != 0) {
        s_error (response, 400, "Bad Request", "Range too large for the sim: at most 500000 bars");
        return;
    }
    bool *nulls = (bool *) calloc (count + 1, sizeof (bool));
    if (!nulls) {
        free (bars);
        s_error (response, 500, "Internal Server Error", "out of memory");
        return;
    }
    double null_rate = atof (gl_simrequest_option (request, "null_rate", "0"));
    for (size_t index = 0; index < count; index++)
        nulls [index] = gl_simbars_chance (query.symbol, query.timeframe, bars [index].start,
                                           GL_SIMBARS_SALT_YAHOO_NULL) < null_rate;
    s_render (request, &query, bars, nulls, count, response);
    free (nulls);
    free (bars);
}

//  Yahoo's refusals: a plain-text 429, JSON errors otherwise.
static void
s_refuse (gl_simrequest_t *request, gl_simhttp_refusal_t refusal, gl_simresponse_t *response)
{
    if (refusal == GL_SIMHTTP_OVER_LIMIT)
        gl_simresponse_set (response, 429, "text/plain", "Edge: Too Many Requests");
    else
    if (refusal == GL_SIMHTTP_BANNED)
        s_error (response, 403, "Forbidden", "Access temporarily blocked after repeated requests over the limit");
    else
    if (refusal == GL_SIMHTTP_FORBIDDEN_KEY)
        s_error (response, 403, "Forbidden", "User is not allowed to access this resource");
    else
        s_error (response, 401, "Unauthorized", "Invalid Crumb");
}

static const gl_simprovider_t s_provider = {
    "yahoo", s_credential, s_answer, s_refuse, NULL
};

const gl_simprovider_t *
gl_simyahoo_provider (void)
{
    return &s_provider;
}
