/*  gl_testdb — a fresh, fully migrated schema for one test program.  */
#include "gl_testdb.h"
#include "gl_migrate.h"
#include "gl_log.h"

#include <stdio.h>
#include <stdlib.h>

//  Drops the schema and applies every migration to it again.
static int
s_recreate (gl_db_t *db)
{
    char sql [128];
    snprintf (sql, sizeof sql, "DROP SCHEMA IF EXISTS \"%s\" CASCADE", gl_db_schema (db));
    if (gl_db_exec (db, sql) == -1) {
        gl_log_error ("testdb_drop_failed", "schema=%s error=%s", gl_db_schema (db),
                      GL_LOG_VALUE (gl_db_error (db)));
        return -1;
    }
    gl_migrate_t *migrate = gl_migrate_new (db, gl_migrate_default_directory ());
    int applied = migrate? gl_migrate_apply (migrate): -1;
    gl_migrate_destroy (&migrate);
    return applied >= 0? 0: -1;
}

//  Returns a connection to a freshly migrated gapless_test_<test_name>.
gl_db_t *
gl_testdb_new (const char *test_name)
{
    char schema [64];
    int length = snprintf (schema, sizeof schema, "gapless_test_%s", test_name);
    if (length < 0 || length >= (int) sizeof schema || !gl_db_schema_valid (schema)) {
        gl_log_error ("testdb_bad_name", "name=%s expected=\"a-z 0-9 _, at most 50 characters\"",
                      GL_LOG_VALUE (test_name));
        return NULL;
    }
    gl_db_t *db = gl_db_new (NULL, schema);
    if (db && s_recreate (db) == -1)
        gl_db_destroy (&db);
    return db;
}

//  The one value of a query as a number.
int64_t
gl_testdb_number (gl_db_t *db, const char *sql)
{
    PGresult *result = PQexec (gl_db_conn (db), sql);
    int64_t value = PQresultStatus (result) == PGRES_TUPLES_OK && PQntuples (result) == 1
                  ? atoll (PQgetvalue (result, 0, 0)): -1;
    if (value == -1 && PQresultStatus (result) != PGRES_TUPLES_OK)
        fprintf (stderr, "query failed: %s: %s", sql, PQresultErrorMessage (result));
    PQclear (result);
    return value;
}
