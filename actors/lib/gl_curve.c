/*  gl_curve — CURVE certificates, local endpoints, the broker's ZAP guard.  */
#include "gl_curve.h"
#include "gl_log.h"
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <zmq.h>

#define S_ZAP_ENDPOINT "inproc://zeromq.zap.01"
#define S_ZAP_FRAMES 8              //  version .. credentials, and one too many
#define S_DOMAIN "gapless"

struct _gl_curve_guard_t {
    void *socket;                   //  REP, owned by the thread once it runs
    zcertstore_t *store;
    pthread_t thread;
    bool running;
    atomic_bool stopping;           //  set by destroy: the thread ends
    atomic_uint_fast64_t allowed, refused;
};

//  True if a file exists at path.
static bool
s_exists (const char *path)
{
    struct stat info;
    return stat (path, &info) == 0;
}

//  Writes a new certificate pair.
int
gl_curve_keygen (const char *path, const char *name, char *error)
{
    char secret [1024];
    if (!path || !*path || snprintf (secret, sizeof secret, "%s_secret", path) >= (int) sizeof secret) {
        snprintf (error, GL_CURVE_ERROR_MAX, "keygen: expected a file name of at most 1000 bytes");
        return -1;
    }
    if (s_exists (path) || s_exists (secret)) {
        snprintf (error, GL_CURVE_ERROR_MAX, "keygen: %.200s or %.200s exists already; a certificate"
                  " is never overwritten (move it away first)", path, secret);
        return -1;
    }
    zcert_t *cert = zcert_new ();
    if (!cert) {
        snprintf (error, GL_CURVE_ERROR_MAX, "keygen: cannot make a key pair");
        return -1;
    }
    zcert_set_meta (cert, "name", "%s", name && *name? name: "gapless");
    //  The secret file is made owner-only before a key is written to it
    mode_t mask = umask (077);
    const char *failed = zcert_save_secret (cert, secret) == 0? NULL: secret;
    umask (mask);
    if (!failed && zcert_save_public (cert, path) != 0)
        failed = path;
    if (failed)
        snprintf (error, GL_CURVE_ERROR_MAX, "keygen: cannot write %.200s: %s", failed,
                  strerror (errno));
    zcert_destroy (&cert);
    return failed? -1: 0;
}

//  Loads a certificate file, or NULL with error.
static zcert_t *
s_load (const char *path, const char *what, char *error)
{
    zcert_t *cert = path && *path? zcert_load (path): NULL;
    if (!cert)
        snprintf (error, GL_CURVE_ERROR_MAX, "cannot read the %s certificate '%s' (expected"
                  " a file written by gapless keygen)", what, path? path: "");
    return cert;
}

//  Loads a secret certificate, owner-only.
zcert_t *
gl_curve_load_secret (const char *path, char *error)
{
    zcert_t *cert = s_load (path, "secret", error);
    static const byte s_zero [32] = { 0 };
    struct stat info;
    if (cert && memcmp (zcert_secret_key (cert), s_zero, 32) == 0) {
        snprintf (error, GL_CURVE_ERROR_MAX, "'%s' holds no secret key (it is a public"
                  " certificate; give the _secret file)", path);
        zcert_destroy (&cert);
    }
    //  czmq reads path_secret when it exists: that is the file to guard
    char secret [1024];
    snprintf (secret, sizeof secret, "%s_secret", path? path: "");
    const char *holder = s_exists (secret)? secret: path;
    if (cert && stat (holder, &info) == 0 && (info.st_mode & 077)) {
        snprintf (error, GL_CURVE_ERROR_MAX, "the secret certificate '%.200s' may be read by others"
                  " (mode %03o); chmod 600 it", holder, (unsigned) (info.st_mode & 0777));
        zcert_destroy (&cert);
    }
    return cert;
}

//  Loads a public certificate.
zcert_t *
gl_curve_load_public (const char *path, char *error)
{
    return s_load (path, "public", error);
}

//  True for an endpoint that stays on this host.
bool
gl_curve_endpoint_local (const char *endpoint)
{
    if (!endpoint)
        return false;
    if (strncmp (endpoint, "ipc://", 6) == 0 || strncmp (endpoint, "inproc://", 9) == 0)
        return true;
    if (strncmp (endpoint, "tcp://", 6) != 0)
        return false;
    const char *host = endpoint + 6;
    //  tcp://[source;]host:port: the host is what follows a source
    const char *source_end = strchr (host, ';');
    if (source_end)
        host = source_end + 1;
    return strncmp (host, "127.", 4) == 0 || strncmp (host, "[::1]:", 6) == 0
        || strncmp (host, "localhost:", 10) == 0;
}

//  Makes socket a CURVE server.
int
gl_curve_server (void *socket, const char *secret_path, char *error)
{
    zcert_t *cert = gl_curve_load_secret (secret_path, error);
    if (!cert)
        return -1;
    zcert_apply (cert, socket);
    int on = 1;
    int rc = zmq_setsockopt (zsock_resolve (socket), ZMQ_CURVE_SERVER, &on, sizeof on)
          || zmq_setsockopt (zsock_resolve (socket), ZMQ_ZAP_DOMAIN, S_DOMAIN, strlen (S_DOMAIN));
    if (rc)
        snprintf (error, GL_CURVE_ERROR_MAX, "cannot make the socket a CURVE server: %s",
                  zmq_strerror (zmq_errno ()));
    zcert_destroy (&cert);
    return rc? -1: 0;
}

//  Makes socket a CURVE client of the server at server_path.
int
gl_curve_client (void *socket, const char *secret_path, const char *server_path, char *error)
{
    zcert_t *own = gl_curve_load_secret (secret_path, error);
    zcert_t *server = own? gl_curve_load_public (server_path, error): NULL;
    int rc = -1;
    if (own && server) {
        zcert_apply (own, socket);
        rc = zmq_setsockopt (zsock_resolve (socket), ZMQ_CURVE_SERVERKEY,
                             zcert_public_key (server), 32);
        if (rc)
            snprintf (error, GL_CURVE_ERROR_MAX, "cannot make the socket a CURVE client: %s",
                      zmq_strerror (zmq_errno ()));
    }
    zcert_destroy (&own);
    zcert_destroy (&server);
    return rc? -1: 0;
}

//  Receives one ZAP request into frames; returns how many (at most
//  S_ZAP_FRAMES, more are dropped), 0 when none came within the receive
//  timeout, or -1 when the context ends.
static int
s_zap_receive (void *socket, zmq_msg_t *frames)
{
    int count = 0, more = 1;
    while (more) {
        zmq_msg_t part;
        zmq_msg_init (&part);
        if (zmq_msg_recv (&part, socket, 0) == -1) {
            zmq_msg_close (&part);
            for (int index = 0; index < count; index++)
                zmq_msg_close (&frames [index]);
            return zmq_errno () == EAGAIN && count == 0? 0: -1;
        }
        more = zmq_msg_more (&part);
        if (count < S_ZAP_FRAMES)
            frames [count++] = part;
        else
            zmq_msg_close (&part);
    }
    return count;
}

//  Sends one ZAP reply.
static void
s_zap_reply (void *socket, zmq_msg_t *request_id, const char *status, const char *text,
             const char *user)
{
    zmq_send (socket, "1.0", 3, ZMQ_SNDMORE);
    zmq_send (socket, zmq_msg_data (request_id), zmq_msg_size (request_id), ZMQ_SNDMORE);
    zmq_send (socket, status, strlen (status), ZMQ_SNDMORE);
    zmq_send (socket, text, strlen (text), ZMQ_SNDMORE);
    zmq_send (socket, user, strlen (user), ZMQ_SNDMORE);
    zmq_send (socket, "", 0, 0);
}

//  A frame's bytes as text, at most size - 1 of them.
static void
s_frame_text (zmq_msg_t *frame, char *text, size_t size)
{
    size_t length = zmq_msg_size (frame) < size - 1? zmq_msg_size (frame): size - 1;
    memcpy (text, zmq_msg_data (frame), length);
    text [length] = '\0';
}

//  Answers one request: CURVE clients by the allow list; the NULL
//  mechanism (the broker's local endpoints) is admitted.
static void
s_zap_answer (gl_curve_guard_t *self, zmq_msg_t *frames, int count)
{
    char address [64], mechanism [16];
    s_frame_text (&frames [3], address, sizeof address);
    s_frame_text (&frames [5], mechanism, sizeof mechanism);
    if (strcmp (mechanism, "CURVE") != 0) {
        s_zap_reply (self->socket, &frames [1], "200", "OK", "local");
        return;
    }
    char key [41] = "";
    if (count == 7 && zmq_msg_size (&frames [6]) == 32)
        zmq_z85_encode (key, zmq_msg_data (&frames [6]), 32);
    zcert_t *cert = *key? zcertstore_lookup (self->store, key): NULL;
    if (cert) {
        const char *name = zcert_meta (cert, "name");
        atomic_fetch_add (&self->allowed, 1);
        gl_log_info ("curve_allowed", "address=%s key=%s name=%s", GL_LOG_VALUE (address), key,
                     GL_LOG_VALUE (name? name: ""));
        s_zap_reply (self->socket, &frames [1], "200", "OK", key);
    }
    else {
        atomic_fetch_add (&self->refused, 1);
        gl_log_warn ("curve_refused", "address=%s key=%s reason=\"not in the allow list\"",
                     GL_LOG_VALUE (address), *key? key: "none");
        s_zap_reply (self->socket, &frames [1], "400", "key not allowed", "");
    }
}

//  The guard's thread: answers requests until the context ends.
static void *
s_guard_run (void *argument)
{
    gl_curve_guard_t *self = (gl_curve_guard_t *) argument;
    zmq_msg_t frames [S_ZAP_FRAMES];
    int count;
    while (!atomic_load (&self->stopping)
    &&     (count = s_zap_receive (self->socket, frames)) != -1) {
        bool wellformed = count >= 6 && zmq_msg_size (&frames [0]) == 3
                       && memcmp (zmq_msg_data (&frames [0]), "1.0", 3) == 0;
        if (wellformed)
            s_zap_answer (self, frames, count);
        else
        if (count >= 2)
            s_zap_reply (self->socket, &frames [1], "500", "malformed ZAP request", "");
        for (int index = 0; index < count; index++)
            zmq_msg_close (&frames [index]);
    }
    zmq_close (self->socket);
    return NULL;
}

//  Starts the ZAP handler.
gl_curve_guard_t *
gl_curve_guard_new (void *context, const char *allow_directory, char *error)
{
    struct stat info;
    if (!allow_directory || stat (allow_directory, &info) != 0 || !S_ISDIR (info.st_mode)) {
        snprintf (error, GL_CURVE_ERROR_MAX, "the allow list '%s' is not a directory (expected"
                  " one holding the public certificates of the actors allowed in)",
                  allow_directory? allow_directory: "");
        return NULL;
    }
    gl_curve_guard_t *self = (gl_curve_guard_t *) calloc (1, sizeof (gl_curve_guard_t));
    if (!self) {
        snprintf (error, GL_CURVE_ERROR_MAX, "out of memory");
        return NULL;
    }
    self->store = zcertstore_new (allow_directory);
    self->socket = self->store? zmq_socket (context, ZMQ_REP): NULL;
    //  The receive wakes every 200 ms to see whether destroy asked it to end
    int linger = 0, timeout = 200;
    if (!self->socket || zmq_setsockopt (self->socket, ZMQ_LINGER, &linger, sizeof linger)
    ||  zmq_setsockopt (self->socket, ZMQ_RCVTIMEO, &timeout, sizeof timeout)
    ||  zmq_bind (self->socket, S_ZAP_ENDPOINT) != 0) {
        snprintf (error, GL_CURVE_ERROR_MAX, "cannot start the CURVE guard: %s",
                  zmq_strerror (zmq_errno ()));
        if (self->socket)
            zmq_close (self->socket);
        zcertstore_destroy (&self->store);
        free (self);
        return NULL;
    }
    //  The socket moves to the thread; pthread_create is the full fence
    //  ZeroMQ asks for when a socket changes threads.
    if (pthread_create (&self->thread, NULL, s_guard_run, self) != 0) {
        snprintf (error, GL_CURVE_ERROR_MAX, "cannot start the CURVE guard's thread");
        zmq_close (self->socket);
        zcertstore_destroy (&self->store);
        free (self);
        return NULL;
    }
    self->running = true;
    return self;
}

//  Stops the handler (its context is shut down: its receive ends).
void
gl_curve_guard_destroy (gl_curve_guard_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    gl_curve_guard_t *self = *self_p;
    atomic_store (&self->stopping, true);
    if (self->running)
        pthread_join (self->thread, NULL);
    zcertstore_destroy (&self->store);
    free (self);
    *self_p = NULL;
}

uint64_t
gl_curve_guard_allowed (gl_curve_guard_t *self)
{
    return self? atomic_load (&self->allowed): 0;
}

uint64_t
gl_curve_guard_refused (gl_curve_guard_t *self)
{
    return self? atomic_load (&self->refused): 0;
}
