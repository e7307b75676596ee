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

static char s_broker_path [512];
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

//  WELCOME with the given heartbeat.
static zmsg_t *
s_welcome (uint32_t heartbeat_ms)
{
    zmsg_t *message = s_command (GL_WIRE_WELCOME);
    gl_msg_t *welcome = gl_msg_new (GL_MSG_WELCOME);
    welcome->welcome.heartbeat_ms = heartbeat_ms;
    strcpy (welcome->welcome.broker, "fake");
    s_add_body (message, welcome);
    gl_msg_destroy (&welcome);
    return message;
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
    ((record_t *) argument)->memberships++;
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

//  Starts an actor thread for service/instance at endpoint.
static zactor_t *
s_thread_start (thread_options_t *options, const char *endpoint, const char *service,
                const char *instance, uint32_t credit, bool manual_credit)
{
    snprintf (options->service, sizeof (options->service), "%s", service);
    snprintf (options->instance, sizeof (options->instance), "%s", instance);
    options->options = (gl_actor_options_t) {
        .endpoint = endpoint, .service = options->service, .instance = options->instance,
        .credit = credit, .heartbeat_ms = HEARTBEAT_MS, .manual_credit = manual_credit };
    return zactor_new (s_thread_task, options);
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

//  ---------------------------------------------------------------------
//  The real broker.

static pid_t
s_broker_start (void)
{
    char heartbeat [16];
    snprintf (heartbeat, sizeof (heartbeat), "%d", HEARTBEAT_MS);
    char *argv [] = { s_broker_path, "--bind", s_endpoint, "--heartbeat-ms", heartbeat, NULL };
    return gl_process_start (argv, "broker.log");
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
    GL_CHECK_INT (record.connected, 1);
    message = s_welcome (1000);                     //  again: no second call
    gl_actor_dispatch (actor, &message);
    GL_CHECK_INT (record.connected, 1);

    gl_msg_t *echo = s_echo (5, "hello");
    message = s_deliver ("client/c1", echo, NULL);
    GL_CHECK_INT (gl_actor_dispatch (actor, &message), 0);
    gl_msg_destroy (&echo);
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

    //  A DISCONNECT without a body: lost, reconnecting.
    message = s_command (GL_WIRE_DISCONNECT);
    GL_CHECK_INT (gl_actor_dispatch (actor, &message), 0);
    GL_CHECK (!gl_actor_registered (actor));
    GL_CHECK_INT (record.lost, 2);
    gl_actor_destroy (&actor);
    gl_actor_destroy (&actor);
    GL_CHECK (actor == NULL);

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

int
main (void)
{
    zsys_init ();
    zsys_handler_set (NULL);
    gl_process_binary ("broker/gapless-broker", s_broker_path, sizeof (s_broker_path));
    snprintf (s_endpoint, sizeof (s_endpoint), "tcp://127.0.0.1:%d", gl_process_free_port ());
    s_test_dispatch ();
    s_test_connection ();
    return gl_test_done ("test_actor");
}
