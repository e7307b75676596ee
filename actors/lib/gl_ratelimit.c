/*  gl_ratelimit — sliding-window logs per rule, shares, learned limits. */
#include "gl_ratelimit.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TIGHTEN_FACTOR      0.75    //  a refusal scales the limit by this
#define TIGHTEN_FLOOR       0.10    //  never below this part of the share
#define RECOVERY_WINDOWS    4       //  longest windows to recover fully

//  One rule: its configuration, this instance's share and its send log.
typedef struct {
    uint32_t limit;             //  configured N
    int64_t window_ms;          //  configured W
    uint32_t share;             //  this instance's part of N
    uint32_t floor;             //  the share in force before the last change
    int64_t floor_until;        //  the floor holds until then
    int64_t *log;               //  ring of send times, capacity = limit
    uint32_t head;              //  index of the oldest entry
    uint32_t count;             //  entries in the ring
} s_rule_t;

struct _gl_ratelimit_t {
    s_rule_t rules [GL_RATELIMIT_RULES_MAX];
    size_t rule_count;
    int64_t guard_ms;
    int64_t settle_ms;          //  a grown share's extra wait (SPEC 5.7)
    int64_t paused_until;       //  no send before (Retry-After, reset)
    double tightened;           //  scale right after the last refusal
    int64_t tightened_at;       //  when it was set
    uint32_t member_index;      //  the latest share's position ...
    uint32_t members;           //  ... among this many (0: no share)
};

//  Parses one "N/Ws" or "N/Wms" rule; returns 0 or -1.
static int
s_rule_parse (const char *text, s_rule_t *rule)
{
    char *end;
    errno = 0;
    long long limit = strtoll (text, &end, 10);
    if (errno || end == text || *end != '/' || limit < 1 || limit > GL_RATELIMIT_LIMIT_MAX)
        return -1;
    const char *window = end + 1;
    long long value = strtoll (window, &end, 10);
    if (errno || end == window || value < 1 || value > 86400000)
        return -1;
    if (strcmp (end, "s") == 0 && value <= 86400)
        rule->window_ms = value * 1000;
    else
    if (strcmp (end, "ms") == 0)
        rule->window_ms = value;
    else
        return -1;
    rule->limit = (uint32_t) limit;
    rule->share = rule->limit;
    rule->log = (int64_t *) calloc (rule->limit, sizeof (int64_t));
    return rule->log? 0: -1;
}

gl_ratelimit_t *
gl_ratelimit_new (const char *rules, int64_t guard_ms, char *error)
{
    if (!rules || !*rules || guard_ms < 0) {
        snprintf (error, GL_RATELIMIT_ERROR_MAX,
                  "ratelimit: expected rules like \"5/1s,200/60s\" and a guard >= 0 ms");
        return NULL;
    }
    gl_ratelimit_t *self = (gl_ratelimit_t *) calloc (1, sizeof (gl_ratelimit_t));
    if (!self)
        return NULL;
    self->guard_ms = guard_ms;
    self->tightened = 1.0;
    self->members = 1;
    char *copy = strdup (rules);
    char *rest = copy;
    for (char *item = strsep (&rest, ","); item; item = strsep (&rest, ",")) {
        while (*item == ' ')
            item++;
        if (self->rule_count == GL_RATELIMIT_RULES_MAX
        ||  s_rule_parse (item, &self->rules [self->rule_count]) != 0) {
            snprintf (error, GL_RATELIMIT_ERROR_MAX,
                      "ratelimit: '%s': expected at most %d rules \"N/Ws\" or \"N/Wms\" "
                      "with 1 <= N <= %d and W up to one day", rules,
                      GL_RATELIMIT_RULES_MAX, GL_RATELIMIT_LIMIT_MAX);
            free (copy);
            gl_ratelimit_destroy (&self);
            return NULL;
        }
        self->rule_count++;
    }
    free (copy);
    if (self->rule_count == 0) {
        snprintf (error, GL_RATELIMIT_ERROR_MAX, "ratelimit: '%s': expected at least one rule",
                  rules);
        gl_ratelimit_destroy (&self);
    }
    return self;
}

void
gl_ratelimit_destroy (gl_ratelimit_t **self_p)
{
    if (self_p && *self_p) {
        gl_ratelimit_t *self = *self_p;
        for (size_t index = 0; index < GL_RATELIMIT_RULES_MAX; index++)
            free (self->rules [index].log);
        free (self);
        *self_p = NULL;
    }
}

//  The share of a rule in force at now_ms, transition floor included.
static uint32_t
s_rule_share (const s_rule_t *rule, int64_t now_ms)
{
    if (now_ms < rule->floor_until && rule->floor < rule->share)
        return rule->floor;
    return rule->share;
}

//  The longest window of all rules.
static int64_t
s_longest_window (gl_ratelimit_t *self)
{
    int64_t longest = 0;
    for (size_t index = 0; index < self->rule_count; index++)
        if (self->rules [index].window_ms > longest)
            longest = self->rules [index].window_ms;
    return longest;
}

//  The tightening scale at now_ms: back to 1 linearly after a refusal.
static double
s_scale (gl_ratelimit_t *self, int64_t now_ms)
{
    if (self->tightened >= 1.0)
        return 1.0;
    double recovery = (double) (RECOVERY_WINDOWS * s_longest_window (self));
    double progress = (double) (now_ms - self->tightened_at) / recovery;
    if (progress >= 1.0)
        return 1.0;
    return self->tightened + (1.0 - self->tightened) * (progress < 0? 0: progress);
}

//  Until when a share changed at now_ms keeps its floor: one window and
//  the guard, and the settle time for the instances that left to notice.
static int64_t
s_floor_until (gl_ratelimit_t *self, const s_rule_t *rule, int64_t now_ms)
{
    return now_ms + rule->window_ms + self->guard_ms + self->settle_ms;
}

void
gl_ratelimit_settle (gl_ratelimit_t *self, int64_t settle_ms)
{
    self->settle_ms = settle_ms > 0? settle_ms: 0;
}

//  A rule of limit's part for member index of members (SPEC 5.7).
static uint32_t
s_split (uint32_t limit, uint32_t index, uint32_t members)
{
    if (members == 0 || index >= members)
        return 0;
    return limit / members + (index < limit % members? 1: 0);
}

void
gl_ratelimit_share (gl_ratelimit_t *self, uint32_t index, uint32_t members, int64_t now_ms)
{
    self->member_index = index;
    self->members = members;
    for (size_t number = 0; number < self->rule_count; number++) {
        s_rule_t *rule = &self->rules [number];
        uint32_t share = s_split (rule->limit, index, members);
        if (share == rule->share)
            continue;
        rule->floor = s_rule_share (rule, now_ms);
        rule->floor_until = s_floor_until (self, rule, now_ms);
        rule->share = share;
    }
}

uint32_t
gl_ratelimit_limit (gl_ratelimit_t *self, size_t index, int64_t now_ms)
{
    if (index >= self->rule_count)
        return 0;
    uint32_t share = s_rule_share (&self->rules [index], now_ms);
    uint32_t limit = (uint32_t) ((double) share * s_scale (self, now_ms));
    return (limit == 0 && share > 0)? 1: limit;
}

int64_t
gl_ratelimit_window_ms (gl_ratelimit_t *self, size_t index)
{
    return index < self->rule_count? self->rules [index].window_ms: 0;
}

size_t
gl_ratelimit_rules (gl_ratelimit_t *self)
{
    return self->rule_count;
}

//  The send time at position (0 = oldest) of a rule's ring.
static int64_t
s_log_at (const s_rule_t *rule, uint32_t position)
{
    return rule->log [(rule->head + position) % rule->limit];
}

//  How many of a rule's logged sends are inside its window (plus the
//  guard) at now_ms.
static uint32_t
s_rule_in_window (gl_ratelimit_t *self, const s_rule_t *rule, int64_t now_ms)
{
    int64_t span = rule->window_ms + self->guard_ms;
    uint32_t in_window = 0;
    while (in_window < rule->count
       &&  s_log_at (rule, rule->count - 1 - in_window) > now_ms - span)
        in_window++;
    return in_window;
}

//  The earliest time a rule allows one more send, or now_ms.
static int64_t
s_rule_next (gl_ratelimit_t *self, size_t index, int64_t now_ms)
{
    s_rule_t *rule = &self->rules [index];
    uint32_t limit = gl_ratelimit_limit (self, index, now_ms);
    if (limit == 0)
        return now_ms < rule->floor_until && rule->share > 0? rule->floor_until: INT64_MAX;
    int64_t span = rule->window_ms + self->guard_ms;
    uint32_t in_window = s_rule_in_window (self, rule, now_ms);
    if (in_window < limit)
        return now_ms;
    //  The send that must leave the window for the count to drop below
    //  the limit is the (in_window - limit + 1)-th oldest of those inside.
    int64_t leaving = s_log_at (rule, rule->count - in_window + (in_window - limit));
    return leaving + span;
}

int64_t
gl_ratelimit_next (gl_ratelimit_t *self, int64_t now_ms)
{
    int64_t next = now_ms > self->paused_until? now_ms: self->paused_until;
    for (size_t index = 0; index < self->rule_count; index++) {
        int64_t rule_next = s_rule_next (self, index, now_ms);
        if (rule_next > next)
            next = rule_next;
    }
    return next;
}

uint32_t
gl_ratelimit_room (gl_ratelimit_t *self, int64_t now_ms)
{
    if (now_ms < self->paused_until)
        return 0;
    uint32_t room = UINT32_MAX;
    for (size_t index = 0; index < self->rule_count; index++) {
        uint32_t limit = gl_ratelimit_limit (self, index, now_ms);
        uint32_t in_window = s_rule_in_window (self, &self->rules [index], now_ms);
        uint32_t free = limit > in_window? limit - in_window: 0;
        if (free < room)
            room = free;
    }
    return room;
}

//  Appends a send time to a rule's ring, dropping the oldest when full.
static void
s_rule_log (s_rule_t *rule, int64_t sent_ms)
{
    if (rule->count == rule->limit) {
        rule->head = (rule->head + 1) % rule->limit;
        rule->count--;
    }
    rule->log [(rule->head + rule->count) % rule->limit] = sent_ms;
    rule->count++;
}

void
gl_ratelimit_record (gl_ratelimit_t *self, int64_t now_ms)
{
    for (size_t index = 0; index < self->rule_count; index++)
        s_rule_log (&self->rules [index], now_ms);
}

//  The rule of self with the shortest window at least window_ms, or NULL:
//  its log holds every send of the last window_ms (a rule never lets more
//  sends into its window than its ring holds).
static const s_rule_t *
s_rule_covering (gl_ratelimit_t *self, int64_t window_ms)
{
    const s_rule_t *covering = NULL;
    for (size_t index = 0; index < self->rule_count; index++) {
        const s_rule_t *rule = &self->rules [index];
        if (rule->window_ms >= window_ms && (!covering || rule->window_ms < covering->window_ms))
            covering = rule;
    }
    return covering;
}

//  Starts a new rule from the running limiter at now_ms: its log is the
//  sends of its window the old rules saw; its share the latest one; it
//  holds to no more than the old rules' own transition allows, and to a
//  share of 0 for one window when no old rule saw that far back.
static void
s_rule_adopt (gl_ratelimit_t *self, s_rule_t *rule, int64_t now_ms)
{
    rule->share = s_split (rule->limit, self->member_index, self->members);
    rule->floor = rule->share;
    rule->floor_until = 0;
    const s_rule_t *covering = s_rule_covering (self, rule->window_ms);
    if (!covering) {
        rule->floor = 0;
        rule->floor_until = s_floor_until (self, rule, now_ms);
        return;
    }
    for (uint32_t position = 0; position < covering->count; position++) {
        int64_t sent = s_log_at (covering, position);
        if (sent > now_ms - rule->window_ms - self->guard_ms)
            s_rule_log (rule, sent);
    }
    for (size_t index = 0; index < self->rule_count; index++) {
        const s_rule_t *old = &self->rules [index];
        if (now_ms >= old->floor_until || old->floor >= old->share || old->share == 0)
            continue;
        uint32_t floor = (uint32_t) ((uint64_t) rule->share * old->floor / old->share);
        if (floor < rule->floor)
            rule->floor = floor;
        if (old->floor_until > rule->floor_until)
            rule->floor_until = old->floor_until;
    }
}

int
gl_ratelimit_configure (gl_ratelimit_t *self, const char *rules, int64_t now_ms, char *error)
{
    gl_ratelimit_t *next = gl_ratelimit_new (rules, self->guard_ms, error);
    if (!next)
        return -1;
    for (size_t index = 0; index < next->rule_count; index++)
        s_rule_adopt (self, &next->rules [index], now_ms);
    for (size_t index = 0; index < GL_RATELIMIT_RULES_MAX; index++) {
        free (self->rules [index].log);
        self->rules [index] = next->rules [index];
        next->rules [index].log = NULL;
    }
    self->rule_count = next->rule_count;
    gl_ratelimit_destroy (&next);
    return 0;
}

void
gl_ratelimit_refused (gl_ratelimit_t *self, int64_t retry_after_ms, int64_t now_ms)
{
    if (retry_after_ms <= 0) {
        retry_after_ms = INT64_MAX;
        for (size_t index = 0; index < self->rule_count; index++)
            if (self->rules [index].window_ms < retry_after_ms)
                retry_after_ms = self->rules [index].window_ms;
    }
    if (now_ms + retry_after_ms > self->paused_until)
        self->paused_until = now_ms + retry_after_ms;
    double scale = s_scale (self, now_ms) * TIGHTEN_FACTOR;
    self->tightened = scale < TIGHTEN_FLOOR? TIGHTEN_FLOOR: scale;
    self->tightened_at = now_ms;
}

void
gl_ratelimit_observe (gl_ratelimit_t *self, int64_t remaining, int64_t reset_ms, int64_t now_ms)
{
    if (remaining <= 0 && reset_ms > self->paused_until && reset_ms > now_ms)
        self->paused_until = reset_ms;
}
