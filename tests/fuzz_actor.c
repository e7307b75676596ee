/*  fuzz_actor — libFuzzer target for the actor runtime's receive path.

    Each input is a sequence of messages "from the broker", fed through
    gl_actor_dispatch to two actors at once, one returning credit
    automatically and one with manual credit whose handlers take, refuse,
    keep or answer what they get. After every message the runtime's books
    must balance: every delivery handled or refused, every refusal counted
    by its reason, and the credit held exactly what the handlers still
    keep (nothing at all for the automatic actor). At the end the manual
    actor gives back what it kept, which must leave nothing held. Any
    imbalance aborts, which libFuzzer reports with the input.

    Input format (so the fuzzer reaches valid bodies quickly): per message
    a command byte (its low 4 bits are the command, bit 4 a wrong version,
    bit 5 no header at all), a frame-count byte (0..4), then per frame a
    kind byte: below 0xF0 that many raw bytes follow; from 0xF0 the low 4
    bits pick an encoded template body (14 is a sender address), followed by a
    byte n (0..3) and n pairs (offset, xor) that corrupt it.
*/
#include "gl_actor.h"
#include "gl_msg.h"
#include "gl_wire.h"
#include <czmq.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int LLVMFuzzerInitialize (int *argc, char ***argv);
int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

#define S_ENDPOINT "inproc://fuzz_actor"
#define S_TEMPLATES 15
#define S_KEPT_MAX 64
#define S_PACE_EVERY 32             //  inputs between looks at the open sockets
#define S_PACE_HIGH 512             //  open descriptors above which the fuzzer waits
#define S_PACE_LOW 256              //  ... until they are back under this

static zsock_t *s_broker;          //  where the actors' sends go, drained
static char *s_template [S_TEMPLATES];
static size_t s_template_size [S_TEMPLATES];

//  What one actor's handlers did, to check the runtime's books against.
typedef struct {
    bool manual;
    uint32_t owed;              //  credit the handlers kept (manual actor)
    gl_msg_t *kept [S_KEPT_MAX];
    size_t kept_count;
} harness_t;

//  Reads the input as a cursor; past the end everything reads as 0.
typedef struct {
    const uint8_t *data;
    size_t size, offset;
} cursor_t;

static uint8_t
s_byte (cursor_t *cursor)
{
    return cursor->offset < cursor->size? cursor->data [cursor->offset++]: 0;
}

//  Aborts with a reason: libFuzzer reports the input.
static void
s_fail (const char *what)
{
    fprintf (stderr, "fuzz_actor: %s\n", what);
    abort ();
}

//  echo: answered to the sender; the manual actor gives its credit back at
//  once, or keeps it owed when the sequence is odd.
static int
s_handle_echo (gl_actor_t *actor, const char *sender, gl_msg_t **message_p, void *argument)
{
    harness_t *harness = (harness_t *) argument;
    gl_actor_send (actor, sender, *message_p);
    if (harness->manual) {
        if ((*message_p)->echo.sequence % 2)
            harness->owed++;
        else
        if (gl_actor_credit (actor, 1) != 0)
            s_fail ("gl_actor_credit refused a held message's credit");
    }
    return 0;
}

//  fetch: refused.
static int
s_handle_fetch (gl_actor_t *actor, const char *sender, gl_msg_t **message_p, void *argument)
{
    return -1;
}

//  bars: taken (the message kept until the input ends), its credit owed.
static int
s_handle_bars (gl_actor_t *actor, const char *sender, gl_msg_t **message_p, void *argument)
{
    harness_t *harness = (harness_t *) argument;
    if (harness->kept_count == S_KEPT_MAX)
        return -1;
    harness->kept [harness->kept_count++] = *message_p;
    *message_p = NULL;
    if (harness->manual)
        harness->owed++;
    return 0;
}

//  event: taken and dropped; the manual actor returns more credit than it
//  holds, which must be refused without changing anything.
static int
s_handle_event (gl_actor_t *actor, const char *sender, gl_msg_t **message_p, void *argument)
{
    harness_t *harness = (harness_t *) argument;
    if (harness->manual) {
        gl_actor_stats_t before = gl_actor_stats (actor);
        if (gl_actor_credit (actor, before.held + 1) != -1
        ||  gl_actor_stats (actor).held != before.held)
            s_fail ("gl_actor_credit took more than was held");
        harness->owed++;
    }
    return 0;
}

//  written: the actor asks to stop (the runtime must still settle credit).
static int
s_handle_written (gl_actor_t *actor, const char *sender, gl_msg_t **message_p, void *argument)
{
    gl_actor_stop (actor);
    if (((harness_t *) argument)->manual && gl_actor_credit (actor, 1) != 0)
        s_fail ("gl_actor_credit refused a held message's credit");
    return 0;
}

//  Checks the runtime's books after a message.
static void
s_check (gl_actor_t *actor, const harness_t *harness)
{
    gl_actor_stats_t stats = gl_actor_stats (actor);
    if (stats.delivered != stats.handled + stats.refused)
        s_fail ("a delivery neither handled nor refused");
    if (stats.refused != stats.malformed + stats.unhandled + stats.handler_failed)
        s_fail ("a refusal not counted by its reason");
    if (stats.held != harness->owed)
        s_fail ("credit held is not what the handlers keep");
}

//  Appends one frame built from the input.
static void
s_add_frame (zmsg_t *message, cursor_t *cursor)
{
    uint8_t kind = s_byte (cursor);
    if (kind < 0xF0) {
        size_t size = kind;
        if (size > cursor->size - cursor->offset)
            size = cursor->size - cursor->offset;
        zmsg_addmem (message, cursor->data + cursor->offset, size);
        cursor->offset += size;
        return;
    }
    size_t index = (size_t) (kind & 0x0F) % S_TEMPLATES;
    char *copy = malloc (s_template_size [index] + 1);
    if (!copy)
        return;
    memcpy (copy, s_template [index], s_template_size [index]);
    int mutations = s_byte (cursor) % 4;
    for (int mutation = 0; mutation < mutations; mutation++) {
        uint8_t offset = s_byte (cursor), xor_value = s_byte (cursor);
        if (s_template_size [index])
            copy [offset % s_template_size [index]] ^= (char) xor_value;
    }
    zmsg_addmem (message, copy, s_template_size [index]);
    free (copy);
}

//  Builds the next message of the input; NULL at its end.
static zmsg_t *
s_next_message (cursor_t *cursor)
{
    if (cursor->offset >= cursor->size)
        return NULL;
    uint8_t command = s_byte (cursor);
    int frames = s_byte (cursor) % 5;
    zmsg_t *message = zmsg_new ();
    if (!message)
        return NULL;
    if (!(command & 0x20)) {
        uint8_t header [GL_WIRE_HEADER_SIZE];
        gl_wire_header (header, (gl_wire_command_t) (command & 0x0F));
        if (command & 0x10)
            header [2] = GL_WIRE_VERSION + 1;
        zmsg_addmem (message, header, sizeof (header));
    }
    for (int frame = 0; frame < frames; frame++)
        s_add_frame (message, cursor);
    return message;
}

//  Creates one of the two actors with the handlers above.
static gl_actor_t *
s_actor_new (harness_t *harness, uint32_t credit)
{
    gl_actor_options_t options = { .endpoint = S_ENDPOINT, .service = "fuzz",
                                   .instance = harness->manual? "manual": "auto",
                                   .credit = credit, .manual_credit = harness->manual };
    gl_actor_t *actor = gl_actor_new (&options);
    if (!actor)
        s_fail ("gl_actor_new failed");
    gl_actor_on (actor, GL_MSG_ECHO, s_handle_echo, harness);
    gl_actor_on (actor, GL_MSG_FETCH, s_handle_fetch, harness);
    gl_actor_on (actor, GL_MSG_BARS, s_handle_bars, harness);
    gl_actor_on (actor, GL_MSG_EVENT, s_handle_event, harness);
    gl_actor_on (actor, GL_MSG_WRITTEN, s_handle_written, harness);
    return actor;
}

//  The number of open file descriptors: one per libzmq socket not yet
//  reaped, plus a few.
static int
s_open_descriptors (void)
{
    int count = 0;
    DIR *handle = opendir ("/proc/self/fd");
    if (handle) {
        while (readdir (handle))
            count++;
        closedir (handle);
    }
    return count;
}

//  libzmq closes sockets on its reaper thread, behind the fuzzer: with the
//  CPU shared it fell more than ZeroMQ's 1024 sockets behind and czmq's
//  zsock_new asserted. Every few inputs the fuzzer waits (at most 2 s) for
//  the reaper to catch up.
static void
s_pace (void)
{
    static unsigned inputs;
    if (++inputs % S_PACE_EVERY || s_open_descriptors () < S_PACE_HIGH)
        return;
    for (int waited = 0; waited < 2000 && s_open_descriptors () >= S_PACE_LOW; waited++) {
        struct timespec pause = { 0, 1000000 };
        nanosleep (&pause, NULL);
        zsock_events (s_broker);                //  lets the inproc peers finish closing
    }
}

//  Reads and drops what the actors sent.
static void
s_drain (void)
{
    zmsg_t *message;
    while (zsock_events (s_broker) & ZMQ_POLLIN && (message = zmsg_recv (s_broker)))
        zmsg_destroy (&message);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    cursor_t cursor = { data, size, 0 };
    uint32_t credit = 1 + s_byte (&cursor) % 8;
    harness_t harnesses [2] = { { .manual = false }, { .manual = true } };
    gl_actor_t *actors [2] = { s_actor_new (&harnesses [0], credit),
                               s_actor_new (&harnesses [1], credit) };
    zmsg_t *message;
    while ((message = s_next_message (&cursor))) {
        for (int index = 0; index < 2; index++) {
            zmsg_t *copy = index == 0? zmsg_dup (message): message;
            if (index == 1)
                message = NULL;
            gl_actor_dispatch (actors [index], &copy);
            if (copy)
                s_fail ("gl_actor_dispatch left the message to the caller");
            s_check (actors [index], &harnesses [index]);
        }
    }
    //  The manual actor gives back everything it kept: nothing is held.
    if (harnesses [1].owed && gl_actor_credit (actors [1], harnesses [1].owed) != 0)
        s_fail ("gl_actor_credit refused the credit of kept messages");
    if (gl_actor_stats (actors [1]).held != 0)
        s_fail ("credit held after every message was given back");
    for (int index = 0; index < 2; index++) {
        for (size_t kept = 0; kept < harnesses [index].kept_count; kept++)
            gl_msg_destroy (&harnesses [index].kept [kept]);
        gl_actor_destroy (&actors [index]);
    }
    s_drain ();
    s_pace ();
    return 0;
}

//  Encodes a template body; aborts if the test's own template is invalid.
static void
s_template_add (size_t index, gl_msg_t *message)
{
    char error [GL_MSG_ERROR_MAX];
    if (!message || gl_msg_encode (message, &s_template [index], &s_template_size [index],
                                   error) != 0) {
        fprintf (stderr, "fuzz_actor: template %zu: %s\n", index, message? error: "no memory");
        abort ();
    }
    gl_msg_destroy (&message);
}

//  An error body.
static gl_msg_t *
s_error (const char *code)
{
    gl_msg_t *message = gl_msg_new (GL_MSG_ERROR);
    if (message) {
        snprintf (message->error.code, sizeof (message->error.code), "%s", code);
        snprintf (message->error.text, sizeof (message->error.text), "fuzz");
    }
    return message;
}

//  Encodes the bodies the inputs pick from: one of every kind the runtime
//  reads, and the application types its handlers take.
static void
s_templates (void)
{
    const char *token = "0b1e8c1a-5d2f-4a63-9a57-6f0d2c3b4e5f";
    gl_msg_t *message = gl_msg_new (GL_MSG_WELCOME);
    message->welcome.heartbeat_ms = 10;
    snprintf (message->welcome.broker, sizeof (message->welcome.broker), "broker");
    message->welcome.credit_limit = 2;
    message->welcome.queue_limit = 10;
    message->welcome.max_body = 40;
    s_template_add (0, message);
    message = gl_msg_new (GL_MSG_ECHO);
    message->echo.sequence = 1;
    gl_msg_set_payload (message, "ping", 4);
    s_template_add (1, message);
    message = gl_msg_new (GL_MSG_ECHO);
    message->echo.sequence = 2;
    gl_msg_set_payload (message, "a payload long enough to pass a small max_body", 46);
    s_template_add (2, message);
    message = gl_msg_new (GL_MSG_FETCH);
    message->fetch.run_id = 1;
    snprintf (message->fetch.lease_token, sizeof (message->fetch.lease_token), "%s", token);
    snprintf (message->fetch.symbol, sizeof (message->fetch.symbol), "AAPL");
    snprintf (message->fetch.timeframe, sizeof (message->fetch.timeframe), "1d");
    message->fetch.to = 86400;
    s_template_add (3, message);
    message = gl_msg_new (GL_MSG_BARS);
    message->bars.run_id = 1;
    snprintf (message->bars.lease_token, sizeof (message->bars.lease_token), "%s", token);
    snprintf (message->bars.provider, sizeof (message->bars.provider), "polygon");
    snprintf (message->bars.adjustment, sizeof message->bars.adjustment, "split");
    snprintf (message->bars.symbol, sizeof (message->bars.symbol), "AAPL");
    snprintf (message->bars.timeframe, sizeof (message->bars.timeframe), "1d");
    gl_bar_t bar = { .ts = 0, .open = 1, .high = 2, .low = 0.5, .close = 1.5, .volume = 10 };
    gl_msg_add_bar (message, &bar);
    s_template_add (4, message);
    message = gl_msg_new (GL_MSG_EVENT);
    snprintf (message->event.source, sizeof (message->event.source), "fuzz");
    snprintf (message->event.name, sizeof (message->event.name), "tick");
    gl_msg_add_field (message, "key", "value");
    s_template_add (5, message);
    message = gl_msg_new (GL_MSG_WRITTEN);
    message->written.run_id = 1;
    snprintf (message->written.symbol, sizeof (message->written.symbol), "AAPL");
    snprintf (message->written.timeframe, sizeof (message->written.timeframe), "1d");
    message->written.to = 86400;
    s_template_add (6, message);
    s_template_add (7, s_error ("not_registered"));
    s_template_add (8, s_error ("replaced"));
    s_template_add (9, s_error ("shutdown"));
    message = gl_msg_new (GL_MSG_MEMBERSHIP);
    snprintf (message->membership.service, sizeof (message->membership.service), "fuzz");
    snprintf (message->membership.instance, sizeof (message->membership.instance), "auto");
    snprintf (message->membership.event, sizeof (message->membership.event), "current");
    gl_msg_add_member (message, "auto");
    s_template_add (10, message);
    message = gl_msg_new (GL_MSG_READY);
    snprintf (message->ready.service, sizeof (message->ready.service), "fuzz");
    snprintf (message->ready.instance, sizeof (message->ready.instance), "other");
    s_template_add (11, message);
    message = gl_msg_new (GL_MSG_CREDIT);
    message->credit.credit = 5;
    s_template_add (12, message);
    message = gl_msg_new (GL_MSG_FAILED);
    message->failed.run_id = 1;
    snprintf (message->failed.lease_token, sizeof (message->failed.lease_token), "%s", token);
    snprintf (message->failed.provider, sizeof (message->failed.provider), "polygon");
    snprintf (message->failed.error_class, sizeof (message->failed.error_class), "timeout");
    s_template_add (13, message);
    s_template [14] = strdup ("client/c1");    //  a sender address, not a body
    s_template_size [14] = s_template [14]? strlen (s_template [14]): 0;
}

//  Writes the seed inputs into dir if it holds no file yet: a message of
//  every kind the runtime reads, in the input format above.
static void
s_seeds (const char *dir)
{
    DIR *handle = opendir (dir);
    if (!handle)
        return;
    struct dirent *entry;
    bool empty = true;
    while (empty && (entry = readdir (handle)))
        empty = entry->d_name [0] == '.';
    closedir (handle);
    if (!empty)
        return;
#   define S_SEED(name, bytes) { name, sizeof (bytes) - 1, bytes }
    static const struct { const char *name; size_t size; const char *bytes; } seeds [] = {
        S_SEED ("welcome_echo", "\x04\x02\x01\xf0\x00\x07\x02\xfe\x00\xf1\x00"),
        S_SEED ("echo_large", "\x04\x02\x01\xf0\x00\x07\x02\xfe\x00\xf2\x00"),
        S_SEED ("fetch", "\x02\x07\x02\xfe\x00\xf3\x00"),
        S_SEED ("bars", "\x02\x07\x02\xfe\x00\xf4\x00"),
        S_SEED ("event", "\x02\x07\x02\xfe\x00\xf5\x00"),
        S_SEED ("written", "\x02\x07\x02\xfe\x00\xf6\x00"),
        S_SEED ("failed", "\x02\x07\x02\xfe\x00\xfd\x00"),
        S_SEED ("malformed", "\x02\x07\x02\xfe\x00\x03" "abc"),
        S_SEED ("bounce", "\x02\x02\x01\xf0\x00\x08\x03\xfe\x00\xf1\x00\xf7\x00"),
        S_SEED ("replaced", "\x02\x02\x01\xf0\x00\x05\x01\xf8\x00"),
        S_SEED ("shutdown", "\x02\x02\x01\xf0\x00\x05\x01\xf9\x00"),
        S_SEED ("not_registered", "\x02\x02\x01\xf0\x00\x09\x01\xf7\x00"),
        S_SEED ("membership", "\x02\x0a\x01\xfa\x00"),
        S_SEED ("credit_body", "\x02\x02\x01\xfc\x00"),
        S_SEED ("heartbeat", "\x02\x03\x00"),
    };
#   undef S_SEED
    for (size_t index = 0; index < sizeof (seeds) / sizeof (seeds [0]); index++) {
        char path [1024];
        snprintf (path, sizeof (path), "%s/seed_%s", dir, seeds [index].name);
        FILE *file = fopen (path, "wb");
        if (file) {
            fwrite (seeds [index].bytes, 1, seeds [index].size, file);
            fclose (file);
        }
    }
}

//  Closes the fake broker's socket before czmq's own shutdown.
static void
s_cleanup (void)
{
    zsock_destroy (&s_broker);
    for (size_t index = 0; index < S_TEMPLATES; index++)
        free (s_template [index]);
}

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
    //  The runtime logs every refusal it does not rate-limit away; only
    //  errors are worth the fuzzer's time.
    setenv ("GAPLESS_LOG_LEVEL", "error", 0);
    zsys_init ();
    zsys_handler_set (NULL);
    s_broker = zsock_new (ZMQ_ROUTER);
    if (!s_broker || zsock_bind (s_broker, S_ENDPOINT) != 0) {
        fprintf (stderr, "fuzz_actor: cannot bind %s\n", S_ENDPOINT);
        abort ();
    }
    atexit (s_cleanup);
    s_templates ();
    for (int index = 1; index < *argc; index++)
        if ((*argv) [index][0] != '-') {
            s_seeds ((*argv) [index]);
            break;
        }
    return 0;
}
