/*  fuzz_ops_health — libFuzzer target for what ops makes of a fetcher's
    health fields, which any peer can send: the input is split into lines
    of key=value (at most 32), fed to gl_ops_health_sample for two
    instances, then a departure and a view. Nothing may crash, leak or
    read out of bounds; the totals stay within what was given.
*/
#include "gl_ops_health.h"
#include <stdlib.h>
#include <string.h>

#define S_FIELDS 32

//  libFuzzer's entry point.
int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    char *text = (char *) malloc (size + 1);
    if (!text)
        return 0;
    memcpy (text, data, size);
    text [size] = '\0';
    gl_msg_field_t fields [S_FIELDS];
    size_t count = 0;
    char *saveptr = NULL;
    for (char *line = strtok_r (text, "\n", &saveptr); line && count < S_FIELDS;
         line = strtok_r (NULL, "\n", &saveptr)) {
        char *equals = strchr (line, '=');
        if (!equals)
            continue;
        *equals = '\0';
        fields [count++] = (gl_msg_field_t) { line, equals + 1 };
    }
    gl_ops_health_t *health = gl_ops_health_new ();
    char refused [GL_MSG_NAME_MAX + 1];
    gl_ops_health_sample (health, GL_PROVIDER_POLYGON, "a", fields, count, 1000, refused);
    gl_ops_health_sample (health, GL_PROVIDER_POLYGON, "b", fields, count, 2000, refused);
    char *members [] = { "b" };
    gl_ops_health_members (health, GL_PROVIDER_POLYGON, members, 1);
    gl_ops_provider_view_t view = gl_ops_health_view (health, GL_PROVIDER_POLYGON);
    if (view.score < 0 || view.score > 1 || view.instances != 1)
        abort ();
    gl_ops_health_destroy (&health);
    free (text);
    return 0;
}
