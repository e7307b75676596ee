/*  test_store_cli — the gapless binary as a user runs it: help, bad
    arguments (exit 2 and a message), a dead database (exit 1), and
    migrate / migrate --status on a real PostgreSQL.
*/
#include "gl_test.h"
#include "gl_db.h"
#include "gl_testdb.h"

#include <stdlib.h>
#include <sys/wait.h>

#define SCHEMA "gapless_test_store_cli"

static char s_output [65536];

//  Runs gapless with arguments (already shell-quoted where needed),
//  stdout and stderr into s_output; returns the exit code, or -1.
static int
s_gapless (const char *arguments)
{
    const char *binary = getenv ("GL_GAPLESS");
    GL_CHECK (binary != NULL);
    if (!binary)
        return -1;
    char command [4096];
    snprintf (command, sizeof command, "'%s' %s 2>&1", binary, arguments);
    FILE *pipe = popen (command, "r");
    if (!pipe)
        return -1;
    size_t length = fread (s_output, 1, sizeof s_output - 1, pipe);
    s_output [length] = '\0';
    int status = pclose (pipe);
    return WIFEXITED (status)? WEXITSTATUS (status): -1;
}

//  Help for the tool and for each command.
static void
s_test_help (void)
{
    GL_CHECK_INT (s_gapless ("--help"), 0);
    GL_CHECK (strstr (s_output, "usage: gapless") && strstr (s_output, "migrate"));
    GL_CHECK_INT (s_gapless ("migrate --help"), 0);
    GL_CHECK (strstr (s_output, "--status") && strstr (s_output, "--migrations DIR"));
}

//  Bad arguments: exit 2 and a message that names the problem.
static void
s_test_bad_arguments (void)
{
    GL_CHECK_INT (s_gapless (""), 2);
    GL_CHECK (strstr (s_output, "usage: gapless"));
    GL_CHECK_INT (s_gapless ("frobnicate"), 2);
    GL_CHECK (strstr (s_output, "unknown command frobnicate"));
    GL_CHECK_INT (s_gapless ("--bogus migrate"), 2);
    GL_CHECK (strstr (s_output, "unknown option --bogus"));
    GL_CHECK_INT (s_gapless ("migrate --bogus"), 2);
    GL_CHECK (strstr (s_output, "gapless migrate: unknown option --bogus"));
    GL_CHECK_INT (s_gapless ("migrate --schema"), 2);
    GL_CHECK (strstr (s_output, "missing value for --schema"));
    GL_CHECK_INT (s_gapless ("migrate extra"), 2);
    GL_CHECK (strstr (s_output, "unexpected argument extra"));
    GL_CHECK_INT (s_gapless ("--schema 'Robert;drop' migrate"), 2);
    GL_CHECK (strstr (s_output, "--schema expects"));
}

//  An unreachable database or a missing folder: exit 1 and what went wrong.
static void
s_test_failures (void)
{
    GL_CHECK_INT (s_gapless ("migrate --database 'postgresql:///gapless?host=/nonexistent'"), 1);
    GL_CHECK (strstr (s_output, "event=db_connect_failed"));
    GL_CHECK (strstr (s_output, "cannot use the database"));
    GL_CHECK_INT (s_gapless ("migrate --schema " SCHEMA " --migrations /nonexistent"), 1);
    GL_CHECK (strstr (s_output, "cannot read the migrations in /nonexistent"));
}

//  migrate applies everything once; --status lists it all as applied.
static void
s_test_migrate (gl_db_t *db)
{
    GL_CHECK_INT (gl_db_exec (db, "DROP SCHEMA IF EXISTS " SCHEMA " CASCADE"), 0);
    GL_CHECK_INT (s_gapless ("migrate --status --schema " SCHEMA), 0);
    GL_CHECK (strstr (s_output, "0001    reference                pending"));
    GL_CHECK_INT (s_gapless ("--schema " SCHEMA " migrate"), 0);
    GL_CHECK (strstr (s_output, "migrations applied, none pending"));
    GL_CHECK (strstr (s_output, "event=migration_applied"));
    GL_CHECK_INT (s_gapless ("migrate --schema " SCHEMA), 0);
    GL_CHECK (strstr (s_output, "schema " SCHEMA ": 0 migrations applied"));
    GL_CHECK_INT (s_gapless ("migrate --status --schema " SCHEMA), 0);
    GL_CHECK (strstr (s_output, "0004    queue                    applied"));
    GL_CHECK (strstr (s_output, ": 0 pending"));
    GL_CHECK_INT (gl_db_exec (db, "DROP SCHEMA " SCHEMA " CASCADE"), 0);
}

int
main (void)
{
    s_test_help ();
    s_test_bad_arguments ();
    s_test_failures ();
    gl_db_t *db = gl_db_new (NULL, SCHEMA);
    GL_CHECK (db != NULL);
    if (db)
        s_test_migrate (db);
    gl_db_destroy (&db);
    return gl_test_done ("test_store_cli");
}
