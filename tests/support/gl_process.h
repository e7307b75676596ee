/*  gl_process — start and stop the real gapless processes a test needs.

    A child's stdout and stderr go to a log file under the test's working
    directory so a failing test can show what the daemon said.
*/
#ifndef GL_PROCESS_H_INCLUDED
#define GL_PROCESS_H_INCLUDED

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

//  Starts argv[0] (a path) with the arguments, output to log_path.
//  Returns the pid, or -1.
static inline pid_t
gl_process_start (char *const argv [], const char *log_path)
{
    pid_t pid = fork ();
    if (pid == 0) {
        int log = open (log_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (log >= 0) {
            dup2 (log, 1);
            dup2 (log, 2);
        }
        execv (argv [0], argv);
        fprintf (stderr, "cannot exec %s\n", argv [0]);
        _exit (127);
    }
    return pid;
}

//  Sends the signal and waits for the process; returns its wait status.
static inline int
gl_process_stop (pid_t pid, int signal_number)
{
    int status = 0;
    if (pid <= 0)
        return -1;
    kill (pid, signal_number);
    waitpid (pid, &status, 0);
    return status;
}

//  Runs a shell command line (the test's own words); what it prints on
//  stdout (add 2>&1 for stderr) goes to output, cut to size. Returns its
//  exit status, or -1.
static inline int
gl_process_run (const char *command, char *output, size_t size)
{
    FILE *pipe = popen (command, "r");
    size_t used = pipe? fread (output, 1, size - 1, pipe): 0;
    output [used] = '\0';
    int status = pipe? pclose (pipe): -1;
    return WIFEXITED (status)? WEXITSTATUS (status): -1;
}

//  The integer after "key": in a JSON text (the CLI's --json), or -1.
static inline int64_t
gl_process_json_number (const char *json, const char *key)
{
    char pattern [64];
    snprintf (pattern, sizeof pattern, "\"%s\": ", key);
    const char *found = strstr (json, pattern);
    return found? atoll (found + strlen (pattern)): -1;
}

//  A TCP port on 127.0.0.1 that was free a moment ago.
static inline int
gl_process_free_port (void)
{
    int handle = socket (AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in address = { .sin_family = AF_INET,
                                   .sin_addr.s_addr = htonl (INADDR_LOOPBACK) };
    socklen_t size = sizeof (address);
    int port = -1;
    if (bind (handle, (struct sockaddr *) &address, sizeof (address)) == 0
    &&  getsockname (handle, (struct sockaddr *) &address, &size) == 0)
        port = ntohs (address.sin_port);
    close (handle);
    return port;
}

//  Builds "<GL_BINARY_DIR>/<relative>" into buffer.
static inline const char *
gl_process_binary (const char *relative, char *buffer, size_t size)
{
    const char *root = getenv ("GL_BINARY_DIR");
    snprintf (buffer, size, "%s/%s", root? root: ".", relative);
    return buffer;
}

//  A field of /proc/<pid>/status in kB ("VmRSS", "VmHWM": the peak), or -1.
static inline long
gl_process_status_kb (pid_t pid, const char *field)
{
    char path [64], line [256];
    snprintf (path, sizeof path, "/proc/%d/status", (int) pid);
    FILE *file = fopen (path, "r");
    long value = -1;
    size_t length = strlen (field);
    while (file && fgets (line, sizeof line, file))
        if (strncmp (line, field, length) == 0 && line [length] == ':')
            value = atol (line + length + 1);
    if (file)
        fclose (file);
    return value;
}

//  CPU seconds (user and system) a process has used, from /proc/<pid>/stat.
static inline double
gl_process_cpu_seconds (pid_t pid)
{
    char path [64], line [1024];
    snprintf (path, sizeof path, "/proc/%d/stat", (int) pid);
    FILE *file = fopen (path, "r");
    if (!file)
        return -1;
    size_t used = fread (line, 1, sizeof line - 1, file);
    fclose (file);
    line [used] = '\0';
    const char *fields = strrchr (line, ')');
    unsigned long user = 0, system = 0;
    if (!fields || sscanf (fields + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
                           &user, &system) != 2)
        return -1;
    return (double) (user + system) / (double) sysconf (_SC_CLK_TCK);
}

//  Starts the build's binary at relative (see gl_process_binary) with the
//  NULL-terminated arguments (at most 30), output to log_path. Returns
//  the pid, or -1.
static inline pid_t
gl_process_spawn (const char *relative, char *const arguments [], const char *log_path)
{
    char path [512];
    char *argv [32] = { (char *) gl_process_binary (relative, path, sizeof path) };
    for (int index = 0; arguments [index] && index < 30; index++)
        argv [index + 1] = arguments [index];
    return gl_process_start (argv, log_path);
}

#endif
