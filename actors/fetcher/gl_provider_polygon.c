/*  gl_provider_polygon — Polygon.io / Massive aggregates:
    GET {base}/v2/aggs/ticker/{T}/range/{mult}/{timespan}/{from ms}/{to ms}.

    Quirks: the key travels as apiKey and next_url leaves it out, so it is
    added back (only to a next_url under base_url); success is status "OK"
    or "DELAYED"; empty is no results key or "results":null; v may be a
    float; n, vw and otc are optional; daily and weekly bars are stamped at
    00:00 New York; error text is under "error" or, for 403, "message".
*/
#include "gl_provider_adapter.h"
#include <stdio.h>
#include <string.h>


//  Multiplier and timespan of a timeframe.
static void
s_range (gl_timeframe_t timeframe, int *multiplier, const char **timespan)
{
    static const struct { gl_timeframe_t timeframe; int multiplier; const char *timespan; }
    map [] = {
        { GL_TF_1M, 1, "minute" }, { GL_TF_5M, 5, "minute" }, { GL_TF_15M, 15, "minute" },
        { GL_TF_30M, 30, "minute" }, { GL_TF_1H, 1, "hour" }, { GL_TF_4H, 4, "hour" },
        { GL_TF_1D, 1, "day" }, { GL_TF_1W, 1, "week" },
    };
    *multiplier = 1;
    *timespan = "day";
    for (size_t index = 0; index < sizeof map / sizeof map [0]; index++)
        if (map [index].timeframe == timeframe) {
            *multiplier = map [index].multiplier;
            *timespan = map [index].timespan;
        }
}

//  The aggregates URL, or next_url with the key added back.
static int
s_url (const gl_provider_query_t *query, const char *key, gl_provider_text_t *url, char *error)
{
    if (!query->key || !*query->key) {
        snprintf (error, 256, "polygon needs an API key (apiKey)");
        return -1;
    }
    if (query->continuation) {
        size_t base_length = strlen (query->base_url);
        if (strncmp (query->continuation, query->base_url, base_length) != 0
        ||  query->continuation [base_length] != '/') {
            snprintf (error, 256, "polygon next_url must start with the base URL %s/",
                      query->base_url);
            return -1;
        }
        gl_provider_text_add (url, "%s%sapiKey=", query->continuation,
                              strchr (query->continuation, '?')? "&": "?");
        gl_provider_text_escape (url, key);
        return 0;
    }
    int multiplier;
    const char *timespan;
    s_range (query->timeframe, &multiplier, &timespan);
    //  Milliseconds fit: gl_provider_request_new bounds times to 2100.
    gl_provider_text_add (url, "%s/v2/aggs/ticker/", query->base_url);
    gl_provider_text_escape (url, query->symbol);
    //  adjusted=true is split-adjusted (dividends are not applied).
    gl_provider_text_add (url, "/range/%d/%s/%lld/%lld?adjusted=%s&sort=asc&limit=%u&apiKey=",
                          multiplier, timespan, (long long) query->from * 1000,
                          (long long) query->to * 1000 - 1,
                          gl_provider_query_adjustment (query) == GL_ADJUSTMENT_SPLIT? "true": "false",
                          query->page_limit? query->page_limit: gl_capability_page_max (query->provider));
    gl_provider_text_escape (url, key);
    return 0;
}

//  Polygon needs no header (the key is in the URL).
static int
s_headers (const gl_provider_query_t *query, gl_provider_request_t *request, char *error)
{
    return gl_provider_request_header (request, error, "Accept: application/json");
}

//  Adds one results[] item.
static int
s_add_item (gl_provider_parse_t *parse, const cJSON *item)
{
    gl_bar_t bar = { 0 };
    double t = 0, trades = 0;
    bool complete = cJSON_IsObject (item)
                 && gl_provider_number (item, "t", &t)
                 && gl_provider_number (item, "o", &bar.open)
                 && gl_provider_number (item, "h", &bar.high)
                 && gl_provider_number (item, "l", &bar.low)
                 && gl_provider_number (item, "c", &bar.close)
                 && gl_provider_number (item, "v", &bar.volume);
    bar.has_vwap = complete && gl_provider_number (item, "vw", &bar.vwap);
    bar.has_trades = complete && gl_provider_number (item, "n", &trades)
                  && trades >= 0 && trades < 1e18;
    bar.trades = bar.has_trades? (uint64_t) trades: 0;
    if (complete && !(t > -1e15 && t < 1e15))
        complete = false;
    int64_t stamp = complete? (int64_t) (t / 1000): 0;
    return gl_provider_add_bar (parse, stamp, GL_PROVIDER_STAMP_EXCHANGE_DATE, &bar, !complete);
}

//  Reads an aggregates body of any status.
static void
s_parse (gl_provider_parse_t *parse, long status, const cJSON *root)
{
    const char *state = gl_provider_string (root, "status");
    const char *text = gl_provider_string (root, "error");
    if (!text)
        text = gl_provider_string (root, "message");
    if (status != 200) {
        gl_provider_fail_status (parse, status, text? text: "no error text");
        return;
    }
    if (state && strcmp (state, "OK") != 0 && strcmp (state, "DELAYED") != 0) {
        gl_provider_fail (parse, GL_PROVIDER_SERVER_ERROR, "polygon: status %s at HTTP 200: %s",
                          state, text? text: "no error text");
        return;
    }
    if (!cJSON_IsObject (root)) {
        gl_provider_fail (parse, GL_PROVIDER_PARSE_ERROR, "polygon: expected a JSON object");
        return;
    }
    const cJSON *results = cJSON_GetObjectItemCaseSensitive (root, "results");
    const char *next_url = gl_provider_string (root, "next_url");
    if ((!results || cJSON_IsNull (results)) && !next_url) {
        gl_provider_no_data (parse, "polygon: no results");
        return;
    }
    if (results && !cJSON_IsNull (results) && !cJSON_IsArray (results)) {
        gl_provider_fail (parse, GL_PROVIDER_PARSE_ERROR, "polygon: expected results to be an array");
        return;
    }
    const cJSON *item;
    cJSON_ArrayForEach (item, results)
        if (s_add_item (parse, item))
            return;
    gl_provider_continue (parse, next_url);
}

const gl_provider_adapter_t gl_provider_polygon = {
    GL_PROVIDER_POLYGON, "polygon", s_url, s_headers, s_parse,
};
