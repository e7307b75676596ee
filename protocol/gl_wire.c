/*  gl_wire — GLP/1 framing: header, commands, names and addresses. */
#include "gl_wire.h"
#include <string.h>

void
gl_wire_header (uint8_t *header, gl_wire_command_t command)
{
    header [0] = 'G';
    header [1] = 'L';
    header [2] = GL_WIRE_VERSION;
    header [3] = (uint8_t) command;
}

gl_wire_header_status_t
gl_wire_header_parse (const void *data, size_t size, gl_wire_command_t *command_p)
{
    const uint8_t *bytes = data;
    if (size != GL_WIRE_HEADER_SIZE || bytes [0] != 'G' || bytes [1] != 'L')
        return GL_WIRE_HEADER_MALFORMED;
    if (bytes [2] != GL_WIRE_VERSION)
        return GL_WIRE_HEADER_BAD_VERSION;
    if (bytes [3] < GL_WIRE_READY || bytes [3] > GL_WIRE_MEMBERSHIP)
        return GL_WIRE_HEADER_BAD_COMMAND;
    *command_p = (gl_wire_command_t) bytes [3];
    return GL_WIRE_HEADER_OK;
}

const char *
gl_wire_command_name (gl_wire_command_t command)
{
    static const char *names [] = {
        "UNKNOWN", "READY", "WELCOME", "HEARTBEAT", "CREDIT", "DISCONNECT",
        "SEND", "DELIVER", "BOUNCE", "ERROR", "MEMBERSHIP"
    };
    if (command < GL_WIRE_READY || command > GL_WIRE_MEMBERSHIP)
        return names [0];
    return names [command];
}

//  True if every byte is allowed by the accept table and the length fits.
static bool
s_name_valid (const char *data, size_t size, const char *extra, bool upper)
{
    if (size == 0 || size > GL_WIRE_NAME_MAX)
        return false;
    for (size_t index = 0; index < size; index++) {
        char c = data [index];
        bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
               || (upper && c >= 'A' && c <= 'Z')
               || (c != '\0' && strchr (extra, c) != NULL);
        if (!ok)
            return false;
    }
    return true;
}

bool
gl_wire_service_valid (const char *data, size_t size)
{
    return s_name_valid (data, size, "._-", false);
}

bool
gl_wire_instance_valid (const char *data, size_t size)
{
    return s_name_valid (data, size, "._:-", true);
}

bool
gl_wire_pattern_valid (const char *data, size_t size)
{
    if (size > GL_WIRE_NAME_MAX)
        return false;
    if (size > 2 && data [size - 2] == '.' && data [size - 1] == '*')
        return gl_wire_service_valid (data, size - 2);
    return gl_wire_service_valid (data, size);
}

bool
gl_wire_pattern_matches (const char *pattern, const char *service)
{
    size_t size = strlen (pattern);
    if (size > 2 && pattern [size - 1] == '*')      //  "prefix.*": keep the dot
        return strncmp (pattern, service, size - 1) == 0 && strlen (service) > size - 1;
    return strcmp (pattern, service) == 0;
}

bool
gl_wire_address_parse (const char *data, size_t size,
                       size_t *service_size_p, size_t *instance_size_p)
{
    const char *slash = size? memchr (data, '/', size): NULL;
    size_t service_size = slash? (size_t) (slash - data): size;
    size_t instance_size = slash? size - service_size - 1: 0;
    if (!gl_wire_service_valid (data, service_size))
        return false;
    if (slash && !gl_wire_instance_valid (slash + 1, instance_size))
        return false;
    *service_size_p = service_size;
    *instance_size_p = instance_size;
    return true;
}
