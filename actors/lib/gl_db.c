/*  gl_db — one PostgreSQL connection bound to the gapless schema.  */
#include "gl_db.h"
#include "gl_log.h"

#include <ctype.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct _gl_db_t {
    PGconn *conn;
    char *schema;
    char *error;                //  Last error, "" when none
};

//  Replaces the last error with text.
static void
s_set_error (gl_db_t *self, const char *text)
{
    free (self->error);
    self->error = strdup (text? text: "");
    //  Drop the trailing newline libpq puts on its messages
    size_t length = self->error? strlen (self->error): 0;
    while (length > 0 && isspace ((unsigned char) self->error [length - 1]))
        self->error [--length] = '\0';
}

//  Reads the URL tools/pg.sh wrote for the private cluster, or NULL.
static char *
s_private_cluster_url (void)
{
    const char *dir = getenv ("GL_PG_DIR");
    if (!dir || !*dir)
        dir = "var/pg";        //  tools/pg.sh start, run from the checkout
    char path [4096];
    snprintf (path, sizeof path, "%s/url", dir);
    FILE *file = fopen (path, "r");
    if (!file) {
        gl_log_error ("db_not_configured",
            "reason=\"no DATABASE_URL, no PG* variable and no private cluster\" expected=%s"
            " hint=\"set DATABASE_URL or run tools/pg.sh start\"", GL_LOG_VALUE (path));
        return NULL;
    }
    char line [4096] = "";
    char *url = NULL;
    if (fgets (line, sizeof line, file)) {
        line [strcspn (line, "\r\n")] = '\0';
        if (*line)
            url = strdup (line);
    }
    fclose (file);
    if (!url)
        gl_log_error ("db_not_configured", "reason=\"empty file\" file=%s", GL_LOG_VALUE (path));
    return url;
}

//  Returns the connection string to use when the caller gives none.
char *
gl_db_default_conninfo (void)
{
    const char *url = getenv ("DATABASE_URL");
    if (url && *url)
        return strdup (url);
    const char *names [] = { "PGHOST", "PGHOSTADDR", "PGPORT", "PGDATABASE",
                             "PGUSER", "PGSERVICE", NULL };
    for (int index = 0; names [index]; index++) {
        const char *value = getenv (names [index]);
        if (value && *value)
            return strdup ("");
    }
    return s_private_cluster_url ();
}

//  True if name is a schema name gapless accepts.
bool
gl_db_schema_valid (const char *name)
{
    if (!name || !*name || strlen (name) > 63 || isdigit ((unsigned char) *name))
        return false;
    for (const char *cursor = name; *cursor; cursor++)
        if (!(islower ((unsigned char) *cursor) || isdigit ((unsigned char) *cursor)
           || *cursor == '_'))
            return false;
    return true;
}

//  Routes server notices (warnings) to the log instead of raw stderr.
static void
s_log_notice (void *arg, const char *message)
{
    char text [1024];
    snprintf (text, sizeof text, "%s", message);
    text [strcspn (text, "\n")] = '\0';
    gl_log_warn ("db_notice", "message=%s", GL_LOG_VALUE (text));
}

//  Opens the libpq connection; logs and returns -1 on failure.
static int
s_connect (gl_db_t *self, const char *conninfo)
{
    //  Keywords before dbname are defaults: the expanded conninfo wins
    const char *keywords [] = { "connect_timeout", "fallback_application_name",
                                "dbname", NULL };
    const char *values [] = { "10", "gapless", conninfo, NULL };
    self->conn = PQconnectdbParams (keywords, values, 1);
    if (!self->conn) {
        gl_log_error ("db_connect_failed", "error=\"out of memory\"");
        return -1;
    }
    if (PQstatus (self->conn) != CONNECTION_OK) {
        s_set_error (self, PQerrorMessage (self->conn));
        //  Never the conninfo itself: it may hold a password
        gl_log_error ("db_connect_failed", "host=%s port=%s database=%s user=%s error=%s",
            GL_LOG_VALUE (PQhost (self->conn)), GL_LOG_VALUE (PQport (self->conn)),
            GL_LOG_VALUE (PQdb (self->conn)), GL_LOG_VALUE (PQuser (self->conn)),
            GL_LOG_VALUE (self->error));
        return -1;
    }
    PQsetNoticeProcessor (self->conn, s_log_notice, NULL);
    return 0;
}

//  Sets search path, time zone and message level for this session.
static int
s_configure_session (gl_db_t *self)
{
    char sql [256];
    snprintf (sql, sizeof sql,
        "SET search_path TO \"%s\"; SET TIME ZONE 'UTC'; "
        "SET client_min_messages TO warning", self->schema);
    if (gl_db_exec (self, sql) == -1) {
        gl_log_error ("db_session_failed", "schema=%s error=%s", GL_LOG_VALUE (self->schema),
                      GL_LOG_VALUE (self->error));
        return -1;
    }
    return 0;
}

//  Connects and binds the connection to the schema.
gl_db_t *
gl_db_new (const char *conninfo, const char *schema)
{
    if (!schema)
        schema = GL_DB_SCHEMA_DEFAULT;
    if (!gl_db_schema_valid (schema)) {
        gl_log_error ("db_bad_schema", "schema=%s"
            " expected=\"1-63 characters of a-z 0-9 _, not starting with a digit\"",
            GL_LOG_VALUE (schema));
        return NULL;
    }
    char *found = conninfo? NULL: gl_db_default_conninfo ();
    if (!conninfo && !found)
        return NULL;
    gl_db_t *self = (gl_db_t *) calloc (1, sizeof (gl_db_t));
    if (self) {
        self->schema = strdup (schema);
        self->error = strdup ("");
        if (!self->schema || !self->error
        ||  s_connect (self, conninfo? conninfo: found) == -1
        ||  s_configure_session (self) == -1)
            gl_db_destroy (&self);
    }
    free (found);
    return self;
}

//  Closes the connection and nulls the caller's pointer.
void
gl_db_destroy (gl_db_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    gl_db_t *self = *self_p;
    if (self->conn)
        PQfinish (self->conn);
    free (self->schema);
    free (self->error);
    free (self);
    *self_p = NULL;
}

//  The libpq connection.
PGconn *
gl_db_conn (gl_db_t *self)
{
    return self->conn;
}

//  The schema name.
const char *
gl_db_schema (gl_db_t *self)
{
    return self->schema;
}

//  Checks a result's status; keeps the server's message on failure.
PGresult *
gl_db_exec_busy (gl_db_t *self, const char *sql, int count, const char *const *values,
                 int busy_ms, gl_db_busy_fn *busy, void *argument)
{
    if (!PQsendQueryParams (self->conn, sql, count, NULL, values, NULL, NULL, 0))
        return NULL;            //  the reason is the connection's error message
    while (PQisBusy (self->conn)) {
        struct pollfd item = { PQsocket (self->conn), POLLIN, 0 };
        int ready = poll (&item, 1, busy_ms);
        if (ready == 0 && busy)
            busy (argument);
        if ((ready < 0 && errno != EINTR) || (ready > 0 && !PQconsumeInput (self->conn)))
            break;              //  PQgetResult says what went wrong
    }
    //  Like PQexecParams: the last result (an error's, if one came), or
    //  the COPY's, which leaves the connection copying.
    PGresult *last = NULL, *result;
    while ((result = PQgetResult (self->conn))) {
        PQclear (last);
        last = result;
        ExecStatusType status = PQresultStatus (result);
        if (status == PGRES_COPY_IN || status == PGRES_COPY_OUT || status == PGRES_COPY_BOTH
        ||  PQstatus (self->conn) == CONNECTION_BAD)
            break;
    }
    return last;
}

int
gl_db_check (gl_db_t *self, PGresult *result, ExecStatusType expected)
{
    if (result && PQresultStatus (result) == expected) {
        s_set_error (self, "");
        return 0;
    }
    if (!result) {
        s_set_error (self, PQerrorMessage (self->conn));
        return -1;
    }
    const char *message = PQresultErrorMessage (result);
    const char *state = PQresultErrorField (result, PG_DIAG_SQLSTATE);
    char text [2048];
    if (*message)
        snprintf (text, sizeof text, "%sSQLSTATE %s", message, state? state: "none");
    else
        snprintf (text, sizeof text, "expected result %s, got %s",
                  PQresStatus (expected), PQresStatus (PQresultStatus (result)));
    s_set_error (self, text);
    return -1;
}

//  Runs SQL that returns no rows.
int
gl_db_exec (gl_db_t *self, const char *sql)
{
    PGresult *result = PQexec (self->conn, sql);
    int rc = gl_db_check (self, result, PGRES_COMMAND_OK);
    PQclear (result);
    return rc;
}

//  The last error, or "".
const char *
gl_db_error (gl_db_t *self)
{
    return self->error;
}
