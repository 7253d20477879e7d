/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The way the Linux network backend hands nft commands to the kernel.
 * Two drivers implement it: nft_libnftables.c links libnftables (the
 * regular build), nft_program.c runs the nft program (the static build,
 * since Debian ships libnftables as a shared library only). Both take the
 * same nft command text and return the same output, so the scripts and
 * listing parsers are shared.
 */
#ifndef CFWIN_NETWORK_LINUX_NFT_DRIVER_H
#define CFWIN_NETWORK_LINUX_NFT_DRIVER_H

#include "base/err.h"

typedef struct cf_nft_driver cf_nft_driver;

typedef enum cf_nft_mode {
  CF_NFT_APPLY,     /* run the commands as one transaction */
  CF_NFT_CHECK,     /* parse and check them without changing anything */
  CF_NFT_LIST_JSON, /* run listing commands and return their JSON output */
} cf_nft_mode;

/* Prepares the driver. Fails when it cannot run at all (no nft program);
 * whether the kernel has nf_tables shows at the first command. */
int cf_nft_driver_open(cf_nft_driver **out, cf_err **err);
void cf_nft_driver_close(cf_nft_driver *driver);

/* Runs commands (nft's text syntax) in mode. For CF_NFT_LIST_JSON *output
 * receives the JSON text (caller frees); output may be NULL otherwise. A
 * failure's message is nft's first error line. Not thread-safe: the caller
 * serialises calls on one driver. */
int cf_nft_driver_run(cf_nft_driver *driver, const char *commands, cf_nft_mode mode, char **output,
                      cf_err **err);

#endif
