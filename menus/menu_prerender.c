/*
 * menu_prerender.c — every screen of a menu rendered once, when it loads,
 * so that showing a screen copies bytes (menu.h, menu_prerender).
 *
 * For each render mode asked for (a channel's: USSD or SMS, folding or not,
 * SMS parts), each node, language, with and without the `invalid` line and
 * each page, the page is laid out by menu_layout_screen — the same function
 * that renders on demand — and kept with its measure. A screen any of whose
 * pieces holds a {name} (a variable, or {ref}) depends on the session and is
 * not kept: it is rendered per request, as before. The walk (menu_step.c)
 * asks menu_pre_screen first and renders on demand when it answers -1.
 *
 * Kept in m->priv; freed by menu_free. Pure: allocation only, no I/O.
 */
#include <stdlib.h>
#include <string.h>

#include "menu_int.h"

/* Render modes one menu keeps screens for (one per distinct channel
 * setting; a mode beyond that is rendered on demand). */
#define PRE_MODES 8

struct pre_page {
    char *text;
    struct menu_measure measure;
};

/* One screen (node, language, invalid) in one mode: pages 0 = not kept. */
struct pre_screen {
    int pages;
    struct pre_page *page;
};

struct pre_mode {
    struct menu_render r;
    struct pre_screen *scr;         /* nnodes * nlangs * 2 */
};

struct menu_pre {
    size_t nmodes;
    struct pre_mode mode[PRE_MODES];
    unsigned char *dyn;             /* nnodes * nlangs * 2: 1 = has {name} */
    size_t kept;                    /* pages kept, every mode */
};

static size_t slot(const struct menu *m, int node, int lang, int invalid)
{
    return ((size_t)node * m->nlangs + (size_t)lang) * 2 + (invalid ? 1 : 0);
}

static int same_render(const struct menu_render *a, const struct menu_render *b)
{
    return a->channel == b->channel && a->fold == b->fold &&
           a->sms_parts == b->sms_parts;
}

/* 1 when text t (language lang) holds a {name}. */
static int text_dyn(const struct menu *m, const struct menu_text *t, int lang)
{
    return menu_text_has_var(menu_text_get(m, t, lang));
}

/* 1 when the screen of node in lang (headed by the invalid line when
 * invalid) holds a {name} anywhere: text, options, nav lines, more line. */
static int screen_dyn(const struct menu *m, int node, int lang, int invalid)
{
    const struct menu_node *nd = &m->nodes[node];

    if (invalid && text_dyn(m, &m->strings.invalid, lang))
        return 1;
    if (text_dyn(m, &nd->text, lang) || text_dyn(m, &m->strings.back, lang) ||
        text_dyn(m, &m->strings.home, lang) ||
        text_dyn(m, &m->strings.more, lang))
        return 1;
    for (size_t i = 0; i < nd->nopts; i++)
        if (text_dyn(m, &nd->opts[i].label, lang))
            return 1;
    return 0;
}

static void screen_free(struct pre_screen *s)
{
    for (int k = 0; k < s->pages; k++)
        free(s->page[k].text);
    free(s->page);
    s->page = NULL;
    s->pages = 0;
}

/* Lays out every page of one static screen into s. A screen that cannot be
 * laid out is left not kept (on demand gives the same error). */
static int screen_fill(const struct menu *m, const struct menu_render *r,
                       int node, int lang, int invalid, struct pre_screen *s)
{
    struct menu_layout q = { m, node, lang, r, NULL, NULL, invalid, 0, NULL,
                             NULL };
    struct menu_screen scr;
    int pages;

    if (menu_layout_screen(&q, &scr) != 0 || scr.pages < 1)
        return 0;
    pages = scr.pages;
    s->page = calloc((size_t)pages, sizeof *s->page);
    if (!s->page)
        return MENU_ENOMEM;
    for (int k = 0; k < pages; k++) {
        q.page = k;
        if (k > 0 && menu_layout_screen(&q, &scr) != 0)
            break;
        s->page[k].text = strdup(scr.text);
        if (!s->page[k].text)
            break;
        s->page[k].measure = scr.measure;
        s->pages = k + 1;
    }
    if (s->pages != pages) {
        screen_free(s);
        return MENU_ENOMEM;
    }
    return 0;
}

static struct menu_pre *pre_get(struct menu *m)
{
    struct menu_pre *p = m->priv;
    size_t n = m->nnodes * m->nlangs * 2;

    if (p)
        return p;
    p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->dyn = calloc(n ? n : 1, 1);
    if (!p->dyn) {
        free(p);
        return NULL;
    }
    for (size_t node = 0; node < m->nnodes; node++)
        for (size_t lang = 0; lang < m->nlangs; lang++)
            for (int inv = 0; inv < 2; inv++)
                p->dyn[slot(m, (int)node, (int)lang, inv)] =
                    (unsigned char)screen_dyn(m, (int)node, (int)lang, inv);
    m->priv = p;
    return p;
}

int menu_prerender(struct menu *m, const struct menu_render *r)
{
    struct menu_pre *p;
    struct pre_mode *md;
    size_t n;

    if (!m || !r || !m->nodes || m->nlangs == 0 ||
        m->nlangs > MENU_MAX_LANGS)
        return MENU_EINVAL;
    p = pre_get(m);
    if (!p)
        return MENU_ENOMEM;
    for (size_t i = 0; i < p->nmodes; i++)
        if (same_render(&p->mode[i].r, r))
            return 0;
    if (p->nmodes == PRE_MODES)
        return 0;                   /* rendered on demand */
    n = m->nnodes * m->nlangs * 2;
    md = &p->mode[p->nmodes];
    md->scr = calloc(n, sizeof *md->scr);
    if (!md->scr)
        return MENU_ENOMEM;
    md->r = *r;
    for (size_t node = 0; node < m->nnodes; node++)
        for (size_t lang = 0; lang < m->nlangs; lang++)
            for (int inv = 0; inv < 2; inv++) {
                size_t s = slot(m, (int)node, (int)lang, inv);

                if (p->dyn[s])
                    continue;
                if (screen_fill(m, r, (int)node, (int)lang, inv,
                                &md->scr[s]) != 0) {
                    for (size_t k = 0; k < n; k++)
                        screen_free(&md->scr[k]);
                    free(md->scr);
                    md->scr = NULL;
                    return MENU_ENOMEM;
                }
                p->kept += (size_t)md->scr[s].pages;
            }
    p->nmodes++;
    return 0;
}

size_t menu_prerendered(const struct menu *m)
{
    const struct menu_pre *p = m ? m->priv : NULL;

    return p ? p->kept : 0;
}

int menu_pre_screen(const struct menu *m, const struct menu_render *r,
                    int node, int lang, int invalid, int page,
                    struct menu_screen *out)
{
    const struct menu_pre *p = m ? m->priv : NULL;
    const struct pre_screen *s = NULL;
    const struct pre_page *pg;
    size_t len;
    int k;

    if (!p || node < 0 || (size_t)node >= m->nnodes || lang < 0 ||
        (size_t)lang >= m->nlangs)
        return -1;
    for (size_t i = 0; i < p->nmodes && !s; i++)
        if (same_render(&p->mode[i].r, r))
            s = &p->mode[i].scr[slot(m, node, lang, invalid)];
    if (!s || s->pages < 1)
        return -1;
    k = page < 0 ? 0 : page >= s->pages ? s->pages - 1 : page;
    pg = &s->page[k];
    len = strlen(pg->text);
    memcpy(out->text, pg->text, len + 1);
    out->page = k;
    out->pages = s->pages;
    out->measure = pg->measure;
    return 0;
}

void menu_pre_free(struct menu *m)
{
    struct menu_pre *p = m ? m->priv : NULL;

    if (!p)
        return;
    for (size_t i = 0; i < p->nmodes; i++) {
        size_t n = m->nnodes * m->nlangs * 2;

        for (size_t k = 0; k < n; k++)
            screen_free(&p->mode[i].scr[k]);
        free(p->mode[i].scr);
    }
    free(p->dyn);
    free(p);
    m->priv = NULL;
}
