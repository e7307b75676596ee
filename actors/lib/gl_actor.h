/*  gl_actor — the runtime every gapless actor is built on.

    It connects a DEALER to the broker, registers (READY) as a service
    instance, heartbeats, notices a lost or restarted broker and registers
    again with backoff, returns credit as messages are handled, decodes
    what arrives and calls the handler for its type, and stops cleanly on
    SIGTERM/SIGINT. An actor is its handlers, plus timers or readers it
    adds to the loop:

        gl_actor_t *actor = gl_actor_new (&options);
        gl_actor_on (actor, GL_MSG_ECHO, s_handle_echo, self);
        gl_actor_run (actor);
        gl_actor_destroy (&actor);

    Credit: by default the runtime returns one credit per handled message
    (in batches). An actor that finishes work later (the writer's batches)
    sets manual_credit and calls gl_actor_credit when it has room again.
*/
#ifndef GL_ACTOR_H_INCLUDED
#define GL_ACTOR_H_INCLUDED

#include <czmq.h>
#include <stdbool.h>
#include <stdint.h>
#include "gl_msg.h"

typedef struct _gl_actor_t gl_actor_t;

typedef struct {
    const char *endpoint;       //  broker endpoint, e.g. tcp://127.0.0.1:5570
    const char *service;        //  service name (section 4 of the spec)
    const char *instance;       //  instance id; NULL means host:pid
    uint32_t credit;            //  messages it can hold at once (default 100)
    uint32_t heartbeat_ms;      //  until WELCOME says otherwise (default 1000)
    bool manual_credit;         //  the actor returns credit itself
} gl_actor_options_t;

//  Called for each delivered message of a registered type. sender is the
//  full address to answer. The handler may take the message by nulling
//  *message_p; otherwise the runtime destroys it. Return 0 to go on, -1 to
//  stop the actor.
typedef int (gl_actor_handler_fn) (gl_actor_t *actor, const char *sender,
                                   gl_msg_t **message_p, void *argument);

//  Called when the broker returns a message (BOUNCE). message is the
//  decoded body as sent (NULL if it does not decode), code/text the reason.
typedef void (gl_actor_bounce_fn) (gl_actor_t *actor, const char *destination,
                                   gl_msg_t *message, const char *code,
                                   const char *text, void *argument);

//  Called for each MEMBERSHIP change the broker announces.
typedef void (gl_actor_membership_fn) (gl_actor_t *actor, const gl_msg_t *membership,
                                       void *argument);

//  Creates an actor and starts connecting. Returns NULL (with a log line)
//  for invalid options. Caller owns return value.
gl_actor_t *gl_actor_new (const gl_actor_options_t *options);

//  Sends DISCONNECT, closes the socket, and nulls the caller's pointer.
//  Safe twice.
void gl_actor_destroy (gl_actor_t **self_p);

//  Registers the handler for a message type (replacing any earlier one).
void gl_actor_on (gl_actor_t *self, gl_msg_type_t type, gl_actor_handler_fn *handler,
                  void *argument);

void gl_actor_on_bounce (gl_actor_t *self, gl_actor_bounce_fn *handler, void *argument);
void gl_actor_on_membership (gl_actor_t *self, gl_actor_membership_fn *handler,
                             void *argument);

//  Encodes and sends a message to an address ("writer", "scheduler/host:12").
//  Returns 0, or -1 if the message is invalid (logged with the reason) or
//  cannot be sent now (not registered, or the socket is full).
int gl_actor_send (gl_actor_t *self, const char *address, const gl_msg_t *message);

//  Returns credit to the broker (manual_credit actors). Returns 0 or -1.
int gl_actor_credit (gl_actor_t *self, uint32_t credit);

//  The actor's loop, to add timers and readers to. Handlers must return 0
//  to keep the loop going.
zloop_t *gl_actor_loop (gl_actor_t *self);

//  Runs until SIGTERM/SIGINT, gl_actor_stop, or a handler returns -1.
//  Returns 0.
int gl_actor_run (gl_actor_t *self);

//  Asks gl_actor_run to return after the current handler.
void gl_actor_stop (gl_actor_t *self);

//  True once the broker has welcomed this registration.
bool gl_actor_registered (gl_actor_t *self);

//  The actor's own address, "service/instance".
const char *gl_actor_address (gl_actor_t *self);

#endif
