/*  gl_store_log — logfmt lines on stderr for the store modules.

    gl_store_log ("error", "db_connect_failed", "host", host, "error", text, NULL)
    prints: level=error event=db_connect_failed host=/tmp error="could not ..."
    Values are quoted when they hold spaces, quotes, '=' or control
    characters; newlines become \n. NULL values print as "". Callers pass
    no secrets: connection strings may hold passwords, so gl_db logs host,
    port, database and user, never the string itself.
*/
#ifndef GL_STORE_LOG_H_INCLUDED
#define GL_STORE_LOG_H_INCLUDED

//  Prints one logfmt line: level, event, then key/value string pairs
//  ending with a NULL key.
void gl_store_log (const char *level, const char *event, ...);

#endif
