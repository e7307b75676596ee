/*  gl_config — ZPL configuration with environment overrides. */
#include "gl_config.h"
#include "gl_log.h"
#include <czmq.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <sys/stat.h>

//  Mode bits that let anyone but the owner at a file holding a secret.
#define S_NOT_OWNER (S_IRWXG | S_IRWXO)
//  zconfig cuts a longer line, and then reads past the end of the text.
#define S_LINE_MAX 1024
#define S_FILE_MAX (4 * 1024 * 1024)
#define S_DEPTH_MAX 8
#define S_PATH_MAX 256

struct _gl_config_t {
    zconfig_t *root;
    char *path;                 //  the file loaded, or NULL
    mode_t mode;                //  its mode when it was loaded
    zhashx_t *set;              //  paths set by the program (not from the file)
    zhashx_t *lines;            //  each path of the file: its line number
};

//  The scan of a file's text, line by line, before zconfig parses it.
typedef struct {
    gl_config_t *config;
    char *error;
    int line;                   //  the line being read, from 1
    int level;                  //  the last key's depth, -1 before the first
    char paths [S_DEPTH_MAX][S_PATH_MAX];   //  the last key's path at each depth
    bool valued [S_DEPTH_MAX];              //  whether that key has a value
    int section_line;           //  a key alone on its line, waiting for keys under it
    int keys;
} s_scan_t;

//  Reports a problem of a line (0: of the whole file), after the file's
//  name and the line's number. Returns -1.
static int
s_scan_error (s_scan_t *scan, int line, bool syntax, const char *format, ...)
    __attribute__ ((format (printf, 4, 5)));
static int
s_scan_error (s_scan_t *scan, int line, bool syntax, const char *format, ...)
{
    char place [16] = "";
    if (line)
        snprintf (place, sizeof place, ":%d", line);
    int used = snprintf (scan->error, GL_CONFIG_ERROR_MAX, "config: %.200s%s%s ",
                         scan->config->path, place, syntax? " is not valid ZPL:": ":");
    va_list arguments;
    va_start (arguments, format);
    vsnprintf (scan->error + used, GL_CONFIG_ERROR_MAX - (size_t) used, format, arguments);
    va_end (arguments);
    return -1;
}

//  A key alone on its line must have keys under it. Returns 0 or -1.
static int
s_scan_close_section (s_scan_t *scan, int level)
{
    if (!scan->section_line || level > scan->level)
        return 0;
    return s_scan_error (scan, scan->section_line, false, "%s has no value (expected KEY = VALUE,"
                         " or keys indented by 4 more spaces under it)",
                         scan->paths [scan->level]);
}

//  True for a byte zconfig takes in a name.
static bool
s_name_byte (char c)
{
    return isalnum ((unsigned char) c) || (c && strchr ("$-_@.&+/", c));
}

//  Checks the value after a name: = VALUE, = "VALUE", or nothing. Sets
//  *valued. Returns 0 or -1.
static int
s_scan_value (s_scan_t *scan, const char *rest, const char *path, bool *valued)
{
    while (*rest == ' ' || *rest == '\t')
        rest++;
    *valued = *rest == '=';
    if (!*valued) {
        if (*rest && *rest != '#')
            return s_scan_error (scan, scan->line, true, "expected KEY = VALUE, got '%.80s'",
                                 rest);
        return 0;
    }
    for (rest++; *rest == ' ' || *rest == '\t'; rest++)
        ;
    if (*rest == '"' || *rest == '\'') {
        const char *close = strchr (rest + 1, *rest);
        if (!close)
            return s_scan_error (scan, scan->line, true, "the quote %.1s is never closed (a value"
                                 " does not go on to the next line)", rest);
        for (close++; *close == ' ' || *close == '\t'; close++)
            ;
        if (*close && *close != '#')
            return s_scan_error (scan, scan->line, true, "text after the closing quote: '%.80s'",
                                 close);
        return 0;
    }
    if (!*rest || *rest == '#')
        return s_scan_error (scan, scan->line, false, "%s has no value after '=' (write \"\""
                             " for an empty one)", path);
    return 0;
}

//  Checks the bytes of one line: no NUL, no control byte, not too long.
//  Returns 0 or -1.
static int
s_scan_bytes (s_scan_t *scan, const char *text, size_t length)
{
    if (length > S_LINE_MAX)
        return s_scan_error (scan, scan->line, true, "the line is %zu bytes long, more than the"
                             " %d ZPL reads", length, S_LINE_MAX);
    for (size_t index = 0; index < length; index++) {
        unsigned char c = (unsigned char) text [index];
        if (c < 0x20 && c != '\t' && !(c == '\r' && index == length - 1))
            return s_scan_error (scan, scan->line, true, "the control byte 0x%02x (is it a"
                                 " binary file?)", c);
    }
    return 0;
}

//  Checks one key line: its depth, its name, its value, that it is new.
//  Returns 0 or -1.
static int
s_scan_key (s_scan_t *scan, int level, const char *name, size_t length, const char *rest)
{
    if (level > scan->level + 1 || level >= S_DEPTH_MAX)
        return s_scan_error (scan, scan->line, true, "indented deeper than the key above it"
                             " (%s)", scan->level >= 0? scan->paths [scan->level]: "none");
    if (level > 0 && scan->valued [level - 1])
        return s_scan_error (scan, scan->line, false, "indented under %s, which has a value",
                             scan->paths [level - 1]);
    char path [S_PATH_MAX];
    if ((size_t) snprintf (path, sizeof path, "%s%s%.*s", level? scan->paths [level - 1]: "",
                           level? "/": "", (int) length, name) >= sizeof path)
        return s_scan_error (scan, scan->line, false, "a key path longer than %d bytes",
                             S_PATH_MAX - 1);
    if (memchr (name, '/', length))
        return s_scan_error (scan, scan->line, false, "'%s': a name with '/' is never read;"
                             " write each part on its own line, indented by 4 more spaces", path);
    uintptr_t first = (uintptr_t) zhashx_lookup (scan->config->lines, path);
    if (first)
        return s_scan_error (scan, scan->line, false, "%s given again (first at line %d): only"
                             " one is read", path, (int) first);
    bool valued = false;
    if (s_scan_value (scan, rest, path, &valued) != 0)
        return -1;
    if (zhashx_insert (scan->config->lines, path, (void *) (uintptr_t) scan->line) != 0)
        return s_scan_error (scan, scan->line, false, "%s", "out of memory");
    snprintf (scan->paths [level], S_PATH_MAX, "%s", path);
    scan->valued [level] = valued;
    scan->level = level;
    scan->section_line = valued? 0: scan->line;
    scan->keys++;
    return 0;
}

//  Checks one line. Returns 0 or -1.
static int
s_scan_line (s_scan_t *scan, const char *line, size_t length)
{
    if (s_scan_bytes (scan, line, length) != 0)
        return -1;
    char text [S_LINE_MAX + 1];
    while (length && isspace ((unsigned char) line [length - 1]))
        length--;
    memcpy (text, line, length);
    text [length] = '\0';
    size_t spaces = strspn (text, " ");
    if (!text [spaces] || (spaces == 0 && text [0] == '#'))
        return 0;
    if (text [spaces] == '\t')
        return s_scan_error (scan, scan->line, true, "%s", "a tab in the indentation (ZPL"
                             " indents with 4 spaces per level)");
    if (spaces % 4)
        return s_scan_error (scan, scan->line, true, "indented by %zu spaces (ZPL indents with 4"
                             " per level)", spaces);
    const char *name = text + spaces, *end = name;
    while (s_name_byte (*end))
        end++;
    if (end == name && *name == '#')
        return 0;
    if (end == name)
        return s_scan_error (scan, scan->line, true, *name == '['? "expected a key name, got"
                             " '%.80s' (ZPL is not INI: a section is its name alone on a line,"
                             " its keys indented by 4 spaces under it)"
                             : "expected a key name, got '%.80s'", name);
    int level = (int) (spaces / 4);
    if (s_scan_close_section (scan, level) != 0)
        return -1;
    return s_scan_key (scan, level, name, (size_t) (end - name), end);
}

//  Checks the whole text as zconfig would parse it, and what zconfig lets
//  through that no daemon would read as meant: a key given twice (only
//  the first is read), a key without a value, a line it would cut or read
//  past, a name with '/'. Fills self->lines. Returns 0 or -1.
static int
s_scan (gl_config_t *self, const char *data, size_t size, char *error)
{
    s_scan_t scan = { .config = self, .error = error, .level = -1 };
    for (size_t start = 0; start < size; ) {
        const char *newline = (const char *) memchr (data + start, '\n', size - start);
        size_t length = newline? (size_t) (newline - (data + start)): size - start;
        scan.line++;
        if (s_scan_line (&scan, data + start, length) != 0)
            return -1;
        start += length + 1;
    }
    if (s_scan_close_section (&scan, 0) != 0)
        return -1;
    if (scan.keys == 0)
        return s_scan_error (&scan, 0, false, "%s", "no key at all (an empty file?): give"
                             " no --config to run on the defaults");
    return 0;
}

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
    if (!S_ISREG (status.st_mode) || status.st_size > S_FILE_MAX) {
        snprintf (error, GL_CONFIG_ERROR_MAX, "config: cannot read %s: %s", path,
                  S_ISDIR (status.st_mode)? "it is a directory, not a file"
                  : S_ISREG (status.st_mode)? "it is larger than 4 MiB": "it is not a regular file");
        return -1;
    }
    self->mode = status.st_mode;
    self->path = strdup (path);
    //  zconfig_load leaks its zfile when the text does not parse, so the
    //  file is read here and parsed from memory.
    zchunk_t *chunk = self->path? zchunk_slurp (path, S_FILE_MAX): NULL;
    if (!chunk) {
        snprintf (error, GL_CONFIG_ERROR_MAX, "config: cannot read %s: %s", path,
                  self->path? strerror (errno): "out of memory");
        return -1;
    }
    int rc = s_scan (self, (const char *) zchunk_data (chunk), zchunk_size (chunk), error);
    if (rc == 0 && !(self->root = zconfig_chunk_load (chunk))) {
        snprintf (error, GL_CONFIG_ERROR_MAX, "config: %s is not valid ZPL (see the line"
                  " reported above)", path);
        rc = -1;
    }
    zchunk_destroy (&chunk);
    return rc;
}

gl_config_t *
gl_config_load (const char *path, char *error)
{
    gl_config_t *self = (gl_config_t *) calloc (1, sizeof (gl_config_t));
    if (self && !(self->lines = zhashx_new ()))
        free (self), self = NULL;
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
        zhashx_destroy (&self->lines);
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
gl_config_line (gl_config_t *self, const char *path)
{
    return self && path? (int) (uintptr_t) zhashx_lookup (self->lines, path): 0;
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
