/*  gl_glp — the one way tests and benchmarks speak raw GLP/1 frames from
    a DEALER socket, to drive the broker frame by frame (protocol/SPEC.md).
*/
#ifndef GL_GLP_H_INCLUDED
#define GL_GLP_H_INCLUDED

#include <czmq.h>
#include <stdio.h>
#include "gl_msg.h"
#include "gl_wire.h"

//  Sends a header for the command, then the address frame and the encoded
//  body when given. An invalid body is reported on stderr and sent empty.
static inline void
gl_glp_send (zsock_t *socket, gl_wire_command_t command, const char *address,
             const gl_msg_t *body)
{
    zmsg_t *message = zmsg_new ();
    uint8_t header [GL_WIRE_HEADER_SIZE];
    gl_wire_header (header, command);
    zmsg_addmem (message, header, sizeof (header));
    if (address)
        zmsg_addstr (message, address);
    if (body) {
        char *data = NULL, error [GL_MSG_ERROR_MAX];
        size_t size = 0;
        if (gl_msg_encode (body, &data, &size, error) != 0)
            fprintf (stderr, "gl_glp_send: cannot encode: %s\n", error);
        zmsg_addmem (message, data, size);
        free (data);
    }
    zmsg_send (&message, socket);
}

//  A DEALER connected to the broker at endpoint and registered as the
//  service with the credit; returns once the broker welcomed it (or after
//  5 s, then NULL). Caller owns return value.
static inline zsock_t *
gl_glp_peer (const char *endpoint, const char *service, const char *instance, uint32_t credit)
{
    zsock_t *socket = zsock_new_dealer (endpoint);
    gl_msg_t *ready = gl_msg_new (GL_MSG_READY);
    snprintf (ready->ready.service, sizeof ready->ready.service, "%s", service);
    snprintf (ready->ready.instance, sizeof ready->ready.instance, "%s", instance);
    ready->ready.credit = credit;
    gl_glp_send (socket, GL_WIRE_READY, NULL, ready);
    gl_msg_destroy (&ready);
    zsock_set_rcvtimeo (socket, 5000);
    zmsg_t *welcome = zmsg_recv (socket);
    if (!welcome)
        zsock_destroy (&socket);
    zmsg_destroy (&welcome);
    return socket;
}

//  Waits up to timeout_ms for the REPLY to request_id delivered on the
//  socket, giving the broker one credit back per delivery; other
//  deliveries are dropped. Returns the reply, or NULL. Caller owns it.
static inline gl_msg_t *
gl_glp_reply (zsock_t *socket, const char *request_id, int timeout_ms)
{
    zpoller_t *poller = zpoller_new (socket, NULL);
    gl_msg_t *body = NULL;
    int64_t deadline = zclock_mono () + timeout_ms;
    while (!body && zclock_mono () < deadline
           && zpoller_wait (poller, (int) (deadline - zclock_mono ()))) {
        zmsg_t *message = zmsg_recv (socket);
        zframe_t *header = zmsg_first (message);
        gl_wire_command_t command;
        if (header && gl_wire_header_parse (zframe_data (header), zframe_size (header), &command) == 0
        &&  command == GL_WIRE_DELIVER) {
            zmsg_next (message);                        //  the sender's address
            zframe_t *frame = zmsg_next (message);
            char error [GL_MSG_ERROR_MAX];
            body = frame? gl_msg_decode (zframe_data (frame), zframe_size (frame), error): NULL;
            if (body && (body->type != GL_MSG_REPLY || strcmp (body->reply.request_id, request_id)))
                gl_msg_destroy (&body);
            gl_msg_t *credit = gl_msg_new (GL_MSG_CREDIT);
            credit->credit.credit = 1;
            gl_glp_send (socket, GL_WIRE_CREDIT, NULL, credit);
            gl_msg_destroy (&credit);
        }
        zmsg_destroy (&message);
    }
    zpoller_destroy (&poller);
    return body;
}

#endif
