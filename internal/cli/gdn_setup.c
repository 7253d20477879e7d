/* SPDX-License-Identifier: Apache-2.0 */
#include "cli/gdn_setup.h"

#include <errno.h>
#include <sys/stat.h>

#include "base/fs.h"
#include "base/log.h"
#include "base/mem.h"
#include "garden/backend.h"
#include "garden/host.h"
#include "network/net.h"

static int open_backend(const cf_server_config *config, cf_backend **backend, cf_err **err)
{
  cf_backend_options options = {.gc_threshold_bytes = -1, .network = config->network};
  return cf_backend_open(config->depot, &options, backend, err);
}

int cf_gdn_setup(const cf_server_config *config, cf_err **err)
{
  if (cf_gdn_host_check(err) < 0) {
    return cf_err_wrap(err, "setup");
  }
  cf_backend *backend = NULL;
  if (open_backend(config, &backend, err) < 0) {
    return cf_err_wrap(err, "setup");
  }
  cf_backend_close(backend);
  cf_log(CF_LOG_INFO, "setup.finished", "{s:s, s:s?}", "depot", config->depot, "network",
         config->network != NULL ? config->network->config.network_name : NULL);
  return 0;
}

/* Deletes the bridge and nftables table of the container network. */
static int delete_network(const cf_backend_network *network, cf_err **err)
{
  cf_net *net = cf_net_new(&network->config, &cf_net_platform_ops);
  int rc = cf_net_delete(net, err);
  cf_net_close(net);
  if (rc < 0) {
    return cf_err_wrap(err, "delete container network %s", network->config.network_name);
  }
  return 0;
}

/* Destroys every container of the depot. A depot without a store has
 * no container, and cleanup creates no store in it. */
static int destroy_containers(const cf_server_config *config, cf_err **err)
{
  cf_autofree char *store = cf_path_join(config->depot, "cfwin.db");
  struct stat st;
  if (stat(store, &st) < 0 && errno == ENOENT) {
    cf_log(CF_LOG_INFO, "cleanup.no-store", "{s:s}", "depot", config->depot);
    return 0;
  }
  cf_backend *backend = NULL;
  if (open_backend(config, &backend, err) < 0) {
    return -1;
  }
  char **kept = NULL;
  size_t count = 0;
  int rc = cf_backend_reconcile(backend, true, &kept, &count, err);
  cf_strv_free(kept, count);
  cf_backend_close(backend);
  if (rc < 0) {
    return cf_err_wrap(err, "destroy the containers of %s", config->depot);
  }
  return 0;
}

/* Destroys the containers and the network of a depot that no server uses. */
static int clean_depot(const cf_server_config *config, cf_err **err)
{
  if (destroy_containers(config, err) < 0) {
    return -1;
  }
  if (config->network != NULL && delete_network(config->network, err) < 0) {
    return -1;
  }
  cf_gdn_host_cleanup(config->depot);
  return 0;
}

int cf_gdn_cleanup(const cf_server_config *config, cf_err **err)
{
  /* The depot lock keeps cleanup away from a running server's depot. A
   * missing depot has no server and nothing to lock. */
  cf_depot_lock *lock = NULL;
  struct stat st;
  if (stat(config->depot, &st) == 0 && cf_host_depot_lock(config->depot, &lock, err) < 0) {
    return cf_err_wrap(err, "cleanup");
  }
  cf_depot_lock *network_lock = NULL;
  if (config->network != NULL &&
      cf_host_network_lock(config->network->config.network_name, &network_lock, err) < 0) {
    cf_host_depot_unlock(lock);
    return cf_err_wrap(err, "cleanup");
  }
  int rc = clean_depot(config, err);
  cf_host_depot_unlock(network_lock);
  cf_host_depot_unlock(lock);
  if (rc < 0) {
    return cf_err_wrap(err, "cleanup");
  }
  cf_log(CF_LOG_INFO, "cleanup.finished", "{s:s}", "depot", config->depot);
  return 0;
}
