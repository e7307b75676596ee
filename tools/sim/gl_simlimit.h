/*  gl_simlimit — one provider's rate limits, bans and audit, per API key.

    Rules are "N requests per W seconds", several at once ("5/1s,200/60s"):
    a request passes when every rule has fewer than N accepted requests in
    the last W seconds (a sliding window, exact to the microsecond). An
    over-limit request is refused; more than K refusals within a window
    ("10/60s") bans the key for a configured time, during which every
    request is refused as banned.

    The audit counts, per key: answers by HTTP status, requests over the
    limit, bans, and for each rule the peak number of requests that arrived
    within any window of the rule's length (every arrival counts, refused
    or not: it measures what clients sent, which is what a "never exceed
    the limit" test asserts on). Thread-safe.
*/
#ifndef GL_SIMLIMIT_H_INCLUDED
#define GL_SIMLIMIT_H_INCLUDED

#include <stdbool.h>
#include <stdint.h>

typedef struct _gl_simlimit_t gl_simlimit_t;

typedef enum {
    GL_SIMLIMIT_PASS = 0,
    GL_SIMLIMIT_OVER,           //  over a rule: answer 429
    GL_SIMLIMIT_BANNED,         //  key banned: answer 403
} gl_simlimit_verdict_t;

//  What rate-limit headers report, from the first rule.
typedef struct {
    int64_t allowed;            //  the first rule's N; 0 without rules
    int64_t used;               //  accepted in its window, this request included
    int64_t available;          //  allowed - used, never negative
    int64_t window_seconds;     //  the first rule's W
    int64_t reset_ms;           //  wall clock (epoch ms) when a slot frees
    int64_t retry_after;        //  seconds to wait, for OVER and BANNED
} gl_simlimit_status_t;

//  Creates a limiter without rules (everything passes, still audited).
//  Caller owns return value.
gl_simlimit_t *gl_simlimit_new (void);

//  Destroys the limiter and nulls the caller's pointer. Safe twice.
void gl_simlimit_destroy (gl_simlimit_t **self_p);

//  Parses rules "N/Ws[,N/Ws...]" (the "s" is optional; "" means none).
//  Returns 0, or -1 and leaves the rules unchanged if malformed.
int gl_simlimit_set_rules (gl_simlimit_t *self, const char *rules);

//  Sets the abuse rule ("K/Ws": more than K refusals in W seconds, "" for
//  never) and the ban length. Returns 0, or -1 if malformed.
int gl_simlimit_set_ban (gl_simlimit_t *self, const char *abuse, int64_t ban_seconds);

//  Records the arrival of a request from key and decides it; fills status.
gl_simlimit_verdict_t gl_simlimit_admit (gl_simlimit_t *self, const char *key,
                                         gl_simlimit_status_t *status);

//  Counts an answer sent to key with the HTTP status code.
void gl_simlimit_record (gl_simlimit_t *self, const char *key, int code);

//  Forgets every count, window, refusal and ban.
void gl_simlimit_reset (gl_simlimit_t *self);

//  The audit as a JSON object text, keyed by key label:
//  {"alpha":{"requests":{"200":5,"429":1},"total":6,"over_limit":1,
//  "bans":0,"banned":false,"peaks":[{"limit":5,"window_s":1,"peak":6}]}}.
//  Caller frees the string; NULL if out of memory.
char *gl_simlimit_audit (gl_simlimit_t *self);

#endif
