/*  gl_db — one PostgreSQL connection bound to the gapless schema.

    Where the server is, in order:
      1. the connection string the caller gives (e.g. gapless --database),
      2. DATABASE_URL,
      3. the PG* variables (PGHOST, PGPORT, PGDATABASE, PGUSER, PGSERVICE),
         which libpq reads itself,
      4. the private cluster started by tools/pg.sh: the URL it wrote to
         $GL_PG_DIR/url, else to var/pg/url under the working directory
         (tools/run.sh runs everything from the checkout, where pg.sh
         keeps it).
    Every object gapless owns lives in one schema (default "gapless"); the
    connection's search_path is that schema only, its time zone is UTC.
    Nothing outside that schema is touched, so a shared server is safe.
*/
#ifndef GL_DB_H_INCLUDED
#define GL_DB_H_INCLUDED

#include <stdbool.h>
#include <libpq-fe.h>

#define GL_DB_SCHEMA_DEFAULT "gapless"

typedef struct _gl_db_t gl_db_t;

//  Returns the connection string to use when the caller gives none,
//  following the order above ("" means: let libpq read PG*). Returns NULL
//  with a log line when no server is known. Caller owns return value.
char *gl_db_default_conninfo (void);

//  True if name is a schema name gapless accepts: 1 to 63 characters of
//  a-z, 0-9 and '_', not starting with a digit.
bool gl_db_schema_valid (const char *name);

//  Connects (conninfo NULL: gl_db_default_conninfo) and sets the search
//  path to schema (NULL: "gapless"); the schema need not exist yet.
//  Returns NULL with a log line naming host, database and the server's
//  error if that fails. Caller owns return value.
gl_db_t *gl_db_new (const char *conninfo, const char *schema);

//  Closes the connection and nulls the caller's pointer. Safe twice.
void gl_db_destroy (gl_db_t **self_p);

//  The libpq connection, for queries. Still owned by self.
PGconn *gl_db_conn (gl_db_t *self);

//  The schema name.
const char *gl_db_schema (gl_db_t *self);

//  Runs SQL that returns no rows (one or more statements). Returns 0, or
//  -1 with the server's message in gl_db_error.
int gl_db_exec (gl_db_t *self, const char *sql);

//  Called while a statement runs (gl_db_exec_busy).
typedef void (gl_db_busy_fn) (void *argument);

//  Runs one statement with text parameters as PQexecParams does and
//  returns what it would, but calls busy (argument) every busy_ms while
//  the server works: one long statement (a big enqueue's last step) no
//  longer keeps an actor from its heartbeats. Caller owns the result.
PGresult *gl_db_exec_busy (gl_db_t *self, const char *sql, int count,
                           const char *const *values, int busy_ms, gl_db_busy_fn *busy,
                           void *argument);

//  Checks a result: returns 0 if its status is expected, else -1 with the
//  message in gl_db_error. Does not clear the result.
int gl_db_check (gl_db_t *self, PGresult *result, ExecStatusType expected);

//  The last error: the server's message with its SQLSTATE, or "".
const char *gl_db_error (gl_db_t *self);

#endif
