/* SPDX-License-Identifier: Apache-2.0 */
#include "base/log.h"

#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/json_string.h"
#include "base/mem.h"

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static int log_fd = STDOUT_FILENO;
static enum cf_log_level log_min_level = CF_LOG_INFO;
static enum cf_log_time_format log_time_format = CF_LOG_TIME_UNIX_EPOCH;
static char *log_source;

static const char *const level_names[] = {"debug", "info", "error", "fatal"};

int cf_log_parse_level(const char *text, enum cf_log_level *level, cf_err **err)
{
  for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
    if (strcmp(text, level_names[i]) == 0) {
      *level = (enum cf_log_level)i;
      return 0;
    }
  }
  return cf_err_set(err, CF_E_INVALID, "invalid log level \"%s\": use debug, info, error or fatal",
                    text);
}

int cf_log_parse_time_format(const char *text, enum cf_log_time_format *format, cf_err **err)
{
  if (strcmp(text, "unix-epoch") == 0) {
    *format = CF_LOG_TIME_UNIX_EPOCH;
    return 0;
  }
  if (strcmp(text, "rfc3339") == 0) {
    *format = CF_LOG_TIME_RFC3339;
    return 0;
  }
  return cf_err_set(err, CF_E_INVALID, "invalid time format \"%s\": use unix-epoch or rfc3339",
                    text);
}

void cf_log_configure(int fd, enum cf_log_level min_level, enum cf_log_time_format format,
                      const char *source)
{
  pthread_mutex_lock(&log_lock);
  log_fd = fd;
  log_min_level = min_level;
  log_time_format = format;
  free(log_source);
  log_source = cf_xstrdup(source);
  pthread_mutex_unlock(&log_lock);
}

static char *format_timestamp(enum cf_log_time_format format, long long sec, long nsec)
{
  if (format == CF_LOG_TIME_UNIX_EPOCH) {
    return cf_xasprintf("%lld.%09ld", sec, nsec);
  }
  time_t t = (time_t)sec;
  struct tm tm;
  gmtime_r(&t, &tm);
  char date[32];
  strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm);
  return cf_xasprintf("%s.%09ldZ", date, nsec);
}

char *cf_log_format_line(enum cf_log_level level, enum cf_log_time_format format,
                         const char *source, const char *message, const void *data,
                         long long epoch_sec, long nsec)
{
  cf_autofree char *timestamp = format_timestamp(format, epoch_sec, nsec);
  cf_autofree char *full_message = cf_xasprintf("%s.%s", source, message);
  json_t *line = json_object();
  json_object_set_new(line, "timestamp", json_string(timestamp));
  if (format == CF_LOG_TIME_RFC3339) {
    json_object_set_new(line, "level", json_string(level_names[level]));
  }
  json_object_set_new(line, "source", json_string(source));
  json_object_set_new(line, "message", cf_json_string(full_message));
  if (format == CF_LOG_TIME_UNIX_EPOCH) {
    json_object_set_new(line, "log_level", json_integer(level));
  }
  json_object_set_new(line, "data", data != NULL ? json_incref((json_t *)data) : json_object());
  char *text = json_dumps(line, JSON_COMPACT | JSON_PRESERVE_ORDER);
  json_decref(line);
  if (text == NULL) {
    text = cf_xstrdup("{\"message\":\"log line could not be encoded\"}");
  }
  return text;
}

static void write_all(int fd, const char *data, size_t len)
{
  while (len > 0) {
    ssize_t n = write(fd, data, len);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      return;
    }
    data += n;
    len -= (size_t)n;
  }
}

static void emit(enum cf_log_level level, const char *message, json_t *data)
{
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  pthread_mutex_lock(&log_lock);
  const char *source = log_source != NULL ? log_source : "cfwin";
  char *text = cf_log_format_line(level, log_time_format, source, message, data,
                                  (long long)now.tv_sec, now.tv_nsec);
  size_t len = strlen(text);
  text = cf_xrealloc(text, len + 2);
  text[len] = '\n';
  text[len + 1] = '\0';
  write_all(log_fd, text, len + 1);
  pthread_mutex_unlock(&log_lock);
  free(text);
}

static json_t *pack_data(const char *data_fmt, va_list ap)
{
  if (data_fmt == NULL) {
    return json_object();
  }
  json_error_t jerr;
  json_t *data = json_vpack_ex(&jerr, 0, data_fmt, ap);
  if (data == NULL || !json_is_object(data)) {
    json_decref(data);
    return json_pack("{s:s}", "log-data-error", jerr.text);
  }
  return data;
}

static int enabled(enum cf_log_level level)
{
  pthread_mutex_lock(&log_lock);
  int on = level >= log_min_level;
  pthread_mutex_unlock(&log_lock);
  return on;
}

void cf_log(enum cf_log_level level, const char *message, const char *data_fmt, ...)
{
  if (!enabled(level)) {
    return;
  }
  va_list ap;
  va_start(ap, data_fmt);
  json_t *data = pack_data(data_fmt, ap);
  va_end(ap);
  emit(level, message, data);
  json_decref(data);
}

void cf_log_error(const char *message, const cf_err *err, const char *data_fmt, ...)
{
  if (!enabled(CF_LOG_ERROR)) {
    return;
  }
  va_list ap;
  va_start(ap, data_fmt);
  json_t *data = pack_data(data_fmt, ap);
  va_end(ap);
  json_object_set_new(data, "error", cf_json_string(err != NULL ? err->message : "unknown error"));
  emit(CF_LOG_ERROR, message, data);
  json_decref(data);
}
