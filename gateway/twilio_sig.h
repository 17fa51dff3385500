/*
 * twilio_sig.h — Twilio's X-Twilio-Signature (PROTOCOLS.md), apart from the
 * dialect so tests and fuzzers can check it against the published vector.
 *
 * signature = base64(HMAC-SHA1(auth token, URL + for each POST parameter,
 * sorted by name in byte order: name + value)), over the decoded values.
 */
#ifndef HOTLINE_TWILIO_SIG_H
#define HOTLINE_TWILIO_SIG_H

#include "form.h"

#define TWILIO_SIG_LEN 28           /* base64 of 20 bytes */

/* Writes the signature of (url, params) under token into out
 * (NUL-terminated). Returns 0, or -1 when out of memory. */
int dialect_twilio_signature(const char *token, const char *url,
                             const struct form *params,
                             char out[TWILIO_SIG_LEN + 1]);

/* 1 when sig is the signature of params for url, or for url with its
 * default port (:443 https, :80 http) added or removed, as Twilio's own
 * libraries accept; 0 otherwise. Compares in constant time. */
int dialect_twilio_verify(const char *token, const char *url,
                          const struct form *params, const char *sig);

#endif
