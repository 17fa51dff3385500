/*
 * alert_msg.h — what an alert says: pure builders for the three kinds of
 * alert a help request produces (alert.c sends them). Bytes and structs in,
 * strings out; nothing here logs, reads the clock or touches the network,
 * so every function is unit-tested on its exact output.
 *
 * Who sees the caller's number: only the signed webhook (staff systems need
 * it to call back). The SMS and the e-mail carry the reference, queue,
 * language and location, never `phone`, never the `callback` field (a number
 * the caller typed), and any run of 6 or more digits in a value they do
 * carry is replaced by "***" (a caller may type a number as "location").
 *
 * The webhook (POST, Content-Type: application/json), one compact object
 * whose first member is safe_to_call, so a receiver that shows the request
 * shows first whether calling back is safe:
 *
 *   {"safe_to_call":false,"ref":"K7M3QX","queue":"urgent","channel":"at-ussd",
 *    "phone":"+84901234567","lang":"en","created":1700000000123,
 *    "service":"*384*123#","entry":"1700000000123-0",
 *    "fields":{"location":"Hanoi","in_danger":"yes","safe_to_call":"no",
 *              "callback":"none"}}
 *
 *   safe_to_call  true only when the caller answered exactly "yes" (the
 *                 f:safe_to_call field); false when "no", absent or other.
 *   ref           the case reference (hl:case:REF; hotlinectl cases show REF)
 *   queue, channel, lang, service   as filed ("" when the entry lacks
 *                 them); a USSD service is "*CODE#" in every dialect
 *   phone         the caller's number in E.164, whatever form the
 *                 aggregator sent (dialect_normalise)
 *   created       milliseconds since the epoch when the request was filed,
 *                 null if the entry's value is not a number
 *   entry         the Redis stream entry id: delivery is at-least-once, so
 *                 a receiver drops a second delivery of the same entry
 *   fields        every f:NAME of the entry, NAME → value, in filing order
 * Strings are valid UTF-8 (invalid bytes become '?'). The staff API's case
 * JSON has the same members and representation (safe_to_call a boolean);
 * docs/schemas/webhook.schema.json is the schema, checked by the tests.
 *
 * Its signature, header `X-Hotline-Signature: t=TS,v1=HEX` where TS is the
 * sending time in Unix seconds and HEX the lowercase hex
 * HMAC-SHA256(secret, TS + "." + body). A receiver recomputes it over the
 * raw body, compares in constant time, and rejects a TS more than a few
 * minutes old (a replay).
 */
#ifndef HOTLINE_ALERT_MSG_H
#define HOTLINE_ALERT_MSG_H

#include <stddef.h>
#include <time.h>

#define ALERT_FIELDS_MAX 32          /* f:NAME fields of one request */
#define ALERT_SMS_MAX 160            /* GSM-7 characters of the staff SMS */
#define ALERT_SIG_MAX 128            /* "t=...,v1=" + 64 hex + NUL fits */
#define ALERT_TOKEN_MAX 64           /* ref, queue, lang: token characters */

/* One help request as read from its stream entry. Every pointer is
 * borrowed from the caller's storage; absent fields are "" (never NULL)
 * after alert_req_parse. */
struct alert_req {
    const char *entry;               /* stream entry id */
    const char *ref;
    const char *queue;
    const char *channel;
    const char *phone;
    const char *lang;
    const char *created;
    const char *service;
    const char *names[ALERT_FIELDS_MAX];   /* NAME of f:NAME */
    const char *values[ALERT_FIELDS_MAX];
    size_t nfields;
};

/* Fills r from an entry's nkv strings (field, value, field, value, ...);
 * entry is the stream id, default_queue the stream's queue (used when the
 * entry has no queue field). r points into kv: keep kv alive while r is
 * used. Returns 0, or -1 when the entry is malformed — no ref, a ref, queue
 * or lang outside [A-Za-z0-9_.-] or longer than ALERT_TOKEN_MAX, an odd
 * count, more than ALERT_FIELDS_MAX f: fields — with a static reason in
 * *why. Such an entry can never be delivered (it is poison). */
int alert_req_parse(struct alert_req *r, const char *entry,
                    const char *default_queue, const char *const *kv,
                    size_t nkv, const char **why);

/* The value of f:name, or NULL. */
const char *alert_req_field(const struct alert_req *r, const char *name);

/* The webhook body described above; malloc'd NUL-terminated JSON (the
 * caller frees it), NULL when out of memory. */
char *alert_msg_webhook(const struct alert_req *r);

/* Writes "t=TS,v1=HEX" for body[0..len) into out. Returns 0, or -1 when
 * outsz is below ALERT_SIG_MAX or HMAC fails. */
int alert_msg_signature(const char *secret, long long ts, const char *body,
                        size_t len, char *out, size_t outsz);

/* The staff SMS, e.g.
 *   "hotline K7M3QX [urgent/en] at: Hanoi; danger: yes; safe to call: no"
 * Plain GSM-7 (diacritics folded, other characters outside GSM 03.38's
 * basic set become '?'), at most ALERT_SMS_MAX characters (the location is
 * shortened with "..." to fit). Parts without a value are left out.
 * Returns 0, or -1 when outsz < ALERT_SMS_MAX + 1. */
int alert_msg_sms(const struct alert_req *r, char *out, size_t outsz);

/* The staff e-mail as an RFC 5322 message (headers, blank line, text), CRLF
 * line ends, UTF-8 8bit text: From, To, Subject, Date (from now), Message-ID
 * (<ENTRY.REF@domain of from>), MIME headers, Auto-Submitted. Field values
 * only appear in the body, cleaned of control characters, so they cannot
 * add headers. Returns a malloc'd message (the caller frees it), or NULL
 * when from or a `to` address is not a plain address (CR, LF, controls,
 * spaces, commas, <>, no '@') — *why then says which — or out of memory. */
char *alert_msg_email(const struct alert_req *r, const char *from,
                      const char *const *to, size_t nto, time_t now,
                      const char **why);

/* Delay before retry number `attempt` (1 = the first retry): base_ms *
 * 2^(attempt-1), capped at max_ms, then scaled by 0.75 + 0.5 * r01 (r01 in
 * [0,1), the ±25% jitter that keeps many workers from retrying together). */
long alert_msg_backoff_ms(int base_ms, int max_ms, int attempt, double r01);

#endif
