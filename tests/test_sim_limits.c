/*  test_sim_limits — rate limits, bans, audit and faults of a real
    gapless-sim: 429 with each provider's headers and Retry-After, the ban
    after repeated abuse, exact audit counts and peaks, every fault kind,
    runtime fault switches, an injected 429 counted apart from real
    over-limit answers, and the same faults for the same seed.
*/
#include "gl_simclient.h"
#include "gl_test.h"
#include <cjson/cJSON.h>
#include <stdlib.h>

static const char *s_config =
    "sim\n"
    "    seed = 11\n"
    "    polygon\n"
    "        limits = \"3/60s,100/3600s\"\n"
    "        abuse = \"2/60s\"\n"
    "        ban_s = 60\n"
    "        keys\n"
    "            alpha = \"pk-alpha\"\n"
    "            beta = \"pk-beta\"\n"
    "    tradier\n"
    "        limits = \"2/60s\"\n"
    "        keys\n"
    "            alpha = \"tk-alpha\"\n"
    "    finnhub\n"
    "        limits = \"1/60s\"\n"
    "        keys\n"
    "            alpha = \"fk-alpha\"\n"
    "    yahoo\n"
    "        limits = \"1/60s\"\n"
    "        faults\n"
    "            hang_ms = 200\n"
    "            slow_ms = 50\n";

#define POLYGON_DAY "/v2/aggs/ticker/AAPL/range/1/day/2024-03-11/2024-03-12"

//  One request; the reply's status (and optionally a header's value).
static long
s_status (gl_simclient_t *sim, const char *method, const char *provider, const char *path,
          const char *const *headers, const char *header_name, char *header_value)
{
    gl_simclient_reply_t reply;
    gl_simclient_request (method, gl_simclient_url (sim, provider), path, headers, 10000, &reply);
    long status = reply.status;
    if (header_name && !gl_simclient_reply_header (&reply, header_name, header_value, 64))
        *header_value = 0;
    gl_simclient_reply_free (&reply);
    return status;
}

//  The audit entry of provider/key.
static cJSON *
s_audit (gl_simclient_t *sim, cJSON **document, const char *provider, const char *key)
{
    gl_simclient_reply_t reply;
    gl_simclient_request ("GET", gl_simclient_url (sim, "admin"), "/admin/audit", NULL, 10000, &reply);
    *document = cJSON_Parse (reply.body);
    gl_simclient_reply_free (&reply);
    cJSON *providers = cJSON_GetObjectItem (*document, "providers");
    return cJSON_GetObjectItem (cJSON_GetObjectItem (cJSON_GetObjectItem (providers, provider), "keys"), key);
}

//  A number at a path under the audit entry ("requests", "429").
static long
s_number (cJSON *entry, const char *first, const char *second)
{
    cJSON *item = cJSON_GetObjectItem (entry, first);
    if (second)
        item = cJSON_GetObjectItem (item, second);
    return cJSON_IsNumber (item)? (long) item->valuedouble: -1;
}

//  Polygon: 3 pass, then 429 with Retry-After; the third refusal bans.
static void
s_test_limits_and_ban (gl_simclient_t *sim)
{
    char value [64];
    for (int index = 0; index < 3; index++)
        GL_CHECK_INT (s_status (sim, "GET", "polygon", POLYGON_DAY "?apiKey=pk-alpha", NULL, NULL, NULL), 200);
    GL_CHECK_INT (s_status (sim, "GET", "polygon", POLYGON_DAY "?apiKey=pk-alpha", NULL, "Retry-After", value), 429);
    GL_CHECK (atoi (value) >= 1 && atoi (value) <= 60);
    GL_CHECK_INT (s_status (sim, "GET", "polygon", POLYGON_DAY "?apiKey=pk-alpha", NULL, NULL, NULL), 429);
    //  Third refusal in 60 s: more than 2, so the key is banned.
    GL_CHECK_INT (s_status (sim, "GET", "polygon", POLYGON_DAY "?apiKey=pk-alpha", NULL, NULL, NULL), 429);
    GL_CHECK_INT (s_status (sim, "GET", "polygon", POLYGON_DAY "?apiKey=pk-alpha", NULL, "Retry-After", value), 403);
    GL_CHECK (atoi (value) >= 1 && atoi (value) <= 60);
    //  Another key of the same provider is untouched.
    GL_CHECK_INT (s_status (sim, "GET", "polygon", POLYGON_DAY "?apiKey=pk-beta", NULL, NULL, NULL), 200);

    cJSON *document;
    cJSON *alpha = s_audit (sim, &document, "polygon", "alpha");
    GL_CHECK_INT (s_number (alpha, "requests", "200"), 3);
    GL_CHECK_INT (s_number (alpha, "requests", "429"), 3);
    GL_CHECK_INT (s_number (alpha, "requests", "403"), 1);
    GL_CHECK_INT (s_number (alpha, "total", NULL), 7);
    GL_CHECK_INT (s_number (alpha, "over_limit", NULL), 3);
    GL_CHECK_INT (s_number (alpha, "bans", NULL), 1);
    GL_CHECK (cJSON_IsTrue (cJSON_GetObjectItem (alpha, "banned")));
    cJSON *peak = cJSON_GetArrayItem (cJSON_GetObjectItem (alpha, "peaks"), 0);
    GL_CHECK_INT (s_number (peak, "limit", NULL), 3);
    GL_CHECK_INT (s_number (peak, "peak", NULL), 7);
    cJSON_Delete (document);
    GL_CHECK_INT (s_number (s_audit (sim, &document, "polygon", "beta"), "requests", "200"), 1);
    cJSON_Delete (document);

    //  Reset forgets counts, windows and the ban.
    GL_CHECK_INT (s_status (sim, "POST", "admin", "/admin/reset", NULL, NULL, NULL), 200);
    GL_CHECK_INT (s_status (sim, "GET", "polygon", POLYGON_DAY "?apiKey=pk-alpha", NULL, NULL, NULL), 200);
    alpha = s_audit (sim, &document, "polygon", "alpha");
    GL_CHECK_INT (s_number (alpha, "total", NULL), 1);
    cJSON_Delete (document);
}

//  Tradier's X-Ratelimit-* on every response; Finnhub's and Yahoo's 429s.
static void
s_test_provider_headers (gl_simclient_t *sim)
{
    static const char *tradier [] = { "Authorization: Bearer tk-alpha", "Accept: application/json", NULL };
    const char *path = "/v1/markets/history?symbol=SPY&start=2024-03-11&end=2024-03-12";
    char value [64];
    GL_CHECK_INT (s_status (sim, "GET", "tradier", path, tradier, "X-Ratelimit-Available", value), 200);
    GL_CHECK_STR (value, "1");
    GL_CHECK_INT (s_status (sim, "GET", "tradier", path, tradier, "X-Ratelimit-Used", value), 200);
    GL_CHECK_STR (value, "2");
    GL_CHECK_INT (s_status (sim, "GET", "tradier", path, tradier, "X-Ratelimit-Allowed", value), 429);
    GL_CHECK_STR (value, "2");
    GL_CHECK_INT (s_status (sim, "GET", "tradier", path, tradier, "X-Ratelimit-Expiry", value), 429);
    GL_CHECK (atoll (value) > 1700000000000LL);

    static const char *finnhub [] = { "X-Finnhub-Token: fk-alpha", NULL };
    const char *candle = "/api/v1/stock/candle?symbol=AAPL&resolution=D&from=1710115200&to=1710288000";
    GL_CHECK_INT (s_status (sim, "GET", "finnhub", candle, finnhub, "X-Ratelimit-Remaining", value), 200);
    GL_CHECK_STR (value, "0");
    GL_CHECK_INT (s_status (sim, "GET", "finnhub", candle, finnhub, "X-Ratelimit-Limit", value), 429);
    GL_CHECK_STR (value, "1");

    const char *chart = "/v8/finance/chart/AAPL?period1=1710115200&period2=1710288000&interval=1d";
    GL_CHECK_INT (s_status (sim, "GET", "yahoo", chart, NULL, NULL, NULL), 200);
    gl_simclient_reply_t reply;
    gl_simclient_request ("GET", gl_simclient_url (sim, "yahoo"), chart, NULL, 10000, &reply);
    GL_CHECK_INT (reply.status, 429);
    GL_CHECK_STR (reply.body, "Edge: Too Many Requests");
    GL_CHECK (gl_simclient_reply_header (&reply, "Retry-After", value, sizeof value));
    gl_simclient_reply_free (&reply);
}

//  Sets one fault on alpaca, which has no keys and no limits.
static void
s_fault (gl_simclient_t *sim, const char *setting)
{
    char path [256];
    snprintf (path, sizeof path, "/admin/faults?provider=alpaca&server_error=0&hang=0&slow=0"
              "&truncate=0&invalid_json=0&empty=0&rate_limited=0&%s", setting);
    GL_CHECK_INT (s_status (sim, "POST", "admin", path, NULL, NULL, NULL), 200);
}

#define ALPACA_DAY "/v2/stocks/AAPL/bars?timeframe=1Day&start=2024-03-11&end=2024-03-12"

//  Every fault kind, switched on and off at runtime.
static void
s_test_faults (gl_simclient_t *sim)
{
    GL_CHECK_INT (s_status (sim, "POST", "admin", "/admin/faults?provider=alpaca&hang_ms=200&slow_ms=50",
                            NULL, NULL, NULL), 200);
    GL_CHECK_INT (s_status (sim, "POST", "admin", "/admin/faults?provider=alpaca&server_error=2",
                            NULL, NULL, NULL), 400);
    gl_simclient_reply_t reply;
    const char *alpaca = gl_simclient_url (sim, "alpaca");

    s_fault (sim, "server_error=1");
    int codes = 0;
    for (int index = 0; index < 12; index++) {
        gl_simclient_request ("GET", alpaca, ALPACA_DAY, NULL, 10000, &reply);
        codes |= reply.status == 500? 1: reply.status == 502? 2: reply.status == 504? 4: 8;
        gl_simclient_reply_free (&reply);
    }
    GL_CHECK_INT (codes, 7);

    s_fault (sim, "hang=1");
    gl_simclient_request ("GET", alpaca, ALPACA_DAY, NULL, 5000, &reply);
    GL_CHECK (reply.curl_code != 0 && reply.status == 0);
    gl_simclient_reply_free (&reply);

    s_fault (sim, "slow=1");
    gl_simclient_request ("GET", alpaca, ALPACA_DAY, NULL, 5000, &reply);
    GL_CHECK_INT (reply.status, 200);
    cJSON *whole = cJSON_Parse (reply.body);
    GL_CHECK (whole != NULL);
    cJSON_Delete (whole);
    gl_simclient_reply_free (&reply);

    s_fault (sim, "truncate=1");
    gl_simclient_request ("GET", alpaca, ALPACA_DAY, NULL, 5000, &reply);
    GL_CHECK (reply.curl_code != 0);
    GL_CHECK (reply.size > 0 && !cJSON_Parse (reply.body));
    gl_simclient_reply_free (&reply);

    s_fault (sim, "invalid_json=1");
    gl_simclient_request ("GET", alpaca, ALPACA_DAY, NULL, 5000, &reply);
    GL_CHECK_INT (reply.curl_code, 0);
    GL_CHECK_INT (reply.status, 200);
    cJSON *broken = cJSON_Parse (reply.body);
    GL_CHECK (!broken);
    cJSON_Delete (broken);
    gl_simclient_reply_free (&reply);

    s_fault (sim, "empty=1");
    gl_simclient_request ("GET", alpaca, ALPACA_DAY, NULL, 5000, &reply);
    GL_CHECK_INT (reply.status, 200);
    GL_CHECK (strstr (reply.body, "\"bars\":null"));
    gl_simclient_reply_free (&reply);

    s_fault (sim, "empty=0");
    gl_simclient_request ("GET", alpaca, ALPACA_DAY, NULL, 5000, &reply);
    GL_CHECK_INT (reply.status, 200);
    GL_CHECK (strstr (reply.body, "\"bars\":[{"));
    gl_simclient_reply_free (&reply);

    //  An injected 429: the provider's body and Retry-After, counted apart
    //  from real over-limit answers
    s_fault (sim, "rate_limited=1&retry_after_s=3");
    char value [64];
    for (int index = 0; index < 3; index++)
        GL_CHECK_INT (s_status (sim, "GET", "alpaca", ALPACA_DAY, NULL, "Retry-After", value), 429);
    GL_CHECK_STR (value, "3");
    gl_simclient_request ("GET", alpaca, ALPACA_DAY, NULL, 5000, &reply);
    GL_CHECK (strstr (reply.body, "rate limit exceeded"));
    gl_simclient_reply_free (&reply);
    s_fault (sim, "rate_limited=0");
    GL_CHECK_INT (s_status (sim, "GET", "alpaca", ALPACA_DAY, NULL, NULL, NULL), 200);
    cJSON *document;
    cJSON *anonymous = s_audit (sim, &document, "alpaca", "anonymous");
    GL_CHECK_INT (s_number (anonymous, "requests", "429"), 4);
    GL_CHECK_INT (s_number (anonymous, "over_limit", NULL), 0);
    GL_CHECK_INT (s_number (anonymous, "bans", NULL), 0);
    cJSON *faults = cJSON_GetObjectItem (cJSON_GetObjectItem (cJSON_GetObjectItem (
        document, "providers"), "alpaca"), "faults");
    GL_CHECK_INT (s_number (faults, "injected", "rate_limited"), 4);
    GL_CHECK_INT (s_number (faults, "retry_after_s", NULL), 3);
    cJSON_Delete (document);
}

//  The sequence of answers to 40 requests with mixed fault odds.
static void
s_fault_sequence (gl_simclient_t *sim, char *sequence)
{
    GL_CHECK_INT (s_status (sim, "POST", "admin", "/admin/faults?provider=alpaca&server_error=0.3"
                            "&empty=0.2&invalid_json=0.2", NULL, NULL, NULL), 200);
    for (int index = 0; index < 40; index++) {
        gl_simclient_reply_t reply;
        gl_simclient_request ("GET", gl_simclient_url (sim, "alpaca"), ALPACA_DAY, NULL, 5000, &reply);
        cJSON *parsed = cJSON_Parse (reply.body);
        sequence [index] = reply.status != 200? (char) ('0' + reply.status % 10):
                           !parsed? 'j': strstr (reply.body, "\"bars\":null")? 'e': 'o';
        cJSON_Delete (parsed);
        gl_simclient_reply_free (&reply);
    }
    sequence [40] = 0;
}

int
main (void)
{
    gl_simclient_t *sim = gl_simclient_new (s_config, NULL);
    GL_CHECK (sim);
    if (sim) {
        s_test_limits_and_ban (sim);
        s_test_provider_headers (sim);
        s_test_faults (sim);
        GL_CHECK_INT (gl_simclient_stop (sim), 0);
    }
    gl_simclient_destroy (&sim);

    //  Two sims with the same seed inject the same faults; another seed not.
    char first [41], second [41], third [41];
    gl_simclient_t *one = gl_simclient_new (s_config, "99");
    gl_simclient_t *two = gl_simclient_new (s_config, "99");
    gl_simclient_t *other = gl_simclient_new (s_config, "100");
    GL_CHECK (one && two && other);
    if (one && two && other) {
        s_fault_sequence (one, first);
        s_fault_sequence (two, second);
        s_fault_sequence (other, third);
        GL_CHECK_STR (first, second);
        GL_CHECK (strcmp (first, third) != 0);
        GL_CHECK (strchr (first, 'o') && strchr (first, 'e') && strchr (first, 'j'));
    }
    gl_simclient_destroy (&one);
    gl_simclient_destroy (&two);
    gl_simclient_destroy (&other);

    //  sim/address: every listener on it, and its URLs say so; a bad one
    //  is refused.
    gl_simclient_t *any = gl_simclient_new ("sim\n    address = \"127.0.0.2\"\n", NULL);
    GL_CHECK (any);
    if (any) {
        const char *url = gl_simclient_url (any, "polygon");
        GL_CHECK (url && strncmp (url, "http://127.0.0.2:", 17) == 0);
        gl_simclient_reply_t reply;
        gl_simclient_request ("GET", gl_simclient_url (any, "admin"), "/admin/audit", NULL,
                              5000, &reply);
        GL_CHECK_INT (reply.status, 200);
        gl_simclient_reply_free (&reply);
    }
    gl_simclient_destroy (&any);
    gl_simclient_t *bad = gl_simclient_new ("sim\n    address = \"localhost:80\"\n", NULL);
    GL_CHECK (bad == NULL);
    gl_simclient_destroy (&bad);
    return gl_test_done ("test_sim_limits");
}
