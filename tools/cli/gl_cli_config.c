/*  gl_cli_config — gapless config check | reference.  */
#include "gl_cli_config.h"
#include "gl_settings.h"
#include <stdio.h>
#include <string.h>

#define S_EXIT_USAGE 2

static const char *s_help =
    "usage: gapless config check FILE...\n"
    "       gapless config reference\n"
    "\n"
    "check validates configuration files as every daemon does at start and on\n"
    "SIGHUP, without running anything: each key must be one gapless knows (a\n"
    "typo names the closest known key), of its kind and in its range, and keys\n"
    "that go together must agree. The file itself must be ZPL as the daemons\n"
    "read it: indented by 4 spaces, every key with a value and given once,\n"
    "lines of at most 1024 bytes, no control bytes. Every problem is listed,\n"
    "one per line, on stderr:\n"
    "  FILE:LINE: KEY: what is wrong\n"
    "reference prints every key with its kind, default, range, whether a\n"
    "running daemon takes it on SIGHUP, and its meaning (config/REFERENCE.md).\n"
    "\n"
    "Exit status: 0 valid, 1 a file is invalid or unreadable, 2 bad arguments.\n";

//  Prints one problem of the file being checked, with the key's line
//  when the file gives it.
static void
s_print_problem (const char *key, const char *problem, void *argument)
{
    gl_config_t *config = (gl_config_t *) argument;
    int line = gl_config_line (config, key);
    if (line)
        fprintf (stderr, "%s:%d: %s: %s\n", gl_config_path (config), line, key, problem);
    else
        fprintf (stderr, "%s: %s: %s\n", gl_config_path (config), key, problem);
}

//  Checks one file. Returns its number of problems, or -1 if unreadable.
static int
s_check_file (const char *path)
{
    char error [GL_CONFIG_ERROR_MAX];
    gl_config_t *config = gl_config_load (path, error);
    if (!config) {
        //  the error names the file: "config: FILE:LINE ..."
        fprintf (stderr, "gapless config check: %s\n",
                 strncmp (error, "config: ", 8) == 0? error + 8: error);
        return -1;
    }
    int problems = gl_settings_check (config, s_print_problem, config);
    gl_config_destroy (&config);
    return problems;
}

int
gl_cli_config (int argc, char **argv)
{
    if (argc >= 2 && (strcmp (argv [1], "-h") == 0 || strcmp (argv [1], "--help") == 0)) {
        fputs (s_help, stdout);
        return 0;
    }
    if (argc == 2 && strcmp (argv [1], "reference") == 0) {
        gl_settings_reference (stdout);
        return 0;
    }
    if (argc < 3 || strcmp (argv [1], "check") != 0) {
        fprintf (stderr, "gapless config: expected check FILE... or reference\n"
                         "see: gapless config --help\n");
        return S_EXIT_USAGE;
    }
    int invalid = 0;
    for (int index = 2; index < argc; index++) {
        int problems = s_check_file (argv [index]);
        if (problems == 0)
            printf ("%s: valid\n", argv [index]);
        invalid += problems != 0;
    }
    return invalid? 1: 0;
}
