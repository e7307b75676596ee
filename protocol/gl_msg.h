/*  gl_msg — GLP/1 message bodies: build, encode to MessagePack, decode
    strictly. protocol/SPEC.md sections 6 and 7 are the authority; this
    module follows them field by field.

    A decoded message owns all its memory (strings are copied out of the
    buffer, so the buffer may be freed at once). Decoding never reads past
    the buffer, never crashes on any input, and reports the first problem
    it finds as text naming the field ("fetch.timeframe: expected one of
    1m 5m 15m 30m 1h 4h 1d 1w").
*/
#ifndef GL_MSG_H_INCLUDED
#define GL_MSG_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GL_MSG_MAX_BODY     (16 * 1024 * 1024)
#define GL_MSG_NAME_MAX     64          //  service, instance, broker id, token
#define GL_MSG_SYMBOL_MAX   32
#define GL_MSG_MAX_BARS     50000
#define GL_MSG_MAX_MEMBERS  1024
#define GL_MSG_MAX_FIELDS   64
#define GL_MSG_MAX_FOLLOW   16          //  patterns in ready.follow
#define GL_MSG_UUID_SIZE    36          //  canonical text of a UUID
#define GL_MSG_CREDIT_MAX   1000000
#define GL_MSG_TIME_END     4102444800LL    //  2100-01-01T00:00:00Z: every time is below
#define GL_MSG_ERROR_MAX    256         //  decode error text, with NUL
#define GL_MSG_MAX_SYMBOLS  10000       //  tickers in one enqueue
#define GL_MSG_MAX_ROWS     1000        //  rows in one reply
#define GL_MSG_MAX_ROW_FIELDS 32        //  fields in one row of a reply

typedef enum {
    GL_MSG_INVALID = 0,
    GL_MSG_READY,
    GL_MSG_WELCOME,
    GL_MSG_CREDIT,
    GL_MSG_ERROR,
    GL_MSG_MEMBERSHIP,
    GL_MSG_ECHO,
    GL_MSG_FETCH,
    GL_MSG_BARS,
    GL_MSG_FAILED,
    GL_MSG_WRITTEN,
    GL_MSG_EVENT,
    GL_MSG_ENQUEUE,
    GL_MSG_COMMAND,
    GL_MSG_REPLY,
    GL_MSG_GAPS,
    GL_MSG_COUNT,               //  not a type: the number of types, for tables
} gl_msg_type_t;

//  One OHLC bar, as carried in a bars message.
typedef struct {
    int64_t ts;                 //  bar start, UTC seconds
    double open, high, low, close, volume;
    double vwap;                //  valid when has_vwap
    uint64_t trades;            //  valid when has_trades
    bool has_vwap, has_trades, provisional;
} gl_bar_t;

//  One key/value pair of an event's or a reply's fields.
typedef struct {
    char *key;
    char *value;
} gl_msg_field_t;

//  One row of a reply: a map of str to str.
typedef struct {
    gl_msg_field_t *fields;
    size_t field_count;
} gl_msg_row_t;

typedef struct {
    gl_msg_type_t type;
    union {
        struct { char service [GL_MSG_NAME_MAX + 1]; char instance [GL_MSG_NAME_MAX + 1];
                 uint32_t credit;
                 char follow [GL_MSG_MAX_FOLLOW][GL_MSG_NAME_MAX + 1];     //  optional
                 size_t follow_count; } ready;
        struct { uint32_t heartbeat_ms; char broker [GL_MSG_NAME_MAX + 1];
                 uint32_t credit_limit, queue_limit, max_body; } welcome;
        struct { uint32_t credit; } credit;
        struct { char code [33]; char text [257]; } error;
        struct { char service [GL_MSG_NAME_MAX + 1]; char instance [GL_MSG_NAME_MAX + 1];
                 char event [8];            //  "joined", "left" or "current"
                 uint64_t count;            //  live instances; members holds the first 1024
                 char **members; size_t member_count; } membership;
        struct { uint64_t sequence; char *payload; size_t payload_size; } echo;
        struct { uint64_t run_id; char lease_token [GL_MSG_NAME_MAX + 1];
                 char symbol [GL_MSG_SYMBOL_MAX + 1]; char timeframe [4];
                 int64_t from, to; uint32_t attempt; } fetch;
        struct { uint64_t run_id; char lease_token [GL_MSG_NAME_MAX + 1];
                 char provider [33]; char symbol [GL_MSG_SYMBOL_MAX + 1]; char timeframe [4];
                 uint32_t part; bool last;
                 char adjustment [6];       //  the price basis: "raw" or "split"
                 gl_bar_t *bars; size_t bar_count; } bars;
        struct { uint64_t run_id; char lease_token [GL_MSG_NAME_MAX + 1];
                 char provider [33]; char error_class [16]; bool retryable;
                 uint64_t retry_after_ms; char message [513]; } failed;
        struct { uint64_t run_id; char symbol [GL_MSG_SYMBOL_MAX + 1]; char timeframe [4];
                 int64_t from, to; uint64_t rows, revisions; } written;
        struct { char source [GL_MSG_NAME_MAX + 1]; char name [GL_MSG_NAME_MAX + 1];
                 int64_t time_ms; gl_msg_field_t *fields; size_t field_count; } event;
        struct { char request_id [GL_MSG_NAME_MAX + 1];
                 char **symbols; size_t symbol_count;
                 char tier [3];             //  "T0" "T1" "T2", or "" with symbols
                 char timeframe [4]; int64_t from, to; int64_t priority;
                 char provider [33];        //  "" lets routing choose
                 bool plan;
                 bool refresh;              //  optional: fetch stored slices again
               } enqueue;
        struct { char request_id [GL_MSG_NAME_MAX + 1]; char action [17];
                 uint64_t target; } command;
        struct { char request_id [GL_MSG_NAME_MAX + 1]; bool ok; char error [257];
                 gl_msg_field_t *fields; size_t field_count;
                 gl_msg_row_t *rows; size_t row_count; } reply;
        struct { char request_id [GL_MSG_NAME_MAX + 1];
                 char symbol [GL_MSG_SYMBOL_MAX + 1]; char timeframe [4];
                 int64_t from, to; } gaps;
    };
} gl_msg_t;

//  Creates an empty message of the given type (all fields zero, arrays
//  empty). Returns NULL for GL_MSG_INVALID or on out of memory.
//  Caller owns return value.
gl_msg_t *gl_msg_new (gl_msg_type_t type);

//  Destroys the message and everything it owns; nulls the caller's
//  pointer. Safe twice.
void gl_msg_destroy (gl_msg_t **self_p);

//  The wire name of a type ("fetch"), or "invalid".
const char *gl_msg_type_name (gl_msg_type_t type);

//  Copies a string into the message (payload, a member, a symbol, an
//  event's or a reply's field, a follow pattern, a field of the reply's
//  last row). Each returns 0, or -1 on out of memory, a value over its
//  limit or a message of the wrong type. gl_msg_add_member keeps
//  membership.count at least the number of members. gl_msg_add_row
//  starts a new, empty row of a reply.
int gl_msg_set_payload (gl_msg_t *self, const void *data, size_t size);
int gl_msg_add_member (gl_msg_t *self, const char *instance);
int gl_msg_add_symbol (gl_msg_t *self, const char *ticker);
int gl_msg_add_follow (gl_msg_t *self, const char *pattern);
int gl_msg_add_field (gl_msg_t *self, const char *key, const char *value);
int gl_msg_add_row (gl_msg_t *self);
int gl_msg_add_row_field (gl_msg_t *self, const char *key, const char *value);

//  The value of a field of an event, a reply or a reply's row, or NULL.
const char *gl_msg_field (const gl_msg_field_t *fields, size_t count, const char *key);

//  Appends a bar to a bars message. Returns 0, or -1 on out of memory or
//  past GL_MSG_MAX_BARS.
int gl_msg_add_bar (gl_msg_t *self, const gl_bar_t *bar);

//  Checks the message against the spec (the same rules decode applies:
//  names, limits, enumerations, finite numbers). Returns 0, or -1 with
//  the reason in error (GL_MSG_ERROR_MAX bytes).
int gl_msg_validate (const gl_msg_t *self, char *error);

//  Encodes a valid message as a MessagePack body. Returns 0 and a buffer
//  the caller frees with free(), or -1 with the reason in error if the
//  message does not validate.
int gl_msg_encode (const gl_msg_t *self, char **data_p, size_t *size_p, char *error);

//  Decodes a body strictly. Returns a new message, or NULL with the
//  reason in error. Never reads outside [data, data + size).
//  Caller owns return value.
gl_msg_t *gl_msg_decode (const void *data, size_t size, char *error);

#endif
