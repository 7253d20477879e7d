/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The runtime role's calls into the container lifecycle library
 * (runtime/windows/container.h): each passes the role's store under
 * --root, opened when the library first needs it, and its debug log.
 */
#include "cli/windows/runtime_win.h"

static int open_role_store(cf_wrt_context *lib, cf_err **err)
{
  rt_context *ctx = lib->open_arg;
  if (rt_open_store(ctx, err) < 0) {
    return -1;
  }
  lib->store = ctx->store;
  return 0;
}

static cf_wrt_context library_context(rt_context *ctx)
{
  return (cf_wrt_context){
      .store = ctx->store,
      .open_store = open_role_store,
      .open_arg = ctx,
      .log_debug = rt_log_debug,
  };
}

int wrt_container_get(rt_context *ctx, const cf_hcs_api *api, const char *id, wrt_container *out,
                      cf_err **err)
{
  cf_wrt_context lib = library_context(ctx);
  return cf_wrt_container_get(&lib, api, id, out, err);
}

int wrt_container_create(rt_context *ctx, const cf_hcs_api *api, const char *id,
                         const cf_bundle *bundle, cf_err **err)
{
  cf_wrt_context lib = library_context(ctx);
  return cf_wrt_container_create(&lib, api, id, bundle, err);
}

int wrt_container_delete(rt_context *ctx, const cf_hcs_api *api, const char *id, bool force,
                         cf_err **err)
{
  cf_wrt_context lib = library_context(ctx);
  return cf_wrt_container_delete(&lib, api, id, force, err);
}
