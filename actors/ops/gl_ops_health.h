/*  gl_ops_health — what ops knows of each provider: the health score H
    and its four terms, the breaker, rate-limit use against the limit,
    requests in flight, bans, and the running totals of every fetcher
    instance (requests, errors by class, the latency histogram).

    Fed by the fetchers' EVENTs (fetcher_health, breaker_changed,
    provider_banned) and by MEMBERSHIP of fetcher.<provider>. Pure
    bookkeeping, no I/O.

    H follows the scheduler's router (actors/scheduler/gl_router.h), so
    what ops shows is what routing uses:
        H = 0.45 breaker + 0.25 (1 - latency) + 0.20 (1 - error rate)
            + 0.10 (1 - incompleteness)
    breaker: closed 1, half open 0.5, open 0; latency is the median of a
    sample over GL_OPS_HEALTH_SLOW_MS; the last three terms are averaged
    over the last GL_OPS_HEALTH_SAMPLES samples.

    Totals never go back: an instance that leaves keeps counting in its
    provider's totals, so the Prometheus counters built from them are
    monotonic.
*/
#ifndef GL_OPS_HEALTH_H_INCLUDED
#define GL_OPS_HEALTH_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "gl_capability.h"
#include "gl_msg.h"

#define GL_OPS_HEALTH_SAMPLES 60
#define GL_OPS_HEALTH_SLOW_MS 5000.0
#define GL_OPS_LATENCY_BUCKETS 6        //  bounds; one more bucket for +Inf
#define GL_OPS_ERROR_CLASSES 8

typedef struct _gl_ops_health_t gl_ops_health_t;

//  One provider as of now.
typedef struct {
    const char *provider;
    double score;                       //  H
    double breaker_term, latency_term, error_term, completeness_term;   //  each in [0, 1]
    const char *breaker;                //  closed, half_open, open
    size_t samples;                     //  health samples in the window
    size_t instances;                   //  live fetcher instances
    int64_t in_flight;                  //  requests in flight, summed
    double used_per_s;                  //  requests per second lately, summed
    double limit_per_s;                 //  the tightest configured rule; 0: none
    uint64_t requests, failures, over_limit, fetches, bars, bans, slow;
    uint64_t latency [GL_OPS_LATENCY_BUCKETS + 1];     //  per bucket, not cumulative
    uint64_t latency_sum_ms;
    uint64_t errors [GL_OPS_ERROR_CLASSES];     //  by class, both endpoints
    uint64_t endpoint_errors [2][GL_OPS_ERROR_CLASSES];    //  intraday, daily endpoint
    int64_t banned_until_ms;            //  epoch ms; 0: never banned
} gl_ops_provider_view_t;

//  The latency histogram's bounds in ms (the fetchers' buckets).
extern const int64_t gl_ops_latency_bounds [GL_OPS_LATENCY_BUCKETS];

//  The FAILED error classes, by index.
extern const char *gl_ops_error_classes [GL_OPS_ERROR_CLASSES];

//  Creates the bookkeeping. Returns NULL on out of memory. Caller owns
//  return value.
gl_ops_health_t *gl_ops_health_new (void);

//  Destroys it and nulls the caller's pointer. Safe twice.
void gl_ops_health_destroy (gl_ops_health_t **self_p);

//  A fetcher_health EVENT's fields from instance of provider, at now_ms
//  (monotonic). Returns 0, or -1 when a field does not parse (the rest
//  is taken; its name in refused, GL_MSG_NAME_MAX + 1 bytes) or the
//  instance table is full. A failure rate below 0 means "not enough
//  calls yet" and counts as 0.
int gl_ops_health_sample (gl_ops_health_t *self, gl_provider_t provider, const char *instance,
                          const gl_msg_field_t *fields, size_t count, int64_t now_ms,
                          char *refused);

//  A breaker_changed EVENT: the state it went to.
void gl_ops_health_breaker (gl_ops_health_t *self, gl_provider_t provider, const char *state);

//  A provider_banned EVENT: banned until until_ms (epoch ms).
void gl_ops_health_ban (gl_ops_health_t *self, gl_provider_t provider, int64_t until_ms);

//  A slow_request EVENT.
void gl_ops_health_slow (gl_ops_health_t *self, gl_provider_t provider);

//  The live instances of the provider (MEMBERSHIP of fetcher.<provider>).
//  Instances not listed stop counting as live; their totals stay.
void gl_ops_health_members (gl_ops_health_t *self, gl_provider_t provider,
                            char *const *instances, size_t count);

//  The provider's sustainable rate in requests per second (0: no limit).
void gl_ops_health_set_limit (gl_ops_health_t *self, gl_provider_t provider, double per_second);

//  The provider as of now.
gl_ops_provider_view_t gl_ops_health_view (gl_ops_health_t *self, gl_provider_t provider);

#endif
