/*  gl_provider_tradier — Tradier market data:
    GET {base}/v1/markets/history?symbol&interval=daily|weekly&start&end
    (dates, inclusive) for 1d and 1w, and
    GET {base}/v1/markets/timesales?symbol&interval=1min|5min|15min&start&end
    ("YYYY-MM-DD HH:MM" New York time, inclusive) for 1m, 5m and 15m.

    Quirks: Authorization: Bearer plus Accept: application/json (else
    XML); one item comes as an object instead of an array; empty is
    "history":null / "series":null (or a null day/data); timesales "time"
    is New York local without offset and is checked against "timestamp";
    weekly and monthly dates are period starts, maybe not trading days;
    a "Quota Violation" text body is a rate limit; an Apigee fault with
    errorcode protocol.http.TooBigBody asks for a smaller range.
*/
#include "gl_provider_adapter.h"
#include <stdio.h>
#include <string.h>

//  The interval parameter of a timeframe, or NULL.
static const char *
s_interval (gl_timeframe_t timeframe)
{
    switch (timeframe) {
        case GL_TF_1M:  return "1min";
        case GL_TF_5M:  return "5min";
        case GL_TF_15M: return "15min";
        case GL_TF_1D:  return "daily";
        case GL_TF_1W:  return "weekly";
        default:        return NULL;
    }
}


//  The history or timesales URL.
static int
s_url (const gl_provider_query_t *query, const char *key, gl_provider_text_t *url, char *error)
{
    bool timesales = gl_timeframe_is_intraday (query->timeframe);
    char start [32], end [32];
    if (timesales) {
        if (!query->calendar) {
            snprintf (error, 256, "tradier timesales needs the calendar (New York times)");
            return -1;
        }
        gl_provider_format_local_minute (query->from,
            gl_provider_exchange_offset (query->calendar, query->from), start, sizeof start);
        gl_provider_format_local_minute (query->to - 1,
            gl_provider_exchange_offset (query->calendar, query->to - 1), end, sizeof end);
    }
    else {
        gl_provider_format_date (query->from, start, sizeof start);
        gl_provider_format_date (query->to - 1, end, sizeof end);
    }
    gl_provider_text_add (url, "%s/v1/markets/%s?symbol=", query->base_url,
                          timesales? "timesales": "history");
    gl_provider_text_escape (url, query->symbol);
    gl_provider_text_add (url, "&interval=%s&start=", s_interval (query->timeframe));
    gl_provider_text_escape (url, start);
    gl_provider_text_add (url, "&end=");
    gl_provider_text_escape (url, end);
    if (timesales)
        gl_provider_text_add (url, "&session_filter=open");
    return 0;
}

//  Bearer token, and JSON rather than the default XML.
static int
s_headers (const gl_provider_query_t *query, gl_provider_request_t *request, char *error)
{
    if (!query->key || !*query->key) {
        snprintf (error, 256, "tradier needs an access token");
        return -1;
    }
    return gl_provider_request_header (request, error, "Authorization: Bearer %s", query->key)
        || gl_provider_request_header (request, error, "Accept: application/json");
}

//  Adds one history day.
static int
s_add_day (gl_provider_parse_t *parse, const cJSON *item)
{
    gl_bar_t bar = { 0 };
    int64_t stamp = 0;
    bool complete = cJSON_IsObject (item)
                 && gl_provider_parse_time (gl_provider_string (item, "date"), &stamp) == 0
                 && gl_provider_number (item, "open", &bar.open)
                 && gl_provider_number (item, "high", &bar.high)
                 && gl_provider_number (item, "low", &bar.low)
                 && gl_provider_number (item, "close", &bar.close)
                 && gl_provider_number (item, "volume", &bar.volume);
    return gl_provider_add_bar (parse, stamp, GL_PROVIDER_STAMP_UTC_DATE, &bar, !complete);
}

//  Adds one timesales bar; time (New York, no offset) must name the same
//  instant as timestamp.
static int
s_add_sale (gl_provider_parse_t *parse, const cJSON *item)
{
    gl_bar_t bar = { 0 };
    double timestamp = 0;
    int64_t local = 0;
    bool complete = cJSON_IsObject (item)
                 && gl_provider_number (item, "timestamp", &timestamp)
                 && timestamp > -1e13 && timestamp < 1e13
                 && gl_provider_number (item, "open", &bar.open)
                 && gl_provider_number (item, "high", &bar.high)
                 && gl_provider_number (item, "low", &bar.low)
                 && gl_provider_number (item, "close", &bar.close)
                 && gl_provider_number (item, "volume", &bar.volume);
    bar.has_vwap = complete && gl_provider_number (item, "vwap", &bar.vwap);
    int64_t stamp = complete? (int64_t) timestamp: 0;
    const char *time = complete? gl_provider_string (item, "time"): NULL;
    if (time && (gl_provider_parse_time (time, &local) != 0
                 || local != stamp + gl_provider_exchange_offset (parse->query->calendar, stamp))) {
        parse->result->received++;
        gl_provider_drop (parse, GL_PROVIDER_DROP_TIME_MISMATCH);
        return 0;
    }
    return gl_provider_add_bar (parse, stamp, GL_PROVIDER_STAMP_UTC_DATE,
                                &bar, !complete);
}

//  Reads container.field, an object or an array of objects, into bars.
static void
s_add_items (gl_provider_parse_t *parse, const cJSON *container, const char *field,
             int (*add) (gl_provider_parse_t *, const cJSON *))
{
    const cJSON *items = cJSON_GetObjectItemCaseSensitive (container, field);
    if (cJSON_IsNull (container) || !items || cJSON_IsNull (items)) {
        gl_provider_no_data (parse, "tradier: null history or series");
        return;
    }
    if (cJSON_IsObject (items)) {
        add (parse, items);
        return;
    }
    if (!cJSON_IsArray (items)) {
        gl_provider_fail (parse, GL_PROVIDER_PARSE_ERROR,
                          "tradier: expected %s as an object or an array", field);
        return;
    }
    const cJSON *item;
    cJSON_ArrayForEach (item, items)
        if (add (parse, item))
            return;
    if (!items->child)
        gl_provider_no_data (parse, "tradier: empty list");
}

//  The error text of a fault or error body.
static const char *
s_error_text (const cJSON *root)
{
    const cJSON *fault = cJSON_GetObjectItemCaseSensitive (root, "fault");
    const cJSON *detail = cJSON_GetObjectItemCaseSensitive (fault, "detail");
    const char *text = gl_provider_string (detail, "errorcode");
    if (!text)
        text = gl_provider_string (fault, "faultstring");
    if (!text)
        text = gl_provider_string (root, "error");
    return text? text: "no error text";
}

//  Reads a history or timesales body of any status.
static void
s_parse (gl_provider_parse_t *parse, long status, const cJSON *root)
{
    const cJSON *history = cJSON_GetObjectItemCaseSensitive (root, "history");
    const cJSON *series = cJSON_GetObjectItemCaseSensitive (root, "series");
    if (status != 200 || cJSON_GetObjectItemCaseSensitive (root, "fault"))
        gl_provider_fail_status (parse, status == 200? 500: status, s_error_text (root));
    else
    if (history)
        s_add_items (parse, history, "day", s_add_day);
    else
    if (series)
        s_add_items (parse, series, "data", s_add_sale);
    else
        gl_provider_fail (parse, GL_PROVIDER_PARSE_ERROR, "tradier: expected history or series");
}

const gl_provider_adapter_t gl_provider_tradier = {
    GL_PROVIDER_TRADIER, "tradier", s_url, s_headers, s_parse,
};
