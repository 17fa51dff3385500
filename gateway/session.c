/*
 * session.c — the path of one USSD screen or SMS (DESIGN.md, steps 3–6).
 *
 * A request is a small state machine, struct sreq:
 *   LOAD   one EVALSHA of the LOAD script: the session hash and, for SMS,
 *          whether the number opted out — or, for a USSD session this
 *          process saved last, its cached copy (scache.h), or for the
 *          first screen of a new USSD session nothing at all (see "One
 *          round trip" below);
 *   DECIDE pure: menu_step / menu_replay / menu_show on what was loaded;
 *   SAVE   one EVALSHA of the STEP script: the new state with its TTL and,
 *          for a forward, the help request (case hash + stream entry), made
 *          idempotent by the case's owner — the same walk files once;
 *   REPLY  the dialect renders the screen.
 * The caller is told "sent" only after the STEP script succeeded or the
 * request was fsync'd to the spool. A step that files runs on the filing
 * connection (gw->fstore); with redis.wait_replicas a WAIT follows it there,
 * and a filing no replica confirmed in time is spooled as well, so that a
 * failover to a replica that never received it cannot lose it.
 *
 * Keys (prefix P, default "hl:"):
 *   P s:{CHANNEL:ID}   session hash: st (state), h (AT history),
 *                      q (last SMS message id / Hubtel Sequence), r
 *                      (reference filed), w (walk id), pk (the number's
 *                      HMAC, fixed when the session began), t (last step,
 *                      Redis clock, seconds), v (version: +1 each save),
 *                      mv (menu version pinned, menu_pub.h), b (the first
 *                      screen of a resumed USSD session: the resume
 *                      question its history replays from). The STEP
 *                      script writes it with one HSET of what changed
 *                      (st h t v always) and an EXPIRE (ttl: the
 *                      channel's timeout after the last step)
 *   P o:PHONEKEY       SMS opt-out marker (STOP / START)
 *   P r:PHONEKEY       the place of the number's last USSD walk while it is
 *                      live and past its start: m (menu), st (state), t;
 *                      TTL resume_s. Written by the STEP script with each
 *                      such step, deleted by the step that ends, files,
 *                      quits or starts again; a new session of the number
 *                      finding it opens on the resume question (issue 13)
 *   P case:REF         case hash (owner = the walk, status, fields)
 *   P q:QUEUE          help-request stream
 *   P cx:new, P cx:new:QUEUE   the case index (cases.h)
 * ID is the aggregator's session id for USSD, and PHONEKEY (an HMAC of the
 * number) for SMS and Nalo: no key ever contains a phone number.
 *
 * One round trip. A step decided from the cache is saved by the STEP script
 * with a compare-and-set (the version, state and walk id it was computed
 * from): when Redis holds something else nothing is written and the step is
 * taken again from a LOAD (redo). Only a step that continues a live walk
 * and saves or deletes it goes this way (cas_ok); anything else — a new
 * walk, a filing, a limit, a retry — is redone from a LOAD before any
 * write, so filing, spooling and WAIT work as without a cache. A STEP Redis
 * does not take (not connected) is redone as if the LOAD had found no
 * Redis.
 * The first screen of a new USSD session (an empty Africa's Talking
 * history, a dialect's new-session flag) that the cache does not hold is
 * decided as a LOAD that found nothing would decide it (fresh) and saved
 * by a STEP with expv '0', which does LOAD's checks itself: it writes only
 * when the session holds nothing, the number has no saved place and, with
 * the sessions limit on, filed nothing today; otherwise it returns what
 * LOAD would have and the step is decided again from that (the address is
 * counted once, by the STEP). Only a first screen that saves a new walk and
 * does nothing else goes this way (fresh_ok: no filing from pre-dialled
 * input, no lookup, no limit screen); anything else is redone from a LOAD.
 * A filing decided from the cache takes the same compare-and-set path
 * when redis.wait_replicas is off (cas_ok): the STEP files only if the
 * number filed nothing today (else it returns LOAD's reply and the daily
 * limit is checked from it); a filing STEP Redis refuses is redone from a
 * LOAD (which files it or spools it), and one it does not answer may have
 * been filed and is spooled, as without the cache (the drain files it
 * once, under the reference told): the caller is told "sent" only when it
 * is filed or spooled. With redis.wait_replicas a
 * filing is redone from a LOAD before any write, its WAIT sent with the
 * STEP, as before.
 * Round trips per screen: a first screen 1 (2 when the STEP finds one of
 * those), a middle screen or a filing from the cache 1 (a filing 2 with
 * redis.wait_replicas or after the number's first filing of the day), any
 * step the cache does not hold 2 (LOAD, STEP).
 *
 * Retries without a history. Africa's Talking's history tells a retried
 * step (same history) from a new one; Hubtel numbers its steps (Sequence,
 * kept in `q`): a step numbered no later than the last one taken gets the
 * current screen and changes nothing. Nalo and Arkesel number nothing.
 *
 * Walks. One session key can carry many walks (an SMS or Nalo number asks
 * for help twice), so a help request belongs to a walk, not to a session:
 * a walk id is made when a walk begins — random for sessions keyed by
 * number, derived from the aggregator's session id otherwise (a USSD
 * session is one walk, and its steps replayed without Redis must agree) —
 * and stored in the session hash. The case's owner is "SESSIONKEY#WALKID"
 * and the candidate references derive from it, so a retried step (same
 * AT history, Twilio MessageSid, Kannel id, a spool record drained twice)
 * files once and a new plea files anew.
 *
 * The reference told. Online the caller is told the candidate the STEP
 * script filed. A spooled caller is told the first candidate before Redis
 * saw it; the drain (ARGV 1 blank) files under that one when it is free or
 * already this walk's, and otherwise (another caller's case holds it: odds
 * about live cases / 25^6) under the next free candidate, recording
 * `told` = the promised reference on the new case and `told_also` = the new
 * reference on the case that holds it, so staff who hear the promised
 * reference find both cases.
 */
#include "session.h"

#include <ctype.h>
#include <errno.h>
#include <hiredis/hiredis.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/core_names.h>
#include <openssl/hmac.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "alert.h"
#include "api.h"
#include "cases.h"
#include "cfg.h"
#include "confirm.h"
#include "dialect.h"
#include "fcount.h"
#include "gw.h"
#include "log.h"
#include "lookup.h"
#include "mask.h"
#include "menu.h"
#include "menu_pub.h"
#include "metrics.h"
#include "redis_full.h"
#include "scache.h"
#include "sms_reply.h"
#include "spool.h"
#include "store.h"

#define KEY_MAX 320
#define NREFS 3
#define REPLY_MAX (MENU_SCREEN_MAX * 2 + 512)
#define WALK_ID_LEN 32          /* hex digits: 128 bits */
#define FUNNEL_MAX 6            /* funnel fields one step counts at most */

/* What LOAD reads, as a Lua function both LOAD and STEP (a step that
 * begins a session, expv '0') run: load_read(s, opt, rls, rlf, rk, lim, a)
 * with rk the saved place's key or false, lim true to read the rate-limit
 * counters and a the address count already taken. Returns LOAD's reply
 * (below). TIME only when there is an age to compute. */
#define LUA_LOAD_READ \
    "local function load_read(s, opt, rls, rlf, rk, lim, a)\n" \
    "  local h = redis.call('HMGET', s, 'st', 'h', 'q', 'r', 'w', 'pk'," \
    " 'b', 'mv', 'v', 't')\n" \
    "  local t = tonumber(h[10] or '')\n" \
    "  h[10] = nil\n" \
    "  local now, idle = nil, -1\n" \
    "  if t then now = tonumber(redis.call('TIME')[1]); idle = now - t end\n" \
    "  local place = {false, false, -1}\n" \
    "  if rk then\n" \
    "    place = redis.call('HMGET', rk, 'm', 'st', 't')\n" \
    "    local pt = tonumber(place[3] or '')\n" \
    "    if pt and not now then now = tonumber(redis.call('TIME')[1]) end\n" \
    "    place[3] = pt and now - pt or -1\n" \
    "  end\n" \
    "  local o, ns, nf = 0, 0, 0\n" \
    "  if opt ~= s then o = redis.call('EXISTS', opt) end\n" \
    "  if lim then\n" \
    "    ns = tonumber(redis.call('GET', rls) or '0')\n" \
    "    nf = tonumber(redis.call('GET', rlf) or '0')\n" \
    "  end\n" \
    "  return {h, o, ns, nf, a, idle, place}\n" \
    "end\n"

/* LOAD: KEYS 1 session, 2 opt-out key (or the session key again),
 * 3 sessions-this-hour counter, 4 requests-today counter of the number,
 * 5 per-address counter, 6 the number's saved place (resume key).
 * ARGV 1: per-address window in seconds (0 = off); 2: '1' to read the
 * saved place (a USSD session), else ''; 3: '1' to read the two rate-limit
 * counters (a limit that needs them is on), else ''.
 * Returns {session fields st h q r w pk b mv v, opted out (0 when KEYS 2
 * is the session key: only SMS has an opt-out key), sessions, requests
 * (both 0 when not read), address count, seconds since the session's last
 * step (-1 unknown), {saved place's menu, state, seconds since it was
 * saved (-1 none)}}.
 * A Redis out of memory refuses the counter's INCR (pcall): the session is
 * still read, the address counts 0 (redis_full.h). */
static const char script_load[] =
    LUA_LOAD_READ
    "local a = 0\n"
    "if tonumber(ARGV[1]) > 0 then\n"
    "  a = redis.pcall('INCR', KEYS[5])\n"
    "  if type(a) ~= 'number' then a = 0\n"
    "  elseif a == 1 then redis.call('EXPIRE', KEYS[5], ARGV[1]) end\n"
    "end\n"
    "return load_read(KEYS[1], KEYS[2], KEYS[3], KEYS[4],"
    " ARGV[2] == '1' and KEYS[6], ARGV[3] == '1', a)\n";

/* STEP_LEGACY: the STEP script of versions before the fixed layout, kept
 * only to replay their spool records after an upgrade (gw.h; drain.c).
 * KEYS 1 session, 2-4 case keys of the candidate references,
 * 5 queue stream, 6 opt-out key, 7 the case this session filed earlier (or
 * the session key). ARGV 1 ttl ('0' deletes the session), 2 state ('' saves
 * nothing), 3 history, 4 marker, 5 opt-out op ('' | 'set' | 'clear'),
 * 6 file ('0' | '1'), 7-9 candidate references, 10 owner (the walk), 11 N,
 * then N field/value pairs of the help request, then 'high' when the caller
 * took the duress exit after filing (the case is flagged) or '', then '1'
 * when this step began a session, then the walk id (absent in records
 * spooled by older versions), then — also absent in older records — the
 * session's replay base (`b`: the resume question a resumed USSD session
 * began on, '' for `start`), the number's saved-place key (resume key, ''
 * for none), its op ('set' the new state there | 'del' | ''), the menu's
 * name and resume_s (the key's TTL), then the menu version the session is
 * pinned to (`mv`, 0 = the file; menu_pub.h), the funnel hash of that
 * version and the funnel fields this step counts ("NODE|LANG|EVENT", one
 * HINCRBY each; not on a replay from the spool, so nothing is counted
 * twice). KEYS 8 and 9 count the number's sessions this hour and help
 * requests today (rate limits). The resume and funnel keys are ARGVs, not
 * KEYS, so that spooled records keep their layout (one Redis or Sentinel,
 * as the erase script; not Redis Cluster).
 * ARGV 1 blank marks a replay from the spool: its caller was told ARGV 7
 * (see "The reference told" above).
 * Returns {code, ref}: 1 filed, 0 already filed by this owner,
 * -1 every candidate taken, 2 nothing to file.
 * The session hash also records `pk`, the number's HMAC taken from KEYS 8,
 * once, when the session begins: `hotlinectl cases erase --phone` finds a
 * number's USSD sessions by it, and a step from another number is refused.
 * KEYS 10 and 11: the case index P cx:new and P cx:new:QUEUE (cases.h); a
 * filed case is added to both, scored by its creation time. A record
 * spooled before they existed has no KEYS 10/11: they are derived. */
static const char script_step_legacy[] =
    "local res = {2, ''}\n"
    "if ARGV[6] == '1' then\n"
    "  res = {-1, ''}\n"
    "  local n = tonumber(ARGV[11])\n"
    "  local entry = {}\n"
    "  for k = 12, 11 + 2 * n do entry[#entry + 1] = ARGV[k] end\n"
    "  local at, free = nil, nil\n"
    "  for i = 1, 3 do\n"
    "    local owner = redis.call('HGET', KEYS[1 + i], 'owner')\n"
    "    if owner == ARGV[10] then\n"
    "      at = i\n"
    "      res = {0, ARGV[6 + i]}\n"
    "      break\n"
    "    elseif not owner and not free then\n"
    "      free = i\n"
    "    end\n"
    "  end\n"
    "  if not at and free then\n"
    "    at = free\n"
    "    local ck = KEYS[1 + at]\n"
    "    local id = redis.call('XADD', KEYS[5], '*', 'ref', ARGV[6 + at],"
    " unpack(entry))\n"
    "    redis.call('HSET', ck, 'ref', ARGV[6 + at], 'owner', ARGV[10],"
    " 'status', 'new', 'entry', id, unpack(entry))\n"
    /* the case index (cases.h) */
    "    local f = {}\n"
    "    for k = 1, #entry, 2 do f[entry[k]] = entry[k + 1] end\n"
    "    local cx = KEYS[10] or string.match(ck, '^(.*)case:') .. 'cx:new'\n"
    "    local cq = KEYS[11] or cx .. ':' .. (f.queue or 'default')\n"
    "    redis.call('ZADD', cx, tonumber(f.created) or 0, ARGV[6 + at])\n"
    "    redis.call('ZADD', cq, tonumber(f.created) or 0, ARGV[6 + at])\n"
    "    res = {1, ARGV[6 + at]}\n"
    /* the consoles' live queue (staff/live.h) */
    "    redis.call('XADD', string.match(ck, '^(.*)case:') .. 'ev:live',"
    " 'MAXLEN', '~', 1000, '*', 'what', 'new', 'ref', ARGV[6 + at])\n"
    "  end\n"
    "  if ARGV[1] == '' and at and at > 1 then\n"
    "    redis.call('HSET', KEYS[1 + at], 'told', ARGV[7])\n"
    "    if redis.call('EXISTS', KEYS[2]) == 1 then\n"
    "      redis.call('HSET', KEYS[2], 'told_also', ARGV[6 + at])\n"
    "    end\n"
    "  end\n"
    "end\n"
    "if ARGV[1] == '0' then\n"
    "  redis.call('DEL', KEYS[1])\n"
    "elseif ARGV[2] ~= '' then\n"
    "  redis.call('HSET', KEYS[1], 'st', ARGV[2], 'h', ARGV[3],"
    " 'w', ARGV[14 + 2 * tonumber(ARGV[11])] or '',"
    " 'mv', ARGV[20 + 2 * tonumber(ARGV[11])] or '0',"
    " 't', redis.call('TIME')[1])\n"
    "  redis.call('HSETNX', KEYS[1], 'pk', string.match(KEYS[8], '([^:]+)$'))\n"
    "  if ARGV[4] ~= '' then redis.call('HSET', KEYS[1], 'q', ARGV[4]) end\n"
    "  local b = ARGV[15 + 2 * tonumber(ARGV[11])] or ''\n"
    "  if b ~= '' then redis.call('HSET', KEYS[1], 'b', b)\n"
    "  else redis.call('HDEL', KEYS[1], 'b') end\n"
    "  if res[1] >= 0 and res[2] ~= '' then\n"
    "    redis.call('HSET', KEYS[1], 'r', res[2])\n"
    "  end\n"
    "  redis.call('EXPIRE', KEYS[1], ARGV[1])\n"
    "end\n"
    "if ARGV[12 + 2 * tonumber(ARGV[11])] == 'high' and"
    " redis.call('EXISTS', KEYS[7]) == 1 then\n"
    "  redis.call('HSET', KEYS[7], 'risk', 'high')\n"
    /* the consoles' live queue (staff/live.h) */
    "  redis.call('XADD', string.match(KEYS[7], '^(.*)case:') .. 'ev:live',"
    " 'MAXLEN', '~', 1000, '*', 'what', 'risk', 'ref',"
    " redis.call('HGET', KEYS[7], 'ref') or '')\n"
    "end\n"
    "local tail = 12 + 2 * tonumber(ARGV[11])\n"
    "if ARGV[tail + 1] == '1' then\n"
    "  if redis.call('INCR', KEYS[8]) == 1 then"
    " redis.call('EXPIRE', KEYS[8], 3600) end\n"
    "end\n"
    "if res[1] == 1 then\n"
    "  if redis.call('INCR', KEYS[9]) == 1 then"
    " redis.call('EXPIRE', KEYS[9], 86400) end\n"
    "end\n"
    "if ARGV[5] == 'set' then redis.call('SET', KEYS[6], '1')\n"
    "elseif ARGV[5] == 'clear' then redis.call('DEL', KEYS[6]) end\n"
    "local rk, rop = ARGV[tail + 4] or '', ARGV[tail + 5] or ''\n"
    "if rk ~= '' and rop == 'del' then redis.call('DEL', rk)\n"
    "elseif rk ~= '' and rop == 'set' and ARGV[2] ~= '' then\n"
    "  redis.call('HSET', rk, 'm', ARGV[tail + 6], 'st', ARGV[2], 't',"
    " redis.call('TIME')[1])\n"
    "  redis.call('EXPIRE', rk, ARGV[tail + 7])\n"
    "end\n"
    "if ARGV[1] ~= '' and ARGV[tail + 9] then\n"
    "  for k = tail + 10, #ARGV do\n"
    "    redis.call('HINCRBY', ARGV[tail + 9], ARGV[k], 1)\n"
    "  end\n"
    "end\n"
    "return res\n";

/* STEP (layout GW_STEP_LAYOUT): one step of a session, applied atomically.
 * KEYS, all it touches:
 *   1 s      the session            2-4 c1..c3 case keys of the candidate
 *   5 queue  help-request stream        references (the session key when
 *   6 opt    opt-out key                not filing)
 *   7 rcase  the case this session filed earlier (duress flag), or s
 *   8 rls    the number's sessions this hour   9 rlf its requests today
 *   10 cx, 11 cq   the case index P cx:new and P cx:new:QUEUE (cases.h)
 *   12 live  the consoles' live stream P ev:live (staff/live.h)
 *   13 rk    the number's saved place (resume key), or s
 *   14 fk    the funnel hash of the pinned menu version, or s: not
 *            written here (the gateway counts the funnel of an applied
 *            step itself and flushes it each second: fcount.h); kept so
 *            the layout stays
 *   15 rla   the requests-per-address counter, or s
 * ARGV, by name:
 *   1 layout ('step3')   2 ttl ('' = a replay from the spool, '0' deletes)
 *   3 st (state, '' saves nothing)   4 hist   5 marker   6 optop
 *   ('' | 'set' | 'clear')   7 file ('0' | '1')   8-10 ref1..ref3
 *   11 owner (the walk)   12 risk ('high' | '')   13 began ('1' | '': a
 *   session began and the sessions limit is on)
 *   14 wid   15 base (`b`)   16 rop ('set' | 'del' | '': the saved place)
 *   17 mname   18 resume_s   19 mv   20 pk (the number's HMAC, set once)
 *   21-23 expv, expst, expw: the version, state and walk id the step was
 *   computed from ('' expv: no check; '0': the step begins the session,
 *   see below)   24 awin, 25 alim: the address window in seconds and its
 *   limit ('' or 0: not counted here)
 *   26 n: pairs of the help request, then n field/value pairs; anything
 *   after them (the funnel fields of records spooled by older versions,
 *   which a replay never counted) is ignored.
 * Compare-and-set: with expv, nothing is written unless the session still
 * holds that version (`v`, a counter every save increments), state and
 * walk id; the gateway then takes the step again from a LOAD.
 * expv '0': the first screen of a new session, decided without a LOAD as
 * if LOAD had found nothing. It is applied only when that is still so:
 * the session holds none of its fields, the number has no saved place
 * (rk) and, with the sessions limit on (began '1'), no help request today
 * (rlf 0: the limit can only bite after one). Otherwise nothing is written
 * and cas is -2: the fifth element is what LOAD returns (rate-limit
 * counters read when began is '1'), and the gateway decides the step again
 * from it. A filing with a compare-and-set (expv a version) is likewise
 * applied only when the number filed nothing today (the requests limit
 * can only bite after one); else -2 with LOAD's reply (counters read).
 * Writes only what changes: one HSET of the session (st h t v always; w,
 * mv, q, b, pk when they differ from what it holds — pk only when absent,
 * it is fixed when the session begins — and r when filed), HDEL b only
 * when b is held and the step has none, one TIME, no DEL of a saved place
 * known to be absent.
 * What reaches the disk: a USSD session's fields and the number's saved
 * place (rk given: USSD with resume on) are written with
 * redis.set_repl(REPL_REPLICA): to replicas (a failover keeps every walk
 * in progress) but not to the AOF, so a USSD screen that only moves a walk
 * on adds no command to the file (Redis 7.0 still writes an empty
 * MULTI/EXEC there while a replica is attached). Everything else goes to
 * both: SMS sessions (a texted walk may last minutes and has no history
 * to replay), the help request (case, stream, index, live event) and the
 * session of the step that files it, the counters of the limits,
 * opt-outs, the duress flag, and the DEL of a session or saved place that
 * ends (a walk that filed is never offered back after a Redis restart).
 * A Redis restart therefore ends the USSD walks in progress (Africa's
 * Talking ones go on from their history; the others start again), or,
 * when an AOF rewrite caught a session in the minutes before, brings it
 * back at that older step (its TTL bounds how old).
 * Returns {code, ref, cas, v}: code 1 filed, 0 already filed by this owner,
 * -1 every candidate taken, 2 nothing to file; cas 1 applied, 0 the
 * session changed (nothing written: a fifth element then holds the
 * session's fields st h q r w pk b mv v, as LOAD reads them, so the step
 * can be taken again without a LOAD), -2 (nothing written: the fifth
 * element is LOAD's reply, see above), -3 the address is over its limit
 * (nothing written); v the session's version after the step (0 none). */
/* The STEP script is longer than a string literal may portably be: its
 * parts are joined into script_step by session_scripts_init(). */
static const char step_head[] =
    "local s, queue, opt, rcase = KEYS[1], KEYS[5], KEYS[6], KEYS[7]\n"
    "local rls, rlf, cx, cq, live = KEYS[8], KEYS[9], KEYS[10], KEYS[11],"
    " KEYS[12]\n"
    "local rk, fk, rla = KEYS[13], KEYS[14], KEYS[15]\n"
    "local ttl, st, hist, marker, optop, file = ARGV[2], ARGV[3], ARGV[4],"
    " ARGV[5], ARGV[6], ARGV[7]\n"
    "local refs = {ARGV[8], ARGV[9], ARGV[10]}\n"
    "local owner, risk, began, wid, base = ARGV[11], ARGV[12], ARGV[13],"
    " ARGV[14], ARGV[15]\n"
    "local rop, mname, resume_s, mv, pk = ARGV[16], ARGV[17], ARGV[18],"
    " ARGV[19], ARGV[20]\n"
    "local expv, expst, expw = ARGV[21], ARGV[22], ARGV[23]\n"
    "local awin, alim = tonumber(ARGV[24]) or 0, tonumber(ARGV[25]) or 0\n"
    "local n = tonumber(ARGV[26])\n"
    "local a = 0\n"
    "if awin > 0 then\n"
    "  a = redis.pcall('INCR', rla)\n"
    "  if type(a) ~= 'number' then a = 0\n"
    "  elseif a == 1 then redis.call('EXPIRE', rla, awin) end\n"
    "  if alim > 0 and a > alim then return {2, '', -3, 0} end\n"
    "end\n"
    "local save = ttl ~= '' and ttl ~= '0' and st ~= ''\n"
    "local cur = {}\n"
    "if save or expv ~= '' then\n"
    "  cur = redis.call('HMGET', s, 'v', 'st', 'w', 'pk', 'q', 'b', 'mv')\n"
    "end\n"
    "local rk_absent = false\n"
    "if expv == '0' then\n"
    "  local busy = false\n"
    "  for i = 1, 7 do if cur[i] then busy = true end end\n"
    "  if not busy and rk ~= s then\n"
    "    busy = redis.call('EXISTS', rk) == 1\n"
    "  end\n"
    "  if not busy and began == '1' then\n"
    "    busy = (tonumber(redis.call('GET', rlf) or '0') or 0) > 0\n"
    "  end\n"
    "  if busy then\n"
    "    return {2, '', -2, 0, load_read(s, opt, rls, rlf, rk ~= s and rk,"
    " began == '1', a)}\n"
    "  end\n"
    "  rk_absent = true\n"
    "elseif expv ~= '' then\n"
    "  if cur[1] ~= expv or cur[2] ~= expst or (cur[3] or '') ~= expw then\n"
    "    return {2, '', 0, 0, redis.call('HMGET', s, 'st', 'h', 'q', 'r',"
    " 'w', 'pk', 'b', 'mv', 'v')}\n"
    "  end\n"
    "  if file == '1' and"
    " (tonumber(redis.call('GET', rlf) or '0') or 0) > 0 then\n"
    "    return {2, '', -2, 0, load_read(s, opt, rls, rlf, false, true, a)}\n"
    "  end\n"
    "end\n"
    "local res = {2, ''}\n";

static const char step_file[] =
    "if file == '1' then\n"
    "  res = {-1, ''}\n"
    "  local entry = {}\n"
    "  for k = 27, 26 + 2 * n do entry[#entry + 1] = ARGV[k] end\n"
    "  local at, free = nil, nil\n"
    "  for i = 1, 3 do\n"
    "    local o = redis.call('HGET', KEYS[1 + i], 'owner')\n"
    "    if o == owner then\n"
    "      at = i\n"
    "      res = {0, refs[i]}\n"
    "      break\n"
    "    elseif not o and not free then\n"
    "      free = i\n"
    "    end\n"
    "  end\n"
    "  if not at and free then\n"
    "    at = free\n"
    "    local ck, ref = KEYS[1 + at], refs[at]\n"
    "    local id = redis.call('XADD', queue, '*', 'ref', ref,"
    " unpack(entry))\n"
    "    redis.call('HSET', ck, 'ref', ref, 'owner', owner,"
    " 'status', 'new', 'entry', id, unpack(entry))\n"
    "    local f = {}\n"
    "    for k = 1, #entry, 2 do f[entry[k]] = entry[k + 1] end\n"
    "    redis.call('ZADD', cx, tonumber(f.created) or 0, ref)\n"
    "    redis.call('ZADD', cq, tonumber(f.created) or 0, ref)\n"
    "    res = {1, ref}\n"
    "    redis.call('XADD', live, 'MAXLEN', '~', 1000, '*', 'what', 'new',"
    " 'ref', ref)\n"
    "  end\n"
    "  if ttl == '' and at and at > 1 then\n"
    "    redis.call('HSET', KEYS[1 + at], 'told', refs[1])\n"
    "    if redis.call('EXISTS', KEYS[2]) == 1 then\n"
    "      redis.call('HSET', KEYS[2], 'told_also', refs[at])\n"
    "    end\n"
    "  end\n"
    "end\n"
    ;

static const char step_write[] =
    "local v, now = 0, nil\n"
    "if ttl == '0' then\n"
    "  redis.call('DEL', s)\n"
    "elseif save then\n"
    "  if file ~= '1' and rk ~= s then"
    " redis.set_repl(redis.REPL_REPLICA) end\n"
    "  now = redis.call('TIME')[1]\n"
    "  v = (tonumber(cur[1]) or 0) + 1\n"
    "  local f = {'st', st, 'h', hist, 't', now, 'v',"
    " string.format('%d', v)}\n"
    "  local function put(k, x) f[#f + 1] = k; f[#f + 1] = x end\n"
    "  if cur[3] ~= wid then put('w', wid) end\n"
    "  if cur[7] ~= mv then put('mv', mv) end\n"
    "  if not cur[4] then put('pk', pk) end\n"
    "  if marker ~= '' and cur[5] ~= marker then put('q', marker) end\n"
    "  if base ~= '' and cur[6] ~= base then put('b', base) end\n"
    "  if res[1] >= 0 and res[2] ~= '' then put('r', res[2]) end\n"
    "  redis.call('HSET', s, unpack(f))\n"
    "  if base == '' and cur[6] then redis.call('HDEL', s, 'b') end\n"
    "  redis.call('EXPIRE', s, ttl)\n"
    "  redis.set_repl(redis.REPL_ALL)\n"
    "end\n"
    "if risk == 'high' and redis.call('EXISTS', rcase) == 1 then\n"
    "  redis.call('HSET', rcase, 'risk', 'high')\n"
    "  redis.call('XADD', live, 'MAXLEN', '~', 1000, '*', 'what', 'risk',"
    " 'ref', redis.call('HGET', rcase, 'ref') or '')\n"
    "end\n"
    "if began == '1' then\n"
    "  if redis.call('INCR', rls) == 1 then redis.call('EXPIRE', rls, 3600)"
    " end\n"
    "end\n"
    "if res[1] == 1 then\n"
    "  if redis.call('INCR', rlf) == 1 then redis.call('EXPIRE', rlf, 86400)"
    " end\n"
    "end\n"
    "if optop == 'set' then redis.call('SET', opt, '1')\n"
    "elseif optop == 'clear' then redis.call('DEL', opt) end\n"
    "if rk ~= s and rop == 'del' and not rk_absent then\n"
    "  redis.call('DEL', rk)\n"
    "elseif rk ~= s and rop == 'set' and st ~= '' then\n"
    "  redis.set_repl(redis.REPL_REPLICA)\n"
    "  redis.call('HSET', rk, 'm', mname, 'st', st, 't',"
    " now or redis.call('TIME')[1])\n"
    "  redis.call('EXPIRE', rk, resume_s)\n"
    "end\n"
    "return {res[1], res[2], 1, v}\n";

static const char step_load_read[] = LUA_LOAD_READ;
static char script_step[sizeof step_load_read + sizeof step_head +
                        sizeof step_file + sizeof step_write];

void session_scripts_init(void)
{
    size_t n = 0;
    const char *part[] = { step_load_read, step_head, step_file,
                           step_write };

    for (size_t i = 0; i < sizeof part / sizeof part[0]; i++) {
        size_t l = strlen(part[i]);

        memcpy(script_step + n, part[i], l);
        n += l;
    }
    script_step[n] = '\0';
}

/* Loaded on every connect; the staff API runs the case scripts. */
const char *const gw_scripts[GW_SCRIPT_COUNT] = {
    script_load, script_step, cases_script_claim, cases_script_note,
    cases_script_resolve, cases_script_list, cases_script_read,
    cases_script_audit, api_script_auth, cases_script_release, lookup_script,
    cases_script_tag,
    cases_script_reveal,        /* the console's Reveal (staff/cases.h) */
    script_step_legacy          /* spool records of older versions */
};

static const char ref_alphabet[] = "346789ABCDEFGHJKMNPQRTWXY";

/* ---- strings without printf (keys and numbers of every request) ---- */

/* Joins the strings given (up to a NULL) into dst, cut to cap - 1 bytes as
 * snprintf would. cap > 0. Returns the length written. */
static size_t sjoin(char *dst, size_t cap, ...)
{
    va_list ap;
    const char *p;
    size_t n = 0;

    va_start(ap, cap);
    while ((p = va_arg(ap, const char *)) != NULL) {
        size_t l = strlen(p);

        if (l > cap - 1 - n)
            l = cap - 1 - n;
        memcpy(dst + n, p, l);
        n += l;
    }
    va_end(ap);
    dst[n] = '\0';
    return n;
}

/* v in decimal into dst (cap >= 21 holds any long long). Returns dst. */
static char *sdec(char *dst, size_t cap, long long v)
{
    char t[24];
    size_t i = sizeof t;
    unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v
                                 : (unsigned long long)v;

    t[--i] = '\0';
    do {
        t[--i] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        t[--i] = '-';
    sjoin(dst, cap, t + i, (const char *)NULL);
    return dst;
}

/* What the LOAD script returned. */
struct loaded {
    int ok;                     /* Redis answered */
    int have_state;             /* a state that decodes against this menu */
    char ref[SESSION_REF_LEN + 1];
    char wid[WALK_ID_LEN + 1];  /* the walk id, "" before this version */
    char pk[33];                /* the number the session began with */
    char ver[SCACHE_VER_MAX];   /* `v`: the session's version ("" none) */
    int have_base;
    int have_place;             /* the number dropped a walk of this menu
                                   less than resume_s ago: its state */
    long long idle;             /* seconds since its last step, -1 unknown */
    int opted_out;
    long long sessions;         /* the number's sessions this hour */
    long long requests;         /* its help requests today */
    long long from_addr;        /* requests from the peer this window */
    /* From here on not cleared (loaded_clear): the strings are emptied,
     * the states are read only under have_state, have_base, have_place. */
    char hist[MENU_HISTORY_MAX];
    char marker[IN_ID_MAX];
    char st_enc[MENU_STATE_ENC_MAX]; /* `st` as stored */
    char base_enc[MENU_STATE_ENC_MAX]; /* `b`: the session's first screen
                                   when not start's (the resume question) */
    struct menu_state st;
    struct menu_state base;
    struct menu_state place;
};

struct sreq {
    struct gw *gw;
    struct cfg *cfg;
    const struct cfg_channel *ch;
    int by_number;              /* skey is the number's (SMS, Nalo) */
    char wid[WALK_ID_LEN + 1];  /* this walk's id ("" = a legacy walk) */
    char pkey[33];              /* HMAC of the number */
    char peer[64];              /* the aggregator's address */
    int began;                  /* this step began a session */
    const char *resume_op;      /* "", "set", "del": the saved place */
    char refs[NREFS][SESSION_REF_LEN + 1];
    int refs_done;              /* refs derived (refs_need) */
    struct menu_ctx ctx;
    long long mv;               /* the menu version served (0 = the file) */
    struct mpub_ver *hold;      /* keeps that version loaded (menu_pub.h) */
    int restart;                /* its pinned version is gone: start over */
    const char *fin;            /* the input applied to a live walk */
    char mvs[24];               /* STEP arguments: mv, funnel key, fields */
    char fkey[KEY_MAX];
    char ff[FUNNEL_MAX][2 * MENU_NAME_MAX + 16];
    int nff;
    /* the decision */
    int save;                   /* write st */
    int del;                    /* delete the session */
    const char *optout_op;      /* "", "set", "clear" */
    int file;                   /* file a help request */
    int silent;                 /* send nothing (SMS) */
    int risk;                   /* duress exit after a filed request */
    int status;                 /* answer this HTTP status instead */
    const char *text;           /* reply text when not res.screen */
    int end;
    /* a filing confirmed by replicas (redis.wait_replicas) */
    int waiting;                /* WAIT sent after the STEP, not answered */
    int held;                   /* the STEP answered first: its outcome */
    int held_fallback;
    int unconfirmed;            /* no WAIT confirmed it: spool it too */
    int spooled;                /* the filing is in the spool already */
    int cas;                    /* decided from the cache: the STEP
                                   compares and sets (see "One round trip") */
    int recas;                  /* decided again from a conflict's reply */
    int fresh;                  /* decided as the first screen of a new
                                   session without a LOAD: the STEP
                                   checks that (see "One round trip") */
    int addr_counted;           /* the address was counted (LOAD or STEP) */
    session_done_cb done;
    void *arg;
    /* Not cleared for each request (sreq_get zeroes what is above): the
     * large buffers, each written before it is read, or emptied by
     * sreq_get where a request may read it unwritten. */
    struct inbound in;          /* copied whole */
    char skey[KEY_MAX];         /* session key (set first) */
    char okey[KEY_MAX];         /* opt-out key (SMS), else = skey (set) */
    char rkey[KEY_MAX];         /* the number's saved place (USSD), or "" */
    char owner[KEY_MAX + WALK_ID_LEN + 2]; /* the case owner: skey#wid */
    char base[MENU_STATE_ENC_MAX]; /* `b` to store (see struct loaded) */
    char riskkey[KEY_MAX];      /* the duress request's case key (risk) */
    char textbuf[MENU_SCREEN_MAX]; /* room for a text, folded (text) */
    char state_enc[MENU_STATE_ENC_MAX]; /* the state the STEP saves */
    struct loaded L;            /* loaded_clear */
    struct menu_state st;       /* state_clear */
    struct menu_result res;     /* result_clear */
};

static void serve_current(struct sreq *r);

/* How a step is taken again without the cache (redo). */
enum redo_how {
    REDO_LOAD,                  /* from a LOAD */
    REDO_NO_REDIS               /* as a LOAD that found no Redis would */
};
static void redo(struct sreq *r, enum redo_how how);
static int redo_from(struct sreq *r, const redisReply *h);
static void cache_store(struct sreq *r, long long v, const char *ref);

/* HMAC-SHA256(key, data). The keyed context is made once per key (the
 * pepper) and re-initialised for each use: OpenSSL 3's one-shot HMAC()
 * fetches the algorithm and sets the key every time, a large part of a
 * step's cost. One process, one event loop: no locking. */
static void hmac256(const char *key, const char *data, unsigned char out[32])
{
    static EVP_MAC *mac;
    static EVP_MAC_CTX *ctx;
    static char *ctx_key;
    unsigned int len = 32;
    size_t olen = 0;

    if (!ctx_key || strcmp(ctx_key, key) != 0) {
        OSSL_PARAM p[] = {
            OSSL_PARAM_construct_utf8_string("digest", (char *)"SHA256", 0),
            OSSL_PARAM_construct_end()
        };

        EVP_MAC_CTX_free(ctx);
        free(ctx_key);
        ctx = NULL;
        ctx_key = strdup(key);
        if (!mac)
            mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
        if (mac && ctx_key)
            ctx = EVP_MAC_CTX_new(mac);
        if (ctx && EVP_MAC_init(ctx, (const unsigned char *)key, strlen(key),
                                p) != 1) {
            EVP_MAC_CTX_free(ctx);
            ctx = NULL;
        }
        if (!ctx) {
            free(ctx_key);
            ctx_key = NULL;
        }
    } else if (EVP_MAC_init(ctx, NULL, 0, NULL) != 1) {
        ctx_key[0] = '\0';     /* made again next time */
        HMAC(EVP_sha256(), key, (int)strlen(key),
             (const unsigned char *)data, strlen(data), out, &len);
        return;
    }
    if (ctx && EVP_MAC_update(ctx, (const unsigned char *)data,
                              strlen(data)) == 1 &&
        EVP_MAC_final(ctx, out, &olen, 32) == 1 && olen == 32)
        return;
    /* the one-shot, as before, when the context cannot be had */
    HMAC(EVP_sha256(), key, (int)strlen(key), (const unsigned char *)data,
         strlen(data), out, &len);
}

void session_ref(const char *pepper, const char *key, int attempt,
                 char out[SESSION_REF_LEN + 1])
{
    unsigned char mac[32];
    char data[KEY_MAX + 16];
    char num[24];

    sjoin(data, sizeof data, "ref:", sdec(num, sizeof num, attempt), ":",
          key, (const char *)NULL);
    hmac256(pepper, data, mac);
    for (int i = 0; i < SESSION_REF_LEN; i++)
        out[i] = ref_alphabet[mac[i] % (sizeof ref_alphabet - 1)];
    out[SESSION_REF_LEN] = '\0';
}

void session_phone_key(const char *pepper, const char *phone, char out[33])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char mac[32];
    char data[IN_PHONE_MAX + 8];

    sjoin(data, sizeof data, "phone:", phone, (const char *)NULL);
    hmac256(pepper, data, mac);
    for (int i = 0; i < 16; i++) {
        out[2 * i] = hex[mac[i] >> 4];
        out[2 * i + 1] = hex[mac[i] & 15];
    }
    out[32] = '\0';
}

static double now_ms(void)
{
    struct timeval tv;

    gettimeofday(&tv, NULL);
    return (double)tv.tv_sec * 1000.0 + (double)(tv.tv_usec / 1000);
}

/* The candidate references of r's walk, derived (three HMACs) the first
 * time they are needed: a filing, or a screen that shows {ref}. */
static void refs_need(struct sreq *r)
{
    if (r->refs_done)
        return;
    for (int i = 0; i < NREFS; i++)
        session_ref(r->cfg->pepper, r->owner, i, r->refs[i]);
    r->refs_done = 1;
}

/* {ref} of a screen when the step sets none (menu_ctx.ref_get): the walk's
 * first candidate. */
static const char *ref_lazy(void *arg)
{
    struct sreq *r = arg;

    refs_need(r);
    return r->refs[0];
}

/* Sets the walk id (wid: "" keeps a legacy walk's session-wide owner) and
 * the owner; the candidate references derive from it when needed. */
static void walk_set(struct sreq *r, const char *wid)
{
    char owner[sizeof r->owner];

    sjoin(r->wid, sizeof r->wid, wid, (const char *)NULL);
    if (r->wid[0])
        sjoin(owner, sizeof owner, r->skey, "#", r->wid, (const char *)NULL);
    else
        sjoin(owner, sizeof owner, r->skey, (const char *)NULL);
    /* The same walk again (a step redone from a LOAD): its references,
     * derived already, stand (three HMACs saved). */
    if (strcmp(owner, r->owner) != 0)
        r->refs_done = 0;
    memcpy(r->owner, owner, sizeof owner);
    r->ctx.ref = NULL;
    r->ctx.ref_get = ref_lazy;
    r->ctx.ref_arg = r;
}

/* A session keyed by the aggregator's id is one walk: its id is derived
 * from the session key, so steps replayed without Redis agree. */
static void walk_derived(struct sreq *r, char out[WALK_ID_LEN + 1])
{
    char data[KEY_MAX + 8];

    sjoin(data, sizeof data, "walk:", r->skey, (const char *)NULL);
    session_phone_key(r->cfg->pepper, data, out);
}

/* The walk of this step, before the menu runs: the stored one, or for a
 * session keyed by aggregator id the derived one. */
static void walk_resume(struct sreq *r)
{
    char wid[WALK_ID_LEN + 1];

    if (r->by_number) {
        walk_set(r, r->L.wid);
        return;
    }
    if (r->cas && r->L.wid[0]) {
        /* What this version stored is the derived id: no HMAC again. */
        walk_set(r, r->L.wid);
        return;
    }
    walk_derived(r, wid);
    walk_set(r, wid);
}

/* A new walk begins: a number-keyed session gets a fresh random id (a
 * second plea from the same number is a new help request). */
static void walk_begin(struct sreq *r)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char b[WALK_ID_LEN / 2];
    char wid[WALK_ID_LEN + 1];

    if (!r->by_number)
        return;                 /* already derived by walk_resume */
    if (RAND_bytes(b, (int)sizeof b) != 1) {
        /* No entropy: the session key and the clock still tell walks of
         * one number apart. */
        char data[KEY_MAX + 32];

        snprintf(data, sizeof data, "%s:%.0f", r->skey, now_ms());
        session_phone_key(r->cfg->pepper, data, wid);
        walk_set(r, wid);
        return;
    }
    for (size_t i = 0; i < sizeof b; i++) {
        wid[2 * i] = hex[b[i] >> 4];
        wid[2 * i + 1] = hex[b[i] & 15];
    }
    wid[WALK_ID_LEN] = '\0';
    walk_set(r, wid);
}

/* ---- requests: a few freed ones are kept for the next (no malloc and
 * free of a large block per request) ----------------------------------- */

#define SREQ_KEEP 64

static struct sreq *sreq_free_list[SREQ_KEEP];
static int sreq_nfree;

/* Empties L without writing its large buffers (see struct loaded). */
static void loaded_clear(struct loaded *L)
{
    memset(L, 0, offsetof(struct loaded, hist));
    L->idle = -1;
    L->hist[0] = L->marker[0] = L->st_enc[0] = L->base_enc[0] = '\0';
}

/* A state with no node, variable or frame: its fields before `stack`, and
 * nvars (the frames and variables are read only below depth and nvars). */
static void state_clear(struct menu_state *st)
{
    memset(st, 0, offsetof(struct menu_state, stack));
    st->nvars = 0;
}

/* A result with no screen, action or node: all but the screen's text
 * (emptied) and the lookup (read only on MENU_ACT_LOOKUP, which fills
 * it). */
static void result_clear(struct menu_result *res)
{
    res->screen.text[0] = '\0';
    memset((char *)res + offsetof(struct menu_result, screen.page), 0,
           offsetof(struct menu_result, lookup) -
               offsetof(struct menu_result, screen.page));
}

/* A request record as if zeroed, without clearing its ~44 KB: the fields
 * above `in` are zeroed, the large buffers below emptied where a request
 * may read them before it writes them. */
static struct sreq *sreq_get(void)
{
    struct sreq *r;

    if (sreq_nfree > 0)
        r = sreq_free_list[--sreq_nfree];
    else if (!(r = malloc(sizeof *r)))
        return NULL;
#ifdef HOTLINE_POISON_REQUESTS
    /* Sanitizer builds: what is not cleared below holds 0xA5, not another
     * caller's data, so a read before a write breaks a test. */
    memset(r, 0xA5, sizeof *r);
#endif
    memset(r, 0, offsetof(struct sreq, in));
    r->skey[0] = r->okey[0] = r->rkey[0] = r->owner[0] = '\0';
    r->base[0] = r->riskkey[0] = r->textbuf[0] = r->state_enc[0] = '\0';
    loaded_clear(&r->L);
    state_clear(&r->st);
    result_clear(&r->res);
    return r;
}

static void sreq_put(struct sreq *r)
{
    if (sreq_nfree < SREQ_KEEP)
        sreq_free_list[sreq_nfree++] = r;
    else
        free(r);
}

/* ---- reply ---------------------------------------------------------- */

static void finish(struct sreq *r)
{
    char body[REPLY_MAX];
    const char *ctype = "text/plain; charset=utf-8";
    struct outbound out;
    int n;

    if (r->status) {
        n = snprintf(body, sizeof body, "%d too many requests\n", r->status);
        r->done(r->status, body, (size_t)n, ctype, r->arg);
        mpub_put(r->hold);
        cfg_release(r->cfg);
        sreq_put(r);
        return;
    }

    out.text = r->silent ? "" : (r->text ? r->text : r->res.screen.text);
    out.end = r->text ? r->end : r->res.end;
    if (r->ch->dialect->reply_in_body) {
        n = r->ch->dialect->render(&r->in, &out, body, sizeof body, &ctype);
    } else {
        /* The reply goes out through the provider's API; the HTTP answer
         * to the aggregator is empty. */
        if (out.text[0])
            sms_reply_send(r->gw, r->ch, r->in.phone, out.text);
        body[0] = '\0';
        n = 0;
    }
    if (n < 0) {
        log_error("channel %s: reply does not fit its buffer", r->ch->name);
        r->done(500, "", 0, "text/plain", r->arg);
    } else {
        r->done(200, body, (size_t)n, ctype, r->arg);
    }
    mpub_put(r->hold);
    cfg_release(r->cfg);
    sreq_put(r);
}

/* Answers with the fallback screen: the session ends, nothing is stored. */
static void finish_fallback(struct sreq *r)
{
    metrics_add(r->gw->metrics, "hotline_fallbacks_total", "channel",
                r->ch->name, 1);
    r->text = r->cfg->fallback;
    r->end = 1;
    r->silent = 0;
    finish(r);
}

/* ---- the saved place of a dropped USSD walk ---------------------------- */

/* resume_s on this channel: its own setting, else its menu's (0 = off). */
static int resume_seconds(const struct sreq *r)
{
    if (r->ch->resume_s >= 0)
        return r->ch->resume_s;
    return r->ctx.menu->resume_s;
}

/* The first screen of a new USSD walk: the resume question when its number
 * dropped a walk of this menu less than resume_s ago and dialled nothing
 * more; else `start`, with pre-dialled input ("2*1", any dialect) walked
 * through the same replay as an Africa's Talking history. Sets the
 * session's replay base (the question, or "" for start). */
static void first_screen(struct sreq *r, const char *text)
{
    r->base[0] = '\0';
    if (!text[0] && r->L.have_place &&
        menu_resume_offer(&r->ctx, &r->L.place, &r->st, &r->res) == 0) {
        if (menu_state_encode(r->ctx.menu, &r->st, r->base,
                              sizeof r->base) < 0)
            r->base[0] = '\0';
        metrics_add(r->gw->metrics, "hotline_resume_offered_total",
                    "channel", r->ch->name, 1);
        log_info("channel %s: a dropped walk offered back", r->ch->name);
        return;
    }
    menu_replay(&r->ctx, text, &r->st, &r->res);
}

/* What this step does to the number's saved place: a live walk that got
 * somewhere is saved (with a fresh resume_s), one at the question keeps
 * the place it offers, and anything else — an end, a filing, the duress
 * exit, a walk back at start — removes it. */
static void resume_decide(struct sreq *r)
{
    if (!r->rkey[0] || !r->save)
        return;
    if (r->st.ended)
        r->resume_op = "del";
    else if (r->st.offer)
        r->resume_op = "";
    else
        r->resume_op = menu_resume_worth(r->ctx.menu, &r->st) ? "set" : "del";
}

/* ---- the help request ------------------------------------------------ */

/* Scratch strings of one STEP call (keys and numbers step_args makes). */
struct step_scratch {
    char ck[NREFS][64];         /* case keys */
    char queue[64], rls[64], rlf[64], cx[64], cq[64], live[64], rla[KEY_MAX];
    char ttl[16], npairs[16], created[24], resume_s[16], awin[16], alim[16];
    char fname[MENU_VARS_MAX][64];
};

/* Fills argv for the STEP script (keys first, the layout in its comment).
 * Strings point into r, `state`, `hist` or `x`. Returns argc. */
static int step_args(struct sreq *r, const char **av, size_t *al,
                     struct step_scratch *x, const char *state,
                     const char *hist)
{
    const struct menu_node *fw = r->res.node;
    const char *lang = r->ctx.menu->langs[r->st.lang];
    const char *P = r->cfg->prefix;
    const char *q = fw && fw->queue ? fw->queue : "default";
    int n = 0;
    int npairs = 0;
    int npos;

    if (r->file)
        refs_need(r);
    /* KEYS */
    av[n++] = r->skey;
    for (int i = 0; i < NREFS; i++) {
        if (r->file) {
            sjoin(x->ck[i], sizeof x->ck[i], P, "case:", r->refs[i],
                  (const char *)NULL);
            av[n++] = x->ck[i];
        } else {
            av[n++] = r->skey;          /* not touched: nothing to file */
        }
    }
    sjoin(x->queue, sizeof x->queue, P, "q:", r->file ? q : "none",
          (const char *)NULL);
    av[n++] = x->queue;
    av[n++] = r->okey;
    av[n++] = r->risk ? r->riskkey : r->skey;
    sjoin(x->rls, sizeof x->rls, P, "rl:s:", r->pkey, (const char *)NULL);
    sjoin(x->rlf, sizeof x->rlf, P, "rl:f:", r->pkey, (const char *)NULL);
    av[n++] = x->rls;
    av[n++] = x->rlf;
    sjoin(x->cx, sizeof x->cx, P, "cx:new", (const char *)NULL);
    sjoin(x->cq, sizeof x->cq, P, "cx:new:", q, (const char *)NULL);
    av[n++] = x->cx;
    av[n++] = x->cq;
    sjoin(x->live, sizeof x->live, P, "ev:live", (const char *)NULL);
    av[n++] = x->live;
    av[n++] = r->rkey[0] ? r->rkey : r->skey;
    snprintf(r->fkey, sizeof r->fkey, "%smenu:%s:f:%lld", P,
             r->ctx.menu->name ? r->ctx.menu->name : "", r->mv);
    av[n++] = r->fkey;
    if ((r->cas || r->fresh) && r->cfg->limit_addr_minute &&
        !r->addr_counted) {
        sjoin(x->rla, sizeof x->rla, P, "rl:a:", r->peer,
              (const char *)NULL);
        av[n++] = x->rla;
    } else {
        av[n++] = r->skey;
    }
    /* ARGV */
    av[n++] = GW_STEP_LAYOUT;
    sdec(x->ttl, sizeof x->ttl, r->del ? 0 : r->ch->timeout_s);
    av[n++] = x->ttl;
    av[n++] = r->save ? state : "";
    av[n++] = hist;
    av[n++] = r->in.msg_id;
    av[n++] = r->optout_op;
    av[n++] = r->file ? "1" : "0";
    for (int i = 0; i < NREFS; i++)
        av[n++] = r->file ? r->refs[i] : "";
    av[n++] = r->owner;
    av[n++] = r->risk ? "high" : "";
    /* Sessions are counted only while that limit is on: the counter is a
     * key per number, most of a live session's memory otherwise. */
    av[n++] = r->began && r->cfg->limit_sessions_hour ? "1" : "";
    av[n++] = r->wid;
    av[n++] = r->base;
    av[n++] = r->resume_op;
    av[n++] = r->ctx.menu->name ? r->ctx.menu->name : "";
    sdec(x->resume_s, sizeof x->resume_s, resume_seconds(r));
    av[n++] = x->resume_s;
    snprintf(r->mvs, sizeof r->mvs, "%lld", r->mv);
    av[n++] = r->mvs;
    av[n++] = r->pkey;
    /* compare-and-set: a step computed from the cache (see "One round
     * trip") */
    av[n++] = r->fresh ? "0" : r->cas ? r->L.ver : "";
    av[n++] = r->cas ? r->L.st_enc : "";
    av[n++] = r->cas ? r->L.wid : "";
    sdec(x->awin, sizeof x->awin,
         (r->cas || r->fresh) && r->cfg->limit_addr_minute &&
         !r->addr_counted ? 60 : 0);
    sdec(x->alim, sizeof x->alim, r->cfg->limit_addr_minute);
    av[n++] = x->awin;
    av[n++] = x->alim;
    npos = n++;
    if (r->file && fw) {
        sdec(x->created, sizeof x->created, (long long)now_ms());
        av[n++] = "queue";    av[n++] = q;
        av[n++] = "channel";  av[n++] = r->ch->name;
        av[n++] = "phone";    av[n++] = r->in.phone;
        av[n++] = "lang";     av[n++] = lang;
        av[n++] = "created";  av[n++] = x->created;
        av[n++] = "service";  av[n++] = r->in.service;
        npairs = 6;
        for (size_t i = 0; i < fw->nfields && i < MENU_VARS_MAX; i++) {
            const char *v = menu_state_get(&r->st, fw->fields[i]);

            sjoin(x->fname[i], sizeof x->fname[i], "f:", fw->fields[i],
                  (const char *)NULL);
            av[n++] = x->fname[i];
            av[n++] = v ? v : "";
            npairs++;
        }
    }
    sdec(x->npairs, sizeof x->npairs, npairs);
    av[npos] = x->npairs;
    for (int i = 0; i < n; i++)
        al[i] = strlen(av[i]);
    return n;
}

/* Writes the STEP script's arguments to the spool as a JSON array, so the
 * drain replays exactly the same idempotent filing. 0 on success. */
static int spool_request(struct sreq *r, const char **av, const size_t *al,
                         int argc, const char *why)
{
    json_t *arr = json_array();
    char *line;
    int rc;
    int err;

    for (int i = 0; i < argc; i++) {
        /* The drain files only: ttl, state, marker, opt-out and the
         * compare-and-set blanked (ARGV 2, 3, 5, 6, 21-25). */
        const char *v = av[i];
        size_t l = al[i];
        int k = i - GW_STEP_NKEYS + 1;

        if (k == 2 || k == 3 || k == 5 || k == 6 || (k >= 21 && k <= 25)) {
            v = "";
            l = 0;
        }
        json_array_append_new(arr, json_stringn(v, l));
    }
    line = json_dumps(arr, JSON_COMPACT);
    json_decref(arr);
    if (!line)
        return -1;
    rc = spool_append(r->gw->spool, line, strlen(line));
    err = errno;
    free(line);
    if (rc != 0) {
        /* A full disk, say: nothing of the record is left in the spool. */
        metrics_add(r->gw->metrics, "hotline_spool_failures_total",
                    "channel", r->ch->name, 1);
        if (r->file)
            log_error("channel %s: help request %s not spooled: %s",
                      r->ch->name, r->refs[0], strerror(err));
        else
            log_error("channel %s: duress flag of request %s not "
                      "spooled: %s", r->ch->name, r->L.ref, strerror(err));
    }
    if (rc == 0) {
        r->spooled = 1;
        metrics_add(r->gw->metrics, "hotline_spooled_total", "channel",
                    r->ch->name, 1);
        if (r->file)
            log_warn("channel %s: help request %s spooled (%s)",
                     r->ch->name, r->refs[0], why);
        else
            log_warn("channel %s: duress flag of request %s spooled (%s)",
                     r->ch->name, r->L.ref, why);
    }
    return rc;
}

static void on_saved(struct redisReply *reply, void *arg);
static void redo_reset(struct sreq *r);
static void parse_loaded(struct sreq *r, const redisReply *reply);
static void decide_and_save(struct sreq *r);
static void confirm_filing(struct sreq *r);

/* ... then the menu version, the funnel key and its fields */
#define STEP_ARGS_MAX \
    (GW_STEP_NKEYS + 26 + FUNNEL_MAX + 2 * (6 + MENU_VARS_MAX))

/* SAVE: runs the STEP script, or spools when Redis is not there. */
static void save(struct sreq *r)
{
    const char *av[STEP_ARGS_MAX];
    size_t al[STEP_ARGS_MAX];
    struct step_scratch x;
    char *state = r->state_enc;
    const char *hist = r->in.has_history ? r->in.text : "";
    int argc;

    state[0] = '\0';
    if (r->save && menu_state_encode(r->ctx.menu, &r->st, state,
                                     sizeof r->state_enc) < 0) {
        log_error("channel %s: state does not encode", r->ch->name);
        state[0] = '\0';
        r->save = 0;
    }
    argc = step_args(r, av, al, &x, state, hist);
    if (r->file && store_eval(r->gw->fstore, GW_SCRIPT_STEP, on_saved, r,
                              GW_STEP_NKEYS, argc, av, al) == 0) {
        if (r->cfg->wait_replicas > 0)
            confirm_filing(r);
        return;
    }
    if (store_eval(r->gw->store, GW_SCRIPT_STEP, on_saved, r, GW_STEP_NKEYS,
                   argc, av, al) == 0) {
        /* The filing connection is down: nothing confirms this one. */
        if (r->file && r->cfg->wait_replicas > 0)
            r->unconfirmed = 1;
        return;
    }
    scache_del(r->gw->scache, r->skey);
    if (r->cas || r->fresh) {
        /* Decided without a LOAD, and Redis is not there: decide again
         * as a LOAD that found no Redis would have. */
        redo(r, REDO_NO_REDIS);
        return;
    }
    /* Redis is not there: the help request goes to the spool. */
    if (r->file) {
        if (spool_request(r, av, al, argc, "Redis unreachable") != 0) {
            log_error("channel %s: spool write failed; caller sent to the "
                      "fallback screen", r->ch->name);
            finish_fallback(r);
            return;
        }
        metrics_add(r->gw->metrics, "hotline_forwards_total", "queue",
                    r->res.node && r->res.node->queue ? r->res.node->queue
                                                      : "default", 1);
    } else if (r->risk) {
        /* The duress exit after a filing: the flag waits in the spool
         * too (the drain sets it; a record that sets it twice is
         * harmless). */
        spool_request(r, av, al, argc, "Redis unreachable");
    }
    finish(r);
}

/* Spools the filing of r (or the duress flag on the request it filed
 * earlier) after Redis may or may not have kept it. The drain's filing is
 * idempotent by owner, and setting the flag twice is harmless, so spooling
 * is safe either way.
 * Returns 0, or -1 when the spool could not be written. */
static int spool_filing(struct sreq *r, const char *why)
{
    const char *av[STEP_ARGS_MAX];
    size_t al[STEP_ARGS_MAX];
    struct step_scratch x;
    int argc = step_args(r, av, al, &x, "", "");

    return spool_request(r, av, al, argc, why);
}

/* Answers the caller once both the STEP and its WAIT (if any) replied. A
 * filing Redis holds but no replica confirmed goes to the spool as well;
 * if even that fails, Redis's copy stands and the caller is still told. */
static void conclude(struct sreq *r, int fallback)
{
    if (r->waiting) {
        r->held = 1;
        r->held_fallback = fallback;
        return;
    }
    if (!fallback && r->file && r->unconfirmed && !r->spooled) {
        metrics_add(r->gw->metrics, "hotline_filings_unreplicated_total",
                    "channel", r->ch->name, 1);
        if (spool_filing(r, "no replica confirmed it yet") != 0)
            log_error("channel %s: help request %s is only on the Redis "
                      "master: the spool write failed", r->ch->name,
                      r->refs[0]);
    }
    if (fallback)
        finish_fallback(r);
    else
        finish(r);
}

static void on_replicated(int ok, void *arg)
{
    struct sreq *r = arg;

    r->waiting = 0;
    if (!ok)
        r->unconfirmed = 1;
    if (r->held)
        conclude(r, r->held_fallback);
}

/* Asks whether the replicas hold the filing just sent on the filing
 * connection; the caller is answered when both replies are in. */
static void confirm_filing(struct sreq *r)
{
    r->waiting = 1;
    confirm_after(r->gw->confirm, store_generation(r->gw->fstore),
                  r->cfg->wait_replicas, r->cfg->wait_ms, on_replicated, r);
}

/* 1 when the screen r answers with ends the session. */
static int ends_session(const struct sreq *r)
{
    return r->text ? r->end == 1 : r->res.end == 1;
}

static void on_saved(struct redisReply *reply, void *arg)
{
    struct sreq *r = arg;
    const char *queue = r->res.node && r->res.node->queue ? r->res.node->queue
                                                          : "default";

    if ((r->cas || r->fresh) && reply && reply->type == REDIS_REPLY_ARRAY &&
        reply->elements >= 4)
        r->addr_counted = 1;
    if ((r->cas || r->fresh) && reply && reply->type == REDIS_REPLY_ARRAY &&
        reply->elements == 5 && reply->element[2]->integer == -2) {
        /* Not the first screen of a new session after all (a session, a
         * saved place or a limit to check), or a filing with a limit to
         * check: nothing was written; the step is decided again from what
         * LOAD would have returned. */
        redo_reset(r);
        parse_loaded(r, reply->element[4]);
        if (!r->L.ok) {
            redo(r, REDO_LOAD);
            return;
        }
        decide_and_save(r);
        return;
    }
    if (r->cas && reply && reply->type == REDIS_REPLY_ARRAY &&
        reply->elements >= 4 && reply->element[2]->integer == 0) {
        /* The session changed behind the cache: nothing was written. Once,
         * the step is taken again from what the script read; else (or
         * when the session is gone) from a LOAD. */
        scache_conflict(r->gw->scache);
        scache_del(r->gw->scache, r->skey);
        if (reply->elements == 5 && !r->recas &&
            redo_from(r, reply->element[4]) == 0)
            return;
        redo(r, REDO_LOAD);
        return;
    }
    if ((r->cas || r->fresh) && reply &&
        reply->type == REDIS_REPLY_ARRAY && reply->elements == 4 &&
        reply->element[2]->integer == -3) {
        metrics_add(r->gw->metrics, "hotline_limited_total", "limit",
                    "address", 1);
        r->status = 429;
        finish(r);
        return;
    }
    if (r->fresh && r->began)
        metrics_add(r->gw->metrics, "hotline_sessions_total", "channel",
                    r->ch->name, 1);
    if (r->cas && r->file && reply && reply->type == REDIS_REPLY_ERROR) {
        /* A filing decided from the cache that Redis refused: nothing was
         * written and the daily limit was not checked. Taken again from a
         * LOAD, which files it or spools it exactly as a step without the
         * cache would (see "One round trip"). One whose reply never came
         * may have been filed: it is spooled below, as without the cache
         * (the drain files it once, under the reference told). */
        scache_del(r->gw->scache, r->skey);
        redis_full_note(r->gw, reply, "step");
        redo(r, REDO_LOAD);
        return;
    }
    if (!reply || reply->type != REDIS_REPLY_ARRAY || reply->elements != 4) {
        /* An error reply (out of memory, say): nothing of the step was
         * stored. */
        int refused = reply && reply->type == REDIS_REPLY_ERROR;

        scache_del(r->gw->scache, r->skey);

        if (refused)
            redis_full_note(r->gw, reply, "step");
        if (r->file) {
            if (spool_filing(r, refused ? "Redis refused the write"
                                        : "Redis did not answer") != 0) {
                conclude(r, 1);
                return;
            }
            metrics_add(r->gw->metrics, "hotline_forwards_total", "queue",
                        queue, 1);
        } else if (r->risk) {
            /* The duress exit's flag on the request filed earlier: kept
             * in the spool for the drain, its screen shown as usual. */
            spool_filing(r, refused ? "Redis refused the write"
                                    : "Redis did not answer");
        } else if (refused && !r->in.has_history &&
                   (!ends_session(r) || r->optout_op[0])) {
            /* Without a history to replay, the next step would start
             * over (or, by SMS, find no session), and STOP or START did
             * not take: the fallback screen. A screen that ends the
             * session (the duress exit's neutral goodbye) is shown. */
            conclude(r, 1);
            return;
        }
        conclude(r, 0);
        return;
    }
    redis_full_note(r->gw, reply, "step");
    if (reply->element[2]->integer == 1) {
        /* Applied: the funnel counts it (fcount.h: written within ~1 s) */
        for (int i = 0; i < r->nff; i++)
            fcount_add(r->gw->fcount, r->fkey, r->ff[i]);
    }
    cache_store(r, reply->element[3]->integer,
                r->file && reply->element[0]->integer >= 0 ?
                    reply->element[1]->str : NULL);
    if (r->file) {
        long long code = reply->element[0]->integer;
        const char *ref = reply->element[1]->str;

        if (code == 1) {
            metrics_add(r->gw->metrics, "hotline_forwards_total", "queue",
                        queue, 1);
            alert_kick(r->gw->alert);   /* staff hear of it at once */
        }
        if (code < 0 || !ref) {
            log_error("channel %s: no free reference; fallback screen",
                      r->ch->name);
            conclude(r, 1);
            return;
        }
        if (strcmp(ref, r->refs[0]) != 0) {
            /* A candidate was taken: the one filed becomes the first (so a
             * spooled copy files it again first) and the screen shows it. */
            for (int i = 1; i < NREFS; i++) {
                if (strcmp(ref, r->refs[i]) == 0) {
                    char tmp[SESSION_REF_LEN + 1];

                    memcpy(tmp, r->refs[0], sizeof tmp);
                    memcpy(r->refs[0], r->refs[i], sizeof tmp);
                    memcpy(r->refs[i], tmp, sizeof tmp);
                }
            }
            r->ctx.ref = r->refs[0];
            menu_show(&r->ctx, &r->st, &r->res);
            r->ctx.ref = NULL;
        }
        log_info("channel %s: help request %s %s on queue %s", r->ch->name,
                 ref, code == 1 ? "filed" : "already filed", queue);
    }
    conclude(r, 0);
}

/* ---- deciding the step (pure apart from metrics) ---------------------- */

/* Trims surrounding blanks, folds diacritics and upper-cases: the form an
 * SMS keyword is compared in. */
static void keyword_form(const char *text, char *out, size_t outsz)
{
    char folded[IN_TEXT_MAX];
    size_t b = 0, e, j = 0;

    if (menu_fold(text, folded, sizeof folded) < 0)
        folded[0] = '\0';
    while (folded[b] == ' ' || folded[b] == '\t' || folded[b] == '\n' ||
           folded[b] == '\r')
        b++;
    e = strlen(folded);
    while (e > b && (folded[e - 1] == ' ' || folded[e - 1] == '\t' ||
                     folded[e - 1] == '\n' || folded[e - 1] == '\r'))
        e--;
    for (size_t i = b; i < e && j + 1 < outsz; i++)
        out[j++] = (char)toupper((unsigned char)folded[i]);
    out[j] = '\0';
}

static int is_keyword(const struct menu *m, const char *word)
{
    for (size_t i = 0; i < m->nkeywords; i++) {
        char k[64];

        keyword_form(m->keywords[i], k, sizeof k);
        if (strcmp(k, word) == 0)
            return 1;
    }
    return 0;
}

static void count_session(struct sreq *r)
{
    serve_current(r);
    r->began = 1;
    walk_begin(r);
    /* A step decided without a LOAD counts when the STEP applied it
     * (on_saved); a decision taken again would count it twice. */
    if (!r->fresh)
        metrics_add(r->gw->metrics, "hotline_sessions_total", "channel",
                    r->ch->name, 1);
}

/* A forward screen means: file. The caller is shown "Sent" whenever the
 * walk ends on a forward node — also when a replayed history reached it
 * before its last input (the later inputs change nothing) — so the request
 * is filed then too, unless this session is known to have filed it. Filing
 * is idempotent per walk anyway (the case's owner). */
static void after_step(struct sreq *r)
{
    const struct menu_node *n = r->res.node;

    r->save = 1;
    if (r->res.action == MENU_ACT_FORWARD)
        r->file = 1;
    else if (r->st.ended == 1 && n && n->type == MENU_NODE_FORWARD &&
             !r->L.ref[0])
        r->file = 1;
}

static void decide_ussd_history(struct sreq *r)
{
    struct loaded *L = &r->L;
    const char *h = r->in.text;
    const char *next;

    if (L->have_state && strcmp(L->hist, h) == 0) {
        /* The aggregator retried a request we answered: same screen,
         * nothing filed or saved again. */
        r->st = L->st;
        r->ctx.ref = L->ref;
        menu_show(&r->ctx, &r->st, &r->res);
        return;
    }
    next = L->have_state && !L->st.ended ? menu_history_next(h, L->hist)
                                         : NULL;
    /* One new input extends the stored walk. Several (a step answered
     * without Redis, or lost) cannot be told from free text containing '*':
     * the whole history is replayed, which splits it the way the menu
     * accepts it. */
    if (next && strchr(next, '*'))
        next = NULL;
    if (next) {
        r->st = L->st;
        r->fin = next;
        menu_step(&r->ctx, &r->st, next, &r->res);
    } else if (!L->have_state) {
        count_session(r);
        /* A walk whose menu version is gone starts at the first screen of
         * the current one; the history saved with it lets the next input
         * extend it. */
        first_screen(r, r->restart ? "" : h);
    } else {
        /* A resumed session's history replays from its question. */
        menu_replay_from(&r->ctx, L->have_base ? &L->base : NULL, h, &r->st,
                         &r->res);
    }
    after_step(r);
}

/* 1 when s is 1 to 18 decimal digits. */
static int all_digits(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n > 18)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return 1;
}

/* A step the aggregator numbered (Hubtel's Sequence, in msg_id) that is not
 * after the last one this session took: a retry, or a late duplicate. It
 * gets the session's current screen; nothing is stepped, saved or filed
 * again. 1 when answered so. */
static int ussd_repeat(struct sreq *r)
{
    const struct loaded *L = &r->L;
    const char *seq = r->in.msg_id;

    if (!L->have_state || !seq[0] || !L->marker[0])
        return 0;
    if (all_digits(seq) && all_digits(L->marker) ?
            strtoll(seq, NULL, 10) > strtoll(L->marker, NULL, 10) :
            strcmp(seq, L->marker) != 0)
        return 0;
    r->st = L->st;
    r->ctx.ref = L->ref;
    menu_show(&r->ctx, &r->st, &r->res);
    metrics_add(r->gw->metrics, "hotline_repeats_total", "channel",
                r->ch->name, 1);
    return 1;
}

static void decide_ussd(struct sreq *r)
{
    struct loaded *L = &r->L;

    memcpy(r->base, L->base_enc, strlen(L->base_enc) + 1);
    if (r->in.is_release) {
        r->text = "";
        r->end = 1;
        return;
    }
    if (ussd_repeat(r))
        return;
    if (r->in.has_history) {
        decide_ussd_history(r);
        return;
    }
    if (!L->ok) {
        r->text = NULL;
        r->end = -1;            /* fallback */
        return;
    }
    if (L->have_state && !r->in.is_new) {
        r->st = L->st;
        if (L->st.ended) {
            /* A final screen of several pages: nav.more turns them (the
             * request was filed at the first; never again). Past its last
             * page the same screen, nothing saved. */
            r->ctx.ref = L->ref;
            if (menu_step(&r->ctx, &r->st, r->in.text, &r->res) !=
                MENU_EENDED)
                after_step(r);
            return;
        }
        r->fin = r->in.text;
        menu_step(&r->ctx, &r->st, r->in.text, &r->res);
    } else {
        count_session(r);
        first_screen(r, r->restart ? "" : r->in.text);
    }
    after_step(r);
}

/* The duress exit after this session filed a request: flag that case. */
static void flag_risk(struct sreq *r)
{
    if (!r->L.ref[0])
        return;
    r->risk = 1;
    snprintf(r->riskkey, sizeof r->riskkey, "%scase:%s", r->cfg->prefix,
             r->L.ref);
    log_warn("channel %s: duress exit after request %s: case flagged "
             "high-risk", r->ch->name, r->L.ref);
}

/* SMS after a final screen: a reply turning its pages (see decide_ussd).
 * Returns 1 when it did. */
static int sms_page(struct sreq *r)
{
    struct menu_state st = r->L.st;
    const char *ref = r->ctx.ref;

    r->ctx.ref = r->L.ref;
    if (menu_step(&r->ctx, &st, r->in.text, &r->res) == MENU_EENDED) {
        r->ctx.ref = ref;
        result_clear(&r->res);
        return 0;
    }
    r->st = st;
    after_step(r);
    return 1;
}

static void decide_sms(struct sreq *r)
{
    struct loaded *L = &r->L;
    char word[64];
    int kw;

    if (!L->ok) {
        r->end = -1;
        return;
    }
    keyword_form(r->in.text, word, sizeof word);
    if (strcmp(word, "STOP") == 0) {
        r->optout_op = "set";
        r->del = 1;
        r->text = r->cfg->sms_stop;
        r->end = 1;
        char masked[IN_PHONE_MAX];

        mask_phone(r->in.phone, masked, sizeof masked);
        log_info("channel %s: number %s opted out", r->ch->name, masked);
        return;
    }
    if (strcmp(word, "START") == 0) {
        r->optout_op = "clear";
        r->text = r->cfg->sms_start;
        r->end = 1;
        return;
    }
    kw = is_keyword(r->ctx.menu, word);
    if (L->opted_out && !kw) {
        r->silent = 1;
        return;
    }
    if (kw || (r->restart && !L->opted_out &&
               menu_sms_resumes(r->ctx.menu, L->idle))) {
        /* Texting a keyword is an explicit request: it opts back in. A
         * walk whose menu version is gone starts again — only while it
         * would have resumed (sms_resume_s): after that, silence, as for
         * any walk left idle (threat model T18). */
        if (L->opted_out)
            r->optout_op = "clear";
        count_session(r);
        menu_begin(&r->ctx, &r->st, &r->res);
        after_step(r);
        return;
    }
    if (L->have_state && r->in.msg_id[0] &&
        strcmp(L->marker, r->in.msg_id) == 0) {
        /* A retry of a message we answered. */
        r->st = L->st;
        r->ctx.ref = L->ref;
        menu_show(&r->ctx, &r->st, &r->res);
        return;
    }
    if (L->have_state && !L->st.ended &&
        menu_sms_resumes(r->ctx.menu, L->idle)) {
        r->st = L->st;
        r->fin = r->in.text;
        menu_step(&r->ctx, &r->st, r->in.text, &r->res);
        after_step(r);
        return;
    }
    /* A final screen of several pages is still being read (within the same
     * sms_resume_s): 98 turns its pages. */
    if (L->have_state && L->st.ended == 1 &&
        menu_sms_resumes(r->ctx.menu, L->idle) && sms_page(r))
        return;
    /* No live walk (none, ended, or idle past sms_resume_s: the phone may
     * be in someone else's hand) and no keyword: start nothing, send
     * nothing — the same whether or not the number ever texted us. The
     * quit key after a filing still flags that case, silently. */
    if (L->have_state && r->ctx.menu->nav.quit &&
        strcmp(word, r->ctx.menu->nav.quit) == 0)
        flag_risk(r);
    r->silent = 1;
}

/* ---- load ------------------------------------------------------------- */

static void copy_str(char *dst, size_t cap, const redisReply *e)
{
    dst[0] = '\0';
    if (e && e->type == REDIS_REPLY_STRING && e->len < cap) {
        memcpy(dst, e->str, e->len);
        dst[e->len] = '\0';
    }
}

/* The saved place LOAD read ({menu, state, age}): usable when it is this
 * menu's, decodes, and was saved less than resume_s ago. */
static void parse_place(struct sreq *r, const redisReply *p)
{
    struct loaded *L = &r->L;
    const char *name = r->ctx.menu->name;

    if (!p || p->type != REDIS_REPLY_ARRAY || p->elements != 3 ||
        p->element[0]->type != REDIS_REPLY_STRING ||
        p->element[1]->type != REDIS_REPLY_STRING ||
        p->element[2]->type != REDIS_REPLY_INTEGER || !name ||
        strcmp(p->element[0]->str, name) != 0 ||
        p->element[2]->integer < 0 ||
        p->element[2]->integer > resume_seconds(r))
        return;
    if (menu_state_decode(r->ctx.menu, p->element[1]->str,
                          p->element[1]->len, &L->place) == 0)
        L->have_place = 1;
}

/* The session began on menu version mv (absent: the file, 0): serve it that
 * one, so a publish never changes the screen under a caller. A version no
 * longer loaded here: the session starts again on the current one. */
static void pin_version(struct sreq *r, long long want)
{
    struct mpub_ver *h;
    const struct menu *m;
    long long v;

    if (want == r->mv)
        return;
    m = mpub_get(r->gw->mpub, r->ch, want, &v, &h);
    if (!m) {
        log_info("channel %s: a session on menu %s version %lld, no longer "
                 "loaded, starts again on version %lld", r->ch->name,
                 r->ch->menu_name, want, r->mv);
        r->restart = 1;
        return;
    }
    mpub_put(r->hold);
    r->hold = h;
    r->mv = v;
    r->ctx.menu = m;
}

/* A walk begins: on the menu version new sessions get. The saved place of
 * a dropped walk was read against the session's version: when that is not
 * the current one, it is not offered (its nodes may differ). */
static void serve_current(struct sreq *r)
{
    struct mpub_ver *h;
    long long v;
    const struct menu *m = mpub_get(r->gw->mpub, r->ch, -1, &v, &h);

    if (!m) {
        m = r->ch->menu;
        v = 0;
    }
    if (r->ctx.menu && m != r->ctx.menu)
        r->L.have_place = 0;
    mpub_put(r->hold);
    r->hold = h;
    r->mv = v;
    r->ctx.menu = m;
}

/* Copies the session hash's fields into L (h: the LOAD script's HMGET, in
 * its order: st, h, q, r, w, pk, b, mv, v; mv is loaded_decode's). */
static void loaded_fields(struct loaded *L, const redisReply *h)
{
    copy_str(L->st_enc, sizeof L->st_enc, h->element[0]);
    copy_str(L->hist, sizeof L->hist, h->element[1]);
    copy_str(L->marker, sizeof L->marker, h->element[2]);
    copy_str(L->ref, sizeof L->ref, h->element[3]);
    copy_str(L->wid, sizeof L->wid, h->element[4]);
    copy_str(L->pk, sizeof L->pk, h->element[5]);
    copy_str(L->base_enc, sizeof L->base_enc, h->element[6]);
    copy_str(L->ver, sizeof L->ver, h->element[8]);
}

/* Decodes what was loaded (or found in the cache) into L: the pinned menu
 * version first, then the state and the replay base against it. */
static void loaded_decode(struct sreq *r, int have_st, long long mv)
{
    struct loaded *L = &r->L;

    if (have_st)
        pin_version(r, mv);
    if (have_st && !r->restart &&
        menu_state_decode(r->ctx.menu, L->st_enc, strlen(L->st_enc),
                          &L->st) == 0)
        L->have_state = 1;
    if (L->base_enc[0] && !r->restart &&
        menu_state_decode(r->ctx.menu, L->base_enc, strlen(L->base_enc),
                          &L->base) == 0 && !L->base.ended)
        L->have_base = 1;
    else
        L->base_enc[0] = '\0';
}

static void parse_loaded(struct sreq *r, const redisReply *reply)
{
    struct loaded *L = &r->L;
    const redisReply *h;

    if (!reply || reply->type != REDIS_REPLY_ARRAY || reply->elements != 7 ||
        reply->element[0]->type != REDIS_REPLY_ARRAY ||
        reply->element[0]->elements != 9)
        return;
    L->ok = 1;
    h = reply->element[0];
    L->opted_out = reply->element[1]->type == REDIS_REPLY_INTEGER &&
                   reply->element[1]->integer == 1;
    L->sessions = reply->element[2]->integer;
    L->requests = reply->element[3]->integer;
    L->from_addr = reply->element[4]->integer;
    L->idle = reply->element[5]->integer;
    loaded_fields(L, h);
    loaded_decode(r, h->element[0]->type == REDIS_REPLY_STRING,
                  h->element[7]->type == REDIS_REPLY_STRING ?
                      atoll(h->element[7]->str) : 0);
    parse_place(r, reply->element[6]);
}

/* Copies field f of a cache entry into dst (cap bytes); -1 when it does not
 * fit. */
static int cache_field(char *dst, size_t cap, const struct scache_val *v,
                       enum scache_field f)
{
    if (v->flen[f] >= cap)
        return -1;
    memcpy(dst, v->f[f], v->flen[f] + 1);
    return 0;
}

/* Fills L from the cache (see "One round trip"): 1 when the session was
 * there and this step may be decided from it. */
static int from_cache(struct sreq *r)
{
    struct loaded *L = &r->L;
    struct scache_val v;

    if (r->in.kind != IN_USSD || r->in.is_release ||
        scache_get(r->gw->scache, r->skey, &v) != 0)
        return 0;
    if ((long long)time(NULL) > v.exp) {
        /* Redis has let the session expire by now. */
        scache_del(r->gw->scache, r->skey);
        return 0;
    }
    if (cache_field(L->st_enc, sizeof L->st_enc, &v, SC_ST) ||
        cache_field(L->hist, sizeof L->hist, &v, SC_H) ||
        cache_field(L->marker, sizeof L->marker, &v, SC_Q) ||
        cache_field(L->ref, sizeof L->ref, &v, SC_R) ||
        cache_field(L->wid, sizeof L->wid, &v, SC_W) ||
        cache_field(L->pk, sizeof L->pk, &v, SC_PK) ||
        cache_field(L->base_enc, sizeof L->base_enc, &v, SC_B) ||
        strlen(v.ver) >= sizeof L->ver) {
        scache_del(r->gw->scache, r->skey);
        loaded_clear(L);
        return 0;
    }
    memcpy(L->ver, v.ver, strlen(v.ver) + 1);
    L->ok = 1;
    loaded_decode(r, L->st_enc[0] != '\0', v.mv);
    return 1;
}

/* Remembers what the STEP script just wrote to the session (version v), so
 * that its next step needs no LOAD; forgets it when nothing usable was
 * written. ref: the reference filed, or NULL. */
static void cache_store(struct sreq *r, long long v, const char *ref)
{
    struct scache_val e;
    char ver[24];
    const char *q = r->in.msg_id[0] ? r->in.msg_id : r->L.marker;
    const char *pk = r->L.pk[0] ? r->L.pk : r->pkey;
    const char *h = r->in.has_history ? r->in.text : "";
    const char *rf = ref && ref[0] ? ref : r->L.ref;

    if (!r->gw->scache)
        return;
    if (r->in.kind != IN_USSD || v <= 0 || !r->save || r->del ||
        !r->state_enc[0]) {
        scache_del(r->gw->scache, r->skey);
        return;
    }
    sdec(ver, sizeof ver, v);
    e.ver = ver;
    e.mv = r->mv;
    e.exp = (long long)time(NULL) + r->ch->timeout_s;
    e.f[SC_ST] = r->state_enc;
    e.f[SC_H] = h;
    e.f[SC_Q] = q;
    e.f[SC_R] = rf;
    e.f[SC_W] = r->wid;
    e.f[SC_PK] = pk;
    e.f[SC_B] = r->base;
    for (int i = 0; i < SCACHE_NFIELDS; i++)
        e.flen[i] = strlen(e.f[i]);
    scache_put(r->gw->scache, r->skey, &e);
}

/* Abuse limits, applied to what the step decided. A number over a limit
 * gets a screen with the hotline's phone number, never silence; a number's
 * first help request is never refused. */
static void apply_limits(struct sreq *r)
{
    const struct cfg *c = r->cfg;
    const char *kind = NULL;

    /* The sessions limit waits for the number's first help request: the
     * walk that files it may be its 100th this hour. */
    if (r->began && c->limit_sessions_hour && r->L.requests > 0 &&
        r->L.sessions >= c->limit_sessions_hour)
        kind = "sessions";
    else if (r->file && c->limit_requests_day && r->L.requests > 0 &&
             r->L.requests >= c->limit_requests_day)
        kind = "requests";
    if (!kind)
        return;
    metrics_add(r->gw->metrics, "hotline_limited_total", "limit", kind, 1);
    log_info("channel %s: number over its %s limit", r->ch->name, kind);
    r->text = c->limit_message;
    r->end = 1;
    r->file = 0;
    r->began = 0;
    r->save = 0;
    r->silent = 0;
}

/* A session's number is fixed when it begins: a step of the same session
 * id from another number (a forged or mixed-up request) gets the neutral
 * goodbye and changes nothing. 1 when refused. */
static int refuse_other_number(struct sreq *r)
{
    char masked[IN_PHONE_MAX];

    if (r->by_number || !r->L.ok || !r->L.pk[0] ||
        strcmp(r->L.pk, r->pkey) == 0)
        return 0;
    mask_phone(r->in.phone, masked, sizeof masked);
    log_warn("channel %s: a step of a session begun by another number came "
             "from %s; refused", r->ch->name, masked);
    metrics_add(r->gw->metrics, "hotline_session_phone_mismatch_total",
                "channel", r->ch->name, 1);
    /* The duress exit's words, as the channel sends them; the session is
     * not saved, so its caller can still go on. */
    r->text = menu_text_get(r->ctx.menu, &r->ctx.menu->strings.quit,
                            r->L.have_state ? r->L.st.lang : 0);
    if (!r->text)
        r->text = "";
    else if (r->ctx.render.fold &&
             menu_fold(r->text, r->textbuf, sizeof r->textbuf) >= 0)
        r->text = r->textbuf;
    r->end = 1;
    finish(r);
    return 1;
}

/* One funnel field of this step (node, lang: indices of r's menu). */
static void funnel_note(struct sreq *r, int node, int lang, int ev)
{
    const struct menu *m = r->ctx.menu;

    if (r->nff >= FUNNEL_MAX || node < 0 || (size_t)node >= m->nnodes ||
        lang < 0 || (size_t)lang >= m->nlangs)
        return;
    if (mops_funnel_field(m->nodes[node].name, m->langs[lang], ev,
                          r->ff[r->nff], sizeof r->ff[0]) == 0)
        r->nff++;
}

/*
 * Where callers go and where they give up (menu_pub.h): a visit when a
 * screen of another node is shown, `left` when a walk leaves a node (to
 * another, to a final screen it then ends on, or by the duress exit),
 * invalid answers, back and home presses and duress exits at the node they
 * were given on. A walk that stops anywhere else never leaves its node:
 * dropped = visit - left, with no keyspace notification and no session id.
 * Only a new walk's first screen and one input applied to a live walk
 * count: page turns, retries and whole-history replays count nothing.
 */
static void funnel_count(struct sreq *r)
{
    const struct menu_state *b = r->fin ? &r->L.st : NULL;
    const struct menu_nav *nav = &r->ctx.menu->nav;

    if (!r->save || r->text || (b && b->ended) || (!b && !r->began))
        return;
    if (r->res.action == MENU_ACT_QUIT) {
        if (b) {
            funnel_note(r, b->node, b->lang, MOPS_EV_QUIT);
            funnel_note(r, b->node, b->lang, MOPS_EV_LEFT);
        }
        return;
    }
    if (r->res.invalid) {
        if (b)
            funnel_note(r, b->node, b->lang, MOPS_EV_INVALID);
        return;
    }
    if (b && nav->back && strcmp(r->fin, nav->back) == 0)
        funnel_note(r, b->node, b->lang, MOPS_EV_BACK);
    if (b && nav->home && strcmp(r->fin, nav->home) == 0)
        funnel_note(r, b->node, b->lang, MOPS_EV_HOME);
    if (b && r->st.node == b->node)
        return;
    if (b)
        funnel_note(r, b->node, b->lang, MOPS_EV_LEFT);
    funnel_note(r, r->st.node, r->st.lang, MOPS_EV_VISIT);
    if (r->st.ended)
        funnel_note(r, r->st.node, r->st.lang, MOPS_EV_LEFT);
}

static void decided(struct sreq *r);

/* ---- lookup nodes (gateway/lookup.c): one more round trip, only on the
 * step that reaches a lookup; then the walk goes on as decided ---------- */

static void on_looked_up(enum menu_outcome outcome,
                         const struct menu_lookup_field *fields,
                         size_t nfields, void *arg)
{
    struct sreq *r = arg;

    if (menu_lookup_result(&r->ctx, &r->st, outcome, fields, nfields,
                           &r->res) != 0)
        log_error("channel %s: lookup result refused by the walk",
                  r->ch->name);
    after_step(r);
    decided(r);
}

static void decide_and_save(struct sreq *r)
{
    if (r->L.ok && r->cfg->limit_addr_minute &&
        r->L.from_addr > r->cfg->limit_addr_minute) {
        metrics_add(r->gw->metrics, "hotline_limited_total", "limit",
                    "address", 1);
        r->status = 429;
        finish(r);
        return;
    }
    if (r->cas && !r->by_number && r->L.pk[0] &&
        strcmp(r->L.pk, r->pkey) != 0) {
        redo(r, REDO_LOAD);     /* Redis decides: the number is refused */
        return;
    }
    if (refuse_other_number(r))
        return;
    walk_resume(r);
    if (r->in.kind == IN_SMS)
        decide_sms(r);
    else
        decide_ussd(r);
    if (r->res.action == MENU_ACT_LOOKUP && !r->text && r->fresh) {
        redo(r, REDO_LOAD);     /* the lookup once, on what LOAD finds */
        return;
    }
    if (r->res.action == MENU_ACT_LOOKUP && !r->text) {
        lookup_run(r->gw, r->cfg->prefix, &r->res.lookup, on_looked_up, r);
        return;
    }
    decided(r);
}

/* 1 when a step decided from the cache may be saved by one compare-and-set
 * STEP: it continues a live walk (saves or deletes it) and does nothing
 * else — no new walk, duress flag, limit, opt-out or special screen, and
 * a filing only without redis.wait_replicas (see "One round trip").
 * Anything else is taken again from a LOAD, as without a cache. */
static int cas_ok(const struct sreq *r)
{
    return (!r->file || r->cfg->wait_replicas == 0) && !r->began &&
           !r->restart && !r->status && !r->text && !r->silent &&
           !r->optout_op[0] && (r->save || r->del) &&
           !(r->res.action == MENU_ACT_QUIT && r->L.ref[0]);
}

/* 1 when a step decided without a LOAD, as the first screen of a new
 * session, may be saved by one STEP that checks it is one (expv '0'): it
 * begins a walk, saves it and does nothing else — no filing, limit, special
 * screen or restart. Anything else is taken again from a LOAD. */
static int fresh_ok(const struct sreq *r)
{
    return r->began && r->save && !r->del && !r->file && !r->risk &&
           !r->restart && !r->status && !r->text && !r->silent &&
           !r->optout_op[0];
}

/* 1 when r may be decided as the first screen of a new session without a
 * LOAD (see "One round trip"): a USSD request that starts a session — an
 * empty Africa's Talking history, or a dialect's new-session flag. */
static int fresh_candidate(const struct sreq *r)
{
    if (r->in.kind != IN_USSD || r->in.is_release)
        return 0;
    return r->in.has_history ? r->in.text[0] == '\0' : r->in.is_new;
}

/* The rest of a step once the walk is decided (and a lookup answered). */
static void decided(struct sreq *r)
{
    if ((r->cas && !cas_ok(r)) || (r->fresh && !fresh_ok(r))) {
        redo(r, REDO_LOAD);
        return;
    }
    if (r->L.ok)
        apply_limits(r);
    resume_decide(r);
    if (r->end == -1) {
        finish_fallback(r);
        return;
    }
    if (r->res.action == MENU_ACT_QUIT) {
        log_info("channel %s: duress exit", r->ch->name);
        flag_risk(r);
    }
    funnel_count(r);
    if (r->save || r->del || r->optout_op[0] || r->file || r->risk) {
        save(r);
        return;
    }
    finish(r);
}

static void on_loaded(struct redisReply *reply, void *arg)
{
    struct sreq *r = arg;

    parse_loaded(r, reply);
    decide_and_save(r);
}

/* LOAD: sends the LOAD script for r (count_addr: count the request
 * against its address's limit). */
static void send_load(struct sreq *r, int count_addr)
{
    const struct cfg *cfg = r->cfg;
    char keys[3][KEY_MAX];
    char window[16];
    const char *av[9];
    size_t al[9];
    const char *P = cfg->prefix;

    sjoin(keys[0], KEY_MAX, P, "rl:s:", r->pkey, (const char *)NULL);
    sjoin(keys[1], KEY_MAX, P, "rl:f:", r->pkey, (const char *)NULL);
    sjoin(keys[2], KEY_MAX, P, "rl:a:", r->peer, (const char *)NULL);
    sdec(window, sizeof window,
         cfg->limit_addr_minute && count_addr ? 60 : 0);
    av[0] = r->skey;
    av[1] = r->okey;
    av[2] = keys[0];
    av[3] = keys[1];
    av[4] = keys[2];
    av[5] = r->rkey[0] ? r->rkey : r->skey;
    av[6] = window;
    av[7] = r->rkey[0] ? "1" : "";
    /* apply_limits reads the counters only while a limit is on */
    av[8] = cfg->limit_sessions_hour || cfg->limit_requests_day ? "1" : "";
    for (int i = 0; i < 9; i++)
        al[i] = strlen(av[i]);
    if (count_addr)
        r->addr_counted = 1;
    if (store_eval(r->gw->store, GW_SCRIPT_LOAD, on_loaded, r, 6, 9, av,
                   al) != 0)
        on_loaded(NULL, r);     /* Redis not there: decide without it */
}

/* Takes the step again from the start without the cache (see "One round
 * trip"): everything the decision set is cleared first. */
static void redo_reset(struct sreq *r)
{
    r->cas = 0;
    r->fresh = 0;
    loaded_clear(&r->L);
    state_clear(&r->st);
    result_clear(&r->res);
    r->began = r->restart = r->nff = 0;
    r->fin = NULL;
    r->resume_op = "";
    r->base[0] = '\0';
    r->save = r->del = r->file = r->silent = r->risk = r->status = 0;
    r->optout_op = "";
    r->riskkey[0] = '\0';
    r->text = NULL;
    r->end = 0;
    r->waiting = r->held = r->held_fallback = 0;
    r->unconfirmed = r->spooled = 0;
    r->state_enc[0] = '\0';
    r->ctx.ref = NULL;
    serve_current(r);
}

static void redo(struct sreq *r, enum redo_how how)
{
    redo_reset(r);
    if (how == REDO_NO_REDIS) {
        on_loaded(NULL, r);
        return;
    }
    send_load(r, !r->addr_counted);
}

/* Takes the step again from the session's fields as the STEP script read
 * them after a conflict (st h q r w pk b mv v), with a compare-and-set on
 * that version. -1 (nothing done) when the session is gone or the reply
 * is not that: the caller then redoes from a LOAD. */
static int redo_from(struct sreq *r, const redisReply *h)
{
    struct loaded *L = &r->L;

    if (!h || h->type != REDIS_REPLY_ARRAY || h->elements != 9 ||
        h->element[0]->type != REDIS_REPLY_STRING ||
        h->element[8]->type != REDIS_REPLY_STRING)
        return -1;
    redo_reset(r);
    L->ok = 1;
    loaded_fields(L, h);
    loaded_decode(r, 1, h->element[7]->type == REDIS_REPLY_STRING ?
                            atoll(h->element[7]->str) : 0);
    r->cas = 1;
    r->recas = 1;
    decide_and_save(r);
    return 0;
}

/* Nalo and Arkesel send the whole dialled string ("*920*55*2*1#") as the
 * first message: with the channel's service_code ("*920*55#") known, what
 * follows it is pre-dialled input ("2*1"), and the service is the code. */
static void dialled_input(struct sreq *r)
{
    const char *code = r->ch->service_code;
    char input[IN_TEXT_MAX];

    if (!code || !code[0] || r->in.text[0] ||
        dialect_predialled(r->in.service, code, input, sizeof input) != 0 ||
        !input[0])
        return;
    memcpy(r->in.text, input, sizeof input);
    snprintf(r->in.service, sizeof r->in.service, "%s", code);
}

void session_handle(struct gw *gw, struct cfg *cfg,
                    const struct cfg_channel *ch, const struct inbound *in,
                    const char *peer, session_done_cb done, void *arg)
{
    struct sreq *r = sreq_get();

    if (!r) {
        done(503, "", 0, "text/plain", arg);
        return;
    }
    r->gw = gw;
    r->cfg = cfg_retain(cfg);
    r->ch = ch;
    r->in = *in;
    r->done = done;
    r->arg = arg;
    r->optout_op = "";
    serve_current(r);
    r->ctx.render = ch->render;
    sjoin(r->peer, sizeof r->peer, peer ? peer : "", (const char *)NULL);
    session_phone_key(cfg->pepper, in->phone, r->pkey);
    r->by_number = in->kind == IN_SMS ||
                   strcmp(ch->dialect_name, "nalo-ussd") == 0;
    if (r->by_number) {
        /* Keyed by number: only its HMAC goes into Redis keys. */
        sjoin(r->skey, sizeof r->skey, cfg->prefix, "s:{", ch->name, ":",
              r->pkey, "}", (const char *)NULL);
        sjoin(r->okey, sizeof r->okey, cfg->prefix, "o:", r->pkey,
              (const char *)NULL);
    } else {
        sjoin(r->skey, sizeof r->skey, cfg->prefix, "s:{", ch->name, ":",
              in->session, "}", (const char *)NULL);
        memcpy(r->okey, r->skey, strlen(r->skey) + 1);
    }
    r->resume_op = "";
    if (in->kind == IN_USSD && resume_seconds(r) > 0)
        sjoin(r->rkey, sizeof r->rkey, cfg->prefix, "r:", r->pkey,
              (const char *)NULL);
    if (in->kind == IN_USSD && in->is_new && !in->has_history)
        dialled_input(r);
    r->L.idle = -1;
    if (!gw->scache && cfg->session_cache > 0 && !gw->scache_failed) {
        gw->scache = scache_new((size_t)cfg->session_cache);
        gw->scache_failed = !gw->scache;
    }
    scache_sweep(gw->scache, (long long)time(NULL), 8);
    if (from_cache(r)) {
        r->cas = 1;
        decide_and_save(r);
        return;
    }
    if (fresh_candidate(r)) {
        /* As a LOAD that found nothing: no session, saved place, count
         * or address count yet (the STEP counts the address). */
        r->fresh = 1;
        r->L.ok = 1;
        decide_and_save(r);
        return;
    }
    send_load(r, 1);
}

