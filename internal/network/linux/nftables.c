/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Running the backend's nft scripts through libnftables. Each script is one
 * nft_run_cmd_from_buffer() call, which the kernel applies as one
 * transaction: all of it or nothing. Output and errors are buffered, so
 * nothing is printed; an error carries nft's first message line.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nftables/libnftables.h>

#include "base/mem.h"
#include "network/linux/netlinux.h"

/* Copies the first line of nft's error text ("Error: ..."), or a fallback. */
static char *first_error_line(struct nft_ctx *nft)
{
  const char *text = nft_ctx_get_error_buffer(nft);
  if (text == NULL || text[0] == '\0') {
    return cf_xstrdup("nft reported no message");
  }
  if (strncmp(text, "Error: ", 7) == 0) {
    text += 7;
  }
  return cf_xstrndup(text, strcspn(text, "\n"));
}

int cf_netlx_nft_open(cf_net_backend *backend, cf_err **err)
{
  backend->nft = nft_ctx_new(NFT_CTX_DEFAULT);
  if (backend->nft == NULL) {
    return cf_err_set(err, CF_E_SYSTEM, "create a libnftables context");
  }
  if (nft_ctx_buffer_output(backend->nft) != 0 || nft_ctx_buffer_error(backend->nft) != 0) {
    nft_ctx_free(backend->nft);
    backend->nft = NULL;
    return cf_err_set(err, CF_E_SYSTEM, "buffer libnftables output");
  }
  /* Listing the tables shows whether the kernel has nf_tables at all. */
  if (nft_run_cmd_from_buffer(backend->nft, "list tables ip\n") != 0) {
    cf_autofree char *reason = first_error_line(backend->nft);
    nft_ctx_free(backend->nft);
    backend->nft = NULL;
    return cf_err_set(err, CF_E_NOT_IMPLEMENTED,
                      "nftables is not usable here (%s): run as root with a kernel that has "
                      "nf_tables, nft_nat, nft_fib and nft_ct",
                      reason);
  }
  nft_ctx_get_output_buffer(backend->nft); /* drop the listing */
  return 0;
}

void cf_netlx_nft_close(cf_net_backend *backend)
{
  if (backend->nft != NULL) {
    nft_ctx_free(backend->nft);
    backend->nft = NULL;
  }
}

int cf_netlx_nft_run(cf_net_backend *backend, const char *script, cf_err **err)
{
  int rc = nft_run_cmd_from_buffer(backend->nft, script);
  nft_ctx_get_output_buffer(backend->nft);
  if (rc != 0) {
    cf_autofree char *reason = first_error_line(backend->nft);
    return cf_err_set(err, CF_E_SYSTEM, "nftables transaction on table ip %s: %s", backend->table,
                      reason);
  }
  nft_ctx_get_error_buffer(backend->nft);
  return 0;
}

/* Runs a listing command with JSON output and returns the text (caller
 * frees). */
static int list_json(cf_net_backend *backend, const char *command, char **json, cf_err **err)
{
  unsigned flags = nft_ctx_output_get_flags(backend->nft);
  nft_ctx_output_set_flags(backend->nft, flags | NFT_CTX_OUTPUT_JSON);
  int rc = nft_run_cmd_from_buffer(backend->nft, command);
  nft_ctx_output_set_flags(backend->nft, flags);
  const char *output = nft_ctx_get_output_buffer(backend->nft);
  if (rc != 0) {
    cf_autofree char *reason = first_error_line(backend->nft);
    return cf_err_set(err, CF_E_SYSTEM, "nft %.*s: %s", (int)strcspn(command, "\n"), command,
                      reason);
  }
  nft_ctx_get_error_buffer(backend->nft);
  *json = cf_xstrdup(output != NULL ? output : "");
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
  nft_ctx_set_dry_run(backend->nft, true);
  int rc = nft_run_cmd_from_buffer(backend->nft, script);
  nft_ctx_set_dry_run(backend->nft, false);
  nft_ctx_get_output_buffer(backend->nft);
  nft_ctx_get_error_buffer(backend->nft);
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
