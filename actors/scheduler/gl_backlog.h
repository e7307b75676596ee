/*  gl_backlog — the scheduler's work in PostgreSQL: backfills and the
    slices they are cut into (job_runs, migrations 0002, 0004, 0006).

    Enqueueing is idempotent and shared: a backfill is known by its
    request (symbols, timeframe, range, provider), so the same request
    while it is active finds the same backfill, from any number of clients
    at once; its slices are whole calendar units (gl_slicer), so the same
    or an overlapping request names the same slices, which the database's
    unique idx_hash keeps single. Slices are sent in one COPY per request
    and enqueued by one statement, not row by row.

    A symbol the database does not know is added with the defaults
    (equity, xnys calendar, tier T2); its calendar and listing date decide
    its slices (nothing before listed_on).
*/
#ifndef GL_BACKLOG_H_INCLUDED
#define GL_BACKLOG_H_INCLUDED

#include <stddef.h>
#include <stdint.h>
#include "gl_db.h"
#include "gl_slicer.h"

typedef struct _gl_backlog_t gl_backlog_t;

//  A user's backfill request.
typedef struct {
    const char *const *symbols;     //  tickers
    size_t symbol_count;
    gl_timeframe_t timeframe;
    int64_t from, to;               //  [from, to), UTC seconds
    int priority;                   //  higher runs first
    const char *provider;           //  pin one provider, or NULL: routing picks
    int max_attempts;               //  0: the queue's default (5)
    gl_slice_unit_t unit;           //  GL_SLICE_INVALID: the timeframe's default
    int64_t now;                    //  slices end at the last bar closed by now
} gl_backlog_request_t;

//  What an enqueue did.
typedef struct {
    int64_t backfill_id;
    int64_t created;                //  new slices
    int64_t shared;                 //  already queued or running for an earlier request
    int64_t stored;                 //  already in the store: not enqueued
    int64_t bars_expected;          //  bars the calendar expects in all slices
} gl_backlog_counts_t;

//  Creates a backlog on a connection the caller keeps owning. Returns NULL
//  on out of memory. Caller owns return value.
gl_backlog_t *gl_backlog_new (gl_db_t *db);

//  Destroys the backlog and nulls the caller's pointer. Safe twice.
void gl_backlog_destroy (gl_backlog_t **self_p);

//  Validates a request: at least one well-formed symbol, a timeframe, a
//  range within 1970..2100, a unit that fits the timeframe. Returns 0, or
//  -1 with a message naming what was expected in error (256 bytes).
int gl_backlog_check (const gl_backlog_request_t *request, char *error);

//  Records the request as a backfill (or finds the active one it repeats)
//  and enqueues its slices, all in one transaction. Returns 0 with counts
//  filled, or -1 with the reason in error (256 bytes); nothing is half
//  enqueued.
int gl_backlog_enqueue (gl_backlog_t *self, const gl_backlog_request_t *request,
                        gl_backlog_counts_t *counts, char *error);

#endif
