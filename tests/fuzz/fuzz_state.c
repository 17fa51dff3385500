/*
 * fuzz_state — the state decoder on arbitrary bytes (what Redis hands back
 * could be anything): never a crash; what decodes re-encodes to a string
 * that decodes to the same state.
 */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const struct menu *m = fuzz_menu();
    struct menu_state st, again;
    char enc[MENU_STATE_ENC_MAX];
    int n;

    if (menu_state_decode(m, (const char *)data, size, &st) != 0)
        return 0;
    n = menu_state_encode(m, &st, enc, sizeof enc);
    if (n < 0)
        abort();
    if (menu_state_decode(m, enc, (size_t)n, &again) != 0)
        abort();
    if (memcmp(&st, &again, sizeof st) != 0) {
        char enc2[MENU_STATE_ENC_MAX];
        int n2 = menu_state_encode(m, &again, enc2, sizeof enc2);

        if (n2 != n || memcmp(enc, enc2, (size_t)n) != 0)
            abort();
    }
    return 0;
}
