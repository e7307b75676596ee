/*  gl_config — gapless configuration: czmq's ZPL text format (zconfig),
    with environment overrides and validation that names the key.

    A key is a ZPL path, "broker/heartbeat_ms". Its value comes from, in
    order: the environment variable GAPLESS_<PATH> (upper case, '/', '.'
    and '-' as '_': GAPLESS_BROKER_HEARTBEAT_MS), a value set by the
    program (command-line flags), the file, the default.

    Secrets (API keys) are read with gl_config_secret: from the
    environment, or from a file named by "<key>_file" that only its owner
    may read. One written inline in a configuration file that others can
    read is refused. They are never logged.
*/
#ifndef GL_CONFIG_H_INCLUDED
#define GL_CONFIG_H_INCLUDED

#include <stddef.h>
#include <stdint.h>

#define GL_CONFIG_ERROR_MAX 512

typedef struct _gl_config_t gl_config_t;

//  Loads a ZPL file; a NULL path gives an empty configuration (defaults
//  and environment only). Returns NULL with the reason in error, naming
//  the file and the line: a missing, unreadable or non-regular file, one
//  over 4 MiB or without a key, a line over 1024 bytes or with a control
//  byte (a NUL), an indentation not by 4 spaces or deeper than the key
//  above, an unclosed quote, a key without a value, a key given twice
//  (zconfig would read only the first), a name with '/'. Caller owns
//  return value.
gl_config_t *gl_config_load (const char *path, char *error);

//  Destroys the configuration and nulls the caller's pointer. Safe twice.
void gl_config_destroy (gl_config_t **self_p);

//  The value of a key, or default_value. The string lives as long as the
//  configuration (or the environment).
const char *gl_config_get (gl_config_t *self, const char *path, const char *default_value);

//  Sets a key's value (a command-line flag). Returns 0, or -1.
int gl_config_set (gl_config_t *self, const char *path, const char *value);

//  An integer key within [minimum, maximum]. Returns 0 with the value, or
//  -1 with "config: broker/heartbeat_ms = 'abc': expected an integer from
//  10 to 60000" in error.
int gl_config_int (gl_config_t *self, const char *path, int64_t default_value,
                   int64_t minimum, int64_t maximum, int64_t *value_p, char *error);

//  Calls fn for every key of the file that holds a value (not those the
//  program set, not the environment's), in file order, with its full path
//  ("fetcher/polygon/limits"). Returns how many.
typedef void (gl_config_each_fn) (const char *path, const char *value, void *argument);
size_t gl_config_each (gl_config_t *self, gl_config_each_fn *fn, void *argument);

//  The file the configuration was loaded from, or NULL.
const char *gl_config_path (gl_config_t *self);

//  The line of the file that gives a key ("broker/heartbeat_ms") or a
//  section ("broker"), from 1; 0 if the file does not give it.
int gl_config_line (gl_config_t *self, const char *path);

//  Sets in self every value the program set in from (its command-line
//  flags), so a configuration loaded again keeps them. Returns 0 or -1.
int gl_config_inherit (gl_config_t *self, gl_config_t *from);

//  A secret: GAPLESS_<PATH> from the environment, else the contents of the
//  file named by "<path>_file" (first line, which must be readable by its
//  owner only), else the file's "<path>" value. A non-empty "<path>" in a
//  configuration file whose mode lets group or others at it is refused
//  (whatever else gives the secret: it is exposed there); in an
//  owner-only file it is taken with a warning. A value set with
//  gl_config_set is the program's, not the file's. Returns 0 with the
//  secret in buffer (empty if none is configured), or -1 with the reason.
int gl_config_secret (gl_config_t *self, const char *path, char *buffer, size_t size,
                      char *error);

#endif
