/*
 * menu_phone.c — a phone number as people type it, stored as E.164.
 *
 * Callers type numbers the way they were written down for them: with
 * spaces, dashes, dots or parentheses ("+84 90-123 4567", "(090) 123.4567"),
 * with the international prefix 00 instead of +, with the trunk "(0)" kept
 * after the country code ("+84 (0)90 ..."), or in the national form with a
 * leading 0. An input node that accepts "phone" stores one form: +CC and
 * the subscriber digits, at most 15 digits (E.164). A national number
 * becomes E.164 only when the menu (or the node) says which country it is
 * in (`country = "84";`); without it the digits are kept as typed, since
 * guessing a country could send a call back to a stranger.
 *
 * Pure: no allocation, no I/O.
 */
#include <string.h>

#include "menu.h"

#define E164_DIGITS_MAX 15

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Separators people put between digit groups. */
static int is_sep(char c)
{
    return c == ' ' || c == '-' || c == '.' || c == '(' || c == ')' ||
           c == '/' || c == '\t';
}

/*
 * Collects in[0..n) into digits (NUL-terminated, at most cap-1 digits):
 * *plus = 1 when the number starts with '+'. A "(0)" right after the
 * country code of a '+' or 00 number is the trunk prefix and is dropped
 * (callers copy it from business cards). Returns the digit count, or -1 for
 * a character that has no place in a number.
 */
static int collect(const char *in, size_t n, int *plus, char *digits,
                   size_t cap)
{
    size_t k = 0;

    *plus = 0;
    for (size_t i = 0; i < n; i++) {
        char ch = in[i];

        if (ch == '+') {
            if (k > 0 || *plus)
                return -1;
            *plus = 1;
        } else if (ch == '(' && i + 2 < n && in[i + 1] == '0' &&
                   in[i + 2] == ')' && k > 0) {
            i += 2;                         /* the trunk "(0)" */
        } else if (is_digit(ch)) {
            if (k + 1 >= cap)
                return -1;
            digits[k++] = ch;
        } else if (!is_sep(ch)) {
            return -1;
        }
    }
    digits[k] = '\0';
    return (int)k;
}

/* Writes "+", the country code cc and the digits rest into out. Refuses
 * what E.164 cannot be: no digits, more than 15, or a leading 0. */
static int emit_e164(const char *cc, const char *rest, char *out,
                     size_t outsz)
{
    size_t a = strlen(cc), b = strlen(rest);
    char first = a ? cc[0] : rest[0];

    if (a + b == 0 || a + b > E164_DIGITS_MAX || first == '0')
        return MENU_EINVAL;
    if (a + b + 2 > outsz)
        return MENU_ENOSPC;
    out[0] = '+';
    memcpy(out + 1, cc, a);
    memcpy(out + 1 + a, rest, b);
    out[1 + a + b] = '\0';
    return (int)(a + b + 1);
}

int menu_phone_normalize(const char *in, size_t n, const char *country,
                         char *out, size_t outsz)
{
    char d[64];
    int plus, k;

    if (!in || !out || outsz == 0)
        return MENU_EINVAL;
    out[0] = '\0';
    k = collect(in, n, &plus, d, sizeof d);
    if (k <= 0)
        return MENU_EINVAL;
    if (plus)
        return emit_e164("", d, out, outsz);
    if (k > 2 && d[0] == '0' && d[1] == '0')
        return emit_e164("", d + 2, out, outsz);
    if (d[0] == '0' && country && country[0] && k > 1)
        return emit_e164(country, d + 1, out, outsz);
    if ((size_t)k + 1 > outsz)
        return MENU_ENOSPC;
    memcpy(out, d, (size_t)k + 1);
    return k;
}
