/*  gl_ratelimit — a fetcher's pacing for one provider credential.

    Rules are "N requests per W seconds", several at once, all of which
    must hold: "5/1s,200/60s" (a window may also be given in ms: "10/500ms").
    Each rule keeps a sliding-window log of the sends this instance made,
    so "may I send now" is exact, and when the answer is no it says at
    what time a send becomes allowed.

    Three things narrow the configured limit:

    - the share: when several fetchers use one credential, this instance
      may use only its part of each rule (protocol/SPEC.md, "Sharing a
      provider's rate limit"). After a change of share, the smaller of the
      old and new share holds until one full window (plus the guard and
      the settle time) has passed, so the sum over all instances never
      exceeds the limit while members join or leave;
    - a refusal (HTTP 429): no send until its Retry-After, and the limit
      is scaled down by a quarter (not below a tenth), recovering linearly
      to the configured one over four of the longest windows;
    - the provider's own counters (remaining requests until a reset time):
      at zero remaining, no send until the reset.

    Every window is widened by a guard (default 50 ms) that absorbs the
    jitter between when a request is sent and when the provider counts it.
    Time is passed in by the caller (milliseconds on any monotonic clock),
    so the logic is testable without sleeping.
*/
#ifndef GL_RATELIMIT_H_INCLUDED
#define GL_RATELIMIT_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GL_RATELIMIT_RULES_MAX  8
#define GL_RATELIMIT_LIMIT_MAX  1000000
#define GL_RATELIMIT_ERROR_MAX  256

typedef struct _gl_ratelimit_t gl_ratelimit_t;

//  Parses rules ("5/1s,200/60s") and creates a limiter holding the whole
//  configured limit (one member). Returns NULL with the reason in error
//  (GL_RATELIMIT_ERROR_MAX bytes). Caller owns return value.
gl_ratelimit_t *gl_ratelimit_new (const char *rules, int64_t guard_ms, char *error);

//  Destroys the limiter and nulls the caller's pointer. Safe twice.
void gl_ratelimit_destroy (gl_ratelimit_t **self_p);

//  Sets this instance's share: it is member index (0-based, in the
//  sorted member list) of members instances sharing the credential. A
//  rule of N is split as N / members, the first N % members instances
//  taking one more, so the shares add up to N exactly. members 0 means no
//  share at all (not a member yet). The smaller of the old and new share
//  holds for one window (plus the guard and the settle time) after the change.
void gl_ratelimit_share (gl_ratelimit_t *self, uint32_t index, uint32_t members,
                         int64_t now_ms);

//  Sets how much longer than one window plus the guard a grown share
//  (and a new rule's share) waits: the time an instance that left, or
//  lost the broker, needs to notice it and stop (SPEC 5.7: 4 heartbeat
//  intervals). Default 0.
void gl_ratelimit_settle (gl_ratelimit_t *self, int64_t settle_ms);

//  Replaces the rules (a reload) at now_ms, or returns -1 with the reason
//  in error and changes nothing. Each new rule starts with the sends of
//  its window the old rules logged (exact when an old rule's window is at
//  least as long) and the latest share; a share transition in progress
//  holds it in the same proportion. A new rule longer than every old one
//  holds a share of 0 for one window plus the guard and the settle time, since the sends
//  before the old windows are unknown, as a new member does.
int gl_ratelimit_configure (gl_ratelimit_t *self, const char *rules, int64_t now_ms,
                            char *error);

//  Returns now_ms if a request may be sent now, else the earliest time at
//  which it may (INT64_MAX if never under the current share).
int64_t gl_ratelimit_next (gl_ratelimit_t *self, int64_t now_ms);

//  How many requests may be sent at now_ms, one after another, before
//  some rule says wait: the least free room of any rule (its limit as it
//  applies now, less its sends in the window); 0 while paused.
uint32_t gl_ratelimit_room (gl_ratelimit_t *self, int64_t now_ms);

//  Records a request sent at now_ms.
void gl_ratelimit_record (gl_ratelimit_t *self, int64_t now_ms);

//  Learns from a refusal (HTTP 429): pauses until now_ms + retry_after_ms
//  (at least the shortest window when the provider gave none) and
//  tightens the limit, which then recovers on its own.
void gl_ratelimit_refused (gl_ratelimit_t *self, int64_t retry_after_ms, int64_t now_ms);

//  Learns from the provider's counters: with zero requests remaining, no
//  send until reset_ms (same clock as now_ms).
void gl_ratelimit_observe (gl_ratelimit_t *self, int64_t remaining, int64_t reset_ms,
                           int64_t now_ms);

//  The limit of rule index as it applies at now_ms (share, transition
//  and tightening included); 0 past the last rule.
uint32_t gl_ratelimit_limit (gl_ratelimit_t *self, size_t index, int64_t now_ms);

//  The window of rule index in ms (without the guard); 0 past the last.
int64_t gl_ratelimit_window_ms (gl_ratelimit_t *self, size_t index);

//  How many rules there are.
size_t gl_ratelimit_rules (gl_ratelimit_t *self);

#endif
