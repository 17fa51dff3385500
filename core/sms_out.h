/*
 * sms_out.h — sends one SMS through a provider's HTTP API (Africa's Talking
 * messaging, Kannel sendsms, Twilio Messages), on the event loop through
 * http_client. One generic sender for SMS replies and for staff alerts; the
 * provider and its credentials come from a struct cfg_sms_out.
 *
 * The outcome is classified for the caller's retry policy: sent, temporary
 * failure (worth retrying: 5xx, 429, timeouts, refused connections), or
 * permanent failure (bad credentials, rejected number, …). The reason is a
 * short fixed-form text without the number, the message or any secret.
 */
#ifndef HOTLINE_SMS_OUT_H
#define HOTLINE_SMS_OUT_H

struct hc;
struct cfg_sms_out;

enum sms_out_result {
    SMS_OUT_OK = 0,              /* accepted by the provider */
    SMS_OUT_TEMPORARY,           /* not sent; retrying may succeed */
    SMS_OUT_PERMANENT            /* not sent; retrying will not help */
};

/* reason: e.g. "http 201", "http 503", "statusCode 403",
 * "transport: Timeout was reached"; valid during the call only. */
typedef void (*sms_out_cb)(enum sms_out_result r, const char *reason,
                           void *arg);

/* "ok" | "temporary" | "permanent". */
const char *sms_out_result_str(enum sms_out_result r);

/* Sends text to the number `to` (E.164) with provider o. o, to and text are
 * copied: they may be freed after the call. timeout_ms bounds the whole
 * HTTP exchange (0 = http_client's default). cb runs exactly once, later,
 * from the event loop. Returns 0, or -1 when nothing was started (unknown
 * provider, missing base_url or credentials, out of memory); cb is then
 * NOT called. */
int sms_out_send(struct hc *hc, const struct cfg_sms_out *o, const char *to,
                 const char *text, int timeout_ms, sms_out_cb cb, void *arg);

#endif
