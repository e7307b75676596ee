/*  gl_simtext — growable text buffer. See gl_simtext.h.  */
#include "gl_simtext.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct _gl_simtext_t {
    char *data;
    size_t size;
    size_t capacity;
    bool broken;
};

gl_simtext_t *
gl_simtext_new (void)
{
    gl_simtext_t *self = (gl_simtext_t *) calloc (1, sizeof (gl_simtext_t));
    if (!self)
        return NULL;
    self->capacity = 256;
    self->data = (char *) malloc (self->capacity);
    if (!self->data) {
        free (self);
        return NULL;
    }
    self->data [0] = 0;
    return self;
}

void
gl_simtext_destroy (gl_simtext_t **self_p)
{
    if (self_p && *self_p) {
        free ((*self_p)->data);
        free (*self_p);
        *self_p = NULL;
    }
}

//  Makes room for extra more bytes plus the terminator; false if it cannot.
static bool
s_reserve (gl_simtext_t *self, size_t extra)
{
    if (self->broken)
        return false;
    if (self->size + extra + 1 <= self->capacity)
        return true;
    size_t capacity = self->capacity;
    while (self->size + extra + 1 > capacity)
        capacity *= 2;
    char *data = (char *) realloc (self->data, capacity);
    if (!data) {
        self->broken = true;
        return false;
    }
    self->data = data;
    self->capacity = capacity;
    return true;
}

void
gl_simtext_printf (gl_simtext_t *self, const char *format, ...)
{
    va_list arguments;
    va_start (arguments, format);
    size_t room = self->capacity - self->size;
    int length = vsnprintf (self->data + self->size, room, format, arguments);
    va_end (arguments);
    if (length < 0) {
        self->broken = true;
        return;
    }
    if ((size_t) length >= room) {
        if (!s_reserve (self, (size_t) length))
            return;
        va_start (arguments, format);
        vsnprintf (self->data + self->size, self->capacity - self->size, format, arguments);
        va_end (arguments);
    }
    self->size += (size_t) length;
}

void
gl_simtext_append (gl_simtext_t *self, const char *text)
{
    size_t length = strlen (text);
    if (!s_reserve (self, length))
        return;
    memcpy (self->data + self->size, text, length + 1);
    self->size += length;
}

void
gl_simtext_cents (gl_simtext_t *self, int64_t cents)
{
    const char *sign = cents < 0? "-": "";
    int64_t magnitude = cents < 0? -cents: cents;
    gl_simtext_printf (self, "%s%lld.%02lld", sign,
                       (long long) (magnitude / 100), (long long) (magnitude % 100));
}

void
gl_simtext_clear (gl_simtext_t *self)
{
    self->size = 0;
    self->data [0] = 0;
}

void
gl_simtext_truncate (gl_simtext_t *self, size_t length)
{
    if (length < self->size) {
        self->size = length;
        self->data [length] = 0;
    }
}

const char *
gl_simtext_data (gl_simtext_t *self)
{
    return self->data;
}

size_t
gl_simtext_size (gl_simtext_t *self)
{
    return self->size;
}

bool
gl_simtext_ok (gl_simtext_t *self)
{
    return !self->broken;
}
