/*  bench_broker — messages/s and round-trip latency through gapless-broker,
    beside two baselines measured in the same run over tcp loopback:

      raw   a DEALER→ROUTER→DEALER forwarder on zmq_msg_t (no protocol)
      zmsg  the same forwarder written with czmq's zmsg
      glp   gapless-broker: GLP/1 framing, registration, credit, routing

    Each forwarder runs in its own process, like the broker. The client and
    the echo worker are the same raw-socket code for all three, so the
    difference is the forwarder. msgs/s counts messages forwarded (a round
    trip is two); throughput runs with WINDOW messages in flight, latency
    with one.

    Usage: bench_broker [--messages N] [--broker PATH] [--rows]
    --rows: gapless-broker against raw libzmq as rows of bench_rows.h.
*/
#include "bench_rows.h"
#include "gl_msg.h"
#include "gl_wire.h"
#include <czmq.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <zmq.h>

#define WINDOW 1000
#define CREDIT 20000

typedef enum { MODE_RAW, MODE_ZMSG, MODE_GLP } mode_t_;

typedef struct {
    mode_t_ mode;
    const char *endpoint;
    size_t body_size;
    volatile int ready;
    volatile int stop;
} worker_args_t;

static int64_t
s_now_us (void)
{
    struct timespec now;
    clock_gettime (CLOCK_MONOTONIC, &now);
    return (int64_t) now.tv_sec * 1000000 + now.tv_nsec / 1000;
}

//  --------------------------------------------------------------------------
//  The baseline forwarders. The worker says "W" first so the forwarder
//  knows its routing id, and echoes "W" as a go-ahead; then client
//  [id][body] goes to the worker as
//  [worker][id][body], and the worker's [id][body] comes back to the client.

static void
s_forward_raw (const char *endpoint, int ready_fd)
{
    void *context = zmq_ctx_new ();
    void *router = zmq_socket (context, ZMQ_ROUTER);
    int hwm = 1000000;
    zmq_setsockopt (router, ZMQ_SNDHWM, &hwm, sizeof (hwm));
    zmq_setsockopt (router, ZMQ_RCVHWM, &hwm, sizeof (hwm));
    if (zmq_bind (router, endpoint) != 0) {
        fprintf (stderr, "bench_broker: cannot bind %s: %s\n", endpoint, zmq_strerror (zmq_errno ()));
        return;
    }
    if (write (ready_fd, "R", 1) != 1)
        return;
    zmq_msg_t worker, frame [3];
    zmq_msg_init (&worker);
    for (int index = 0; index < 3; index++)
        zmq_msg_init (&frame [index]);
    while (true) {
        int count = 0, more = 1;
        while (more && count < 3) {
            if (zmq_msg_recv (&frame [count], router, 0) == -1)
                return;
            more = zmq_msg_more (&frame [count++]);
        }
        if (count == 2 && zmq_msg_size (&frame [1]) == 1 && *(char *) zmq_msg_data (&frame [1]) == 'W') {
            zmq_msg_copy (&worker, &frame [0]);
            zmq_msg_send (&frame [0], router, ZMQ_SNDMORE);
            zmq_msg_send (&frame [1], router, 0);       //  the worker's go-ahead
            continue;
        }
        if (count == 2) {           //  from the client: to the worker
            zmq_msg_t copy;
            zmq_msg_init (&copy);
            zmq_msg_copy (&copy, &worker);
            zmq_msg_send (&copy, router, ZMQ_SNDMORE);
            zmq_msg_send (&frame [0], router, ZMQ_SNDMORE);
            zmq_msg_send (&frame [1], router, 0);
        }
        else {                      //  from the worker: to the client
            zmq_msg_send (&frame [1], router, ZMQ_SNDMORE);
            zmq_msg_send (&frame [2], router, 0);
        }
    }
}

static void
s_forward_zmsg (const char *endpoint, int ready_fd)
{
    //  High-water marks must be set before bind: libzmq copies the socket's
    //  options into the listener then, so a later setting would not reach
    //  accepted connections and the ROUTER would drop at czmq's default.
    zsock_t *router = zsock_new (ZMQ_ROUTER);
    zsock_set_sndhwm (router, 1000000);
    zsock_set_rcvhwm (router, 1000000);
    if (!router || zsock_bind (router, "%s", endpoint) == -1 || write (ready_fd, "R", 1) != 1)
        return;
    zframe_t *worker = NULL;
    while (true) {
        zmsg_t *message = zmsg_recv (router);
        if (!message)
            return;
        if (zmsg_size (message) == 2 && zframe_streq (zmsg_last (message), "W")) {
            zframe_destroy (&worker);
            worker = zframe_dup (zmsg_first (message));
            zmsg_send (&message, router);               //  the worker's go-ahead
            continue;
        }
        if (zmsg_size (message) == 2)
            zmsg_prepend (message, &(zframe_t *) { zframe_dup (worker) });
        else {
            zframe_t *from = zmsg_pop (message);
            zframe_destroy (&from);
        }
        zmsg_send (&message, router);
    }
}

//  --------------------------------------------------------------------------
//  The echo worker: raw libzmq, answers each body to where it came from.

static void
s_glp_send (void *socket, gl_wire_command_t command, const gl_msg_t *body)
{
    uint8_t header [GL_WIRE_HEADER_SIZE];
    gl_wire_header (header, command);
    char *data = NULL, error [GL_MSG_ERROR_MAX];
    size_t size = 0;
    gl_msg_encode (body, &data, &size, error);
    zmq_send (socket, header, sizeof (header), ZMQ_SNDMORE);
    zmq_send (socket, data, size, 0);
    free (data);
}

//  Registers a raw GLP peer and waits for WELCOME.
static void
s_glp_register (void *socket, const char *service, const char *instance)
{
    gl_msg_t *ready = gl_msg_new (GL_MSG_READY);
    snprintf (ready->ready.service, sizeof (ready->ready.service), "%s", service);
    snprintf (ready->ready.instance, sizeof (ready->ready.instance), "%s", instance);
    ready->ready.credit = CREDIT;
    s_glp_send (socket, GL_WIRE_READY, ready);
    gl_msg_destroy (&ready);
    while (true) {
        zmq_msg_t frame;
        zmq_msg_init (&frame);
        zmq_msg_recv (&frame, socket, 0);
        bool welcome = zmq_msg_size (&frame) == 4
                    && ((uint8_t *) zmq_msg_data (&frame)) [3] == GL_WIRE_WELCOME;
        int more = zmq_msg_more (&frame);
        zmq_msg_close (&frame);
        while (more) {
            zmq_msg_init (&frame);
            zmq_msg_recv (&frame, socket, 0);
            more = zmq_msg_more (&frame);
            zmq_msg_close (&frame);
        }
        if (welcome)
            return;
    }
}

//  Returns credit in one CREDIT message.
static void
s_glp_credit (void *socket, uint32_t credit)
{
    gl_msg_t *message = gl_msg_new (GL_MSG_CREDIT);
    message->credit.credit = credit;
    s_glp_send (socket, GL_WIRE_CREDIT, message);
    gl_msg_destroy (&message);
}

static void *
s_worker (void *argument)
{
    worker_args_t *args = (worker_args_t *) argument;
    void *context = zmq_ctx_new ();
    void *socket = zmq_socket (context, ZMQ_DEALER);
    int linger = 0, hwm = 1000000, timeout = 100;
    zmq_setsockopt (socket, ZMQ_LINGER, &linger, sizeof (linger));
    zmq_setsockopt (socket, ZMQ_SNDHWM, &hwm, sizeof (hwm));
    zmq_setsockopt (socket, ZMQ_RCVHWM, &hwm, sizeof (hwm));
    zmq_setsockopt (socket, ZMQ_RCVTIMEO, &timeout, sizeof (timeout));
    zmq_connect (socket, args->endpoint);
    if (args->mode == MODE_GLP)
        s_glp_register (socket, "echo", "w1");
    else {
        //  Say hello and wait for the go-ahead: the forwarder then knows
        //  where to send the client's messages.
        char go [1];
        zmq_send (socket, "W", 1, 0);
        while (zmq_recv (socket, go, sizeof (go), 0) == -1)
            ;
    }
    args->ready = 1;
    uint8_t send_header [GL_WIRE_HEADER_SIZE];
    gl_wire_header (send_header, GL_WIRE_SEND);
    zmq_msg_t frame [3];
    uint32_t used = 0;
    while (true) {
        int count = 0, more = 1;
        for (int index = 0; index < 3; index++)
            zmq_msg_init (&frame [index]);
        while (more && count < 3) {
            if (zmq_msg_recv (&frame [count], socket, 0) == -1) {
                if (args->stop)
                    goto done;
                continue;           //  a receive timeout: look at stop again
            }
            more = zmq_msg_more (&frame [count++]);
        }
        if (args->mode == MODE_GLP) {
            //  [DELIVER][sender][body] → [SEND][sender][body]
            if (count == 3 && ((uint8_t *) zmq_msg_data (&frame [0])) [3] == GL_WIRE_DELIVER) {
                zmq_send (socket, send_header, sizeof (send_header), ZMQ_SNDMORE);
                zmq_msg_send (&frame [1], socket, ZMQ_SNDMORE);
                zmq_msg_send (&frame [2], socket, 0);
                if (++used == CREDIT / 2) {
                    s_glp_credit (socket, used);
                    used = 0;
                }
            }
        }
        else
        if (count == 2) {           //  [client][body] back as it came
            zmq_msg_send (&frame [0], socket, ZMQ_SNDMORE);
            zmq_msg_send (&frame [1], socket, 0);
        }
        for (int index = 0; index < 3; index++)
            zmq_msg_close (&frame [index]);
    }
done:
    for (int index = 0; index < 3; index++)
        zmq_msg_close (&frame [index]);
    zmq_close (socket);
    zmq_ctx_term (context);
    return NULL;
}

//  --------------------------------------------------------------------------
//  The client

typedef struct {
    void *context, *socket;
    mode_t_ mode;
    char *body;
    size_t body_size;
    uint32_t used;
} client_t;

static void
s_client_send (client_t *self)
{
    if (self->mode == MODE_GLP) {
        uint8_t header [GL_WIRE_HEADER_SIZE];
        gl_wire_header (header, GL_WIRE_SEND);
        zmq_send (self->socket, header, sizeof (header), ZMQ_SNDMORE);
        zmq_send (self->socket, "echo", 4, ZMQ_SNDMORE);
    }
    zmq_send (self->socket, self->body, self->body_size, 0);
}

//  Receives one answer (skipping GLP heartbeats and membership).
static void
s_client_receive (client_t *self)
{
    while (true) {
        zmq_msg_t frame;
        zmq_msg_init (&frame);
        zmq_msg_recv (&frame, self->socket, 0);
        bool answer = self->mode != MODE_GLP
                   || ((uint8_t *) zmq_msg_data (&frame)) [3] == GL_WIRE_DELIVER;
        int more = zmq_msg_more (&frame);
        zmq_msg_close (&frame);
        while (more) {
            zmq_msg_init (&frame);
            zmq_msg_recv (&frame, self->socket, 0);
            more = zmq_msg_more (&frame);
            zmq_msg_close (&frame);
        }
        if (answer) {
            //  GLP: the client holds credit for the answers like any
            //  instance, and returns it in batches.
            if (self->mode == MODE_GLP && ++self->used == CREDIT / 2) {
                s_glp_credit (self->socket, self->used);
                self->used = 0;
            }
            return;
        }
    }
}

static int
s_compare (const void *left, const void *right)
{
    int64_t a = *(const int64_t *) left, b = *(const int64_t *) right;
    return (a > b) - (a < b);
}

typedef struct {
    double messages_per_second;
    double p50_us, p99_us;
} result_t;

//  Runs the throughput and the latency phases against one forwarder.
static result_t
s_measure (mode_t_ mode, const char *endpoint, size_t body_size, int messages)
{
    worker_args_t args = { mode, endpoint, body_size, 0, 0 };
    pthread_t worker;
    pthread_create (&worker, NULL, s_worker, &args);
    while (!args.ready)
        zclock_sleep (1);

    client_t client = { zmq_ctx_new (), NULL, mode, malloc (body_size), body_size, 0 };
    memset (client.body, 'x', body_size);
    client.socket = zmq_socket (client.context, ZMQ_DEALER);
    int linger = 0, hwm = 1000000;
    zmq_setsockopt (client.socket, ZMQ_LINGER, &linger, sizeof (linger));
    zmq_setsockopt (client.socket, ZMQ_SNDHWM, &hwm, sizeof (hwm));
    zmq_setsockopt (client.socket, ZMQ_RCVHWM, &hwm, sizeof (hwm));
    zmq_connect (client.socket, endpoint);
    if (mode == MODE_GLP)
        s_glp_register (client.socket, "bench", "client");
    //  Warm-up round trip: the path exists end to end.
    s_client_send (&client);
    s_client_receive (&client);

    result_t result = { 0 };
    int64_t start = s_now_us ();
    int sent = 0, received = 0;
    while (received < messages) {
        while (sent < messages && sent - received < WINDOW) {
            s_client_send (&client);
            sent++;
        }
        s_client_receive (&client);
        received++;
    }
    int64_t elapsed = s_now_us () - start;
    result.messages_per_second = 2.0 * messages * 1e6 / (double) elapsed;

    int samples = messages / 10 > 20000? 20000: messages / 10;
    int64_t *latency = (int64_t *) malloc (sizeof (int64_t) * (size_t) samples);
    for (int index = 0; index < samples; index++) {
        int64_t before = s_now_us ();
        s_client_send (&client);
        s_client_receive (&client);
        latency [index] = s_now_us () - before;
    }
    qsort (latency, (size_t) samples, sizeof (int64_t), s_compare);
    result.p50_us = (double) latency [samples / 2];
    result.p99_us = (double) latency [samples * 99 / 100];
    free (latency);

    zmq_close (client.socket);
    zmq_ctx_term (client.context);
    free (client.body);
    args.stop = 1;
    pthread_join (worker, NULL);
    return result;
}

//  Starts a forwarder process for the mode, a fresh exec like the broker,
//  and waits until it has bound its endpoint (the broker is waited for by
//  registering with it); returns its pid.
static pid_t
s_start_forwarder (mode_t_ mode, const char *endpoint, const char *self_path,
                   const char *broker_path)
{
    int ready [2];
    if (pipe (ready) != 0)
        return -1;
    pid_t pid = fork ();
    if (pid == 0) {
        close (ready [0]);
        char fd [16];
        snprintf (fd, sizeof (fd), "%d", ready [1]);
        if (mode == MODE_GLP) {
            int null = open ("/dev/null", O_WRONLY);
            dup2 (null, 2);
            execl (broker_path, broker_path, "--bind", endpoint, NULL);
        }
        else
            execl (self_path, self_path, "--forwarder", mode == MODE_RAW? "raw": "zmsg",
                   "--endpoint", endpoint, "--ready-fd", fd, NULL);
        _exit (127);
    }
    close (ready [1]);
    char byte;
    if (mode != MODE_GLP && read (ready [0], &byte, 1) != 1)
        pid = -1;
    close (ready [0]);
    return pid;
}

//  The broker's row for one body size.
static void
s_row (size_t body, double broker, double raw)
{
    char name [64], measured [64], baseline [64];
    snprintf (name, sizeof name, "broker msgs/s, %zu B, tcp", body);
    snprintf (measured, sizeof measured, "%.0f msgs/s", broker);
    snprintf (baseline, sizeof baseline, "raw libzmq forwarder %.0f msgs/s", raw);
    bench_rows_print (name, measured, baseline, raw > 0? broker / raw: 0, ">=", 0.7);
}

int
main (int argc, char **argv)
{
    static struct option options [] = {
        { "messages", required_argument, NULL, 'n' },
        { "broker", required_argument, NULL, 'b' },
        { "forwarder", required_argument, NULL, 'f' },
        { "endpoint", required_argument, NULL, 'e' },
        { "ready-fd", required_argument, NULL, 'r' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    int messages = 500000, ready_fd = -1;
    const char *broker_path = GL_BROKER_PATH, *forwarder = NULL, *endpoint = NULL;
    int option;
    bool rows = bench_rows_requested (&argc, argv);
    while ((option = getopt_long (argc, argv, "n:b:h", options, NULL)) != -1) {
        if (option == 'n')
            messages = atoi (optarg);
        else
        if (option == 'b')
            broker_path = optarg;
        else
        if (option == 'f')
            forwarder = optarg;
        else
        if (option == 'e')
            endpoint = optarg;
        else
        if (option == 'r')
            ready_fd = atoi (optarg);
        else {
            printf ("Usage: bench_broker [--messages N] [--broker PATH]\n");
            return option == 'h'? 0: 2;
        }
    }
    //  The baseline forwarders run as this program in a process of its own.
    if (forwarder && endpoint) {
        if (strcmp (forwarder, "raw") == 0)
            s_forward_raw (endpoint, ready_fd);
        else
            s_forward_zmsg (endpoint, ready_fd);
        return 0;
    }
    if (messages < 1000) {
        fprintf (stderr, "bench_broker: --messages: expected at least 1000\n");
        return 2;
    }
    signal (SIGPIPE, SIG_IGN);
    const char *names [] = { "raw libzmq", "czmq zmsg", "gapless-broker" };
    size_t sizes [] = { 200, 4096 };
    if (!rows)
        printf ("%-16s %7s %12s %9s %9s %9s\n", "forwarder", "body", "msgs/s", "vs raw",
                "p50 us", "p99 us");
    for (size_t size_index = 0; size_index < 2; size_index++) {
        double raw = 0;
        for (int mode = MODE_RAW; mode <= MODE_GLP; mode++) {
            char bench_endpoint [64];
            snprintf (bench_endpoint, sizeof (bench_endpoint), "tcp://127.0.0.1:%d",
                      25000 + (int) (getpid () % 1000) * 6 + (int) size_index * 3 + mode);
            pid_t forwarder_pid = s_start_forwarder ((mode_t_) mode, bench_endpoint, argv [0],
                                                     broker_path);
            if (forwarder_pid < 0) {
                fprintf (stderr, "bench_broker: the %s forwarder did not start\n", names [mode]);
                return 1;
            }
            result_t result = s_measure ((mode_t_) mode, bench_endpoint, sizes [size_index], messages);
            kill (forwarder_pid, SIGKILL);
            waitpid (forwarder_pid, NULL, 0);
            if (mode == MODE_RAW)
                raw = result.messages_per_second;
            if (!rows)
                printf ("%-16s %7zu %12.0f %8.0f%% %9.0f %9.0f\n", names [mode], sizes [size_index],
                        result.messages_per_second, 100.0 * result.messages_per_second / raw,
                        result.p50_us, result.p99_us);
            else if (mode == MODE_GLP)
                s_row (sizes [size_index], result.messages_per_second, raw);
            fflush (stdout);
        }
    }
    return 0;
}
