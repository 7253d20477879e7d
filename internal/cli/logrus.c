/* SPDX-License-Identifier: Apache-2.0 */
#include "cli/logrus.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/buf.h"
#include "base/fs.h"
#include "base/mem.h"

/* Writes the current UTC time into out as 2006-01-02T15:04:05.000000000Z. */
static void timestamp(char out[40])
{
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  struct tm tm;
  gmtime_r(&now.tv_sec, &tm);
  size_t n = strftime(out, 40, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(out + n, 40 - n, ".%09ldZ", now.tv_nsec);
}

static char *json_line(const char *level, const char *msg, const char *stamp, json_t *fields)
{
  json_object_set_new(fields, "level", json_string(level));
  json_object_set_new(fields, "msg", json_string(msg));
  json_object_set_new(fields, "time", json_string(stamp));
  cf_autofree char *text = json_dumps(fields, JSON_COMPACT | JSON_SORT_KEYS);
  return cf_xasprintf("%s\n", text);
}

static char *text_line(const char *level, const char *msg, const char *stamp, json_t *fields)
{
  json_t *quoted = json_string(msg);
  cf_autofree char *quoted_text = json_dumps(quoted, JSON_ENCODE_ANY);
  json_decref(quoted);
  cf_buf buf;
  cf_buf_init(&buf, 1024 * 1024);
  cf_buf_printf(&buf, NULL, "time=\"%s\" level=%s msg=%s", stamp, level, quoted_text);
  const char *key;
  json_t *value;
  json_object_foreach(fields, key, value)
  {
    cf_autofree char *value_text = json_dumps(value, JSON_ENCODE_ANY);
    cf_buf_printf(&buf, NULL, " %s=%s", key, value_text);
  }
  cf_buf_printf(&buf, NULL, "\n");
  return cf_buf_take(&buf);
}

void cf_logrus_line(const cf_logrus *log, const char *level, const char *msg, json_t *fields)
{
  if (log->fd < 0 || (!log->debug && strcmp(level, "debug") == 0)) {
    json_decref(fields);
    return;
  }
  if (fields == NULL) {
    fields = json_object();
  }
  char stamp[40];
  timestamp(stamp);
  cf_autofree char *line =
      log->json ? json_line(level, msg, stamp, fields) : text_line(level, msg, stamp, fields);
  json_decref(fields);
  cf_write_all(log->fd, line, strlen(line), NULL);
}
