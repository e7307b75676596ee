/*  gl_client — one request, one reply, for command-line tools.

    Registers with the broker as an instance of service "cli" (instance
    cli-<host>-<pid>), sends the request to a service once registered,
    and waits for the reply carrying the same request_id (SPEC 7.3).
    Gives up after the timeout, saying whether the broker never answered
    (naming the endpoint tried) or the service did not.
*/
#ifndef GL_CLIENT_H_INCLUDED
#define GL_CLIENT_H_INCLUDED

#include <stdint.h>
#include "gl_msg.h"

//  Sends request (an enqueue, command or gaps; its request_id is filled
//  in) to
//  service through the broker at endpoint and waits up to timeout_ms for
//  the reply. Returns the reply (caller owns it), or NULL with the reason
//  in error (256 bytes).
gl_msg_t *gl_client_request (const char *endpoint, const char *service, gl_msg_t *request,
                             int64_t timeout_ms, char *error);

#endif
