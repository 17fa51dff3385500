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
 * claimed_at, first_claimed_at, resolved_by, resolved_at (ms), notes and
 * history (JSON arrays of {"who","at","text"} / {"who","at","what"}; "what"
 * is claim, release, note, resolve, reveal, reassign (with "from" and "to"),
 * or an audit entry: read, list).
 *
 * The case index: sorted sets of references scored by `created` (ms),
 *   P cx:STATUS          every queue's cases in that status
 *   P cx:STATUS:QUEUE    one queue's
 * (STATUS new, claimed or resolved). The STEP script adds a filed case to
 * cx:new and cx:new:QUEUE; every script below that changes a status moves
 * it; erase removes it. A listing reads a page of at most `limit` members
 * of one to three of them, so its cost does not depend on what else the
 * keyspace holds. Resolved members whose case expired are dropped by
 * later resolves and listings. No hash tags, like the case and queue keys.
 *
 * Case events: P ev:cases, a stream (capped at ~10 000) of {what = claim |
 * resolve, ms = waiting time}: no reference, no number. Every tool that
 * claims or resolves writes it (the scripts do); hotlined reads it with a
 * consumer group (caseev.h) into the /metrics histograms.
 *
 * Ownership: a claimed case belongs to the one who claimed it until they
 * release it; note, resolve and release by anyone else are refused
 * ("case is claimed by NAME"). The rule lives in one Lua function,
 * may_act, the hook for a supervisor override.
 */
#ifndef HOTLINE_CASES_H
#define HOTLINE_CASES_H

#include <stddef.h>

#define CASES_NOTE_MAX 2000         /* bytes of one note */
#define CASES_NOTES_MAX 100         /* notes on one case */
#define CASES_LIST_MAX 200          /* cases one page may hold: ~10 ms of
                                     * Redis for the page and its audit */
#define CASES_LIST_DEFAULT 100      /* cases a page holds unless asked */
#define CASES_CURSOR_MAX 40         /* bytes of a listing cursor + NUL */
#define CASES_QUEUE_MAX 65          /* bytes of a queue name + NUL */
#define CASES_REF_MAX 16            /* bytes of a reference + NUL */

/* The scripts (EVAL / EVALSHA). Each returns {code, message, created}:
 * code 1 done, 0 no such case, -1 not allowed in this state (message says
 * why, e.g. "case is resolved"); created is the case's filing time (ms) for
 * the time-to-claim metric, or the claim time for resolve.
 *   claim    KEYS case key; ARGV who, now
 *   release  KEYS case key; ARGV who, now
 *   note     KEYS case key; ARGV who, now, text
 *   resolve  KEYS case key; ARGV who, now, retention seconds. Also deletes
 *            the case's queue entry when the alert group delivered it (or
 *            the queue has no alerts); else the alert worker does on its
 *            acknowledgement (alert.c).
 *   reveal   KEYS case key; ARGV who, now, role. Writes {who, at, what:
 *            "reveal"} to the history; returns {1, phone, 0}.
 * claim and release take the caller's role as ARGV 3, note and resolve as
 * ARGV 4: "supervisor" may note, resolve, release and reveal a case
 * another person claimed (may_act); absent (hotlinectl) it is "staff".
 * Every change also appends {what, ref} to P ev:live (live.h).
 * list: KEYS 1 to 3 index keys (cases_list_keys); ARGV limit, cursor score
 * ("" = from the oldest), cursor reference. Returns {next cursor ("" = no
 * more), case, case, ...}, each case a flat field/value array (HGETALL
 * form), oldest first (by created, then reference).
 * reindex: KEYS case keys (a batch the CLI's SCAN found); puts each in the
 * index of its status (an upgrade from a version without it). Returns how
 * many.
 * read: KEYS case key; ARGV who, now. Writes {who, at, what: "read"} to
 * the case's history, then returns its HGETALL (empty: no such case).
 * audit: KEYS none; ARGV who, now, what ("list"), prefix, references
 * separated by spaces (the cases a listing showed; undeclared keys, as
 * list). Writes the entry to each case that exists; returns how many. A
 * run of lists by one person is one entry {who, at (last), what, n, first}.
 * History holds 500 entries; the oldest read/list entries go first.
 * erase: KEYS none; ARGV prefix, phone, phone key (HMAC, session.h).
 * Returns {cases, queue entries, dead letters, sessions, counters,
 * opt-outs, saved places (P r:PHONEKEY: a dropped walk, session.c)}
 * removed. */
extern const char cases_script_claim[];
extern const char cases_script_note[];
extern const char cases_script_resolve[];
extern const char cases_script_release[];
extern const char cases_script_reveal[];
/* reassign KEYS case key; ARGV who, now, new owner, role, "1" when the new
 * owner is a staff member of the config (else an enabled account is
 * needed). Only role "supervisor"; only a claimed case. */
extern const char cases_script_reassign[];
extern const char cases_script_list[];
extern const char cases_script_read[];
extern const char cases_script_audit[];
extern const char cases_script_reindex[];
extern const char cases_script_erase[];
extern const char cases_script_tag[];

/* The index keys a listing reads, for status (NULL or "" = every status)
 * and queue (NULL or "" = every queue), into keys[3][keysz]. Returns how
 * many (1 or 3), or -1 when a key does not fit. */
int cases_list_keys(const char *prefix, const char *status,
                    const char *queue, char keys[][128], size_t keysz);

/* A listing cursor "SCORE-REF" (the last case of the previous page) split
 * into score and ref (each NUL-terminated, ref at most CASES_REF_MAX).
 * Returns 0, or -1 when it is not one. */
int cases_cursor_parse(const char *cursor, char *score, size_t scoresz,
                       char *ref, size_t refsz);

/* 1 when q can name a queue in a key: 1 to 64 letters, digits, '-', '_', '.'
 * (a queue name of the menus, as alert.c accepts it). */
int cases_queue_ok(const char *q);

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

/* The number as the console shows it before a reveal: "+84 9•• ••• •67"
 * (country code, the first national digit and the last two; the others
 * as "•" in groups of three). "" for "". A national number (leading 0)
 * keeps its 0 and the last two. Writes at most outsz bytes. */
void cases_phone_mask(const char *phone, char *out, size_t outsz);

/* For a cookie session (the console): o's "phone" becomes "" and
 * "phone_masked" holds cases_phone_mask of it. o is a json_t *. */
void cases_json_mask(void *o);

/* One line for `hotlinectl cases list`:
 *   REF  STATUS    QUEUE   LANG  AGE  SAFE-TO-CALL  [HIGH RISK]  location
 * now in ms gives the age. Writes at most outsz bytes, NUL-terminated. */
void cases_line(const char *const *kv, const size_t *kvlen, size_t n,
                long long now_ms, char *out, size_t outsz);

/* Human-readable case for `hotlinectl cases show`, safe-to-call first and in
 * words. Returns a malloc'd string or NULL. */
char *cases_text(const char *const *kv, const size_t *kvlen, size_t n);

#endif
