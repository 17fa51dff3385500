/*
 * fuzz_replay — Africa's Talking '*'-joined histories: replaying the same
 * history twice gives the same screen and the same action, and the suffix
 * rule (menu_history_next) never points outside the history.
 */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct menu_ctx c = { 0 };
    struct menu_state a, b;
    struct menu_result ra, rb;
    char *hist;
    char *prev;
    const char *next;
    int rc1, rc2;

    if (size < 1)
        return 0;
    c.menu = fuzz_menu();
    c.render = fuzz_render(data[0]);
    c.ref = "FUZZ42";
    hist = fuzz_str(data + 1, size - 1);
    rc1 = menu_replay(&c, hist, &a, &ra);
    rc2 = menu_replay(&c, hist, &b, &rb);
    if (rc1 != rc2)
        abort();
    if (rc1 == 0 && (strcmp(ra.screen.text, rb.screen.text) != 0 ||
                     ra.action != rb.action || ra.end != rb.end))
        abort();
    prev = fuzz_str(data + 1, size - 1);
    prev[(size - 1) / 2] = '\0';
    next = menu_history_next(hist, prev);
    if (next && (next < hist || next > hist + strlen(hist)))
        abort();
    free(prev);
    free(hist);
    return 0;
}
