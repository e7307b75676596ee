/*  test_msg — the GLP/1 body codec: every message type round-trips field
    by field, and every kind of bad body is refused with a text naming the
    field (protocol/SPEC.md sections 6 and 7).
*/
#include "gl_msg.h"
#include "gl_test.h"
#include <math.h>
#include <msgpack.h>
#include <stdlib.h>

//  Checks that decoding (or building) yielded NULL and that the error
//  text holds the expected words.
#define S_CHECK_REJECTED(expression, expected) do { \
    error [0] = '\0'; \
    gl_msg_t *rejected_ = (expression); \
    GL_CHECK (rejected_ == NULL); \
    gl_msg_destroy (&rejected_); \
    if (!strstr (error, (expected))) \
        fprintf (stderr, "%s:%d: error \"%s\" lacks \"%s\"\n", \
                 __FILE__, __LINE__, error, (expected)); \
    GL_CHECK (strstr (error, (expected)) != NULL); \
} while (0)

static char error [GL_MSG_ERROR_MAX];

//  A lease token in the one form the codec takes (PostgreSQL's).
#define TOKEN "6f1c2a7e-3b4d-4c5e-8f90-a1b2c3d4e5f6"

//  --------------------------------------------------------------------------
//  Round trips

//  Encodes and decodes a built message; returns the decoded copy.
static gl_msg_t *
s_roundtrip (const gl_msg_t *message)
{
    char *data = NULL;
    size_t size = 0;
    error [0] = '\0';
    GL_CHECK_INT (gl_msg_encode (message, &data, &size, error), 0);
    if (error [0])
        fprintf (stderr, "encode: %s\n", error);
    if (!data)
        return NULL;
    gl_msg_t *copy = gl_msg_decode (data, size, error);
    if (!copy)
        fprintf (stderr, "decode: %s\n", error);
    GL_CHECK (copy != NULL);
    if (copy)
        GL_CHECK_INT (copy->type, message->type);
    free (data);
    return copy;
}

//  The transport bodies: ready, welcome, credit, error, membership.
static void
s_test_roundtrip_transport (void)
{
    gl_msg_t *message = gl_msg_new (GL_MSG_READY);
    strcpy (message->ready.service, "fetcher.polygon");
    strcpy (message->ready.instance, "host1:4242");
    message->ready.credit = 1000000;
    gl_msg_t *copy = s_roundtrip (message);
    if (copy) {
        GL_CHECK_STR (copy->ready.service, "fetcher.polygon");
        GL_CHECK_STR (copy->ready.instance, "host1:4242");
        GL_CHECK_INT (copy->ready.credit, 1000000);
    }
    gl_msg_destroy (&copy);
    gl_msg_destroy (&message);

    message = gl_msg_new (GL_MSG_WELCOME);
    message->welcome.heartbeat_ms = 600000;
    strcpy (message->welcome.broker, "broker-1");
    message->welcome.credit_limit = 1000000;
    message->welcome.queue_limit = UINT32_MAX;
    message->welcome.max_body = GL_MSG_MAX_BODY;
    copy = s_roundtrip (message);
    if (copy) {
        GL_CHECK_INT (copy->welcome.heartbeat_ms, 600000);
        GL_CHECK_STR (copy->welcome.broker, "broker-1");
        GL_CHECK_INT (copy->welcome.credit_limit, 1000000);
        GL_CHECK_INT (copy->welcome.queue_limit, UINT32_MAX);
        GL_CHECK_INT (copy->welcome.max_body, GL_MSG_MAX_BODY);
    }
    gl_msg_destroy (&copy);
    gl_msg_destroy (&message);

    message = gl_msg_new (GL_MSG_CREDIT);
    message->credit.credit = 17;
    copy = s_roundtrip (message);
    if (copy)
        GL_CHECK_INT (copy->credit.credit, 17);
    gl_msg_destroy (&copy);
    gl_msg_destroy (&message);

    message = gl_msg_new (GL_MSG_ERROR);
    strcpy (message->error.code, "queue_full");
    memset (message->error.text, 'x', 256);
    copy = s_roundtrip (message);
    if (copy) {
        GL_CHECK_STR (copy->error.code, "queue_full");
        GL_CHECK_STR (copy->error.text, message->error.text);
        GL_CHECK_INT (strlen (copy->error.text), 256);
    }
    gl_msg_destroy (&copy);
    gl_msg_destroy (&message);

    message = gl_msg_new (GL_MSG_MEMBERSHIP);
    strcpy (message->membership.service, "writer");
    strcpy (message->membership.instance, "w-3");
    strcpy (message->membership.event, "left");
    copy = s_roundtrip (message);
    if (copy) {
        GL_CHECK_STR (copy->membership.event, "left");
        GL_CHECK_INT (copy->membership.member_count, 0);
    }
    gl_msg_destroy (&copy);
    strcpy (message->membership.event, "joined");
    const char *members [] = { "w-1", "w-2", "host:99", "W.3_x" };
    for (size_t index = 0; index < 4; index++)
        GL_CHECK_INT (gl_msg_add_member (message, members [index]), 0);
    copy = s_roundtrip (message);
    if (copy) {
        GL_CHECK_STR (copy->membership.service, "writer");
        GL_CHECK_STR (copy->membership.instance, "w-3");
        GL_CHECK_STR (copy->membership.event, "joined");
        GL_CHECK_INT (copy->membership.member_count, 4);
        for (size_t index = 0; index < 4 && copy->membership.member_count == 4; index++)
            GL_CHECK_STR (copy->membership.members [index], members [index]);
        //  A decoded message can still grow.
        GL_CHECK_INT (gl_msg_add_member (copy, "w-5"), 0);
        GL_CHECK_STR (copy->membership.members [4], "w-5");
    }
    gl_msg_destroy (&copy);
    gl_msg_destroy (&message);
}

//  Echo keeps a binary-safe UTF-8 payload; fetch, failed, written, event.
static void
s_test_roundtrip_application (void)
{
    gl_msg_t *message = gl_msg_new (GL_MSG_ECHO);
    const char payload [] = "a\0b caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf";
    message->echo.sequence = UINT64_MAX;
    GL_CHECK_INT (gl_msg_set_payload (message, payload, sizeof (payload) - 1), 0);
    gl_msg_t *copy = s_roundtrip (message);
    if (copy) {
        GL_CHECK (copy->echo.sequence == UINT64_MAX);
        GL_CHECK_INT (copy->echo.payload_size, sizeof (payload) - 1);
        GL_CHECK (memcmp (copy->echo.payload, payload, sizeof (payload) - 1) == 0);
        GL_CHECK_INT (copy->echo.payload [copy->echo.payload_size], 0);
    }
    gl_msg_destroy (&copy);
    //  No payload set is an empty payload.
    gl_msg_destroy (&message);
    message = gl_msg_new (GL_MSG_ECHO);
    copy = s_roundtrip (message);
    if (copy)
        GL_CHECK_INT (copy->echo.payload_size, 0);
    gl_msg_destroy (&copy);
    gl_msg_destroy (&message);

    message = gl_msg_new (GL_MSG_FETCH);
    message->fetch.run_id = 123456789012ULL;
    strcpy (message->fetch.lease_token, TOKEN);
    strcpy (message->fetch.symbol, "BRK.B");
    strcpy (message->fetch.timeframe, "15m");
    message->fetch.from = 0;
    message->fetch.to = GL_MSG_TIME_END - 1;
    message->fetch.attempt = 3;
    copy = s_roundtrip (message);
    if (copy) {
        GL_CHECK (copy->fetch.run_id == 123456789012ULL);
        GL_CHECK_STR (copy->fetch.lease_token, TOKEN);
        GL_CHECK_STR (copy->fetch.symbol, "BRK.B");
        GL_CHECK_STR (copy->fetch.timeframe, "15m");
        GL_CHECK_INT (copy->fetch.from, 0);
        GL_CHECK (copy->fetch.to == GL_MSG_TIME_END - 1);
        GL_CHECK_INT (copy->fetch.attempt, 3);
    }
    gl_msg_destroy (&copy);
    gl_msg_destroy (&message);

    const char *classes [] = { "rate_limited", "auth", "not_found", "no_data",
                               "server_error", "timeout", "parse_error", "breaker_open" };
    for (size_t index = 0; index < 8; index++) {
        message = gl_msg_new (GL_MSG_FAILED);
        message->failed.run_id = index;
        strcpy (message->failed.lease_token, TOKEN);
        strcpy (message->failed.provider, "polygon");
        strcpy (message->failed.error_class, classes [index]);
        message->failed.retryable = index % 2;
        message->failed.retry_after_ms = 1000 * index;
        strcpy (message->failed.message, "HTTP 429: slow down \xe2\x9c\x8b");
        copy = s_roundtrip (message);
        if (copy) {
            GL_CHECK_INT (copy->failed.run_id, index);
            GL_CHECK_STR (copy->failed.lease_token, TOKEN);
            GL_CHECK_STR (copy->failed.provider, "polygon");
            GL_CHECK_STR (copy->failed.error_class, classes [index]);
            GL_CHECK_INT (copy->failed.retryable, index % 2);
            GL_CHECK_INT (copy->failed.retry_after_ms, 1000 * index);
            GL_CHECK_STR (copy->failed.message, message->failed.message);
        }
        gl_msg_destroy (&copy);
        gl_msg_destroy (&message);
    }

    message = gl_msg_new (GL_MSG_WRITTEN);
    message->written.run_id = 42;
    strcpy (message->written.symbol, "AAPL");
    strcpy (message->written.timeframe, "1w");
    message->written.from = 1700000000;
    message->written.to = 1700000001;
    message->written.rows = 390;
    message->written.revisions = 2;
    copy = s_roundtrip (message);
    if (copy) {
        GL_CHECK_INT (copy->written.run_id, 42);
        GL_CHECK_STR (copy->written.symbol, "AAPL");
        GL_CHECK_STR (copy->written.timeframe, "1w");
        GL_CHECK_INT (copy->written.from, 1700000000);
        GL_CHECK_INT (copy->written.to, 1700000001);
        GL_CHECK_INT (copy->written.rows, 390);
        GL_CHECK_INT (copy->written.revisions, 2);
    }
    gl_msg_destroy (&copy);
    gl_msg_destroy (&message);

    message = gl_msg_new (GL_MSG_EVENT);
    strcpy (message->event.source, "fetcher.polygon/host1:1");
    strcpy (message->event.name, "breaker_open");
    message->event.time_ms = 1700000000123LL;
    const char *keys [] = { "provider", "reason", "\xc3\xa9t\xc3\xa9", "" };
    const char *values [] = { "polygon", "5 errors in 10 s", "\xe2\x82\xac", "" };
    for (size_t index = 0; index < 4; index++)
        GL_CHECK_INT (gl_msg_add_field (message, keys [index], values [index]), 0);
    copy = s_roundtrip (message);
    if (copy) {
        GL_CHECK_STR (copy->event.source, "fetcher.polygon/host1:1");
        GL_CHECK_STR (copy->event.name, "breaker_open");
        GL_CHECK (copy->event.time_ms == 1700000000123LL);
        GL_CHECK_INT (copy->event.field_count, 4);
        for (size_t index = 0; index < 4 && copy->event.field_count == 4; index++) {
            GL_CHECK_STR (copy->event.fields [index].key, keys [index]);
            GL_CHECK_STR (copy->event.fields [index].value, values [index]);
        }
    }
    gl_msg_destroy (&copy);
    gl_msg_destroy (&message);
}

//  Fills a bars message with count bars that vary every field, nullable
//  ones both ways.
static gl_msg_t *
s_bars_message (size_t count)
{
    gl_msg_t *message = gl_msg_new (GL_MSG_BARS);
    message->bars.run_id = 7;
    strcpy (message->bars.lease_token, TOKEN);
    strcpy (message->bars.provider, "yahoo");
    strcpy (message->bars.adjustment, "split");
    strcpy (message->bars.symbol, "MSFT");
    strcpy (message->bars.timeframe, "1m");
    message->bars.part = 2;
    message->bars.last = true;
    for (size_t index = 0; index < count; index++) {
        gl_bar_t bar = {
            .ts = 1700000000 + 60 * (int64_t) index - (index == 1? 1600000000: 0),
            .open = 100.25 + index, .high = 101.5 + index, .low = 99.125 + index,
            .close = 100.0 / 3 + index, .volume = index == 2? 0: 12345.5 * index,
            .vwap = 100.7 + index, .trades = index == 3? INT64_MAX: index * 10,
            .has_vwap = index % 2 == 0, .has_trades = index % 3 != 1,
            .provisional = index % 4 == 3
        };
        GL_CHECK_INT (gl_msg_add_bar (message, &bar), 0);
    }
    return message;
}

//  Bars round-trip bit for bit, nullable fields and the provisional flag
//  included.
static void
s_test_roundtrip_bars (void)
{
    gl_msg_t *message = s_bars_message (6);
    gl_msg_t *copy = s_roundtrip (message);
    if (copy) {
        GL_CHECK (copy->bars.run_id == 7);
        GL_CHECK_STR (copy->bars.lease_token, TOKEN);
        GL_CHECK_STR (copy->bars.provider, "yahoo");
        GL_CHECK_STR (copy->bars.symbol, "MSFT");
        GL_CHECK_STR (copy->bars.timeframe, "1m");
        GL_CHECK_STR (copy->bars.adjustment, "split");
        GL_CHECK_INT (copy->bars.part, 2);
        GL_CHECK (copy->bars.last);
        GL_CHECK_INT (copy->bars.bar_count, 6);
        for (size_t index = 0; index < 6 && copy->bars.bar_count == 6; index++) {
            const gl_bar_t *sent = &message->bars.bars [index];
            const gl_bar_t *got = &copy->bars.bars [index];
            GL_CHECK (got->ts == sent->ts);
            GL_CHECK (got->open == sent->open);
            GL_CHECK (got->high == sent->high);
            GL_CHECK (got->low == sent->low);
            GL_CHECK (got->close == sent->close);
            GL_CHECK (got->volume == sent->volume);
            GL_CHECK_INT (got->has_vwap, sent->has_vwap);
            if (sent->has_vwap)
                GL_CHECK (got->vwap == sent->vwap);
            GL_CHECK_INT (got->has_trades, sent->has_trades);
            if (sent->has_trades)
                GL_CHECK (got->trades == sent->trades);
            GL_CHECK_INT (got->provisional, sent->provisional);
        }
    }
    gl_msg_destroy (&copy);
    //  An empty bars message is valid too (a provider's empty last page).
    gl_msg_destroy (&message);
    message = s_bars_message (0);
    copy = s_roundtrip (message);
    if (copy)
        GL_CHECK_INT (copy->bars.bar_count, 0);
    gl_msg_destroy (&copy);
    gl_msg_destroy (&message);
}

//  Times encode and decode of a 5000-bar message (reported, not judged).
static void
s_measure_bars (void)
{
    gl_msg_t *message = s_bars_message (5000);
    struct timespec start, middle, end;
    char *data = NULL;
    size_t size = 0;
    clock_gettime (CLOCK_MONOTONIC, &start);
    GL_CHECK_INT (gl_msg_encode (message, &data, &size, error), 0);
    clock_gettime (CLOCK_MONOTONIC, &middle);
    gl_msg_t *copy = data? gl_msg_decode (data, size, error): NULL;
    clock_gettime (CLOCK_MONOTONIC, &end);
    GL_CHECK (copy && copy->bars.bar_count == 5000);
    printf ("5000 bars: %zu bytes, encode %.3f ms, decode %.3f ms\n", size,
            (middle.tv_sec - start.tv_sec) * 1e3 + (middle.tv_nsec - start.tv_nsec) / 1e6,
            (end.tv_sec - middle.tv_sec) * 1e3 + (end.tv_nsec - middle.tv_nsec) / 1e6);
    free (data);
    gl_msg_destroy (&copy);
    gl_msg_destroy (&message);
}


//  --------------------------------------------------------------------------
//  Hand-made bodies

//  A value to pack into a hand-made body.
typedef enum { V_NIL, V_INT, V_UINT, V_FLOAT, V_FLOAT32, V_BOOL, V_STR, V_BIN, V_ARRAY,
               V_EXT, V_MAP } s_value_kind_t;
typedef struct {
    s_value_kind_t kind;
    int64_t integer;
    uint64_t unsigned_integer;
    double number;
    const char *data;           //  V_STR, V_BIN bytes
    size_t size;                //  V_STR, V_BIN length; V_ARRAY count of nils
} s_value_t;

#define NIL         (&(s_value_t) { .kind = V_NIL })
#define INT(i)      (&(s_value_t) { V_INT, .integer = (i) })
#define UINT(u)     (&(s_value_t) { V_UINT, .unsigned_integer = (u) })
#define FLOAT(f)    (&(s_value_t) { V_FLOAT, .number = (f) })
#define FLOAT32(f)  (&(s_value_t) { V_FLOAT32, .number = (f) })
#define BOOL(b)     (&(s_value_t) { V_BOOL, .integer = (b) })
#define STR(s)      (&(s_value_t) { V_STR, .data = (s), .size = sizeof (s) - 1 })
#define BIN(s)      (&(s_value_t) { V_BIN, .data = (s), .size = sizeof (s) - 1 })
#define ARRAY(n)    (&(s_value_t) { V_ARRAY, .size = (n) })
#define EXT         (&(s_value_t) { .kind = V_EXT })
#define EMPTY_MAP   (&(s_value_t) { .kind = V_MAP })

//  Packs one value.
static void
s_pack (msgpack_packer *packer, const s_value_t *value)
{
    switch (value->kind) {
        case V_NIL: msgpack_pack_nil (packer); break;
        case V_INT: msgpack_pack_int64 (packer, value->integer); break;
        case V_UINT: msgpack_pack_uint64 (packer, value->unsigned_integer); break;
        case V_FLOAT: msgpack_pack_double (packer, value->number); break;
        case V_FLOAT32: msgpack_pack_float (packer, (float) value->number); break;
        case V_BOOL: value->integer? msgpack_pack_true (packer): msgpack_pack_false (packer); break;
        case V_STR:
            msgpack_pack_str (packer, value->size);
            msgpack_pack_str_body (packer, value->data, value->size);
            break;
        case V_BIN:
            msgpack_pack_bin (packer, value->size);
            msgpack_pack_bin_body (packer, value->data, value->size);
            break;
        case V_ARRAY:
            msgpack_pack_array (packer, value->size);
            for (size_t index = 0; index < value->size; index++)
                msgpack_pack_nil (packer);
            break;
        case V_MAP:
            msgpack_pack_map (packer, 0);
            break;
        case V_EXT:
            msgpack_pack_ext (packer, 1, 7);
            msgpack_pack_ext_body (packer, "x", 1);
            break;
    }
}

//  Packs a string key.
static void
s_pack_key (msgpack_packer *packer, const char *key)
{
    msgpack_pack_str (packer, strlen (key));
    msgpack_pack_str_body (packer, key, strlen (key));
}

//  Decodes a finished buffer and frees it.
static gl_msg_t *
s_decode_buffer (msgpack_sbuffer *buffer)
{
    gl_msg_t *message = gl_msg_decode (buffer->data, buffer->size, error);
    msgpack_sbuffer_destroy (buffer);
    return message;
}

//  A field of a hand-made body.
typedef struct {
    const char *key;
    const s_value_t *value;
} s_entry_t;

//  Decodes a body of the given type and fields, where the field named
//  change is packed as replacement instead (left out when replacement is
//  NULL, added at the end when no field has that name).
static gl_msg_t *
s_decode_with (const char *type, const s_entry_t *entries, size_t count,
               const char *change, const s_value_t *replacement)
{
    size_t found = count;
    for (size_t index = 0; index < count; index++)
        if (change && strcmp (entries [index].key, change) == 0)
            found = index;
    size_t total = 1 + count + (found == count && replacement? 1: 0)
                 - (found < count && !replacement? 1: 0);
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    msgpack_packer packer;
    msgpack_packer_init (&packer, &buffer, msgpack_sbuffer_write);
    msgpack_pack_map (&packer, total);
    s_pack_key (&packer, "type");
    s_pack_key (&packer, type);
    for (size_t index = 0; index < count; index++) {
        const s_value_t *value = index == found? replacement: entries [index].value;
        if (value) {
            s_pack_key (&packer, entries [index].key);
            s_pack (&packer, value);
        }
    }
    if (found == count && replacement) {
        s_pack_key (&packer, change);
        s_pack (&packer, replacement);
    }
    return s_decode_buffer (&buffer);
}

#define S_FETCH(change, replacement) \
    s_decode_with ("fetch", s_fetch_entries, 7, (change), (replacement))

static const s_entry_t s_fetch_entries [] = {
    { "run_id", UINT (1) }, { "lease_token", STR (TOKEN) }, { "symbol", STR ("AAPL") },
    { "timeframe", STR ("1h") }, { "from", INT (100) }, { "to", INT (200) },
    { "attempt", UINT (0) },
};

//  Packs a bars body with one bar whose element at position is replaced
//  (or the whole bar when position is 9), and the given adjustment (NULL:
//  none).
static gl_msg_t *
s_decode_bar_basis (size_t position, const s_value_t *replacement, const s_value_t *adjustment)
{
    const s_value_t *elements [9] = {
        INT (1700000000), FLOAT (1.5), INT (2), FLOAT32 (0.5), INT (-1), UINT (1000),
        NIL, NIL, BOOL (false)
    };
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    msgpack_packer packer;
    msgpack_packer_init (&packer, &buffer, msgpack_sbuffer_write);
    msgpack_pack_map (&packer, adjustment? 10: 9);
    s_pack_key (&packer, "type");
    s_pack_key (&packer, "bars");
    s_pack_key (&packer, "bars");
    msgpack_pack_array (&packer, 2);
    for (size_t bar = 0; bar < 2; bar++) {
        if (bar == 1 && position == 9) {
            s_pack (&packer, replacement);
            continue;
        }
        msgpack_pack_array (&packer, 9);
        for (size_t index = 0; index < 9; index++)
            s_pack (&packer, bar == 1 && index == position? replacement: elements [index]);
    }
    const s_entry_t entries [] = {
        { "run_id", UINT (1) }, { "lease_token", STR (TOKEN) }, { "provider", STR ("p") },
        { "symbol", STR ("X") }, { "timeframe", STR ("1d") }, { "part", UINT (0) },
        { "last", BOOL (true) },
    };
    for (size_t index = 0; index < 7; index++) {
        s_pack_key (&packer, entries [index].key);
        s_pack (&packer, entries [index].value);
    }
    if (adjustment) {
        s_pack_key (&packer, "adjustment");
        s_pack (&packer, adjustment);
    }
    return s_decode_buffer (&buffer);
}

//  Packs a bars body of split-adjusted prices with one bar's element replaced.
static gl_msg_t *
s_decode_bar (size_t position, const s_value_t *replacement)
{
    return s_decode_bar_basis (position, replacement, STR ("split"));
}

//  Hand-made bodies that are valid: any field order, integers and
//  float32 where floats are expected, UTF-8 edge code points.
static void
s_test_accepts (void)
{
    gl_msg_t *message = S_FETCH (NULL, NULL);
    GL_CHECK (message && message->fetch.from == 100 && message->fetch.to == 200);
    gl_msg_destroy (&message);
    const s_entry_t reversed [] = {
        { "attempt", UINT (0) }, { "to", INT (200) }, { "from", INT (150) },
        { "timeframe", STR ("1h") },
        { "symbol", STR ("\xed\x9f\xbf\xee\x80\x80\xf4\x8f\xbf\xbf\xc2\x80") },
        { "lease_token", STR (TOKEN) },
        { "run_id", UINT (1) },
    };
    message = s_decode_with ("fetch", reversed, 7, NULL, NULL);
    GL_CHECK (message && message->fetch.from == 150);
    gl_msg_destroy (&message);

    message = s_decode_bar (8, BOOL (true));
    GL_CHECK (message != NULL);
    if (message && message->bars.bar_count == 2) {
        const gl_bar_t *bar = &message->bars.bars [1];
        GL_CHECK (bar->open == 1.5 && bar->high == 2 && bar->low == 0.5);
        GL_CHECK (bar->close == -1 && bar->volume == 1000);
        GL_CHECK (!bar->has_vwap && !bar->has_trades && bar->provisional);
    }
    gl_msg_destroy (&message);
    message = s_decode_bar (6, INT (-3));
    GL_CHECK (message && message->bars.bars [1].has_vwap && message->bars.bars [1].vwap == -3);
    gl_msg_destroy (&message);
    message = s_decode_bar (7, UINT (INT64_MAX));
    GL_CHECK (message && message->bars.bars [1].trades == INT64_MAX);
    gl_msg_destroy (&message);
}

//  The body as a whole: size, truncation, trailing bytes, not a map, the
//  type entry.
static void
s_test_rejects_body (void)
{
    gl_msg_t *message = s_bars_message (3);
    char *data = NULL;
    size_t size = 0;
    GL_CHECK_INT (gl_msg_encode (message, &data, &size, error), 0);
    gl_msg_destroy (&message);
    for (size_t prefix = 0; data && prefix < size; prefix++)
        S_CHECK_REJECTED (gl_msg_decode (data, prefix, error), "truncated");
    char *longer = malloc (size + 1);
    memcpy (longer, data, size);
    longer [size] = (char) 0xC0;
    S_CHECK_REJECTED (gl_msg_decode (longer, size + 1, error), "body: 1 trailing bytes");
    free (longer);
    free (data);

    //  A 16 MiB body is not refused for its size; one byte more is.
    char *huge = calloc (1, GL_MSG_MAX_BODY + 1);
    S_CHECK_REJECTED (gl_msg_decode (huge, GL_MSG_MAX_BODY, error), "trailing bytes");
    S_CHECK_REJECTED (gl_msg_decode (huge, GL_MSG_MAX_BODY + 1, error),
                      "body: expected at most 16777216 bytes, got 16777217");
    free (huge);

    S_CHECK_REJECTED (gl_msg_decode ("", 0, error), "body: truncated");
    S_CHECK_REJECTED (gl_msg_decode (NULL, 4, error), "body: expected data");
    S_CHECK_REJECTED (gl_msg_decode ("\xc1", 1, error), "invalid MessagePack byte 0xc1");
    S_CHECK_REJECTED (gl_msg_decode ("\x92\x01\x02", 3, error),
                      "body: expected a map, got an array of 2 elements");
    S_CHECK_REJECTED (gl_msg_decode ("\xc0", 1, error), "body: expected a map, got nil");
    S_CHECK_REJECTED (gl_msg_decode ("\xa1x", 2, error), "body: expected a map, got a string");
    S_CHECK_REJECTED (gl_msg_decode ("\x80", 1, error), "body: expected a \"type\" entry");
    //  Containers that declare more elements than bytes remain are cut off
    //  before any allocation (4 G elements would be 96 GB of slots).
    S_CHECK_REJECTED (gl_msg_decode ("\xdd\xff\xff\xff\xff", 5, error), "4294967295 objects declared");
    S_CHECK_REJECTED (gl_msg_decode ("\xdf\xff\xff\xff\xff", 5, error), "truncated");
    S_CHECK_REJECTED (gl_msg_decode ("\x81\xa4type\xdd\x00\x01\x00\x00\xc0", 12, error),
                      "truncated");
    S_CHECK_REJECTED (gl_msg_decode ("\x81\xa4type\xdb\xff\xff\xff\xf0", 11, error),
                      "truncated");

    const s_entry_t one [] = { { "run_id", UINT (1) } };
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    msgpack_packer packer;
    msgpack_packer_init (&packer, &buffer, msgpack_sbuffer_write);
    msgpack_pack_map (&packer, 2);
    s_pack_key (&packer, "run_id");
    msgpack_pack_uint64 (&packer, 1);
    s_pack_key (&packer, "type");
    s_pack_key (&packer, "fetch");
    //  "type" need not come first: the body is read as a fetch.
    S_CHECK_REJECTED (s_decode_buffer (&buffer), "fetch.lease_token: missing required field");
    S_CHECK_REJECTED (s_decode_with ("fetchx", one, 1, NULL, NULL),
                      "body.type: unknown type \"fetchx\"");
    S_CHECK_REJECTED (s_decode_with ("\n\x01", one, 1, NULL, NULL),
                      "body.type: unknown type \"??\"");
    S_CHECK_REJECTED (s_decode_with ("invalid", one, 1, NULL, NULL), "unknown type");

    msgpack_sbuffer_init (&buffer);
    msgpack_pack_map (&packer, 1);
    s_pack_key (&packer, "type");
    msgpack_pack_uint64 (&packer, 7);
    S_CHECK_REJECTED (s_decode_buffer (&buffer), "body.type: expected a string, got 7");
}

//  Fields: unknown, missing, duplicate, wrong type, nil, range, enums.
static void
s_test_rejects_fields (void)
{
    S_CHECK_REJECTED (S_FETCH ("colour", STR ("red")), "fetch: unknown field \"colour\"");
    S_CHECK_REJECTED (S_FETCH ("attempt", NULL), "fetch.attempt: missing required field");
    S_CHECK_REJECTED (S_FETCH ("run_id", NULL), "fetch.run_id: missing required field");
    S_CHECK_REJECTED (S_FETCH ("type", STR ("fetch")), "body.type: duplicate field");

    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    msgpack_packer packer;
    msgpack_packer_init (&packer, &buffer, msgpack_sbuffer_write);
    msgpack_pack_map (&packer, 3);
    s_pack_key (&packer, "type");
    s_pack_key (&packer, "credit");
    s_pack_key (&packer, "credit");
    msgpack_pack_uint64 (&packer, 1);
    s_pack_key (&packer, "credit");
    msgpack_pack_uint64 (&packer, 2);
    S_CHECK_REJECTED (s_decode_buffer (&buffer), "credit.credit: duplicate field");
    msgpack_sbuffer_init (&buffer);
    msgpack_pack_map (&packer, 2);
    s_pack_key (&packer, "type");
    s_pack_key (&packer, "credit");
    msgpack_pack_uint64 (&packer, 1);
    msgpack_pack_uint64 (&packer, 1);
    S_CHECK_REJECTED (s_decode_buffer (&buffer), "body: expected string keys, got 1");

    S_CHECK_REJECTED (S_FETCH ("run_id", STR ("1")),
                      "fetch.run_id: expected an integer 0..18446744073709551615, got a string");
    S_CHECK_REJECTED (S_FETCH ("run_id", INT (-1)), "fetch.run_id: expected an integer 0..");
    S_CHECK_REJECTED (S_FETCH ("run_id", FLOAT (1.0)), "fetch.run_id: expected an integer");
    S_CHECK_REJECTED (S_FETCH ("symbol", INT (5)), "fetch.symbol: expected a string, got 5");
    S_CHECK_REJECTED (S_FETCH ("symbol", BIN ("AAPL")), "fetch.symbol: expected a string, got binary");
    S_CHECK_REJECTED (S_FETCH ("symbol", EXT), "fetch.symbol: expected a string, got an extension");
    S_CHECK_REJECTED (S_FETCH ("from", FLOAT (1.5)),
                      "fetch.from: expected a 64-bit integer, got 1.5");
    S_CHECK_REJECTED (S_FETCH ("from", UINT (UINT64_MAX)), "fetch.from: expected a 64-bit integer");
    S_CHECK_REJECTED (S_FETCH ("to", BOOL (true)), "fetch.to: expected a 64-bit integer, got a bool");
    S_CHECK_REJECTED (S_FETCH ("attempt", UINT (4294967296ULL)),
                      "fetch.attempt: expected an integer 0..4294967295, got 4294967296");
    S_CHECK_REJECTED (S_FETCH ("attempt", ARRAY (1)), "got an array of 1 elements");

    S_CHECK_REJECTED (S_FETCH ("symbol", NIL), "fetch.symbol: expected a string, got nil");
    S_CHECK_REJECTED (S_FETCH ("run_id", NIL), "fetch.run_id: expected an integer 0..18446744073709551615, got nil");
    S_CHECK_REJECTED (S_FETCH ("from", NIL), "fetch.from: expected a 64-bit integer, got nil");

    S_CHECK_REJECTED (S_FETCH ("timeframe", STR ("2m")),
                      "fetch.timeframe: expected one of 1m 5m 15m 30m 1h 4h 1d 1w");
    S_CHECK_REJECTED (S_FETCH ("timeframe", STR ("")), "fetch.timeframe: expected one of");
    S_CHECK_REJECTED (S_FETCH ("timeframe", STR ("1M")), "fetch.timeframe: expected one of");
    S_CHECK_REJECTED (S_FETCH ("timeframe", STR ("15m5")), "fetch.timeframe: expected one of 1m");
    S_CHECK_REJECTED (S_FETCH ("timeframe", INT (1)), "fetch.timeframe: expected a string, got 1");
    S_CHECK_REJECTED (S_FETCH ("to", INT (100)), "fetch.to: expected from < to, got from 100 to 100");
    S_CHECK_REJECTED (S_FETCH ("to", INT (99)), "fetch.to: expected from < to");

    const s_entry_t written [] = {
        { "run_id", UINT (1) }, { "symbol", STR ("X") }, { "timeframe", STR ("5m") },
        { "from", INT (10) }, { "to", INT (20) }, { "rows", UINT (0) },
        { "revisions", UINT (0) },
    };
    gl_msg_t *accepted = s_decode_with ("written", written, 7, NULL, NULL);
    GL_CHECK (accepted != NULL);
    gl_msg_destroy (&accepted);
    S_CHECK_REJECTED (s_decode_with ("written", written, 7, "to", INT (5)),
                      "written.to: expected from < to");
    S_CHECK_REJECTED (s_decode_with ("written", written, 7, "rows", INT (-1)),
                      "written.rows: expected an integer 0..18446744073709551615, got -1");

    const s_entry_t ready [] = {
        { "service", STR ("writer") }, { "instance", STR ("w-1") }, { "credit", UINT (10) },
    };
    S_CHECK_REJECTED (s_decode_with ("ready", ready, 3, "credit", UINT (1000001)),
                      "ready.credit: expected an integer 0..1000000, got 1000001");
    S_CHECK_REJECTED (s_decode_with ("ready", ready, 3, "credit", INT (-1)),
                      "ready.credit: expected an integer 0..1000000, got -1");
    S_CHECK_REJECTED (s_decode_with ("ready", ready, 3, "service", STR ("Writer")),
                      "ready.service: expected a service name");
    S_CHECK_REJECTED (s_decode_with ("ready", ready, 3, "service", STR ("")),
                      "ready.service: expected a service name");
    S_CHECK_REJECTED (s_decode_with ("ready", ready, 3, "instance", STR ("a/b")),
                      "ready.instance: expected an instance id");
    const s_entry_t credit [] = { { "credit", UINT (1000000) } };
    accepted = s_decode_with ("credit", credit, 1, NULL, NULL);
    GL_CHECK (accepted && accepted->credit.credit == 1000000);
    gl_msg_destroy (&accepted);

    const s_entry_t failed [] = {
        { "run_id", UINT (1) }, { "lease_token", STR (TOKEN) }, { "provider", STR ("p") },
        { "error_class", STR ("timeout") }, { "retryable", BOOL (true) },
        { "retry_after_ms", UINT (0) }, { "message", STR ("m") },
    };
    GL_CHECK ((accepted = s_decode_with ("failed", failed, 7, NULL, NULL)) != NULL);
    gl_msg_destroy (&accepted);
    S_CHECK_REJECTED (s_decode_with ("failed", failed, 7, "error_class", STR ("flaky")),
                      "failed.error_class: expected one of rate_limited auth not_found");
    S_CHECK_REJECTED (s_decode_with ("failed", failed, 7, "error_class",
                                     STR ("rate_limited_by_the_provider")),
                      "failed.error_class: expected one of rate_limited auth not_found");
    S_CHECK_REJECTED (s_decode_with ("failed", failed, 7, "retryable", INT (1)),
                      "failed.retryable: expected a bool, got 1");

    const s_entry_t membership [] = {
        { "service", STR ("writer") }, { "instance", STR ("w-1") },
        { "event", STR ("joined") }, { "count", UINT (0) }, { "members", ARRAY (0) },
    };
    GL_CHECK ((accepted = s_decode_with ("membership", membership, 5, NULL, NULL)) != NULL);
    gl_msg_destroy (&accepted);
    S_CHECK_REJECTED (s_decode_with ("membership", membership, 5, "event", STR ("Joined")),
                      "membership.event: expected joined, left or current");
    S_CHECK_REJECTED (s_decode_with ("membership", membership, 5, "event", STR ("departed")),
                      "membership.event: expected joined, left or current");
    S_CHECK_REJECTED (s_decode_with ("membership", membership, 5, "members", ARRAY (1)),
                      "membership.members[0]: expected a string, got nil");
    S_CHECK_REJECTED (s_decode_with ("membership", membership, 5, "members", ARRAY (1025)),
                      "membership.members: expected an array of at most 1024 names, "
                      "got an array of 1025 elements");
    S_CHECK_REJECTED (s_decode_with ("membership", membership, 5, "members", STR ("w-1")),
                      "membership.members: expected an array of at most 1024 names, got a string");

    const s_entry_t event [] = {
        { "source", STR ("cli") }, { "name", STR ("started") }, { "time_ms", INT (0) },
        { "fields", NIL },
    };
    S_CHECK_REJECTED (s_decode_with ("event", event, 4, NULL, NULL),
                      "event.fields: expected a map of at most 64 fields, got nil");
}

//  Strings: UTF-8 of every broken kind, NUL bytes, limits at the edge.
static void
s_test_rejects_strings (void)
{
    S_CHECK_REJECTED (S_FETCH ("symbol", STR ("\xc0\xaf")),
                      "fetch.symbol: expected valid UTF-8");        //  overlong '/'
    S_CHECK_REJECTED (S_FETCH ("symbol", STR ("\xe0\x80\xaf")), "valid UTF-8");
    S_CHECK_REJECTED (S_FETCH ("symbol", STR ("\xf0\x80\x80\xaf")), "valid UTF-8");
    S_CHECK_REJECTED (S_FETCH ("symbol", STR ("a\xed\xa0\x80z")), "valid UTF-8");
    S_CHECK_REJECTED (S_FETCH ("symbol", STR ("\xed\xbf\xbf")), "valid UTF-8");
    S_CHECK_REJECTED (S_FETCH ("symbol", STR ("\xf4\x90\x80\x80")), "valid UTF-8");
    S_CHECK_REJECTED (S_FETCH ("symbol", STR ("\xf8\x88\x80\x80\x80")), "valid UTF-8");
    S_CHECK_REJECTED (S_FETCH ("symbol", STR ("ab\xe2\x82")), "valid UTF-8");
    S_CHECK_REJECTED (S_FETCH ("symbol", STR ("\xe2\x82z")), "valid UTF-8");
    S_CHECK_REJECTED (S_FETCH ("symbol", STR ("\x80")), "valid UTF-8");
    S_CHECK_REJECTED (S_FETCH ("symbol", STR ("\xff")), "valid UTF-8");
    S_CHECK_REJECTED (S_FETCH ("symbol", STR ("A\0B")),
                      "fetch.symbol: expected a string without NUL bytes");

    S_CHECK_REJECTED (S_FETCH ("symbol", STR ("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456")),
                      "fetch.symbol: expected at most 32 bytes, got 33");
    gl_msg_t *accepted = S_FETCH ("symbol", STR ("ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"));
    GL_CHECK (accepted && strlen (accepted->fetch.symbol) == 32);
    gl_msg_destroy (&accepted);
    char long_text [600];
    memset (long_text, 'k', sizeof (long_text));
    s_value_t text = { V_STR, .data = long_text, .size = 65 };
    S_CHECK_REJECTED (S_FETCH ("lease_token", &text), "fetch.lease_token: expected a UUID");
    const s_entry_t error_entries [] = { { "code", STR ("queue_full") }, { "text", STR ("t") } };
    text.size = 257;
    S_CHECK_REJECTED (s_decode_with ("error", error_entries, 2, "text", &text),
                      "error.text: expected at most 256 bytes, got 257");
    text.size = 33;
    S_CHECK_REJECTED (s_decode_with ("error", error_entries, 2, "code", &text),
                      "error.code: expected at most 32 bytes");
    const s_entry_t failed [] = {
        { "run_id", UINT (1) }, { "lease_token", STR (TOKEN) }, { "provider", STR ("p") },
        { "error_class", STR ("timeout") }, { "retryable", BOOL (true) },
        { "retry_after_ms", UINT (0) }, { "message", STR ("m") },
    };
    text.size = 512;
    GL_CHECK ((accepted = s_decode_with ("failed", failed, 7, "message", &text)) != NULL);
    gl_msg_destroy (&accepted);
    text.size = 513;
    S_CHECK_REJECTED (s_decode_with ("failed", failed, 7, "message", &text),
                      "failed.message: expected at most 512 bytes, got 513");

    const s_entry_t echo [] = { { "sequence", UINT (1) }, { "payload", STR ("x") } };
    S_CHECK_REJECTED (s_decode_with ("echo", echo, 2, "payload", STR ("\xed\xa0\x80")),
                      "echo.payload: expected valid UTF-8");
    S_CHECK_REJECTED (s_decode_with ("echo", echo, 2, "payload", BIN ("x")),
                      "echo.payload: expected a string, got binary");
    size_t big = 1024 * 1024 + 1;
    char *payload = malloc (big);
    memset (payload, 'p', big);
    s_value_t large = { V_STR, .data = payload, .size = big - 1 };
    GL_CHECK ((accepted = s_decode_with ("echo", echo, 2, "payload", &large)) != NULL);
    gl_msg_destroy (&accepted);
    large.size = big;
    S_CHECK_REJECTED (s_decode_with ("echo", echo, 2, "payload", &large),
                      "echo.payload: expected at most 1048576 bytes, got 1048577");
    free (payload);
}

//  Event fields and bar arrays.
static void
s_test_rejects_nested (void)
{
    msgpack_sbuffer buffer;
    msgpack_packer packer;
    msgpack_packer_init (&packer, &buffer, msgpack_sbuffer_write);
    //  Fields maps with one bad pair at the end, and one of 65 pairs.
    const s_value_t *bad_pairs [][2] = {
        { STR ("k"), STR ("\xc0\x80") }, { STR ("\xe0\x9f\xbf"), STR ("v") },
        { INT (1), STR ("v") }, { STR ("k"), NIL }, { STR ("a"), STR ("v") },
        { STR ("k\0"), STR ("v") },
    };
    const char *expected [] = {
        "event.fields[1].value: expected valid UTF-8", "event.fields[1].key: expected valid UTF-8",
        "event.fields[1].key: expected a string, got 1", "event.fields[1].value: expected a string, got nil",
        "event.fields[1].key: duplicate key", "event.fields[1].key: expected a string without NUL",
    };
    for (size_t index = 0; index < 7; index++) {
        msgpack_sbuffer_init (&buffer);
        msgpack_pack_map (&packer, 5);
        s_pack_key (&packer, "type");
        s_pack_key (&packer, "event");
        s_pack_key (&packer, "source");
        s_pack_key (&packer, "cli");
        s_pack_key (&packer, "name");
        s_pack_key (&packer, "n");
        s_pack_key (&packer, "time_ms");
        msgpack_pack_int64 (&packer, 5);
        s_pack_key (&packer, "fields");
        msgpack_pack_map (&packer, index < 6? 2: 65);
        s_pack_key (&packer, "a");
        s_pack_key (&packer, "b");
        if (index < 6) {
            s_pack (&packer, bad_pairs [index][0]);
            s_pack (&packer, bad_pairs [index][1]);
            S_CHECK_REJECTED (s_decode_buffer (&buffer), expected [index]);
        }
        else {
            for (int pair = 0; pair < 64; pair++) {
                char key [8];
                snprintf (key, sizeof (key), "k%d", pair);
                s_pack_key (&packer, key);
                s_pack_key (&packer, "v");
            }
            S_CHECK_REJECTED (s_decode_buffer (&buffer),
                              "event.fields: expected a map of at most 64 fields, got a map of 65");
        }
    }
    char long_text [300];
    memset (long_text, 'f', sizeof (long_text));
    msgpack_sbuffer_init (&buffer);
    msgpack_pack_map (&packer, 2);
    s_pack_key (&packer, "type");
    s_pack_key (&packer, "event");
    s_pack_key (&packer, "fields");
    msgpack_pack_map (&packer, 1);
    s_pack_key (&packer, "k");
    msgpack_pack_str (&packer, 257);
    msgpack_pack_str_body (&packer, long_text, 257);
    S_CHECK_REJECTED (s_decode_buffer (&buffer),
                      "event.fields[0].value: expected at most 256 bytes, got 257");

    S_CHECK_REJECTED (s_decode_bar (9, ARRAY (8)),
                      "bars.bars[1]: expected an array of 9 elements, got an array of 8 elements");
    S_CHECK_REJECTED (s_decode_bar (9, ARRAY (10)), "bars.bars[1]: expected an array of 9 elements");
    S_CHECK_REJECTED (s_decode_bar (9, NIL), "bars.bars[1]: expected an array of 9 elements, got nil");
    S_CHECK_REJECTED (s_decode_bar (0, FLOAT (1.5)), "bars.bars[1][0]: expected an integer, got 1.5");
    S_CHECK_REJECTED (s_decode_bar (0, NIL), "bars.bars[1][0]: expected an integer, got nil");
    S_CHECK_REJECTED (s_decode_bar (1, NIL), "bars.bars[1][1]: expected a finite float, got nil");
    S_CHECK_REJECTED (s_decode_bar (2, FLOAT (NAN)), "bars.bars[1][2]: expected a finite float, got nan");
    S_CHECK_REJECTED (s_decode_bar (3, FLOAT32 (INFINITY)), "bars.bars[1][3]: expected a finite float, got inf");
    S_CHECK_REJECTED (s_decode_bar (5, FLOAT (-INFINITY)), "bars.bars[1][5]: expected a finite float, got -inf");
    S_CHECK_REJECTED (s_decode_bar (4, STR ("1.0")), "bars.bars[1][4]: expected a finite float, got a string");
    S_CHECK_REJECTED (s_decode_bar (6, FLOAT (NAN)), "bars.bars[1][6]: expected a finite float or nil, got nan");
    S_CHECK_REJECTED (s_decode_bar (6, BOOL (false)), "bars.bars[1][6]: expected a finite float or nil");
    S_CHECK_REJECTED (s_decode_bar (7, INT (-1)), "bars.bars[1][7]: expected an integer 0..9223372036854775807 or nil, got -1");
    S_CHECK_REJECTED (s_decode_bar (7, FLOAT (3)), "bars.bars[1][7]: expected an integer");
    S_CHECK_REJECTED (s_decode_bar (8, NIL), "bars.bars[1][8]: expected a bool, got nil");
    S_CHECK_REJECTED (s_decode_bar (8, INT (0)), "bars.bars[1][8]: expected a bool, got 0");
    //  Every bars message says the price basis of its bars.
    S_CHECK_REJECTED (s_decode_bar_basis (8, BOOL (true), NULL), "bars.adjustment");
    S_CHECK_REJECTED (s_decode_bar_basis (8, BOOL (true), STR ("all")),
                      "bars.adjustment: expected raw or split");
    S_CHECK_REJECTED (s_decode_bar_basis (8, BOOL (true), STR ("")),
                      "bars.adjustment: expected raw or split");
    S_CHECK_REJECTED (s_decode_bar_basis (8, BOOL (true), STR ("splitx")),
                      "bars.adjustment: expected raw or split");

    //  50 001 bars are refused on the count, before any bar is read.
    msgpack_sbuffer_init (&buffer);
    msgpack_pack_map (&packer, 2);
    s_pack_key (&packer, "type");
    s_pack_key (&packer, "bars");
    s_pack_key (&packer, "bars");
    s_pack (&packer, ARRAY (GL_MSG_MAX_BARS + 1));
    S_CHECK_REJECTED (s_decode_buffer (&buffer),
                      "bars.bars: expected an array of at most 50000 bars, got an array of 50001 elements");
}

//  --------------------------------------------------------------------------
//  Building, validating, ownership

//  Encoding refuses what decoding would refuse; builders enforce limits.
static void
s_test_build_rules (void)
{
    char *data = (char *) "untouched";
    size_t size = 99;
    gl_msg_t *message = gl_msg_new (GL_MSG_FETCH);
    error [0] = '\0';
    GL_CHECK_INT (gl_msg_encode (message, &data, &size, error), -1);
    GL_CHECK_STR (error, "fetch.lease_token: expected a UUID as 36 characters "
                         "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx of [0-9a-f]");
    strcpy (message->fetch.lease_token, TOKEN);
    GL_CHECK_INT (gl_msg_encode (message, &data, &size, error), -1);
    GL_CHECK_STR (error, "fetch.timeframe: expected one of 1m 5m 15m 30m 1h 4h 1d 1w");
    GL_CHECK_STR (data, "untouched");
    GL_CHECK_INT (size, 99);
    strcpy (message->fetch.timeframe, "1d");
    GL_CHECK_INT (gl_msg_validate (message, error), -1);
    GL_CHECK_STR (error, "fetch.to: expected from < to, got from 0 to 0");
    message->fetch.to = 1;
    GL_CHECK_INT (gl_msg_validate (message, error), 0);
    memset (message->fetch.symbol, 'A', sizeof (message->fetch.symbol));
    GL_CHECK_INT (gl_msg_validate (message, error), -1);
    GL_CHECK_STR (error, "fetch.symbol: expected at most 32 bytes, got an unterminated string");
    strcpy (message->fetch.symbol, "\xc3\x28");
    GL_CHECK_INT (gl_msg_encode (message, &data, &size, error), -1);
    GL_CHECK_STR (error, "fetch.symbol: expected valid UTF-8");
    GL_CHECK_INT (gl_msg_validate (message, NULL), -1);
    gl_msg_destroy (&message);

    message = gl_msg_new (GL_MSG_READY);
    strcpy (message->ready.service, "writer");
    strcpy (message->ready.instance, "w 1");
    GL_CHECK_INT (gl_msg_validate (message, error), -1);
    GL_CHECK_STR (error, "ready.instance: expected an instance id of 1-64 [A-Za-z0-9._:-]");
    strcpy (message->ready.instance, "w1");
    message->ready.credit = 1000001;
    GL_CHECK_INT (gl_msg_validate (message, error), -1);
    GL_CHECK_STR (error, "ready.credit: expected an integer 0..1000000, got 1000001");
    gl_msg_destroy (&message);

    message = s_bars_message (2);
    message->bars.bars [1].close = NAN;
    GL_CHECK_INT (gl_msg_encode (message, &data, &size, error), -1);
    GL_CHECK_STR (error, "bars.bars[1][4]: expected a finite float, got nan");
    message->bars.bars [1].close = 1;
    message->bars.bars [0].has_vwap = true;
    message->bars.bars [0].vwap = INFINITY;
    GL_CHECK_INT (gl_msg_validate (message, error), -1);
    GL_CHECK_STR (error, "bars.bars[0][6]: expected a finite float or nil, got inf");
    message->bars.bars [0].has_vwap = false;
    GL_CHECK_INT (gl_msg_validate (message, error), 0);
    gl_msg_destroy (&message);

    message = gl_msg_new (GL_MSG_MEMBERSHIP);
    strcpy (message->membership.service, "writer");
    strcpy (message->membership.instance, "w1");
    strcpy (message->membership.event, "joined");
    GL_CHECK_INT (gl_msg_add_member (message, "bad name"), 0);
    GL_CHECK_INT (gl_msg_validate (message, error), -1);
    GL_CHECK_STR (error, "membership.members[0]: expected an instance id of 1-64 [A-Za-z0-9._:-]");
    gl_msg_destroy (&message);

    message = gl_msg_new (GL_MSG_EVENT);
    strcpy (message->event.source, "ops");
    GL_CHECK_INT (gl_msg_add_field (message, "k", "1"), 0);
    GL_CHECK_INT (gl_msg_add_field (message, "k", "2"), 0);
    GL_CHECK_INT (gl_msg_validate (message, error), -1);
    GL_CHECK_STR (error, "event.fields[1].key: duplicate key");
    gl_msg_destroy (&message);

    message = gl_msg_new (GL_MSG_ECHO);
    GL_CHECK_INT (gl_msg_set_payload (message, "\xfe", 1), 0);
    GL_CHECK_INT (gl_msg_validate (message, error), -1);
    GL_CHECK_STR (error, "echo.payload: expected valid UTF-8");
    gl_msg_destroy (&message);
}

//  Limits of the builders, wrong types, NULLs, destroy twice.
static void
s_test_ownership (void)
{
    GL_CHECK (gl_msg_new (GL_MSG_INVALID) == NULL);
    GL_CHECK (gl_msg_new ((gl_msg_type_t) 99) == NULL);
    GL_CHECK_STR (gl_msg_type_name (GL_MSG_FETCH), "fetch");
    GL_CHECK_STR (gl_msg_type_name (GL_MSG_EVENT), "event");
    GL_CHECK_STR (gl_msg_type_name (GL_MSG_INVALID), "invalid");
    GL_CHECK_STR (gl_msg_type_name ((gl_msg_type_t) 99), "invalid");

    gl_msg_t *message = gl_msg_new (GL_MSG_MEMBERSHIP);
    char name [80];
    memset (name, 'n', 65);
    name [65] = '\0';
    GL_CHECK_INT (gl_msg_add_member (message, name), -1);
    name [64] = '\0';
    GL_CHECK_INT (gl_msg_add_member (message, name), 0);
    for (int index = 1; index < GL_MSG_MAX_MEMBERS; index++)
        GL_CHECK_INT (gl_msg_add_member (message, "m"), 0);
    GL_CHECK_INT (gl_msg_add_member (message, "m"), -1);
    GL_CHECK_INT (message->membership.member_count, GL_MSG_MAX_MEMBERS);
    GL_CHECK_INT (gl_msg_add_member (message, NULL), -1);
    GL_CHECK_INT (gl_msg_add_field (message, "k", "v"), -1);
    GL_CHECK_INT (gl_msg_set_payload (message, "x", 1), -1);
    gl_bar_t bar = { .ts = 1 };
    GL_CHECK_INT (gl_msg_add_bar (message, &bar), -1);
    gl_msg_destroy (&message);
    GL_CHECK (message == NULL);
    gl_msg_destroy (&message);
    gl_msg_destroy (NULL);

    message = gl_msg_new (GL_MSG_BARS);
    for (int index = 0; index < GL_MSG_MAX_BARS; index++)
        GL_CHECK_INT (gl_msg_add_bar (message, &bar), 0);
    GL_CHECK_INT (gl_msg_add_bar (message, &bar), -1);
    GL_CHECK_INT (gl_msg_add_bar (message, NULL), -1);
    GL_CHECK_INT (message->bars.bar_count, GL_MSG_MAX_BARS);
    gl_msg_destroy (&message);

    message = gl_msg_new (GL_MSG_EVENT);
    char value [300];
    memset (value, 'v', 257);
    value [257] = '\0';
    GL_CHECK_INT (gl_msg_add_field (message, "k", value), -1);
    value [256] = '\0';
    GL_CHECK_INT (gl_msg_add_field (message, name, value), 0);
    name [64] = 'n';
    GL_CHECK_INT (gl_msg_add_field (message, name, "v"), -1);
    GL_CHECK_INT (gl_msg_add_field (message, NULL, "v"), -1);
    GL_CHECK_INT (gl_msg_add_field (message, "k", NULL), -1);
    for (int index = 1; index < GL_MSG_MAX_FIELDS; index++) {
        char key [8];
        snprintf (key, sizeof (key), "k%d", index);
        GL_CHECK_INT (gl_msg_add_field (message, key, "v"), 0);
    }
    GL_CHECK_INT (gl_msg_add_field (message, "extra", "v"), -1);
    GL_CHECK_INT (gl_msg_validate (message, error), 0);
    gl_msg_destroy (&message);

    message = gl_msg_new (GL_MSG_ECHO);
    char *payload = calloc (1, 1024 * 1024 + 1);
    GL_CHECK_INT (gl_msg_set_payload (message, payload, 1024 * 1024 + 1), -1);
    GL_CHECK_INT (gl_msg_set_payload (message, payload, 1024 * 1024), 0);
    GL_CHECK_INT (gl_msg_set_payload (message, "again", 5), 0);
    GL_CHECK_STR (message->echo.payload, "again");
    GL_CHECK_INT (gl_msg_set_payload (message, NULL, 1), -1);
    GL_CHECK_INT (gl_msg_set_payload (message, NULL, 0), 0);
    GL_CHECK_INT (message->echo.payload_size, 0);
    free (payload);
    gl_msg_destroy (&message);

    GL_CHECK_INT (gl_msg_set_payload (NULL, "x", 1), -1);
    GL_CHECK_INT (gl_msg_add_member (NULL, "x"), -1);
    GL_CHECK_INT (gl_msg_add_field (NULL, "k", "v"), -1);
    GL_CHECK_INT (gl_msg_add_bar (NULL, &bar), -1);
    GL_CHECK_INT (gl_msg_validate (NULL, error), -1);
    GL_CHECK_STR (error, "message: expected a message of a known type");
    char *data = NULL;
    size_t size = 0;
    GL_CHECK_INT (gl_msg_encode (NULL, &data, &size, error), -1);
    GL_CHECK (data == NULL);
    message = gl_msg_new (GL_MSG_CREDIT);
    GL_CHECK_INT (gl_msg_encode (message, NULL, &size, error), -1);
    GL_CHECK_INT (gl_msg_encode (message, &data, NULL, error), -1);
    GL_CHECK_INT (gl_msg_encode (message, &data, &size, NULL), 0);
    gl_msg_destroy (&message);
    //  Without an error buffer, decoding still fails cleanly.
    message = gl_msg_decode (data, size - 1, NULL);
    GL_CHECK (message == NULL);
    message = gl_msg_decode (data, size, NULL);
    GL_CHECK (message && message->type == GL_MSG_CREDIT);
    gl_msg_destroy (&message);
    free (data);
}

//  Packs a ready body whose follow array holds the given strings.
static gl_msg_t *
s_decode_follow (const char **patterns, size_t count)
{
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    msgpack_packer packer;
    msgpack_packer_init (&packer, &buffer, msgpack_sbuffer_write);
    msgpack_pack_map (&packer, 5);
    s_pack_key (&packer, "follow");
    msgpack_pack_array (&packer, count);
    for (size_t index = 0; index < count; index++)
        s_pack_key (&packer, patterns [index]);
    s_pack_key (&packer, "service");
    s_pack_key (&packer, "scheduler");
    s_pack_key (&packer, "instance");
    s_pack_key (&packer, "s1");
    s_pack_key (&packer, "credit");
    msgpack_pack_uint64 (&packer, 5);
    s_pack_key (&packer, "type");           //  last: any position is accepted
    s_pack_key (&packer, "ready");
    return s_decode_buffer (&buffer);
}

//  ready.follow: optional, up to 16 service names or "prefix.*" patterns;
//  it round-trips, is left out when empty, and bad patterns are refused.
static void
s_test_follow (void)
{
    const char *good [] = { "writer", "fetcher.*", "a.b-c_d.*" };
    gl_msg_t *message = s_decode_follow (good, 3);
    GL_CHECK (message && message->ready.follow_count == 3);
    if (message && message->ready.follow_count == 3) {
        GL_CHECK_STR (message->ready.follow [1], "fetcher.*");
        gl_msg_t *copy = s_roundtrip (message);
        GL_CHECK (copy && copy->ready.follow_count == 3
                  && strcmp (copy->ready.follow [2], "a.b-c_d.*") == 0);
        gl_msg_destroy (&copy);
    }
    gl_msg_destroy (&message);
    //  Without follow the body has four entries, as before the field existed.
    message = gl_msg_new (GL_MSG_READY);
    strcpy (message->ready.service, "writer");
    strcpy (message->ready.instance, "w1");
    char *data = NULL;
    size_t size = 0;
    GL_CHECK_INT (gl_msg_encode (message, &data, &size, error), 0);
    GL_CHECK (data && (uint8_t) data [0] == 0x84);
    free (data);
    gl_msg_t *copy = s_roundtrip (message);
    GL_CHECK (copy && copy->ready.follow_count == 0);
    gl_msg_destroy (&copy);
    for (int index = 0; index < GL_MSG_MAX_FOLLOW; index++)
        GL_CHECK_INT (gl_msg_add_follow (message, "writer"), 0);
    GL_CHECK_INT (gl_msg_add_follow (message, "writer"), -1);
    GL_CHECK_INT (gl_msg_validate (message, error), 0);
    strcpy (message->ready.follow [3], "Writer");
    GL_CHECK_INT (gl_msg_validate (message, error), -1);
    GL_CHECK_STR (error, "ready.follow[3]: expected a service name, or one followed by "
                         "\".*\", of at most 64 bytes");
    gl_msg_destroy (&message);

    const char *bad [] = { "*", ".*", "fetcher*", "fetcher.**", "Fetcher.*", "a.*.*", "",
                           "a b", "fetcher.*x" };
    for (size_t index = 0; index < sizeof (bad) / sizeof (bad [0]); index++)
        S_CHECK_REJECTED (s_decode_follow (&bad [index], 1), "ready.follow[0]: expected a service");
    char long_pattern [70];
    memset (long_pattern, 'a', 63);
    strcpy (long_pattern + 63, ".*");       //  65 bytes
    const char *too_long [] = { long_pattern };
    S_CHECK_REJECTED (s_decode_follow (too_long, 1),
                      "ready.follow[0]: expected at most 64 bytes, got 65");
    long_pattern [62] = '\0';
    strcat (long_pattern, ".*");            //  64 bytes
    message = s_decode_follow (too_long, 1);
    GL_CHECK (message != NULL);
    gl_msg_destroy (&message);
    const char *many [17];
    for (size_t index = 0; index < 17; index++)
        many [index] = "writer";
    S_CHECK_REJECTED (s_decode_follow (many, 17),
                      "ready.follow: expected an array of at most 16 patterns, got an array "
                      "of 17 elements");
    const s_entry_t ready [] = {
        { "service", STR ("writer") }, { "instance", STR ("w-1") }, { "credit", UINT (10) },
    };
    S_CHECK_REJECTED (s_decode_with ("ready", ready, 3, "follow", STR ("writer")),
                      "ready.follow: expected an array of at most 16 patterns, got a string");
    S_CHECK_REJECTED (s_decode_with ("ready", ready, 3, "follow", ARRAY (1)),
                      "ready.follow[0]: expected a string, got nil");
}

//  welcome's limits, membership's current event and count, times inside
//  [1970, 2100), canonical UUIDs, the bar's trades as a bigint.
static void
s_test_contract_rules (void)
{
    const s_entry_t welcome [] = {
        { "heartbeat_ms", UINT (1000) }, { "broker", STR ("host:1") },
        { "credit_limit", UINT (10000) }, { "queue_limit", UINT (100000) },
        { "max_body", UINT (16777216) },
    };
    gl_msg_t *accepted = s_decode_with ("welcome", welcome, 5, NULL, NULL);
    GL_CHECK (accepted && accepted->welcome.credit_limit == 10000
              && accepted->welcome.queue_limit == 100000
              && accepted->welcome.max_body == 16777216);
    gl_msg_destroy (&accepted);
    S_CHECK_REJECTED (s_decode_with ("welcome", welcome, 5, "credit_limit", NULL),
                      "welcome.credit_limit: missing required field");
    S_CHECK_REJECTED (s_decode_with ("welcome", welcome, 5, "queue_limit", NULL),
                      "welcome.queue_limit: missing required field");
    S_CHECK_REJECTED (s_decode_with ("welcome", welcome, 5, "max_body", NULL),
                      "welcome.max_body: missing required field");
    S_CHECK_REJECTED (s_decode_with ("welcome", welcome, 5, "max_body", UINT (16777217)),
                      "welcome.max_body: expected an integer 1..16777216, got 16777217");
    S_CHECK_REJECTED (s_decode_with ("welcome", welcome, 5, "credit_limit", UINT (0)),
                      "welcome.credit_limit: expected an integer 1..1000000, got 0");
    S_CHECK_REJECTED (s_decode_with ("welcome", welcome, 5, "queue_limit", UINT (0)),
                      "welcome.queue_limit: expected an integer 1..4294967295, got 0");
    S_CHECK_REJECTED (s_decode_with ("welcome", welcome, 5, "heartbeat_ms", UINT (9)),
                      "welcome.heartbeat_ms: expected an integer 10..600000, got 9");
    S_CHECK_REJECTED (s_decode_with ("welcome", welcome, 5, "heartbeat_ms", UINT (600001)),
                      "welcome.heartbeat_ms: expected an integer 10..600000, got 600001");
    S_CHECK_REJECTED (s_decode_with ("welcome", welcome, 5, "broker", STR ("a/b")),
                      "welcome.broker: expected an instance id");

    const s_entry_t membership [] = {
        { "service", STR ("fetcher.polygon") }, { "instance", STR ("p-1") },
        { "event", STR ("current") }, { "count", UINT (2000) }, { "members", ARRAY (0) },
    };
    accepted = s_decode_with ("membership", membership, 5, NULL, NULL);
    GL_CHECK (accepted && strcmp (accepted->membership.event, "current") == 0
              && accepted->membership.count == 2000);
    gl_msg_destroy (&accepted);
    S_CHECK_REJECTED (s_decode_with ("membership", membership, 5, "count", NULL),
                      "membership.count: missing required field");
    gl_msg_t *message = gl_msg_new (GL_MSG_MEMBERSHIP);
    strcpy (message->membership.service, "writer");
    strcpy (message->membership.instance, "w1");
    strcpy (message->membership.event, "current");
    GL_CHECK_INT (gl_msg_add_member (message, "w1"), 0);
    GL_CHECK_INT (gl_msg_add_member (message, "w2"), 0);
    GL_CHECK_INT (message->membership.count, 2);
    message->membership.count = 1;
    GL_CHECK_INT (gl_msg_validate (message, error), -1);
    GL_CHECK_STR (error, "membership.count: expected at least the 2 members listed, got 1");
    gl_msg_destroy (&message);

    //  Times: [0, 4102444800) seconds, or that times 1000 for time_ms.
    S_CHECK_REJECTED (S_FETCH ("from", INT (-1)),
                      "fetch.from: expected a time in [0, 4102444800) (1970-01-01 to "
                      "2100-01-01), got -1");
    S_CHECK_REJECTED (S_FETCH ("to", INT (4102444800LL)),
                      "fetch.to: expected a time in [0, 4102444800)");
    S_CHECK_REJECTED (S_FETCH ("to", INT (INT64_MAX)), "fetch.to: expected a time in");
    accepted = S_FETCH ("to", INT (4102444799LL));
    GL_CHECK (accepted && accepted->fetch.to == 4102444799LL);
    gl_msg_destroy (&accepted);
    accepted = S_FETCH ("from", INT (0));
    GL_CHECK (accepted && accepted->fetch.from == 0);
    gl_msg_destroy (&accepted);
    const s_entry_t written [] = {
        { "run_id", UINT (1) }, { "symbol", STR ("X") }, { "timeframe", STR ("5m") },
        { "from", INT (10) }, { "to", INT (20) }, { "rows", UINT (0) },
        { "revisions", UINT (0) },
    };
    S_CHECK_REJECTED (s_decode_with ("written", written, 7, "from", INT (-10)),
                      "written.from: expected a time in [0, 4102444800)");
    S_CHECK_REJECTED (s_decode_with ("written", written, 7, "to", INT (5000000000LL)),
                      "written.to: expected a time in [0, 4102444800)");
    S_CHECK_REJECTED (s_decode_bar (0, INT (-60)),
                      "bars.bars[1][0]: expected a time in [0, 4102444800)");
    S_CHECK_REJECTED (s_decode_bar (0, INT (4102444800LL)),
                      "bars.bars[1][0]: expected a time in [0, 4102444800)");
    const s_entry_t event [] = {
        { "source", STR ("cli") }, { "name", STR ("started") }, { "time_ms", INT (0) },
        { "fields", EMPTY_MAP },
    };
    accepted = s_decode_with ("event", event, 4, "time_ms", INT (4102444799999LL));
    GL_CHECK (accepted != NULL);
    gl_msg_destroy (&accepted);
    S_CHECK_REJECTED (s_decode_with ("event", event, 4, "time_ms", INT (4102444800000LL)),
                      "event.time_ms: expected a time in [0, 4102444800000)");
    S_CHECK_REJECTED (s_decode_with ("event", event, 4, "time_ms", INT (-1)),
                      "event.time_ms: expected a time in");

    //  Lease tokens: canonical lowercase UUID text, nothing else.
    const char *uuid_expected = "fetch.lease_token: expected a UUID as 36 characters";
    S_CHECK_REJECTED (S_FETCH ("lease_token", STR ("6F1C2A7E-3B4D-4C5E-8F90-A1B2C3D4E5F6")),
                      uuid_expected);
    S_CHECK_REJECTED (S_FETCH ("lease_token", STR ("6f1c2a7e-3b4d-4c5e-8f90-a1b2c3d4e5f")),
                      uuid_expected);
    S_CHECK_REJECTED (S_FETCH ("lease_token", STR ("6f1c2a7e-3b4d-4c5e-8f90-a1b2c3d4e5f60")),
                      uuid_expected);
    S_CHECK_REJECTED (S_FETCH ("lease_token", STR ("6f1c2a7e3b4d-4c5e-8f90-a1b2c3d4e5f6-")),
                      uuid_expected);
    S_CHECK_REJECTED (S_FETCH ("lease_token", STR ("{6f1c2a7e-3b4d-4c5e-8f90-a1b2c3d4e5f}")),
                      uuid_expected);
    S_CHECK_REJECTED (S_FETCH ("lease_token", STR ("6f1c2a7g-3b4d-4c5e-8f90-a1b2c3d4e5f6")),
                      uuid_expected);
    S_CHECK_REJECTED (S_FETCH ("lease_token", STR ("")), uuid_expected);
    S_CHECK_REJECTED (S_FETCH ("lease_token", INT (1)),
                      "fetch.lease_token: expected a string, got 1");

    //  trades is stored as a PostgreSQL bigint.
    S_CHECK_REJECTED (s_decode_bar (7, UINT ((uint64_t) INT64_MAX + 1)),
                      "bars.bars[1][7]: expected an integer 0..9223372036854775807 or nil");

    //  A whole fetch with "type" last decodes like one with it first.
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    msgpack_packer packer;
    msgpack_packer_init (&packer, &buffer, msgpack_sbuffer_write);
    msgpack_pack_map (&packer, 8);
    for (size_t index = 0; index < 7; index++) {
        s_pack_key (&packer, s_fetch_entries [index].key);
        s_pack (&packer, s_fetch_entries [index].value);
    }
    s_pack_key (&packer, "type");
    s_pack_key (&packer, "fetch");
    accepted = s_decode_buffer (&buffer);
    GL_CHECK (accepted && accepted->type == GL_MSG_FETCH && accepted->fetch.to == 200);
    gl_msg_destroy (&accepted);
}

//  The scheduler's request and reply bodies: round trips, and every rule.
static const s_entry_t s_enqueue_entries [] = {
    { "request_id", STR ("cli:42:1") }, { "symbols", ARRAY (0) }, { "tier", STR ("T1") },
    { "timeframe", STR ("1h") }, { "from", INT (1704067200) }, { "to", INT (1735689600) },
    { "priority", INT (10) }, { "provider", STR ("") }, { "plan", BOOL (false) },
};
#define S_ENQUEUE(change, replacement) \
    s_decode_with ("enqueue", s_enqueue_entries, 9, (change), (replacement))

static void
s_test_scheduler_messages (void)
{
    gl_msg_t *enqueue = gl_msg_new (GL_MSG_ENQUEUE);
    snprintf (enqueue->enqueue.request_id, sizeof enqueue->enqueue.request_id, "cli:42:1");
    GL_CHECK_INT (gl_msg_add_symbol (enqueue, "AAPL"), 0);
    GL_CHECK_INT (gl_msg_add_symbol (enqueue, "BRK.B"), 0);
    GL_CHECK_INT (gl_msg_add_symbol (enqueue, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456"), -1);
    snprintf (enqueue->enqueue.timeframe, sizeof enqueue->enqueue.timeframe, "1h");
    enqueue->enqueue.from = 1704067200;
    enqueue->enqueue.to = 1735689600;
    enqueue->enqueue.priority = -10;
    snprintf (enqueue->enqueue.provider, sizeof enqueue->enqueue.provider, "polygon");
    enqueue->enqueue.plan = true;
    gl_msg_t *copy = s_roundtrip (enqueue);
    if (copy) {
        GL_CHECK_INT (copy->enqueue.symbol_count, 2);
        GL_CHECK_STR (copy->enqueue.symbols [1], "BRK.B");
        GL_CHECK_STR (copy->enqueue.tier, "");
        GL_CHECK_INT (copy->enqueue.priority, -10);
        GL_CHECK (copy->enqueue.plan);
        GL_CHECK (!copy->enqueue.refresh);
    }
    gl_msg_destroy (&copy);
    enqueue->enqueue.refresh = true;
    copy = s_roundtrip (enqueue);
    GL_CHECK (copy && copy->enqueue.refresh);
    gl_msg_destroy (&copy);
    enqueue->enqueue.refresh = false;
    //  Rules a build breaks are refused at encode
    char *data = NULL;
    size_t size = 0;
    GL_CHECK_INT (gl_msg_add_symbol (enqueue, "no spaces"), 0);
    GL_CHECK_INT (gl_msg_encode (enqueue, &data, &size, error), -1);
    GL_CHECK (strstr (error, "enqueue.symbols[2]: expected a ticker") != NULL);
    gl_msg_destroy (&enqueue);

    copy = S_ENQUEUE (NULL, NULL);
    GL_CHECK (copy != NULL);
    gl_msg_destroy (&copy);
    S_CHECK_REJECTED (S_ENQUEUE ("tier", STR ("T3")), "enqueue.tier: expected T0, T1, T2");
    S_CHECK_REJECTED (S_ENQUEUE ("symbols", STR ("AAPL")), "enqueue.symbols: expected an array");
    S_CHECK_REJECTED (S_ENQUEUE ("symbols", ARRAY (1)), "enqueue.symbols[0]");
    S_CHECK_REJECTED (S_ENQUEUE ("to", INT (4102444800LL)), "enqueue.to");
    S_CHECK_REJECTED (S_ENQUEUE ("plan", NULL), "plan");
    //  refresh is optional: absent, false or true; never another type
    copy = S_ENQUEUE ("refresh", BOOL (true));
    GL_CHECK (copy && copy->enqueue.refresh);
    gl_msg_destroy (&copy);
    S_CHECK_REJECTED (S_ENQUEUE ("refresh", INT (1)), "enqueue.refresh");
    S_CHECK_REJECTED (S_ENQUEUE ("priority", FLOAT (1.5)), "enqueue.priority");

    gl_msg_t *command = gl_msg_new (GL_MSG_COMMAND);
    snprintf (command->command.request_id, sizeof command->command.request_id, "cli:42:2");
    snprintf (command->command.action, sizeof command->command.action, "dlq_requeue");
    command->command.target = 17;
    copy = s_roundtrip (command);
    if (copy) {
        GL_CHECK_STR (copy->command.action, "dlq_requeue");
        GL_CHECK_INT (copy->command.target, 17);
    }
    gl_msg_destroy (&copy);
    snprintf (command->command.action, sizeof command->command.action, "reboot");
    GL_CHECK_INT (gl_msg_encode (command, &data, &size, error), -1);
    GL_CHECK (strstr (error, "command.action: expected one of status") != NULL);
    gl_msg_destroy (&command);

    gl_msg_t *reply = gl_msg_new (GL_MSG_REPLY);
    snprintf (reply->reply.request_id, sizeof reply->reply.request_id, "cli:42:2");
    reply->reply.ok = true;
    GL_CHECK_INT (gl_msg_add_field (reply, "backfill_id", "7"), 0);
    GL_CHECK_INT (gl_msg_add_row_field (reply, "id", "1"), -1);     //  no row yet
    for (int row = 0; row < 3; row++) {
        GL_CHECK_INT (gl_msg_add_row (reply), 0);
        GL_CHECK_INT (gl_msg_add_row_field (reply, "id", row == 0? "1": row == 1? "2": "3"), 0);
        GL_CHECK_INT (gl_msg_add_row_field (reply, "status", "queued"), 0);
    }
    copy = s_roundtrip (reply);
    if (copy) {
        GL_CHECK_STR (gl_msg_field (copy->reply.fields, copy->reply.field_count, "backfill_id"), "7");
        GL_CHECK_INT (copy->reply.row_count, 3);
        GL_CHECK_STR (gl_msg_field (copy->reply.rows [2].fields, copy->reply.rows [2].field_count,
                                    "id"), "3");
        GL_CHECK (gl_msg_field (copy->reply.fields, copy->reply.field_count, "absent") == NULL);
    }
    gl_msg_destroy (&copy);
    //  A row holds at most 32 fields, each key once
    for (int field = 2; field < GL_MSG_MAX_ROW_FIELDS; field++) {
        char key [16];
        snprintf (key, sizeof key, "k%d", field);
        GL_CHECK_INT (gl_msg_add_row_field (reply, key, "v"), 0);
    }
    GL_CHECK_INT (gl_msg_add_row_field (reply, "one_too_many", "v"), -1);
    GL_CHECK_INT (gl_msg_add_row (reply), 0);
    GL_CHECK_INT (gl_msg_add_row_field (reply, "id", "4"), 0);
    GL_CHECK_INT (gl_msg_add_row_field (reply, "id", "5"), 0);
    GL_CHECK_INT (gl_msg_encode (reply, &data, &size, error), -1);
    GL_CHECK (strstr (error, "reply.rows[3][1].key: duplicate key") != NULL);
    gl_msg_destroy (&reply);
    const s_entry_t reply_entries [] = {
        { "request_id", STR ("r") }, { "ok", BOOL (true) }, { "error", STR ("") },
        { "fields", EMPTY_MAP }, { "rows", ARRAY (0) },
    };
    copy = s_decode_with ("reply", reply_entries, 5, NULL, NULL);
    GL_CHECK (copy != NULL);
    gl_msg_destroy (&copy);
    S_CHECK_REJECTED (s_decode_with ("reply", reply_entries, 5, "rows", ARRAY (2)),
                      "reply.rows[0]: expected a map");
    S_CHECK_REJECTED (s_decode_with ("reply", reply_entries, 5, "fields", ARRAY (0)),
                      "reply.fields: expected a map");
}

//  The coverage tracker's request: a round trip, and its rules.
static const s_entry_t s_gaps_entries [] = {
    { "request_id", STR ("cli:7:1") }, { "symbol", STR ("AAPL") }, { "timeframe", STR ("1m") },
    { "from", INT (1704067200) }, { "to", INT (1735689600) },
};
#define S_GAPS(change, replacement) \
    s_decode_with ("gaps", s_gaps_entries, 5, (change), (replacement))

static void
s_test_gaps_message (void)
{
    gl_msg_t *gaps = gl_msg_new (GL_MSG_GAPS);
    snprintf (gaps->gaps.request_id, sizeof gaps->gaps.request_id, "cli:7:1");
    snprintf (gaps->gaps.symbol, sizeof gaps->gaps.symbol, "BRK.B");
    snprintf (gaps->gaps.timeframe, sizeof gaps->gaps.timeframe, "1h");
    gaps->gaps.from = 1704067200;
    gaps->gaps.to = 1735689600;
    GL_CHECK_STR (gl_msg_type_name (GL_MSG_GAPS), "gaps");
    gl_msg_t *copy = s_roundtrip (gaps);
    if (copy) {
        GL_CHECK_STR (copy->gaps.symbol, "BRK.B");
        GL_CHECK_STR (copy->gaps.timeframe, "1h");
        GL_CHECK_INT (copy->gaps.from, 1704067200);
        GL_CHECK_INT (copy->gaps.to, 1735689600);
    }
    gl_msg_destroy (&copy);
    //  from >= to is the tracker's to answer (with an error reply), not the codec's
    gaps->gaps.to = gaps->gaps.from;
    copy = s_roundtrip (gaps);
    GL_CHECK (copy != NULL);
    gl_msg_destroy (&copy);
    snprintf (gaps->gaps.timeframe, sizeof gaps->gaps.timeframe, "2h");
    char *data = NULL;
    size_t size = 0;
    GL_CHECK_INT (gl_msg_encode (gaps, &data, &size, error), -1);
    GL_CHECK (strstr (error, "gaps.timeframe: expected one of") != NULL);
    gl_msg_destroy (&gaps);

    copy = S_GAPS (NULL, NULL);
    GL_CHECK (copy && copy->type == GL_MSG_GAPS);
    gl_msg_destroy (&copy);
    S_CHECK_REJECTED (S_GAPS ("timeframe", STR ("1y")), "gaps.timeframe");
    S_CHECK_REJECTED (S_GAPS ("symbol", STR ("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456")), "gaps.symbol");
    S_CHECK_REJECTED (S_GAPS ("symbol", INT (5)), "gaps.symbol: expected a string");
    S_CHECK_REJECTED (S_GAPS ("from", INT (-1)), "gaps.from");
    S_CHECK_REJECTED (S_GAPS ("to", INT (4102444800LL)), "gaps.to");
    S_CHECK_REJECTED (S_GAPS ("request_id", NULL), "request_id");
}

int
main (void)
{
    s_test_gaps_message ();
    s_test_roundtrip_transport ();
    s_test_roundtrip_application ();
    s_test_roundtrip_bars ();
    s_measure_bars ();
    s_test_accepts ();
    s_test_rejects_body ();
    s_test_rejects_fields ();
    s_test_rejects_strings ();
    s_test_rejects_nested ();
    s_test_build_rules ();
    s_test_ownership ();
    s_test_follow ();
    s_test_contract_rules ();
    s_test_scheduler_messages ();
    return gl_test_done ("test_msg");
}
