/*  test_broker — a real gapless-broker process, real gapless-echo
    processes and raw GLP peers over tcp and ipc: load balancing, credit,
    instance addressing, bounces, heartbeat death, remembered routes, a
    broker restart, and garbage that must not stop the broker nor flood
    its log; then the
    bounds on its memory (bytes in all, per service, per sender; a flood
    measured in RSS; the no-instance timeout), MEMBERSHIP only to members
    and followers, a registration taken over by another connection, a
    repeated READY, unregistered peers, oversize frames, a second broker
    on the same ipc path, instances removed when their connections close,
    and DISCONNECT shutdown at a stop.
*/
#include "gl_glp.h"
#include "gl_msg.h"
#include "gl_process.h"
#include "gl_test.h"
#include "gl_wire.h"
#include <czmq.h>

#define HEARTBEAT_MS 100

static char s_broker_path [512], s_echo_path [512];
static char s_tcp [64], s_ipc [128], s_bind [256];

//  A raw GLP peer: a DEALER the test drives frame by frame. Every peer
//  not marked silent is kept alive with heartbeats while the test waits.
typedef struct {
    zsock_t *socket;
    char address [GL_WIRE_ADDRESS_MAX + 1];
    bool silent;
} peer_t;

#define MAX_PEERS 16
static peer_t *s_peers [MAX_PEERS];
static int64_t s_last_beat;
static gl_msg_t *s_welcome;         //  the WELCOME of the last registration

//  What a peer received.
typedef struct {
    gl_wire_command_t command;
    char address [GL_WIRE_ADDRESS_MAX + 1];     //  DELIVER sender, BOUNCE destination
    gl_msg_t *body;                             //  decoded body (DELIVER, control)
    gl_msg_t *error;                            //  BOUNCE reason
} received_t;

static void
s_received_clear (received_t *received)
{
    gl_msg_destroy (&received->body);
    gl_msg_destroy (&received->error);
    memset (received, 0, sizeof (*received));
}

static peer_t *
s_peer_new_hwm (const char *endpoint, int hwm)
{
    peer_t *self = (peer_t *) zmalloc (sizeof (peer_t));
    self->socket = zsock_new (ZMQ_DEALER);
    zsock_set_linger (self->socket, 0);
    if (hwm) {
        zsock_set_sndhwm (self->socket, hwm);
        zsock_set_rcvhwm (self->socket, hwm);
    }
    zsock_connect (self->socket, "%s", endpoint);
    for (int index = 0; index < MAX_PEERS; index++)
        if (!s_peers [index]) {
            s_peers [index] = self;
            break;
        }
    return self;
}

static peer_t *
s_peer_new (const char *endpoint)
{
    return s_peer_new_hwm (endpoint, 0);
}

static void
s_peer_destroy (peer_t **self_p)
{
    if (*self_p) {
        for (int index = 0; index < MAX_PEERS; index++)
            if (s_peers [index] == *self_p)
                s_peers [index] = NULL;
        zsock_destroy (&(*self_p)->socket);
        free (*self_p);
        *self_p = NULL;
    }
}

//  Sends header + optional address + optional encoded body.
static void
s_peer_command (peer_t *self, gl_wire_command_t command, const char *address,
                const gl_msg_t *body)
{
    gl_glp_send (self->socket, command, address, body);
}

//  Heartbeats every live peer, at most every 30 ms.
static void
s_heartbeat_all (void)
{
    if (gl_test_now_ms () - s_last_beat < 30)
        return;
    s_last_beat = gl_test_now_ms ();
    for (int index = 0; index < MAX_PEERS; index++)
        if (s_peers [index] && !s_peers [index]->silent)
            s_peer_command (s_peers [index], GL_WIRE_HEARTBEAT, NULL, NULL);
}

//  Receives one message within timeout_ms, skipping heartbeats and
//  membership unless asked for. Returns true if one came.
static bool
s_peer_receive (peer_t *self, received_t *received, int timeout_ms, bool keep_membership)
{
    s_received_clear (received);
    int64_t deadline = gl_test_now_ms () + timeout_ms;
    while (gl_test_now_ms () < deadline) {
        s_heartbeat_all ();
        zpoller_t *poller = zpoller_new (self->socket, NULL);
        int64_t wait = deadline - gl_test_now_ms ();
        void *ready = zpoller_wait (poller, (int) (wait > 30? 30: wait < 0? 0: wait));
        zpoller_destroy (&poller);
        if (!ready)
            continue;
        zmsg_t *message = zmsg_recv (self->socket);
        s_received_clear (received);        //  what an earlier turn skipped
        zframe_t *header = zmsg_pop (message);
        gl_wire_command_t command;
        if (gl_wire_header_parse (zframe_data (header), zframe_size (header), &command) != 0) {
            zframe_destroy (&header);
            zmsg_destroy (&message);
            continue;
        }
        zframe_destroy (&header);
        received->command = command;
        char error [GL_MSG_ERROR_MAX];
        if (command == GL_WIRE_DELIVER || command == GL_WIRE_BOUNCE) {
            char *address = zmsg_popstr (message);
            snprintf (received->address, sizeof (received->address), "%s", address);
            free (address);
        }
        zframe_t *body = zmsg_pop (message);
        if (body)
            received->body = gl_msg_decode (zframe_data (body), zframe_size (body), error);
        zframe_destroy (&body);
        zframe_t *reason = zmsg_pop (message);
        if (reason)
            received->error = gl_msg_decode (zframe_data (reason), zframe_size (reason), error);
        zframe_destroy (&reason);
        zmsg_destroy (&message);
        if (command == GL_WIRE_HEARTBEAT || (command == GL_WIRE_MEMBERSHIP && !keep_membership))
            continue;
        return true;
    }
    return false;
}

//  Registers the peer, following the services that match follow (NULL:
//  none), and waits for WELCOME.
static bool
s_peer_register_following (peer_t *self, const char *service, const char *instance,
                           uint32_t credit, const char *follow)
{
    gl_msg_t *ready = gl_msg_new (GL_MSG_READY);
    snprintf (ready->ready.service, sizeof (ready->ready.service), "%s", service);
    snprintf (ready->ready.instance, sizeof (ready->ready.instance), "%s", instance);
    ready->ready.credit = credit;
    if (follow)
        gl_msg_add_follow (ready, follow);
    snprintf (self->address, sizeof (self->address), "%s/%s", service, instance);
    s_peer_command (self, GL_WIRE_READY, NULL, ready);
    gl_msg_destroy (&ready);
    received_t received = { 0 };
    bool welcomed = false;
    while (!welcomed && s_peer_receive (self, &received, 3000, false))
        welcomed = received.command == GL_WIRE_WELCOME;
    if (welcomed) {
        gl_msg_destroy (&s_welcome);
        s_welcome = received.body;
        received.body = NULL;
    }
    s_received_clear (&received);
    return welcomed;
}

//  Registers the peer and waits for WELCOME.
static bool
s_peer_register (peer_t *self, const char *service, const char *instance, uint32_t credit)
{
    return s_peer_register_following (self, service, instance, credit, NULL);
}

static void
s_peer_send_echo (peer_t *self, const char *address, uint64_t sequence)
{
    gl_msg_t *echo = gl_msg_new (GL_MSG_ECHO);
    echo->echo.sequence = sequence;
    gl_msg_set_payload (echo, "ping", 4);
    s_peer_command (self, GL_WIRE_SEND, address, echo);
    gl_msg_destroy (&echo);
}

static void
s_peer_credit (peer_t *self, uint32_t credit)
{
    gl_msg_t *message = gl_msg_new (GL_MSG_CREDIT);
    message->credit.credit = credit;
    s_peer_command (self, GL_WIRE_CREDIT, NULL, message);
    gl_msg_destroy (&message);
}

//  True if a stopped process exited with status 0: a sanitizer report or
//  a crash in a daemon fails the test.
static bool
s_exited_cleanly (int status)
{
    return WIFEXITED (status) && WEXITSTATUS (status) == 0;
}

//  Starts the broker on the test's tcp and ipc endpoints.
static pid_t
s_broker_start (const char *queue_limit)
{
    char heartbeat [16];
    snprintf (heartbeat, sizeof (heartbeat), "%d", HEARTBEAT_MS);
    setenv ("GAPLESS_BROKER_QUEUE_LIMIT", queue_limit, 1);
    char *argv [] = { s_broker_path, "--bind", s_bind, "--heartbeat-ms", heartbeat, NULL };
    return gl_process_start (argv, "broker.log");
}

static pid_t
s_echo_start (const char *endpoint, const char *instance)
{
    char *argv [] = { s_echo_path, "--broker", (char *) endpoint, "--instance",
                      (char *) instance, "--credit", "50", NULL };
    return gl_process_start (argv, "echo.log");
}

//  Sends count echoes to address and collects the answering instances.
//  Returns how many answers came; counts[i] for instance names[i].
static int
s_echo_round (peer_t *client, const char *address, int count, const char **names,
              int *counts, int name_count)
{
    for (int index = 0; index < count; index++)
        s_peer_send_echo (client, address, (uint64_t) index);
    int answers = 0;
    received_t received = { 0 };
    while (answers < count && s_peer_receive (client, &received, 5000, false)) {
        if (received.command != GL_WIRE_DELIVER || !received.body
        ||  received.body->type != GL_MSG_ECHO)
            continue;
        answers++;
        for (int name = 0; name < name_count; name++)
            if (strcmp (strchr (received.address, '/') + 1, names [name]) == 0)
                counts [name]++;
    }
    s_received_clear (&received);
    return answers;
}

//  Waits until an echo round trip to "echo" works from this client.
static bool
s_echo_works (peer_t *client)
{
    const char *names [] = { "any" };
    int counts [1] = { 0 };
    return s_echo_round (client, "echo", 1, names, counts, 1) == 1;
}

//  Three echo processes over tcp and ipc share the load evenly, and an
//  address with an instance reaches only that instance.
static void
s_test_load_balancing (void)
{
    peer_t *client = s_peer_new (s_tcp);
    GL_CHECK (s_peer_register (client, "client", "lb", 1000));
    //  Wait for all three to register: the watcher sees them as members.
    peer_t *watcher = s_peer_new (s_ipc);
    GL_CHECK (s_peer_register_following (watcher, "watcher", "lb", 10, "echo"));
    pid_t echoes [3] = {
        s_echo_start (s_tcp, "one"), s_echo_start (s_ipc, "two"), s_echo_start (s_tcp, "three")
    };
    received_t received = { 0 };
    size_t members = 0;
    while (members < 3 && s_peer_receive (watcher, &received, 5000, true))
        if (received.command == GL_WIRE_MEMBERSHIP && received.body
        &&  strcmp (received.body->membership.service, "echo") == 0)
            members = received.body->membership.member_count;
    s_received_clear (&received);
    GL_CHECK_INT (members, 3);

    const char *names [] = { "one", "two", "three" };
    int counts [3] = { 0, 0, 0 };
    GL_CHECK_INT (s_echo_round (client, "echo", 90, names, counts, 3), 90);
    //  Round robin over instances that all have credit: exactly even.
    GL_CHECK_INT (counts [0], 30);
    GL_CHECK_INT (counts [1], 30);
    GL_CHECK_INT (counts [2], 30);

    int targeted [3] = { 0, 0, 0 };
    GL_CHECK_INT (s_echo_round (client, "echo/two", 20, names, targeted, 3), 20);
    GL_CHECK_INT (targeted [1], 20);

    //  An address for an instance that does not exist is bounced.
    s_peer_send_echo (client, "echo/nobody", 7);
    GL_CHECK (s_peer_receive (client, &received, 3000, false));
    GL_CHECK_INT (received.command, GL_WIRE_BOUNCE);
    GL_CHECK_STR (received.address, "echo/nobody");
    GL_CHECK (received.error && strcmp (received.error->error.code, "no_such_instance") == 0);
    GL_CHECK (received.body && received.body->type == GL_MSG_ECHO
              && received.body->echo.sequence == 7);
    s_received_clear (&received);

    for (int index = 0; index < 3; index++)
        GL_CHECK (s_exited_cleanly (gl_process_stop (echoes [index], SIGTERM)));
    s_peer_destroy (&watcher);
    s_peer_destroy (&client);
}

//  A worker with credit 5 gets exactly 5; 3 more after CREDIT 3; the rest
//  waits, in order, for a second worker.
static void
s_test_credit (void)
{
    peer_t *client = s_peer_new (s_tcp);
    GL_CHECK (s_peer_register (client, "client", "credit", 100));
    peer_t *first = s_peer_new (s_tcp);
    GL_CHECK (s_peer_register (first, "slow", "first", 5));
    for (int index = 0; index < 20; index++)
        s_peer_send_echo (client, "slow", (uint64_t) index);

    received_t received = { 0 };
    int first_count = 0;
    uint64_t expected = 0;
    bool in_order = true;
    while (first_count < 5 && s_peer_receive (first, &received, 3000, false))
        if (received.command == GL_WIRE_DELIVER) {
            in_order = in_order && received.body->echo.sequence == expected++;
            first_count++;
        }
    GL_CHECK_INT (first_count, 5);
    s_peer_credit (first, 3);
    while (first_count < 8 && s_peer_receive (first, &received, 3000, false))
        if (received.command == GL_WIRE_DELIVER) {
            in_order = in_order && received.body->echo.sequence == expected++;
            first_count++;
        }
    GL_CHECK_INT (first_count, 8);

    //  The second worker gets the other 12: had the first been sent more
    //  than its credit, fewer would be left.
    peer_t *second = s_peer_new (s_ipc);
    GL_CHECK (s_peer_register (second, "slow", "second", 100));
    int second_count = 0;
    while (second_count < 12 && s_peer_receive (second, &received, 3000, false))
        if (received.command == GL_WIRE_DELIVER) {
            in_order = in_order && received.body->echo.sequence == expected++;
            second_count++;
        }
    GL_CHECK_INT (second_count, 12);
    GL_CHECK (in_order);
    //  And nothing more reached the first worker.
    bool extra = false;
    while (s_peer_receive (first, &received, 2 * HEARTBEAT_MS, false))
        extra = extra || received.command == GL_WIRE_DELIVER;
    GL_CHECK (!extra);
    s_received_clear (&received);
    s_peer_destroy (&second);
    s_peer_destroy (&first);
    s_peer_destroy (&client);
}

//  A silent instance is declared dead within 3 heartbeat intervals; the
//  message queued for it alone is bounced to its sender.
static void
s_test_heartbeat_death (void)
{
    peer_t *client = s_peer_new (s_tcp);
    GL_CHECK (s_peer_register (client, "client", "death", 100));
    peer_t *silent = s_peer_new (s_tcp);
    GL_CHECK (s_peer_register (silent, "mute", "m1", 0));
    silent->silent = true;
    int64_t last_heard_from_silent = gl_test_now_ms ();
    s_peer_send_echo (client, "mute/m1", 42);

    received_t received = { 0 };
    bool bounced = false;
    while (!bounced && gl_test_now_ms () - last_heard_from_silent < 20 * HEARTBEAT_MS) {
        if (s_peer_receive (client, &received, HEARTBEAT_MS / 2, false))
            bounced = received.command == GL_WIRE_BOUNCE && received.error
                   && strcmp (received.error->error.code, "instance_dead") == 0;
    }
    int64_t elapsed = gl_test_now_ms () - last_heard_from_silent;
    GL_CHECK (bounced);
    GL_CHECK (received.body && received.body->echo.sequence == 42);
    //  3 intervals of silence, plus at most one sweep interval of latency.
    GL_CHECK (elapsed >= 3 * HEARTBEAT_MS - 20);
    GL_CHECK (elapsed <= 5 * HEARTBEAT_MS);
    s_received_clear (&received);
    s_peer_destroy (&silent);
    s_peer_destroy (&client);
}

//  A broker with a queue bound of 10 refuses the 11th waiting message
//  with queue_full, and delivers the 10 it accepted.
static void
s_test_queue_full (pid_t *broker)
{
    gl_process_stop (*broker, SIGTERM);
    setenv ("GAPLESS_BROKER_SENDER_QUEUE_SHARE", "100", 1);     //  one sender may fill it
    *broker = s_broker_start ("10");
    unsetenv ("GAPLESS_BROKER_SENDER_QUEUE_SHARE");
    peer_t *client = s_peer_new (s_tcp);
    GL_CHECK (gl_test_wait_until (s_peer_register (client, "client", "full", 100), 5000));
    for (int index = 0; index < 15; index++)
        s_peer_send_echo (client, "later", (uint64_t) index);
    received_t received = { 0 };
    int full = 0;
    while (full < 5 && s_peer_receive (client, &received, 3000, false))
        if (received.command == GL_WIRE_BOUNCE && received.error
        &&  strcmp (received.error->error.code, "queue_full") == 0)
            full++;
    GL_CHECK_INT (full, 5);
    peer_t *later = s_peer_new (s_tcp);
    GL_CHECK (s_peer_register (later, "later", "l1", 100));
    int delivered = 0;
    while (delivered < 10 && s_peer_receive (later, &received, 3000, false))
        delivered += received.command == GL_WIRE_DELIVER;
    GL_CHECK_INT (delivered, 10);
    s_received_clear (&received);
    s_peer_destroy (&later);
    s_peer_destroy (&client);
}

//  Expects a DELIVER of an echo with this sequence at peer.
static bool
s_expect_deliver (peer_t *peer, uint64_t sequence)
{
    received_t received = { 0 };
    bool ok = s_peer_receive (peer, &received, 3000, false)
           && received.command == GL_WIRE_DELIVER && received.body
           && received.body->echo.sequence == sequence;
    if (!ok)
        fprintf (stderr, "expected DELIVER of %" PRIu64 ", got command %d\n", sequence,
                 received.command);
    s_received_clear (&received);
    return ok;
}

//  Expects a BOUNCE with this code at peer.
static bool
s_expect_bounce (peer_t *peer, const char *code)
{
    received_t received = { 0 };
    bool ok = s_peer_receive (peer, &received, 3000, false)
           && received.command == GL_WIRE_BOUNCE && received.error
           && strcmp (received.error->error.code, code) == 0;
    s_received_clear (&received);
    return ok;
}

//  Lets the broker run a few heartbeat sweeps.
static void
s_idle (peer_t *peer, int ms)
{
    received_t received = { 0 };
    s_peer_receive (peer, &received, ms, false);
    s_received_clear (&received);
}

//  The broker remembers where each sender's last destination led; every
//  way that memory could go stale must be noticed: the instance leaving,
//  coming back, being replaced, its service released by the sweep, a
//  sender alternating destinations or sending to itself, a bad address.
static void
s_test_routes (void)
{
    peer_t *client = s_peer_new (s_tcp);
    GL_CHECK (s_peer_register (client, "client", "routes", 100));
    peer_t *first = s_peer_new (s_tcp);
    GL_CHECK (s_peer_register (first, "svc", "a", 100));
    //  A remembered instance route, then the instance leaves.
    s_peer_send_echo (client, "svc/a", 1);
    GL_CHECK (s_expect_deliver (first, 1));
    s_peer_send_echo (client, "svc/a", 2);
    GL_CHECK (s_expect_deliver (first, 2));
    s_peer_command (first, GL_WIRE_DISCONNECT, NULL, NULL);
    s_peer_destroy (&first);
    s_idle (client, 50);
    s_peer_send_echo (client, "svc/a", 3);
    GL_CHECK (s_expect_bounce (client, "no_such_instance"));
    //  The address comes back on a new connection: reached again.
    peer_t *second = s_peer_new (s_tcp);
    GL_CHECK (s_peer_register (second, "svc", "a", 100));
    s_peer_send_echo (client, "svc/a", 4);
    GL_CHECK (s_expect_deliver (second, 4));
    //  Replaced by a READY for the same address from another connection.
    peer_t *third = s_peer_new (s_tcp);
    GL_CHECK (s_peer_register (third, "svc", "a", 100));
    s_peer_send_echo (client, "svc/a", 5);
    GL_CHECK (s_expect_deliver (third, 5));
    //  A remembered service route whose service is released by the sweep.
    peer_t *lonely = s_peer_new (s_tcp);
    GL_CHECK (s_peer_register (lonely, "lonely", "x", 100));
    s_peer_send_echo (client, "lonely", 6);
    GL_CHECK (s_expect_deliver (lonely, 6));
    s_peer_command (lonely, GL_WIRE_DISCONNECT, NULL, NULL);
    s_peer_destroy (&lonely);
    s_idle (client, 400);
    s_peer_send_echo (client, "lonely", 7);         //  queued: no instance
    s_idle (client, 50);
    lonely = s_peer_new (s_tcp);
    GL_CHECK (s_peer_register (lonely, "lonely", "y", 100));
    GL_CHECK (s_expect_deliver (lonely, 7));
    s_peer_send_echo (client, "lonely", 8);
    GL_CHECK (s_expect_deliver (lonely, 8));
    //  A sender alternating destinations, and one sending to itself.
    for (uint64_t sequence = 10; sequence < 20; sequence++)
        s_peer_send_echo (client, sequence % 2? "lonely": "svc/a", sequence);
    for (uint64_t sequence = 10; sequence < 20; sequence++)
        GL_CHECK (s_expect_deliver (sequence % 2? lonely: third, sequence));
    s_peer_send_echo (third, "svc/a", 30);
    GL_CHECK (s_expect_deliver (third, 30));
    s_peer_send_echo (client, "bad address!", 31);
    received_t received = { 0 };
    GL_CHECK (s_peer_receive (client, &received, 3000, false) && received.command == GL_WIRE_ERROR);
    s_received_clear (&received);
    s_peer_send_echo (client, "svc/a", 32);
    GL_CHECK (s_expect_deliver (third, 32));

    s_peer_destroy (&client);
    s_peer_destroy (&second);
    s_peer_destroy (&third);
    s_peer_destroy (&lonely);
}

//  Broker killed and restarted while echo actors run: they register again
//  and traffic resumes.
static void
s_test_broker_restart (pid_t *broker)
{
    pid_t echoes [2] = { s_echo_start (s_tcp, "r1"), s_echo_start (s_ipc, "r2") };
    peer_t *client = s_peer_new (s_tcp);
    GL_CHECK (s_peer_register (client, "client", "restart", 100));
    GL_CHECK (gl_test_wait_until (s_echo_works (client), 10000));

    gl_process_stop (*broker, SIGKILL);
    *broker = s_broker_start ("100000");
    //  The client learns it is unknown (ERROR not_registered) and registers
    //  again, like the runtime does; the echo actors do it on their own.
    bool again = gl_test_wait_until (s_peer_register (client, "client", "restart", 100), 10000);
    GL_CHECK (again);
    const char *names [] = { "r1", "r2" };
    int counts [2] = { 0, 0 };
    bool both = gl_test_wait_until (
        (s_echo_round (client, "echo", 10, names, counts, 2), counts [0] > 0 && counts [1] > 0),
        15000);
    GL_CHECK (both);
    for (int index = 0; index < 2; index++)
        GL_CHECK (s_exited_cleanly (gl_process_stop (echoes [index], SIGTERM)));
    s_peer_destroy (&client);
}

//  Garbage from raw sockets: the broker answers what it should, counts the
//  rest, and keeps serving.
static void
s_test_garbage (void)
{
    pid_t echo = s_echo_start (s_tcp, "g1");
    peer_t *client = s_peer_new (s_tcp);
    GL_CHECK (s_peer_register (client, "client", "garbage", 100));
    GL_CHECK (gl_test_wait_until (s_echo_works (client), 10000));

    //  Unregistered raw peer: version 2 is answered with bad_version.
    peer_t *raw = s_peer_new (s_tcp);
    uint8_t bad_version [4] = { 'G', 'L', 2, GL_WIRE_HEARTBEAT };
    zsock_send (raw->socket, "b", bad_version, (size_t) 4);
    received_t received = { 0 };
    //  The reply's header is version 1 ERROR; s_peer_receive decoded it.
    GL_CHECK (s_peer_receive (raw, &received, 3000, false));
    GL_CHECK_INT (received.command, GL_WIRE_ERROR);
    GL_CHECK (received.body && strcmp (received.body->error.code, "bad_version") == 0);

    //  Junk of every shape, from an unregistered and a registered peer.
    zsock_send (raw->socket, "s", "hello");
    zsock_send (raw->socket, "bbb", "GL", (size_t) 2, "x", (size_t) 1, "y", (size_t) 1);
    uint8_t send_header [4] = { 'G', 'L', 1, GL_WIRE_SEND };
    zsock_send (raw->socket, "bss", send_header, (size_t) 4, "echo", "body");
    GL_CHECK (s_peer_register (raw, "raw", "r", 10));
    zsock_send (raw->socket, "bss", send_header, (size_t) 4, "Bad Address!", "x");
    zsock_send (raw->socket, "bsss", send_header, (size_t) 4, "echo", "a", "b");
    uint8_t credit_header [4] = { 'G', 'L', 1, GL_WIRE_CREDIT };
    zsock_send (raw->socket, "bb", credit_header, (size_t) 4, "\xc1\xc1", (size_t) 2);
    uint8_t deliver_header [4] = { 'G', 'L', 1, GL_WIRE_DELIVER };
    zsock_send (raw->socket, "bss", deliver_header, (size_t) 4, "x", "y");
    uint8_t unknown_header [4] = { 'G', 'L', 1, 0x7F };
    zsock_send (raw->socket, "b", unknown_header, (size_t) 4);
    int errors = 0;
    while (s_peer_receive (raw, &received, 1000, false))
        errors += received.command == GL_WIRE_ERROR;
    //  Every message from a registered peer that the broker refuses is
    //  answered: bad address, five frames, bad body, DELIVER, unknown command.
    GL_CHECK_INT (errors, 5);

    //  Commands only the broker sends are bad_command whatever frames they
    //  come with (SPEC 5.6), not malformed
    gl_wire_command_t wrong_way [] = { GL_WIRE_WELCOME, GL_WIRE_DELIVER, GL_WIRE_BOUNCE,
                                       GL_WIRE_ERROR, GL_WIRE_MEMBERSHIP };
    for (size_t index = 0; index < sizeof wrong_way / sizeof wrong_way [0]; index++) {
        uint8_t header [GL_WIRE_HEADER_SIZE];
        gl_wire_header (header, wrong_way [index]);
        zsock_send (raw->socket, "bs", header, (size_t) GL_WIRE_HEADER_SIZE, "body");
    }
    int bad_commands = 0;
    while (s_peer_receive (raw, &received, 1000, false))
        bad_commands += received.command == GL_WIRE_ERROR && received.body
                     && strcmp (received.body->error.code, "bad_command") == 0;
    GL_CHECK_INT (bad_commands, 5);

    //  Bytes that are not ZMTP at all, straight to the tcp port.
    int port = atoi (strrchr (s_tcp, ':') + 1);
    int handle = socket (AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in address = { .sin_family = AF_INET, .sin_port = htons ((uint16_t) port),
                                   .sin_addr.s_addr = htonl (INADDR_LOOPBACK) };
    if (connect (handle, (struct sockaddr *) &address, sizeof (address)) == 0)
        GL_CHECK (write (handle, "GET / HTTP/1.0\r\n\r\n\xff\x00\x01", 21) == 21);
    close (handle);

    GL_CHECK (s_echo_works (client));
    s_received_clear (&received);
    GL_CHECK (s_exited_cleanly (gl_process_stop (echo, SIGTERM)));
    s_peer_destroy (&raw);
    s_peer_destroy (&client);
}


//  --------------------------------------------------------------------------
//  Bounds, membership, registrations

//  Restarts the broker with "KEY=value" settings in its environment
//  (GAPLESS_BROKER_<KEY>), NULL-terminated.
static void
s_broker_restart (pid_t *broker, const char **settings)
{
    if (*broker > 0)
        gl_process_stop (*broker, SIGTERM);
    char name [128];
    for (const char **setting = settings; *setting; setting++) {
        const char *equals = strchr (*setting, '=');
        snprintf (name, sizeof (name), "GAPLESS_BROKER_%.*s", (int) (equals - *setting),
                  *setting);
        setenv (name, equals + 1, 1);
    }
    *broker = s_broker_start ("100000");
    for (const char **setting = settings; *setting; setting++) {
        const char *equals = strchr (*setting, '=');
        snprintf (name, sizeof (name), "GAPLESS_BROKER_%.*s", (int) (equals - *setting),
                  *setting);
        unsetenv (name);
    }
}

//  Registers a peer, retrying while a restarted broker comes up.
static peer_t *
s_peer_join (const char *endpoint, const char *service, const char *instance, uint32_t credit,
             const char *follow, int hwm)
{
    peer_t *peer = s_peer_new_hwm (endpoint, hwm);
    GL_CHECK (gl_test_wait_until (s_peer_register_following (peer, service, instance, credit,
                                                             follow), 10000));
    return peer;
}

//  Sends SEND with a raw body of size bytes (not a GLP body: the broker
//  never decodes what it routes). Keeps the other peers alive meanwhile,
//  for the loops that send many.
static void
s_peer_send_raw (peer_t *self, const char *address, const void *data, size_t size)
{
    s_heartbeat_all ();
    uint8_t header [GL_WIRE_HEADER_SIZE];
    gl_wire_header (header, GL_WIRE_SEND);
    zmq_send (zsock_resolve (self->socket), header, sizeof (header), ZMQ_SNDMORE);
    zmq_send (zsock_resolve (self->socket), address, strlen (address), ZMQ_SNDMORE);
    zmq_send (zsock_resolve (self->socket), data, size, 0);
}

//  What a peer received before its marker came back.
typedef struct {
    int delivered;              //  DELIVERs other than the marker
    int bounced;                //  BOUNCEs with the code asked for
    int other_bounces;          //  BOUNCEs with any other code
    int memberships;            //  MEMBERSHIPs
    int errors;                 //  ERRORs
} tally_t;

//  Sends the peer an echo of sequence marker through the broker and
//  tallies what arrives until it comes back. The broker handles a peer's
//  messages in order and answers each at once, so everything it sent that
//  peer for earlier SENDs is in the tally. Returns true if the marker came.
static bool
s_tally_until_marker (peer_t *peer, uint64_t marker, const char *code, tally_t *tally,
                      int timeout_ms)
{
    memset (tally, 0, sizeof (*tally));
    s_peer_send_echo (peer, peer->address, marker);
    received_t received = { 0 };
    int64_t deadline = gl_test_now_ms () + timeout_ms;
    bool found = false;
    while (!found && gl_test_now_ms () < deadline
       &&  s_peer_receive (peer, &received, 1000, true)) {
        if (received.command == GL_WIRE_DELIVER && received.body
        &&  received.body->type == GL_MSG_ECHO && received.body->echo.sequence == marker)
            found = true;
        else
        if (received.command == GL_WIRE_DELIVER)
            tally->delivered++;
        else
        if (received.command == GL_WIRE_BOUNCE && received.error
        &&  strcmp (received.error->error.code, code) == 0)
            tally->bounced++;
        else
        if (received.command == GL_WIRE_BOUNCE)
            tally->other_bounces++;
        else
        if (received.command == GL_WIRE_MEMBERSHIP)
            tally->memberships++;
        else
        if (received.command == GL_WIRE_ERROR)
            tally->errors++;
    }
    s_received_clear (&received);
    return found;
}

//  Counts the DELIVERs reaching a peer until count came or nothing came
//  for a while.
static int
s_count_delivered (peer_t *peer, int count)
{
    received_t received = { 0 };
    int delivered = 0;
    int64_t deadline = gl_test_now_ms () + 30000;
    while (delivered < count && gl_test_now_ms () < deadline
       &&  s_peer_receive (peer, &received, 5000, false))
        delivered += received.command == GL_WIRE_DELIVER;
    s_received_clear (&received);
    return delivered;
}

//  The resident set of a process, in kB, from /proc/PID/status.
static long
s_rss_kb (pid_t pid)
{
    char path [64], line [256];
    snprintf (path, sizeof (path), "/proc/%d/status", (int) pid);
    FILE *file = fopen (path, "r");
    long rss = -1;
    while (file && fgets (line, sizeof (line), file))
        if (strncmp (line, "VmRSS:", 6) == 0)
            rss = atol (line + 6);
    if (file)
        fclose (file);
    return rss;
}

//  Sums, in the broker's log past offset, the frame_rejected lines and the
//  count= of the frames_rejected lines that stand for the others.
static int
s_rejects_logged (long offset, int *lines)
{
    FILE *log = fopen ("broker.log", "r");
    char line [4096];
    int total = 0;
    *lines = 0;
    if (log && fseek (log, offset, SEEK_SET) == 0)
        while (fgets (line, sizeof (line), log)) {
            const char *count = strstr (line, "event=frames_rejected count=");
            *lines += strstr (line, "event=frame_rejected ") != NULL;
            total += strstr (line, "event=frame_rejected ") != NULL;
            total += count? atoi (count + strlen ("event=frames_rejected count=")): 0;
        }
    if (log)
        fclose (log);
    return total;
}

//  A flood of junk is counted whole but logged at a bounded rate: a line
//  for the first in each second, one count line for the rest.
static void
s_test_reject_log (pid_t *broker)
{
    const char *defaults [] = { NULL };
    s_broker_restart (broker, defaults);    //  no rejection pending from earlier tests
    FILE *log = fopen ("broker.log", "r");
    long offset = log && fseek (log, 0, SEEK_END) == 0? ftell (log): 0;
    if (log)
        fclose (log);
    peer_t *raw = s_peer_new (s_tcp);
    for (int index = 0; index < 2000; index++)
        zsock_send (raw->socket, "s", "junk");
    int lines = 0;
    GL_CHECK (gl_test_wait_until (s_rejects_logged (offset, &lines) == 2000, 10000));
    GL_CHECK_INT (s_rejects_logged (offset, &lines), 2000);
    GL_CHECK (lines >= 1 && lines < 20);
    s_peer_destroy (&raw);
}


//  A byte bound per service and a share per sender: a sender that filled
//  one service's bound can still queue for another, up to its share; past
//  its share it is refused everywhere, while another sender is not.
static void
s_test_queue_bytes (pid_t *broker)
{
    const char *settings [] = { "QUEUE_BYTES=200000", "SERVICE_QUEUE_BYTES=65536",
                                "SENDER_QUEUE_SHARE=50", NULL };
    s_broker_restart (broker, settings);
    peer_t *greedy = s_peer_join (s_tcp, "client", "greedy", 10, NULL, 0);
    peer_t *modest = s_peer_join (s_tcp, "client", "modest", 10, NULL, 0);
    char body [1000];
    memset (body, 'b', sizeof (body));
    tally_t first, second, third, other;
    for (int index = 0; index < 100; index++)
        s_peer_send_raw (greedy, "absent.one", body, sizeof (body));
    GL_CHECK (s_tally_until_marker (greedy, 1, "queue_full", &first, 10000));
    for (int index = 0; index < 100; index++)
        s_peer_send_raw (greedy, "absent.two", body, sizeof (body));
    GL_CHECK (s_tally_until_marker (greedy, 2, "queue_full", &second, 10000));
    for (int index = 0; index < 10; index++)
        s_peer_send_raw (greedy, "absent.three", body, sizeof (body));
    GL_CHECK (s_tally_until_marker (greedy, 3, "queue_full", &third, 10000));
    for (int index = 0; index < 10; index++)
        s_peer_send_raw (modest, "absent.three", body, sizeof (body));
    GL_CHECK (s_tally_until_marker (modest, 4, "queue_full", &other, 10000));
    int accepted_one = 100 - first.bounced, accepted_two = 100 - second.bounced;
    //  The service's 64 KiB held some 50 of the first hundred; the sender's
    //  100 kB share took fewer of the second; none of the third.
    GL_CHECK (accepted_one > 10 && accepted_one < 100);
    GL_CHECK (accepted_two > 0 && accepted_two < accepted_one);
    GL_CHECK_INT (third.bounced, 10);
    GL_CHECK_INT (other.bounced, 0);
    GL_CHECK_INT (first.other_bounces + second.other_bounces + third.other_bounces, 0);
    //  What was taken is delivered, in full, once the services come.
    peer_t *one = s_peer_join (s_tcp, "absent.one", "a1", 1000, NULL, 0);
    GL_CHECK_INT (s_count_delivered (one, accepted_one), accepted_one);
    peer_t *three = s_peer_join (s_tcp, "absent.three", "a3", 1000, NULL, 0);
    GL_CHECK_INT (s_count_delivered (three, 10), 10);
    s_peer_destroy (&three);
    s_peer_destroy (&one);
    s_peer_destroy (&modest);
    s_peer_destroy (&greedy);
}

//  One peer floods 8 MB bodies to a service nobody runs: the broker keeps
//  what its byte bounds allow and bounces the rest, so its RSS stays
//  bounded (before the bounds it grew by every body), and another peer's
//  SEND to another service is still taken and delivered.
static void
s_test_flood (pid_t *broker)
{
    //  Measure what the broker holds, not what its allocator caches: a
    //  small ASan quarantine, and glibc's mmap threshold fixed so 8 MB
    //  blocks go back to the system when freed.
    setenv ("ASAN_OPTIONS", "quarantine_size_mb=16:detect_leaks=1", 1);
    setenv ("MALLOC_MMAP_THRESHOLD_", "1048576", 1);
    const char *settings [] = { "QUEUE_BYTES=67108864", "SERVICE_QUEUE_BYTES=67108864",
                                "SENDER_QUEUE_SHARE=50", NULL };
    s_broker_restart (broker, settings);
    unsetenv ("ASAN_OPTIONS");
    unsetenv ("MALLOC_MMAP_THRESHOLD_");
    peer_t *flooder = s_peer_join (s_ipc, "client", "flooder", 10, NULL, 4);
    peer_t *bystander = s_peer_join (s_ipc, "client", "bystander", 10, NULL, 4);
    long before = s_rss_kb (*broker);
    size_t size = 8 * 1024 * 1024;
    char *body = malloc (size);
    memset (body, 'f', size);
    int floods = 200, bounced = 0;
    received_t received = { 0 };
    for (int index = 0; index < floods; index++) {
        s_peer_send_raw (flooder, "nobody", body, size);
        //  Read the bounces as they come, as a well-behaved sender does.
        while (s_peer_receive (flooder, &received, 1, false))
            bounced += received.command == GL_WIRE_BOUNCE && received.error
                    && strcmp (received.error->error.code, "queue_full") == 0;
    }
    tally_t tally;
    GL_CHECK (s_tally_until_marker (flooder, 1, "queue_full", &tally, 60000));
    bounced += tally.bounced;
    long after = s_rss_kb (*broker);
    printf ("flood: %d x 8 MiB to 'nobody', %d bounced queue_full; broker RSS %ld kB before, "
            "%ld kB after\n", floods, bounced, before, after);
    //  The sender's share is 32 MiB: three 8 MiB bodies and their costs.
    GL_CHECK (bounced >= floods - 4 && bounced < floods);
    GL_CHECK (after - before < 120 * 1024);
    for (int index = 0; index < 3; index++)
        s_peer_send_raw (bystander, "elsewhere", body, size);
    GL_CHECK (s_tally_until_marker (bystander, 2, "queue_full", &tally, 30000));
    GL_CHECK_INT (tally.bounced + tally.other_bounces, 0);
    peer_t *elsewhere = s_peer_join (s_ipc, "elsewhere", "e1", 10, NULL, 4);
    GL_CHECK_INT (s_count_delivered (elsewhere, 3), 3);
    s_received_clear (&received);
    free (body);
    s_peer_destroy (&elsewhere);
    s_peer_destroy (&bystander);
    s_peer_destroy (&flooder);
}

//  100,000 messages for a service that never comes fill the queue; their
//  sender goes. After broker/no_instance_timeout_ms they are bounced
//  no_instance, and another actor's SENDs are taken and delivered again
//  (before the timeout existed they bounced queue_full for ever).
static void
s_test_no_instance (pid_t *broker)
{
    const char *settings [] = { "SENDER_QUEUE_SHARE=100", "NO_INSTANCE_TIMEOUT_MS=300", NULL };
    s_broker_restart (broker, settings);
    peer_t *ghostly = s_peer_join (s_tcp, "client", "ghostly", 10, NULL, 0);
    for (int index = 0; index < 100000; index++)
        s_peer_send_raw (ghostly, "ghost", "g", 1);
    tally_t tally;
    GL_CHECK (s_tally_until_marker (ghostly, 1, "queue_full", &tally, 60000));
    //  All 100,000 queued (the first may already have expired).
    GL_CHECK_INT (tally.bounced, 0);
    s_peer_command (ghostly, GL_WIRE_DISCONNECT, NULL, NULL);
    s_peer_destroy (&ghostly);

    //  Another actor: its SEND is refused while the ghost's messages fill
    //  the queue, and taken once they have been bounced.
    peer_t *other = s_peer_join (s_tcp, "client", "other", 10000, NULL, 0);
    received_t received = { 0 };
    bool taken = false;
    int64_t deadline = gl_test_now_ms () + 30000;
    for (uint64_t attempt = 0; !taken && gl_test_now_ms () < deadline; attempt++) {
        s_peer_send_echo (other, "later", attempt);
        GL_CHECK (s_tally_until_marker (other, 1000 + attempt, "queue_full", &tally, 10000));
        taken = tally.bounced == 0 && tally.other_bounces == 0;
    }
    GL_CHECK (taken);
    for (uint64_t sequence = 0; sequence < 9; sequence++)
        s_peer_send_echo (other, "later", 500 + sequence);
    peer_t *later = s_peer_join (s_tcp, "later", "l1", 100, NULL, 0);
    GL_CHECK_INT (s_count_delivered (later, 10), 10);

    //  A sender that stays learns what became of its messages (now that
    //  the queue has room for them).
    peer_t *patient = s_peer_join (s_tcp, "client", "patient", 10, NULL, 0);
    for (uint64_t sequence = 0; sequence < 10; sequence++)
        s_peer_send_echo (patient, "ghost.two", 100 + sequence);
    int expired = 0;
    uint32_t seen = 0;          //  bit per sequence bounced no_instance
    bool echoed = true;
    deadline = gl_test_now_ms () + 30000;
    while (expired < 10 && gl_test_now_ms () < deadline
       &&  s_peer_receive (patient, &received, 5000, false)) {
        if (received.command != GL_WIRE_BOUNCE || !received.error || !received.body)
            continue;
        uint64_t sequence = received.body->echo.sequence;
        //  The last of the ghost's messages may still fill the queue.
        if (strcmp (received.error->error.code, "queue_full") == 0)
            s_peer_send_echo (patient, "ghost.two", sequence);
        if (strcmp (received.error->error.code, "no_instance") == 0) {
            echoed = echoed && sequence >= 100 && sequence < 110
                  && strcmp (received.address, "ghost.two") == 0;
            seen |= 1u << (sequence - 100) % 32;
            expired++;
        }
    }
    GL_CHECK_INT (expired, 10);
    GL_CHECK_INT (seen, 0x3FF);
    GL_CHECK (echoed);

    s_received_clear (&received);
    s_peer_destroy (&later);
    s_peer_destroy (&other);
    s_peer_destroy (&patient);
}

//  MEMBERSHIP goes to a service's members and its followers only: a
//  bystander hears nothing while one connection registers 1,000 ids
//  (before follow it heard of every one), a follower of fetcher.* hears of
//  each, and a follower that comes later learns the present members once.
static void
s_test_membership (void)
{
    peer_t *bystander = s_peer_join (s_tcp, "bystander", "b", 10, NULL, 0);
    peer_t *follower = s_peer_join (s_tcp, "watcher", "w", 10, "fetcher.*", 0);
    tally_t tally;
    //  Each hears of its own joining, as a member of its service.
    GL_CHECK (s_tally_until_marker (bystander, 1, "none", &tally, 5000));
    GL_CHECK_INT (tally.memberships, 1);
    GL_CHECK (s_tally_until_marker (follower, 1, "none", &tally, 5000));
    GL_CHECK_INT (tally.memberships, 1);
    peer_t *churn = s_peer_new (s_tcp);
    gl_msg_t *ready = gl_msg_new (GL_MSG_READY);
    snprintf (ready->ready.service, sizeof (ready->ready.service), "fetcher.polygon");
    ready->ready.credit = 10;
    for (int index = 0; index < 1000; index++) {
        snprintf (ready->ready.instance, sizeof (ready->ready.instance), "p%d", index);
        s_peer_command (churn, GL_WIRE_READY, NULL, ready);
        s_heartbeat_all ();
    }
    gl_msg_destroy (&ready);
    snprintf (churn->address, sizeof (churn->address), "fetcher.polygon/p999");
    GL_CHECK (s_tally_until_marker (churn, 1, "none", &tally, 30000));
    GL_CHECK (s_tally_until_marker (bystander, 2, "none", &tally, 10000));
    GL_CHECK_INT (tally.memberships, 0);
    //  joined for each id, left for each but the last (the same
    //  connection registering again under another id leaves the old one).
    int joined = 0, left = 0;
    received_t received = { 0 };
    int64_t deadline = gl_test_now_ms () + 30000;
    while (joined < 1000 && gl_test_now_ms () < deadline
       &&  s_peer_receive (follower, &received, 5000, true))
        if (received.command == GL_WIRE_MEMBERSHIP && received.body
        &&  strcmp (received.body->membership.service, "fetcher.polygon") == 0) {
            joined += strcmp (received.body->membership.event, "joined") == 0;
            left += strcmp (received.body->membership.event, "left") == 0;
        }
    GL_CHECK_INT (joined, 1000);
    GL_CHECK_INT (left, 999);
    GL_CHECK (received.body && received.body->membership.count == 1
              && received.body->membership.member_count == 1
              && strcmp (received.body->membership.members [0], "p999") == 0);

    peer_t *late = s_peer_new (s_tcp);
    GL_CHECK (s_peer_register_following (late, "watcher", "late", 10, "fetcher.polygon"));
    int current = 0;
    bool right = false;
    deadline = gl_test_now_ms () + 5000;
    while (gl_test_now_ms () < deadline && s_peer_receive (late, &received, 300, true))
        if (received.command == GL_WIRE_MEMBERSHIP
        &&  strcmp (received.body->membership.event, "current") == 0) {
            current++;
            right = strcmp (received.body->membership.event, "current") == 0
                 && strcmp (received.body->membership.service, "fetcher.polygon") == 0
                 && strcmp (received.body->membership.instance, "p999") == 0
                 && received.body->membership.count == 1;
        }
    GL_CHECK_INT (current, 1);
    GL_CHECK (right);
    s_received_clear (&received);
    s_peer_destroy (&late);
    s_peer_destroy (&churn);
    s_peer_destroy (&follower);
    s_peer_destroy (&bystander);
}

//  A READY for a registered address from another connection: the old
//  connection gets DISCONNECT replaced, the new one takes the messages
//  queued for the address and every one sent after; no SEND of the new
//  connection is lost.
static void
s_test_replaced (void)
{
    peer_t *client = s_peer_join (s_tcp, "client", "dup", 100, NULL, 0);
    peer_t *old = s_peer_join (s_tcp, "dup", "x", 0, NULL, 0);
    for (uint64_t sequence = 0; sequence < 5; sequence++)
        s_peer_send_echo (client, "dup/x", sequence);   //  queued: no credit
    GL_CHECK (s_tally_until_marker (client, 900, "none", &(tally_t) { 0 }, 5000));
    peer_t *new = s_peer_join (s_ipc, "dup", "x", 100, NULL, 0);
    received_t received = { 0 };
    bool replaced = false;
    int64_t deadline = gl_test_now_ms () + 5000;
    while (!replaced && gl_test_now_ms () < deadline
       &&  s_peer_receive (old, &received, 3000, false))
        replaced = received.command == GL_WIRE_DISCONNECT && received.body
                && received.body->type == GL_MSG_ERROR
                && strcmp (received.body->error.code, "replaced") == 0;
    GL_CHECK (replaced);
    old->silent = true;          //  as the runtime does: it stops
    for (uint64_t sequence = 5; sequence < 25; sequence++)
        s_peer_send_echo (client, "dup/x", sequence);
    bool in_order = true;
    int count = 0;
    deadline = gl_test_now_ms () + 10000;
    while (count < 25 && gl_test_now_ms () < deadline
       &&  s_peer_receive (new, &received, 3000, false))
        if (received.command == GL_WIRE_DELIVER) {
            in_order = in_order && received.body->echo.sequence == (uint64_t) count;
            count++;
        }
    GL_CHECK_INT (count, 25);
    GL_CHECK (in_order);
    for (uint64_t sequence = 0; sequence < 10; sequence++)
        s_peer_send_echo (new, "client/dup", 50 + sequence);
    GL_CHECK_INT (s_count_delivered (client, 10), 10);
    s_received_clear (&received);
    s_peer_destroy (&new);
    s_peer_destroy (&old);
    s_peer_destroy (&client);
}

//  A READY again on the same connection and address renews it: credit is
//  replaced, not added; the followers hear nothing; WELCOME carries the
//  broker's limits.
static void
s_test_ready_again (void)
{
    GL_CHECK (s_welcome != NULL);
    peer_t *follower = s_peer_join (s_tcp, "observer", "again", 10, "again", 0);
    peer_t *client = s_peer_join (s_tcp, "client", "again", 100, NULL, 0);
    peer_t *worker = s_peer_join (s_tcp, "again", "w", 3, NULL, 0);
    //  The broker is the one s_test_queue_full started, with a bound of 10.
    GL_CHECK (s_welcome && s_welcome->welcome.credit_limit == 10000
              && s_welcome->welcome.queue_limit == 10
              && s_welcome->welcome.max_body == 16 * 1024 * 1024
              && s_welcome->welcome.heartbeat_ms == HEARTBEAT_MS);
    tally_t tally;
    GL_CHECK (s_tally_until_marker (follower, 1, "none", &tally, 5000));
    GL_CHECK_INT (tally.memberships, 2);        //  its own joining and the worker's
    for (uint64_t sequence = 0; sequence < 10; sequence++)
        s_peer_send_echo (client, "again", sequence);
    GL_CHECK_INT (s_count_delivered (worker, 3), 3);
    GL_CHECK (s_peer_register (worker, "again", "w", 2));
    GL_CHECK_INT (s_count_delivered (worker, 10), 2);
    GL_CHECK (s_tally_until_marker (follower, 2, "none", &tally, 5000));
    GL_CHECK_INT (tally.memberships, 0);
    s_peer_destroy (&worker);
    s_peer_destroy (&client);
    s_peer_destroy (&follower);
}

//  An unregistered peer: its SEND comes back as BOUNCE not_registered with
//  the address and body as sent; HEARTBEAT and CREDIT are answered ERROR
//  not_registered; DISCONNECT is ignored.
static void
s_test_unregistered (void)
{
    peer_t *stranger = s_peer_new (s_tcp);
    stranger->silent = true;
    s_peer_send_echo (stranger, "echo/anyone", 77);
    received_t received = { 0 };
    GL_CHECK (s_peer_receive (stranger, &received, 3000, false));
    GL_CHECK_INT (received.command, GL_WIRE_BOUNCE);
    GL_CHECK_STR (received.address, "echo/anyone");
    GL_CHECK (received.body && received.body->type == GL_MSG_ECHO
              && received.body->echo.sequence == 77);
    GL_CHECK (received.error && strcmp (received.error->error.code, "not_registered") == 0);
    s_peer_command (stranger, GL_WIRE_DISCONNECT, NULL, NULL);
    s_peer_command (stranger, GL_WIRE_HEARTBEAT, NULL, NULL);
    gl_msg_t *credit = gl_msg_new (GL_MSG_CREDIT);
    credit->credit.credit = 1;
    s_peer_command (stranger, GL_WIRE_CREDIT, NULL, credit);
    gl_msg_destroy (&credit);
    int errors = 0, others = 0;
    while (s_peer_receive (stranger, &received, 500, false)) {
        bool error = received.command == GL_WIRE_ERROR && received.body
                  && strcmp (received.body->error.code, "not_registered") == 0;
        errors += error;
        others += !error;
    }
    GL_CHECK_INT (errors, 2);
    GL_CHECK_INT (others, 0);
    s_received_clear (&received);
    s_peer_destroy (&stranger);
}

//  A frame over max_body: libzmq drops the connection (ZMQ_MAXMSGSIZE)
//  before the broker sees it; the DEALER reconnects as a stranger and
//  learns it from ERROR not_registered, as after a broker restart.
static void
s_test_oversize (void)
{
    peer_t *big = s_peer_join (s_tcp, "client", "big", 10, NULL, 0);
    size_t size = 16 * 1024 * 1024 + 1;
    char *body = calloc (1, size);
    s_peer_send_raw (big, "echo", body, size);
    free (body);
    received_t received = { 0 };
    bool stranger = false;
    int64_t deadline = gl_test_now_ms () + 10000;
    while (!stranger && gl_test_now_ms () < deadline)
        if (s_peer_receive (big, &received, 100, false))
            stranger = received.command == GL_WIRE_ERROR && received.body
                    && strcmp (received.body->error.code, "not_registered") == 0;
    GL_CHECK (stranger);
    GL_CHECK (s_peer_register (big, "client", "big", 10));
    s_received_clear (&received);
    s_peer_destroy (&big);
}

//  A second broker on the same ipc path refuses to start and names the
//  endpoint; the first keeps serving it.
static void
s_test_second_broker (void)
{
    char bind [256], heartbeat [16];
    snprintf (bind, sizeof (bind), "tcp://127.0.0.1:%d,%s", gl_process_free_port (), s_ipc);
    snprintf (heartbeat, sizeof (heartbeat), "%d", HEARTBEAT_MS);
    char *argv [] = { s_broker_path, "--bind", bind, "--heartbeat-ms", heartbeat, NULL };
    unlink ("second_broker.log");
    pid_t second = gl_process_start (argv, "second_broker.log");
    int status = 0;
    bool exited = gl_test_wait_until (waitpid (second, &status, WNOHANG) == second, 10000);
    GL_CHECK (exited);
    if (!exited)
        gl_process_stop (second, SIGKILL);
    GL_CHECK (exited && WIFEXITED (status) && WEXITSTATUS (status) != 0);
    char log [4096] = "";
    FILE *file = fopen ("second_broker.log", "r");
    if (file) {
        size_t length = fread (log, 1, sizeof (log) - 1, file);
        log [length] = '\0';
        fclose (file);
    }
    GL_CHECK (strstr (log, s_ipc) != NULL && strstr (log, "in use") != NULL);
    peer_t *client = s_peer_join (s_ipc, "client", "second", 10, NULL, 0);
    tally_t tally;
    GL_CHECK (s_tally_until_marker (client, 1, "none", &tally, 5000));
    s_peer_destroy (&client);
}

//  A stopping broker bounces what it holds (shutdown) and tells every
//  registered peer DISCONNECT shutdown.
static void
s_test_shutdown (pid_t *broker)
{
    peer_t *client = s_peer_join (s_tcp, "client", "shutdown", 10, NULL, 0);
    s_peer_send_echo (client, "never", 5);
    tally_t tally;
    GL_CHECK (s_tally_until_marker (client, 1, "none", &tally, 5000));
    GL_CHECK (s_exited_cleanly (gl_process_stop (*broker, SIGTERM)));
    *broker = -1;
    received_t received = { 0 };
    bool bounced = false, disconnected = false;
    int64_t deadline = gl_test_now_ms () + 10000;
    while (!disconnected && gl_test_now_ms () < deadline
       &&  s_peer_receive (client, &received, 3000, false)) {
        if (received.command == GL_WIRE_BOUNCE && received.error)
            bounced = strcmp (received.error->error.code, "shutdown") == 0
                   && received.body && received.body->echo.sequence == 5;
        disconnected = received.command == GL_WIRE_DISCONNECT && received.body
                    && strcmp (received.body->error.code, "shutdown") == 0;
    }
    GL_CHECK (bounced);
    GL_CHECK (disconnected);
    s_received_clear (&received);
    s_peer_destroy (&client);
}

//  Collects the MEMBERSHIPs of service a follower hears for up to
//  timeout_ms, until it heard wanted_left left events; the last count
//  the broker gave goes to *count.
static int
s_count_left (peer_t *follower, const char *service, int wanted_left, int timeout_ms,
              int *count)
{
    int left = 0;
    received_t received = { 0 };
    int64_t deadline = gl_test_now_ms () + timeout_ms;
    while (left < wanted_left && gl_test_now_ms () < deadline
       &&  s_peer_receive (follower, &received, 1000, true))
        if (received.command == GL_WIRE_MEMBERSHIP && received.body
        &&  strcmp (received.body->membership.service, service) == 0) {
            left += strcmp (received.body->membership.event, "left") == 0;
            *count = (int) received.body->membership.count;
        }
    s_received_clear (&received);
    return left;
}

//  A peer that sends and closes at once (a fetcher killed right after its
//  last BARS): what it sent is routed, though the broker learns of the
//  closed connection in the same turn as of the messages. The broker is
//  stopped meanwhile, so that both wait for it together.
static void
s_test_last_words (pid_t broker, const char *endpoint)
{
    enum { MESSAGES = 50 };
    peer_t *receiver = s_peer_join (endpoint, "lastwords", "r", MESSAGES, NULL, 0);
    peer_t *sender = s_peer_join (endpoint, "sender", "s", 10, NULL, 0);
    zsock_set_linger (sender->socket, 1000);
    kill (broker, SIGSTOP);
    for (int index = 0; index < MESSAGES; index++)
        s_peer_send_raw (sender, "lastwords", "words", 5);
    zclock_sleep (300);                 //  into the broker's socket buffer
    s_peer_destroy (&sender);
    zclock_sleep (300);                 //  the closing too
    kill (broker, SIGCONT);
    GL_CHECK_INT (s_count_delivered (receiver, MESSAGES), MESSAGES);
    s_peer_destroy (&receiver);
}

//  A connection that closes removes its instance at once: with 60 s
//  heartbeats, death by silence would take 3 minutes, so a left within
//  20 s can only be the closed connection. A killed process and a closed
//  socket, over tcp and ipc; then connections that close while new ones
//  register (whose descriptors the broker may hand out again) take only
//  their own instances with them.
static void
s_test_connection_lost (void)
{
    char tcp [64], ipc [160], bind [256];
    snprintf (tcp, sizeof (tcp), "tcp://127.0.0.1:%d", gl_process_free_port ());
    snprintf (ipc, sizeof (ipc), "%s.lost", s_ipc);
    snprintf (bind, sizeof (bind), "%s,%s", tcp, ipc);
    char *argv [] = { s_broker_path, "--bind", bind, "--heartbeat-ms", "60000", NULL };
    setenv ("GAPLESS_BROKER_HEARTBEAT_MS", "60000", 1);     //  the environment wins
    pid_t broker = gl_process_start (argv, "lost_broker.log");
    setenv ("GAPLESS_BROKER_HEARTBEAT_MS", "100", 1);
    peer_t *follower = s_peer_new (tcp);
    gl_msg_t *ready = gl_msg_new (GL_MSG_READY);
    snprintf (ready->ready.service, sizeof (ready->ready.service), "watcher");
    snprintf (ready->ready.instance, sizeof (ready->ready.instance), "lost");
    ready->ready.credit = 10;
    gl_msg_add_follow (ready, "echo");
    gl_msg_add_follow (ready, "closing");
    gl_msg_add_follow (ready, "reuse");
    snprintf (follower->address, sizeof (follower->address), "watcher/lost");
    s_peer_command (follower, GL_WIRE_READY, NULL, ready);
    gl_msg_destroy (&ready);
    const char *endpoints [] = { tcp, ipc };
    for (int index = 0; index < 2; index++) {
        pid_t echo = s_echo_start (endpoints [index], "killed");
        int count = 0;
        GL_CHECK (gl_test_wait_until (s_echo_works (follower), 10000));
        gl_process_stop (echo, SIGKILL);
        GL_CHECK_INT (s_count_left (follower, "echo", 1, 20000, &count), 1);
        GL_CHECK_INT (count, 0);
        peer_t *closing = s_peer_join (endpoints [index], "closing", "c", 10, NULL, 0);
        s_peer_destroy (&closing);
        GL_CHECK_INT (s_count_left (follower, "closing", 1, 20000, &count), 1);
        GL_CHECK_INT (count, 0);
    }
    peer_t *kept [10];
    char instance [16];
    for (int index = 0; index < 10; index++) {
        snprintf (instance, sizeof (instance), "gone%d", index);
        peer_t *gone = s_peer_join (tcp, "reuse", instance, 10, NULL, 0);
        s_peer_destroy (&gone);
        snprintf (instance, sizeof (instance), "kept%d", index);
        kept [index] = s_peer_join (tcp, "reuse", instance, 10, NULL, 0);
    }
    int count = 0;
    GL_CHECK_INT (s_count_left (follower, "reuse", 10, 20000, &count), 10);
    //  A follower joining now is told what is current: the 10 kept.
    peer_t *late = s_peer_new (tcp);
    GL_CHECK (s_peer_register_following (late, "watcher", "late", 10, "reuse"));
    received_t received = { 0 };
    bool current = false;
    while (!current && s_peer_receive (late, &received, 5000, true))
        current = received.command == GL_WIRE_MEMBERSHIP && received.body
               && strcmp (received.body->membership.event, "current") == 0;
    GL_CHECK (current && received.body->membership.count == 10);
    s_received_clear (&received);
    s_peer_destroy (&late);
    tally_t tally;
    for (int index = 0; index < 10; index++) {
        GL_CHECK (s_tally_until_marker (kept [index], 2, "none", &tally, 5000));
        GL_CHECK_INT (tally.errors, 0);
        s_peer_destroy (&kept [index]);
    }
    s_test_last_words (broker, tcp);
    s_peer_destroy (&follower);
    GL_CHECK (s_exited_cleanly (gl_process_stop (broker, SIGTERM)));
}

int
main (void)
{
    zsys_init ();
    zsys_handler_set (NULL);
    gl_process_binary ("broker/gapless-broker", s_broker_path, sizeof (s_broker_path));
    gl_process_binary ("tests/support/gapless-echo", s_echo_path, sizeof (s_echo_path));
    snprintf (s_tcp, sizeof (s_tcp), "tcp://127.0.0.1:%d", gl_process_free_port ());
    snprintf (s_ipc, sizeof (s_ipc), "ipc://%s/test_broker.%d.ipc",
              getenv ("GL_BINARY_DIR")? getenv ("GL_BINARY_DIR"): "/tmp", (int) getpid ());
    snprintf (s_bind, sizeof (s_bind), "%s,%s", s_tcp, s_ipc);
    setenv ("GAPLESS_BROKER_HEARTBEAT_MS", "100", 1);

    pid_t broker = s_broker_start ("100000");
    s_test_load_balancing ();
    s_test_credit ();
    s_test_heartbeat_death ();
    s_test_garbage ();
    s_test_routes ();
    s_test_broker_restart (&broker);
    s_test_queue_full (&broker);
    s_test_membership ();
    s_test_replaced ();
    s_test_ready_again ();
    s_test_unregistered ();
    s_test_oversize ();
    s_test_second_broker ();
    s_test_connection_lost ();
    s_test_reject_log (&broker);
    s_test_queue_bytes (&broker);
    s_test_no_instance (&broker);
    s_test_flood (&broker);
    s_test_shutdown (&broker);
    gl_msg_destroy (&s_welcome);
    return gl_test_done ("test_broker");
}
