/*  gl_simlimit — sliding-window rate limits, bans and audit. See
    gl_simlimit.h.

    Each rule keeps two queues of monotonic microsecond times per key: the
    accepted requests still inside the window (at most N, they decide), and
    every arrival inside the window (they give the exact peak: the busiest
    window of length W always ends at an arrival, so checking the queue
    length at each arrival finds it).
*/
#include "gl_simlimit.h"
#include <cjson/cJSON.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define RULES_MAX 4
#define CODES_MAX 16

//  A queue of times, oldest first.
typedef struct {
    int64_t *items;
    size_t head;
    size_t count;
    size_t capacity;
} s_times_t;

typedef struct {
    int64_t limit;
    int64_t window_us;
} s_rule_t;

typedef struct _s_key_t {
    char *label;
    s_times_t accepted [RULES_MAX];
    s_times_t arrived [RULES_MAX];
    int64_t peaks [RULES_MAX];
    s_times_t refusals;
    int64_t banned_until;
    int64_t codes [CODES_MAX];
    int64_t counts [CODES_MAX];
    int64_t total;
    int64_t over_limit;
    int64_t bans;
    struct _s_key_t *next;
} s_key_t;

struct _gl_simlimit_t {
    pthread_mutex_t mutex;
    s_rule_t rules [RULES_MAX];
    size_t rule_count;
    s_rule_t abuse;
    int64_t ban_us;
    s_key_t *keys;
};

//  Monotonic clock in microseconds.
static int64_t
s_now_us (void)
{
    struct timespec now;
    clock_gettime (CLOCK_MONOTONIC, &now);
    return (int64_t) now.tv_sec * 1000000 + now.tv_nsec / 1000;
}

//  Wall clock in milliseconds since the epoch.
static int64_t
s_wall_ms (void)
{
    struct timespec now;
    clock_gettime (CLOCK_REALTIME, &now);
    return (int64_t) now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

//  Appends a time; false when out of memory.
static bool
s_times_push (s_times_t *times, int64_t value)
{
    if (times->count == times->capacity) {
        size_t capacity = times->capacity? times->capacity * 2: 16;
        int64_t *items = (int64_t *) malloc (capacity * sizeof (int64_t));
        if (!items)
            return false;
        for (size_t index = 0; index < times->count; index++)
            items [index] = times->items [(times->head + index) % times->capacity];
        free (times->items);
        times->items = items;
        times->head = 0;
        times->capacity = capacity;
    }
    times->items [(times->head + times->count) % times->capacity] = value;
    times->count++;
    return true;
}

//  The oldest time; the queue must not be empty.
static int64_t
s_times_front (s_times_t *times)
{
    return times->items [times->head];
}

//  Drops times at or before the cut-off.
static void
s_times_expire (s_times_t *times, int64_t cutoff)
{
    while (times->count && s_times_front (times) <= cutoff) {
        times->head = (times->head + 1) % times->capacity;
        times->count--;
    }
}

//  Frees the queue's storage and empties it.
static void
s_times_clear (s_times_t *times)
{
    free (times->items);
    memset (times, 0, sizeof *times);
}

//  Parses "N/W" or "N/Ws" into a rule; returns 0 or -1.
static int
s_rule_parse (const char *text, s_rule_t *rule)
{
    long long limit;
    double window;
    int used = 0;
    if (sscanf (text, " %lld / %lf%n", &limit, &window, &used) != 2)
        return -1;
    const char *rest = text + used;
    if (*rest == 's')
        rest++;
    while (*rest == ' ')
        rest++;
    if (*rest || limit < 1 || window <= 0)
        return -1;
    rule->limit = limit;
    rule->window_us = (int64_t) (window * 1000000.0);
    return 0;
}

gl_simlimit_t *
gl_simlimit_new (void)
{
    gl_simlimit_t *self = (gl_simlimit_t *) calloc (1, sizeof (gl_simlimit_t));
    if (!self)
        return NULL;
    pthread_mutex_init (&self->mutex, NULL);
    return self;
}

//  Frees one key's state.
static void
s_key_destroy (s_key_t **key_p)
{
    s_key_t *key = *key_p;
    for (size_t index = 0; index < RULES_MAX; index++) {
        s_times_clear (&key->accepted [index]);
        s_times_clear (&key->arrived [index]);
    }
    s_times_clear (&key->refusals);
    free (key->label);
    free (key);
    *key_p = NULL;
}

//  Frees every key.
static void
s_keys_clear (gl_simlimit_t *self)
{
    while (self->keys) {
        s_key_t *next = self->keys->next;
        s_key_destroy (&self->keys);
        self->keys = next;
    }
}

void
gl_simlimit_destroy (gl_simlimit_t **self_p)
{
    if (self_p && *self_p) {
        gl_simlimit_t *self = *self_p;
        s_keys_clear (self);
        pthread_mutex_destroy (&self->mutex);
        free (self);
        *self_p = NULL;
    }
}

int
gl_simlimit_set_rules (gl_simlimit_t *self, const char *rules)
{
    s_rule_t parsed [RULES_MAX];
    size_t count = 0;
    char *copy = strdup (rules? rules: "");
    if (!copy)
        return -1;
    int rc = 0;
    char *saved = NULL;
    for (char *part = strtok_r (copy, ",", &saved); part; part = strtok_r (NULL, ",", &saved)) {
        if (count == RULES_MAX || s_rule_parse (part, &parsed [count]) != 0) {
            rc = -1;
            break;
        }
        count++;
    }
    free (copy);
    if (rc == 0) {
        pthread_mutex_lock (&self->mutex);
        memcpy (self->rules, parsed, count * sizeof (s_rule_t));
        self->rule_count = count;
        s_keys_clear (self);
        pthread_mutex_unlock (&self->mutex);
    }
    return rc;
}

int
gl_simlimit_set_ban (gl_simlimit_t *self, const char *abuse, int64_t ban_seconds)
{
    s_rule_t rule = { 0, 0 };
    if (abuse && *abuse && s_rule_parse (abuse, &rule) != 0)
        return -1;
    if (ban_seconds < 0)
        return -1;
    pthread_mutex_lock (&self->mutex);
    self->abuse = rule;
    self->ban_us = ban_seconds * 1000000;
    pthread_mutex_unlock (&self->mutex);
    return 0;
}

//  Finds or creates the key's state; NULL if out of memory.
static s_key_t *
s_key_lookup (gl_simlimit_t *self, const char *label)
{
    for (s_key_t *key = self->keys; key; key = key->next)
        if (strcmp (key->label, label) == 0)
            return key;
    s_key_t *key = (s_key_t *) calloc (1, sizeof (s_key_t));
    if (!key)
        return NULL;
    key->label = strdup (label);
    if (!key->label) {
        free (key);
        return NULL;
    }
    key->next = self->keys;
    self->keys = key;
    return key;
}

//  Seconds, rounded up and at least 1, for a wait in microseconds.
static int64_t
s_ceil_seconds (int64_t wait_us)
{
    int64_t seconds = (wait_us + 999999) / 1000000;
    return seconds < 1? 1: seconds;
}

//  Records a refusal and starts a ban when the abuse rule trips.
static void
s_note_refusal (gl_simlimit_t *self, s_key_t *key, int64_t now)
{
    if (self->abuse.limit == 0)
        return;
    s_times_expire (&key->refusals, now - self->abuse.window_us);
    s_times_push (&key->refusals, now);
    if ((int64_t) key->refusals.count > self->abuse.limit) {
        key->banned_until = now + self->ban_us;
        key->bans++;
        s_times_clear (&key->refusals);
    }
}

//  Fills the header figures from the first rule.
static void
s_fill_status (gl_simlimit_t *self, s_key_t *key, int64_t now, gl_simlimit_status_t *status)
{
    if (self->rule_count == 0)
        return;
    s_times_t *accepted = &key->accepted [0];
    status->allowed = self->rules [0].limit;
    status->window_seconds = s_ceil_seconds (self->rules [0].window_us);
    status->used = (int64_t) accepted->count;
    status->available = status->allowed > status->used? status->allowed - status->used: 0;
    int64_t frees_at = accepted->count? s_times_front (accepted) + self->rules [0].window_us: now;
    status->reset_ms = s_wall_ms () + (frees_at - now) / 1000;
}

gl_simlimit_verdict_t
gl_simlimit_admit (gl_simlimit_t *self, const char *label, gl_simlimit_status_t *status)
{
    memset (status, 0, sizeof *status);
    pthread_mutex_lock (&self->mutex);
    int64_t now = s_now_us ();
    s_key_t *key = s_key_lookup (self, label);
    if (!key) {
        pthread_mutex_unlock (&self->mutex);
        return GL_SIMLIMIT_PASS;
    }
    int64_t wait_us = 0;
    for (size_t index = 0; index < self->rule_count; index++) {
        int64_t cutoff = now - self->rules [index].window_us;
        s_times_expire (&key->arrived [index], cutoff);
        s_times_push (&key->arrived [index], now);
        if ((int64_t) key->arrived [index].count > key->peaks [index])
            key->peaks [index] = (int64_t) key->arrived [index].count;
        s_times_t *accepted = &key->accepted [index];
        s_times_expire (accepted, cutoff);
        if ((int64_t) accepted->count >= self->rules [index].limit) {
            int64_t rule_wait = s_times_front (accepted) + self->rules [index].window_us - now;
            wait_us = rule_wait > wait_us? rule_wait: wait_us;
        }
    }
    gl_simlimit_verdict_t verdict = GL_SIMLIMIT_PASS;
    if (key->banned_until > now) {
        verdict = GL_SIMLIMIT_BANNED;
        status->retry_after = s_ceil_seconds (key->banned_until - now);
    }
    else
    if (wait_us > 0) {
        verdict = GL_SIMLIMIT_OVER;
        key->over_limit++;
        status->retry_after = s_ceil_seconds (wait_us);
        s_note_refusal (self, key, now);
    }
    else
        for (size_t index = 0; index < self->rule_count; index++)
            s_times_push (&key->accepted [index], now);
    s_fill_status (self, key, now, status);
    pthread_mutex_unlock (&self->mutex);
    return verdict;
}

void
gl_simlimit_record (gl_simlimit_t *self, const char *label, int code)
{
    pthread_mutex_lock (&self->mutex);
    s_key_t *key = s_key_lookup (self, label);
    if (key) {
        key->total++;
        for (size_t index = 0; index < CODES_MAX; index++)
            if (key->codes [index] == code || key->counts [index] == 0) {
                key->codes [index] = code;
                key->counts [index]++;
                break;
            }
    }
    pthread_mutex_unlock (&self->mutex);
}

void
gl_simlimit_reset (gl_simlimit_t *self)
{
    pthread_mutex_lock (&self->mutex);
    s_keys_clear (self);
    pthread_mutex_unlock (&self->mutex);
}

//  Adds one key's audit object to the parent.
static void
s_audit_key (gl_simlimit_t *self, s_key_t *key, int64_t now, cJSON *parent)
{
    cJSON *entry = cJSON_AddObjectToObject (parent, key->label);
    cJSON *requests = cJSON_AddObjectToObject (entry, "requests");
    for (size_t index = 0; index < CODES_MAX && key->counts [index]; index++) {
        char code [16];
        snprintf (code, sizeof code, "%d", (int) key->codes [index]);
        cJSON_AddNumberToObject (requests, code, (double) key->counts [index]);
    }
    cJSON_AddNumberToObject (entry, "total", (double) key->total);
    cJSON_AddNumberToObject (entry, "over_limit", (double) key->over_limit);
    cJSON_AddNumberToObject (entry, "bans", (double) key->bans);
    cJSON_AddBoolToObject (entry, "banned", key->banned_until > now);
    cJSON *peaks = cJSON_AddArrayToObject (entry, "peaks");
    for (size_t index = 0; index < self->rule_count; index++) {
        cJSON *peak = cJSON_CreateObject ();
        cJSON_AddNumberToObject (peak, "limit", (double) self->rules [index].limit);
        cJSON_AddNumberToObject (peak, "window_s", (double) self->rules [index].window_us / 1e6);
        cJSON_AddNumberToObject (peak, "peak", (double) key->peaks [index]);
        cJSON_AddItemToArray (peaks, peak);
    }
}

char *
gl_simlimit_audit (gl_simlimit_t *self)
{
    cJSON *root = cJSON_CreateObject ();
    if (!root)
        return NULL;
    pthread_mutex_lock (&self->mutex);
    int64_t now = s_now_us ();
    for (s_key_t *key = self->keys; key; key = key->next)
        s_audit_key (self, key, now, root);
    pthread_mutex_unlock (&self->mutex);
    char *text = cJSON_PrintUnformatted (root);
    cJSON_Delete (root);
    return text;
}
