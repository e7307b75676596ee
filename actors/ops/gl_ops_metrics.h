/*  gl_ops_metrics — the Prometheus metrics of ops: families of counters,
    gauges and histograms with labels, rendered in the text exposition
    format (version 0.0.4) for /metrics.

    A family is declared once with its help text (and, for a histogram,
    its bucket bounds in base units); series are made on first use, by
    label pairs given as a NULL-terminated list of name, value:

        const char *labels [] = { "provider", "polygon", NULL };
        gl_ops_metrics_add (metrics, "gapless_provider_bans_total", labels, 1);

    Label values are escaped as the format asks; names are the caller's
    (fixed strings in ops). Values that come as running totals from the
    actors (a fetcher's counters) are set, not added.
*/
#ifndef GL_OPS_METRICS_H_INCLUDED
#define GL_OPS_METRICS_H_INCLUDED

#include <stddef.h>
#include <stdint.h>

typedef struct _gl_ops_metrics_t gl_ops_metrics_t;

typedef enum {
    GL_OPS_COUNTER,
    GL_OPS_GAUGE,
    GL_OPS_HISTOGRAM,
} gl_ops_metric_kind_t;

#define GL_OPS_BUCKETS_MAX 16

//  Creates an empty registry. Returns NULL on out of memory. Caller owns
//  return value.
gl_ops_metrics_t *gl_ops_metrics_new (void);

//  Destroys the registry and nulls the caller's pointer. Safe twice.
void gl_ops_metrics_destroy (gl_ops_metrics_t **self_p);

//  Declares a family. bounds (ascending, at most GL_OPS_BUCKETS_MAX) for
//  a histogram only; +Inf is implied. Returns 0, or -1 for a repeat, too
//  many buckets or out of memory.
int gl_ops_metrics_declare (gl_ops_metrics_t *self, const char *name, gl_ops_metric_kind_t kind,
                            const char *help, const double *bounds, size_t bound_count);

//  Sets a counter's or gauge's value (a counter from a running total).
void gl_ops_metrics_set (gl_ops_metrics_t *self, const char *name, const char *const *labels,
                         double value);

//  Adds to a counter or gauge.
void gl_ops_metrics_add (gl_ops_metrics_t *self, const char *name, const char *const *labels,
                         double delta);

//  Counts one observation in a histogram.
void gl_ops_metrics_observe (gl_ops_metrics_t *self, const char *name,
                             const char *const *labels, double value);

//  Sets a histogram from running totals: counts per bucket (not
//  cumulative; bound_count + 1 of them, the last for +Inf) and the sum.
void gl_ops_metrics_set_histogram (gl_ops_metrics_t *self, const char *name,
                                   const char *const *labels, const uint64_t *counts,
                                   double sum);

//  Forgets every series of a family (gauges rebuilt from a fresh query).
void gl_ops_metrics_reset (gl_ops_metrics_t *self, const char *name);

//  The whole registry in the text format. Returns a string the caller
//  frees, or NULL on out of memory.
char *gl_ops_metrics_render (gl_ops_metrics_t *self);

#endif
