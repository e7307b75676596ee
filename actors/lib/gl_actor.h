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

    Credit: every DELIVER costs the broker one credit, and the runtime
    makes sure each one is given back, whatever became of the message.
    A delivery the actor refuses (no handler for its type, a body that does
    not decode, a handler returning -1) is settled by the runtime itself.
    A message a handler takes (returns 0 for) is settled by the runtime at
    once, or, with manual_credit, by the actor calling gl_actor_credit when
    it has room again (the writer's batches, the fetcher's jobs). Credit is
    returned in batches of half the capacity; a manual_credit actor's at
    each gl_actor_credit, which it already times.

    Nothing the broker sends, nor any body a peer sends, stops or wedges
    the actor: what does not decode is counted (gl_actor_stats), logged at
    a bounded rate, and dropped.
*/
#ifndef GL_ACTOR_H_INCLUDED
#define GL_ACTOR_H_INCLUDED

#include <czmq.h>
#include <stdbool.h>
#include <stdint.h>
#include "gl_config.h"
#include "gl_msg.h"

typedef struct _gl_actor_t gl_actor_t;

#define GL_ACTOR_FOLLOW_MAX GL_MSG_MAX_FOLLOW     //  entries of gl_actor_options_t.follow

typedef struct {
    const char *endpoint;       //  broker endpoint, e.g. tcp://127.0.0.1:5570
    const char *service;        //  service name (section 4 of the spec)
    const char *instance;       //  instance id; NULL means host:pid
    uint32_t credit;            //  messages it can hold at once (default 100)
    uint32_t heartbeat_ms;      //  until WELCOME says otherwise (default 1000)
    bool manual_credit;         //  the actor returns credit itself
    //  Services whose MEMBERSHIP the actor wants besides its own: a
    //  NULL-terminated list of at most GL_ACTOR_FOLLOW_MAX service names
    //  or prefixes ending in ".*" ("fetcher.*"); NULL for none. Copied.
    const char *const *follow;
    //  CURVE to a broker on another host (actors/lib/gl_curve.h): the
    //  actor's secret certificate and the broker's public one. Without
    //  them, an endpoint that leaves this host is refused unless insecure.
    const char *curve_secret;
    const char *curve_server;
    bool insecure;
} gl_actor_options_t;

//  What the runtime has done since gl_actor_new. Every delivery ends as
//  exactly one of handled or refused, so delivered == handled + refused;
//  refused == malformed + unhandled + handler_failed.
typedef struct {
    uint64_t delivered;         //  DELIVERs received
    uint64_t handled;           //  taken by a handler (it returned 0)
    uint64_t refused;           //  not taken; the runtime returned their credit
    uint64_t malformed;         //  refused: bad frames, sender or body
    uint64_t unhandled;         //  refused: no handler for the type
    uint64_t handler_failed;    //  refused: the handler returned -1
    uint64_t bounced;           //  BOUNCEs received
    uint64_t sent;              //  gl_actor_send calls that sent
    uint64_t send_failed;       //  gl_actor_send calls that did not
    uint64_t send_too_large;    //  of those, bodies over the broker's max_body
    uint64_t control_failed;    //  READY, CREDIT, HEARTBEAT, DISCONNECT not sent
    uint64_t credit_returned;   //  credit sent back to the broker in CREDIT
    uint64_t rejected;          //  broker frames dropped (bad header, frames, body)
    uint64_t registrations;     //  WELCOMEs received
    uint64_t connections_lost;  //  times the broker was considered lost
    uint64_t disconnects;       //  DISCONNECTs received from the broker
    uint32_t held;              //  delivered, credit not yet given back
} gl_actor_stats_t;

//  Fills the options' endpoint and security from configuration:
//  actor/broker (default tcp://127.0.0.1:5570), actor/curve_secret,
//  actor/curve_server, actor/insecure (0 or 1), and applies what every
//  process shares: log/level, calendar/closures. The strings stay the
//  configuration's. Returns 0, or -1 with the reason in error
//  (GL_CONFIG_ERROR_MAX bytes).
int gl_actor_options_configure (gl_actor_options_t *options, gl_config_t *config, char *error);

//  A daemon's command-line flag beyond the common ones: --name VALUE sets
//  the configuration key.
typedef struct {
    const char *name;
    const char *key;
} gl_actor_flag_t;

#define GL_ACTOR_FLAGS_MAX 8

//  The command line every daemon shares: --config FILE, --broker ENDPOINT
//  (actor/broker), --instance ID (options->instance), --database URL and
//  --schema NAME (<role>/database, <role>/schema), -h/--help, and extra
//  (at most GL_ACTOR_FLAGS_MAX, ending with { NULL }). Names the log after
//  role, loads the configuration and sets the flags in it (gl_config_set:
//  a SIGHUP reload keeps them). Returns it, or NULL with *status the exit
//  code: 0 after --help (usage printed on stdout), 2 for a bad argument or
//  configuration (said on stderr). Caller owns return value.
gl_config_t *gl_actor_command_line (int argc, char **argv, const char *role,
                                    const gl_actor_flag_t *extra, void (*usage) (FILE *stream),
                                    gl_actor_options_t *options, int *status);

//  Sets the log threshold from log/level (GAPLESS_LOG_LEVEL still wins).
//  Returns 0, or -1 with the reason in error for an unknown level.
int gl_actor_log_level (gl_config_t *config, char *error);

//  Called on the actor's loop after a SIGHUP (the runtime catches SIGHUP
//  for every actor, so it never ends one; without a callback it logs that
//  the process reads its configuration only at start).
typedef void (gl_actor_reload_fn) (gl_actor_t *actor, void *argument);
void gl_actor_on_reload (gl_actor_t *self, gl_actor_reload_fn *fn, void *argument);

//  Called for each delivered message of a registered type. sender is the
//  full address to answer. The handler may take the message by nulling
//  *message_p; otherwise the runtime destroys it. Return 0 when the
//  message is taken, -1 to refuse it: the runtime then returns its credit
//  (a manual_credit actor must not return credit for it as well) and
//  counts it in handler_failed. Either way the actor goes on; to stop it,
//  call gl_actor_stop.
typedef int (gl_actor_handler_fn) (gl_actor_t *actor, const char *sender,
                                   gl_msg_t **message_p, void *argument);

//  Says why the handler running now refuses its message, before it
//  returns -1: the runtime's refusal line gives this detail (copied, cut
//  at 255 bytes) instead of the type's name. That line is written at
//  most once a second, with a count of the others, so a handler that
//  refuses through it never turns a flood into a flood of lines.
void gl_actor_refusal (gl_actor_t *self, const char *detail);

//  Called when the broker returns a message (BOUNCE). message is the
//  decoded body as sent (NULL if it does not decode), code/text the reason.
//  For code not_registered the runtime has already sent READY again.
typedef void (gl_actor_bounce_fn) (gl_actor_t *actor, const char *destination,
                                   gl_msg_t *message, const char *code,
                                   const char *text, void *argument);

//  Called for each MEMBERSHIP the broker announces: the actor's own
//  service and the services it follows.
typedef void (gl_actor_membership_fn) (gl_actor_t *actor, const gl_msg_t *membership,
                                       void *argument);

//  Called with true when the broker welcomes this registration, and with
//  false the moment the runtime considers the broker lost: 3 silent
//  intervals, a DISCONNECT, being replaced, the broker no longer knowing
//  this instance (not_registered), a socket reconnect. Called only when
//  that state changes.
typedef void (gl_actor_connection_fn) (gl_actor_t *actor, bool registered, void *argument);

//  Creates an actor and starts connecting. Returns NULL (with a log line)
//  for invalid options or on out of memory. Caller owns return value.
gl_actor_t *gl_actor_new (const gl_actor_options_t *options);

//  Sends DISCONNECT, closes the socket, and nulls the caller's pointer.
//  Safe twice.
void gl_actor_destroy (gl_actor_t **self_p);

//  Registers the handler for a message type (replacing any earlier one).
void gl_actor_on (gl_actor_t *self, gl_msg_type_t type, gl_actor_handler_fn *handler,
                  void *argument);

//  Registers the handler for BOUNCEs (replacing any earlier one).
void gl_actor_on_bounce (gl_actor_t *self, gl_actor_bounce_fn *handler, void *argument);

//  Registers the handler for MEMBERSHIP (replacing any earlier one).
void gl_actor_on_membership (gl_actor_t *self, gl_actor_membership_fn *handler,
                             void *argument);

//  Registers the handler for registration changes (replacing any earlier
//  one). It is not called for the state at the time of the call.
void gl_actor_on_connection (gl_actor_t *self, gl_actor_connection_fn *handler,
                             void *argument);

//  Encodes and sends a message to an address ("writer", "scheduler/host:12").
//  Returns 0, or -1 if the message is invalid or larger than the broker's
//  max_body (logged with the reason), or cannot be sent now (not
//  registered, or the socket is full). Failures are counted in send_failed.
int gl_actor_send (gl_actor_t *self, const char *address, const gl_msg_t *message);

//  Gives back the credit of messages a manual_credit actor took and no
//  longer holds. Returns 0 when the runtime has taken the credit (sent
//  now, batched, or owed until the socket accepts it), or -1 (logged) if
//  credit is more than the messages held, in which case nothing changes.
int gl_actor_credit (gl_actor_t *self, uint32_t credit);

//  The actor's loop, to add timers and readers to. Handlers must return 0
//  to keep the loop going.
zloop_t *gl_actor_loop (gl_actor_t *self);

//  Runs until SIGTERM/SIGINT, gl_actor_stop, or a loop handler returns -1.
//  Returns 0, or -1 when the broker replaced this registration (another
//  connection registered the same service/instance): the process should
//  exit non-zero rather than fight for the address.
int gl_actor_run (gl_actor_t *self);

//  Asks gl_actor_run to return after the current handler.
void gl_actor_stop (gl_actor_t *self);

//  True once the broker has welcomed this registration.
bool gl_actor_registered (gl_actor_t *self);

//  True while registered and the broker was heard from within 3
//  heartbeat intervals. Unlike gl_actor_registered it is false at once
//  when the process resumes from a stall (SIGSTOP, a long pause), before
//  the heartbeat timer has noticed and called the connection handler:
//  a fetcher asks it before each request (protocol/SPEC.md 5.7).
bool gl_actor_broker_live (gl_actor_t *self);

//  For a handler that works longer than a heartbeat interval (a big
//  enqueue): sends HEARTBEAT if one is due, so the broker does not
//  declare this instance dead meanwhile, and counts a message from the
//  broker waiting to be read as heard, so the runtime does not call the
//  broker lost once the handler returns. Cheap: call it often.
void gl_actor_keepalive (gl_actor_t *self);

//  The heartbeat interval in force (the broker's, once WELCOMEd), in ms.
uint32_t gl_actor_heartbeat_ms (gl_actor_t *self);

//  The actor's own address, "service/instance".
const char *gl_actor_address (gl_actor_t *self);

//  The counters, as of now.
gl_actor_stats_t gl_actor_stats (gl_actor_t *self);

//  The broker's max_body from WELCOME, in bytes; 0 until a broker has
//  said.
uint64_t gl_actor_max_body (gl_actor_t *self);

//  Handles one message as if it had arrived from the broker (header frame
//  first), and destroys it. For tests and the fuzz target, which drive the
//  runtime without a broker. Returns 0, or -1 when the loop should end.
int gl_actor_dispatch (gl_actor_t *self, zmsg_t **message_p);

#endif
