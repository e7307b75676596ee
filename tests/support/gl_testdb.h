/*  gl_testdb — a fresh, fully migrated schema for one test program.

    gl_db_t *db = gl_testdb_new ("writer");
    connects the way gl_db does (DATABASE_URL, PG*, else the ctest
    fixture's private cluster found through GL_PG_DIR), drops the schema
    gapless_test_writer with everything in it, and re-creates it with every
    migration. Tests with different names can share one server at once.
    Register such a test with gl_add_test (... FIXTURES pg).
*/
#ifndef GL_TESTDB_H_INCLUDED
#define GL_TESTDB_H_INCLUDED

#include "gl_db.h"

//  Returns a connection to the new schema gapless_test_<test_name>, or
//  NULL with a log line if the server is unreachable, the name is not
//  a-z 0-9 _ or a migration fails. Caller owns return value.
gl_db_t *gl_testdb_new (const char *test_name);

//  The one value of a query of one row and column as a number, or -1
//  (the query and the server's message printed) when it fails.
#include <stdint.h>
int64_t gl_testdb_number (gl_db_t *db, const char *sql);

#endif
