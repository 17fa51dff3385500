/*
 * menu_diag.c — the list of problems the loader and the checker found.
 *
 * Every problem in a menu file becomes one struct menu_diag: an error or a
 * warning, the libconfig line it is about (0 when no line applies), the node
 * it is about ("" when none) and a message in plain words for the operator
 * who wrote the file. The list only grows; menu_diag_format turns one entry
 * into the line `hotlinectl menu check` prints and the daemon logs:
 *
 *   FILE:LINE: node NAME: message
 *   FILE:LINE: node NAME: warning: message
 *
 * Adding never fails visibly: a diagnostic that cannot be stored (no memory,
 * or more than DIAGS_MAX already stored) is still counted, so a caller that
 * only looks at d->errors never mistakes a broken menu for a valid one.
 *
 * Pure: no I/O; memory only through malloc/realloc/free.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "menu.h"

/* Diagnostics stored at most; a file with more problems than this is
 * hopeless anyway, and the cap bounds memory on hostile input. */
#define DIAGS_MAX 1000
#define DIAGS_FIRST 16

void menu_diags_init(struct menu_diags *d)
{
    if (d)
        memset(d, 0, sizeof *d);
}

void menu_diags_free(struct menu_diags *d)
{
    if (!d)
        return;
    free(d->v);
    memset(d, 0, sizeof *d);
}

/* Makes room for one more entry. Returns 0, or -1 when the list is full or
 * memory ran out (d is unchanged then). */
static int diags_grow(struct menu_diags *d)
{
    struct menu_diag *nv;
    size_t ncap;

    if (d->n < d->cap)
        return 0;
    if (d->cap >= DIAGS_MAX)
        return -1;
    ncap = d->cap ? d->cap * 2 : DIAGS_FIRST;
    if (ncap > DIAGS_MAX)
        ncap = DIAGS_MAX;
    nv = realloc(d->v, ncap * sizeof *nv);
    if (!nv)
        return -1;
    d->v = nv;
    d->cap = ncap;
    return 0;
}

/* Cuts a UTF-8 sequence left incomplete at the end of s[0..len) by a
 * truncation, so a shortened message stays valid UTF-8. Returns the new
 * length (s is NUL-terminated there). */
static size_t utf8_cut(char *s, size_t len)
{
    size_t i = len, need;
    unsigned char c;

    while (i > 0 && len - i < 4 && ((unsigned char)s[i - 1] & 0xC0) == 0x80)
        i--;
    if (i == 0)
        return len;
    c = (unsigned char)s[i - 1];
    if (c < 0xC0)
        return len;
    need = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
    if (len - (i - 1) < need) {
        len = i - 1;
        s[len] = '\0';
    }
    return len;
}

/* Counts one diagnostic of severity sev. */
static void diags_count(struct menu_diags *d, enum menu_severity sev)
{
    if (sev == MENU_SEV_ERROR)
        d->errors++;
    else
        d->warnings++;
}

void menu_diag_add(struct menu_diags *d, enum menu_severity sev, int line,
                   const char *node, const char *fmt, ...)
{
    struct menu_diag *dg;
    va_list ap;
    int n;

    if (!d)
        return;
    diags_count(d, sev);
    if (diags_grow(d) < 0)
        return;
    dg = &d->v[d->n++];
    memset(dg, 0, sizeof *dg);
    dg->sev = sev;
    dg->line = line < 0 ? 0 : line;
    if (node)
        snprintf(dg->node, sizeof dg->node, "%s", node);
    if (fmt) {
        va_start(ap, fmt);
        n = vsnprintf(dg->msg, sizeof dg->msg, fmt, ap);
        va_end(ap);
        if (n < 0)
            dg->msg[0] = '\0';
        else if ((size_t)n >= sizeof dg->msg)
            utf8_cut(dg->msg, sizeof dg->msg - 1);
    }
}

int menu_diag_format(const char *file, const struct menu_diag *dg, char *out,
                     size_t outsz)
{
    char where[32] = "";
    char node[MENU_NAME_MAX + 8] = "";
    int n;

    if (!out || outsz == 0)
        return 0;
    out[0] = '\0';
    if (!dg)
        return 0;
    if (dg->line > 0)
        snprintf(where, sizeof where, ":%d", dg->line);
    if (dg->node[0])
        snprintf(node, sizeof node, "node %.*s: ", MENU_NAME_MAX - 1,
                 dg->node);
    n = snprintf(out, outsz, "%s%s: %s%s%.*s", file ? file : "menu", where,
                 node, dg->sev == MENU_SEV_WARNING ? "warning: " : "",
                 (int)sizeof dg->msg - 1, dg->msg);
    if (n < 0) {
        out[0] = '\0';
        return 0;
    }
    if ((size_t)n >= outsz)
        return (int)utf8_cut(out, outsz - 1);
    return n;
}
