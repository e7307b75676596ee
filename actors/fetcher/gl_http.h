/*  gl_http — HTTP GETs on libcurl's multi interface, driven from a czmq
    zloop: many transfers in flight on one thread, without blocking the
    actor's loop.

    curl tells us which sockets to watch (CURLMOPT_SOCKETFUNCTION: each
    becomes a zloop poller on its fd) and when to wake it
    (CURLMOPT_TIMERFUNCTION: a timerfd polled on the loop); events are handed
    back with curl_multi_socket_action. The multi handle keeps a cache of
    open connections, so requests to one host reuse kept-alive
    connections. Every transfer asks for compressed answers (any encoding
    curl supports), has a connect and a total timeout, and a cap on the
    response body: past it the transfer stops with too_large.

    Each transfer sends its request once: when a kept-alive connection
    closes without an answer, libcurl would resend the request on a new
    connection by itself, unseen by the caller's rate limiter; that
    resend is refused (CURLOPT_PREREQFUNCTION) and the transfer ends with
    resend_refused, for the caller to send again when its pacing allows.

    Each transfer ends with exactly one call of its completion callback
    (unless the gl_http is destroyed first): status, the raw response
    header block and the body. The callback may start new transfers.
    Destroy the gl_http before its loop, and not from inside a zloop timer
    handler (from a poller or reader handler, or outside the loop, is fine).
*/
#ifndef GL_HTTP_H_INCLUDED
#define GL_HTTP_H_INCLUDED

#include <czmq.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct _gl_http_t gl_http_t;

typedef struct {
    int64_t connect_timeout_ms;     //  default 5000
    int64_t timeout_ms;             //  whole transfer, default 30000
    size_t max_body;                //  bytes, default 16 MiB
    long max_host_connections;      //  per host, default 16
} gl_http_options_t;

//  What came back. Pointers are valid only during the callback.
typedef struct {
    uint64_t id;                    //  as returned by gl_http_get
    int curl_code;                  //  CURLcode, 0 when the transfer completed
    const char *error;              //  curl's error text, "" when none
    bool timed_out;                 //  connect or total timeout
    bool too_large;                 //  body over max_body: transfer stopped
    long status;                    //  HTTP status, 0 if none came
    const char *headers;            //  the final response's raw header block
    const char *body;               //  NUL-terminated (the NUL not counted)
    size_t size;
    int64_t elapsed_ms;
    bool reused;                    //  ran on a kept-alive connection
    bool resend_refused;            //  the connection closed unanswered, and
                                    //  libcurl's resend was refused: nothing
                                    //  came, send again when paced
} gl_http_response_t;

typedef void (gl_http_done_fn) (gl_http_t *http, const gl_http_response_t *response,
                                void *argument);

//  Creates a client on the loop; zero options take their defaults.
//  Returns NULL if libcurl cannot start. Caller owns return value.
gl_http_t *gl_http_new (zloop_t *loop, const gl_http_options_t *options);

//  Stops every transfer (without callbacks), closes connections and nulls
//  the caller's pointer. Safe twice.
void gl_http_destroy (gl_http_t **self_p);

//  Starts a GET of url with extra "Name: value" headers (NULL-terminated
//  array, or NULL). Returns the transfer's id (> 0), or 0 with a log line
//  if it cannot start.
uint64_t gl_http_get (gl_http_t *self, const char *url, const char *const *headers,
                      gl_http_done_fn *done, void *argument);

//  Transfers in flight.
size_t gl_http_active (gl_http_t *self);

//  Copies the value of the first header called name (any case) in a raw
//  header block into buffer, trimmed. Returns false if it is absent.
bool gl_http_header (const char *headers, const char *name, char *buffer, size_t size);

#endif
