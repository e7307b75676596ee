/*  gl_router — which provider and which fetcher instance get a slice.

    Pure bookkeeping, no I/O: the scheduler actor feeds it what the broker
    and the fetchers say (MEMBERSHIP of fetcher.<provider>, breaker changes
    and health samples) and asks it where each slice goes.

    Routing: the providers allowed for a slice are the one its backfill
    pinned, else the default routing of its timeframe (gl_capability),
    less those that already refused it. Among them, providers whose
    breaker is open, that have no live fetcher, or whose fetchers hold all
    they can start well within a lease are "not now"; the others are
    ranked by the health score
        H = 0.45 breaker + 0.25 (1 - latency) + 0.20 (1 - error rate)
            + 0.10 (1 - incompleteness)
    (breaker: closed 1, half open 0.5, open 0; latency normalised by
    GL_ROUTER_SLOW_MS; every term averaged over the last
    GL_ROUTER_SAMPLES samples), ties broken by the routing order. The
    slice goes to the chosen provider's instance holding the fewest.

    In flight: a provider may hold at most rate x horizon slices (at
    least one; the horizon is at most half a lease, so no slice waits at
    a slow provider until its lease runs out), split over its live
    instances. A provider with no rate limit holds at most
    GL_ROUTER_INSTANCE_MAX per instance. A short horizon keeps the queue
    at the fetchers short, so new urgent work waits seconds, not minutes.

    Live work (the tiers' freshness: see the scheduler's live_priority)
    has a reserved share of that capacity: while some is waiting or in
    flight at a provider, bulk slices may hold only capacity less the
    reserve there, so a large backfill never holds all of a provider's
    rate while live work waits.
*/
#ifndef GL_ROUTER_H_INCLUDED
#define GL_ROUTER_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "gl_capability.h"
#include "gl_msg.h"

#define GL_ROUTER_SAMPLES 60
#define GL_ROUTER_SLOW_MS 5000.0
#define GL_ROUTER_INSTANCE_MAX 64
#define GL_ROUTER_EXTENSIONS_MAX 8      //  lease extensions of one dispatch

typedef struct _gl_router_t gl_router_t;

typedef enum {
    GL_ROUTE_OK = 0,        //  provider and instance chosen
    GL_ROUTE_WAIT,          //  an allowed provider may serve it later: not now
    GL_ROUTE_NONE,          //  every allowed provider refused it
} gl_route_t;

typedef enum {
    GL_ROUTER_CLOSED = 0,
    GL_ROUTER_HALF_OPEN,
    GL_ROUTER_OPEN,
} gl_router_breaker_t;

//  Called for each slice an instance held when it left, or whose lease
//  ran out (gl_router_expire), with the lease token it was sent with.
typedef void (gl_router_lost_fn) (uint64_t run_id, const char *token, gl_provider_t provider,
                                  const char *instance, void *argument);

//  Creates a router for slices leased for lease_seconds. Returns NULL on
//  out of memory. Caller owns return value.
gl_router_t *gl_router_new (double lease_seconds);

//  Destroys the router and nulls the caller's pointer. Safe twice.
void gl_router_destroy (gl_router_t **self_p);

//  Sets a provider's sustainable rate in requests per second (the
//  tightest of its limits; 0: unlimited).
void gl_router_set_rate (gl_router_t *self, gl_provider_t provider, double per_second);

//  Sets how many seconds of its rate a provider may hold in flight (at
//  most half a lease, the default).
void gl_router_set_horizon (gl_router_t *self, double seconds);

//  Sets the share of capacity (0 to 1, 0: none) kept for live work, and
//  says whether live work is waiting now (set on every dispatch round).
void gl_router_set_reserve (gl_router_t *self, double share);
void gl_router_set_live_waiting (gl_router_t *self, bool waiting);

//  Replaces a provider's live instances. Each slice held by an instance
//  that is gone is forgotten and handed to lost. Returns 0, or -1 on out
//  of memory (the old list stays).
int gl_router_members (gl_router_t *self, gl_provider_t provider,
                       const char *const *instances, size_t count,
                       gl_router_lost_fn *lost, void *argument);

//  Sets the routing order of a timeframe from "polygon,alpaca,..."
//  (replacing gl_capability's default; NULL: the default again). Returns
//  0, or -1 with the reason
//  in error (256 bytes) for an unknown provider, one that does not serve
//  the timeframe, a repeat, or an empty list.
int gl_router_set_route (gl_router_t *self, gl_timeframe_t timeframe, const char *list,
                         char *error);

//  The routing order of a timeframe (configured, else the default), at
//  most size providers. Returns how many.
size_t gl_router_route (gl_router_t *self, gl_timeframe_t timeframe, gl_provider_t *providers,
                        size_t size);

//  Records a provider's breaker state, and a health sample: latency in
//  ms, error rate and incompleteness in [0, 1] (clamped).
void gl_router_breaker (gl_router_t *self, gl_provider_t provider, gl_router_breaker_t state);
void gl_router_sample (gl_router_t *self, gl_provider_t provider, double latency_ms,
                       double error_rate, double incompleteness);

//  The provider's health score H in [0, 1].
double gl_router_score (gl_router_t *self, gl_provider_t provider);

//  Chooses a provider and instance for a slice of timeframe. pin is the
//  backfill's provider or NULL; refused lists providers that said they
//  cannot serve it; live is true for live work (the reserved share is
//  open to it). On GL_ROUTE_OK fills provider and instance (at least
//  GL_MSG_NAME_MAX + 1 bytes).
gl_route_t gl_router_choose (gl_router_t *self, gl_timeframe_t timeframe, const char *pin,
                             const char *const *refused, size_t refused_count, bool live,
                             gl_provider_t *provider, char *instance);

//  Records that a slice was sent to an instance with its lease token,
//  leased until deadline (any clock, the one gl_router_expire is given);
//  it counts in flight until gl_router_forget. Returns 0, or -1 for an
//  unknown instance, a run already assigned, or out of memory.
int gl_router_assign (gl_router_t *self, uint64_t run_id, const char *token,
                      gl_provider_t provider, const char *instance, bool live,
                      int64_t deadline);

//  Records a slice that is running at a provider, instance unknown (found
//  in PostgreSQL at start): it counts in flight until forgotten or
//  expired, and no departure loses it. Returns 0 or -1.
int gl_router_adopt (gl_router_t *self, uint64_t run_id, const char *token,
                     gl_provider_t provider, int64_t deadline);

//  Makes every slice in flight adopted (instance unknown), for when the
//  broker was lost: a FETCH may have been lost with it, so no fetcher is
//  known to hold a slice any more. Each counts in flight until answered
//  or expired, and none is extended, so a FETCH that never arrived costs
//  one lease, not forever. Returns how many.
size_t gl_router_disown (gl_router_t *self);

//  Forgets every slice whose deadline is before now, handing each to
//  lost. Returns how many.
size_t gl_router_expire (gl_router_t *self, int64_t now, gl_router_lost_fn *lost,
                         void *argument);

//  Calls due for every slice held by a live instance whose deadline is
//  before horizon: the slices whose leases want extending while their
//  fetcher works on them. Sets each one's deadline to deadline. Returns
//  how many. A slice is extended at most GL_ROUTER_EXTENSIONS_MAX times: a
//  live fetcher that holds it that long has lost it (its BARS died with a
//  killed writer, say), so its lease runs out and it is rescued.
typedef void (gl_router_due_fn) (uint64_t run_id, const char *token, void *argument);
size_t gl_router_extend (gl_router_t *self, int64_t horizon, int64_t deadline,
                         gl_router_due_fn *due, void *argument);

//  The lease token a slice was sent with, or NULL if it is not in flight.
const char *gl_router_token (gl_router_t *self, uint64_t run_id);

//  The slice is answered (or rescued): no longer in flight. Returns true
//  if it was assigned.
bool gl_router_forget (gl_router_t *self, uint64_t run_id);

//  An answer that names the lease token it was sent with (FAILED, a
//  bounced FETCH): forgets the slice only if it is in flight with that
//  token. An answer to an earlier dispatch of the slice (lost with its
//  instance, queued and sent again) must not forget the current one, else
//  that one's lease is no longer extended and its instance's departure
//  goes unnoticed. Returns true if it was forgotten.
bool gl_router_forget_sent (gl_router_t *self, uint64_t run_id, const char *token);

//  The live fetcher instances of a provider.
size_t gl_router_instances (gl_router_t *self, gl_provider_t provider);

//  Slices in flight at a provider, and the most it may hold now.
size_t gl_router_in_flight (gl_router_t *self, gl_provider_t provider);
size_t gl_router_capacity (gl_router_t *self, gl_provider_t provider);

//  The most bulk slices the provider may hold now (capacity less the
//  reserve while live work waits or runs there).
size_t gl_router_bulk_capacity (gl_router_t *self, gl_provider_t provider);

#endif
