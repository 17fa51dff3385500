/*
 * http_client.h — outbound HTTP(S) and SMTP on hotlined's event loop:
 * libcurl's multi interface driven by libevent (the hiperfifo pattern:
 * CURLMOPT_SOCKETFUNCTION + CURLMOPT_TIMERFUNCTION → curl_multi_socket_action,
 * then curl_multi_info_read). Used for SMS replies through provider APIs and
 * for alerts to staff. Nothing here blocks the loop.
 *
 * Every transfer has a connect timeout and a total timeout (libcurl's
 * defaults are 300 s and none); response bodies are capped at
 * HC_BODY_MAX bytes (the rest is dropped, the transfer still succeeds).
 */
#ifndef HOTLINE_HTTP_CLIENT_H
#define HOTLINE_HTTP_CLIENT_H

#include <stddef.h>

struct event_base;
struct hc;

#define HC_BODY_MAX 65536

struct hc_opts {
    int max_transfers;           /* at once; further ones wait in curl (64) */
    int connect_timeout_ms;      /* default 3000 */
};

/* One request. Strings are copied by hc_send; they may be freed after it
 * returns. */
struct hc_request {
    const char *method;          /* "GET" | "POST" | "PUT"; NULL = GET, or
                                    POST when body != NULL */
    const char *url;             /* http://, https://, or smtp:// (smtps://) */
    const char *const *headers;  /* "Name: value" lines */
    size_t nheaders;
    const char *body;            /* request body / the whole e-mail message
                                    (headers + blank line + text) for SMTP */
    size_t body_len;
    int timeout_ms;              /* whole transfer; 0 = 10000 */
    /* SMTP only */
    const char *mail_from;
    const char *const *mail_rcpt;
    size_t nrcpt;
    const char *username;        /* SMTP AUTH / HTTP basic auth; NULL = none */
    const char *password;
};

struct hc_response {
    int status;                  /* HTTP status, SMTP final code (250), or
                                    0 when the transfer failed */
    const char *body;            /* NUL-terminated, valid during the cb */
    size_t body_len;
    const char *error;           /* libcurl's message when status == 0 */
};

typedef void (*hc_cb)(const struct hc_response *res, void *arg);

/* curl_global_init; call once in main before any thread or hc_new. */
void hc_global_init(void);
/* A client on base; o NULL = defaults. NULL on failure. */
struct hc *hc_new(struct event_base *base, const struct hc_opts *o);
/* Frees the client; transfers in flight are aborted and their callbacks run
 * with status 0 and error "aborted". Accepts NULL. */
void hc_free(struct hc *hc);
/* Starts one transfer. cb runs exactly once, later, from the event loop
 * (never from inside hc_send). Returns 0, or -1 when the transfer could not
 * be started (cb is then NOT called). */
int hc_send(struct hc *hc, const struct hc_request *rq, hc_cb cb, void *arg);
/* Transfers in flight. */
size_t hc_pending(const struct hc *hc);

#endif
