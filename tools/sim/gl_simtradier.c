/*  gl_simtradier — Tradier market data. See gl_simtradier.h.

    Quirks kept: JSON only with "Accept: application/json" (XML
    otherwise), one item as an object instead of an array, "history":null
    and "series":null for no data, timesales "time" in New York local time
    without offset, "price" with float artifacts, and the
    X-Ratelimit-Allowed/Used/Available/Expiry headers (expiry in epoch ms)
    on every response.
*/
#include "gl_simtradier.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *symbol;
    gl_timeframe_t timeframe;
    bool timesales;
    bool json;
    int64_t first_local;        //  timesales bounds, New York local seconds
    int64_t last_local;
} s_query_t;

//  Authorization: Bearer <token>.
static void
s_credential (gl_simrequest_t *request, char *buffer, size_t size)
{
    const char *authorization = gl_simrequest_header (request, "Authorization");
    bool bearer = authorization && strncmp (authorization, "Bearer ", 7) == 0;
    snprintf (buffer, size, "%s", bearer? authorization + 7: "");
}

//  Renders a plain-text error.
static void
s_error (gl_simresponse_t *response, int status, const char *message)
{
    gl_simresponse_set (response, status, "text/plain", message);
}

//  Parses a timesales bound: "YYYY-MM-DD HH:MM", "YYYY-MM-DDTHH:MM" or a
//  date (the day's start, or end for the upper bound), as local seconds.
static int
s_local_time (const char *text, bool upper, int64_t *local)
{
    int64_t day;
    char date [11];
    int hour, minute, used = 0;
    if (!text)
        return -1;
    if (gl_simhttp_parse_date (text, &day) == 0) {
        *local = day + (upper? 86399: 0);
        return 0;
    }
    if (strlen (text) < 16)
        return -1;
    memcpy (date, text, 10);
    date [10] = 0;
    if (gl_simhttp_parse_date (date, &day) != 0 || (text [10] != ' ' && text [10] != 'T')
        || sscanf (text + 11, "%2d:%2d%n", &hour, &minute, &used) != 2 || used != 5
        || (text [16] && strcmp (text + 16, ":00") != 0) || hour > 23 || minute > 59)
        return -1;
    *local = day + hour * 3600 + minute * 60;
    return 0;
}

//  Maps the interval parameter of the endpoint to a timeframe.
static gl_timeframe_t
s_timeframe (const char *interval, bool timesales)
{
    static const struct { const char *name; gl_timeframe_t timeframe; bool timesales; } map [] = {
        { "1min", GL_TF_1M, true }, { "5min", GL_TF_5M, true }, { "15min", GL_TF_15M, true },
        { "daily", GL_TF_1D, false }, { "weekly", GL_TF_1W, false },
    };
    for (size_t index = 0; interval && index < sizeof map / sizeof map [0]; index++)
        if (strcmp (map [index].name, interval) == 0 && map [index].timesales == timesales)
            return map [index].timeframe;
    return GL_TF_INVALID;
}

//  Reads the query and the window; renders a 400 and returns -1 if bad.
static int
s_parse (gl_simrequest_t *request, s_query_t *query, gl_simwindow_t *window,
         gl_simresponse_t *response)
{
    const char *accept = gl_simrequest_header (request, "Accept");
    bool xml_only = atoi (gl_simrequest_option (request, "xml_only", "0")) != 0;
    query->json = !xml_only && accept && strstr (accept, "application/json");
    query->timesales = strcmp (request->path, "/v1/markets/timesales") == 0;
    if (!query->timesales && strcmp (request->path, "/v1/markets/history") != 0) {
        s_error (response, 404, "Not Found");
        return -1;
    }
    query->symbol = gl_simrequest_query (request, "symbol");
    const char *interval = gl_simrequest_query (request, "interval");
    query->timeframe = s_timeframe (interval? interval: query->timesales? "1min": "daily",
                                    query->timesales);
    const char *start = gl_simrequest_query (request, "start");
    const char *end = gl_simrequest_query (request, "end");
    gl_simwindow_init (window);
    if (!gl_simbars_symbol_valid (query->symbol)) {
        s_error (response, 400, "Bad Request: symbol is required (1-16 of A-Z a-z 0-9 . - ^ = _)");
        return -1;
    }
    if (query->timeframe == GL_TF_INVALID) {
        s_error (response, 400, query->timesales? "Bad Request: interval must be 1min, 5min or 15min":
                 "Bad Request: interval must be daily or weekly");
        return -1;
    }
    int rc = query->timesales
        ? s_local_time (start, false, &query->first_local) | s_local_time (end, true, &query->last_local)
        : gl_simhttp_parse_date (start, &window->first_day) | gl_simhttp_parse_date (end, &window->last_day);
    if (rc == 0 && query->timesales) {
        window->first_day = query->first_local - query->first_local % 86400;
        window->last_day = query->last_local - query->last_local % 86400;
    }
    if (rc != 0) {
        s_error (response, 400, query->timesales? "Bad Request: start and end must be YYYY-MM-DD HH:MM (New York time)":
                 "Bad Request: start and end must be YYYY-MM-DD");
        return -1;
    }
    return 0;
}

//  Appends a number field "name":value (JSON) or <name>value</name> (XML).
static void
s_field (gl_simtext_t *body, bool json, bool first, const char *name, const char *value)
{
    if (json)
        gl_simtext_printf (body, "%s\"%s\":%s", first? "": ",", name, value);
    else
        gl_simtext_printf (body, "<%s>%s</%s>", name, value, name);
}

//  Appends the bar's fields in the order Tradier sends them.
static void
s_item (gl_simrequest_t *request, s_query_t *query, const gl_simbar_t *bar, gl_simtext_t *body)
{
    char value [64];
    bool json = query->json;
    if (query->timesales) {
        int64_t local = bar->start + gl_simbars_new_york_offset (request->calendar, bar->start);
        char time [32];
        gl_simhttp_format_time (local, time, sizeof time);
        snprintf (value, sizeof value, json? "\"%s\"": "%s", time);
        s_field (body, json, true, "time", value);
        snprintf (value, sizeof value, "%lld", (long long) bar->start);
        s_field (body, json, false, "timestamp", value);
        snprintf (value, sizeof value, "%.17g", (double) (bar->high + bar->low) / 200.0);
        s_field (body, json, false, "price", value);
    }
    else {
        char date [16];
        gl_simhttp_format_date (bar->start, date, sizeof date);
        snprintf (value, sizeof value, json? "\"%s\"": "%s", date);
        s_field (body, json, true, "date", value);
    }
    const char *names [4] = { "open", "high", "low", "close" };
    int64_t prices [4] = { bar->open, bar->high, bar->low, bar->close };
    for (int index = 0; index < 4; index++) {
        snprintf (value, sizeof value, "%lld.%02lld", (long long) (prices [index] / 100),
                  (long long) (prices [index] % 100));
        s_field (body, json, false, names [index], value);
    }
    snprintf (value, sizeof value, "%lld", (long long) bar->volume);
    s_field (body, json, false, "volume", value);
    if (query->timesales) {
        snprintf (value, sizeof value, "%lld.%02lld", (long long) (bar->vwap / 100),
                  (long long) (bar->vwap % 100));
        s_field (body, json, false, "vwap", value);
    }
}

//  Renders {"history":{"day":[..]}} / {"series":{"data":[..]}} or XML.
static void
s_render (gl_simrequest_t *request, s_query_t *query, gl_simbar_t *bars, size_t count,
          gl_simresponse_t *response)
{
    const char *outer = query->timesales? "series": "history";
    const char *inner = query->timesales? "data": "day";
    gl_simtext_t *body = response->body;
    response->status = 200;
    gl_simtext_clear (body);
    if (query->json) {
        response->content_type = "application/json";
        if (count == 0) {
            gl_simtext_printf (body, "{\"%s\":null}", outer);
            return;
        }
        gl_simtext_printf (body, "{\"%s\":{\"%s\":%s", outer, inner, count > 1? "[": "");
        for (size_t index = 0; index < count; index++) {
            gl_simtext_append (body, index? ",{": "{");
            s_item (request, query, &bars [index], body);
            gl_simtext_append (body, "}");
        }
        gl_simtext_append (body, count > 1? "]}}": "}}");
        return;
    }
    response->content_type = "application/xml";
    gl_simtext_printf (body, "<?xml version=\"1.0\" encoding=\"UTF-8\"?><%s>", outer);
    for (size_t index = 0; index < count; index++) {
        gl_simtext_printf (body, "<%s>", inner);
        s_item (request, query, &bars [index], body);
        gl_simtext_printf (body, "</%s>", inner);
    }
    gl_simtext_printf (body, "</%s>", outer);
}

//  GET /v1/markets/history and /v1/markets/timesales.
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
                                     GL_SIMBARS_CALENDAR, &bars, &count) != 0) {
        s_error (response, 400, "Bad Request: range too large for the sim (at most 500000 bars)");
        return;
    }
    //  Timesales are trade prints, raw: their prices jump at a configured split.
    if (query.timesales)
        gl_simbars_unsplit (gl_simrequest_option (request, "splits", ""), query.symbol, bars, count);
    //  Timesales bounds are New York local times: keep bars whose local
    //  start lies inside them.
    size_t kept = 0;
    for (size_t index = 0; index < count; index++) {
        int64_t local = bars [index].start
                      + gl_simbars_new_york_offset (request->calendar, bars [index].start);
        if (!query.timesales || (local >= query.first_local && local <= query.last_local))
            bars [kept++] = bars [index];
    }
    s_render (request, &query, bars, kept, response);
    free (bars);
}

//  Tradier's refusals: plain text.
static void
s_refuse (gl_simrequest_t *request, gl_simhttp_refusal_t refusal, gl_simresponse_t *response)
{
    if (refusal == GL_SIMHTTP_OVER_LIMIT)
        s_error (response, 429, "Quota Violation");
    else
    if (refusal == GL_SIMHTTP_BANNED)
        s_error (response, 403, "Forbidden: access suspended after repeated quota violations");
    else
    if (refusal == GL_SIMHTTP_FORBIDDEN_KEY)
        s_error (response, 403, "Forbidden");
    else
        s_error (response, 401, "Invalid Access Token");
}

//  X-Ratelimit-Allowed/Used/Available/Expiry on every response.
static void
s_decorate (const gl_simlimit_status_t *status, gl_simresponse_t *response)
{
    if (status->allowed == 0)
        return;
    gl_simresponse_header (response, "X-Ratelimit-Allowed", "%lld", (long long) status->allowed);
    gl_simresponse_header (response, "X-Ratelimit-Used", "%lld", (long long) status->used);
    gl_simresponse_header (response, "X-Ratelimit-Available", "%lld", (long long) status->available);
    gl_simresponse_header (response, "X-Ratelimit-Expiry", "%lld", (long long) status->reset_ms);
}

static const gl_simprovider_t s_provider = {
    "tradier", s_credential, s_answer, s_refuse, s_decorate
};

const gl_simprovider_t *
gl_simtradier_provider (void)
{
    return &s_provider;
}
