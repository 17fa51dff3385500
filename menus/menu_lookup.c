/*
 * menu_lookup.c — what a caller typed at a `lookup` node, as the keys a
 * list is searched by (docs/menus.md "Lookups" writes the rules down).
 *
 * The same functions normalise a list's key column when an operator
 * imports it (hotlinectl lists import) and the caller's input when the
 * walk reaches a lookup node, so the two always agree. A key is exact:
 * only an exact key may answer "found". The near keys (one edit apart, or
 * the same licence number written another way) are looked up directly too
 * — never by scanning — and can only ever produce "did you mean".
 *
 * Pure: no I/O, no allocation.
 */
#include <string.h>

#include "menu_int.h"

/* Legal forms dropped from company names, as word sequences (a word
 * alone, like "cong" or "thanh", is part of many real names and stays):
 * Vietnamese, English and Indonesian forms of company, limited, joint
 * stock, one-member. Longest first where one starts another. */
static const char *const legal_forms[] = {
    "cong ty co phan", "cong ty tnhh", "cong ty", "trach nhiem huu han",
    "mot thanh vien", "co phan", "joint stock company", "joint stock",
    "company limited", "co ltd", "tnhh", "mtv", "jsc", "cp", "ltd", "llc",
    "inc", "corp", "corporation", "company", "pt", "tbk", "cv"
};

/* Hosts whose first path part names the account (a chat or social page):
 * their key keeps it, so two recruiters on facebook.com differ. */
static const char *const social_hosts[] = {
    "t.me", "telegram.me", "facebook.com", "m.facebook.com", "fb.com",
    "zalo.me", "instagram.com", "tiktok.com", "line.me", "wa.me",
    "linkedin.com", "x.com", "twitter.com"
};

static int is_digit(char c) { return c >= '0' && c <= '9'; }
static int is_lower(char c) { return c >= 'a' && c <= 'z'; }

static char lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* 1 when s[0..n) has a control character (C0, DEL). */
static int has_control(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7F)
            return 1;
    return 0;
}

/* Words of a folded name: offsets and lengths into the text. */
#define WORDS_MAX 64
struct words {
    const char *t;
    size_t n;
    size_t off[WORDS_MAX], len[WORDS_MAX];
};

/* Words (of legal form f) matched at word i of w: 0 when f is not there. */
static size_t form_at(const struct words *w, size_t i, const char *f)
{
    size_t k = 0;

    while (*f) {
        size_t fl = strcspn(f, " ");

        if (i + k >= w->n || w->len[i + k] != fl ||
            memcmp(w->t + w->off[i + k], f, fl) != 0)
            return 0;
        k++;
        f += fl;
        f += *f == ' ';
    }
    return k;
}

/* How many words a legal form covers at word i (0 = none). */
static size_t legal_at(const struct words *w, size_t i)
{
    for (size_t j = 0; j < sizeof legal_forms / sizeof legal_forms[0]; j++) {
        size_t k = form_at(w, i, legal_forms[j]);

        if (k)
            return k;
    }
    return 0;
}

/* Appends s[0..n) to out (cap bytes, NUL kept); -1 when it does not fit. */
static int put(char *out, size_t cap, size_t *len, const char *s, size_t n)
{
    if (*len + n + 1 > cap)
        return -1;
    memcpy(out + *len, s, n);
    *len += n;
    out[*len] = '\0';
    return 0;
}

/* ---- kinds -------------------------------------------------------------- */

/* A handle: "@" then letters, digits, '.', '_' (case folded). */
static int key_handle(const char *s, size_t n, char *out, size_t cap)
{
    size_t len = 0;

    if (n < 2 || s[0] != '@')
        return MENU_EINVAL;
    if (put(out, cap, &len, "at:", 3) < 0)
        return MENU_ENOSPC;
    for (size_t i = 1; i < n; i++) {
        char c = lower(s[i]);

        if (!is_lower(c) && !is_digit(c) && c != '_' && c != '.')
            return MENU_EINVAL;
        if (put(out, cap, &len, &c, 1) < 0)
            return MENU_ENOSPC;
    }
    return (int)len;
}

/* 1 when s[0..n) looks like a web address: a scheme, "www.", or a host
 * (no spaces) whose last dotted label is 2 to 6 letters. */
static int looks_web(const char *s, size_t n)
{
    size_t end = 0, dot = 0;

    if ((n > 3 && memchr(s, ':', n) && strstr(s, "://")) ||
        (n > 4 && lower(s[0]) == 'w' && lower(s[1]) == 'w' &&
         lower(s[2]) == 'w' && s[3] == '.'))
        return 1;
    while (end < n && s[end] != '/' && s[end] != '?' && s[end] != '#')
        end++;
    for (size_t i = 0; i < end; i++) {
        char c = lower(s[i]);

        if (c == '.')
            dot = i + 1;
        else if (!is_lower(c) && !is_digit(c) && c != '-')
            return 0;
    }
    if (dot == 0 || end - dot < 2 || end - dot > 6)
        return 0;
    for (size_t i = dot; i < end; i++)
        if (!is_lower(lower(s[i])))
            return 0;
    return 1;
}

static int is_social(const char *host, size_t n)
{
    for (size_t i = 0; i < sizeof social_hosts / sizeof social_hosts[0]; i++)
        if (strlen(social_hosts[i]) == n && memcmp(social_hosts[i], host, n) == 0)
            return 1;
    return 0;
}

/* A web address to "web:HOST" (or "web:HOST/ACCOUNT" on a social host). */
static int key_web(const char *s, size_t n, char *out, size_t cap)
{
    const char *p = s, *e = s + n, *h, *at;
    size_t len = 0, hn;

    for (const char *q = s; q + 3 <= e; q++)
        if (memcmp(q, "://", 3) == 0) {
            p = q + 3;
            break;
        }
    h = p;
    while (h < e && *h != '/' && *h != '?' && *h != '#')
        h++;
    at = memchr(p, '@', (size_t)(h - p));
    if (at)
        p = at + 1;                       /* user:password@ dropped */
    for (const char *q = p; q < h; q++)
        if (*q == ':') {
            h = q;                        /* :port dropped */
            break;
        }
    if (h - p > 4 && lower(p[0]) == 'w' && lower(p[1]) == 'w' &&
        lower(p[2]) == 'w' && p[3] == '.')
        p += 4;
    while (h > p && h[-1] == '.')
        h--;
    if (h <= p || put(out, cap, &len, "web:", 4) < 0)
        return MENU_EINVAL;
    for (const char *q = p; q < h; q++) {
        char c = lower(*q);

        if (!is_lower(c) && !is_digit(c) && c != '-' && c != '.')
            return MENU_EINVAL;
        if (put(out, cap, &len, &c, 1) < 0)
            return MENU_ENOSPC;
    }
    hn = len - 4;
    if (is_social(out + 4, hn)) {
        const char *a = h;

        while (a < e && *a != '/' && *a != '?' && *a != '#' && *a != ':')
            a++;                          /* skip a port */
        if (a < e && *a == '/') {
            const char *b = ++a;

            while (b < e && *b != '/' && *b != '?' && *b != '#')
                b++;
            if (b > a && put(out, cap, &len, "/", 1) == 0)
                for (const char *q = a; q < b; q++) {
                    char c = lower(*q);

                    if (c == '@' && q == a)
                        continue;
                    if (!is_lower(c) && !is_digit(c) && c != '.' &&
                        c != '_' && c != '-')
                        return MENU_EINVAL;
                    if (put(out, cap, &len, &c, 1) < 0)
                        return MENU_ENOSPC;
                }
        }
    }
    return (int)len;
}

/* A phone number: only digits, '+', spaces, ( ) - . and 7+ digits. */
static int key_phone(const char *s, size_t n, const char *country, char *out,
                     size_t cap)
{
    size_t digits = 0;
    char e164[MENU_LOOKUP_KEY_MAX];
    size_t len = 0;
    int rc;

    for (size_t i = 0; i < n; i++) {
        if (is_digit(s[i]))
            digits++;
        else if (!strchr("+ ()-.", s[i]))
            return MENU_EINVAL;
    }
    if (digits < 7)
        return MENU_EINVAL;
    rc = menu_phone_normalize(s, n, country, e164, sizeof e164);
    if (rc < 0)
        return MENU_EINVAL;
    if (e164[0] != '+')
        return MENU_EINVAL;               /* a national number, no country */
    if (put(out, cap, &len, "tel:", 4) < 0 ||
        put(out, cap, &len, e164, (size_t)rc) < 0)
        return MENU_ENOSPC;
    return (int)len;
}

/* A name or licence: folded, lower case, words of letters and digits,
 * legal forms dropped, the rest joined. */
static int key_name(const char *s, size_t n, char *out, size_t cap)
{
    char raw[MENU_INPUT_MAX + 1];
    char folded[MENU_INPUT_MAX * 2 + 1];
    struct words w;
    size_t len = 0, i = 0, fl;

    if (n > MENU_INPUT_MAX)
        return MENU_EINVAL;
    memcpy(raw, s, n);
    raw[n] = '\0';
    if (menu_fold(raw, folded, sizeof folded) < 0)
        return MENU_EINVAL;
    fl = strlen(folded);
    w.t = folded;
    w.n = 0;
    while (i < fl) {
        size_t b;

        while (i < fl && !is_lower(lower(folded[i])) && !is_digit(folded[i]))
            i++;
        b = i;
        while (i < fl && (is_lower(lower(folded[i])) || is_digit(folded[i]))) {
            folded[i] = lower(folded[i]);
            i++;
        }
        if (i > b) {
            if (w.n == WORDS_MAX)
                return MENU_EINVAL;
            w.off[w.n] = b;
            w.len[w.n++] = i - b;
        }
    }
    if (put(out, cap, &len, "id:", 3) < 0)
        return MENU_ENOSPC;
    for (i = 0; i < w.n;) {
        size_t k = legal_at(&w, i);

        if (k) {
            i += k;
            continue;
        }
        if (put(out, cap, &len, folded + w.off[i], w.len[i]) < 0)
            return MENU_ENOSPC;
        i++;
    }
    return len > 3 ? (int)len : MENU_EINVAL;
}

/* ---- the public rules ---------------------------------------------------- */

size_t menu_lookup_near(struct menu_lookup *out)
{
    const char *k = out->key + 3;
    size_t n = strlen(k), digits = 0;
    char d[MENU_LOOKUP_KEY_MAX];

    out->nnear = 0;
    if (out->kind != MENU_LK_NAME || strncmp(out->key, "id:", 3) != 0)
        return 0;
    if (n + 2 <= MENU_LOOKUP_KEY_MAX - 1) {
        d[0] = '~';
        memcpy(d + 1, k, n + 1);
        memcpy(out->near[out->nnear++], d, n + 2);
    }
    if (n >= 6 && n <= MENU_LOOKUP_NEAR_LEN) {
        for (size_t i = 0; i < n && out->nnear + 1 < MENU_LOOKUP_NEAR_MAX;
             i++) {
            if (i > 0 && k[i] == k[i - 1])
                continue;                 /* the same form as deleting i-1 */
            d[0] = '~';
            memcpy(d + 1, k, i);
            memcpy(d + 1 + i, k + i + 1, n - i);
            memcpy(out->near[out->nnear++], d, n + 1);
        }
    }
    for (size_t i = 0; i < n && digits + 3 < sizeof d; i++)
        if (is_digit(k[i]))
            d[2 + digits++] = k[i];
    if (digits >= 3 && digits < n && out->nnear < MENU_LOOKUP_NEAR_MAX) {
        d[0] = '~';
        d[1] = '#';
        d[2 + digits] = '\0';
        memcpy(out->near[out->nnear++], d, digits + 3);
    }
    return out->nnear;
}

int menu_lookup_keys(const char *in, size_t n, const char *country,
                     struct menu_lookup *out)
{
    int rc;

    if (!in || !out)
        return MENU_EINVAL;
    memset(out, 0, sizeof *out);
    while (n > 0 && (in[0] == ' ' || in[0] == '\t'))
        in++, n--;
    while (n > 0 && (in[n - 1] == ' ' || in[n - 1] == '\t'))
        n--;
    if (n == 0 || n > MENU_INPUT_MAX || !menu_utf8_valid(in, n) ||
        has_control(in, n) || memchr(in, '\0', n))
        return MENU_EINVAL;
    if (in[0] == '@') {
        out->kind = MENU_LK_HANDLE;
        rc = key_handle(in, n, out->key, sizeof out->key);
    } else if (!memchr(in, ' ', n) && looks_web(in, n)) {
        out->kind = MENU_LK_WEB;
        rc = key_web(in, n, out->key, sizeof out->key);
    } else {
        out->kind = MENU_LK_PHONE;
        rc = key_phone(in, n, country, out->key, sizeof out->key);
        if (rc == MENU_EINVAL) {
            out->kind = MENU_LK_NAME;
            rc = key_name(in, n, out->key, sizeof out->key);
        }
    }
    if (rc < 0) {
        memset(out, 0, sizeof *out);
        return rc == MENU_ENOSPC ? MENU_EINVAL : rc;
    }
    menu_lookup_near(out);
    return rc;
}

const char *menu_outcome_name(enum menu_outcome o)
{
    static const char *const names[MENU_OUT_COUNT] = {
        "found", "reported", "unknown", "near", "error"
    };

    return o >= 0 && o < MENU_OUT_COUNT ? names[o] : "?";
}
