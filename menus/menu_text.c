/*
 * menu_text.c — how long a text is on the air, and how to make it shorter.
 *
 * An SMS or USSD screen is sized in GSM 03.38 septets when every character
 * of it is in the GSM-7 alphabet, and in UTF-16 code units (UCS-2) as soon
 * as one character is not. Vietnamese with its diacritics almost never fits
 * GSM-7, which more than halves what one screen holds; local practice is to
 * write it unaccented. So this file measures UTF-8 text the way a network
 * counts it (menu_measure, menu_sms_segments), checks UTF-8 strictly
 * (menu_utf8_valid), and folds accented Latin letters to plain ASCII
 * (menu_fold) so a channel can choose the cheaper encoding.
 *
 * Pure: no I/O, no allocation, no state. Every function takes NUL-terminated
 * or length-bounded input and never reads past it.
 */
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "menu.h"

/* ---- UTF-8 -------------------------------------------------------------- */

/*
 * Decodes one code point from s[0..len). Strict (Unicode Table 3-7): no
 * overlong forms, no surrogates U+D800-U+DFFF, nothing above U+10FFFF, no
 * sequence cut short by len. Returns the bytes consumed (1-4) with *cp set,
 * or 0 when s does not start with a well-formed sequence (or len is 0).
 */
static size_t utf8_decode(const unsigned char *s, size_t len, uint32_t *cp)
{
    unsigned char lo = 0x80, hi = 0xBF;   /* range of the 2nd byte */
    size_t n, i;
    uint32_t v;

    if (len == 0)
        return 0;
    if (s[0] < 0x80) {
        *cp = s[0];
        return 1;
    }
    if (s[0] < 0xC2) {                    /* continuation, or overlong C0/C1 */
        return 0;
    } else if (s[0] < 0xE0) {
        n = 2;
        v = s[0] & 0x1Fu;
    } else if (s[0] < 0xF0) {
        n = 3;
        v = s[0] & 0x0Fu;
        if (s[0] == 0xE0)
            lo = 0xA0;                    /* overlong below U+0800 */
        else if (s[0] == 0xED)
            hi = 0x9F;                    /* surrogates */
    } else if (s[0] < 0xF5) {
        n = 4;
        v = s[0] & 0x07u;
        if (s[0] == 0xF0)
            lo = 0x90;                    /* overlong below U+10000 */
        else if (s[0] == 0xF4)
            hi = 0x8F;                    /* above U+10FFFF */
    } else {
        return 0;
    }
    if (len < n)
        return 0;
    for (i = 1; i < n; i++) {
        if (s[i] < lo || s[i] > hi)
            return 0;
        lo = 0x80;
        hi = 0xBF;
        v = (v << 6) | (s[i] & 0x3Fu);
    }
    *cp = v;
    return n;
}

int menu_utf8_valid(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0, n;
    uint32_t cp;

    if (!s)
        return len == 0;
    while (i < len) {
        n = utf8_decode(p + i, len - i, &cp);
        if (n == 0)
            return 0;
        i += n;
    }
    return 1;
}

/* Counts as menu_measure does: an ill-formed byte is one (replacement)
 * character, so the count is defined for any input. */
size_t menu_utf8_chars(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t len, i = 0, n, chars = 0;
    uint32_t cp;

    if (!s)
        return 0;
    len = strlen(s);
    while (i < len) {
        n = utf8_decode(p + i, len - i, &cp);
        i += n ? n : 1;
        chars++;
    }
    return chars;
}

/* ---- GSM 03.38 ---------------------------------------------------------- */

/* The non-ASCII characters of the GSM 03.38 basic table, sorted. With the
 * ASCII ones gsm7_width() lists, they make its 128 positions less ESC. */
static const uint16_t gsm7_basic_high[] = {
    0x00A1, 0x00A3, 0x00A4, 0x00A5, 0x00A7, 0x00BF,   /* ¡ £ ¤ ¥ § ¿ */
    0x00C4, 0x00C5, 0x00C6, 0x00C7, 0x00C9, 0x00D1,   /* Ä Å Æ Ç É Ñ */
    0x00D6, 0x00D8, 0x00DC, 0x00DF, 0x00E0, 0x00E4,   /* Ö Ø Ü ß à ä */
    0x00E5, 0x00E6, 0x00E8, 0x00E9, 0x00EC, 0x00F1,   /* å æ è é ì ñ */
    0x00F2, 0x00F6, 0x00F8, 0x00F9, 0x00FC,           /* ò ö ø ù ü */
    0x0393, 0x0394, 0x0398, 0x039B, 0x039E, 0x03A0,   /* Γ Δ Θ Λ Ξ Π */
    0x03A3, 0x03A6, 0x03A8, 0x03A9,                   /* Σ Φ Ψ Ω */
};

static int in_sorted_u16(const uint16_t *v, size_t n, uint32_t cp)
{
    size_t lo = 0, hi = n, mid;

    while (lo < hi) {
        mid = lo + (hi - lo) / 2;
        if (v[mid] == cp)
            return 1;
        if (v[mid] < cp)
            lo = mid + 1;
        else
            hi = mid;
    }
    return 0;
}

/*
 * Septets code point cp takes in GSM-7: 1 for the basic table, 2 for the
 * extension table (ESC + char), 0 when GSM-7 cannot carry it at all.
 * ASCII lacks only backtick, DEL and the controls other than LF and CR;
 * FF and ^ { } \ [ ~ ] | sit in the extension table, and so does €.
 */
static int gsm7_width(uint32_t cp)
{
    if (cp == '\n' || cp == '\r')
        return 1;
    if (cp == '\f')
        return 2;
    if (cp < 0x20 || cp == '`' || cp == 0x7F)
        return 0;
    if (cp < 0x7F) {
        switch (cp) {
        case '^': case '{': case '}': case '\\':
        case '[': case '~': case ']': case '|':
            return 2;
        default:
            return 1;
        }
    }
    if (cp == 0x20AC)                     /* € */
        return 2;
    if (cp > 0xFFFF)
        return 0;
    return in_sorted_u16(gsm7_basic_high,
                         sizeof gsm7_basic_high / sizeof gsm7_basic_high[0],
                         cp);
}

/*
 * Fills *out for NUL-terminated s: GSM7 with septets when every character
 * is in GSM 03.38, else UCS2 with UTF-16 code units (a code point above
 * U+FFFF counts 2). Ill-formed UTF-8 forces UCS2 and each bad byte counts
 * as one character of one unit (as a U+FFFD would). NULL s measures as "".
 */
void menu_measure(const char *s, struct menu_measure *out)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t len, i = 0, n, septets = 0, utf16 = 0, chars = 0;
    int gsm = 1, w;
    uint32_t cp;

    if (!out)
        return;
    len = s ? strlen(s) : 0;
    while (i < len) {
        n = utf8_decode(p + i, len - i, &cp);
        if (n == 0) {
            gsm = 0;
            utf16++;
            n = 1;
        } else {
            w = gsm7_width(cp);
            if (w == 0)
                gsm = 0;
            septets += (size_t)w;
            utf16 += cp > 0xFFFF ? 2 : 1;
        }
        chars++;
        i += n;
    }
    out->enc = gsm ? MENU_GSM7 : MENU_UCS2;
    out->units = gsm ? septets : utf16;
    out->chars = chars;
}

size_t menu_sms_segments(const struct menu_measure *m)
{
    size_t single, part;

    if (!m || m->units == 0)
        return 1;
    single = m->enc == MENU_GSM7 ? 160 : 70;
    part = m->enc == MENU_GSM7 ? 153 : 67;   /* less the 6-octet UDH */
    if (m->units <= single)
        return 1;
    return (m->units + part - 1) / part;
}

/* ---- folding ------------------------------------------------------------ */

struct fold_entry {
    uint16_t cp;
    char to[3];                           /* ASCII, NUL-terminated */
};

/* Accented letter -> ASCII, sorted by code point (binary searched). All of
 * Vietnamese: a ă â e ê i o ô ơ u ư y with the five tones, both cases, and
 * đ Đ; and the letters of Latin-1 and Latin Extended-A, ligatures spelt out
 * (Æ -> AE, ß -> ss, Œ -> OE, Þ -> TH). */
static const struct fold_entry fold_table[] = {
    /* Latin-1 Supplement letters (U+00C0-U+00FF, not the signs x and /) */
    {0x00C0, "A"}, {0x00C1, "A"}, {0x00C2, "A"}, {0x00C3, "A"},  /* À Á Â Ã */
    {0x00C4, "A"}, {0x00C5, "A"}, {0x00C6, "AE"}, {0x00C7, "C"}, /* Ä Å Æ Ç */
    {0x00C8, "E"}, {0x00C9, "E"}, {0x00CA, "E"}, {0x00CB, "E"},  /* È É Ê Ë */
    {0x00CC, "I"}, {0x00CD, "I"}, {0x00CE, "I"}, {0x00CF, "I"},  /* Ì Í Î Ï */
    {0x00D0, "D"}, {0x00D1, "N"}, {0x00D2, "O"}, {0x00D3, "O"},  /* Ð Ñ Ò Ó */
    {0x00D4, "O"}, {0x00D5, "O"}, {0x00D6, "O"}, {0x00D8, "O"},  /* Ô Õ Ö Ø */
    {0x00D9, "U"}, {0x00DA, "U"}, {0x00DB, "U"}, {0x00DC, "U"},  /* Ù Ú Û Ü */
    {0x00DD, "Y"}, {0x00DE, "TH"}, {0x00DF, "ss"}, {0x00E0, "a"}, /* Ý Þ ß à */
    {0x00E1, "a"}, {0x00E2, "a"}, {0x00E3, "a"}, {0x00E4, "a"},  /* á â ã ä */
    {0x00E5, "a"}, {0x00E6, "ae"}, {0x00E7, "c"}, {0x00E8, "e"}, /* å æ ç è */
    {0x00E9, "e"}, {0x00EA, "e"}, {0x00EB, "e"}, {0x00EC, "i"},  /* é ê ë ì */
    {0x00ED, "i"}, {0x00EE, "i"}, {0x00EF, "i"}, {0x00F0, "d"},  /* í î ï ð */
    {0x00F1, "n"}, {0x00F2, "o"}, {0x00F3, "o"}, {0x00F4, "o"},  /* ñ ò ó ô */
    {0x00F5, "o"}, {0x00F6, "o"}, {0x00F8, "o"}, {0x00F9, "u"},  /* õ ö ø ù */
    {0x00FA, "u"}, {0x00FB, "u"}, {0x00FC, "u"}, {0x00FD, "y"},  /* ú û ü ý */
    {0x00FE, "th"}, {0x00FF, "y"},                               /* þ ÿ */
    /* Latin Extended-A (U+0100-U+017F) */
    {0x0100, "A"}, {0x0101, "a"}, {0x0102, "A"}, {0x0103, "a"},  /* Ā ā Ă ă */
    {0x0104, "A"}, {0x0105, "a"}, {0x0106, "C"}, {0x0107, "c"},  /* Ą ą Ć ć */
    {0x0108, "C"}, {0x0109, "c"}, {0x010A, "C"}, {0x010B, "c"},  /* Ĉ ĉ Ċ ċ */
    {0x010C, "C"}, {0x010D, "c"}, {0x010E, "D"}, {0x010F, "d"},  /* Č č Ď ď */
    {0x0110, "D"}, {0x0111, "d"}, {0x0112, "E"}, {0x0113, "e"},  /* Đ đ Ē ē */
    {0x0114, "E"}, {0x0115, "e"}, {0x0116, "E"}, {0x0117, "e"},  /* Ĕ ĕ Ė ė */
    {0x0118, "E"}, {0x0119, "e"}, {0x011A, "E"}, {0x011B, "e"},  /* Ę ę Ě ě */
    {0x011C, "G"}, {0x011D, "g"}, {0x011E, "G"}, {0x011F, "g"},  /* Ĝ ĝ Ğ ğ */
    {0x0120, "G"}, {0x0121, "g"}, {0x0122, "G"}, {0x0123, "g"},  /* Ġ ġ Ģ ģ */
    {0x0124, "H"}, {0x0125, "h"}, {0x0126, "H"}, {0x0127, "h"},  /* Ĥ ĥ Ħ ħ */
    {0x0128, "I"}, {0x0129, "i"}, {0x012A, "I"}, {0x012B, "i"},  /* Ĩ ĩ Ī ī */
    {0x012C, "I"}, {0x012D, "i"}, {0x012E, "I"}, {0x012F, "i"},  /* Ĭ ĭ Į į */
    {0x0130, "I"}, {0x0131, "i"}, {0x0132, "IJ"}, {0x0133, "ij"}, /* İ ı Ĳ ĳ */
    {0x0134, "J"}, {0x0135, "j"}, {0x0136, "K"}, {0x0137, "k"},  /* Ĵ ĵ Ķ ķ */
    {0x0138, "k"}, {0x0139, "L"}, {0x013A, "l"}, {0x013B, "L"},  /* ĸ Ĺ ĺ Ļ */
    {0x013C, "l"}, {0x013D, "L"}, {0x013E, "l"}, {0x013F, "L"},  /* ļ Ľ ľ Ŀ */
    {0x0140, "l"}, {0x0141, "L"}, {0x0142, "l"}, {0x0143, "N"},  /* ŀ Ł ł Ń */
    {0x0144, "n"}, {0x0145, "N"}, {0x0146, "n"}, {0x0147, "N"},  /* ń Ņ ņ Ň */
    {0x0148, "n"}, {0x0149, "n"}, {0x014A, "N"}, {0x014B, "n"},  /* ň ŉ Ŋ ŋ */
    {0x014C, "O"}, {0x014D, "o"}, {0x014E, "O"}, {0x014F, "o"},  /* Ō ō Ŏ ŏ */
    {0x0150, "O"}, {0x0151, "o"}, {0x0152, "OE"}, {0x0153, "oe"}, /* Ő ő Œ œ */
    {0x0154, "R"}, {0x0155, "r"}, {0x0156, "R"}, {0x0157, "r"},  /* Ŕ ŕ Ŗ ŗ */
    {0x0158, "R"}, {0x0159, "r"}, {0x015A, "S"}, {0x015B, "s"},  /* Ř ř Ś ś */
    {0x015C, "S"}, {0x015D, "s"}, {0x015E, "S"}, {0x015F, "s"},  /* Ŝ ŝ Ş ş */
    {0x0160, "S"}, {0x0161, "s"}, {0x0162, "T"}, {0x0163, "t"},  /* Š š Ţ ţ */
    {0x0164, "T"}, {0x0165, "t"}, {0x0166, "T"}, {0x0167, "t"},  /* Ť ť Ŧ ŧ */
    {0x0168, "U"}, {0x0169, "u"}, {0x016A, "U"}, {0x016B, "u"},  /* Ũ ũ Ū ū */
    {0x016C, "U"}, {0x016D, "u"}, {0x016E, "U"}, {0x016F, "u"},  /* Ŭ ŭ Ů ů */
    {0x0170, "U"}, {0x0171, "u"}, {0x0172, "U"}, {0x0173, "u"},  /* Ű ű Ų ų */
    {0x0174, "W"}, {0x0175, "w"}, {0x0176, "Y"}, {0x0177, "y"},  /* Ŵ ŵ Ŷ ŷ */
    {0x0178, "Y"}, {0x0179, "Z"}, {0x017A, "z"}, {0x017B, "Z"},  /* Ÿ Ź ź Ż */
    {0x017C, "z"}, {0x017D, "Z"}, {0x017E, "z"}, {0x017F, "s"},  /* ż Ž ž ſ */
    /* Latin Extended-B: the Vietnamese horned vowels */
    {0x01A0, "O"}, {0x01A1, "o"}, {0x01AF, "U"}, {0x01B0, "u"},  /* Ơ ơ Ư ư */
    /* Latin Extended Additional: the Vietnamese block U+1EA0-U+1EF9 */
    {0x1EA0, "A"}, {0x1EA1, "a"}, {0x1EA2, "A"}, {0x1EA3, "a"},  /* Ạ ạ Ả ả */
    {0x1EA4, "A"}, {0x1EA5, "a"}, {0x1EA6, "A"}, {0x1EA7, "a"},  /* Ấ ấ Ầ ầ */
    {0x1EA8, "A"}, {0x1EA9, "a"}, {0x1EAA, "A"}, {0x1EAB, "a"},  /* Ẩ ẩ Ẫ ẫ */
    {0x1EAC, "A"}, {0x1EAD, "a"}, {0x1EAE, "A"}, {0x1EAF, "a"},  /* Ậ ậ Ắ ắ */
    {0x1EB0, "A"}, {0x1EB1, "a"}, {0x1EB2, "A"}, {0x1EB3, "a"},  /* Ằ ằ Ẳ ẳ */
    {0x1EB4, "A"}, {0x1EB5, "a"}, {0x1EB6, "A"}, {0x1EB7, "a"},  /* Ẵ ẵ Ặ ặ */
    {0x1EB8, "E"}, {0x1EB9, "e"}, {0x1EBA, "E"}, {0x1EBB, "e"},  /* Ẹ ẹ Ẻ ẻ */
    {0x1EBC, "E"}, {0x1EBD, "e"}, {0x1EBE, "E"}, {0x1EBF, "e"},  /* Ẽ ẽ Ế ế */
    {0x1EC0, "E"}, {0x1EC1, "e"}, {0x1EC2, "E"}, {0x1EC3, "e"},  /* Ề ề Ể ể */
    {0x1EC4, "E"}, {0x1EC5, "e"}, {0x1EC6, "E"}, {0x1EC7, "e"},  /* Ễ ễ Ệ ệ */
    {0x1EC8, "I"}, {0x1EC9, "i"}, {0x1ECA, "I"}, {0x1ECB, "i"},  /* Ỉ ỉ Ị ị */
    {0x1ECC, "O"}, {0x1ECD, "o"}, {0x1ECE, "O"}, {0x1ECF, "o"},  /* Ọ ọ Ỏ ỏ */
    {0x1ED0, "O"}, {0x1ED1, "o"}, {0x1ED2, "O"}, {0x1ED3, "o"},  /* Ố ố Ồ ồ */
    {0x1ED4, "O"}, {0x1ED5, "o"}, {0x1ED6, "O"}, {0x1ED7, "o"},  /* Ổ ổ Ỗ ỗ */
    {0x1ED8, "O"}, {0x1ED9, "o"}, {0x1EDA, "O"}, {0x1EDB, "o"},  /* Ộ ộ Ớ ớ */
    {0x1EDC, "O"}, {0x1EDD, "o"}, {0x1EDE, "O"}, {0x1EDF, "o"},  /* Ờ ờ Ở ở */
    {0x1EE0, "O"}, {0x1EE1, "o"}, {0x1EE2, "O"}, {0x1EE3, "o"},  /* Ỡ ỡ Ợ ợ */
    {0x1EE4, "U"}, {0x1EE5, "u"}, {0x1EE6, "U"}, {0x1EE7, "u"},  /* Ụ ụ Ủ ủ */
    {0x1EE8, "U"}, {0x1EE9, "u"}, {0x1EEA, "U"}, {0x1EEB, "u"},  /* Ứ ứ Ừ ừ */
    {0x1EEC, "U"}, {0x1EED, "u"}, {0x1EEE, "U"}, {0x1EEF, "u"},  /* Ử ử Ữ ữ */
    {0x1EF0, "U"}, {0x1EF1, "u"}, {0x1EF2, "Y"}, {0x1EF3, "y"},  /* Ự ự Ỳ ỳ */
    {0x1EF4, "Y"}, {0x1EF5, "y"}, {0x1EF6, "Y"}, {0x1EF7, "y"},  /* Ỵ ỵ Ỷ ỷ */
    {0x1EF8, "Y"}, {0x1EF9, "y"},                                /* Ỹ ỹ */
};

#define FOLD_TABLE_LEN (sizeof fold_table / sizeof fold_table[0])

static const char *fold_lookup(uint32_t cp)
{
    size_t lo = 0, hi = FOLD_TABLE_LEN, mid;

    while (lo < hi) {
        mid = lo + (hi - lo) / 2;
        if (fold_table[mid].cp == cp)
            return fold_table[mid].to;
        if (fold_table[mid].cp < cp)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* Combining Diacritical Marks: what decomposed (NFD) input puts after the
 * base letter, as a phone keyboard or a copy from the web may send. */
static int is_combining_mark(uint32_t cp)
{
    return cp >= 0x0300 && cp <= 0x036F;
}

/*
 * Writes the folded text of NUL-terminated UTF-8 `in` into out[0..outsz):
 * table letters become their ASCII spelling, combining marks U+0300-U+036F
 * are dropped, every other character is copied as is, and an ill-formed
 * byte becomes '?' so the result is always valid UTF-8.
 *
 * Returns the length written (without the NUL). MENU_ENOSPC when out is too
 * small: out then holds the longest prefix of the result that ends on a
 * character boundary (NUL-terminated, so valid UTF-8) unless outsz is 0.
 * MENU_EINVAL when in or out is NULL.
 */
int menu_fold(const char *in, char *out, size_t outsz)
{
    const unsigned char *p = (const unsigned char *)in;
    const char *rep;
    size_t len, cap, i = 0, o = 0, n, rl;
    uint32_t cp;

    if (!in || !out)
        return MENU_EINVAL;
    if (outsz == 0)
        return MENU_ENOSPC;
    cap = outsz - 1;
    if (cap > (size_t)INT_MAX)
        cap = (size_t)INT_MAX;            /* the length must fit the return */
    len = strlen(in);
    while (i < len) {
        if (p[i] < 0x80) {
            /* A run of ASCII is copied as is (the table holds none). */
            for (n = i; n < len && p[n] < 0x80; n++)
                ;
            rl = n - i;
            if (rl > cap - o) {
                rl = cap - o;
                memcpy(out + o, in + i, rl);
                out[o + rl] = '\0';
                return MENU_ENOSPC;
            }
            memcpy(out + o, in + i, rl);
            o += rl;
            i = n;
            continue;
        }
        n = utf8_decode(p + i, len - i, &cp);
        if (n == 0) {
            rep = "?";
            rl = 1;
            n = 1;
        } else if (is_combining_mark(cp)) {
            rep = "";
            rl = 0;
        } else {
            rep = fold_lookup(cp);
            if (rep) {
                rl = strlen(rep);
            } else {
                rep = in + i;
                rl = n;
            }
        }
        if (rl > cap - o) {
            out[o] = '\0';
            return MENU_ENOSPC;
        }
        memcpy(out + o, rep, rl);
        o += rl;
        i += n;
    }
    out[o] = '\0';
    return (int)o;
}
