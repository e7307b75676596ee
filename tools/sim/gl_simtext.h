/*  gl_simtext — a growable text buffer the sim renders bodies into.

    Appends never fail half-way: on out of memory the buffer is marked
    broken and gl_simtext_ok returns false, so a renderer checks once.
*/
#ifndef GL_SIMTEXT_H_INCLUDED
#define GL_SIMTEXT_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct _gl_simtext_t gl_simtext_t;

//  Creates an empty buffer. Caller owns return value.
gl_simtext_t *gl_simtext_new (void);

//  Destroys the buffer and nulls the caller's pointer. Safe twice.
void gl_simtext_destroy (gl_simtext_t **self_p);

//  Appends a formatted string.
void gl_simtext_printf (gl_simtext_t *self, const char *format, ...)
    __attribute__ ((format (printf, 2, 3)));

//  Appends a string.
void gl_simtext_append (gl_simtext_t *self, const char *text);

//  Appends cents as a decimal number with two decimals ("123.40").
void gl_simtext_cents (gl_simtext_t *self, int64_t cents);

//  Empties the buffer.
void gl_simtext_clear (gl_simtext_t *self);

//  Cuts the buffer to length bytes if it is longer.
void gl_simtext_truncate (gl_simtext_t *self, size_t length);

//  The text (NUL-terminated) and its length.
const char *gl_simtext_data (gl_simtext_t *self);
size_t gl_simtext_size (gl_simtext_t *self);

//  False once an append ran out of memory.
bool gl_simtext_ok (gl_simtext_t *self);

#endif
