/*  test_actor — the actor runtime (gl_actor): driven message by message
    without a broker (gl_actor_dispatch), against a fake broker (a ROUTER
    the test speaks for), and against a real gapless-broker process with
    a raw GLP client. The actor under test runs in a thread of this
    process so its stats and callbacks can be read.
*/
#include "gl_actor.h"
#include "gl_glp.h"
#include "gl_msg.h"
#include "gl_process.h"
#include "gl_test.h"
#include "gl_wire.h"
#include <czmq.h>

#define HEARTBEAT_MS 200

static char s_broker_path [512], s_echo_path [512];
static char s_endpoint [64];

//  ---------------------------------------------------------------------
//  Messages as the broker would send them.

//  Appends an encoded body to a message.
static void
s_add_body (zmsg_t *message, const gl_msg_t *body)
{
    char *data = NULL, error [GL_MSG_ERROR_MAX];
    size_t size = 0;
    if (gl_msg_encode (body, &data, &size, error) != 0)
        fprintf (stderr, "s_add_body: cannot encode: %s\n", error);
    zmsg_addmem (message, data, size);
    free (data);
}

//  A message with a GLP header for command and nothing else.
static zmsg_t *
s_command (gl_wire_command_t command)
{
    zmsg_t *message = zmsg_new ();
    uint8_t header [GL_WIRE_HEADER_SIZE];
    gl_wire_header (header, command);
    zmsg_addmem (message, header, sizeof (header));
    return message;
}

//  WELCOME with the given heartbeat and limits.
static zmsg_t *
s_welcome_limits (uint32_t heartbeat_ms, uint32_t credit_limit, uint32_t max_body)
{
    zmsg_t *message = s_command (GL_WIRE_WELCOME);
    gl_msg_t *welcome = gl_msg_new (GL_MSG_WELCOME);
    welcome->welcome.heartbeat_ms = heartbeat_ms;
    strcpy (welcome->welcome.broker, "fake");
    welcome->welcome.credit_limit = credit_limit;
    welcome->welcome.queue_limit = 1000;
    welcome->welcome.max_body = max_body;
    s_add_body (message, welcome);
    gl_msg_destroy (&welcome);
    return message;
}

//  WELCOME with the given heartbeat and generous limits.
static zmsg_t *
s_welcome (uint32_t heartbeat_ms)
{
    return s_welcome_limits (heartbeat_ms, 10000, GL_MSG_MAX_BODY);
}

//  An echo body with this sequence and payload.
static gl_msg_t *
s_echo (uint64_t sequence, const char *payload)
{
    gl_msg_t *echo = gl_msg_new (GL_MSG_ECHO);
    echo->echo.sequence = sequence;
    gl_msg_set_payload (echo, payload, strlen (payload));
    return echo;
}

//  A fetch body (a type the test actors have no handler for).
static gl_msg_t *
s_fetch (void)
{
    gl_msg_t *fetch = gl_msg_new (GL_MSG_FETCH);
    fetch->fetch.run_id = 1;
    strcpy (fetch->fetch.lease_token, "0b1e8c1a-5d2f-4a63-9a57-6f0d2c3b4e5f");
    strcpy (fetch->fetch.symbol, "AAPL");
    strcpy (fetch->fetch.timeframe, "1d");
    fetch->fetch.from = 0;
    fetch->fetch.to = 86400;
    return fetch;
}

//  An error body.
static gl_msg_t *
s_error (const char *code, const char *text)
{
    gl_msg_t *error = gl_msg_new (GL_MSG_ERROR);
    snprintf (error->error.code, sizeof (error->error.code), "%s", code);
    snprintf (error->error.text, sizeof (error->error.text), "%s", text);
    return error;
}

//  DELIVER from sender of body (encoded), or of raw bytes when body is NULL.
static zmsg_t *
s_deliver (const char *sender, const gl_msg_t *body, const char *raw)
{
    zmsg_t *message = s_command (GL_WIRE_DELIVER);
    zmsg_addstr (message, sender);
    if (body)
        s_add_body (message, body);
    else
        zmsg_addstr (message, raw);
    return message;
}

//  ---------------------------------------------------------------------
//  What the test actors do, and what the test reads back.

typedef struct {
    int connected;              //  on_connection (true) calls
    int lost;                   //  on_connection (false) calls
    int bounces;
    char bounce_code [33];
    uint64_t bounce_sequence;   //  of the bounced echo, if it decoded
    uint64_t handled_sequence;  //  last echo handled
    int memberships;
    int followed;               //  MEMBERSHIP of services matching watched.*
    char followed_event [8];    //  the last one's event
    int unasked;                //  MEMBERSHIP of services neither own nor followed
} record_t;

//  Echo handler: payload "refuse" is refused (-1); anything else is
//  answered and, with manual credit, its credit returned at once.
static int
s_handle_echo (gl_actor_t *actor, const char *sender, gl_msg_t **message_p, void *argument)
{
    record_t *record = (record_t *) argument;
    gl_msg_t *echo = *message_p;
    if (echo->echo.payload_size == 6 && memcmp (echo->echo.payload, "refuse", 6) == 0)
        return -1;
    record->handled_sequence = echo->echo.sequence;
    gl_actor_send (actor, sender, echo);
    return 0;
}

//  Echo handler of a manual-credit actor: answers and gives the credit
//  back (as the writer does after a batch), unless it refuses.
static int
s_handle_echo_manual (gl_actor_t *actor, const char *sender, gl_msg_t **message_p,
                      void *argument)
{
    int rc = s_handle_echo (actor, sender, message_p, argument);
    if (rc == 0)
        gl_actor_credit (actor, 1);
    return rc;
}

static void
s_on_connection (gl_actor_t *actor, bool registered, void *argument)
{
    record_t *record = (record_t *) argument;
    if (registered)
        record->connected++;
    else
        record->lost++;
}

static void
s_on_bounce (gl_actor_t *actor, const char *destination, gl_msg_t *message, const char *code,
             const char *text, void *argument)
{
    record_t *record = (record_t *) argument;
    record->bounces++;
    snprintf (record->bounce_code, sizeof (record->bounce_code), "%s", code);
    if (message && message->type == GL_MSG_ECHO)
        record->bounce_sequence = message->echo.sequence;
}

static void
s_on_membership (gl_actor_t *actor, const gl_msg_t *membership, void *argument)
{
    record_t *record = (record_t *) argument;
    record->memberships++;
    const char *service = membership->membership.service;
    size_t own = strcspn (gl_actor_address (actor), "/");
    if (strncmp (service, "watched.", 8) == 0) {
        record->followed++;
        snprintf (record->followed_event, sizeof (record->followed_event), "%s",
                  membership->membership.event);
    }
    else
    if (strlen (service) != own || strncmp (service, gl_actor_address (actor), own) != 0)
        record->unasked++;
}

//  Creates an actor with the test handlers recording into record.
static gl_actor_t *
s_actor_new (const gl_actor_options_t *options, record_t *record)
{
    gl_actor_t *actor = gl_actor_new (options);
    if (actor) {
        gl_actor_on (actor, GL_MSG_ECHO, options->manual_credit? s_handle_echo_manual
                                                                : s_handle_echo, record);
        gl_actor_on_connection (actor, s_on_connection, record);
        gl_actor_on_bounce (actor, s_on_bounce, record);
        gl_actor_on_membership (actor, s_on_membership, record);
    }
    return actor;
}

//  ---------------------------------------------------------------------
//  An actor in a thread. The test asks it over the pipe for "REPORT" (a
//  report_t back) and stops it with $TERM.

typedef struct {
    gl_actor_stats_t stats;
    record_t record;
    bool registered;
    uint64_t max_body;
    int run_rc;
    bool finished;              //  gl_actor_run returned
} report_t;

typedef struct {
    gl_actor_options_t options;
    char service [65], instance [65];
} thread_options_t;

typedef struct {
    gl_actor_t *actor;
    record_t record;
    zsock_t *pipe;
    bool terminated;            //  $TERM came while the actor ran
} thread_t;

//  Fills a report from the thread's actor.
static report_t
s_report (thread_t *thread)
{
    report_t report = { .stats = gl_actor_stats (thread->actor), .record = thread->record,
                        .registered = gl_actor_registered (thread->actor),
                        .max_body = gl_actor_max_body (thread->actor) };
    return report;
}

//  Pipe reader in the actor's thread: REPORT or $TERM.
static int
s_thread_pipe (zloop_t *loop, zsock_t *pipe, void *argument)
{
    thread_t *thread = (thread_t *) argument;
    char *command = zstr_recv (pipe);
    bool terminate = !command || strcmp (command, "$TERM") == 0;
    if (command && strcmp (command, "REPORT") == 0) {
        report_t report = s_report (thread);
        zsock_send (pipe, "b", &report, sizeof (report));
    }
    free (command);
    if (terminate) {
        thread->terminated = true;
        gl_actor_stop (thread->actor);
    }
    return 0;
}

//  The actor thread: runs the actor, then answers REPORT until $TERM.
static void
s_thread_task (zsock_t *pipe, void *argument)
{
    thread_options_t *options = (thread_options_t *) argument;
    thread_t thread = { .pipe = pipe };
    thread.actor = s_actor_new (&options->options, &thread.record);
    zsock_signal (pipe, thread.actor? 0: 1);
    if (!thread.actor)
        return;
    zloop_reader (gl_actor_loop (thread.actor), pipe, s_thread_pipe, &thread);
    int rc = gl_actor_run (thread.actor);
    //  Finished on its own (replaced): keep answering until $TERM.
    while (!thread.terminated) {
        char *command = zstr_recv (pipe);
        bool terminate = !command || strcmp (command, "$TERM") == 0;
        if (command && strcmp (command, "REPORT") == 0) {
            report_t report = s_report (&thread);
            report.run_rc = rc;
            report.finished = true;
            zsock_send (pipe, "b", &report, sizeof (report));
        }
        free (command);
        if (terminate)
            break;
    }
    gl_actor_destroy (&thread.actor);
}

//  Starts an actor thread for service/instance at endpoint, following
//  the services of follow (NULL for none).
static zactor_t *
s_thread_start_following (thread_options_t *options, const char *endpoint, const char *service,
                          const char *instance, uint32_t credit, bool manual_credit,
                          const char *const *follow)
{
    snprintf (options->service, sizeof (options->service), "%s", service);
    snprintf (options->instance, sizeof (options->instance), "%s", instance);
    options->options = (gl_actor_options_t) {
        .endpoint = endpoint, .service = options->service, .instance = options->instance,
        .credit = credit, .heartbeat_ms = HEARTBEAT_MS, .manual_credit = manual_credit,
        .follow = follow };
    return zactor_new (s_thread_task, options);
}

//  Starts an actor thread for service/instance at endpoint.
static zactor_t *
s_thread_start (thread_options_t *options, const char *endpoint, const char *service,
                const char *instance, uint32_t credit, bool manual_credit)
{
    return s_thread_start_following (options, endpoint, service, instance, credit,
                                     manual_credit, NULL);
}

//  Asks the actor thread for its report.
static report_t
s_thread_report (zactor_t *thread)
{
    report_t report = { 0 };
    zstr_send (thread, "REPORT");
    zframe_t *frame = zframe_recv (thread);
    if (frame && zframe_size (frame) == sizeof (report))
        memcpy (&report, zframe_data (frame), sizeof (report));
    zframe_destroy (&frame);
    return report;
}

//  ---------------------------------------------------------------------
//  A raw GLP client against the real broker: registers, heartbeats while
//  it waits, and collects what it receives.

typedef struct {
    zsock_t *socket;
    int64_t last_beat;
} client_t;

static client_t *
s_client_new (const char *endpoint)
{
    client_t *self = (client_t *) zmalloc (sizeof (client_t));
    self->socket = zsock_new_dealer (endpoint);
    zsock_set_linger (self->socket, 0);
    return self;
}

static void
s_client_destroy (client_t **self_p)
{
    if (*self_p) {
        zsock_destroy (&(*self_p)->socket);
        free (*self_p);
        *self_p = NULL;
    }
}

//  Receives one message within timeout_ms (heartbeating, skipping
//  heartbeats and membership). Returns it with the header popped and the
//  command in *command_p, or NULL.
static zmsg_t *
s_client_receive (client_t *self, gl_wire_command_t *command_p, int timeout_ms)
{
    int64_t deadline = gl_test_now_ms () + timeout_ms;
    while (gl_test_now_ms () < deadline) {
        if (gl_test_now_ms () - self->last_beat >= HEARTBEAT_MS / 3) {
            gl_glp_send (self->socket, GL_WIRE_HEARTBEAT, NULL, NULL);
            self->last_beat = gl_test_now_ms ();
        }
        zpoller_t *poller = zpoller_new (self->socket, NULL);
        void *ready = zpoller_wait (poller, 20);
        zpoller_destroy (&poller);
        if (!ready)
            continue;
        zmsg_t *message = zmsg_recv (self->socket);
        zframe_t *header = message? zmsg_pop (message): NULL;
        bool parsed = header && gl_wire_header_parse (zframe_data (header), zframe_size (header),
                                                      command_p) == GL_WIRE_HEADER_OK;
        zframe_destroy (&header);
        if (parsed && *command_p != GL_WIRE_HEARTBEAT && *command_p != GL_WIRE_MEMBERSHIP)
            return message;
        zmsg_destroy (&message);
    }
    return NULL;
}

//  Registers the client and waits for WELCOME.
static bool
s_client_register (client_t *self, const char *service, const char *instance)
{
    gl_msg_t *ready = gl_msg_new (GL_MSG_READY);
    snprintf (ready->ready.service, sizeof (ready->ready.service), "%s", service);
    snprintf (ready->ready.instance, sizeof (ready->ready.instance), "%s", instance);
    ready->ready.credit = 1000;
    gl_glp_send (self->socket, GL_WIRE_READY, NULL, ready);
    gl_msg_destroy (&ready);
    gl_wire_command_t command;
    zmsg_t *message;
    while ((message = s_client_receive (self, &command, 3000))) {
        zmsg_destroy (&message);
        if (command == GL_WIRE_WELCOME)
            return true;
    }
    return false;
}

//  Waits for the echo with this sequence to come back. Returns true if it
//  did within timeout_ms.
static bool
s_client_expect_echo (client_t *self, uint64_t sequence, int timeout_ms)
{
    int64_t deadline = gl_test_now_ms () + timeout_ms;
    gl_wire_command_t command;
    zmsg_t *message;
    while (gl_test_now_ms () < deadline
       && (message = s_client_receive (self, &command, (int) (deadline - gl_test_now_ms ())))) {
        bool found = false;
        if (command == GL_WIRE_DELIVER && zmsg_size (message) == 2) {
            zframe_t *body = zmsg_last (message);
            char error [GL_MSG_ERROR_MAX];
            gl_msg_t *echo = gl_msg_decode (zframe_data (body), zframe_size (body), error);
            found = echo && echo->type == GL_MSG_ECHO && echo->echo.sequence == sequence;
            gl_msg_destroy (&echo);
        }
        zmsg_destroy (&message);
        if (found)
            return true;
    }
    return false;
}

//  Sends raw bytes as a body to address (the broker does not decode bodies).
static void
s_client_send_raw (client_t *self, const char *address, const char *raw)
{
    zmsg_t *message = s_command (GL_WIRE_SEND);
    zmsg_addstr (message, address);
    zmsg_addstr (message, raw);
    zmsg_send (&message, self->socket);
}

//  ---------------------------------------------------------------------
//  A fake broker: a ROUTER the test speaks GLP for, frame by frame, to
//  one actor. It heartbeats the actor while it waits.

typedef struct {
    zsock_t *router;
    zframe_t *peer;             //  routing id of the last READY's sender
    int64_t last_beat;
} fake_t;

static fake_t *
s_fake_new (const char *endpoint)
{
    fake_t *self = (fake_t *) zmalloc (sizeof (fake_t));
    self->router = zsock_new (ZMQ_ROUTER);
    zsock_set_linger (self->router, 0);
    if (zsock_bind (self->router, "%s", endpoint) == -1)
        fprintf (stderr, "fake broker: cannot bind %s\n", endpoint);
    return self;
}

static void
s_fake_destroy (fake_t **self_p)
{
    if (*self_p) {
        zsock_destroy (&(*self_p)->router);
        zframe_destroy (&(*self_p)->peer);
        free (*self_p);
        *self_p = NULL;
    }
}

//  Sends a message (header first) to the actor; takes ownership.
static void
s_fake_send (fake_t *self, zmsg_t *message)
{
    if (self->peer)
        zmsg_pushmem (message, zframe_data (self->peer), zframe_size (self->peer));
    zmsg_send (&message, self->router);
}

//  Receives the actor's next message other than HEARTBEAT within
//  timeout_ms; returns it after its header, the command in *command_p.
//  A READY's sender becomes the peer the fake talks to.
static zmsg_t *
s_fake_receive (fake_t *self, gl_wire_command_t *command_p, int timeout_ms)
{
    int64_t deadline = gl_test_now_ms () + timeout_ms;
    while (gl_test_now_ms () < deadline) {
        if (self->peer && gl_test_now_ms () - self->last_beat >= HEARTBEAT_MS / 4) {
            s_fake_send (self, s_command (GL_WIRE_HEARTBEAT));
            self->last_beat = gl_test_now_ms ();
        }
        zpoller_t *poller = zpoller_new (self->router, NULL);
        void *ready = zpoller_wait (poller, 10);
        zpoller_destroy (&poller);
        if (!ready)
            continue;
        zmsg_t *message = zmsg_recv (self->router);
        zframe_t *peer = message? zmsg_pop (message): NULL;
        zframe_t *header = message? zmsg_pop (message): NULL;
        bool parsed = header && gl_wire_header_parse (zframe_data (header), zframe_size (header),
                                                      command_p) == GL_WIRE_HEADER_OK;
        zframe_destroy (&header);
        if (parsed && *command_p == GL_WIRE_READY) {
            zframe_destroy (&self->peer);
            self->peer = peer;
            peer = NULL;
        }
        zframe_destroy (&peer);
        if (parsed && *command_p != GL_WIRE_HEARTBEAT)
            return message;
        zmsg_destroy (&message);
    }
    return NULL;
}

//  Waits for a READY from the actor and decodes it (NULL if none came).
static gl_msg_t *
s_fake_expect_ready (fake_t *self, int timeout_ms)
{
    int64_t deadline = gl_test_now_ms () + timeout_ms;
    gl_wire_command_t command;
    zmsg_t *message;
    while ((message = s_fake_receive (self, &command, (int) (deadline - gl_test_now_ms ())))) {
        gl_msg_t *ready = NULL;
        if (command == GL_WIRE_READY && zmsg_size (message) == 1) {
            char error [GL_MSG_ERROR_MAX];
            zframe_t *body = zmsg_first (message);
            ready = gl_msg_decode (zframe_data (body), zframe_size (body), error);
        }
        zmsg_destroy (&message);
        if (ready)
            return ready;
    }
    return NULL;
}

//  A DISCONNECT with an error body of this code, or none when NULL.
static zmsg_t *
s_disconnect (const char *code)
{
    zmsg_t *message = s_command (GL_WIRE_DISCONNECT);
    if (code) {
        gl_msg_t *error = s_error (code, "from the test");
        s_add_body (message, error);
        gl_msg_destroy (&error);
    }
    return message;
}

//  ---------------------------------------------------------------------
//  The real broker.

//  Starts a broker with this heartbeat interval.
static pid_t
s_broker_start_beating (int heartbeat_ms)
{
    char heartbeat [16];
    snprintf (heartbeat, sizeof (heartbeat), "%d", heartbeat_ms);
    char *argv [] = { s_broker_path, "--bind", s_endpoint, "--heartbeat-ms", heartbeat, NULL };
    return gl_process_start (argv, "broker.log");
}

//  Starts a broker with the test's heartbeat interval.
static pid_t
s_broker_start (void)
{
    return s_broker_start_beating (HEARTBEAT_MS);
}

//  ---------------------------------------------------------------------
//  Tests.

//  The runtime without a broker: registration changes reach the
//  connection handler once each, stats count every delivery, credit
//  returns what the header promises, max_body is 0 until known.
static void
s_test_dispatch (void)
{
    record_t record = { 0 };
    gl_actor_options_t options = { .endpoint = "tcp://127.0.0.1:1", .service = "unit",
                                   .instance = "u1", .credit = 10, .heartbeat_ms = 1000,
                                   .manual_credit = true };
    gl_actor_t *actor = s_actor_new (&options, &record);
    GL_CHECK (actor != NULL);
    GL_CHECK (!gl_actor_registered (actor));
    GL_CHECK_INT (gl_actor_max_body (actor), 0);

    zmsg_t *message = s_welcome (1000);
    GL_CHECK_INT (gl_actor_dispatch (actor, &message), 0);
    GL_CHECK (message == NULL);
    GL_CHECK (gl_actor_registered (actor));
    GL_CHECK (gl_actor_broker_live (actor));
    GL_CHECK_INT (gl_actor_heartbeat_ms (actor), 1000);
    GL_CHECK_INT (record.connected, 1);
    message = s_welcome (1000);                     //  again: no second call
    gl_actor_dispatch (actor, &message);
    GL_CHECK_INT (record.connected, 1);

    gl_msg_t *echo = s_echo (5, "hello");
    message = s_deliver ("client/c1", echo, NULL);
    GL_CHECK_INT (gl_actor_dispatch (actor, &message), 0);
    GL_CHECK_INT (record.handled_sequence, 5);
    gl_actor_stats_t stats = gl_actor_stats (actor);
    GL_CHECK_INT (stats.delivered, 1);
    GL_CHECK_INT (stats.handled, 1);
    GL_CHECK_INT (stats.refused, 0);
    GL_CHECK_INT (stats.held, 0);                   //  the handler gave it back
    GL_CHECK_INT (stats.sent + stats.send_failed, 1);

    //  gl_actor_credit: 0 is a no-op, more than held is refused.
    GL_CHECK_INT (gl_actor_credit (actor, 0), 0);
    GL_CHECK_INT (gl_actor_credit (actor, 1), -1);
    GL_CHECK_INT (gl_actor_stats (actor).held, 0);

    //  Sends are refused for a bad address or an invalid body, counted.
    GL_CHECK_INT (gl_actor_send (actor, "Bad Address", echo), -1);
    gl_msg_t *invalid = gl_msg_new (GL_MSG_FETCH);  //  from == to: invalid
    GL_CHECK_INT (gl_actor_send (actor, "writer", invalid), -1);
    gl_msg_destroy (&invalid);
    GL_CHECK_INT (gl_actor_stats (actor).send_failed, stats.send_failed + 2);

    //  Garbage from the broker is counted, never fatal.
    message = s_command (GL_WIRE_SEND);
    GL_CHECK_INT (gl_actor_dispatch (actor, &message), 0);
    message = zmsg_new ();
    zmsg_addstr (message, "no header");
    GL_CHECK_INT (gl_actor_dispatch (actor, &message), 0);
    message = s_command (GL_WIRE_WELCOME);          //  no body
    GL_CHECK_INT (gl_actor_dispatch (actor, &message), 0);
    GL_CHECK_INT (gl_actor_stats (actor).rejected, 3);
    GL_CHECK (gl_actor_registered (actor));

    //  ERROR not_registered: lost (once), READY again.
    message = s_command (GL_WIRE_ERROR);
    gl_msg_t *error = s_error ("not_registered", "send READY first");
    s_add_body (message, error);
    gl_msg_destroy (&error);
    GL_CHECK_INT (gl_actor_dispatch (actor, &message), 0);
    GL_CHECK (!gl_actor_registered (actor));
    GL_CHECK_INT (record.lost, 1);
    GL_CHECK_INT (gl_actor_stats (actor).connections_lost, 1);
    message = s_welcome (1000);
    gl_actor_dispatch (actor, &message);
    GL_CHECK_INT (record.connected, 2);
    GL_CHECK_INT (gl_actor_stats (actor).registrations, 2);

    //  WELCOME's limits: max_body is kept and a larger body refused here.
    message = s_welcome_limits (1000, 4, 64);
    gl_actor_dispatch (actor, &message);
    GL_CHECK_INT (gl_actor_max_body (actor), 64);
    gl_msg_t *large = s_echo (6, "a payload that makes this echo larger than sixty-four bytes");
    stats = gl_actor_stats (actor);
    GL_CHECK_INT (gl_actor_send (actor, "client/c1", large), -1);
    GL_CHECK_INT (gl_actor_stats (actor).send_too_large, 1);
    GL_CHECK_INT (gl_actor_stats (actor).send_failed, stats.send_failed + 1);
    GL_CHECK_INT (gl_actor_stats (actor).sent, stats.sent);
    gl_msg_destroy (&large);

    //  BOUNCE not_registered: lost, READY again, and the actor learns
    //  which message was not taken.
    message = s_command (GL_WIRE_BOUNCE);
    zmsg_addstr (message, "client/c1");
    s_add_body (message, echo);
    error = s_error ("not_registered", "send READY first");
    s_add_body (message, error);
    gl_msg_destroy (&error);
    GL_CHECK_INT (gl_actor_dispatch (actor, &message), 0);
    GL_CHECK (!gl_actor_registered (actor));
    GL_CHECK_INT (record.lost, 2);
    GL_CHECK_INT (record.bounces, 1);
    GL_CHECK_STR (record.bounce_code, "not_registered");
    GL_CHECK_INT (record.bounce_sequence, 5);
    GL_CHECK_INT (gl_actor_stats (actor).bounced, 1);
    message = s_welcome (1000);
    gl_actor_dispatch (actor, &message);
    GL_CHECK_INT (record.connected, 3);

    //  A DISCONNECT without a body: lost, reconnecting.
    message = s_command (GL_WIRE_DISCONNECT);
    GL_CHECK_INT (gl_actor_dispatch (actor, &message), 0);
    GL_CHECK (!gl_actor_registered (actor));
    GL_CHECK_INT (record.lost, 3);
    gl_msg_destroy (&echo);
    gl_actor_destroy (&actor);
    gl_actor_destroy (&actor);
    GL_CHECK (actor == NULL);

    //  DISCONNECT replaced: lost, and the loop is to end for good.
    actor = s_actor_new (&options, &record);
    message = s_welcome (1000);
    gl_actor_dispatch (actor, &message);
    message = s_command (GL_WIRE_DISCONNECT);
    error = s_error ("replaced", "another connection registered unit/u1");
    s_add_body (message, error);
    gl_msg_destroy (&error);
    GL_CHECK_INT (gl_actor_dispatch (actor, &message), -1);
    GL_CHECK (!gl_actor_registered (actor));
    GL_CHECK_INT (record.lost, 4);
    message = s_welcome (1000);
    GL_CHECK_INT (gl_actor_dispatch (actor, &message), -1);
    GL_CHECK_INT (gl_actor_run (actor), -1);
    gl_actor_destroy (&actor);

    //  Invalid options are refused.
    const char *too_many [GL_ACTOR_FOLLOW_MAX + 2] = { NULL };
    for (int index = 0; index <= GL_ACTOR_FOLLOW_MAX; index++)
        too_many [index] = "writer";
    const char *bad_pattern [] = { "Fetcher.*", NULL };
    const char *bare_star [] = { ".*", NULL };
    const char *good [] = { "writer", "fetcher.*", NULL };
    options.follow = too_many;
    GL_CHECK (gl_actor_new (&options) == NULL);
    options.follow = bad_pattern;
    GL_CHECK (gl_actor_new (&options) == NULL);
    options.follow = bare_star;
    GL_CHECK (gl_actor_new (&options) == NULL);
    options.follow = good;
    actor = gl_actor_new (&options);
    GL_CHECK (actor != NULL);
    gl_actor_destroy (&actor);
    options.follow = NULL;
    options.service = "Not A Service";
    GL_CHECK (gl_actor_new (&options) == NULL);
}

//  A real broker: the actor registers (connection true), learns of the
//  broker's death within about 3 intervals (connection false), and
//  registers again when a broker comes back.
//  A stalled loop (no timer ran) finds the broker silent the moment it
//  asks, though the connection handler has not been told yet.
static void
s_test_stalled (void)
{
    record_t record = { 0 };
    gl_actor_options_t options = { .endpoint = "tcp://127.0.0.1:1", .service = "unit",
                                   .instance = "u2", .credit = 10, .heartbeat_ms = 100 };
    gl_actor_t *actor = s_actor_new (&options, &record);
    zmsg_t *message = s_welcome (100);
    gl_actor_dispatch (actor, &message);
    GL_CHECK (gl_actor_broker_live (actor));
    GL_CHECK_INT (gl_actor_heartbeat_ms (actor), 100);
    zclock_sleep (3 * 100 + 50);
    GL_CHECK (gl_actor_registered (actor));
    GL_CHECK (!gl_actor_broker_live (actor));
    GL_CHECK_INT (record.connected, 1);
    gl_actor_destroy (&actor);
}

static void
s_test_connection (void)
{
    pid_t broker = s_broker_start ();
    thread_options_t options;
    zactor_t *thread = s_thread_start (&options, s_endpoint, "echo", "conn", 10, false);
    GL_CHECK (thread != NULL);
    GL_CHECK (gl_test_wait_until (s_thread_report (thread).record.connected == 1, 10000));
    report_t report = s_thread_report (thread);
    GL_CHECK (report.registered);
    GL_CHECK_INT (report.record.lost, 0);
    //  A round trip through the actor, counted.
    client_t *client = s_client_new (s_endpoint);
    GL_CHECK (s_client_register (client, "client", "conn"));
    gl_msg_t *echo = s_echo (11, "ping");
    gl_glp_send (client->socket, GL_WIRE_SEND, "echo/conn", echo);
    gl_msg_destroy (&echo);
    GL_CHECK (s_client_expect_echo (client, 11, 5000));
    report = s_thread_report (thread);
    GL_CHECK_INT (report.stats.delivered, 1);
    GL_CHECK_INT (report.stats.handled, 1);
    GL_CHECK_INT (report.stats.sent, 1);
    GL_CHECK_INT (report.stats.held, 0);
    s_client_destroy (&client);

    gl_process_stop (broker, SIGKILL);
    int64_t killed = gl_test_now_ms ();
    GL_CHECK (gl_test_wait_until (s_thread_report (thread).record.lost == 1, 10000));
    int64_t noticed = gl_test_now_ms () - killed;
    GL_CHECK (noticed <= 6 * HEARTBEAT_MS);
    GL_CHECK (!s_thread_report (thread).registered);

    broker = s_broker_start ();
    GL_CHECK (gl_test_wait_until (s_thread_report (thread).record.connected == 2, 15000));
    report = s_thread_report (thread);
    GL_CHECK (report.registered);
    GL_CHECK_INT (report.stats.registrations, 2);
    GL_CHECK_INT (report.stats.connections_lost, 1);
    zactor_destroy (&thread);
    GL_CHECK (WIFEXITED (gl_process_stop (broker, SIGTERM)));
}

//  The contract against a fake broker: READY carries the follow list;
//  WELCOME's credit_limit caps the credit a new READY advertises;
//  DISCONNECT without a body and with shutdown reconnects (a new
//  connection, READY again); a SEND answered BOUNCE not_registered brings
//  READY again and the bounce to the actor; DISCONNECT replaced ends
//  gl_actor_run with -1 and no READY follows.
static void
s_test_fake_broker (void)
{
    char endpoint [64];
    snprintf (endpoint, sizeof (endpoint), "tcp://127.0.0.1:%d", gl_process_free_port ());
    fake_t *fake = s_fake_new (endpoint);
    thread_options_t options;
    const char *follow [] = { "watched.*", "writer", NULL };
    snprintf (options.service, sizeof (options.service), "echo");
    snprintf (options.instance, sizeof (options.instance), "fake");
    options.options = (gl_actor_options_t) {
        .endpoint = endpoint, .service = options.service, .instance = options.instance,
        .credit = 10, .heartbeat_ms = HEARTBEAT_MS, .follow = follow };
    zactor_t *thread = zactor_new (s_thread_task, &options);
    GL_CHECK (thread != NULL);

    gl_msg_t *ready = s_fake_expect_ready (fake, 5000);
    GL_CHECK (ready != NULL);
    if (ready) {
        GL_CHECK_STR (ready->ready.service, "echo");
        GL_CHECK_INT (ready->ready.credit, 10);
        GL_CHECK_INT (ready->ready.follow_count, 2);
        GL_CHECK_STR (ready->ready.follow [0], "watched.*");
        GL_CHECK_STR (ready->ready.follow [1], "writer");
    }
    gl_msg_destroy (&ready);
    s_fake_send (fake, s_welcome_limits (HEARTBEAT_MS, 4, 4096));
    GL_CHECK (gl_test_wait_until (s_thread_report (thread).registered, 5000));
    GL_CHECK_INT (s_thread_report (thread).max_body, 4096);

    //  DISCONNECT without a body, then with shutdown: lost at once,
    //  READY again from a new connection, credit capped at credit_limit.
    const char *codes [] = { NULL, "shutdown" };
    for (int index = 0; index < 2; index++) {
        zframe_t *before = zframe_dup (fake->peer);
        s_fake_send (fake, s_disconnect (codes [index]));
        ready = s_fake_expect_ready (fake, 5000);
        GL_CHECK (ready != NULL);
        GL_CHECK (ready && ready->ready.credit == 4);
        GL_CHECK (!zframe_eq (before, fake->peer));
        zframe_destroy (&before);
        gl_msg_destroy (&ready);
        report_t report = s_thread_report (thread);
        GL_CHECK_INT (report.record.lost, index + 1);
        GL_CHECK (!report.registered);
        s_fake_send (fake, s_welcome_limits (HEARTBEAT_MS, 4, 4096));
        GL_CHECK (gl_test_wait_until (s_thread_report (thread).record.connected == index + 2,
                                      5000));
    }

    //  The actor's answer is bounced not_registered: READY again, and the
    //  bounce handed to the actor with the message.
    gl_msg_t *echo = s_echo (77, "ping");
    s_fake_send (fake, s_deliver ("client/c1", echo, NULL));
    gl_wire_command_t command = 0;
    zmsg_t *message = NULL;
    while ((message = s_fake_receive (fake, &command, 5000)) && command != GL_WIRE_SEND)
        zmsg_destroy (&message);
    GL_CHECK (message != NULL && command == GL_WIRE_SEND);
    zmsg_destroy (&message);
    zmsg_t *bounce = s_command (GL_WIRE_BOUNCE);
    zmsg_addstr (bounce, "client/c1");
    s_add_body (bounce, echo);
    gl_msg_t *error = s_error ("not_registered", "send READY first");
    s_add_body (bounce, error);
    gl_msg_destroy (&error);
    gl_msg_destroy (&echo);
    s_fake_send (fake, bounce);
    ready = s_fake_expect_ready (fake, 5000);
    GL_CHECK (ready != NULL);
    gl_msg_destroy (&ready);
    report_t report = s_thread_report (thread);
    GL_CHECK_INT (report.record.bounces, 1);
    GL_CHECK_STR (report.record.bounce_code, "not_registered");
    GL_CHECK_INT (report.record.bounce_sequence, 77);
    GL_CHECK_INT (report.record.lost, 3);
    s_fake_send (fake, s_welcome (HEARTBEAT_MS));
    GL_CHECK (gl_test_wait_until (s_thread_report (thread).registered, 5000));

    //  Replaced: gl_actor_run returns -1, and no READY comes again.
    s_fake_send (fake, s_disconnect ("replaced"));
    GL_CHECK (gl_test_wait_until (s_thread_report (thread).finished, 5000));
    report = s_thread_report (thread);
    GL_CHECK_INT (report.run_rc, -1);
    GL_CHECK_INT (report.record.lost, 4);
    ready = s_fake_expect_ready (fake, 4 * HEARTBEAT_MS);
    GL_CHECK (ready == NULL);
    gl_msg_destroy (&ready);
    zactor_destroy (&thread);
    s_fake_destroy (&fake);
}

//  The contract against the real broker: MEMBERSHIP comes for the
//  actor's own service and the ones it follows only, with one current
//  per followed live service at registration; a second connection
//  registering the same address replaces the first, whose gl_actor_run
//  returns -1 and which does not take the address back; a broker that
//  stops says DISCONNECT shutdown, and the actor registers again with the
//  next broker.
static void
s_test_contract (void)
{
    pid_t broker = s_broker_start ();
    client_t *watched = s_client_new (s_endpoint);
    GL_CHECK (s_client_register (watched, "watched.a", "w1"));
    thread_options_t first_options;
    const char *follow [] = { "watched.*", NULL };
    zactor_t *first = s_thread_start_following (&first_options, s_endpoint, "echo", "twin", 10,
                                                false, follow);
    GL_CHECK (gl_test_wait_until (s_thread_report (first).record.followed == 1, 10000));
    GL_CHECK_STR (s_thread_report (first).record.followed_event, "current");
    client_t *other = s_client_new (s_endpoint);
    GL_CHECK (s_client_register (other, "other", "o1"));
    client_t *second_watched = s_client_new (s_endpoint);
    GL_CHECK (s_client_register (second_watched, "watched.b", "w2"));
    GL_CHECK (gl_test_wait_until (s_thread_report (first).record.followed == 2, 10000));
    report_t report = s_thread_report (first);
    GL_CHECK_STR (report.record.followed_event, "joined");
    GL_CHECK_INT (report.record.unasked, 0);

    //  Replaced by a second connection for echo/twin.
    thread_options_t second_options;
    zactor_t *second = s_thread_start (&second_options, s_endpoint, "echo", "twin", 10, false);
    GL_CHECK (gl_test_wait_until (s_thread_report (first).finished, 10000));
    report = s_thread_report (first);
    GL_CHECK_INT (report.run_rc, -1);
    GL_CHECK_INT (report.stats.registrations, 1);
    GL_CHECK_INT (report.stats.disconnects, 1);
    GL_CHECK (gl_test_wait_until (s_thread_report (second).registered, 10000));
    //  The replaced one stays away: the second is still the one after
    //  several heartbeat intervals.
    client_t *probe = s_client_new (s_endpoint);
    GL_CHECK (s_client_register (probe, "client", "probe"));
    s_client_expect_echo (probe, 0, 4 * HEARTBEAT_MS);
    report = s_thread_report (second);
    GL_CHECK (report.registered);
    GL_CHECK_INT (report.record.lost, 0);
    GL_CHECK_INT (s_thread_report (first).stats.registrations, 1);
    zactor_destroy (&first);

    //  The broker stops: DISCONNECT shutdown, lost, then registered again.
    GL_CHECK (WIFEXITED (gl_process_stop (broker, SIGTERM)));
    GL_CHECK (gl_test_wait_until (s_thread_report (second).record.lost == 1, 10000));
    GL_CHECK_INT (s_thread_report (second).stats.disconnects, 1);   //  told, not by silence
    broker = s_broker_start ();
    GL_CHECK (gl_test_wait_until (s_thread_report (second).record.connected == 2, 15000));
    zactor_destroy (&second);
    s_client_destroy (&probe);
    s_client_destroy (&watched);
    s_client_destroy (&other);
    s_client_destroy (&second_watched);
    GL_CHECK (WIFEXITED (gl_process_stop (broker, SIGTERM)));
}

//  A broker whose process dies is lost the moment its connection drops,
//  not after 3 silent intervals (here 3 x 5 s), and the actor registers
//  with the next broker as soon as ZeroMQ reconnects, without waiting for
//  a heartbeat to be refused.
static void
s_test_connection_dropped (void)
{
    pid_t broker = s_broker_start_beating (5000);
    thread_options_t options;
    zactor_t *thread = s_thread_start (&options, s_endpoint, "echo", "drop", 10, false);
    GL_CHECK (gl_test_wait_until (s_thread_report (thread).record.connected == 1, 10000));
    gl_process_stop (broker, SIGKILL);
    int64_t killed = gl_test_now_ms ();
    GL_CHECK (gl_test_wait_until (s_thread_report (thread).record.lost == 1, 10000));
    GL_CHECK (gl_test_now_ms () - killed < 3000);
    GL_CHECK_INT (s_thread_report (thread).stats.disconnects, 0);
    broker = s_broker_start_beating (5000);
    int64_t started = gl_test_now_ms ();
    GL_CHECK (gl_test_wait_until (s_thread_report (thread).record.connected == 2, 10000));
    GL_CHECK (gl_test_now_ms () - started < 4000);
    zactor_destroy (&thread);
    GL_CHECK (WIFEXITED (gl_process_stop (broker, SIGTERM)));
}

//  A gapless-echo process replaced by a second one under the same address
//  exits non-zero by itself; the second keeps answering.
static void
s_test_replaced_process (void)
{
    pid_t broker = s_broker_start ();
    char *argv [] = { s_echo_path, "--broker", s_endpoint, "--instance", "same", NULL };
    pid_t first = gl_process_start (argv, "echo.log");
    client_t *client = s_client_new (s_endpoint);
    GL_CHECK (s_client_register (client, "client", "replaced"));
    gl_msg_t *echo = s_echo (1, "ping");
    GL_CHECK (gl_test_wait_until ((gl_glp_send (client->socket, GL_WIRE_SEND, "echo/same", echo),
                                   s_client_expect_echo (client, 1, 200)), 10000));
    pid_t second = gl_process_start (argv, "echo.log");
    int status = 0;
    GL_CHECK (gl_test_wait_until (waitpid (first, &status, WNOHANG) == first, 10000));
    GL_CHECK (WIFEXITED (status) && WEXITSTATUS (status) == 1);
    echo->echo.sequence = 2;
    GL_CHECK (gl_test_wait_until ((gl_glp_send (client->socket, GL_WIRE_SEND, "echo/same", echo),
                                   s_client_expect_echo (client, 2, 200)), 10000));
    gl_msg_destroy (&echo);
    status = gl_process_stop (second, SIGTERM);
    GL_CHECK (WIFEXITED (status) && WEXITSTATUS (status) == 0);
    s_client_destroy (&client);
    GL_CHECK (WIFEXITED (gl_process_stop (broker, SIGTERM)));
}

//  Every delivery gives its credit back, whatever its fate: an actor
//  with credit 4 is sent 4 messages of a type it has no handler for, 4
//  bodies that do not decode and 4 its handler refuses, then a good one,
//  which it must still get. Run with automatic and with manual credit.
static void
s_test_refusals (bool manual_credit)
{
    pid_t broker = s_broker_start ();
    thread_options_t options;
    const char *instance = manual_credit? "manual": "auto";
    zactor_t *thread = s_thread_start (&options, s_endpoint, "echo", instance, 4, manual_credit);
    GL_CHECK (thread != NULL);
    GL_CHECK (gl_test_wait_until (s_thread_report (thread).registered, 10000));
    client_t *client = s_client_new (s_endpoint);
    GL_CHECK (s_client_register (client, "client", instance));

    char address [64];
    snprintf (address, sizeof (address), "echo/%s", instance);
    gl_msg_t *fetch = s_fetch ();
    gl_msg_t *refused = s_echo (1, "refuse");
    for (int index = 0; index < 4; index++) {
        gl_glp_send (client->socket, GL_WIRE_SEND, address, fetch);
        s_client_send_raw (client, address, "not msgpack");
        gl_glp_send (client->socket, GL_WIRE_SEND, address, refused);
    }
    gl_msg_destroy (&fetch);
    gl_msg_destroy (&refused);
    gl_msg_t *good = s_echo (99, "good");
    gl_glp_send (client->socket, GL_WIRE_SEND, address, good);
    gl_msg_destroy (&good);
    GL_CHECK (s_client_expect_echo (client, 99, 5000));

    report_t report = s_thread_report (thread);
    GL_CHECK_INT (report.stats.delivered, 13);
    GL_CHECK_INT (report.stats.handled, 1);
    GL_CHECK_INT (report.stats.refused, 12);
    GL_CHECK_INT (report.stats.unhandled, 4);
    GL_CHECK_INT (report.stats.malformed, 4);
    GL_CHECK_INT (report.stats.handler_failed, 4);
    GL_CHECK_INT (report.stats.held, 0);
    GL_CHECK_INT (report.record.handled_sequence, 99);
    s_client_destroy (&client);
    zactor_destroy (&thread);
    GL_CHECK (WIFEXITED (gl_process_stop (broker, SIGTERM)));
}

int
main (void)
{
    zsys_init ();
    zsys_handler_set (NULL);
    gl_process_binary ("broker/gapless-broker", s_broker_path, sizeof (s_broker_path));
    gl_process_binary ("tests/support/gapless-echo", s_echo_path, sizeof (s_echo_path));
    snprintf (s_endpoint, sizeof (s_endpoint), "tcp://127.0.0.1:%d", gl_process_free_port ());
    s_test_dispatch ();
    s_test_fake_broker ();
    s_test_stalled ();
    s_test_connection ();
    s_test_connection_dropped ();
    s_test_contract ();
    s_test_replaced_process ();
    s_test_refusals (false);
    s_test_refusals (true);
    return gl_test_done ("test_actor");
}
