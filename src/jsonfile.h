/*
 * jsonfile.h - editing JSON files that belong to the user: mcpzip's config and the config files
 * of MCP clients (Claude Code, Cursor, VS Code...).
 *
 * Owns: reading such a file together with what must survive an edit (its permissions, whether it
 * ended with a newline, the symlink it may be reached through), printing JSON the way those
 * clients print it (JSON.stringify(value, null, 2): two-space indentation, key order kept,
 * numbers and strings written as JavaScript writes them), replacing the file atomically with the
 * same permissions, timestamped backups, and a unified diff of an edit for --dry-run.
 *
 * Key order survives because cJSON keeps object members in file order and the printer walks them
 * in that order. Values are never re-sorted or re-typed.
 *
 * Errors: err.h codes with *why (callee allocates, caller frees). Ownership: struct jsonfile is
 * the caller's, freed with jsonfile_free(); its root belongs to it. Strings returned are newly
 * allocated. Any thread; no shared state.
 */
#ifndef MCPZIP_JSONFILE_H
#define MCPZIP_JSONFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <cjson/cJSON.h>

#define JSONFILE_MAX_BYTES (64u * 1024u * 1024u)

struct jsonfile {
    char *path;   /* as given (for messages) */
    char *target; /* where writes go: the symlink's final target, or path */
    bool exists;  /* the file existed when opened */
    mode_t mode;  /* its permission bits, or the mode a new file gets */
    bool newline; /* the text ended with "\n" (a new file gets one) */
    char *text;   /* the bytes read (NUL-terminated), NULL when the file did not exist */
    size_t len;
    cJSON *root; /* the parsed value, or NULL when the file did not exist */
};

/*
 * Opens path for editing. A missing file is not an error: exists is false, root NULL and mode
 * new_mode. Returns 0 and *out (caller frees), or ERR_PARSE (with file:line:column in *why),
 * ERR_TOO_BIG or ERR_IO.
 */
int jsonfile_open(const char *path, mode_t new_mode, struct jsonfile **out, char **why);

/* Returns item printed as JSON.stringify(item, null, 2) does, without a final newline. */
char *jsonfile_format(const cJSON *item);

/* Returns the text jf->root would be saved as: formatted, plus "\n" when jf->newline. */
char *jsonfile_render(const struct jsonfile *jf);

/* Returns true when saving would change the file (new file, or different bytes). */
bool jsonfile_changed(const struct jsonfile *jf);

/*
 * Replaces the file with jsonfile_render(jf), atomically, with jf->mode. Refuses (ERR_IO) when
 * the file changed on disk since it was opened, so a concurrent writer's edit is never lost.
 * After success jf describes the new content. Creates no directories.
 */
int jsonfile_save(struct jsonfile *jf, char **why);

/*
 * Copies the bytes read from an existing file to "<target>.mcpzip-backup-<stamp>" (with "-N"
 * appended when taken) with the file's mode. Returns 0 and *backup (caller frees), or ERR_IO;
 * ERR_NOT_FOUND when the file did not exist (nothing to back up).
 */
int jsonfile_backup(const struct jsonfile *jf, const char *stamp, char **backup, char **why);

/* Writes the current UTC time as "YYYYmmddTHHMMSSZ" to out[20]. */
void jsonfile_stamp(char out[20]);

/*
 * Returns a unified diff (3 lines of context) from old_text to new_text, labelled with
 * old_label and new_label, or NULL when they are equal. old_text NULL means a new file
 * ("--- /dev/null"). Pure function.
 */
char *jsonfile_diff(const char *old_label, const char *new_label, const char *old_text,
                    const char *new_text);

void jsonfile_free(struct jsonfile *jf);

#endif
