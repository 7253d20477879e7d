/* SPDX-License-Identifier: Apache-2.0 */
/* The server's side of cf_server_stopper (server.h). */
#ifndef CFWIN_GARDEN_STOPPER_H
#define CFWIN_GARDEN_STOPPER_H

#include <stdbool.h>
#include <uv.h>

#include "garden/server.h"

/* Lets cf_server_stopper_request() wake async, an initialised handle of
 * the server's loop. Returns true when a stop was requested before, so the
 * caller stops at once. */
bool cf_server_stopper_attach(cf_server_stopper *stopper, uv_async_t *async);

/* Ends the wake-ups. Once it returns, no thread sends to the handle, so the
 * caller may close it. */
void cf_server_stopper_detach(cf_server_stopper *stopper);

#endif
