/*  make_corpus — writes fuzz_msg's seed corpus into a folder: one valid
    body per message type, built and encoded by the codec itself (so the
    seeds follow the codec when it changes), plus a few broken bodies near
    the edges the decoder guards.

    Usage: make_corpus <folder>   (the folder is created if missing)
*/
#include "gl_msg.h"
#include <errno.h>
#include <math.h>
#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

//  Writes one seed file; returns 0 or -1.
static int
s_write (const char *folder, const char *name, const void *data, size_t size)
{
    char path [4096];
    snprintf (path, sizeof (path), "%s/%s", folder, name);
    FILE *file = fopen (path, "wb");
    if (!file) {
        fprintf (stderr, "level=error event=seed_not_written path=%s reason=%s\n",
                 path, strerror (errno));
        return -1;
    }
    size_t written = fwrite (data, 1, size, file);
    int closed = fclose (file);
    return written == size && closed == 0? 0: -1;
}

//  Builds a valid message of the type with every field set.
static gl_msg_t *
s_build (gl_msg_type_t type)
{
    gl_msg_t *message = gl_msg_new (type);
    if (!message)
        return NULL;
    gl_bar_t bars [2] = {
        { .ts = 1700000000, .open = 10, .high = 11.5, .low = 9.25, .close = 10.5,
          .volume = 1200, .vwap = 10.4, .trades = 31, .has_vwap = true,
          .has_trades = true },
        { .ts = 1700000060, .open = 10.5, .high = 10.5, .low = 10.5, .close = 10.5,
          .volume = 0, .provisional = true },
    };
    switch (type) {
        case GL_MSG_READY:
            strcpy (message->ready.service, "fetcher.polygon");
            strcpy (message->ready.instance, "host1:4242");
            message->ready.credit = 100;
            gl_msg_add_follow (message, "writer");
            gl_msg_add_follow (message, "fetcher.*");
            break;
        case GL_MSG_WELCOME:
            message->welcome.heartbeat_ms = 1000;
            strcpy (message->welcome.broker, "broker-1");
            message->welcome.credit_limit = 10000;
            message->welcome.queue_limit = 100000;
            message->welcome.max_body = 16777216;
            break;
        case GL_MSG_CREDIT:
            message->credit.credit = 50;
            break;
        case GL_MSG_ERROR:
            strcpy (message->error.code, "queue_full");
            strcpy (message->error.text, "the broker's queue is at its bound");
            break;
        case GL_MSG_MEMBERSHIP:
            strcpy (message->membership.service, "writer");
            strcpy (message->membership.instance, "w-2");
            strcpy (message->membership.event, "joined");
            gl_msg_add_member (message, "w-1");
            gl_msg_add_member (message, "w-2");
            break;
        case GL_MSG_ECHO:
            message->echo.sequence = 9;
            gl_msg_set_payload (message, "caf\xc3\xa9\0\xf0\x9f\x98\x80", 10);
            break;
        case GL_MSG_FETCH:
            message->fetch.run_id = 77;
            strcpy (message->fetch.lease_token, "6f1c2a7e-3b4d-4c5e-8f90-a1b2c3d4e5f6");
            strcpy (message->fetch.symbol, "AAPL");
            strcpy (message->fetch.timeframe, "5m");
            message->fetch.from = 1700000000;
            message->fetch.to = 1700086400;
            message->fetch.attempt = 1;
            break;
        case GL_MSG_BARS:
            message->bars.run_id = 77;
            strcpy (message->bars.lease_token, "6f1c2a7e-3b4d-4c5e-8f90-a1b2c3d4e5f6");
            strcpy (message->bars.provider, "polygon");
            strcpy (message->bars.adjustment, "split");
            strcpy (message->bars.symbol, "AAPL");
            strcpy (message->bars.timeframe, "1m");
            message->bars.last = true;
            gl_msg_add_bar (message, &bars [0]);
            gl_msg_add_bar (message, &bars [1]);
            break;
        case GL_MSG_FAILED:
            message->failed.run_id = 77;
            strcpy (message->failed.lease_token, "6f1c2a7e-3b4d-4c5e-8f90-a1b2c3d4e5f6");
            strcpy (message->failed.provider, "yahoo");
            strcpy (message->failed.error_class, "rate_limited");
            message->failed.retryable = true;
            message->failed.retry_after_ms = 1500;
            strcpy (message->failed.message, "HTTP 429");
            break;
        case GL_MSG_WRITTEN:
            message->written.run_id = 77;
            strcpy (message->written.symbol, "AAPL");
            strcpy (message->written.timeframe, "1d");
            message->written.from = 1600000000;
            message->written.to = 1700000000;
            message->written.rows = 250;
            break;
        case GL_MSG_EVENT:
            strcpy (message->event.source, "ops");
            strcpy (message->event.name, "breaker_open");
            message->event.time_ms = 1700000000123LL;
            gl_msg_add_field (message, "provider", "polygon");
            break;
        case GL_MSG_ENQUEUE:
            strcpy (message->enqueue.request_id, "cli:1:1");
            gl_msg_add_symbol (message, "AAPL");
            gl_msg_add_symbol (message, "MSFT");
            strcpy (message->enqueue.timeframe, "1h");
            message->enqueue.from = 1700000000;
            message->enqueue.to = 1710000000;
            break;
        case GL_MSG_COMMAND:
            strcpy (message->command.request_id, "cli:1:2");
            strcpy (message->command.action, "status");
            break;
        case GL_MSG_GAPS:
            strcpy (message->gaps.request_id, "cli:1:3");
            strcpy (message->gaps.symbol, "AAPL");
            strcpy (message->gaps.timeframe, "1m");
            message->gaps.from = 1700000000;
            message->gaps.to = 1710000000;
            break;
        case GL_MSG_REPLY:
            strcpy (message->reply.request_id, "cli:1:2");
            message->reply.ok = true;
            gl_msg_add_field (message, "backfills", "1");
            gl_msg_add_row (message);
            gl_msg_add_row_field (message, "id", "1");
            break;
        default:
            break;
    }
    return message;
}

//  Packs a key or any string.
static void
s_pack_string (msgpack_packer *packer, const char *text, size_t size)
{
    msgpack_pack_str (packer, size);
    msgpack_pack_str_body (packer, text, size);
}

//  Writes the broken seeds built from a valid bars body and by hand.
static int
s_write_broken (const char *folder, const char *bars, size_t bars_size)
{
    int rc = s_write (folder, "broken-truncated-bars", bars, bars_size - 3);
    char *trailing = malloc (bars_size + 1);
    if (!trailing)
        return -1;
    memcpy (trailing, bars, bars_size);
    trailing [bars_size] = (char) 0xC0;
    rc |= s_write (folder, "broken-trailing-byte", trailing, bars_size + 1);
    free (trailing);
    rc |= s_write (folder, "broken-not-a-map", "\x92\x01\x02", 3);
    rc |= s_write (folder, "broken-array-bomb", "\x81\xa4type\xdd\xff\xff\xff\xff", 10);

    //  fetch with a surrogate in the symbol; credit twice; a bar of 8; NaN.
    msgpack_sbuffer buffer;
    msgpack_packer packer;
    msgpack_sbuffer_init (&buffer);
    msgpack_packer_init (&packer, &buffer, msgpack_sbuffer_write);
    msgpack_pack_map (&packer, 3);
    s_pack_string (&packer, "type", 4);
    s_pack_string (&packer, "fetch", 5);
    s_pack_string (&packer, "symbol", 6);
    s_pack_string (&packer, "\xed\xa0\x80", 3);
    s_pack_string (&packer, "from", 4);
    msgpack_pack_int64 (&packer, -1);
    rc |= s_write (folder, "broken-utf8-surrogate", buffer.data, buffer.size);
    msgpack_sbuffer_clear (&buffer);
    msgpack_pack_map (&packer, 3);
    s_pack_string (&packer, "type", 4);
    s_pack_string (&packer, "credit", 6);
    for (int copy = 0; copy < 2; copy++) {
        s_pack_string (&packer, "credit", 6);
        msgpack_pack_uint32 (&packer, 1);
    }
    rc |= s_write (folder, "broken-duplicate-field", buffer.data, buffer.size);
    msgpack_sbuffer_clear (&buffer);
    msgpack_pack_map (&packer, 2);
    s_pack_string (&packer, "type", 4);
    s_pack_string (&packer, "bars", 4);
    s_pack_string (&packer, "bars", 4);
    msgpack_pack_array (&packer, 2);
    msgpack_pack_array (&packer, 8);
    for (int element = 0; element < 8; element++)
        msgpack_pack_int64 (&packer, element);
    msgpack_pack_array (&packer, 9);
    msgpack_pack_int64 (&packer, 0);
    for (int element = 1; element < 6; element++)
        msgpack_pack_double (&packer, element == 3? NAN: element);
    msgpack_pack_nil (&packer);
    msgpack_pack_nil (&packer);
    msgpack_pack_false (&packer);
    rc |= s_write (folder, "broken-bar-of-8-and-nan", buffer.data, buffer.size);
    msgpack_sbuffer_destroy (&buffer);
    return rc;
}

int
main (int argc, char *argv [])
{
    if (argc != 2) {
        fprintf (stderr, "usage: make_corpus <folder>\n");
        return 2;
    }
    const char *folder = argv [1];
    if (mkdir (folder, 0755) != 0 && errno != EEXIST) {
        fprintf (stderr, "level=error event=corpus_not_created path=%s reason=%s\n",
                 folder, strerror (errno));
        return 1;
    }
    int rc = 0;
    for (gl_msg_type_t type = GL_MSG_READY; type <= GL_MSG_REPLY; type++) {
        gl_msg_t *message = s_build (type);
        char error [GL_MSG_ERROR_MAX] = "";
        char *body = NULL;
        size_t size = 0;
        if (gl_msg_encode (message, &body, &size, error) != 0) {
            fprintf (stderr, "level=error event=seed_invalid type=%s reason=\"%s\"\n",
                     gl_msg_type_name (type), error);
            rc = -1;
        }
        else {
            char name [64];
            snprintf (name, sizeof (name), "valid-%s", gl_msg_type_name (type));
            rc |= s_write (folder, name, body, size);
            if (type == GL_MSG_BARS)
                rc |= s_write_broken (folder, body, size);
        }
        free (body);
        gl_msg_destroy (&message);
    }
    return rc? 1: 0;
}
