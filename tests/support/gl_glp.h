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

#endif
