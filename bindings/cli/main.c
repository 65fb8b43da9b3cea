/*
 * main.c - the `earnorm` interpreter: `lua` with the ORM preloaded.
 *
 *   earnorm [options] [script [args]]      like lua: -e -l -i -v -E -W -- -
 *   earnorm migrate|shell|explain|stats    subcommands, each with --help
 *
 * Before running anything it loads the models (--models, $EARNORM_MODELS,
 * or ./models when it exists) and installs the globals `orm` and `env`
 * (connected to --db, $EARNORM_DATABASE_URL or sqlite://earnorm.db on
 * first use). Exit status: 0 on success, 1 on an error, or what the script
 * gives os.exit.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "eo_lua.h"
#include "util/suggest.h"

static const char *progname = "earnorm";

/* Every option the command line knows (for "did you mean"). */
static const char *const known_opts[] = {
    "--db", "--models", "--cache", "--log-queries", "--version", "--help", "--dry-run",
    "--order", "--limit", "-e", "-i", "-l", "-v", "-E", "-W", "-h", NULL };
static const char *const subcommands[] = { "migrate", "shell", "explain", "stats", NULL };

static void unknown_option(const char *a)
{
    char hint[64];
    fprintf(stderr, "%s: unrecognized option '%s'%s\n", progname, a,
            eo_suggest__hint(hint, sizeof hint, a, known_opts, sizeof known_opts / sizeof known_opts[0]));
}

/* The words EARNORM_LOG_QUERIES may hold (earnorm/env.lua reads the same):
 * 1 when on, 0 when off, -1 when it is none of them. */
static int switch_word(const char *v)
{
    static const char *const on[] = { "1", "true", "yes", "on", NULL };
    static const char *const off[] = { "0", "false", "no", "off", "", NULL };
    int i;
    for (i = 0; on[i]; i++)
        if (strcasecmp(v, on[i]) == 0)
            return 1;
    for (i = 0; off[i]; i++)
        if (strcasecmp(v, off[i]) == 0)
            return 0;
    return -1;
}

/* --cache and $EARNORM_CACHE_URL: refused until the cache exists, never ignored */
static int refuse_cache(const char *from)
{
    fprintf(stderr, "%s: ENOTSUP: %s: the cache is not built yet (only the in-process record "
            "store exists); leave it out\n", progname, from);
    return EO_ENOTSUP;
}

typedef struct opts {
    const char *cmd;     /* the subcommand, NULL when running a script */
    const char *db, *models, *cache;
    int log_queries;
    int interactive, version, ignore_env, warnings, stdin_script;
    int script;          /* index of the script in argv, 0 when none */
    int first_lua_opt;   /* where -e/-l options start */
    int dry_run;
    const char *order;
    long limit;
} opts;

static void usage(FILE *f)
{
    fprintf(f,
            "usage: %s [options] [script [args]]\n"
            "       %s migrate|shell|explain|stats [--help]\n"
            "Lua options:\n"
            "  -e stat        execute string 'stat'\n"
            "  -i             enter interactive mode after executing 'script'\n"
            "  -l mod         require library 'mod' into global 'mod'\n"
            "  -v             show version information\n"
            "  -E             ignore environment variables\n"
            "  -W             turn warnings on\n"
            "  --             stop handling options\n"
            "  -              stop handling options and execute stdin\n"
            "EarnORM options:\n"
            "  --db URL       database (default $EARNORM_DATABASE_URL, else sqlite://earnorm.db)\n"
            "  --models PATH  model files: a directory or a .lua file\n"
            "                 (default $EARNORM_MODELS, else ./models when it exists)\n"
            "  --cache URL    a shared cache: not built yet, refused (as is $EARNORM_CACHE_URL)\n"
            "  --log-queries  print each query with its parameters and time\n"
            "                 (also EARNORM_LOG_QUERIES=1; 1/0, true/false, yes/no, on/off)\n"
            "  --version      print the version\n"
            "  --help         print this help\n"
            "The globals `orm` (require \"earnorm\") and `env` (connected on first use)\n"
            "are ready before the script runs.\n",
            progname, progname);
}

static void l_message(const char *msg)
{
    fprintf(stderr, "%s: %s\n", progname, msg);
    fflush(stderr);
}

/* Report a failed eo_lua_pcall. */
static int report(int rc, const eo_error *err, char *trace)
{
    if (rc != EO_OK) {
        if (trace && strncmp(trace, err->msg, strlen(err->msg)) != 0 && err->domain != EO_DOMAIN_LUA) {
            fprintf(stderr, "%s: %s: %s\n%s\n", progname, eo_code_name(err->code), err->msg, trace);
        } else if (trace && err->domain == EO_DOMAIN_LUA && err->code == EO_ERROR &&
                   strncmp(trace, err->msg, strlen(err->msg)) == 0) {
            fprintf(stderr, "%s: %s\n", progname, trace);
        } else if (trace) {
            fprintf(stderr, "%s: %s: %s\n%s\n", progname, eo_code_name(err->code), err->msg, trace);
        } else {
            fprintf(stderr, "%s: %s: %s\n", progname, eo_code_name(err->code), err->msg);
        }
        fflush(stderr);
    }
    eo_free(trace);
    return rc;
}

static int docall(lua_State *L, int narg, int nres)
{
    eo_error err;
    char *trace = NULL;
    int rc = eo_lua_pcall(L, narg, nres, &err, &trace);
    return report(rc, &err, trace);
}

static int cli_call(lua_State *L, const char *fn, int nargs, int nres)
{
    /* stack: args -> cli[fn](args) */
    lua_getglobal(L, "require");
    lua_pushliteral(L, "earnorm.cli");
    if (docall(L, 1, 1) != EO_OK) {
        lua_pop(L, nargs);
        return EO_ERROR;
    }
    lua_getfield(L, -1, fn);
    lua_remove(L, -2);
    lua_insert(L, -1 - nargs);
    return docall(L, nargs, nres);
}

static void createargtable(lua_State *L, char **argv, int argc, int script)
{
    int i, narg;
    if (script == argc)
        script = 0;
    narg = argc - (script + 1);
    lua_createtable(L, narg, script + 1);
    for (i = 0; i < argc; i++) {
        lua_pushstring(L, argv[i]);
        lua_rawseti(L, -2, i - script);
    }
    lua_setglobal(L, "arg");
}

static int dochunk(lua_State *L, int status)
{
    if (status == LUA_OK)
        return docall(L, 0, 0);
    l_message(lua_tostring(L, -1));
    lua_pop(L, 1);
    return EO_ERROR;
}

static int dofile(lua_State *L, const char *name)
{
    return dochunk(L, luaL_loadfile(L, name));
}

static int dostring(lua_State *L, const char *s, const char *name)
{
    return dochunk(L, luaL_loadbuffer(L, s, strlen(s), name));
}

static int dolibrary(lua_State *L, char *globname)
{
    char *modname = strchr(globname, '=');
    int rc;
    if (modname == NULL)
        modname = globname;
    else
        *modname++ = '\0';
    lua_getglobal(L, "require");
    lua_pushstring(L, modname);
    rc = docall(L, 1, 1);
    if (rc == EO_OK)
        lua_setglobal(L, globname);
    return rc;
}

static int pushargs(lua_State *L)
{
    int i, n;
    if (lua_getglobal(L, "arg") != LUA_TTABLE)
        luaL_error(L, "'arg' is not a table");
    n = (int)luaL_len(L, -1);
    luaL_checkstack(L, n + 3, "too many arguments to script");
    for (i = 1; i <= n; i++)
        lua_rawgeti(L, -i, i);
    lua_remove(L, -i);
    return n;
}

static int handle_script(lua_State *L, char **argv)
{
    const char *fname = argv[0];
    int status, n;
    if (strcmp(fname, "-") == 0 && strcmp(argv[-1], "--") != 0)
        fname = NULL;
    status = luaL_loadfile(L, fname);
    if (status != LUA_OK) {
        l_message(lua_tostring(L, -1));
        lua_pop(L, 1);
        return EO_ERROR;
    }
    n = pushargs(L);
    return docall(L, n, 0);
}

/* ---- the REPL ---- */

static int incomplete(lua_State *L, int status)
{
    if (status == LUA_ERRSYNTAX) {
        size_t lmsg;
        const char *msg = lua_tolstring(L, -1, &lmsg);
        if (lmsg >= 5 && strcmp(msg + lmsg - 5, "<eof>") == 0) {
            lua_pop(L, 1);
            return 1;
        }
    }
    return 0;
}

static int readline_into(luaL_Buffer *b, const char *prompt)
{
    char line[4096];
    size_t len;
    fputs(prompt, stdout);
    fflush(stdout);
    if (fgets(line, sizeof line, stdin) == NULL)
        return 0;
    len = strlen(line);
    luaL_addlstring(b, line, len);
    return 1;
}

static void repl(lua_State *L)
{
    printf("EarnORM %s (%s) -- `env` and `orm` are ready; Ctrl-D quits\n", EO_VERSION_STRING,
           LUA_RELEASE);
    for (;;) {
        luaL_Buffer b;
        const char *code;
        size_t len;
        int status, top = lua_gettop(L);
        luaL_buffinit(L, &b);
        if (!readline_into(&b, "> ")) {
            luaL_pushresult(&b);
            lua_settop(L, top);
            break;
        }
        luaL_pushresult(&b);
        /* stack: code */
        code = lua_tolstring(L, -1, &len);
        lua_pushfstring(L, "return %s", code);
        status = luaL_loadbuffer(L, lua_tostring(L, -1), lua_rawlen(L, -1), "=stdin");
        if (status == LUA_OK) {
            lua_remove(L, -2); /* the "return" text */
        } else {
            lua_pop(L, 2);
            for (;;) {
                /* stack: code */
                code = lua_tolstring(L, -1, &len);
                status = luaL_loadbuffer(L, code, len, "=stdin");
                if (!incomplete(L, status))
                    break;
                /* a 5.4 luaL_Buffer keeps a slot on the stack: join the
                 * lines with lua_concat rather than luaL_addvalue */
                lua_pushliteral(L, "\n");
                luaL_buffinit(L, &b);
                if (!readline_into(&b, ">> ")) {
                    /* end of input inside a statement: report it */
                    luaL_pushresult(&b);
                    lua_pop(L, 2);
                    status = luaL_loadbuffer(L, code, len, "=stdin");
                    break;
                }
                luaL_pushresult(&b);
                lua_concat(L, 3); /* stack: code .. "\n" .. line */
            }
        }
        lua_remove(L, top + 1); /* the code text */
        if (status != LUA_OK) {
            l_message(lua_tostring(L, -1));
            lua_settop(L, top);
            continue;
        }
        if (docall(L, 0, LUA_MULTRET) == EO_OK && lua_gettop(L) > top) {
            int n = lua_gettop(L) - top, i;
            lua_getglobal(L, "print");
            lua_insert(L, top + 1);
            (void)i;
            if (lua_pcall(L, n, 0, 0) != LUA_OK) {
                l_message(lua_tostring(L, -1));
            }
        }
        lua_settop(L, top);
    }
    fputs("\n", stdout);
}

/* ---- setup ---- */

static int is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static int setup(lua_State *L, opts *o)
{
    const char *models = o->models;
    if (!o->ignore_env) {
        if (!o->db)
            o->db = getenv("EARNORM_DATABASE_URL");
        if (!models)
            models = getenv("EARNORM_MODELS");
        if (!o->cache && getenv("EARNORM_CACHE_URL"))
            return refuse_cache("EARNORM_CACHE_URL");
        if (!o->log_queries) {
            const char *lq = getenv("EARNORM_LOG_QUERIES");
            int on = lq ? switch_word(lq) : 0;
            if (on < 0) {
                fprintf(stderr, "%s: EINVAL: EARNORM_LOG_QUERIES='%s': use 1 or 0 (or true/false, "
                        "yes/no, on/off)\n", progname, lq);
                return EO_EINVAL;
            }
            o->log_queries = on;
        }
    }
    if (o->cache)
        return refuse_cache("--cache");
    if (!models && is_dir("models"))
        models = "models";
    lua_createtable(L, 0, 4);
    if (o->db) {
        lua_pushstring(L, o->db);
        lua_setfield(L, -2, "db");
    }
    if (models) {
        lua_pushstring(L, models);
        lua_setfield(L, -2, "models");
    }
    lua_pushboolean(L, o->log_queries);
    lua_setfield(L, -2, "log_queries");
    return cli_call(L, "setup", 1, 0);
}

/* An option of one subcommand only, given elsewhere: an error saying where it goes. */
static int misplaced(const opts *o, const char *a)
{
    const char *owner = strcmp(a, "--dry-run") == 0 ? "migrate"
                        : (strcmp(a, "--order") == 0 || strcmp(a, "--limit") == 0) ? "explain"
                                                                                    : NULL;
    if (owner == NULL || (o->cmd && strcmp(o->cmd, owner) == 0))
        return 0;
    fprintf(stderr, "%s: option '%s' belongs to '%s %s'%s\n", progname, a, progname, owner,
            o->cmd ? "" : " (it means nothing to a script)");
    return 1;
}

/* Parse the EarnORM long options anywhere before the script. */
static int collect(int argc, char **argv, opts *o, int start)
{
    int i;
    for (i = start; i < argc; i++) {
        const char *a = argv[i];
        if (misplaced(o, a))
            return -1;
        if (a[0] != '-')
            return i;
        if (strcmp(a, "--") == 0)
            return i + 1 < argc ? i + 1 : argc;
        if (strcmp(a, "-") == 0) {
            o->stdin_script = 1;
            return i;
        }
        if (strcmp(a, "--db") == 0 || strcmp(a, "--models") == 0 || strcmp(a, "--cache") == 0 ||
            strcmp(a, "--order") == 0 || strcmp(a, "--limit") == 0) {
            if (i + 1 >= argc) {
                fprintf(stderr, "%s: '%s' needs an argument\n", progname, a);
                return -1;
            }
            if (strcmp(a, "--db") == 0)
                o->db = argv[++i];
            else if (strcmp(a, "--models") == 0)
                o->models = argv[++i];
            else if (strcmp(a, "--cache") == 0)
                o->cache = argv[++i];
            else if (strcmp(a, "--order") == 0)
                o->order = argv[++i];
            else {
                char *end;
                const char *v = argv[++i];
                o->limit = strtol(v, &end, 10);
                if (*v == '\0' || *end != '\0' || o->limit < 0) {
                    fprintf(stderr, "%s: --limit needs a non-negative integer, not '%s'\n", progname, v);
                    return -1;
                }
            }
        } else if (strcmp(a, "--log-queries") == 0) {
            o->log_queries = 1;
            /* for every env the script opens with orm.connect too, as the
             * variable does (docs/interpreter.md) */
            setenv("EARNORM_LOG_QUERIES", "1", 1);
        } else if (strcmp(a, "--dry-run") == 0) {
            o->dry_run = 1;
        } else if (strcmp(a, "--version") == 0 || strcmp(a, "-v") == 0) {
            o->version = 1;
        } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            return -2;
        } else if (strcmp(a, "-i") == 0) {
            o->interactive = 1;
        } else if (strcmp(a, "-E") == 0) {
            o->ignore_env = 1;
        } else if (strcmp(a, "-W") == 0) {
            o->warnings = 1;
        } else if (strcmp(a, "-e") == 0 || strcmp(a, "-l") == 0) {
            if (i + 1 >= argc) {
                fprintf(stderr, "%s: '%s' needs an argument\n", progname, a);
                return -1;
            }
            i++;
        } else if ((a[1] == 'e' || a[1] == 'l') && a[2] != '\0') {
            /* -estat, -lmod */
        } else {
            unknown_option(a);
            return -1;
        }
    }
    return argc;
}

/* LUA_INIT_5_4 or LUA_INIT: "@file" runs a file, anything else is code (lua.c) */
static int handle_luainit(lua_State *L)
{
    const char *name = "=LUA_INIT_5_4";
    const char *init = getenv(name + 1);
    if (init == NULL) {
        name = "=LUA_INIT";
        init = getenv(name + 1);
    }
    if (init == NULL)
        return EO_OK;
    if (init[0] == '@')
        return dofile(L, init + 1);
    return dostring(L, init, name);
}

static int run_lua_opts(lua_State *L, char **argv, int from, int to)
{
    int i;
    for (i = from; i < to; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--db") == 0 || strcmp(a, "--models") == 0 || strcmp(a, "--cache") == 0 ||
            strcmp(a, "--order") == 0 || strcmp(a, "--limit") == 0) {
            i++;
            continue;
        }
        if (a[0] == '-' && (a[1] == 'e' || a[1] == 'l')) {
            const char *extra = a[2] ? a + 2 : argv[++i];
            if (a[1] == 'e') {
                if (dostring(L, extra, "=(command line)") != EO_OK)
                    return EO_ERROR;
            } else {
                char buf[512];
                snprintf(buf, sizeof buf, "%s", extra);
                if (dolibrary(L, buf) != EO_OK)
                    return EO_ERROR;
            }
        }
    }
    return EO_OK;
}

static void print_version(void)
{
    printf("EarnORM %s (%s)\n", EO_VERSION_STRING, LUA_RELEASE);
}

static int subcommand_help(const char *cmd)
{
    if (strcmp(cmd, "migrate") == 0)
        printf("usage: %s migrate [--dry-run] [--db URL] [--models PATH]\n"
               "Create or extend the tables and indexes of every model. Destructive changes\n"
               "(a column's type, a new required field on existing records) are refused.\n"
               "--dry-run prints the statements without running them.\n",
               progname);
    else if (strcmp(cmd, "shell") == 0)
        printf("usage: %s shell [--db URL] [--models PATH]\n"
               "An interactive Lua prompt with `orm` and `env` ready.\n", progname);
    else if (strcmp(cmd, "explain") == 0)
        printf("usage: %s explain MODEL [DOMAIN] [--order ORDER] [--limit N] [--db URL] [--models PATH]\n"
               "Show how a search would run: the normalized domain, the query and its plan.\n"
               "DOMAIN is a Lua table or JSON, e.g. '{{\"age\", \">\", 18}}'.\n", progname);
    else
        printf("usage: %s stats [--db URL] [--models PATH]\n"
               "Check that the database is reachable and print statistics.\n", progname);
    return EXIT_SUCCESS;
}

static int subcommand(lua_State *L, const char *cmd, int argc, char **argv)
{
    opts o;
    int i, rest, nargs = 0;
    memset(&o, 0, sizeof o);
    o.cmd = cmd;
    for (i = 2; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return subcommand_help(cmd);
    /* options may come before or after positional arguments (explain
     * MODEL DOMAIN --db URL): collect stops at each positional; skip it */
    for (rest = 2; rest < argc; rest++) {
        rest = collect(argc, argv, &o, rest);
        if (rest < 0)
            return EXIT_FAILURE;
    }
    if (setup(L, &o) != EO_OK)
        return EXIT_FAILURE;
    if (strcmp(cmd, "shell") == 0) {
        repl(L);
        return EXIT_SUCCESS;
    }
    if (strcmp(cmd, "migrate") == 0) {
        lua_createtable(L, 0, 1);
        lua_pushboolean(L, o.dry_run);
        lua_setfield(L, -2, "dry_run");
        return cli_call(L, "migrate", 1, 0) == EO_OK ? EXIT_SUCCESS : EXIT_FAILURE;
    }
    if (strcmp(cmd, "explain") == 0) {
        const char *model = NULL, *domain = NULL;
        for (i = 2; i < argc; i++) {
            if (strcmp(argv[i], "--db") == 0 || strcmp(argv[i], "--models") == 0 ||
                strcmp(argv[i], "--order") == 0 || strcmp(argv[i], "--limit") == 0 ||
                strcmp(argv[i], "--cache") == 0) {
                i++;
                continue;
            }
            if (argv[i][0] == '-' && argv[i][1] == '-')
                continue;
            if (!model)
                model = argv[i];
            else if (!domain)
                domain = argv[i];
        }
        if (!model) {
            fprintf(stderr, "%s explain: which model? (see --help)\n", progname);
            return EXIT_FAILURE;
        }
        lua_pushstring(L, model);
        lua_pushstring(L, domain ? domain : "");
        lua_createtable(L, 0, 2);
        if (o.order) {
            lua_pushstring(L, o.order);
            lua_setfield(L, -2, "order");
        }
        if (o.limit > 0) {
            lua_pushinteger(L, o.limit);
            lua_setfield(L, -2, "limit");
        }
        nargs = 3;
        return cli_call(L, "explain", nargs, 0) == EO_OK ? EXIT_SUCCESS : EXIT_FAILURE;
    }
    /* stats */
    if (cli_call(L, "stats", 0, 1) != EO_OK)
        return EXIT_FAILURE;
    return lua_toboolean(L, -1) ? EXIT_SUCCESS : EXIT_FAILURE;
}

int main(int argc, char **argv)
{
    eo_vm *vm = NULL;
    lua_State *L;
    eo_error err;
    opts o;
    int script, status = EXIT_SUCCESS;

    eo_vm_config vc;
    int subcmd = argc > 1 && (strcmp(argv[1], "migrate") == 0 || strcmp(argv[1], "shell") == 0 ||
                              strcmp(argv[1], "explain") == 0 || strcmp(argv[1], "stats") == 0);

    memset(&o, 0, sizeof o);
    memset(&vc, 0, sizeof vc);
    script = subcmd ? 0 : collect(argc, argv, &o, 1);
    if (script > 0 && script < argc && script == 1 && access(argv[1], F_OK) != 0) {
        /* "earnorm migrte": a misspelt subcommand, not a missing script */
        char hint[64];
        eo_suggest__hint(hint, sizeof hint, argv[1], subcommands, 4);
        if (hint[0]) {
            fprintf(stderr, "%s: unknown command '%s'%s\n", progname, argv[1], hint);
            return EXIT_FAILURE;
        }
    }
    if (script == -2) {
        usage(stdout);
        return EXIT_SUCCESS;
    }
    if (script < 0) {
        usage(stderr);
        return EXIT_FAILURE;
    }
    vc.ignore_env = o.ignore_env;
    if (eo_vm_new(&vm, &vc, &err) != EO_OK) {
        fprintf(stderr, "%s: %s\n", progname, err.msg);
        return EXIT_FAILURE;
    }
    L = eo_vm_state(vm);
    lua_gc(L, LUA_GCGEN, 0, 0);
    if (subcmd) {
        status = subcommand(L, argv[1], argc, argv);
        eo_vm_free(vm);
        return status;
    }
    if (o.version)
        print_version();
    if (o.warnings)
        lua_warning(L, "@on", 0);
    createargtable(L, argv, argc, script);
    if (setup(L, &o) != EO_OK) {
        eo_vm_free(vm);
        return EXIT_FAILURE;
    }
    if (!o.ignore_env && handle_luainit(L) != EO_OK) {
        eo_vm_free(vm);
        return EXIT_FAILURE;
    }
    if (run_lua_opts(L, argv, 1, script) != EO_OK) {
        eo_vm_free(vm);
        return EXIT_FAILURE;
    }
    if (script < argc) {
        if (handle_script(L, argv + script) != EO_OK)
            status = EXIT_FAILURE;
    }
    if (status == EXIT_SUCCESS) {
        int had_e = 0, i;
        for (i = 1; i < script; i++)
            if (argv[i][0] == '-' && argv[i][1] == 'e')
                had_e = 1;
        if (o.interactive) {
            repl(L);
        } else if (script == argc && !had_e && !o.version) {
            if (isatty(0)) {
                print_version();
                repl(L);
            } else if (dofile(L, NULL) != EO_OK) {
                status = EXIT_FAILURE;
            }
        }
    }
    eo_vm_free(vm);
    return status;
}
