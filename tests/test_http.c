/*  test_http — gl_http on a zloop against a real gapless-sim: many
    transfers in flight at once (each on its own new connection), then
    kept-alive connections reused; headers (Content-Type, rate-limit
    counters, Retry-After on a 429); the total timeout against the sim's
    hang fault; the response size cap; a refused connection; a bad URL.
*/
#include "gl_http.h"
#include "gl_simclient.h"
#include "gl_test.h"
#include "gl_process.h"

static const char *s_config =
    "sim\n"
    "    polygon\n"
    "        keys\n"
    "            default = \"pk\"\n"
    "    tradier\n"
    "        limits = \"3/60s\"\n"
    "        keys\n"
    "            default = \"tk\"\n";

#define DAY_PATH "/v2/aggs/ticker/AAPL/range/1/day/2024-03-11/2024-03-15?apiKey=pk"
#define MINUTES_PATH "/v2/aggs/ticker/AAPL/range/1/minute/2024-03-11/2024-03-12?apiKey=pk"
#define TRANSFERS 8

//  What one transfer returned, kept after the callback.
typedef struct {
    bool done;
    int curl_code;
    bool timed_out, too_large, reused;
    long status;
    size_t size;
    char content_type [64];
    char retry_after [16];
    char available [16];
    bool body_is_json;
} result_t;

static int s_outstanding;

static void
s_on_done (gl_http_t *http, const gl_http_response_t *response, void *argument)
{
    result_t *result = (result_t *) argument;
    result->done = true;
    result->curl_code = response->curl_code;
    result->timed_out = response->timed_out;
    result->too_large = response->too_large;
    result->reused = response->reused;
    result->status = response->status;
    result->size = response->size;
    result->body_is_json = response->size > 0 && response->body [0] == '{'
                        && strlen (response->body) == response->size;
    if (!gl_http_header (response->headers, "content-type", result->content_type,
                         sizeof (result->content_type)))
        result->content_type [0] = 0;
    if (!gl_http_header (response->headers, "Retry-After", result->retry_after,
                         sizeof (result->retry_after)))
        result->retry_after [0] = 0;
    if (!gl_http_header (response->headers, "X-Ratelimit-Available", result->available,
                         sizeof (result->available)))
        result->available [0] = 0;
    s_outstanding--;
}

//  Ends the loop once nothing is outstanding (checked every few ms; the
//  deadline is the test's timeout, not a synchronisation).
static int
s_watch (zloop_t *loop, int timer_id, void *argument)
{
    int64_t deadline = *(int64_t *) argument;
    return (s_outstanding == 0 || gl_test_now_ms () > deadline)? -1: 0;
}

//  Runs the loop until every started transfer has called back.
static void
s_run (zloop_t *loop, int64_t timeout_ms)
{
    int64_t deadline = gl_test_now_ms () + timeout_ms;
    int timer = zloop_timer (loop, 5, 0, s_watch, &deadline);
    zloop_start (loop);
    zloop_timer_end (loop, timer);
    GL_CHECK_INT (s_outstanding, 0);
}

//  Starts a GET of base + path into result.
static void
s_get (gl_http_t *http, const char *base, const char *path, const char *const *headers,
       result_t *result)
{
    char url [512];
    snprintf (url, sizeof (url), "%s%s", base, path);
    memset (result, 0, sizeof (*result));
    GL_CHECK (gl_http_get (http, url, headers, s_on_done, result) > 0);
    s_outstanding++;
}

//  Eight transfers at once each open a connection (none could reuse one:
//  they overlapped); eight more, one after another, all reuse them.
static void
s_test_parallel_and_reuse (gl_simclient_t *sim, zloop_t *loop)
{
    gl_http_t *http = gl_http_new (loop, NULL);
    const char *base = gl_simclient_url (sim, "polygon");
    static result_t results [TRANSFERS];
    for (int index = 0; index < TRANSFERS; index++)
        s_get (http, base, DAY_PATH, NULL, &results [index]);
    GL_CHECK_INT (gl_http_active (http), TRANSFERS);
    s_run (loop, 20000);
    GL_CHECK_INT (gl_http_active (http), 0);
    int fresh = 0;
    for (int index = 0; index < TRANSFERS; index++) {
        GL_CHECK_INT (results [index].status, 200);
        GL_CHECK_INT (results [index].curl_code, 0);
        GL_CHECK (results [index].body_is_json);
        GL_CHECK (strstr (results [index].content_type, "application/json") != NULL);
        fresh += !results [index].reused;
    }
    GL_CHECK_INT (fresh, TRANSFERS);
    int reused = 0;
    for (int index = 0; index < TRANSFERS; index++) {
        s_get (http, base, DAY_PATH, NULL, &results [index]);
        s_run (loop, 10000);
        reused += results [index].reused && results [index].status == 200;
    }
    GL_CHECK_INT (reused, TRANSFERS);
    gl_http_destroy (&http);
    gl_http_destroy (&http);
    GL_CHECK (http == NULL);
}

//  Tradier "3/60s": counters on every answer, then a 429 with
//  Retry-After.
static void
s_test_headers (gl_simclient_t *sim, zloop_t *loop)
{
    gl_http_t *http = gl_http_new (loop, NULL);
    const char *headers [] = { "Authorization: Bearer tk", "Accept: application/json", NULL };
    const char *path = "/v1/markets/history?symbol=AAPL&interval=daily&start=2024-03-11&end=2024-03-15";
    result_t result;
    for (int index = 0; index < 3; index++) {
        s_get (http, gl_simclient_url (sim, "tradier"), path, headers, &result);
        s_run (loop, 10000);
        GL_CHECK_INT (result.status, 200);
        GL_CHECK_INT (atoi (result.available), 2 - index);
    }
    s_get (http, gl_simclient_url (sim, "tradier"), path, headers, &result);
    s_run (loop, 10000);
    GL_CHECK_INT (result.status, 429);
    GL_CHECK (atoi (result.retry_after) > 0);
    gl_http_destroy (&http);
}

//  A hanging answer ends at the total timeout; a big one at the size cap.
static void
s_test_timeout_and_cap (gl_simclient_t *sim, zloop_t *loop)
{
    gl_http_options_t options = { .timeout_ms = 300, .max_body = 2000 };
    gl_http_t *http = gl_http_new (loop, &options);
    const char *base = gl_simclient_url (sim, "polygon");
    result_t big, hanging [3];
    s_get (http, base, MINUTES_PATH, NULL, &big);
    s_run (loop, 10000);
    GL_CHECK (big.too_large);
    GL_CHECK (big.curl_code != 0);
    GL_CHECK (!big.timed_out);

    gl_simclient_reply_t reply;
    gl_simclient_request ("POST", gl_simclient_url (sim, "admin"),
                          "/admin/faults?provider=polygon&hang=1&hang_ms=20000", NULL, 5000, &reply);
    GL_CHECK_INT (reply.status, 200);
    gl_simclient_reply_free (&reply);
    for (int index = 0; index < 3; index++)
        s_get (http, base, DAY_PATH, NULL, &hanging [index]);
    s_run (loop, 10000);
    for (int index = 0; index < 3; index++) {
        GL_CHECK (hanging [index].timed_out);
        GL_CHECK_INT (hanging [index].status, 0);
    }
    gl_simclient_request ("POST", gl_simclient_url (sim, "admin"),
                          "/admin/faults?provider=polygon&hang=0", NULL, 5000, &reply);
    gl_simclient_reply_free (&reply);
    gl_http_destroy (&http);
}

//  Nothing listening: a connect error, no status. Not http: refused.
static void
s_test_errors (zloop_t *loop)
{
    gl_http_t *http = gl_http_new (loop, NULL);
    char base [64];
    snprintf (base, sizeof (base), "http://127.0.0.1:%d", gl_process_free_port ());
    result_t result;
    s_get (http, base, "/", NULL, &result);
    s_run (loop, 10000);
    GL_CHECK (result.done);
    GL_CHECK (result.curl_code != 0);
    GL_CHECK_INT (result.status, 0);
    GL_CHECK_INT (gl_http_get (http, "file:///etc/passwd", NULL, s_on_done, &result), 0);
    //  Destroying with a transfer in flight calls nothing and leaks nothing.
    s_get (http, base, "/", NULL, &result);
    s_outstanding = 0;
    gl_http_destroy (&http);
    GL_CHECK (!result.done);
}

//  Header lookup in a raw block.
static void
s_test_header_lookup (void)
{
    const char *block = "HTTP/1.1 200 OK\r\nContent-Type:  text/plain \r\nRetry-After: 7\r\n\r\n";
    char value [32];
    GL_CHECK (gl_http_header (block, "content-type", value, sizeof (value)));
    GL_CHECK_STR (value, "text/plain");
    GL_CHECK (gl_http_header (block, "RETRY-AFTER", value, sizeof (value)));
    GL_CHECK_STR (value, "7");
    GL_CHECK (!gl_http_header (block, "Retry", value, sizeof (value)));
    GL_CHECK (!gl_http_header (NULL, "Retry", value, sizeof (value)));
}

int
main (void)
{
    s_test_header_lookup ();
    gl_simclient_t *sim = gl_simclient_new (s_config, NULL);
    GL_CHECK (sim != NULL);
    if (sim) {
        zloop_t *loop = zloop_new ();
        s_test_parallel_and_reuse (sim, loop);
        s_test_headers (sim, loop);
        s_test_timeout_and_cap (sim, loop);
        s_test_errors (loop);
        zloop_destroy (&loop);
        GL_CHECK_INT (gl_simclient_stop (sim), 0);
        gl_simclient_destroy (&sim);
    }
    return gl_test_done ("test_http");
}
