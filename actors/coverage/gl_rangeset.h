/*  gl_rangeset — a sorted set of disjoint half-open ranges [from, to) of
    UTC seconds: what the coverage tracker holds per symbol and timeframe.

    Ranges that overlap or touch are merged on add, so the set is always
    as short as it can be; remove cuts ranges apart. Storage is one array
    of 16-byte pairs grown by doubling, so a symbol-timeframe covered in
    one piece costs one pair. Lookups are binary searches.
*/
#ifndef GL_RANGESET_H_INCLUDED
#define GL_RANGESET_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    int64_t from, to;
} gl_range_t;

typedef struct _gl_rangeset_t gl_rangeset_t;

//  Creates an empty set. Returns NULL on out of memory.
//  Caller owns return value.
gl_rangeset_t *gl_rangeset_new (void);

//  Destroys the set and nulls the caller's pointer. Safe twice.
void gl_rangeset_destroy (gl_rangeset_t **self_p);

//  Adds [from, to), merging it with every range it overlaps or touches.
//  Returns 0, or -1 for from >= to or on out of memory (nothing changed).
int gl_rangeset_add (gl_rangeset_t *self, int64_t from, int64_t to);

//  Removes [from, to) from the set, splitting a range it falls inside.
//  Returns 0, or -1 for from >= to or on out of memory (nothing changed).
int gl_rangeset_remove (gl_rangeset_t *self, int64_t from, int64_t to);

//  Removes every range.
void gl_rangeset_clear (gl_rangeset_t *self);

//  The number of ranges.
size_t gl_rangeset_size (const gl_rangeset_t *self);

//  The range at index (0 .. size - 1), in order; NULL past the end.
const gl_range_t *gl_rangeset_at (const gl_rangeset_t *self, size_t index);

//  The index of the first range that ends after instant (to > instant),
//  or the size when there is none.
size_t gl_rangeset_find (const gl_rangeset_t *self, int64_t instant);

//  True if one range of the set holds all of [from, to).
bool gl_rangeset_contains (const gl_rangeset_t *self, int64_t from, int64_t to);

//  Bytes the set holds on the heap (its struct and its array).
size_t gl_rangeset_bytes (const gl_rangeset_t *self);

#endif
