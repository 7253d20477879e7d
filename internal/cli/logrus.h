/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The log lines of the plugin roles that Guardian reads (winc and
 * winc-network write them with logrus): one JSON object per line with
 * sorted keys, or logrus' text form.
 */
#ifndef CFWIN_CLI_LOGRUS_H
#define CFWIN_CLI_LOGRUS_H

#include <jansson.h>
#include <stdbool.h>

/* Where and how a role logs. */
typedef struct cf_logrus {
  int fd;     /* -1: no log */
  bool json;  /* JSON lines; else logrus' text form */
  bool debug; /* write debug lines too */
} cf_logrus;

/* Writes one line with level, msg, a time with nine fractional digits and
 * the members of fields (a JSON object or NULL), and releases fields. */
void cf_logrus_line(const cf_logrus *log, const char *level, const char *msg, json_t *fields);

#endif
