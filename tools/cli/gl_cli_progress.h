/*  gl_cli_progress — gapless enqueue --wait: follows a backfill on the
    ops publication until it is done.

    On a terminal, one line redrawn in place: a bar, slices, bars, rate,
    ETA and failures. Piped, or with --no-progress, one plain line every
    few seconds. At the end a summary: bars stored (per provider),
    retries, dead letters, wall time. The exit status is 0 only when every
    slice succeeded.
*/
#ifndef GL_CLI_PROGRESS_H_INCLUDED
#define GL_CLI_PROGRESS_H_INCLUDED

#include <stdbool.h>
#include <stdint.h>

typedef struct {
    const char *endpoint;       //  ops' publisher
    bool progress;              //  false: --no-progress (plain lines even on a terminal)
    bool json;                  //  the final progress as one JSON object instead
    int64_t silence_ms;         //  give up when ops says nothing for this long
    int64_t interval_ms;        //  between plain lines
} gl_cli_progress_options_t;

//  Fills the defaults: the default endpoint, progress on, 15 s of
//  silence, a plain line every 5 s.
gl_cli_progress_options_t gl_cli_progress_defaults (void);

//  Follows backfill_id until it is done. Returns 0 when every slice
//  succeeded, 1 otherwise (failed, cancelled, ops silent, interrupted).
int gl_cli_progress_wait (uint64_t backfill_id, const gl_cli_progress_options_t *options);

#endif
