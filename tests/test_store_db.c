/*  test_store_db — gl_db: where it looks for the server (DATABASE_URL, then
    PG*, then the private cluster's url file), schema name rules, session
    settings on a real PostgreSQL.
*/
#include "gl_test.h"
#include "gl_db.h"

#include <stdlib.h>
#include <unistd.h>

//  The default conninfo under the current environment ("<none>" for NULL).
static const char *
s_default (char *buffer)
{
    char *conninfo = gl_db_default_conninfo ();
    snprintf (buffer, 256, "%s", conninfo? conninfo: "<none>");
    free (conninfo);
    return buffer;
}

//  DATABASE_URL wins, then any PG* variable, then GL_PG_DIR/url.
static void
s_test_resolution (void)
{
    char *database_url = getenv ("DATABASE_URL")? strdup (getenv ("DATABASE_URL")): NULL;
    char *pg_dir = getenv ("GL_PG_DIR")? strdup (getenv ("GL_PG_DIR")): NULL;
    char *pghost = getenv ("PGHOST")? strdup (getenv ("PGHOST")): NULL;
    char directory [] = "/tmp/gl_test_store_db_XXXXXX";
    GL_CHECK (mkdtemp (directory) != NULL);
    char path [256], buffer [256];
    snprintf (path, sizeof path, "%s/url", directory);

    unsetenv ("DATABASE_URL");
    unsetenv ("PGHOST");
    setenv ("GL_PG_DIR", directory, 1);
    GL_CHECK_STR (s_default (buffer), "<none>");
    FILE *file = fopen (path, "w");
    GL_CHECK (file != NULL);
    if (file) {
        fputs ("postgresql:///gapless?host=/somewhere\n", file);
        fclose (file);
    }
    GL_CHECK_STR (s_default (buffer), "postgresql:///gapless?host=/somewhere");
    setenv ("PGHOST", "/elsewhere", 1);
    GL_CHECK_STR (s_default (buffer), "");
    setenv ("DATABASE_URL", "postgresql://db.example/gapless", 1);
    GL_CHECK_STR (s_default (buffer), "postgresql://db.example/gapless");

    unlink (path);
    rmdir (directory);
    database_url? setenv ("DATABASE_URL", database_url, 1): unsetenv ("DATABASE_URL");
    pghost? setenv ("PGHOST", pghost, 1): unsetenv ("PGHOST");
    pg_dir? setenv ("GL_PG_DIR", pg_dir, 1): unsetenv ("GL_PG_DIR");
    free (database_url);
    free (pg_dir);
    free (pghost);
}

//  Schema names: lower-case identifiers only, so they need no quoting rules.
static void
s_test_schema_names (void)
{
    GL_CHECK (gl_db_schema_valid ("gapless"));
    GL_CHECK (gl_db_schema_valid ("gapless_test_2"));
    GL_CHECK (!gl_db_schema_valid (""));
    GL_CHECK (!gl_db_schema_valid (NULL));
    GL_CHECK (!gl_db_schema_valid ("2fast"));
    GL_CHECK (!gl_db_schema_valid ("Gapless"));
    GL_CHECK (!gl_db_schema_valid ("a\"; DROP SCHEMA public; --"));
    char long_name [80];
    memset (long_name, 'a', 64);
    long_name [64] = '\0';
    GL_CHECK (!gl_db_schema_valid (long_name));
    long_name [63] = '\0';
    GL_CHECK (gl_db_schema_valid (long_name));
    GL_CHECK (gl_db_new (NULL, "Bad-Name") == NULL);
}

//  Counts busy calls.
static void
s_count_busy (void *argument)
{
    (*(int *) argument)++;
}

//  A real session: schema on the search path, UTC, errors kept.
static void
s_test_session (void)
{
    gl_db_t *db = gl_db_new (NULL, "gapless_test_store_db");
    GL_CHECK (db != NULL);
    if (!db)
        return;
    GL_CHECK_STR (gl_db_schema (db), "gapless_test_store_db");
    PGresult *result = PQexec (gl_db_conn (db),
        "SELECT current_setting('search_path') || ' ' || current_setting('TimeZone')");
    GL_CHECK_INT (gl_db_check (db, result, PGRES_TUPLES_OK), 0);
    GL_CHECK_STR (PQgetvalue (result, 0, 0), "gapless_test_store_db UTC");
    PQclear (result);
    GL_CHECK_INT (gl_db_exec (db, "SELECT 1/0"), -1);
    GL_CHECK (strstr (gl_db_error (db), "division by zero") != NULL);
    GL_CHECK (strstr (gl_db_error (db), "SQLSTATE 22012") != NULL);
    //  A statement that takes a while calls busy while it runs, and
    //  returns its rows or its error as PQexecParams would.
    int calls = 0;
    const char *values [] = { "0.5" };
    result = gl_db_exec_busy (db, "SELECT pg_sleep($1::float8), 42", 1, values, 20,
                              s_count_busy, &calls);
    GL_CHECK_INT (gl_db_check (db, result, PGRES_TUPLES_OK), 0);
    GL_CHECK (result && strcmp (PQgetvalue (result, 0, 1), "42") == 0);
    PQclear (result);
    GL_CHECK (calls >= 2);
    result = gl_db_exec_busy (db, "SELECT 1/$1::int", 1, (const char *[]) { "0" }, 20,
                              s_count_busy, &calls);
    GL_CHECK_INT (gl_db_check (db, result, PGRES_TUPLES_OK), -1);
    GL_CHECK (strstr (gl_db_error (db), "SQLSTATE 22012") != NULL);
    PQclear (result);
    result = gl_db_exec_busy (db, "COPY (SELECT 1) TO STDOUT", 0, NULL, 20, NULL, NULL);
    GL_CHECK_INT (gl_db_check (db, result, PGRES_COPY_OUT), 0);
    PQclear (result);
    char *row = NULL;
    GL_CHECK_INT (PQgetCopyData (gl_db_conn (db), &row, 0), 2);
    PQfreemem (row);
    GL_CHECK_INT (PQgetCopyData (gl_db_conn (db), &row, 0), -1);
    PQclear (PQgetResult (gl_db_conn (db)));
    GL_CHECK_INT (gl_db_exec (db, "SET application_name = 'x'"), 0);
    GL_CHECK_STR (gl_db_error (db), "");
    gl_db_destroy (&db);
    gl_db_destroy (&db);
    GL_CHECK (db == NULL);
    GL_CHECK (gl_db_new ("postgresql:///gapless?host=/nonexistent", NULL) == NULL);
}

int
main (void)
{
    s_test_resolution ();
    s_test_schema_names ();
    s_test_session ();
    return gl_test_done ("test_store_db");
}
