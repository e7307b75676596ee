/*  gl_pgcopy — ohlc_bars rows as a PostgreSQL binary COPY stream, for the
    benchmarks' raw-COPY baselines: the least the server does to store the
    rows, in the writer's column order (GL_PGCOPY_COLUMNS).

    gl_pgcopy_t copy;
    gl_pgcopy_open (&copy, conn, "ohlc_bars");     // starts the COPY
    gl_pgcopy_row (&copy, "AAPL", "1m", "polygon", "split", &bar);  // per row
    gl_pgcopy_close (&copy);                        // ends it, frees

    Header-only; needs gl_msg.h's gl_bar_t and libpq.
*/
#ifndef GL_PGCOPY_H_INCLUDED
#define GL_PGCOPY_H_INCLUDED

#include "gl_msg.h"
#include <endian.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GL_PGCOPY_COLUMNS "symbol, timeframe, ts, provider, open, high, low, close, volume, " \
                          "vwap, trade_count, provisional, adjustment"
//  Rows go to the server in pieces of about this many bytes.
#define GL_PGCOPY_CHUNK (1 << 18)

typedef struct {
    PGconn *conn;
    char *data;
    size_t size, capacity;
    bool failed;
} gl_pgcopy_t;

//  Sends what is buffered.
static inline void
gl_pgcopy_flush (gl_pgcopy_t *copy)
{
    if (!copy->failed && copy->size > 0 && PQputCopyData (copy->conn, copy->data, (int) copy->size) != 1)
        copy->failed = true;
    copy->size = 0;
}

//  Appends bytes, sending a full buffer first.
static inline void
gl_pgcopy_put (gl_pgcopy_t *copy, const void *bytes, size_t size)
{
    if (copy->size + size > copy->capacity)
        gl_pgcopy_flush (copy);
    memcpy (copy->data + copy->size, bytes, size);
    copy->size += size;
}

//  Appends an integer field of size 8 (big-endian) or 1 byte.
static inline void
gl_pgcopy_int (gl_pgcopy_t *copy, uint64_t value, int size)
{
    uint32_t length = htobe32 ((uint32_t) size);
    gl_pgcopy_put (copy, &length, 4);
    if (size == 8) {
        uint64_t wire = htobe64 (value);
        gl_pgcopy_put (copy, &wire, 8);
    }
    else {
        uint8_t byte = (uint8_t) value;
        gl_pgcopy_put (copy, &byte, 1);
    }
}

//  Appends a float8 field.
static inline void
gl_pgcopy_double (gl_pgcopy_t *copy, double value)
{
    uint64_t bits;
    memcpy (&bits, &value, 8);
    gl_pgcopy_int (copy, bits, 8);
}

//  Appends a text field (shorter than the buffer).
static inline void
gl_pgcopy_text (gl_pgcopy_t *copy, const char *text)
{
    uint32_t length = htobe32 ((uint32_t) strlen (text));
    gl_pgcopy_put (copy, &length, 4);
    gl_pgcopy_put (copy, text, strlen (text));
}

//  Starts COPY table FROM STDIN (FORMAT binary) and its signature.
static inline void
gl_pgcopy_open (gl_pgcopy_t *copy, PGconn *conn, const char *table)
{
    *copy = (gl_pgcopy_t) { .conn = conn, .capacity = GL_PGCOPY_CHUNK };
    copy->data = malloc (copy->capacity);
    char sql [256];
    snprintf (sql, sizeof sql, "COPY %s (" GL_PGCOPY_COLUMNS ") FROM STDIN (FORMAT binary)", table);
    PGresult *result = PQexec (conn, sql);
    copy->failed = PQresultStatus (result) != PGRES_COPY_IN;
    if (copy->failed)
        fprintf (stderr, "gl_pgcopy: %s", PQresultErrorMessage (result));
    PQclear (result);
    gl_pgcopy_put (copy, "PGCOPY\n\377\r\n\0\0\0\0\0\0\0\0\0", 19);
}

//  Appends one row (vwap and trade count always present, not provisional).
static inline void
gl_pgcopy_row (gl_pgcopy_t *copy, const char *symbol, const char *timeframe,
               const char *provider, const char *adjustment, const gl_bar_t *bar)
{
    uint16_t fields = htobe16 (13);
    gl_pgcopy_put (copy, &fields, 2);
    gl_pgcopy_text (copy, symbol);
    gl_pgcopy_text (copy, timeframe);
    gl_pgcopy_int (copy, (uint64_t) ((bar->ts - 946684800) * 1000000), 8);
    gl_pgcopy_text (copy, provider);
    gl_pgcopy_double (copy, bar->open);
    gl_pgcopy_double (copy, bar->high);
    gl_pgcopy_double (copy, bar->low);
    gl_pgcopy_double (copy, bar->close);
    gl_pgcopy_double (copy, bar->volume);
    gl_pgcopy_double (copy, bar->vwap);
    gl_pgcopy_int (copy, bar->trades, 8);
    gl_pgcopy_int (copy, 0, 1);
    gl_pgcopy_text (copy, adjustment);
}

//  Ends the stream and the COPY, frees the buffer. Returns 0, or -1 with
//  the server's message on stderr.
static inline int
gl_pgcopy_close (gl_pgcopy_t *copy)
{
    gl_pgcopy_put (copy, "\377\377", 2);
    gl_pgcopy_flush (copy);
    free (copy->data);
    copy->data = NULL;
    int status = copy->failed? -1: 0;
    if (PQputCopyEnd (copy->conn, NULL) != 1)
        status = -1;
    PGresult *result;
    while ((result = PQgetResult (copy->conn))) {
        if (PQresultStatus (result) != PGRES_COMMAND_OK) {
            fprintf (stderr, "gl_pgcopy: %s", PQresultErrorMessage (result));
            status = -1;
        }
        PQclear (result);
    }
    return status;
}

#endif
