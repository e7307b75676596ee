/*  fuzz_broker — libFuzzer target for the broker's framing: arbitrary
    multipart messages, from arbitrary routing ids, into the broker's
    message handler (gl_broker_handle), with the heartbeat sweep run now
    and then. One routing id is a real DEALER connected over inproc, so
    the broker's sends to it succeed and every path after a delivery runs;
    the others are ids ZeroMQ does not know, so sends to them fail with
    EHOSTUNREACH as they do for a peer that has gone.

    The input is read as a sequence of messages. Each message: one byte,
    its frame count (1 + byte % 5, so up to five: "more than four"); then
    per frame one kind byte and its content:
      frame 0 (routing id): the kind picks one of four ids;
      frame 1 (header): kind < 224 gives a valid header for command
        kind % 12 (0 and 11 are invalid codes), else raw bytes follow;
      later frames: kind % 4 == 0 a valid READY body (service and
        instance from the input, credit, maybe a follow pattern),
        kind % 4 == 1 a valid CREDIT body, else raw bytes.
    Raw bytes are a length byte and that many bytes (cut at the input's
    end). The bounds are small so that queues fill and bounces happen.
*/
#include "gl_broker.h"
#include "gl_msg.h"
#include "gl_wire.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static gl_broker_t *s_broker;
static void *s_peer;            //  the DEALER with routing id "peer"

//  Reads the input, byte by byte.
typedef struct {
    const uint8_t *data;
    size_t size, position;
} reader_t;

//  The next byte, or 0 past the end.
static uint8_t
s_byte (reader_t *reader)
{
    return reader->position < reader->size? reader->data [reader->position++]: 0;
}

//  Sets a frame to a length-prefixed run of the input.
static void
s_raw (reader_t *reader, zmq_msg_t *frame)
{
    size_t length = s_byte (reader);
    size_t left = reader->size - reader->position;
    if (length > left)
        length = left;
    zmq_msg_init_size (frame, length);
    if (length)
        memcpy (zmq_msg_data (frame), reader->data + reader->position, length);
    reader->position += length;
}

//  Sets a frame to an encoded body.
static void
s_body (zmq_msg_t *frame, const gl_msg_t *message)
{
    char *data = NULL;
    size_t size = 0;
    char error [GL_MSG_ERROR_MAX];
    if (message && gl_msg_encode (message, &data, &size, error) == 0) {
        zmq_msg_init_size (frame, size);
        memcpy (zmq_msg_data (frame), data, size);
    }
    else
        zmq_msg_init (frame);
    free (data);
}

//  Sets a frame to a valid READY body built from the input.
static void
s_ready (reader_t *reader, zmq_msg_t *frame)
{
    static const char *services [] = { "echo", "fetcher.polygon", "fetcher.yahoo", "writer" };
    static const char *patterns [] = { "fetcher.*", "writer", "echo", "nothing.*" };
    gl_msg_t *ready = gl_msg_new (GL_MSG_READY);
    if (ready) {
        uint8_t choice = s_byte (reader);
        snprintf (ready->ready.service, sizeof (ready->ready.service), "%s",
                  services [choice % 4]);
        snprintf (ready->ready.instance, sizeof (ready->ready.instance), "i%u",
                  (unsigned) (choice >> 2) % 8);
        ready->ready.credit = s_byte (reader) % 8;
        uint8_t follow = s_byte (reader);
        if (follow & 4)
            gl_msg_add_follow (ready, patterns [follow % 4]);
    }
    s_body (frame, ready);
    gl_msg_destroy (&ready);
}

//  Sets a frame to a valid CREDIT body.
static void
s_credit (reader_t *reader, zmq_msg_t *frame)
{
    gl_msg_t *credit = gl_msg_new (GL_MSG_CREDIT);
    if (credit)
        credit->credit.credit = s_byte (reader) % 16;
    s_body (frame, credit);
    gl_msg_destroy (&credit);
}

//  Fills one frame of a message.
static void
s_frame (reader_t *reader, int index, zmq_msg_t *frame)
{
    static const char *ids [] = { "peer", "gone-1", "gone-2", "gone-3" };
    uint8_t kind = s_byte (reader);
    if (index == 0) {
        const char *id = ids [kind % 4];
        zmq_msg_init_size (frame, strlen (id));
        memcpy (zmq_msg_data (frame), id, strlen (id));
    }
    else
    if (index == 1 && kind < 224) {
        zmq_msg_init_size (frame, GL_WIRE_HEADER_SIZE);
        gl_wire_header (zmq_msg_data (frame), (gl_wire_command_t) (kind % 12));
    }
    else
    if (index >= 2 && kind % 4 == 0)
        s_ready (reader, frame);
    else
    if (index >= 2 && kind % 4 == 1)
        s_credit (reader, frame);
    else
        s_raw (reader, frame);
}

//  Reads and drops whatever the broker sent the inproc peer.
static void
s_drain (void)
{
    zmq_msg_t message;
    zmq_msg_init (&message);
    while (zmq_msg_recv (&message, s_peer, ZMQ_DONTWAIT) != -1)
        ;
    zmq_msg_close (&message);
}

//  Creates the broker and its inproc peer, once.
static int
s_setup (void)
{
    setenv ("GAPLESS_LOG_LEVEL", "error", 1);
    char error [GL_CONFIG_ERROR_MAX];
    gl_config_t *config = gl_config_load (NULL, error);
    if (!config)
        return -1;
    gl_config_set (config, "broker/bind", "inproc://fuzz_broker");
    gl_config_set (config, "broker/queue_limit", "32");
    gl_config_set (config, "broker/queue_bytes", "65536");
    gl_config_set (config, "broker/service_queue_bytes", "65536");
    gl_config_set (config, "broker/no_instance_timeout_ms", "1");
    gl_config_set (config, "broker/heartbeat_ms", "10");
    gl_config_set (config, "broker/credit_limit", "4");
    gl_config_set (config, "broker/max_body", "1024");
    s_broker = gl_broker_new (config, error);
    gl_config_destroy (&config);
    if (!s_broker)
        return -1;
    s_peer = zmq_socket (gl_broker_context (s_broker), ZMQ_DEALER);
    int linger = 0;
    zmq_setsockopt (s_peer, ZMQ_LINGER, &linger, sizeof (linger));
    zmq_setsockopt (s_peer, ZMQ_ROUTING_ID, "peer", 4);
    return zmq_connect (s_peer, "inproc://fuzz_broker");
}

//  Feeds one input's messages to the broker (see the top of the file).
int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    if (!s_broker && s_setup () != 0)
        abort ();
    reader_t reader = { data, size, 0 };
    int messages = 0;
    while (reader.position < reader.size) {
        int frames = 1 + s_byte (&reader) % 5;
        zmq_msg_t frame [5];
        for (int index = 0; index < frames; index++)
            s_frame (&reader, index, &frame [index]);
        gl_broker_handle (s_broker, frame, frames);
        for (int index = 0; index < frames; index++)
            zmq_msg_close (&frame [index]);
        if (++messages % 8 == 0)
            gl_broker_sweep (s_broker);
        s_drain ();
    }
    gl_broker_sweep (s_broker);
    s_drain ();
    return 0;
}
