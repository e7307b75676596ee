/*  gl_provider_finnhub — Finnhub stock candles:
    GET {base}/api/v1/stock/candle?symbol&resolution&from&to (epoch s,
    inclusive).

    Quirks: the token goes in the X-Finnhub-Token header (kept out of
    URLs); parallel arrays c h l o v t that must match in length; s is
    "ok" or "no_data" (HTTP 200, with or without empty arrays); daily bars
    stamped 00:00Z or 04:00Z, read as the UTC date so 00:00Z never slips
    to the day before; errors as {"error":...}; at most a month of
    intraday per request and no paging.
*/
#include "gl_provider_adapter.h"
#include <stdio.h>
#include <string.h>

//  The resolution parameter of a timeframe, or NULL.
static const char *
s_resolution (gl_timeframe_t timeframe)
{
    switch (timeframe) {
        case GL_TF_1M:  return "1";
        case GL_TF_5M:  return "5";
        case GL_TF_15M: return "15";
        case GL_TF_30M: return "30";
        case GL_TF_1H:  return "60";
        case GL_TF_1D:  return "D";
        case GL_TF_1W:  return "W";
        default:        return NULL;
    }
}



//  The candle URL; to is inclusive, so the last second of the range.
static int
s_url (const gl_provider_query_t *query, const char *key, gl_provider_text_t *url, char *error)
{
    gl_provider_text_add (url, "%s/api/v1/stock/candle?symbol=", query->base_url);
    gl_provider_text_escape (url, query->symbol);
    gl_provider_text_add (url, "&resolution=%s&from=%lld&to=%lld",
                          s_resolution (query->timeframe),
                          (long long) query->from, (long long) query->to - 1);
    return 0;
}

//  The token header.
static int
s_headers (const gl_provider_query_t *query, gl_provider_request_t *request, char *error)
{
    if (!query->key || !*query->key) {
        snprintf (error, 256, "finnhub needs an API token");
        return -1;
    }
    return gl_provider_request_header (request, error, "X-Finnhub-Token: %s", query->key)
        || gl_provider_request_header (request, error, "Accept: application/json");
}

//  Reads a candle body of any status.
static void
s_parse (gl_provider_parse_t *parse, long status, const cJSON *root)
{
    const char *text = gl_provider_string (root, "error");
    if (status != 200) {
        gl_provider_fail_status (parse, status, text? text: "no error text");
        return;
    }
    if (text) {
        gl_provider_fail (parse, GL_PROVIDER_SERVER_ERROR, "finnhub: error at HTTP 200: %s", text);
        return;
    }
    const char *state = gl_provider_string (root, "s");
    if (state && strcmp (state, "no_data") == 0) {
        gl_provider_no_data (parse, "finnhub: s=no_data");
        return;
    }
    if (!state || strcmp (state, "ok") != 0) {
        gl_provider_fail (parse, GL_PROVIDER_PARSE_ERROR, "finnhub: expected s \"ok\" or \"no_data\"");
        return;
    }
    const char *names [] = { "t", "o", "h", "l", "c", "v" };
    const cJSON *cells [6];
    int count = -1;
    for (int column = 0; column < 6; column++) {
        const cJSON *array = cJSON_GetObjectItemCaseSensitive (root, names [column]);
        if (!cJSON_IsArray (array) || (count >= 0 && cJSON_GetArraySize (array) != count)) {
            gl_provider_fail (parse, GL_PROVIDER_PARSE_ERROR,
                              "finnhub: expected arrays t o h l c v of one length (%s)",
                              names [column]);
            return;
        }
        count = cJSON_GetArraySize (array);
        cells [column] = array->child;
    }
    if (gl_provider_add_columns (parse, cells, count, GL_PROVIDER_STAMP_UTC_DATE) != 0)
        return;
    if (count == 0)
        gl_provider_no_data (parse, "finnhub: s=ok with empty arrays");
}

const gl_provider_adapter_t gl_provider_finnhub = {
    GL_PROVIDER_FINNHUB, "finnhub", s_url, s_headers, s_parse,
};
