/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Lager-compatible JSON line logging, as Cloud Foundry components write it.
 *
 * unix-epoch format (BOSH's default):
 *   {"timestamp":"1764862930.123456789","source":"guardian","message":"guardian.x","log_level":1,"data":{}}
 * rfc3339 format:
 *   {"timestamp":"2026-12-04T15:42:10.123456789Z","level":"info","source":"guardian",
 *    "message":"guardian.x","data":{}}
 *
 * Each line is written with one write(2) under a mutex, so lines from
 * several threads never interleave. Never pass secrets in data.
 */
#ifndef CFWIN_BASE_LOG_H
#define CFWIN_BASE_LOG_H

#include "base/err.h"

enum cf_log_level {
  CF_LOG_DEBUG = 0,
  CF_LOG_INFO = 1,
  CF_LOG_ERROR = 2,
  CF_LOG_FATAL = 3,
};

enum cf_log_time_format {
  CF_LOG_TIME_UNIX_EPOCH,
  CF_LOG_TIME_RFC3339,
};

/* Parses "debug", "info", "error" or "fatal". */
int cf_log_parse_level(const char *text, enum cf_log_level *level, cf_err **err);
/* Parses "unix-epoch" or "rfc3339". */
int cf_log_parse_time_format(const char *text, enum cf_log_time_format *format, cf_err **err);

/* Sets the sink descriptor, minimum level, time format and source name.
 * The defaults are stdout, info, unix-epoch and "cfwin". The source string
 * is copied. */
void cf_log_configure(int fd, enum cf_log_level min_level, enum cf_log_time_format format,
                      const char *source);

/* Writes one line. message is appended to "<source>." as lager sessions do.
 * data_fmt is a jansson json_pack() format for the data object, or NULL for
 * {}; its arguments follow. */
void cf_log(enum cf_log_level level, const char *message, const char *data_fmt, ...);

/* Writes an error line whose data carries "error": err->message plus the
 * json_pack() data given (an object format, or NULL). */
void cf_log_error(const char *message, const cf_err *err, const char *data_fmt, ...);

/* Formats one line into a new string (without the trailing newline) for a
 * given time; exposed for tests. data is a jansson object, borrowed. */
char *cf_log_format_line(enum cf_log_level level, enum cf_log_time_format format,
                         const char *source, const char *message, const void *data,
                         long long epoch_sec, long nsec);

#endif
