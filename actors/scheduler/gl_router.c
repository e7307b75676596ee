/*  gl_router — providers and fetcher instances for slices.  */
#include "gl_router.h"
#include <czmq.h>
#include <math.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

typedef struct {
    char name [GL_MSG_NAME_MAX + 1];
    size_t in_flight;
} s_instance_t;

typedef struct {
    double latency, errors, incompleteness;
} s_sample_t;

typedef struct {
    double rate;                        //  requests per second, 0: unlimited
    gl_router_breaker_t breaker;
    s_sample_t samples [GL_ROUTER_SAMPLES];
    size_t sample_count, sample_next;
    s_instance_t *instances;
    size_t instance_count;
    size_t in_flight;
    size_t live_in_flight;              //  of them, live work (reserved share)
} s_provider_t;

//  Where one slice went.
typedef struct {
    gl_provider_t provider;
    char instance [GL_MSG_NAME_MAX + 1];    //  "" when adopted
    char token [GL_MSG_UUID_SIZE + 1];
    int64_t deadline;
    bool live;
    int extensions;                     //  times its lease was extended
} s_assignment_t;

struct _gl_router_t {
    double lease_seconds;
    double horizon_seconds;             //  work in flight, in seconds of the rate
    double reserve;                     //  share of capacity kept for live work
    bool live_waiting;                  //  live work is queued now
    gl_provider_t routes [GL_TF_1W + 1][GL_PROVIDER_COUNT];  //  configured orders
    size_t route_counts [GL_TF_1W + 1];                         //  0: the default
    s_provider_t providers [GL_PROVIDER_COUNT + 1];
    zhashx_t *assignments;              //  "run id" -> s_assignment_t (owned)
};

//  Frees an assignment (zhashx destructor).
static void
s_assignment_destroy (void **item_p)
{
    free (*item_p);
    *item_p = NULL;
}

//  Creates a router.
gl_router_t *
gl_router_new (double lease_seconds)
{
    gl_router_t *self = (gl_router_t *) calloc (1, sizeof (gl_router_t));
    if (!self)
        return NULL;
    self->lease_seconds = lease_seconds > 0? lease_seconds: 60;
    self->horizon_seconds = self->lease_seconds / 2;
    self->assignments = zhashx_new ();
    if (!self->assignments) {
        free (self);
        return NULL;
    }
    zhashx_set_destructor (self->assignments, s_assignment_destroy);
    return self;
}

//  Destroys the router.
void
gl_router_destroy (gl_router_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    gl_router_t *self = *self_p;
    for (int provider = 0; provider <= GL_PROVIDER_COUNT; provider++)
        free (self->providers [provider].instances);
    zhashx_destroy (&self->assignments);
    free (self);
    *self_p = NULL;
}

//  The provider's state, or NULL for an invalid provider.
static s_provider_t *
s_provider (gl_router_t *self, gl_provider_t provider)
{
    if (provider <= GL_PROVIDER_INVALID || provider > GL_PROVIDER_COUNT)
        return NULL;
    return &self->providers [provider];
}

//  Sets the sustainable rate.
void
gl_router_set_rate (gl_router_t *self, gl_provider_t provider, double per_second)
{
    s_provider_t *state = s_provider (self, provider);
    if (state)
        state->rate = per_second > 0 && isfinite (per_second)? per_second: 0;
}

//  Sets how many seconds of work a provider may hold.
void
gl_router_set_horizon (gl_router_t *self, double seconds)
{
    double ceiling = self->lease_seconds / 2;
    self->horizon_seconds = seconds > 0 && seconds < ceiling? seconds: ceiling;
}

//  Sets the share of capacity kept for live work.
void
gl_router_set_reserve (gl_router_t *self, double share)
{
    self->reserve = share > 0 && share < 1? share: 0;
}

//  Says whether live work is waiting to be dispatched.
void
gl_router_set_live_waiting (gl_router_t *self, bool waiting)
{
    self->live_waiting = waiting;
}

//  The instance of that name, or NULL.
static s_instance_t *
s_instance (s_provider_t *state, const char *name)
{
    for (size_t index = 0; index < state->instance_count; index++)
        if (strcmp (state->instances [index].name, name) == 0)
            return &state->instances [index];
    return NULL;
}

//  The key of a run in the assignments table.
static const char *
s_key (uint64_t run_id, char *key)
{
    snprintf (key, 24, "%" PRIu64, run_id);
    return key;
}

//  Forgets an assignment and hands it to lost.
static void
s_lose (gl_router_t *self, const char *key, s_assignment_t *assignment,
        gl_router_lost_fn *lost, void *argument)
{
    s_assignment_t copy = *assignment;
    uint64_t run_id = strtoull (key, NULL, 10);
    s_provider_t *state = s_provider (self, copy.provider);
    s_instance_t *instance = *copy.instance? s_instance (state, copy.instance): NULL;
    if (instance && instance->in_flight > 0)
        instance->in_flight--;
    if (state->in_flight > 0)
        state->in_flight--;
    if (copy.live && state->live_in_flight > 0)
        state->live_in_flight--;
    zhashx_delete (self->assignments, key);
    if (lost)
        lost (run_id, copy.token, copy.provider, copy.instance, argument);
}

//  Replaces the live instances; slices of departed instances are lost.
int
gl_router_members (gl_router_t *self, gl_provider_t provider, const char *const *instances,
                   size_t count, gl_router_lost_fn *lost, void *argument)
{
    s_provider_t *state = s_provider (self, provider);
    if (!state)
        return -1;
    s_instance_t *fresh = count? calloc (count, sizeof (s_instance_t)): NULL;
    if (count && !fresh)
        return -1;
    for (size_t index = 0; index < count; index++) {
        snprintf (fresh [index].name, sizeof fresh [index].name, "%s", instances [index]);
        s_instance_t *known = s_instance (state, instances [index]);
        fresh [index].in_flight = known? known->in_flight: 0;
    }
    s_instance_t *old = state->instances;
    state->instances = fresh;
    state->instance_count = count;
    //  Every slice held by an instance that is not in the new list is lost
    zlistx_t *keys = zhashx_keys (self->assignments);
    for (const char *key = keys? zlistx_first (keys): NULL; key; key = zlistx_next (keys)) {
        s_assignment_t *assignment = zhashx_lookup (self->assignments, key);
        if (assignment->provider != provider || !*assignment->instance
        ||  s_instance (state, assignment->instance))
            continue;
        s_lose (self, key, assignment, lost, argument);
    }
    zlistx_destroy (&keys);
    free (old);
    return 0;
}

//  Sets a timeframe's routing order from a list of names.
int
gl_router_set_route (gl_router_t *self, gl_timeframe_t timeframe, const char *list,
                     char *error)
{
    if (gl_timeframe_seconds (timeframe) <= 0) {
        snprintf (error, 256, "not a timeframe");
        return -1;
    }
    if (!list) {
        self->route_counts [timeframe] = 0;     //  the default again
        return 0;
    }
    gl_provider_t order [GL_PROVIDER_COUNT];
    size_t count = 0;
    char copy [256], *saveptr = NULL;
    snprintf (copy, sizeof copy, "%s", list? list: "");
    for (char *name = strtok_r (copy, ", ", &saveptr); name; name = strtok_r (NULL, ", ", &saveptr)) {
        gl_provider_t provider = gl_capability_parse_name (name);
        bool repeated = false;
        for (size_t index = 0; index < count; index++)
            repeated |= order [index] == provider;
        if (!gl_capability_routable (provider, timeframe) || repeated || count == GL_PROVIDER_COUNT) {
            snprintf (error, 256, "%.40s: expected a provider serving %s, each once (polygon yahoo"
                      " tradier finnhub alpaca)", name, gl_timeframe_name (timeframe));
            return -1;
        }
        order [count++] = provider;
    }
    if (count == 0) {
        snprintf (error, 256, "expected at least one provider");
        return -1;
    }
    memcpy (self->routes [timeframe], order, count * sizeof (gl_provider_t));
    self->route_counts [timeframe] = count;
    return 0;
}

//  The routing order of a timeframe.
size_t
gl_router_route (gl_router_t *self, gl_timeframe_t timeframe, gl_provider_t *providers,
                 size_t size)
{
    if (gl_timeframe_seconds (timeframe) <= 0)
        return 0;
    size_t count = self->route_counts [timeframe];
    if (count == 0)
        return gl_capability_route (timeframe, providers, size);
    count = count < size? count: size;
    memcpy (providers, self->routes [timeframe], count * sizeof (gl_provider_t));
    return count;
}

//  Records a breaker state.
void
gl_router_breaker (gl_router_t *self, gl_provider_t provider, gl_router_breaker_t state)
{
    s_provider_t *known = s_provider (self, provider);
    if (known)
        known->breaker = state;
}

//  Clamps a value into [0, 1]; NaN counts as the worst.
static double
s_unit (double value)
{
    if (!(value >= 0))
        return value < 0? 0: 1;
    return value > 1? 1: value;
}

//  Records a health sample.
void
gl_router_sample (gl_router_t *self, gl_provider_t provider, double latency_ms,
                  double error_rate, double incompleteness)
{
    s_provider_t *state = s_provider (self, provider);
    if (!state)
        return;
    state->samples [state->sample_next] = (s_sample_t) {
        .latency = s_unit (latency_ms / GL_ROUTER_SLOW_MS),
        .errors = s_unit (error_rate),
        .incompleteness = s_unit (incompleteness),
    };
    state->sample_next = (state->sample_next + 1) % GL_ROUTER_SAMPLES;
    if (state->sample_count < GL_ROUTER_SAMPLES)
        state->sample_count++;
}

//  The health score H.
double
gl_router_score (gl_router_t *self, gl_provider_t provider)
{
    s_provider_t *state = s_provider (self, provider);
    if (!state)
        return 0;
    double breaker = state->breaker == GL_ROUTER_CLOSED? 1
                   : state->breaker == GL_ROUTER_HALF_OPEN? 0.5: 0;
    double latency = 0, errors = 0, incompleteness = 0;
    for (size_t index = 0; index < state->sample_count; index++) {
        latency += state->samples [index].latency;
        errors += state->samples [index].errors;
        incompleteness += state->samples [index].incompleteness;
    }
    if (state->sample_count) {
        latency /= (double) state->sample_count;
        errors /= (double) state->sample_count;
        incompleteness /= (double) state->sample_count;
    }
    return gl_capability_health_score (breaker, 1 - latency, 1 - errors, 1 - incompleteness);
}

//  The most slices the provider may hold now.
size_t
gl_router_capacity (gl_router_t *self, gl_provider_t provider)
{
    s_provider_t *state = s_provider (self, provider);
    if (!state || state->instance_count == 0)
        return 0;
    size_t ceiling = state->instance_count * GL_ROUTER_INSTANCE_MAX;
    if (state->rate <= 0)
        return ceiling;
    double startable = floor (state->rate * self->horizon_seconds);
    size_t capacity = startable < 1? 1: startable > (double) ceiling? ceiling: (size_t) startable;
    return capacity;
}

//  The most bulk (not live) slices the provider may hold now: all of its
//  capacity, less the reserved share while live work is waiting or in
//  flight there.
size_t
gl_router_bulk_capacity (gl_router_t *self, gl_provider_t provider)
{
    s_provider_t *state = s_provider (self, provider);
    size_t capacity = gl_router_capacity (self, provider);
    if (!state || self->reserve <= 0 || (!self->live_waiting && state->live_in_flight == 0))
        return capacity;
    size_t reserved = (size_t) ceil ((double) capacity * self->reserve);
    return capacity > reserved? capacity - reserved: 0;
}

//  Bulk slices in flight at the provider.
static size_t
s_bulk_in_flight (s_provider_t *state)
{
    return state->in_flight - state->live_in_flight;
}

//  The live instances of the provider.
size_t
gl_router_instances (gl_router_t *self, gl_provider_t provider)
{
    s_provider_t *state = s_provider (self, provider);
    return state? state->instance_count: 0;
}

//  Slices in flight at the provider.
size_t
gl_router_in_flight (gl_router_t *self, gl_provider_t provider)
{
    s_provider_t *state = s_provider (self, provider);
    return state? state->in_flight: 0;
}

//  True if provider is in the refused list.
static bool
s_refused (gl_provider_t provider, const char *const *refused, size_t refused_count)
{
    for (size_t index = 0; index < refused_count; index++)
        if (refused [index] && gl_capability_parse_name (refused [index]) == provider)
            return true;
    return false;
}

//  The instance of the provider holding the fewest slices, below the
//  per-instance ceiling, or NULL.
static s_instance_t *
s_least_loaded (s_provider_t *state)
{
    s_instance_t *best = NULL;
    for (size_t index = 0; index < state->instance_count; index++) {
        s_instance_t *instance = &state->instances [index];
        if (instance->in_flight < GL_ROUTER_INSTANCE_MAX
        &&  (!best || instance->in_flight < best->in_flight))
            best = instance;
    }
    return best;
}

//  Chooses a provider and instance for a slice.
gl_route_t
gl_router_choose (gl_router_t *self, gl_timeframe_t timeframe, const char *pin,
                  const char *const *refused, size_t refused_count, bool live,
                  gl_provider_t *provider, char *instance)
{
    gl_provider_t allowed [GL_PROVIDER_COUNT];
    size_t count = 0;
    if (pin) {
        gl_provider_t pinned = gl_capability_parse_name (pin);
        if (gl_capability_routable (pinned, timeframe))
            allowed [count++] = pinned;
    }
    else
        count = gl_router_route (self, timeframe, allowed, GL_PROVIDER_COUNT);
    bool waiting = false;
    double best_score = -1;
    s_instance_t *best = NULL;
    for (size_t index = 0; index < count; index++) {
        if (s_refused (allowed [index], refused, refused_count))
            continue;
        waiting = true;             //  allowed and not refused: it may serve later
        s_provider_t *state = s_provider (self, allowed [index]);
        if (state->breaker == GL_ROUTER_OPEN
        ||  state->in_flight >= gl_router_capacity (self, allowed [index])
        ||  (!live && s_bulk_in_flight (state) >= gl_router_bulk_capacity (self, allowed [index])))
            continue;
        s_instance_t *candidate = s_least_loaded (state);
        double score = gl_router_score (self, allowed [index]);
        if (candidate && score > best_score) {
            best_score = score;
            best = candidate;
            *provider = allowed [index];
        }
    }
    if (best) {
        snprintf (instance, GL_MSG_NAME_MAX + 1, "%s", best->name);
        return GL_ROUTE_OK;
    }
    return waiting? GL_ROUTE_WAIT: GL_ROUTE_NONE;
}

//  Adds an assignment. Returns 0 or -1.
static int
s_add (gl_router_t *self, uint64_t run_id, const char *token, gl_provider_t provider,
       const char *instance, bool live, int64_t deadline)
{
    char key [24];
    if (!token || strlen (token) > GL_MSG_UUID_SIZE
    ||  zhashx_lookup (self->assignments, s_key (run_id, key)))
        return -1;
    s_assignment_t *assignment = (s_assignment_t *) calloc (1, sizeof (s_assignment_t));
    if (!assignment)
        return -1;
    assignment->provider = provider;
    assignment->deadline = deadline;
    assignment->live = live;
    snprintf (assignment->instance, sizeof assignment->instance, "%s", instance);
    snprintf (assignment->token, sizeof assignment->token, "%s", token);
    if (zhashx_insert (self->assignments, key, assignment) != 0) {
        free (assignment);
        return -1;
    }
    self->providers [provider].in_flight++;
    self->providers [provider].live_in_flight += live;
    return 0;
}

//  Records where a slice went.
int
gl_router_assign (gl_router_t *self, uint64_t run_id, const char *token,
                  gl_provider_t provider, const char *instance, bool live, int64_t deadline)
{
    s_provider_t *state = s_provider (self, provider);
    s_instance_t *known = state && instance? s_instance (state, instance): NULL;
    if (!known || s_add (self, run_id, token, provider, instance, live, deadline) == -1)
        return -1;
    known->in_flight++;
    return 0;
}

//  Records a running slice whose instance is unknown.
int
gl_router_adopt (gl_router_t *self, uint64_t run_id, const char *token,
                 gl_provider_t provider, int64_t deadline)
{
    if (!s_provider (self, provider))
        return -1;
    return s_add (self, run_id, token, provider, "", false, deadline);
}

//  Turns every assignment into an adopted one.
size_t
gl_router_disown (gl_router_t *self)
{
    size_t count = 0;
    for (s_assignment_t *assignment = (s_assignment_t *) zhashx_first (self->assignments);
         assignment; assignment = (s_assignment_t *) zhashx_next (self->assignments)) {
        if (!*assignment->instance)
            continue;
        s_instance_t *instance = s_instance (s_provider (self, assignment->provider),
                                             assignment->instance);
        if (instance && instance->in_flight > 0)
            instance->in_flight--;
        assignment->instance [0] = '\0';
        count++;
    }
    return count;
}

//  Forgets the slices whose lease ran out.
size_t
gl_router_expire (gl_router_t *self, int64_t now, gl_router_lost_fn *lost, void *argument)
{
    size_t expired = 0;
    zlistx_t *keys = zhashx_keys (self->assignments);
    for (const char *key = keys? zlistx_first (keys): NULL; key; key = zlistx_next (keys)) {
        s_assignment_t *assignment = zhashx_lookup (self->assignments, key);
        if (assignment->deadline < now) {
            s_lose (self, key, assignment, lost, argument);
            expired++;
        }
    }
    zlistx_destroy (&keys);
    return expired;
}

//  The slices held by live instances whose leases run out before horizon.
size_t
gl_router_extend (gl_router_t *self, int64_t horizon, int64_t deadline, gl_router_due_fn *due,
                  void *argument)
{
    size_t count = 0;
    zlistx_t *keys = zhashx_keys (self->assignments);
    for (const char *key = keys? zlistx_first (keys): NULL; key; key = zlistx_next (keys)) {
        s_assignment_t *assignment = zhashx_lookup (self->assignments, key);
        if (!*assignment->instance || assignment->deadline >= horizon
        ||  assignment->extensions >= GL_ROUTER_EXTENSIONS_MAX)
            continue;
        assignment->extensions++;
        assignment->deadline = deadline;
        due (strtoull (key, NULL, 10), assignment->token, argument);
        count++;
    }
    zlistx_destroy (&keys);
    return count;
}

//  The token a slice in flight was sent with.
const char *
gl_router_token (gl_router_t *self, uint64_t run_id)
{
    char key [24];
    s_assignment_t *assignment = zhashx_lookup (self->assignments, s_key (run_id, key));
    return assignment? assignment->token: NULL;
}

//  Forgets a slice that was answered or rescued.
bool
gl_router_forget (gl_router_t *self, uint64_t run_id)
{
    char key [24];
    s_assignment_t *assignment = zhashx_lookup (self->assignments, s_key (run_id, key));
    if (!assignment)
        return false;
    s_lose (self, key, assignment, NULL, NULL);
    return true;
}

//  Forgets a slice answered for with the token it was sent with.
bool
gl_router_forget_sent (gl_router_t *self, uint64_t run_id, const char *token)
{
    const char *current = gl_router_token (self, run_id);
    if (!current || !token || strcmp (current, token) != 0)
        return false;
    return gl_router_forget (self, run_id);
}
