/* SPDX-License-Identifier: Apache-2.0 */
/* Reading and writing cgroup interface files. */
#include "runtime/linux/cgroup_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/fs.h"
#include "base/mem.h"

/* memory.stat is the largest file read here, a few KiB. */
#define CGROUP_FILE_MAX (1u << 20)

const cg_dir *cg_find_dir(const cf_cgroup *cg, unsigned controller)
{
  for (size_t i = 0; i < cg->dir_count; i++) {
    if ((cg->dirs[i].controllers & controller) != 0 ||
        (controller == CF_CGROUP_UNIFIED && cg->dirs[i].v2)) {
      return &cg->dirs[i];
    }
  }
  return NULL;
}

int cg_read(const char *dir, const char *name, char **text, cf_err **err)
{
  cf_autofree char *path = cf_path_join(dir, name);
  cf_buf buf;
  cf_buf_init(&buf, CGROUP_FILE_MAX);
  if (cf_read_file(path, &buf, err) < 0) {
    cf_buf_free(&buf);
    return -1;
  }
  *text = cf_buf_take(&buf);
  return 0;
}

int cg_write(const char *dir, const char *name, const char *value, cf_err **err)
{
  cf_autofree char *path = cf_path_join(dir, name);
  cf_autoclose int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) {
    return cf_err_sys(err, errno, "open %s", path);
  }
  /* The kernel parses each write(2) as one value, so no partial writes. */
  ssize_t n;
  do {
    n = write(fd, value, strlen(value));
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    return cf_err_sys(err, errno, "write \"%s\" to %s", value, path);
  }
  return 0;
}

bool cg_exists(const char *dir, const char *name)
{
  cf_autofree char *path = cf_path_join(dir, name);
  return access(path, F_OK) == 0;
}

static bool parse_u64(const char *s, uint64_t *value)
{
  char *end;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno != 0 || end == s || (*end != '\0' && *end != '\n' && *end != ' ')) {
    return false;
  }
  *value = v;
  return true;
}

int cg_read_u64(const char *dir, const char *name, uint64_t max_value, uint64_t *value,
                cf_err **err)
{
  cf_autofree char *text = NULL;
  if (cg_read(dir, name, &text, err) < 0) {
    return -1;
  }
  if (strncmp(text, "max", 3) == 0 && (text[3] == '\n' || text[3] == '\0')) {
    *value = max_value;
    return 0;
  }
  if (!parse_u64(text, value)) {
    return cf_err_set(err, CF_E_SYSTEM, "parse %s/%s: not a number: \"%.32s\"", dir, name, text);
  }
  return 0;
}

bool cg_keyed_u64(const char *text, const char *key, uint64_t *value)
{
  size_t len = strlen(key);
  for (const char *line = text; line != NULL && *line != '\0';) {
    if (strncmp(line, key, len) == 0 && line[len] == ' ') {
      return parse_u64(line + len + 1, value);
    }
    line = strchr(line, '\n');
    line = line != NULL ? line + 1 : NULL;
  }
  return false;
}
