// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* libshoal's error and log reporting. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "log.h"

static void log_stderr(enum shoal_log_level level, const char *msg)
{
	static const char *const tag[] = { "error", "warning", "info", "debug" };

	fprintf(stderr, "shoal: %s: %s\n", tag[level], msg);
}

static shoal_log_fn log_fn = log_stderr;
static enum shoal_log_level log_max = SHOAL_LOG_WARN;
static __thread char last_error[512];

void shoal_set_log(shoal_log_fn fn)
{
	log_fn = fn ? fn : log_stderr;
}

void shoal_set_log_level(enum shoal_log_level max)
{
	log_max = max;
}

static void emit(enum shoal_log_level level, const char *msg)
{
	if (level == SHOAL_LOG_ERROR)
		snprintf(last_error, sizeof(last_error), "%s", msg);
	if (level <= log_max)
		log_fn(level, msg);
}

int shoal_err(int err, const char *fmt, ...)
{
	char msg[512];
	size_t n;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	n = strlen(msg);
	snprintf(msg + n, sizeof(msg) - n, ": %s", strerror(err < 0 ? -err : err));
	emit(SHOAL_LOG_ERROR, msg);
	return err;
}

int shoal_errmsg(int err, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	emit(SHOAL_LOG_ERROR, msg);
	return err;
}

#define LOG_AT(level)                                   \
	do {                                            \
		char msg[512];                          \
		va_list ap;                             \
		if ((level) > log_max)                  \
			return;                         \
		va_start(ap, fmt);                      \
		vsnprintf(msg, sizeof(msg), fmt, ap);   \
		va_end(ap);                             \
		emit(level, msg);                       \
	} while (0)

void shoal_warn(const char *fmt, ...)
{
	LOG_AT(SHOAL_LOG_WARN);
}

void shoal_info(const char *fmt, ...)
{
	LOG_AT(SHOAL_LOG_INFO);
}

void shoal_debug(const char *fmt, ...)
{
	LOG_AT(SHOAL_LOG_DEBUG);
}

const char *shoal_last_error(void)
{
	return last_error;
}

void shoal_clear_error(void)
{
	last_error[0] = '\0';
}
