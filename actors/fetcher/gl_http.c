/*  gl_http — libcurl multi on a zloop (socket and timer callbacks). */
#include "gl_http.h"
#include "gl_log.h"
#include <curl/curl.h>
#include <strings.h>
#include <sys/timerfd.h>
#include <unistd.h>

#define HEADERS_MAX (64 * 1024)     //  a longer header block is cut

//  A growable byte buffer, always NUL-terminated.
typedef struct {
    char *data;
    size_t size, capacity;
} s_buffer_t;

//  One transfer in flight.
typedef struct _s_transfer_t {
    gl_http_t *http;
    CURL *easy;
    struct curl_slist *request_headers;
    uint64_t id;
    s_buffer_t body, headers;
    bool too_large;
    uint32_t sends;             //  requests libcurl was about to send
    bool resend_refused;        //  libcurl's own resend was stopped
    char error [CURL_ERROR_SIZE];
    gl_http_done_fn *done;
    void *argument;
    struct _s_transfer_t *previous, *next;
} s_transfer_t;

struct _gl_http_t {
    zloop_t *loop;
    CURLM *multi;
    gl_http_options_t options;
    int timer_fd;               //  curl's wake-up timer, polled on the loop
    uint64_t last_id;
    size_t active;
    s_transfer_t *transfers;    //  in flight, newest first
};

//  Appends bytes; returns false past limit (or on out of memory).
static bool
s_buffer_append (s_buffer_t *buffer, const char *data, size_t size, size_t limit)
{
    if (buffer->size + size > limit)
        return false;
    if (buffer->size + size + 1 > buffer->capacity) {
        size_t capacity = buffer->capacity? buffer->capacity: 4096;
        while (capacity < buffer->size + size + 1)
            capacity *= 2;
        char *grown = (char *) realloc (buffer->data, capacity);
        if (!grown)
            return false;
        buffer->data = grown;
        buffer->capacity = capacity;
    }
    memcpy (buffer->data + buffer->size, data, size);
    buffer->size += size;
    buffer->data [buffer->size] = 0;
    return true;
}

//  curl's write callback: the body, up to the cap.
static size_t
s_on_body (char *data, size_t size, size_t count, void *argument)
{
    s_transfer_t *transfer = (s_transfer_t *) argument;
    if (!s_buffer_append (&transfer->body, data, size * count, transfer->http->options.max_body)) {
        transfer->too_large = true;
        return 0;
    }
    return size * count;
}

//  curl's header callback: keeps the last response's block (an interim
//  100 Continue or a redirect starts a new one).
static size_t
s_on_header (char *data, size_t size, size_t count, void *argument)
{
    s_transfer_t *transfer = (s_transfer_t *) argument;
    size_t length = size * count;
    if (length >= 5 && memcmp (data, "HTTP/", 5) == 0)
        transfer->headers.size = 0;
    s_buffer_append (&transfer->headers, data, length, HEADERS_MAX);
    return length;
}

//  curl: a request is about to leave on a connection, new or reused.
//  libcurl resends a request by itself on a new connection when a
//  kept-alive one closed without an answer; the caller's rate limiter
//  counted one request, so the second is refused: the transfer ends with
//  resend_refused, and the caller sends again when its pacing allows.
static int
s_on_prerequest (void *argument, char *remote_ip, char *local_ip, int remote_port,
                 int local_port)
{
    s_transfer_t *transfer = (s_transfer_t *) argument;
    if (transfer->sends++ == 0)
        return CURL_PREREQFUNC_OK;
    transfer->resend_refused = true;
    return CURL_PREREQFUNC_ABORT;
}

//  Removes a transfer from the multi handle and frees it.
static void
s_transfer_destroy (s_transfer_t **transfer_p)
{
    s_transfer_t *transfer = *transfer_p;
    gl_http_t *http = transfer->http;
    if (transfer->previous)
        transfer->previous->next = transfer->next;
    else
        http->transfers = transfer->next;
    if (transfer->next)
        transfer->next->previous = transfer->previous;
    curl_multi_remove_handle (http->multi, transfer->easy);
    curl_easy_cleanup (transfer->easy);
    curl_slist_free_all (transfer->request_headers);
    free (transfer->body.data);
    free (transfer->headers.data);
    free (transfer);
    http->active--;
    *transfer_p = NULL;
}

//  Calls the completion callback of a finished transfer, then frees it.
static void
s_transfer_finish (s_transfer_t *transfer, CURLcode code)
{
    long status = 0, connects = 0;
    curl_off_t elapsed_us = 0;
    curl_easy_getinfo (transfer->easy, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo (transfer->easy, CURLINFO_NUM_CONNECTS, &connects);
    curl_easy_getinfo (transfer->easy, CURLINFO_TOTAL_TIME_T, &elapsed_us);
    gl_http_response_t response = {
        .id = transfer->id,
        .curl_code = (int) code,
        .error = code == CURLE_OK? "":
                 transfer->resend_refused? "the connection closed without an answer; "
                                           "libcurl's resend was refused":
                 transfer->error [0]? transfer->error:
                 curl_easy_strerror (code),
        .timed_out = code == CURLE_OPERATION_TIMEDOUT,
        .too_large = transfer->too_large || code == CURLE_FILESIZE_EXCEEDED,
        .status = status,
        .headers = transfer->headers.data? transfer->headers.data: "",
        .body = transfer->body.data? transfer->body.data: "",
        .size = transfer->body.size,
        .elapsed_ms = (int64_t) (elapsed_us / 1000),
        .reused = code == CURLE_OK && connects == 0,
        .resend_refused = transfer->resend_refused,
    };
    gl_http_done_fn *done = transfer->done;
    void *argument = transfer->argument;
    gl_http_t *http = transfer->http;
    //  Out of the multi handle before the callback, which may add more.
    curl_multi_remove_handle (http->multi, transfer->easy);
    done (http, &response, argument);
    s_transfer_destroy (&transfer);
}

//  Hands finished transfers to their callbacks.
static void
s_check_done (gl_http_t *self)
{
    CURLMsg *message;
    int pending;
    while ((message = curl_multi_info_read (self->multi, &pending))) {
        if (message->msg != CURLMSG_DONE)
            continue;
        s_transfer_t *transfer = NULL;
        curl_easy_getinfo (message->easy_handle, CURLINFO_PRIVATE, (char **) &transfer);
        s_transfer_finish (transfer, message->data.result);
    }
}

//  zloop: one of curl's sockets is ready.
static int
s_on_socket_ready (zloop_t *loop, zmq_pollitem_t *item, void *argument)
{
    gl_http_t *self = (gl_http_t *) argument;
    int flags = ((item->revents & ZMQ_POLLIN)? CURL_CSELECT_IN: 0)
              | ((item->revents & ZMQ_POLLOUT)? CURL_CSELECT_OUT: 0)
              | ((item->revents & ZMQ_POLLERR)? CURL_CSELECT_ERR: 0);
    int running = 0;
    curl_multi_socket_action (self->multi, item->fd, flags, &running);
    s_check_done (self);
    return 0;
}

//  zloop: curl's timer expired.
static int
s_on_timer (zloop_t *loop, zmq_pollitem_t *item, void *argument)
{
    gl_http_t *self = (gl_http_t *) argument;
    uint64_t expirations;
    if (read (self->timer_fd, &expirations, sizeof (expirations)) != sizeof (expirations))
        return 0;               //  a stale wake-up: the timer was re-armed
    int running = 0;
    curl_multi_socket_action (self->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    s_check_done (self);
    return 0;
}

//  curl: watch a socket for these events (or stop watching it).
static int
s_curl_socket (CURL *easy, curl_socket_t socket, int what, void *argument, void *socket_data)
{
    gl_http_t *self = (gl_http_t *) argument;
    zmq_pollitem_t item = { .socket = NULL, .fd = socket };
    zloop_poller_end (self->loop, &item);
    if (what == CURL_POLL_REMOVE)
        return 0;
    item.events = ((what & CURL_POLL_IN)? ZMQ_POLLIN: 0) | ((what & CURL_POLL_OUT)? ZMQ_POLLOUT: 0);
    if (zloop_poller (self->loop, &item, s_on_socket_ready, self) != 0) {
        gl_log_error ("http_poller_failed", "fd=%d", (int) socket);
        return -1;
    }
    zloop_poller_set_tolerant (self->loop, &item);
    return 0;
}

//  curl: wake me in timeout_ms (-1: never). A timerfd rather than a zloop
//  timer: zloop only forgets an ended timer at the end of an iteration, so
//  an ended timer could still fire into a destroyed gl_http.
static int
s_curl_timer (CURLM *multi, long timeout_ms, void *argument)
{
    gl_http_t *self = (gl_http_t *) argument;
    struct itimerspec setting = { { 0, 0 }, { 0, 0 } };
    if (timeout_ms > 0) {
        setting.it_value.tv_sec = timeout_ms / 1000;
        setting.it_value.tv_nsec = (timeout_ms % 1000) * 1000000;
    }
    else
    if (timeout_ms == 0)
        setting.it_value.tv_nsec = 1;       //  zero would disarm it
    return timerfd_settime (self->timer_fd, 0, &setting, NULL) == 0? 0: -1;
}

gl_http_t *
gl_http_new (zloop_t *loop, const gl_http_options_t *options)
{
    if (!loop || curl_global_init (CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return NULL;
    gl_http_t *self = (gl_http_t *) zmalloc (sizeof (gl_http_t));
    self->loop = loop;
    self->options = options? *options: (gl_http_options_t) { 0 };
    gl_http_options_t *settings = &self->options;
    settings->connect_timeout_ms = settings->connect_timeout_ms > 0? settings->connect_timeout_ms: 5000;
    settings->timeout_ms = settings->timeout_ms > 0? settings->timeout_ms: 30000;
    settings->max_body = settings->max_body? settings->max_body: 16 * 1024 * 1024;
    settings->max_host_connections = settings->max_host_connections > 0?
                                     settings->max_host_connections: 16;
    self->multi = curl_multi_init ();
    self->timer_fd = timerfd_create (CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    zmq_pollitem_t timer = { .socket = NULL, .fd = self->timer_fd, .events = ZMQ_POLLIN };
    if (!self->multi || self->timer_fd < 0
    ||  zloop_poller (loop, &timer, s_on_timer, self) != 0) {
        gl_log_error ("http_start_failed", "reason=\"expected a curl multi handle and a timerfd\"");
        if (self->multi)
            curl_multi_cleanup (self->multi);
        if (self->timer_fd >= 0)
            close (self->timer_fd);
        free (self);
        curl_global_cleanup ();
        return NULL;
    }
    curl_multi_setopt (self->multi, CURLMOPT_SOCKETFUNCTION, s_curl_socket);
    curl_multi_setopt (self->multi, CURLMOPT_SOCKETDATA, self);
    curl_multi_setopt (self->multi, CURLMOPT_TIMERFUNCTION, s_curl_timer);
    curl_multi_setopt (self->multi, CURLMOPT_TIMERDATA, self);
    curl_multi_setopt (self->multi, CURLMOPT_MAX_HOST_CONNECTIONS, settings->max_host_connections);
    curl_multi_setopt (self->multi, CURLMOPT_MAXCONNECTS, settings->max_host_connections * 4);
    return self;
}

void
gl_http_destroy (gl_http_t **self_p)
{
    if (self_p && *self_p) {
        gl_http_t *self = *self_p;
        while (self->transfers) {
            s_transfer_t *transfer = self->transfers;
            s_transfer_destroy (&transfer);
        }
        curl_multi_cleanup (self->multi);
        zmq_pollitem_t timer = { .socket = NULL, .fd = self->timer_fd };
        zloop_poller_end (self->loop, &timer);
        close (self->timer_fd);
        free (self);
        curl_global_cleanup ();
        *self_p = NULL;
    }
}

//  Sets one transfer's easy options. Returns 0 or -1.
static int
s_transfer_setup (s_transfer_t *transfer, const char *url)
{
    gl_http_options_t *options = &transfer->http->options;
    CURL *easy = transfer->easy;
    if (strncasecmp (url, "http://", 7) != 0 && strncasecmp (url, "https://", 8) != 0)
        return -1;
    CURLcode code = curl_easy_setopt (easy, CURLOPT_URL, url);
    if (code == CURLE_OK)
        code = curl_easy_setopt (easy, CURLOPT_PROTOCOLS_STR, "http,https");
    if (code != CURLE_OK)
        return -1;
    curl_easy_setopt (easy, CURLOPT_HTTPGET, 1L);
    curl_easy_setopt (easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt (easy, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt (easy, CURLOPT_CONNECTTIMEOUT_MS, (long) options->connect_timeout_ms);
    curl_easy_setopt (easy, CURLOPT_TIMEOUT_MS, (long) options->timeout_ms);
    curl_easy_setopt (easy, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t) options->max_body);
    curl_easy_setopt (easy, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt (easy, CURLOPT_WRITEFUNCTION, s_on_body);
    curl_easy_setopt (easy, CURLOPT_WRITEDATA, transfer);
    curl_easy_setopt (easy, CURLOPT_HEADERFUNCTION, s_on_header);
    curl_easy_setopt (easy, CURLOPT_HEADERDATA, transfer);
    curl_easy_setopt (easy, CURLOPT_ERRORBUFFER, transfer->error);
    curl_easy_setopt (easy, CURLOPT_PRIVATE, transfer);
    curl_easy_setopt (easy, CURLOPT_PREREQFUNCTION, s_on_prerequest);
    curl_easy_setopt (easy, CURLOPT_PREREQDATA, transfer);
    curl_easy_setopt (easy, CURLOPT_HTTPHEADER, transfer->request_headers);
    return 0;
}

uint64_t
gl_http_get (gl_http_t *self, const char *url, const char *const *headers,
             gl_http_done_fn *done, void *argument)
{
    s_transfer_t *transfer = (s_transfer_t *) zmalloc (sizeof (s_transfer_t));
    transfer->http = self;
    transfer->done = done;
    transfer->argument = argument;
    transfer->easy = curl_easy_init ();
    for (size_t index = 0; headers && headers [index]; index++)
        transfer->request_headers = curl_slist_append (transfer->request_headers, headers [index]);
    if (!transfer->easy || s_transfer_setup (transfer, url) != 0) {
        gl_log_error ("http_request_refused", "reason=\"expected an http or https URL\"");
        curl_easy_cleanup (transfer->easy);
        curl_slist_free_all (transfer->request_headers);
        free (transfer);
        return 0;
    }
    transfer->id = ++self->last_id;
    transfer->next = self->transfers;
    if (self->transfers)
        self->transfers->previous = transfer;
    self->transfers = transfer;
    self->active++;
    if (curl_multi_add_handle (self->multi, transfer->easy) != CURLM_OK) {
        gl_log_error ("http_request_refused", "reason=curl_multi_add_handle");
        s_transfer_destroy (&transfer);
        return 0;
    }
    return self->last_id;
}

size_t
gl_http_active (gl_http_t *self)
{
    return self->active;
}

bool
gl_http_header (const char *headers, const char *name, char *buffer, size_t size)
{
    size_t name_length = strlen (name);
    for (const char *line = headers; line && *line; ) {
        const char *end = strchr (line, '\n');
        size_t length = end? (size_t) (end - line): strlen (line);
        if (length > name_length && line [name_length] == ':'
        &&  strncasecmp (line, name, name_length) == 0) {
            const char *value = line + name_length + 1;
            const char *stop = line + length;
            while (value < stop && (*value == ' ' || *value == '\t'))
                value++;
            while (stop > value && (stop [-1] == '\r' || stop [-1] == ' ' || stop [-1] == '\t'))
                stop--;
            snprintf (buffer, size, "%.*s", (int) (stop - value), value);
            return true;
        }
        line = end? end + 1: line + length;
    }
    return false;
}
