/*  test_broker_inproc — a broker in the test's own process, driven frame
    by frame through gl_broker_handle, with an inproc DEALER to hear its
    answers: what only an inproc peer can reach (libzmq applies no
    ZMQ_MAXMSGSIZE there), so the broker's own size checks answer
    too_large: a BOUNCE with an empty body frame for a SEND, an ERROR for
    a control body.
*/
#include "gl_broker.h"
#include "gl_msg.h"
#include "gl_test.h"
#include "gl_wire.h"
#include <stdlib.h>
#include <zmq.h>

#define MAX_BODY 1024

static gl_broker_t *s_broker;
static void *s_dealer;

//  Hands the broker one message from the DEALER: routing id "peer", a
//  header, then up to two frames (NULL data: none).
static void
s_handle (gl_wire_command_t command, const void *first, size_t first_size,
          const void *second, size_t second_size)
{
    zmq_msg_t frame [4];
    int frames = 2;
    zmq_msg_init_size (&frame [0], 4);
    memcpy (zmq_msg_data (&frame [0]), "peer", 4);
    zmq_msg_init_size (&frame [1], GL_WIRE_HEADER_SIZE);
    gl_wire_header (zmq_msg_data (&frame [1]), command);
    const void *data [2] = { first, second };
    size_t size [2] = { first_size, second_size };
    for (int index = 0; index < 2 && data [index]; index++, frames++) {
        zmq_msg_init_size (&frame [frames], size [index]);
        memcpy (zmq_msg_data (&frame [frames]), data [index], size [index]);
    }
    gl_broker_handle (s_broker, frame, frames);
    for (int index = 0; index < frames; index++)
        zmq_msg_close (&frame [index]);
}

//  Hands the broker a command with an encoded body.
static void
s_handle_body (gl_wire_command_t command, const gl_msg_t *message)
{
    char *data = NULL, error [GL_MSG_ERROR_MAX];
    size_t size = 0;
    GL_CHECK_INT (gl_msg_encode (message, &data, &size, error), 0);
    s_handle (command, data, size, NULL, 0);
    free (data);
}

//  Receives one message at the DEALER within timeout_ms into up to four
//  frames (header first); skips HEARTBEAT and MEMBERSHIP. Returns the
//  frame count, or 0.
static int
s_receive (zmq_msg_t *frame, int timeout_ms)
{
    int64_t deadline = gl_test_now_ms () + timeout_ms;
    while (gl_test_now_ms () < deadline) {
        zmq_pollitem_t item = { s_dealer, 0, ZMQ_POLLIN, 0 };
        if (zmq_poll (&item, 1, 10) < 1)
            continue;
        int frames = 0;
        int more = 1;
        while (more && frames < 4) {
            zmq_msg_init (&frame [frames]);
            zmq_msg_recv (&frame [frames], s_dealer, 0);
            more = zmq_msg_more (&frame [frames]);
            frames++;
        }
        gl_wire_command_t command = 0;
        gl_wire_header_parse (zmq_msg_data (&frame [0]), zmq_msg_size (&frame [0]), &command);
        if (command != GL_WIRE_HEARTBEAT && command != GL_WIRE_MEMBERSHIP)
            return frames;
        for (int index = 0; index < frames; index++)
            zmq_msg_close (&frame [index]);
    }
    return 0;
}

//  The command of a received message's header frame.
static gl_wire_command_t
s_command (zmq_msg_t *header)
{
    gl_wire_command_t command = 0;
    gl_wire_header_parse (zmq_msg_data (header), zmq_msg_size (header), &command);
    return command;
}

//  The error code of an error body frame, into code.
static const char *
s_code (zmq_msg_t *body, char *code, size_t size)
{
    char error [GL_MSG_ERROR_MAX];
    gl_msg_t *message = gl_msg_decode (zmq_msg_data (body), zmq_msg_size (body), error);
    snprintf (code, size, "%s", message && message->type == GL_MSG_ERROR
                                ? message->error.code: "-");
    gl_msg_destroy (&message);
    return code;
}

//  Closes count received frames.
static void
s_close (zmq_msg_t *frame, int count)
{
    for (int index = 0; index < count; index++)
        zmq_msg_close (&frame [index]);
}

//  Registers "inproc/peer" with credit, retrying until the inproc pipe is
//  attached and WELCOME comes back.
static bool
s_register (void)
{
    gl_msg_t *ready = gl_msg_new (GL_MSG_READY);
    strcpy (ready->ready.service, "inproc");
    strcpy (ready->ready.instance, "peer");
    ready->ready.credit = 10;
    bool welcomed = false;
    int64_t deadline = gl_test_now_ms () + 5000;
    while (!welcomed && gl_test_now_ms () < deadline) {
        s_handle_body (GL_WIRE_READY, ready);
        zmq_msg_t frame [4];
        int frames;
        while (!welcomed && (frames = s_receive (frame, 50)) > 0) {
            welcomed = s_command (&frame [0]) == GL_WIRE_WELCOME;
            s_close (frame, frames);
        }
    }
    gl_msg_destroy (&ready);
    return welcomed;
}

int
main (void)
{
    setenv ("GAPLESS_LOG_LEVEL", "error", 1);
    char error [GL_CONFIG_ERROR_MAX];
    gl_config_t *config = gl_config_load (NULL, error);
    gl_config_set (config, "broker/bind", "inproc://test_broker_inproc");
    gl_config_set (config, "broker/max_body", "1024");
    s_broker = gl_broker_new (config, error);
    gl_config_destroy (&config);
    GL_CHECK (s_broker != NULL);
    if (!s_broker)
        return gl_test_done ("test_broker_inproc");
    s_dealer = zmq_socket (gl_broker_context (s_broker), ZMQ_DEALER);
    int linger = 0;
    zmq_setsockopt (s_dealer, ZMQ_LINGER, &linger, sizeof (linger));
    zmq_setsockopt (s_dealer, ZMQ_ROUTING_ID, "peer", 4);
    GL_CHECK_INT (zmq_connect (s_dealer, "inproc://test_broker_inproc"), 0);
    GL_CHECK (s_register ());

    //  A SEND body of max_body is routed (to the peer itself) ...
    char *body = calloc (1, MAX_BODY + 1);
    s_handle (GL_WIRE_SEND, "inproc/peer", 11, body, MAX_BODY);
    zmq_msg_t frame [4];
    int frames = s_receive (frame, 3000);
    GL_CHECK_INT (frames, 3);
    GL_CHECK (frames == 3 && s_command (&frame [0]) == GL_WIRE_DELIVER
              && zmq_msg_size (&frame [2]) == MAX_BODY);
    s_close (frame, frames);
    //  ... one byte more comes back too_large, without the body.
    s_handle (GL_WIRE_SEND, "inproc/peer", 11, body, MAX_BODY + 1);
    frames = s_receive (frame, 3000);
    char code [64] = "";
    GL_CHECK_INT (frames, 4);
    GL_CHECK (frames == 4 && s_command (&frame [0]) == GL_WIRE_BOUNCE
              && zmq_msg_size (&frame [1]) == 11
              && memcmp (zmq_msg_data (&frame [1]), "inproc/peer", 11) == 0
              && zmq_msg_size (&frame [2]) == 0);
    GL_CHECK_STR (frames == 4? s_code (&frame [3], code, sizeof (code)): "", "too_large");
    s_close (frame, frames);

    //  An oversize control body is answered ERROR too_large.
    s_handle (GL_WIRE_CREDIT, body, MAX_BODY + 1, NULL, 0);
    frames = s_receive (frame, 3000);
    GL_CHECK_INT (frames, 2);
    GL_CHECK (frames == 2 && s_command (&frame [0]) == GL_WIRE_ERROR);
    GL_CHECK_STR (frames == 2? s_code (&frame [1], code, sizeof (code)): "", "too_large");
    s_close (frame, frames);
    free (body);

    gl_broker_stats_t stats = gl_broker_stats (s_broker);
    GL_CHECK_INT (stats.delivered, 1);
    GL_CHECK_INT (stats.bounced, 1);
    GL_CHECK (stats.rejected >= 2);
    zmq_close (s_dealer);
    gl_broker_destroy (&s_broker);
    GL_CHECK (s_broker == NULL);
    return gl_test_done ("test_broker_inproc");
}
