/*  gl_config — ZPL configuration with environment overrides. */
#include "gl_config.h"
#include "gl_log.h"
#include <czmq.h>
#include <ctype.h>
#include <errno.h>
#include <sys/stat.h>

//  Mode bits that let anyone but the owner at a file holding a secret.
#define S_NOT_OWNER (S_IRWXG | S_IRWXO)

struct _gl_config_t {
    zconfig_t *root;
    char *path;                 //  the file loaded, or NULL
    mode_t mode;                //  its mode when it was loaded
    zhashx_t *set;              //  paths set by the program (not from the file)
};

//  Reads and parses the file into self->root, noting its mode. Returns 0
//  or -1 with the reason in error.
static int
s_load_file (gl_config_t *self, const char *path, char *error)
{
    struct stat status;
    if (access (path, R_OK) != 0 || stat (path, &status) != 0) {
        snprintf (error, GL_CONFIG_ERROR_MAX, "config: cannot read %s: %s",
                  path, strerror (errno));
        return -1;
    }
    self->mode = status.st_mode;
    self->path = strdup (path);
    //  zconfig_load leaks its zfile when the text does not parse, so the
    //  file is read here and parsed from memory.
    zchunk_t *chunk = self->path? zchunk_slurp (path, 0): NULL;
    self->root = chunk? zconfig_chunk_load (chunk): NULL;
    zchunk_destroy (&chunk);
    if (!self->root) {
        snprintf (error, GL_CONFIG_ERROR_MAX,
                  self->path? "config: %s is not valid ZPL (see the line reported above)"
                            : "config: %s: out of memory", path);
        return -1;
    }
    return 0;
}

gl_config_t *
gl_config_load (const char *path, char *error)
{
    gl_config_t *self = (gl_config_t *) calloc (1, sizeof (gl_config_t));
    if (!self) {
        snprintf (error, GL_CONFIG_ERROR_MAX, "config: out of memory");
        return NULL;
    }
    if (path? s_load_file (self, path, error) != 0
            : !(self->root = zconfig_new ("root", NULL))) {
        if (!path)
            snprintf (error, GL_CONFIG_ERROR_MAX, "config: out of memory");
        gl_config_destroy (&self);
        return NULL;
    }
    self->set = zhashx_new ();
    if (!self->set) {
        snprintf (error, GL_CONFIG_ERROR_MAX, "config: out of memory");
        gl_config_destroy (&self);
    }
    return self;
}

void
gl_config_destroy (gl_config_t **self_p)
{
    if (self_p && *self_p) {
        gl_config_t *self = *self_p;
        zconfig_destroy (&self->root);
        zhashx_destroy (&self->set);
        free (self->path);
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

//  Walks one node's children, prefix being the node's path.
static size_t
s_each (gl_config_t *self, zconfig_t *node, const char *prefix, gl_config_each_fn *fn,
        void *argument)
{
    size_t count = 0;
    for (zconfig_t *child = zconfig_child (node); child; child = zconfig_next (child)) {
        char path [512];
        snprintf (path, sizeof path, "%s%s%s", prefix, *prefix? "/": "", zconfig_name (child));
        const char *value = zconfig_value (child);
        if (value && *value && !zhashx_lookup (self->set, path)) {
            fn (path, value, argument);
            count++;
        }
        count += s_each (self, child, path, fn, argument);
    }
    return count;
}

size_t
gl_config_each (gl_config_t *self, gl_config_each_fn *fn, void *argument)
{
    return self && fn? s_each (self, self->root, "", fn, argument): 0;
}

const char *
gl_config_path (gl_config_t *self)
{
    return self? self->path: NULL;
}

int
gl_config_inherit (gl_config_t *self, gl_config_t *from)
{
    int rc = 0;
    for (const char *path = zhashx_first (from->set); path && rc == 0;
         path = zhashx_next (from->set)) {
        const char *key = (const char *) zhashx_cursor (from->set);
        rc = gl_config_set (self, key, zconfig_get (from->root, key, ""));
    }
    return rc;
}

int
gl_config_set (gl_config_t *self, const char *path, const char *value)
{
    static char set_by_program [] = "set";
    if (!zhashx_lookup (self->set, path) && zhashx_insert (self->set, path, set_by_program) != 0)
        return -1;
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

//  Checks a secret written inline in the configuration file. The file
//  says secrets never go there, and one that others may read gives the
//  secret to them: refused, naming the key, the file and the remedy. In a
//  file only its owner can read the secret is as safe as in a <key>_file,
//  so refusing it would protect nothing and break a working set-up: it is
//  taken, with a warning that says where it should go. Returns 0 or -1.
static int
s_check_inline_secret (gl_config_t *self, const char *path, char *error)
{
    const char *inline_value = zconfig_get (self->root, path, NULL);
    if (!self->path || !inline_value || !*inline_value || zhashx_lookup (self->set, path))
        return 0;
    if (self->mode & S_NOT_OWNER) {
        snprintf (error, GL_CONFIG_ERROR_MAX,
                  "config: %s is a secret written in %s, which others can read "
                  "(mode %03o): remove it and give it in the environment "
                  "(GAPLESS_<KEY>) or in %s_file, a file of mode 0600",
                  path, self->path, (unsigned) (self->mode & 0777), path);
        return -1;
    }
    gl_log_warn ("config_inline_secret", "key=%s file=%s reason=\"secrets belong in the "
                 "environment or a <key>_file of mode 0600, not the configuration\"",
                 path, GL_LOG_VALUE (self->path));
    return 0;
}

int
gl_config_secret (gl_config_t *self, const char *path, char *buffer, size_t size,
                  char *error)
{
    if (s_check_inline_secret (self, path, error) != 0)
        return -1;
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
