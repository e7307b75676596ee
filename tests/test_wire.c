/*  test_wire — GLP/1 framing: headers, service names, instance ids and
    addresses (protocol/SPEC.md sections 3 and 4).
*/
#include "gl_wire.h"
#include "gl_test.h"

//  Fills text with length copies of c and a NUL; returns text.
static char *
s_repeat (char *text, char c, size_t length)
{
    memset (text, c, length);
    text [length] = '\0';
    return text;
}

//  Every command round-trips through gl_wire_header and its parser.
static void
s_test_header_good (void)
{
    for (int code = GL_WIRE_READY; code <= GL_WIRE_MEMBERSHIP; code++) {
        uint8_t header [GL_WIRE_HEADER_SIZE];
        gl_wire_header (header, (gl_wire_command_t) code);
        GL_CHECK_INT (header [0], 'G');
        GL_CHECK_INT (header [1], 'L');
        GL_CHECK_INT (header [2], GL_WIRE_VERSION);
        gl_wire_command_t command = 0;
        GL_CHECK_INT (gl_wire_header_parse (header, sizeof (header), &command), GL_WIRE_HEADER_OK);
        GL_CHECK_INT (command, code);
        GL_CHECK (strcmp (gl_wire_command_name (command), "UNKNOWN") != 0);
    }
    GL_CHECK_STR (gl_wire_command_name (GL_WIRE_SEND), "SEND");
    GL_CHECK_STR (gl_wire_command_name (GL_WIRE_MEMBERSHIP), "MEMBERSHIP");
    GL_CHECK_STR (gl_wire_command_name ((gl_wire_command_t) 0), "UNKNOWN");
    GL_CHECK_STR (gl_wire_command_name ((gl_wire_command_t) 0x0B), "UNKNOWN");
}

//  Short, long, foreign and future headers are told apart, and a failed
//  parse leaves the caller's command alone.
static void
s_test_header_bad (void)
{
    const uint8_t good [5] = { 'G', 'L', 1, GL_WIRE_SEND, 0 };
    gl_wire_command_t command = GL_WIRE_HEARTBEAT;
    GL_CHECK_INT (gl_wire_header_parse (good, 0, &command), GL_WIRE_HEADER_MALFORMED);
    GL_CHECK_INT (gl_wire_header_parse (good, 3, &command), GL_WIRE_HEADER_MALFORMED);
    GL_CHECK_INT (gl_wire_header_parse (good, 5, &command), GL_WIRE_HEADER_MALFORMED);

    const uint8_t signature [4] = { 'X', 'L', 1, GL_WIRE_SEND };
    GL_CHECK_INT (gl_wire_header_parse (signature, 4, &command), GL_WIRE_HEADER_MALFORMED);
    const uint8_t lower [4] = { 'g', 'l', 1, GL_WIRE_SEND };
    GL_CHECK_INT (gl_wire_header_parse (lower, 4, &command), GL_WIRE_HEADER_MALFORMED);

    const uint8_t version2 [4] = { 'G', 'L', 2, GL_WIRE_SEND };
    GL_CHECK_INT (gl_wire_header_parse (version2, 4, &command), GL_WIRE_HEADER_BAD_VERSION);
    const uint8_t version0 [4] = { 'G', 'L', 0, GL_WIRE_SEND };
    GL_CHECK_INT (gl_wire_header_parse (version0, 4, &command), GL_WIRE_HEADER_BAD_VERSION);

    const uint8_t codes [] = { 0x00, 0x0B, 0x7F, 0xFF };
    for (size_t index = 0; index < sizeof (codes); index++) {
        const uint8_t header [4] = { 'G', 'L', 1, codes [index] };
        GL_CHECK_INT (gl_wire_header_parse (header, 4, &command), GL_WIRE_HEADER_BAD_COMMAND);
    }
    GL_CHECK_INT (command, GL_WIRE_HEARTBEAT);
}

//  Service names: 1-64 of [a-z0-9._-].
static void
s_test_service (void)
{
    char name [80];
    GL_CHECK (gl_wire_service_valid ("writer", 6));
    GL_CHECK (gl_wire_service_valid ("fetcher.polygon", 15));
    GL_CHECK (gl_wire_service_valid ("a-b_c.9", 7));
    GL_CHECK (gl_wire_service_valid (s_repeat (name, 'a', 64), 64));
    GL_CHECK (!gl_wire_service_valid (s_repeat (name, 'a', 65), 65));
    GL_CHECK (!gl_wire_service_valid ("", 0));
    GL_CHECK (!gl_wire_service_valid ("Writer", 6));
    GL_CHECK (!gl_wire_service_valid ("host:1", 6));
    GL_CHECK (!gl_wire_service_valid ("a/b", 3));
    GL_CHECK (!gl_wire_service_valid ("a b", 3));
    GL_CHECK (!gl_wire_service_valid ("caf\xc3\xa9", 5));
    GL_CHECK (!gl_wire_service_valid ("ab\0c", 4));
    GL_CHECK (!gl_wire_service_valid ("abc\0", 4));
    //  Only size bytes are looked at: a valid prefix of a longer buffer.
    GL_CHECK (gl_wire_service_valid ("writer/x", 6));
}

//  Instance ids: 1-64 of [A-Za-z0-9._:-].
static void
s_test_instance (void)
{
    char name [80];
    GL_CHECK (gl_wire_instance_valid ("host1:4242", 10));
    GL_CHECK (gl_wire_instance_valid ("Host-1.a_b", 10));
    GL_CHECK (gl_wire_instance_valid (s_repeat (name, 'Z', 64), 64));
    GL_CHECK (!gl_wire_instance_valid (s_repeat (name, 'Z', 65), 65));
    GL_CHECK (!gl_wire_instance_valid ("", 0));
    GL_CHECK (!gl_wire_instance_valid ("a/b", 3));
    GL_CHECK (!gl_wire_instance_valid ("a@b", 3));
    GL_CHECK (!gl_wire_instance_valid ("a\0b", 3));
    GL_CHECK (!gl_wire_instance_valid ("\0", 1));
}

//  Addresses: "service" or "service/instance", nothing else.
static void
s_test_address (void)
{
    size_t service_size = 99, instance_size = 99;
    GL_CHECK (gl_wire_address_parse ("writer", 6, &service_size, &instance_size));
    GL_CHECK_INT (service_size, 6);
    GL_CHECK_INT (instance_size, 0);
    GL_CHECK (gl_wire_address_parse ("fetcher.polygon/host1:42", 24, &service_size, &instance_size));
    GL_CHECK_INT (service_size, 15);
    GL_CHECK_INT (instance_size, 8);

    char address [GL_WIRE_ADDRESS_MAX + 8];
    s_repeat (address, 'a', 64);
    address [64] = '/';
    s_repeat (address + 65, 'B', 64);
    GL_CHECK (gl_wire_address_parse (address, GL_WIRE_ADDRESS_MAX, &service_size, &instance_size));
    GL_CHECK_INT (service_size, 64);
    GL_CHECK_INT (instance_size, 64);
    s_repeat (address + 65, 'B', 65);
    GL_CHECK (!gl_wire_address_parse (address, GL_WIRE_ADDRESS_MAX + 1, &service_size, &instance_size));
    s_repeat (address, 'a', 65);
    address [65] = '/';
    address [66] = 'b';
    GL_CHECK (!gl_wire_address_parse (address, 67, &service_size, &instance_size));
    GL_CHECK (!gl_wire_address_parse (address, 65, &service_size, &instance_size));

    service_size = instance_size = 99;
    const char *bad [] = { "", "a/", "/b", "/", "a/b/c", "a//b", "A/b", "a b", "a/b c" };
    for (size_t index = 0; index < sizeof (bad) / sizeof (bad [0]); index++)
        GL_CHECK (!gl_wire_address_parse (bad [index], strlen (bad [index]),
                                          &service_size, &instance_size));
    GL_CHECK (!gl_wire_address_parse ("a\0/b", 4, &service_size, &instance_size));
    GL_CHECK (!gl_wire_address_parse ("a/b\0", 4, &service_size, &instance_size));
    GL_CHECK (!gl_wire_address_parse (NULL, 0, &service_size, &instance_size));
    //  A failed parse leaves the outputs alone.
    GL_CHECK_INT (service_size, 99);
    GL_CHECK_INT (instance_size, 99);
}

//  Follow patterns: a service name, or one followed by ".*" that matches
//  the names beginning with its prefix and the dot, never the prefix alone.
static void
s_test_pattern (void)
{
    const char *good [] = { "writer", "fetcher.*", "a.*", "a.b.*", "fetcher." };
    for (size_t index = 0; index < sizeof (good) / sizeof (good [0]); index++)
        GL_CHECK (gl_wire_pattern_valid (good [index], strlen (good [index])));
    const char *bad [] = { "", "*", ".*", "fetcher*", "Fetcher.*", "a.*.*", "a.**", "a b",
                           "fetcher.*x", "a/b" };
    for (size_t index = 0; index < sizeof (bad) / sizeof (bad [0]); index++)
        GL_CHECK (!gl_wire_pattern_valid (bad [index], strlen (bad [index])));
    char pattern [80];
    s_repeat (pattern, 'a', 62);
    memcpy (pattern + 62, ".*", 2);
    GL_CHECK (gl_wire_pattern_valid (pattern, 64));
    s_repeat (pattern, 'a', 63);
    memcpy (pattern + 63, ".*", 2);
    GL_CHECK (!gl_wire_pattern_valid (pattern, 65));

    GL_CHECK (gl_wire_pattern_matches ("writer", "writer"));
    GL_CHECK (!gl_wire_pattern_matches ("writer", "writer2"));
    GL_CHECK (!gl_wire_pattern_matches ("writer", "write"));
    GL_CHECK (gl_wire_pattern_matches ("fetcher.*", "fetcher.polygon"));
    GL_CHECK (gl_wire_pattern_matches ("fetcher.*", "fetcher.a.b"));
    GL_CHECK (!gl_wire_pattern_matches ("fetcher.*", "fetcher."));
    GL_CHECK (!gl_wire_pattern_matches ("fetcher.*", "fetcher"));
    GL_CHECK (!gl_wire_pattern_matches ("fetcher.*", "fetchers.polygon"));
    GL_CHECK (!gl_wire_pattern_matches ("fetcher.*", "writer"));
}

int
main (void)
{
    s_test_header_good ();
    s_test_header_bad ();
    s_test_service ();
    s_test_instance ();
    s_test_address ();
    s_test_pattern ();
    return gl_test_done ("test_wire");
}
