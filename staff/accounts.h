/*
 * accounts.h — staff accounts for people (not API clients): the rules for
 * names, roles and passwords, password hashing with scrypt (OpenSSL), the
 * random session ids and CSRF tokens of a sign-in, and the Redis keys and
 * Lua scripts every gateway and hotlinectl share. No I/O here: the daemon
 * (session_auth.c) and the CLI (ctl/hotlinectl_staff.c) run the scripts.
 *
 * Keys (PREFIX is redis.prefix, "hl:" by default):
 *   PREFIX staff:NAME        hash  name, role, pw, disabled (0|1), created,
 *                                  changed (ms)
 *   PREFIX staff-names       set   every account name (for `staff list`;
 *                                  not under staff: where a name could be
 *                                  "names")
 *   PREFIX staff:NAME:ssn    set   the session keys of NAME (sign-out
 *                                  everywhere deletes them all)
 *   PREFIX ssn:SHA256(ID)    hash  name, csrf, created; TTL = idle expiry,
 *                                  pushed back on every use. The session id
 *                                  itself is only in the person's cookie.
 *   PREFIX login:n:NAME      int   failed sign-ins for NAME in the window
 *   PREFIX login:a:ADDR      int   failed sign-ins from ADDR in the window
 *
 * The password hash is one string, parameters first so they can be raised
 * later without invalidating old hashes:
 *   scrypt$LN$R$P$SALT$HASH   (N = 2^LN; SALT 16 random bytes and HASH
 *                              32 bytes, both in lower-case hex)
 */
#ifndef HOTLINE_ACCOUNTS_H
#define HOTLINE_ACCOUNTS_H

#include <stddef.h>

#define ACCT_NAME_MAX 32            /* bytes of a name, without the NUL */
#define ACCT_PW_MIN 10              /* characters (bytes) of a password */
#define ACCT_PW_MAX 256
#define ACCT_HASH_MAX 160           /* room for the stored hash string */
#define ACCT_ID_LEN 43              /* base64url of 32 random bytes */
#define ACCT_KEYHASH_LEN 64         /* hex SHA-256 of a session id */

/* Default scrypt cost: N = 2^15, r = 8, p = 1 (32 MiB, tens of ms). */
#define ACCT_SCRYPT_LN 15
#define ACCT_SCRYPT_R 8
#define ACCT_SCRYPT_P 1

/* 1 when name is an account name: 1..ACCT_NAME_MAX of [a-z0-9._-], starting
 * with a letter or digit. Names go into keys and logs, so nothing else. */
int acct_name_ok(const char *name);
/* 1 when role is staff, supervisor or operator. */
int acct_role_ok(const char *role);
/* 0 when pw (len bytes) may be a password for name: ACCT_PW_MIN..PW_MAX
 * bytes, no NUL or control character, not the name itself. Otherwise -1
 * with *why (static text) saying what is wrong. */
int acct_password_ok(const char *pw, size_t len, const char *name,
                     const char **why);

/* Hashes pw with scrypt at cost (ln, r, p) and a fresh random salt into
 * out (at least ACCT_HASH_MAX bytes) as the string described above.
 * Returns 0, or -1 (bad parameters, no randomness, OpenSSL failure). */
int acct_hash(const char *pw, size_t len, int ln, int r, int p, char *out,
              size_t outlen);
/* Checks pw against a stored hash string. Returns 1 when it matches, 0 when
 * it does not, -1 when stored is malformed or its cost is out of bounds
 * (LN 10..20, R 1..32, P 1..16: a tampered record cannot make a sign-in
 * use gigabytes). The comparison is constant-time. */
int acct_verify(const char *pw, size_t len, const char *stored);
/* Burns the time of one verification at the default cost, so a sign-in
 * for a name without an account takes as long as a wrong password. */
void acct_verify_dummy(const char *pw, size_t len);

/* A fresh random token of 32 bytes as ACCT_ID_LEN base64url characters
 * (+NUL) in out: a session id or a CSRF token. Returns 0 or -1. */
int acct_random_token(char out[ACCT_ID_LEN + 1]);
/* The hex SHA-256 of a session id (what Redis stores) into out. */
void acct_id_hash(const char *id, char out[ACCT_KEYHASH_LEN + 1]);
/* 1 when id has the shape of a session id (ACCT_ID_LEN base64url). */
int acct_id_ok(const char *id);
/* Finds cookie `name` in a Cookie header value and copies its value into
 * out. Returns 0, or -1 when absent, empty or longer than outlen - 1. */
int acct_cookie_get(const char *header, const char *name, char *out,
                    size_t outlen);

/* Lua scripts (run with EVAL by session_auth.c and hotlinectl). */
extern const char acct_script_login_check[];
extern const char acct_script_login_fail[];
extern const char acct_script_login_ok[];
extern const char acct_script_session_use[];
extern const char acct_script_signout[];
extern const char acct_script_signout_all[];
extern const char acct_script_change[];

#endif
