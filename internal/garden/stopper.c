/* SPDX-License-Identifier: Apache-2.0 */
#include "garden/stopper.h"

#include <stdlib.h>

#include "base/mem.h"

struct cf_server_stopper {
  uv_mutex_t lock; /* guards the fields below */
  bool requested;
  uv_async_t *async; /* the running server's handle, or NULL */
};

cf_server_stopper *cf_server_stopper_new(void)
{
  cf_server_stopper *stopper = cf_xcalloc(1, sizeof(*stopper));
  if (uv_mutex_init(&stopper->lock) != 0) {
    free(stopper);
    return NULL;
  }
  return stopper;
}

void cf_server_stopper_free(cf_server_stopper *stopper)
{
  if (stopper == NULL) {
    return;
  }
  uv_mutex_destroy(&stopper->lock);
  free(stopper);
}

void cf_server_stopper_request(cf_server_stopper *stopper)
{
  uv_mutex_lock(&stopper->lock);
  stopper->requested = true;
  if (stopper->async != NULL) {
    uv_async_send(stopper->async);
  }
  uv_mutex_unlock(&stopper->lock);
}

bool cf_server_stopper_attach(cf_server_stopper *stopper, uv_async_t *async)
{
  uv_mutex_lock(&stopper->lock);
  stopper->async = async;
  bool requested = stopper->requested;
  uv_mutex_unlock(&stopper->lock);
  return requested;
}

void cf_server_stopper_detach(cf_server_stopper *stopper)
{
  uv_mutex_lock(&stopper->lock);
  stopper->async = NULL;
  uv_mutex_unlock(&stopper->lock);
}
