/*  test_log — logfmt lines: fields, order, the level threshold, and free
    text quoted into one value. */
#include "gl_log.h"
#include "gl_test.h"
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

//  Runs the logging in a child whose stderr is a file; returns the text.
static char *
s_capture (const char *threshold)
{
    char path [] = "/tmp/test_log.XXXXXX";
    int file = mkstemp (path);
    pid_t pid = fork ();
    if (pid == 0) {
        dup2 (file, 2);
        if (threshold)
            setenv ("GAPLESS_LOG_LEVEL", threshold, 1);
        gl_log_set_name ("tester");
        gl_log_debug ("quiet_event", "n=%d", 1);
        gl_log_info ("started", "pid=%d", 42);
        gl_log_warn ("frame_rejected", "peer=%s reason=%s", "fetcher.polygon/2", "bad_version");
        gl_log_error ("bare", "%s", "");
        _exit (0);
    }
    int status;
    waitpid (pid, &status, 0);
    static char text [4096];
    ssize_t size = pread (file, text, sizeof (text) - 1, 0);
    text [size > 0? size: 0] = '\0';
    close (file);
    unlink (path);
    return text;
}

//  Plain values stay bare; others are quoted and escaped, and cut to fit.
static void
s_test_values (void)
{
    char buffer [64];
    GL_CHECK_STR (gl_log_value ("/tmp/pg", buffer, sizeof buffer), "/tmp/pg");
    GL_CHECK_STR (gl_log_value ("bad \"x\"\nnext", buffer, sizeof buffer),
                  "\"bad \\\"x\\\"\\nnext\"");
    GL_CHECK_STR (gl_log_value ("", buffer, sizeof buffer), "\"\"");
    GL_CHECK_STR (gl_log_value (NULL, buffer, sizeof buffer), "\"\"");
    GL_CHECK_STR (gl_log_value ("a=b\x01", buffer, sizeof buffer), "\"a=b\\x01\"");
    char small [8];
    const char *cut = gl_log_value ("a long value with spaces", small, sizeof small);
    GL_CHECK (strlen (cut) < sizeof small);
    GL_CHECK (cut [0] == '"' && cut [strlen (cut) - 1] == '"');
    GL_CHECK_STR (GL_LOG_VALUE ("two words"), "\"two words\"");
}

int
main (void)
{
    s_test_values ();
    char *text = s_capture (NULL);
    GL_CHECK (strstr (text, "quiet_event") == NULL);        //  debug is below info
    GL_CHECK (strstr (text, " level=info proc=tester event=started pid=42\n") != NULL);
    GL_CHECK (strstr (text,
        " level=warn proc=tester event=frame_rejected peer=fetcher.polygon/2 reason=bad_version\n")
        != NULL);
    GL_CHECK (strstr (text, " level=error proc=tester event=bare\n") != NULL);
    GL_CHECK (strncmp (text, "ts=", 3) == 0);
    GL_CHECK (text [26] == 'Z');                            //  ts=YYYY-MM-DDTHH:MM:SS.mmmZ

    text = s_capture ("debug");
    GL_CHECK (strstr (text, "event=quiet_event n=1") != NULL);
    text = s_capture ("error");
    GL_CHECK (strstr (text, "event=started") == NULL);
    GL_CHECK (strstr (text, "event=bare") != NULL);
    return gl_test_done ("test_log");
}
