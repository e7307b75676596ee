/*  gl_cli_providers — gapless providers [--json]: each provider's health
    score, breaker, rate-limit use and what is in flight, read from the
    ops publication. ops answers a new subscription with everything it
    holds, providers before stats, so the command waits for the first
    stats message and prints what came before it.
*/
#ifndef GL_CLI_PROVIDERS_H_INCLUDED
#define GL_CLI_PROVIDERS_H_INCLUDED

#include <msgpack.h>
#include <stdint.h>

//  One provider, as the last provider.<name> message said.
typedef struct {
    char name [16], breaker [16];
    double health, used_per_s, limit_per_s, use;
    int64_t instances, in_flight, in_flight_slices, requests, over_limit, failures, bans;
    int64_t banned_until_ms;
} gl_cli_provider_t;

//  Reads a provider.<name> map.
void gl_cli_provider_read (const msgpack_object *map, gl_cli_provider_t *provider);

//  Formats a provider as one table line (at most 80 columns), and the
//  header of that table.
void gl_cli_provider_line (const gl_cli_provider_t *provider, char *buffer, size_t size);
const char *gl_cli_provider_header (void);

//  What ops holds, as one subscription's answer: providers and stats,
//  and the backfills' progress when asked, each also as JSON text.
#define GL_CLI_SNAPSHOT_BACKFILLS 256
typedef struct {
    gl_cli_provider_t providers [8];
    char *provider_json [8];
    size_t provider_count;
    int64_t backfill_ids [GL_CLI_SNAPSHOT_BACKFILLS];
    char *backfill_json [GL_CLI_SNAPSHOT_BACKFILLS];
    size_t backfill_count;
    char *stats_json;           //  NULL: ops did not answer in time
} gl_cli_snapshot_t;

//  Reads one snapshot from ops at endpoint: everything that comes before
//  the first stats message, at most timeout_ms. Returns 0, or -1 (said
//  on stderr, for command) when ops did not answer.
int gl_cli_snapshot_read (const char *command, const char *endpoint, int64_t timeout_ms,
                          bool backfills, gl_cli_snapshot_t *snapshot);

//  Prints {"backfills": [...], "providers": [...], "stats": {...}}
//  (backfills only when read).
void gl_cli_snapshot_print_json (const gl_cli_snapshot_t *snapshot, bool backfills);

//  Frees the snapshot's texts.
void gl_cli_snapshot_free (gl_cli_snapshot_t *snapshot);

//  gapless providers: argv [0] is "providers". Returns the exit status:
//  0 done, 1 no answer from ops, 2 bad arguments.
int gl_cli_providers (int argc, char **argv);

#endif
