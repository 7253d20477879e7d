/* SPDX-License-Identifier: Apache-2.0 */
#include "garden/stop.h"

/* Stop reaches this only for a container the server has a record of, and
 * the Windows backend creates none yet. */
int cf_stop_signal_processes(const cf_container_init *init, enum cf_stop_signal signal,
                             size_t *live, cf_err **err)
{
  *live = 0;
  return cf_err_set(err, CF_E_NOT_IMPLEMENTED,
                    "stop container processes: the Windows Garden backend cannot signal "
                    "processes yet");
}
