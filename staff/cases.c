/*
 * cases.c — case transitions as Lua scripts, and cases rendered for staff
 * (JSON for the API, lines and text for hotlinectl). See cases.h.
 *
 * The scripts keep the rules in one place: a case is claimed only while
 * new (or again by the same person), noted, released or resolved only by
 * the one who claimed it, resolved only once claimed, and every change is
 * written to the case's history with who and when. A resolved case gets
 * the retention period as its TTL and disappears with it. Each script that
 * changes a status moves the case in the index (cases.h) and writes a case
 * event for the metrics.
 *
 * `list` reads a bounded page of the index. `erase` SCANs inside the
 * script (a rare operator command): one round trip, at the price of
 * touching keys the script did not declare (fine on one Redis or with
 * Sentinel; Redis Cluster would need the scan done by the client per node).
 */
#include "cases.h"
#include "menu.h"

#include <ctype.h>
#include <stdarg.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Keeps a history to 500 entries: the oldest audit entry (read, list)
 * goes first, so reads never push a claim or resolve out. */
#define LUA_TRIM                                                           \
    "local function trim(h)\n"                                             \
    "  while #h > 500 do\n"                                                \
    "    local k = 1\n"                                                    \
    "    for i = 1, #h do\n"                                               \
    "      if h[i].what == 'read' or h[i].what == 'list' then k = i break"  \
    " end\n"                                                               \
    "    end\n"                                                            \
    "    table.remove(h, k)\n"                                             \
    "  end\n"                                                              \
    "end\n"

/* The ownership rule, in one place: a claimed case belongs to the one who
 * claimed it until they release it, except to a supervisor: `role` is the
 * role the caller passes (each script reads it from its own ARGV position,
 * see cases.h; nil from hotlinectl, which acts as the operator's name). */
#define LUA_OWNER                                                          \
    "local function may_act()\n"                                           \
    "  return s ~= 'claimed' or by == ARGV[1] or role == 'supervisor'\n"   \
    "end\n"                                                                \
    "local refused = {-1, 'case is claimed by ' .. (by or '?'), 0}\n"

/* The prelude of the scripts that change one case (KEYS[1], ARGV 1 who,
 * 2 now): its status s, the prefix P, the history, the case index and the
 * case events. The index keys are derived from the case's queue, so they
 * are not declared (fine on one Redis or with Sentinel, like list and
 * erase; Redis Cluster is not supported). */
#define LUA_CASE                                                           \
    LUA_TRIM                                                               \
    "local function log(what)\n"                                           \
    "  local h = cjson.decode(redis.call('HGET', KEYS[1], 'history') or"   \
    " '[]')\n"                                                             \
    "  h[#h + 1] = {who = ARGV[1], at = tonumber(ARGV[2]), what = what}\n" \
    "  trim(h)\n"                                                          \
    "  redis.call('HSET', KEYS[1], 'history', cjson.encode(h))\n"          \
    "end\n"                                                                \
    "local s = redis.call('HGET', KEYS[1], 'status')\n"                    \
    "if not s then return {0, 'no such case', 0} end\n"                    \
    "local P = string.match(KEYS[1], '^(.*)case:[^:]*$') or ''\n"          \
    "local by = redis.call('HGET', KEYS[1], 'claimed_by')\n"               \
    LUA_OWNER                                                              \
    "local function move(from, to)\n"                                      \
    "  local ref = redis.call('HGET', KEYS[1], 'ref')\n"                   \
    "  local q = redis.call('HGET', KEYS[1], 'queue') or 'default'\n"      \
    "  local t = tonumber(redis.call('HGET', KEYS[1], 'created') or '0')"  \
    " or 0\n"                                                              \
    "  for _, k in ipairs({P .. 'cx:' .. from, P .. 'cx:' .. from .. ':'"  \
    " .. q}) do redis.call('ZREM', k, ref) end\n"                          \
    "  for _, k in ipairs({P .. 'cx:' .. to, P .. 'cx:' .. to .. ':'"      \
    " .. q}) do redis.call('ZADD', k, t, ref) end\n"                       \
    "end\n"                                                                \
    "local function live(what)\n"                                         \
    "  redis.call('XADD', P .. 'ev:live', 'MAXLEN', '~', 1000, '*', 'what',"\
    " what, 'ref', redis.call('HGET', KEYS[1], 'ref') or '')\n"            \
    "end\n"                                                                \
    "local function event(what, since)\n"                                  \
    "  if since and since > 0 then\n"                                      \
    "    redis.call('XADD', P .. 'ev:cases', 'MAXLEN', '~', 10000, '*',"   \
    " 'what', what, 'ms', tonumber(ARGV[2]) - since)\n"                    \
    "  end\n"                                                              \
    "end\n"

/* Whether the alert group has delivered stream entry id (read and
 * acknowledged); true when the stream has no alert group (nothing to
 * deliver). Then the entry may go: it holds the number and the place. */
#define LUA_DELIVERED                                                      \
    "local function after(a, b)\n"                                         \
    "  local a1, a2 = string.match(a, '^(%d+)-(%d+)$')\n"                  \
    "  local b1, b2 = string.match(b or '', '^(%d+)-(%d+)$')\n"            \
    "  if not a1 or not b1 then return true end\n"                         \
    "  a1, a2, b1, b2 = tonumber(a1), tonumber(a2), tonumber(b1),"         \
    " tonumber(b2)\n"                                                      \
    "  return a1 > b1 or (a1 == b1 and a2 > b2)\n"                         \
    "end\n"                                                                \
    "local function delivered(stream, id)\n"                               \
    "  local ok, gs = pcall(redis.call, 'XINFO', 'GROUPS', stream)\n"      \
    "  if not ok then return true end\n"                                   \
    "  for _, g in ipairs(gs) do\n"                                        \
    "    local f = {}\n"                                                   \
    "    for i = 1, #g, 2 do f[g[i]] = g[i + 1] end\n"                     \
    "    if f.name == 'alerts' then\n"                                     \
    "      if after(id, f['last-delivered-id']) then return false end\n"   \
    "      return #redis.call('XPENDING', stream, 'alerts', id, id, 1)"    \
    " == 0\n"                                                              \
    "    end\n"                                                            \
    "  end\n"                                                              \
    "  return true\n"                                                      \
    "end\n"

const char cases_script_claim[] =
    "local role = ARGV[3]\n"
    LUA_CASE
    "if s == 'claimed' and by == ARGV[1] then\n"
    "  return {1, 'already claimed by you', -1}\n"
    "end\n"
    "if s == 'claimed' then return refused end\n"
    "if s ~= 'new' then return {-1, 'case is ' .. s, 0} end\n"
    "local created = tonumber(redis.call('HGET', KEYS[1], 'created') or"
    " '0') or 0\n"
    "redis.call('HSET', KEYS[1], 'status', 'claimed', 'claimed_by', ARGV[1],"
    " 'claimed_at', ARGV[2])\n"
    "log('claim')\n"
    "live('claim')\n"
    "move('new', 'claimed')\n"
    "if redis.call('HSETNX', KEYS[1], 'first_claimed_at', ARGV[2]) == 1"
    " then\n"
    "  event('claim', created)\n"
    "end\n"
    "return {1, 'claimed', created}\n";

const char cases_script_release[] =
    "local role = ARGV[3]\n"
    LUA_CASE
    "if s ~= 'claimed' then return {-1, 'case is ' .. s .. ', not claimed',"
    " 0} end\n"
    "if not may_act() then return refused end\n"
    "redis.call('HSET', KEYS[1], 'status', 'new')\n"
    "redis.call('HDEL', KEYS[1], 'claimed_by', 'claimed_at')\n"
    "log('release')\n"
    "live('release')\n"
    "move('claimed', 'new')\n"
    "return {1, 'released', 0}\n";

const char cases_script_note[] =
    "local role = ARGV[4]\n"
    LUA_CASE
    "if not may_act() then return refused end\n"
    "if #ARGV[3] == 0 or #ARGV[3] > 2000 then\n"
    "  return {-1, 'a note is 1 to 2000 bytes', 0}\n"
    "end\n"
    "local n = cjson.decode(redis.call('HGET', KEYS[1], 'notes') or '[]')\n"
    "if #n >= 100 then return {-1, 'this case has 100 notes already', 0} end\n"
    "n[#n + 1] = {who = ARGV[1], at = tonumber(ARGV[2]), text = ARGV[3]}\n"
    "redis.call('HSET', KEYS[1], 'notes', cjson.encode(n))\n"
    "log('note')\n"
    "live('note')\n"
    "return {1, 'noted', 0}\n";

/* Tag (issue 16): recruiter identifiers staff saw in this case, already
 * normalised (menu_lookup_keys). ARGV 1 who, 2 now (ms), 3 key prefix
 * (unused: LUA_CASE's P), 4 the case reference, 5... the keys. As a note:
 * only the staff member who claimed the case, if anyone did. Each key's P rep:KEY hash gets
 * REF = the time (seconds) once; the case keeps the keys in `tags` so an
 * erase can take its reports back. Returns {1, 'tagged N', 0}. */
const char cases_script_tag[] =
    "local role = nil\n"      /* its ARGV are identifiers: no override */
    LUA_CASE
    "if not may_act() then return refused end\n"
    "local ref = ARGV[4]\n"
    "local have = redis.call('HGET', KEYS[1], 'tags') or ''\n"
    "local seen, list, added = {}, have, 0\n"
    "for t in string.gmatch(have, '%S+') do seen[t] = true end\n"
    "for i = 5, #ARGV do\n"
    "  local k = ARGV[i]\n"
    "  if not seen[k] then\n"
    "    seen[k] = true\n"
    "    if list == '' then list = k else list = list .. ' ' .. k end\n"
    "    added = added + 1\n"
    "  end\n"
    "  redis.call('HSETNX', P .. 'rep:' .. k, ref,"
    " math.floor(tonumber(ARGV[2]) / 1000))\n"
    "end\n"
    "redis.call('HSET', KEYS[1], 'tags', list)\n"
    "log('tag')\n"
    "return {1, 'tagged ' .. added, 0}\n";

const char cases_script_resolve[] =
    "local role = ARGV[4]\n"
    LUA_CASE
    LUA_DELIVERED
    "if s == 'resolved' then return {-1, 'case is resolved already', 0} end\n"
    "if s ~= 'claimed' then return {-1, 'claim the case first', 0} end\n"
    "if not may_act() then return refused end\n"
    "redis.call('HSET', KEYS[1], 'status', 'resolved', 'resolved_by',"
    " ARGV[1], 'resolved_at', ARGV[2])\n"
    "log('resolve')\n"
    "live('resolve')\n"
    "redis.call('EXPIRE', KEYS[1], ARGV[3])\n"
    "move('claimed', 'resolved')\n"
    "local q = redis.call('HGET', KEYS[1], 'queue') or 'default'\n"
    "for _, k in ipairs({P .. 'cx:resolved', P .. 'cx:resolved:' .. q}) do\n"
    "  for _, m in ipairs(redis.call('ZRANGE', k, 0, 7)) do\n"
    "    if redis.call('EXISTS', P .. 'case:' .. m) == 0 then"
    " redis.call('ZREM', k, m) end\n"
    "  end\n"
    "end\n"
    "local e = redis.call('HGET', KEYS[1], 'entry')\n"
    "if e and delivered(P .. 'q:' .. q, e) then"
    " redis.call('XDEL', P .. 'q:' .. q, e) end\n"
    "local ca = tonumber(redis.call('HGET', KEYS[1], 'claimed_at') or '0')"
    " or 0\n"
    "event('resolve', ca)\n"
    "return {1, 'resolved', ca}\n";

/* Reassign (supervisor view): a claimed case to another staff member,
 * who must be an enabled account (P staff-names, P staff:NAME) unless the
 * caller vouches that NAME is a staff member of the config (ARGV 5 "1").
 * The history gets {who, at, what: "reassign", from, to}. */
const char cases_script_reassign[] =
    "local role = ARGV[4]\n"
    LUA_CASE
    "if role ~= 'supervisor' then\n"
    "  return {-1, 'only a supervisor may reassign a case', 0}\n"
    "end\n"
    "if s ~= 'claimed' then return {-1, 'case is ' .. s .. ', not claimed',"
    " 0} end\n"
    "local to = ARGV[3]\n"
    "if ARGV[5] ~= '1' and (redis.call('SISMEMBER', P .. 'staff-names', to)"
    " == 0 or redis.call('HGET', P .. 'staff:' .. to, 'disabled') == '1')"
    " then\n"
    "  return {-1, 'no enabled staff account named ' .. to, 0}\n"
    "end\n"
    "if by == to then return {1, 'already claimed by ' .. to, 0} end\n"
    "redis.call('HSET', KEYS[1], 'claimed_by', to, 'claimed_at', ARGV[2])\n"
    "local h = cjson.decode(redis.call('HGET', KEYS[1], 'history') or '[]')\n"
    "h[#h + 1] = {who = ARGV[1], at = tonumber(ARGV[2]), what = 'reassign',"
    " from = by or '', to = to}\n"
    "trim(h)\n"
    "redis.call('HSET', KEYS[1], 'history', cjson.encode(h))\n"
    "live('reassign')\n"
    "return {1, 'reassigned to ' .. to, 0}\n";

/* The number, to one who may act on the case, written to its history. */
const char cases_script_reveal[] =
    "local role = ARGV[3]\n"
    LUA_CASE
    "if not may_act() then return refused end\n"
    "log('reveal')\n"
    "live('reveal')\n"
    "return {1, redis.call('HGET', KEYS[1], 'phone') or '', 0}\n";

/* An audit entry {who, at, what} in case k's history; lists by the same
 * person in a row are one entry with a count n and the first time. */
#define LUA_AUDIT                                                          \
    LUA_TRIM                                                               \
    "local function audit(k, what)\n"                                      \
    "  local h = cjson.decode(redis.call('HGET', k, 'history') or '[]')\n" \
    "  local last, at = h[#h], tonumber(ARGV[2])\n"                        \
    "  if what == 'list' and last and last.what == 'list' and"             \
    " last.who == ARGV[1] then\n"                                          \
    "    last.first = last.first or last.at\n"                             \
    "    last.n, last.at = (last.n or 1) + 1, at\n"                        \
    "  else\n"                                                             \
    "    h[#h + 1] = {who = ARGV[1], at = at, what = what}\n"              \
    "  end\n"                                                              \
    "  trim(h)\n"                                                          \
    "  redis.call('HSET', k, 'history', cjson.encode(h))\n"                \
    "end\n"

const char cases_script_read[] =
    LUA_AUDIT
    "if redis.call('TYPE', KEYS[1]).ok ~= 'hash' then return {} end\n"
    "audit(KEYS[1], 'read')\n"
    "return redis.call('HGETALL', KEYS[1])\n";

const char cases_script_audit[] =
    LUA_AUDIT
    "local n = 0\n"
    "for ref in string.gmatch(ARGV[5], '%w+') do\n"
    "  local k = ARGV[4] .. 'case:' .. ref\n"
    "  if redis.call('TYPE', k).ok == 'hash' then\n"
    "    audit(k, ARGV[3])\n"
    "    n = n + 1\n"
    "  end\n"
    "end\n"
    "return n\n";

const char cases_script_list[] =
    "local limit, cs, cr = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3]\n"
    "local P = string.match(KEYS[1], '^(.*)cx:') or ''\n"
    "local c, more = {}, false\n"
    "for _, k in ipairs(KEYS) do\n"
    "  local r, n = nil, 0\n"
    "  local at = cs and redis.call('ZSCORE', k, cr)\n"
    "  if not cs then\n"
    "    r = redis.call('ZRANGE', k, 0, limit, 'WITHSCORES')\n"
    "  elseif at and tonumber(at) == cs then\n"
    "    local i = redis.call('ZRANK', k, cr)\n"
    "    r = redis.call('ZRANGE', k, i + 1, i + 1 + limit, 'WITHSCORES')\n"
    "  else\n"
    "    r = redis.call('ZRANGE', k, cs, '+inf', 'BYSCORE', 'LIMIT', 0,"
    " limit + 64, 'WITHSCORES')\n"
    "  end\n"
    "  local st = string.match(k, 'cx:(%a+)')\n"
    "  for j = 1, #r, 2 do\n"
    "    local t = tonumber(r[j + 1])\n"
    "    if not cs or t > cs or (t == cs and r[j] > cr) then\n"
    "      c[#c + 1] = {t, r[j], k, st}\n"
    "      n = n + 1\n"
    "    end\n"
    "  end\n"
    "  if n > limit then more = true end\n"
    "end\n"
    "table.sort(c, function(a, b)\n"
    "  return a[1] < b[1] or (a[1] == b[1] and a[2] < b[2])\n"
    "end)\n"
    "local out, last = {''}, nil\n"
    "for _, it in ipairs(c) do\n"
    "  if #out - 1 == limit then more = true break end\n"
    "  last = it\n"
    "  local h = redis.call('HGETALL', P .. 'case:' .. it[2])\n"
    "  local st\n"
    "  for j = 1, #h, 2 do if h[j] == 'status' then st = h[j + 1] end end\n"
    "  if st == it[4] then out[#out + 1] = h\n"
    "  else redis.call('ZREM', it[3], it[2]) end\n"
    "end\n"
    "if more and last then\n"
    "  out[1] = string.format('%.0f', last[1]) .. '-' .. last[2]\n"
    "end\n"
    "return out\n";

const char cases_script_reindex[] =
    "local n = 0\n"
    "for _, k in ipairs(KEYS) do\n"
    "  local f = redis.call('HMGET', k, 'ref', 'status', 'queue', 'created')\n"
    "  local P = string.match(k, '^(.*)case:[^:]*$')\n"
    "  if P and f[1] and f[2] then\n"
    "    local q = f[3] or 'default'\n"
    "    for _, st in ipairs({'new', 'claimed', 'resolved'}) do\n"
    "      local a, b = P .. 'cx:' .. st, P .. 'cx:' .. st .. ':' .. q\n"
    "      if st == f[2] then\n"
    "        redis.call('ZADD', a, tonumber(f[4]) or 0, f[1])\n"
    "        redis.call('ZADD', b, tonumber(f[4]) or 0, f[1])\n"
    "      else\n"
    "        redis.call('ZREM', a, f[1])\n"
    "        redis.call('ZREM', b, f[1])\n"
    "      end\n"
    "    end\n"
    "    n = n + 1\n"
    "  end\n"
    "end\n"
    "return n\n";

const char cases_script_erase[] =
    "local P, phone, pk = ARGV[1], ARGV[2], ARGV[3]\n"
    "local c = {0, 0, 0, 0, 0, 0, 0}\n"
    "local function scan(pattern, kind, fn)\n"
    "  local cursor = '0'\n"
    "  repeat\n"
    "    local r = redis.call('SCAN', cursor, 'MATCH', pattern, 'COUNT',"
    " 1000)\n"
    "    cursor = r[1]\n"
    "    for _, k in ipairs(r[2]) do\n"
    "      if redis.call('TYPE', k).ok == kind then fn(k) end\n"
    "    end\n"
    "  until cursor == '0'\n"
    "end\n"
    "local function field(t, name)\n"
    "  for i = 1, #t, 2 do if t[i] == name then return t[i + 1] end end\n"
    "end\n"
    "local function purge(stream, slot)\n"
    "  local from = '-'\n"
    "  local queue = stream:sub(#P + 3)\n"
    "  while true do\n"
    "    local e = redis.call('XRANGE', stream, from, '+', 'COUNT', 1000)\n"
    "    if #e == 0 then return end\n"
    "    for _, it in ipairs(e) do\n"
    "      if field(it[2], 'phone') == phone then\n"
    "        c[slot] = c[slot] + redis.call('XDEL', stream, it[1])\n"
    "        if slot == 2 then\n"
    "          pcall(redis.call, 'XACK', stream, 'alerts', it[1])\n"
    "          redis.call('DEL', P .. 'ad:' .. queue .. ':' .. it[1])\n"
    "        end\n"
    "      end\n"
    "    end\n"
    "    if #e < 1000 then return end\n"
    "    from = '(' .. e[#e][1]\n"
    "  end\n"
    "end\n"
    "scan(P .. 'case:*', 'hash', function(k)\n"
    "  if redis.call('HGET', k, 'phone') == phone then\n"
    "    local tags = redis.call('HGET', k, 'tags') or ''\n"
    "    local ref = redis.call('HGET', k, 'ref') or ''\n"
    "    for t in string.gmatch(tags, '%S+') do\n"
    "      redis.call('HDEL', P .. 'rep:' .. t, ref)\n"
    "    end\n"
    "    local f = redis.call('HMGET', k, 'ref', 'queue')\n"
    "    for _, st in ipairs({'new', 'claimed', 'resolved'}) do\n"
    "      redis.call('ZREM', P .. 'cx:' .. st, f[1] or '')\n"
    "      redis.call('ZREM', P .. 'cx:' .. st .. ':' .. (f[2] or"
    " 'default'), f[1] or '')\n"
    "    end\n"
    "    redis.call('DEL', k)\n"
    "    c[1] = c[1] + 1\n"
    "  end\n"
    "end)\n"
    "scan(P .. 'q:*', 'stream', function(k) purge(k, 2) end)\n"
    "scan(P .. 'dead:*', 'stream', function(k) purge(k, 3) end)\n"
    "local tail = ':' .. pk .. '}'\n"
    "scan(P .. 's:*', 'hash', function(k)\n"
    "  if k:sub(-#tail) == tail or redis.call('HGET', k, 'pk') == pk then\n"
    "    redis.call('DEL', k)\n"
    "    c[4] = c[4] + 1\n"
    "  end\n"
    "end)\n"
    "c[5] = redis.call('DEL', P .. 'rl:s:' .. pk, P .. 'rl:f:' .. pk)\n"
    "c[6] = redis.call('DEL', P .. 'o:' .. pk)\n"
    "c[7] = redis.call('DEL', P .. 'r:' .. pk)\n"
    "return c\n";

int cases_ref_ok(const char *ref)
{
    size_t n = strlen(ref);

    if (n < 4 || n > 12)
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (!isalnum((unsigned char)ref[i]))
            return 0;
    }
    return 1;
}

int cases_note_ok(const char *s, size_t len)
{
    if (!s || len == 0 || len > CASES_NOTE_MAX || !menu_utf8_valid(s, len))
        return 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];

        if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7f)
            return 0;
    }
    return 1;
}

int cases_status_ok(const char *status)
{
    return !status || !*status || strcmp(status, "new") == 0 ||
           strcmp(status, "claimed") == 0 || strcmp(status, "resolved") == 0;
}

int cases_queue_ok(const char *q)
{
    size_t n = q ? strlen(q) : 0;

    if (n == 0 || n >= CASES_QUEUE_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (!isalnum((unsigned char)q[i]) && !strchr("-_.", q[i]))
            return 0;
    }
    return 1;
}

int cases_list_keys(const char *prefix, const char *status,
                    const char *queue, char keys[][128], size_t keysz)
{
    static const char *const all[] = { "new", "claimed", "resolved" };
    int n = 0;

    for (int i = 0; i < 3; i++) {
        const char *st = status && *status ? status : all[i];
        int k = queue && *queue ?
                    snprintf(keys[n], keysz, "%scx:%s:%s", prefix, st, queue) :
                    snprintf(keys[n], keysz, "%scx:%s", prefix, st);

        if (k < 0 || (size_t)k >= keysz)
            return -1;
        n++;
        if (status && *status)
            break;
    }
    return n;
}

int cases_cursor_parse(const char *cursor, char *score, size_t scoresz,
                       char *ref, size_t refsz)
{
    const char *dash = cursor ? strchr(cursor, '-') : NULL;
    size_t ns = dash ? (size_t)(dash - cursor) : 0;

    if (!dash || ns == 0 || ns > 15 || ns >= scoresz ||
        strlen(dash + 1) >= refsz || strlen(dash + 1) >= CASES_REF_MAX ||
        !cases_ref_ok(dash + 1))
        return -1;
    for (size_t i = 0; i < ns; i++) {
        if (!isdigit((unsigned char)cursor[i]))
            return -1;
    }
    memcpy(score, cursor, ns);
    score[ns] = '\0';
    strcpy(ref, dash + 1);
    return 0;
}

/* Value of field name in a flat array, or NULL. */
static const char *get(const char *const *kv, const size_t *kvlen, size_t n,
                       const char *name)
{
    size_t nl = strlen(name);

    for (size_t i = 0; i + 1 < n; i += 2) {
        if (kvlen[i] == nl && memcmp(kv[i], name, nl) == 0)
            return kv[i + 1];
    }
    return NULL;
}

static const char *safe_word(const char *v)
{
    if (v && strcmp(v, "yes") == 0)
        return "yes";
    if (v && strcmp(v, "no") == 0)
        return "no";
    return "unknown";
}

static json_t *str_or_null(const char *v)
{
    return v ? json_string(v) : json_null();
}

/* The help request's own strings are "" when absent, as on the webhook. */
static json_t *str_or_empty(const char *v)
{
    return json_string(v ? v : "");
}

static json_t *int_or_null(const char *v)
{
    return v ? json_integer(strtoll(v, NULL, 10)) : json_null();
}

/* A JSON array stored in a field, or [] when absent or malformed. */
static json_t *array_field(const char *v)
{
    json_t *a = v ? json_loads(v, 0, NULL) : NULL;

    if (!json_is_array(a)) {
        json_decref(a);
        a = json_array();
    }
    return a;
}

void *cases_json_object(const char *const *kv, const size_t *kvlen, size_t n)
{
    json_t *o;
    json_t *fields;
    const char *risk;
    static const char *const strs[] = { "ref", "status", "queue", "lang",
                                        "channel", "service" };

    if (n % 2 || !get(kv, kvlen, n, "ref"))
        return NULL;
    o = json_object();
    fields = json_object();
    if (!o || !fields) {
        json_decref(o);
        json_decref(fields);
        return NULL;
    }
    /* What staff must see before anything else: true only when the caller
     * answered exactly "yes", as on the webhook (docs/schemas/). */
    json_object_set_new(o, "safe_to_call",
                        json_boolean(strcmp(safe_word(get(kv, kvlen, n,
                                                          "f:safe_to_call")),
                                            "yes") == 0));
    for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++)
        json_object_set_new(o, strs[i], str_or_empty(get(kv, kvlen, n,
                                                         strs[i])));
    risk = get(kv, kvlen, n, "risk");
    json_object_set_new(o, "risk", json_string(risk ? risk : "normal"));
    json_object_set_new(o, "created", int_or_null(get(kv, kvlen, n,
                                                      "created")));
    /* A spooled caller promised a reference another case held (rare):
     * present only then. */
    if (get(kv, kvlen, n, "told"))
        json_object_set_new(o, "told", str_or_null(get(kv, kvlen, n, "told")));
    if (get(kv, kvlen, n, "told_also"))
        json_object_set_new(o, "told_also",
                            str_or_null(get(kv, kvlen, n, "told_also")));
    for (size_t i = 0; i + 1 < n; i += 2) {
        if (kvlen[i] > 2 && strncmp(kv[i], "f:", 2) == 0)
            json_object_set_new(fields, kv[i] + 2, json_string(kv[i + 1]));
    }
    json_object_set_new(o, "fields", fields);
    json_object_set_new(o, "phone", str_or_empty(get(kv, kvlen, n, "phone")));
    json_object_set_new(o, "claimed_by",
                        str_or_null(get(kv, kvlen, n, "claimed_by")));
    json_object_set_new(o, "claimed_at",
                        int_or_null(get(kv, kvlen, n, "claimed_at")));
    json_object_set_new(o, "resolved_by",
                        str_or_null(get(kv, kvlen, n, "resolved_by")));
    json_object_set_new(o, "resolved_at",
                        int_or_null(get(kv, kvlen, n, "resolved_at")));
    json_object_set_new(o, "notes", array_field(get(kv, kvlen, n, "notes")));
    json_object_set_new(o, "history",
                        array_field(get(kv, kvlen, n, "history")));
    return o;
}

char *cases_json(const char *const *kv, const size_t *kvlen, size_t n)
{
    json_t *o = cases_json_object(kv, kvlen, n);
    char *s;

    if (!o)
        return NULL;
    s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return s;
}

static void age(long long ms, char *out, size_t outsz)
{
    long long s = ms / 1000;

    if (s < 0)
        s = 0;
    if (s < 3600)
        snprintf(out, outsz, "%lldm", s / 60);
    else if (s < 86400)
        snprintf(out, outsz, "%lldh", s / 3600);
    else
        snprintf(out, outsz, "%lldd", s / 86400);
}

void cases_line(const char *const *kv, const size_t *kvlen, size_t n,
                long long now_ms, char *out, size_t outsz)
{
    const char *created = get(kv, kvlen, n, "created");
    const char *risk = get(kv, kvlen, n, "risk");
    const char *loc = get(kv, kvlen, n, "f:location");
    const char *st = get(kv, kvlen, n, "status");
    const char *q = get(kv, kvlen, n, "queue");
    const char *lang = get(kv, kvlen, n, "lang");
    const char *ref = get(kv, kvlen, n, "ref");
    char a[16];
    int loclen = 0;

    /* At most 60 bytes of the location, cut on a character boundary. */
    if (loc) {
        size_t k = strnlen(loc, 61);

        if (k > 60) {
            k = 60;
            while (k > 0 && ((unsigned char)loc[k] & 0xC0) == 0x80)
                k--;
        }
        loclen = (int)k;
    }
    age(now_ms - (created ? strtoll(created, NULL, 10) : now_ms), a,
        sizeof a);
    snprintf(out, outsz, "%-8s %-9s %-8s %-4s %-5s call:%-8s %-10s %.*s",
             ref ? ref : "?", st ? st : "?", q ? q : "?", lang ? lang : "?",
             a, safe_word(get(kv, kvlen, n, "f:safe_to_call")),
             risk && strcmp(risk, "high") == 0 ? "HIGH-RISK" : "", loclen,
             loc ? loc : "");
}

/* "2026-11-22 21:04 UTC" from a time in ms. */
static void when(const char *ms, char *out, size_t outsz)
{
    time_t t = ms ? (time_t)(strtoll(ms, NULL, 10) / 1000) : 0;
    struct tm tm;

    if (!ms || !gmtime_r(&t, &tm)) {
        snprintf(out, outsz, "?");
        return;
    }
    strftime(out, outsz, "%Y-%m-%d %H:%M UTC", &tm);
}

/* Appends printf output to a growing buffer; on ENOMEM the text stops. */
struct sbuf {
    char *s;
    size_t len, cap;
};

__attribute__((format(printf, 2, 3)))
static void sb(struct sbuf *b, const char *fmt, ...);

static void sb_entries(struct sbuf *b, const char *title, const char *v,
                       const char *key)
{
    json_t *a = array_field(v);
    size_t i;
    json_t *e;

    if (json_array_size(a) == 0) {
        json_decref(a);
        return;
    }
    sb(b, "%s:\n", title);
    json_array_foreach(a, i, e) {
        char at[32];
        char ms[32];

        snprintf(ms, sizeof ms, "%lld",
                 (long long)json_integer_value(json_object_get(e, "at")) +
                     (long long)json_real_value(json_object_get(e, "at")));
        when(ms, at, sizeof at);
        sb(b, "  %s  %s: %s", at,
           json_string_value(json_object_get(e, "who")) ?
               json_string_value(json_object_get(e, "who")) : "?",
           json_string_value(json_object_get(e, key)) ?
               json_string_value(json_object_get(e, key)) : "");
        /* A run of lists by one person is one audit entry with a count. */
        if (json_integer_value(json_object_get(e, "n")) > 1)
            sb(b, " (%lld times)",
               (long long)json_integer_value(json_object_get(e, "n")));
        sb(b, "\n");
    }
    json_decref(a);
}

char *cases_text(const char *const *kv, const size_t *kvlen, size_t n)
{
    struct sbuf b = { malloc(1024), 0, 1024 };
    const char *safe = safe_word(get(kv, kvlen, n, "f:safe_to_call"));
    const char *risk = get(kv, kvlen, n, "risk");
    const char *by;
    char t[32];

    if (!b.s)
        return NULL;
    b.s[0] = '\0';
    if (strcmp(safe, "yes") == 0)
        sb(&b, "Safe to call back: YES (the caller said so)\n");
    else if (strcmp(safe, "no") == 0)
        sb(&b, "Safe to call back: NO - do not call or text this number\n");
    else
        sb(&b, "Safe to call back: UNKNOWN - do not call or text this "
               "number\n");
    if (risk && strcmp(risk, "high") == 0)
        sb(&b, "HIGH RISK: the caller left with the duress exit after "
               "filing\n");
    when(get(kv, kvlen, n, "created"), t, sizeof t);
    sb(&b, "Case %s  status %s  queue %s  language %s\n",
       get(kv, kvlen, n, "ref") ? get(kv, kvlen, n, "ref") : "?",
       get(kv, kvlen, n, "status") ? get(kv, kvlen, n, "status") : "?",
       get(kv, kvlen, n, "queue") ? get(kv, kvlen, n, "queue") : "?",
       get(kv, kvlen, n, "lang") ? get(kv, kvlen, n, "lang") : "?");
    sb(&b, "Filed %s through %s\n", t,
       get(kv, kvlen, n, "channel") ? get(kv, kvlen, n, "channel") : "?");
    if (get(kv, kvlen, n, "told"))
        sb(&b, "The caller was told reference %s (another case holds it)\n",
           get(kv, kvlen, n, "told"));
    if (get(kv, kvlen, n, "told_also"))
        sb(&b, "Reference %s was also told to the caller of case %s: ask "
               "for the answers to tell them apart\n",
           get(kv, kvlen, n, "ref") ? get(kv, kvlen, n, "ref") : "?",
           get(kv, kvlen, n, "told_also"));
    sb(&b, "Phone: %s\n",
       get(kv, kvlen, n, "phone") ? get(kv, kvlen, n, "phone") : "?");
    sb(&b, "Answers:\n");
    for (size_t i = 0; i + 1 < n; i += 2) {
        if (kvlen[i] > 2 && strncmp(kv[i], "f:", 2) == 0)
            sb(&b, "  %s: %s\n", kv[i] + 2, kv[i + 1]);
    }
    by = get(kv, kvlen, n, "claimed_by");
    if (by) {
        when(get(kv, kvlen, n, "claimed_at"), t, sizeof t);
        sb(&b, "Claimed by %s, %s\n", by, t);
    }
    by = get(kv, kvlen, n, "resolved_by");
    if (by) {
        when(get(kv, kvlen, n, "resolved_at"), t, sizeof t);
        sb(&b, "Resolved by %s, %s\n", by, t);
    }
    sb_entries(&b, "Notes", get(kv, kvlen, n, "notes"), "text");
    sb_entries(&b, "History", get(kv, kvlen, n, "history"), "what");
    return b.s;
}

static void sb(struct sbuf *b, const char *fmt, ...)
{
    va_list ap;
    int k;

    for (;;) {
        va_start(ap, fmt);
        k = vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
        if (k < 0)
            return;
        if ((size_t)k < b->cap - b->len) {
            b->len += (size_t)k;
            return;
        }
        char *nb = realloc(b->s, b->cap * 2 + (size_t)k);
        if (!nb)
            return;
        b->s = nb;
        b->cap = b->cap * 2 + (size_t)k;
    }
}

void cases_phone_mask(const char *phone, char *out, size_t outsz)
{
    static const char dot[] = "\xe2\x80\xa2";   /* U+2022, 3 bytes */
    char digits[32];
    size_t nd = 0, cc = 0, len = 0, keep;

    for (const char *p = phone; *p && nd < sizeof digits - 1; p++)
        if (*p >= '0' && *p <= '9')
            digits[nd++] = *p;
    digits[nd] = '\0';
    if (outsz == 0)
        return;
    out[0] = '\0';
    if (nd == 0)
        return;
    if (phone[0] == '+') {
        cc = nd > 10 ? nd - 9 : nd > 4 ? 2 : 0;     /* E.164: 9 national */
        cc = cc > 3 ? 3 : cc;
        len = (size_t)snprintf(out, outsz, "+%.*s ", (int)cc, digits);
    }
    keep = nd - cc > 4 ? 2 : 0;
    for (size_t i = cc, g = 0; i < nd && len + 5 < outsz; i++, g++) {
        int shown = (phone[0] != '+' && i == 0) ||
                    (phone[0] == '+' && i == cc) || i + keep >= nd;

        if (g && g % 3 == 0)
            out[len++] = ' ';
        if (shown) {
            out[len++] = digits[i];
        } else {
            memcpy(out + len, dot, 3);
            len += 3;
        }
    }
    out[len < outsz ? len : outsz - 1] = '\0';
}

void cases_json_mask(void *obj)
{
    json_t *o = obj;
    const char *phone = json_string_value(json_object_get(o, "phone"));
    char m[96];

    cases_phone_mask(phone ? phone : "", m, sizeof m);
    json_object_set_new(o, "phone_masked", json_string(m));
    json_object_set_new(o, "phone", json_string(""));
}
