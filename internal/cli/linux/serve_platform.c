/* SPDX-License-Identifier: Apache-2.0 */
#include "cli/serve_platform.h"

#include <stdlib.h>

const cf_serve_defaults cf_serve_platform_defaults = {
    .depot = "/var/lib/cfwin",
    .gdn_depot = "/var/run/gdn/depot",
    .gdn_socket = "/tmp/garden.sock",
};

char *cf_serve_absolute_path(const char *path)
{
  return realpath(path, NULL);
}

int cf_serve_run_server(const cf_server_config *config, cf_err **err)
{
  return cf_server_run(config, err);
}
