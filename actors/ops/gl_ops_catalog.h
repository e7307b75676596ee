/*  gl_ops_catalog — the metrics ops exports (actors/ops/README.md lists
    them): their names, help and buckets, and how each is made from what
    the fetchers said (a provider's view) and from the queue statistics.
*/
#ifndef GL_OPS_CATALOG_H_INCLUDED
#define GL_OPS_CATALOG_H_INCLUDED

#include "gl_ops_encode.h"
#include "gl_ops_health.h"
#include "gl_ops_metrics.h"
#include "gl_ops_store.h"

//  Declares every family in the registry.
void gl_ops_catalog_declare (gl_ops_metrics_t *metrics);

//  Sets a provider's metrics from its view; in_flight_slices from the last
//  statistics (-1: unknown, shown as 0).
void gl_ops_catalog_provider (gl_ops_metrics_t *metrics, const gl_ops_provider_view_t *view,
                              int64_t in_flight_slices);

//  Rebuilds the queue metrics from the statistics.
void gl_ops_catalog_queue (gl_ops_metrics_t *metrics, const gl_ops_stats_t *stats);

#endif
