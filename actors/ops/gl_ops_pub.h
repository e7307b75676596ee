/*  gl_ops_pub — the ops publisher: a ZeroMQ XPUB socket that sends
    two-frame messages (topic, MessagePack map; protocol/SPEC.md "Ops
    publication") to any number of SUB sockets.

    XPUB rather than PUB so ops hears each subscription as it is made and
    can answer a late joiner with a full snapshot at once, and so a send
    to a subscriber at its high-water mark fails (XPUB_NODROP) instead of
    vanishing: it is counted as dropped, never blocks the actor. A socket
    monitor counts the connected subscribers.
*/
#ifndef GL_OPS_PUB_H_INCLUDED
#define GL_OPS_PUB_H_INCLUDED

#include <czmq.h>
#include <stdint.h>
#include "gl_ops_map.h"

typedef struct _gl_ops_pub_t gl_ops_pub_t;

//  Called for each subscription a subscriber makes (topic prefix, possibly
//  empty: everything).
typedef void (gl_ops_pub_subscribe_fn) (gl_ops_pub_t *pub, const char *prefix, void *argument);

//  How subscribers from other hosts are let in (actors/lib/gl_curve.h):
//  with a secret certificate and an allow-list directory, an endpoint that
//  leaves this host is a CURVE server admitting only those keys; without,
//  such an endpoint is refused unless insecure. NULL: none of it.
typedef struct {
    const char *curve_secret;
    const char *curve_allow;
    bool insecure;
} gl_ops_pub_security_t;

//  Binds the endpoint (tcp:// or ipc://), with hwm messages queued per
//  subscriber, and reads subscriptions and connections on the loop.
//  Returns NULL with a log line if the endpoint cannot be bound or its
//  security is not right. Caller owns return value.
gl_ops_pub_t *gl_ops_pub_new (const char *endpoint, int hwm, zloop_t *loop,
                              const gl_ops_pub_security_t *security,
                              gl_ops_pub_subscribe_fn *subscribe, void *argument);

//  CURVE subscribers refused so far (their key is not in the allow list).
uint64_t gl_ops_pub_refused (gl_ops_pub_t *self);

//  Closes the socket and nulls the caller's pointer. Safe twice.
void gl_ops_pub_destroy (gl_ops_pub_t **self_p);

//  Publishes the map under topic. Returns 0, or -1 when it was dropped (a
//  subscriber's queue is full, or out of memory), counted.
int gl_ops_pub_send (gl_ops_pub_t *self, const char *topic, const gl_ops_map_t *map);

//  Publishes an encoded map under topic; the same as gl_ops_pub_send.
int gl_ops_pub_send_encoded (gl_ops_pub_t *self, const char *topic, const char *data,
                             size_t size);

//  What it has done: messages sent, dropped, and subscribers connected now.
uint64_t gl_ops_pub_sent (gl_ops_pub_t *self);
uint64_t gl_ops_pub_dropped (gl_ops_pub_t *self);
int64_t gl_ops_pub_subscribers (gl_ops_pub_t *self);

#endif
