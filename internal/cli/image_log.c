/* SPDX-License-Identifier: Apache-2.0 */
/* The log settings of the image role, shared by its Linux and Windows front ends. */
#include <unistd.h>

#include "base/log.h"
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
