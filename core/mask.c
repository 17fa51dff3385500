/*
 * mask.c — phone numbers as they may appear in logs: "***" and the last
 * three digits, nothing else (see mask.h). Non-digits ('+', blanks, '-')
 * are skipped, so "+84 987 654 321" and "+84987654321" both give "***321".
 */
#include "mask.h"

#include <string.h>

void mask_phone(const char *phone, char *out, size_t outsz)
{
    char tail[3];
    size_t digits = 0;
    size_t n = 0;

    if (!out || outsz == 0)
        return;
    for (const char *p = phone ? phone : ""; *p; p++) {
        if (*p >= '0' && *p <= '9') {
            tail[digits % 3] = *p;
            digits++;
        }
    }
    for (const char *s = "***"; *s && n + 1 < outsz; s++)
        out[n++] = *s;
    if (digits >= 3) {
        for (size_t i = 0; i < 3 && n + 1 < outsz; i++)
            out[n++] = tail[(digits + i) % 3];
    }
    out[n] = '\0';
}
