/*  gl_cli_args — argument checks shared by the gapless commands.  */
#include "gl_cli_args.h"
#include "gl_msg.h"
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

//  The characters of a ticker besides letters and digits (gl_msg's rule).
#define S_TICKER_PUNCTUATION ".^=:/_-"

int
gl_cli_args_integer (const char *text, int64_t minimum, int64_t maximum, int64_t *value)
{
    const char *digits = text + (*text == '-');
    if (!*digits || strspn (digits, "0123456789") != strlen (digits))
        return -1;
    errno = 0;
    long long number = strtoll (text, NULL, 10);
    if (errno == ERANGE || number < minimum || number > maximum)
        return -1;
    *value = number;
    return 0;
}

//  True for a letter or digit in ASCII (not the locale's).
static bool
s_alphanumeric (char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

int
gl_cli_args_symbol (const char *ticker, char *reason, size_t size)
{
    size_t length = strlen (ticker);
    if (length == 0) {
        snprintf (reason, size, "expected a ticker, got an empty one (two commas, or one at"
                  " an end?)");
        return -1;
    }
    if (length > GL_MSG_SYMBOL_MAX) {
        snprintf (reason, size, "expected a ticker of at most %d characters, got '%.32s...'",
                  GL_MSG_SYMBOL_MAX, ticker);
        return -1;
    }
    for (const char *c = ticker; *c; c++)
        if (!s_alphanumeric (*c) && !strchr (S_TICKER_PUNCTUATION, *c)) {
            snprintf (reason, size, "expected a ticker of A-Z a-z 0-9 %s, got '%s' (the"
                      " character 0x%02x)", S_TICKER_PUNCTUATION, ticker,
                      (unsigned) (unsigned char) *c);
            return -1;
        }
    return 0;
}

//  Checks the HOST:PORT of a tcp endpoint. Returns 0 or -1 with the reason.
static int
s_tcp_address (const char *endpoint, const char *address, char *reason, size_t size)
{
    const char *colon = strrchr (address, ':');
    int64_t port = 0;
    if (!colon || colon == address) {
        snprintf (reason, size, "'%s': expected tcp://HOST:PORT", endpoint);
        return -1;
    }
    if (gl_cli_args_integer (colon + 1, 1, 65535, &port) == -1) {
        snprintf (reason, size, "'%s': the port must be 1 to 65535, got '%s'", endpoint,
                  colon + 1);
        return -1;
    }
    for (const char *c = address; c < colon; c++)
        if (!s_alphanumeric (*c) && !strchr (".-_[]:", *c)) {
            snprintf (reason, size, "'%s': the host '%.*s' has the character '%c'", endpoint,
                      (int) (colon - address), address, *c >= 0x20 && *c < 0x7f? *c: '?');
            return -1;
        }
    return 0;
}

int
gl_cli_args_endpoint (const char *endpoint, char *reason, size_t size)
{
    if (strncmp (endpoint, "tcp://", 6) == 0)
        return s_tcp_address (endpoint, endpoint + 6, reason, size);
    if (strncmp (endpoint, "ipc://", 6) == 0) {
        size_t length = strlen (endpoint + 6);
        if (length == 0 || length >= sizeof ((struct sockaddr_un *) NULL)->sun_path) {
            snprintf (reason, size, "'%s': expected ipc://PATH, a path of 1 to %zu bytes",
                      endpoint, sizeof ((struct sockaddr_un *) NULL)->sun_path - 1);
            return -1;
        }
        return 0;
    }
    if (strncmp (endpoint, "inproc://", 9) == 0)
        snprintf (reason, size, "'%s': inproc:// reaches only the same process; the daemons"
                  " run in others: use tcp://HOST:PORT or ipc://PATH", endpoint);
    else
        snprintf (reason, size, "'%s': expected tcp://HOST:PORT or ipc://PATH", endpoint);
    return -1;
}
