/*
 * fuzz_text — measuring and folding arbitrary bytes: folding valid UTF-8
 * gives valid UTF-8 no longer than the input allows, and never needs more
 * units than the input.
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
    free(s);
    return 0;
}
