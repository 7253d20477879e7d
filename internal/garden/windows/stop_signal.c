/* SPDX-License-Identifier: Apache-2.0 */
#include "garden/stop.h"

/* NOTE: Windows containers have no init process to find the container's
 * processes from, so Stop fails. Run's kill signal and Destroy end them. */
int cf_stop_signal_processes(const cf_container_init *init, enum cf_stop_signal signal,
                             size_t *live, cf_err **err)
{
  *live = 0;
  return cf_err_set(err, CF_E_NOT_IMPLEMENTED,
                    "stop container processes: the Windows Garden backend cannot stop "
                    "processes yet; destroy the container instead");
}
