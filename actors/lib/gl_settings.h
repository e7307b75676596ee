/*  gl_settings — every configuration key gapless reads: its kind,
    default, range, whether a running daemon takes a new value on SIGHUP,
    and what it means; and the check of a whole configuration against it.

    The table is the reference (`gapless config reference` prints it as
    config/REFERENCE.md, which a test keeps equal), and a test reads the
    sources to check that every key the code reads is here with the same
    default and range, so the two cannot drift apart.

    `gapless config check FILE` and every daemon's SIGHUP run
    gl_settings_check: each key of the file must be known (a typo is an
    error that names the closest key), of its kind and in range, and the
    keys that go together must agree (a CURVE pair, a breaker's minimum
    calls within its window, routes that name providers serving the
    timeframe). It reports every problem, not only the first.
*/
#ifndef GL_SETTINGS_H_INCLUDED
#define GL_SETTINGS_H_INCLUDED

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include "gl_actor.h"
#include "gl_config.h"

typedef enum {
    GL_SETTING_INT = 1,         //  an integer in [minimum, maximum]
    GL_SETTING_TEXT,            //  any text
    GL_SETTING_ENDPOINTS,       //  ZeroMQ endpoints, comma-separated
    GL_SETTING_PATH,            //  a file or directory
    GL_SETTING_SECRET,          //  a credential: environment or <key>_file only
    GL_SETTING_LIMITS,          //  rate-limit rules, "N/window[,N/window]"
    GL_SETTING_ROUTE,           //  providers, comma-separated, that serve the timeframe
    GL_SETTING_SERVICES,        //  service names, comma-separated
    GL_SETTING_CHOICE,          //  one of the words in choices
    GL_SETTING_FRACTION,        //  a number from 0 to 1
} gl_setting_kind_t;

typedef struct {
    //  The key; a segment "*" stands for a provider (fetcher/*/limits,
    //  sim/*/port), a timeframe (scheduler/route/*), or any label after
    //  keys/ and forbidden/.
    const char *key;
    gl_setting_kind_t kind;
    const char *fallback;       //  the default, as text ("" none)
    int64_t minimum, maximum;   //  GL_SETTING_INT
    const char *choices;        //  GL_SETTING_CHOICE: "a b c"
    bool live;                  //  a running daemon takes a new value on SIGHUP
    const char *meaning;
} gl_setting_t;

//  The table, and its size.
const gl_setting_t *gl_settings_table (size_t *count);

//  The entry for a key ("fetcher/polygon/limits" finds fetcher/*/limits),
//  or NULL.
const gl_setting_t *gl_settings_find (const char *key);

//  Called for each problem found, with the key and what is wrong.
typedef void (gl_settings_problem_fn) (const char *key, const char *problem, void *argument);

//  Checks every key of the configuration's file and the keys that go
//  together. Returns the number of problems (0: valid).
int gl_settings_check (gl_config_t *config, gl_settings_problem_fn *fn, void *argument);

//  At a daemon's start, the configuration it is to run on checked as
//  `gapless config check` does: each problem printed to stderr as
//  "gapless-PROGRAM: FILE:LINE: KEY: what is wrong". Returns the number of
//  problems; the daemon refuses to start on any (a key misspelled would
//  otherwise be ignored, its default silently in force).
int gl_settings_check_start (gl_config_t *config, const char *program);

//  Loads the running configuration's file again (SIGHUP), with the values
//  the program set (flags) kept. Every problem is logged as
//  config_reload_refused with its key, and then NULL is returned: the
//  running configuration stays. Otherwise each changed key is logged,
//  config_reloaded for a live one and config_restart_needed for the
//  others, and the new configuration is returned for the caller to apply
//  its live keys from and keep. Caller owns return value.
gl_config_t *gl_settings_reload (gl_config_t *running);

//  A reload callback (gl_actor_on_reload) for a daemon whose one live key
//  is log/level; argument is its running configuration, which stays (its
//  other keys wait for a restart, and each SIGHUP says so again).
void gl_settings_on_reload (gl_actor_t *actor, void *argument);

//  Prints the table as a Markdown reference.
void gl_settings_reference (FILE *out);

#endif
