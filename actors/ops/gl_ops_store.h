/*  gl_ops_store — what ops reads from PostgreSQL: backfill progress
    (the scheduler's backfill_progress view, migrations/0006), slices that
    changed, and queue statistics. Read only: ops never writes.

    The connection is made on first use and again after it fails, first
    GL_OPS_STORE_RETRY_MS later, the wait doubling up to
    GL_OPS_STORE_RETRY_MAX_MS, so a stopped database costs few failed
    attempts (each logged by gl_db) and /health says why.
*/
#ifndef GL_OPS_STORE_H_INCLUDED
#define GL_OPS_STORE_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "gl_capability.h"

#define GL_OPS_STORE_RETRY_MS 500
#define GL_OPS_STORE_RETRY_MAX_MS 5000
#define GL_OPS_STATS_ROWS 256

typedef struct _gl_ops_store_t gl_ops_store_t;

//  One backfill's progress.
typedef struct {
    int64_t id;
    char status [16];           //  queued running paused succeeded failed cancelled
    char timeframe [4];
    char provider [33];         //  the pinned provider, "" when routing chooses
    int64_t range_from, range_to, priority, created_at;     //  epoch seconds
    double age_s;               //  since it was created
    int64_t total, queued, running, succeeded, retrying, dead, cancelled, paused;
    int64_t bars_written;
    int64_t oldest_queued_s;    //  -1: nothing queued
    int64_t retries;            //  failed attempts, summed over its slices
    int64_t recent_bars, recent_succeeded;  //  in the last 60 s
    int64_t last_finished_ms;   //  epoch ms of its latest finished slice, 0: none
    int64_t bars_by_provider [GL_PROVIDER_COUNT + 1];   //  [0]: no provider recorded
} gl_ops_progress_t;

//  One slice of a backfill.
typedef struct {
    int64_t backfill_id, run_id;
    char symbol [33], timeframe [4], status [20], provider [33], error_class [33];
    char error_message [201];
    int64_t from, to, attempt, rows;
} gl_ops_slice_t;

//  Queue statistics: slices by tier, status and priority; and by
//  timeframe, provider and status (running, succeeded, dead).
typedef struct {
    struct { char tier [4]; char status [20]; int64_t priority, count, oldest_s; }
        queue [GL_OPS_STATS_ROWS];
    size_t queue_count;
    //  type: what asked for the slice: a tier's freshness, a tier's window
    //  (periodic, or a symbol joining the tier), or a request (the CLI,
    //  the coverage tracker's refills)
    struct { char timeframe [4]; char provider [33]; char status [20]; char type [12];
             int64_t count; }
        jobs [GL_OPS_STATS_ROWS];
    size_t job_count;
} gl_ops_stats_t;

typedef void (gl_ops_progress_fn) (const gl_ops_progress_t *progress, void *argument);
typedef void (gl_ops_slice_fn) (const gl_ops_slice_t *slice, void *argument);
typedef void (gl_ops_pair_fn) (int64_t backfill_id, int64_t run_id, void *argument);

//  A store for the connection (NULL: as gapless finds it) and schema
//  (NULL: gapless). Connects on first use. Returns NULL on out of memory.
//  Caller owns return value.
gl_ops_store_t *gl_ops_store_new (const char *conninfo, const char *schema);

//  Closes the connection and nulls the caller's pointer. Safe twice.
void gl_ops_store_destroy (gl_ops_store_t **self_p);

//  True while the last query worked. The last error, "" when none.
bool gl_ops_store_up (gl_ops_store_t *self);
const char *gl_ops_store_error (gl_ops_store_t *self);

//  The ids of backfills created after after_id and, with unfinished, of
//  every backfill not finished (queued, running, paused: a scan of the
//  progress view); at most size. Returns how many, or -1.
int gl_ops_store_backfills (gl_ops_store_t *self, int64_t after_id, bool unfinished,
                            int64_t *ids, size_t size);

//  The newest backfill's id (0: none yet), or -1.
int64_t gl_ops_store_newest_backfill (gl_ops_store_t *self);

//  Calls progress for each of the backfills (ids) that exists. Returns
//  how many, or -1.
int gl_ops_store_progress (gl_ops_store_t *self, const int64_t *ids, size_t count,
                           gl_ops_progress_fn *progress, void *argument);

//  Calls pair for each backfill each run belongs to. Returns 0 or -1.
int gl_ops_store_run_backfills (gl_ops_store_t *self, const int64_t *run_ids, size_t count,
                                gl_ops_pair_fn *pair, void *argument);

//  Calls slice for each slice of the backfills that changed since the
//  previous call (the first call: in the last seconds), at most limit.
//  A slice may come twice; each is its whole state. Returns 0 or -1.
int gl_ops_store_slices (gl_ops_store_t *self, const int64_t *ids, size_t count, size_t limit,
                         gl_ops_slice_fn *slice, void *argument);

//  Fills stats. Returns 0 or -1.
int gl_ops_store_stats (gl_ops_store_t *self, gl_ops_stats_t *stats);

#endif
