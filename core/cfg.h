/*
 * cfg.h — hotlined's configuration: the daemon's settings, its channels, and
 * the menus they serve, loaded from one libconfig file (config/hotlined.cfg
 * is the commented reference). Any string written "env:NAME" is read from
 * the environment, so secrets never sit in the file.
 *
 * A loaded struct cfg is immutable and reference-counted: a SIGHUP builds a
 * new one while requests in flight keep the old one until they finish.
 */
#ifndef HOTLINE_CFG_H
#define HOTLINE_CFG_H

#include <netinet/in.h>
#include <stddef.h>

#include "menu.h"

struct dialect;

struct cfg_cidr {
    int family;                 /* AF_INET or AF_INET6 */
    unsigned char addr[16];
    int bits;
};

/* Where an SMS reply or alert SMS goes out (see sms_out.h). */
struct cfg_sms_out {
    char *provider;             /* "africastalking" | "kannel" | "twilio" */
    char *base_url;
    char *username;             /* AT username / Kannel user / Twilio SID */
    char *password;             /* AT API key / Kannel password / Twilio token */
    char *from;                 /* sender id / short code, may be NULL */
};

/* One alert of a queue: where a help request is announced to staff. */
enum cfg_alert_type { ALERT_WEBHOOK, ALERT_SMS, ALERT_EMAIL };

struct cfg_alert {
    enum cfg_alert_type type;
    char *url;                  /* webhook URL, or smtp://host:port */
    char *secret;               /* webhook HMAC-SHA256 key */
    struct cfg_sms_out sms;     /* SMS: provider, base_url, credentials */
    char **to;                  /* SMS numbers / e-mail addresses of staff */
    size_t nto;
    char *from;                 /* e-mail sender */
    char *username;             /* SMTP auth (optional) */
    char *password;
    int line;
};

struct cfg_queue {
    char *name;                 /* the forward node's `queue` */
    struct cfg_alert *alerts;
    size_t nalerts;
    int line;
};

struct cfg_staff {
    char *name;                 /* who did what, in case history */
    char *token;                /* bearer token for /api/ and hotlinectl */
    unsigned char mac[32];      /* HMAC of token under cfg.token_key */
};

/* console = { ... }: staff accounts' sign-in and the web console. */
struct cfg_console {
    char *dir;                  /* static files served at /console/ */
    int session_idle_s;         /* a session unused this long ends */
    int cookie_secure;          /* always mark the cookie Secure */
    int login_per_name;         /* failed sign-ins per name per window */
    int login_per_addr;         /* failed sign-ins per address per window */
    int login_period_s;
    int live_clients;           /* open live queues (SSE) at most */
    int live_buffer;            /* bytes one live client may leave unread */
    int live_heartbeat_s;       /* a comment line this often */
    int upload_max;             /* bytes of a menu file an operator
                                   uploads (0 = none); evhttp takes bodies
                                   up to max(http.max_body, this) */
};

struct cfg_channel {
    char *name;
    char *dialect_name;
    const struct dialect *dialect;
    char *path;                 /* exact request path, e.g. /ussd/hubtel */
    char *menu_name;
    const struct menu *menu;    /* resolved from the loaded menus */
    int timeout_s;              /* session time to live */
    int resume_s;               /* USSD: a dropped walk is offered back this
                                   long (-1 = the menu's resume_s, 0 = off) */
    char *service_code;         /* USSD: the short code ("*920*55#") whose
                                   longer dialled form carries pre-dialled
                                   input (Nalo, Arkesel), or NULL */
    struct menu_render render;  /* channel kind, fold, sms_parts */
    char *secret;               /* required ?key= / X-Hotline-Key, or NULL */
    char *auth_token;           /* twilio-sms: signature key */
    char *public_url;           /* twilio-sms: URL Twilio calls */
    struct cfg_cidr *allow;     /* address allow-list; empty = any */
    size_t nallow;
    struct cfg_sms_out reply;   /* africastalking-sms: the messaging API */
    int disabled;               /* 1: answer 503 (e.g. no Twilio token) */
    int line;
};

struct cfg {
    int refs;
    char *file;
    char *listen_host;
    int listen_port;
    int workers;                /* processes sharing the port; 0: one
                                 * per core (main.c resolves it) */
    char *redis_host;
    int redis_port;
    char *redis_password;       /* NULL = none */
    char *prefix;               /* key prefix, default "hl:" */
    int redis_timeout_ms;       /* deadline of one Redis call */
    int wait_replicas;          /* replicas that must hold a filing, or 0 */
    int session_cache;          /* session states cached per process, 0 off */
    int wait_ms;                /* how long WAIT waits for them */
    char **sentinels;           /* "HOST:PORT" of Redis Sentinels, or none */
    size_t nsentinels;
    char *sentinel_master;      /* the master's name at the sentinels */
    char *menus_dir;
    char *spool_path;
    char *pepper;               /* HMAC key for phone-number keys */
    char *fallback;             /* screen when Redis is unreachable */
    int limit_sessions_hour;    /* sessions a number may start an hour */
    int limit_requests_day;     /* help requests a number may file a day
                                   (its first is never refused) */
    int limit_addr_minute;      /* requests one address may make a minute */
    char *limit_message;        /* screen for a number over its limit */
    char *sms_stop;             /* SMS reply to STOP */
    char *sms_start;            /* SMS reply to START */
    char *log_level;
    size_t max_body;
    size_t max_headers;
    int http_timeout_s;
    int max_connections;        /* open at once; 0 = from the fd limit */
    int header_timeout_s;       /* whole request head, from its 1st byte */
    int body_timeout_s;         /* whole body, from the end of the head */
    int drain_s;                /* SIGTERM: longest wait for in-flight */
    struct cfg_cidr *trusted;   /* proxies whose X-Real-IP is believed */
    size_t ntrusted;
    struct cfg_channel *channels;
    size_t nchannels;
    struct cfg_queue *queues;   /* alerts per queue (may be empty) */
    size_t nqueues;
    int alert_attempts;         /* deliveries tried before dead-letter */
    int alert_backoff_ms;       /* first retry delay; doubles, jittered */
    int alert_backoff_max_ms;
    int alert_timeout_ms;       /* one delivery's total deadline */
    int alert_claim_s;          /* reclaim entries pending this long */
    struct cfg_staff *staff;
    size_t nstaff;
    int case_retention_s;       /* resolved cases expire after this */
    unsigned char token_key[32];/* random per load: tokens compare as HMACs */
    int auth_fail_addr;         /* failed tokens an address may send ... */
    int auth_fail_prefix;       /* ... or a token prefix, per window */
    int auth_window_s;          /* then 429 until the window ends */
    struct cfg_console console; /* people's sign-in and the web console */
    struct menu **menus;
    size_t nmenus;
};

/* Command-line values that override the file (NULL/0 = keep). */
struct cfg_overrides {
    const char *listen;         /* HOST:PORT */
    const char *redis;          /* HOST:PORT */
    const char *menus_dir;
    const char *workers;        /* 0..64 (0: one per core) */
};

/* What the config needs to know of a channel's dialect, asked of whoever
 * knows them (the gateway's dialect table, gateway/dialect.c, registered by
 * hotlined and hotlinectl before cfg_load): the dialect named name, or NULL
 * when there is none, with *sms 1 for an SMS dialect (0 USSD) and
 * *reply_in_body 0 when replies go out through a provider's API. core/
 * never includes the gateway's headers: the arrows point down. */
typedef const struct dialect *(*cfg_dialect_fn)(const char *name, int *sms,
                                                int *reply_in_body);
/* Sets the dialect lookup for every later cfg_load (NULL: every dialect
 * unknown). */
void cfg_set_dialects(cfg_dialect_fn fn);

/* Loads FILE, applies ov, loads every menu in menus_dir and resolves each
 * channel's dialect and menu. On error returns -1 with "FILE:LINE: message"
 * (or a menu checker's lines) in err, and *out is NULL. Warnings (a channel
 * disabled for lack of a secret, a menu warning) go to the log. The caller
 * owns *out (cfg_release). */
int cfg_load(const char *path, const struct cfg_overrides *ov,
             struct cfg **out, char *err, size_t errlen);
struct cfg *cfg_retain(struct cfg *c);
void cfg_release(struct cfg *c);  /* frees at the last reference; NULL ok */

/* The channel serving an exact path, or NULL. */
const struct cfg_channel *cfg_channel_by_path(const struct cfg *c,
                                              const char *path);
/* The queue named name, or NULL. */
const struct cfg_queue *cfg_queue_by_name(const struct cfg *c,
                                          const char *name);
/* The staff member whose token equals token, or NULL. Constant time in
 * the tokens' contents and lengths: HMAC-SHA256 digests of both are
 * compared, with every staff member, always. */
const struct cfg_staff *cfg_staff_by_token(const struct cfg *c,
                                           const char *token);
/* Why token is too weak to be a staff token (a static sentence), or NULL
 * when it is acceptable: at least CFG_TOKEN_MIN printable ASCII characters
 * without spaces, two character classes of four (lower case, upper case,
 * digits, symbols), CFG_TOKEN_DISTINCT different characters. */
#define CFG_TOKEN_MIN 20
#define CFG_TOKEN_DISTINCT 10
const char *cfg_token_weakness(const char *token);
/* 1 when addr (text form) is allowed by the channel's allow-list. */
int cfg_addr_allowed(const struct cfg_channel *ch, const char *addr);
/* The address a request comes from: peer, or real_ip (nginx's X-Real-IP)
 * when peer is one of http.trusted_proxies and real_ip is an address. */
const char *cfg_client_addr(const struct cfg *c, const char *peer,
                            const char *real_ip);
/* 1 when peer (text form) is one of http.trusted_proxies. */
int cfg_proxy_trusted(const struct cfg *c, const char *peer);
/* Parses "HOST:PORT" / "[V6]:PORT" into host (malloc'd) and port. */
int cfg_parse_hostport(const char *s, char **host, int *port);

#endif
