/* SPDX-License-Identifier: Apache-2.0 */
/* The log settings and error hint of the image role, shared by its Linux and
 * Windows front ends. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "base/mem.h"
#include "cli/cli_internal.h"

int cf_cli_image_configure_logging(const char *level_text, cf_err **err)
{
  enum cf_log_level level = CF_LOG_INFO;
  if (level_text != NULL && cf_log_parse_level(level_text, &level, NULL) < 0) {
    return cf_err_set(err, CF_E_INVALID, "invalid log level: %s", level_text);
  }
  cf_log_configure(STDERR_FILENO, level, CF_LOG_TIME_RFC3339, "groot");
  return 0;
}

void cf_cli_image_use_groot_hint(cf_err *err)
{
  static const char cfwin_hint[] = "see `cfwin help`";
  char *hint = strstr(err->message, cfwin_hint);
  if (hint == NULL) {
    return;
  }
  char *message = cf_xasprintf("%.*ssee `groot --help`%s", (int)(hint - err->message), err->message,
                               hint + strlen(cfwin_hint));
  free(err->message);
  err->message = message;
}
