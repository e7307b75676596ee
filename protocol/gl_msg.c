/*  gl_msg — GLP/1 message bodies: build, encode to MessagePack, decode
    strictly (protocol/SPEC.md sections 6 and 7).

    Each message type is a table of field descriptors (name, kind, where
    the value lives in gl_msg_t). Encode, decode and validate walk the same
    tables, so the three cannot drift apart. Decode only converts wire
    types into the struct (and refuses what cannot be stored); every rule
    of the spec is then checked once, by gl_msg_validate, for decoded and
    built messages alike.
*/
#include "gl_msg.h"
#include "gl_timeframe.h"
#include "gl_wire.h"
#include <math.h>
#include <msgpack.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_CREDIT_MAX    GL_MSG_CREDIT_MAX
#define S_PAYLOAD_MAX   (1024 * 1024)
#define S_KEY_MAX       GL_MSG_NAME_MAX     //  event field key, bytes
#define S_VALUE_MAX     256                 //  event field value, bytes
#define S_BAR_SIZE      9                   //  elements of a bar array
#define S_PRINTABLE_MAX 32                  //  bytes of a peer's name quoted in an error
#define S_HEARTBEAT_MIN 10                  //  welcome.heartbeat_ms bounds, ms
#define S_HEARTBEAT_MAX 600000
#define S_TRADES_MAX    INT64_MAX           //  bar trades: PostgreSQL bigint

typedef enum {
    S_TEXT,             //  any UTF-8 without NUL, in a fixed buffer
    S_SERVICE,          //  a service name (SPEC section 4)
    S_INSTANCE,         //  an instance id (SPEC section 4)
    S_UUID,             //  a UUID in canonical lowercase text (36 bytes)
    S_TIMEFRAME,        //  one of the eight timeframe names
    S_ERROR_CLASS,      //  one of the eight fetch error classes
    S_ADJUSTMENT,       //  a price basis: "raw" or "split"
    S_TIER,             //  "T0", "T1", "T2" or ""
    S_ACTION,           //  one of the command actions
    S_EVENT,            //  "joined", "left" or "current"
    S_UINT,             //  uint32_t or uint64_t (by size), minimum..limit
    S_INT,              //  int64_t
    S_TIME,             //  int64_t seconds in [0, GL_MSG_TIME_END)
    S_TIME_MS,          //  int64_t milliseconds in [0, GL_MSG_TIME_END * 1000)
    S_BOOL,             //  bool
    S_PAYLOAD,          //  echo.payload: binary-safe UTF-8, malloc'd
    S_MEMBERS,          //  membership.members: array of instance ids
    S_SYMBOLS,          //  enqueue.symbols: array of tickers
    S_FOLLOW,           //  ready.follow: array of follow patterns
    S_BARS,             //  bars.bars: array of bar arrays
    S_FIELDS,           //  event.fields, reply.fields: map of str to str
    S_ROWS,             //  reply.rows: array of maps of str to str
} s_kind_t;

typedef struct {
    const char *name;
    s_kind_t kind;
    size_t offset;      //  where the value lives in gl_msg_t
    size_t size;        //  its storage size (a fixed buffer holds size - 1 bytes)
    uint64_t limit;     //  the highest value of an S_UINT
    uint64_t minimum;   //  the lowest value of an S_UINT
    bool optional;      //  may be absent (encoded only when it has content)
} s_field_t;

typedef struct {
    const char *name;
    const s_field_t *fields;
    size_t field_count;
} s_schema_t;

#define S_SLOT(member)  offsetof (gl_msg_t, member), sizeof (((gl_msg_t *) NULL)->member)

//  A list of strings (membership.members, enqueue.symbols) and a map of
//  str to str (event.fields, reply.fields, a row) keep their pointer and
//  count side by side in gl_msg_t, so one piece of code serves each kind
//  wherever it lives. A row is a map; reply.rows is a list of rows.
typedef struct {
    char **items;
    size_t count;
} s_list_t;

typedef struct {
    gl_msg_row_t *items;
    size_t count;
} s_rows_t;

#define S_SIDE_BY_SIDE(pointer, count) \
    _Static_assert (offsetof (gl_msg_t, count) == offsetof (gl_msg_t, pointer) + sizeof (void *), \
                    #pointer " and " #count " must be side by side")
S_SIDE_BY_SIDE (membership.members, membership.member_count);
S_SIDE_BY_SIDE (enqueue.symbols, enqueue.symbol_count);
S_SIDE_BY_SIDE (event.fields, event.field_count);
S_SIDE_BY_SIDE (reply.fields, reply.field_count);
S_SIDE_BY_SIDE (reply.rows, reply.row_count);
#define S_TABLE(fields) fields, sizeof (fields) / sizeof (fields [0])

static const s_field_t s_ready_fields [] = {
    { "service", S_SERVICE, S_SLOT (ready.service), 0, 0, false },
    { "instance", S_INSTANCE, S_SLOT (ready.instance), 0, 0, false },
    { "credit", S_UINT, S_SLOT (ready.credit), S_CREDIT_MAX, 0, false },
    { "follow", S_FOLLOW, S_SLOT (ready.follow), 0, 0, true },
};
static const s_field_t s_welcome_fields [] = {
    { "heartbeat_ms", S_UINT, S_SLOT (welcome.heartbeat_ms), S_HEARTBEAT_MAX, S_HEARTBEAT_MIN,
      false },
    { "broker", S_INSTANCE, S_SLOT (welcome.broker), 0, 0, false },
    { "credit_limit", S_UINT, S_SLOT (welcome.credit_limit), S_CREDIT_MAX, 1, false },
    { "queue_limit", S_UINT, S_SLOT (welcome.queue_limit), UINT32_MAX, 1, false },
    { "max_body", S_UINT, S_SLOT (welcome.max_body), GL_MSG_MAX_BODY, 1, false },
};
static const s_field_t s_credit_fields [] = {
    { "credit", S_UINT, S_SLOT (credit.credit), S_CREDIT_MAX, 0, false },
};
static const s_field_t s_error_fields [] = {
    { "code", S_TEXT, S_SLOT (error.code), 0, 0, false },
    { "text", S_TEXT, S_SLOT (error.text), 0, 0, false },
};
static const s_field_t s_membership_fields [] = {
    { "service", S_SERVICE, S_SLOT (membership.service), 0, 0, false },
    { "instance", S_INSTANCE, S_SLOT (membership.instance), 0, 0, false },
    { "event", S_EVENT, S_SLOT (membership.event), 0, 0, false },
    { "count", S_UINT, S_SLOT (membership.count), UINT64_MAX, 0, false },
    { "members", S_MEMBERS, S_SLOT (membership.members), 0, 0, false },
};
static const s_field_t s_echo_fields [] = {
    { "sequence", S_UINT, S_SLOT (echo.sequence), UINT64_MAX, 0, false },
    { "payload", S_PAYLOAD, S_SLOT (echo.payload), 0, 0, false },
};
static const s_field_t s_fetch_fields [] = {
    { "run_id", S_UINT, S_SLOT (fetch.run_id), UINT64_MAX, 0, false },
    { "lease_token", S_UUID, S_SLOT (fetch.lease_token), 0, 0, false },
    { "symbol", S_TEXT, S_SLOT (fetch.symbol), 0, 0, false },
    { "timeframe", S_TIMEFRAME, S_SLOT (fetch.timeframe), 0, 0, false },
    { "from", S_TIME, S_SLOT (fetch.from), 0, 0, false },
    { "to", S_TIME, S_SLOT (fetch.to), 0, 0, false },
    { "attempt", S_UINT, S_SLOT (fetch.attempt), UINT32_MAX, 0, false },
};
static const s_field_t s_bars_fields [] = {
    { "run_id", S_UINT, S_SLOT (bars.run_id), UINT64_MAX, 0, false },
    { "lease_token", S_UUID, S_SLOT (bars.lease_token), 0, 0, false },
    { "provider", S_TEXT, S_SLOT (bars.provider), 0, 0, false },
    { "symbol", S_TEXT, S_SLOT (bars.symbol), 0, 0, false },
    { "timeframe", S_TIMEFRAME, S_SLOT (bars.timeframe), 0, 0, false },
    { "part", S_UINT, S_SLOT (bars.part), UINT32_MAX, 0, false },
    { "last", S_BOOL, S_SLOT (bars.last), 0, 0, false },
    { "adjustment", S_ADJUSTMENT, S_SLOT (bars.adjustment), 0, 0, false },
    { "bars", S_BARS, S_SLOT (bars.bars), 0, 0, false },
};
static const s_field_t s_failed_fields [] = {
    { "run_id", S_UINT, S_SLOT (failed.run_id), UINT64_MAX, 0, false },
    { "lease_token", S_UUID, S_SLOT (failed.lease_token), 0, 0, false },
    { "provider", S_TEXT, S_SLOT (failed.provider), 0, 0, false },
    { "error_class", S_ERROR_CLASS, S_SLOT (failed.error_class), 0, 0, false },
    { "retryable", S_BOOL, S_SLOT (failed.retryable), 0, 0, false },
    { "retry_after_ms", S_UINT, S_SLOT (failed.retry_after_ms), UINT64_MAX, 0, false },
    { "message", S_TEXT, S_SLOT (failed.message), 0, 0, false },
};
static const s_field_t s_written_fields [] = {
    { "run_id", S_UINT, S_SLOT (written.run_id), UINT64_MAX, 0, false },
    { "symbol", S_TEXT, S_SLOT (written.symbol), 0, 0, false },
    { "timeframe", S_TIMEFRAME, S_SLOT (written.timeframe), 0, 0, false },
    { "from", S_TIME, S_SLOT (written.from), 0, 0, false },
    { "to", S_TIME, S_SLOT (written.to), 0, 0, false },
    { "rows", S_UINT, S_SLOT (written.rows), UINT64_MAX, 0, false },
    { "revisions", S_UINT, S_SLOT (written.revisions), UINT64_MAX, 0, false },
};
static const s_field_t s_event_fields [] = {
    { "source", S_TEXT, S_SLOT (event.source), 0, 0, false },
    { "name", S_TEXT, S_SLOT (event.name), 0, 0, false },
    { "time_ms", S_TIME_MS, S_SLOT (event.time_ms), 0, 0, false },
    { "fields", S_FIELDS, S_SLOT (event.fields), GL_MSG_MAX_FIELDS, 0, false },
};
static const s_field_t s_enqueue_fields [] = {
    { "request_id", S_TEXT, S_SLOT (enqueue.request_id), 0, 0, false },
    { "symbols", S_SYMBOLS, S_SLOT (enqueue.symbols), GL_MSG_MAX_SYMBOLS, 0, false },
    { "tier", S_TIER, S_SLOT (enqueue.tier), 0, 0, false },
    { "timeframe", S_TIMEFRAME, S_SLOT (enqueue.timeframe), 0, 0, false },
    { "from", S_TIME, S_SLOT (enqueue.from), 0, 0, false },
    { "to", S_TIME, S_SLOT (enqueue.to), 0, 0, false },
    { "priority", S_INT, S_SLOT (enqueue.priority), 0, 0, false },
    { "provider", S_TEXT, S_SLOT (enqueue.provider), 0, 0, false },
    { "plan", S_BOOL, S_SLOT (enqueue.plan), 0, 0, false },
    { "refresh", S_BOOL, S_SLOT (enqueue.refresh), 0, 0, true },
};
static const s_field_t s_command_fields [] = {
    { "request_id", S_TEXT, S_SLOT (command.request_id), 0, 0, false },
    { "action", S_ACTION, S_SLOT (command.action), 0, 0, false },
    { "target", S_UINT, S_SLOT (command.target), UINT64_MAX, 0, false },
};
static const s_field_t s_reply_fields [] = {
    { "request_id", S_TEXT, S_SLOT (reply.request_id), 0, 0, false },
    { "ok", S_BOOL, S_SLOT (reply.ok), 0, 0, false },
    { "error", S_TEXT, S_SLOT (reply.error), 0, 0, false },
    { "fields", S_FIELDS, S_SLOT (reply.fields), GL_MSG_MAX_FIELDS, 0, false },
    { "rows", S_ROWS, S_SLOT (reply.rows), GL_MSG_MAX_ROWS, 0, false },
};
static const s_field_t s_gaps_fields [] = {
    { "request_id", S_TEXT, S_SLOT (gaps.request_id), 0, 0, false },
    { "symbol", S_TEXT, S_SLOT (gaps.symbol), 0, 0, false },
    { "timeframe", S_TIMEFRAME, S_SLOT (gaps.timeframe), 0, 0, false },
    { "from", S_TIME, S_SLOT (gaps.from), 0, 0, false },
    { "to", S_TIME, S_SLOT (gaps.to), 0, 0, false },
};

//  Indexed by gl_msg_type_t.
static const s_schema_t s_schemas [] = {
    [GL_MSG_INVALID] = { "invalid", NULL, 0 },
    [GL_MSG_READY] = { "ready", S_TABLE (s_ready_fields) },
    [GL_MSG_WELCOME] = { "welcome", S_TABLE (s_welcome_fields) },
    [GL_MSG_CREDIT] = { "credit", S_TABLE (s_credit_fields) },
    [GL_MSG_ERROR] = { "error", S_TABLE (s_error_fields) },
    [GL_MSG_MEMBERSHIP] = { "membership", S_TABLE (s_membership_fields) },
    [GL_MSG_ECHO] = { "echo", S_TABLE (s_echo_fields) },
    [GL_MSG_FETCH] = { "fetch", S_TABLE (s_fetch_fields) },
    [GL_MSG_BARS] = { "bars", S_TABLE (s_bars_fields) },
    [GL_MSG_FAILED] = { "failed", S_TABLE (s_failed_fields) },
    [GL_MSG_WRITTEN] = { "written", S_TABLE (s_written_fields) },
    [GL_MSG_EVENT] = { "event", S_TABLE (s_event_fields) },
    [GL_MSG_ENQUEUE] = { "enqueue", S_TABLE (s_enqueue_fields) },
    [GL_MSG_COMMAND] = { "command", S_TABLE (s_command_fields) },
    [GL_MSG_REPLY] = { "reply", S_TABLE (s_reply_fields) },
    [GL_MSG_GAPS] = { "gaps", S_TABLE (s_gaps_fields) },
};
#define S_SCHEMA_COUNT (sizeof (s_schemas) / sizeof (s_schemas [0]))

static const char *s_error_classes [] = {
    "rate_limited", "auth", "not_found", "no_data", "server_error", "timeout",
    "parse_error", "breaker_open"
};
#define S_ERROR_CLASS_COUNT (sizeof (s_error_classes) / sizeof (s_error_classes [0]))

//  What each element of a bar array must be, for error texts.
static const char *s_bar_expected [S_BAR_SIZE] = {
    "an integer", "a finite float", "a finite float", "a finite float",
    "a finite float", "a finite float", "a finite float or nil",
    "an integer 0..9223372036854775807 or nil", "a bool"
};


//  --------------------------------------------------------------------------
//  Small helpers

//  Writes the formatted reason into error (when there is one); returns -1.
static int
s_fail (char *error, const char *format, ...)
{
    if (error) {
        va_list args;
        va_start (args, format);
        vsnprintf (error, GL_MSG_ERROR_MAX, format, args);
        va_end (args);
    }
    return -1;
}

//  True if the bytes are strict UTF-8: no overlong forms, no surrogates,
//  nothing above U+10FFFF, no truncated sequence.
static bool
s_utf8_valid (const char *data, size_t size)
{
    const uint8_t *bytes = (const uint8_t *) data;
    size_t index = 0;
    while (index < size) {
        uint8_t lead = bytes [index];
        if (lead < 0x80) {
            index++;
            continue;
        }
        size_t length;
        uint32_t code, lowest;
        if ((lead & 0xE0) == 0xC0) {
            length = 2; code = lead & 0x1F; lowest = 0x80;
        }
        else
        if ((lead & 0xF0) == 0xE0) {
            length = 3; code = lead & 0x0F; lowest = 0x800;
        }
        else
        if ((lead & 0xF8) == 0xF0) {
            length = 4; code = lead & 0x07; lowest = 0x10000;
        }
        else
            return false;
        if (size - index < length)
            return false;
        for (size_t next = 1; next < length; next++) {
            if ((bytes [index + next] & 0xC0) != 0x80)
                return false;
            code = (code << 6) | (bytes [index + next] & 0x3F);
        }
        if (code < lowest || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF))
            return false;
        index += length;
    }
    return true;
}

//  Capacity of an array holding count items: 16, then powers of two. Both
//  decode and the add functions size arrays by it, so appending needs no
//  stored capacity.
static size_t
s_capacity (size_t count)
{
    size_t capacity = 16;
    while (capacity < count)
        capacity *= 2;
    return capacity;
}

//  Returns the array with room for one more item after count, or NULL on
//  out of memory (the array is then unchanged).
static void *
s_grow (void *array, size_t count, size_t item_size)
{
    if (array && count < s_capacity (count))
        return array;
    return realloc (array, s_capacity (count + 1) * item_size);
}

//  Copies up to S_PRINTABLE_MAX bytes of a peer's text into printable
//  ASCII for an error text (so nothing odd reaches a log line).
static const char *
s_printable (char *target, const char *data, size_t size)
{
    size_t length = size < S_PRINTABLE_MAX? size: S_PRINTABLE_MAX;
    for (size_t index = 0; index < length; index++)
        target [index] = data [index] >= 0x20 && data [index] < 0x7F
                       && data [index] != '"' && data [index] != '\\'? data [index]: '?';
    target [length] = '\0';
    return target;
}

//  Describes a MessagePack object for an error text ("nil", "-5").
static const char *
s_describe (const msgpack_object *object, char *text, size_t size)
{
    switch (object->type) {
        case MSGPACK_OBJECT_NIL: return "nil";
        case MSGPACK_OBJECT_BOOLEAN: return "a bool";
        case MSGPACK_OBJECT_POSITIVE_INTEGER:
            snprintf (text, size, "%llu", (unsigned long long) object->via.u64);
            return text;
        case MSGPACK_OBJECT_NEGATIVE_INTEGER:
            snprintf (text, size, "%lld", (long long) object->via.i64);
            return text;
        case MSGPACK_OBJECT_FLOAT32:
        case MSGPACK_OBJECT_FLOAT64:
            snprintf (text, size, "%g", object->via.f64);
            return text;
        case MSGPACK_OBJECT_STR: return "a string";
        case MSGPACK_OBJECT_BIN: return "binary";
        case MSGPACK_OBJECT_ARRAY:
            snprintf (text, size, "an array of %u elements", object->via.array.size);
            return text;
        case MSGPACK_OBJECT_MAP:
            snprintf (text, size, "a map of %u entries", object->via.map.size);
            return text;
        default: return "an extension";
    }
}

//  Reads a MessagePack integer that fits int64_t.
static bool
s_as_int (const msgpack_object *object, int64_t *value_p)
{
    if (object->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
        *value_p = object->via.i64;
    else
    if (object->type == MSGPACK_OBJECT_POSITIVE_INTEGER && object->via.u64 <= INT64_MAX)
        *value_p = (int64_t) object->via.u64;
    else
        return false;
    return true;
}

//  Reads a MessagePack integer in 0..limit.
static bool
s_as_uint (const msgpack_object *object, uint64_t limit, uint64_t *value_p)
{
    if (object->type != MSGPACK_OBJECT_POSITIVE_INTEGER || object->via.u64 > limit)
        return false;
    *value_p = object->via.u64;
    return true;
}

//  Reads a float; integers are accepted too (SPEC section 7). Finiteness
//  is the validator's business.
static bool
s_as_float (const msgpack_object *object, double *value_p)
{
    if (object->type == MSGPACK_OBJECT_FLOAT32 || object->type == MSGPACK_OBJECT_FLOAT64)
        *value_p = object->via.f64;
    else
    if (object->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
        *value_p = (double) object->via.u64;
    else
    if (object->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
        *value_p = (double) object->via.i64;
    else
        return false;
    return true;
}

//  True if the MessagePack string object equals the C string.
static bool
s_str_equals (const msgpack_object *object, const char *text)
{
    size_t length = strlen (text);
    return object->type == MSGPACK_OBJECT_STR && object->via.str.size == length
        && memcmp (object->via.str.ptr, text, length) == 0;
}


//  --------------------------------------------------------------------------
//  Building

//  The list, map or rows a field of that kind holds in the message.
static s_list_t *
s_list (const gl_msg_t *self, const s_field_t *field)
{
    return (s_list_t *) ((char *) self + field->offset);
}

static gl_msg_row_t *
s_map (const gl_msg_t *self, const s_field_t *field)
{
    return (gl_msg_row_t *) ((char *) self + field->offset);
}

static s_rows_t *
s_rows (const gl_msg_t *self, const s_field_t *field)
{
    return (s_rows_t *) ((char *) self + field->offset);
}

//  Frees a map's keys and values and the map's array.
static void
s_map_free (gl_msg_row_t *map)
{
    for (size_t index = 0; index < map->field_count; index++) {
        free (map->fields [index].key);
        free (map->fields [index].value);
    }
    free (map->fields);
    map->fields = NULL;
    map->field_count = 0;
}

//  Frees what a list, map or rows field owns.
static void
s_free_field (gl_msg_t *self, const s_field_t *field)
{
    if (field->kind == S_MEMBERS || field->kind == S_SYMBOLS) {
        s_list_t *list = s_list (self, field);
        for (size_t index = 0; index < list->count; index++)
            free (list->items [index]);
        free (list->items);
    }
    else
    if (field->kind == S_FIELDS)
        s_map_free (s_map (self, field));
    else
    if (field->kind == S_ROWS) {
        s_rows_t *rows = s_rows (self, field);
        for (size_t index = 0; index < rows->count; index++)
            s_map_free (&rows->items [index]);
        free (rows->items);
    }
}

//  The first field of the message's type with that kind, or NULL.
static const s_field_t *
s_field_of_kind (const gl_msg_t *self, s_kind_t kind)
{
    if (!self || self->type <= GL_MSG_INVALID || self->type >= (gl_msg_type_t) S_SCHEMA_COUNT)
        return NULL;
    const s_schema_t *schema = &s_schemas [self->type];
    for (size_t index = 0; index < schema->field_count; index++)
        if (schema->fields [index].kind == kind)
            return &schema->fields [index];
    return NULL;
}

gl_msg_t *
gl_msg_new (gl_msg_type_t type)
{
    if (type <= GL_MSG_INVALID || type >= (gl_msg_type_t) S_SCHEMA_COUNT)
        return NULL;
    gl_msg_t *self = calloc (1, sizeof (gl_msg_t));
    if (self)
        self->type = type;
    return self;
}

void
gl_msg_destroy (gl_msg_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    gl_msg_t *self = *self_p;
    if (self->type == GL_MSG_ECHO)
        free (self->echo.payload);
    else
    if (self->type == GL_MSG_BARS)
        free (self->bars.bars);
    else
    if (self->type > GL_MSG_INVALID && self->type < (gl_msg_type_t) S_SCHEMA_COUNT) {
        const s_schema_t *schema = &s_schemas [self->type];
        for (size_t index = 0; index < schema->field_count; index++)
            s_free_field (self, &schema->fields [index]);
    }
    free (self);
    *self_p = NULL;
}

const char *
gl_msg_type_name (gl_msg_type_t type)
{
    if (type <= GL_MSG_INVALID || type >= (gl_msg_type_t) S_SCHEMA_COUNT)
        return s_schemas [GL_MSG_INVALID].name;
    return s_schemas [type].name;
}

int
gl_msg_set_payload (gl_msg_t *self, const void *data, size_t size)
{
    if (!self || self->type != GL_MSG_ECHO || (!data && size) || size > S_PAYLOAD_MAX)
        return -1;
    char *payload = malloc (size + 1);
    if (!payload)
        return -1;
    if (size)
        memcpy (payload, data, size);
    payload [size] = '\0';
    free (self->echo.payload);
    self->echo.payload = payload;
    self->echo.payload_size = size;
    return 0;
}

//  Appends a copy of text to a list of at most limit items of at most
//  size bytes. Returns 0 or -1.
static int
s_list_add (s_list_t *list, const char *text, size_t size, size_t limit)
{
    if (!text || strlen (text) > size || list->count >= limit)
        return -1;
    char **items = s_grow (list->items, list->count, sizeof (char *));
    if (!items)
        return -1;
    list->items = items;
    char *copy = strdup (text);
    if (!copy)
        return -1;
    items [list->count++] = copy;
    return 0;
}

//  Appends a copy of a key/value pair to a map of at most limit pairs.
//  Returns 0 or -1.
static int
s_map_add (gl_msg_row_t *map, const char *key, const char *value, size_t limit)
{
    if (!key || !value || strlen (key) > S_KEY_MAX || strlen (value) > S_VALUE_MAX
    ||  map->field_count >= limit)
        return -1;
    gl_msg_field_t *fields = s_grow (map->fields, map->field_count, sizeof (gl_msg_field_t));
    if (!fields)
        return -1;
    map->fields = fields;
    char *key_copy = strdup (key);
    char *value_copy = strdup (value);
    if (!key_copy || !value_copy) {
        free (key_copy);
        free (value_copy);
        return -1;
    }
    fields [map->field_count].key = key_copy;
    fields [map->field_count].value = value_copy;
    map->field_count++;
    return 0;
}

int
gl_msg_add_member (gl_msg_t *self, const char *instance)
{
    if (!self || self->type != GL_MSG_MEMBERSHIP
    ||  s_list_add ((s_list_t *) &self->membership.members, instance, GL_MSG_NAME_MAX,
                    GL_MSG_MAX_MEMBERS) == -1)
        return -1;
    if (self->membership.count < self->membership.member_count)
        self->membership.count = self->membership.member_count;
    return 0;
}

int
gl_msg_add_symbol (gl_msg_t *self, const char *ticker)
{
    if (!self || self->type != GL_MSG_ENQUEUE)
        return -1;
    return s_list_add ((s_list_t *) &self->enqueue.symbols, ticker, GL_MSG_SYMBOL_MAX,
                       GL_MSG_MAX_SYMBOLS);
}

int
gl_msg_add_row (gl_msg_t *self)
{
    if (!self || self->type != GL_MSG_REPLY || self->reply.row_count >= GL_MSG_MAX_ROWS)
        return -1;
    gl_msg_row_t *rows = s_grow (self->reply.rows, self->reply.row_count, sizeof (gl_msg_row_t));
    if (!rows)
        return -1;
    self->reply.rows = rows;
    rows [self->reply.row_count++] = (gl_msg_row_t) { NULL, 0 };
    return 0;
}

int
gl_msg_add_row_field (gl_msg_t *self, const char *key, const char *value)
{
    if (!self || self->type != GL_MSG_REPLY || self->reply.row_count == 0)
        return -1;
    return s_map_add (&self->reply.rows [self->reply.row_count - 1], key, value,
                      GL_MSG_MAX_ROW_FIELDS);
}

const char *
gl_msg_field (const gl_msg_field_t *fields, size_t count, const char *key)
{
    for (size_t index = 0; fields && key && index < count; index++)
        if (strcmp (fields [index].key, key) == 0)
            return fields [index].value;
    return NULL;
}

int
gl_msg_add_follow (gl_msg_t *self, const char *pattern)
{
    if (!self || self->type != GL_MSG_READY || !pattern
    ||  strlen (pattern) > GL_MSG_NAME_MAX
    ||  self->ready.follow_count >= GL_MSG_MAX_FOLLOW)
        return -1;
    snprintf (self->ready.follow [self->ready.follow_count], GL_MSG_NAME_MAX + 1, "%s",
              pattern);
    self->ready.follow_count++;
    return 0;
}

int
gl_msg_add_field (gl_msg_t *self, const char *key, const char *value)
{
    const s_field_t *field = s_field_of_kind (self, S_FIELDS);
    return field? s_map_add (s_map (self, field), key, value, GL_MSG_MAX_FIELDS): -1;
}

int
gl_msg_add_bar (gl_msg_t *self, const gl_bar_t *bar)
{
    if (!self || self->type != GL_MSG_BARS || !bar
    ||  self->bars.bar_count >= GL_MSG_MAX_BARS)
        return -1;
    gl_bar_t *bars = s_grow (self->bars.bars, self->bars.bar_count, sizeof (gl_bar_t));
    if (!bars)
        return -1;
    self->bars.bars = bars;
    bars [self->bars.bar_count++] = *bar;
    return 0;
}


//  --------------------------------------------------------------------------
//  Validation

//  What a name or enumeration field must hold, for error texts; indexed
//  by kind, NULL for kinds without such a rule.
static const char *s_text_expected [] = {
    [S_SERVICE] = "a service name of 1-64 [a-z0-9._-]",
    [S_INSTANCE] = "an instance id of 1-64 [A-Za-z0-9._:-]",
    [S_UUID] = "a UUID as 36 characters xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx of [0-9a-f]",
    [S_TIMEFRAME] = "one of 1m 5m 15m 30m 1h 4h 1d 1w",
    [S_ERROR_CLASS] = "one of rate_limited auth not_found no_data server_error timeout "
                      "parse_error breaker_open",
    [S_ADJUSTMENT] = "raw or split",
    [S_TIER] = "T0, T1, T2 or \"\"",
    [S_ACTION] = "one of status cancel pause resume dlq_list dlq_requeue dlq_purge",
    [S_EVENT] = "joined, left or current",
};

static const char *s_actions [] = {
    "status", "cancel", "pause", "resume", "dlq_list", "dlq_requeue", "dlq_purge"
};
#define S_ACTION_COUNT (sizeof (s_actions) / sizeof (s_actions [0]))

//  True if the text is one of the names.
static bool
s_one_of (const char *text, const char *const *names, size_t count)
{
    for (size_t index = 0; index < count; index++)
        if (strcmp (text, names [index]) == 0)
            return true;
    return false;
}

//  True for a ticker: 1-32 of [A-Za-z0-9.^=:/_-], as the symbols table has it.
static bool
s_ticker_valid (const char *text, size_t length)
{
    if (length == 0 || length > GL_MSG_SYMBOL_MAX)
        return false;
    for (size_t index = 0; index < length; index++) {
        char c = text [index];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
           || (c && strchr (".^=:/_-", c))))
            return false;
    }
    return true;
}

//  True if the text is a UUID in canonical form: 8-4-4-4-12 lowercase hex
//  digits. One spelling only, so tokens compare equal as strings exactly
//  when they are the same UUID (PostgreSQL prints this form).
static bool
s_uuid_valid (const char *text, size_t length)
{
    if (length != GL_MSG_UUID_SIZE)
        return false;
    for (size_t index = 0; index < length; index++) {
        char c = text [index];
        bool dash = index == 8 || index == 13 || index == 18 || index == 23;
        if (dash? c != '-': !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return false;
    }
    return true;
}

//  True if the terminated text obeys its kind's rule (name or enumeration).
static bool
s_text_obeys_kind (s_kind_t kind, const char *text, size_t length)
{
    if (kind == S_UUID)
        return s_uuid_valid (text, length);
    if (kind == S_SERVICE)
        return gl_wire_service_valid (text, length);
    if (kind == S_INSTANCE)
        return gl_wire_instance_valid (text, length);
    if (kind == S_TIMEFRAME)
        return gl_timeframe_parse (text) != GL_TF_INVALID;
    if (kind == S_EVENT)
        return strcmp (text, "joined") == 0 || strcmp (text, "left") == 0
            || strcmp (text, "current") == 0;
    if (kind == S_ERROR_CLASS)
        return s_one_of (text, s_error_classes, S_ERROR_CLASS_COUNT);
    if (kind == S_ADJUSTMENT)
        return strcmp (text, "raw") == 0 || strcmp (text, "split") == 0;
    if (kind == S_TIER)
        return length == 0 || (length == 2 && text [0] == 'T' && text [1] >= '0' && text [1] <= '2');
    if (kind == S_ACTION)
        return s_one_of (text, s_actions, S_ACTION_COUNT);
    return true;
}

//  Checks one fixed-buffer string field: terminated, UTF-8, its kind's rule.
static int
s_validate_text (const char *type, const s_field_t *field, const char *text, char *error)
{
    size_t length = strnlen (text, field->size);
    if (length == field->size)
        return s_fail (error, "%s.%s: expected at most %zu bytes, got an unterminated string",
                       type, field->name, field->size - 1);
    if (!s_utf8_valid (text, length))
        return s_fail (error, "%s.%s: expected valid UTF-8", type, field->name);
    if (!s_text_obeys_kind (field->kind, text, length))
        return s_fail (error, "%s.%s: expected %s", type, field->name,
                       s_text_expected [field->kind]);
    return 0;
}

//  Checks a list of instance ids or tickers: its length and each item.
static int
s_validate_list (const gl_msg_t *self, const char *type, const s_field_t *field, char *error)
{
    const s_list_t *list = s_list (self, field);
    bool members = field->kind == S_MEMBERS;
    size_t limit = members? GL_MSG_MAX_MEMBERS: field->limit;
    if (list->count > limit || (list->count && !list->items))
        return s_fail (error, "%s.%s: expected at most %zu items, got %zu", type, field->name,
                       limit, list->count);
    for (size_t index = 0; index < list->count; index++) {
        const char *item = list->items [index];
        size_t length = item? strnlen (item, GL_MSG_NAME_MAX + 1): 0;
        if (members? !item || !gl_wire_instance_valid (item, length)
                   : !item || !s_ticker_valid (item, length))
            return s_fail (error, "%s.%s[%zu]: expected %s", type, field->name, index,
                           members? "an instance id of 1-64 [A-Za-z0-9._:-]"
                                  : "a ticker of 1-32 [A-Za-z0-9.^=:/_-]");
    }
    if (members && self->membership.count < list->count)
        return s_fail (error, "membership.count: expected at least the %zu members listed, "
                       "got %llu", list->count, (unsigned long long) self->membership.count);
    return 0;
}

//  Checks the follow patterns of a ready message.
static int
s_validate_follow (const gl_msg_t *self, char *error)
{
    size_t count = self->ready.follow_count;
    if (count > GL_MSG_MAX_FOLLOW)
        return s_fail (error, "ready.follow: expected at most %d patterns, got %zu",
                       GL_MSG_MAX_FOLLOW, count);
    for (size_t index = 0; index < count; index++) {
        const char *pattern = self->ready.follow [index];
        if (!gl_wire_pattern_valid (pattern, strnlen (pattern, GL_MSG_NAME_MAX + 1)))
            return s_fail (error, "ready.follow[%zu]: expected a service name, or one "
                           "followed by \".*\", of at most 64 bytes", index);
    }
    return 0;
}

//  Checks a time against [0, end): seconds or milliseconds since 1970.
static int
s_validate_time (const char *path, int64_t value, int64_t end, char *error)
{
    if (value < 0 || value >= end)
        return s_fail (error, "%s: expected a time in [0, %lld) (1970-01-01 to 2100-01-01), "
                       "got %lld", path, (long long) end, (long long) value);
    return 0;
}

//  Checks the numbers of every bar: finite prices, volume and vwap.
static int
s_validate_bars (const gl_msg_t *self, char *error)
{
    size_t count = self->bars.bar_count;
    if (count > GL_MSG_MAX_BARS || (count && !self->bars.bars))
        return s_fail (error, "bars.bars: expected at most %d bars, got %zu",
                       GL_MSG_MAX_BARS, count);
    for (size_t index = 0; index < count; index++) {
        const gl_bar_t *bar = &self->bars.bars [index];
        char path [48];
        snprintf (path, sizeof (path), "bars.bars[%zu][0]", index);
        if (s_validate_time (path, bar->ts, GL_MSG_TIME_END, error))
            return -1;
        if (bar->has_trades && bar->trades > S_TRADES_MAX)
            return s_fail (error, "bars.bars[%zu][7]: expected %s, got %llu", index,
                           s_bar_expected [7], (unsigned long long) bar->trades);
        double numbers [6] = { bar->open, bar->high, bar->low, bar->close, bar->volume,
                               bar->has_vwap? bar->vwap: 0 };
        for (size_t element = 0; element < 6; element++)
            if (!isfinite (numbers [element]))
                return s_fail (error, "bars.bars[%zu][%zu]: expected %s, got %g", index,
                               element + 1, s_bar_expected [element + 1], numbers [element]);
    }
    return 0;
}

//  Checks one string of a map (path names the map).
static int
s_validate_map_text (const char *path, size_t index, const char *part, const char *text,
                     size_t limit, char *error)
{
    if (!text)
        return s_fail (error, "%s[%zu].%s: expected a string, got NULL", path, index, part);
    size_t length = strnlen (text, limit + 1);
    if (length > limit)
        return s_fail (error, "%s[%zu].%s: expected at most %zu bytes", path, index, part, limit);
    if (!s_utf8_valid (text, length))
        return s_fail (error, "%s[%zu].%s: expected valid UTF-8", path, index, part);
    return 0;
}

//  Checks a map of str to str: at most limit pairs, limits, UTF-8, no key
//  twice.
static int
s_validate_map (const gl_msg_row_t *map, const char *path, size_t limit, char *error)
{
    size_t count = map->field_count;
    if (count > limit || (count && !map->fields))
        return s_fail (error, "%s: expected at most %zu fields, got %zu", path, limit, count);
    for (size_t index = 0; index < count; index++) {
        const gl_msg_field_t *field = &map->fields [index];
        if (s_validate_map_text (path, index, "key", field->key, S_KEY_MAX, error)
        ||  s_validate_map_text (path, index, "value", field->value, S_VALUE_MAX, error))
            return -1;
        for (size_t earlier = 0; earlier < index; earlier++)
            if (strcmp (map->fields [earlier].key, field->key) == 0)
                return s_fail (error, "%s[%zu].key: duplicate key", path, index);
    }
    return 0;
}

//  Checks a reply's rows, each a map.
static int
s_validate_rows (const s_rows_t *rows, const char *path, char *error)
{
    if (rows->count > GL_MSG_MAX_ROWS || (rows->count && !rows->items))
        return s_fail (error, "%s: expected at most %d rows, got %zu", path, GL_MSG_MAX_ROWS,
                       rows->count);
    for (size_t index = 0; index < rows->count; index++) {
        char row [96];
        snprintf (row, sizeof row, "%s[%zu]", path, index);
        if (s_validate_map (&rows->items [index], row, GL_MSG_MAX_ROW_FIELDS, error))
            return -1;
    }
    return 0;
}

//  Checks one field of a message by its kind.
static int
s_validate_field (const gl_msg_t *self, const char *type, const s_field_t *field,
                  char *error)
{
    const char *slot = (const char *) self + field->offset;
    if (field->kind <= S_EVENT)
        return s_validate_text (type, field, slot, error);
    if (field->kind == S_UINT) {
        uint64_t value = field->size == sizeof (uint32_t)? *(const uint32_t *) slot
                                                          : *(const uint64_t *) slot;
        if (value > field->limit || value < field->minimum)
            return s_fail (error, "%s.%s: expected an integer %llu..%llu, got %llu", type,
                           field->name, (unsigned long long) field->minimum,
                           (unsigned long long) field->limit, (unsigned long long) value);
    }
    if (field->kind == S_TIME || field->kind == S_TIME_MS) {
        char path [64];
        snprintf (path, sizeof (path), "%s.%s", type, field->name);
        return s_validate_time (path, *(const int64_t *) slot,
                                field->kind == S_TIME? GL_MSG_TIME_END: GL_MSG_TIME_END * 1000,
                                error);
    }
    if (field->kind == S_FOLLOW)
        return s_validate_follow (self, error);
    if (field->kind == S_PAYLOAD) {
        if (self->echo.payload_size > S_PAYLOAD_MAX
        ||  (self->echo.payload_size && !self->echo.payload))
            return s_fail (error, "echo.payload: expected at most %d bytes, got %zu",
                           S_PAYLOAD_MAX, self->echo.payload_size);
        if (!s_utf8_valid (self->echo.payload, self->echo.payload_size))
            return s_fail (error, "echo.payload: expected valid UTF-8");
    }
    if (field->kind == S_MEMBERS || field->kind == S_SYMBOLS)
        return s_validate_list (self, type, field, error);
    if (field->kind == S_BARS)
        return s_validate_bars (self, error);
    char path [64];
    snprintf (path, sizeof (path), "%s.%s", type, field->name);
    if (field->kind == S_FIELDS)
        return s_validate_map (s_map (self, field), path, field->limit, error);
    if (field->kind == S_ROWS)
        return s_validate_rows (s_rows (self, field), path, error);
    return 0;
}

int
gl_msg_validate (const gl_msg_t *self, char *error)
{
    if (!self || self->type <= GL_MSG_INVALID || self->type >= (gl_msg_type_t) S_SCHEMA_COUNT)
        return s_fail (error, "message: expected a message of a known type");
    const s_schema_t *schema = &s_schemas [self->type];
    for (size_t index = 0; index < schema->field_count; index++)
        if (s_validate_field (self, schema->name, &schema->fields [index], error))
            return -1;
    if (self->type == GL_MSG_FETCH && self->fetch.from >= self->fetch.to)
        return s_fail (error, "fetch.to: expected from < to, got from %lld to %lld",
                       (long long) self->fetch.from, (long long) self->fetch.to);
    if (self->type == GL_MSG_WRITTEN && self->written.from >= self->written.to)
        return s_fail (error, "written.to: expected from < to, got from %lld to %lld",
                       (long long) self->written.from, (long long) self->written.to);
    return 0;
}


//  --------------------------------------------------------------------------
//  Encoding

//  Packs a string of known length; returns 0 or -1.
static int
s_pack_string (msgpack_packer *packer, const char *text, size_t length)
{
    if (msgpack_pack_str (packer, length))
        return -1;
    return length? msgpack_pack_str_body (packer, text, length): 0;
}

//  Packs one bar as its 9-element array; returns 0 or -1.
static int
s_pack_bar (msgpack_packer *packer, const gl_bar_t *bar)
{
    int rc = msgpack_pack_array (packer, S_BAR_SIZE);
    rc |= msgpack_pack_int64 (packer, bar->ts);
    rc |= msgpack_pack_double (packer, bar->open);
    rc |= msgpack_pack_double (packer, bar->high);
    rc |= msgpack_pack_double (packer, bar->low);
    rc |= msgpack_pack_double (packer, bar->close);
    rc |= msgpack_pack_double (packer, bar->volume);
    rc |= bar->has_vwap? msgpack_pack_double (packer, bar->vwap): msgpack_pack_nil (packer);
    rc |= bar->has_trades? msgpack_pack_uint64 (packer, bar->trades): msgpack_pack_nil (packer);
    rc |= bar->provisional? msgpack_pack_true (packer): msgpack_pack_false (packer);
    return rc? -1: 0;
}

//  Packs a map of str to str; returns 0 or -1.
static int
s_pack_map (msgpack_packer *packer, const gl_msg_row_t *map)
{
    int rc = msgpack_pack_map (packer, map->field_count);
    for (size_t index = 0; index < map->field_count && !rc; index++) {
        const gl_msg_field_t *pair = &map->fields [index];
        rc = s_pack_string (packer, pair->key, strlen (pair->key))
          || s_pack_string (packer, pair->value, strlen (pair->value));
    }
    return rc;
}

//  Packs the value of one field by its kind; returns 0 or -1.
static int
s_pack_field (msgpack_packer *packer, const gl_msg_t *self, const s_field_t *field)
{
    const char *slot = (const char *) self + field->offset;
    int rc = 0;
    if (field->kind <= S_EVENT)
        return s_pack_string (packer, slot, strlen (slot));
    if (field->kind == S_UINT)
        return msgpack_pack_uint64 (packer, field->size == sizeof (uint32_t)
                                    ? *(const uint32_t *) slot: *(const uint64_t *) slot);
    if (field->kind == S_INT || field->kind == S_TIME || field->kind == S_TIME_MS)
        return msgpack_pack_int64 (packer, *(const int64_t *) slot);
    if (field->kind == S_BOOL)
        return *(const bool *) slot? msgpack_pack_true (packer): msgpack_pack_false (packer);
    if (field->kind == S_PAYLOAD)
        return s_pack_string (packer, self->echo.payload, self->echo.payload_size);
    if (field->kind == S_MEMBERS || field->kind == S_SYMBOLS) {
        const s_list_t *list = s_list (self, field);
        rc = msgpack_pack_array (packer, list->count);
        for (size_t index = 0; index < list->count && !rc; index++)
            rc = s_pack_string (packer, list->items [index], strlen (list->items [index]));
    }
    if (field->kind == S_FOLLOW) {
        rc = msgpack_pack_array (packer, self->ready.follow_count);
        for (size_t index = 0; index < self->ready.follow_count && !rc; index++) {
            const char *pattern = self->ready.follow [index];
            rc = s_pack_string (packer, pattern, strlen (pattern));
        }
    }
    if (field->kind == S_BARS) {
        rc = msgpack_pack_array (packer, self->bars.bar_count);
        for (size_t index = 0; index < self->bars.bar_count && !rc; index++)
            rc = s_pack_bar (packer, &self->bars.bars [index]);
    }
    if (field->kind == S_FIELDS)
        rc = s_pack_map (packer, s_map (self, field));
    if (field->kind == S_ROWS) {
        const s_rows_t *rows = s_rows (self, field);
        rc = msgpack_pack_array (packer, rows->count);
        for (size_t index = 0; index < rows->count && !rc; index++)
            rc = s_pack_map (packer, &rows->items [index]);
    }
    return rc? -1: 0;
}

//  True if a field is to be encoded: every required one, an optional one
//  when it holds something (ready.follow: a pattern; a bool: true).
static bool
s_field_present (const gl_msg_t *self, const s_field_t *field)
{
    if (!field->optional)
        return true;
    if (field->kind == S_BOOL)
        return *(const bool *) ((const char *) self + field->offset);
    return field->kind == S_FOLLOW && self->ready.follow_count > 0;
}

int
gl_msg_encode (const gl_msg_t *self, char **data_p, size_t *size_p, char *error)
{
    if (!data_p || !size_p)
        return s_fail (error, "encode: expected somewhere to store the body");
    if (gl_msg_validate (self, error))
        return -1;
    const s_schema_t *schema = &s_schemas [self->type];
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    msgpack_packer packer;
    msgpack_packer_init (&packer, &buffer, msgpack_sbuffer_write);
    size_t present = 0;
    for (size_t index = 0; index < schema->field_count; index++)
        present += s_field_present (self, &schema->fields [index]);
    int rc = msgpack_pack_map (&packer, 1 + present);
    rc |= s_pack_string (&packer, "type", 4);
    rc |= s_pack_string (&packer, schema->name, strlen (schema->name));
    for (size_t index = 0; index < schema->field_count && !rc; index++) {
        const s_field_t *field = &schema->fields [index];
        if (!s_field_present (self, field))
            continue;
        rc = s_pack_string (&packer, field->name, strlen (field->name))
          || s_pack_field (&packer, self, field);
    }
    if (rc) {
        msgpack_sbuffer_destroy (&buffer);
        return s_fail (error, "%s: out of memory while encoding", schema->name);
    }
    *size_p = buffer.size;
    *data_p = msgpack_sbuffer_release (&buffer);
    return 0;
}


//  --------------------------------------------------------------------------
//  Decoding

//  Reads a big-endian unsigned integer of width bytes.
static uint64_t
s_read_big_endian (const uint8_t *bytes, size_t width)
{
    uint64_t value = 0;
    for (size_t index = 0; index < width; index++)
        value = (value << 8) | bytes [index];
    return value;
}

//  Walks the MessagePack structure without building it: exactly one
//  complete object, no trailing bytes. msgpack-c allocates an array's or
//  a map's slots as soon as it reads the declared count, so 5 bytes could
//  ask for 96 GB; here no container may declare more elements than bytes
//  remain, which bounds the unpacker's zone by the body size.
static int
s_scan (const uint8_t *bytes, size_t size, char *error)
{
    //  Payload bytes after the code for 0xca..0xd3: float32, float64,
    //  uint8..uint64, int8..int64.
    static const uint8_t fixed [] = { 4, 8, 1, 2, 4, 8, 1, 2, 4, 8 };
    size_t position = 0;
    uint64_t pending = 1;               //  objects still to read
    while (pending > 0) {
        if (position >= size)
            return s_fail (error, "body: truncated MessagePack at byte %zu", position);
        uint8_t code = bytes [position++];
        pending--;
        size_t width = 0;               //  bytes of a length or count field
        unsigned per_count = 0;         //  objects per counted item (array 1, map 2)
        uint64_t length = 0;            //  payload bytes after the length field
        uint64_t children = 0;          //  objects inside a fix container
        if (code <= 0x7F || code >= 0xE0 || code == 0xC0 || code == 0xC2 || code == 0xC3)
            ;                           //  fixint, nil, bool: the code is all
        else if (code <= 0x8F)
            children = 2 * (code & 0x0F);
        else if (code <= 0x9F)
            children = code & 0x0F;
        else if (code <= 0xBF)
            length = code & 0x1F;
        else if (code == 0xC1)
            return s_fail (error, "body: invalid MessagePack byte 0xc1 at byte %zu", position - 1);
        else if (code <= 0xC6)
            width = (size_t) 1 << (code - 0xC4);        //  bin 8/16/32
        else if (code <= 0xC9) {
            width = (size_t) 1 << (code - 0xC7);        //  ext 8/16/32 ...
            length = 1;                                 //  ... and its type byte
        }
        else if (code <= 0xD3)
            length = fixed [code - 0xCA];
        else if (code <= 0xD8)
            length = 1 + ((size_t) 1 << (code - 0xD4)); //  fixext: type byte, data
        else if (code <= 0xDB)
            width = (size_t) 1 << (code - 0xD9);        //  str 8/16/32
        else {
            width = code == 0xDC || code == 0xDE? 2: 4; //  array, map 16/32
            per_count = code <= 0xDD? 1: 2;
        }
        if (size - position < width)
            return s_fail (error, "body: truncated MessagePack at byte %zu", position);
        uint64_t value = s_read_big_endian (bytes + position, width);
        position += width;
        if (per_count)
            children = value * per_count;
        else
            length += value;
        if (size - position < length)
            return s_fail (error, "body: truncated MessagePack at byte %zu", position);
        position += length;
        pending += children;
        if (pending > size - position)
            return s_fail (error, "body: truncated MessagePack: %llu objects declared, "
                           "%zu bytes left", (unsigned long long) pending, size - position);
    }
    if (position != size)
        return s_fail (error, "body: %zu trailing bytes after the map", size - position);
    return 0;
}

//  Checks a string object against its limit (and for NUL bytes unless
//  binary is allowed); the path names the field for the error.
static int
s_check_string (const msgpack_object *object, size_t limit, bool binary, const char *path,
                char *error)
{
    char text [48];
    if (object->type != MSGPACK_OBJECT_STR)
        return s_fail (error, "%s: expected a string, got %s", path,
                       s_describe (object, text, sizeof (text)));
    if (object->via.str.size > limit)
        return s_fail (error, "%s: expected at most %zu bytes, got %u", path, limit,
                       object->via.str.size);
    if (!binary && memchr (object->via.str.ptr, '\0', object->via.str.size))
        return s_fail (error, "%s: expected a string without NUL bytes", path);
    return 0;
}

//  Copies a checked string object into a new C string; NULL on out of memory.
static char *
s_copy_string (const msgpack_object *object)
{
    char *copy = malloc (object->via.str.size + 1);
    if (copy) {
        if (object->via.str.size)
            memcpy (copy, object->via.str.ptr, object->via.str.size);
        copy [object->via.str.size] = '\0';
    }
    return copy;
}

//  Decodes a list of strings (membership.members, enqueue.symbols); each
//  item's rule is the validator's.
static int
s_decode_list (gl_msg_t *self, const char *path, const s_field_t *field,
               const msgpack_object *object, char *error)
{
    char text [48], item_path [80];
    size_t limit = field->kind == S_MEMBERS? GL_MSG_MAX_MEMBERS: field->limit;
    size_t size = field->kind == S_MEMBERS? GL_MSG_NAME_MAX: GL_MSG_SYMBOL_MAX;
    if (object->type != MSGPACK_OBJECT_ARRAY || object->via.array.size > limit)
        return s_fail (error, "%s: expected an array of at most %zu names, got %s", path,
                       limit, s_describe (object, text, sizeof (text)));
    size_t count = object->via.array.size;
    if (count == 0)
        return 0;
    s_list_t *list = s_list (self, field);
    list->items = malloc (s_capacity (count) * sizeof (char *));
    if (!list->items)
        return s_fail (error, "%s: out of memory", path);
    for (size_t index = 0; index < count; index++) {
        const msgpack_object *item = &object->via.array.ptr [index];
        snprintf (item_path, sizeof (item_path), "%s[%zu]", path, index);
        if (s_check_string (item, size, false, item_path, error))
            return -1;
        char *copy = s_copy_string (item);
        if (!copy)
            return s_fail (error, "%s: out of memory", item_path);
        list->items [list->count++] = copy;
    }
    return 0;
}

//  Decodes ready.follow (the patterns' rule is the validator's).
static int
s_decode_follow (gl_msg_t *self, const msgpack_object *object, char *error)
{
    char text [48], path [64];
    if (object->type != MSGPACK_OBJECT_ARRAY || object->via.array.size > GL_MSG_MAX_FOLLOW)
        return s_fail (error, "ready.follow: expected an array of at most %d patterns, got %s",
                       GL_MSG_MAX_FOLLOW, s_describe (object, text, sizeof (text)));
    for (size_t index = 0; index < object->via.array.size; index++) {
        const msgpack_object *pattern = &object->via.array.ptr [index];
        snprintf (path, sizeof (path), "ready.follow[%zu]", index);
        if (s_check_string (pattern, GL_MSG_NAME_MAX, false, path, error))
            return -1;
        char *slot = self->ready.follow [self->ready.follow_count++];
        memcpy (slot, pattern->via.str.ptr, pattern->via.str.size);
        slot [pattern->via.str.size] = '\0';
    }
    return 0;
}

//  Decodes one bar array into bar; returns 0 or -1.
static int
s_decode_bar (gl_bar_t *bar, size_t index, const msgpack_object *object, char *error)
{
    char text [48];
    if (object->type != MSGPACK_OBJECT_ARRAY || object->via.array.size != S_BAR_SIZE)
        return s_fail (error, "bars.bars[%zu]: expected an array of 9 elements, got %s",
                       index, s_describe (object, text, sizeof (text)));
    const msgpack_object *element = object->via.array.ptr;
    double *numbers [5] = { &bar->open, &bar->high, &bar->low, &bar->close, &bar->volume };
    size_t bad = S_BAR_SIZE;            //  the first element that does not fit
    if (!s_as_int (&element [0], &bar->ts))
        bad = 0;
    for (size_t number = 0; number < 5 && bad == S_BAR_SIZE; number++)
        if (!s_as_float (&element [1 + number], numbers [number]))
            bad = 1 + number;
    bar->has_vwap = element [6].type != MSGPACK_OBJECT_NIL;
    if (bad == S_BAR_SIZE && bar->has_vwap && !s_as_float (&element [6], &bar->vwap))
        bad = 6;
    bar->has_trades = element [7].type != MSGPACK_OBJECT_NIL;
    if (bad == S_BAR_SIZE && bar->has_trades
    &&  !s_as_uint (&element [7], S_TRADES_MAX, &bar->trades))
        bad = 7;
    if (bad == S_BAR_SIZE && element [8].type != MSGPACK_OBJECT_BOOLEAN)
        bad = 8;
    if (bad < S_BAR_SIZE)
        return s_fail (error, "bars.bars[%zu][%zu]: expected %s, got %s", index, bad,
                       s_bar_expected [bad], s_describe (&element [bad], text, sizeof (text)));
    bar->provisional = element [8].via.boolean;
    return 0;
}

//  Decodes bars.bars.
static int
s_decode_bars (gl_msg_t *self, const msgpack_object *object, char *error)
{
    char text [48];
    if (object->type != MSGPACK_OBJECT_ARRAY || object->via.array.size > GL_MSG_MAX_BARS)
        return s_fail (error, "bars.bars: expected an array of at most %d bars, got %s",
                       GL_MSG_MAX_BARS, s_describe (object, text, sizeof (text)));
    size_t count = object->via.array.size;
    if (count == 0)
        return 0;
    self->bars.bars = calloc (s_capacity (count), sizeof (gl_bar_t));
    if (!self->bars.bars)
        return s_fail (error, "bars.bars: out of memory");
    for (size_t index = 0; index < count; index++) {
        if (s_decode_bar (&self->bars.bars [index], index, &object->via.array.ptr [index], error))
            return -1;
        self->bars.bar_count++;
    }
    return 0;
}

//  Decodes a map of str to str of at most limit pairs into map.
static int
s_decode_map (gl_msg_row_t *map, const char *path, size_t limit, const msgpack_object *object,
              char *error)
{
    char text [48], pair_path [128];
    if (object->type != MSGPACK_OBJECT_MAP || object->via.map.size > limit)
        return s_fail (error, "%s: expected a map of at most %zu fields, got %s", path,
                       limit, s_describe (object, text, sizeof (text)));
    size_t count = object->via.map.size;
    if (count == 0)
        return 0;
    map->fields = calloc (s_capacity (count), sizeof (gl_msg_field_t));
    if (!map->fields)
        return s_fail (error, "%s: out of memory", path);
    for (size_t index = 0; index < count; index++) {
        const msgpack_object_kv *pair = &object->via.map.ptr [index];
        snprintf (pair_path, sizeof (pair_path), "%s[%zu].key", path, index);
        if (s_check_string (&pair->key, S_KEY_MAX, false, pair_path, error))
            return -1;
        snprintf (pair_path, sizeof (pair_path), "%s[%zu].value", path, index);
        if (s_check_string (&pair->val, S_VALUE_MAX, false, pair_path, error))
            return -1;
        gl_msg_field_t *field = &map->fields [map->field_count++];
        field->key = s_copy_string (&pair->key);
        field->value = s_copy_string (&pair->val);
        if (!field->key || !field->value)
            return s_fail (error, "%s: out of memory", path);
    }
    return 0;
}

//  Decodes reply.rows: an array of maps.
static int
s_decode_rows (s_rows_t *rows, const char *path, const msgpack_object *object, char *error)
{
    char text [48], row_path [96];
    if (object->type != MSGPACK_OBJECT_ARRAY || object->via.array.size > GL_MSG_MAX_ROWS)
        return s_fail (error, "%s: expected an array of at most %d rows, got %s", path,
                       GL_MSG_MAX_ROWS, s_describe (object, text, sizeof (text)));
    size_t count = object->via.array.size;
    if (count == 0)
        return 0;
    rows->items = calloc (count, sizeof (gl_msg_row_t));
    if (!rows->items)
        return s_fail (error, "%s: out of memory", path);
    for (size_t index = 0; index < count; index++) {
        snprintf (row_path, sizeof (row_path), "%s[%zu]", path, index);
        rows->count++;
        if (s_decode_map (&rows->items [index], row_path, GL_MSG_MAX_ROW_FIELDS,
                          &object->via.array.ptr [index], error))
            return -1;
    }
    return 0;
}

//  Decodes one field's value into the message by the field's kind.
static int
s_decode_field (gl_msg_t *self, const char *type, const s_field_t *field,
                const msgpack_object *object, char *error)
{
    char path [64], text [48];
    snprintf (path, sizeof (path), "%s.%s", type, field->name);
    char *slot = (char *) self + field->offset;
    if (field->kind <= S_EVENT) {
        //  An enumeration's value too long for its buffer is just not one
        //  of the names: say which names.
        if (object->type == MSGPACK_OBJECT_STR
        &&  ((field->kind >= S_TIMEFRAME && object->via.str.size >= field->size)
          || (field->kind == S_UUID && object->via.str.size != GL_MSG_UUID_SIZE)))
            return s_fail (error, "%s: expected %s", path, s_text_expected [field->kind]);
        if (s_check_string (object, field->size - 1, false, path, error))
            return -1;
        memcpy (slot, object->via.str.ptr, object->via.str.size);
        slot [object->via.str.size] = '\0';
        return 0;
    }
    if (field->kind == S_UINT) {
        uint64_t value;
        if (!s_as_uint (object, field->limit, &value) || value < field->minimum)
            return s_fail (error, "%s: expected an integer %llu..%llu, got %s", path,
                           (unsigned long long) field->minimum, (unsigned long long) field->limit,
                           s_describe (object, text, sizeof (text)));
        if (field->size == sizeof (uint32_t))
            *(uint32_t *) slot = (uint32_t) value;
        else
            *(uint64_t *) slot = value;
        return 0;
    }
    if (field->kind == S_INT || field->kind == S_TIME || field->kind == S_TIME_MS) {
        if (!s_as_int (object, (int64_t *) slot))
            return s_fail (error, "%s: expected a 64-bit integer, got %s", path,
                           s_describe (object, text, sizeof (text)));
        return 0;
    }
    if (field->kind == S_BOOL) {
        if (object->type != MSGPACK_OBJECT_BOOLEAN)
            return s_fail (error, "%s: expected a bool, got %s", path,
                           s_describe (object, text, sizeof (text)));
        *(bool *) slot = object->via.boolean;
        return 0;
    }
    if (field->kind == S_PAYLOAD) {
        if (s_check_string (object, S_PAYLOAD_MAX, true, path, error))
            return -1;
        if (gl_msg_set_payload (self, object->via.str.ptr, object->via.str.size))
            return s_fail (error, "%s: out of memory", path);
        return 0;
    }
    if (field->kind == S_MEMBERS || field->kind == S_SYMBOLS)
        return s_decode_list (self, path, field, object, error);
    if (field->kind == S_FOLLOW)
        return s_decode_follow (self, object, error);
    if (field->kind == S_BARS)
        return s_decode_bars (self, object, error);
    if (field->kind == S_ROWS)
        return s_decode_rows (s_rows (self, field), path, object, error);
    return s_decode_map (s_map (self, field), path, field->limit, object, error);
}

//  Finds the message type named by the "type" string; GL_MSG_INVALID if none.
static gl_msg_type_t
s_type_lookup (const msgpack_object *object)
{
    for (size_t type = GL_MSG_INVALID + 1; type < S_SCHEMA_COUNT; type++)
        if (s_str_equals (object, s_schemas [type].name))
            return (gl_msg_type_t) type;
    return GL_MSG_INVALID;
}

//  Decodes every entry but the "type" one (at type_entry) into the
//  message: each field once, every required field present.
static int
s_decode_entries (gl_msg_t *self, const msgpack_object_map *map, size_t type_entry,
                  char *error)
{
    const s_schema_t *schema = &s_schemas [self->type];
    char text [S_PRINTABLE_MAX + 1];
    uint32_t seen = 0;                  //  bit per field of the schema
    for (size_t entry = 0; entry < map->size; entry++) {
        if (entry == type_entry)
            continue;
        const msgpack_object *key = &map->ptr [entry].key;
        size_t index = 0;
        while (index < schema->field_count && !s_str_equals (key, schema->fields [index].name))
            index++;
        if (index == schema->field_count)
            return s_fail (error, "%s: unknown field \"%s\"", schema->name,
                           s_printable (text, key->via.str.ptr, key->via.str.size));
        const s_field_t *field = &schema->fields [index];
        if (seen & (1u << index))
            return s_fail (error, "%s.%s: duplicate field", schema->name, field->name);
        seen |= 1u << index;
        if (s_decode_field (self, schema->name, field, &map->ptr [entry].val, error))
            return -1;
    }
    for (size_t index = 0; index < schema->field_count; index++)
        if (!(seen & (1u << index)) && !schema->fields [index].optional)
            return s_fail (error, "%s.%s: missing required field", schema->name,
                           schema->fields [index].name);
    return 0;
}

//  Finds the one "type" entry of a map, wherever it is (maps are unordered
//  in many languages): every key must be a string, "type" must come once.
//  Returns its index, or -1 with the reason.
static int64_t
s_find_type (const msgpack_object_map *map, char *error)
{
    char text [S_PRINTABLE_MAX + 1];
    int64_t found = -1;
    for (size_t entry = 0; entry < map->size; entry++) {
        const msgpack_object *key = &map->ptr [entry].key;
        if (key->type != MSGPACK_OBJECT_STR)
            return s_fail (error, "body: expected string keys, got %s",
                           s_describe (key, text, sizeof (text)));
        if (!s_str_equals (key, "type"))
            continue;
        if (found >= 0)
            return s_fail (error, "body.type: duplicate field");
        found = (int64_t) entry;
    }
    if (found < 0)
        return s_fail (error, "body: expected a \"type\" entry");
    return found;
}

//  Builds a message from the unpacked root object, which must be a map
//  with one "type" entry.
static gl_msg_t *
s_decode_root (const msgpack_object *root, char *error)
{
    char text [S_PRINTABLE_MAX + 1];
    if (root->type != MSGPACK_OBJECT_MAP) {
        s_fail (error, "body: expected a map, got %s", s_describe (root, text, sizeof (text)));
        return NULL;
    }
    const msgpack_object_map *map = &root->via.map;
    int64_t type_entry = s_find_type (map, error);
    if (type_entry < 0)
        return NULL;
    const msgpack_object *name = &map->ptr [type_entry].val;
    if (name->type != MSGPACK_OBJECT_STR) {
        s_fail (error, "body.type: expected a string, got %s",
                s_describe (name, text, sizeof (text)));
        return NULL;
    }
    gl_msg_type_t type = s_type_lookup (name);
    if (type == GL_MSG_INVALID) {
        s_fail (error, "body.type: unknown type \"%s\"",
                s_printable (text, name->via.str.ptr, name->via.str.size));
        return NULL;
    }
    gl_msg_t *self = gl_msg_new (type);
    if (!self)
        s_fail (error, "%s: out of memory", s_schemas [type].name);
    else
    if (s_decode_entries (self, map, (size_t) type_entry, error))
        gl_msg_destroy (&self);
    return self;
}

gl_msg_t *
gl_msg_decode (const void *data, size_t size, char *error)
{
    if (!data) {
        s_fail (error, "body: expected data, got NULL");
        return NULL;
    }
    if (size > GL_MSG_MAX_BODY) {
        s_fail (error, "body: expected at most %d bytes, got %zu", GL_MSG_MAX_BODY, size);
        return NULL;
    }
    if (s_scan (data, size, error))
        return NULL;
    msgpack_unpacked unpacked;
    msgpack_unpacked_init (&unpacked);
    size_t offset = 0;
    msgpack_unpack_return rc = msgpack_unpack_next (&unpacked, data, size, &offset);
    gl_msg_t *self = NULL;
    if (rc != MSGPACK_UNPACK_SUCCESS || offset != size)
        s_fail (error, "body: malformed MessagePack (unpack status %d)", (int) rc);
    else
        self = s_decode_root (&unpacked.data, error);
    msgpack_unpacked_destroy (&unpacked);
    if (self && gl_msg_validate (self, error))
        gl_msg_destroy (&self);
    return self;
}
