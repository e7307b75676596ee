/*  test_migrate — gl_migrate against a real PostgreSQL: applies every
    migration to an empty schema, is a no-op the second time, refuses a
    changed or vanished migration, rolls back a failing one, reports
    status, and lets two concurrent migrators apply everything once.
*/
#include "gl_test.h"
#include "gl_db.h"
#include "gl_migrate.h"
#include "gl_testdb.h"

#include <dirent.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

//  Returns the first value of a one-row query as a number, or -1.
static long
s_number (gl_db_t *db, const char *sql)
{
    PGresult *result = PQexec (gl_db_conn (db), sql);
    long value = -1;
    if (PQresultStatus (result) == PGRES_TUPLES_OK && PQntuples (result) == 1)
        value = atol (PQgetvalue (result, 0, 0));
    else
        fprintf (stderr, "query failed: %s: %s", sql, PQresultErrorMessage (result));
    PQclear (result);
    return value;
}

//  Counts the migration files in the source tree.
static int
s_count_files (const char *directory)
{
    DIR *dir = opendir (directory);
    int count = 0;
    struct dirent *entry;
    while (dir && (entry = readdir (dir)))
        count += strlen (entry->d_name) > 9 && strstr (entry->d_name, ".sql") != NULL;
    if (dir)
        closedir (dir);
    return count;
}

//  The built-in migrations are the source tree's migrations/, byte for
//  byte. Returns how many there are.
static int
s_test_builtin (void)
{
    char directory [4096];
    snprintf (directory, sizeof directory, "%s/migrations", getenv ("GL_SOURCE_DIR"));
    int count = 0;
    for (const gl_migrate_source_t *source = gl_migrate_builtin; source->file; source++) {
        char path [4200], *text = NULL;
        snprintf (path, sizeof path, "%s/%s", directory, source->file);
        FILE *file = fopen (path, "rb");
        GL_CHECK (file != NULL);
        size_t size = file? fread ((text = calloc (1, source->size + 2)), 1, source->size + 1, file): 0;
        GL_CHECK (size == source->size && text && memcmp (text, source->text, size) == 0);
        free (text);
        if (file)
            fclose (file);
        count++;
    }
    GL_CHECK_INT (count, s_count_files (directory));
    return count;
}

//  Writes text to directory/file (mode "w" or "a").
static void
s_write (const char *directory, const char *file, const char *mode, const char *text)
{
    char path [4096];
    snprintf (path, sizeof path, "%s/%s", directory, file);
    FILE *out = fopen (path, mode);
    GL_CHECK (out != NULL);
    if (out) {
        fputs (text, out);
        fclose (out);
    }
}

//  Writes the built-in text of one migration into directory.
static void
s_write_builtin (const char *directory, const gl_migrate_source_t *source)
{
    char path [4096];
    snprintf (path, sizeof path, "%s/%s", directory, source->file);
    FILE *file = fopen (path, "wb");
    GL_CHECK (file != NULL);
    if (file) {
        GL_CHECK (fwrite (source->text, 1, source->size, file) == source->size);
        fclose (file);
    }
}

//  Copies the built-in migrations into a new temporary directory.
static char *
s_copy_migrations (void)
{
    char *directory = strdup ("/tmp/gl_test_migrate_XXXXXX");
    GL_CHECK (mkdtemp (directory) != NULL);
    for (const gl_migrate_source_t *source = gl_migrate_builtin; source->file; source++)
        s_write_builtin (directory, source);
    return directory;
}

//  Writes one built-in migration over its tampered copy.
static void
s_restore (const char *directory, const char *file)
{
    for (const gl_migrate_source_t *source = gl_migrate_builtin; source->file; source++)
        if (strcmp (source->file, file) == 0)
            s_write_builtin (directory, source);
}

//  Removes a temporary migrations directory.
static void
s_remove (char **directory_p)
{
    char command [4096];
    snprintf (command, sizeof command, "rm -rf '%s'", *directory_p);
    GL_CHECK_INT (system (command), 0);
    free (*directory_p);
    *directory_p = NULL;
}

//  Runs apply once with a new runner; returns its result.
static int
s_apply (gl_db_t *db, const char *directory, char *error, size_t size)
{
    gl_migrate_t *migrate = gl_migrate_new (db, directory);
    GL_CHECK (migrate != NULL);
    int applied = migrate? gl_migrate_apply (migrate): -2;
    if (migrate && error)
        snprintf (error, size, "%s", gl_migrate_error (migrate));
    gl_migrate_destroy (&migrate);
    gl_migrate_destroy (&migrate);
    return applied;
}

//  Runs status into a buffer; returns its result.
static int
s_status (gl_db_t *db, const char *directory, char *output, size_t size)
{
    gl_migrate_t *migrate = gl_migrate_new (db, directory);
    GL_CHECK (migrate != NULL);
    FILE *out = fmemopen (output, size, "w");
    int pending = migrate? gl_migrate_status (migrate, out): -2;
    fclose (out);
    gl_migrate_destroy (&migrate);
    return pending;
}

//  Empty schema: everything applies, then nothing; objects live in the schema.
static void
s_test_fresh_and_idempotent (gl_db_t *db, int files)
{
    GL_CHECK_INT (s_number (db, "SELECT count(*) FROM schema_migrations"), files);
    GL_CHECK_INT (s_apply (db, gl_migrate_default_directory (), NULL, 0), 0);
    GL_CHECK_INT (s_number (db, "SELECT count(*) FROM schema_migrations"), files);
    GL_CHECK_INT (s_number (db,
        "SELECT count(*) FROM pg_class WHERE relname IN "
        "('symbols', 'job_definitions', 'backfills', 'job_runs', 'ohlc_bars', "
        " 'bars', 'coverage', 'coverage_status', 'provider_health', 'dead_letters') "
        "AND relnamespace = 'gapless_test_migrate'::regnamespace"), 10);
    GL_CHECK_INT (s_number (db,
        "SELECT count(*) FROM pg_proc WHERE proname = 'queue_claim' "
        "AND pronamespace <> 'gapless_test_migrate'::regnamespace "
        "AND pronamespace::regnamespace::text NOT LIKE 'gapless_test_%'"), 0);
    char output [4096];
    GL_CHECK_INT (s_status (db, gl_migrate_default_directory (), output, sizeof output), 0);
    GL_CHECK (strstr (output, "0001    reference") != NULL);
    GL_CHECK (strstr (output, "pending") == NULL || strstr (output, ": 0 pending") != NULL);
}

//  A new file is pending, then applied; status says so.
static void
s_test_pending (gl_db_t *db, const char *directory)
{
    s_write (directory, "0900_extra.sql", "w", "CREATE TABLE extra (x integer);\n");
    char output [4096];
    GL_CHECK_INT (s_status (db, directory, output, sizeof output), 1);
    GL_CHECK (strstr (output, "0900    extra                    pending") != NULL);
    GL_CHECK_INT (s_apply (db, directory, NULL, 0), 1);
    GL_CHECK_INT (s_status (db, directory, output, sizeof output), 0);
    GL_CHECK (strstr (output, "0900    extra                    applied") != NULL);
    GL_CHECK_INT (s_number (db, "SELECT count(*) FROM extra"), 0);
}

//  A changed applied file is refused, naming it and both checksums.
static void
s_test_tampered (gl_db_t *db, const char *directory)
{
    s_write (directory, "0002_jobs.sql", "a", "-- an innocent-looking edit\n");
    s_write (directory, "0901_after.sql", "w", "CREATE TABLE after (x integer);\n");
    char error [4096];
    GL_CHECK_INT (s_apply (db, directory, error, sizeof error), -1);
    GL_CHECK (strstr (error, "0002_jobs.sql") != NULL);
    GL_CHECK (strstr (error, "changed after it was applied") != NULL);
    const char *first = strstr (error, "sha256:");
    GL_CHECK (first && strstr (first + 1, "sha256:") != NULL);
    GL_CHECK_INT (s_number (db, "SELECT count(*) FROM pg_class WHERE relname = 'after' "
                               "AND relnamespace = 'gapless_test_migrate'::regnamespace"), 0);
    char output [4096];
    GL_CHECK_INT (s_status (db, directory, output, sizeof output), -1);
    GL_CHECK (strstr (output, "0002    jobs                     changed") != NULL);
    GL_CHECK (strstr (output, "0901    after                    pending") != NULL);
}

//  A failing migration is rolled back whole and not recorded.
static void
s_test_failing (gl_db_t *db, const char *directory)
{
    s_write (directory, "0902_broken.sql", "w",
             "CREATE TABLE half_done (x integer);\nSELECT no_such_function();\n");
    char error [4096];
    GL_CHECK_INT (s_apply (db, directory, error, sizeof error), -1);
    GL_CHECK (strstr (error, "0902_broken.sql failed") != NULL);
    GL_CHECK (strstr (error, "no_such_function") != NULL);
    GL_CHECK_INT (s_number (db, "SELECT count(*) FROM schema_migrations WHERE version = 902"), 0);
    GL_CHECK_INT (s_number (db, "SELECT count(*) FROM pg_class WHERE relname = 'half_done'"), 0);
}

//  An applied migration whose file vanished is refused.
static void
s_test_missing (gl_db_t *db, const char *directory)
{
    char path [4096];
    snprintf (path, sizeof path, "%s/0900_extra.sql", directory);
    GL_CHECK_INT (unlink (path), 0);
    char error [4096];
    GL_CHECK_INT (s_apply (db, directory, error, sizeof error), -1);
    GL_CHECK (strstr (error, "migration 0900 is applied") != NULL);
}

//  Directories the runner must refuse up front.
static void
s_test_bad_directories (gl_db_t *db)
{
    GL_CHECK (gl_migrate_new (db, "/nonexistent/migrations") == NULL);
    char *directory = strdup ("/tmp/gl_test_migrate_XXXXXX");
    GL_CHECK (mkdtemp (directory) != NULL);
    GL_CHECK (gl_migrate_new (db, directory) == NULL);
    s_write (directory, "0001_a.sql", "w", "SELECT 1;\n");
    s_write (directory, "0001_b.sql", "w", "SELECT 1;\n");
    GL_CHECK (gl_migrate_new (db, directory) == NULL);
    s_remove (&directory);
}

typedef struct {
    const char *schema;
    int applied;
} migrator_t;

//  One concurrent migrator: its own connection, apply once.
static void *
s_migrator (void *arg)
{
    migrator_t *migrator = (migrator_t *) arg;
    gl_db_t *db = gl_db_new (NULL, migrator->schema);
    migrator->applied = db? s_apply (db, gl_migrate_default_directory (), NULL, 0): -3;
    gl_db_destroy (&db);
    return NULL;
}

//  Two migrators at once on one empty schema: all applied exactly once.
static void
s_test_concurrent (gl_db_t *db, int files)
{
    const char *schema = "gapless_test_migrate_race";
    GL_CHECK_INT (gl_db_exec (db, "DROP SCHEMA IF EXISTS gapless_test_migrate_race CASCADE"), 0);
    migrator_t migrators [2] = { { schema, 0 }, { schema, 0 } };
    pthread_t threads [2];
    for (int index = 0; index < 2; index++)
        GL_CHECK_INT (pthread_create (&threads [index], NULL, s_migrator, &migrators [index]), 0);
    for (int index = 0; index < 2; index++)
        pthread_join (threads [index], NULL);
    GL_CHECK (migrators [0].applied >= 0 && migrators [1].applied >= 0);
    GL_CHECK_INT (migrators [0].applied + migrators [1].applied, files);
    GL_CHECK_INT (s_number (db,
        "SELECT count(*) FROM gapless_test_migrate_race.schema_migrations"), files);
    GL_CHECK_INT (gl_db_exec (db, "DROP SCHEMA gapless_test_migrate_race CASCADE"), 0);
}

int
main (void)
{
    gl_db_t *db = gl_testdb_new ("migrate");
    GL_CHECK (db != NULL);
    if (!db)
        return gl_test_done ("test_migrate");
    int files = s_test_builtin ();
    GL_CHECK (files >= 4);
    s_test_fresh_and_idempotent (db, files);

    char *directory = s_copy_migrations ();
    s_test_pending (db, directory);
    s_test_tampered (db, directory);
    s_restore (directory, "0002_jobs.sql");
    s_test_failing (db, directory);
    s_test_missing (db, directory);
    s_remove (&directory);

    s_test_bad_directories (db);
    s_test_concurrent (db, files);
    gl_db_destroy (&db);
    gl_db_destroy (&db);
    return gl_test_done ("test_migrate");
}
