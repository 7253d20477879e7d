/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The backend's nftables steps: it runs the scripts of nftscript.c and
 * reads its table back through the nft driver (nft_driver.h), one
 * transaction per script.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "network/linux/netlinux.h"
#include "network/linux/nft_driver.h"

int cf_netlx_nft_open(cf_net_backend *backend, cf_err **err)
{
  backend->nft = NULL;
  if (cf_nft_driver_open(&backend->nft, err) < 0) {
    return -1;
  }
  /* Listing the tables shows whether the kernel has nf_tables at all. */
  cf_err *cause = NULL;
  if (cf_nft_driver_run(backend->nft, "list tables ip\n", CF_NFT_APPLY, NULL, &cause) < 0) {
    cf_nft_driver_close(backend->nft);
    backend->nft = NULL;
    cf_err_set(err, CF_E_NOT_IMPLEMENTED,
               "nftables is not usable here (%s): run as root with a kernel that has "
               "nf_tables, nft_nat, nft_fib and nft_ct",
               cause->message);
    cf_err_free(cause);
    return -1;
  }
  return 0;
}

void cf_netlx_nft_close(cf_net_backend *backend)
{
  cf_nft_driver_close(backend->nft);
  backend->nft = NULL;
}

int cf_netlx_nft_run(cf_net_backend *backend, const char *script, cf_err **err)
{
  if (cf_nft_driver_run(backend->nft, script, CF_NFT_APPLY, NULL, err) < 0) {
    return cf_err_wrap(err, "nftables transaction on table ip %s", backend->table);
  }
  return 0;
}

/* Runs one listing command and returns its JSON text (caller frees). */
static int list_json(cf_net_backend *backend, const char *command, char **json, cf_err **err)
{
  if (cf_nft_driver_run(backend->nft, command, CF_NFT_LIST_JSON, json, err) < 0) {
    return cf_err_wrap(err, "nft %.*s", (int)strcspn(command, "\n"), command);
  }
  return 0;
}

int cf_netlx_nft_list(cf_net_backend *backend, cf_nft_table_state *state, cf_err **err)
{
  cf_autofree char *tables = NULL;
  cf_autofree char *table = NULL;
  cf_autofree char *command = cf_xasprintf("list table ip %s\n", backend->table);
  bool exists = false;
  memset(state, 0, sizeof(*state));
  if (list_json(backend, "list tables ip\n", &tables, err) < 0 ||
      cf_nft_listing_has_table(tables, backend->table, &exists, err) < 0) {
    return -1;
  }
  if (!exists) {
    return 0;
  }
  if (list_json(backend, command, &table, err) < 0 ||
      cf_nft_table_state_parse(table, state, err) < 0) {
    return -1;
  }
  return 0;
}

bool cf_netlx_nft_probe_log(cf_net_backend *backend)
{
  cf_autofree char *script = cf_nft_script_log_probe();
  cf_err *err = NULL;
  int rc = cf_nft_driver_run(backend->nft, script, CF_NFT_CHECK, NULL, &err);
  cf_err_free(err);
  return rc == 0;
}

int cf_netlx_nft_endpoint_remove(cf_net_backend *backend, const char *id, cf_err **err)
{
  cf_nft_table_state table;
  cf_nft_endpoint_state state;
  pthread_mutex_lock(&backend->nft_lock);
  int rc = cf_netlx_nft_list(backend, &table, err);
  if (rc == 0) {
    cf_nft_endpoint_state_get(&table, id, &state);
    cf_autofree char *script = cf_nft_script_endpoint_remove(backend->table, id, &state);
    if (script != NULL) {
      rc = cf_netlx_nft_run(backend, script, err);
    }
    cf_nft_endpoint_state_free(&state);
    cf_nft_table_state_free(&table);
  }
  pthread_mutex_unlock(&backend->nft_lock);
  if (rc < 0) {
    return cf_err_wrap(err, "remove the rules of endpoint %s", id);
  }
  return 0;
}
