/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `gdn setup` and `gdn cleanup` (also `cfwin gdn setup|cleanup`), with the
 * flags `cfwin serve` takes.
 */
#ifndef CFWIN_CLI_GDN_SETUP_H
#define CFWIN_CLI_GDN_SETUP_H

#include "base/err.h"
#include "garden/server.h"

/* Prepares what the server otherwise makes on first use: the depot layout
 * and store, the container network (bridge and nftables table) and a
 * check that cgroups are mounted. Running it again changes nothing. */
int cf_gdn_setup(const cf_server_config *config, cf_err **err);

/* Destroys every container of the depot, then removes cfwin's host-level
 * state: the container network's bridge and nftables table, the container
 * cgroups' parent when no other depot's container uses it, and loop
 * devices backed by files in the depot. The depot's files stay. */
int cf_gdn_cleanup(const cf_server_config *config, cf_err **err);

/* Platform parts (internal/cli/linux/gdn_host.c). */

/* Fails with CF_E_NOT_FOUND when the host has no cgroup filesystem. */
int cf_gdn_host_check(cf_err **err);

/* Detaches loop devices whose backing file lies under depot and removes the
 * container cgroups' parent when it is empty; logs what it cannot do. */
void cf_gdn_host_cleanup(const char *depot);

#endif
