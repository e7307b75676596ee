/*  gl_wire — GLP/1 framing: the 4-byte header, command codes, and the
    names and addresses of section 4 of protocol/SPEC.md.
*/
#ifndef GL_WIRE_H_INCLUDED
#define GL_WIRE_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GL_WIRE_VERSION     1
#define GL_WIRE_HEADER_SIZE 4
#define GL_WIRE_NAME_MAX    64
#define GL_WIRE_ADDRESS_MAX (2 * GL_WIRE_NAME_MAX + 1)

typedef enum {
    GL_WIRE_READY = 0x01,
    GL_WIRE_WELCOME = 0x02,
    GL_WIRE_HEARTBEAT = 0x03,
    GL_WIRE_CREDIT = 0x04,
    GL_WIRE_DISCONNECT = 0x05,
    GL_WIRE_SEND = 0x06,
    GL_WIRE_DELIVER = 0x07,
    GL_WIRE_BOUNCE = 0x08,
    GL_WIRE_ERROR = 0x09,
    GL_WIRE_MEMBERSHIP = 0x0A,
} gl_wire_command_t;

typedef enum {
    GL_WIRE_HEADER_OK = 0,
    GL_WIRE_HEADER_MALFORMED = -1,      //  wrong size or signature
    GL_WIRE_HEADER_BAD_VERSION = -2,
    GL_WIRE_HEADER_BAD_COMMAND = -3,
} gl_wire_header_status_t;

//  Writes a version-1 header for the command into header[4].
void gl_wire_header (uint8_t *header, gl_wire_command_t command);

//  Checks a received header frame; on success stores the command.
gl_wire_header_status_t gl_wire_header_parse (const void *data, size_t size,
                                              gl_wire_command_t *command_p);

//  The command's name ("SEND"), or "UNKNOWN".
const char *gl_wire_command_name (gl_wire_command_t command);

//  True if the bytes are a valid service name: 1-64 of [a-z0-9._-].
bool gl_wire_service_valid (const char *data, size_t size);

//  True if the bytes are a valid instance id: 1-64 of [A-Za-z0-9._:-].
bool gl_wire_instance_valid (const char *data, size_t size);

//  True if the bytes are a follow pattern (ready.follow): a service name,
//  or a service name followed by ".*" (a prefix), 64 bytes in all at most.
bool gl_wire_pattern_valid (const char *data, size_t size);

//  True if the service name matches the valid pattern: equal to it, or,
//  for "prefix.*", beginning with "prefix." and longer than that.
bool gl_wire_pattern_matches (const char *pattern, const char *service);

//  Splits an address "service" or "service/instance". Returns true if it
//  is valid, with the service's length in *service_size_p and the
//  instance's in *instance_size_p (0 when the address names a service).
bool gl_wire_address_parse (const char *data, size_t size,
                            size_t *service_size_p, size_t *instance_size_p);

#endif
