/*
 * cli_migrate.c - `mcpzip migrate` and `migrate --undo`; see cli_migrate.h.
 */
#include "cli_migrate.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "cli_clients.h"
#include "cli_common.h"
#include "config.h"
#include "err.h"
#include "fsutil.h"
#include "json.h"
#include "jsonfile.h"
#include "upstream.h"
#include "xmem.h"

const char cli_migrate_help[] =
    "usage: mcpzip migrate [--from CLIENT[,CLIENT...]] [--client-config PATH] [--project DIR]\n"
    "                      [--config PATH] [--on-conflict rename|keep|replace] [--dry-run]\n"
    "       mcpzip migrate --undo [--force] [--config PATH]\n"
    "\n"
    "Moves the MCP servers configured in your clients into mcpzip's config and replaces them in\n"
    "each client's file with one \"mcpzip\" entry that starts this binary, so the client talks\n"
    "to all of them through mcpzip.\n"
    "\n"
    "Clients (auto-detected; choose with --from): claude-code (~/.claude.json user scope, and\n"
    "with --project DIR that project's local scope and DIR/.mcp.json), claude-desktop, cursor,\n"
    "windsurf, gemini (~/.gemini/settings.json), vscode (Code/User/mcp.json, \"servers\").\n"
    "\n"
    "  --from LIST          only these clients (comma-separated)\n"
    "  --client-config PATH migrate this file (its client is guessed, or given by --from)\n"
    "  --claude-config PATH same as --from claude-code --client-config PATH\n"
    "  --project DIR        also the project-level files and Claude Code's local scope of DIR\n"
    "  --config PATH        mcpzip's config (default ~/.config/compressed-mcp-proxy/config.json);\n"
    "                       the client entry then passes --config PATH\n"
    "  --on-conflict WHAT   a server name already in mcpzip's config with a different entry:\n"
    "                       rename (default: import as NAME-CLIENT), keep (leave it in the\n"
    "                       client), replace (overwrite mcpzip's entry)\n"
    "  --dry-run            print what would change, as a diff, and write nothing\n"
    "  --undo               restore the files of the latest migration from their backups\n"
    "  --force              with --undo: restore even files changed since the migration\n"
    "\n"
    "Safety: every modified file is backed up first (FILE.mcpzip-backup-TIME), written\n"
    "atomically with its permissions, key order and formatting kept; running migrate twice\n"
    "changes nothing the second time; entries that start mcpzip itself are never imported.\n";

/* One client file touched by a run. */
struct file {
    const struct cli_client *client;
    struct jsonfile *jf;
    size_t moved; /* entries moved out of it */
};

struct run {
    const struct cli_migrate_opts *o;
    FILE *out;
    struct cli_style st;
    char *self;
    char *cfgpath;
    char *project; /* absolute, or NULL */
    struct jsonfile *cfg;
    cJSON *servers; /* cfg's mcpServers */
    struct file *files;
    size_t nfiles;
    size_t imported, same, renamed, skipped, found;
    bool failed;    /* a file could not be read: exit 1 */
    bool cfg_dirty; /* the config gets written (never just to reformat it) */
};

enum conflict { CONFLICT_RENAME, CONFLICT_KEEP, CONFLICT_REPLACE };

/* Checks an entry the way serve will read it, so nothing is imported that mcpzip would refuse. */
static int validate(const char *name, const cJSON *entry, char **why)
{
    cJSON *doc = cJSON_CreateObject();
    struct config *cfg = NULL;
    char *text;
    int rc;

    cJSON_AddItemToObject(cJSON_AddObjectToObject(doc, "mcpServers"), name, json_dup(entry));
    text = json_print(doc);
    rc = config_parse(text, strlen(text), "entry", &cfg, why);
    config_free(cfg);
    free(text);
    cJSON_Delete(doc);
    return rc;
}

/* Picks a free name for an entry whose name is taken: NAME-CLIENT, then NAME-CLIENT-2... */
static char *free_name(struct run *r, const char *name, const char *client)
{
    char *n = xasprintf("%.40s-%s", name, client);

    for (int i = 2; cJSON_GetObjectItemCaseSensitive(r->servers, n) != NULL; i++) {
        free(n);
        n = xasprintf("%.40s-%s-%d", name, client, i);
    }
    return n;
}

static void line(struct run *r, const char *mark, const char *color, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void line(struct run *r, const char *mark, const char *color, const char *fmt, ...)
{
    va_list ap;
    char *s;

    va_start(ap, fmt);
    s = xvasprintf(fmt, ap);
    va_end(ap);
    fprintf(r->out, "  %s%s%s %s\n", color, mark, r->st.reset, s);
    free(s);
}

static enum conflict conflict_mode(const char *s)
{
    if (s != NULL && strcmp(s, "keep") == 0)
        return CONFLICT_KEEP;
    if (s != NULL && strcmp(s, "replace") == 0)
        return CONFLICT_REPLACE;
    return CONFLICT_RENAME;
}

/* Moves the entries of one servers object (a scope) into mcpzip's config. Returns how many
 * left the client's file. */
static size_t migrate_scope(struct run *r, struct file *f, cJSON *scope, const char *where)
{
    cJSON *it = scope != NULL ? scope->child : NULL, *next;
    enum conflict mode = conflict_mode(r->o->on_conflict);
    size_t moved = 0;

    for (; it != NULL; it = next) {
        const char *name = it->string;
        char *conv_why = NULL, *note = NULL, *target = NULL;
        cJSON *entry = NULL;
        const cJSON *have;

        next = it->next;
        r->found++;
        if (cli_clients_is_self(name, it, r->self)) {
            line(r, "·", r->st.dim, "%s%s: mcpzip itself, left in place (never imported)", name,
                 where);
            r->found--;
            continue;
        }
        if (cli_clients_convert(f->client, it, cli_common_home(), r->project, &entry, &note,
                                &conv_why) != 0 ||
            validate(name, entry, &conv_why) != 0) {
            line(r, "!", r->st.yellow, "%s%s: not migrated: %s", name, where, conv_why);
            r->skipped++;
            goto next_entry;
        }
        target = cli_clients_sanitize_name(name);
        if (target == NULL) {
            line(r, "!", r->st.yellow, "%s%s: not migrated: no usable name", name, where);
            r->skipped++;
            goto next_entry;
        }
        have = cJSON_GetObjectItemCaseSensitive(r->servers, target);
        if (have != NULL && cJSON_Compare(have, entry, 1)) {
            line(r, "=", r->st.dim, "%s%s: already in mcpzip's config (identical)", name, where);
            r->same++;
        } else if (have != NULL && mode == CONFLICT_KEEP) {
            line(r, "!", r->st.yellow,
                 "%s%s: conflict: mcpzip's config has a different \"%s\"; "
                 "kept that one and left this entry in the client (--on-conflict keep)",
                 name, where, target);
            r->skipped++;
            goto next_entry;
        } else if (have != NULL && mode == CONFLICT_REPLACE) {
            line(r, "~", r->st.yellow,
                 "%s%s: conflict: replaced mcpzip's different \"%s\" "
                 "(--on-conflict replace)",
                 name, where, target);
            cJSON_ReplaceItemInObjectCaseSensitive(r->servers, target, entry);
            entry = NULL;
            r->imported++;
        } else {
            char *final = have != NULL ? free_name(r, target, f->client->id) : xstrdup(target);

            if (have != NULL)
                line(r, "~", r->st.yellow,
                     "%s%s: conflict: mcpzip's config has a different "
                     "\"%s\"; imported as \"%s\"",
                     name, where, target, final);
            else if (strcmp(final, name) != 0)
                line(r, "+", r->st.green,
                     "%s%s: imported as \"%s\" (%s; the name had "
                     "characters mcpzip does not allow)",
                     name, where, final, cli_clients_transport(entry));
            else
                line(r, "+", r->st.green, "%s%s: imported (%s)", name, where,
                     cli_clients_transport(entry));
            r->renamed += have != NULL;
            r->imported++;
            cJSON_AddItemToObject(r->servers, final, entry);
            entry = NULL;
            free(final);
        }
        if (note != NULL)
            fprintf(r->out, "      %s(%s)%s\n", r->st.dim, note, r->st.reset);
        cJSON_Delete(cJSON_DetachItemViaPointer(scope, it));
        moved++;
    next_entry:
        free(conv_why);
        free(note);
        free(target);
        cJSON_Delete(entry);
    }
    return moved;
}

/* Puts the mcpzip entry into the file's top-level servers object, in place when one exists. */
static void install_self(struct run *r, struct file *f)
{
    bool dflt = cli_common_is_default_config(r->cfgpath);
    cJSON *want = cli_clients_self_entry(f->client, r->self, dflt ? NULL : r->cfgpath);
    cJSON *top = cJSON_GetObjectItemCaseSensitive(f->jf->root, f->client->key);
    const cJSON *have;

    if (!cJSON_IsObject(top))
        top = cJSON_AddObjectToObject(f->jf->root, f->client->key);
    have = cJSON_GetObjectItemCaseSensitive(top, "mcpzip");
    if (have != NULL && cJSON_Compare(have, want, 1))
        cJSON_Delete(want);
    else if (have != NULL)
        cJSON_ReplaceItemInObjectCaseSensitive(top, "mcpzip", want);
    else
        cJSON_AddItemToObject(top, "mcpzip", want);
}

static void migrate_file(struct run *r, struct file *f)
{
    cJSON *top = cJSON_GetObjectItemCaseSensitive(f->jf->root, f->client->key);
    bool claude =
        strcmp(f->client->id, "claude-code") == 0 && strstr(f->jf->path, ".claude.json") != NULL;
    char *where = NULL;

    fprintf(r->out, "%s%s%s (%s):\n", r->st.bold, f->client->label, r->st.reset, f->jf->path);
    if (cJSON_IsObject(top))
        f->moved += migrate_scope(r, f, top, claude ? " [user scope]" : "");
    if (claude && r->project != NULL) {
        cJSON *projects = cJSON_GetObjectItemCaseSensitive(f->jf->root, "projects");
        cJSON *p = cJSON_GetObjectItemCaseSensitive(projects, r->project);
        cJSON *local = cJSON_GetObjectItemCaseSensitive(p, "mcpServers");

        where = xasprintf(" [local scope of %s]", r->project);
        if (cJSON_IsObject(local))
            f->moved += migrate_scope(r, f, local, where);
    }
    if (f->moved > 0)
        install_self(r, f);
    else
        fprintf(r->out, "  %snothing to migrate%s\n", r->st.dim, r->st.reset);
    free(where);
}

/* Opens a client file; missing files are skipped, unreadable ones reported. */
static void add_file(struct run *r, const struct cli_client *c, const char *path, bool explicit)
{
    struct jsonfile *jf = NULL;
    char *why = NULL, *real = realpath(path, NULL);

    for (size_t i = 0; i < r->nfiles && real != NULL; i++)
        if (strcmp(r->files[i].jf->target, real) == 0)
            goto out; /* the same file reached twice (a project inside home, a symlink) */
    if (real != NULL && strcmp(real, r->cfg->target) == 0)
        goto out;
    if (jsonfile_open(path, 0600, &jf, &why) != 0) {
        fprintf(stderr, "mcpzip migrate: %s (skipped)\n", why);
        r->failed = true;
        goto out;
    }
    if (!jf->exists) {
        if (explicit) {
            fprintf(stderr, "mcpzip migrate: %s: no such file\n", path);
            r->failed = true;
        }
        jsonfile_free(jf);
        goto out;
    }
    if (!cJSON_IsObject(jf->root)) {
        fprintf(stderr, "mcpzip migrate: %s does not hold a JSON object (skipped)\n", path);
        r->failed = true;
        jsonfile_free(jf);
        goto out;
    }
    if (c == NULL)
        c = cli_clients_guess(path, jf->root);
    r->files = xrealloc(r->files, (r->nfiles + 1) * sizeof(*r->files));
    r->files[r->nfiles++] = (struct file){.client = c, .jf = jf};
out:
    free(why);
    free(real);
}

/* Collects the files to migrate from the options. Returns false on a bad --from. */
static bool collect(struct run *r)
{
    const struct cli_migrate_opts *o = r->o;
    const struct cli_client *from = NULL;
    size_t n;
    const struct cli_client *all = cli_clients_all(&n);

    if (o->client_config != NULL) {
        if (o->from != NULL && (from = cli_clients_find(o->from)) == NULL) {
            fprintf(stderr, "mcpzip migrate: unknown client \"%s\"; run 'mcpzip help migrate'\n",
                    o->from);
            return false;
        }
        add_file(r, from, o->client_config, true);
        return true;
    }
    if (o->from != NULL) {
        char *list = xstrdup(o->from), *save = NULL;

        for (char *id = strtok_r(list, ",", &save); id != NULL; id = strtok_r(NULL, ",", &save)) {
            const struct cli_client *c = cli_clients_find(id);

            if (c == NULL) {
                fprintf(stderr,
                        "mcpzip migrate: unknown client \"%s\"; known: claude-code, "
                        "claude-desktop, cursor, windsurf, gemini, vscode\n",
                        id);
                free(list);
                return false;
            }
            char **paths = cli_clients_paths(c, cli_common_home(), r->project);

            for (char **p = paths; *p != NULL; p++) {
                add_file(r, c, *p, false);
                free(*p);
            }
            free(paths);
        }
        free(list);
        return true;
    }
    for (size_t i = 0; i < n; i++) {
        char **paths = cli_clients_paths(&all[i], cli_common_home(), r->project);

        for (char **p = paths; *p != NULL; p++) {
            add_file(r, &all[i], *p, false);
            free(*p);
        }
        free(paths);
    }
    return true;
}

/* Removes entries that start mcpzip itself from mcpzip's own config (the Rust mcpzip's migrate
 * could leave one there; serve would spawn itself without end). */
static void drop_self_entries(struct run *r)
{
    cJSON *it, *next;

    for (it = r->servers->child; it != NULL; it = next) {
        next = it->next;
        if (!cli_clients_is_self(it->string, it, r->self))
            continue;
        fprintf(r->out, "  %s-%s %s: removed from mcpzip's config: it starts mcpzip itself\n",
                r->st.yellow, r->st.reset, it->string);
        cJSON_Delete(cJSON_DetachItemViaPointer(r->servers, it));
        r->cfg_dirty = true;
    }
}

static void print_diff(struct run *r, struct jsonfile *jf)
{
    char *text = jsonfile_render(jf);
    char *label = xasprintf("%s (after migrate)", jf->path);
    char *d = jsonfile_diff(jf->path, label, jf->exists ? jf->text : NULL, text);

    if (d != NULL)
        fputs(d, r->out);
    free(d);
    free(label);
    free(text);
}

/* Writes the run's journal for --undo: what each file was backed up to and a hash of what
 * was written. */
static int write_journal(struct run *r, cJSON *files, const char *stamp, char **why)
{
    char *dir = fsutil_dirname(r->cfg->target), *bdir = xasprintf("%s/backups", dir);
    char *path = xasprintf("%s/migrate-%s-%d.json", bdir, stamp, (int)getpid());
    cJSON *doc = cJSON_CreateObject();
    char *text = NULL;
    int rc;

    cJSON_AddNumberToObject(doc, "time_ms", (double)upstream_wall_ms());
    cJSON_AddStringToObject(doc, "config", r->cfg->target);
    cJSON_AddItemToObject(doc, "files", files);
    rc = fsutil_mkdirs(bdir, 0700, why);
    if (rc == 0) {
        char *body = jsonfile_format(doc);

        text = xasprintf("%s\n", body);
        free(body);
        rc = fsutil_write_atomic(path, text, strlen(text), 0600, why);
    }
    free(text);
    cJSON_Delete(doc);
    free(path);
    free(bdir);
    free(dir);
    return rc;
}

static void journal_add(cJSON *files, struct jsonfile *jf, const char *backup)
{
    cJSON *f = cJSON_CreateObject();
    char hex[65];

    fsutil_sha256_hex(jf->text, jf->len, hex, 64);
    cJSON_AddStringToObject(f, "path", jf->target);
    if (backup != NULL)
        cJSON_AddStringToObject(f, "backup", backup);
    else
        cJSON_AddNullToObject(f, "backup");
    cJSON_AddStringToObject(f, "sha256", hex);
    cJSON_AddItemToArray(files, f);
}

/* Backs up and writes every changed file: the config first. Returns 0 or 1. */
static int apply(struct run *r)
{
    struct jsonfile **todo = xcalloc(r->nfiles + 2, sizeof(*todo));
    char **backups = xcalloc(r->nfiles + 2, sizeof(*backups));
    cJSON *journal = cJSON_CreateArray();
    size_t n = 0, i;
    char stamp[20], *why = NULL;
    int rc = 1;

    jsonfile_stamp(stamp);
    if (r->cfg_dirty && jsonfile_changed(r->cfg))
        todo[n++] = r->cfg;
    for (i = 0; i < r->nfiles; i++)
        if (r->files[i].moved > 0 && jsonfile_changed(r->files[i].jf))
            todo[n++] = r->files[i].jf;
    for (i = 0; i < n; i++) {
        if (!todo[i]->exists)
            continue;
        if (jsonfile_backup(todo[i], stamp, &backups[i], &why) != 0) {
            fprintf(stderr, "mcpzip migrate: cannot back up %s: %s; nothing was changed\n",
                    todo[i]->path, why);
            goto out;
        }
    }
    for (i = 0; i < n; i++) {
        int w = todo[i] == r->cfg ? cli_common_config_save(todo[i], &why)
                                  : jsonfile_save(todo[i], &why);

        if (w != 0) {
            fprintf(stderr, "mcpzip migrate: %s\n", why);
            if (i > 0)
                fprintf(stderr, "mcpzip migrate: the files above were written; "
                                "'mcpzip migrate --undo' restores them\n");
            break;
        }
        journal_add(journal, todo[i], backups[i]);
    }
    if (cJSON_GetArraySize(journal) > 0) {
        free(why);
        why = NULL;
        if (write_journal(r, journal, stamp, &why) != 0)
            fprintf(stderr,
                    "mcpzip migrate: could not record the run for --undo: %s (the "
                    "backups are next to each file)\n",
                    why);
        journal = NULL;
    }
    if (i < n)
        goto out;
    for (i = 0; i < n; i++)
        fprintf(r->out, "%swrote%s %s%s%s%s\n", r->st.green, r->st.reset, todo[i]->path,
                backups[i] ? " (backup: " : " (new file)", backups[i] ? backups[i] : "",
                backups[i] ? ")" : "");
    rc = 0;
out:
    cJSON_Delete(journal);
    for (i = 0; i < n; i++)
        free(backups[i]);
    free(backups);
    free(todo);
    free(why);
    return rc;
}

int cli_migrate_run(const struct cli_migrate_opts *o, FILE *out)
{
    struct run r = {.o = o, .out = out};
    char *why = NULL;
    bool changed = false;
    int rc = 1;

    cli_common_style(out, &r.st);
    r.self = cli_common_self_path();
    r.cfgpath = cli_common_config_path(o->config);
    if (o->project != NULL) {
        r.project = realpath(o->project, NULL);
        if (r.project == NULL) {
            fprintf(stderr, "mcpzip migrate: --project %s: %s\n", o->project, strerror(errno));
            goto out;
        }
    }
    if (cli_common_config_open(r.cfgpath, true, &r.cfg, &r.servers, &why) != 0) {
        fprintf(stderr, "mcpzip migrate: %s; nothing was changed\n", why);
        goto out;
    }
    if (!collect(&r))
        goto out;
    drop_self_entries(&r);
    for (size_t i = 0; i < r.nfiles; i++)
        migrate_file(&r, &r.files[i]);
    r.cfg_dirty = r.cfg_dirty || r.imported > 0;
    changed = r.cfg_dirty && jsonfile_changed(r.cfg);
    for (size_t i = 0; i < r.nfiles; i++)
        changed = changed || (r.files[i].moved > 0 && jsonfile_changed(r.files[i].jf));
    if (r.nfiles == 0 && !o->quiet_none)
        fprintf(out,
                "No MCP client config files found%s. Add servers with 'mcpzip add', or "
                "name a file with --client-config PATH.\n",
                o->from != NULL ? " for the clients named" : "");
    if (!changed) {
        if (r.nfiles > 0 || !o->quiet_none)
            fprintf(out,
                    "Nothing to change: %zu server(s) to move, mcpzip's config %s is up to "
                    "date.\n",
                    r.imported, r.cfgpath);
        rc = r.failed ? 1 : 0;
        goto out;
    }
    fprintf(out,
            "\n%zu imported, %zu already present, %zu renamed for conflicts, %zu not "
            "migrated.\n",
            r.imported, r.same, r.renamed, r.skipped);
    if (o->dry_run) {
        fprintf(out, "\nDry run: nothing was written. The changes would be:\n");
        if (r.cfg_dirty)
            print_diff(&r, r.cfg);
        for (size_t i = 0; i < r.nfiles; i++)
            if (r.files[i].moved > 0)
                print_diff(&r, r.files[i].jf);
        rc = r.failed ? 1 : 0;
        goto out;
    }
    if (apply(&r) != 0)
        goto out;
    fprintf(out,
            "\nClients now start: %s serve%s%s\nRestart them to pick up the change. "
            "'mcpzip doctor' checks every server; 'mcpzip migrate --undo' reverts this.\n",
            r.self, cli_common_is_default_config(r.cfgpath) ? "" : " --config ",
            cli_common_is_default_config(r.cfgpath) ? "" : r.cfgpath);
    rc = r.failed ? 1 : 0;
out:
    for (size_t i = 0; i < r.nfiles; i++)
        jsonfile_free(r.files[i].jf);
    free(r.files);
    jsonfile_free(r.cfg);
    free(r.self);
    free(r.cfgpath);
    free(r.project);
    free(why);
    return rc;
}

size_t cli_migrate_count(const char *from, const char *project, char **files)
{
    size_t n, count = 0;
    const struct cli_client *all = cli_clients_all(&n);
    char *self = cli_common_self_path();
    struct buf b = {0};

    for (size_t i = 0; i < n; i++) {
        if (from != NULL && strcmp(from, all[i].id) != 0)
            continue;
        char **paths = cli_clients_paths(&all[i], cli_common_home(), project);

        for (char **p = paths; *p != NULL; p++) {
            struct jsonfile *jf = NULL;
            char *why = NULL;
            size_t here = 0;
            const cJSON *it;

            if (jsonfile_open(*p, 0600, &jf, &why) == 0 && jf->exists) {
                cJSON_ArrayForEach (it, json_get_obj(jf->root, all[i].key))
                    here += !cli_clients_is_self(it->string, it, self);
                if (here > 0)
                    buf_printf(&b, "%s\n", *p);
                count += here;
            }
            jsonfile_free(jf);
            free(why);
            free(*p);
        }
        free(paths);
    }
    free(self);
    if (files != NULL)
        *files = buf_take(&b);
    buf_free(&b);
    return count;
}

/* ---- undo ---- */

/* Finds the latest journal in dir. Returns its path (caller frees) or NULL. */
static char *latest_journal(const char *dir, cJSON **doc)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    double best = -1;
    char *best_path = NULL;

    *doc = NULL;
    if (d == NULL)
        return NULL;
    while ((de = readdir(d)) != NULL) {
        size_t len = strlen(de->d_name);
        char *p, *text = NULL, *why = NULL;
        size_t tlen;
        cJSON *j;
        double t;

        if (strncmp(de->d_name, "migrate-", 8) != 0 || len < 5 ||
            strcmp(de->d_name + len - 5, ".json") != 0)
            continue;
        p = xasprintf("%s/%s", dir, de->d_name);
        if (fsutil_read_file(p, JSONFILE_MAX_BYTES, &text, &tlen, &why) == 0 &&
            (j = json_parse(text, tlen, NULL)) != NULL) {
            if (json_get_num(j, "time_ms", &t) && t > best) {
                best = t;
                free(best_path);
                best_path = p;
                p = NULL;
                cJSON_Delete(*doc);
                *doc = j;
            } else {
                cJSON_Delete(j);
            }
        }
        free(p);
        free(text);
        free(why);
    }
    closedir(d);
    return best_path;
}

static int undo(const char *config, bool force, FILE *out)
{
    char *cfgpath = cli_common_config_path(config), *real = realpath(cfgpath, NULL);
    char *dir = fsutil_dirname(real != NULL ? real : cfgpath), *bdir = xasprintf("%s/backups", dir);
    cJSON *doc = NULL;
    const cJSON *f;
    char *journal = latest_journal(bdir, &doc), *why = NULL, stamp[20];
    bool ok = true;
    int rc = 1;

    if (journal == NULL) {
        fprintf(stderr, "mcpzip migrate --undo: no migration to undo (no journal in %s)\n", bdir);
        goto out;
    }
    /* Check every file first: undo all of the run, or none of it. */
    cJSON_ArrayForEach (f, json_get_arr(doc, "files")) {
        const char *path = json_get_str(f, "path"), *sum = json_get_str(f, "sha256");
        char *text = NULL, hex[65];
        size_t len = 0;

        if (path == NULL || sum == NULL)
            continue;
        if (fsutil_read_file(path, JSONFILE_MAX_BYTES, &text, &len, &why) != 0) {
            fprintf(stderr, "mcpzip migrate --undo: %s\n", why);
            free(why);
            why = NULL;
            ok = false;
            continue;
        }
        fsutil_sha256_hex(text, len, hex, 64);
        free(text);
        if (strcmp(hex, sum) != 0 && !force) {
            fprintf(stderr,
                    "mcpzip migrate --undo: %s changed after the migration; restoring "
                    "it would lose those changes (use --force to restore anyway)\n",
                    path);
            ok = false;
        }
    }
    if (!ok)
        goto out;
    jsonfile_stamp(stamp);
    cJSON_ArrayForEach (f, json_get_arr(doc, "files")) {
        const char *path = json_get_str(f, "path"), *backup = json_get_str(f, "backup");
        char *text = NULL, *aside = NULL;
        size_t len = 0;
        struct stat st;

        if (path == NULL)
            continue;
        if (backup == NULL) {
            /* The migration created this file: move it aside rather than destroy it. */
            aside = xasprintf("%s.mcpzip-undone-%s", path, stamp);
            if (rename(path, aside) != 0)
                fprintf(stderr, "mcpzip migrate --undo: cannot move %s aside: %s\n", path,
                        strerror(errno));
            else
                fprintf(out, "removed %s (created by the migration; kept as %s)\n", path, aside);
            free(aside);
            continue;
        }
        if (fsutil_read_file(backup, JSONFILE_MAX_BYTES, &text, &len, &why) != 0 ||
            stat(backup, &st) != 0 ||
            fsutil_write_atomic(path, text, len, st.st_mode & 07777, &why) != 0) {
            fprintf(stderr, "mcpzip migrate --undo: cannot restore %s from %s: %s\n", path, backup,
                    why != NULL ? why : strerror(errno));
            free(why);
            why = NULL;
            free(text);
            goto out;
        }
        free(text);
        fprintf(out, "restored %s from %s\n", path, backup);
    }
    {
        char *done = xasprintf("%s.undone", journal);

        if (rename(journal, done) != 0)
            fprintf(stderr, "mcpzip migrate --undo: cannot retire %s: %s\n", journal,
                    strerror(errno));
        free(done);
    }
    fprintf(out, "Undone. Restart your MCP clients to pick up the restored files.\n");
    rc = 0;
out:
    cJSON_Delete(doc);
    free(journal);
    free(cfgpath);
    free(real);
    free(dir);
    free(bdir);
    return rc;
}

int cli_migrate_main(int argc, char **argv)
{
    struct cli_migrate_opts o = {0};
    bool do_undo = false, force = false;
    const char *v;
    int i, m;

    for (i = 1; i < argc; i++) {
        if (cli_common_is_help(argv[i])) {
            fputs(cli_migrate_help, stdout);
            return 0;
        } else if (strcmp(argv[i], "--dry-run") == 0 || strcmp(argv[i], "-n") == 0) {
            o.dry_run = true;
        } else if (strcmp(argv[i], "--undo") == 0) {
            do_undo = true;
        } else if (strcmp(argv[i], "--force") == 0) {
            force = true;
        } else if ((m = cli_common_opt(argc, argv, &i, "--config", &o.config)) != 0 ||
                   (m = cli_common_opt(argc, argv, &i, "--from", &o.from)) != 0 ||
                   (m = cli_common_opt(argc, argv, &i, "--client-config", &o.client_config)) != 0 ||
                   (m = cli_common_opt(argc, argv, &i, "--project", &o.project)) != 0 ||
                   (m = cli_common_opt(argc, argv, &i, "--on-conflict", &o.on_conflict)) != 0) {
            if (m < 0)
                return 1;
        } else if ((m = cli_common_opt(argc, argv, &i, "--claude-config", &v)) != 0) {
            if (m < 0)
                return 1;
            o.client_config = v;
            o.from = "claude-code";
        } else {
            return cli_common_bad_option("migrate", argv[i]);
        }
    }
    if (o.on_conflict != NULL && strcmp(o.on_conflict, "rename") != 0 &&
        strcmp(o.on_conflict, "keep") != 0 && strcmp(o.on_conflict, "replace") != 0) {
        fprintf(stderr, "mcpzip migrate: --on-conflict must be rename, keep or replace\n");
        return 1;
    }
    cli_common_init();
    if (do_undo)
        return undo(o.config, force, stdout);
    return cli_migrate_run(&o, stdout);
}
