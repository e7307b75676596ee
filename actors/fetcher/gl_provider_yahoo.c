/*  gl_provider_yahoo — Yahoo Finance chart v8 (unofficial):
    GET {base}/v8/finance/chart/{T}?period1=&period2=&interval=.

    Quirks: no key but a browser-like User-Agent; parallel arrays under
    indicators.quote[0] that must have the timestamps' length and may hold
    nulls (that bar alone is dropped); float32 prices rounded to
    meta.priceHint; daily bars stamped at the session open and weekly ones
    at the week's first open (the exchange date decides, never gmtoffset,
    which is the offset at request time); empty is no timestamp key and
    quote:[{}] or 400 "Data doesn't exist"; errors under chart.error with
    result:null; 429 is the plain text "Edge: Too Many Requests"; 1m spans
    at most 7 days per request.
*/
#include "gl_provider_adapter.h"
#include <stdio.h>
#include <string.h>

#define S_USER_AGENT "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 " \
                     "(KHTML, like Gecko) Chrome/124.0 Safari/537.36"
#define S_PRICE_HINT_DEFAULT 2

//  The interval parameter of a timeframe, or NULL.
static const char *
s_interval (gl_timeframe_t timeframe)
{
    switch (timeframe) {
        case GL_TF_1M:  return "1m";
        case GL_TF_5M:  return "5m";
        case GL_TF_15M: return "15m";
        case GL_TF_30M: return "30m";
        case GL_TF_1H:  return "60m";
        case GL_TF_1D:  return "1d";
        case GL_TF_1W:  return "1wk";
        default:        return NULL;
    }
}



//  The chart URL; stamps in [period1, period2).
static int
s_url (const gl_provider_query_t *query, const char *key, gl_provider_text_t *url, char *error)
{
    gl_provider_text_add (url, "%s/v8/finance/chart/", query->base_url);
    gl_provider_text_escape (url, query->symbol);
    gl_provider_text_add (url, "?period1=%lld&period2=%lld&interval=%s&includePrePost=false",
                          (long long) query->from, (long long) query->to,
                          s_interval (query->timeframe));
    return 0;
}

//  A browser-like User-Agent, without which Yahoo refuses.
static int
s_headers (const gl_provider_query_t *query, gl_provider_request_t *request, char *error)
{
    return gl_provider_request_header (request, error, "User-Agent: %s", S_USER_AGENT)
        || gl_provider_request_header (request, error, "Accept: application/json");
}

//  Handles chart.error: empty ranges are no_data, the rest by status.
static void
s_chart_error (gl_provider_parse_t *parse, long status, const cJSON *error)
{
    const char *code = gl_provider_string (error, "code");
    const char *description = gl_provider_string (error, "description");
    char text [200];
    snprintf (text, sizeof text, "%s: %s", code? code: "error",
              description? description: "no description");
    if (description && strstr (description, "Data doesn't exist"))
        gl_provider_no_data (parse, text);
    else
        gl_provider_fail_status (parse, status == 200? 400: status, text);
}

//  The array called name in quote, if it has count items; else fails.
static const cJSON *
s_column (gl_provider_parse_t *parse, const cJSON *quote, const char *name, int count)
{
    const cJSON *column = cJSON_GetObjectItemCaseSensitive (quote, name);
    if (!cJSON_IsArray (column) || cJSON_GetArraySize (column) != count) {
        gl_provider_fail (parse, GL_PROVIDER_PARSE_ERROR,
                          "yahoo: expected indicators.quote[0].%s as an array of %d items",
                          name, count);
        return NULL;
    }
    return column;
}

//  Adds the bars of the parallel arrays, walking them together (the
//  arrays are lists: take each next item rather than index them twice).
static void
s_add_bars (gl_provider_parse_t *parse, const cJSON *timestamps, const cJSON *quote)
{
    int count = cJSON_GetArraySize (timestamps);
    const char *names [] = { "open", "high", "low", "close", "volume" };
    const cJSON *columns [5];
    for (int index = 0; index < 5; index++)
        if (!(columns [index] = s_column (parse, quote, names [index], count)))
            return;
    const cJSON *cells [6] = { timestamps->child, columns [0]->child, columns [1]->child,
                               columns [2]->child, columns [3]->child, columns [4]->child };
    gl_provider_add_columns (parse, cells, count, GL_PROVIDER_STAMP_EXCHANGE_DATE);
}

//  Reads a chart body of any status.
static void
s_parse (gl_provider_parse_t *parse, long status, const cJSON *root)
{
    const cJSON *chart = cJSON_GetObjectItemCaseSensitive (root, "chart");
    const cJSON *error = cJSON_GetObjectItemCaseSensitive (chart, "error");
    if (cJSON_IsObject (error)) {
        s_chart_error (parse, status, error);
        return;
    }
    if (status != 200) {
        gl_provider_fail_status (parse, status, "no chart.error in the body");
        return;
    }
    const cJSON *result = cJSON_GetArrayItem (cJSON_GetObjectItemCaseSensitive (chart, "result"), 0);
    if (!cJSON_IsObject (result)) {
        gl_provider_fail (parse, GL_PROVIDER_PARSE_ERROR, "yahoo: expected chart.result[0]");
        return;
    }
    double hint = S_PRICE_HINT_DEFAULT;
    const cJSON *meta = cJSON_GetObjectItemCaseSensitive (result, "meta");
    if (gl_provider_number (meta, "priceHint", &hint) && hint >= 0 && hint <= 8)
        parse->price_decimals = (int) hint;
    else
        parse->price_decimals = S_PRICE_HINT_DEFAULT;
    const cJSON *timestamps = cJSON_GetObjectItemCaseSensitive (result, "timestamp");
    const cJSON *indicators = cJSON_GetObjectItemCaseSensitive (result, "indicators");
    const cJSON *quote = cJSON_GetArrayItem (cJSON_GetObjectItemCaseSensitive (indicators, "quote"), 0);
    if (!timestamps || cJSON_IsNull (timestamps)) {
        gl_provider_no_data (parse, "yahoo: no timestamp");
        return;
    }
    if (!cJSON_IsArray (timestamps) || !cJSON_IsObject (quote)) {
        gl_provider_fail (parse, GL_PROVIDER_PARSE_ERROR,
                          "yahoo: expected timestamp[] and indicators.quote[0]");
        return;
    }
    s_add_bars (parse, timestamps, quote);
}

const gl_provider_adapter_t gl_provider_yahoo = {
    GL_PROVIDER_YAHOO, "yahoo", s_url, s_headers, s_parse,
};
