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
#include <stdbool.h>
#include "gl_capability.h"
#include "gl_db.h"
#include "gl_msg.h"
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
    const int64_t *tier_caps;       //  runnable slices allowed per tier T0..T2
                                    //  (NULL or 0: no cap)
    bool plan;                      //  count everything, change nothing
    bool refresh;                   //  queue again slices that ended (refill,
                                    //  fresh versions), skip the coverage check
    bool freshness;                 //  live work: slices reach the bar forming
                                    //  now (not only closed ones), and the
                                    //  succeeded slices of the range holding a
                                    //  provisional bar are queued again
    int64_t definition_id;          //  the job_definitions row it runs, or 0
    int64_t watchlist_id;           //  the watchlist_pending row it takes, or 0:
                                    //  taken by another, nothing is enqueued
} gl_backlog_request_t;

//  What an enqueue did.
typedef struct {
    int64_t backfill_id;
    int64_t created;                //  new slices
    int64_t shared;                 //  already queued or running for an earlier request
    int64_t stored;                 //  already in the store: not enqueued
    int64_t refreshed;              //  ended or provisional slices queued again
    int64_t bars_expected;          //  bars the calendar expects in all slices
} gl_backlog_counts_t;

//  Creates a backlog on a connection the caller keeps owning. Returns NULL
//  on out of memory. Caller owns return value.
gl_backlog_t *gl_backlog_new (gl_db_t *db);

//  Destroys the backlog and nulls the caller's pointer. Safe twice.
void gl_backlog_destroy (gl_backlog_t **self_p);

//  Sets the function called during long work (NULL: none): between the
//  steps (each statement, each COPY chunk of an enqueue) and every 100 ms
//  while one statement runs, so an actor can keep its broker informed
//  while its loop waits: see gl_actor_keepalive.
void gl_backlog_on_busy (gl_backlog_t *self, gl_db_busy_fn *fn, void *argument);

//  Validates a request: at least one well-formed symbol, a timeframe, a
//  range within 1970..2100, a unit that fits the timeframe. Returns 0, or
//  -1 with a message naming what was expected in error (256 bytes).
int gl_backlog_check (const gl_backlog_request_t *request, char *error);

//  Records the request as a backfill (or finds the active one it repeats)
//  and enqueues its slices, all in one transaction. A request that would
//  take a tier over its cap of runnable slices is refused whole. With
//  plan, the same work is done and rolled back, so the counts are what an
//  enqueue would do now. Returns 0 with counts filled, or -1 with the
//  reason in error (256 bytes); nothing is half enqueued.
int gl_backlog_enqueue (gl_backlog_t *self, const gl_backlog_request_t *request,
                        gl_backlog_counts_t *counts, char *error);

//  A slice claimed for dispatch.
typedef struct {
    uint64_t run_id;
    char token [37];                //  lease token
    char symbol [33];
    gl_timeframe_t timeframe;
    int64_t from, to;
    uint32_t attempt;               //  attempts already spent
    char provider_pin [33];         //  "" when routing picks
    char refused [GL_PROVIDER_COUNT][33];   //  providers that cannot serve it
    size_t refused_count;
    char empty [GL_PROVIDER_COUNT][33];     //  those of them that had no data
    size_t empty_count;
} gl_backlog_slice_t;

//  Leases up to limit runnable slices (priority, then age) whose priority
//  is in [min_priority, max_priority] to owner for lease_seconds into
//  slices. Returns how many, or -1.
int gl_backlog_claim (gl_backlog_t *self, const char *owner, size_t limit,
                      double lease_seconds, int min_priority, int max_priority,
                      gl_backlog_slice_t *slices);

//  Records the provider each dispatched slice went to (one statement).
//  Returns 0 or -1.
int gl_backlog_dispatched (gl_backlog_t *self, const uint64_t *run_ids,
                           const char *const *providers, size_t count);

//  The fenced outcomes of a running slice. Each returns 1 when it applied,
//  0 for a stale token (nothing changed), -1 when the database failed.
//  release: not now, again after delay seconds, no attempt spent.
//  fail: an attempt spent; retried after backoff (or retry_after) while
//  attempts remain and retryable, else dead.
//  lost: its fetcher died; again at once, the death an attempt.
//  refuse: provider cannot serve it (empty: it has no data); again at once
//  for the next provider, no attempt spent.
//  complete_empty: every allowed provider said no data: done, 0 rows.
int gl_backlog_release (gl_backlog_t *self, uint64_t run_id, const char *token,
                        double delay, const char *error_class, const char *message);
int gl_backlog_fail (gl_backlog_t *self, uint64_t run_id, const char *token,
                     const char *error_class, const char *message, bool retryable,
                     double retry_after);
int gl_backlog_lost (gl_backlog_t *self, uint64_t run_id, const char *token,
                     const char *error_class, const char *message);
int gl_backlog_refuse (gl_backlog_t *self, uint64_t run_id, const char *token,
                       const char *provider, bool empty, const char *error_class,
                       const char *message);
int gl_backlog_complete_empty (gl_backlog_t *self, uint64_t run_id, const char *token);

//  Extends the leases of running slices (run_ids with their tokens) to now
//  + lease_seconds, in one statement; stale tokens change nothing.
//  Returns how many were extended, or -1.
int gl_backlog_extend (gl_backlog_t *self, const uint64_t *run_ids, const char *const *tokens,
                       size_t count, double lease_seconds);

//  One provider health sample, as provider_health keeps it.
typedef struct {
    const char *provider;
    const char *breaker;            //  closed, half_open, open
    double latency_ms, error_rate, incompleteness, score;
} gl_backlog_health_t;

//  Records a sample in provider_health and keeps only the provider's
//  latest samples (at most keep). Returns 0 or -1.
int gl_backlog_health_record (gl_backlog_t *self, const gl_backlog_health_t *sample, int keep);

//  Calls fn for every kept sample, oldest first (a scheduler that starts
//  ranks providers by what was measured before it). Returns how many, or -1.
typedef void (gl_backlog_health_fn) (const gl_backlog_health_t *sample, void *argument);
int gl_backlog_health_load (gl_backlog_t *self, gl_backlog_health_fn *fn, void *argument);

//  Takes back every slice whose lease expired. Returns how many, or -1.
int gl_backlog_rescue (gl_backlog_t *self);

//  Calls fn for every running slice (at start: the in-flight view).
//  Returns how many, or -1.
typedef void (gl_backlog_running_fn) (uint64_t run_id, const char *token,
                                      const char *provider, int64_t lease_expires,
                                      void *argument);
int gl_backlog_running (gl_backlog_t *self, gl_backlog_running_fn *fn, void *argument);

//  A periodic definition that is due, or a symbol's arrival in a tier
//  (watchlist_id > 0) owed one of its tier's definitions.
typedef struct {
    int64_t definition_id;
    int64_t watchlist_id;           //  0 for a periodic run
    char name [65];
    char symbol [33];               //  one symbol, or "" for a tier
    char tier [3];                  //  the tier whose active symbols it covers, or ""
    gl_timeframe_t timeframe;
    int64_t window;                 //  seconds back from now
    int priority;
    bool freshness, sessions_only;
    bool calendars [GL_CALENDAR_24X7 + 1];  //  the calendars of its symbols
} gl_backlog_periodic_t;

//  Takes the periodic definitions that are due (at most size), marking
//  them run now: of several schedulers one takes each. Returns how many,
//  or -1.
int gl_backlog_due (gl_backlog_t *self, gl_backlog_periodic_t *runs, size_t size);

//  The oldest symbol arrivals waiting for their backfill (at most size),
//  not taken: an enqueue with the watchlist_id takes one. Returns how
//  many, or -1.
int gl_backlog_arrivals (gl_backlog_t *self, gl_backlog_periodic_t *runs, size_t size);

//  The active symbols of a tier ("T0".."T2"), for a request by tier.
//  Returns how many were written to tickers (copies the caller frees),
//  at most size, or -1.
int gl_backlog_tier (gl_backlog_t *self, const char *tier, char **tickers, size_t size);

//  Runs a query with text parameters and adds its rows to a reply (one
//  row per result row, column names as keys, NULL as ""), at most
//  GL_MSG_MAX_ROWS; the field rows_total says how many there were.
//  Returns the number of rows, or -1 with the reason in error (256 bytes).
int gl_backlog_rows (gl_backlog_t *self, const char *sql, int count, const char *const *values,
                     gl_msg_t *reply, char *error);

//  The same for a query of one row, added as the reply's fields. Returns 1,
//  0 when there was no row, or -1 with the reason in error.
int gl_backlog_fields (gl_backlog_t *self, const char *sql, int count,
                       const char *const *values, gl_msg_t *reply, char *error);

#endif
