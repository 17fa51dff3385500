/*
 * cfg.c — reads config/hotlined.cfg (libconfig) into a struct cfg, with a
 * commented default for every setting in cfg_defaults(), then loads the menus
 * the channels name. Every error names the file and line; nothing half-loaded
 * is ever returned.
 */
#include "cfg.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <libconfig.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "log.h"

/* The dialects channels may name: the gateway's (cfg_set_dialects). */
static cfg_dialect_fn dialects;

/* Error context: the first error wins, formatted as FILE:LINE: message. */
struct cfg_err {
    const char *file;
    char *buf;
    size_t len;
    int failed;
};

__attribute__((format(printf, 3, 4)))
static void fail(struct cfg_err *e, int line, const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    if (e->failed)
        return;
    e->failed = 1;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(e->buf, e->len, "%s:%d: %s", e->file, line, msg);
}

static void string_list(const config_setting_t *g, const char *name,
                        char ***out, size_t *n, struct cfg_err *e);

/* Every default, in one place. */
static void cfg_defaults(struct cfg *c)
{
    c->refs = 1;
    c->listen_host = strdup("127.0.0.1");
    c->listen_port = 8080;
    c->workers = 1;                     /* processes on the port */
    c->redis_host = strdup("127.0.0.1");
    c->redis_port = 6379;
    c->prefix = strdup("hl:");
    c->redis_timeout_ms = 250;          /* one Redis call; then fall back */
    c->wait_replicas = 0;               /* no replica: nothing to wait for */
    c->session_cache = 2048;            /* scache.h; 0 = off */
    c->wait_ms = 100;
    c->menus_dir = strdup("config/menus");
    c->spool_path = strdup("var/spool.jsonl");
    c->fallback = strdup("Sorry, the service is busy. Please try again later.");
    c->sms_stop = strdup("You will get no more messages from this number. "
                         "Send START to undo.");
    c->sms_start = strdup("Messages are on again.");
    c->log_level = strdup("info");
    c->limit_sessions_hour = 30;        /* a caller retrying all evening */
    c->limit_requests_day = 5;
    c->limit_addr_minute = 0;           /* 0 = off: aggregators share IPs */
    c->limit_message = strdup("Too many tries. Please call the hotline "
                              "number on the poster.");
    c->max_body = 16 * 1024;            /* aggregator bodies are < 2 KiB */
    c->max_headers = 8 * 1024;
    c->http_timeout_s = 10;             /* aggregators give up at ~15 s */
    c->max_connections = 0;             /* front.c: fd limit - reserve */
    c->header_timeout_s = 5;
    c->body_timeout_s = 10;
    c->drain_s = 10;
    c->alert_attempts = 10;             /* then the dead-letter stream */
    c->alert_backoff_ms = 500;          /* 0.5 s, 1 s, 2 s ... */
    c->alert_backoff_max_ms = 60000;
    c->alert_timeout_ms = 10000;
    c->alert_claim_s = 60;              /* a dead worker's entries */
    c->case_retention_s = 90 * 86400;   /* resolved cases: 90 days */
    c->auth_fail_addr = 5;              /* staff mistype, guessers loop */
    c->auth_fail_prefix = 10;
    c->auth_window_s = 60;
    c->console.dir = strdup("staff/console"); /* `make run` from the tree */
    c->console.session_idle_s = 1800;   /* 30 min without a request */
    c->console.cookie_secure = 0;       /* Secure when TLS is seen */
    c->console.login_per_name = 5;      /* failures per window, then 429 */
    c->console.login_per_addr = 20;
    c->console.login_period_s = 900;
    c->console.live_clients = 200;      /* open live queues per process */
    c->console.live_buffer = 65536;     /* unread bytes, then dropped */
    c->console.live_heartbeat_s = 15;
    c->console.upload_max = 1 << 20;    /* MENU_FILE_MAX, as hotlinectl */
}

/* Reads string `name` of group s. "env:NAME" is replaced by the variable.
 * Returns 1 when set (value in *out, malloc'd), 0 when absent, and 2 when it
 * names an unset environment variable (*out NULL; *envname set). */
static int get_str(const config_setting_t *s, const char *name, char **out,
                   const char **envname)
{
    const char *v = NULL;
    const char *env;

    *out = NULL;
    if (envname)
        *envname = NULL;
    if (!config_setting_lookup_string(s, name, &v))
        return 0;
    if (strncmp(v, "env:", 4) == 0) {
        env = getenv(v + 4);
        if (envname)
            *envname = v + 4;
        if (!env || !*env)
            return 2;
        v = env;
    }
    *out = strdup(v);
    return 1;
}

/* A string that, when given, replaces *dst (freeing the old value).
 * An unset env: variable is an error. */
static void opt_str(const config_setting_t *s, const char *name, char **dst,
                    struct cfg_err *e)
{
    const char *envname;
    char *v;
    int r = get_str(s, name, &v, &envname);

    if (r == 2) {
        fail(e, config_setting_source_line(config_setting_get_member(s, name)),
             "%s: environment variable %s is not set", name, envname);
        return;
    }
    if (r == 1) {
        free(*dst);
        *dst = v;
    }
}

static void opt_int(const config_setting_t *s, const char *name, int *dst,
                    int lo, int hi, struct cfg_err *e)
{
    const config_setting_t *m = config_setting_get_member(s, name);
    int v;

    if (!m)
        return;
    if (config_setting_type(m) != CONFIG_TYPE_INT) {
        fail(e, config_setting_source_line(m), "%s must be a whole number",
             name);
        return;
    }
    v = config_setting_get_int(m);
    if (v < lo || v > hi) {
        fail(e, config_setting_source_line(m), "%s must be between %d and %d",
             name, lo, hi);
        return;
    }
    *dst = v;
}

int cfg_parse_hostport(const char *s, char **host, int *port)
{
    const char *colon;
    const char *h = s;
    size_t hl;
    char *end;
    long p;

    if (*s == '[') {
        const char *rb = strchr(s, ']');

        if (!rb || rb[1] != ':')
            return -1;
        h = s + 1;
        hl = (size_t)(rb - h);
        colon = rb + 1;
    } else {
        colon = strrchr(s, ':');
        if (!colon)
            return -1;
        hl = (size_t)(colon - s);
    }
    errno = 0;
    p = strtol(colon + 1, &end, 10);
    if (errno || *end || end == colon + 1 || p < 0 || p > 65535 || hl == 0)
        return -1;
    *host = strndup(h, hl);
    *port = (int)p;
    return *host ? 0 : -1;
}

static int parse_cidr(const char *s, struct cfg_cidr *out)
{
    char buf[64];
    char *slash;
    int maxbits;

    if (strlen(s) >= sizeof buf)
        return -1;
    strcpy(buf, s);
    slash = strchr(buf, '/');
    if (slash)
        *slash = '\0';
    memset(out, 0, sizeof *out);
    if (inet_pton(AF_INET, buf, out->addr) == 1) {
        out->family = AF_INET;
        maxbits = 32;
    } else if (inet_pton(AF_INET6, buf, out->addr) == 1) {
        out->family = AF_INET6;
        maxbits = 128;
    } else {
        return -1;
    }
    out->bits = maxbits;
    if (slash) {
        char *end;
        long b = strtol(slash + 1, &end, 10);

        if (*end || end == slash + 1 || b < 0 || b > maxbits)
            return -1;
        out->bits = (int)b;
    }
    return 0;
}

static int cidr_match(const struct cfg_cidr *c, int family,
                      const unsigned char *addr)
{
    int full = c->bits / 8;
    int rest = c->bits % 8;

    if (c->family != family)
        return 0;
    if (memcmp(c->addr, addr, (size_t)full) != 0)
        return 0;
    if (rest) {
        unsigned char mask = (unsigned char)(0xff << (8 - rest));

        if ((c->addr[full] & mask) != (addr[full] & mask))
            return 0;
    }
    return 1;
}

/* Parses a textual address; an IPv4 client on a dual-stack socket
 * (::ffff:a.b.c.d) becomes IPv4. Returns its family, or 0. */
static int addr_parse(const char *addr, unsigned char a[16])
{
    if (inet_pton(AF_INET, addr, a) == 1)
        return AF_INET;
    if (inet_pton(AF_INET6, addr, a) != 1)
        return 0;
    if (memcmp(a, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12) == 0) {
        memmove(a, a + 12, 4);
        return AF_INET;
    }
    return AF_INET6;
}

static int addr_in(const struct cfg_cidr *list, size_t n, const char *addr)
{
    unsigned char a[16];
    int family = addr_parse(addr, a);

    for (size_t i = 0; family && i < n; i++) {
        if (cidr_match(&list[i], family, a))
            return 1;
    }
    return 0;
}

int cfg_addr_allowed(const struct cfg_channel *ch, const char *addr)
{
    return ch->nallow == 0 || addr_in(ch->allow, ch->nallow, addr);
}

int cfg_proxy_trusted(const struct cfg *c, const char *peer)
{
    return peer && addr_in(c->trusted, c->ntrusted, peer);
}

const char *cfg_client_addr(const struct cfg *c, const char *peer,
                            const char *real_ip)
{
    unsigned char a[16];

    if (peer && real_ip && strlen(real_ip) < 64 && addr_parse(real_ip, a) &&
        addr_in(c->trusted, c->ntrusted, peer))
        return real_ip;
    return peer;
}

/* Reads a list of addresses or CIDRs (NAME[i]); fails naming the entry. */
static void cidr_list(const config_setting_t *list, const char *what,
                      struct cfg_cidr **out, size_t *n, struct cfg_err *e)
{
    int len = config_setting_length(list);

    if (!config_setting_is_array(list) && !config_setting_is_list(list)) {
        fail(e, config_setting_source_line(list),
             "%s: expected a list of addresses or CIDRs", what);
        return;
    }
    *out = calloc((size_t)(len > 0 ? len : 1), sizeof **out);
    for (int i = 0; *out && i < len; i++) {
        const char *a = config_setting_get_string_elem(list, i);

        if (!a || parse_cidr(a, &(*out)[i]) != 0) {
            fail(e, config_setting_source_line(list),
                 "%s[%d] is not an address or CIDR", what, i);
            return;
        }
        (*n)++;
    }
}

/* Reads a reply/alert SMS provider group. Returns 0, or -1 when a value
 * names an unset environment variable (*envname says which). */
static int sms_out_load(const config_setting_t *g, struct cfg_sms_out *o,
                        const char **envname)
{
    static const char *const names[] = { "provider", "base_url", "username",
                                         "password", "from" };
    char **dst[] = { &o->provider, &o->base_url, &o->username, &o->password,
                     &o->from };

    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (get_str(g, names[i], dst[i], envname) == 2)
            return -1;
    }
    return 0;
}

static void sms_out_free(struct cfg_sms_out *o)
{
    free(o->provider);
    free(o->base_url);
    free(o->username);
    free(o->password);
    free(o->from);
}

/* 1 when s is a USSD short code as dialled: "*920*55#" (digits and '*',
 * a leading '*' and a trailing '#', 3 to 40 bytes). */
static int service_code_ok(const char *s)
{
    size_t n = strlen(s);

    if (n < 3 || n > 40 || s[0] != '*' || s[n - 1] != '#' || s[1] == '*')
        return 0;
    return strspn(s + 1, "0123456789*") == n - 2 && s[n - 2] != '*';
}

/* Reads one channel group. */
static void channel_load(const config_setting_t *g, struct cfg_channel *ch,
                         struct cfg_err *e)
{
    const config_setting_t *allow;
    const config_setting_t *reply;
    const char *envname = NULL;
    int line = config_setting_source_line(g);
    int fold = 0, sms = 0, in_body = 1;

    ch->line = line;
    ch->timeout_s = 180;
    ch->resume_s = -1;
    ch->render.sms_parts = 1;
    opt_str(g, "name", &ch->name, e);
    opt_str(g, "dialect", &ch->dialect_name, e);
    opt_str(g, "path", &ch->path, e);
    opt_str(g, "menu", &ch->menu_name, e);
    opt_int(g, "timeout", &ch->timeout_s, 10, 86400 * 7, e);
    opt_int(g, "sms_parts", &ch->render.sms_parts, 1, 10, e);
    opt_int(g, "resume_s", &ch->resume_s, 0, 86400, e);
    opt_str(g, "service_code", &ch->service_code, e);
    if (config_setting_lookup_bool(g, "fold", &fold))
        ch->render.fold = fold;
    if (e->failed)
        return;
    if (!ch->name || !ch->dialect_name || !ch->path || !ch->menu_name) {
        fail(e, line, "a channel needs name, dialect, path and menu");
        return;
    }
    if (ch->path[0] != '/') {
        fail(e, line, "channel %s: path must start with '/'", ch->name);
        return;
    }
    ch->dialect = dialects ? dialects(ch->dialect_name, &sms, &in_body)
                           : NULL;
    if (!ch->dialect) {
        fail(e, line, "channel %s: unknown dialect '%s'", ch->name,
             ch->dialect_name);
        return;
    }
    ch->render.channel = sms ? MENU_CH_SMS : MENU_CH_USSD;
    if (get_str(g, "secret", &ch->secret, &envname) == 2) {
        fail(e, line, "channel %s: environment variable %s is not set",
             ch->name, envname);
        return;
    }
    if (ch->secret && !*ch->secret) {
        free(ch->secret);
        ch->secret = NULL;
    }
    if (ch->service_code && !service_code_ok(ch->service_code)) {
        fail(e, line, "channel %s: service_code must be a short code as "
             "dialled, like \"*920*55#\"", ch->name);
        return;
    }
    /* A Twilio channel without its token is disabled, never open. */
    if (get_str(g, "auth_token", &ch->auth_token, &envname) != 1 &&
        strcmp(ch->dialect_name, "twilio-sms") == 0) {
        ch->disabled = 1;
        log_warn("%s:%d: channel %s disabled: no Twilio auth token (%s)",
                 e->file, line, ch->name, envname ? envname : "auth_token");
    }
    allow = config_setting_get_member(g, "allow");
    if (allow) {
        char what[96];

        snprintf(what, sizeof what, "channel %s: allow", ch->name);
        cidr_list(allow, what, &ch->allow, &ch->nallow, e);
    }
    /* A channel whose credentials come from an unset variable is disabled
     * with a warning: it answers 503, it is never open. */
    if (get_str(g, "public_url", &ch->public_url, &envname) == 2 &&
        !ch->disabled) {
        ch->disabled = 1;
        log_warn("%s:%d: channel %s disabled: %s is not set", e->file, line,
                 ch->name, envname);
    }
    reply = config_setting_get_member(g, "reply");
    if (reply && sms_out_load(reply, &ch->reply, &envname) != 0 &&
        !ch->disabled) {
        ch->disabled = 1;
        log_warn("%s:%d: channel %s disabled: %s is not set", e->file, line,
                 ch->name, envname);
    }
    if (!in_body && !ch->disabled &&
        (!ch->reply.provider || !ch->reply.base_url)) {
        fail(e, line, "channel %s: dialect %s replies through an API: "
             "set reply = { provider; base_url; ... }", ch->name,
             ch->dialect_name);
    }
}

void cfg_set_dialects(cfg_dialect_fn fn)
{
    dialects = fn;
}

static void channel_free(struct cfg_channel *ch)
{
    free(ch->name);
    free(ch->dialect_name);
    free(ch->path);
    free(ch->menu_name);
    free(ch->service_code);
    free(ch->secret);
    free(ch->auth_token);
    free(ch->public_url);
    free(ch->allow);
    sms_out_free(&ch->reply);
}

static int has_suffix(const char *s, const char *suf)
{
    size_t a = strlen(s), b = strlen(suf);

    return a >= b && strcmp(s + a - b, suf) == 0;
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Loads every *.cfg in dir, in name order. Any menu error fails the load
 * with the checker's lines in err; warnings are logged. */
static int menus_load(struct cfg *c, char *err, size_t errlen)
{
    DIR *d = opendir(c->menus_dir);
    struct dirent *de;
    char **names = NULL;
    size_t n = 0;
    int rc = 0;

    if (!d) {
        snprintf(err, errlen, "%s: menus directory %s: %s", c->file,
                 c->menus_dir, strerror(errno));
        return -1;
    }
    while ((de = readdir(d)) != NULL) {
        char **nn;

        if (de->d_name[0] == '.' || !has_suffix(de->d_name, ".cfg"))
            continue;
        nn = realloc(names, (n + 1) * sizeof *names);
        if (!nn)
            break;
        names = nn;
        names[n++] = strdup(de->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof *names, name_cmp);
    c->menus = calloc(n ? n : 1, sizeof *c->menus);
    for (size_t i = 0; i < n && rc == 0; i++) {
        char path[4096];
        struct menu_diags dg;
        struct menu *m = NULL;
        size_t used = 0;

        snprintf(path, sizeof path, "%s/%s", c->menus_dir, names[i]);
        menu_diags_init(&dg);
        if (menu_load_file(path, &m, &dg) != 0) {
            rc = -1;
            for (size_t k = 0; k < dg.n && used + 2 < errlen; k++) {
                if (dg.v[k].sev != MENU_SEV_ERROR)
                    continue;
                used += (size_t)menu_diag_format(path, &dg.v[k], err + used,
                                                 errlen - used);
                if (used + 2 < errlen)
                    err[used++] = '\n';
                err[used] = '\0';
            }
            if (used == 0)
                snprintf(err, errlen, "%s: menu does not load", path);
            else
                err[used - 1] = '\0';
        } else {
            for (size_t k = 0; k < dg.n; k++) {
                char line[512];

                menu_diag_format(path, &dg.v[k], line, sizeof line);
                log_warn("%s", line);
            }
            c->menus[c->nmenus++] = m;
        }
        menu_diags_free(&dg);
    }
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return rc;
}

/* Renders the screens of ch's menu once for ch's render mode (menu.h,
 * menu_prerender); on failure they are rendered on demand. */
static void prerender(struct cfg *c, const struct cfg_channel *ch)
{
    for (size_t i = 0; i < c->nmenus; i++)
        if (c->menus[i] == ch->menu &&
            menu_prerender(c->menus[i], &ch->render) != 0)
            log_warn("channel %s: screens of menu %s rendered on demand "
                     "(out of memory)", ch->name, ch->menu_name);
}

static const struct menu *menu_by_name(const struct cfg *c, const char *name)
{
    for (size_t i = 0; i < c->nmenus; i++) {
        if (strcmp(c->menus[i]->name, name) == 0)
            return c->menus[i];
    }
    return NULL;
}

static void apply_overrides(struct cfg *c, const struct cfg_overrides *ov,
                            struct cfg_err *e)
{
    char *h;
    int p;

    if (!ov)
        return;
    if (ov->listen) {
        if (cfg_parse_hostport(ov->listen, &h, &p) != 0) {
            fail(e, 0, "--listen %s: expected HOST:PORT", ov->listen);
            return;
        }
        free(c->listen_host);
        c->listen_host = h;
        c->listen_port = p;
    }
    if (ov->redis) {
        if (cfg_parse_hostport(ov->redis, &h, &p) != 0) {
            fail(e, 0, "--redis %s: expected HOST:PORT", ov->redis);
            return;
        }
        free(c->redis_host);
        c->redis_host = h;
        c->redis_port = p;
    }
    if (ov->menus_dir) {
        free(c->menus_dir);
        c->menus_dir = strdup(ov->menus_dir);
    }
    if (ov->workers) {
        char *end;
        long n = strtol(ov->workers, &end, 10);

        if (end == ov->workers || *end || n < 0 || n > 64) {
            fail(e, 0, "--workers %s: expected 0 (one per core) to 64",
                 ov->workers);
            return;
        }
        c->workers = (int)n;
    }
}

/* console = { dir; session_idle_s; cookie_secure; login_per_name;
 *             login_per_address; login_period_s; live_clients;
 *             live_buffer; live_heartbeat_s; upload_max; }; */
static void console_load(const config_setting_t *root, struct cfg *c,
                         struct cfg_err *e)
{
    const config_setting_t *g = config_setting_get_member(root, "console");
    int b;

    if (!g)
        return;
    opt_str(g, "dir", &c->console.dir, e);
    opt_int(g, "session_idle_s", &c->console.session_idle_s, 1, 86400, e);
    if (config_setting_lookup_bool(g, "cookie_secure", &b))
        c->console.cookie_secure = b;
    opt_int(g, "login_per_name", &c->console.login_per_name, 0, 1000, e);
    opt_int(g, "login_per_address", &c->console.login_per_addr, 0, 100000,
            e);
    opt_int(g, "login_period_s", &c->console.login_period_s, 1, 86400, e);
    opt_int(g, "live_clients", &c->console.live_clients, 0, 10000, e);
    opt_int(g, "live_buffer", &c->console.live_buffer, 4096, 4194304, e);
    opt_int(g, "live_heartbeat_s", &c->console.live_heartbeat_s, 1, 300, e);
    opt_int(g, "upload_max", &c->console.upload_max, 0, 1 << 20, e);
}

/* Top-level settings. */
static void settings_load(const config_setting_t *root, struct cfg *c,
                          struct cfg_err *e)
{
    const config_setting_t *redis = config_setting_get_member(root, "redis");
    const config_setting_t *http = config_setting_get_member(root, "http");
    const config_setting_t *sms = config_setting_get_member(root, "sms");
    const config_setting_t *limits = config_setting_get_member(root, "limits");
    char *listen = NULL;
    int v;

    opt_str(root, "listen", &listen, e);
    if (listen) {
        free(c->listen_host);
        c->listen_host = NULL;
        if (cfg_parse_hostport(listen, &c->listen_host, &c->listen_port))
            fail(e, 0, "listen '%s': expected HOST:PORT", listen);
        free(listen);
    }
    opt_int(root, "workers", &c->workers, 0, 64, e);
    opt_str(root, "menus", &c->menus_dir, e);
    opt_str(root, "spool", &c->spool_path, e);
    opt_str(root, "pepper", &c->pepper, e);
    opt_str(root, "fallback", &c->fallback, e);
    opt_str(root, "log_level", &c->log_level, e);
    if (limits) {
        opt_int(limits, "sessions_per_hour", &c->limit_sessions_hour, 0,
                1000000, e);
        opt_int(limits, "requests_per_day", &c->limit_requests_day, 0,
                1000000, e);
        opt_int(limits, "per_address_per_minute", &c->limit_addr_minute, 0,
                100000000, e);
        opt_str(limits, "message", &c->limit_message, e);
    }
    if (sms) {
        opt_str(sms, "stop_reply", &c->sms_stop, e);
        opt_str(sms, "start_reply", &c->sms_start, e);
    }
    if (redis) {
        opt_str(redis, "host", &c->redis_host, e);
        opt_int(redis, "port", &c->redis_port, 1, 65535, e);
        opt_str(redis, "password", &c->redis_password, e);
        opt_str(redis, "prefix", &c->prefix, e);
        opt_int(redis, "timeout_ms", &c->redis_timeout_ms, 10, 10000, e);
        string_list(redis, "sentinels", &c->sentinels, &c->nsentinels, e);
        opt_str(redis, "master", &c->sentinel_master, e);
        opt_int(redis, "wait_replicas", &c->wait_replicas, 0, 16, e);
        opt_int(redis, "wait_ms", &c->wait_ms, 1, 5000, e);
        opt_int(redis, "session_cache", &c->session_cache, 0, 1 << 20, e);
        if (c->nsentinels && !c->sentinel_master)
            fail(e, config_setting_source_line(redis),
                 "redis.sentinels needs redis.master (the master's name)");
        /* WAIT must answer before the call's own deadline drops it. */
        if (c->wait_replicas && c->wait_ms >= c->redis_timeout_ms)
            fail(e, config_setting_source_line(redis),
                 "redis.wait_ms (%d) must be below redis.timeout_ms (%d)",
                 c->wait_ms, c->redis_timeout_ms);
    }
    if (http) {
        v = (int)c->max_body;
        opt_int(http, "max_body", &v, 256, 1 << 20, e);
        c->max_body = (size_t)v;
        v = (int)c->max_headers;
        opt_int(http, "max_headers", &v, 1024, 1 << 16, e);
        c->max_headers = (size_t)v;
        opt_int(http, "timeout", &c->http_timeout_s, 1, 120, e);
        opt_int(http, "max_connections", &c->max_connections, 0, 1 << 20,
                e);
        opt_int(http, "header_timeout", &c->header_timeout_s, 1, 120, e);
        opt_int(http, "body_timeout", &c->body_timeout_s, 1, 300, e);
        opt_int(http, "drain", &c->drain_s, 0, 300, e);
        {
            const config_setting_t *tp =
                config_setting_get_member(http, "trusted_proxies");

            if (tp)
                cidr_list(tp, "http.trusted_proxies", &c->trusted,
                          &c->ntrusted, e);
        }
    }
}

static int channels_load(const config_setting_t *root, struct cfg *c,
                         struct cfg_err *e)
{
    const config_setting_t *chs = config_setting_get_member(root, "channels");
    int n;

    if (!chs || !config_setting_is_list(chs)) {
        fail(e, chs ? config_setting_source_line(chs) : 0,
             "channels must be a list: channels = ( { ... }, ... );");
        return -1;
    }
    n = config_setting_length(chs);
    c->channels = calloc((size_t)(n ? n : 1), sizeof *c->channels);
    if (!c->channels)
        return -1;
    for (int i = 0; i < n && !e->failed; i++) {
        struct cfg_channel *ch = &c->channels[i];

        channel_load(config_setting_get_elem(chs, (unsigned)i), ch, e);
        c->nchannels++;
        for (int k = 0; k < i && !e->failed; k++) {
            if (strcmp(c->channels[k].path, ch->path) == 0)
                fail(e, ch->line, "channel %s: path %s is already served by "
                     "channel %s", ch->name, ch->path, c->channels[k].name);
        }
    }
    return e->failed ? -1 : 0;
}

static void string_list(const config_setting_t *g, const char *name,
                        char ***out, size_t *n, struct cfg_err *e)
{
    const config_setting_t *l = config_setting_get_member(g, name);
    int len;

    *out = NULL;
    *n = 0;
    if (!l)
        return;
    len = config_setting_length(l);
    *out = calloc((size_t)len + 1, sizeof **out);
    for (int i = 0; *out && i < len; i++) {
        const char *v = config_setting_get_string_elem(l, i);

        if (!v) {
            fail(e, config_setting_source_line(l), "%s must list strings",
                 name);
            return;
        }
        if (strncmp(v, "env:", 4) == 0)
            v = getenv(v + 4) ? getenv(v + 4) : "";
        (*out)[(*n)++] = strdup(v);
    }
}

static void alert_load(const config_setting_t *g, struct cfg_alert *a,
                       struct cfg_err *e)
{
    const char *envname;
    char *type = NULL;
    int line = config_setting_source_line(g);

    a->line = line;
    opt_str(g, "type", &type, e);
    opt_str(g, "url", &a->url, e);
    opt_str(g, "secret", &a->secret, e);
    opt_str(g, "from", &a->from, e);
    opt_str(g, "username", &a->username, e);
    opt_str(g, "password", &a->password, e);
    string_list(g, "to", &a->to, &a->nto, e);
    if (e->failed) {
        free(type);
        return;
    }
    if (type && strcmp(type, "webhook") == 0) {
        a->type = ALERT_WEBHOOK;
        if (!a->url || !a->secret)
            fail(e, line, "a webhook alert needs url and secret");
    } else if (type && strcmp(type, "sms") == 0) {
        a->type = ALERT_SMS;
        if (sms_out_load(g, &a->sms, &envname) != 0)
            fail(e, line, "sms alert: environment variable %s is not set",
                 envname);
        else if (!a->sms.provider || !a->sms.base_url || a->nto == 0)
            fail(e, line, "an sms alert needs provider, base_url and to");
    } else if (type && strcmp(type, "email") == 0) {
        a->type = ALERT_EMAIL;
        if (!a->url || !a->from || a->nto == 0)
            fail(e, line, "an email alert needs url (smtp://...), from and to");
    } else {
        fail(e, line, "alert type must be webhook, sms or email");
    }
    free(type);
}

static void alert_free(struct cfg_alert *a)
{
    free(a->url);
    free(a->secret);
    free(a->from);
    free(a->username);
    free(a->password);
    for (size_t i = 0; i < a->nto; i++)
        free(a->to[i]);
    free(a->to);
    sms_out_free(&a->sms);
}

/* queues = ( { name = "urgent"; alerts = ( { type = ...; ... } ); } );
 * alerts = { attempts; backoff_ms; backoff_max_ms; timeout_ms; claim_s; }
 * staff = ( { name = "lan"; token = "env:STAFF_TOKEN_LAN"; } );
 * staff_auth = { failures_per_address; failures_per_prefix; window_s; }
 * cases = { retention_days = 90; }; */
static void staff_load(const config_setting_t *st, struct cfg *c,
                       struct cfg_err *e);

static void staff_side_load(const config_setting_t *root, struct cfg *c,
                            struct cfg_err *e)
{
    const config_setting_t *qs = config_setting_get_member(root, "queues");
    const config_setting_t *al = config_setting_get_member(root, "alerts");
    const config_setting_t *st = config_setting_get_member(root, "staff");
    const config_setting_t *cs = config_setting_get_member(root, "cases");
    const config_setting_t *au = config_setting_get_member(root,
                                                           "staff_auth");
    int n;

    if (al) {
        opt_int(al, "attempts", &c->alert_attempts, 1, 1000, e);
        opt_int(al, "backoff_ms", &c->alert_backoff_ms, 10, 3600000, e);
        opt_int(al, "backoff_max_ms", &c->alert_backoff_max_ms, 10, 86400000,
                e);
        opt_int(al, "timeout_ms", &c->alert_timeout_ms, 100, 120000, e);
        opt_int(al, "claim_s", &c->alert_claim_s, 1, 86400, e);
    }
    if (au) {
        opt_int(au, "failures_per_address", &c->auth_fail_addr, 1, 10000, e);
        opt_int(au, "failures_per_prefix", &c->auth_fail_prefix, 1, 10000, e);
        opt_int(au, "window_s", &c->auth_window_s, 1, 86400, e);
    }
    if (cs) {
        int days = c->case_retention_s / 86400;

        opt_int(cs, "retention_days", &days, 1, 3650, e);
        c->case_retention_s = days * 86400;
    }
    n = qs ? config_setting_length(qs) : 0;
    c->queues = calloc((size_t)n + 1, sizeof *c->queues);
    for (int i = 0; c->queues && i < n && !e->failed; i++) {
        const config_setting_t *q = config_setting_get_elem(qs, (unsigned)i);
        const config_setting_t *as = config_setting_get_member(q, "alerts");
        struct cfg_queue *cq = &c->queues[c->nqueues++];
        int na = as ? config_setting_length(as) : 0;

        cq->line = config_setting_source_line(q);
        opt_str(q, "name", &cq->name, e);
        if (!e->failed && !cq->name)
            fail(e, cq->line, "a queue needs a name");
        cq->alerts = calloc((size_t)na + 1, sizeof *cq->alerts);
        for (int k = 0; cq->alerts && k < na && !e->failed; k++)
            alert_load(config_setting_get_elem(as, (unsigned)k),
                       &cq->alerts[cq->nalerts++], e);
    }
    staff_load(st, c, e);
}

const char *cfg_token_weakness(const char *t)
{
    int lower = 0, upper = 0, digit = 0, other = 0;
    unsigned char seen[128] = { 0 };
    int distinct = 0;
    size_t n = strlen(t);

    if (n < CFG_TOKEN_MIN)
        return "shorter than 20 characters (at least 20 are needed; "
               "openssl rand -hex 24 makes one)";
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)t[i];

        if (ch <= 0x20 || ch >= 0x7f)
            return "only printable ASCII without spaces may be used";
        lower |= ch >= 'a' && ch <= 'z';
        upper |= ch >= 'A' && ch <= 'Z';
        digit |= ch >= '0' && ch <= '9';
        other |= !isalnum(ch);
        distinct += !seen[ch];
        seen[ch] = 1;
    }
    if (lower + upper + digit + other < 2)
        return "one of the four character classes only (two of lower case, "
               "upper case, digits and symbols are needed)";
    if (distinct < CFG_TOKEN_DISTINCT)
        return "fewer than 10 different characters";
    return NULL;
}

static void token_mac(const unsigned char key[32], const char *t,
                      unsigned char out[32])
{
    unsigned int len = 32;

    if (!HMAC(EVP_sha256(), key, 32, (const unsigned char *)t, strlen(t), out,
              &len))
        memset(out, 0, 32);
}

/* staff = ( { name; token; } ... ): each token strong and unique. */
static void staff_load(const config_setting_t *st, struct cfg *c,
                       struct cfg_err *e)
{
    int n = st ? config_setting_length(st) : 0;

    if (RAND_bytes(c->token_key, sizeof c->token_key) != 1) {
        fail(e, 0, "no random bytes for the staff token key");
        return;
    }
    c->staff = calloc((size_t)n + 1, sizeof *c->staff);
    for (int i = 0; c->staff && i < n && !e->failed; i++) {
        const config_setting_t *s = config_setting_get_elem(st, (unsigned)i);
        const char *envname;
        struct cfg_staff *sf = &c->staff[c->nstaff];
        int line = config_setting_source_line(s);
        const char *weak;
        int demo;

        opt_str(s, "name", &sf->name, e);
        demo = 0;
        config_setting_lookup_bool(s, "demo", &demo);
        if (get_str(s, "token", &sf->token, &envname) == 2 && demo) {
            /* make run's member: absent, silently, anywhere else */
            free(sf->name);
            sf->name = NULL;
            continue;
        } else if (!sf->token && envname) {
            /* A member without a token cannot log in; others still can. */
            log_warn("%s:%d: staff %s has no token (%s is not set)", e->file,
                     line, sf->name ? sf->name : "?", envname);
        }
        c->nstaff++;
        if (!sf->name) {
            fail(e, line, "a staff member needs a name");
            break;
        }
        if (!sf->token)
            continue;
        weak = cfg_token_weakness(sf->token);
        if (weak) {
            fail(e, line, "staff %s: weak token: %s", sf->name, weak);
            break;
        }
        token_mac(c->token_key, sf->token, sf->mac);
        for (size_t k = 0; k + 1 < c->nstaff; k++) {
            if (c->staff[k].token && strcmp(c->staff[k].token, sf->token) == 0)
                fail(e, line, "staff %s: same token as %s", sf->name,
                     c->staff[k].name);
        }
    }
}

const struct cfg_queue *cfg_queue_by_name(const struct cfg *c,
                                          const char *name)
{
    for (size_t i = 0; i < c->nqueues; i++) {
        if (strcmp(c->queues[i].name, name) == 0)
            return &c->queues[i];
    }
    return NULL;
}

const struct cfg_staff *cfg_staff_by_token(const struct cfg *c,
                                           const char *token)
{
    const struct cfg_staff *found = NULL;
    unsigned char mac[32];

    /* Digests of equal length whatever the token's: compare with every
     * member, always, so timing says nothing about contents or length. */
    token_mac(c->token_key, token, mac);
    for (size_t i = 0; i < c->nstaff; i++) {
        if (c->staff[i].token && CRYPTO_memcmp(c->staff[i].mac, mac, 32) == 0)
            found = &c->staff[i];
    }
    OPENSSL_cleanse(mac, sizeof mac);
    return found;
}

int cfg_load(const char *path, const struct cfg_overrides *ov,
             struct cfg **out, char *err, size_t errlen)
{
    struct cfg_err e = { path, err, errlen, 0 };
    struct cfg *c = calloc(1, sizeof *c);
    config_t lc;

    *out = NULL;
    if (!c) {
        snprintf(err, errlen, "%s: out of memory", path);
        return -1;
    }
    cfg_defaults(c);
    c->file = strdup(path);
    config_init(&lc);
    if (!config_read_file(&lc, path)) {
        if (config_error_type(&lc) == CONFIG_ERR_FILE_IO)
            snprintf(err, errlen, "%s: cannot read: %s", path,
                     strerror(errno));
        else
            snprintf(err, errlen, "%s:%d: %s", path, config_error_line(&lc),
                     config_error_text(&lc));
        config_destroy(&lc);
        cfg_release(c);
        return -1;
    }
    settings_load(config_root_setting(&lc), c, &e);
    if (!e.failed)
        apply_overrides(c, ov, &e);
    if (!e.failed)
        channels_load(config_root_setting(&lc), c, &e);
    if (!e.failed)
        staff_side_load(config_root_setting(&lc), c, &e);
    if (!e.failed)
        console_load(config_root_setting(&lc), c, &e);
    config_destroy(&lc);
    if (!e.failed && (!c->pepper || strlen(c->pepper) < 16))
        fail(&e, 0, "pepper must be set (at least 16 characters; "
             "pepper = \"env:HOTLINE_PEPPER\")");
    if (!e.failed && log_level_parse(c->log_level) < 0)
        fail(&e, 0, "log_level must be debug, info, warn or error");
    if (!e.failed && menus_load(c, err, errlen) != 0)
        e.failed = 1;
    for (size_t i = 0; !e.failed && i < c->nchannels; i++) {
        struct cfg_channel *ch = &c->channels[i];

        ch->menu = menu_by_name(c, ch->menu_name);
        if (!ch->menu)
            fail(&e, ch->line, "channel %s: no menu named '%s' in %s",
                 ch->name, ch->menu_name, c->menus_dir);
        else
            prerender(c, ch);
    }
    if (e.failed) {
        cfg_release(c);
        return -1;
    }
    *out = c;
    return 0;
}

struct cfg *cfg_retain(struct cfg *c)
{
    c->refs++;
    return c;
}

void cfg_release(struct cfg *c)
{
    if (!c || --c->refs > 0)
        return;
    for (size_t i = 0; i < c->nchannels; i++)
        channel_free(&c->channels[i]);
    free(c->channels);
    for (size_t i = 0; i < c->nqueues; i++) {
        for (size_t k = 0; k < c->queues[i].nalerts; k++)
            alert_free(&c->queues[i].alerts[k]);
        free(c->queues[i].alerts);
        free(c->queues[i].name);
    }
    free(c->queues);
    for (size_t i = 0; i < c->nstaff; i++) {
        free(c->staff[i].name);
        if (c->staff[i].token)
            OPENSSL_cleanse(c->staff[i].token, strlen(c->staff[i].token));
        free(c->staff[i].token);
    }
    OPENSSL_cleanse(c->token_key, sizeof c->token_key);
    free(c->staff);
    for (size_t i = 0; i < c->nmenus; i++)
        menu_free(c->menus[i]);
    free(c->menus);
    free(c->file);
    free(c->listen_host);
    free(c->trusted);
    free(c->redis_host);
    free(c->redis_password);
    for (size_t i = 0; i < c->nsentinels; i++)
        free(c->sentinels[i]);
    free(c->sentinels);
    free(c->sentinel_master);
    free(c->prefix);
    free(c->menus_dir);
    free(c->spool_path);
    free(c->pepper);
    free(c->fallback);
    free(c->limit_message);
    free(c->sms_stop);
    free(c->sms_start);
    free(c->log_level);
    free(c->console.dir);
    free(c);
}

const struct cfg_channel *cfg_channel_by_path(const struct cfg *c,
                                              const char *path)
{
    for (size_t i = 0; i < c->nchannels; i++) {
        if (strcmp(c->channels[i].path, path) == 0)
            return &c->channels[i];
    }
    return NULL;
}
