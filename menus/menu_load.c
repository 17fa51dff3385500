/*
 * menu_load.c — reads an operator's libconfig menu file into a struct menu.
 *
 * The only file in menus/ that includes <libconfig.h>. It turns the parse
 * tree into the plain structs of menu.h and reports what the structs cannot
 * hold: syntax errors (with libconfig's line), settings of the wrong kind
 * ("must be a text in double quotes"), unknown `type` and `accept` words,
 * language codes not listed in `languages`, text that is not UTF-8, and
 * files, lists or texts over the size caps below. Then it hands the tree to
 * menu_check() (menu_check.c), which reports everything that can be judged
 * from the structs alone: dangling `next`, duplicate keys, fields never
 * saved, screens that do not fit, and so on.
 *
 * The top-level settings are checked here too (name, language codes, nav
 * keys, keywords), because only here are their lines known.
 *
 * Loading is best effort: after an error the loader goes on, so one run
 * reports every problem of a file, and only at the end throws the half-built
 * menu away. Every allocation is checked; running out of memory is reported
 * as one more error. No I/O but reading the one file menu_load_file names.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libconfig.h>

#include "menu_int.h"

/* Size caps: beyond them a menu is refused (an operator's menu is far
 * smaller; the caps bound memory and time on hostile files). The node cap
 * may be lifted at compile time only for `make bench`'s menu-size figure
 * (tests/bench/run.sh builds a timing tool with a larger one). */
#ifndef LOAD_MAX_NODES
#define LOAD_MAX_NODES 512
#endif
#define LOAD_MAX_OPTS 32
#define LOAD_MAX_KEYWORDS 32
#define LOAD_MAX_SETS MENU_VARS_MAX     /* variables one option sets */
#define LOAD_MAX_FIELDS MENU_VARS_MAX   /* fields one forward sends */
#define LOAD_TEXT_MAX (MENU_SCREEN_MAX - 1) /* bytes of one text or label */

/* One load in progress. */
struct load {
    struct menu *m;
    struct menu_diags *d;
    const char *node;       /* node being read, for diagnostics; NULL = none */
    int oom;                /* an allocation failed */
};

static const char *const nav_names[] = { "back", "home", "more", "quit" };

/* ---- small helpers ------------------------------------------------------ */

static int line_of(const config_setting_t *s)
{
    if (!s)
        return 0;
    return config_setting_source_line(s) > INT_MAX
               ? INT_MAX
               : (int)config_setting_source_line(s);
}

/* Adds a diagnostic about setting s (its line) in the current node. */
static void report(struct load *L, enum menu_severity sev,
                   const config_setting_t *s, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void report(struct load *L, enum menu_severity sev,
                   const config_setting_t *s, const char *fmt, ...)
{
    char msg[512];                  /* menu_diag_add cuts it to size */
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    menu_diag_add(L->d, sev, line_of(s), L->node, "%s", msg);
}

/* strdup that records a failure in L. */
static char *dup_str(struct load *L, const char *s)
{
    char *p = strdup(s ? s : "");

    if (!p)
        L->oom = 1;
    return p;
}

/* calloc that records a failure in L; n == 0 gives NULL without failing. */
static void *alloc_n(struct load *L, size_t n, size_t size)
{
    void *p;

    if (n == 0)
        return NULL;
    p = calloc(n, size);
    if (!p)
        L->oom = 1;
    return p;
}

static int is_letter(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int is_alnum(char c)
{
    return is_letter(c) || (c >= '0' && c <= '9');
}

/* 1 when s is one or more ASCII letters or digits. */
static int plain_word(const char *s)
{
    if (!s || !*s)
        return 0;
    for (; *s; s++)
        if (!is_alnum(*s))
            return 0;
    return 1;
}

/* A copy of s short enough to quote in a message: at most CLIP_MAX bytes,
 * cut at a character boundary, with "..." when cut. */
#define CLIP_MAX 40
struct clip {
    char s[CLIP_MAX + 4];
};

static const char *clip(const char *s, struct clip *c)
{
    size_t n = strlen(s);

    if (n <= CLIP_MAX)
        return s;
    n = CLIP_MAX;
    while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
        n--;
    memcpy(c->s, s, n);
    memcpy(c->s + n, "...", 4);
    return c->s;
}

/* 1 when s can be a language code: a letter, then letters, digits, '_' or
 * '-' (what libconfig accepts as a setting name, so it can head a text
 * group), shorter than MENU_NAME_MAX. */
static int lang_code_ok(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n >= MENU_NAME_MAX || !is_letter(s[0]))
        return 0;
    for (size_t i = 1; i < n; i++)
        if (!is_alnum(s[i]) && s[i] != '_' && s[i] != '-')
            return 0;
    return 1;
}

/* Length of a list setting (array or list), or -1 when s is neither. An
 * empty `()` or `[]` is either kind. */
static int list_length(const config_setting_t *s)
{
    if (config_setting_type(s) != CONFIG_TYPE_ARRAY &&
        config_setting_type(s) != CONFIG_TYPE_LIST)
        return -1;
    return config_setting_length(s);
}

/* ---- strings and texts -------------------------------------------------- */

/*
 * Copies the string value of setting s (named `what` in messages). Checks
 * that it is a string, valid UTF-8 and at most `cap` bytes. Returns the copy
 * (caller frees); on a problem reports it and returns NULL for a value of
 * the wrong kind, "" for bad UTF-8 or an oversized text (so later checks do
 * not report the same text again as missing).
 */
static char *string_of(struct load *L, const config_setting_t *s,
                       const char *what, size_t cap)
{
    const char *v;
    size_t n;

    if (config_setting_type(s) != CONFIG_TYPE_STRING) {
        report(L, MENU_SEV_ERROR, s, "%s must be a text in double quotes",
               what);
        return NULL;
    }
    v = config_setting_get_string(s);
    n = strlen(v);
    if (!menu_utf8_valid(v, n)) {
        report(L, MENU_SEV_ERROR, s,
               "%s is not valid UTF-8: save the file as UTF-8", what);
        return dup_str(L, "");
    }
    if (n > cap) {
        report(L, MENU_SEV_ERROR, s,
               "%s is longer than %zu bytes: make it shorter", what, cap);
        return dup_str(L, "");
    }
    return dup_str(L, v);
}

/* The string member `name` of group g (NULL when absent or not a string;
 * the latter is reported). */
static char *member_string(struct load *L, const config_setting_t *g,
                           const char *name, size_t cap)
{
    const config_setting_t *s = config_setting_get_member(g, name);

    return s ? string_of(L, s, name, cap) : NULL;
}

/* One language's string of a text group. */
static void text_lang(struct load *L, const config_setting_t *e,
                      const char *what, struct menu_text *t)
{
    const char *code = config_setting_name(e);
    int idx;
    char label[MENU_NAME_MAX * 2 + 8];

    if (L->m->nlangs == 0)
        return;                 /* the checker reports missing languages */
    idx = menu_lang_index(L->m, code);
    if (idx < 0) {
        report(L, MENU_SEV_ERROR, e,
               "language \"%s\" is not listed in languages", code);
        return;
    }
    snprintf(label, sizeof label, "%s.%s", what, code);
    free(t->lang[idx]);
    t->lang[idx] = string_of(L, e, label, LOAD_TEXT_MAX);
    if (!t->lang[idx])          /* reported once, not again as missing */
        t->lang[idx] = dup_str(L, "");
}

/* Reads setting s (a text or a label, named `what`) into t: one string for
 * every language, or a group with one string per language. */
static void text_from(struct load *L, const config_setting_t *s,
                      const char *what, struct menu_text *t)
{
    int n;

    if (!s)
        return;
    t->line = line_of(s);
    if (config_setting_type(s) == CONFIG_TYPE_STRING) {
        t->all = string_of(L, s, what, LOAD_TEXT_MAX);
        return;
    }
    if (config_setting_type(s) != CONFIG_TYPE_GROUP) {
        report(L, MENU_SEV_ERROR, s,
               "%s must be a text in double quotes, or one text per "
               "language: %s = { en = \"...\"; }", what, what);
        t->all = dup_str(L, "");    /* reported once, not again as missing */
        return;
    }
    n = config_setting_length(s);
    for (int i = 0; i < n; i++)
        text_lang(L, config_setting_get_elem(s, (unsigned)i), what, t);
}

/* ---- top-level settings ------------------------------------------------- */

/* One code of `languages`: kept when valid and new. */
static void language_one(struct load *L, const config_setting_t *e)
{
    struct menu *m = L->m;
    char *code = string_of(L, e, "a language code", LOAD_TEXT_MAX);
    struct clip c;

    if (!code)
        return;
    if (!lang_code_ok(code)) {
        report(L, MENU_SEV_ERROR, e,
               "language code \"%s\" may only use letters, digits, _ and -, "
               "starting with a letter (at most 47)", clip(code, &c));
    } else if (menu_lang_index(m, code) >= 0) {
        report(L, MENU_SEV_ERROR, e, "language \"%s\" is listed twice", code);
    } else if (m->nlangs >= MENU_MAX_LANGS) {
        report(L, MENU_SEV_ERROR, e, "more than %d languages",
               MENU_MAX_LANGS);
    } else {
        m->langs[m->nlangs++] = code;
        return;
    }
    free(code);
}

static void load_languages(struct load *L, const config_setting_t *root)
{
    const config_setting_t *s = config_setting_get_member(root, "languages");
    int n;

    if (!s)
        return;
    n = list_length(s);
    if (n < 0) {
        report(L, MENU_SEV_ERROR, s,
               "languages must be a list of codes, like "
               "languages = [ \"vi\", \"en\" ];");
        return;
    }
    for (int i = 0; i < n; i++)
        language_one(L, config_setting_get_elem(s, (unsigned)i));
}

/* `keywords`: SMS words; warns about words a basic phone may not type. */
static void load_keywords(struct load *L, const config_setting_t *root)
{
    const config_setting_t *s = config_setting_get_member(root, "keywords");
    int n;

    if (!s)
        return;
    n = list_length(s);
    if (n < 0) {
        report(L, MENU_SEV_ERROR, s,
               "keywords must be a list of words, like "
               "keywords = [ \"HELP\", \"JOB\" ];");
        return;
    }
    if (n > LOAD_MAX_KEYWORDS) {
        report(L, MENU_SEV_ERROR, s, "more than %d keywords",
               LOAD_MAX_KEYWORDS);
        n = LOAD_MAX_KEYWORDS;
    }
    L->m->keywords = alloc_n(L, (size_t)n, sizeof *L->m->keywords);
    if (!L->m->keywords)
        return;
    for (int i = 0; i < n; i++) {
        const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
        char *w = string_of(L, e, "a keyword", LOAD_TEXT_MAX);
        struct clip c;

        if (!w)
            continue;
        if (strlen(w) >= MENU_NAME_MAX)
            report(L, MENU_SEV_ERROR, e,
                   "keyword \"%s\" is longer than 47 characters",
                   clip(w, &c));
        else if (!plain_word(w))
            report(L, MENU_SEV_WARNING, e,
                   "keyword \"%s\" is not plain ASCII letters and digits: "
                   "callers may not be able to type it", w);
        L->m->keywords[L->m->nkeywords++] = w;
    }
}

/* The nav key slot named name. */
static char **nav_slot(struct menu_nav *nav, size_t i)
{
    char **slots[] = { &nav->back, &nav->home, &nav->more, &nav->quit };

    return slots[i];
}

/* `nav`: four optional keys, letters or digits, all different. */
static void load_nav(struct load *L, const config_setting_t *root)
{
    const config_setting_t *s = config_setting_get_member(root, "nav");
    const size_t nn = sizeof nav_names / sizeof nav_names[0];

    if (!s)
        return;
    if (config_setting_type(s) != CONFIG_TYPE_GROUP) {
        report(L, MENU_SEV_ERROR, s,
               "nav must be a group, like nav = { back = \"0\"; home = \"00\"; "
               "more = \"98\"; };");
        return;
    }
    for (size_t i = 0; i < nn; i++) {
        const config_setting_t *e = config_setting_get_member(s, nav_names[i]);
        char what[16];
        char *key;
        struct clip c;

        if (!e)
            continue;
        snprintf(what, sizeof what, "nav.%s", nav_names[i]);
        key = string_of(L, e, what, LOAD_TEXT_MAX);
        if (!key)
            continue;
        if (!plain_word(key) || strlen(key) >= MENU_NAME_MAX)
            report(L, MENU_SEV_ERROR, e,
                   "%s \"%s\" may only use digits and letters (at most 47)",
                   what, clip(key, &c));
        for (size_t j = 0; j < i; j++)
            if (*nav_slot(&L->m->nav, j) &&
                strcmp(*nav_slot(&L->m->nav, j), key) == 0)
                report(L, MENU_SEV_ERROR, e, "%s \"%s\" is also nav.%s", what,
                       key, nav_names[j]);
        *nav_slot(&L->m->nav, i) = key;
    }
}

/* `strings`: the words the engine adds itself. */
static void load_strings(struct load *L, const config_setting_t *root)
{
    const config_setting_t *s = config_setting_get_member(root, "strings");
    struct menu_strings *st = &L->m->strings;
    static const char *const names[] = { "back", "home", "more", "invalid",
                                         "quit", "resume" };
    struct menu_text *texts[] = { &st->back, &st->home, &st->more,
                                  &st->invalid, &st->quit, &st->resume };

    if (!s)
        return;
    if (config_setting_type(s) != CONFIG_TYPE_GROUP) {
        report(L, MENU_SEV_ERROR, s,
               "strings must be a group, like strings = { back = \"Back\"; };");
        return;
    }
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char what[24];

        snprintf(what, sizeof what, "strings.%s", names[i]);
        text_from(L, config_setting_get_member(s, names[i]), what, texts[i]);
    }
}

/* `name`: letters, digits, _ and - (channels and Redis keys use it). */
static void load_name(struct load *L, const config_setting_t *root)
{
    const config_setting_t *s = config_setting_get_member(root, "name");
    const char *p;
    struct clip c;

    if (!s)
        return;
    L->m->name = string_of(L, s, "name", LOAD_TEXT_MAX);
    for (p = L->m->name; p && *p; p++)
        if (!is_alnum(*p) && *p != '_' && *p != '-')
            break;
    if ((p && *p) || (L->m->name && strlen(L->m->name) >= MENU_NAME_MAX))
        report(L, MENU_SEV_ERROR, s,
               "name \"%s\" may only use letters, digits, _ and - (at most "
               "47)", clip(L->m->name, &c));
}

/* ---- options and nodes -------------------------------------------------- */

/* `set = { name = "value"; ... }` of one option. */
static void load_set(struct load *L, const config_setting_t *s,
                     struct menu_option *o)
{
    int n;

    if (config_setting_type(s) != CONFIG_TYPE_GROUP) {
        report(L, MENU_SEV_ERROR, s,
               "set must be a group, like set = { safe_to_call = \"yes\"; };");
        return;
    }
    n = config_setting_length(s);
    if (n > LOAD_MAX_SETS) {
        report(L, MENU_SEV_ERROR, s,
               "one option may set at most %d variables", LOAD_MAX_SETS);
        n = LOAD_MAX_SETS;
    }
    o->set = alloc_n(L, (size_t)n, sizeof *o->set);
    if (!o->set)
        return;
    for (int i = 0; i < n; i++) {
        const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
        char *v = string_of(L, e, config_setting_name(e),
                            MENU_VAR_VALUE_MAX - 1);

        if (!v)
            continue;
        o->set[o->nset].name = dup_str(L, config_setting_name(e));
        o->set[o->nset].value = v;
        o->nset++;
    }
}

/* The option's `language = "code"`. */
static void load_option_lang(struct load *L, const config_setting_t *s,
                             struct menu_option *o)
{
    char *code = string_of(L, s, "language", LOAD_TEXT_MAX);
    struct clip c;

    if (code && L->m->nlangs > 0) {
        o->language = menu_lang_index(L->m, code);
        if (o->language < 0)
            report(L, MENU_SEV_ERROR, s,
                   "language \"%s\" is not listed in languages",
                   clip(code, &c));
    }
    free(code);
}

/* A true/false member `name` of group g; absent is dflt. Reports a value
 * of another kind. */
static int load_bool(struct load *L, const config_setting_t *g,
                     const char *name, int dflt)
{
    const config_setting_t *s = config_setting_get_member(g, name);

    if (!s)
        return dflt;
    if (config_setting_type(s) != CONFIG_TYPE_BOOL) {
        report(L, MENU_SEV_ERROR, s,
               "%s must be true or false, without quotes: %s = true;", name,
               name);
        return dflt;
    }
    return config_setting_get_bool(s) ? 1 : 0;
}

/* A calling code (`country = "84";`): 1 to 3 digits, not starting with 0.
 * Returns the copy, or NULL after reporting. */
static char *load_country(struct load *L, const config_setting_t *g)
{
    const config_setting_t *s = config_setting_get_member(g, "country");
    char *v;
    size_t n;

    if (!s)
        return NULL;
    v = string_of(L, s, "country", LOAD_TEXT_MAX);
    if (!v)
        return NULL;
    if (v[0] == '+')
        memmove(v, v + 1, strlen(v));
    n = strlen(v);
    for (size_t i = 0; i < n; i++)
        if (v[i] < '0' || v[i] > '9')
            n = 0;
    if (n < 1 || n > 3 || v[0] == '0') {
        report(L, MENU_SEV_ERROR, s,
               "country must be a calling code of 1 to 3 digits, like "
               "country = \"84\";");
        free(v);
        return NULL;
    }
    return v;
}

/* One `{ key = ...; label = ...; next = ...; }` of a menu node. */
static void load_option(struct load *L, const config_setting_t *s,
                        struct menu_option *o)
{
    const config_setting_t *e;

    o->language = -1;
    o->next_idx = -1;
    o->line = line_of(s);
    o->key = member_string(L, s, "key", LOAD_TEXT_MAX);
    text_from(L, config_setting_get_member(s, "label"), "label", &o->label);
    e = config_setting_get_member(s, "language");
    if (e)
        load_option_lang(L, e, o);
    e = config_setting_get_member(s, "set");
    if (e)
        load_set(L, e, o);
    o->next = member_string(L, s, "next", LOAD_TEXT_MAX);
    o->hidden = load_bool(L, s, "hidden", 0);
}

/* `options = ( {...}, ... );` of a menu node. */
static void load_options(struct load *L, const config_setting_t *s,
                         struct menu_node *nd)
{
    int n = list_length(s);

    if (n < 0) {
        report(L, MENU_SEV_ERROR, s,
               "options must be a list of groups, like options = ( { key = "
               "\"1\"; label = \"...\"; next = \"...\"; } );");
        return;
    }
    if (n > LOAD_MAX_OPTS) {
        report(L, MENU_SEV_ERROR, s,
               "more than %d options: split them over two screens",
               LOAD_MAX_OPTS);
        n = LOAD_MAX_OPTS;
    }
    nd->opts = alloc_n(L, (size_t)n, sizeof *nd->opts);
    if (!nd->opts)
        return;
    for (int i = 0; i < n; i++) {
        const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);

        if (config_setting_type(e) != CONFIG_TYPE_GROUP) {
            report(L, MENU_SEV_ERROR, e,
                   "each option must be a group, like { key = \"1\"; "
                   "label = \"...\"; next = \"...\"; }");
            continue;
        }
        load_option(L, e, &nd->opts[nd->nopts++]);
    }
}

/* `type = "menu" | "input" | "end" | "forward"`. */
static void load_type(struct load *L, const config_setting_t *g,
                      struct menu_node *nd)
{
    static const char *const names[] = { "menu", "input", "end", "forward",
                                         "lookup" };
    const config_setting_t *s = config_setting_get_member(g, "type");
    struct clip c;
    char *t;

    nd->type = MENU_NODE_END;
    if (!s) {
        report(L, MENU_SEV_ERROR, g,
               "type is missing: add type = \"menu\"; (or input, end, "
               "forward, lookup)");
        return;
    }
    t = string_of(L, s, "type", LOAD_TEXT_MAX);
    if (!t)
        return;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (strcmp(t, names[i]) == 0) {
            nd->type = (enum menu_node_type)i;
            free(t);
            return;
        }
    }
    report(L, MENU_SEV_ERROR, s,
           "unknown type \"%s\": use menu, input, end, forward or lookup",
           clip(t, &c));
    free(t);
}

/* `accept = "text" | "digits" | "phone"` of an input node. */
static void load_accept(struct load *L, const config_setting_t *s,
                        struct menu_node *nd)
{
    static const char *const names[] = { "text", "digits", "phone" };
    char *a = string_of(L, s, "accept", LOAD_TEXT_MAX);
    struct clip c;

    nd->accept = MENU_ACCEPT_TEXT;
    if (!a)
        return;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (strcmp(a, names[i]) == 0) {
            nd->accept = (enum menu_accept)i;
            free(a);
            return;
        }
    }
    report(L, MENU_SEV_ERROR, s,
           "accept \"%s\" is not one of text, digits, phone", clip(a, &c));
    free(a);
}

/* An integer member (`min`, `max`); absent is 0. Out-of-range values are
 * clamped to int and left to the checker's range checks. */
static int load_int(struct load *L, const config_setting_t *g,
                    const char *name)
{
    const config_setting_t *s = config_setting_get_member(g, name);
    long long v;

    if (!s)
        return 0;
    if (config_setting_type(s) != CONFIG_TYPE_INT &&
        config_setting_type(s) != CONFIG_TYPE_INT64) {
        report(L, MENU_SEV_ERROR, s,
               "%s must be a whole number, like %s = 2;", name, name);
        return 0;
    }
    v = config_setting_get_int64(s);
    if (v > INT_MAX)
        return INT_MAX;
    if (v < INT_MIN)
        return INT_MIN;
    return (int)v;
}

/* `sms_resume_s`: how long an idle SMS walk resumes on digits (seconds,
 * 0 = always, absent = MENU_SMS_RESUME_S). At most a day. */
static void load_sms_resume(struct load *L, const config_setting_t *root)
{
    const config_setting_t *s = config_setting_get_member(root,
                                                          "sms_resume_s");
    int v;

    L->m->sms_resume_s = MENU_SMS_RESUME_S;
    if (!s)
        return;
    v = load_int(L, root, "sms_resume_s");
    if (v < 0 || v > 86400) {
        report(L, MENU_SEV_ERROR, s,
               "sms_resume_s must be 0 to 86400 seconds, like "
               "sms_resume_s = 300;");
        return;
    }
    L->m->sms_resume_s = v;
}

/* `match = ( { value = "4321"; next = "help"; }, ... );` of an input node;
 * `save_match` on the node is the default of its entries. */
static void load_match(struct load *L, const config_setting_t *g,
                       struct menu_node *nd)
{
    const config_setting_t *s = config_setting_get_member(g, "match");
    int save = load_bool(L, g, "save_match", 0);
    int n;

    if (!s)
        return;
    n = list_length(s);
    if (n < 0) {
        report(L, MENU_SEV_ERROR, s,
               "match must be a list of groups, like match = ( { value = "
               "\"4321\"; next = \"help\"; } );");
        return;
    }
    if (n > LOAD_MAX_OPTS) {
        report(L, MENU_SEV_ERROR, s, "more than %d match values",
               LOAD_MAX_OPTS);
        n = LOAD_MAX_OPTS;
    }
    nd->match = alloc_n(L, (size_t)n, sizeof *nd->match);
    if (!nd->match)
        return;
    for (int i = 0; i < n; i++) {
        const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
        struct menu_match *mt;

        if (config_setting_type(e) != CONFIG_TYPE_GROUP) {
            report(L, MENU_SEV_ERROR, e,
                   "each match must be a group, like { value = \"4321\"; "
                   "next = \"help\"; }");
            continue;
        }
        mt = &nd->match[nd->nmatch++];
        mt->line = line_of(e);
        mt->next_idx = -1;
        mt->value = member_string(L, e, "value", MENU_VAR_VALUE_MAX - 1);
        mt->next = member_string(L, e, "next", LOAD_TEXT_MAX);
        mt->save = load_bool(L, e, "save_match", save);
    }
}

/* `resume_s`: how long a dropped USSD walk may be resumed (seconds,
 * 0 = off, absent = MENU_RESUME_S). At most a day. */
static void load_resume(struct load *L, const config_setting_t *root)
{
    const config_setting_t *s = config_setting_get_member(root, "resume_s");
    int v;

    L->m->resume_s = MENU_RESUME_S;
    if (!s)
        return;
    v = load_int(L, root, "resume_s");
    if (v < 0 || v > 86400) {
        report(L, MENU_SEV_ERROR, s,
               "resume_s must be 0 to 86400 seconds, like resume_s = 300;");
        return;
    }
    L->m->resume_s = v;
}

/* `fields = [ "location", ... ]` of a forward node. */
static void load_fields(struct load *L, const config_setting_t *s,
                        struct menu_node *nd)
{
    int n = list_length(s);

    if (n < 0) {
        report(L, MENU_SEV_ERROR, s,
               "fields must be a list of variable names, like "
               "fields = [ \"location\" ];");
        return;
    }
    if (n > LOAD_MAX_FIELDS) {
        report(L, MENU_SEV_ERROR, s,
               "more than %d fields: a session holds at most %d variables",
               LOAD_MAX_FIELDS, MENU_VARS_MAX);
        n = LOAD_MAX_FIELDS;
    }
    nd->fields = alloc_n(L, (size_t)n, sizeof *nd->fields);
    if (!nd->fields)
        return;
    for (int i = 0; i < n; i++) {
        char *f = string_of(L, config_setting_get_elem(s, (unsigned)i),
                            "a field", LOAD_TEXT_MAX);

        if (f)
            nd->fields[nd->nfields++] = f;
    }
}

/* `lists = [ "licensed" ];` and the outcome nodes of a lookup node. */
static void load_lookup(struct load *L, const config_setting_t *g,
                        struct menu_node *nd)
{
    static const char *const outs[MENU_OUT_COUNT] = {
        "found", "reported", "unknown", "near", "error"
    };
    const config_setting_t *s = config_setting_get_member(g, "lists");
    int n;

    for (size_t i = 0; i < MENU_OUT_COUNT; i++) {
        nd->on[i] = member_string(L, g, outs[i], LOAD_TEXT_MAX);
        nd->on_idx[i] = -1;
    }
    if (!s)
        return;
    n = list_length(s);
    if (n < 0) {
        report(L, MENU_SEV_ERROR, s,
               "lists must be a list of list names, like "
               "lists = [ \"licensed\" ];");
        return;
    }
    if (n > MENU_LOOKUP_LISTS_MAX) {
        report(L, MENU_SEV_ERROR, s, "more than %d lists",
               MENU_LOOKUP_LISTS_MAX);
        n = MENU_LOOKUP_LISTS_MAX;
    }
    for (int i = 0; i < n; i++) {
        char *v = string_of(L, config_setting_get_elem(s, (unsigned)i),
                            "a list", LOAD_TEXT_MAX);

        if (v)
            nd->lists[nd->nlists++] = v;
    }
}

/*
 * One node. Every setting any type may have is read whatever the type, so
 * a node with an unknown type still has its other problems reported; the
 * checker judges which settings the type needs.
 */
static void load_node(struct load *L, const config_setting_t *g,
                      struct menu_node *nd)
{
    const config_setting_t *s;

    nd->name = dup_str(L, config_setting_name(g));
    nd->line = line_of(g);
    nd->next_idx = -1;
    L->node = nd->name;
    load_type(L, g, nd);
    text_from(L, config_setting_get_member(g, "text"), "text", &nd->text);
    s = config_setting_get_member(g, "options");
    if (s)
        load_options(L, s, nd);
    nd->save = member_string(L, g, "save", LOAD_TEXT_MAX);
    s = config_setting_get_member(g, "accept");
    if (s)
        load_accept(L, s, nd);
    nd->min = load_int(L, g, "min");
    nd->max = load_int(L, g, "max");
    nd->next = member_string(L, g, "next", LOAD_TEXT_MAX);
    load_match(L, g, nd);
    nd->country = load_country(L, g);
    nd->queue = member_string(L, g, "queue", LOAD_TEXT_MAX);
    s = config_setting_get_member(g, "fields");
    if (s)
        load_fields(L, s, nd);
    load_lookup(L, g, nd);
    L->node = NULL;
}

/* `nodes = { NAME = { ... }; ... };` */
static void load_nodes(struct load *L, const config_setting_t *root)
{
    const config_setting_t *s = config_setting_get_member(root, "nodes");
    int n;

    if (!s)
        return;
    if (config_setting_type(s) != CONFIG_TYPE_GROUP) {
        report(L, MENU_SEV_ERROR, s,
               "nodes must be a group, like nodes = { start = { type = "
               "\"end\"; text = \"...\"; }; };");
        return;
    }
    n = config_setting_length(s);
    if (n > LOAD_MAX_NODES) {
        report(L, MENU_SEV_ERROR, s, "more than %d nodes", LOAD_MAX_NODES);
        n = LOAD_MAX_NODES;
    }
    L->m->nodes = alloc_n(L, (size_t)n, sizeof *L->m->nodes);
    if (!L->m->nodes)
        return;
    for (int i = 0; i < n; i++) {
        const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);

        if (config_setting_type(e) != CONFIG_TYPE_GROUP) {
            report(L, MENU_SEV_ERROR, e,
                   "node %s must be a group, like %s = { type = \"menu\"; "
                   "... };", config_setting_name(e), config_setting_name(e));
            continue;
        }
        load_node(L, e, &L->m->nodes[L->m->nnodes++]);
    }
}

/* Builds L->m from a parsed file. */
static void load_tree(struct load *L, const config_setting_t *root)
{
    const config_setting_t *s;

    load_name(L, root);
    s = config_setting_get_member(root, "title");
    if (s)
        L->m->title = string_of(L, s, "title", LOAD_TEXT_MAX);
    load_languages(L, root);
    L->m->start = member_string(L, root, "start", LOAD_TEXT_MAX);
    L->m->start_idx = -1;
    L->m->home = member_string(L, root, "home", LOAD_TEXT_MAX);
    L->m->home_idx = -1;
    L->m->country = load_country(L, root);
    load_keywords(L, root);
    load_sms_resume(L, root);
    load_resume(L, root);
    load_nav(L, root);
    load_strings(L, root);
    load_nodes(L, root);
}

/* ---- parsing ------------------------------------------------------------ */

/* libconfig would open any file an `@include` line names: a menu file may
 * not include others. Returns the line of the first one, or 0. */
static int include_line(const char *text)
{
    int line = 1;
    const char *p = text;

    while (*p) {
        while (*p == ' ' || *p == '\t')
            p++;
        if (strncmp(p, "@include", 8) == 0)
            return line;
        p = strchr(p, '\n');
        if (!p)
            break;
        p++;
        line++;
    }
    return 0;
}

/*
 * ---- a syntax pre-check --------------------------------------------------
 *
 * libconfig 1.5 leaks the string of a "quoted" token when that token is the
 * one a syntax error stops at (`a "x"`, `a = 1.5e "x"`): bison discards it
 * without freeing it. A daemon that reloads menus, and the fuzzer, must not
 * leak, so before libconfig sees a text it is run through the same grammar
 * here, with libconfig 1.5's tokens:
 *
 *   file    = { setting } ;          group = "{" { setting } "}" ;
 *   setting = NAME ("="|":") value [ ";" | "," ] ;
 *   value   = scalar | string { string } | array | list | group ;
 *   array   = "[" [ scalar-or-strings { "," scalar-or-strings } ] "]" ;
 *   list    = "(" [ value { "," value } ] ")" ;
 *
 * An LR parser stops at the first token that cannot continue a valid
 * prefix, and so does this one; only when that token is a string does the
 * loader report the syntax error itself (at the same line libconfig would
 * give). Every other outcome, and anything this scanner is unsure of
 * (a stray character, an unclosed string or comment, very deep nesting), is
 * left to libconfig and its own message.
 */
enum tok { T_EOF, T_NAME, T_EQ, T_SEMI, T_COMMA, T_LBRACE, T_RBRACE,
           T_LPAREN, T_RPAREN, T_LBRACK, T_RBRACK, T_STRING, T_SCALAR,
           T_UNSURE };

struct lex {
    const char *p;
    int line;               /* line of p */
    enum tok tok;           /* the token just read */
    int tok_line;           /* line at its end (what libconfig reports) */
};

#define PRE_DEPTH_MAX 10000 /* libconfig's own parser stack is this deep */

static size_t digits(const char *s)
{
    size_t n = 0;

    while (s[n] >= '0' && s[n] <= '9')
        n++;
    return n;
}

static size_t hexdigits(const char *s)
{
    size_t n = 0;

    while ((s[n] >= '0' && s[n] <= '9') || (s[n] >= 'a' && s[n] <= 'f') ||
           (s[n] >= 'A' && s[n] <= 'F'))
        n++;
    return n;
}

/* Length of an exponent [eE][-+]?[0-9]+ at s, or 0. */
static size_t exponent(const char *s)
{
    size_t i = 1, d;

    if (s[0] != 'e' && s[0] != 'E')
        return 0;
    if (s[1] == '-' || s[1] == '+')
        i++;
    d = digits(s + i);
    return d ? i + d : 0;
}

/* Length of a trailing L or LL. */
static size_t long_suffix(const char *s)
{
    if (s[0] != 'L')
        return 0;
    return s[1] == 'L' ? 2 : 1;
}

static size_t max_len(size_t a, size_t b)
{
    return a > b ? a : b;
}

/* Longest match at s of libconfig's integer, integer64, hex, hex64 and
 * float patterns; 0 when none matches. */
static size_t number_len(const char *s)
{
    size_t sign = (s[0] == '-' || s[0] == '+') ? 1 : 0;
    size_t d = digits(s + sign), best = 0, n;

    if (d > 0)
        best = sign + d + long_suffix(s + sign + d);
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X') && hexdigits(s + 2) > 0) {
        n = 2 + hexdigits(s + 2);
        best = max_len(best, n + long_suffix(s + n));
    }
    if (s[sign + d] == '.') {               /* [0-9]*\.[0-9]*(exp)? */
        n = sign + d + 1 + digits(s + sign + d + 1);
        best = max_len(best, n + exponent(s + n));
    }
    if (d > 0) {                            /* [0-9]+(\.[0-9]*)?exp */
        n = sign + d;
        if (s[n] == '.')
            n += 1 + digits(s + n + 1);
        if (exponent(s + n))
            best = max_len(best, n + exponent(s + n));
    }
    return best;
}

static int name_char(char c, int first)
{
    return is_letter(c) || c == '*' ||
           (!first && ((c >= '0' && c <= '9') || c == '-' || c == '_'));
}

/* Skips blanks and comments. Returns -1 on an unclosed comment. */
static int skip_space(struct lex *x)
{
    for (;;) {
        const char *p = x->p;

        if (*p == '\n')
            x->line++;
        if (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n' ||
            *p == '\f') {
            x->p++;
        } else if (*p == '#' || (p[0] == '/' && p[1] == '/')) {
            while (*x->p && *x->p != '\n')
                x->p++;
        } else if (p[0] == '/' && p[1] == '*') {
            const char *e = strstr(p + 2, "*/");

            if (!e)
                return -1;
            for (; p < e; p++)
                x->line += *p == '\n';
            x->p = e + 2;
        } else {
            return 0;
        }
    }
}

/* A quoted string from x->p (at the opening quote). */
static enum tok lex_string(struct lex *x)
{
    const char *p = x->p + 1;

    while (*p && *p != '"') {
        if (*p == '\\' && p[1])
            p++;
        x->line += *p == '\n';
        p++;
    }
    if (!*p)
        return T_UNSURE;
    x->p = p + 1;
    return T_STRING;
}

/* A name, true/false, or a number. */
static enum tok lex_word(struct lex *x)
{
    const char *p = x->p;
    size_t n = number_len(p);

    if (n > 0) {
        x->p += n;
        return T_SCALAR;
    }
    if (!name_char(*p, 1))
        return T_UNSURE;
    while (name_char(p[n], n == 0))
        n++;
    x->p += n;
    if ((n == 4 && strncasecmp(p, "true", 4) == 0) ||
        (n == 5 && strncasecmp(p, "false", 5) == 0))
        return T_SCALAR;
    return T_NAME;
}

static void lex_next(struct lex *x)
{
    static const char punct[] = "=:;,{}()[]";
    static const enum tok ptok[] = { T_EQ, T_EQ, T_SEMI, T_COMMA, T_LBRACE,
                                     T_RBRACE, T_LPAREN, T_RPAREN, T_LBRACK,
                                     T_RBRACK };
    const char *hit;

    if (skip_space(x) < 0) {
        x->tok = T_UNSURE;
        return;
    }
    hit = *x->p ? strchr(punct, *x->p) : NULL;
    if (!*x->p) {
        x->tok = T_EOF;
    } else if (*x->p == '"') {
        x->tok = lex_string(x);
    } else if (hit) {
        x->tok = ptok[hit - punct];
        x->p++;
    } else {
        x->tok = lex_word(x);
    }
    x->tok_line = x->line;
}

/* What the pre-check expects next. */
enum pre_state { P_SETTING, P_EQ, P_VALUE, P_LIST_FIRST, P_ARRAY_FIRST,
                 P_ARRAY_VALUE, P_AFTER_STRING, P_AFTER };

/* Containers open: 'g' group, 'l' list, 'a' array; none = the file. */
struct pre {
    enum pre_state st;
    char stack[PRE_DEPTH_MAX];
    int depth;
};

/* Step results: read the next token, look at this one again, the input
 * is complete, the token is wrong here, or the check gives up. */
enum { PRE_NEXT, PRE_AGAIN, PRE_DONE, PRE_WRONG, PRE_UNSURE };

static char pre_in(const struct pre *q)
{
    return q->depth > 0 ? q->stack[q->depth - 1] : 0;
}

/* A value opens with { ( or [. */
static int pre_open(struct pre *q, enum tok t)
{
    if (q->depth >= PRE_DEPTH_MAX)
        return PRE_UNSURE;
    q->stack[q->depth++] = t == T_LBRACE ? 'g' : t == T_LPAREN ? 'l' : 'a';
    q->st = t == T_LBRACE ? P_SETTING
                          : t == T_LPAREN ? P_LIST_FIRST : P_ARRAY_FIRST;
    return PRE_NEXT;
}

/* A scalar or a string where a simple value may stand. */
static int pre_scalar(struct pre *q, enum tok t)
{
    if (t == T_STRING) {
        q->st = P_AFTER_STRING;
        return PRE_NEXT;
    }
    if (t == T_SCALAR) {
        q->st = P_AFTER;
        return PRE_NEXT;
    }
    return PRE_WRONG;
}

/* After a whole value: a setting's optional terminator, or the comma or
 * closing bracket of a list or array. */
static int pre_after(struct pre *q, enum tok t)
{
    char in = pre_in(q);

    if (in == 0 || in == 'g') {
        q->st = P_SETTING;
        return (t == T_SEMI || t == T_COMMA) ? PRE_NEXT : PRE_AGAIN;
    }
    if (t == T_COMMA) {
        q->st = in == 'a' ? P_ARRAY_VALUE : P_VALUE;
        return PRE_NEXT;
    }
    if ((in == 'l' && t == T_RPAREN) || (in == 'a' && t == T_RBRACK)) {
        q->depth--;
        return PRE_NEXT;
    }
    return PRE_WRONG;
}

/* One step of the grammar on token t. */
static int pre_step(struct pre *q, enum tok t)
{
    char in = pre_in(q);

    switch (q->st) {
    case P_SETTING:
        if (t == T_NAME) {
            q->st = P_EQ;
            return PRE_NEXT;
        }
        if (in == 0 && t == T_EOF)
            return PRE_DONE;
        if (in != 'g' || t != T_RBRACE)
            return PRE_WRONG;
        q->depth--;
        q->st = P_AFTER;
        return PRE_NEXT;
    case P_EQ:
        q->st = P_VALUE;
        return t == T_EQ ? PRE_NEXT : PRE_WRONG;
    case P_LIST_FIRST:
    case P_ARRAY_FIRST:
        if (t == (q->st == P_LIST_FIRST ? T_RPAREN : T_RBRACK)) {
            q->depth--;
            q->st = P_AFTER;
            return PRE_NEXT;
        }
        q->st = q->st == P_LIST_FIRST ? P_VALUE : P_ARRAY_VALUE;
        return PRE_AGAIN;
    case P_VALUE:
        if (t == T_LBRACE || t == T_LPAREN || t == T_LBRACK)
            return pre_open(q, t);
        return pre_scalar(q, t);
    case P_ARRAY_VALUE:
        return pre_scalar(q, t);
    case P_AFTER_STRING:
        if (t == T_STRING)
            return PRE_NEXT;        /* adjacent strings join */
        q->st = P_AFTER;
        return PRE_AGAIN;
    case P_AFTER:
        break;
    }
    return pre_after(q, t);
}

/*
 * Runs the pre-check on text. Returns the line of a syntax error that stops
 * at a string token (to be reported instead of calling libconfig), or 0
 * when libconfig may parse the text (valid, or wrong elsewhere).
 */
static int pre_check(const char *text)
{
    struct lex x = { text, 1, T_EOF, 1 };
    struct pre *q = malloc(sizeof *q);
    int rc = PRE_NEXT, line = 0;

    if (!q)
        return 0;
    q->st = P_SETTING;
    q->depth = 0;
    while (rc == PRE_NEXT || rc == PRE_AGAIN) {
        if (rc == PRE_NEXT)
            lex_next(&x);
        rc = x.tok == T_UNSURE ? PRE_UNSURE : pre_step(q, x.tok);
    }
    if (rc == PRE_WRONG && x.tok == T_STRING)
        line = x.tok_line;
    free(q);
    return line;
}

static const char syntax_msg[] =
    "syntax error: check this line and the one before for a missing ';', "
    "a missing or extra comma, or an unclosed \", { or (";

/* Reports libconfig's parse error in plain words. */
static void report_syntax(struct load *L, const config_t *cf)
{
    const char *t = config_error_text(cf) ? config_error_text(cf) : "error";

    if (strcmp(t, "syntax error") == 0)
        menu_diag_add(L->d, MENU_SEV_ERROR, config_error_line(cf), NULL,
                      "%s", syntax_msg);
    else if (strcmp(t, "mismatched element type in array") == 0)
        menu_diag_add(L->d, MENU_SEV_ERROR, config_error_line(cf), NULL,
                      "the items of one [ ] list must all be of the same "
                      "kind (all in double quotes, or all numbers)");
    else if (strcmp(t, "duplicate setting name") == 0)
        menu_diag_add(L->d, MENU_SEV_ERROR, config_error_line(cf), NULL,
                      "this name is used twice in the same group");
    else
        menu_diag_add(L->d, MENU_SEV_ERROR, config_error_line(cf), NULL,
                      "%s", t);
}

/* Parses text (NUL-terminated, at most MENU_FILE_MAX bytes) into L->m.
 * Returns 0 when the text parsed (L->m then holds what could be read), -1
 * after a syntax error. */
static int parse(struct load *L, const char *text)
{
    config_t cf;
    int inc, rc = 0;

    if (strncmp(text, "\xEF\xBB\xBF", 3) == 0)
        text += 3;              /* a byte-order mark some editors write */
    inc = include_line(text);
    if (inc > 0) {
        menu_diag_add(L->d, MENU_SEV_ERROR, inc, NULL,
                      "@include is not allowed in a menu file");
        return -1;
    }
    inc = pre_check(text);
    if (inc > 0) {
        menu_diag_add(L->d, MENU_SEV_ERROR, inc, NULL, "%s", syntax_msg);
        return -1;
    }
    config_init(&cf);
    if (config_read_string(&cf, text) != CONFIG_TRUE) {
        report_syntax(L, &cf);
        rc = -1;
    } else {
        load_tree(L, config_root_setting(&cf));
    }
    config_destroy(&cf);
    return rc;
}

/* Sorts d->v[from..n) by line, keeping the order of equal lines, so an
 * operator reads the problems top to bottom. */
static void sort_by_line(struct menu_diags *d, size_t from)
{
    for (size_t i = from + 1; i < d->n; i++) {
        struct menu_diag tmp = d->v[i];
        size_t j = i;

        while (j > from && d->v[j - 1].line > tmp.line) {
            d->v[j] = d->v[j - 1];
            j--;
        }
        d->v[j] = tmp;
    }
}

/*
 * The common tail of both entry points: parses text, checks the menu, and
 * decides. file names the text in the menu (m->file). Returns 0 with *out
 * set, or MENU_EINVAL / MENU_ENOMEM with *out NULL.
 */
static int load_text(const char *text, const char *file, struct menu **out,
                     struct menu_diags *d)
{
    struct load L = { NULL, d, NULL, 0 };
    size_t errors = d->errors, from = d->n;

    L.m = calloc(1, sizeof *L.m);
    if (!L.m) {
        menu_diag_add(d, MENU_SEV_ERROR, 0, NULL, "out of memory");
        return MENU_ENOMEM;
    }
    L.m->start_idx = -1;
    L.m->home_idx = -1;
    L.m->file = dup_str(&L, file);
    if (parse(&L, text) == 0 && !L.oom)
        menu_check(L.m, d);
    if (L.oom)
        menu_diag_add(d, MENU_SEV_ERROR, 0, NULL, "out of memory");
    sort_by_line(d, from);
    if (d->errors != errors) {
        menu_free(L.m);
        return L.oom ? MENU_ENOMEM : MENU_EINVAL;
    }
    *out = L.m;
    return 0;
}

/* ---- public entry points ------------------------------------------------- */

int menu_load_string(const char *text, const char *file, struct menu **out,
                     struct menu_diags *d)
{
    struct menu_diags local;
    int rc;

    if (out)
        *out = NULL;
    if (!out)
        return MENU_EINVAL;
    menu_diags_init(&local);
    if (!d)
        d = &local;
    if (!text) {
        menu_diag_add(d, MENU_SEV_ERROR, 0, NULL, "no menu text");
        rc = MENU_EINVAL;
    } else if (strnlen(text, (size_t)MENU_FILE_MAX + 1) > MENU_FILE_MAX) {
        menu_diag_add(d, MENU_SEV_ERROR, 0, NULL,
                      "the menu is larger than %d bytes", MENU_FILE_MAX);
        rc = MENU_EINVAL;
    } else {
        rc = load_text(text, file, out, d);
    }
    menu_diags_free(&local);
    return rc;
}

/* Reads the whole file at path into a new NUL-terminated buffer (caller
 * frees). Returns NULL after reporting why not. */
static char *read_file(const char *path, struct menu_diags *d)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    size_t n;
    int failed;

    if (!f) {
        menu_diag_add(d, MENU_SEV_ERROR, 0, NULL, "cannot open the file: %s",
                      strerror(errno));
        return NULL;
    }
    buf = malloc((size_t)MENU_FILE_MAX + 2);
    if (!buf) {
        fclose(f);
        menu_diag_add(d, MENU_SEV_ERROR, 0, NULL, "out of memory");
        return NULL;
    }
    n = fread(buf, 1, (size_t)MENU_FILE_MAX + 1, f);
    failed = ferror(f);
    if (failed)
        menu_diag_add(d, MENU_SEV_ERROR, 0, NULL, "cannot read the file: %s",
                      strerror(errno));
    fclose(f);
    if (!failed && n > MENU_FILE_MAX) {
        menu_diag_add(d, MENU_SEV_ERROR, 0, NULL,
                      "the file is larger than %d bytes", MENU_FILE_MAX);
        failed = 1;
    }
    if (!failed && memchr(buf, '\0', n)) {
        menu_diag_add(d, MENU_SEV_ERROR, 0, NULL,
                      "the file contains a NUL byte: is it a text file?");
        failed = 1;
    }
    if (failed) {
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    return buf;
}

int menu_load_file(const char *path, struct menu **out, struct menu_diags *d)
{
    struct menu_diags local;
    char *text;
    int rc = MENU_EINVAL;

    if (out)
        *out = NULL;
    if (!out)
        return MENU_EINVAL;
    menu_diags_init(&local);
    if (!d)
        d = &local;
    if (!path) {
        menu_diag_add(d, MENU_SEV_ERROR, 0, NULL, "no file name");
    } else {
        text = read_file(path, d);
        if (text)
            rc = load_text(text, path, out, d);
        free(text);
    }
    menu_diags_free(&local);
    return rc;
}

/* ---- freeing and lookups ------------------------------------------------ */

static void text_free(struct menu_text *t)
{
    free(t->all);
    for (size_t i = 0; i < MENU_MAX_LANGS; i++)
        free(t->lang[i]);
}

static void option_free(struct menu_option *o)
{
    free(o->key);
    text_free(&o->label);
    for (size_t i = 0; i < o->nset; i++) {
        free(o->set[i].name);
        free(o->set[i].value);
    }
    free(o->set);
    free(o->next);
}

static void node_free(struct menu_node *nd)
{
    free(nd->name);
    text_free(&nd->text);
    for (size_t i = 0; i < nd->nopts; i++)
        option_free(&nd->opts[i]);
    free(nd->opts);
    free(nd->save);
    free(nd->next);
    for (size_t i = 0; i < nd->nmatch; i++) {
        free(nd->match[i].value);
        free(nd->match[i].next);
    }
    free(nd->match);
    free(nd->country);
    free(nd->queue);
    for (size_t i = 0; i < nd->nfields; i++)
        free(nd->fields[i]);
    free(nd->fields);
    for (size_t i = 0; i < nd->nlists; i++)
        free(nd->lists[i]);
    for (size_t i = 0; i < MENU_OUT_COUNT; i++)
        free(nd->on[i]);
}

void menu_free(struct menu *m)
{
    struct menu_text *strs[6];

    if (!m)
        return;
    menu_pre_free(m);
    for (size_t i = 0; i < m->nnodes; i++)
        node_free(&m->nodes[i]);
    free(m->nodes);
    strs[0] = &m->strings.back;
    strs[1] = &m->strings.home;
    strs[2] = &m->strings.more;
    strs[3] = &m->strings.invalid;
    strs[4] = &m->strings.quit;
    strs[5] = &m->strings.resume;
    for (size_t i = 0; i < 6; i++)
        text_free(strs[i]);
    for (size_t i = 0; i < m->nkeywords; i++)
        free(m->keywords[i]);
    free(m->keywords);
    for (size_t i = 0; i < m->nlangs && i < MENU_MAX_LANGS; i++)
        free(m->langs[i]);
    free(m->nav.back);
    free(m->nav.home);
    free(m->nav.more);
    free(m->nav.quit);
    free(m->start);
    free(m->home);
    free(m->country);
    free(m->title);
    free(m->name);
    free(m->file);
    free(m);
}

int menu_lang_index(const struct menu *m, const char *code)
{
    if (!m || !code)
        return -1;
    for (size_t i = 0; i < m->nlangs && i < MENU_MAX_LANGS; i++)
        if (m->langs[i] && strcmp(m->langs[i], code) == 0)
            return (int)i;
    return -1;
}

int menu_sms_resumes(const struct menu *m, long long idle_s)
{
    if (!m || m->sms_resume_s == 0)
        return 1;
    return idle_s >= 0 && idle_s <= m->sms_resume_s;
}

int menu_node_index(const struct menu *m, const char *name)
{
    if (!m || !name || !m->nodes)
        return -1;
    for (size_t i = 0; i < m->nnodes && i <= INT_MAX; i++)
        if (m->nodes[i].name && strcmp(m->nodes[i].name, name) == 0)
            return (int)i;
    return -1;
}

const char *menu_text_get(const struct menu *m, const struct menu_text *t,
                          int lang)
{
    (void)m;
    if (!t)
        return "";
    if (t->all)
        return t->all;
    if (lang >= 0 && lang < MENU_MAX_LANGS && t->lang[lang])
        return t->lang[lang];
    return t->lang[0] ? t->lang[0] : "";
}
