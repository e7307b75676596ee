/*  gl_config — ZPL configuration with environment overrides. */
#include "gl_config.h"
#include <czmq.h>
#include <ctype.h>
#include <errno.h>
#include <sys/stat.h>

struct _gl_config_t {
    zconfig_t *root;
    zhashx_t *environment;      //  path -> value read from the environment
};

gl_config_t *
gl_config_load (const char *path, char *error)
{
    gl_config_t *self = (gl_config_t *) zmalloc (sizeof (gl_config_t));
    if (path) {
        if (access (path, R_OK) != 0) {
            snprintf (error, GL_CONFIG_ERROR_MAX, "config: cannot read %s: %s",
                      path, strerror (errno));
            free (self);
            return NULL;
        }
        //  zconfig_load leaks its zfile when the text does not parse, so
        //  the file is read here and parsed from memory.
        zchunk_t *chunk = zchunk_slurp (path, 0);
        self->root = chunk? zconfig_chunk_load (chunk): NULL;
        zchunk_destroy (&chunk);
        if (!self->root) {
            snprintf (error, GL_CONFIG_ERROR_MAX,
                      "config: %s is not valid ZPL (see the line reported above)", path);
            free (self);
            return NULL;
        }
    }
    else
        self->root = zconfig_new ("root", NULL);
    self->environment = zhashx_new ();
    return self;
}

void
gl_config_destroy (gl_config_t **self_p)
{
    if (self_p && *self_p) {
        gl_config_t *self = *self_p;
        zconfig_destroy (&self->root);
        zhashx_destroy (&self->environment);
        free (self);
        *self_p = NULL;
    }
}

//  Builds GAPLESS_<PATH> for a key path.
static void
s_environment_name (const char *path, const char *suffix, char *name, size_t size)
{
    size_t length = (size_t) snprintf (name, size, "GAPLESS_%s%s", path, suffix);
    for (size_t index = 8; index < length && index < size; index++) {
        char c = name [index];
        name [index] = (c == '/' || c == '.' || c == '-')? '_': (char) toupper ((unsigned char) c);
    }
}

const char *
gl_config_get (gl_config_t *self, const char *path, const char *default_value)
{
    char name [256];
    s_environment_name (path, "", name, sizeof (name));
    const char *value = getenv (name);
    if (value)
        return value;
    value = zconfig_get (self->root, path, NULL);
    return value? value: default_value;
}

int
gl_config_set (gl_config_t *self, const char *path, const char *value)
{
    zconfig_put (self->root, path, value);
    return zconfig_get (self->root, path, NULL)? 0: -1;
}

int
gl_config_int (gl_config_t *self, const char *path, int64_t default_value,
               int64_t minimum, int64_t maximum, int64_t *value_p, char *error)
{
    const char *text = gl_config_get (self, path, NULL);
    if (!text) {
        *value_p = default_value;
        return 0;
    }
    char *end = NULL;
    errno = 0;
    long long value = strtoll (text, &end, 10);
    if (errno || end == text || *end || value < minimum || value > maximum) {
        snprintf (error, GL_CONFIG_ERROR_MAX,
                  "config: %s = '%s': expected an integer from %lld to %lld",
                  path, text, (long long) minimum, (long long) maximum);
        return -1;
    }
    *value_p = value;
    return 0;
}

//  Reads the first line of a secret file that only its owner may read.
static int
s_read_secret_file (const char *path, const char *file, char *buffer, size_t size,
                    char *error)
{
    struct stat status;
    if (stat (file, &status) != 0) {
        snprintf (error, GL_CONFIG_ERROR_MAX, "config: %s_file = '%s': %s",
                  path, file, strerror (errno));
        return -1;
    }
    if (status.st_mode & (S_IRWXG | S_IRWXO)) {
        snprintf (error, GL_CONFIG_ERROR_MAX,
                  "config: %s_file = '%s': expected a file only its owner can read "
                  "(chmod 600), found mode %03o", path, file, status.st_mode & 0777);
        return -1;
    }
    FILE *handle = fopen (file, "r");
    if (!handle || !fgets (buffer, (int) size, handle)) {
        snprintf (error, GL_CONFIG_ERROR_MAX, "config: %s_file = '%s': cannot read it",
                  path, file);
        if (handle)
            fclose (handle);
        return -1;
    }
    fclose (handle);
    buffer [strcspn (buffer, "\r\n")] = '\0';
    return 0;
}

int
gl_config_secret (gl_config_t *self, const char *path, char *buffer, size_t size,
                  char *error)
{
    char file_key [256];
    snprintf (file_key, sizeof (file_key), "%s_file", path);
    char name [256];
    s_environment_name (path, "", name, sizeof (name));
    const char *value = getenv (name);
    const char *file = value? NULL: gl_config_get (self, file_key, NULL);
    if (file)
        return s_read_secret_file (path, file, buffer, size, error);
    if (!value)
        value = zconfig_get (self->root, path, "");
    if (strlen (value) >= size) {
        snprintf (error, GL_CONFIG_ERROR_MAX, "config: %s: expected at most %zu characters",
                  path, size - 1);
        return -1;
    }
    snprintf (buffer, size, "%s", value);
    return 0;
}
