/*  gl_simfault — seeded fault injection. See gl_simfault.h.  */
#include "gl_simfault.h"
#include "gl_simbars.h"
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define KINDS 9

static const char *s_names [KINDS] = {
    "none", "server_error", "hang", "slow", "truncate", "invalid_json", "empty", "drop",
    "rate_limited"
};

struct _gl_simfault_t {
    pthread_mutex_t mutex;
    char *provider;
    uint64_t state;
    double probability [KINDS];
    int64_t hang_ms;
    int64_t slow_ms;
    int64_t retry_after_s;
    int64_t injected [KINDS];
};

//  Hash of the provider name, so each provider has its own stream.
static uint64_t
s_name_hash (const char *name)
{
    uint64_t hash = 0xCBF29CE484222325ULL;
    for (const char *c = name; *c; c++)
        hash = (hash ^ (unsigned char) *c) * 0x100000001B3ULL;
    return hash;
}

//  The next uniform number in [0, 1).
static double
s_uniform (gl_simfault_t *self)
{
    self->state += 0x9E3779B97F4A7C15ULL;
    return (double) (gl_simbars_mix (self->state) >> 11) / 9007199254740992.0;
}

gl_simfault_t *
gl_simfault_new (uint64_t seed, const char *provider)
{
    gl_simfault_t *self = (gl_simfault_t *) calloc (1, sizeof (gl_simfault_t));
    if (!self)
        return NULL;
    self->provider = strdup (provider);
    if (!self->provider) {
        free (self);
        return NULL;
    }
    pthread_mutex_init (&self->mutex, NULL);
    self->hang_ms = 30000;
    self->slow_ms = 500;
    self->retry_after_s = 1;
    gl_simfault_reseed (self, seed);
    return self;
}

void
gl_simfault_destroy (gl_simfault_t **self_p)
{
    if (self_p && *self_p) {
        gl_simfault_t *self = *self_p;
        pthread_mutex_destroy (&self->mutex);
        free (self->provider);
        free (self);
        *self_p = NULL;
    }
}

//  Index of a probability setting's kind, or -1.
static int
s_kind_index (const char *name)
{
    for (int index = 1; index < KINDS; index++)
        if (strcmp (s_names [index], name) == 0)
            return index;
    return -1;
}

int
gl_simfault_set (gl_simfault_t *self, const char *name, const char *value)
{
    char *end = NULL;
    double number = strtod (value, &end);
    if (end == value || *end)
        return -1;
    int index = s_kind_index (name);
    int rc = 0;
    pthread_mutex_lock (&self->mutex);
    if (index > 0 && number >= 0 && number <= 1)
        self->probability [index] = number;
    else
    if (strcmp (name, "hang_ms") == 0 && number >= 0)
        self->hang_ms = (int64_t) number;
    else
    if (strcmp (name, "slow_ms") == 0 && number >= 0)
        self->slow_ms = (int64_t) number;
    else
    if (strcmp (name, "retry_after_s") == 0 && number >= 0)
        self->retry_after_s = (int64_t) number;
    else
        rc = -1;
    pthread_mutex_unlock (&self->mutex);
    return rc;
}

void
gl_simfault_reseed (gl_simfault_t *self, uint64_t seed)
{
    pthread_mutex_lock (&self->mutex);
    self->state = gl_simbars_mix (seed ^ s_name_hash (self->provider));
    pthread_mutex_unlock (&self->mutex);
}

void
gl_simfault_draw (gl_simfault_t *self, gl_simfault_draw_t *draw)
{
    memset (draw, 0, sizeof *draw);
    pthread_mutex_lock (&self->mutex);
    double choice = s_uniform (self);
    double variant = s_uniform (self);
    double threshold = 0;
    for (int index = 1; index < KINDS; index++) {
        threshold += self->probability [index];
        if (choice < threshold) {
            draw->kind = (gl_simfault_kind_t) index;
            break;
        }
    }
    self->injected [draw->kind]++;
    static const int codes [3] = { 500, 502, 504 };
    draw->code = codes [(int) (variant * 6) % 3];
    draw->html = variant < 0.5;
    draw->delay_ms = draw->kind == GL_SIMFAULT_HANG? self->hang_ms:
                     draw->kind == GL_SIMFAULT_SLOW? self->slow_ms: 0;
    draw->retry_after_s = self->retry_after_s;
    pthread_mutex_unlock (&self->mutex);
}

void
gl_simfault_describe (gl_simfault_t *self, cJSON *object)
{
    pthread_mutex_lock (&self->mutex);
    for (int index = 1; index < KINDS; index++)
        cJSON_AddNumberToObject (object, s_names [index], self->probability [index]);
    cJSON_AddNumberToObject (object, "hang_ms", (double) self->hang_ms);
    cJSON_AddNumberToObject (object, "slow_ms", (double) self->slow_ms);
    cJSON_AddNumberToObject (object, "retry_after_s", (double) self->retry_after_s);
    cJSON *injected = cJSON_AddObjectToObject (object, "injected");
    for (int index = 1; index < KINDS; index++)
        cJSON_AddNumberToObject (injected, s_names [index], (double) self->injected [index]);
    pthread_mutex_unlock (&self->mutex);
}

void
gl_simfault_reset (gl_simfault_t *self)
{
    pthread_mutex_lock (&self->mutex);
    memset (self->injected, 0, sizeof self->injected);
    pthread_mutex_unlock (&self->mutex);
}
