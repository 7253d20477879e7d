/* SPDX-License-Identifier: Apache-2.0 */
/* uid/gid maps and the sync point of a child in a new user namespace. */
#include "runtime/linux/userns.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/mem.h"
#include "runtime/linux/sys.h"

/* uid_map and gid_map must be written in one write() of less than a page. */
#define MAP_TEXT_MAX 4095

/* (uid_t)-1 is never a valid id, so a range may end at 4294967294. */
#define ID_LIMIT UINT64_C(4294967295)

static int parse_id(const json_t *entry, const char *key, uint32_t *out, cf_err **err)
{
  const json_t *value = json_object_get(entry, key);
  if (!json_is_integer(value) || json_integer_value(value) < 0 ||
      (uint64_t)json_integer_value(value) >= ID_LIMIT) {
    return cf_err_set(err, CF_E_INVALID, "%s must be an integer from 0 to %llu", key,
                      (unsigned long long)ID_LIMIT - 1);
  }
  *out = (uint32_t)json_integer_value(value);
  return 0;
}

int cf_userns_map_from_oci(const json_t *mappings, const char *field, cf_id_map *out, cf_err **err)
{
  *out = (cf_id_map){0};
  if (!json_is_array(mappings)) {
    return cf_err_set(err, CF_E_INVALID, "%s must be an array", field);
  }
  size_t n = json_array_size(mappings);
  cf_id_map map = {.ranges = cf_xcalloc(n > 0 ? n : 1, sizeof(cf_id_range)), .count = n};
  for (size_t i = 0; i < n; i++) {
    const json_t *entry = json_array_get(mappings, i);
    cf_id_range *range = &map.ranges[i];
    if (parse_id(entry, "containerID", &range->container_id, err) < 0 ||
        parse_id(entry, "hostID", &range->host_id, err) < 0 ||
        parse_id(entry, "size", &range->size, err) < 0) {
      cf_userns_map_free(&map);
      return cf_err_wrap(err, "%s entry %zu", field, i);
    }
  }
  if (cf_userns_map_validate(&map, field, err) < 0) {
    cf_userns_map_free(&map);
    return -1;
  }
  *out = map;
  return 0;
}

static bool overlap(uint32_t first_a, uint32_t first_b, uint32_t size_a, uint32_t size_b)
{
  uint64_t end_a = (uint64_t)first_a + size_a;
  uint64_t end_b = (uint64_t)first_b + size_b;
  return first_a < end_b && first_b < end_a;
}

static int check_range(const cf_id_range *range, const char *field, size_t index, cf_err **err)
{
  if (range->size == 0) {
    return cf_err_set(err, CF_E_INVALID, "%s entry %zu has size 0", field, index);
  }
  if ((uint64_t)range->container_id + range->size > ID_LIMIT ||
      (uint64_t)range->host_id + range->size > ID_LIMIT) {
    return cf_err_set(
        err, CF_E_INVALID, "%s entry %zu (%u %u %u) runs past id %llu: make it smaller", field,
        index, range->container_id, range->host_id, range->size, (unsigned long long)ID_LIMIT - 1);
  }
  return 0;
}

int cf_userns_map_validate(const cf_id_map *map, const char *field, cf_err **err)
{
  if (map->count == 0 || map->count > CF_USERNS_MAX_RANGES) {
    return cf_err_set(err, CF_E_INVALID, "%s has %zu entries: the kernel takes 1 to %d", field,
                      map->count, CF_USERNS_MAX_RANGES);
  }
  for (size_t i = 0; i < map->count; i++) {
    const cf_id_range *a = &map->ranges[i];
    if (check_range(a, field, i, err) < 0) {
      return -1;
    }
    for (size_t j = 0; j < i; j++) {
      const cf_id_range *b = &map->ranges[j];
      if (overlap(a->container_id, b->container_id, a->size, b->size)) {
        return cf_err_set(err, CF_E_INVALID, "%s entries %zu and %zu overlap inside the container",
                          field, j, i);
      }
      if (overlap(a->host_id, b->host_id, a->size, b->size)) {
        return cf_err_set(err, CF_E_INVALID, "%s entries %zu and %zu overlap on the host", field, j,
                          i);
      }
    }
  }
  return 0;
}

void cf_userns_map_free(cf_id_map *map)
{
  free(map->ranges);
  *map = (cf_id_map){0};
}

/* ---- parent side ---- */

/* Writes map as "container host size" lines in one write(). */
static int write_map(pid_t pid, const char *file, const cf_id_map *map, cf_err **err)
{
  char text[MAP_TEXT_MAX + 1];
  size_t len = 0;
  for (size_t i = 0; i < map->count; i++) {
    const cf_id_range *r = &map->ranges[i];
    int n = snprintf(text + len, sizeof(text) - len, "%u %u %u\n", r->container_id, r->host_id,
                     r->size);
    if (n < 0 || (size_t)n >= sizeof(text) - len) {
      return cf_err_set(err, CF_E_INVALID, "%s of %zu entries is longer than %d bytes", file,
                        map->count, MAP_TEXT_MAX);
    }
    len += (size_t)n;
  }
  char path[64];
  snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
  cf_autoclose int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) {
    return cf_err_sys(err, errno, "open %s", path);
  }
  if (write(fd, text, len) != (ssize_t)len) {
    return cf_err_sys(err, errno, "write %s", path);
  }
  return 0;
}

/* The kernel lets a writer without CAP_SETGID in the parent namespace set
 * gid_map only once setgroups is "deny"; with it, setgroups stays allowed. */
static bool setgroups_deny_required(void)
{
  struct __user_cap_header_struct header = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
  struct __user_cap_data_struct data[2] = {0};
  if (syscall(SYS_capget, &header, data) < 0) {
    return true;
  }
  return (data[CAP_TO_INDEX(CAP_SETGID)].effective & CAP_TO_MASK(CAP_SETGID)) == 0;
}

static int deny_setgroups(pid_t pid, cf_err **err)
{
  char path[64];
  snprintf(path, sizeof(path), "/proc/%d/setgroups", (int)pid);
  cf_autoclose int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) {
    return cf_err_sys(err, errno, "open %s", path);
  }
  if (write(fd, "deny", 4) != 4) {
    return cf_err_sys(err, errno, "write %s", path);
  }
  return 0;
}

int cf_userns_write_maps(pid_t pid, const cf_id_map *uid_map, const cf_id_map *gid_map,
                         cf_err **err)
{
  if (uid_map != NULL && write_map(pid, "uid_map", uid_map, err) < 0) {
    return -1;
  }
  if (gid_map == NULL) {
    return 0;
  }
  if (setgroups_deny_required() && deny_setgroups(pid, err) < 0) {
    return -1;
  }
  return write_map(pid, "gid_map", gid_map, err);
}

int cf_userns_sync_open(cf_userns_sync *sync, cf_err **err)
{
  /* A socket pair, not a pipe, so the release can use MSG_NOSIGNAL: a
   * child that died before it gets EPIPE, never SIGPIPE. */
  int fds[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) < 0) {
    *sync = (cf_userns_sync){-1, -1};
    return cf_err_sys(err, errno, "create user namespace sync socket pair");
  }
  *sync = (cf_userns_sync){.child_fd = fds[0], .parent_fd = fds[1]};
  return 0;
}

void cf_userns_sync_close_child(cf_userns_sync *sync)
{
  cf_closep(&sync->child_fd);
}

int cf_userns_sync_release(cf_userns_sync *sync, cf_err **err)
{
  ssize_t n = send(sync->parent_fd, "1", 1, MSG_NOSIGNAL);
  int saved = errno;
  cf_closep(&sync->parent_fd);
  if (n != 1) {
    return cf_err_sys(err, saved, "release the child waiting for its user namespace maps");
  }
  return 0;
}

void cf_userns_sync_close(cf_userns_sync *sync)
{
  cf_closep(&sync->child_fd);
  cf_closep(&sync->parent_fd);
}

/* ---- child side ---- */

int cf_userns_sync_wait(cf_userns_sync *sync, cf_sec_fault *fault)
{
  close(sync->parent_fd);
  sync->parent_fd = -1;
  char byte;
  ssize_t n;
  do {
    n = read(sync->child_fd, &byte, 1);
  } while (n < 0 && errno == EINTR);
  close(sync->child_fd);
  sync->child_fd = -1;
  if (n == 1) {
    return 0;
  }
  if (n == 0) {
    errno = ECANCELED;
  }
  *fault = (cf_sec_fault){"wait for the user namespace maps", ""};
  return -1;
}

/* True when /proc/self/setgroups allows setgroups(). */
static bool setgroups_allowed(void)
{
  char text[8] = {0};
  int fd = open("/proc/self/setgroups", O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return false;
  }
  ssize_t n = read(fd, text, sizeof(text) - 1);
  close(fd);
  return n >= 5 && memcmp(text, "allow", 5) == 0;
}

int cf_userns_become_root(cf_sec_fault *fault)
{
  if (setgroups_allowed() && cf_sys_setgroups(0, NULL) < 0) {
    *fault = (cf_sec_fault){"drop supplementary groups in the user namespace", ""};
    return -1;
  }
  if (cf_sys_setresgid(0) < 0) {
    *fault = (cf_sec_fault){"switch to gid 0 of the user namespace", ""};
    return -1;
  }
  if (cf_sys_setresuid(0) < 0) {
    *fault = (cf_sec_fault){"switch to uid 0 of the user namespace", ""};
    return -1;
  }
  return 0;
}
