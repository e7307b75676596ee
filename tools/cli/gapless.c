/*  gapless — the command-line tool.

    gapless [--database URL] [--schema NAME] COMMAND [OPTIONS]

    Each command is one entry in s_commands: a name, a one-line summary
    and the function that runs it, with the options given before the
    command already applied; it parses its own options and --help.
    migrate talks to PostgreSQL; enqueue, status, cancel, pause, resume and
    dlq to the scheduler through the broker (gl_cli_backfill), coverage to
    the coverage tracker (gl_cli_coverage); enqueue --wait, watch and
    providers follow the ops publication (gl_cli_progress, gl_cli_watch,
    gl_cli_providers). Exit codes:
    0 done, 1 failed (database or scheduler unreachable, request refused),
    2 bad arguments.
*/
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "gl_cli_backfill.h"
#include "gl_cli_config.h"
#include "gl_curve.h"
#include "gl_cli_providers.h"
#include "gl_cli_watch.h"
#include "gl_cli_coverage.h"
#include "gl_db.h"
#include "gl_log.h"
#include "gl_migrate.h"

#define EXIT_USAGE 2

//  Options every command accepts.
typedef struct {
    const char *database;       //  NULL: DATABASE_URL, PG*, private cluster
    const char *schema;
} common_t;

typedef struct {
    const char *name;
    const char *summary;
    int (*run) (common_t *common, int argc, char **argv);
} command_t;

#define COMMON_HELP \
    "  --database URL   PostgreSQL connection string (default: DATABASE_URL, then\n" \
    "                   the PG* variables, then the private cluster of tools/pg.sh)\n" \
    "  --schema NAME    schema holding gapless's tables (default: gapless)\n" \
    "  -h, --help       show this help\n"

//  Long options shared by every command; a command appends its own.
#define COMMON_OPTIONS \
    { "database", required_argument, NULL, 'd' }, \
    { "schema", required_argument, NULL, 's' }, \
    { "help", no_argument, NULL, 'h' }

static const char *s_migrate_help =
    "usage: gapless migrate [--status] [--migrations DIR] [--database URL] [--schema NAME]\n"
    "\n"
    "Applies the pending migrations (NNNN_name.sql) in order, each in one\n"
    "transaction, and records them in <schema>.schema_migrations. Running it\n"
    "again applies nothing. A migration changed after it was applied is\n"
    "refused, naming the file and both checksums.\n"
    "\n"
    "  --status         list every migration as applied, pending, changed or\n"
    "                   missing, and change nothing\n"
    "  --migrations DIR where the migration files are (default: $GL_MIGRATIONS_DIR,\n"
    "                   else the migrations built into gapless)\n"
    COMMON_HELP
    "\n"
    "Exit status: 0 done, 1 the database failed or a migration was refused,\n"
    "2 bad arguments.\n";

//  Prints a usage error for a command and returns the usage exit code.
static int
s_usage_error (const char *command, const char *message, const char *argument)
{
    fprintf (stderr, "gapless%s%s: %s%s%s\n", command? " ": "", command? command: "",
             message, argument? " ": "", argument? argument: "");
    fprintf (stderr, "see: gapless %s%s--help\n", command? command: "", command? " ": "");
    return EXIT_USAGE;
}

//  Applies a common option; returns 0, or -1 if it was not one.
static int
s_common_option (common_t *common, int option, const char *argument)
{
    if (option == 'd')
        common->database = argument;
    else
    if (option == 's')
        common->schema = argument;
    else
        return -1;
    return 0;
}

//  Names the argument getopt rejected, for the error message.
static const char *
s_rejected (char **argv)
{
    return argv [optind - 1];
}

//  Connects for a command; prints what to do when it cannot.
static gl_db_t *
s_connect (common_t *common, const char *command)
{
    if (!gl_db_schema_valid (common->schema)) {
        s_usage_error (command, "--schema expects 1-63 characters of a-z 0-9 _, "
                       "not starting with a digit; got", common->schema);
        return NULL;
    }
    gl_db_t *db = gl_db_new (common->database, common->schema);
    if (!db)
        fprintf (stderr, "gapless %s: cannot use the database (see the error above); "
                 "give one with --database URL or DATABASE_URL, "
                 "or start the private one with tools/pg.sh start\n", command);
    return db;
}

//  Runs apply or status on an open connection; returns the exit code.
static int
s_migrate_run (gl_db_t *db, const char *directory, bool status)
{
    gl_migrate_t *migrate = gl_migrate_new (db, directory);
    if (!migrate) {
        fprintf (stderr, "gapless migrate: cannot read the migrations in %s\n",
                 directory? directory: "gapless (built in)");
        return 1;
    }
    int rc = 0;
    int count = status? gl_migrate_status (migrate, stdout): gl_migrate_apply (migrate);
    if (count == -1) {
        fprintf (stderr, "gapless migrate: %s\n", gl_migrate_error (migrate));
        rc = 1;
    }
    else
    if (!status)
        printf ("schema %s: %d migration%s applied, none pending\n",
                gl_db_schema (db), count, count == 1? "": "s");
    gl_migrate_destroy (&migrate);
    return rc;
}

//  gapless migrate: applies pending migrations, or lists them.
static int
s_migrate (common_t *common, int argc, char **argv)
{
    static const struct option options [] = {
        COMMON_OPTIONS,
        { "status", no_argument, NULL, 'S' },
        { "migrations", required_argument, NULL, 'm' },
        { NULL, 0, NULL, 0 }
    };
    bool status = false;
    const char *directory = gl_migrate_default_directory ();
    int option;
    while ((option = getopt_long (argc, argv, ":h", options, NULL)) != -1) {
        if (option == 'h') {
            fputs (s_migrate_help, stdout);
            return 0;
        }
        if (option == 'S')
            status = true;
        else
        if (option == 'm')
            directory = optarg;
        else
        if (option == ':')
            return s_usage_error ("migrate", "missing value for", s_rejected (argv));
        else
        if (s_common_option (common, option, optarg) == -1)
            return s_usage_error ("migrate", "unknown option", s_rejected (argv));
    }
    if (optind < argc)
        return s_usage_error ("migrate", "unexpected argument", argv [optind]);
    gl_db_t *db = s_connect (common, "migrate");
    if (!db)
        return gl_db_schema_valid (common->schema)? 1: EXIT_USAGE;
    int rc = s_migrate_run (db, directory, status);
    gl_db_destroy (&db);
    return rc;
}

//  The scheduler's commands take no database options; they reach it
//  through the broker.
static const char *s_keygen_help =
    "usage: gapless keygen NAME [--dir DIR]\n"
    "\n"
    "Writes a CURVE certificate pair for a broker, an actor or a client on\n"
    "another host: DIR/NAME holds the public key (copy it into the broker's\n"
    "broker/curve_allow directory, or give a broker's to its actors as\n"
    "actor/curve_server) and DIR/NAME_secret both keys, readable by its owner\n"
    "only (actor/curve_secret, broker/curve_secret). Never overwrites a file.\n"
    "\n"
    "  --dir DIR        where to write them (default: the current directory)\n"
    "  -h, --help       show this help\n"
    "\n"
    "Exit status: 0 written, 1 not written, 2 bad arguments.\n";

//  gapless keygen
static int
s_keygen (common_t *common, int argc, char **argv)
{
    static const struct option options [] = {
        { "dir", required_argument, NULL, 'D' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    const char *directory = ".";
    int option;
    while ((option = getopt_long (argc, argv, ":h", options, NULL)) != -1) {
        if (option == 'h') {
            fputs (s_keygen_help, stdout);
            return 0;
        }
        if (option == 'D')
            directory = optarg;
        else
            return s_usage_error ("keygen", option == ':'? "missing value for": "unknown option",
                                  argv [optind - 1]);
    }
    if (optind != argc - 1)
        return s_usage_error ("keygen", "expected one NAME", NULL);
    const char *name = argv [optind];
    if (!*name || strchr (name, '/') || strlen (name) > 64)
        return s_usage_error ("keygen", "NAME must be 1-64 bytes without '/', got", name);
    char path [1024], error [GL_CURVE_ERROR_MAX];
    snprintf (path, sizeof path, "%s/%s", directory, name);
    if (gl_curve_keygen (path, name, error) != 0) {
        fprintf (stderr, "gapless keygen: %s\n", error);
        return 1;
    }
    printf ("wrote %s (public) and %s_secret (secret, owner-only)\n", path, path);
    return 0;
}

static int s_config (common_t *common, int argc, char **argv) { return gl_cli_config (argc, argv); }
static int s_enqueue (common_t *common, int argc, char **argv) { return gl_cli_enqueue (argc, argv); }
static int s_status (common_t *common, int argc, char **argv) { return gl_cli_status (argc, argv); }
static int s_control (common_t *common, int argc, char **argv) { return gl_cli_control (argc, argv); }
static int s_dlq (common_t *common, int argc, char **argv) { return gl_cli_dlq (argc, argv); }
//  ops' commands read the ops publication.
static int s_watch (common_t *common, int argc, char **argv) { return gl_cli_watch (argc, argv); }
static int s_providers (common_t *common, int argc, char **argv) { return gl_cli_providers (argc, argv); }
static int s_coverage (common_t *common, int argc, char **argv) { return gl_cli_coverage (argc, argv); }

static const command_t s_commands [] = {
    { "migrate", "apply pending database migrations, or list them (--status)", s_migrate },
    { "enqueue", "backfill symbols or a tier over a range (--plan: only say what it would do)",
      s_enqueue },
    { "status", "progress of every backfill, or of one", s_status },
    { "cancel", "cancel a backfill", s_control },
    { "pause", "pause a backfill", s_control },
    { "resume", "resume a paused backfill", s_control },
    { "dlq", "list, requeue or purge dead slices", s_dlq },
    { "watch", "a live dashboard of backfills, providers and the queue", s_watch },
    { "providers", "each provider's health, breaker and rate-limit use", s_providers },
    { "keygen", "write a CURVE certificate pair for running across hosts", s_keygen },
    { "config", "check configuration files, or print the reference of every key", s_config },
    { "coverage", "stored ranges, gaps and bar counts of a symbol and timeframe", s_coverage },
};
#define COMMAND_COUNT (sizeof s_commands / sizeof s_commands [0])

//  Prints the tool's help.
static void
s_print_help (FILE *out)
{
    fprintf (out,
        "usage: gapless [--database URL] [--schema NAME] COMMAND [OPTIONS]\n"
        "\n"
        "gapless fills PostgreSQL with complete OHLC bar history.\n"
        "\n"
        "Commands:\n");
    for (size_t index = 0; index < COMMAND_COUNT; index++)
        fprintf (out, "  %-16s %s\n", s_commands [index].name, s_commands [index].summary);
    fprintf (out, "\nOptions:\n" COMMON_HELP
        "\nRun gapless COMMAND --help for a command's options.\n"
        "Exit status: 0 done, 1 failed, 2 bad arguments.\n");
}

//  Finds a command by name, or NULL.
static const command_t *
s_command (const char *name)
{
    for (size_t index = 0; index < COMMAND_COUNT; index++)
        if (strcmp (s_commands [index].name, name) == 0)
            return &s_commands [index];
    return NULL;
}

//  Parses the options before the command, then runs the command.
int
main (int argc, char **argv)
{
    static const struct option options [] = {
        COMMON_OPTIONS,
        { NULL, 0, NULL, 0 }
    };
    common_t common = { NULL, GL_DB_SCHEMA_DEFAULT };
    gl_log_set_name ("gapless");
    opterr = 0;
    int option;
    //  '+': stop at the command name; what follows is the command's
    while ((option = getopt_long (argc, argv, "+:h", options, NULL)) != -1) {
        if (option == 'h') {
            s_print_help (stdout);
            return 0;
        }
        if (option == ':')
            return s_usage_error (NULL, "missing value for", s_rejected (argv));
        if (s_common_option (&common, option, optarg) == -1)
            return s_usage_error (NULL, "unknown option", s_rejected (argv));
    }
    if (optind >= argc) {
        s_print_help (stderr);
        return EXIT_USAGE;
    }
    const command_t *command = s_command (argv [optind]);
    if (!command)
        return s_usage_error (NULL, "unknown command", argv [optind]);
    int command_argc = argc - optind;
    char **command_argv = argv + optind;
    optind = 0;                 //  glibc: restart scanning on a new argv
    return command->run (&common, command_argc, command_argv);
}
