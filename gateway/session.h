/*
 * session.h — one inbound message through the menu and Redis: load the
 * caller's session (one round trip), take one step of the menu, save the new
 * state and, for a help request, file it — in one atomic Lua script — then
 * answer. When Redis cannot be reached: Africa's Talking sessions keep
 * walking by history replay, help requests go to the local spool, and other
 * dialects get the configured fallback screen.
 */
#ifndef HOTLINE_SESSION_H
#define HOTLINE_SESSION_H

#include <stddef.h>

struct gw;
struct cfg;
struct cfg_channel;
struct inbound;

/* The answer for the HTTP layer: status, body (rendered by the dialect) and
 * content type. body is valid only during the callback. */
typedef void (*session_done_cb)(int status, const char *body, size_t len,
                                const char *ctype, void *arg);

/* Handles `in`, sent from address peer, on channel ch of cfg (retained for
 * the duration). Calls done exactly once, possibly before returning. */
void session_handle(struct gw *gw, struct cfg *cfg,
                    const struct cfg_channel *ch, const struct inbound *in,
                    const char *peer, session_done_cb done, void *arg);

/* Builds the STEP script's text (gw_scripts[GW_SCRIPT_STEP]) from its
 * parts; call once before the scripts are loaded or hashed. */
void session_scripts_init(void);

/* The short reference of a help request: REF_LEN characters from an
 * alphabet without look-alikes (no 0/O, 1/I/L, 5/S, 2/Z, U/V), derived
 * from key and attempt with HMAC-SHA256(pepper). */
#define SESSION_REF_LEN 6
void session_ref(const char *pepper, const char *key, int attempt,
                 char out[SESSION_REF_LEN + 1]);

/* Hex HMAC-SHA256(pepper, phone), first 32 hex digits: the only form in which
 * a phone number appears in a Redis key. */
void session_phone_key(const char *pepper, const char *phone, char out[33]);

#endif
