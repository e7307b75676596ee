/*  gl_simfinnhub — Finnhub stock candles. See gl_simfinnhub.h.

    Quirks kept: parallel arrays {c,h,l,o,s,t,v} with t in epoch seconds,
    daily bars at 00:00Z of the session date, {"s":"no_data"} at HTTP 200
    when empty, JSON {"error":...} bodies, and X-Ratelimit-Limit /
    Remaining / Reset (epoch seconds) headers.
*/
#include "gl_simfinnhub.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

//  token= query argument or X-Finnhub-Token header.
static void
s_credential (gl_simrequest_t *request, char *buffer, size_t size)
{
    const char *token = gl_simrequest_query (request, "token");
    if (!token)
        token = gl_simrequest_header (request, "X-Finnhub-Token");
    snprintf (buffer, size, "%s", token? token: "");
}

//  Renders {"error":message}.
static void
s_error (gl_simresponse_t *response, int status, const char *message)
{
    response->status = status;
    response->content_type = "application/json; charset=utf-8";
    gl_simtext_clear (response->body);
    gl_simtext_printf (response->body, "{\"error\":\"%s\"}", message);
}

//  Maps a resolution to a timeframe.
static gl_timeframe_t
s_timeframe (const char *resolution)
{
    static const struct { const char *name; gl_timeframe_t timeframe; } map [] = {
        { "1", GL_TF_1M }, { "5", GL_TF_5M }, { "15", GL_TF_15M }, { "30", GL_TF_30M },
        { "60", GL_TF_1H }, { "D", GL_TF_1D }, { "W", GL_TF_1W },
    };
    for (size_t index = 0; resolution && index < sizeof map / sizeof map [0]; index++)
        if (strcmp (map [index].name, resolution) == 0)
            return map [index].timeframe;
    return GL_TF_INVALID;
}

typedef enum { CLOSE, HIGH, LOW, OPEN } s_price_t;

//  Appends "name":[prices of the field].
static void
s_prices (gl_simtext_t *body, const char *name, s_price_t field, gl_simbar_t *bars, size_t count)
{
    gl_simtext_printf (body, "\"%s\":[", name);
    for (size_t index = 0; index < count; index++) {
        if (index)
            gl_simtext_append (body, ",");
        gl_simtext_cents (body, field == CLOSE? bars [index].close: field == HIGH? bars [index].high:
                                field == LOW? bars [index].low: bars [index].open);
    }
    gl_simtext_append (body, "],");
}

//  GET /api/v1/stock/candle: candles with t in [from, to].
static void
s_answer (gl_simrequest_t *request, bool empty, gl_simresponse_t *response)
{
    if (strcmp (request->path, "/api/v1/stock/candle") != 0) {
        s_error (response, 404, "Not Found");
        return;
    }
    const char *symbol = gl_simrequest_query (request, "symbol");
    gl_timeframe_t timeframe = s_timeframe (gl_simrequest_query (request, "resolution"));
    gl_simwindow_t window;
    gl_simwindow_init (&window);
    if (!gl_simbars_symbol_valid (symbol) || timeframe == GL_TF_INVALID
        || gl_simhttp_parse_integer (gl_simrequest_query (request, "from"), &window.first_stamp) != 0
        || gl_simhttp_parse_integer (gl_simrequest_query (request, "to"), &window.last_stamp) != 0) {
        s_error (response, 422, "Wrong parameters: expected symbol, resolution (1,5,15,30,60,D,W), from and to in epoch seconds");
        return;
    }
    gl_simbar_t *bars = NULL;
    size_t count = 0;
    if (!empty && gl_simwindow_bars (&window, request, symbol, timeframe, GL_SIMBARS_CALENDAR,
                                     &bars, &count) != 0) {
        s_error (response, 422, "Range too large for the sim: at most 500000 bars");
        return;
    }
    //  Intraday bars are unadjusted: raw prices jump at a configured split.
    if (gl_timeframe_is_intraday (timeframe))
        gl_simbars_unsplit (gl_simrequest_option (request, "splits", ""), symbol, bars, count);
    gl_simtext_t *body = response->body;
    response->status = 200;
    response->content_type = "application/json; charset=utf-8";
    gl_simtext_clear (body);
    if (count == 0)
        gl_simtext_append (body, "{\"s\":\"no_data\"}");
    else {
        gl_simtext_append (body, "{");
        s_prices (body, "c", CLOSE, bars, count);
        s_prices (body, "h", HIGH, bars, count);
        s_prices (body, "l", LOW, bars, count);
        s_prices (body, "o", OPEN, bars, count);
        gl_simtext_append (body, "\"s\":\"ok\",\"t\":[");
        for (size_t index = 0; index < count; index++)
            gl_simtext_printf (body, "%s%lld", index? ",": "", (long long) bars [index].start);
        gl_simtext_append (body, "],\"v\":[");
        for (size_t index = 0; index < count; index++)
            gl_simtext_printf (body, "%s%lld", index? ",": "", (long long) bars [index].volume);
        gl_simtext_append (body, "]}");
    }
    free (bars);
}

//  Finnhub's refusals.
static void
s_refuse (gl_simrequest_t *request, gl_simhttp_refusal_t refusal, gl_simresponse_t *response)
{
    if (refusal == GL_SIMHTTP_MISSING_KEY)
        s_error (response, 401, "Please use an API key.");
    else
    if (refusal == GL_SIMHTTP_UNKNOWN_KEY)
        s_error (response, 401, "Invalid API key");
    else
    if (refusal == GL_SIMHTTP_FORBIDDEN_KEY)
        s_error (response, 403, "You don't have access to this resource.");
    else
    if (refusal == GL_SIMHTTP_OVER_LIMIT)
        s_error (response, 429, "API limit reached. Please try again later. Remaining Limit: 0");
    else
        s_error (response, 403, "Access suspended after repeated requests over the limit.");
}

static const gl_simprovider_t s_provider = {
    "finnhub", s_credential, s_answer, s_refuse, gl_simresponse_limit_headers
};

const gl_simprovider_t *
gl_simfinnhub_provider (void)
{
    return &s_provider;
}
