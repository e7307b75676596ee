/*  gl_simfault — one provider's fault injection, from a seeded PRNG.

    Every request that would succeed draws once (two numbers, whatever the
    settings), so two sims with the same seed and the same request order
    inject the same faults. Kinds and their probability settings:
      server_error  500, 502 or 504 with an HTML or an empty body
      hang          no answer for hang_ms, then the connection closes
      slow          the normal answer after slow_ms
      truncate      the headers promise the whole body; half of it comes,
                    then the connection closes
      invalid_json  a complete response whose body is cut short JSON
      empty         the provider's own empty answer (HTTP 200)
      drop          the connection closes at once, nothing answered (a
                    kept-alive connection the server gave up on)
      rate_limited  the provider's 429 with Retry-After: retry_after_s,
                    though the key is within its limits (the audit counts
                    it here, never as over_limit, and it never bans)
    Probabilities are checked in that order against one uniform draw, so
    their sum should not exceed 1. Thread-safe.
*/
#ifndef GL_SIMFAULT_H_INCLUDED
#define GL_SIMFAULT_H_INCLUDED

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct _gl_simfault_t gl_simfault_t;

typedef enum {
    GL_SIMFAULT_NONE = 0,
    GL_SIMFAULT_SERVER_ERROR,
    GL_SIMFAULT_HANG,
    GL_SIMFAULT_SLOW,
    GL_SIMFAULT_TRUNCATE,
    GL_SIMFAULT_INVALID_JSON,
    GL_SIMFAULT_EMPTY,
    GL_SIMFAULT_DROP,
    GL_SIMFAULT_RATE_LIMITED,
} gl_simfault_kind_t;

typedef struct {
    gl_simfault_kind_t kind;
    int code;                   //  server_error: 500, 502 or 504
    bool html;                  //  server_error: HTML body, else empty
    int64_t delay_ms;           //  hang and slow
    int64_t retry_after_s;      //  rate_limited: the Retry-After to send
} gl_simfault_draw_t;

//  Creates fault settings, all off, with a PRNG seeded from seed and the
//  provider name. Caller owns return value.
gl_simfault_t *gl_simfault_new (uint64_t seed, const char *provider);

//  Destroys the settings and nulls the caller's pointer. Safe twice.
void gl_simfault_destroy (gl_simfault_t **self_p);

//  Sets one setting by name (a probability in [0,1], or hang_ms, slow_ms,
//  retry_after_s >= 0). Returns 0, or -1 for an unknown name or a bad value.
int gl_simfault_set (gl_simfault_t *self, const char *name, const char *value);

//  Restarts the PRNG from seed (and the provider name).
void gl_simfault_reseed (gl_simfault_t *self, uint64_t seed);

//  Draws the fault for the next request.
void gl_simfault_draw (gl_simfault_t *self, gl_simfault_draw_t *draw);

//  Adds every setting to a JSON object, and "injected" counts per kind.
void gl_simfault_describe (gl_simfault_t *self, cJSON *object);

//  Forgets the injected counts.
void gl_simfault_reset (gl_simfault_t *self);

#endif
