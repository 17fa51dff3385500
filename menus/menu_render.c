/*
 * menu_render.c — lays out one screen of a node and cuts it into pages.
 *
 * A screen is built from pieces: a text block (the `invalid` line, when
 * asked, then the node's text), one line per option, the footer (the nav
 * lines "BACK. back" and "HOME. home"), and the more line "MORE. more" that
 * ends every page but the last. {name} is substituted first, then every
 * piece is folded (when the channel folds), then measured. The encoding is
 * decided once for the whole screen — UCS-2 as soon as one piece needs it —
 * so every page of a screen is cut against the same limit and turning the
 * page never reflows what came before.
 *
 * Pagination is greedy: a page takes as much of the text block as fits
 * (cut at a space or line break, or inside a word only when the word alone
 * is longer than a page), then whole option lines; the footer is repeated on
 * every page. A page that cannot hold even one option line next to its
 * footer makes the screen impossible to paginate: MENU_ENOSPC.
 *
 * Pure: fixed buffers on the stack, no allocation, no I/O.
 */
#include <string.h>

#include "menu_int.h"

/* Bytes of one screen before pagination: the texts, options and up to
 * MENU_VARS_MAX substituted values. Longer screens are MENU_ENOSPC. */
#define WORK_MAX (4 * MENU_SCREEN_MAX + MENU_VARS_MAX * MENU_VAR_VALUE_MAX)
/* Option lines of one screen; a node with more cannot be laid out. */
#define LINES_MAX 128
/* What {ref} measures as in the checker's fit report: a reference is 6
 * characters today; 8 leaves room. */
#define FIT_REF "XXXXXXXX"

/* A growing string with a hard cap; `over` records a truncation. */
struct sbuf {
    char *p;
    size_t len, cap;
    int over;
};

/* One piece of the screen in parts.work: bytes, and units in parts.enc. */
struct span {
    size_t off, len, units;
};

/* A screen taken apart, every piece substituted, folded and NUL-terminated
 * in work. */
struct parts {
    char work[WORK_MAX];
    size_t used;
    const struct menu_render *r;
    int has_text;
    struct span text;
    struct span opt[LINES_MAX];
    size_t nopt;
    struct span foot[2];
    size_t nfoot;
    int has_more;
    struct span more;
    enum menu_enc enc;
    size_t limit;
};

/* Where pagination stands: bytes of the text block consumed, next option. */
struct cursor {
    size_t toff;
    int text_done;
    size_t opt;
};

/* What one page holds. */
struct page {
    int has_chunk;
    size_t coff, clen;              /* text chunk, in work */
    size_t oa, ob;                  /* options [oa, ob) */
    int more;
};

size_t menu_page_limit(const struct menu_render *r, enum menu_enc enc)
{
    size_t n;

    if (!r || r->channel == MENU_CH_USSD)
        return enc == MENU_UCS2 ? 80 : 182;
    if (r->sms_parts <= 1)
        return enc == MENU_UCS2 ? 70 : 160;
    n = (size_t)r->sms_parts;
    return enc == MENU_UCS2 ? 67 * n : 153 * n;
}

/* ---- building the pieces ---------------------------------------------- */

static void sb_put(struct sbuf *b, const char *s, size_t n)
{
    if (b->over || n >= b->cap - b->len) {
        b->over = 1;
        return;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void sb_puts(struct sbuf *b, const char *s)
{
    sb_put(b, s, strlen(s));
}

/* Length of a {name} at s (s[0] == '{'): the bytes up to and including the
 * '}', or 0 when s does not start a well-formed {name} (letters, digits,
 * '_', '-', '.', 1..MENU_NAME_MAX-1 of them). Such text is copied as is. */
static size_t brace_len(const char *s)
{
    size_t i = 1;

    while (i < MENU_NAME_MAX &&
           ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
            (s[i] >= '0' && s[i] <= '9') || s[i] == '_' || s[i] == '-' ||
            s[i] == '.'))
        i++;
    if (i == 1 || i >= MENU_NAME_MAX || s[i] != '}')
        return 0;
    return i + 1;
}

int menu_text_has_var(const char *s)
{
    while (s && (s = strchr(s, '{')) != NULL) {
        if (brace_len(s) > 0)
            return 1;
        s++;
    }
    return 0;
}

/* The {ref} of q: q->ref, else what q->ref_get answers (asked only here,
 * when a screen shows {ref}), else "". */
static const char *layout_ref(const struct menu_layout *q)
{
    const char *ref = q->ref;

    if (!ref && q->ref_get)
        ref = q->ref_get(q->ref_arg);
    return ref ? ref : "";
}

/* Appends src to b with {ref} replaced by q's reference and {name} by the
 * session variable `name` ("" when missing or when q->st is NULL). */
static void sb_subst(struct sbuf *b, const char *src,
                     const struct menu_layout *q)
{
    const struct menu_state *st = q->st;

    while (*src) {
        const char *brace = strchr(src, '{');
        char name[MENU_NAME_MAX];
        const char *val;
        size_t n;

        if (!brace) {
            sb_puts(b, src);
            return;
        }
        sb_put(b, src, (size_t)(brace - src));
        n = brace_len(brace);
        if (n == 0) {
            sb_put(b, "{", 1);
            src = brace + 1;
            continue;
        }
        memcpy(name, brace + 1, n - 2);
        name[n - 2] = '\0';
        if (strcmp(name, "ref") == 0)
            val = layout_ref(q);
        else
            val = st ? menu_state_get(st, name) : NULL;
        if (val)
            sb_puts(b, val);
        src = brace + n;
    }
}

/* Stores raw (folded when the channel folds) as the next piece of p. */
static int store(struct parts *p, const struct sbuf *raw, struct span *out)
{
    size_t room = sizeof p->work - p->used;
    int n;

    if (raw->over)
        return MENU_ENOSPC;
    if (p->r->fold) {
        n = menu_fold(raw->p, p->work + p->used, room);
        if (n < 0)
            return MENU_ENOSPC;
    } else {
        if (raw->len + 1 > room)
            return MENU_ENOSPC;
        memcpy(p->work + p->used, raw->p, raw->len + 1);
        n = (int)raw->len;
    }
    out->off = p->used;
    out->len = (size_t)n;
    out->units = 0;
    p->used += (size_t)n + 1;
    return 0;
}

/* Stores the line "KEY. TEXT" (TEXT substituted). */
static int store_line(struct parts *p, struct sbuf *raw, const char *key,
                      const char *text, const struct menu_layout *q,
                      struct span *out)
{
    raw->len = 0;
    raw->over = 0;
    raw->p[0] = '\0';
    sb_puts(raw, key);
    sb_puts(raw, ". ");
    sb_subst(raw, text, q);
    return store(p, raw, out);
}

/* The text block: the invalid line (when asked) and the node's text. */
static int build_text(struct parts *p, struct sbuf *raw,
                      const struct menu_layout *q)
{
    const struct menu *m = q->m;
    const char *text = menu_text_get(m, &m->nodes[q->node].text, q->lang);

    raw->len = 0;
    raw->over = 0;
    raw->p[0] = '\0';
    if (q->invalid)
        sb_subst(raw, menu_text_get(m, &m->strings.invalid, q->lang), q);
    if (text && text[0]) {
        if (raw->len > 0)
            sb_put(raw, "\n", 1);
        sb_subst(raw, text, q);
    }
    if (raw->len == 0 && !raw->over)
        return 0;
    p->has_text = 1;
    return store(p, raw, &p->text);
}

/* Options, the nav footer and the more line of node q->node. */
static int build_lines(struct parts *p, struct sbuf *raw,
                       const struct menu_layout *q)
{
    const struct menu *m = q->m;
    const struct menu_node *nd = &m->nodes[q->node];
    int rc = 0;

    if (nd->type == MENU_NODE_MENU) {
        if (nd->nopts > LINES_MAX)
            return MENU_ENOSPC;
        for (size_t i = 0; i < nd->nopts && rc == 0; i++)
            if (!nd->opts[i].hidden)    /* accepted, never listed */
                rc = store_line(
                    p, raw, nd->opts[i].key ? nd->opts[i].key : "",
                    menu_text_get(m, &nd->opts[i].label, q->lang), q,
                    &p->opt[p->nopt++]);
    }
    if (rc == 0 && q->node != m->start_idx &&
        (nd->type == MENU_NODE_MENU || nd->type == MENU_NODE_INPUT ||
         nd->type == MENU_NODE_LOOKUP)) {
        if (m->nav.back)
            rc = store_line(p, raw, m->nav.back,
                            menu_text_get(m, &m->strings.back, q->lang), q,
                            &p->foot[p->nfoot++]);
        if (rc == 0 && m->nav.home)
            rc = store_line(p, raw, m->nav.home,
                            menu_text_get(m, &m->strings.home, q->lang), q,
                            &p->foot[p->nfoot++]);
    }
    if (rc == 0 && m->nav.more) {
        p->has_more = 1;
        rc = store_line(p, raw, m->nav.more,
                        menu_text_get(m, &m->strings.more, q->lang), q,
                        &p->more);
    }
    return rc;
}

/* ---- measuring -------------------------------------------------------- */

/* Units of NUL-terminated s in encoding enc. A GSM-7 text sent as UCS-2
 * costs one UTF-16 unit per character (every GSM-7 character is in the
 * BMP), whatever its GSM-7 width. */
static size_t units_in(const char *s, enum menu_enc enc)
{
    struct menu_measure m;

    menu_measure(s, &m);
    if (enc == MENU_GSM7 || m.enc == MENU_UCS2)
        return m.units;
    return m.chars;
}

static enum menu_enc enc_of(const char *s)
{
    struct menu_measure m;

    menu_measure(s, &m);
    return m.enc;
}

/* Bytes of the UTF-8 character at s (1 for a stray byte), at most n. */
static size_t char_len(const char *s, size_t n)
{
    unsigned char c = (unsigned char)s[0];
    size_t l = 1;

    if (c >= 0xF0 && c < 0xF8)
        l = 4;
    else if (c >= 0xE0)
        l = c < 0xF0 ? 3 : 1;
    else if (c >= 0xC0)
        l = 2;
    for (size_t i = 1; i < l && i < n; i++)
        if (((unsigned char)s[i] & 0xC0) != 0x80)
            return 1;
    return l <= n ? l : 1;
}

/* Units of the n bytes at s, a run of whole characters. */
static size_t char_units(const char *s, size_t n, enum menu_enc enc)
{
    char one[8];

    memcpy(one, s, n);
    one[n] = '\0';
    return units_in(one, enc);
}

/* Units of `n` lines of `sum` units joined by '\n'. */
static size_t joined(size_t sum, size_t n)
{
    return n > 0 ? sum + n - 1 : 0;
}

/* Units of the footer (with the more line when `more`) and its line count. */
static size_t foot_units(const struct parts *p, int more, size_t *nlines)
{
    size_t sum = 0, n = p->nfoot;

    for (size_t i = 0; i < p->nfoot; i++)
        sum += p->foot[i].units;
    if (more && p->has_more) {
        sum += p->more.units;
        n++;
    }
    *nlines = n;
    return joined(sum, n);
}

/* Units of the screen on one page (no more line) in p->enc. */
static size_t whole_units(const struct parts *p)
{
    size_t sum = 0, n = 0, fn;
    size_t f = foot_units(p, 0, &fn);

    if (p->has_text) {
        sum += units_in(p->work + p->text.off, p->enc);
        n++;
    }
    for (size_t i = 0; i < p->nopt; i++)
        sum += p->opt[i].units;
    n += p->nopt;
    return joined(sum, n) + f + (n > 0 && fn > 0 ? 1 : 0);
}

static void set_units(struct parts *p)
{
    for (size_t i = 0; i < p->nopt; i++)
        p->opt[i].units = units_in(p->work + p->opt[i].off, p->enc);
    for (size_t i = 0; i < p->nfoot; i++)
        p->foot[i].units = units_in(p->work + p->foot[i].off, p->enc);
    if (p->has_more)
        p->more.units = units_in(p->work + p->more.off, p->enc);
    p->limit = menu_page_limit(p->r, p->enc);
}

/* Decides the encoding of the whole screen: UCS-2 when a piece shown on
 * every layout needs it, or when the screen needs pages and the more line
 * needs it. */
static void decide_enc(struct parts *p)
{
    p->enc = MENU_GSM7;
    if (p->has_text && enc_of(p->work + p->text.off) == MENU_UCS2)
        p->enc = MENU_UCS2;
    for (size_t i = 0; i < p->nopt; i++)
        if (enc_of(p->work + p->opt[i].off) == MENU_UCS2)
            p->enc = MENU_UCS2;
    for (size_t i = 0; i < p->nfoot; i++)
        if (enc_of(p->work + p->foot[i].off) == MENU_UCS2)
            p->enc = MENU_UCS2;
    set_units(p);
    if (p->enc == MENU_GSM7 && p->has_more &&
        enc_of(p->work + p->more.off) == MENU_UCS2 &&
        whole_units(p) > p->limit) {
        p->enc = MENU_UCS2;
        set_units(p);
    }
}

/* ---- pagination ------------------------------------------------------- */

static int is_break(char c)
{
    return c == ' ' || c == '\n';
}

/* Skips breaks at the cursor's text position; marks the text done at its
 * end. */
static void skip_breaks(const struct parts *p, struct cursor *c)
{
    while (c->toff < p->text.len && is_break(p->work[p->text.off + c->toff]))
        c->toff++;
    if (c->toff >= p->text.len)
        c->text_done = 1;
}

/* Cuts from the text block the longest chunk of at most cap units that ends
 * before a space or line break; failing that, as many whole characters as
 * fit. Returns MENU_ENOSPC when not even one character fits. */
static int cut_text(const struct parts *p, struct cursor *c, size_t cap,
                    struct page *pg)
{
    const char *s = p->work + p->text.off + c->toff;
    size_t n = p->text.len - c->toff;
    size_t acc = 0, i = 0, brk = 0, hard = 0;

    while (i < n) {
        size_t l = char_len(s + i, n - i);

        if (is_break(s[i]) && i > 0)
            brk = i;
        acc += char_units(s + i, l, p->enc);
        if (acc > cap)
            break;
        i += l;
        hard = i;
    }
    if (brk == 0)
        brk = hard;
    if (brk == 0)
        return MENU_ENOSPC;
    pg->has_chunk = 1;
    pg->coff = p->text.off + c->toff;
    pg->clen = brk;
    while (pg->clen > 0 && is_break(s[pg->clen - 1]))
        pg->clen--;
    c->toff += brk;
    skip_breaks(p, c);
    return 0;
}

/* Lays out the next page from c: everything left when it fits next to the
 * footer, else as much as fits next to the footer and the more line. */
static int next_page(const struct parts *p, struct cursor *c, struct page *pg)
{
    size_t fn, fmn, tu = 0, sum = 0, n = 0, used = 0, cap;
    size_t f = foot_units(p, 0, &fn);
    size_t fm = foot_units(p, 1, &fmn);

    memset(pg, 0, sizeof *pg);
    pg->oa = pg->ob = c->opt;
    if (!c->text_done) {
        tu = units_in(p->work + p->text.off + c->toff, p->enc);
        sum += tu;
        n++;
    }
    for (size_t i = c->opt; i < p->nopt; i++)
        sum += p->opt[i].units;
    n += p->nopt - c->opt;
    if (joined(sum, n) + f + (n > 0 && fn > 0 ? 1 : 0) <= p->limit) {
        if (!c->text_done) {
            pg->has_chunk = 1;
            pg->coff = p->text.off + c->toff;
            pg->clen = p->text.len - c->toff;
            c->text_done = 1;
        }
        pg->ob = c->opt = p->nopt;
        return 0;
    }
    pg->more = p->has_more;
    if (fm + (fmn > 0 ? 1 : 0) >= p->limit)
        return MENU_ENOSPC;
    cap = p->limit - fm - (fmn > 0 ? 1 : 0);
    n = 0;
    if (!c->text_done) {
        if (tu > cap)
            return cut_text(p, c, cap, pg);
        pg->has_chunk = 1;
        pg->coff = p->text.off + c->toff;
        pg->clen = p->text.len - c->toff;
        c->text_done = 1;
        used = tu;
        n = 1;
    }
    while (c->opt < p->nopt &&
           used + p->opt[c->opt].units + (n > 0 ? 1 : 0) <= cap) {
        used += p->opt[c->opt].units + (n > 0 ? 1 : 0);
        c->opt++;
        n++;
    }
    pg->ob = c->opt;
    return n > 0 ? 0 : MENU_ENOSPC;
}

static void emit_line(struct sbuf *b, const char *s, size_t n)
{
    if (b->len > 0)
        sb_put(b, "\n", 1);
    sb_put(b, s, n);
}

/* Writes page pg into b (cap MENU_SCREEN_MAX). */
static void emit_page(const struct parts *p, const struct page *pg,
                      struct sbuf *b)
{
    b->len = 0;
    b->over = 0;
    b->p[0] = '\0';
    if (pg->has_chunk)
        emit_line(b, p->work + pg->coff, pg->clen);
    for (size_t i = pg->oa; i < pg->ob; i++)
        emit_line(b, p->work + p->opt[i].off, p->opt[i].len);
    for (size_t i = 0; i < p->nfoot; i++)
        emit_line(b, p->work + p->foot[i].off, p->foot[i].len);
    if (pg->more)
        emit_line(b, p->work + p->more.off, p->more.len);
}

/* Cuts the screen into pages; writes page `want` (clamped to the last)
 * into out and the widest page's units into *widest. */
static int paginate(const struct parts *p, int want, struct menu_screen *out,
                    size_t *widest)
{
    struct cursor c = { 0, !p->has_text, 0 };
    struct page pg;
    char buf[MENU_SCREEN_MAX];
    struct sbuf b = { buf, 0, sizeof buf, 0 };
    int k = 0;

    *widest = 0;
    do {
        int rc = next_page(p, &c, &pg);
        size_t u;

        if (rc < 0)
            return rc;
        emit_page(p, &pg, &b);
        if (b.over)
            return MENU_ENOSPC;
        u = units_in(buf, p->enc);
        if (u > *widest)
            *widest = u;
        if (k <= want) {
            memcpy(out->text, buf, b.len + 1);
            out->page = k;
        }
        k++;
    } while (!c.text_done || c.opt < p->nopt);
    out->pages = k;
    return 0;
}

/* ---- the entry points ------------------------------------------------- */

static int layout_valid(const struct menu_layout *q)
{
    return q && q->m && q->r && q->m->nodes && q->node >= 0 &&
           (size_t)q->node < q->m->nnodes && q->lang >= 0 &&
           (size_t)q->lang < q->m->nlangs && q->lang < MENU_MAX_LANGS;
}

/* Builds the parts of q's screen and paginates it. */
static int layout(const struct menu_layout *q, struct parts *p,
                  struct menu_screen *out, size_t *widest)
{
    char rawbuf[WORK_MAX];
    struct sbuf raw = { rawbuf, 0, sizeof rawbuf, 0 };
    int rc;

    memset(out, 0, sizeof *out);
    out->pages = -1;
    *widest = 0;
    if (!layout_valid(q))
        return MENU_EINVAL;
    p->used = 0;
    p->r = q->r;
    p->enc = MENU_GSM7;
    p->limit = menu_page_limit(q->r, MENU_GSM7);
    p->has_text = 0;
    p->nopt = p->nfoot = 0;
    p->has_more = 0;
    rc = build_text(p, &raw, q);
    if (rc == 0)
        rc = build_lines(p, &raw, q);
    if (rc < 0)
        return rc;
    decide_enc(p);
    rc = paginate(p, q->page < 0 ? 0 : q->page, out, widest);
    if (rc < 0) {
        out->text[0] = '\0';
        out->pages = -1;
        out->page = 0;
    }
    menu_measure(out->text, &out->measure);
    return rc;
}

int menu_layout_screen(const struct menu_layout *q, struct menu_screen *out)
{
    struct parts p;
    size_t widest;

    return layout(q, &p, out, &widest);
}

int menu_layout_text(const char *text, const struct menu_render *r,
                     struct menu_screen *out)
{
    struct parts p;
    char rawbuf[WORK_MAX];
    struct sbuf raw = { rawbuf, 0, sizeof rawbuf, 0 };
    size_t widest;
    int rc;

    memset(out, 0, sizeof *out);
    out->pages = -1;
    if (!text || !r)
        return MENU_EINVAL;
    p.used = 0;
    p.r = r;
    p.has_text = text[0] != '\0';
    p.nopt = p.nfoot = 0;
    p.has_more = 0;
    rawbuf[0] = '\0';
    sb_puts(&raw, text);
    rc = p.has_text ? store(&p, &raw, &p.text) : 0;
    if (rc == 0) {
        p.has_text = p.has_text && p.text.len > 0;
        decide_enc(&p);
        rc = paginate(&p, 0, out, &widest);
    }
    if (rc < 0) {
        out->text[0] = '\0';
        out->pages = -1;
    }
    menu_measure(out->text, &out->measure);
    return rc;
}

int menu_fit_node(const struct menu *m, int node, int lang,
                  const struct menu_render *r, struct menu_fit *out)
{
    struct menu_layout q = { m, node, lang, r, NULL, FIT_REF, 0, 0, NULL,
                             NULL };
    struct menu_screen scr;
    struct parts p;
    size_t widest;
    int rc;

    if (!out)
        return MENU_EINVAL;
    memset(out, 0, sizeof *out);
    out->pages = -1;
    rc = layout(&q, &p, &scr, &widest);
    if (rc == MENU_EINVAL)
        return rc;
    out->enc = p.enc;
    out->limit = p.limit;
    if (rc < 0)
        return rc;
    out->pages = scr.pages;
    out->units = widest;
    return 0;
}
