/*  gl_settings — the table of every key, and the check of a configuration.  */
#include "gl_settings.h"
#include "gl_capability.h"
#include "gl_log.h"
#include "gl_ratelimit.h"
#include "gl_timeframe.h"
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define S_MS_HOUR 3600000
#define S_MS_DAY 86400000
#define S_MIB (1024 * 1024)

#define INT(key, fallback, minimum, maximum, live, meaning) \
    { key, GL_SETTING_INT, #fallback, minimum, maximum, NULL, live, meaning }
#define OF(key, kind, fallback, live, meaning) \
    { key, kind, fallback, 0, 0, NULL, live, meaning }
#define CHOICE(key, choices, fallback, live, meaning) \
    { key, GL_SETTING_CHOICE, fallback, 0, 0, choices, live, meaning }

static const gl_setting_t s_table [] = {
    //  The broker
    OF ("broker/bind", GL_SETTING_ENDPOINTS, "tcp://127.0.0.1:5570", false,
        "endpoints the broker binds, comma-separated; tcp that other hosts reach needs CURVE"),
    OF ("broker/id", GL_SETTING_TEXT, "", false, "the broker's id in WELCOME (default host:pid)"),
    INT ("broker/heartbeat_ms", 1000, 10, 600000, false,
         "heartbeat interval; a peer silent for 3 of them is dead (actors read it too)"),
    INT ("broker/queue_limit", 100000, 1, 100000000, false, "messages queued in all"),
    INT ("broker/queue_bytes", 268435456, 65536, 1099511627776, false, "bytes queued in all"),
    INT ("broker/service_queue_bytes", 67108864, 65536, 1099511627776, false,
         "bytes queued for one service and its instances"),
    INT ("broker/sender_queue_share", 50, 1, 100, false,
         "percent of the queue bounds one sender may fill"),
    INT ("broker/no_instance_timeout_ms", 30000, 1, S_MS_DAY, false,
         "how long a message waits for a service with no instance before it is bounced"),
    INT ("broker/credit_limit", 10000, 1, 1000000, false, "most credit one instance may hold"),
    INT ("broker/max_body", 16777216, 1024, 16777216, false, "largest frame accepted, bytes"),
    INT ("broker/stats_ms", 10000, 100, S_MS_DAY, false, "interval of the broker_stats log line"),
    OF ("broker/curve_secret", GL_SETTING_PATH, "", false,
        "the broker's secret certificate (gapless keygen): tcp to other hosts is CURVE"),
    OF ("broker/curve_allow", GL_SETTING_PATH, "", false,
        "directory of the public certificates of the actors allowed in (re-read on change)"),
    INT ("broker/insecure", 0, 0, 1, false, "1: accept plain tcp from other hosts, loudly"),
    //  Every actor
    OF ("actor/broker", GL_SETTING_ENDPOINTS, "tcp://127.0.0.1:5570", false,
        "the broker's endpoint"),
    INT ("actor/credit", 100, 1, 1000000, false, "messages the echo peer holds at once"),
    OF ("actor/curve_secret", GL_SETTING_PATH, "", false,
        "this actor's secret certificate, for a broker on another host"),
    OF ("actor/curve_server", GL_SETTING_PATH, "", false, "the broker's public certificate"),
    INT ("actor/insecure", 0, 0, 1, false, "1: plain tcp to a broker on another host, loudly"),
    CHOICE ("log/level", "debug info warn error", "info", true,
            "the lowest level logged (GAPLESS_LOG_LEVEL overrides it)"),
    //  The bar policy (actors/lib/gl_capability.h), checked against the database at start
    CHOICE ("bars/grid_1h", "clock session", "clock", false,
            "where 1h bars start: clock (09:00, 10:00 .. New York) or session (09:30, 10:30 ..)"),
    CHOICE ("bars/grid_4h", "clock session", "clock", false, "where 4h bars start"),
    CHOICE ("bars/adjustment", "split raw", "split", false,
            "the price basis stored: split-adjusted (dividends not applied) or raw"),
    //  The calendar
    OF ("calendar/closures", GL_SETTING_TEXT, "", false,
        "full-day closures beyond the built-in ones, YYYY-MM-DD,YYYY-MM-DD"),
    //  Fetchers, one block per provider (polygon yahoo tradier finnhub alpaca)
    OF ("fetcher/*/base_url", GL_SETTING_TEXT, "", false, "the provider's API base URL"),
    OF ("fetcher/*/key", GL_SETTING_SECRET, "", false,
        "the API key: GAPLESS_FETCHER_<P>_KEY or key_file (owner-only), never inline"),
    OF ("fetcher/*/secret", GL_SETTING_SECRET, "", false,
        "the API secret where the provider has one (Alpaca), the same way"),
    OF ("fetcher/*/limits", GL_SETTING_LIMITS, "5/1s", true,
        "rate-limit rules that must all hold, shared by every fetcher of the credential"),
    INT ("fetcher/*/credit", 8, 1, 10000, false, "most FETCHes a fetcher holds at once"),
    INT ("fetcher/*/health_ms", 5000, 100, S_MS_HOUR, false, "interval of health samples"),
    INT ("fetcher/*/concurrency", 4, 1, 1000, false, "requests in flight at once"),
    INT ("fetcher/*/part_bars", 10000, 1, 50000, false, "bars per BARS message"),
    INT ("fetcher/*/max_refusals", 5, 0, 1000, false,
         "unusable pages before a fetch is a contract error"),
    INT ("fetcher/*/page_limit", 0, 0, 50000, false, "bars asked per page (0: the provider's most)"),
    INT ("fetcher/*/max_windows", 4096, 1, 1000000, false, "request windows one fetch may take"),
    INT ("fetcher/*/guard_ms", 50, 0, 60000, false, "margin kept inside each rate-limit window"),
    INT ("fetcher/*/auth_hold_ms", 60000, 0, S_MS_DAY, false,
         "pause after a real authorisation failure"),
    INT ("fetcher/*/connect_timeout_ms", 5000, 1, 600000, false, "TCP and TLS connect timeout"),
    INT ("fetcher/*/timeout_ms", 30000, 1, S_MS_HOUR, false, "whole-request timeout"),
    INT ("fetcher/*/max_body", 67108864, 1024, 1073741824, false, "largest answer read, bytes"),
    INT ("fetcher/*/breaker/window", 20, 1, 100000, true, "calls the breaker judges over"),
    INT ("fetcher/*/breaker/minimum_calls", 10, 1, 100000, true,
         "calls before the breaker may open (at most the window)"),
    INT ("fetcher/*/breaker/failure_rate", 50, 1, 100, true, "percent failed that opens it"),
    INT ("fetcher/*/breaker/slow_rate", 100, 1, 100, true, "percent slow that opens it"),
    INT ("fetcher/*/breaker/slow_call_ms", 10000, 1, S_MS_HOUR, true, "a slow call"),
    INT ("fetcher/*/breaker/open_ms", 30000, 1, S_MS_HOUR, true, "time open before probing"),
    INT ("fetcher/*/breaker/half_open_calls", 3, 1, 64, true, "probe calls when half open"),
    INT ("fetcher/*/breaker/probe_timeout_ms", 30000, 1, S_MS_HOUR, true,
         "longest wait for a probe's answer"),
    INT ("fetcher/*/breaker/half_open_max_ms", 60000, 1, S_MS_HOUR, true,
         "longest time half open before it opens again"),
    //  The scheduler
    OF ("scheduler/database", GL_SETTING_TEXT, "", false,
        "PostgreSQL connection (default DATABASE_URL, PG*, the private cluster)"),
    OF ("scheduler/schema", GL_SETTING_TEXT, "gapless", false, "schema of gapless's tables"),
    INT ("scheduler/lease_seconds", 120, 5, 86400, false, "lease of a dispatched slice"),
    INT ("scheduler/dispatch_ms", 200, 10, 60000, false, "dispatch timer"),
    INT ("scheduler/rescue_ms", 5000, 100, 600000, false, "rescue and lease-extension timer"),
    INT ("scheduler/periodic_ms", 1000, 10, 600000, false,
         "how often due definitions and watchlist arrivals are looked for"),
    INT ("scheduler/not_now_ms", 1000, 0, 600000, true, "wait after a \"not now\""),
    INT ("scheduler/claim_max", 500, 1, 10000, true, "most slices claimed per tick"),
    INT ("scheduler/max_attempts", 5, 1, 100, true, "attempts before a slice is dead"),
    INT ("scheduler/tier_cap_t0", 20000, 0, 2147483647, true, "runnable T0 slices; 0: no cap"),
    INT ("scheduler/tier_cap_t1", 20000, 0, 2147483647, true, "runnable T1 slices; 0: no cap"),
    INT ("scheduler/tier_cap_t2", 40000, 0, 2147483647, true, "runnable T2 slices; 0: no cap"),
    INT ("scheduler/horizon_seconds", 10, 1, 86400, true,
         "seconds of a provider's rate it may hold in flight (at most half a lease)"),
    INT ("scheduler/live_priority", 30, -100, 100, true, "priority from which a slice is live work"),
    INT ("scheduler/live_share", 20, 0, 90, true,
         "percent of each provider's capacity kept for live work while some waits or runs"),
    OF ("scheduler/route/*", GL_SETTING_ROUTE, "", true,
        "routing order of a timeframe (default 1m-4h polygon,alpaca; 1d 1w yahoo,polygon,tradier)"),
    CHOICE ("scheduler/slice/*", "session week month year", "", false,
        "slice unit of a timeframe (default 1m session, 5m-30m week, 1h 4h month, 1d 1w year)"),
    //  The writer
    OF ("writer/database", GL_SETTING_TEXT, "", false, "PostgreSQL connection, as the scheduler's"),
    OF ("writer/schema", GL_SETTING_TEXT, "gapless", false, "schema of gapless's tables"),
    INT ("writer/credit", 32, 1, 10000, false, "BARS messages the writer holds at once"),
    INT ("writer/batch_rows", 50000, 1, 10000000, false, "rows that flush a batch"),
    INT ("writer/max_delay_ms", 100, 1, 60000, false, "longest a row waits for its batch"),
    INT ("writer/slice_max_age_ms", 600000, 1, S_MS_DAY, false,
         "longest an unfinished slice's parts are kept"),
    OF ("writer/notify", GL_SETTING_SERVICES, "scheduler,coverage,ops", false,
        "services told WRITTEN after each commit (ops, when listed, also gets batch_written)"),
    //  The ops publisher (actors/ops/README.md)
    OF ("ops/publish", GL_SETTING_ENDPOINTS, "tcp://127.0.0.1:5571", false,
        "where subscribers connect (ZeroMQ SUB; protocol/SPEC.md 11)"),
    INT ("ops/http", 9571, 0, 65535, false, "HTTP port of /metrics and /health (0: any free one)"),
    OF ("ops/http_address", GL_SETTING_TEXT, "127.0.0.1", false, "IPv4 address HTTP listens on"),
    INT ("ops/snapshot_ms", 1000, 10, 60000, false,
         "interval of progress, provider and stats snapshots and of the HTTP pages"),
    INT ("ops/stats_ms", 2000, 10, 600000, false, "interval of the queue statistics"),
    INT ("ops/slow_ms", 2000, 1, S_MS_HOUR, false,
         "a slower provider call is published and logged (fetchers read it too)"),
    INT ("ops/retain_s", 300, 0, 86400, false, "how long a finished backfill stays published"),
    INT ("ops/coalesce_ms", 100, 1, 1000, false, "commits gathered into one progress query"),
    INT ("ops/hwm", 10000, 1, 10000000, false, "messages queued per subscriber before drops"),
    INT ("ops/credit", 100, 1, 10000, false, "deliveries ops holds at once"),
    OF ("ops/follow", GL_SETTING_SERVICES, "scheduler,writer,coverage,fetcher.*", false,
        "services (or prefixes ending in .*) whose MEMBERSHIP ops follows"),
    OF ("ops/curve_secret", GL_SETTING_PATH, "", false,
        "ops' secret certificate: a publish endpoint other hosts reach is CURVE"),
    OF ("ops/curve_allow", GL_SETTING_PATH, "", false,
        "directory of the public certificates of the subscribers allowed in"),
    INT ("ops/insecure", 0, 0, 1, false, "1: plain tcp subscribers from other hosts, loudly"),
    OF ("ops/database", GL_SETTING_TEXT, "", false, "PostgreSQL connection, as the scheduler's"),
    OF ("ops/schema", GL_SETTING_TEXT, "gapless", false, "schema of gapless's tables"),
    //  The coverage tracker (actors/coverage/README.md)
    OF ("coverage/database", GL_SETTING_TEXT, "", false, "PostgreSQL connection, as the scheduler's"),
    OF ("coverage/schema", GL_SETTING_TEXT, "gapless", false, "schema of gapless's tables"),
    INT ("coverage/max_bars", 10000000, 1, 1000000000, false,
         "expected bars one GAPS request may span"),
    INT ("coverage/audit_ms", 1000, 10, S_MS_DAY, false, "continuity audit tick"),
    INT ("coverage/audit_bars", 200000, 1, 100000000, false, "expected bars audited per tick, at most"),
    INT ("coverage/flush_ms", 200, 10, 600000, false, "changed ranges written back"),
    INT ("coverage/snapshot_ms", 1000, 10, 600000, false,
         "coverage_snapshot tick: each symbol-timeframe at most once per tick"),
    INT ("coverage/slo_ms", 10000, 10, S_MS_HOUR, false, "slo event tick"),
    INT ("coverage/reload_ms", 5000, 10, S_MS_HOUR, false, "failing slices and symbols read again"),
    INT ("coverage/refill_priority", 5, -1000, 1000, false, "priority of the enqueues that refill holes"),
    INT ("coverage/reconcile_ms", 60000, 10, S_MS_DAY, false,
         "reconciliation tick: daily bars against their day's 1m aggregate"),
    INT ("coverage/reconcile_price_bp", 50, 0, 10000, false,
         "price tolerance of the reconciliation, basis points of the larger value"),
    INT ("coverage/reconcile_volume_bp", 500, 0, 10000, false,
         "volume tolerance of the reconciliation, basis points of the larger value"),
    //  gapless-sim (tools/sim/README.md): one block per provider
    INT ("sim/seed", 1, 0, 9223372036854775807, false, "seed of the fault draws"),
    OF ("sim/closures", GL_SETTING_TEXT, "", false, "extra full-day closures, YYYY-MM-DD,..."),
    OF ("sim/address", GL_SETTING_TEXT, "127.0.0.1", false, "IPv4 address every listener binds"),
    INT ("sim/*/port", 0, 0, 65535, false,
         "the provider's port, or under sim/admin the admin API's (0: any free one)"),
    CHOICE ("sim/*/status", "OK DELAYED", "OK", false, "Polygon's status field"),
    OF ("sim/*/limits", GL_SETTING_LIMITS, "", false, "the provider's rate limit"),
    OF ("sim/*/abuse", GL_SETTING_LIMITS, "", false, "refusals that get a key banned"),
    INT ("sim/*/ban_s", 60, 0, 86400, false, "length of a ban"),
    OF ("sim/*/null_rate", GL_SETTING_FRACTION, "0", false, "share of Yahoo bars sent as nulls"),
    OF ("sim/*/keys/*", GL_SETTING_TEXT, "", false, "a credential the sim accepts, by label"),
    OF ("sim/*/forbidden/*", GL_SETTING_TEXT, "", false, "a credential the sim answers 403"),
    OF ("sim/*/faults/server_error", GL_SETTING_FRACTION, "0", false, "share answered 5xx"),
    OF ("sim/*/faults/hang", GL_SETTING_FRACTION, "0", false, "share that hang"),
    INT ("sim/*/faults/hang_ms", 30000, 0, 86400000, false, "how long a hang lasts"),
    OF ("sim/*/faults/slow", GL_SETTING_FRACTION, "0", false, "share answered slowly"),
    INT ("sim/*/faults/slow_ms", 500, 0, 86400000, false, "how slow"),
    OF ("sim/*/faults/truncate", GL_SETTING_FRACTION, "0", false, "share cut short"),
    OF ("sim/*/faults/invalid_json", GL_SETTING_FRACTION, "0", false, "share of broken JSON"),
    OF ("sim/*/faults/empty", GL_SETTING_FRACTION, "0", false, "share answered empty"),
    OF ("sim/*/faults/drop", GL_SETTING_FRACTION, "0", false,
        "share whose kept-alive connection is closed without an answer"),
    OF ("sim/*/faults/rate_limited", GL_SETTING_FRACTION, "0", false,
        "share answered 429 within the limits (not counted over_limit)"),
    INT ("sim/*/faults/retry_after_s", 1, 0, 86400, false, "Retry-After of an injected 429"),
};

#define S_TABLE_SIZE (sizeof s_table / sizeof s_table [0])

const gl_setting_t *
gl_settings_table (size_t *count)
{
    *count = S_TABLE_SIZE;
    return s_table;
}

//  True if a "*" segment of a pattern may stand for this word: any label
//  after keys/ or forbidden/, a provider under fetcher/ and sim/, a
//  timeframe under scheduler/.
static bool
s_wildcard_matches (const char *pattern, const char *segment, const char *word, size_t length)
{
    char name [64];
    if (length == 0 || length >= sizeof name)
        return false;
    memcpy (name, word, length);
    name [length] = '\0';
    if (segment - pattern >= 5 && (strncmp (segment - 5, "keys/", 5) == 0
    ||  (segment - pattern >= 10 && strncmp (segment - 10, "forbidden/", 10) == 0)))
        return true;
    if (strcmp (pattern, "sim/*/port") == 0 && strcmp (name, "admin") == 0)
        return true;
    if (strncmp (pattern, "fetcher/", 8) == 0 || strncmp (pattern, "sim/", 4) == 0)
        return gl_capability_parse_name (name) != GL_PROVIDER_INVALID;
    return gl_timeframe_parse (name) != GL_TF_INVALID;
}

//  True if key matches pattern, segment by segment.
static bool
s_matches (const char *pattern, const char *key)
{
    const char *p = pattern, *k = key;
    while (*p && *k) {
        const char *p_end = strchr (p, '/'), *k_end = strchr (k, '/');
        size_t p_length = p_end? (size_t) (p_end - p): strlen (p);
        size_t k_length = k_end? (size_t) (k_end - k): strlen (k);
        bool same = p_length == 1 && *p == '*'? s_wildcard_matches (pattern, p, k, k_length)
                  : p_length == k_length && memcmp (p, k, p_length) == 0;
        if (!same || !p_end != !k_end)
            return false;
        if (!p_end)
            return true;
        p = p_end + 1;
        k = k_end + 1;
    }
    return false;
}

const gl_setting_t *
gl_settings_find (const char *key)
{
    for (size_t index = 0; key && index < S_TABLE_SIZE; index++)
        if (s_matches (s_table [index].key, key))
            return &s_table [index];
    return NULL;
}

//  What the check passes along.
typedef struct {
    gl_config_t *config;
    gl_settings_problem_fn *fn;
    void *argument;
    int problems;
    bool readable;              //  the file's mode lets others read it
} s_check_t;

//  Reports a problem.
static void
s_problem (s_check_t *check, const char *key, const char *format, const char *detail)
{
    char text [512];
    snprintf (text, sizeof text, format, detail? detail: "");
    check->problems++;
    if (check->fn)
        check->fn (key, text, check->argument);
}

//  The edit distance between two short texts (at most 127 bytes each).
static size_t
s_distance (const char *left, const char *right)
{
    size_t rows = strlen (left), columns = strlen (right);
    if (rows > 127 || columns > 127)
        return SIZE_MAX;
    size_t previous [128], current [128];
    for (size_t column = 0; column <= columns; column++)
        previous [column] = column;
    for (size_t row = 1; row <= rows; row++) {
        current [0] = row;
        for (size_t column = 1; column <= columns; column++) {
            size_t replace = previous [column - 1] + (left [row - 1] != right [column - 1]);
            size_t insert = current [column - 1] + 1, remove = previous [column] + 1;
            current [column] = replace < insert? (replace < remove? replace: remove)
                                               : (insert < remove? insert: remove);
        }
        memcpy (previous, current, (columns + 1) * sizeof (size_t));
    }
    return previous [columns];
}

//  A table key with each "*" replaced by the key's segment at that place,
//  so that fetcher/*/limts is compared as fetcher/polygon/limts.
static void
s_instantiate (const char *pattern, const char *key, char *out, size_t size)
{
    size_t used = 0;
    const char *k = key;
    for (const char *p = pattern; *p && used + 1 < size; ) {
        const char *p_end = strchr (p, '/'), *k_end = k? strchr (k, '/'): NULL;
        size_t p_length = p_end? (size_t) (p_end - p): strlen (p);
        size_t k_length = k? (k_end? (size_t) (k_end - k): strlen (k)): 0;
        bool star = p_length == 1 && *p == '*' && k_length;
        used += (size_t) snprintf (out + used, size - used, "%.*s%s", (int) (star? k_length: p_length),
                                   star? k: p, p_end? "/": "");
        p = p_end? p_end + 1: p + p_length;
        k = k && k_end? k_end + 1: NULL;
    }
}

//  The known key closest to an unknown one (a few edits away), or NULL.
static const char *
s_closest (const char *key, char *buffer, size_t size)
{
    size_t best = 4;
    const char *found = NULL;
    for (size_t index = 0; index < S_TABLE_SIZE; index++) {
        char candidate [256];
        s_instantiate (s_table [index].key, key, candidate, sizeof candidate);
        size_t distance = s_distance (candidate, key);
        if (distance < best) {
            best = distance;
            snprintf (buffer, size, "%s", candidate);
            found = buffer;
        }
    }
    return found;
}

//  Checks one comma-separated list: each item by item_ok. Returns the
//  first bad item in bad (size bytes) or "" when all are good.
static void
s_first_bad_item (const char *list, bool (*item_ok) (const char *item, const char *key),
                  const char *key, char *bad, size_t size)
{
    char *copy = strdup (list), *saveptr = NULL;
    *bad = '\0';
    for (char *item = copy? strtok_r (copy, ", ", &saveptr): NULL; item && !*bad;
         item = strtok_r (NULL, ", ", &saveptr))
        if (!item_ok (item, key))
            snprintf (bad, size, "%s", item);
    free (copy);
}

//  A ZeroMQ endpoint: transport://address.
static bool
s_endpoint_ok (const char *item, const char *key)
{
    const char *separator = strstr (item, "://");
    return separator && separator [3] && (strncmp (item, "tcp", 3) == 0
        || strncmp (item, "ipc", 3) == 0 || strncmp (item, "inproc", 6) == 0);
}

//  A service name.
static bool
s_service_ok (const char *item, const char *key)
{
    for (const char *c = item; *c; c++)
        if (!strchr ("abcdefghijklmnopqrstuvwxyz0123456789._-", *c)
        &&  !(*c == '*' && c [1] == '\0' && c > item && c [-1] == '.'))
            return false;
    return *item != '\0';
}

//  A provider that serves the timeframe of a scheduler/route/<tf> key.
static bool
s_route_ok (const char *item, const char *key)
{
    const char *timeframe = strrchr (key, '/');
    return gl_capability_routable (gl_capability_parse_name (item),
                                   gl_timeframe_parse (timeframe? timeframe + 1: ""));
}

//  True if word is one of the space-separated choices.
static bool
s_choice_ok (const char *choices, const char *word)
{
    size_t length = strlen (word);
    for (const char *c = choices; c && *c; ) {
        const char *end = strchr (c, ' ');
        size_t size = end? (size_t) (end - c): strlen (c);
        if (size == length && memcmp (c, word, size) == 0)
            return true;
        c = end? end + 1: NULL;
    }
    return false;
}

//  Checks one integer value against its entry.
static void
s_check_int (s_check_t *check, const gl_setting_t *entry, const char *key, const char *value)
{
    char *end = NULL;
    errno = 0;
    long long number = strtoll (value, &end, 10);
    if (errno || end == value || *end || number < entry->minimum || number > entry->maximum) {
        char expected [128];
        snprintf (expected, sizeof expected, "'%.40s': expected an integer from %" PRId64
                  " to %" PRId64, value, entry->minimum, entry->maximum);
        s_problem (check, key, "%s", expected);
    }
}

//  Checks one value of the file against its entry.
static void
s_check_value (s_check_t *check, const gl_setting_t *entry, const char *key, const char *value)
{
    char bad [128], reason [GL_RATELIMIT_ERROR_MAX];
    switch (entry->kind) {
        case GL_SETTING_INT:
            s_check_int (check, entry, key, value);
            break;
        case GL_SETTING_FRACTION: {
            char *end = NULL;
            double number = strtod (value, &end);
            if (end == value || *end || !(number >= 0 && number <= 1))
                s_problem (check, key, "'%s': expected a fraction from 0 to 1", value);
            break;
        }
        case GL_SETTING_SECRET:
            if (check->readable)
                s_problem (check, key, "a credential written in a file others may read; give it"
                           " in the environment or in %s_file (owner-only)", key);
            break;
        case GL_SETTING_LIMITS: {
            gl_ratelimit_t *limiter = gl_ratelimit_new (value, 0, reason);
            if (!limiter)
                s_problem (check, key, "%s", reason);
            gl_ratelimit_destroy (&limiter);
            break;
        }
        case GL_SETTING_CHOICE:
            if (!s_choice_ok (entry->choices, value)) {
                char expected [192];
                snprintf (expected, sizeof expected, "'%.40s': expected one of: %s", value,
                          entry->choices);
                s_problem (check, key, "%s", expected);
            }
            break;
        case GL_SETTING_ENDPOINTS:
            s_first_bad_item (value, s_endpoint_ok, key, bad, sizeof bad);
            if (*bad)
                s_problem (check, key, "'%s': expected tcp://, ipc:// or inproc:// endpoints", bad);
            break;
        case GL_SETTING_SERVICES:
            s_first_bad_item (value, s_service_ok, key, bad, sizeof bad);
            if (*bad)
                s_problem (check, key, "'%s': expected service names", bad);
            break;
        case GL_SETTING_ROUTE:
            s_first_bad_item (value, s_route_ok, key, bad, sizeof bad);
            if (*bad)
                s_problem (check, key, "'%s' is not a provider that serves this timeframe on"
                           " the grid and price basis gapless stores", bad);
            break;
        default:
            break;
    }
}

//  Checks one key of the file.
static void
s_check_key (const char *key, const char *value, void *argument)
{
    s_check_t *check = (s_check_t *) argument;
    size_t length = strlen (key);
    //  <secret>_file names the file holding a credential
    if (length > 5 && strcmp (key + length - 5, "_file") == 0) {
        char base [512];
        snprintf (base, sizeof base, "%.*s", (int) (length - 5), key);
        const gl_setting_t *entry = gl_settings_find (base);
        if (!entry || entry->kind != GL_SETTING_SECRET)
            s_problem (check, key, "unknown key (only credentials have a _file form)", NULL);
        return;
    }
    const gl_setting_t *entry = gl_settings_find (key);
    if (entry)
        s_check_value (check, entry, key, value);
    else {
        char buffer [256];
        const char *closest = s_closest (key, buffer, sizeof buffer);
        s_problem (check, key, closest? "unknown key (did you mean %s?)": "unknown key%s",
                   closest);
    }
}

//  An integer setting as the daemons read it, or its default.
static int64_t
s_number (gl_config_t *config, const char *key)
{
    const gl_setting_t *entry = gl_settings_find (key);
    const char *value = gl_config_get (config, key, entry? entry->fallback: "0");
    return strtoll (value, NULL, 10);
}

//  The keys that go together.
static void
s_check_together (s_check_t *check)
{
    static const char *const pairs [][2] = {
        { "broker/curve_secret", "broker/curve_allow" },
        { "actor/curve_secret", "actor/curve_server" },
        { "ops/curve_secret", "ops/curve_allow" },
    };
    //  in the file: the environment may give one of a pair to every process
    //  of a host and the other to each (a broker ignores the actor's pair)
    for (size_t index = 0; index < sizeof pairs / sizeof pairs [0]; index++) {
        bool first = gl_config_line (check->config, pairs [index][0]) != 0;
        bool second = gl_config_line (check->config, pairs [index][1]) != 0;
        if (first != second)
            s_problem (check, pairs [index][first? 1: 0], "goes together with %s",
                       pairs [index][first? 0: 1]);
    }
    char reason [GL_CONFIG_ERROR_MAX];
    if (gl_capability_check (check->config, reason) == -1)
        s_problem (check, "bars", "%s", reason);
    for (int provider = 1; provider <= GL_PROVIDER_COUNT; provider++) {
        char window [96], minimum [96];
        const char *name = gl_capability_name ((gl_provider_t) provider);
        snprintf (window, sizeof window, "fetcher/%s/breaker/window", name);
        snprintf (minimum, sizeof minimum, "fetcher/%s/breaker/minimum_calls", name);
        if (s_number (check->config, minimum) > s_number (check->config, window))
            s_problem (check, minimum, "must be at most %s", window);
    }
}

int
gl_settings_check (gl_config_t *config, gl_settings_problem_fn *fn, void *argument)
{
    s_check_t check = { .config = config, .fn = fn, .argument = argument };
    struct stat info;
    const char *path = gl_config_path (config);
    check.readable = path && stat (path, &info) == 0 && (info.st_mode & (S_IRWXG | S_IRWXO));
    gl_config_each (config, s_check_key, &check);
    s_check_together (&check);
    return check.problems;
}

//  What the check at a daemon's start passes along.
typedef struct {
    gl_config_t *config;
    const char *program;
} s_start_t;

//  Prints one problem found at a daemon's start, with the key's line when
//  the file gives it.
static void
s_print_start_problem (const char *key, const char *problem, void *argument)
{
    s_start_t *start = (s_start_t *) argument;
    const char *path = gl_config_path (start->config);
    int line = gl_config_line (start->config, key);
    char place [300] = "";
    if (path && line)
        snprintf (place, sizeof place, "%.280s:%d: ", path, line);
    else
    if (strncmp (problem, "config: ", 8) == 0)
        key = NULL;         //  a reason that names its keys (the bar policy), from anywhere
    else
    if (path)
        snprintf (place, sizeof place, "%.280s: ", path);
    fprintf (stderr, "gapless-%s: %s%s%s%s\n", start->program, place, key? key: "",
             key? ": ": "", problem);
}

int
gl_settings_check_start (gl_config_t *config, const char *program)
{
    s_start_t start = { config, program };
    int problems = gl_settings_check (config, s_print_start_problem, &start);
    if (problems)
        fprintf (stderr, "gapless-%s: %d problem%s in the configuration: not started\n",
                 program, problems, problems == 1? "": "s");
    return problems;
}

//  Logs one problem of a reload, with the key's line when the file gives it.
static void
s_log_refused (const char *key, const char *problem, void *argument)
{
    gl_config_t *config = (gl_config_t *) argument;
    gl_log_warn ("config_reload_refused", "file=%s line=%d key=%s problem=%s",
                 GL_LOG_VALUE (gl_config_path (config)), gl_config_line (config, key),
                 GL_LOG_VALUE (key), GL_LOG_VALUE (problem));
}

//  What a diff passes along.
typedef struct {
    gl_config_t *other;
    bool removed;               //  walking the old file for keys the new one lacks
    size_t live, restart;
} s_diff_t;

//  Logs a key whose value differs between the two files.
static void
s_diff_key (const char *key, const char *value, void *argument)
{
    s_diff_t *diff = (s_diff_t *) argument;
    const char *other = gl_config_get (diff->other, key, NULL);
    if (other && (diff->removed || strcmp (other, value) == 0))
        return;             //  the same, or changed (seen from the new file)
    const gl_setting_t *entry = gl_settings_find (key);
    if (entry && entry->live) {
        diff->live++;
        gl_log_info ("config_reloaded", "key=%s", GL_LOG_VALUE (key));
    }
    else {
        diff->restart++;
        gl_log_warn ("config_restart_needed", "key=%s reason=\"read only at start: restart the"
                     " process to apply it\"", GL_LOG_VALUE (key));
    }
}

gl_config_t *
gl_settings_reload (gl_config_t *running)
{
    const char *path = gl_config_path (running);
    char error [GL_CONFIG_ERROR_MAX];
    gl_config_t *fresh = path? gl_config_load (path, error): NULL;
    if (!fresh) {
        gl_log_warn ("config_reload_refused", "file=%s problem=%s", GL_LOG_VALUE (path),
                     GL_LOG_VALUE (path? error: "the process was started without --config"));
        return NULL;
    }
    int problems = gl_config_inherit (fresh, running) == 0? 0: 1;
    problems += gl_settings_check (fresh, s_log_refused, fresh);
    if (problems) {
        gl_log_warn ("config_reload_refused", "file=%s problems=%d reason=\"the running"
                     " configuration stays\"", GL_LOG_VALUE (path), problems);
        gl_config_destroy (&fresh);
        return NULL;
    }
    s_diff_t diff = { .other = running };
    gl_config_each (fresh, s_diff_key, &diff);      //  changed and added keys
    s_diff_t removed = { .other = fresh, .removed = true };
    gl_config_each (running, s_diff_key, &removed); //  keys the new file dropped
    gl_log_info ("config_reload_done", "file=%s live=%zu restart_needed=%zu",
                 GL_LOG_VALUE (path), diff.live + removed.live, diff.restart + removed.restart);
    return fresh;
}

void
gl_settings_on_reload (gl_actor_t *actor, void *argument)
{
    gl_config_t *fresh = gl_settings_reload ((gl_config_t *) argument);
    char error [GL_CONFIG_ERROR_MAX];
    if (fresh)
        gl_actor_log_level (fresh, error);
    gl_config_destroy (&fresh);
}

//  The kind's name in the reference.
static const char *
s_kind_name (const gl_setting_t *entry)
{
    switch (entry->kind) {
        case GL_SETTING_INT:       return "integer";
        case GL_SETTING_TEXT:      return "text";
        case GL_SETTING_ENDPOINTS: return "endpoints";
        case GL_SETTING_PATH:      return "path";
        case GL_SETTING_SECRET:    return "secret";
        case GL_SETTING_LIMITS:    return "limits";
        case GL_SETTING_ROUTE:     return "providers";
        case GL_SETTING_SERVICES:  return "services";
        case GL_SETTING_FRACTION:  return "fraction";
        case GL_SETTING_CHOICE:    return entry->choices;
        default:                   return "?";
    }
}

void
gl_settings_reference (FILE *out)
{
    fprintf (out,
        "# Configuration reference\n\n"
        "Generated by `gapless config reference` from the table in\n"
        "`actors/lib/gl_settings.c`; a test keeps this file equal to it, and\n"
        "checks that every key the code reads is in the table with the same\n"
        "default and range. The format is ZPL (`config/gapless.cfg`); every key\n"
        "can be given in the environment as `GAPLESS_<KEY>` (upper case, `/` as\n"
        "`_`). `*` stands for a provider (`polygon yahoo tradier finnhub alpaca`)\n"
        "under `fetcher/`, for a timeframe (`1m 5m 15m 30m 1h 4h 1d 1w`) under\n"
        "`scheduler/`. *live*: a running daemon takes a new value on SIGHUP;\n"
        "the others need a restart. `gapless config check FILE` validates a file.\n\n"
        "| key | kind | default | range | live | meaning |\n"
        "|---|---|---|---|---|---|\n");
    for (size_t index = 0; index < S_TABLE_SIZE; index++) {
        const gl_setting_t *entry = &s_table [index];
        char range [64] = "";
        if (entry->kind == GL_SETTING_INT)
            snprintf (range, sizeof range, "%" PRId64 " to %" PRId64, entry->minimum,
                      entry->maximum);
        fprintf (out, "| `%s` | %s | %s%s%s | %s | %s | %s |\n", entry->key, s_kind_name (entry),
                 *entry->fallback? "`": "", entry->fallback, *entry->fallback? "`": "", range,
                 entry->live? "yes": "", entry->meaning);
    }
}
