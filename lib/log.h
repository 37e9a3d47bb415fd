/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* libshoal's error and log reporting: one message per failure, at the failure. */
#ifndef SHOAL_LOG_H
#define SHOAL_LOG_H

enum shoal_log_level { SHOAL_LOG_ERROR, SHOAL_LOG_WARN, SHOAL_LOG_INFO, SHOAL_LOG_DEBUG };

typedef void (*shoal_log_fn)(enum shoal_log_level level, const char *msg);

/* Default: "shoal: <msg>" on stderr for errors and warnings. NULL restores it. */
void shoal_set_log(shoal_log_fn fn);
void shoal_set_log_level(enum shoal_log_level max);

/* Report "<what>: <strerror(-err)>" and return err (a negative errno). */
int shoal_err(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Report a message that already says everything, and return err. */
int shoal_errmsg(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void shoal_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void shoal_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void shoal_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The last error reported in this thread ("" if none). */
const char *shoal_last_error(void);
void shoal_clear_error(void);

#endif /* SHOAL_LOG_H */
