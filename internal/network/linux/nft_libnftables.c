/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The nft driver on libnftables. Each command text is one
 * nft_run_cmd_from_buffer() call, which the kernel applies as one
 * transaction: all of it or nothing. Output and errors are buffered, so
 * nothing is printed; an error carries nft's first message line.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <nftables/libnftables.h>

#include "base/mem.h"
#include "network/linux/nft_driver.h"

struct cf_nft_driver {
  struct nft_ctx *ctx;
};

int cf_nft_driver_open(cf_nft_driver **out, cf_err **err)
{
  struct nft_ctx *ctx = nft_ctx_new(NFT_CTX_DEFAULT);
  if (ctx == NULL) {
    return cf_err_set(err, CF_E_SYSTEM, "create a libnftables context");
  }
  if (nft_ctx_buffer_output(ctx) != 0 || nft_ctx_buffer_error(ctx) != 0) {
    nft_ctx_free(ctx);
    return cf_err_set(err, CF_E_SYSTEM, "buffer libnftables output");
  }
  cf_nft_driver *driver = cf_xcalloc(1, sizeof(*driver));
  driver->ctx = ctx;
  *out = driver;
  return 0;
}

void cf_nft_driver_close(cf_nft_driver *driver)
{
  if (driver != NULL) {
    nft_ctx_free(driver->ctx);
    free(driver);
  }
}

/* Copies the first line of nft's error text without its "Error: ". */
static char *first_error_line(struct nft_ctx *ctx)
{
  const char *text = nft_ctx_get_error_buffer(ctx);
  if (text == NULL || text[0] == '\0') {
    return cf_xstrdup("nft reported no message");
  }
  if (strncmp(text, "Error: ", 7) == 0) {
    text += 7;
  }
  return cf_xstrndup(text, strcspn(text, "\n"));
}

int cf_nft_driver_run(cf_nft_driver *driver, const char *commands, cf_nft_mode mode, char **output,
                      cf_err **err)
{
  unsigned flags = nft_ctx_output_get_flags(driver->ctx);
  if (mode == CF_NFT_LIST_JSON) {
    nft_ctx_output_set_flags(driver->ctx, flags | NFT_CTX_OUTPUT_JSON);
  }
  nft_ctx_set_dry_run(driver->ctx, mode == CF_NFT_CHECK);
  int rc = nft_run_cmd_from_buffer(driver->ctx, commands);
  nft_ctx_set_dry_run(driver->ctx, false);
  nft_ctx_output_set_flags(driver->ctx, flags);
  const char *text = nft_ctx_get_output_buffer(driver->ctx);
  if (rc != 0) {
    cf_autofree char *reason = first_error_line(driver->ctx);
    return cf_err_set(err, CF_E_SYSTEM, "%s", reason);
  }
  nft_ctx_get_error_buffer(driver->ctx); /* drop warnings */
  if (output != NULL) {
    *output = cf_xstrdup(text != NULL ? text : "");
  }
  return 0;
}
