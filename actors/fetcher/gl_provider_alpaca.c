/*  gl_provider_alpaca — Alpaca market data v2:
    GET {base}/v2/stocks/{T}/bars?timeframe&start&end&limit&page_token.

    Quirks: APCA-API-KEY-ID and APCA-API-SECRET-KEY headers; t in RFC 3339
    UTC, daily and weekly bars at 00:00 New York; "bars" is an array for
    one symbol and a map by symbol for several (our symbol's array is
    read); empty is "bars":null or "bars":{}; next_page_token is sent back
    as page_token with every other parameter unchanged until it is null;
    errors as {"message":...}; adjustment defaults to raw, so the basis
    asked for is always sent (adjustment=split or raw).
*/
#include "gl_provider_adapter.h"
#include <stdio.h>
#include <string.h>

//  The timeframe parameter.
static const char *
s_timeframe (gl_timeframe_t timeframe)
{
    switch (timeframe) {
        case GL_TF_1M:  return "1Min";
        case GL_TF_5M:  return "5Min";
        case GL_TF_15M: return "15Min";
        case GL_TF_30M: return "30Min";
        case GL_TF_1H:  return "1Hour";
        case GL_TF_4H:  return "4Hour";
        case GL_TF_1D:  return "1Day";
        case GL_TF_1W:  return "1Week";
        default:        return NULL;
    }
}


//  The bars URL; end is inclusive, so the last second of the range.
static int
s_url (const gl_provider_query_t *query, const char *key, gl_provider_text_t *url, char *error)
{
    char start [32], end [32];
    gl_provider_format_rfc3339 (query->from, start, sizeof start);
    gl_provider_format_rfc3339 (query->to - 1, end, sizeof end);
    gl_provider_text_add (url, "%s/v2/stocks/", query->base_url);
    gl_provider_text_escape (url, query->symbol);
    gl_provider_text_add (url, "/bars?timeframe=%s&start=%s&end=%s&limit=%u&adjustment=%s",
                          s_timeframe (query->timeframe), start, end,
                          query->page_limit? query->page_limit: gl_capability_page_max (query->provider),
                          gl_capability_adjustment_name (gl_provider_query_adjustment (query)));
    if (query->continuation) {
        gl_provider_text_add (url, "&page_token=");
        gl_provider_text_escape (url, query->continuation);
    }
    return 0;
}

//  The key id and secret headers.
static int
s_headers (const gl_provider_query_t *query, gl_provider_request_t *request, char *error)
{
    if (!query->key || !*query->key || !query->secret || !*query->secret) {
        snprintf (error, 256, "alpaca needs a key id and a secret key");
        return -1;
    }
    return gl_provider_request_header (request, error, "APCA-API-KEY-ID: %s", query->key)
        || gl_provider_request_header (request, error, "APCA-API-SECRET-KEY: %s", query->secret)
        || gl_provider_request_header (request, error, "Accept: application/json");
}

//  Adds one bar.
static int
s_add_item (gl_provider_parse_t *parse, const cJSON *item)
{
    gl_bar_t bar = { 0 };
    int64_t stamp = 0;
    double trades = 0;
    bool complete = cJSON_IsObject (item)
                 && gl_provider_parse_time (gl_provider_string (item, "t"), &stamp) == 0
                 && gl_provider_number (item, "o", &bar.open)
                 && gl_provider_number (item, "h", &bar.high)
                 && gl_provider_number (item, "l", &bar.low)
                 && gl_provider_number (item, "c", &bar.close)
                 && gl_provider_number (item, "v", &bar.volume);
    bar.has_vwap = complete && gl_provider_number (item, "vw", &bar.vwap);
    bar.has_trades = complete && gl_provider_number (item, "n", &trades)
                  && trades >= 0 && trades < 1e18;
    bar.trades = bar.has_trades? (uint64_t) trades: 0;
    return gl_provider_add_bar (parse, stamp, GL_PROVIDER_STAMP_EXCHANGE_DATE, &bar, !complete);
}

//  Reads a bars body of any status.
static void
s_parse (gl_provider_parse_t *parse, long status, const cJSON *root)
{
    if (status != 200) {
        const char *text = gl_provider_string (root, "message");
        gl_provider_fail_status (parse, status, text? text: "no error text");
        return;
    }
    const cJSON *bars = cJSON_GetObjectItemCaseSensitive (root, "bars");
    if (cJSON_IsObject (bars))
        bars = cJSON_GetObjectItemCaseSensitive (bars, parse->query->symbol);
    const cJSON *token = cJSON_GetObjectItemCaseSensitive (root, "next_page_token");
    if (!cJSON_IsObject (root) || (token && !cJSON_IsNull (token) && !cJSON_IsString (token))
    ||  (bars && !cJSON_IsNull (bars) && !cJSON_IsArray (bars))) {
        gl_provider_fail (parse, GL_PROVIDER_PARSE_ERROR,
                          "alpaca: expected bars as an array (or a map of arrays) and a"
                          " string or null next_page_token");
        return;
    }
    const char *next = cJSON_IsString (token)? token->valuestring: NULL;
    if ((!bars || cJSON_IsNull (bars) || !bars->child) && !next) {
        gl_provider_no_data (parse, "alpaca: no bars");
        return;
    }
    const cJSON *item;
    cJSON_ArrayForEach (item, bars)
        if (s_add_item (parse, item))
            return;
    gl_provider_continue (parse, next);
}

const gl_provider_adapter_t gl_provider_alpaca = {
    GL_PROVIDER_ALPACA, "alpaca", s_url, s_headers, s_parse,
};
