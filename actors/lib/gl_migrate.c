/*  gl_migrate — applies migrations/NNNN_name.sql in order to one schema.  */
#include "gl_migrate.h"
#include "gl_log.h"

#include <ctype.h>
#include <dirent.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

//  One migration: a file, a record in schema_migrations, or both.
typedef struct {
    int version;
    char *file;                 //  "0001_reference.sql", NULL if missing
    const gl_migrate_source_t *builtin;     //  its built-in text, or NULL
    char *name;                 //  "reference"
    char *checksum;             //  of the file, "sha256:..."; NULL until read
    char *applied_checksum;     //  as recorded; NULL if not applied
    char *applied_at;           //  as recorded; NULL if not applied
} migration_t;

struct _gl_migrate_t {
    gl_db_t *db;                //  Not owned
    char *directory;            //  where the files are, or "built-in"
    bool builtin;               //  the migrations come from gl_migrate_builtin
    migration_t *migrations;    //  Sorted by version
    size_t count;
    char *error;
};

//  Replaces the last error with a formatted message.
static void
s_set_error (gl_migrate_t *self, const char *format, ...)
{
    char text [4096];
    va_list args;
    va_start (args, format);
    vsnprintf (text, sizeof text, format, args);
    va_end (args);
    free (self->error);
    self->error = strdup (text);
}

//  Parses "NNNN_name.sql"; returns the version, or -1 for other names.
static int
s_parse_file_name (const char *file, char **name_p)
{
    size_t length = strlen (file);
    if (length < 10 || strcmp (file + length - 4, ".sql") != 0 || file [4] != '_')
        return -1;
    for (int index = 0; index < 4; index++)
        if (!isdigit ((unsigned char) file [index]))
            return -1;
    for (size_t index = 5; index < length - 4; index++)
        if (!(islower ((unsigned char) file [index]) || isdigit ((unsigned char) file [index])
           || file [index] == '_'))
            return -1;
    *name_p = strndup (file + 5, length - 9);
    return atoi (file);
}

//  Returns the migration with this version, adding an empty one if new.
static migration_t *
s_migration (gl_migrate_t *self, int version)
{
    for (size_t index = 0; index < self->count; index++)
        if (self->migrations [index].version == version)
            return &self->migrations [index];
    migration_t *grown = realloc (self->migrations, (self->count + 1) * sizeof (migration_t));
    if (!grown)
        return NULL;
    self->migrations = grown;
    migration_t *migration = &self->migrations [self->count++];
    memset (migration, 0, sizeof (migration_t));
    migration->version = version;
    return migration;
}

//  Orders migrations by version.
static int
s_compare_versions (const void *left, const void *right)
{
    return ((const migration_t *) left)->version - ((const migration_t *) right)->version;
}

//  Records one migration file by name. Returns 0, 1 for a name that is not
//  a migration, or -1 with the error set.
static int
s_add_file (gl_migrate_t *self, const char *file)
{
    char *name = NULL;
    int version = s_parse_file_name (file, &name);
    if (version == -1)
        return 1;
    migration_t *migration = s_migration (self, version);
    int rc = 0;
    if (!migration || !name) {
        s_set_error (self, "out of memory listing %s", self->directory);
        rc = -1;
    }
    else
    if (migration->file) {
        s_set_error (self, "two migrations with version %04d in %s: %s and %s",
                     version, self->directory, migration->file, file);
        rc = -1;
    }
    else
    if (!(migration->file = strdup (file))) {
        s_set_error (self, "out of memory listing %s", self->directory);
        rc = -1;
    }
    else {
        migration->name = name;
        name = NULL;
    }
    free (name);
    return rc;
}

//  Lists the built-in migrations. Returns 0 or -1.
static int
s_list_builtin (gl_migrate_t *self)
{
    for (const gl_migrate_source_t *source = gl_migrate_builtin; source->file; source++) {
        int rc = s_add_file (self, source->file);
        if (rc == -1)
            return -1;
        if (rc == 0)
            s_migration (self, atoi (source->file))->builtin = source;
    }
    return 0;
}

//  Reads the directory's migration file names. Returns 0 or -1.
static int
s_list_directory (gl_migrate_t *self)
{
    DIR *dir = opendir (self->directory);
    if (!dir) {
        s_set_error (self, "cannot read the migrations directory %s", self->directory);
        return -1;
    }
    int rc = 0;
    struct dirent *entry;
    while (rc != -1 && (entry = readdir (dir)))
        rc = s_add_file (self, entry->d_name);
    closedir (dir);
    return rc == -1? -1: 0;
}

//  Lists the migrations, built in or from the directory, in version
//  order. Returns 0 or -1.
static int
s_list_files (gl_migrate_t *self)
{
    if ((self->builtin? s_list_builtin (self): s_list_directory (self)) == -1)
        return -1;
    if (self->count == 0) {
        s_set_error (self, "no migration (NNNN_name.sql) in %s", self->directory);
        return -1;
    }
    qsort (self->migrations, self->count, sizeof (migration_t), s_compare_versions);
    return 0;
}

//  The migrations directory to use when none is given.
const char *
gl_migrate_default_directory (void)
{
    const char *directory = getenv ("GL_MIGRATIONS_DIR");
    return directory && *directory? directory: NULL;
}

//  Lists the migration files of directory for the schema of db.
gl_migrate_t *
gl_migrate_new (gl_db_t *db, const char *directory)
{
    gl_migrate_t *self = (gl_migrate_t *) calloc (1, sizeof (gl_migrate_t));
    if (!self)
        return NULL;
    self->db = db;
    self->builtin = directory == NULL;
    self->directory = strdup (directory? directory: "built-in migrations");
    self->error = strdup ("");
    if (!self->directory || !self->error || s_list_files (self) == -1) {
        gl_log_error ("migrate_bad_directory", "directory=%s error=%s",
                      GL_LOG_VALUE (directory? directory: "built-in"),
                      GL_LOG_VALUE (self->error? self->error: "out of memory"));
        gl_migrate_destroy (&self);
    }
    return self;
}

//  Destroys the runner and nulls the caller's pointer.
void
gl_migrate_destroy (gl_migrate_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    gl_migrate_t *self = *self_p;
    for (size_t index = 0; index < self->count; index++) {
        migration_t *migration = &self->migrations [index];
        free (migration->file);
        free (migration->name);
        free (migration->checksum);
        free (migration->applied_checksum);
        free (migration->applied_at);
    }
    free (self->migrations);
    free (self->directory);
    free (self->error);
    free (self);
    *self_p = NULL;
}

//  Reads a migration file whole; returns its text or NULL with the error set.
static char *
s_read_file (gl_migrate_t *self, migration_t *migration)
{
    if (migration->builtin) {
        char *copy = strndup (migration->builtin->text, migration->builtin->size);
        if (!copy)
            s_set_error (self, "out of memory reading migration %s", migration->file);
        return copy;
    }
    char path [4096];
    snprintf (path, sizeof path, "%s/%s", self->directory, migration->file);
    FILE *file = fopen (path, "rb");
    char *text = NULL;
    long size = -1;
    if (file && fseek (file, 0, SEEK_END) == 0 && (size = ftell (file)) >= 0
    &&  fseek (file, 0, SEEK_SET) == 0 && (text = malloc ((size_t) size + 1))) {
        if (fread (text, 1, (size_t) size, file) == (size_t) size)
            text [size] = '\0';
        else {
            free (text);
            text = NULL;
        }
    }
    if (file)
        fclose (file);
    if (!text)
        s_set_error (self, "cannot read migration %s", path);
    else
    if (strlen (text) != (size_t) size) {
        s_set_error (self, "migration %s holds a NUL byte; expected SQL text", path);
        free (text);
        text = NULL;
    }
    return text;
}

//  Runs a query returning rows; NULL with the error set on failure.
static PGresult *
s_query (gl_migrate_t *self, const char *sql, int count, const char *const *values)
{
    PGresult *result = PQexecParams (gl_db_conn (self->db), sql, count, NULL,
                                     values, NULL, NULL, 0);
    if (gl_db_check (self->db, result, PGRES_TUPLES_OK) == -1) {
        s_set_error (self, "%s", gl_db_error (self->db));
        PQclear (result);
        return NULL;
    }
    return result;
}

//  Computes the checksum of one file's bytes; returns 0 or -1.
static int
s_checksum_file (gl_migrate_t *self, migration_t *migration)
{
    char *text = s_read_file (self, migration);
    if (!text)
        return -1;
    //  Sent as binary bytea, so the sum is over the file's exact bytes
    const Oid types [] = { 17 };        //  BYTEAOID
    const char *values [] = { text };
    const int lengths [] = { (int) strlen (text) };
    const int formats [] = { 1 };
    PGresult *result = PQexecParams (gl_db_conn (self->db),
        "SELECT 'sha256:' || encode(sha256($1), 'hex')",
        1, types, values, lengths, formats, 0);
    free (text);
    if (gl_db_check (self->db, result, PGRES_TUPLES_OK) == -1) {
        s_set_error (self, "cannot checksum %s: %s", migration->file, gl_db_error (self->db));
        PQclear (result);
        return -1;
    }
    migration->checksum = strdup (PQgetvalue (result, 0, 0));
    PQclear (result);
    return 0;
}

//  Computes the checksum of each migration file. Returns 0 or -1.
static int
s_checksum_files (gl_migrate_t *self)
{
    for (size_t index = 0; index < self->count; index++) {
        migration_t *migration = &self->migrations [index];
        if (migration->file && !migration->checksum
        &&  s_checksum_file (self, migration) == -1)
            return -1;
    }
    return 0;
}

//  Reads schema_migrations, if it exists. Returns 0 or -1.
static int
s_read_applied (gl_migrate_t *self)
{
    PGresult *result = s_query (self,
        "SELECT version, checksum, to_char(applied_at, 'YYYY-MM-DD HH24:MI:SS') || ' UTC', name"
        "  FROM schema_migrations ORDER BY version", 0, NULL);
    if (!result)
        return -1;
    for (int row = 0; row < PQntuples (result); row++) {
        migration_t *migration = s_migration (self, atoi (PQgetvalue (result, row, 0)));
        if (!migration) {
            PQclear (result);
            s_set_error (self, "out of memory reading schema_migrations");
            return -1;
        }
        free (migration->applied_checksum);
        free (migration->applied_at);
        migration->applied_checksum = strdup (PQgetvalue (result, row, 1));
        migration->applied_at = strdup (PQgetvalue (result, row, 2));
        if (!migration->name)
            migration->name = strdup (PQgetvalue (result, row, 3));
    }
    PQclear (result);
    qsort (self->migrations, self->count, sizeof (migration_t), s_compare_versions);
    return 0;
}

//  True if schema_migrations exists in the schema.
static int
s_has_history (gl_migrate_t *self, bool *exists)
{
    PGresult *result = s_query (self,
        "SELECT to_regclass('schema_migrations') IS NOT NULL", 0, NULL);
    if (!result)
        return -1;
    *exists = strcmp (PQgetvalue (result, 0, 0), "t") == 0;
    PQclear (result);
    return 0;
}

//  Refuses applied migrations whose file changed or vanished. Returns 0 or -1.
static int
s_verify_applied (gl_migrate_t *self)
{
    for (size_t index = 0; index < self->count; index++) {
        migration_t *migration = &self->migrations [index];
        if (!migration->applied_checksum)
            continue;
        if (!migration->file) {
            s_set_error (self, "migration %04d is applied in schema %s but has no file in %s; "
                         "expected the migrations it was applied from",
                         migration->version, gl_db_schema (self->db), self->directory);
            return -1;
        }
        if (strcmp (migration->applied_checksum, migration->checksum) != 0) {
            s_set_error (self, "migration %s/%s changed after it was applied to schema %s: "
                         "applied checksum %s, file checksum %s; "
                         "restore the file and put the change in a new migration",
                         self->directory, migration->file, gl_db_schema (self->db),
                         migration->applied_checksum, migration->checksum);
            return -1;
        }
    }
    return 0;
}

//  Runs the migration's SQL inside the open transaction. Returns 0 or -1.
static int
s_run_text (gl_migrate_t *self, migration_t *migration)
{
    char *text = s_read_file (self, migration);
    if (!text)
        return -1;
    PGresult *result = PQexec (gl_db_conn (self->db), text);
    free (text);
    //  The last statement decides the status: DDL, or a SELECT that seeds
    ExecStatusType expected = result && PQresultStatus (result) == PGRES_TUPLES_OK
                            ? PGRES_TUPLES_OK: PGRES_COMMAND_OK;
    int rc = gl_db_check (self->db, result, expected);
    PQclear (result);
    if (rc == -1)
        s_set_error (self, "migration %s/%s failed, nothing of it was applied: %s",
                     self->directory, migration->file, gl_db_error (self->db));
    return rc;
}

//  Records an applied migration in schema_migrations. Returns 0 or -1.
static int
s_record (gl_migrate_t *self, migration_t *migration)
{
    char version [16];
    snprintf (version, sizeof version, "%d", migration->version);
    const char *values [] = { version, migration->name, migration->checksum };
    PGresult *result = PQexecParams (gl_db_conn (self->db),
        "INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
        3, NULL, values, NULL, NULL, 0);
    int rc = gl_db_check (self->db, result, PGRES_COMMAND_OK);
    PQclear (result);
    if (rc == 0)
        rc = gl_db_exec (self->db, "COMMIT");
    if (rc == -1)
        s_set_error (self, "recording migration %s failed: %s",
                     migration->file, gl_db_error (self->db));
    return rc;
}

//  Runs one migration and records it, in one transaction. Returns 0 or -1.
static int
s_apply_one (gl_migrate_t *self, migration_t *migration)
{
    if (gl_db_exec (self->db, "BEGIN") == -1) {
        s_set_error (self, "cannot begin a transaction: %s", gl_db_error (self->db));
        return -1;
    }
    if (s_run_text (self, migration) == -1 || s_record (self, migration) == -1) {
        PQclear (PQexec (gl_db_conn (self->db), "ROLLBACK"));
        return -1;
    }
    gl_log_info ("migration_applied", "schema=%s file=%s checksum=%s", gl_db_schema (self->db),
                 GL_LOG_VALUE (migration->file), GL_LOG_VALUE (migration->checksum));
    return 0;
}

//  Takes (lock true) or releases the schema's migration lock. Returns 0 or -1.
static int
s_lock (gl_migrate_t *self, bool lock)
{
    const char *values [] = { gl_db_schema (self->db) };
    PGresult *result = s_query (self, lock
        ? "SELECT pg_advisory_lock(hashtextextended('gapless_migrate:' || $1, 0))"
        : "SELECT pg_advisory_unlock(hashtextextended('gapless_migrate:' || $1, 0))",
        1, values);
    PQclear (result);
    return result? 0: -1;
}

//  Creates the schema and its history table if they are missing.
static int
s_prepare_schema (gl_migrate_t *self)
{
    char sql [512];
    snprintf (sql, sizeof sql,
        "CREATE SCHEMA IF NOT EXISTS \"%s\";"
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        "  version integer PRIMARY KEY,"
        "  name text NOT NULL,"
        "  checksum text NOT NULL,"
        "  applied_at timestamptz NOT NULL DEFAULT now())",
        gl_db_schema (self->db));
    if (gl_db_exec (self->db, sql) == -1) {
        s_set_error (self, "cannot create schema %s: %s",
                     gl_db_schema (self->db), gl_db_error (self->db));
        return -1;
    }
    return 0;
}

//  Applies pending migrations while holding the lock; returns count or -1.
static int
s_apply_locked (gl_migrate_t *self)
{
    if (s_prepare_schema (self) == -1 || s_read_applied (self) == -1
    ||  s_checksum_files (self) == -1 || s_verify_applied (self) == -1)
        return -1;
    int applied = 0;
    for (size_t index = 0; index < self->count; index++) {
        migration_t *migration = &self->migrations [index];
        if (migration->applied_checksum)
            continue;
        if (s_apply_one (self, migration) == -1)
            return -1;
        migration->applied_checksum = strdup (migration->checksum);
        applied++;
    }
    return applied;
}

//  Applies every pending migration in version order.
int
gl_migrate_apply (gl_migrate_t *self)
{
    if (s_lock (self, true) == -1) {
        gl_log_error ("migrate_failed", "error=%s", GL_LOG_VALUE (self->error));
        return -1;
    }
    int applied = s_apply_locked (self);
    s_lock (self, false);
    if (applied == -1)
        gl_log_error ("migrate_failed", "schema=%s error=%s", gl_db_schema (self->db),
                      GL_LOG_VALUE (self->error));
    return applied;
}

//  The state word status prints for a migration.
static const char *
s_state (migration_t *migration)
{
    if (!migration->applied_checksum)
        return "pending";
    if (!migration->file)
        return "missing";
    return strcmp (migration->applied_checksum, migration->checksum) == 0? "applied": "changed";
}

//  Prints a table of every migration and its state.
int
gl_migrate_status (gl_migrate_t *self, FILE *out)
{
    bool exists = false;
    if (s_has_history (self, &exists) == -1
    || (exists && s_read_applied (self) == -1)
    ||  s_checksum_files (self) == -1)
        return -1;
    int pending = 0;
    fprintf (out, "%-7s %-24s %-8s %s\n", "version", "name", "state", "applied at");
    for (size_t index = 0; index < self->count; index++) {
        migration_t *migration = &self->migrations [index];
        const char *state = s_state (migration);
        pending += strcmp (state, "pending") == 0;
        fprintf (out, "%04d    %-24s %-8s %s\n", migration->version,
                 migration->name? migration->name: "?", state,
                 migration->applied_at? migration->applied_at: "-");
    }
    fprintf (out, "schema %s: %d pending\n", gl_db_schema (self->db), pending);
    return s_verify_applied (self) == -1? -1: pending;
}

//  The last error, or "".
const char *
gl_migrate_error (gl_migrate_t *self)
{
    return self->error;
}
