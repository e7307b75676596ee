/*  gl_actor — the runtime every gapless actor is built on.

    Connection states: CONNECTING (READY sent, waiting for WELCOME),
    REGISTERED, and WAITING (socket closed after the broker went silent,
    a reconnect timer pending). The heartbeat timer drives liveness: any
    message from the broker resets it; three silent intervals close the
    socket and reconnect after a backoff (100 ms doubling to 5 s), so a
    broker that restarts is found again without a storm of reconnects.
*/
#include "gl_actor.h"
#include "gl_log.h"
#include "gl_wire.h"
#include <zmq.h>

#define S_LIVENESS 3
#define S_BACKOFF_FIRST_MS 100
#define S_BACKOFF_MAX_MS 5000
#define S_HANDLERS (GL_MSG_EVENT + 1)

typedef enum { S_CONNECTING, S_REGISTERED, S_WAITING } s_state_t;

struct _gl_actor_t {
    char *endpoint;
    char service [GL_WIRE_NAME_MAX + 1];
    char instance [GL_WIRE_NAME_MAX + 1];
    char address [GL_WIRE_ADDRESS_MAX + 1];
    uint32_t capacity;          //  credit when nothing is held
    uint32_t held;              //  delivered, credit not yet returned
    uint32_t pending;           //  credit to return in the next CREDIT
    bool manual_credit;
    int64_t heartbeat_ms;
    zloop_t *loop;
    zsock_t *socket;
    s_state_t state;
    int64_t last_heard, last_sent;
    int backoff_ms;
    int heartbeat_timer;
    bool stopping;
    struct { gl_actor_handler_fn *handler; void *argument; } handlers [S_HANDLERS];
    gl_actor_bounce_fn *bounce_handler;
    void *bounce_argument;
    gl_actor_membership_fn *membership_handler;
    void *membership_argument;
};

static int s_connect (gl_actor_t *self);

//  Sends a header and up to two frames. Returns 0, or -1 if the socket
//  would block or is closed.
static int
s_send (gl_actor_t *self, gl_wire_command_t command, const void *first, size_t first_size,
        const void *second, size_t second_size)
{
    if (!self->socket)
        return -1;
    void *handle = zsock_resolve (self->socket);
    uint8_t header [GL_WIRE_HEADER_SIZE];
    gl_wire_header (header, command);
    if (zmq_send (handle, header, sizeof (header), (first? ZMQ_SNDMORE: 0) | ZMQ_DONTWAIT) == -1)
        return -1;
    if (first)
        zmq_send (handle, first, first_size, second? ZMQ_SNDMORE: 0);
    if (second)
        zmq_send (handle, second, second_size, 0);
    self->last_sent = zclock_mono ();
    return 0;
}

//  Sends a command whose only frame after the header is an encoded body.
static int
s_send_body (gl_actor_t *self, gl_wire_command_t command, const gl_msg_t *message)
{
    char error [GL_MSG_ERROR_MAX];
    char *data = NULL;
    size_t size = 0;
    if (gl_msg_encode (message, &data, &size, error) != 0) {
        gl_log_error ("encode_failed", "type=%s reason=\"%s\"",
                      gl_msg_type_name (message->type), error);
        return -1;
    }
    int rc = s_send (self, command, data, size, NULL, 0);
    free (data);
    return rc;
}

//  Sends READY with the credit this instance can take now.
static void
s_send_ready (gl_actor_t *self)
{
    gl_msg_t *ready = gl_msg_new (GL_MSG_READY);
    if (!ready)
        return;
    snprintf (ready->ready.service, sizeof (ready->ready.service), "%s", self->service);
    snprintf (ready->ready.instance, sizeof (ready->ready.instance), "%s", self->instance);
    //  A new registration starts from what this instance can take now:
    //  held messages still occupy room, credit not yet returned is moot.
    ready->ready.credit = self->capacity > self->held? self->capacity - self->held: 0;
    self->pending = 0;
    s_send_body (self, GL_WIRE_READY, ready);
    gl_msg_destroy (&ready);
    self->state = S_CONNECTING;
}

//  Returns credit for one handled message, in batches of half the capacity.
static void
s_release (gl_actor_t *self, uint32_t credit)
{
    self->held = credit > self->held? 0: self->held - credit;
    self->pending += credit;
    if (self->pending * 2 >= self->capacity || self->held == 0) {
        gl_msg_t *message = gl_msg_new (GL_MSG_CREDIT);
        if (!message)
            return;
        message->credit.credit = self->pending;
        if (s_send_body (self, GL_WIRE_CREDIT, message) == 0)
            self->pending = 0;
        gl_msg_destroy (&message);
    }
}

//  Handles a DELIVER: decodes the body and calls the handler for its type.
static int
s_handle_deliver (gl_actor_t *self, zmsg_t *message)
{
    zframe_t *sender_frame = zmsg_pop (message);
    zframe_t *body = zmsg_pop (message);
    char *sender = sender_frame? zframe_strdup (sender_frame): NULL;
    int rc = 0;
    self->held++;
    char error [GL_MSG_ERROR_MAX];
    gl_msg_t *decoded = body? gl_msg_decode (zframe_data (body), zframe_size (body), error): NULL;
    if (!sender || !decoded)
        gl_log_warn ("body_rejected", "sender=%s reason=\"%s\"", sender? sender: "-",
                     body? error: "missing frames");
    else
    if (!self->handlers [decoded->type].handler)
        gl_log_warn ("message_unhandled", "sender=%s type=%s", sender,
                     gl_msg_type_name (decoded->type));
    else
        rc = self->handlers [decoded->type].handler (self, sender, &decoded,
                                                     self->handlers [decoded->type].argument);
    gl_msg_destroy (&decoded);
    if (!self->manual_credit)
        s_release (self, 1);
    free (sender);
    zframe_destroy (&sender_frame);
    zframe_destroy (&body);
    return rc;
}

//  Handles a BOUNCE: hands the returned message and reason to the actor.
static void
s_handle_bounce (gl_actor_t *self, zmsg_t *message)
{
    char *destination = zmsg_popstr (message);
    zframe_t *body = zmsg_pop (message);
    zframe_t *reason = zmsg_pop (message);
    char error [GL_MSG_ERROR_MAX];
    gl_msg_t *returned = body? gl_msg_decode (zframe_data (body), zframe_size (body), error): NULL;
    gl_msg_t *why = reason? gl_msg_decode (zframe_data (reason), zframe_size (reason), error): NULL;
    const char *code = why && why->type == GL_MSG_ERROR? why->error.code: "unknown";
    const char *text = why && why->type == GL_MSG_ERROR? why->error.text: "";
    if (self->bounce_handler)
        self->bounce_handler (self, destination? destination: "", returned, code, text,
                              self->bounce_argument);
    else
        gl_log_warn ("message_bounced", "destination=%s code=%s", destination? destination: "-",
                     code);
    gl_msg_destroy (&returned);
    gl_msg_destroy (&why);
    zframe_destroy (&body);
    zframe_destroy (&reason);
    free (destination);
}

//  Handles WELCOME, ERROR and MEMBERSHIP, whose one frame is a body.
static void
s_handle_control (gl_actor_t *self, gl_wire_command_t command, zmsg_t *message)
{
    zframe_t *body = zmsg_pop (message);
    char error [GL_MSG_ERROR_MAX];
    gl_msg_t *decoded = body? gl_msg_decode (zframe_data (body), zframe_size (body), error): NULL;
    zframe_destroy (&body);
    if (!decoded) {
        gl_log_warn ("frame_rejected", "command=%s reason=\"%s\"",
                     gl_wire_command_name (command), body? error: "missing body");
        return;
    }
    if (command == GL_WIRE_WELCOME && decoded->type == GL_MSG_WELCOME) {
        self->state = S_REGISTERED;
        self->backoff_ms = S_BACKOFF_FIRST_MS;
        self->heartbeat_ms = decoded->welcome.heartbeat_ms;
        gl_log_info ("actor_registered", "address=%s broker=%s", self->address,
                     decoded->welcome.broker);
    }
    else
    if (command == GL_WIRE_ERROR && decoded->type == GL_MSG_ERROR) {
        gl_log_warn ("broker_error", "code=%s text=\"%s\"", decoded->error.code,
                     decoded->error.text);
        if (strcmp (decoded->error.code, "not_registered") == 0)
            s_send_ready (self);
    }
    else
    if (command == GL_WIRE_MEMBERSHIP && decoded->type == GL_MSG_MEMBERSHIP) {
        if (self->membership_handler)
            self->membership_handler (self, decoded, self->membership_argument);
    }
    else
        gl_log_warn ("frame_rejected", "command=%s reason=\"unexpected %s body\"",
                     gl_wire_command_name (command), gl_msg_type_name (decoded->type));
    gl_msg_destroy (&decoded);
}

//  Reads one message from the broker and dispatches it by command.
static int
s_handle_socket (zloop_t *loop, zsock_t *socket, void *argument)
{
    gl_actor_t *self = (gl_actor_t *) argument;
    zmsg_t *message = zmsg_recv (socket);
    if (!message)
        return self->stopping? -1: 0;
    self->last_heard = zclock_mono ();
    zframe_t *header = zmsg_pop (message);
    gl_wire_command_t command = 0;
    int rc = 0;
    if (!header || gl_wire_header_parse (zframe_data (header), zframe_size (header), &command)
                   != GL_WIRE_HEADER_OK)
        gl_log_warn ("frame_rejected", "reason=bad_header");
    else
    if (command == GL_WIRE_DELIVER)
        rc = s_handle_deliver (self, message);
    else
    if (command == GL_WIRE_BOUNCE)
        s_handle_bounce (self, message);
    else
    if (command == GL_WIRE_DISCONNECT)
        s_send_ready (self);
    else
    if (command != GL_WIRE_HEARTBEAT)
        s_handle_control (self, command, message);
    zframe_destroy (&header);
    zmsg_destroy (&message);
    return (rc == 0 && !self->stopping)? 0: -1;
}

//  One-shot timer: connects again after a backoff.
static int
s_reconnect_timer (zloop_t *loop, int timer_id, void *argument)
{
    return s_connect ((gl_actor_t *) argument);
}

//  Closes the socket and schedules a reconnect after the backoff.
static void
s_disconnect_and_wait (gl_actor_t *self)
{
    gl_log_warn ("broker_lost", "endpoint=%s retry_ms=%d", self->endpoint, self->backoff_ms);
    zloop_reader_end (self->loop, self->socket);
    zsock_destroy (&self->socket);
    self->state = S_WAITING;
    zloop_timer (self->loop, (size_t) self->backoff_ms, 1, s_reconnect_timer, self);
    self->backoff_ms = self->backoff_ms * 2 > S_BACKOFF_MAX_MS? S_BACKOFF_MAX_MS
                                                              : self->backoff_ms * 2;
}

//  Heartbeat timer: detects a silent broker, keeps the broker's view of
//  this instance alive.
static int
s_heartbeat_timer (zloop_t *loop, int timer_id, void *argument)
{
    gl_actor_t *self = (gl_actor_t *) argument;
    if (self->stopping)
        return -1;
    if (self->state == S_WAITING)
        return 0;
    int64_t now = zclock_mono ();
    if (now - self->last_heard > S_LIVENESS * self->heartbeat_ms)
        s_disconnect_and_wait (self);
    else
    if (now - self->last_sent >= self->heartbeat_ms)
        s_send (self, GL_WIRE_HEARTBEAT, NULL, 0, NULL, 0);
    return 0;
}

//  Opens a new DEALER to the broker and sends READY.
static int
s_connect (gl_actor_t *self)
{
    self->socket = zsock_new (ZMQ_DEALER);
    if (!self->socket || zsock_connect (self->socket, "%s", self->endpoint) != 0) {
        gl_log_error ("connect_failed", "endpoint=%s", self->endpoint);
        zsock_destroy (&self->socket);
        return -1;
    }
    zsock_set_linger (self->socket, 0);
    zloop_reader (self->loop, self->socket, s_handle_socket, self);
    self->last_heard = zclock_mono ();
    s_send_ready (self);
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
                      options->service? options->service: "-");
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
                      instance);
        return -1;
    }
    return 0;
}

gl_actor_t *
gl_actor_new (const gl_actor_options_t *options)
{
    char instance [GL_WIRE_NAME_MAX + 1];
    if (s_options_valid (options, instance, sizeof (instance)) != 0)
        return NULL;
    gl_actor_t *self = (gl_actor_t *) zmalloc (sizeof (gl_actor_t));
    self->endpoint = strdup (options->endpoint);
    snprintf (self->service, sizeof (self->service), "%s", options->service);
    snprintf (self->instance, sizeof (self->instance), "%s", instance);
    snprintf (self->address, sizeof (self->address), "%s/%s", self->service, self->instance);
    self->capacity = options->credit? options->credit: 100;
    self->manual_credit = options->manual_credit;
    self->heartbeat_ms = options->heartbeat_ms? options->heartbeat_ms: 1000;
    self->backoff_ms = S_BACKOFF_FIRST_MS;
    self->loop = zloop_new ();
    if (s_connect (self) != 0) {
        gl_actor_destroy (&self);
        return NULL;
    }
    //  The timer ticks at a quarter interval so a silent broker is noticed
    //  close to three intervals, not four.
    self->heartbeat_timer = zloop_timer (self->loop, (size_t) (self->heartbeat_ms / 4 + 1), 0,
                                         s_heartbeat_timer, self);
    return self;
}

void
gl_actor_destroy (gl_actor_t **self_p)
{
    if (self_p && *self_p) {
        gl_actor_t *self = *self_p;
        if (self->socket && self->state == S_REGISTERED)
            s_send (self, GL_WIRE_DISCONNECT, NULL, 0, NULL, 0);
        zloop_destroy (&self->loop);
        zsock_destroy (&self->socket);
        free (self->endpoint);
        free (self);
        *self_p = NULL;
    }
}

void
gl_actor_on (gl_actor_t *self, gl_msg_type_t type, gl_actor_handler_fn *handler, void *argument)
{
    if (type > GL_MSG_INVALID && type < S_HANDLERS) {
        self->handlers [type].handler = handler;
        self->handlers [type].argument = argument;
    }
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

int
gl_actor_send (gl_actor_t *self, const char *address, const gl_msg_t *message)
{
    size_t service_size, instance_size;
    if (!gl_wire_address_parse (address, strlen (address), &service_size, &instance_size)) {
        gl_log_error ("send_refused", "address=%s reason=\"expected service or service/instance\"",
                      address);
        return -1;
    }
    if (self->state != S_REGISTERED)
        return -1;
    char error [GL_MSG_ERROR_MAX];
    char *data = NULL;
    size_t size = 0;
    if (gl_msg_encode (message, &data, &size, error) != 0) {
        gl_log_error ("send_refused", "address=%s type=%s reason=\"%s\"", address,
                      gl_msg_type_name (message->type), error);
        return -1;
    }
    int rc = s_send (self, GL_WIRE_SEND, address, strlen (address), data, size);
    free (data);
    return rc;
}

int
gl_actor_credit (gl_actor_t *self, uint32_t credit)
{
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
    zloop_start (self->loop);
    gl_log_info ("actor_stopping", "address=%s", self->address);
    return 0;
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
    zloop_timer (self->loop, 1, 1, s_stop_timer, self);
}

bool
gl_actor_registered (gl_actor_t *self)
{
    return self->state == S_REGISTERED;
}

const char *
gl_actor_address (gl_actor_t *self)
{
    return self->address;
}
