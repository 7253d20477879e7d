/* SPDX-License-Identifier: Apache-2.0 */
/* Detection of the cgroup layout from /proc/self/mountinfo and /proc/self/cgroup. */
#include "runtime/linux/cgroup.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/fs.h"
#include "base/mem.h"

#define PROC_FILE_MAX (4u << 20)
#define MOUNTINFO_FIELDS_MAX 64

static const struct {
  const char *name;
  unsigned bit;
} controller_names[] = {
    {"memory", CF_CGROUP_MEMORY},
    {"cpu", CF_CGROUP_CPU},
    {"cpuacct", CF_CGROUP_CPUACCT},
    {"pids", CF_CGROUP_PIDS},
    {"freezer", CF_CGROUP_FREEZER},
    {"cpuset", CF_CGROUP_CPUSET},
    {"devices", CF_CGROUP_DEVICES},
    {"blkio", CF_CGROUP_BLKIO},
    {"io", CF_CGROUP_IO},
    {"hugetlb", CF_CGROUP_HUGETLB},
    {"net_cls", CF_CGROUP_NET_CLS},
    {"net_prio", CF_CGROUP_NET_PRIO},
    {"perf_event", CF_CGROUP_PERF_EVENT},
    {"rdma", CF_CGROUP_RDMA},
    {"misc", CF_CGROUP_MISC},
};

static unsigned controller_bit(const char *name, size_t len)
{
  for (size_t i = 0; i < sizeof(controller_names) / sizeof(controller_names[0]); i++) {
    if (strlen(controller_names[i].name) == len &&
        memcmp(controller_names[i].name, name, len) == 0) {
      return controller_names[i].bit;
    }
  }
  return 0;
}

/* Returns the controller bits named in a list separated by any of seps;
 * unknown names (mount options, "name=systemd") add nothing. */
static unsigned controller_bits(const char *list, const char *seps)
{
  unsigned bits = 0;
  const char *p = list;
  while (*p != '\0') {
    size_t len = strcspn(p, seps);
    bits |= controller_bit(p, len);
    p += len;
    p += strspn(p, seps);
  }
  return bits;
}

/* Decodes the octal escapes (\040 for a space) mountinfo uses in paths. */
static char *unescape_path(const char *s)
{
  char *out = cf_xmalloc(strlen(s) + 1);
  char *o = out;
  while (*s != '\0') {
    if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' && s[3] >= '0' &&
        s[3] <= '7') {
      *o++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
      s += 4;
    } else {
      *o++ = *s++;
    }
  }
  *o = '\0';
  return out;
}

/* Splits line (modified in place) at spaces into at most max fields. */
static size_t split_fields(char *line, char **fields, size_t max)
{
  size_t n = 0;
  char *save = NULL;
  for (char *tok = strtok_r(line, " ", &save); tok != NULL && n < max;
       tok = strtok_r(NULL, " ", &save)) {
    fields[n++] = tok;
  }
  return n;
}

static bool has_v1_hierarchy(const cf_cgroup_layout *layout, unsigned controllers)
{
  for (size_t i = 0; i < layout->count; i++) {
    if (!layout->hierarchies[i].v2 && layout->hierarchies[i].controllers == controllers) {
      return true;
    }
  }
  return false;
}

static bool has_v2_hierarchy(const cf_cgroup_layout *layout)
{
  for (size_t i = 0; i < layout->count; i++) {
    if (layout->hierarchies[i].v2) {
      return true;
    }
  }
  return false;
}

static void add_hierarchy(cf_cgroup_layout *layout, bool v2, unsigned controllers, const char *root,
                          const char *mount_point)
{
  layout->hierarchies =
      cf_xrealloc(layout->hierarchies, (layout->count + 1) * sizeof(*layout->hierarchies));
  layout->hierarchies[layout->count++] = (cf_cgroup_hierarchy){
      .v2 = v2,
      .controllers = controllers,
      .mount_point = unescape_path(mount_point),
      .mount_root = unescape_path(root),
  };
}

/* Adds the hierarchy a mountinfo line shows, when it is a cgroup mount of a
 * hierarchy not seen before. v1 mounts without a known controller (named
 * hierarchies such as name=systemd) are skipped. */
static int parse_mount_line(char *line, cf_cgroup_layout *layout, cf_err **err)
{
  char *fields[MOUNTINFO_FIELDS_MAX];
  size_t n = split_fields(line, fields, MOUNTINFO_FIELDS_MAX);
  size_t sep = 6;
  while (sep < n && strcmp(fields[sep], "-") != 0) {
    sep++;
  }
  if (sep + 2 >= n) {
    return cf_err_set(err, CF_E_INVALID, "parse mountinfo: malformed line \"%s\"", fields[0]);
  }
  const char *fs_type = fields[sep + 1];
  const char *super_options = sep + 3 < n ? fields[sep + 3] : "";

  if (strcmp(fs_type, "cgroup2") == 0 && !has_v2_hierarchy(layout)) {
    add_hierarchy(layout, true, 0, fields[3], fields[4]);
  } else if (strcmp(fs_type, "cgroup") == 0) {
    unsigned controllers = controller_bits(super_options, ",");
    if (controllers != 0 && !has_v1_hierarchy(layout, controllers)) {
      add_hierarchy(layout, false, controllers, fields[3], fields[4]);
    }
  }
  return 0;
}

static int parse_mountinfo(const char *mountinfo, cf_cgroup_layout *layout, cf_err **err)
{
  cf_autofree char *copy = cf_xstrdup(mountinfo);
  char *save = NULL;
  for (char *line = strtok_r(copy, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
    if (parse_mount_line(line, layout, err) < 0) {
      return -1;
    }
  }
  return 0;
}

/* Sets own_path of the hierarchy a /proc/self/cgroup line names:
 * "0::/path" for v2, "<id>:<controllers>:/path" for v1. */
static int parse_cgroup_line(const char *line, cf_cgroup_layout *layout, cf_err **err)
{
  const char *colon1 = strchr(line, ':');
  const char *colon2 = colon1 != NULL ? strchr(colon1 + 1, ':') : NULL;
  if (colon2 == NULL || colon2[1] != '/') {
    return cf_err_set(err, CF_E_INVALID, "parse /proc/self/cgroup: malformed line \"%s\"", line);
  }
  cf_autofree char *list = cf_xstrndup(colon1 + 1, (size_t)(colon2 - colon1 - 1));
  bool v2 = list[0] == '\0';
  unsigned controllers = controller_bits(list, ",");

  for (size_t i = 0; i < layout->count; i++) {
    cf_cgroup_hierarchy *h = &layout->hierarchies[i];
    bool match = v2 ? h->v2 : (!h->v2 && h->controllers == controllers);
    if (match && h->own_path == NULL) {
      h->own_path = cf_xstrdup(colon2 + 1);
    }
  }
  return 0;
}

static int parse_proc_cgroup(const char *proc_cgroup, cf_cgroup_layout *layout, cf_err **err)
{
  cf_autofree char *copy = cf_xstrdup(proc_cgroup);
  char *save = NULL;
  for (char *line = strtok_r(copy, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
    if (parse_cgroup_line(line, layout, err) < 0) {
      return -1;
    }
  }
  return 0;
}

static enum cf_cgroup_mode layout_mode(const cf_cgroup_layout *layout)
{
  bool v1 = false;
  bool v2 = false;
  for (size_t i = 0; i < layout->count; i++) {
    if (layout->hierarchies[i].v2) {
      v2 = true;
    } else {
      v1 = true;
    }
  }
  if (v1 && v2) {
    return CF_CGROUP_MODE_HYBRID;
  }
  if (v1) {
    return CF_CGROUP_MODE_V1;
  }
  return v2 ? CF_CGROUP_MODE_V2 : CF_CGROUP_MODE_NONE;
}

int cf_cgroup_layout_parse(const char *mountinfo, const char *proc_cgroup,
                           const char *v2_controllers, cf_cgroup_layout **out, cf_err **err)
{
  cf_cgroup_layout *layout = cf_xcalloc(1, sizeof(*layout));
  if (parse_mountinfo(mountinfo, layout, err) < 0 ||
      parse_proc_cgroup(proc_cgroup, layout, err) < 0) {
    cf_cgroup_layout_free(layout);
    return -1;
  }
  for (size_t i = 0; i < layout->count; i++) {
    if (layout->hierarchies[i].v2 && v2_controllers != NULL) {
      layout->hierarchies[i].controllers = controller_bits(v2_controllers, " \t\n");
    }
  }
  layout->mode = layout_mode(layout);
  *out = layout;
  return 0;
}

static int read_text(const char *path, char **text, cf_err **err)
{
  cf_buf buf;
  cf_buf_init(&buf, PROC_FILE_MAX);
  if (cf_read_file(path, &buf, err) < 0) {
    cf_buf_free(&buf);
    return -1;
  }
  *text = cf_buf_take(&buf);
  return 0;
}

/* Reads cgroup.controllers at the root of the first cgroup2 mount in
 * mountinfo, or sets *text to NULL when there is none. */
static int read_v2_controllers(const cf_cgroup_layout *layout, char **text, cf_err **err)
{
  *text = NULL;
  for (size_t i = 0; i < layout->count; i++) {
    if (layout->hierarchies[i].v2) {
      cf_autofree char *path =
          cf_path_join(layout->hierarchies[i].mount_point, "cgroup.controllers");
      return read_text(path, text, err);
    }
  }
  return 0;
}

int cf_cgroup_detect(cf_cgroup_layout **out, cf_err **err)
{
  cf_autofree char *mountinfo = NULL;
  cf_autofree char *proc_cgroup = NULL;
  cf_autofree char *controllers = NULL;
  cf_cgroup_layout *mounts = NULL;

  if (read_text("/proc/self/mountinfo", &mountinfo, err) < 0 ||
      read_text("/proc/self/cgroup", &proc_cgroup, err) < 0) {
    return cf_err_wrap(err, "detect cgroups");
  }
  /* A first pass finds the v2 mount point, whose cgroup.controllers the
   * second pass needs. */
  if (cf_cgroup_layout_parse(mountinfo, proc_cgroup, NULL, &mounts, err) < 0) {
    return cf_err_wrap(err, "detect cgroups");
  }
  int rc = read_v2_controllers(mounts, &controllers, err);
  cf_cgroup_layout_free(mounts);
  if (rc < 0 || cf_cgroup_layout_parse(mountinfo, proc_cgroup, controllers, out, err) < 0) {
    return cf_err_wrap(err, "detect cgroups");
  }
  return 0;
}

void cf_cgroup_layout_free(cf_cgroup_layout *layout)
{
  if (layout == NULL) {
    return;
  }
  for (size_t i = 0; i < layout->count; i++) {
    free(layout->hierarchies[i].mount_point);
    free(layout->hierarchies[i].mount_root);
    free(layout->hierarchies[i].own_path);
  }
  free(layout->hierarchies);
  free(layout);
}

const cf_cgroup_hierarchy *cf_cgroup_layout_find(const cf_cgroup_layout *layout,
                                                 unsigned controller)
{
  const cf_cgroup_hierarchy *v2 = NULL;
  for (size_t i = 0; i < layout->count; i++) {
    const cf_cgroup_hierarchy *h = &layout->hierarchies[i];
    if (h->v2) {
      v2 = h;
    } else if ((h->controllers & controller) != 0) {
      return h;
    }
  }
  if (v2 != NULL && (controller == CF_CGROUP_UNIFIED || (v2->controllers & controller) != 0)) {
    return v2;
  }
  return NULL;
}
