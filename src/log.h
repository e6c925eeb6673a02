/*
 * log.h - the one place mcpzip writes diagnostics.
 *
 * Owns: the log level and the log destination (stderr, or a file given with --log-file). This is
 * the only module with file-scope mutable state. stdout is never written here: in `serve` it
 * carries the protocol only.
 *
 * Every line is passed through log_redact() first, so a token, code, verifier, client secret or
 * Authorization header that reaches a log call never reaches the disk or the terminal.
 *
 * Threads: any thread may log at any time; lines never interleave. log_init() and log_close()
 * are called by main only, before other threads start and after they stop.
 */
#ifndef MCPZIP_LOG_H
#define MCPZIP_LOG_H

#include <stdarg.h>
#include <stddef.h>

enum log_level { LOG_LVL_ERROR, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG, LOG_LVL_TRACE };

/*
 * Sets the level from its name (error|warn|info|debug|trace; NULL keeps the default, warn) and
 * opens path for appending when non-NULL. Returns 0, or -1 with *why set when the level name is
 * unknown or the file cannot be opened (the logger then stays on stderr).
 */
int log_init(const char *level_name, const char *path, char **why);
void log_close(void);
void log_set_level(enum log_level level);
/* Returns nonzero when a message at level would be written (to skip costly formatting). */
int log_enabled(enum log_level level);

void log_write(enum log_level level, const char *tag, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * Copies in to out (at most outsz bytes including the NUL) with secret values replaced by
 * "[redacted]": `key=value` and `"key":"value"` for key names like access_token, refresh_token,
 * code, code_verifier, client_secret, password, api_key; `Bearer x`/`Basic x`; and everything
 * after `Authorization:`. Returns out. Pure function, exposed for tests.
 */
char *log_redact(const char *in, char *out, size_t outsz);

#define LOG_ERROR(...) log_write(LOG_LVL_ERROR, __func__, __VA_ARGS__)
#define LOG_WARN(...) log_write(LOG_LVL_WARN, __func__, __VA_ARGS__)
#define LOG_INFO(...) log_write(LOG_LVL_INFO, __func__, __VA_ARGS__)
#define LOG_DEBUG(...) log_write(LOG_LVL_DEBUG, __func__, __VA_ARGS__)
#define LOG_TRACE(...) log_write(LOG_LVL_TRACE, __func__, __VA_ARGS__)

#endif
