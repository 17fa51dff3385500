/*
 * fuzz_menu_load — the menu loader and checker on arbitrary files: never a
 * crash or a leak, and a menu that loads can be laid out for every node and
 * language on both channels.
 */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_str(data, size);
    struct menu_diags d;
    struct menu *m = NULL;

    menu_diags_init(&d);
    if (menu_load_string(text, "fuzz.cfg", &m, &d) == 0) {
        for (size_t n = 0; n < m->nnodes; n++) {
            for (size_t l = 0; l < m->nlangs; l++) {
                struct menu_render r = { MENU_CH_USSD, 1, 1 };
                struct menu_fit fit;

                menu_fit_node(m, (int)n, (int)l, &r, &fit);
                r.channel = MENU_CH_SMS;
                r.fold = 0;
                menu_fit_node(m, (int)n, (int)l, &r, &fit);
            }
        }
    }
    for (size_t i = 0; i < d.n; i++) {
        char line[512];

        menu_diag_format("fuzz.cfg", &d.v[i], line, sizeof line);
    }
    menu_free(m);
    menu_diags_free(&d);
    free(text);
    return 0;
}
