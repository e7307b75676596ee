/*  gl_cli_subscribe — SUB socket and MessagePack look-ups for the CLI.  */
#include "gl_cli_subscribe.h"
#include "gl_cli_args.h"
#include "gl_curve.h"
#include <czmq.h>
#include <getopt.h>
#include <math.h>
#include <string.h>

struct _gl_cli_subscribe_t {
    zsock_t *socket;
    zpoller_t *poller;
    msgpack_unpacked unpacked;
    zmsg_t *message;            //  the last message, whose body unpacked points into
};

const char *
gl_cli_subscribe_default_endpoint (void)
{
    const char *endpoint = getenv ("GAPLESS_OPS_PUBLISH");
    return endpoint && *endpoint? endpoint: "tcp://127.0.0.1:5571";
}

int
gl_cli_subscribe_options (const char *command, const char *help, int argc, char **argv,
                          const char **endpoint, int64_t *timeout_ms, bool *json)
{
    static const struct option options [] = {
        { "ops", required_argument, NULL, 'o' },
        { "timeout-ms", required_argument, NULL, 'T' },
        { "json", no_argument, NULL, 'J' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    *endpoint = gl_cli_subscribe_default_endpoint ();
    *timeout_ms = 5000;
    *json = false;
    const char *endpoint_from = "GAPLESS_OPS_PUBLISH";
    int option;
    opterr = 0;
    while ((option = getopt_long (argc, argv, ":h", options, NULL)) != -1) {
        if (option == 'h') {
            fputs (help, stdout);
            return 0;
        }
        if (option == 'o') {
            *endpoint = optarg;
            endpoint_from = "--ops";
        }
        else
        if (option == 'J')
            *json = true;
        else
        if (option == 'T' && gl_cli_args_integer (optarg, 1, 3600000, timeout_ms) == 0)
            continue;
        else {
            fprintf (stderr, "gapless %s: %s %s\nsee: gapless %s --help\n", command,
                     option == 'T'? "--timeout-ms expects 1 to 3600000, got":
                     option == ':'? "missing value for": "unknown option",
                     option == 'T'? optarg: argv [optind - 1], command);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf (stderr, "gapless %s: unexpected argument %s\nsee: gapless %s --help\n", command,
                 argv [optind], command);
        return 2;
    }
    char reason [256];
    if (gl_cli_args_endpoint (*endpoint, reason, sizeof reason) == -1) {
        fprintf (stderr, "gapless %s: %s %s\nsee: gapless %s --help\n", command, endpoint_from,
                 reason, command);
        return 2;
    }
    return -1;
}

gl_cli_subscribe_t *
gl_cli_subscribe_new (const char *endpoint, const char *const *topics)
{
    gl_cli_subscribe_t *self = (gl_cli_subscribe_t *) zmalloc (sizeof (gl_cli_subscribe_t));
    if (!self)
        return NULL;
    msgpack_unpacked_init (&self->unpacked);
    self->socket = zsock_new (ZMQ_SUB);
    if (self->socket) {
        for (size_t index = 0; topics [index]; index++)
            zsock_set_subscribe (self->socket, topics [index]);
        zsock_set_linger (self->socket, 0);
    }
    //  CURVE to ops on another host: this client's secret certificate and
    //  ops' public one (GAPLESS_ACTOR_CURVE_SECRET, GAPLESS_OPS_CURVE_SERVER)
    const char *secret = getenv ("GAPLESS_ACTOR_CURVE_SECRET");
    const char *server = getenv ("GAPLESS_OPS_CURVE_SERVER");
    char error [GL_CURVE_ERROR_MAX];
    if (self->socket && secret && server && gl_curve_client (self->socket, secret, server, error)) {
        fprintf (stderr, "cannot use CURVE to ops: %s\n", error);
        gl_cli_subscribe_destroy (&self);
        return NULL;
    }
    if (!self->socket || zsock_connect (self->socket, "%s", endpoint) == -1) {
        fprintf (stderr, "cannot connect to ops at %s: %s\n", endpoint, zmq_strerror (zmq_errno ()));
        gl_cli_subscribe_destroy (&self);
        return NULL;
    }
    self->poller = zpoller_new (self->socket, NULL);
    return self;
}

void
gl_cli_subscribe_destroy (gl_cli_subscribe_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    gl_cli_subscribe_t *self = *self_p;
    msgpack_unpacked_destroy (&self->unpacked);
    zmsg_destroy (&self->message);
    zpoller_destroy (&self->poller);
    zsock_destroy (&self->socket);
    free (self);
    *self_p = NULL;
}

int
gl_cli_subscribe_recv (gl_cli_subscribe_t *self, int64_t timeout_ms, char *topic, size_t size,
                       const msgpack_object **map)
{
    int64_t deadline = zclock_mono () + timeout_ms;
    while (!zsys_interrupted) {
        int64_t left = deadline - zclock_mono ();
        if (left < 0)
            return 0;
        if (!zpoller_wait (self->poller, (int) (left < 100? left: 100)))
            continue;           //  a slice of the wait, so a signal is seen soon
        zmsg_destroy (&self->message);
        self->message = zmsg_recv (self->socket);
        if (!self->message || zmsg_size (self->message) != 2)
            continue;
        zframe_t *name = zmsg_first (self->message), *body = zmsg_next (self->message);
        size_t offset = 0;
        if (msgpack_unpack_next (&self->unpacked, (const char *) zframe_data (body),
                                 zframe_size (body), &offset) != MSGPACK_UNPACK_SUCCESS
        ||  self->unpacked.data.type != MSGPACK_OBJECT_MAP)
            continue;
        snprintf (topic, size, "%.*s", (int) zframe_size (name), (const char *) zframe_data (name));
        *map = &self->unpacked.data;
        return 1;
    }
    return -1;
}

const msgpack_object *
gl_cli_value (const msgpack_object *map, const char *key)
{
    if (!map || map->type != MSGPACK_OBJECT_MAP)
        return NULL;
    size_t length = strlen (key);
    for (uint32_t index = 0; index < map->via.map.size; index++) {
        const msgpack_object *name = &map->via.map.ptr [index].key;
        if (name->type == MSGPACK_OBJECT_STR && name->via.str.size == length
        &&  memcmp (name->via.str.ptr, key, length) == 0)
            return &map->via.map.ptr [index].val;
    }
    return NULL;
}

int64_t
gl_cli_int (const msgpack_object *map, const char *key, int64_t fallback)
{
    const msgpack_object *value = gl_cli_value (map, key);
    if (value && value->type == MSGPACK_OBJECT_POSITIVE_INTEGER && value->via.u64 <= INT64_MAX)
        return (int64_t) value->via.u64;
    if (value && value->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
        return value->via.i64;
    return fallback;
}

double
gl_cli_float (const msgpack_object *map, const char *key, double fallback)
{
    const msgpack_object *value = gl_cli_value (map, key);
    if (value && (value->type == MSGPACK_OBJECT_FLOAT64 || value->type == MSGPACK_OBJECT_FLOAT32))
        return value->via.f64;
    return value && (value->type == MSGPACK_OBJECT_POSITIVE_INTEGER
                 ||  value->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
        ? (double) gl_cli_int (map, key, 0): fallback;
}

bool
gl_cli_bool (const msgpack_object *map, const char *key, bool fallback)
{
    const msgpack_object *value = gl_cli_value (map, key);
    return value && value->type == MSGPACK_OBJECT_BOOLEAN? value->via.boolean: fallback;
}

const char *
gl_cli_str (const msgpack_object *map, const char *key, char *buffer, size_t size)
{
    const msgpack_object *value = gl_cli_value (map, key);
    if (value && value->type == MSGPACK_OBJECT_STR)
        snprintf (buffer, size, "%.*s", (int) value->via.str.size, value->via.str.ptr);
    else
        buffer [0] = '\0';
    return buffer;
}

//  Prints a string as JSON.
static void
s_json_string (FILE *out, const char *text, size_t length)
{
    fputc ('"', out);
    for (size_t index = 0; index < length; index++) {
        unsigned char byte = (unsigned char) text [index];
        if (byte == '"' || byte == '\\')
            fprintf (out, "\\%c", byte);
        else
        if (byte < 0x20)
            fprintf (out, "\\u%04x", byte);
        else
            fputc (byte, out);
    }
    fputc ('"', out);
}

void
gl_cli_print_json (FILE *out, const msgpack_object *object)
{
    switch (object->type) {
        case MSGPACK_OBJECT_NIL: fputs ("null", out); break;
        case MSGPACK_OBJECT_BOOLEAN: fputs (object->via.boolean? "true": "false", out); break;
        case MSGPACK_OBJECT_POSITIVE_INTEGER: fprintf (out, "%" PRIu64, object->via.u64); break;
        case MSGPACK_OBJECT_NEGATIVE_INTEGER: fprintf (out, "%" PRId64, object->via.i64); break;
        case MSGPACK_OBJECT_FLOAT32:
        case MSGPACK_OBJECT_FLOAT64:
            if (isfinite (object->via.f64))
                fprintf (out, "%.6g", object->via.f64);
            else
                fputs ("null", out);
            break;
        case MSGPACK_OBJECT_STR:
            s_json_string (out, object->via.str.ptr, object->via.str.size);
            break;
        case MSGPACK_OBJECT_ARRAY:
            fputc ('[', out);
            for (uint32_t index = 0; index < object->via.array.size; index++) {
                fputs (index? ", ": "", out);
                gl_cli_print_json (out, &object->via.array.ptr [index]);
            }
            fputc (']', out);
            break;
        case MSGPACK_OBJECT_MAP:
            fputc ('{', out);
            for (uint32_t index = 0; index < object->via.map.size; index++) {
                const msgpack_object *key = &object->via.map.ptr [index].key;
                fputs (index? ", ": "", out);
                if (key->type == MSGPACK_OBJECT_STR)
                    s_json_string (out, key->via.str.ptr, key->via.str.size);
                else
                    s_json_string (out, "?", 1);
                fputs (": ", out);
                gl_cli_print_json (out, &object->via.map.ptr [index].val);
            }
            fputc ('}', out);
            break;
        default:
            fputs ("null", out);
    }
}
