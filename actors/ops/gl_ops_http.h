/*  gl_ops_http — the HTTP side of ops: a few pages (/metrics, /health)
    served by libmicrohttpd from its own thread.

    The actor renders each page when its content changes and hands it over
    with gl_ops_http_set; a request gets the latest copy under a lock. So
    the HTTP thread never touches the actor's state, and a scrape costs
    the actor nothing. Only GET and HEAD are served; any other path is 404.
*/
#ifndef GL_OPS_HTTP_H_INCLUDED
#define GL_OPS_HTTP_H_INCLUDED

#include <stdint.h>

typedef struct _gl_ops_http_t gl_ops_http_t;

//  Listens on address:port (an IPv4 address; port 0 picks a free one).
//  Returns NULL with a log line if it cannot bind. Caller owns return
//  value.
gl_ops_http_t *gl_ops_http_new (const char *address, int port);

//  Stops serving and nulls the caller's pointer. Safe twice.
void gl_ops_http_destroy (gl_ops_http_t **self_p);

//  The port it listens on.
int gl_ops_http_port (gl_ops_http_t *self);

//  Replaces the page at path ("/metrics") with a copy of body. Returns 0,
//  or -1 on out of memory (the old page stays) or past 8 pages.
int gl_ops_http_set (gl_ops_http_t *self, const char *path, unsigned int status,
                     const char *content_type, const char *body);

//  Requests answered since the start.
uint64_t gl_ops_http_requests (gl_ops_http_t *self);

#endif
