/*
 * mask.h — the one form in which a phone number may reach a log line.
 */
#ifndef HOTLINE_MASK_H
#define HOTLINE_MASK_H

#include <stddef.h>

/* Writes "***" followed by the last 3 digits of phone ("***567"); a number
 * with fewer than 3 digits becomes "***". Never writes any other character
 * of the number. out is always NUL-terminated (outsz >= 1). */
void mask_phone(const char *phone, char *out, size_t outsz);

#endif
