/*  gl_migrate — applies migrations/NNNN_name.sql in order to one schema.

    Applied migrations are recorded in <schema>.schema_migrations (version,
    name, checksum, applied_at). The checksum is the SHA-256 of the file's
    bytes, computed by PostgreSQL's sha256(), written "sha256:<hex>". Each
    migration runs in its own transaction with its record; a session
    advisory lock keyed by the schema name keeps two migrators from racing.
    A migration file must not hold BEGIN/COMMIT of its own, nor name a
    schema: it runs with search_path set to the target schema.

    A migration whose file changed after it was applied is refused: restore
    the file, or put the change in a new migration.
*/
#ifndef GL_MIGRATE_H_INCLUDED
#define GL_MIGRATE_H_INCLUDED

#include <stdio.h>
#include "gl_db.h"

typedef struct _gl_migrate_t gl_migrate_t;

//  One migration built into the library: its file name and bytes.
typedef struct {
    const char *file;           //  "0001_reference.sql"; NULL ends the table
    const char *text;
    size_t size;
} gl_migrate_source_t;

//  The migrations/ folder as it was at build time, ending with a NULL file.
extern const gl_migrate_source_t gl_migrate_builtin [];

//  The migrations directory to use when none is given: $GL_MIGRATIONS_DIR,
//  or NULL for the built-in migrations.
const char *gl_migrate_default_directory (void);

//  Lists the migration files of directory (names NNNN_name.sql, other
//  files ignored), or the built-in ones when directory is NULL, for the
//  schema of db; db stays owned by the caller.
//  Returns NULL with a log line if the directory cannot be read, holds no
//  migration or holds two with the same version. Caller owns return value.
gl_migrate_t *gl_migrate_new (gl_db_t *db, const char *directory);

//  Destroys the runner and nulls the caller's pointer. Safe twice.
void gl_migrate_destroy (gl_migrate_t **self_p);

//  Applies every pending migration in version order. Returns how many it
//  applied (0 when none was pending), or -1 with gl_migrate_error set: an
//  applied file changed or vanished (nothing is applied then), or a
//  migration failed (it is rolled back; those before it stay applied).
int gl_migrate_apply (gl_migrate_t *self);

//  Prints a table of every migration and its state (applied with its
//  time, pending, changed, missing) to out. Changes nothing. Returns the
//  number pending, or -1 with gl_migrate_error set if an applied file
//  changed or vanished, or the database failed.
int gl_migrate_status (gl_migrate_t *self, FILE *out);

//  The last error, or "".
const char *gl_migrate_error (gl_migrate_t *self);

#endif
