/*
 * fuzz_common.h — what the libFuzzer targets share: the shipped menu,
 * loaded once, and a NUL-terminated copy of the fuzzer's bytes.
 */
#ifndef HOTLINE_FUZZ_COMMON_H
#define HOTLINE_FUZZ_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "menu.h"

/* The shipped menu (run from the repository root, as tests/fuzz/run.sh
 * does). Aborts when it does not load: every target needs it. */
static inline struct menu *fuzz_menu(void)
{
    static struct menu *m;
    struct menu_diags d;

    if (m)
        return m;
    menu_diags_init(&d);
    if (menu_load_file("config/menus/hotline.cfg", &m, &d) != 0) {
        fprintf(stderr, "fuzz: config/menus/hotline.cfg does not load\n");
        abort();
    }
    menu_diags_free(&d);
    return m;
}

/* The shipped disguised menu (hidden options, match, home), loaded once. */
static inline struct menu *fuzz_disguised(void)
{
    static struct menu *m;
    struct menu_diags d;

    if (m)
        return m;
    menu_diags_init(&d);
    if (menu_load_file("config/menus/disguised.cfg", &m, &d) != 0) {
        fprintf(stderr, "fuzz: config/menus/disguised.cfg does not load\n");
        abort();
    }
    menu_diags_free(&d);
    return m;
}

/* A malloc'd NUL-terminated copy of data (the caller frees it). */
static inline char *fuzz_str(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);

    if (!s)
        abort();
    memcpy(s, data, size);
    s[size] = '\0';
    return s;
}

/* A render setting picked from one byte: channel, fold, SMS parts. */
static inline struct menu_render fuzz_render(uint8_t b)
{
    struct menu_render r;

    r.channel = (b & 1) ? MENU_CH_SMS : MENU_CH_USSD;
    r.fold = (b >> 1) & 1;
    r.sms_parts = 1 + ((b >> 2) & 3);
    return r;
}

#endif
