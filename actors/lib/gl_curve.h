/*  gl_curve — CURVE between hosts: certificates, which endpoints need
    them, and the broker's allow list.

    Every tcp connection between hosts is authenticated and encrypted
    with ZeroMQ's CURVE. A certificate pair is two files written by
    gl_curve_keygen (`gapless keygen NAME`): NAME holds the public key
    (it goes into the broker's allow list, or to the actors that connect
    to a server) and NAME_secret both keys (owner-only; a secret file
    others can read is refused, ARCHITECTURE invariant 8). The files are
    czmq's zcert format.

    An endpoint that stays on this host — ipc, inproc, tcp on a loopback
    address — needs no CURVE, as a Unix socket does not. Any other tcp
    endpoint without CURVE is refused unless the process is configured
    insecure, and then it says so loudly.

    The guard is the broker's ZAP handler (ZeroMQ RFC 27) on its own
    thread: a CURVE client whose public key is not among the certificates
    of the allow-list directory is refused, logged with its address and
    key, and counted. The directory is re-read when it changes, so a key
    is allowed or revoked without a restart.
*/
#ifndef GL_CURVE_H_INCLUDED
#define GL_CURVE_H_INCLUDED

#include <stdbool.h>
#include <stdint.h>
#include <czmq.h>

#define GL_CURVE_ERROR_MAX 512

//  Writes a new certificate pair: path (public) and path_secret (both
//  keys, mode 0600), with name in its metadata. Refuses to overwrite
//  either file. Returns 0, or -1 with the reason in error.
int gl_curve_keygen (const char *path, const char *name, char *error);

//  Loads the secret certificate at path (the _secret file), refusing one
//  that others may read or that holds no secret key. Returns NULL with
//  the reason in error. Caller owns return value.
zcert_t *gl_curve_load_secret (const char *path, char *error);

//  Loads a public certificate. Returns NULL with the reason in error.
//  Caller owns return value.
zcert_t *gl_curve_load_public (const char *path, char *error);

//  True for an endpoint that stays on this host: ipc://, inproc://, and
//  tcp:// on 127.0.0.0/8, ::1 or localhost.
bool gl_curve_endpoint_local (const char *endpoint);

//  Makes socket (a libzmq or czmq socket) a CURVE server with the secret
//  certificate, in ZAP domain "gapless". Returns 0 or -1 with error.
int gl_curve_server (void *socket, const char *secret_path, char *error);

//  Makes socket a CURVE client with its own secret certificate, trusting
//  the server whose public certificate is at server_path. Returns 0 or -1
//  with error.
int gl_curve_client (void *socket, const char *secret_path, const char *server_path,
                     char *error);

typedef struct _gl_curve_guard_t gl_curve_guard_t;

//  Starts the ZAP handler in context (a libzmq context) admitting the
//  CURVE clients whose certificates are in allow_directory. It must start
//  before any CURVE server socket of the context binds. Returns NULL with
//  the reason in error. Caller owns return value.
gl_curve_guard_t *gl_curve_guard_new (void *context, const char *allow_directory,
                                      char *error);

//  Stops the handler (within 200 ms, or at once when its context is shut
//  down) and nulls the caller's pointer. Call before zmq_ctx_term.
void gl_curve_guard_destroy (gl_curve_guard_t **self_p);

//  Clients admitted and refused so far (any thread may read them).
uint64_t gl_curve_guard_allowed (gl_curve_guard_t *self);
uint64_t gl_curve_guard_refused (gl_curve_guard_t *self);

#endif
