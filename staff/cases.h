/*
 * cases.h — what a help request becomes for staff: a case that goes
 * new → claimed → resolved, with notes and a history of who did what when.
 *
 * The case is the hash P case:REF the STEP script (session.c) writes when a
 * request is filed. Every change is one Lua script, so a transition is
 * atomic and the same code serves the staff API in hotlined (async) and
 * `hotlinectl cases` (sync). Nothing here reads the clock: callers pass
 * `now` in milliseconds.
 *
 * Fields of the case hash: ref, owner (the walk: "SESSIONKEY#WALKID", or
 * the session key for walks begun before walk ids), status, entry (stream
 * id), queue, channel, phone, lang, created (ms), service, f:NAME (what the
 * caller answered), told / told_also (a spooled caller's promised reference
 * was another case's: see session.c), risk ("high" after a duress exit),
 * claimed_by,
 * claimed_at, resolved_by, resolved_at (ms), notes and history (JSON arrays
 * of {"who","at","text"} / {"who","at","what"}; "what" is claim, note,
 * resolve, or an audit entry: read, list).
 */
#ifndef HOTLINE_CASES_H
#define HOTLINE_CASES_H

#include <stddef.h>

#define CASES_NOTE_MAX 2000         /* bytes of one note */
#define CASES_NOTES_MAX 100         /* notes on one case */
#define CASES_LIST_MAX 1000         /* cases one listing returns */
#define CASES_REF_MAX 16            /* bytes of a reference + NUL */

/* The scripts (EVAL / EVALSHA). Each returns {code, message, created}:
 * code 1 done, 0 no such case, -1 not allowed in this state (message says
 * why, e.g. "case is resolved"); created is the case's filing time (ms) for
 * the time-to-claim metric, or the claim time for resolve.
 *   claim    KEYS case key; ARGV who, now
 *   note     KEYS case key; ARGV who, now, text
 *   resolve  KEYS case key; ARGV who, now, retention seconds
 * list: KEYS none; ARGV prefix, status ("" = any), max. Returns an array of
 * flat field/value arrays (HGETALL form), oldest first.
 * read: KEYS case key; ARGV who, now. Writes {who, at, what: "read"} to
 * the case's history, then returns its HGETALL (empty: no such case).
 * audit: KEYS none; ARGV who, now, what ("list"), prefix, references
 * separated by spaces (the cases a listing showed; undeclared keys, as
 * list). Writes the entry to each case that exists; returns how many. A
 * run of lists by one person is one entry {who, at (last), what, n, first}.
 * History holds 500 entries; the oldest read/list entries go first.
 * erase: KEYS none; ARGV prefix, phone, phone key (HMAC, session.h).
 * Returns {cases, queue entries, dead letters, sessions, counters,
 * opt-outs} removed. */
extern const char cases_script_claim[];
extern const char cases_script_note[];
extern const char cases_script_resolve[];
extern const char cases_script_list[];
extern const char cases_script_read[];
extern const char cases_script_audit[];
extern const char cases_script_erase[];

/* 1 when ref looks like a reference (letters/digits, 4–12), so it can be
 * put into a key. */
int cases_ref_ok(const char *ref);

/* 1 when s[0..len) can be a note: 1 to CASES_NOTE_MAX bytes of valid UTF-8
 * without control characters other than newline and tab (a note is shown
 * on staff terminals and must round-trip through the case's JSON). */
int cases_note_ok(const char *s, size_t len);

/* 1 when status may filter a listing: NULL, "", new, claimed, resolved. */
int cases_status_ok(const char *status);

/* A case as staff see it, from a flat field/value array (HGETALL order
 * irrelevant): JSON with "safe_to_call" FIRST (true only when the caller
 * answered "yes", as on the webhook), then ref, status, queue, lang,
 * channel, service ("" when absent), risk, created, fields {NAME: value},
 * phone, claimed_by/at, resolved_by/at (null until set), notes [],
 * history []. docs/schemas/case.schema.json is its schema.
 * Returns a malloc'd string (the caller frees it) or NULL on ENOMEM or a
 * malformed array. */
char *cases_json(const char *const *kv, const size_t *kvlen, size_t n);

/* The same as a jansson object (for a list); the caller json_decref()s it.
 * void * to keep jansson out of this header. */
void *cases_json_object(const char *const *kv, const size_t *kvlen, size_t n);

/* One line for `hotlinectl cases list`:
 *   REF  STATUS    QUEUE   LANG  AGE  SAFE-TO-CALL  [HIGH RISK]  location
 * now in ms gives the age. Writes at most outsz bytes, NUL-terminated. */
void cases_line(const char *const *kv, const size_t *kvlen, size_t n,
                long long now_ms, char *out, size_t outsz);

/* Human-readable case for `hotlinectl cases show`, safe-to-call first and in
 * words. Returns a malloc'd string or NULL. */
char *cases_text(const char *const *kv, const size_t *kvlen, size_t n);

#endif
