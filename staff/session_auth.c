/*
 * session_auth.c — people sign in to the staff API (see session_auth.h).
 *
 * A sign-in runs: body checked -> CHECK (limits, the account) -> scrypt on
 * the loop -> FAIL (count, 401) or OPEN (session, cookie). A cookie request
 * runs USE (the session, its idle expiry pushed back) -> the CSRF check for
 * anything but GET/HEAD -> the API as that person, or sign-out. Each step's
 * Redis call is one EVAL of a script of accounts.c; every request ends in
 * exactly one reply. scrypt takes tens to hundreds of milliseconds by
 * design, so it runs on one worker thread, never on the event loop that
 * answers callers: the thread hands finished checks back through a pipe. The session id lives only in the cookie: Redis keeps
 * its SHA-256. Logs name the staff member, never a password or an id.
 */
#include "session_auth.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/queue.h>
#include <unistd.h>

#include <event2/keyvalq_struct.h>
#include <hiredis/hiredis.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "accounts.h"
#include "api.h"
#include "cfg.h"
#include "gw.h"
#include "log.h"
#include "metrics.h"
#include "store.h"

#define LOGIN_BODY_MAX 1024
#define KEY_MAX 200
#define VERIFY_QUEUE_MAX 32     /* sign-ins waiting for scrypt, then 503 */

/* No inline script or style anywhere, nothing from another host. */
static const char csp[] =
    "default-src 'self'; script-src 'self'; style-src 'self'; "
    "img-src 'self'; connect-src 'self'; font-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'";

enum sstep { S_CHECK, S_FAIL, S_OPEN, S_USE, S_SIGNOUT };
enum skind { K_LOGIN, K_ME, K_SIGNOUT, K_SIGNOUT_ALL, K_API };

struct sreq {
    struct gw *gw;
    struct evhttp_request *req;
    struct cfg *cfg;
    struct timeval t0;
    enum skind kind;
    enum sstep step;
    const char *path;           /* the request's own, for api_serve */
    char name[ACCT_NAME_MAX + 1];
    char role[16];
    char addr[64];
    char id[ACCT_ID_LEN + 1];   /* the cookie's session id */
    char csrf[ACCT_ID_LEN + 1];
    char *pw;
    size_t pwlen;
    int secure;                 /* the browser reached us over TLS */
};

static double since(const struct timeval *t0)
{
    struct timeval now;

    gettimeofday(&now, NULL);
    return (double)(now.tv_sec - t0->tv_sec) +
           (double)(now.tv_usec - t0->tv_usec) / 1e6;
}

void sauth_headers(struct evhttp_request *req)
{
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);

    evhttp_add_header(h, "Content-Security-Policy", csp);
    evhttp_add_header(h, "Referrer-Policy", "no-referrer");
    evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
    evhttp_add_header(h, "X-Frame-Options", "DENY");
}

static void sreq_free(struct sreq *s)
{
    if (!s)
        return;
    if (s->pw) {
        OPENSSL_cleanse(s->pw, s->pwlen);
        free(s->pw);
    }
    if (s->cfg) {
        s->gw->inflight--;
        cfg_release(s->cfg);
    }
    free(s);
}

/* The one reply of s (JSON, never cached); frees s. */
static void finish(struct sreq *s, int status, json_t *body)
{
    struct evkeyvalq *h = evhttp_request_get_output_headers(s->req);
    struct evbuffer *out = evhttp_request_get_output_buffer(s->req);
    char *txt = body ? json_dumps(body, JSON_COMPACT) : NULL;

    evhttp_add_header(h, "Content-Type", "application/json");
    evhttp_add_header(h, "Cache-Control", "no-store");
    evbuffer_add_printf(out, "%s\n", txt ? txt : "{}");
    evhttp_send_reply(s->req, status, status == 200 ? "OK" : "Error", NULL);
    metrics_request(s->gw->metrics, "api", status, since(&s->t0));
    free(txt);
    json_decref(body);
    sreq_free(s);
}

static void fail_with(struct sreq *s, int status, const char *why)
{
    finish(s, status, json_pack("{s:s}", "error", why));
}

/* Sets the session cookie (value id), or clears it when id is NULL. */
static void set_cookie(struct sreq *s, const char *id)
{
    char v[160];

    snprintf(v, sizeof v, "%s=%s; Path=/; HttpOnly; SameSite=Strict%s%s",
             SAUTH_COOKIE, id ? id : "", s->secure ? "; Secure" : "",
             id ? "" : "; Max-Age=0");
    evhttp_add_header(evhttp_request_get_output_headers(s->req),
                      "Set-Cookie", v);
}

/* EVALs script with nkeys keys then args (NULL-terminated lists). */
static int eval(struct sreq *s, const char *script, const char *const *keys,
                const char *const *args, store_cb cb)
{
    const char *av[16];
    size_t al[16];
    char nk[8];
    int n = 0, k = 0;

    av[n++] = "EVAL";
    av[n++] = script;
    av[n++] = nk;
    for (; keys[k] && n < 16; k++)
        av[n++] = keys[k];
    snprintf(nk, sizeof nk, "%d", k);
    for (int i = 0; args[i] && n < 16; i++)
        av[n++] = args[i];
    for (int i = 0; i < n; i++)
        al[i] = strlen(av[i]);
    return store_cmd(s->gw->store, cb, s, n, av, al);
}

static void key(char *out, const struct sreq *s, const char *fmt,
                const char *a)
{
    char tail[KEY_MAX];

    snprintf(tail, sizeof tail, fmt, a);
    snprintf(out, KEY_MAX, "%s%s", s->cfg->prefix, tail);
}

static int is_int(const redisReply *r, size_t i)
{
    return r->element[i]->type == REDIS_REPLY_INTEGER;
}

static const char *str_at(const redisReply *r, size_t i)
{
    return r->element[i]->type == REDIS_REPLY_STRING ? r->element[i]->str
                                                     : "";
}

static void on_reply(redisReply *r, void *arg);

/* ---- the scrypt worker ------------------------------------------------ */

struct vjob {
    struct sreq *s;
    char *stored;               /* the account's hash, or NULL: dummy */
    int ok;
    struct vjob *next;
};

/* One thread per process, started at the first sign-in (so after any
 * fork of workers). Jobs go in under mu; done jobs come back as pointers
 * written to the pipe, read on the loop. */
static struct {
    int started;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct vjob *head, *tail;
    int queued;
    int fd[2];
    struct event *ev;
} vw = { 0, PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, NULL, NULL,
         0, { -1, -1 }, NULL };

static void *verify_main(void *arg)
{
    (void)arg;
    for (;;) {
        struct vjob *j;

        pthread_mutex_lock(&vw.mu);
        while (!vw.head)
            pthread_cond_wait(&vw.cv, &vw.mu);
        j = vw.head;
        vw.head = j->next;
        if (!vw.head)
            vw.tail = NULL;
        pthread_mutex_unlock(&vw.mu);
        if (j->stored) {
            j->ok = acct_verify(j->s->pw, j->s->pwlen, j->stored) == 1;
        } else {
            acct_verify_dummy(j->s->pw, j->s->pwlen);
            j->ok = 0;
        }
        while (write(vw.fd[1], &j, sizeof j) < 0 && errno == EINTR)
            ;
    }
    return NULL;
}

static int send_open(struct sreq *s);
static int send_fail(struct sreq *s);
static void fail_with(struct sreq *s, int status, const char *why);

/* On the loop: checks the worker finished go on to OPEN or FAIL. */
static void on_verified(evutil_socket_t fd, short what, void *arg)
{
    struct vjob *j;

    (void)what;
    (void)arg;
    while (read(fd, &j, sizeof j) == (ssize_t)sizeof j) {
        struct sreq *s = j->s;
        int ok = j->ok;

        pthread_mutex_lock(&vw.mu);
        vw.queued--;
        pthread_mutex_unlock(&vw.mu);
        free(j->stored);
        free(j);
        if ((ok ? send_open(s) : send_fail(s)) != 0)
            fail_with(s, 503, "Redis unreachable");
    }
}

static int verify_start(struct event_base *base)
{
    pthread_t th;

    if (vw.started)
        return 0;
    if (pipe(vw.fd) != 0)
        return -1;
    fcntl(vw.fd[0], F_SETFL, O_NONBLOCK);
    fcntl(vw.fd[0], F_SETFD, FD_CLOEXEC);
    fcntl(vw.fd[1], F_SETFD, FD_CLOEXEC);
    vw.ev = event_new(base, vw.fd[0], EV_READ | EV_PERSIST, on_verified,
                      NULL);
    if (!vw.ev || event_add(vw.ev, NULL) != 0 ||
        pthread_create(&th, NULL, verify_main, NULL) != 0) {
        event_free(vw.ev);
        vw.ev = NULL;
        close(vw.fd[0]);
        close(vw.fd[1]);
        return -1;
    }
    pthread_detach(th);
    vw.started = 1;
    return 0;
}

/* Queues s's password check against stored (NULL: no usable account).
 * Returns 0, or -1 when the worker is busy or cannot start. */
static int verify_async(struct sreq *s, const char *stored)
{
    struct vjob *j;
    int full;

    if (verify_start(s->gw->base) != 0)
        return -1;
    j = calloc(1, sizeof *j);
    if (!j || (stored && !(j->stored = strdup(stored)))) {
        free(j);
        return -1;
    }
    j->s = s;
    pthread_mutex_lock(&vw.mu);
    full = vw.queued >= VERIFY_QUEUE_MAX;
    if (!full) {
        vw.queued++;
        if (vw.tail)
            vw.tail->next = j;
        else
            vw.head = j;
        vw.tail = j;
        pthread_cond_signal(&vw.cv);
    }
    pthread_mutex_unlock(&vw.mu);
    if (full) {
        free(j->stored);
        free(j);
        return -1;
    }
    return 0;
}

/* ---- sign-in ---------------------------------------------------------- */

static int send_check(struct sreq *s)
{
    char k1[KEY_MAX], k2[KEY_MAX], k3[KEY_MAX], mn[16], ma[16];
    const char *keys[] = { k1, k2, k3, NULL };
    const char *args[] = { mn, ma, NULL };

    key(k1, s, "staff:%s", s->name);
    key(k2, s, "login:n:%s", s->name);
    key(k3, s, "login:a:%s", s->addr);
    snprintf(mn, sizeof mn, "%d", s->cfg->console.login_per_name);
    snprintf(ma, sizeof ma, "%d", s->cfg->console.login_per_addr);
    s->step = S_CHECK;
    return eval(s, acct_script_login_check, keys, args, on_reply);
}

static int send_fail(struct sreq *s)
{
    char k1[KEY_MAX], k2[KEY_MAX], w[16];
    const char *keys[] = { k1, k2, NULL };
    const char *args[] = { w, NULL };

    key(k1, s, "login:n:%s", s->name);
    key(k2, s, "login:a:%s", s->addr);
    snprintf(w, sizeof w, "%d", s->cfg->console.login_period_s);
    s->step = S_FAIL;
    metrics_add(s->gw->metrics, "hotline_staff_login_failures_total",
                "reason", "password", 1);
    log_info("staff sign-in refused for %s", s->name);
    return eval(s, acct_script_login_fail, keys, args, on_reply);
}

static int send_open(struct sreq *s)
{
    char k1[KEY_MAX], k2[KEY_MAX], k3[KEY_MAX], k4[KEY_MAX], now[24],
        idle[16], h[ACCT_KEYHASH_LEN + 1];
    const char *keys[] = { k1, k2, k3, k4, NULL };
    const char *args[] = { s->name, s->csrf, now, idle, NULL };
    struct timeval tv;

    if (acct_random_token(s->id) != 0 || acct_random_token(s->csrf) != 0)
        return -1;
    acct_id_hash(s->id, h);
    key(k1, s, "ssn:%s", h);
    key(k2, s, "staff:%s:ssn", s->name);
    key(k3, s, "login:n:%s", s->name);
    key(k4, s, "staff:%s", s->name);
    gettimeofday(&tv, NULL);
    snprintf(now, sizeof now, "%lld",
             (long long)tv.tv_sec * 1000 + tv.tv_usec / 1000);
    snprintf(idle, sizeof idle, "%d", s->cfg->console.session_idle_s);
    s->step = S_OPEN;
    return eval(s, acct_script_login_ok, keys, args, on_reply);
}

/* CHECK answered {limited, retry, pw, role, disabled}: hand the password
 * to the worker (a dummy check when there is no usable account, so the
 * answer takes as long). */
static int checked(struct sreq *s, const redisReply *r)
{
    char retry[16];
    const char *stored;

    if (r->elements < 5 || !is_int(r, 0) || !is_int(r, 1))
        return -1;
    if (r->element[0]->integer) {
        snprintf(retry, sizeof retry, "%lld", r->element[1]->integer);
        evhttp_add_header(evhttp_request_get_output_headers(s->req),
                          "Retry-After", retry);
        metrics_add(s->gw->metrics, "hotline_staff_login_failures_total",
                    "reason", "limited", 1);
        log_info("staff sign-in for %s limited", s->name);
        fail_with(s, 429, "too many failed sign-ins: try again later");
        return 1;
    }
    snprintf(s->role, sizeof s->role, "%s", str_at(r, 3));
    stored = str_at(r, 2);
    if (!*stored || strcmp(str_at(r, 4), "1") == 0)
        stored = NULL;
    if (verify_async(s, stored) != 0) {
        fail_with(s, 503, "busy: try again");
        return 1;
    }
    return 0;
}

static void opened(struct sreq *s, const redisReply *r)
{
    if (r->type != REDIS_REPLY_INTEGER || r->integer != 1) {
        fail_with(s, 401, "wrong name or password");
        return;
    }
    metrics_add(s->gw->metrics, "hotline_staff_logins_total", NULL, NULL, 1);
    log_info("staff %s signed in", s->name);
    set_cookie(s, s->id);
    finish(s, 200, json_pack("{s:s,s:s,s:s}", "name", s->name, "role",
                             s->role, "csrf", s->csrf));
}

/* ---- cookie sessions --------------------------------------------------- */

static int send_use(struct sreq *s)
{
    char k1[KEY_MAX], idle[16], h[ACCT_KEYHASH_LEN + 1];
    const char *keys[] = { k1, NULL };
    const char *args[] = { idle, s->cfg->prefix, NULL };

    acct_id_hash(s->id, h);
    key(k1, s, "ssn:%s", h);
    snprintf(idle, sizeof idle, "%d", s->cfg->console.session_idle_s);
    s->step = S_USE;
    return eval(s, acct_script_session_use, keys, args, on_reply);
}

static int send_signout(struct sreq *s)
{
    char k1[KEY_MAX], h[ACCT_KEYHASH_LEN + 1];
    const char *keys[] = { k1, NULL };
    const char *args[] = { s->cfg->prefix, NULL };

    s->step = S_SIGNOUT;
    if (s->kind == K_SIGNOUT_ALL) {
        key(k1, s, "staff:%s:ssn", s->name);
        return eval(s, acct_script_signout_all, keys, args + 1, on_reply);
    }
    acct_id_hash(s->id, h);
    key(k1, s, "ssn:%s", h);
    return eval(s, acct_script_signout, keys, args, on_reply);
}

/* 1 when the request may go on: it reads, or it carries the session's
 * CSRF token in X-CSRF-Token (which another site's page cannot know). */
static int csrf_ok(const struct sreq *s)
{
    enum evhttp_cmd_type m = evhttp_request_get_command(s->req);
    const char *t;

    if (m == EVHTTP_REQ_GET || m == EVHTTP_REQ_HEAD)
        return 1;
    t = evhttp_find_header(evhttp_request_get_input_headers(s->req),
                           "X-CSRF-Token");
    return t && strlen(t) == ACCT_ID_LEN &&
           CRYPTO_memcmp(t, s->csrf, ACCT_ID_LEN) == 0;
}

/* USE answered {1, name, csrf, role} or {0}. */
static int used(struct sreq *s, const redisReply *r)
{
    if (r->elements < 1 || !is_int(r, 0))
        return -1;
    if (r->element[0]->integer != 1 || r->elements < 4) {
        set_cookie(s, NULL);
        fail_with(s, 401, "signed out: sign in again");
        return 1;
    }
    snprintf(s->name, sizeof s->name, "%s", str_at(r, 1));
    snprintf(s->csrf, sizeof s->csrf, "%s", str_at(r, 2));
    snprintf(s->role, sizeof s->role, "%s", str_at(r, 3));
    if (!csrf_ok(s)) {
        log_info("staff %s: request without its CSRF token refused",
                 s->name);
        fail_with(s, 403, "missing or wrong X-CSRF-Token");
        return 1;
    }
    if (s->kind == K_ME) {
        finish(s, 200, json_pack("{s:s,s:s,s:s}", "name", s->name, "role",
                                 s->role, "csrf", s->csrf));
        return 1;
    }
    if (s->kind == K_API) {
        api_serve(s->gw, s->req, s->path, s->name, s->role);
        sreq_free(s);
        return 1;
    }
    return send_signout(s);
}

static void on_reply(redisReply *r, void *arg)
{
    struct sreq *s = arg;
    int rc = -1;

    if (!r || r->type == REDIS_REPLY_ERROR) {
        if (r)
            log_warn("staff sign-in: Redis: %s", r->str);
        fail_with(s, 503, "Redis unreachable");
        return;
    }
    switch (s->step) {
    case S_CHECK:
        rc = r->type == REDIS_REPLY_ARRAY ? checked(s, r) : -1;
        break;
    case S_FAIL:
        fail_with(s, 401, "wrong name or password");
        return;
    case S_OPEN:
        opened(s, r);
        return;
    case S_USE:
        rc = r->type == REDIS_REPLY_ARRAY ? used(s, r) : -1;
        break;
    case S_SIGNOUT:
        log_info("staff %s signed out%s", s->name,
                 s->kind == K_SIGNOUT_ALL ? " everywhere" : "");
        set_cookie(s, NULL);
        finish(s, 200, json_pack("{s:b,s:I}", "ok", 1, "ended",
                                 (json_int_t)(r->type == REDIS_REPLY_INTEGER ?
                                              r->integer : 0)));
        return;
    }
    if (rc < 0)
        fail_with(s, 503, "Redis unreachable");
}

/* ---- requests --------------------------------------------------------- */

/* Reads {"name": "...", "password": "..."} into s. 0, or -1. */
static int login_body(struct sreq *s)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(s->req);
    size_t len = evbuffer_get_length(in);
    char body[LOGIN_BODY_MAX + 1];
    json_t *o, *n, *p;
    int rc = -1;

    if (len == 0 || len > LOGIN_BODY_MAX)
        return -1;
    evbuffer_copyout(in, body, len);
    body[len] = '\0';
    o = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);
    OPENSSL_cleanse(body, sizeof body);
    n = json_is_object(o) ? json_object_get(o, "name") : NULL;
    p = json_is_object(o) ? json_object_get(o, "password") : NULL;
    if (json_is_string(n) && json_is_string(p) &&
        json_string_length(n) <= ACCT_NAME_MAX &&
        json_string_length(p) <= ACCT_PW_MAX) {
        snprintf(s->name, sizeof s->name, "%s", json_string_value(n));
        s->pwlen = json_string_length(p);
        s->pw = malloc(s->pwlen + 1);
        if (s->pw) {
            memcpy(s->pw, json_string_value(p), s->pwlen + 1);
            rc = 0;
        }
    }
    json_decref(o);
    return rc;
}

/* Where the request comes from, and whether it came over TLS. */
static void whence(struct sreq *s)
{
    struct evhttp_connection *conn = evhttp_request_get_connection(s->req);
    struct evkeyvalq *hdr = evhttp_request_get_input_headers(s->req);
    const char *proto = evhttp_find_header(hdr, "X-Forwarded-Proto");
    const char *peer;
    char *ip = NULL;
    ev_uint16_t port = 0;

    evhttp_connection_get_peer(conn, &ip, &port);
    peer = cfg_client_addr(s->cfg, ip, evhttp_find_header(hdr, "X-Real-IP"));
    snprintf(s->addr, sizeof s->addr, "%s", peer ? peer : "?");
    s->secure = s->cfg->console.cookie_secure ||
                (cfg_proxy_trusted(s->cfg, ip) && proto &&
                 strcmp(proto, "https") == 0);
}

/* Which session call path is, or -1 (then *status and *why say why). */
static int kind_of(const char *path, enum evhttp_cmd_type m, int *status,
                   const char **why)
{
    *status = 405;
    if (strcmp(path, "/api/session") == 0) {
        *why = "use POST, GET or DELETE";
        return m == EVHTTP_REQ_POST ? K_LOGIN : m == EVHTTP_REQ_GET ? K_ME :
               m == EVHTTP_REQ_DELETE ? K_SIGNOUT : -1;
    }
    if (strcmp(path, "/api/session/all") == 0) {
        *why = "use POST";
        return m == EVHTTP_REQ_POST ? K_SIGNOUT_ALL : -1;
    }
    *status = 404;
    *why = "no such endpoint";
    return -1;
}

static int start_login(struct sreq *s)
{
    const char *ct = evhttp_find_header(
        evhttp_request_get_input_headers(s->req), "Content-Type");

    /* JSON only: a form on another site cannot post it without CORS. */
    if (!ct || strncmp(ct, "application/json", 16) != 0) {
        fail_with(s, 415, "send JSON {\"name\": ..., \"password\": ...}");
        return 0;
    }
    if (login_body(s) != 0) {
        fail_with(s, 400, "send JSON {\"name\": ..., \"password\": ...}");
        return 0;
    }
    if (!acct_name_ok(s->name))
        snprintf(s->name, sizeof s->name, "%s", "-");  /* one shared bucket */
    return send_check(s);
}

int sauth_handle(struct gw *gw, struct evhttp_request *req, const char *path)
{
    struct evkeyvalq *hdr = evhttp_request_get_input_headers(req);
    const char *cookie = evhttp_find_header(hdr, "Cookie");
    int is_session = strncmp(path, "/api/session", 12) == 0;
    struct sreq *s;
    const char *why = "";
    int status = 0, kind = K_API, rc;

    if (!is_session &&
        (evhttp_find_header(hdr, "Authorization") || !cookie))
        return 0;
    s = calloc(1, sizeof *s);
    if (!s) {
        evhttp_send_error(req, 503, "out of memory");
        return 1;
    }
    gettimeofday(&s->t0, NULL);
    s->gw = gw;
    s->req = req;
    s->path = path;
    if (is_session)
        kind = kind_of(path, evhttp_request_get_command(req), &status, &why);
    if (kind < 0) {
        fail_with(s, status, why);
        return 1;
    }
    s->kind = (enum skind)kind;
    if (gw->draining) {
        fail_with(s, 503, "shutting down");
        return 1;
    }
    s->cfg = cfg_retain(gw->cfg);
    gw->inflight++;
    whence(s);
    if (s->kind == K_LOGIN) {
        rc = start_login(s);
    } else if (!cookie ||
               acct_cookie_get(cookie, SAUTH_COOKIE, s->id, sizeof s->id) ||
               !acct_id_ok(s->id)) {
        fail_with(s, 401, "not signed in");
        return 1;
    } else {
        rc = send_use(s);
    }
    if (rc != 0)
        fail_with(s, 503, "Redis unreachable");
    return 1;
}
