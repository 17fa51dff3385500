/*
 * fuzz_text — measuring and folding arbitrary bytes: folding valid UTF-8
 * gives valid UTF-8 no longer than the input allows, and never needs more
 * units than the input. A lookup key (menu_lookup_keys) is ASCII, starts
 * with its kind, and is the same key when normalised again.
 */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = fuzz_str(data, size);
    char out[4096];
    struct menu_measure m;
    int valid = menu_utf8_valid(s, strlen(s));
    int n;

    menu_measure(s, &m);
    (void)menu_sms_segments(&m);
    n = menu_fold(s, out, sizeof out);
    if (valid && !menu_utf8_valid(out, strlen(out)))
        abort();
    if (n >= 0 && (size_t)n != strlen(out))
        abort();
    if (valid) {
        struct menu_measure f;

        (void)menu_utf8_chars(s);
        menu_measure(out, &f);
        if (n >= 0 && f.enc == MENU_UCS2 && m.enc == MENU_GSM7)
            abort();
    }
    {
        static struct menu_lookup lk;
        int k = menu_lookup_keys(s, strlen(s), "84", &lk);

        if (k >= 0) {
            if ((size_t)k != strlen(lk.key) || k >= MENU_LOOKUP_KEY_MAX)
                abort();
            for (int i = 0; i < k; i++)
                if ((unsigned char)lk.key[i] < 0x21 ||
                    (unsigned char)lk.key[i] > 0x7e)
                    abort();
            if (strncmp(lk.key, "id:", 3) && strncmp(lk.key, "tel:", 4) &&
                strncmp(lk.key, "web:", 4) && strncmp(lk.key, "at:", 3))
                abort();
        }
    }
    free(s);
    return 0;
}
