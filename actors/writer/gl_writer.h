/*  gl_writer — buffers BARS messages per slice and stores them in
    PostgreSQL: fenced by the slice's lease token, in the same transaction
    as the slice's completion, idempotently. The actor (main.c) feeds it
    from the broker; tests and the benchmark drive it directly.

        gl_writer_t *writer = gl_writer_new (NULL, NULL, &options);
        gl_writer_add (writer, &bars);          //  takes the message
        if (gl_writer_flush (writer, false) == 0)
            while ((written = gl_writer_next_written (writer)))
                ...send written to the scheduler and coverage...

    A slice is held until its last part arrived (every part 0..last),
    then a flush writes every ready slice in one transaction:

        BEGIN
        queue_lock_lease per slice      -- stale token: slice refused, counted
        COPY straight into ohlc_bars    -- when the ranges hold no rows yet
          or COPY into a temp stage + one merge that skips identical rows
          (a plain update first when the batch looks revised); every
          version it replaces goes to bar_revisions
        queue_complete per slice        -- rows it holds
        COMMIT                          -- then, and only then, WRITTEN

    A forced flush (the buffer is full of unfinished slices) also writes
    the held parts of unfinished slices, fenced the same way, without
    completing them; gl_writer_expire drops unfinished slices whose
    missing parts never came. Bars outside the slice's [from, to) are left
    out and counted. Rows a data error refuses are isolated by bisection under
    savepoints and reported; the good rows land. actors/writer/README.md
    says why each choice was made.
*/
#ifndef GL_WRITER_H_INCLUDED
#define GL_WRITER_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "gl_msg.h"

typedef struct _gl_writer_t gl_writer_t;

typedef struct {
    size_t batch_rows;          //  ready rows that make a flush worth it (default 50000)
    int64_t slice_max_age_ms;   //  an unfinished slice silent this long is dropped (600000)
} gl_writer_options_t;

//  What the writer did since it was created.
typedef struct {
    uint64_t messages;          //  bars messages accepted
    uint64_t refused;           //  bars messages refused as invalid
    uint64_t duplicate_parts;   //  a part of a held slice delivered again
    uint64_t slices;            //  slices completed (WRITTEN produced)
    uint64_t stale;             //  slices or parts refused for a stale lease token
    uint64_t mismatched;        //  slices or parts whose symbol/timeframe are not the run's
    uint64_t outside_rows;      //  bars outside their slice's [from, to), left out
    uint64_t rows;              //  rows committed (inserted, updated or identical)
    uint64_t inserted;          //  rows that were new
    uint64_t updated;           //  rows that replaced a different stored bar
    uint64_t revisions;         //  updates of a bar that was final
    uint64_t bad_rows;          //  rows refused by a data error (class 22/23), isolated
    uint64_t direct_copies;     //  batches copied straight into ohlc_bars
    uint64_t merges;            //  batches merged through the stage
    uint64_t expired;           //  unfinished slices dropped by gl_writer_expire
    uint64_t failures;          //  flush attempts that failed and were kept
    uint64_t reconnects;        //  connections opened after the first
} gl_writer_stats_t;

//  Creates a writer; it connects on the first flush (conninfo and schema
//  as gl_db_new takes them, NULL for the defaults). options may be NULL.
//  Caller owns return value.
gl_writer_t *gl_writer_new (const char *conninfo, const char *schema,
                            const gl_writer_options_t *options);

//  Connects now and checks the bar policy in force (gl_capability.h)
//  against what the database stores, recording it (every later connect
//  does the same). Returns 0 when they agree or when PostgreSQL cannot be
//  reached yet, -1 with the reason in error (GL_CONFIG_ERROR_MAX bytes)
//  when stored bars contradict the policy.
int gl_writer_check_policy (gl_writer_t *self, char *error);

//  Destroys the writer, dropping what it holds; nulls the caller's pointer.
//  Safe twice.
void gl_writer_destroy (gl_writer_t **self_p);

//  Takes a bars message (nulls *message_p). Returns 0 if it is held or was
//  a duplicate part (dropped), -1 if it is refused (logged, counted):
//  not a bars message, a lease token that is not a UUID, or a part that
//  contradicts the parts already held for its slice.
int gl_writer_add (gl_writer_t *self, gl_msg_t **message_p);

//  Writes every ready slice (and, when force, the parts of unfinished
//  slices too) in one transaction. Returns 0 when committed or when there
//  was nothing to write, -1 when PostgreSQL failed (connection lost,
//  restart, deadlock...): everything is kept for the next attempt, and
//  the connection is reopened then.
int gl_writer_flush (gl_writer_t *self, bool force);

//  Drops (logs, counts) every unfinished slice whose last part arrived
//  more than slice_max_age_ms ago, with the parts it still holds; such a
//  slice is never completed. Returns how many were dropped.
size_t gl_writer_expire (gl_writer_t *self);

//  The next WRITTEN message of a committed slice, or NULL.
//  Caller owns return value.
gl_msg_t *gl_writer_next_written (gl_writer_t *self);

//  Rows held in slices whose every part has arrived.
size_t gl_writer_ready_rows (gl_writer_t *self);

//  Slices whose every part has arrived, including empty ones (a last
//  part with no bars: a holiday), which complete with 0 rows.
size_t gl_writer_ready_slices (gl_writer_t *self);

//  Messages held (what the broker's credit must account for).
size_t gl_writer_held_messages (gl_writer_t *self);

//  The counters.
const gl_writer_stats_t *gl_writer_stats (gl_writer_t *self);

#endif
