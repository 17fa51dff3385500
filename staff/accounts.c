/*
 * accounts.c — staff accounts (see accounts.h): name, role and password
 * rules, scrypt hashing and verification with OpenSSL's EVP_PBE_scrypt,
 * random tokens for sessions and CSRF, cookie parsing, and the Lua scripts
 * that keep accounts, sessions and sign-in counters in Redis. Pure apart
 * from OpenSSL's random generator: the callers do the I/O.
 */
#include "accounts.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SALT_LEN 16
#define DK_LEN 32
#define MAXMEM ((uint64_t)1 << 30)  /* OpenSSL's cap; the cost bounds it */

int acct_name_ok(const char *name)
{
    size_t n = name ? strlen(name) : 0;

    if (n == 0 || n > ACCT_NAME_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        int alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');

        if (!alnum && (i == 0 || (c != '.' && c != '_' && c != '-')))
            return 0;
    }
    return 1;
}

int acct_role_ok(const char *role)
{
    return role && (strcmp(role, "staff") == 0 ||
                    strcmp(role, "supervisor") == 0 ||
                    strcmp(role, "operator") == 0);
}

int acct_password_ok(const char *pw, size_t len, const char *name,
                     const char **why)
{
    if (len < ACCT_PW_MIN) {
        *why = "a password needs 10 characters or more";
        return -1;
    }
    if (len > ACCT_PW_MAX) {
        *why = "a password has at most 256 bytes";
        return -1;
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)pw[i];

        if (c < 0x20 || c == 0x7f) {
            *why = "a password cannot hold control characters";
            return -1;
        }
    }
    if (name && strlen(name) == len && memcmp(pw, name, len) == 0) {
        *why = "the password cannot be the name";
        return -1;
    }
    return 0;
}

static void hex(const unsigned char *b, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";

    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[b[i] >> 4];
        out[2 * i + 1] = digits[b[i] & 15];
    }
    out[2 * n] = '\0';
}

static int unhex(const char *s, size_t slen, unsigned char *out, size_t n)
{
    if (slen != 2 * n)
        return -1;
    for (size_t i = 0; i < 2 * n; i++) {
        char c = s[i];
        int v;

        if (c >= '0' && c <= '9')
            v = c - '0';
        else if (c >= 'a' && c <= 'f')
            v = c - 'a' + 10;
        else
            return -1;
        if (i % 2 == 0)
            out[i / 2] = (unsigned char)(v << 4);
        else
            out[i / 2] |= (unsigned char)v;
    }
    return 0;
}

static int cost_ok(int ln, int r, int p)
{
    return ln >= 10 && ln <= 20 && r >= 1 && r <= 32 && p >= 1 && p <= 16;
}

static int derive(const char *pw, size_t len, const unsigned char *salt,
                  int ln, int r, int p, unsigned char dk[DK_LEN])
{
    return EVP_PBE_scrypt(pw, len, salt, SALT_LEN, (uint64_t)1 << ln,
                          (uint64_t)r, (uint64_t)p, MAXMEM, dk,
                          DK_LEN) == 1 ? 0 : -1;
}

int acct_hash(const char *pw, size_t len, int ln, int r, int p, char *out,
              size_t outlen)
{
    unsigned char salt[SALT_LEN], dk[DK_LEN];
    char hs[2 * SALT_LEN + 1], hd[2 * DK_LEN + 1];
    int n;

    if (!cost_ok(ln, r, p) || RAND_bytes(salt, SALT_LEN) != 1 ||
        derive(pw, len, salt, ln, r, p, dk) != 0)
        return -1;
    hex(salt, SALT_LEN, hs);
    hex(dk, DK_LEN, hd);
    OPENSSL_cleanse(dk, sizeof dk);
    n = snprintf(out, outlen, "scrypt$%d$%d$%d$%s$%s", ln, r, p, hs, hd);
    return n > 0 && (size_t)n < outlen ? 0 : -1;
}

/* Reads "scrypt$LN$R$P$SALT$HASH". Returns 0 or -1. */
static int parse_stored(const char *s, int *ln, int *r, int *p,
                        unsigned char salt[SALT_LEN],
                        unsigned char dk[DK_LEN])
{
    const char *salt_s, *dk_s;
    int used = 0;

    if (!s || strncmp(s, "scrypt$", 7) != 0 ||
        sscanf(s + 7, "%2d$%2d$%2d$%n", ln, r, p, &used) != 3 || used == 0)
        return -1;
    salt_s = s + 7 + used;
    dk_s = strchr(salt_s, '$');
    if (!dk_s || unhex(salt_s, (size_t)(dk_s - salt_s), salt, SALT_LEN) ||
        unhex(dk_s + 1, strlen(dk_s + 1), dk, DK_LEN))
        return -1;
    return cost_ok(*ln, *r, *p) ? 0 : -1;
}

int acct_verify(const char *pw, size_t len, const char *stored)
{
    unsigned char salt[SALT_LEN], want[DK_LEN], got[DK_LEN];
    int ln, r, p, ok;

    if (parse_stored(stored, &ln, &r, &p, salt, want) != 0 ||
        derive(pw, len, salt, ln, r, p, got) != 0)
        return -1;
    ok = CRYPTO_memcmp(want, got, DK_LEN) == 0;
    OPENSSL_cleanse(got, sizeof got);
    return ok;
}

void acct_verify_dummy(const char *pw, size_t len)
{
    static const unsigned char salt[SALT_LEN] = { 0 };
    unsigned char dk[DK_LEN];

    (void)derive(pw, len, salt, ACCT_SCRYPT_LN, ACCT_SCRYPT_R, ACCT_SCRYPT_P,
                 dk);
}

int acct_random_token(char out[ACCT_ID_LEN + 1])
{
    unsigned char raw[32];
    unsigned char b64[48];

    if (RAND_bytes(raw, sizeof raw) != 1)
        return -1;
    EVP_EncodeBlock(b64, raw, sizeof raw);     /* 44 chars, one '=' */
    for (size_t i = 0; i < ACCT_ID_LEN; i++)
        out[i] = b64[i] == '+' ? '-' : b64[i] == '/' ? '_' : (char)b64[i];
    out[ACCT_ID_LEN] = '\0';
    OPENSSL_cleanse(raw, sizeof raw);
    return 0;
}

void acct_id_hash(const char *id, char out[ACCT_KEYHASH_LEN + 1])
{
    unsigned char md[32];
    unsigned int n = 0;

    EVP_Digest(id, strlen(id), md, &n, EVP_sha256(), NULL);
    hex(md, sizeof md, out);
}

int acct_id_ok(const char *id)
{
    if (!id || strlen(id) != ACCT_ID_LEN)
        return 0;
    for (size_t i = 0; i < ACCT_ID_LEN; i++) {
        char c = id[i];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '-' || c == '_'))
            return 0;
    }
    return 1;
}

int acct_cookie_get(const char *header, const char *name, char *out,
                    size_t outlen)
{
    size_t nl = strlen(name);
    const char *p = header;

    while (p && *p) {
        const char *end;
        size_t vl;

        while (*p == ' ' || *p == ';')
            p++;
        end = strchr(p, ';');
        if (!end)
            end = p + strlen(p);
        if ((size_t)(end - p) > nl && strncmp(p, name, nl) == 0 &&
            p[nl] == '=') {
            vl = (size_t)(end - p) - nl - 1;
            if (vl == 0 || vl + 1 > outlen)
                return -1;
            memcpy(out, p + nl + 1, vl);
            out[vl] = '\0';
            return 0;
        }
        p = end;
    }
    return -1;
}

/* ---- Lua scripts ------------------------------------------------------ */

/* KEYS: staff:NAME, login:n:NAME, login:a:ADDR; ARGV: max per name, max
 * per address (0 = no limit). -> {limited 0|1, retry-after s, pw, role,
 * disabled}. Over a limit, nothing of the account is read. */
const char acct_script_login_check[] =
    "local function over(k, max)\n"
    "  local n = tonumber(redis.call('GET', k) or '0') or 0\n"
    "  if max > 0 and n >= max then\n"
    "    local t = redis.call('TTL', k)\n"
    "    if t < 1 then t = 1 end\n"
    "    return t\n"
    "  end\n"
    "  return 0\n"
    "end\n"
    "local r = math.max(over(KEYS[2], tonumber(ARGV[1])),\n"
    "                   over(KEYS[3], tonumber(ARGV[2])))\n"
    "if r > 0 then return {1, r, '', '', '1'} end\n"
    "local a = redis.call('HMGET', KEYS[1], 'pw', 'role', 'disabled')\n"
    "return {0, 0, a[1] or '', a[2] or '', a[3] or '0'}\n";

/* KEYS: login:n:NAME, login:a:ADDR; ARGV: window s. Counts one failure on
 * both; the window starts at the first failure. */
const char acct_script_login_fail[] =
    "for i = 1, 2 do\n"
    "  if redis.call('INCR', KEYS[i]) == 1 or\n"
    "     redis.call('TTL', KEYS[i]) < 0 then\n"
    "    redis.call('EXPIRE', KEYS[i], ARGV[1])\n"
    "  end\n"
    "end\n"
    "return 1\n";

/* KEYS: ssn:H, staff:NAME:ssn, login:n:NAME, staff:NAME; ARGV: name, csrf,
 * now ms, idle s. Creates the session unless the account went away or was
 * disabled meanwhile (-> 0); forgets the name's failures; prunes the
 * account's set of sessions that expired. */
const char acct_script_login_ok[] =
    "local d = redis.call('HMGET', KEYS[4], 'role', 'disabled')\n"
    "if not d[1] or d[2] == '1' then return 0 end\n"
    "for _, k in ipairs(redis.call('SMEMBERS', KEYS[2])) do\n"
    "  if redis.call('EXISTS', k) == 0 then redis.call('SREM', KEYS[2], k) end\n"
    "end\n"
    "redis.call('HSET', KEYS[1], 'name', ARGV[1], 'csrf', ARGV[2],\n"
    "           'created', ARGV[3])\n"
    "redis.call('EXPIRE', KEYS[1], ARGV[4])\n"
    "redis.call('SADD', KEYS[2], KEYS[1])\n"
    "redis.call('DEL', KEYS[3])\n"
    "return 1\n";

/* KEYS: ssn:H; ARGV: idle s, prefix. -> {1, name, csrf, role} and the idle
 * expiry pushed back, or {0} (no such session, or its account is gone or
 * disabled: then the session is deleted). */
const char acct_script_session_use[] =
    "local s = redis.call('HMGET', KEYS[1], 'name', 'csrf')\n"
    "if not s[1] or not s[2] then return {0} end\n"
    "local a = redis.call('HMGET', ARGV[2] .. 'staff:' .. s[1], 'role',\n"
    "                     'disabled')\n"
    "if not a[1] or a[2] == '1' then\n"
    "  redis.call('DEL', KEYS[1])\n"
    "  return {0}\n"
    "end\n"
    "redis.call('EXPIRE', KEYS[1], ARGV[1])\n"
    "return {1, s[1], s[2], a[1]}\n";

/* KEYS: ssn:H; ARGV: prefix. Ends one session. -> 1, or 0 if none. */
const char acct_script_signout[] =
    "local n = redis.call('HGET', KEYS[1], 'name')\n"
    "if not n then return 0 end\n"
    "redis.call('DEL', KEYS[1])\n"
    "redis.call('SREM', ARGV[1] .. 'staff:' .. n .. ':ssn', KEYS[1])\n"
    "return 1\n";

/* KEYS: staff:NAME:ssn. Ends every session of NAME. -> how many. */
const char acct_script_signout_all[] =
    "local n = 0\n"
    "for _, k in ipairs(redis.call('SMEMBERS', KEYS[1])) do\n"
    "  n = n + redis.call('DEL', k)\n"
    "end\n"
    "redis.call('DEL', KEYS[1])\n"
    "return n\n";

/* KEYS: staff:NAME, staff-names, staff:NAME:ssn; ARGV: add|passwd|disable|
 * enable, name, role, pw hash, now ms. add -> 1, or -1 when NAME exists;
 * the others -> 1, or 0 when there is no such account. A new password or
 * disabling ends every session of the account. */
const char acct_script_change[] =
    "local exists = redis.call('EXISTS', KEYS[1]) == 1\n"
    "local m = ARGV[1]\n"
    "if m == 'add' then\n"
    "  if exists then return -1 end\n"
    "  redis.call('HSET', KEYS[1], 'name', ARGV[2], 'role', ARGV[3],\n"
    "             'pw', ARGV[4], 'disabled', '0', 'created', ARGV[5],\n"
    "             'changed', ARGV[5])\n"
    "  redis.call('SADD', KEYS[2], ARGV[2])\n"
    "  return 1\n"
    "end\n"
    "if not exists then return 0 end\n"
    "if m == 'passwd' then\n"
    "  redis.call('HSET', KEYS[1], 'pw', ARGV[4], 'changed', ARGV[5])\n"
    "elseif m == 'disable' then\n"
    "  redis.call('HSET', KEYS[1], 'disabled', '1', 'changed', ARGV[5])\n"
    "elseif m == 'enable' then\n"
    "  redis.call('HSET', KEYS[1], 'disabled', '0', 'changed', ARGV[5])\n"
    "  return 1\n"
    "else\n"
    "  return redis.error_reply('unknown change')\n"
    "end\n"
    "for _, k in ipairs(redis.call('SMEMBERS', KEYS[3])) do\n"
    "  redis.call('DEL', k)\n"
    "end\n"
    "redis.call('DEL', KEYS[3])\n"
    "return 1\n";
