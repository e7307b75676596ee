/*  gl_sim — the gapless-sim server. See gl_sim.h.

    One request runs: admin path? -> admin. Otherwise the provider reads
    the credential (-> 401/403), the limiter admits it (-> 429 or a 403
    ban, with Retry-After), the fault PRNG draws, and the provider renders
    the answer, which the fault may delay, drop, break or empty. Every
    answer is counted in the audit under the key's label.
*/
#include "gl_sim.h"
#include "gl_log.h"
#include "gl_simalpaca.h"
#include "gl_simfault.h"
#include "gl_simfinnhub.h"
#include "gl_simhttp.h"
#include "gl_simlimit.h"
#include "gl_simpolygon.h"
#include "gl_simtradier.h"
#include "gl_simyahoo.h"
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PROVIDERS 5
#define CREDENTIAL_MAX 256

typedef struct _gl_sim_t gl_sim_t;

//  One listener: a provider (or none, for the admin listener).
typedef struct {
    gl_sim_t *sim;
    const gl_simprovider_t *provider;
    zconfig_t *options;
    gl_simlimit_t *limit;
    gl_simfault_t *fault;
    int port;
    struct MHD_Daemon *daemon;
    char base_url [64];
} s_listener_t;

struct _gl_sim_t {
    zconfig_t *config;
    gl_calendar_t *calendar;
    uint64_t seed;
    struct in_addr address;                     //  every listener's (sim/address)
    char address_text [INET_ADDRSTRLEN];
    s_listener_t listeners [PROVIDERS + 1];     //  the last one is admin
    pthread_mutex_t mutex;
    pthread_cond_t stopping_changed;
    bool stopping;
};

//  Copy of a body for a truncated transfer.
typedef struct {
    char *data;
    size_t size;
    size_t cut;
} s_truncated_t;

//  The five providers, in listener order.
static const gl_simprovider_t *
s_provider (size_t index)
{
    switch (index) {
        case 0: return gl_simpolygon_provider ();
        case 1: return gl_simyahoo_provider ();
        case 2: return gl_simtradier_provider ();
        case 3: return gl_simfinnhub_provider ();
        default: return gl_simalpaca_provider ();
    }
}

//  Reads an integer setting; -1 with a logged reason if malformed.
static int
s_setting_integer (zconfig_t *config, const char *path, const char *fallback, int64_t minimum,
                   int64_t maximum, int64_t *value)
{
    const char *text = zconfig_get (config, path, fallback);
    if (gl_simhttp_parse_integer (text, value) != 0 || *value < minimum || *value > maximum) {
        gl_log_error ("bad_config", "path=%s value=\"%s\" expected=\"integer %lld..%lld\"",
                 path, text, (long long) minimum, (long long) maximum);
        return -1;
    }
    return 0;
}

//  Applies every setting of a provider's "faults" section.
static int
s_configure_faults (s_listener_t *listener)
{
    zconfig_t *faults = listener->options? zconfig_locate (listener->options, "faults"): NULL;
    for (zconfig_t *item = faults? zconfig_child (faults): NULL; item; item = zconfig_next (item)) {
        const char *value = zconfig_value (item)? zconfig_value (item): "";
        if (gl_simfault_set (listener->fault, zconfig_name (item), value) != 0) {
            gl_log_error ("bad_config", "path=sim/%s/faults/%s value=\"%s\" "
                     "expected=\"probability 0..1 or hang_ms/slow_ms >= 0\"",
                     listener->provider->name, zconfig_name (item), value);
            return -1;
        }
    }
    return 0;
}

//  Builds one provider's listener from sim/<name>.
static int
s_listener_configure (gl_sim_t *self, s_listener_t *listener, const gl_simprovider_t *provider)
{
    char path [64];
    int64_t port, ban;
    listener->sim = self;
    listener->provider = provider;
    const char *name = provider? provider->name: "admin";
    snprintf (path, sizeof path, "sim/%s", name);
    listener->options = zconfig_locate (self->config, path);
    snprintf (path, sizeof path, "sim/%s/port", name);
    if (s_setting_integer (self->config, path, "0", 0, 65535, &port) != 0)
        return -1;
    listener->port = (int) port;
    if (!provider)
        return 0;
    listener->limit = gl_simlimit_new ();
    listener->fault = gl_simfault_new (self->seed, name);
    if (!listener->limit || !listener->fault)
        return -1;
    snprintf (path, sizeof path, "sim/%s/limits", name);
    const char *rules = zconfig_get (self->config, path, "");
    if (gl_simlimit_set_rules (listener->limit, rules) != 0) {
        gl_log_error ("bad_config", "path=%s value=\"%s\" expected=\"N/Ws[,N/Ws]\"",
                 path, rules);
        return -1;
    }
    snprintf (path, sizeof path, "sim/%s/ban_s", name);
    if (s_setting_integer (self->config, path, "60", 0, 86400, &ban) != 0)
        return -1;
    snprintf (path, sizeof path, "sim/%s/abuse", name);
    const char *abuse = zconfig_get (self->config, path, "");
    if (gl_simlimit_set_ban (listener->limit, abuse, ban) != 0) {
        gl_log_error ("bad_config", "path=%s value=\"%s\" expected=\"K/Ws\"",
                 path, abuse);
        return -1;
    }
    return s_configure_faults (listener);
}

gl_sim_t *
gl_sim_new (const char *config_path, const char *seed)
{
    gl_sim_t *self = (gl_sim_t *) calloc (1, sizeof (gl_sim_t));
    if (!self)
        return NULL;
    pthread_mutex_init (&self->mutex, NULL);
    pthread_condattr_t attributes;
    pthread_condattr_init (&attributes);
    pthread_condattr_setclock (&attributes, CLOCK_MONOTONIC);
    pthread_cond_init (&self->stopping_changed, &attributes);
    pthread_condattr_destroy (&attributes);

    self->config = config_path? zconfig_load (config_path): zconfig_new ("root", NULL);
    if (!self->config) {
        gl_log_error ("bad_config", "file=%s reason=\"cannot read or parse ZPL\"",
                 config_path);
        gl_sim_destroy (&self);
        return NULL;
    }
    int64_t seed_value;
    const char *seed_text = seed? seed: zconfig_get (self->config, "sim/seed", "1");
    if (gl_simhttp_parse_integer (seed_text, &seed_value) != 0) {
        gl_log_error ("bad_config", "path=sim/seed value=\"%s\" expected=integer",
                 seed_text);
        gl_sim_destroy (&self);
        return NULL;
    }
    self->seed = (uint64_t) seed_value;
    const char *address = zconfig_get (self->config, "sim/address", "127.0.0.1");
    if (inet_pton (AF_INET, address, &self->address) != 1) {
        gl_log_error ("bad_config", "path=sim/address value=\"%s\" expected=\"an IPv4 address\"",
                      GL_LOG_VALUE (address));
        gl_sim_destroy (&self);
        return NULL;
    }
    inet_ntop (AF_INET, &self->address, self->address_text, sizeof self->address_text);
    self->calendar = gl_calendar_new (GL_CALENDAR_XNYS);
    const char *closures = zconfig_get (self->config, "sim/closures", "");
    if (!self->calendar || (*closures && gl_calendar_add_closures (self->calendar, closures) != 0)) {
        gl_log_error ("bad_config", "path=sim/closures value=\"%s\" "
                 "expected=\"YYYY-MM-DD[,YYYY-MM-DD]\"", closures);
        gl_sim_destroy (&self);
        return NULL;
    }
    for (size_t index = 0; index <= PROVIDERS; index++)
        if (s_listener_configure (self, &self->listeners [index],
                                  index < PROVIDERS? s_provider (index): NULL) != 0) {
            gl_sim_destroy (&self);
            return NULL;
        }
    return self;
}

//  Waits up to milliseconds, returning early when the server stops.
static void
s_pause (gl_sim_t *self, int64_t milliseconds)
{
    struct timespec deadline;
    clock_gettime (CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += milliseconds / 1000;
    deadline.tv_nsec += (milliseconds % 1000) * 1000000;
    if (deadline.tv_nsec >= 1000000000) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000;
    }
    pthread_mutex_lock (&self->mutex);
    while (!self->stopping
           && pthread_cond_timedwait (&self->stopping_changed, &self->mutex, &deadline) == 0)
        ;
    pthread_mutex_unlock (&self->mutex);
}

//  Query argument lookup for renderers.
static const char *
s_query (void *connection, const char *name)
{
    return MHD_lookup_connection_value ((struct MHD_Connection *) connection,
                                        MHD_GET_ARGUMENT_KIND, name);
}

//  Header lookup for renderers.
static const char *
s_header (void *connection, const char *name)
{
    return MHD_lookup_connection_value ((struct MHD_Connection *) connection,
                                        MHD_HEADER_KIND, name);
}

//  Content reader that serves the first half of the body, then fails.
static ssize_t
s_truncated_read (void *cls, uint64_t position, char *buffer, size_t max)
{
    s_truncated_t *truncated = (s_truncated_t *) cls;
    if (position >= truncated->cut)
        return MHD_CONTENT_READER_END_WITH_ERROR;
    size_t length = truncated->cut - (size_t) position;
    length = length < max? length: max;
    memcpy (buffer, truncated->data + position, length);
    return (ssize_t) length;
}

//  Frees a truncated body.
static void
s_truncated_free (void *cls)
{
    s_truncated_t *truncated = (s_truncated_t *) cls;
    free (truncated->data);
    free (truncated);
}

//  Builds the MHD response: whole, or (truncate) cut half-way.
static struct MHD_Response *
s_response_create (gl_simresponse_t *response, bool truncate)
{
    gl_simtext_t *body = response->body;
    if (!truncate)
        return MHD_create_response_from_buffer (gl_simtext_size (body),
                                                (void *) gl_simtext_data (body),
                                                MHD_RESPMEM_MUST_COPY);
    s_truncated_t *truncated = (s_truncated_t *) calloc (1, sizeof (s_truncated_t));
    if (!truncated)
        return NULL;
    truncated->size = gl_simtext_size (body);
    truncated->cut = truncated->size / 2;
    truncated->data = (char *) malloc (truncated->size + 1);
    if (!truncated->data) {
        free (truncated);
        return NULL;
    }
    memcpy (truncated->data, gl_simtext_data (body), truncated->size);
    return MHD_create_response_from_callback (truncated->size, 4096, s_truncated_read,
                                              truncated, s_truncated_free);
}

//  Sends the response with its headers.
static enum MHD_Result
s_send (struct MHD_Connection *connection, gl_simresponse_t *response, bool truncate)
{
    struct MHD_Response *reply = s_response_create (response, truncate);
    if (!reply)
        return MHD_NO;
    if (response->content_type)
        MHD_add_response_header (reply, MHD_HTTP_HEADER_CONTENT_TYPE, response->content_type);
    for (size_t index = 0; index < response->header_count; index++)
        MHD_add_response_header (reply, response->header_names [index],
                                 response->header_values [index]);
    enum MHD_Result result = MHD_queue_response (connection, (unsigned int) response->status, reply);
    MHD_destroy_response (reply);
    return result;
}

//  Finds the label of a credential in a section's children, or NULL.
static const char *
s_label_in (zconfig_t *options, const char *section, const char *credential)
{
    zconfig_t *keys = options? zconfig_locate (options, section): NULL;
    for (zconfig_t *key = keys? zconfig_child (keys): NULL; key; key = zconfig_next (key))
        if (zconfig_value (key) && strcmp (zconfig_value (key), credential) == 0)
            return zconfig_name (key);
    return NULL;
}

//  True if the provider has keys configured (else access is anonymous).
static bool
s_keys_configured (zconfig_t *options)
{
    zconfig_t *keys = options? zconfig_locate (options, "keys"): NULL;
    return keys && zconfig_child (keys);
}

//  Decides who is asking: 0 with the label, or -1 with the refusal.
static int
s_authenticate (s_listener_t *listener, gl_simrequest_t *request, const char **label,
                gl_simhttp_refusal_t *refusal)
{
    char credential [CREDENTIAL_MAX];
    listener->provider->credential (request, credential, sizeof credential);
    if (!s_keys_configured (listener->options)) {
        *label = "anonymous";
        return 0;
    }
    if (!*credential) {
        *label = "unauthenticated";
        *refusal = GL_SIMHTTP_MISSING_KEY;
        return -1;
    }
    *label = s_label_in (listener->options, "forbidden", credential);
    if (*label) {
        *refusal = GL_SIMHTTP_FORBIDDEN_KEY;
        return -1;
    }
    *label = s_label_in (listener->options, "keys", credential);
    if (!*label) {
        *label = "unknown";
        *refusal = GL_SIMHTTP_UNKNOWN_KEY;
        return -1;
    }
    return 0;
}

//  Renders a 5xx of the drawn kind.
static void
s_server_error (const gl_simfault_draw_t *draw, gl_simresponse_t *response)
{
    response->status = draw->code;
    response->content_type = draw->html? "text/html": NULL;
    gl_simtext_clear (response->body);
    if (draw->html)
        gl_simtext_printf (response->body, "<html><head><title>%d</title></head><body><center>"
                           "<h1>%d %s</h1></center><hr><center>nginx</center></body></html>\n",
                           draw->code, draw->code,
                           draw->code == 500? "Internal Server Error":
                           draw->code == 502? "Bad Gateway": "Gateway Time-out");
}

//  Serves one provider request; records it in the audit.
static enum MHD_Result
s_serve (s_listener_t *listener, struct MHD_Connection *connection, const char *url,
         gl_simresponse_t *response)
{
    gl_simrequest_t request = {
        url, s_query, s_header, connection, listener->base_url,
        listener->sim->calendar, listener->options
    };
    const gl_simprovider_t *provider = listener->provider;
    const char *label;
    gl_simhttp_refusal_t refusal;
    gl_simlimit_status_t status;
    memset (&status, 0, sizeof status);
    if (s_authenticate (listener, &request, &label, &refusal) != 0) {
        provider->refuse (&request, refusal, response);
        gl_simlimit_record (listener->limit, label, response->status);
        return s_send (connection, response, false);
    }
    gl_simlimit_verdict_t verdict = gl_simlimit_admit (listener->limit, label, &status);
    gl_simfault_draw_t draw = { GL_SIMFAULT_NONE, 0, false, 0, 0 };
    if (verdict != GL_SIMLIMIT_PASS) {
        provider->refuse (&request, verdict == GL_SIMLIMIT_OVER? GL_SIMHTTP_OVER_LIMIT:
                          GL_SIMHTTP_BANNED, response);
        gl_simresponse_header (response, "Retry-After", "%lld", (long long) status.retry_after);
    }
    else {
        gl_simfault_draw (listener->fault, &draw);
        if (draw.kind == GL_SIMFAULT_HANG) {
            s_pause (listener->sim, draw.delay_ms);
            gl_simlimit_record (listener->limit, label, 0);
            return MHD_NO;
        }
        if (draw.kind == GL_SIMFAULT_DROP) {
            gl_simlimit_record (listener->limit, label, 0);
            return MHD_NO;      //  MHD closes the connection, nothing sent
        }
        if (draw.kind == GL_SIMFAULT_SLOW)
            s_pause (listener->sim, draw.delay_ms);
        if (draw.kind == GL_SIMFAULT_SERVER_ERROR)
            s_server_error (&draw, response);
        else
        if (draw.kind == GL_SIMFAULT_RATE_LIMITED) {
            //  The provider's own 429; not over_limit in the audit, no ban
            provider->refuse (&request, GL_SIMHTTP_OVER_LIMIT, response);
            gl_simresponse_header (response, "Retry-After", "%lld", (long long) draw.retry_after_s);
        }
        else
            provider->answer (&request, draw.kind == GL_SIMFAULT_EMPTY, response);
        if (draw.kind == GL_SIMFAULT_INVALID_JSON)
            gl_simtext_truncate (response->body, gl_simtext_size (response->body) * 2 / 3);
    }
    if (provider->decorate && verdict != GL_SIMLIMIT_BANNED)
        provider->decorate (&status, response);
    gl_simlimit_record (listener->limit, label, response->status);
    return s_send (connection, response, draw.kind == GL_SIMFAULT_TRUNCATE);
}

//  Renders a cJSON document as the response and deletes it.
static void
s_json (gl_simresponse_t *response, int status, cJSON *document)
{
    char *text = document? cJSON_PrintUnformatted (document): NULL;
    gl_simresponse_set (response, text? status: 500, "application/json",
                        text? text: "{\"error\":\"out of memory\"}");
    free (text);
    cJSON_Delete (document);
}

//  Renders {"error": message} with the status.
static void
s_admin_error (gl_simresponse_t *response, int status, const char *message)
{
    cJSON *document = cJSON_CreateObject ();
    cJSON_AddStringToObject (document, "error", message);
    s_json (response, status, document);
}

//  The listener of a provider by name, or NULL.
static s_listener_t *
s_listener_named (gl_sim_t *self, const char *name)
{
    for (size_t index = 0; index < PROVIDERS; index++)
        if (strcmp (self->listeners [index].provider->name, name) == 0)
            return &self->listeners [index];
    return NULL;
}

//  {"polygon":{settings...},...}
static cJSON *
s_faults_document (gl_sim_t *self)
{
    cJSON *document = cJSON_CreateObject ();
    for (size_t index = 0; index < PROVIDERS; index++)
        gl_simfault_describe (self->listeners [index].fault,
                              cJSON_AddObjectToObject (document, self->listeners [index].provider->name));
    return document;
}

//  GET /admin/audit: per provider, the keys' audit and the fault settings.
static void
s_admin_audit (gl_sim_t *self, gl_simresponse_t *response)
{
    cJSON *document = cJSON_CreateObject ();
    cJSON_AddNumberToObject (document, "seed", (double) self->seed);
    cJSON *providers = cJSON_AddObjectToObject (document, "providers");
    for (size_t index = 0; index < PROVIDERS; index++) {
        s_listener_t *listener = &self->listeners [index];
        cJSON *entry = cJSON_AddObjectToObject (providers, listener->provider->name);
        char *audit = gl_simlimit_audit (listener->limit);
        cJSON *keys = audit? cJSON_Parse (audit): NULL;
        free (audit);
        cJSON_AddItemToObject (entry, "keys", keys? keys: cJSON_CreateObject ());
        gl_simfault_describe (listener->fault, cJSON_AddObjectToObject (entry, "faults"));
    }
    s_json (response, 200, document);
}

//  POST /admin/reset[?seed=N]: forgets counts, windows and bans.
static void
s_admin_reset (gl_sim_t *self, gl_simrequest_t *request, gl_simresponse_t *response)
{
    const char *seed_text = gl_simrequest_query (request, "seed");
    int64_t seed = (int64_t) self->seed;
    if (seed_text && gl_simhttp_parse_integer (seed_text, &seed) != 0) {
        s_admin_error (response, 400, "seed: expected an integer");
        return;
    }
    self->seed = (uint64_t) seed;
    for (size_t index = 0; index < PROVIDERS; index++) {
        gl_simlimit_reset (self->listeners [index].limit);
        gl_simfault_reset (self->listeners [index].fault);
        if (seed_text)
            gl_simfault_reseed (self->listeners [index].fault, self->seed);
    }
    cJSON *document = cJSON_CreateObject ();
    cJSON_AddBoolToObject (document, "reset", true);
    cJSON_AddNumberToObject (document, "seed", (double) self->seed);
    s_json (response, 200, document);
}

typedef struct {
    gl_sim_t *sim;
    const char *provider;
    const char *failed;
} s_fault_change_t;

//  Query iterator: applies one fault setting to the chosen providers.
static enum MHD_Result
s_fault_apply (void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    s_fault_change_t *change = (s_fault_change_t *) cls;
    if (strcmp (key, "provider") == 0)
        return MHD_YES;
    for (size_t index = 0; index < PROVIDERS; index++) {
        s_listener_t *listener = &change->sim->listeners [index];
        bool chosen = strcmp (change->provider, "all") == 0
                   || strcmp (change->provider, listener->provider->name) == 0;
        if (chosen && gl_simfault_set (listener->fault, key, value? value: "") != 0) {
            change->failed = key;
            return MHD_NO;
        }
    }
    return MHD_YES;
}

//  POST /admin/faults?provider=<name|all>&<setting>=<value>...
static void
s_admin_faults (gl_sim_t *self, struct MHD_Connection *connection, gl_simrequest_t *request,
                gl_simresponse_t *response)
{
    s_fault_change_t change = { self, gl_simrequest_query (request, "provider"), NULL };
    if (!change.provider || (strcmp (change.provider, "all") != 0
                             && !s_listener_named (self, change.provider))) {
        s_admin_error (response, 400, "provider: expected polygon, yahoo, tradier, finnhub, alpaca or all");
        return;
    }
    MHD_get_connection_values (connection, MHD_GET_ARGUMENT_KIND, s_fault_apply, &change);
    if (change.failed) {
        char message [160];
        snprintf (message, sizeof message, "%s: expected a probability 0..1, or hang_ms/slow_ms >= 0",
                  change.failed);
        s_admin_error (response, 400, message);
        return;
    }
    s_json (response, 200, s_faults_document (self));
}

//  Serves /admin/... paths.
static void
s_admin (gl_sim_t *self, struct MHD_Connection *connection, const char *method, const char *url,
         gl_simresponse_t *response)
{
    gl_simrequest_t request = { url, s_query, s_header, connection, NULL, self->calendar, NULL };
    bool get = strcmp (method, "GET") == 0;
    bool post = strcmp (method, "POST") == 0;
    if (get && strcmp (url, "/admin/ping") == 0)
        gl_simresponse_set (response, 200, "text/plain", "pong\n");
    else
    if (get && strcmp (url, "/admin/audit") == 0)
        s_admin_audit (self, response);
    else
    if (post && strcmp (url, "/admin/reset") == 0)
        s_admin_reset (self, &request, response);
    else
    if (get && strcmp (url, "/admin/faults") == 0)
        s_json (response, 200, s_faults_document (self));
    else
    if (post && strcmp (url, "/admin/faults") == 0)
        s_admin_faults (self, connection, &request, response);
    else
        s_admin_error (response, 404, "unknown admin path: GET /admin/ping, GET /admin/audit, "
                       "POST /admin/reset, GET|POST /admin/faults");
}

//  libmicrohttpd access handler: one call per request once headers are in.
static enum MHD_Result
s_handle (void *cls, struct MHD_Connection *connection, const char *url, const char *method,
          const char *version, const char *upload_data, size_t *upload_data_size, void **state)
{
    static int started;
    if (*state == NULL) {
        *state = &started;
        return MHD_YES;
    }
    if (*upload_data_size) {
        *upload_data_size = 0;
        return MHD_YES;
    }
    s_listener_t *listener = (s_listener_t *) cls;
    gl_simresponse_t response;
    memset (&response, 0, sizeof response);
    response.body = gl_simtext_new ();
    if (!response.body)
        return MHD_NO;
    enum MHD_Result result;
    if (strncmp (url, "/admin/", 7) == 0) {
        s_admin (listener->sim, connection, method, url, &response);
        result = s_send (connection, &response, false);
    }
    else
    if (!listener->provider || strcmp (method, "GET") != 0) {
        gl_simresponse_set (&response, listener->provider? 405: 404, "text/plain",
                            listener->provider? "Method Not Allowed\n": "Not Found\n");
        result = s_send (connection, &response, false);
    }
    else
        result = s_serve (listener, connection, url, &response);
    gl_simtext_destroy (&response.body);
    return result;
}

//  Starts one listener on sim/address and learns its port.
static int
s_listener_start (gl_sim_t *self, s_listener_t *listener)
{
    struct sockaddr_in address;
    memset (&address, 0, sizeof address);
    address.sin_family = AF_INET;
    address.sin_port = htons ((uint16_t) listener->port);
    address.sin_addr = self->address;
    listener->daemon = MHD_start_daemon (
        MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL_INTERNAL_THREAD | MHD_USE_ERROR_LOG,
        (uint16_t) listener->port, NULL, NULL, s_handle, listener,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *) &address,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int) 120,
        MHD_OPTION_END);
    const char *name = listener->provider? listener->provider->name: "admin";
    if (!listener->daemon) {
        gl_log_error ("listen_failed", "provider=%s port=%d", name, listener->port);
        return -1;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info (listener->daemon,
                                                            MHD_DAEMON_INFO_BIND_PORT);
    listener->port = info? info->port: listener->port;
    snprintf (listener->base_url, sizeof listener->base_url, "http://%s:%d",
              self->address_text, listener->port);
    return 0;
}

int
gl_sim_start (gl_sim_t *self, FILE *out)
{
    for (size_t index = 0; index <= PROVIDERS; index++)
        if (s_listener_start (self, &self->listeners [index]) != 0)
            return -1;
    for (size_t index = 0; index <= PROVIDERS; index++) {
        s_listener_t *listener = &self->listeners [index];
        fprintf (out, "listening provider=%s url=%s\n",
                 listener->provider? listener->provider->name: "admin", listener->base_url);
    }
    fflush (out);
    return 0;
}

void
gl_sim_destroy (gl_sim_t **self_p)
{
    if (self_p && *self_p) {
        gl_sim_t *self = *self_p;
        pthread_mutex_lock (&self->mutex);
        self->stopping = true;
        pthread_cond_broadcast (&self->stopping_changed);
        pthread_mutex_unlock (&self->mutex);
        for (size_t index = 0; index <= PROVIDERS; index++) {
            s_listener_t *listener = &self->listeners [index];
            if (listener->daemon)
                MHD_stop_daemon (listener->daemon);
            gl_simlimit_destroy (&listener->limit);
            gl_simfault_destroy (&listener->fault);
        }
        gl_calendar_destroy (&self->calendar);
        zconfig_destroy (&self->config);
        pthread_cond_destroy (&self->stopping_changed);
        pthread_mutex_destroy (&self->mutex);
        free (self);
        *self_p = NULL;
    }
}
