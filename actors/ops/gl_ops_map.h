/*  gl_ops_map — a MessagePack map built key by key: the body of every ops
    publication (protocol/SPEC.md, "Ops publication").

    Keys are strings; values are strings, integers, floats, booleans or
    other maps. The map is written as it is built, so a map of any size
    costs one buffer; nesting copies the child's bytes once.

        gl_ops_map_t *map = gl_ops_map_new ();
        gl_ops_map_str (map, "type", "progress");
        gl_ops_map_int (map, "backfill_id", 42);
        gl_ops_map_encode (map, &data, &size);
*/
#ifndef GL_OPS_MAP_H_INCLUDED
#define GL_OPS_MAP_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct _gl_ops_map_t gl_ops_map_t;

//  Creates an empty map. Returns NULL on out of memory. Caller owns
//  return value.
gl_ops_map_t *gl_ops_map_new (void);

//  Destroys the map and nulls the caller's pointer. Safe twice.
void gl_ops_map_destroy (gl_ops_map_t **self_p);

//  Adds one entry. The caller keeps each key once.
void gl_ops_map_str (gl_ops_map_t *self, const char *key, const char *value);
void gl_ops_map_int (gl_ops_map_t *self, const char *key, int64_t value);
void gl_ops_map_float (gl_ops_map_t *self, const char *key, double value);
void gl_ops_map_bool (gl_ops_map_t *self, const char *key, bool value);

//  Adds a nested map (its bytes are copied; the child stays the caller's).
void gl_ops_map_map (gl_ops_map_t *self, const char *key, const gl_ops_map_t *child);

//  Adds a string value as an integer when it is one ("-12"), else as the
//  string: for event fields, which travel as text.
void gl_ops_map_text (gl_ops_map_t *self, const char *key, const char *value);

//  Entries added so far.
size_t gl_ops_map_size (const gl_ops_map_t *self);

//  The encoded map in a new buffer the caller frees with free(). Returns
//  0, or -1 on out of memory.
int gl_ops_map_encode (const gl_ops_map_t *self, char **data_p, size_t *size_p);

#endif
