/*  gl_simclient — start gapless-sim and talk HTTP to it. See
    gl_simclient.h.
*/
#include "gl_simclient.h"
#include <curl/curl.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define LISTENERS 6

struct _gl_simclient_t {
    pid_t pid;
    int output;
    char config_path [64];
    char names [LISTENERS][16];
    char urls [LISTENERS][64];
    size_t listeners;
    bool stopped;
    int status;
};

//  Milliseconds on the monotonic clock.
static long long
s_now_ms (void)
{
    struct timespec now;
    clock_gettime (CLOCK_MONOTONIC, &now);
    return (long long) now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

//  The gapless-sim binary path.
static void
s_binary (char *buffer, size_t size)
{
    const char *explicit_path = getenv ("GL_SIM_BINARY");
    const char *binary_dir = getenv ("GL_BINARY_DIR");
    if (explicit_path)
        snprintf (buffer, size, "%s", explicit_path);
    else
        snprintf (buffer, size, "%s/tools/sim/gapless-sim", binary_dir? binary_dir: ".");
}

//  Reads listening lines until every listener is known or the deadline.
static int
s_read_listeners (gl_simclient_t *self)
{
    char text [2048];
    size_t used = 0;
    long long deadline = s_now_ms () + 10000;
    while (self->listeners < LISTENERS && s_now_ms () < deadline) {
        struct pollfd item = { self->output, POLLIN, 0 };
        if (poll (&item, 1, 100) <= 0)
            continue;
        ssize_t got = read (self->output, text + used, sizeof text - used - 1);
        if (got <= 0)
            return -1;
        used += (size_t) got;
        text [used] = 0;
        char *line_end;
        while ((line_end = strchr (text, '\n'))) {
            *line_end = 0;
            if (self->listeners < LISTENERS
                && sscanf (text, "listening provider=%15s url=%63s", self->names [self->listeners],
                           self->urls [self->listeners]) == 2)
                self->listeners++;
            used -= (size_t) (line_end + 1 - text);
            memmove (text, line_end + 1, used + 1);
        }
    }
    return self->listeners == LISTENERS? 0: -1;
}

//  Forks and execs the sim with stdout on a pipe.
static int
s_spawn (gl_simclient_t *self, const char *seed)
{
    char binary [512];
    s_binary (binary, sizeof binary);
    int pipe_ends [2];
    if (pipe (pipe_ends) != 0)
        return -1;
    self->pid = fork ();
    if (self->pid < 0)
        return -1;
    if (self->pid == 0) {
        dup2 (pipe_ends [1], STDOUT_FILENO);
        close (pipe_ends [0]);
        close (pipe_ends [1]);
        const char *arguments [6] = { binary, NULL, NULL, NULL, NULL, NULL };
        int count = 1;
        if (*self->config_path) {
            arguments [count++] = "--config";
            arguments [count++] = self->config_path;
        }
        if (seed) {
            arguments [count++] = "--seed";
            arguments [count++] = seed;
        }
        execv (binary, (char *const *) arguments);
        fprintf (stderr, "gl_simclient: cannot run %s: %s\n", binary, strerror (errno));
        _exit (127);
    }
    close (pipe_ends [1]);
    self->output = pipe_ends [0];
    return 0;
}

gl_simclient_t *
gl_simclient_new (const char *config_text, const char *seed)
{
    gl_simclient_t *self = (gl_simclient_t *) calloc (1, sizeof (gl_simclient_t));
    if (!self)
        return NULL;
    self->output = -1;
    if (config_text) {
        snprintf (self->config_path, sizeof self->config_path, "/tmp/gl_simclient_XXXXXX");
        int file = mkstemp (self->config_path);
        if (file < 0 || write (file, config_text, strlen (config_text)) != (ssize_t) strlen (config_text)) {
            fprintf (stderr, "gl_simclient: cannot write the config file\n");
            if (file >= 0)
                close (file);
            gl_simclient_destroy (&self);
            return NULL;
        }
        close (file);
    }
    if (s_spawn (self, seed) != 0 || s_read_listeners (self) != 0) {
        fprintf (stderr, "gl_simclient: gapless-sim did not report its %d listeners\n", LISTENERS);
        gl_simclient_destroy (&self);
        return NULL;
    }
    return self;
}

int
gl_simclient_stop (gl_simclient_t *self)
{
    if (self->stopped)
        return self->status;
    self->stopped = true;
    self->status = -1;
    if (self->pid <= 0)
        return -1;
    kill (self->pid, SIGTERM);
    long long deadline = s_now_ms () + 10000;
    int status = 0;
    while (s_now_ms () < deadline) {
        pid_t done = waitpid (self->pid, &status, WNOHANG);
        if (done == self->pid) {
            self->status = WIFEXITED (status)? WEXITSTATUS (status): -1;
            return self->status;
        }
        struct timespec pause = { 0, 5000000 };
        nanosleep (&pause, NULL);
    }
    kill (self->pid, SIGKILL);
    waitpid (self->pid, &status, 0);
    return -1;
}

void
gl_simclient_destroy (gl_simclient_t **self_p)
{
    if (self_p && *self_p) {
        gl_simclient_t *self = *self_p;
        gl_simclient_stop (self);
        if (self->output >= 0)
            close (self->output);
        if (*self->config_path)
            unlink (self->config_path);
        free (self);
        *self_p = NULL;
    }
}

const char *
gl_simclient_url (gl_simclient_t *self, const char *provider)
{
    for (size_t index = 0; index < self->listeners; index++)
        if (strcmp (self->names [index], provider) == 0)
            return self->urls [index];
    return NULL;
}

typedef struct {
    char *data;
    size_t size;
} s_buffer_t;

//  libcurl write callback: appends to a buffer.
static size_t
s_collect (char *data, size_t size, size_t count, void *argument)
{
    s_buffer_t *buffer = (s_buffer_t *) argument;
    size_t length = size * count;
    char *grown = (char *) realloc (buffer->data, buffer->size + length + 1);
    if (!grown)
        return 0;
    memcpy (grown + buffer->size, data, length);
    buffer->data = grown;
    buffer->size += length;
    buffer->data [buffer->size] = 0;
    return length;
}

int
gl_simclient_request (const char *method, const char *base, const char *path_and_query,
                      const char *const *headers, long timeout_ms, gl_simclient_reply_t *reply)
{
    memset (reply, 0, sizeof *reply);
    char url [2048];
    snprintf (url, sizeof url, "%s%s", base, path_and_query);
    s_buffer_t body = { NULL, 0 }, header_block = { NULL, 0 };
    CURL *curl = curl_easy_init ();
    if (!curl)
        return reply->curl_code = CURLE_FAILED_INIT;
    struct curl_slist *list = NULL;
    for (size_t index = 0; headers && headers [index]; index++)
        list = curl_slist_append (list, headers [index]);
    curl_easy_setopt (curl, CURLOPT_URL, url);
    curl_easy_setopt (curl, CURLOPT_HTTPHEADER, list);
    curl_easy_setopt (curl, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt (curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt (curl, CURLOPT_WRITEFUNCTION, s_collect);
    curl_easy_setopt (curl, CURLOPT_WRITEDATA, &body);
    curl_easy_setopt (curl, CURLOPT_HEADERFUNCTION, s_collect);
    curl_easy_setopt (curl, CURLOPT_HEADERDATA, &header_block);
    if (strcmp (method, "POST") == 0)
        curl_easy_setopt (curl, CURLOPT_POSTFIELDS, "");
    reply->curl_code = (int) curl_easy_perform (curl);
    curl_easy_getinfo (curl, CURLINFO_RESPONSE_CODE, &reply->status);
    curl_slist_free_all (list);
    curl_easy_cleanup (curl);
    reply->body = body.data? body.data: strdup ("");
    reply->size = body.size;
    reply->headers = header_block.data? header_block.data: strdup ("");
    return reply->curl_code;
}

bool
gl_simclient_reply_header (gl_simclient_reply_t *reply, const char *name, char *buffer,
                           size_t size)
{
    size_t length = strlen (name);
    for (const char *line = reply->headers; line && *line; ) {
        const char *end = strchr (line, '\n');
        if (strncasecmp (line, name, length) == 0 && line [length] == ':') {
            const char *value = line + length + 1;
            while (*value == ' ')
                value++;
            size_t value_length = (size_t) ((end? end: value + strlen (value)) - value);
            while (value_length && (value [value_length - 1] == '\r' || value [value_length - 1] == '\n'))
                value_length--;
            snprintf (buffer, size, "%.*s", (int) value_length, value);
            return true;
        }
        line = end? end + 1: NULL;
    }
    return false;
}

void
gl_simclient_reply_free (gl_simclient_reply_t *reply)
{
    free (reply->body);
    free (reply->headers);
    reply->body = NULL;
    reply->headers = NULL;
}
