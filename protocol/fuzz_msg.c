/*  fuzz_msg — libFuzzer target for the GLP/1 body codec.

    Whatever gl_msg_decode accepts must encode again, and decoding that
    encoding must give the same message, field by field (compared here by
    hand, not through the codec's own field tables, so a field the tables
    forget or an encoder that drops a value is caught), and encode to the
    same bytes. Any mismatch aborts, which libFuzzer reports as a crash
    with the input that caused it.
*/
#include "gl_msg.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

#define S_SAME(field)       (a->field == b->field)
#define S_SAME_TEXT(field)  (strcmp (a->field, b->field) == 0)
#define S_SAME_BITS(field)  (memcmp (&a->field, &b->field, sizeof (a->field)) == 0)

//  True if two bars hold the same values (floats bit for bit).
static bool
s_same_bar (const gl_bar_t *a, const gl_bar_t *b)
{
    return S_SAME (ts) && S_SAME_BITS (open) && S_SAME_BITS (high) && S_SAME_BITS (low)
        && S_SAME_BITS (close) && S_SAME_BITS (volume) && S_SAME (has_vwap)
        && (!a->has_vwap || S_SAME_BITS (vwap)) && S_SAME (has_trades)
        && (!a->has_trades || S_SAME (trades)) && S_SAME (provisional);
}

//  True if two maps of str to str are equal.
static bool
s_same_map (const gl_msg_field_t *a, size_t a_count, const gl_msg_field_t *b, size_t b_count)
{
    bool same = a_count == b_count;
    for (size_t index = 0; same && index < a_count; index++)
        same = strcmp (a [index].key, b [index].key) == 0
            && strcmp (a [index].value, b [index].value) == 0;
    return same;
}

//  True if the variable parts (members, payload, bars, fields) are equal.
static bool
s_same_arrays (const gl_msg_t *a, const gl_msg_t *b)
{
    bool same = true;
    if (a->type == GL_MSG_MEMBERSHIP) {
        same = S_SAME (membership.member_count) && S_SAME (membership.count);
        for (size_t index = 0; same && index < a->membership.member_count; index++)
            same = S_SAME_TEXT (membership.members [index]);
    }
    if (a->type == GL_MSG_READY) {
        same = S_SAME (ready.follow_count);
        for (size_t index = 0; same && index < a->ready.follow_count; index++)
            same = S_SAME_TEXT (ready.follow [index]);
    }
    if (a->type == GL_MSG_ECHO)
        same = S_SAME (echo.payload_size)
            && memcmp (a->echo.payload, b->echo.payload, a->echo.payload_size) == 0;
    if (a->type == GL_MSG_BARS) {
        same = S_SAME (bars.bar_count);
        for (size_t index = 0; same && index < a->bars.bar_count; index++)
            same = s_same_bar (&a->bars.bars [index], &b->bars.bars [index]);
    }
    if (a->type == GL_MSG_EVENT)
        same = s_same_map (a->event.fields, a->event.field_count,
                           b->event.fields, b->event.field_count);
    if (a->type == GL_MSG_ENQUEUE) {
        same = S_SAME (enqueue.symbol_count);
        for (size_t index = 0; same && index < a->enqueue.symbol_count; index++)
            same = S_SAME_TEXT (enqueue.symbols [index]);
    }
    if (a->type == GL_MSG_REPLY) {
        same = s_same_map (a->reply.fields, a->reply.field_count,
                           b->reply.fields, b->reply.field_count)
            && S_SAME (reply.row_count);
        for (size_t index = 0; same && index < a->reply.row_count; index++)
            same = s_same_map (a->reply.rows [index].fields, a->reply.rows [index].field_count,
                               b->reply.rows [index].fields, b->reply.rows [index].field_count);
    }
    return same;
}

//  True if two messages are equal in every field of their type.
static bool
s_same (const gl_msg_t *a, const gl_msg_t *b)
{
    if (!S_SAME (type) || !s_same_arrays (a, b))
        return false;
    switch (a->type) {
        case GL_MSG_READY:
            return S_SAME_TEXT (ready.service) && S_SAME_TEXT (ready.instance)
                && S_SAME (ready.credit);
        case GL_MSG_WELCOME:
            return S_SAME (welcome.heartbeat_ms) && S_SAME_TEXT (welcome.broker)
                && S_SAME (welcome.credit_limit) && S_SAME (welcome.queue_limit)
                && S_SAME (welcome.max_body);
        case GL_MSG_CREDIT:
            return S_SAME (credit.credit);
        case GL_MSG_ERROR:
            return S_SAME_TEXT (error.code) && S_SAME_TEXT (error.text);
        case GL_MSG_MEMBERSHIP:
            return S_SAME_TEXT (membership.service) && S_SAME_TEXT (membership.instance)
                && S_SAME_TEXT (membership.event);
        case GL_MSG_ECHO:
            return S_SAME (echo.sequence);
        case GL_MSG_FETCH:
            return S_SAME (fetch.run_id) && S_SAME_TEXT (fetch.lease_token)
                && S_SAME_TEXT (fetch.symbol) && S_SAME_TEXT (fetch.timeframe)
                && S_SAME (fetch.from) && S_SAME (fetch.to) && S_SAME (fetch.attempt);
        case GL_MSG_BARS:
            return S_SAME (bars.run_id) && S_SAME_TEXT (bars.lease_token)
                && S_SAME_TEXT (bars.provider) && S_SAME_TEXT (bars.symbol)
                && S_SAME_TEXT (bars.timeframe) && S_SAME_TEXT (bars.adjustment) && S_SAME (bars.part) && S_SAME (bars.last);
        case GL_MSG_FAILED:
            return S_SAME (failed.run_id) && S_SAME_TEXT (failed.lease_token)
                && S_SAME_TEXT (failed.provider) && S_SAME_TEXT (failed.error_class)
                && S_SAME (failed.retryable) && S_SAME (failed.retry_after_ms)
                && S_SAME_TEXT (failed.message);
        case GL_MSG_WRITTEN:
            return S_SAME (written.run_id) && S_SAME_TEXT (written.symbol)
                && S_SAME_TEXT (written.timeframe) && S_SAME (written.from)
                && S_SAME (written.to) && S_SAME (written.rows) && S_SAME (written.revisions);
        case GL_MSG_EVENT:
            return S_SAME_TEXT (event.source) && S_SAME_TEXT (event.name)
                && S_SAME (event.time_ms);
        case GL_MSG_ENQUEUE:
            return S_SAME_TEXT (enqueue.request_id) && S_SAME_TEXT (enqueue.tier)
                && S_SAME_TEXT (enqueue.timeframe) && S_SAME (enqueue.from)
                && S_SAME (enqueue.to) && S_SAME (enqueue.priority)
                && S_SAME_TEXT (enqueue.provider) && S_SAME (enqueue.plan);
        case GL_MSG_COMMAND:
            return S_SAME_TEXT (command.request_id) && S_SAME_TEXT (command.action)
                && S_SAME (command.target);
        case GL_MSG_REPLY:
            return S_SAME_TEXT (reply.request_id) && S_SAME (reply.ok)
                && S_SAME_TEXT (reply.error);
        default:
            return false;
    }
}

//  Encodes a message the codec decoded itself; aborts if it will not.
static char *
s_encode (const gl_msg_t *message, size_t *size_p)
{
    char error [GL_MSG_ERROR_MAX] = "";
    char *body = NULL;
    if (gl_msg_encode (message, &body, size_p, error) != 0) {
        fprintf (stderr, "fuzz_msg: a decoded %s does not encode: %s\n",
                 gl_msg_type_name (message->type), error);
        abort ();
    }
    return body;
}

//  Decodes the input; on success checks decode(encode(message)) == message.
int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    char error [GL_MSG_ERROR_MAX] = "";
    gl_msg_t *first = gl_msg_decode (data, size, error);
    if (!first) {
        if (error [0] == '\0') {
            fprintf (stderr, "fuzz_msg: a rejection without a reason\n");
            abort ();
        }
        return 0;
    }
    size_t first_size = 0;
    char *first_body = s_encode (first, &first_size);
    gl_msg_t *second = gl_msg_decode (first_body, first_size, error);
    if (!second) {
        fprintf (stderr, "fuzz_msg: an encoded %s does not decode: %s\n",
                 gl_msg_type_name (first->type), error);
        abort ();
    }
    size_t second_size = 0;
    char *second_body = s_encode (second, &second_size);
    if (!s_same (first, second) || second_size != first_size
    ||  memcmp (first_body, second_body, first_size) != 0) {
        fprintf (stderr, "fuzz_msg: a %s changed in a round trip\n",
                 gl_msg_type_name (first->type));
        abort ();
    }
    free (first_body);
    free (second_body);
    gl_msg_destroy (&first);
    gl_msg_destroy (&second);
    return 0;
}
