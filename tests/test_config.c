/*  test_config — ZPL loading, environment overrides, validation errors
    that name the key, and secrets from the environment or an owner-only
    file. */
#include "gl_config.h"
#include "gl_test.h"
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static void
s_write (const char *path, const char *text, mode_t mode)
{
    FILE *file = fopen (path, "w");
    fputs (text, file);
    fclose (file);
    chmod (path, mode);
}

int
main (void)
{
    char error [GL_CONFIG_ERROR_MAX];
    char directory [] = "/tmp/test_config.XXXXXX";
    GL_CHECK (mkdtemp (directory) != NULL);
    char path [256], secret_path [256], bad_path [256];
    snprintf (path, sizeof (path), "%s/gapless.cfg", directory);
    snprintf (secret_path, sizeof (secret_path), "%s/key", directory);
    snprintf (bad_path, sizeof (bad_path), "%s/bad.cfg", directory);
    s_write (path,
        "broker\n"
        "    bind = \"tcp://127.0.0.1:5570\"\n"
        "    heartbeat_ms = 250\n"
        "    queue_limit = lots\n"
        "fetcher\n"
        "    polygon\n"
        "        api_key = \"in-file\"\n", 0644);

    //  Values from the file, defaults, and command-line style sets.
    gl_config_t *config = gl_config_load (path, error);
    GL_CHECK (config != NULL);
    GL_CHECK_STR (gl_config_get (config, "broker/bind", NULL), "tcp://127.0.0.1:5570");
    GL_CHECK_STR (gl_config_get (config, "broker/missing", "fallback"), "fallback");
    GL_CHECK_INT (gl_config_set (config, "broker/bind", "ipc://x"), 0);
    GL_CHECK_STR (gl_config_get (config, "broker/bind", NULL), "ipc://x");

    //  Integers: in range, defaulted, and refused with the key named.
    int64_t value = 0;
    GL_CHECK_INT (gl_config_int (config, "broker/heartbeat_ms", 1000, 10, 60000, &value, error), 0);
    GL_CHECK_INT (value, 250);
    GL_CHECK_INT (gl_config_int (config, "broker/absent", 77, 0, 100, &value, error), 0);
    GL_CHECK_INT (value, 77);
    GL_CHECK_INT (gl_config_int (config, "broker/queue_limit", 1, 1, 10, &value, error), -1);
    GL_CHECK_STR (error, "config: broker/queue_limit = 'lots': expected an integer from 1 to 10");
    GL_CHECK_INT (gl_config_int (config, "broker/heartbeat_ms", 1, 1, 100, &value, error), -1);
    GL_CHECK (strstr (error, "broker/heartbeat_ms = '250'") != NULL);

    //  The environment wins over the file.
    setenv ("GAPLESS_BROKER_HEARTBEAT_MS", "500", 1);
    GL_CHECK_INT (gl_config_int (config, "broker/heartbeat_ms", 1000, 10, 60000, &value, error), 0);
    GL_CHECK_INT (value, 500);
    unsetenv ("GAPLESS_BROKER_HEARTBEAT_MS");

    //  Secrets: the file's value, the environment, an owner-only file, and
    //  a file others can read is refused.
    char secret [64];
    GL_CHECK_INT (gl_config_secret (config, "fetcher/polygon/api_key", secret, sizeof (secret), error), 0);
    GL_CHECK_STR (secret, "in-file");
    setenv ("GAPLESS_FETCHER_POLYGON_API_KEY", "from-env", 1);
    GL_CHECK_INT (gl_config_secret (config, "fetcher/polygon/api_key", secret, sizeof (secret), error), 0);
    GL_CHECK_STR (secret, "from-env");
    unsetenv ("GAPLESS_FETCHER_POLYGON_API_KEY");
    s_write (secret_path, "from-file\n", 0600);
    gl_config_set (config, "fetcher/polygon/api_key_file", secret_path);
    GL_CHECK_INT (gl_config_secret (config, "fetcher/polygon/api_key", secret, sizeof (secret), error), 0);
    GL_CHECK_STR (secret, "from-file");
    chmod (secret_path, 0644);
    GL_CHECK_INT (gl_config_secret (config, "fetcher/polygon/api_key", secret, sizeof (secret), error), -1);
    GL_CHECK (strstr (error, "expected a file only its owner can read") != NULL);
    GL_CHECK (strstr (error, "from-file") == NULL);         //  never the secret itself
    char tiny [4];
    gl_config_set (config, "fetcher/tiny/api_key", "too-long");
    GL_CHECK_INT (gl_config_secret (config, "fetcher/tiny/api_key", tiny, sizeof (tiny), error), -1);
    GL_CHECK (strstr (error, "too-long") == NULL);
    gl_config_destroy (&config);
    gl_config_destroy (&config);
    GL_CHECK (config == NULL);

    //  A missing file and a file that is not ZPL are clear errors.
    GL_CHECK (gl_config_load ("/nonexistent/gapless.cfg", error) == NULL);
    GL_CHECK (strstr (error, "cannot read /nonexistent/gapless.cfg") != NULL);
    s_write (bad_path, "broker\n  bind = \"unterminated\n", 0644);
    GL_CHECK (gl_config_load (bad_path, error) == NULL);
    GL_CHECK (strstr (error, "is not valid ZPL") != NULL);

    //  No file: defaults and the environment only.
    config = gl_config_load (NULL, error);
    GL_CHECK (config != NULL);
    GL_CHECK_STR (gl_config_get (config, "broker/bind", "default"), "default");
    gl_config_destroy (&config);

    unlink (path);
    unlink (secret_path);
    unlink (bad_path);
    rmdir (directory);
    return gl_test_done ("test_config");
}
