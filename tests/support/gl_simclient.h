/*  gl_simclient — drive a real gapless-sim from tests and benchmarks:
    start the process on ephemeral ports, learn its URLs, make HTTP
    requests with libcurl, stop it.

    The binary is $GL_SIM_BINARY, else $GL_BINARY_DIR/tools/sim/gapless-sim.
*/
#ifndef GL_SIMCLIENT_H_INCLUDED
#define GL_SIMCLIENT_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>

typedef struct _gl_simclient_t gl_simclient_t;

typedef struct {
    int curl_code;              //  0 when the transfer completed
    long status;                //  HTTP status, 0 if none came
    char *body;                 //  NUL-terminated, heap
    size_t size;
    char *headers;              //  the raw response header block, heap
} gl_simclient_reply_t;

//  Starts gapless-sim with config_text (ZPL, written to a temporary file;
//  NULL for none) and extra seed (NULL for none), and waits up to 10 s
//  for its listening lines. Returns NULL (printed why) on failure. Caller
//  owns return value.
gl_simclient_t *gl_simclient_new (const char *config_text, const char *seed);

//  Stops the process with SIGTERM, waits for it, removes the config file
//  and nulls the caller's pointer. Safe twice.
void gl_simclient_destroy (gl_simclient_t **self_p);

//  Sends SIGTERM and waits up to 10 s; returns the exit status, or -1 if
//  it did not exit cleanly in time. The client stays valid to destroy.
int gl_simclient_stop (gl_simclient_t *self);

//  The base URL of a listener ("polygon" .. "admin"), or NULL.
const char *gl_simclient_url (gl_simclient_t *self, const char *provider);

//  GET (or POST with an empty body) base + path_and_query with the given
//  NULL-terminated "Name: value" headers and a timeout. Fills reply; the
//  caller frees it with gl_simclient_reply_free. Returns reply->curl_code.
int gl_simclient_request (const char *method, const char *base, const char *path_and_query,
                          const char *const *headers, long timeout_ms,
                          gl_simclient_reply_t *reply);

//  Copies the value of the first response header with that name (any
//  case) into buffer; returns false if absent.
bool gl_simclient_reply_header (gl_simclient_reply_t *reply, const char *name,
                                char *buffer, size_t size);

//  Frees the reply's buffers.
void gl_simclient_reply_free (gl_simclient_reply_t *reply);

#endif
