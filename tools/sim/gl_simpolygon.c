/*  gl_simpolygon — Polygon.io aggregates. See gl_simpolygon.h.

    Quirks kept: epoch-ms timestamps, daily bars at 00:00 New York, no
    "results" key when empty, status "OK" (or "DELAYED" by option), limit
    counting base aggregates (minutes for intraday bars), and pagination
    by next_url, which carries a cursor but never the apiKey.
*/
#include "gl_simpolygon.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LIMIT_DEFAULT 5000
#define LIMIT_MAX 50000

typedef struct {
    char symbol [GL_SIMBARS_SYMBOL_MAX + 1];
    char multiplier [16];
    char timespan [16];
    char from [32];
    char to [32];
    gl_timeframe_t timeframe;
    int64_t limit;
    bool adjusted;
    char request_id [40];
} s_query_t;

//  apiKey query argument, or an Authorization: Bearer header.
static void
s_credential (gl_simrequest_t *request, char *buffer, size_t size)
{
    const char *key = gl_simrequest_query (request, "apiKey");
    const char *authorization = gl_simrequest_header (request, "Authorization");
    if (!key && authorization && strncmp (authorization, "Bearer ", 7) == 0)
        key = authorization + 7;
    snprintf (buffer, size, "%s", key? key: "");
}

//  Renders {"status":...,"request_id":...,<field>:message}.
static void
s_error (gl_simresponse_t *response, int code, const char *status, const char *request_id,
         const char *field, const char *message)
{
    response->status = code;
    response->content_type = "application/json";
    gl_simtext_clear (response->body);
    gl_simtext_printf (response->body, "{\"status\":\"%s\",\"request_id\":\"%s\",\"%s\":\"%s\"}",
                       status, request_id, field, message);
    gl_simresponse_header (response, "X-Request-Id", "%s", request_id);
}

//  Maps multiplier and timespan to a timeframe, GL_TF_INVALID if unserved.
static gl_timeframe_t
s_timeframe (const char *multiplier, const char *timespan)
{
    int64_t count;
    if (gl_simhttp_parse_integer (multiplier, &count) != 0)
        return GL_TF_INVALID;
    int64_t unit = strcmp (timespan, "minute") == 0? 60:
                   strcmp (timespan, "hour") == 0? 3600:
                   strcmp (timespan, "day") == 0? 86400:
                   strcmp (timespan, "week") == 0? 604800: 0;
    static const gl_timeframe_t timeframes [] = {
        GL_TF_1M, GL_TF_5M, GL_TF_15M, GL_TF_30M, GL_TF_1H, GL_TF_4H, GL_TF_1D, GL_TF_1W
    };
    for (size_t index = 0; index < sizeof timeframes / sizeof timeframes [0]; index++)
        if (gl_timeframe_seconds (timeframes [index]) == count * unit)
            return timeframes [index];
    return GL_TF_INVALID;
}

//  Splits the path into the query's parts; returns 0 or -1.
static int
s_parse_path (const char *path, s_query_t *query)
{
    int used = 0;
    if (sscanf (path, "/v2/aggs/ticker/%16[^/]/range/%15[^/]/%15[^/]/%31[^/]/%31[^/]%n",
                query->symbol, query->multiplier, query->timespan, query->from, query->to,
                &used) != 5 || path [used])
        return -1;
    return gl_simbars_symbol_valid (query->symbol)? 0: -1;
}

//  Applies "limit=N&sort=asc&adjusted=true" from a next_url cursor.
static int
s_apply_cursor (const char *cursor, s_query_t *query)
{
    char decoded [128];
    char adjusted [8] = "true";
    long long limit;
    if (gl_simhttp_base64_decode (cursor, decoded, sizeof decoded) != 0
        || sscanf (decoded, "limit=%lld&sort=asc&adjusted=%7s", &limit, adjusted) != 2)
        return -1;
    query->limit = limit;
    query->adjusted = strcmp (adjusted, "false") != 0;
    return 0;
}

//  Sets one window bound from a "YYYY-MM-DD" or epoch-ms text.
static int
s_bound (const char *text, bool lower, gl_simwindow_t *window)
{
    int64_t value;
    if (gl_simhttp_parse_date (text, &value) == 0) {
        *(lower? &window->first_day: &window->last_day) = value;
        return 0;
    }
    if (gl_simhttp_parse_integer (text, &value) != 0 || value < 0)
        return -1;
    if (lower)
        window->first_stamp = (value + 999) / 1000;
    else
        window->last_stamp = value / 1000;
    return 0;
}

//  Reads parameters; renders the provider's 400 and returns -1 if bad.
static int
s_parse (gl_simrequest_t *request, s_query_t *query, gl_simwindow_t *window,
         gl_simresponse_t *response)
{
    char identity [512];
    const char *cursor = gl_simrequest_query (request, "cursor");
    const char *limit = gl_simrequest_query (request, "limit");
    const char *sort = gl_simrequest_query (request, "sort");
    const char *adjusted = gl_simrequest_query (request, "adjusted");
    snprintf (identity, sizeof identity, "%s|%s|%s|%s|%s", request->path,
              cursor? cursor: "", limit? limit: "", sort? sort: "", adjusted? adjusted: "");
    gl_simhttp_hash_hex (identity, query->request_id, sizeof query->request_id);

    const char *problem = NULL;
    query->limit = LIMIT_DEFAULT;
    query->adjusted = !adjusted || strcmp (adjusted, "false") != 0;
    gl_simwindow_init (window);
    if (s_parse_path (request->path, query) != 0)
        problem = "Could not parse the request path: /v2/aggs/ticker/{ticker}/range/{multiplier}/{timespan}/{from}/{to}";
    else
    if ((query->timeframe = s_timeframe (query->multiplier, query->timespan)) == GL_TF_INVALID)
        problem = "Unsupported multiplier/timespan: the sim serves 1,5,15,30 minute, 1,4 hour, 1 day, 1 week";
    else
    if (cursor && s_apply_cursor (cursor, query) != 0)
        problem = "Invalid cursor";
    else
    if (!cursor && limit && gl_simhttp_parse_integer (limit, &query->limit) != 0)
        problem = "Invalid limit: expected an integer from 1 to 50000";
    else
    if (query->limit < 1 || query->limit > LIMIT_MAX)
        problem = "Invalid limit: expected an integer from 1 to 50000";
    else
    if (sort && strcmp (sort, "asc") != 0)
        problem = "The sim serves sort=asc only";
    else
    if (s_bound (query->from, true, window) != 0 || s_bound (query->to, false, window) != 0)
        problem = "Could not parse from/to: expected YYYY-MM-DD or a millisecond timestamp";
    if (problem) {
        s_error (response, 400, "ERROR", query->request_id, "error", problem);
        return -1;
    }
    return 0;
}

//  Base aggregates scanned per bar: minutes for intraday bars, else 1.
static int64_t
s_base_per_bar (gl_timeframe_t timeframe)
{
    return gl_timeframe_is_intraday (timeframe)? gl_timeframe_seconds (timeframe) / 60: 1;
}

//  Renders one result object.
static void
s_bar (gl_simtext_t *body, const gl_simbar_t *bar, int64_t stamp)
{
    gl_simtext_printf (body, "{\"v\":%lld,\"vw\":", (long long) bar->volume);
    gl_simtext_cents (body, bar->vwap);
    gl_simtext_append (body, ",\"o\":");
    gl_simtext_cents (body, bar->open);
    gl_simtext_append (body, ",\"c\":");
    gl_simtext_cents (body, bar->close);
    gl_simtext_append (body, ",\"h\":");
    gl_simtext_cents (body, bar->high);
    gl_simtext_append (body, ",\"l\":");
    gl_simtext_cents (body, bar->low);
    gl_simtext_printf (body, ",\"t\":%lld,\"n\":%lld}", (long long) stamp * 1000,
                       (long long) bar->trades);
}

//  Renders the page of bars (none: the empty form) and next_url.
static void
s_render (gl_simrequest_t *request, s_query_t *query, gl_simbar_t *bars, size_t count,
          gl_simresponse_t *response)
{
    int64_t page = query->limit / s_base_per_bar (query->timeframe);
    size_t shown = count < (size_t) (page > 0? page: 1)? count: (size_t) (page > 0? page: 1);
    gl_simtext_t *body = response->body;
    response->status = 200;
    response->content_type = "application/json";
    gl_simtext_clear (body);
    gl_simtext_printf (body, "{\"ticker\":\"%s\",\"queryCount\":%lld,\"resultsCount\":%zu,"
                       "\"adjusted\":%s", query->symbol,
                       (long long) (shown * (size_t) s_base_per_bar (query->timeframe)), shown,
                       query->adjusted? "true": "false");
    if (shown) {
        gl_simtext_append (body, ",\"results\":[");
        for (size_t index = 0; index < shown; index++) {
            if (index)
                gl_simtext_append (body, ",");
            s_bar (body, &bars [index], gl_simbars_stamp (request->calendar,
                   GL_SIMBARS_NEW_YORK_MIDNIGHT, query->timeframe, bars [index].start));
        }
        gl_simtext_append (body, "]");
    }
    gl_simtext_printf (body, ",\"status\":\"%s\",\"request_id\":\"%s\"",
                       gl_simrequest_option (request, "status", "OK"), query->request_id);
    if (shown)
        gl_simtext_printf (body, ",\"count\":%zu", shown);
    if (shown < count) {
        char cursor_text [96], cursor [160];
        snprintf (cursor_text, sizeof cursor_text, "limit=%lld&sort=asc&adjusted=%s",
                  (long long) query->limit, query->adjusted? "true": "false");
        gl_simhttp_base64_encode (cursor_text, true, cursor, sizeof cursor);
        int64_t next = gl_simbars_stamp (request->calendar, GL_SIMBARS_NEW_YORK_MIDNIGHT,
                                         query->timeframe, bars [shown].start);
        gl_simtext_printf (body, ",\"next_url\":\"%s/v2/aggs/ticker/%s/range/%s/%s/%lld/%s?cursor=%s\"",
                           request->base_url, query->symbol, query->multiplier, query->timespan,
                           (long long) next * 1000, query->to, cursor);
    }
    gl_simtext_append (body, "}");
    gl_simresponse_header (response, "X-Request-Id", "%s", query->request_id);
}

//  GET /v2/aggs/ticker/...: the aggregates, paged.
static void
s_answer (gl_simrequest_t *request, bool empty, gl_simresponse_t *response)
{
    s_query_t query;
    gl_simwindow_t window;
    if (s_parse (request, &query, &window, response) != 0)
        return;
    gl_simbar_t *bars = NULL;
    size_t count = 0;
    if (!empty && gl_simwindow_bars (&window, request, query.symbol, query.timeframe,
                                     GL_SIMBARS_NEW_YORK_MIDNIGHT, &bars, &count) != 0) {
        s_error (response, 400, "ERROR", query.request_id, "error",
                 "Range too large for the sim: at most 500000 bars");
        return;
    }
    //  adjusted=false: raw prices, which jump at a configured split.
    if (!query.adjusted)
        gl_simbars_unsplit (gl_simrequest_option (request, "splits", ""), query.symbol, bars, count);
    s_render (request, &query, bars, count, response);
    free (bars);
}

//  Polygon's refusals, with the bodies the real API sends.
static void
s_refuse (gl_simrequest_t *request, gl_simhttp_refusal_t refusal, gl_simresponse_t *response)
{
    char request_id [40];
    gl_simhttp_hash_hex (request->path, request_id, sizeof request_id);
    if (refusal == GL_SIMHTTP_MISSING_KEY)
        s_error (response, 401, "ERROR", request_id, "error", "API Key was not provided");
    else
    if (refusal == GL_SIMHTTP_UNKNOWN_KEY)
        s_error (response, 401, "ERROR", request_id, "error", "Unknown API Key");
    else
    if (refusal == GL_SIMHTTP_FORBIDDEN_KEY)
        s_error (response, 403, "NOT_AUTHORIZED", request_id, "message",
                 "Your plan doesn't include this data timeframe. Please upgrade your plan at https://polygon.io/pricing");
    else
    if (refusal == GL_SIMHTTP_OVER_LIMIT)
        s_error (response, 429, "ERROR", request_id, "error",
                 "You've exceeded the maximum requests per minute, please wait or upgrade your subscription to continue. https://polygon.io/pricing");
    else
        s_error (response, 403, "NOT_AUTHORIZED", request_id, "message",
                 "Your API key is temporarily blocked after repeated requests over the limit.");
}

static const gl_simprovider_t s_provider = {
    "polygon", s_credential, s_answer, s_refuse, NULL
};

const gl_simprovider_t *
gl_simpolygon_provider (void)
{
    return &s_provider;
}
