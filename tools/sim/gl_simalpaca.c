/*  gl_simalpaca — Alpaca market data v2 bars. See gl_simalpaca.h.

    Quirks kept: APCA-API-KEY-ID / APCA-API-SECRET-KEY headers (a key in
    sim/alpaca/keys is "<key id>:<secret>"), RFC 3339 "t" with Z, daily
    bars at 00:00 New York, limit default 1000 and at most 10000,
    next_page_token (base64 of "<symbol>|<timeframe>|<last t>") until
    null, "bars":null when empty, X-Ratelimit-Limit/Remaining/Reset.
    start/end are RFC 3339 instants (inclusive) or dates (whole days).
*/
#include "gl_simalpaca.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LIMIT_DEFAULT 1000
#define LIMIT_MAX 10000

typedef struct {
    char symbol [GL_SIMBARS_SYMBOL_MAX + 1];
    const char *timeframe_name;
    gl_timeframe_t timeframe;
    int64_t limit;
} s_query_t;

//  "<APCA-API-KEY-ID>:<APCA-API-SECRET-KEY>", or "" if either is missing.
static void
s_credential (gl_simrequest_t *request, char *buffer, size_t size)
{
    const char *key = gl_simrequest_header (request, "APCA-API-KEY-ID");
    const char *secret = gl_simrequest_header (request, "APCA-API-SECRET-KEY");
    if (key && secret)
        snprintf (buffer, size, "%s:%s", key, secret);
    else
        snprintf (buffer, size, "%s", "");
}

//  Renders {"code":code,"message":message} (code 0: message only).
static void
s_error (gl_simresponse_t *response, int status, int64_t code, const char *message)
{
    response->status = status;
    response->content_type = "application/json; charset=UTF-8";
    gl_simtext_clear (response->body);
    if (code)
        gl_simtext_printf (response->body, "{\"code\":%lld,\"message\":\"%s\"}", (long long) code, message);
    else
        gl_simtext_printf (response->body, "{\"message\":\"%s\"}", message);
}

//  Maps an Alpaca timeframe to a gapless one.
static gl_timeframe_t
s_timeframe (const char *name)
{
    static const struct { const char *name; gl_timeframe_t timeframe; } map [] = {
        { "1Min", GL_TF_1M }, { "5Min", GL_TF_5M }, { "15Min", GL_TF_15M }, { "30Min", GL_TF_30M },
        { "1Hour", GL_TF_1H }, { "4Hour", GL_TF_4H }, { "1Day", GL_TF_1D }, { "1Week", GL_TF_1W },
    };
    for (size_t index = 0; name && index < sizeof map / sizeof map [0]; index++)
        if (strcmp (map [index].name, name) == 0)
            return map [index].timeframe;
    return GL_TF_INVALID;
}

//  Sets one bound from an RFC 3339 instant or a date; 0 or -1.
static int
s_bound (const char *text, bool lower, gl_simwindow_t *window)
{
    int64_t value;
    if (gl_simhttp_parse_date (text, &value) == 0) {
        *(lower? &window->first_day: &window->last_day) = value;
        return 0;
    }
    if (gl_simhttp_parse_rfc3339 (text, &value) != 0)
        return -1;
    *(lower? &window->first_stamp: &window->last_stamp) = value;
    return 0;
}

//  Applies a page token: bars strictly after the token's time.
static int
s_apply_token (const char *token, s_query_t *query, gl_simwindow_t *window)
{
    char decoded [128], prefix [64];
    if (gl_simhttp_base64_decode (token, decoded, sizeof decoded) != 0)
        return -1;
    snprintf (prefix, sizeof prefix, "%s|%s|", query->symbol, query->timeframe_name);
    if (strncmp (decoded, prefix, strlen (prefix)) != 0)
        return -1;
    return gl_simhttp_parse_rfc3339 (decoded + strlen (prefix), &window->after_stamp);
}

//  Reads the request; renders Alpaca's 4xx and returns -1 if bad.
static int
s_parse (gl_simrequest_t *request, s_query_t *query, gl_simwindow_t *window,
         gl_simresponse_t *response)
{
    int used = 0;
    gl_simwindow_init (window);
    if (sscanf (request->path, "/v2/stocks/%16[^/]/bars%n", query->symbol, &used) != 1
        || request->path [used] || !gl_simbars_symbol_valid (query->symbol)) {
        s_error (response, 404, 0, "Not Found");
        return -1;
    }
    query->timeframe_name = gl_simrequest_query (request, "timeframe");
    query->timeframe = s_timeframe (query->timeframe_name);
    const char *limit = gl_simrequest_query (request, "limit");
    const char *start = gl_simrequest_query (request, "start");
    const char *end = gl_simrequest_query (request, "end");
    const char *token = gl_simrequest_query (request, "page_token");
    const char *sort = gl_simrequest_query (request, "sort");
    query->limit = LIMIT_DEFAULT;
    const char *problem = NULL;
    if (query->timeframe == GL_TF_INVALID)
        problem = "invalid timeframe: the sim serves 1Min, 5Min, 15Min, 30Min, 1Hour, 4Hour, 1Day, 1Week";
    else
    if (limit && (gl_simhttp_parse_integer (limit, &query->limit) != 0
                  || query->limit < 1 || query->limit > LIMIT_MAX))
        problem = "invalid limit: expected an integer from 1 to 10000";
    else
    if (!start || !end || s_bound (start, true, window) != 0 || s_bound (end, false, window) != 0)
        problem = "invalid start or end: expected RFC 3339 or YYYY-MM-DD (both required by the sim)";
    else
    if (sort && strcmp (sort, "asc") != 0)
        problem = "the sim serves sort=asc only";
    else
    if (token && s_apply_token (token, query, window) != 0)
        problem = "invalid page token";
    if (problem) {
        s_error (response, 422, 42210000, problem);
        return -1;
    }
    return 0;
}

//  Renders the page of bars with its next_page_token.
static void
s_render (gl_simrequest_t *request, s_query_t *query, gl_simbar_t *bars, size_t count,
          gl_simresponse_t *response)
{
    gl_simtext_t *body = response->body;
    size_t shown = count < (size_t) query->limit? count: (size_t) query->limit;
    char time [32];
    response->status = 200;
    response->content_type = "application/json; charset=UTF-8";
    gl_simtext_clear (body);
    if (shown == 0) {
        gl_simtext_printf (body, "{\"bars\":null,\"next_page_token\":null,\"symbol\":\"%s\"}",
                           query->symbol);
        return;
    }
    gl_simtext_append (body, "{\"bars\":[");
    int64_t stamp = 0;
    for (size_t index = 0; index < shown; index++) {
        gl_simbar_t *bar = &bars [index];
        stamp = gl_simbars_stamp (request->calendar, GL_SIMBARS_NEW_YORK_MIDNIGHT,
                                  query->timeframe, bar->start);
        gl_simhttp_format_time (stamp, time, sizeof time);
        gl_simtext_printf (body, "%s{\"t\":\"%sZ\",\"o\":", index? ",": "", time);
        gl_simtext_cents (body, bar->open);
        gl_simtext_append (body, ",\"h\":");
        gl_simtext_cents (body, bar->high);
        gl_simtext_append (body, ",\"l\":");
        gl_simtext_cents (body, bar->low);
        gl_simtext_append (body, ",\"c\":");
        gl_simtext_cents (body, bar->close);
        gl_simtext_printf (body, ",\"v\":%lld,\"n\":%lld,\"vw\":", (long long) bar->volume,
                           (long long) bar->trades);
        gl_simtext_cents (body, bar->vwap);
        gl_simtext_append (body, "}");
    }
    gl_simtext_printf (body, "],\"symbol\":\"%s\",\"next_page_token\":", query->symbol);
    if (shown < count) {
        char token_text [96], token [160];
        gl_simhttp_format_time (stamp, time, sizeof time);
        snprintf (token_text, sizeof token_text, "%s|%s|%s.000000000Z", query->symbol,
                  query->timeframe_name, time);
        gl_simhttp_base64_encode (token_text, false, token, sizeof token);
        gl_simtext_printf (body, "\"%s\"}", token);
    }
    else
        gl_simtext_append (body, "null}");
}

//  GET /v2/stocks/{T}/bars.
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
        s_error (response, 422, 42210000, "range too large for the sim: at most 500000 bars");
        return;
    }
    //  adjustment defaults to raw: raw prices jump at a configured split.
    const char *adjustment = gl_simrequest_query (request, "adjustment");
    if (!adjustment || strcmp (adjustment, "raw") == 0)
        gl_simbars_unsplit (gl_simrequest_option (request, "splits", ""), query.symbol, bars, count);
    s_render (request, &query, bars, count, response);
    free (bars);
}

//  Alpaca's refusals.
static void
s_refuse (gl_simrequest_t *request, gl_simhttp_refusal_t refusal, gl_simresponse_t *response)
{
    if (refusal == GL_SIMHTTP_FORBIDDEN_KEY)
        s_error (response, 403, 0, "subscription does not permit querying recent SIP data");
    else
    if (refusal == GL_SIMHTTP_OVER_LIMIT)
        s_error (response, 429, 42910000, "rate limit exceeded");
    else
    if (refusal == GL_SIMHTTP_BANNED)
        s_error (response, 403, 40310000, "access suspended after repeated requests over the limit");
    else
        s_error (response, 401, 40110000, "request is not authorized");
}

static const gl_simprovider_t s_provider = {
    "alpaca", s_credential, s_answer, s_refuse, gl_simresponse_limit_headers
};

const gl_simprovider_t *
gl_simalpaca_provider (void)
{
    return &s_provider;
}
