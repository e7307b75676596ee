/*  gl_cli_subscribe — the CLI's side of the ops publication: a SUB
    socket on ops' endpoint that yields each message's topic and its
    MessagePack map, with typed look-ups and a JSON printer
    (protocol/SPEC.md, "Ops publication").
*/
#ifndef GL_CLI_SUBSCRIBE_H_INCLUDED
#define GL_CLI_SUBSCRIBE_H_INCLUDED

#include <msgpack.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

typedef struct _gl_cli_subscribe_t gl_cli_subscribe_t;

//  The ops endpoint when none is given: $GAPLESS_OPS_PUBLISH, else
//  tcp://127.0.0.1:5571.
const char *gl_cli_subscribe_default_endpoint (void);

//  Parses the options of a command that reads ops (--ops ENDPOINT,
//  --timeout-ms N, --json, -h/--help printing help), with one-line errors.
//  Returns -1 to go on, or the exit status (0 after --help, 2 for a bad
//  argument).
int gl_cli_subscribe_options (const char *command, const char *help, int argc, char **argv,
                              const char **endpoint, int64_t *timeout_ms, bool *json);

//  Connects to endpoint and subscribes to each topic prefix (a
//  NULL-terminated list). Returns NULL with the reason on stderr. Caller
//  owns return value.
gl_cli_subscribe_t *gl_cli_subscribe_new (const char *endpoint, const char *const *topics);

//  Closes the socket and nulls the caller's pointer. Safe twice.
void gl_cli_subscribe_destroy (gl_cli_subscribe_t **self_p);

//  Waits up to timeout_ms for a message. Returns 1 with its topic (in
//  topic, size bytes) and its map (valid until the next call), 0 when
//  none came in time, -1 when interrupted (SIGINT, SIGTERM). A message
//  that is not two frames with a map body is skipped.
int gl_cli_subscribe_recv (gl_cli_subscribe_t *self, int64_t timeout_ms, char *topic,
                           size_t size, const msgpack_object **map);

//  The value of key in a map, or NULL.
const msgpack_object *gl_cli_value (const msgpack_object *map, const char *key);

//  Typed values of key, or fallback when absent or of another type.
int64_t gl_cli_int (const msgpack_object *map, const char *key, int64_t fallback);
double gl_cli_float (const msgpack_object *map, const char *key, double fallback);
bool gl_cli_bool (const msgpack_object *map, const char *key, bool fallback);

//  A string value copied into buffer (size bytes; "" when absent).
const char *gl_cli_str (const msgpack_object *map, const char *key, char *buffer, size_t size);

//  Prints an object as JSON.
void gl_cli_print_json (FILE *out, const msgpack_object *object);

#endif
