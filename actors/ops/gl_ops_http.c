/*  gl_ops_http — pages served by libmicrohttpd's own thread.  */
#include "gl_ops_http.h"
#include "gl_log.h"
#include <arpa/inet.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_PAGES_MAX 8

typedef struct {
    char path [32];
    unsigned int status;
    char content_type [64];
    char *body;
} s_page_t;

struct _gl_ops_http_t {
    struct MHD_Daemon *daemon;
    pthread_mutex_t lock;       //  guards pages and requests
    s_page_t pages [S_PAGES_MAX];
    size_t page_count;
    uint64_t requests;
    int port;
};

//  Sends a small text answer.
static enum MHD_Result
s_answer (struct MHD_Connection *connection, unsigned int status, const char *content_type,
          const char *body)
{
    struct MHD_Response *response = MHD_create_response_from_buffer (strlen (body),
                                                                     (void *) body,
                                                                     MHD_RESPMEM_MUST_COPY);
    if (!response)
        return MHD_NO;
    MHD_add_response_header (response, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
    MHD_add_response_header (response, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    enum MHD_Result result = MHD_queue_response (connection, status, response);
    MHD_destroy_response (response);
    return result;
}

//  MHD's request callback: the page at url, copied under the lock.
static enum MHD_Result
s_serve (void *argument, struct MHD_Connection *connection, const char *url, const char *method,
         const char *version, const char *upload, size_t *upload_size, void **state)
{
    gl_ops_http_t *self = (gl_ops_http_t *) argument;
    if (strcmp (method, "GET") != 0 && strcmp (method, "HEAD") != 0)
        return s_answer (connection, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain",
                         "only GET and HEAD\n");
    pthread_mutex_lock (&self->lock);
    self->requests++;
    s_page_t page = { .status = 0 };
    for (size_t index = 0; index < self->page_count; index++)
        if (strcmp (self->pages [index].path, url) == 0) {
            page = self->pages [index];
            page.body = strdup (page.body);
            break;
        }
    pthread_mutex_unlock (&self->lock);
    if (page.status == 0)
        return s_answer (connection, MHD_HTTP_NOT_FOUND, "text/plain",
                         "not found: try /metrics or /health\n");
    if (!page.body)
        return s_answer (connection, MHD_HTTP_INTERNAL_SERVER_ERROR, "text/plain",
                         "out of memory\n");
    enum MHD_Result result = s_answer (connection, page.status, page.content_type, page.body);
    free (page.body);
    return result;
}

gl_ops_http_t *
gl_ops_http_new (const char *address, int port)
{
    gl_ops_http_t *self = (gl_ops_http_t *) calloc (1, sizeof (gl_ops_http_t));
    if (!self)
        return NULL;
    pthread_mutex_init (&self->lock, NULL);
    struct sockaddr_in bind_address = { .sin_family = AF_INET, .sin_port = htons ((uint16_t) port) };
    if (port < 0 || port > 65535 || inet_pton (AF_INET, address, &bind_address.sin_addr) != 1) {
        gl_log_error ("http_not_started", "address=%s port=%d reason=\"expected an IPv4 address"
                      " and a port from 0 to 65535\"", address, port);
        gl_ops_http_destroy (&self);
        return NULL;
    }
    self->daemon = MHD_start_daemon (MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG,
                                     (uint16_t) port, NULL, NULL, s_serve, self,
                                     MHD_OPTION_SOCK_ADDR, (struct sockaddr *) &bind_address,
                                     MHD_OPTION_CONNECTION_LIMIT, (unsigned int) 64,
                                     MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int) 10,
                                     MHD_OPTION_END);
    if (!self->daemon) {
        gl_log_error ("http_not_started", "address=%s port=%d reason=\"cannot listen (in use?)\"",
                      address, port);
        gl_ops_http_destroy (&self);
        return NULL;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info (self->daemon,
                                                            MHD_DAEMON_INFO_BIND_PORT);
    self->port = info? info->port: port;
    return self;
}

void
gl_ops_http_destroy (gl_ops_http_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    gl_ops_http_t *self = *self_p;
    if (self->daemon)
        MHD_stop_daemon (self->daemon);
    for (size_t index = 0; index < self->page_count; index++)
        free (self->pages [index].body);
    pthread_mutex_destroy (&self->lock);
    free (self);
    *self_p = NULL;
}

int
gl_ops_http_port (gl_ops_http_t *self)
{
    return self->port;
}

int
gl_ops_http_set (gl_ops_http_t *self, const char *path, unsigned int status,
                 const char *content_type, const char *body)
{
    char *copy = strdup (body);
    if (!copy)
        return -1;
    int rc = -1;
    pthread_mutex_lock (&self->lock);
    s_page_t *page = NULL;
    for (size_t index = 0; index < self->page_count && !page; index++)
        if (strcmp (self->pages [index].path, path) == 0)
            page = &self->pages [index];
    if (!page && self->page_count < S_PAGES_MAX) {
        page = &self->pages [self->page_count++];
        *page = (s_page_t) { .body = NULL };
        snprintf (page->path, sizeof page->path, "%s", path);
    }
    if (page) {
        free (page->body);
        page->body = copy;
        page->status = status;
        snprintf (page->content_type, sizeof page->content_type, "%s", content_type);
        copy = NULL;
        rc = 0;
    }
    pthread_mutex_unlock (&self->lock);
    free (copy);
    return rc;
}

uint64_t
gl_ops_http_requests (gl_ops_http_t *self)
{
    pthread_mutex_lock (&self->lock);
    uint64_t requests = self->requests;
    pthread_mutex_unlock (&self->lock);
    return requests;
}
