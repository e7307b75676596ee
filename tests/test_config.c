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
        "        api_key = \"in-file\"\n"
        "    yahoo\n"
        "        api_key = \"\"\n", 0644);

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

    //  Secrets: one written in a configuration file others can read is
    //  refused, naming the key, the file and the remedy, never the secret,
    //  even when the environment gives it too.
    char secret [64];
    GL_CHECK_INT (gl_config_secret (config, "fetcher/polygon/api_key", secret, sizeof (secret), error), -1);
    GL_CHECK (strstr (error, "fetcher/polygon/api_key") != NULL);
    GL_CHECK (strstr (error, path) != NULL);
    GL_CHECK (strstr (error, "mode 644") != NULL);
    GL_CHECK (strstr (error, "environment") != NULL);
    GL_CHECK (strstr (error, "api_key_file") != NULL);
    GL_CHECK (strstr (error, "0600") != NULL);
    GL_CHECK (strstr (error, "in-file") == NULL);
    setenv ("GAPLESS_FETCHER_POLYGON_API_KEY", "from-env", 1);
    GL_CHECK_INT (gl_config_secret (config, "fetcher/polygon/api_key", secret, sizeof (secret), error), -1);
    unsetenv ("GAPLESS_FETCHER_POLYGON_API_KEY");
    //  Group-readable is as bad; an empty inline value is no secret.
    chmod (path, 0640);
    gl_config_t *loose = gl_config_load (path, error);
    GL_CHECK (loose != NULL);
    GL_CHECK_INT (gl_config_secret (loose, "fetcher/polygon/api_key", secret, sizeof (secret), error), -1);
    GL_CHECK (strstr (error, "mode 640") != NULL);
    GL_CHECK_INT (gl_config_secret (loose, "fetcher/yahoo/api_key", secret, sizeof (secret), error), 0);
    GL_CHECK_STR (secret, "");
    gl_config_destroy (&loose);
    //  In a file only its owner can read: taken (with a warning), and the
    //  environment wins over it.
    chmod (path, 0600);
    gl_config_t *owned = gl_config_load (path, error);
    GL_CHECK (owned != NULL);
    GL_CHECK_INT (gl_config_secret (owned, "fetcher/polygon/api_key", secret, sizeof (secret), error), 0);
    GL_CHECK_STR (secret, "in-file");
    setenv ("GAPLESS_FETCHER_POLYGON_API_KEY", "from-env", 1);
    GL_CHECK_INT (gl_config_secret (owned, "fetcher/polygon/api_key", secret, sizeof (secret), error), 0);
    GL_CHECK_STR (secret, "from-env");
    unsetenv ("GAPLESS_FETCHER_POLYGON_API_KEY");
    gl_config_destroy (&owned);
    chmod (path, 0644);
    //  A value the program sets (a command-line flag) is not the file's.
    GL_CHECK_INT (gl_config_set (config, "fetcher/polygon/api_key", "from-flag"), 0);
    GL_CHECK_INT (gl_config_secret (config, "fetcher/polygon/api_key", secret, sizeof (secret), error), 0);
    GL_CHECK_STR (secret, "from-flag");
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
