/*  gl_actor — the runtime every gapless actor is built on.

    Connection states: CONNECTING (READY sent, waiting for WELCOME),
    REGISTERED, and WAITING (socket closed after the broker went silent or
    said DISCONNECT, a reconnect timer pending). The heartbeat timer drives
    liveness: any message from the broker resets it; three silent
    intervals close the socket and reconnect after a backoff (100 ms
    doubling to 5 s), so a broker that restarts is found again without a
    storm of reconnects. A READY that stays unanswered as long is sent
    again.

    The socket's monitor reports the connection dropping (the broker's
    process died, the network went): the registration is lost at once, not
    three intervals later, and READY goes when ZeroMQ has reconnected,
    since whoever answers may be a new broker.

    Errors follow nng: every allocation and every send is checked, nothing
    aborts on input or out of memory, and each failure is counted in the
    stats. A send that fails is not retried by the runtime: credit owed
    stays owed and goes in the next CREDIT (or is moot at the next READY);
    an application message that fails is the caller's to handle.
*/
#include "gl_actor.h"
#include "gl_calendar.h"
#include "gl_curve.h"
#include <getopt.h>
#include <signal.h>
#include "gl_log.h"
#include "gl_wire.h"
#include <zmq.h>

#define S_LIVENESS 3
#define S_BACKOFF_FIRST_MS 100
#define S_BACKOFF_MAX_MS 5000
#define S_HEARTBEAT_MIN_MS 10       //  a WELCOME's heartbeat_ms is kept in
#define S_HEARTBEAT_MAX_MS 600000   //  these bounds so no value wedges the timer
#define S_REFUSAL_LOG_MS 1000       //  at most one refusal line per interval
#define S_RECEIVE_HEADROOM 1000     //  receive HWM above the credit, for control

typedef enum { S_CONNECTING, S_REGISTERED, S_WAITING } s_state_t;

struct _gl_actor_t {
    char *endpoint;
    char *curve_secret, *curve_server;  //  certificate paths, or NULL: plain
    gl_actor_reload_fn *on_reload;      //  SIGHUP's callback, or NULL
    void *on_reload_argument;
    char service [GL_WIRE_NAME_MAX + 1];
    char instance [GL_WIRE_NAME_MAX + 1];
    char address [GL_WIRE_ADDRESS_MAX + 1];
    char follow [GL_ACTOR_FOLLOW_MAX][GL_WIRE_NAME_MAX + 1];
    size_t follow_count;
    uint32_t capacity;          //  credit when nothing is held (options)
    uint32_t pending;           //  credit to return in the next CREDIT
    bool manual_credit;
    uint64_t credit_limit;      //  from WELCOME; 0 until known
    uint64_t queue_limit;       //  from WELCOME; 0 until known
    uint64_t max_body;          //  from WELCOME; 0 until known
    int64_t heartbeat_ms;
    zloop_t *loop;
    zsock_t *socket;
    zsock_t *monitor;           //  the socket's connection events, or NULL
    bool dropped;               //  the connection dropped; READY when it is back
    s_state_t state;
    int64_t last_heard, last_sent, ready_sent;
    int backoff_ms;
    int heartbeat_timer;
    bool stopping;
    int exit_code;              //  what gl_actor_run returns
    int64_t refusal_logged;     //  when the last refusal line was written
    uint64_t refusals_unlogged; //  refusals since, not written
    char refusal [GL_MSG_ERROR_MAX];    //  the running handler's reason, or ""
    gl_actor_stats_t stats;
    struct { gl_actor_handler_fn *handler; void *argument; } handlers [GL_MSG_COUNT];
    gl_actor_bounce_fn *bounce_handler;
    void *bounce_argument;
    gl_actor_membership_fn *membership_handler;
    void *membership_argument;
    gl_actor_connection_fn *connection_handler;
    void *connection_argument;
};

static int s_connect (gl_actor_t *self);
static int s_heartbeat_start (gl_actor_t *self);
static void s_disconnect_and_wait (gl_actor_t *self);

//  Sends one frame without blocking. Returns 0 or -1.
static int
s_send_frame (void *handle, const void *data, size_t size, bool more)
{
    return zmq_send (handle, data, size, (more? ZMQ_SNDMORE: 0) | ZMQ_DONTWAIT) == -1? -1: 0;
}

//  Sends a header and up to two frames. Returns 0, or -1 if the socket
//  would block or is closed. ZeroMQ takes the frames after an accepted
//  first one unless the pipe is going away; each is checked all the same.
static int
s_send (gl_actor_t *self, gl_wire_command_t command, const void *first, size_t first_size,
        const void *second, size_t second_size)
{
    if (!self->socket)
        return -1;
    void *handle = zsock_resolve (self->socket);
    uint8_t header [GL_WIRE_HEADER_SIZE];
    gl_wire_header (header, command);
    if (s_send_frame (handle, header, sizeof (header), first != NULL) != 0)
        return -1;
    if ((first && s_send_frame (handle, first, first_size, second != NULL) != 0)
    ||  (second && s_send_frame (handle, second, second_size, false) != 0)) {
        gl_log_error ("send_incomplete", "command=%s reason=%s",
                      gl_wire_command_name (command), GL_LOG_VALUE (zmq_strerror (zmq_errno ())));
        return -1;
    }
    self->last_sent = zclock_mono ();
    return 0;
}

//  Sends a control command (no application body); counts a failure.
static int
s_send_control (gl_actor_t *self, gl_wire_command_t command, const void *data, size_t size)
{
    int rc = s_send (self, command, data, size, NULL, 0);
    if (rc != 0)
        self->stats.control_failed++;
    return rc;
}

//  Sends a control command whose only frame is an encoded body.
static int
s_send_body (gl_actor_t *self, gl_wire_command_t command, const gl_msg_t *message)
{
    char error [GL_MSG_ERROR_MAX];
    char *data = NULL;
    size_t size = 0;
    if (gl_msg_encode (message, &data, &size, error) != 0) {
        gl_log_error ("encode_failed", "type=%s reason=%s",
                      gl_msg_type_name (message->type), GL_LOG_VALUE (error));
        self->stats.control_failed++;
        return -1;
    }
    int rc = s_send_control (self, command, data, size);
    free (data);
    return rc;
}

//  The credit this instance may hold: its capacity, capped at the
//  broker's credit_limit once known.
static uint32_t
s_capacity (gl_actor_t *self)
{
    if (self->credit_limit && self->credit_limit < self->capacity)
        return (uint32_t) self->credit_limit;
    return self->capacity;
}

//  Records a registration change and tells the actor, once per change.
static void
s_set_registered (gl_actor_t *self, bool registered)
{
    bool was = self->state == S_REGISTERED;
    if (registered)
        self->state = S_REGISTERED;
    else
    if (was)
        self->state = S_CONNECTING;
    if (was == registered)
        return;
    if (registered)
        self->stats.registrations++;
    else
        self->stats.connections_lost++;
    if (self->connection_handler)
        self->connection_handler (self, registered, self->connection_argument);
}

//  Sends READY with the credit this instance can take now.
static void
s_send_ready (gl_actor_t *self)
{
    s_set_registered (self, false);
    self->state = S_CONNECTING;
    self->ready_sent = zclock_mono ();
    gl_msg_t *ready = gl_msg_new (GL_MSG_READY);
    if (!ready) {
        self->stats.control_failed++;
        return;
    }
    snprintf (ready->ready.service, sizeof (ready->ready.service), "%s", self->service);
    snprintf (ready->ready.instance, sizeof (ready->ready.instance), "%s", self->instance);
    for (size_t index = 0; index < self->follow_count; index++)
        if (gl_msg_add_follow (ready, self->follow [index]) != 0) {
            gl_log_error ("ready_failed", "follow=%s reason=\"cannot add it\"",
                          self->follow [index]);
            self->stats.control_failed++;
            gl_msg_destroy (&ready);
            return;
        }
    //  A new registration starts from what this instance can take now:
    //  held messages still occupy room, credit not yet returned is moot.
    uint32_t capacity = s_capacity (self);
    ready->ready.credit = capacity > self->stats.held? capacity - self->stats.held: 0;
    self->pending = 0;
    s_send_body (self, GL_WIRE_READY, ready);
    gl_msg_destroy (&ready);
}

//  Sends what credit is pending. Returns 0, or -1 if it stays pending.
static int
s_flush_credit (gl_actor_t *self)
{
    gl_msg_t *message = gl_msg_new (GL_MSG_CREDIT);
    if (!message) {
        self->stats.control_failed++;
        return -1;
    }
    message->credit.credit = self->pending;
    int rc = s_send_body (self, GL_WIRE_CREDIT, message);
    gl_msg_destroy (&message);
    if (rc == 0) {
        self->stats.credit_returned += self->pending;
        self->pending = 0;
    }
    return rc;
}

//  Gives back the credit of messages no longer held, in batches of half
//  the capacity (or at once when nothing is held any more). A
//  manual_credit actor's credit goes at once: it chose the moment.
static void
s_release (gl_actor_t *self, uint32_t credit)
{
    self->stats.held -= credit;
    self->pending += credit;
    if (self->manual_credit || self->pending * 2 >= s_capacity (self) || self->stats.held == 0)
        s_flush_credit (self);
}

//  Logs a refused delivery: the first at once, then at most one line per
//  interval saying how many were refused since (a flood of strays must
//  not become a flood of lines).
static void
s_log_refusal (gl_actor_t *self, const char *sender, const char *reason, const char *detail)
{
    int64_t now = zclock_mono ();
    if (self->refusal_logged && now - self->refusal_logged < S_REFUSAL_LOG_MS) {
        self->refusals_unlogged++;
        return;
    }
    gl_log_warn ("delivery_refused", "address=%s sender=%s reason=%s detail=%s also_refused=%"
                 PRIu64 " refused=%" PRIu64, self->address, GL_LOG_VALUE (sender), reason,
                 GL_LOG_VALUE (detail), self->refusals_unlogged, self->stats.refused);
    self->refusal_logged = now;
    self->refusals_unlogged = 0;
}

//  Settles a delivery the actor did not take: gives its credit back
//  (also with manual credit: the actor never saw it, or refused it, so
//  it will not), counts and logs it.
static void
s_refuse (gl_actor_t *self, uint64_t *counter, const char *sender, const char *reason,
          const char *detail)
{
    self->stats.refused++;
    (*counter)++;
    if (self->stats.held)           //  unless a handler gave it back and refused
        s_release (self, 1);
    s_log_refusal (self, sender, reason, detail);
}

//  Checks a DELIVER's frames (sender address, body) and decodes the body.
//  Returns the message, or NULL with the reason in error.
static gl_msg_t *
s_deliver_decode (zmsg_t *message, char *sender, char *error)
{
    zframe_t *sender_frame = zmsg_first (message);
    zframe_t *body = zmsg_next (message);
    size_t service_size, instance_size;
    if (!sender_frame || !body || zmsg_size (message) != 2) {
        snprintf (error, GL_MSG_ERROR_MAX, "expected 2 frames after the header, found %zu",
                  zmsg_size (message));
        return NULL;
    }
    size_t size = zframe_size (sender_frame);
    if (size > GL_WIRE_ADDRESS_MAX
    ||  !gl_wire_address_parse ((const char *) zframe_data (sender_frame), size,
                                &service_size, &instance_size)) {
        snprintf (error, GL_MSG_ERROR_MAX, "expected a sender address");
        return NULL;
    }
    memcpy (sender, zframe_data (sender_frame), size);
    sender [size] = '\0';
    gl_msg_t *decoded = gl_msg_decode (zframe_data (body), zframe_size (body), error);
    if (decoded && (decoded->type <= GL_MSG_INVALID || decoded->type >= GL_MSG_COUNT)) {
        snprintf (error, GL_MSG_ERROR_MAX, "type out of range");
        gl_msg_destroy (&decoded);
    }
    return decoded;
}

//  Handles a DELIVER: decodes the body and calls the handler for its
//  type. Every delivery is settled: a refused one's credit is returned
//  here, a handled one's here too unless the actor returns it itself.
static void
s_handle_deliver (gl_actor_t *self, zmsg_t *message)
{
    self->stats.delivered++;
    self->stats.held++;
    char sender [GL_WIRE_ADDRESS_MAX + 1] = "-";
    char error [GL_MSG_ERROR_MAX] = "";
    gl_msg_t *decoded = s_deliver_decode (message, sender, error);
    if (!decoded)
        s_refuse (self, &self->stats.malformed, sender, "malformed", error);
    else
    if (!self->handlers [decoded->type].handler)
        s_refuse (self, &self->stats.unhandled, sender, "unhandled",
                  gl_msg_type_name (decoded->type));
    else {
        gl_msg_type_t type = decoded->type;
        self->refusal [0] = '\0';
        if (self->handlers [type].handler (self, sender, &decoded,
                                           self->handlers [type].argument) == 0) {
            self->stats.handled++;
            if (!self->manual_credit && self->stats.held)
                s_release (self, 1);
        }
        else
            s_refuse (self, &self->stats.handler_failed, sender, "handler_failed",
                      *self->refusal? self->refusal: gl_msg_type_name (type));
    }
    gl_msg_destroy (&decoded);
}

//  Decodes the frame as an error body; returns it or NULL.
static gl_msg_t *
s_decode_error (zframe_t *frame)
{
    char error [GL_MSG_ERROR_MAX];
    gl_msg_t *decoded = frame? gl_msg_decode (zframe_data (frame), zframe_size (frame), error)
                             : NULL;
    if (decoded && decoded->type != GL_MSG_ERROR)
        gl_msg_destroy (&decoded);
    return decoded;
}

//  Handles a BOUNCE: hands the returned message and reason to the actor.
//  A bounce for not_registered means the broker no longer knows this
//  instance: it registers again first.
static void
s_handle_bounce (gl_actor_t *self, zmsg_t *message)
{
    self->stats.bounced++;
    zframe_t *address = zmsg_first (message);
    zframe_t *body = zmsg_next (message);
    zframe_t *reason = zmsg_next (message);
    char destination [GL_WIRE_ADDRESS_MAX + 1] = "";
    if (address && zframe_size (address) <= GL_WIRE_ADDRESS_MAX) {
        memcpy (destination, zframe_data (address), zframe_size (address));
        destination [zframe_size (address)] = '\0';
        if (strlen (destination) != zframe_size (address))
            destination [0] = '\0';         //  a NUL inside: not an address
    }
    char error [GL_MSG_ERROR_MAX];
    gl_msg_t *returned = body? gl_msg_decode (zframe_data (body), zframe_size (body), error): NULL;
    gl_msg_t *why = s_decode_error (reason);
    const char *code = why? why->error.code: "unknown";
    const char *text = why? why->error.text: "";
    if (strcmp (code, "not_registered") == 0 && self->state == S_REGISTERED)
        s_send_ready (self);
    if (self->bounce_handler)
        self->bounce_handler (self, destination, returned, code, text, self->bounce_argument);
    else
        gl_log_warn ("message_bounced", "destination=%s code=%s", GL_LOG_VALUE (destination),
                     GL_LOG_VALUE (code));
    gl_msg_destroy (&returned);
    gl_msg_destroy (&why);
}

//  Handles WELCOME: the registration is live; keeps the broker's limits
//  (credit beyond credit_limit would never be used, a body beyond
//  max_body would only come back too_large).
static void
s_handle_welcome (gl_actor_t *self, const gl_msg_t *welcome)
{
    self->credit_limit = welcome->welcome.credit_limit;
    self->queue_limit = welcome->welcome.queue_limit;
    self->max_body = welcome->welcome.max_body;
    int64_t heartbeat_ms = welcome->welcome.heartbeat_ms;
    if (heartbeat_ms < S_HEARTBEAT_MIN_MS)
        heartbeat_ms = S_HEARTBEAT_MIN_MS;
    if (heartbeat_ms > S_HEARTBEAT_MAX_MS)
        heartbeat_ms = S_HEARTBEAT_MAX_MS;
    if (heartbeat_ms != self->heartbeat_ms) {
        self->heartbeat_ms = heartbeat_ms;
        s_heartbeat_start (self);
    }
    self->backoff_ms = S_BACKOFF_FIRST_MS;
    gl_log_info ("actor_registered", "address=%s broker=%s heartbeat_ms=%" PRId64
                 " credit=%u credit_limit=%" PRIu64 " queue_limit=%" PRIu64 " max_body=%"
                 PRIu64, self->address, GL_LOG_VALUE (welcome->welcome.broker),
                 self->heartbeat_ms, s_capacity (self), self->credit_limit, self->queue_limit,
                 self->max_body);
    s_set_registered (self, true);
}

//  Handles WELCOME, ERROR and MEMBERSHIP, whose one frame is a body.
static void
s_handle_control (gl_actor_t *self, gl_wire_command_t command, zmsg_t *message)
{
    zframe_t *body = zmsg_first (message);
    char error [GL_MSG_ERROR_MAX] = "missing body";
    gl_msg_t *decoded = body && zmsg_size (message) == 1
                      ? gl_msg_decode (zframe_data (body), zframe_size (body), error): NULL;
    if (!decoded) {
        self->stats.rejected++;
        gl_log_warn ("frame_rejected", "command=%s reason=%s",
                     gl_wire_command_name (command), GL_LOG_VALUE (error));
        return;
    }
    if (command == GL_WIRE_WELCOME && decoded->type == GL_MSG_WELCOME)
        s_handle_welcome (self, decoded);
    else
    if (command == GL_WIRE_ERROR && decoded->type == GL_MSG_ERROR) {
        gl_log_warn ("broker_error", "code=%s text=%s", GL_LOG_VALUE (decoded->error.code),
                     GL_LOG_VALUE (decoded->error.text));
        if (strcmp (decoded->error.code, "not_registered") == 0
        &&  self->state == S_REGISTERED)
            s_send_ready (self);
    }
    else
    if (command == GL_WIRE_MEMBERSHIP && decoded->type == GL_MSG_MEMBERSHIP) {
        if (self->membership_handler)
            self->membership_handler (self, decoded, self->membership_argument);
    }
    else {
        self->stats.rejected++;
        gl_log_warn ("frame_rejected", "command=%s reason=\"unexpected %s body\"",
                     gl_wire_command_name (command), gl_msg_type_name (decoded->type));
    }
    gl_msg_destroy (&decoded);
}

//  Handles one event of the socket's monitor: a dropped connection loses
//  the registration at once; the reconnection after it registers again.
static int
s_handle_monitor (zloop_t *loop, zsock_t *monitor, void *argument)
{
    gl_actor_t *self = (gl_actor_t *) argument;
    zmsg_t *message = zmsg_recv (monitor);
    zframe_t *event = message? zmsg_first (message): NULL;
    uint16_t code = 0;
    if (event && zframe_size (event) >= sizeof (code))
        memcpy (&code, zframe_data (event), sizeof (code));
    zmsg_destroy (&message);
    if (code == ZMQ_EVENT_DISCONNECTED && self->state != S_WAITING) {
        gl_log_warn ("broker_connection_dropped", "endpoint=%s", self->endpoint);
        s_set_registered (self, false);
        self->dropped = true;
    }
    else
    if (code == ZMQ_EVENT_CONNECTED && self->dropped && self->state != S_WAITING) {
        self->dropped = false;
        s_send_ready (self);
    }
    return 0;
}

//  Stops watching the socket's connection.
static void
s_monitor_stop (gl_actor_t *self)
{
    if (self->monitor) {
        zloop_reader_end (self->loop, self->monitor);
        zmq_socket_monitor (zsock_resolve (self->socket), NULL, 0);
        zsock_destroy (&self->monitor);
    }
}

//  Watches the socket's connection. Without a monitor the runtime still
//  notices a lost broker by its silence, so a failure only logs.
static void
s_monitor_start (gl_actor_t *self)
{
    char endpoint [64];
    snprintf (endpoint, sizeof (endpoint), "inproc://gl_actor.monitor.%p", (void *) self->socket);
    self->dropped = false;
    if (zmq_socket_monitor (zsock_resolve (self->socket), endpoint,
                            ZMQ_EVENT_CONNECTED | ZMQ_EVENT_DISCONNECTED) != 0) {
        gl_log_warn ("monitor_failed", "endpoint=%s reason=%s", self->endpoint,
                     GL_LOG_VALUE (zmq_strerror (zmq_errno ())));
        return;
    }
    self->monitor = zsock_new (ZMQ_PAIR);
    if (!self->monitor || zsock_connect (self->monitor, "%s", endpoint) != 0
    ||  zloop_reader (self->loop, self->monitor, s_handle_monitor, self) != 0) {
        gl_log_warn ("monitor_failed", "endpoint=%s reason=\"cannot read its events\"",
                     self->endpoint);
        zsock_destroy (&self->monitor);
        zmq_socket_monitor (zsock_resolve (self->socket), NULL, 0);
    }
}

//  One-shot timer: connects again after a backoff.
static int
s_reconnect_timer (zloop_t *loop, int timer_id, void *argument)
{
    gl_actor_t *self = (gl_actor_t *) argument;
    if (s_connect (self) != 0)
        s_disconnect_and_wait (self);
    return 0;
}

//  Closes the socket and schedules a reconnect after the backoff.
static void
s_disconnect_and_wait (gl_actor_t *self)
{
    gl_log_warn ("broker_lost", "endpoint=%s retry_ms=%d", self->endpoint, self->backoff_ms);
    s_set_registered (self, false);
    if (self->socket) {
        s_monitor_stop (self);
        zloop_reader_end (self->loop, self->socket);
        zsock_destroy (&self->socket);
    }
    self->state = S_WAITING;
    if (zloop_timer (self->loop, (size_t) self->backoff_ms, 1, s_reconnect_timer, self) == -1)
        gl_log_error ("reconnect_not_scheduled", "endpoint=%s", self->endpoint);
    self->backoff_ms = self->backoff_ms * 2 > S_BACKOFF_MAX_MS? S_BACKOFF_MAX_MS
                                                              : self->backoff_ms * 2;
}

//  Handles DISCONNECT from the broker. An error body with code replaced
//  means another connection registered this service/instance: taking the
//  address back would make the two fight over it, so the actor stops and
//  gl_actor_run returns -1. Otherwise (shutdown, no body) it reconnects
//  with backoff and registers again.
static int
s_handle_disconnect (gl_actor_t *self, zmsg_t *message)
{
    self->stats.disconnects++;
    gl_msg_t *why = s_decode_error (zmsg_first (message));
    if (why && strcmp (why->error.code, "replaced") == 0) {
        gl_log_error ("actor_replaced", "address=%s text=%s reason=\"another connection "
                      "registered this address; not registering again\"", self->address,
                      GL_LOG_VALUE (why->error.text));
        gl_msg_destroy (&why);
        s_set_registered (self, false);
        self->state = S_WAITING;
        self->exit_code = -1;
        self->stopping = true;
        return -1;
    }
    gl_log_info ("broker_disconnected", "address=%s code=%s", self->address,
                 why? GL_LOG_VALUE (why->error.code): "-");
    gl_msg_destroy (&why);
    s_disconnect_and_wait (self);
    return 0;
}

int
gl_actor_dispatch (gl_actor_t *self, zmsg_t **message_p)
{
    zmsg_t *message = message_p? *message_p: NULL;
    if (!message)
        return self->stopping? -1: 0;
    *message_p = NULL;
    self->last_heard = zclock_mono ();
    zframe_t *header = zmsg_pop (message);
    gl_wire_command_t command = 0;
    int rc = 0;
    if (!header || gl_wire_header_parse (zframe_data (header), zframe_size (header), &command)
                   != GL_WIRE_HEADER_OK) {
        self->stats.rejected++;
        gl_log_warn ("frame_rejected", "reason=bad_header");
    }
    else
    if (command == GL_WIRE_DELIVER)
        s_handle_deliver (self, message);
    else
    if (command == GL_WIRE_BOUNCE)
        s_handle_bounce (self, message);
    else
    if (command == GL_WIRE_DISCONNECT)
        rc = s_handle_disconnect (self, message);
    else
    if (command == GL_WIRE_WELCOME || command == GL_WIRE_ERROR || command == GL_WIRE_MEMBERSHIP)
        s_handle_control (self, command, message);
    else
    if (command != GL_WIRE_HEARTBEAT) {
        self->stats.rejected++;
        gl_log_warn ("frame_rejected", "command=%s reason=\"not sent to an actor\"",
                     gl_wire_command_name (command));
    }
    zframe_destroy (&header);
    zmsg_destroy (&message);
    return (rc == 0 && !self->stopping)? 0: -1;
}

//  Reads one message from the broker and dispatches it.
static int
s_handle_socket (zloop_t *loop, zsock_t *socket, void *argument)
{
    gl_actor_t *self = (gl_actor_t *) argument;
    zmsg_t *message = zmsg_recv (socket);
    if (!message)
        return (self->stopping || zsys_interrupted)? -1: 0;
    return gl_actor_dispatch (self, &message);
}

//  Writes how many refusals were not logged, once their interval is over.
static void
s_log_refusals_unlogged (gl_actor_t *self, int64_t now)
{
    if (self->refusals_unlogged && now - self->refusal_logged >= S_REFUSAL_LOG_MS) {
        gl_log_warn ("deliveries_refused", "address=%s count=%" PRIu64 " refused=%" PRIu64,
                     self->address, self->refusals_unlogged, self->stats.refused);
        self->refusals_unlogged = 0;
        self->refusal_logged = now;
    }
}

//  Set by SIGHUP; the heartbeat timer hands it to the reload callback.
static volatile sig_atomic_t s_reload_requested;

static void
s_on_sighup (int signal_number)
{
    (void) signal_number;
    s_reload_requested = 1;
}

//  Runs the reload callback if SIGHUP came since the last look.
static void
s_reload_if_asked (gl_actor_t *self)
{
    if (!s_reload_requested)
        return;
    s_reload_requested = 0;
    if (self->on_reload)
        self->on_reload (self, self->on_reload_argument);
    else
        gl_log_warn ("config_reload_unsupported", "address=%s reason=\"this process reads its"
                     " configuration only at start\"", self->address);
}

//  Heartbeat timer: detects a silent broker, keeps the broker's view of
//  this instance alive, and sends READY again if it went unanswered.
static int
s_heartbeat_timer (zloop_t *loop, int timer_id, void *argument)
{
    gl_actor_t *self = (gl_actor_t *) argument;
    if (self->stopping)
        return -1;
    s_reload_if_asked (self);
    int64_t now = zclock_mono ();
    s_log_refusals_unlogged (self, now);
    if (self->state == S_WAITING)
        return 0;
    if (now - self->last_heard > S_LIVENESS * self->heartbeat_ms)
        s_disconnect_and_wait (self);
    else
    if (self->state == S_CONNECTING && now - self->ready_sent > S_LIVENESS * self->heartbeat_ms)
        s_send_ready (self);
    else
    if (now - self->last_sent >= self->heartbeat_ms)
        s_send_control (self, GL_WIRE_HEARTBEAT, NULL, 0);
    return 0;
}

//  (Re)starts the heartbeat timer at a quarter interval, so a silent
//  broker is noticed close to three intervals, not four.
static int
s_heartbeat_start (gl_actor_t *self)
{
    if (self->heartbeat_timer)
        zloop_timer_end (self->loop, self->heartbeat_timer);
    self->heartbeat_timer = zloop_timer (self->loop, (size_t) (self->heartbeat_ms / 4 + 1), 0,
                                         s_heartbeat_timer, self);
    if (self->heartbeat_timer == -1) {
        self->heartbeat_timer = 0;
        gl_log_error ("heartbeat_not_scheduled", "address=%s", self->address);
        return -1;
    }
    return 0;
}

//  Opens a new DEALER to the broker and sends READY. Returns 0 or -1.
static int
s_connect (gl_actor_t *self)
{
    self->socket = zsock_new (ZMQ_DEALER);
    if (!self->socket) {
        gl_log_error ("connect_failed", "endpoint=%s reason=\"no socket\"", self->endpoint);
        return -1;
    }
    zsock_set_linger (self->socket, 0);
    zsock_set_rcvhwm (self->socket, (int) (self->capacity + S_RECEIVE_HEADROOM));
    s_monitor_start (self);         //  before connecting, to see every event
    char reason [GL_CURVE_ERROR_MAX];
    if (self->curve_secret
    &&  gl_curve_client (self->socket, self->curve_secret, self->curve_server, reason) != 0) {
        gl_log_error ("connect_failed", "endpoint=%s reason=%s", self->endpoint,
                      GL_LOG_VALUE (reason));
        s_monitor_stop (self);
        zsock_destroy (&self->socket);
        return -1;
    }
    if (zsock_connect (self->socket, "%s", self->endpoint) != 0
    ||  zloop_reader (self->loop, self->socket, s_handle_socket, self) != 0) {
        gl_log_error ("connect_failed", "endpoint=%s", self->endpoint);
        s_monitor_stop (self);
        zloop_reader_end (self->loop, self->socket);
        zsock_destroy (&self->socket);
        return -1;
    }
    self->last_heard = zclock_mono ();
    s_send_ready (self);
    return 0;
}

//  Checks the follow list and copies it. Returns 0 or -1 with a log line.
static int
s_follow_copy (gl_actor_t *self, const char *const *follow)
{
    for (size_t index = 0; follow && follow [index]; index++) {
        if (index == GL_ACTOR_FOLLOW_MAX) {
            gl_log_error ("actor_invalid", "reason=\"expected at most %d follow entries\"",
                          GL_ACTOR_FOLLOW_MAX);
            return -1;
        }
        if (!gl_wire_pattern_valid (follow [index], strlen (follow [index]))) {
            gl_log_error ("actor_invalid", "follow=%s reason=\"expected a service name or a "
                          "prefix ending in .*\"", GL_LOG_VALUE (follow [index]));
            return -1;
        }
        snprintf (self->follow [index], sizeof (self->follow [index]), "%s", follow [index]);
        self->follow_count = index + 1;
    }
    return 0;
}

//  Takes the CURVE settings: with certificates the socket is a CURVE
//  client of the broker; without, an endpoint that leaves this host is
//  plain only when insecure (loudly), else refused.
//  Returns 0 or -1 with a log line.
static int
s_security (gl_actor_t *self, const gl_actor_options_t *options)
{
    if (!self->endpoint)
        return -1;
    char reason [GL_CURVE_ERROR_MAX];
    if (options->curve_secret && options->curve_server) {
        zcert_t *own = gl_curve_load_secret (options->curve_secret, reason);
        zcert_t *server = own? gl_curve_load_public (options->curve_server, reason): NULL;
        bool loaded = own && server;
        zcert_destroy (&own);
        zcert_destroy (&server);
        if (!loaded) {
            gl_log_error ("actor_invalid", "endpoint=%s reason=%s", self->endpoint,
                          GL_LOG_VALUE (reason));
            return -1;
        }
        self->curve_secret = strdup (options->curve_secret);
        self->curve_server = strdup (options->curve_server);
        return self->curve_secret && self->curve_server? 0: -1;
    }
    if (options->curve_secret || options->curve_server) {
        gl_log_error ("actor_invalid", "reason=\"actor/curve_secret and actor/curve_server go"
                      " together: the actor's secret certificate and the broker's public one\"");
        return -1;
    }
    if (gl_curve_endpoint_local (self->endpoint))
        return 0;
    if (!options->insecure) {
        gl_log_error ("actor_invalid", "endpoint=%s reason=\"a broker on another host needs"
                      " CURVE (actor/curve_secret and actor/curve_server; see gapless keygen),"
                      " or actor/insecure = 1 for plain tcp\"", self->endpoint);
        return -1;
    }
    gl_log_warn ("actor_insecure", "endpoint=%s reason=\"actor/insecure = 1: plain tcp to"
                 " another host, neither authenticated nor encrypted\"", self->endpoint);
    return 0;
}

//  Parses the command line every daemon shares and loads its configuration.
gl_config_t *
gl_actor_command_line (int argc, char **argv, const char *role, const gl_actor_flag_t *extra,
                       void (*usage) (FILE *stream), gl_actor_options_t *options, int *status)
{
    //  Options: their index is the flag's value, the key it sets
    enum { S_CONFIG, S_BROKER, S_INSTANCE, S_DATABASE, S_SCHEMA, S_HELP, S_EXTRA };
    struct option long_options [S_EXTRA + GL_ACTOR_FLAGS_MAX + 1] = {
        { "config", required_argument, NULL, S_CONFIG },
        { "broker", required_argument, NULL, S_BROKER },
        { "instance", required_argument, NULL, S_INSTANCE },
        { "database", required_argument, NULL, S_DATABASE },
        { "schema", required_argument, NULL, S_SCHEMA },
        { "help", no_argument, NULL, S_HELP },
    };
    char keys [S_EXTRA + GL_ACTOR_FLAGS_MAX][GL_MSG_NAME_MAX * 2];
    snprintf (keys [S_BROKER], sizeof keys [S_BROKER], "actor/broker");
    snprintf (keys [S_DATABASE], sizeof keys [S_DATABASE], "%s/database", role);
    snprintf (keys [S_SCHEMA], sizeof keys [S_SCHEMA], "%s/schema", role);
    size_t count = S_EXTRA;
    for (; extra && extra [count - S_EXTRA].name && count < S_EXTRA + GL_ACTOR_FLAGS_MAX; count++) {
        long_options [count] = (struct option) { extra [count - S_EXTRA].name, required_argument,
                                                 NULL, (int) count };
        snprintf (keys [count], sizeof keys [count], "%s", extra [count - S_EXTRA].key);
    }
    const char *config_path = NULL, *values [S_EXTRA + GL_ACTOR_FLAGS_MAX] = { NULL };
    int option;
    *status = 2;
    //  Short forms of the common flags: -c -e -i -d -h
    while ((option = getopt_long (argc, argv, "c:e:i:d:h", long_options, NULL)) != -1) {
        option = option == 'c'? S_CONFIG: option == 'e'? S_BROKER: option == 'i'? S_INSTANCE
               : option == 'd'? S_DATABASE: option == 'h'? S_HELP: option;
        if (option == S_HELP) {
            usage (stdout);
            *status = 0;
            return NULL;
        }
        if (option < 0 || option >= (int) count) {
            usage (stderr);
            return NULL;
        }
        if (option == S_CONFIG)
            config_path = optarg;
        else
        if (option == S_INSTANCE)
            options->instance = optarg;
        else
            values [option] = optarg;
    }
    if (optind < argc) {
        fprintf (stderr, "gapless-%s: unexpected argument '%s' (try --help)\n", role,
                 argv [optind]);
        return NULL;
    }
    gl_log_set_name (role);
    char error [GL_CONFIG_ERROR_MAX];
    gl_config_t *config = gl_config_load (config_path, error);
    for (size_t index = 0; config && index < count; index++)
        if (values [index] && gl_config_set (config, keys [index], values [index]) != 0) {
            snprintf (error, sizeof error, "out of memory setting %s", keys [index]);
            gl_config_destroy (&config);
        }
    if (!config)
        fprintf (stderr, "gapless-%s: %s\n", role, error);
    return config;
}

//  Sets the log level of log/level. Returns 0 or -1 with error.
int
gl_actor_log_level (gl_config_t *config, char *error)
{
    const char *level = gl_config_get (config, "log/level", NULL);
    if (level && gl_log_set_default_level_name (level) != 0) {
        snprintf (error, GL_CONFIG_ERROR_MAX, "config: log/level = '%.40s': expected debug,"
                  " info, warn or error", level);
        return -1;
    }
    return 0;
}

//  Sets the reload callback.
void
gl_actor_on_reload (gl_actor_t *self, gl_actor_reload_fn *fn, void *argument)
{
    self->on_reload = fn;
    self->on_reload_argument = argument;
}

//  Fills the options' endpoint and security from configuration.
int
gl_actor_options_configure (gl_actor_options_t *options, gl_config_t *config, char *error)
{
    int64_t insecure;
    if (gl_config_int (config, "actor/insecure", 0, 0, 1, &insecure, error)
    ||  gl_actor_log_level (config, error))
        return -1;
    const char *closures = gl_config_get (config, "calendar/closures", "");
    if (gl_calendar_set_configured_closures (closures) != 0) {
        snprintf (error, GL_CONFIG_ERROR_MAX, "config: calendar/closures = '%.200s': expected"
                  " YYYY-MM-DD[,YYYY-MM-DD...]", closures);
        return -1;
    }
    options->endpoint = gl_config_get (config, "actor/broker", "tcp://127.0.0.1:5570");
    options->curve_secret = gl_config_get (config, "actor/curve_secret", NULL);
    options->curve_server = gl_config_get (config, "actor/curve_server", NULL);
    options->insecure = insecure == 1;
    return 0;
}

//  Checks the options and fills in defaults; returns 0 or -1 with a log line.
static int
s_options_valid (const gl_actor_options_t *options, char *instance, size_t size)
{
    if (!options->endpoint || !*options->endpoint) {
        gl_log_error ("actor_invalid", "reason=\"expected a broker endpoint\"");
        return -1;
    }
    if (!options->service || !gl_wire_service_valid (options->service, strlen (options->service))) {
        gl_log_error ("actor_invalid", "service=%s reason=\"expected 1-64 of a-z 0-9 . _ -\"",
                      GL_LOG_VALUE (options->service));
        return -1;
    }
    if (options->instance) {
        if (strlen (options->instance) >= size) {
            gl_log_error ("actor_invalid", "instance=%.64s... reason=\"expected 1-64 of A-Z a-z 0-9 . _ : -\"",
                          options->instance);
            return -1;
        }
        snprintf (instance, size, "%s", options->instance);
    }
    else {
        char host [64] = "host";
        gethostname (host, sizeof (host) - 1);
        snprintf (instance, size, "%.40s:%d", host, (int) getpid ());
    }
    if (!gl_wire_instance_valid (instance, strlen (instance))) {
        gl_log_error ("actor_invalid", "instance=%s reason=\"expected 1-64 of A-Z a-z 0-9 . _ : -\"",
                      GL_LOG_VALUE (instance));
        return -1;
    }
    return 0;
}

gl_actor_t *
gl_actor_new (const gl_actor_options_t *options)
{
    char instance [GL_WIRE_NAME_MAX + 1];
    if (!options || s_options_valid (options, instance, sizeof (instance)) != 0)
        return NULL;
    gl_actor_t *self = (gl_actor_t *) calloc (1, sizeof (gl_actor_t));
    if (!self) {
        gl_log_error ("actor_failed", "reason=\"out of memory\"");
        return NULL;
    }
    snprintf (self->service, sizeof (self->service), "%s", options->service);
    snprintf (self->instance, sizeof (self->instance), "%s", instance);
    snprintf (self->address, sizeof (self->address), "%s/%s", self->service, self->instance);
    self->capacity = options->credit? options->credit: 100;
    self->manual_credit = options->manual_credit;
    self->heartbeat_ms = options->heartbeat_ms? options->heartbeat_ms: 1000;
    if (self->heartbeat_ms < S_HEARTBEAT_MIN_MS)
        self->heartbeat_ms = S_HEARTBEAT_MIN_MS;
    self->backoff_ms = S_BACKOFF_FIRST_MS;
    if (s_follow_copy (self, options->follow) != 0) {
        free (self);
        return NULL;
    }
    //  SIGHUP asks for a reload; it never ends the process
    struct sigaction action = { .sa_handler = s_on_sighup };
    sigemptyset (&action.sa_mask);
    sigaction (SIGHUP, &action, NULL);
    self->endpoint = strdup (options->endpoint);
    if (s_security (self, options) != 0) {
        gl_actor_destroy (&self);
        return NULL;
    }
    self->loop = self->endpoint? zloop_new (): NULL;
    if (!self->loop || s_connect (self) != 0 || s_heartbeat_start (self) != 0) {
        if (!self->loop)
            gl_log_error ("actor_failed", "reason=\"out of memory\"");
        gl_actor_destroy (&self);
        return NULL;
    }
    return self;
}

void
gl_actor_destroy (gl_actor_t **self_p)
{
    if (self_p && *self_p) {
        gl_actor_t *self = *self_p;
        if (self->socket && self->state == S_REGISTERED)
            s_send_control (self, GL_WIRE_DISCONNECT, NULL, 0);
        if (self->socket && self->loop)
            s_monitor_stop (self);
        zloop_destroy (&self->loop);
        zsock_destroy (&self->socket);
        free (self->endpoint);
        free (self->curve_secret);
        free (self->curve_server);
        free (self);
        *self_p = NULL;
    }
}

void
gl_actor_on (gl_actor_t *self, gl_msg_type_t type, gl_actor_handler_fn *handler, void *argument)
{
    if (type > GL_MSG_INVALID && type < GL_MSG_COUNT) {
        self->handlers [type].handler = handler;
        self->handlers [type].argument = argument;
    }
}

void
gl_actor_refusal (gl_actor_t *self, const char *detail)
{
    snprintf (self->refusal, sizeof (self->refusal), "%s", detail? detail: "");
}

void
gl_actor_on_bounce (gl_actor_t *self, gl_actor_bounce_fn *handler, void *argument)
{
    self->bounce_handler = handler;
    self->bounce_argument = argument;
}

void
gl_actor_on_membership (gl_actor_t *self, gl_actor_membership_fn *handler, void *argument)
{
    self->membership_handler = handler;
    self->membership_argument = argument;
}

void
gl_actor_on_connection (gl_actor_t *self, gl_actor_connection_fn *handler, void *argument)
{
    self->connection_handler = handler;
    self->connection_argument = argument;
}

//  Encodes and sends an application message; returns 0 or -1 (logged).
static int
s_send_application (gl_actor_t *self, const char *address, const gl_msg_t *message)
{
    size_t service_size, instance_size;
    if (!address || !message
    ||  !gl_wire_address_parse (address, strlen (address), &service_size, &instance_size)) {
        gl_log_error ("send_refused", "address=%s reason=\"expected service or service/instance\"",
                      GL_LOG_VALUE (address));
        return -1;
    }
    if (self->state != S_REGISTERED)
        return -1;
    char error [GL_MSG_ERROR_MAX];
    char *data = NULL;
    size_t size = 0;
    if (gl_msg_encode (message, &data, &size, error) != 0) {
        gl_log_error ("send_refused", "address=%s type=%s reason=%s", address,
                      gl_msg_type_name (message->type), GL_LOG_VALUE (error));
        return -1;
    }
    if (self->max_body && size > self->max_body) {
        gl_log_error ("send_refused", "address=%s type=%s size=%zu max_body=%" PRIu64
                      " reason=\"larger than the broker takes\"", address,
                      gl_msg_type_name (message->type), size, self->max_body);
        self->stats.send_too_large++;
        free (data);
        return -1;
    }
    int rc = s_send (self, GL_WIRE_SEND, address, strlen (address), data, size);
    free (data);
    return rc;
}

int
gl_actor_send (gl_actor_t *self, const char *address, const gl_msg_t *message)
{
    int rc = s_send_application (self, address, message);
    if (rc == 0)
        self->stats.sent++;
    else
        self->stats.send_failed++;
    return rc;
}

int
gl_actor_credit (gl_actor_t *self, uint32_t credit)
{
    if (credit > self->stats.held) {
        gl_log_error ("credit_refused", "address=%s credit=%u held=%u reason=\"more than "
                      "the messages held\"", self->address, credit, self->stats.held);
        return -1;
    }
    if (credit)
        s_release (self, credit);
    return 0;
}

zloop_t *
gl_actor_loop (gl_actor_t *self)
{
    return self->loop;
}

int
gl_actor_run (gl_actor_t *self)
{
    //  Any signal ends zloop's poll: one that does not stop the actor (a
    //  SIGHUP, handled on the next timer) resumes it
    while (!self->stopping && zloop_start (self->loop) == 0 && !zsys_interrupted)
        ;
    gl_log_info ("actor_stopping", "address=%s", self->address);
    return self->exit_code;
}

//  One-shot timer that ends the loop.
static int
s_stop_timer (zloop_t *loop, int timer_id, void *argument)
{
    return -1;
}

void
gl_actor_stop (gl_actor_t *self)
{
    self->stopping = true;
    if (zloop_timer (self->loop, 1, 1, s_stop_timer, self) == -1)
        gl_log_error ("stop_not_scheduled", "address=%s", self->address);
}

bool
gl_actor_registered (gl_actor_t *self)
{
    return self->state == S_REGISTERED;
}

bool
gl_actor_broker_live (gl_actor_t *self)
{
    return self->state == S_REGISTERED
        && zclock_mono () - self->last_heard <= S_LIVENESS * self->heartbeat_ms;
}

void
gl_actor_keepalive (gl_actor_t *self)
{
    if (self->state != S_REGISTERED)
        return;
    int64_t now = zclock_mono ();
    if (zsock_events (self->socket) & ZMQ_POLLIN)
        self->last_heard = now;     //  only the broker sends to this socket
    if (now - self->last_sent >= self->heartbeat_ms)
        s_send_control (self, GL_WIRE_HEARTBEAT, NULL, 0);
}

uint32_t
gl_actor_heartbeat_ms (gl_actor_t *self)
{
    return (uint32_t) self->heartbeat_ms;
}

const char *
gl_actor_address (gl_actor_t *self)
{
    return self->address;
}

gl_actor_stats_t
gl_actor_stats (gl_actor_t *self)
{
    return self->stats;
}

uint64_t
gl_actor_max_body (gl_actor_t *self)
{
    return self->max_body;
}
