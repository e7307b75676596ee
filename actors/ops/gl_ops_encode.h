/*  gl_ops_encode — the bodies ops publishes, one function per topic
    (protocol/SPEC.md, "Ops publication", lists every key).

    Each returns a new map (caller owns it; NULL on out of memory).
*/
#ifndef GL_OPS_ENCODE_H_INCLUDED
#define GL_OPS_ENCODE_H_INCLUDED

#include "gl_msg.h"
#include "gl_ops_health.h"
#include "gl_ops_map.h"
#include "gl_ops_store.h"

#define GL_OPS_SERVICES_MAX 32

//  Live instances per service, from MEMBERSHIP.
typedef struct {
    struct { char name [GL_MSG_NAME_MAX + 1]; int64_t count; } services [GL_OPS_SERVICES_MAX];
    size_t count;
} gl_ops_services_t;

//  True for the statuses of a slice that waits to run (queued, retrying).
bool gl_ops_slice_waiting (const char *status);

//  True for a finished backfill's status (succeeded, failed, cancelled).
bool gl_ops_progress_done (const char *status);

//  Bars per second over the last minute (or the backfill's life, if
//  shorter), and the seconds left at the pace of the last minute (-1:
//  unknown, nothing finished lately).
double gl_ops_progress_rate (const gl_ops_progress_t *progress);
int64_t gl_ops_progress_eta (const gl_ops_progress_t *progress);

//  progress.<backfill_id>: trigger is "tick", "commit" or "subscribe".
gl_ops_map_t *gl_ops_encode_progress (const gl_ops_progress_t *progress, const char *trigger,
                                      int64_t now_ms);

//  slice.<backfill_id>.<run_id>
gl_ops_map_t *gl_ops_encode_slice (const gl_ops_slice_t *slice, int64_t now_ms);

//  provider.<name>: in_flight_slices from the last stats (-1: unknown).
gl_ops_map_t *gl_ops_encode_provider (const gl_ops_provider_view_t *view,
                                      int64_t in_flight_slices, int64_t now_ms);

//  stats: the last queue statistics (NULL: none yet), the providers'
//  views and the services.
gl_ops_map_t *gl_ops_encode_stats (const gl_ops_stats_t *stats,
                                   const gl_ops_provider_view_t *views, size_t view_count,
                                   const gl_ops_services_t *services, int64_t backfills_active,
                                   int64_t subscribers, int64_t now_ms);

//  service.<name>: a MEMBERSHIP as published.
gl_ops_map_t *gl_ops_encode_membership (const gl_msg_t *membership, int64_t now_ms);

//  A relayed EVENT (coverage, slo, gaps, slow): type, source, name,
//  time_ms, and the fields named in keys (NULL-terminated; integers as
//  integers). Only named fields travel, so nothing a peer adds by mistake
//  (a credential) is published.
gl_ops_map_t *gl_ops_encode_event (const gl_msg_t *event, const char *type,
                                   const char *const *keys);

#endif
