/*
 * menuload.c — times menu_load_file (parse + every check of menu_check, as
 * hotlined and hotlinectl load a menu) and menu_check_channel on the four
 * channel kinds (USSD and SMS, folded and not) in-process, without process
 * start-up, for the "menu load and check" figure of `make bench`.
 *
 *   menuload FILE RUNS
 *
 * Prints "load_us=MEDIAN channels_us=MEDIAN runs=R nodes=N errors=E
 * warnings=W": medians over RUNS runs (1..100), fewer when they take more
 * than BUDGET_US together (at least one). Exit 1 when the menu does not
 * load.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "menu.h"

#define RUNS_MAX 100
#define BUDGET_US 3e6

static double now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp);
    return v[n / 2];
}

int main(int argc, char **argv)
{
    static const struct menu_render kinds[4] = {
        { MENU_CH_USSD, 1, 1 }, { MENU_CH_USSD, 0, 1 },
        { MENU_CH_SMS, 1, 3 }, { MENU_CH_SMS, 0, 3 } };
    double load[RUNS_MAX], chan[RUNS_MAX];
    size_t errors = 0, warnings = 0;
    int runs, done = 0, nodes = 0;
    double start;

    if (argc != 3 || (runs = atoi(argv[2])) < 1 || runs > RUNS_MAX) {
        fprintf(stderr, "usage: menuload FILE RUNS(1..%d)\n", RUNS_MAX);
        return 2;
    }
    start = now_us();
    for (int i = 0; i < runs && (i == 0 || now_us() - start < BUDGET_US); i++) {
        struct menu *m = NULL;
        struct menu_diags d;
        double t0 = now_us(), t1;

        menu_diags_init(&d);
        if (menu_load_file(argv[1], &m, &d) != 0) {
            fprintf(stderr, "menuload: %s does not load (%zu errors)\n",
                    argv[1], d.errors);
            menu_diags_free(&d);
            return 1;
        }
        t1 = now_us();
        for (int k = 0; k < 4; k++)
            menu_check_channel(m, "bench", &kinds[k], &d);
        chan[i] = now_us() - t1;
        load[i] = t1 - t0;
        nodes = (int)m->nnodes;
        errors = d.errors;
        warnings = d.warnings;
        menu_free(m);
        menu_diags_free(&d);
        done = i + 1;
    }
    printf("load_us=%.0f channels_us=%.0f runs=%d nodes=%d errors=%zu "
           "warnings=%zu\n", median(load, done), median(chan, done), done,
           nodes, errors, warnings);
    return 0;
}
