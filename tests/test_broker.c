/*  test_broker — a real gapless-broker process, real gapless-echo
    processes and raw GLP peers over tcp and ipc: load balancing, credit,
    instance addressing, bounces, heartbeat death, remembered routes, a
    broker restart, and garbage that must not stop the broker.
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
s_peer_new (const char *endpoint)
{
    peer_t *self = (peer_t *) zmalloc (sizeof (peer_t));
    self->socket = zsock_new_dealer (endpoint);
    zsock_set_linger (self->socket, 0);
    for (int index = 0; index < MAX_PEERS; index++)
        if (!s_peers [index]) {
            s_peers [index] = self;
            break;
        }
    return self;
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
    int status = gl_process_stop (broker, SIGTERM);
    GL_CHECK (s_exited_cleanly (status));
    return gl_test_done ("test_broker");
}
