/*  gl_ops_map — a MessagePack map built key by key.  */
#include "gl_ops_map.h"
#include <msgpack.h>
#include <stdlib.h>
#include <string.h>

struct _gl_ops_map_t {
    msgpack_sbuffer entries;    //  keys and values, packed as added
    msgpack_packer packer;
    size_t count;
    bool failed;                //  a write ran out of memory: encode refuses
};

gl_ops_map_t *
gl_ops_map_new (void)
{
    gl_ops_map_t *self = (gl_ops_map_t *) calloc (1, sizeof (gl_ops_map_t));
    if (!self)
        return NULL;
    msgpack_sbuffer_init (&self->entries);
    msgpack_packer_init (&self->packer, &self->entries, msgpack_sbuffer_write);
    return self;
}

void
gl_ops_map_destroy (gl_ops_map_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    msgpack_sbuffer_destroy (&(*self_p)->entries);
    free (*self_p);
    *self_p = NULL;
}

//  Packs a string.
static void
s_pack_string (gl_ops_map_t *self, const char *text)
{
    size_t length = strlen (text);
    self->failed |= msgpack_pack_str (&self->packer, length) != 0
                 || msgpack_pack_str_body (&self->packer, text, length) != 0;
}

//  Packs a key and counts its entry.
static void
s_key (gl_ops_map_t *self, const char *key)
{
    s_pack_string (self, key);
    self->count++;
}

void
gl_ops_map_str (gl_ops_map_t *self, const char *key, const char *value)
{
    s_key (self, key);
    s_pack_string (self, value? value: "");
}

void
gl_ops_map_int (gl_ops_map_t *self, const char *key, int64_t value)
{
    s_key (self, key);
    self->failed |= msgpack_pack_int64 (&self->packer, value) != 0;
}

void
gl_ops_map_float (gl_ops_map_t *self, const char *key, double value)
{
    s_key (self, key);
    self->failed |= msgpack_pack_double (&self->packer, value) != 0;
}

void
gl_ops_map_bool (gl_ops_map_t *self, const char *key, bool value)
{
    s_key (self, key);
    self->failed |= (value? msgpack_pack_true (&self->packer)
                          : msgpack_pack_false (&self->packer)) != 0;
}

void
gl_ops_map_map (gl_ops_map_t *self, const char *key, const gl_ops_map_t *child)
{
    s_key (self, key);
    self->failed |= child->failed || msgpack_pack_map (&self->packer, child->count) != 0
                 || (child->entries.size > 0
                     && msgpack_sbuffer_write (&self->entries, child->entries.data,
                                               child->entries.size) != 0);
}

void
gl_ops_map_text (gl_ops_map_t *self, const char *key, const char *value)
{
    const char *digits = value + (*value == '-');
    bool integer = *digits && strlen (digits) <= 18 && strspn (digits, "0123456789") == strlen (digits);
    if (integer)
        gl_ops_map_int (self, key, strtoll (value, NULL, 10));
    else
        gl_ops_map_str (self, key, value);
}

size_t
gl_ops_map_size (const gl_ops_map_t *self)
{
    return self->count;
}

int
gl_ops_map_encode (const gl_ops_map_t *self, char **data_p, size_t *size_p)
{
    if (self->failed)
        return -1;
    msgpack_sbuffer whole;
    msgpack_sbuffer_init (&whole);
    msgpack_packer packer;
    msgpack_packer_init (&packer, &whole, msgpack_sbuffer_write);
    if (msgpack_pack_map (&packer, self->count) != 0
    ||  (self->entries.size > 0
         && msgpack_sbuffer_write (&whole, self->entries.data, self->entries.size) != 0)) {
        msgpack_sbuffer_destroy (&whole);
        return -1;
    }
    *size_p = whole.size;
    *data_p = msgpack_sbuffer_release (&whole);
    return *data_p? 0: -1;
}
