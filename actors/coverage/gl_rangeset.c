/*  gl_rangeset — sorted disjoint ranges. See gl_rangeset.h.  */
#include "gl_rangeset.h"
#include <stdlib.h>
#include <string.h>

struct _gl_rangeset_t {
    gl_range_t *ranges;
    uint32_t count, capacity;
};

gl_rangeset_t *
gl_rangeset_new (void)
{
    return (gl_rangeset_t *) calloc (1, sizeof (gl_rangeset_t));
}

void
gl_rangeset_destroy (gl_rangeset_t **self_p)
{
    if (self_p && *self_p) {
        free ((*self_p)->ranges);
        free (*self_p);
        *self_p = NULL;
    }
}

//  Makes room for needed ranges. Returns 0, or -1 on out of memory.
static int
s_reserve (gl_rangeset_t *self, size_t needed)
{
    if (needed <= self->capacity)
        return 0;
    if (needed > UINT32_MAX / 2)
        return -1;
    uint32_t capacity = self->capacity? self->capacity: 1;
    while (capacity < needed)
        capacity *= 2;
    gl_range_t *ranges = (gl_range_t *) realloc (self->ranges, capacity * sizeof (gl_range_t));
    if (!ranges)
        return -1;
    self->ranges = ranges;
    self->capacity = capacity;
    return 0;
}

//  Replaces ranges [first, last) with the given ones (count of them).
//  Returns 0, or -1 on out of memory.
static int
s_splice (gl_rangeset_t *self, size_t first, size_t last, const gl_range_t *with, size_t count)
{
    size_t size = self->count - (last - first) + count;
    if (s_reserve (self, size))
        return -1;
    memmove (self->ranges + first + count, self->ranges + last,
             (self->count - last) * sizeof (gl_range_t));
    memcpy (self->ranges + first, with, count * sizeof (gl_range_t));
    self->count = (uint32_t) size;
    return 0;
}

size_t
gl_rangeset_find (const gl_rangeset_t *self, int64_t instant)
{
    size_t low = 0, high = self? self->count: 0;
    while (low < high) {
        size_t middle = low + (high - low) / 2;
        if (self->ranges [middle].to > instant)
            high = middle;
        else
            low = middle + 1;
    }
    return low;
}

int
gl_rangeset_add (gl_rangeset_t *self, int64_t from, int64_t to)
{
    if (!self || from >= to)
        return -1;
    //  Ranges that end at or after from and start at or before to touch it
    size_t first = gl_rangeset_find (self, from - 1), last = first;
    gl_range_t merged = { from, to };
    while (last < self->count && self->ranges [last].from <= to) {
        if (self->ranges [last].from < merged.from)
            merged.from = self->ranges [last].from;
        if (self->ranges [last].to > merged.to)
            merged.to = self->ranges [last].to;
        last++;
    }
    return s_splice (self, first, last, &merged, 1);
}

int
gl_rangeset_remove (gl_rangeset_t *self, int64_t from, int64_t to)
{
    if (!self || from >= to)
        return -1;
    size_t first = gl_rangeset_find (self, from), last = first;
    gl_range_t kept [2];
    size_t count = 0;
    while (last < self->count && self->ranges [last].from < to)
        last++;
    if (first == last)
        return 0;
    if (self->ranges [first].from < from)
        kept [count++] = (gl_range_t) { self->ranges [first].from, from };
    if (self->ranges [last - 1].to > to)
        kept [count++] = (gl_range_t) { to, self->ranges [last - 1].to };
    return s_splice (self, first, last, kept, count);
}

void
gl_rangeset_clear (gl_rangeset_t *self)
{
    if (self)
        self->count = 0;
}

size_t
gl_rangeset_size (const gl_rangeset_t *self)
{
    return self? self->count: 0;
}

const gl_range_t *
gl_rangeset_at (const gl_rangeset_t *self, size_t index)
{
    return self && index < self->count? &self->ranges [index]: NULL;
}

bool
gl_rangeset_contains (const gl_rangeset_t *self, int64_t from, int64_t to)
{
    size_t index = gl_rangeset_find (self, from);
    return index < gl_rangeset_size (self) && self->ranges [index].from <= from
        && self->ranges [index].to >= to;
}

size_t
gl_rangeset_bytes (const gl_rangeset_t *self)
{
    return self? sizeof (gl_rangeset_t) + self->capacity * sizeof (gl_range_t): 0;
}
