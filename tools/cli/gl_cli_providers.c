/*  gl_cli_providers — providers' health from the ops publication.  */
#include "gl_cli_providers.h"
#include "gl_cli_subscribe.h"
#include <czmq.h>

#define S_PROVIDERS_MAX 8

void
gl_cli_provider_read (const msgpack_object *map, gl_cli_provider_t *provider)
{
    const msgpack_object *limit = gl_cli_value (map, "rate_limit");
    *provider = (gl_cli_provider_t) {
        .health = gl_cli_float (map, "health", 0),
        .used_per_s = gl_cli_float (limit, "used_per_s", 0),
        .limit_per_s = gl_cli_float (limit, "limit_per_s", 0),
        .use = gl_cli_float (limit, "use", 0),
        .over_limit = gl_cli_int (limit, "over_limit_total", 0),
        .instances = gl_cli_int (map, "instances", 0),
        .in_flight = gl_cli_int (map, "in_flight", 0),
        .in_flight_slices = gl_cli_int (map, "in_flight_slices", 0),
        .requests = gl_cli_int (map, "requests_total", 0),
        .failures = gl_cli_int (map, "failures_total", 0),
        .bans = gl_cli_int (map, "bans_total", 0),
        .banned_until_ms = gl_cli_int (map, "banned_until_ms", 0),
    };
    gl_cli_str (map, "provider", provider->name, sizeof provider->name);
    gl_cli_str (map, "breaker", provider->breaker, sizeof provider->breaker);
}

const char *
gl_cli_provider_header (void)
{
    return "PROVIDER HEALTH BREAKER   LIMIT USE           INST FLIGHT REQUESTS  OVER  BANS";
}

void
gl_cli_provider_line (const gl_cli_provider_t *provider, char *buffer, size_t size)
{
    char use [32];
    if (provider->limit_per_s > 0)
        snprintf (use, sizeof use, "%.1f/%.1f/s %3.0f%%", provider->used_per_s,
                  provider->limit_per_s, provider->use * 100);
    else
        snprintf (use, sizeof use, "%.1f/s no limit", provider->used_per_s);
    snprintf (buffer, size, "%-8s %6.2f %-9s %-19.19s %4" PRId64 " %6" PRId64 " %8" PRId64
              " %5" PRId64 " %5" PRId64, provider->name, provider->health, provider->breaker, use,
              provider->instances, provider->in_flight, provider->requests, provider->over_limit,
              provider->bans);
}

//  Keeps a map as JSON text in *text (replacing what was there).
static void
s_keep_json (char **text, const msgpack_object *map)
{
    size_t size = 0;
    free (*text);
    *text = NULL;
    FILE *out = open_memstream (text, &size);
    if (out) {
        gl_cli_print_json (out, map);
        fclose (out);
    }
}

//  Takes one message into the snapshot.
static void
s_snapshot_take (gl_cli_snapshot_t *snapshot, const char *topic, const msgpack_object *map)
{
    if (strcmp (topic, "stats") == 0) {
        s_keep_json (&snapshot->stats_json, map);
        return;
    }
    if (strncmp (topic, "progress.", 9) == 0) {
        int64_t id = gl_cli_int (map, "backfill_id", 0);
        size_t index = 0;
        while (index < snapshot->backfill_count && snapshot->backfill_ids [index] != id)
            index++;
        if (index == GL_CLI_SNAPSHOT_BACKFILLS)
            return;
        snapshot->backfill_count += index == snapshot->backfill_count;
        snapshot->backfill_ids [index] = id;
        s_keep_json (&snapshot->backfill_json [index], map);
        return;
    }
    gl_cli_provider_t provider;
    gl_cli_provider_read (map, &provider);
    size_t index = 0;
    while (index < snapshot->provider_count && strcmp (snapshot->providers [index].name, provider.name))
        index++;
    if (index == S_PROVIDERS_MAX)
        return;
    snapshot->provider_count += index == snapshot->provider_count;
    snapshot->providers [index] = provider;
    s_keep_json (&snapshot->provider_json [index], map);
}

int
gl_cli_snapshot_read (const char *command, const char *endpoint, int64_t timeout_ms,
                      bool backfills, gl_cli_snapshot_t *snapshot)
{
    *snapshot = (gl_cli_snapshot_t) { .provider_count = 0 };
    const char *topics [] = { "provider.", "stats", backfills? "progress.": NULL, NULL };
    gl_cli_subscribe_t *subscribe = gl_cli_subscribe_new (endpoint, topics);
    if (!subscribe)
        return -1;
    char topic [256];
    const msgpack_object *map = NULL;
    int64_t deadline = zclock_mono () + timeout_ms;
    while (!snapshot->stats_json && zclock_mono () < deadline
       &&  gl_cli_subscribe_recv (subscribe, deadline - zclock_mono (), topic, sizeof topic,
                                  &map) == 1)
        s_snapshot_take (snapshot, topic, map);
    gl_cli_subscribe_destroy (&subscribe);
    if (snapshot->stats_json)
        return 0;
    fprintf (stderr, "gapless %s: no answer from ops at %s within %" PRId64 " ms"
             " (is gapless-ops running there?)\n", command, endpoint, timeout_ms);
    gl_cli_snapshot_free (snapshot);
    return -1;
}

//  Prints a list of JSON texts as an array.
static void
s_print_array (char *const *texts, size_t count)
{
    printf ("[");
    for (size_t index = 0, printed = 0; index < count; index++)
        if (texts [index])
            printf ("%s%s", printed++? ", ": "", texts [index]);
    printf ("]");
}

void
gl_cli_snapshot_print_json (const gl_cli_snapshot_t *snapshot, bool backfills)
{
    printf ("{");
    if (backfills) {
        printf ("\"backfills\": ");
        s_print_array (snapshot->backfill_json, snapshot->backfill_count);
        printf (", ");
    }
    printf ("\"providers\": ");
    s_print_array (snapshot->provider_json, snapshot->provider_count);
    printf (", \"stats\": %s}\n", snapshot->stats_json? snapshot->stats_json: "null");
}

void
gl_cli_snapshot_free (gl_cli_snapshot_t *snapshot)
{
    for (size_t index = 0; index < snapshot->provider_count; index++)
        free (snapshot->provider_json [index]);
    for (size_t index = 0; index < snapshot->backfill_count; index++)
        free (snapshot->backfill_json [index]);
    free (snapshot->stats_json);
    *snapshot = (gl_cli_snapshot_t) { .provider_count = 0 };
}

static const char *s_help =
    "usage: gapless providers [--json] [--ops ENDPOINT] [--timeout-ms N]\n"
    "\n"
    "Each provider as ops sees it: the health score H (0 to 1) that routing\n"
    "ranks by, its circuit breaker, requests per second against the tightest\n"
    "configured limit, live fetcher instances, requests in flight, requests\n"
    "sent, over-limit answers and bans.\n"
    "\n"
    "  --ops ENDPOINT     ops' publisher (default: $GAPLESS_OPS_PUBLISH, else\n"
    "                     tcp://127.0.0.1:5571)\n"
    "  --timeout-ms N     how long to wait for ops (default 5000)\n"
    "  --json             print {\"providers\": [...], \"stats\": {...}}\n"
    "  -h, --help         show this help\n"
    "\nExit status: 0 done, 1 no answer from ops, 2 bad arguments.\n";

int
gl_cli_providers (int argc, char **argv)
{
    const char *endpoint = NULL;
    int64_t timeout_ms = 0;
    bool json = false;
    int status = gl_cli_subscribe_options ("providers", s_help, argc, argv, &endpoint, &timeout_ms,
                                           &json);
    if (status != -1)
        return status;
    gl_cli_snapshot_t snapshot;
    if (gl_cli_snapshot_read ("providers", endpoint, timeout_ms, false, &snapshot) != 0)
        return 1;
    if (json)
        gl_cli_snapshot_print_json (&snapshot, false);
    else {
        printf ("%s\n", gl_cli_provider_header ());
        for (size_t index = 0; index < snapshot.provider_count; index++) {
            char line [160];
            gl_cli_provider_line (&snapshot.providers [index], line, sizeof line);
            printf ("%s\n", line);
        }
    }
    gl_cli_snapshot_free (&snapshot);
    return 0;
}
