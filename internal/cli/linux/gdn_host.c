/* SPDX-License-Identifier: Apache-2.0 */
/* The Linux host state of `gdn setup` and `gdn cleanup`: cgroups and loop
 * devices. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/fs.h"
#include "base/log.h"
#include "base/mem.h"
#include "cli/gdn_setup.h"
#include "image/volume.h"
#include "runtime/linux/cgroup.h"

int cf_gdn_host_check(cf_err **err)
{
  cf_cgroup_layout *layout = NULL;
  if (cf_cgroup_detect(&layout, err) < 0) {
    return -1;
  }
  bool none = layout->mode == CF_CGROUP_MODE_NONE;
  cf_cgroup_layout_free(layout);
  if (none) {
    return cf_err_set(err, CF_E_NOT_FOUND,
                      "no cgroup filesystem is mounted: mount cgroup2 on /sys/fs/cgroup (or the "
                      "v1 hierarchies) before starting the server");
  }
  return 0;
}

/* The backing file of /sys/block/<name>, or NULL when it has none. */
static char *backing_file(const char *name)
{
  cf_autofree char *path = cf_xasprintf("/sys/block/%s/loop/backing_file", name);
  cf_buf text;
  cf_buf_init(&text, 8192);
  if (cf_read_file(path, &text, NULL) < 0 || text.len == 0) {
    cf_buf_free(&text);
    return NULL;
  }
  char *file = cf_xstrndup(text.data, strcspn(text.data, "\n"));
  cf_buf_free(&text);
  return file;
}

static void detach_depot_loops(const char *depot)
{
  DIR *dir = opendir("/sys/block");
  if (dir == NULL) {
    return;
  }
  cf_autofree char *prefix = cf_xasprintf("%s/", depot);
  struct dirent *entry;
  while ((entry = readdir(dir)) != NULL) {
    if (strncmp(entry->d_name, "loop", 4) != 0) {
      continue;
    }
    cf_autofree char *file = backing_file(entry->d_name);
    if (file == NULL || strncmp(file, prefix, strlen(prefix)) != 0) {
      continue;
    }
    cf_autofree char *device = cf_xasprintf("/dev/%s", entry->d_name);
    cf_err *err = NULL;
    if (cf_loop_detach(device, file, &err) < 0) {
      cf_log_error("cleanup.detach-loop-failed", err, "{s:s, s:s}", "device", device, "file", file);
      cf_err_free(err);
      continue;
    }
    cf_log(CF_LOG_INFO, "cleanup.loop-detached", "{s:s, s:s}", "device", device, "file", file);
  }
  closedir(dir);
}

/* Removes the parent of the container cgroups. Containers of another
 * server's depot keep it busy, which is no error. */
static void remove_cgroup_parent(void)
{
  cf_cgroup_layout *layout = NULL;
  cf_err *err = NULL;
  if (cf_cgroup_detect(&layout, &err) == 0) {
    cf_cgroup_config config = {.parent = CF_CGROUP_DEFAULT_PARENT};
    cf_cgroup_remove_parent(layout, &config, &err);
    cf_cgroup_layout_free(layout);
  }
  if (err != NULL) {
    cf_log(err->code == CF_E_BUSY ? CF_LOG_INFO : CF_LOG_ERROR, "cleanup.cgroup-parent-kept",
           "{s:s}", "reason", err->message);
    cf_err_free(err);
  }
}

void cf_gdn_host_cleanup(const char *depot)
{
  detach_depot_loops(depot);
  remove_cgroup_parent();
}
