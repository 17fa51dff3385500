/*
 * hotlinectl.c — the operator's command line.
 *
 * `hotlinectl menu check|simulate|graph` lets the people who write menus
 * find what is wrong with a file (with file:line:node), see how long every
 * screen is on every channel, walk the menu as a caller on a basic phone
 * would, and draw the tree. It is a thin shell around the pure menu engine
 * (menu.h): every rule, every layout and every step is the engine's; this
 * file only parses arguments, reads answers and prints. What operators are
 * told these commands do is docs/menus.md section 11.
 *
 * Commands are found through two tables: `groups` (menu, and later cases in
 * hotlinectl_cases.c) and, per group, its subcommands. Exit status: 0 done,
 * 1 the menu (or the work asked for) failed, 2 a usage error.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cfg.h"
#include "dialect.h"
#include "hotlinectl.h"
#include "log.h"
#include "menu.h"
#include "menu_ops.h"

#define EXIT_USAGE 2
#define SIM_REF "SIM123"        /* the reference {ref} shows in a simulation */
#define SIM_SMS_PARTS 3         /* as the shipped SMS channels (hotlined.cfg) */

/* One command: `name` as typed, the function that runs it with argv[0] =
 * name, and one line of usage. */
struct ctl_cmd {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *usage;
};

static const char usage_top[] =
    "usage: hotlinectl COMMAND ...\n"
    "\n"
    "  menu check [-c HOTLINED.CFG] [--screens] [FILE...]\n"
    "        check menu files; print every problem as FILE:LINE: node NAME: ...\n"
    "        (nothing for a valid menu); exit 1 when any file has errors.\n"
    "        Every screen is judged on every channel that serves the menu in\n"
    "        HOTLINED.CFG (without -c: USSD and SMS, folded and not); a final\n"
    "        screen that needs two pages there is a warning. With -c and no\n"
    "        FILE, every menu of the config's menus directory is checked.\n"
    "        --screens also lists every screen in every language with its\n"
    "        pages, alphabet and length on USSD and SMS.\n"
    "  menu simulate FILE [--lang L] [--channel ussd|sms] [--fold]\n"
    "        walk the menu as a caller: shows each screen as the phone would,\n"
    "        reads one answer per line (from a script when stdin is not a\n"
    "        terminal). Files no real help request.\n"
    "  menu graph FILE\n"
    "        the menu tree as a Graphviz graph: hotlinectl menu graph F | dot -Tpng > menu.png\n"
    "\n"
    "  menu publish [OPTS] FILE... [--note TEXT]\n"
    "        check each FILE on every channel of the config serving it; on\n"
    "        any error publish none; else store each in Redis as its menu's\n"
    "        next version (a file equal to the current one is skipped),\n"
    "        which every gateway serves to new sessions within a second\n"
    "  menu versions NAME | show NAME[@V] | diff NAME A B\n"
    "        the published versions (who, when, note), one's text, and what\n"
    "        changed between two (nodes, texts, options)\n"
    "  menu rollback NAME [V] [--note TEXT]\n"
    "        publish version V's text again (default: the one before)\n"
    "  menu funnel NAME[@V]\n"
    "        per node and language: visits, invalid answers, back, home,\n"
    "        duress exits and drop-offs of a version (default the current)\n"
    "        OPTS: -c HOTLINED.CFG (default config/hotlined.cfg), --redis H:P,\n"
    "        --as NAME [--password-stdin] (an operator or supervisor account,\n"
    "        its password asked) or --token T / HOTLINE_STAFF_TOKEN\n"
    "\n"
    "  cases [-c CONFIG] [--redis H:P] [--token T] [--json] list|show|claim|\n"
    "        note|resolve|reassign|erase ...   hotline staff work help requests\n"
    "        (hotlinectl cases --help)\n"
    "  staff [-c CONFIG] [--redis H:P] add|passwd|disable|enable|list ...\n"
    "        staff accounts for the console (hotlinectl staff --help)\n"
    "  lists [-c CONFIG] [--redis H:P] import|show|rollback|export ...\n"
    "        the lists lookup nodes search (hotlinectl lists --help)\n"
    "  alerts [-c CONFIG] [--redis H:P] list-dead | retry QUEUE/ID|--all\n"
    "        the dead-lettered alerts, delivered again (hotlinectl alerts --help)\n"
    "\n"
    "  hotlinectl --help, hotlinectl menu --help: this text.\n"
    "Exit status: 0 ok, 1 failed (e.g. the menu has errors), 2 usage error.\n";

/* Prints the usage to stderr with an optional complaint; returns EXIT_USAGE. */
static int usage_error(const char *fmt, const char *arg)
{
    if (fmt) {
        fputs("hotlinectl: ", stderr);
        fprintf(stderr, fmt, arg ? arg : "");
        fputc('\n', stderr);
    }
    fputs(usage_top, stderr);
    return EXIT_USAGE;
}

static int is_help(const char *a)
{
    return strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0;
}

static const char *enc_name(enum menu_enc e)
{
    return e == MENU_GSM7 ? "GSM-7" : "UCS-2";
}

/* Loads a menu for simulate/graph. Diagnostics go to stderr (warnings do
 * not stop the command). Returns the menu (caller frees) or NULL. */
static struct menu *load_or_report(const char *path)
{
    struct menu_diags d;
    struct menu *m = NULL;
    char line[512];

    menu_diags_init(&d);
    int rc = menu_load_file(path, &m, &d);
    for (size_t i = 0; i < d.n; i++) {
        menu_diag_format(path, &d.v[i], line, sizeof line);
        fprintf(stderr, "%s\n", line);
    }
    if (rc < 0 && d.n == 0)
        fprintf(stderr, "%s: cannot load the menu (error %d)\n", path, rc);
    menu_diags_free(&d);
    if (rc < 0) {
        menu_free(m);
        return NULL;
    }
    return m;
}

/* ==== menu check ======================================================= */

/* The three channel settings `check --screens` reports, in column order. */
static const struct {
    const char *label;
    struct menu_render r;
} screen_cols[] = {
    { "ussd+fold", { MENU_CH_USSD, 1, 0 } },
    { "ussd",      { MENU_CH_USSD, 0, 0 } },
    { "sms+fold",  { MENU_CH_SMS, 1, SIM_SMS_PARTS } },
};

/* Formats one fit cell ("1 page GSM-7 148/182"; SMS adds the SMS parts of
 * the widest page) into out. */
static void fit_cell(const struct menu *m, int node, int lang,
                     const struct menu_render *r, char *out, size_t outsz)
{
    struct menu_fit f;

    memset(&f, 0, sizeof f);
    int rc = menu_fit_node(m, node, lang, r, &f);
    if (rc < 0 && rc != MENU_ENOSPC) {
        snprintf(out, outsz, "error %d", rc);
        return;
    }
    if (rc < 0 || f.pages < 0) {
        snprintf(out, outsz, "DOES NOT FIT (%s, page limit %zu)",
                 enc_name(f.enc), f.limit);
        return;
    }
    int n = snprintf(out, outsz, "%d page%s %s %zu/%zu", f.pages,
                     f.pages == 1 ? "" : "s", enc_name(f.enc), f.units,
                     f.limit);
    if (r->channel == MENU_CH_SMS && n > 0 && (size_t)n < outsz) {
        struct menu_measure ms = { f.enc, f.units, f.units };
        size_t parts = menu_sms_segments(&ms);
        snprintf(out + n, outsz - (size_t)n, " (%zu SMS part%s)", parts,
                 parts == 1 ? "" : "s");
    }
}

/* Prints the screen table of a loaded menu: one line per node and
 * language, one cell per entry of screen_cols. */
static void print_screens(const char *path, const struct menu *m)
{
    const size_t ncols = sizeof screen_cols / sizeof screen_cols[0];
    int namew = 4;
    char cell[128];

    for (size_t i = 0; i < m->nnodes; i++) {
        int len = (int)strlen(m->nodes[i].name);
        if (len > namew)
            namew = len;
    }
    printf("%s: %zu nodes, %zu languages; sms: %d parts a page at most\n",
           path, m->nnodes, m->nlangs, SIM_SMS_PARTS);
    for (size_t i = 0; i < m->nnodes; i++) {
        for (size_t l = 0; l < m->nlangs; l++) {
            printf("%-*s  %-4s", namew, m->nodes[i].name, m->langs[l]);
            for (size_t c = 0; c < ncols; c++) {
                fit_cell(m, (int)i, (int)l, &screen_cols[c].r, cell,
                         sizeof cell);
                /* padded columns, no trailing blanks */
                printf("  %s: %-*s", screen_cols[c].label,
                       c + 1 < ncols ? 22 : 0, cell);
            }
            putchar('\n');
        }
    }
}

/* The channels a menu is judged on without -c: every combination of
 * USSD/SMS and folded/not (SMS pages of SIM_SMS_PARTS segments). */
static const struct ctl_channel default_channels[] = {
    { "ussd", "", { MENU_CH_USSD, 0, 0 }, 0 },
    { "ussd+fold", "", { MENU_CH_USSD, 1, 0 }, 0 },
    { "sms", "", { MENU_CH_SMS, 0, SIM_SMS_PARTS }, 0 },
    { "sms+fold", "", { MENU_CH_SMS, 1, SIM_SMS_PARTS }, 0 },
};

/* What `menu check` judges menus on: the channels of -c, or the defaults. */
struct check_set {
    const char *config;             /* NULL: default_channels */
    const struct ctl_channel *ch;
    size_t nch;
};

/* Judges loaded menu m on every channel of cs that serves it (all of them
 * without -c) with the publish checker's mops_judge. Adds to d. */
static void check_channels(const struct menu *m, const struct check_set *cs,
                           struct menu_diags *d)
{
    struct mops_chan *mc = cs->nch ? calloc(cs->nch, sizeof *mc) : NULL;

    if (cs->nch && !mc) {
        menu_diag_add(d, MENU_SEV_ERROR, 0, NULL, "out of memory");
        return;
    }
    for (size_t i = 0; i < cs->nch; i++) {
        mc[i].name = cs->ch[i].name;
        mc[i].menu = cs->config ? cs->ch[i].menu : NULL;
        mc[i].render = cs->ch[i].render;
    }
    mops_judge(m, mc, cs->nch, cs->config ? cs->config : "the defaults", d);
    free(mc);
}

/* Checks one file: prints its diagnostics (and with screens its table).
 * Returns 1 when the file has errors, else 0. */
static int check_one(const char *path, int screens,
                     const struct check_set *cs)
{
    struct menu_diags d;
    struct menu *m = NULL;
    char line[512];

    menu_diags_init(&d);
    int rc = menu_load_file(path, &m, &d);
    if (rc == 0 && m)
        check_channels(m, cs, &d);
    for (size_t i = 0; i < d.n; i++) {
        menu_diag_format(path, &d.v[i], line, sizeof line);
        printf("%s\n", line);
    }
    if (rc < 0 && d.n == 0)
        printf("%s: cannot load the menu (error %d)\n", path, rc);
    int bad = rc < 0 || d.errors > 0;
    if (screens && m && !bad)
        print_screens(path, m);
    menu_free(m);
    menu_diags_free(&d);
    return bad;
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Checks every *.cfg of dir in name order (as hotlined loads them).
 * Returns 1 when any has errors or dir cannot be read. */
static int check_dir(const char *dir, int screens, const struct check_set *cs)
{
    DIR *dp = opendir(dir);
    struct dirent *e;
    char *names[256];
    size_t n = 0;
    int bad = 0;

    if (!dp) {
        printf("%s: cannot open the menus directory\n", dir);
        return 1;
    }
    while ((e = readdir(dp)) != NULL && n < sizeof names / sizeof names[0]) {
        size_t len = strlen(e->d_name);

        if (len > 4 && e->d_name[0] != '.' &&
            strcmp(e->d_name + len - 4, ".cfg") == 0) {
            size_t sz = strlen(dir) + len + 2;

            names[n] = malloc(sz);
            if (names[n])
                snprintf(names[n++], sz, "%s/%s", dir, e->d_name);
        }
    }
    closedir(dp);
    qsort(names, n, sizeof names[0], cmp_name);
    for (size_t i = 0; i < n; i++) {
        bad |= check_one(names[i], screens, cs);
        free(names[i]);
    }
    return bad;
}

static int cmd_menu_check(int argc, char **argv)
{
    int screens = 0, nfiles = 0, bad = 0;
    struct check_set cs = { NULL, default_channels,
                            sizeof default_channels /
                                sizeof default_channels[0] };
    struct ctl_channel *chs = NULL;
    char dir[512], err[600];

    for (int i = 1; i < argc; i++) {
        if (is_help(argv[i])) {
            fputs(usage_top, stdout);
            return 0;
        }
        if (strcmp(argv[i], "--screens") == 0) {
            screens = 1;
        } else if (strcmp(argv[i], "-c") == 0 ||
                   strcmp(argv[i], "--config") == 0) {
            if (i + 1 >= argc)
                return usage_error("menu check: %s needs a file", argv[i]);
            cs.config = argv[++i];
        } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            return usage_error("menu check: unknown option %s", argv[i]);
        } else {
            nfiles++;
        }
    }
    if (nfiles == 0 && !cs.config)
        return usage_error("menu check: no FILE given%s", NULL);
    if (cs.config) {
        if (ctl_channels_read(cs.config, &chs, &cs.nch, dir, sizeof dir, err,
                              sizeof err) != 0) {
            printf("%s\n", err);
            return 1;
        }
        cs.ch = chs;
    }
    if (nfiles == 0)
        bad = check_dir(dir, screens, &cs);
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0)
            i++;
        else if (!(argv[i][0] == '-' && argv[i][1] != '\0'))
            bad |= check_one(argv[i], screens, &cs);
    }
    free(chs);
    fflush(stdout);
    return bad ? 1 : 0;
}

/* ==== menu simulate ==================================================== */

struct sim_opts {
    const char *file;
    const char *lang;           /* NULL = the menu's default */
    struct menu_render render;
};

/* Parses simulate's arguments into o. Returns 0, 1 for --help (usage
 * printed), or EXIT_USAGE (complaint printed). */
static int sim_parse(int argc, char **argv, struct sim_opts *o)
{
    memset(o, 0, sizeof *o);
    o->render.channel = MENU_CH_USSD;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (is_help(a)) {
            fputs(usage_top, stdout);
            return 1;
        } else if (strcmp(a, "--fold") == 0) {
            o->render.fold = 1;
        } else if (strcmp(a, "--lang") == 0 || strcmp(a, "--channel") == 0) {
            if (i + 1 >= argc)
                return usage_error("menu simulate: %s needs a value", a);
            const char *v = argv[++i];
            if (a[2] == 'l')
                o->lang = v;
            else if (strcmp(v, "ussd") == 0)
                o->render.channel = MENU_CH_USSD;
            else if (strcmp(v, "sms") == 0)
                o->render.channel = MENU_CH_SMS;
            else
                return usage_error("menu simulate: --channel is ussd or sms, "
                                   "not %s", v);
        } else if (a[0] == '-' && a[1] != '\0') {
            return usage_error("menu simulate: unknown option %s", a);
        } else if (o->file) {
            return usage_error("menu simulate: one FILE only (%s)", a);
        } else {
            o->file = a;
        }
    }
    if (!o->file)
        return usage_error("menu simulate: no FILE given%s", NULL);
    if (o->render.channel == MENU_CH_SMS)
        o->render.sms_parts = SIM_SMS_PARTS;
    return 0;
}

/* Prints one page as the phone shows it, between a header line with its
 * channel, page, length and alphabet and a closing rule of the same width. */
static void sim_show(const struct menu_render *rd, const struct menu_result *r)
{
    const struct menu_screen *s = &r->screen;
    char head[160];
    int n = snprintf(head, sizeof head, "---- %s page %d/%d \xc2\xb7 %zu/%zu %s",
                     rd->channel == MENU_CH_SMS ? "sms" : "ussd", s->page + 1,
                     s->pages, s->measure.units,
                     menu_page_limit(rd, s->measure.enc),
                     enc_name(s->measure.enc));
    if (rd->channel == MENU_CH_SMS && n > 0 && (size_t)n < sizeof head) {
        size_t parts = menu_sms_segments(&s->measure);
        n += snprintf(head + n, sizeof head - (size_t)n,
                      " \xc2\xb7 %zu SMS part%s", parts, parts == 1 ? "" : "s");
    }
    if (r->invalid && n > 0 && (size_t)n < sizeof head)
        snprintf(head + n, sizeof head - (size_t)n, " \xc2\xb7 answer refused");
    printf("%s ----\n%s\n", head, s->text);
    size_t width = menu_utf8_chars(head) + 5;
    for (size_t i = 0; i < width; i++)
        putchar('-');
    putchar('\n');
}

/* Prints what a session's end did: the forward's (simulated) help request,
 * the duress exit, or a plain end. */
static void sim_end(const struct menu_state *st, const struct menu_result *r)
{
    const struct menu_node *nd = r->node;

    if (r->action == MENU_ACT_QUIT) {
        printf("[duress exit]\n");
        return;
    }
    if (r->action != MENU_ACT_FORWARD || !nd) {
        printf("[end of session]\n");
        return;
    }
    printf("[forward: queue=%s fields:", nd->queue ? nd->queue : "");
    for (size_t i = 0; i < nd->nfields; i++) {
        const char *v = menu_state_get(st, nd->fields[i]);
        if (!v)
            printf(" %s=(not saved)", nd->fields[i]);
        else if (*v == '\0' || strpbrk(v, " \t\"="))
            printf(" %s=\"%s\"", nd->fields[i], v);
        else
            printf(" %s=%s", nd->fields[i], v);
    }
    printf("] (simulated: nothing was filed, reference %s is made up)\n",
           SIM_REF);
}

/* Reads one answer into buf (size MENU_INPUT_MAX + 2), without its line
 * end. Returns 1 for an answer, 0 at end of input, -1 for an answer that
 * cannot be sent (too long or not UTF-8; already reported). */
static int sim_read(char *buf, size_t bufsz, int tty)
{
    if (tty) {
        fputs("> ", stdout);
        fflush(stdout);
    }
    if (!fgets(buf, (int)bufsz, stdin))
        return 0;
    size_t len = strlen(buf);
    int whole = len > 0 && buf[len - 1] == '\n';
    if (!whole && !feof(stdin)) {
        int ch;
        do
            ch = getchar();
        while (ch != EOF && ch != '\n');
        printf("[answer longer than %d bytes: not sent]\n", MENU_INPUT_MAX);
        return -1;
    }
    while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
        buf[--len] = '\0';
    if (!tty)
        printf("> %s\n", buf);
    if (len > MENU_INPUT_MAX || !menu_utf8_valid(buf, len)) {
        printf("[answer is too long or not UTF-8: not sent]\n");
        return -1;
    }
    return 1;
}

/* Starts the session, in o->lang when given. Returns 0, or EXIT_USAGE for
 * an unknown language, or 1 on an engine error (reported). */
static int sim_start(const struct menu_ctx *c, const struct sim_opts *o,
                     struct menu_state *st, struct menu_result *r)
{
    int rc = menu_begin(c, st, r);
    if (rc == 0 && o->lang) {
        int l = menu_lang_index(c->menu, o->lang);
        if (l < 0) {
            fprintf(stderr, "hotlinectl: %s has no language \"%s\"\n",
                    o->file, o->lang);
            return EXIT_USAGE;
        }
        st->lang = l;
        rc = menu_show(c, st, r);
    }
    if (rc < 0) {
        fprintf(stderr, "hotlinectl: the engine could not start a session "
                "(error %d)\n", rc);
        return 1;
    }
    return 0;
}

/* The walk: show, end or read an answer, step; until an end or EOF. */
static int sim_walk(const struct menu_ctx *c, struct menu_state *st,
                    struct menu_result *r)
{
    char buf[MENU_INPUT_MAX + 2];
    int tty = isatty(STDIN_FILENO);

    for (;;) {
        sim_show(&c->render, r);
        if (r->end) {
            sim_end(st, r);
            return 0;
        }
        int got;
        do
            got = sim_read(buf, sizeof buf, tty);
        while (got < 0);
        if (got == 0) {
            printf("[input ended]\n");
            return 0;
        }
        int rc = menu_step(c, st, buf, r);
        if (rc == 0 && r->action == MENU_ACT_LOOKUP) {
            /* No Redis here: every lookup is simulated as not found. */
            printf("[lookup %s: simulated as unknown]\n", r->lookup.key);
            rc = menu_lookup_result(c, st, MENU_OUT_UNKNOWN, NULL, 0, r);
        }
        if (rc < 0) {
            fprintf(stderr, "hotlinectl: the engine refused the step "
                    "(error %d)\n", rc);
            return 1;
        }
    }
}

static int cmd_menu_simulate(int argc, char **argv)
{
    struct sim_opts o;
    struct menu_state st;
    struct menu_result r;

    int rc = sim_parse(argc, argv, &o);
    if (rc != 0)
        return rc == 1 ? 0 : rc;
    struct menu *m = load_or_report(o.file);
    if (!m)
        return 1;
    struct menu_ctx c = { m, o.render, SIM_REF, NULL, NULL };
    printf("[simulating %s on %s%s; reference %s is simulated, nothing is "
           "filed]\n", o.file,
           o.render.channel == MENU_CH_SMS ? "sms" : "ussd",
           o.render.fold ? " folding diacritics" : "", SIM_REF);
    rc = sim_start(&c, &o, &st, &r);
    if (rc == 0)
        rc = sim_walk(&c, &st, &r);
    fflush(stdout);
    menu_free(m);
    return rc;
}

/* ==== menu graph ======================================================= */

/* Prints s as the inside of a DOT double-quoted string. */
static void dot_str(const char *s)
{
    for (; s && *s; s++) {
        if (*s == '"' || *s == '\\')
            putchar('\\');
        if (*s == '\n')
            fputs("\\n", stdout);
        else
            putchar(*s);
    }
}

static const char *node_type_name(enum menu_node_type t)
{
    switch (t) {
    case MENU_NODE_MENU: return "menu";
    case MENU_NODE_INPUT: return "input";
    case MENU_NODE_END: return "end";
    case MENU_NODE_FORWARD: return "forward";
    case MENU_NODE_LOOKUP: return "lookup";
    }
    return "?";
}

/* Shape and style attributes per node type. */
static const char *node_attrs(enum menu_node_type t)
{
    switch (t) {
    case MENU_NODE_MENU: return "shape=box";
    case MENU_NODE_INPUT: return "shape=ellipse";
    case MENU_NODE_END: return "shape=octagon";
    case MENU_NODE_FORWARD:
        return "shape=doubleoctagon, style=filled, fillcolor=\"#f4a261\"";
    case MENU_NODE_LOOKUP: return "shape=hexagon";
    }
    return "shape=box";
}

/* One node line: label "name\ntype" (plus a line with the variable an
 * input saves or the queue a forward files on); the start node drawn bold. */
static void graph_node(const struct menu *m, const struct menu_node *nd)
{
    putchar('"');
    dot_str(nd->name);
    fputs("\" [label=\"", stdout);
    dot_str(nd->name);
    fputs("\\n", stdout);
    dot_str(node_type_name(nd->type));
    if (nd->type == MENU_NODE_INPUT && nd->save) {
        fputs("\\nsaves ", stdout);
        dot_str(nd->save);
    } else if (nd->type == MENU_NODE_FORWARD && nd->queue) {
        fputs("\\nqueue ", stdout);
        dot_str(nd->queue);
    }
    printf("\", %s", node_attrs(nd->type));
    if (m->start && strcmp(m->start, nd->name) == 0)
        fputs(", penwidth=3", stdout);
    fputs("];\n", stdout);
}

static void graph_edge(const char *from, const char *to, const char *label)
{
    fputs("  \"", stdout);
    dot_str(from);
    fputs("\" -> \"", stdout);
    dot_str(to);
    fputs("\" [label=\"", stdout);
    dot_str(label);
    fputs("\"];\n", stdout);
}

static int cmd_menu_graph(int argc, char **argv)
{
    const char *file = NULL;

    for (int i = 1; i < argc; i++) {
        if (is_help(argv[i])) {
            fputs(usage_top, stdout);
            return 0;
        }
        if ((argv[i][0] == '-' && argv[i][1] != '\0') || file)
            return usage_error("menu graph: unexpected argument %s", argv[i]);
        file = argv[i];
    }
    if (!file)
        return usage_error("menu graph: no FILE given%s", NULL);
    struct menu *m = load_or_report(file);
    if (!m)
        return 1;
    fputs("digraph \"", stdout);
    dot_str(m->name);
    fputs("\" {\n  labelloc=t; label=\"", stdout);
    dot_str(m->title ? m->title : m->name);
    fputs("\";\n  node [fontname=\"Helvetica\"];\n"
          "  edge [fontname=\"Helvetica\"];\n"
          "  \"__start\" [shape=point, label=\"\"];\n", stdout);
    graph_edge("__start", m->start ? m->start : "", "start");
    for (size_t i = 0; i < m->nnodes; i++) {
        const struct menu_node *nd = &m->nodes[i];
        fputs("  ", stdout);
        graph_node(m, nd);
        for (size_t k = 0; k < nd->nopts; k++) {
            char label[MENU_NAME_MAX + 16];

            snprintf(label, sizeof label, "%s%s",
                     nd->opts[k].key ? nd->opts[k].key : "",
                     nd->opts[k].hidden ? " (hidden)" : "");
            graph_edge(nd->name, nd->opts[k].next ? nd->opts[k].next : "",
                       label);
        }
        if (nd->type == MENU_NODE_INPUT && nd->next)
            graph_edge(nd->name, nd->next, "input");
        for (size_t k = 0; nd->type == MENU_NODE_LOOKUP &&
                           k < MENU_OUT_COUNT; k++)
            if (nd->on[k])
                graph_edge(nd->name, nd->on[k],
                           menu_outcome_name((enum menu_outcome)k));
        for (size_t k = 0; nd->type == MENU_NODE_INPUT && k < nd->nmatch;
             k++) {
            char label[MENU_VAR_VALUE_MAX + 8];

            snprintf(label, sizeof label, "= %s",
                     nd->match[k].value ? nd->match[k].value : "");
            if (nd->match[k].next)
                graph_edge(nd->name, nd->match[k].next, label);
        }
    }
    fputs("}\n", stdout);
    fflush(stdout);
    menu_free(m);
    return 0;
}

/* ==== dispatch ========================================================= */

static const struct ctl_cmd menu_cmds[] = {
    { "check", cmd_menu_check,
      "menu check [-c HOTLINED.CFG] [--screens] [FILE...]" },
    { "simulate", cmd_menu_simulate,
      "menu simulate FILE [--lang L] [--channel ussd|sms] [--fold]" },
    { "graph", cmd_menu_graph, "menu graph FILE" },
    { "publish", hotlinectl_menu_pub, "menu publish FILE... [--note TEXT]" },
    { "versions", hotlinectl_menu_pub, "menu versions NAME" },
    { "show", hotlinectl_menu_pub, "menu show NAME[@V]" },
    { "diff", hotlinectl_menu_pub, "menu diff NAME A B" },
    { "rollback", hotlinectl_menu_pub, "menu rollback NAME [V]" },
    { "funnel", hotlinectl_menu_pub, "menu funnel NAME[@V]" },
};

/* Runs argv[0] of a group's table; argv[-1] is the group's name. */
static int dispatch(const char *group, const struct ctl_cmd *cmds, size_t n,
                    int argc, char **argv)
{
    if (argc < 1)
        return usage_error("%s: which command?", group);
    if (is_help(argv[0])) {
        fputs(usage_top, stdout);
        return 0;
    }
    for (size_t i = 0; i < n; i++)
        if (strcmp(cmds[i].name, argv[0]) == 0)
            return cmds[i].run(argc, argv);
    fprintf(stderr, "hotlinectl: %s: unknown command \"%s\"\n", group,
            argv[0]);
    return usage_error(NULL, NULL);
}

static int group_menu(int argc, char **argv)
{
    return dispatch("menu", menu_cmds, sizeof menu_cmds / sizeof menu_cmds[0],
                    argc - 1, argv + 1);
}

/* Command groups. `cases` (hotlinectl_cases.c) adds its entry here. */
static const struct ctl_cmd groups[] = {
    { "menu", group_menu, "menu check|simulate|graph ..." },
    { "cases", hotlinectl_cases, "cases list|show|claim|note|resolve|reassign|erase" },
    { "staff", hotlinectl_staff, "staff add|passwd|disable|enable|list" },
    { "lists", hotlinectl_lists, "lists import|show|rollback|export" },
    { "alerts", hotlinectl_alerts, "alerts list-dead|retry" },
};

int main(int argc, char **argv)
{
    /* hotlinectl prints its own output only: what loading the config says
     * for the daemon (channels it would disable, menu warnings) is not
     * for the person at the terminal; errors still come back to us. */
    log_set_level(LOG_ERROR);
    /* after `make run`, its pepper and demo staff token (var/) */
    ctl_local_env("var/hotline.env");
    cfg_set_dialects(dialect_for_cfg);  /* the gateway's, for cfg_load */
    return dispatch("hotlinectl", groups, sizeof groups / sizeof groups[0],
                    argc - 1, argv + 1);
}
