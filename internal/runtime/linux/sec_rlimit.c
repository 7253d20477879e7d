/* SPDX-License-Identifier: Apache-2.0 */
/* Resource limits from OCI process.rlimits. */
#include <errno.h>
#include <linux/capability.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/mem.h"
#include "runtime/linux/security.h"

static const struct {
  const char *name;
  int resource;
} rlimit_names[] = {
    {"RLIMIT_AS", RLIMIT_AS},
    {"RLIMIT_CORE", RLIMIT_CORE},
    {"RLIMIT_CPU", RLIMIT_CPU},
    {"RLIMIT_DATA", RLIMIT_DATA},
    {"RLIMIT_FSIZE", RLIMIT_FSIZE},
    {"RLIMIT_LOCKS", RLIMIT_LOCKS},
    {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK},
    {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE},
    {"RLIMIT_NICE", RLIMIT_NICE},
    {"RLIMIT_NOFILE", RLIMIT_NOFILE},
    {"RLIMIT_NPROC", RLIMIT_NPROC},
    {"RLIMIT_RSS", RLIMIT_RSS},
    {"RLIMIT_RTPRIO", RLIMIT_RTPRIO},
    {"RLIMIT_RTTIME", RLIMIT_RTTIME},
    {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING},
    {"RLIMIT_STACK", RLIMIT_STACK},
};

static int find_rlimit(const char *name, size_t *index, cf_err **err)
{
  for (size_t i = 0; i < sizeof(rlimit_names) / sizeof(rlimit_names[0]); i++) {
    if (strcmp(name, rlimit_names[i].name) == 0) {
      *index = i;
      return 0;
    }
  }
  return cf_err_set(err, CF_E_INVALID,
                    "unknown rlimit type %s: use a name such as RLIMIT_NOFILE from getrlimit(2)",
                    name);
}

static int parse_limit(const json_t *entry, const char *key, const char *type, rlim_t *out,
                       cf_err **err)
{
  const json_t *value = json_object_get(entry, key);
  if (!json_is_integer(value) || json_integer_value(value) < 0) {
    return cf_err_set(err, CF_E_INVALID, "rlimit %s: %s must be a non-negative integer", type, key);
  }
  *out = (rlim_t)json_integer_value(value);
  return 0;
}

static bool has_sys_resource(void)
{
  struct __user_cap_header_struct header = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
  struct __user_cap_data_struct data[2] = {0};
  if (syscall(SYS_capget, &header, data) < 0) {
    return false;
  }
  return (data[CAP_TO_INDEX(CAP_SYS_RESOURCE)].effective & CAP_TO_MASK(CAP_SYS_RESOURCE)) != 0;
}

/* Raising a hard limit needs CAP_SYS_RESOURCE in the initial user namespace;
 * without it the child's setrlimit() would fail with EPERM, so the parent reports it with the
 * reason. */
static int check_hard_limit(const cf_sec_rlimit *limit, bool can_raise, cf_err **err)
{
  struct rlimit current;
  if (can_raise || getrlimit(limit->resource, &current) < 0 || current.rlim_max == RLIM_INFINITY ||
      limit->limit.rlim_max <= current.rlim_max) {
    return 0;
  }
  return cf_err_set(err, CF_E_INVALID,
                    "rlimit %s: hard limit %llu is above the server's own hard limit %llu, and "
                    "the server lacks CAP_SYS_RESOURCE to raise it",
                    limit->name, (unsigned long long)limit->limit.rlim_max,
                    (unsigned long long)current.rlim_max);
}

static int parse_entry(const json_t *entry, uint32_t *seen, cf_sec_rlimit *out, cf_err **err)
{
  const char *type = json_string_value(json_object_get(entry, "type"));
  if (type == NULL) {
    return cf_err_set(err, CF_E_INVALID, "rlimit entry has no type");
  }
  size_t index = 0;
  if (find_rlimit(type, &index, err) < 0) {
    return -1;
  }
  if ((*seen & (1U << index)) != 0) {
    return cf_err_set(err, CF_E_INVALID, "rlimit %s is given twice", type);
  }
  *seen |= 1U << index;
  out->resource = rlimit_names[index].resource;
  out->name = rlimit_names[index].name;
  if (parse_limit(entry, "soft", type, &out->limit.rlim_cur, err) < 0 ||
      parse_limit(entry, "hard", type, &out->limit.rlim_max, err) < 0) {
    return -1;
  }
  if (out->limit.rlim_cur > out->limit.rlim_max) {
    return cf_err_set(err, CF_E_INVALID, "rlimit %s: soft limit %llu is above hard limit %llu",
                      type, (unsigned long long)out->limit.rlim_cur,
                      (unsigned long long)out->limit.rlim_max);
  }
  return 0;
}

int cf_sec_rlimits_from_oci(const json_t *rlimits, cf_sec_rlimit **out, size_t *count, cf_err **err)
{
  *out = NULL;
  *count = 0;
  if (!json_is_array(rlimits)) {
    return cf_err_set(err, CF_E_INVALID, "process.rlimits must be an array");
  }
  size_t n = json_array_size(rlimits);
  cf_autofree cf_sec_rlimit *limits = cf_xcalloc(n > 0 ? n : 1, sizeof(*limits));
  bool can_raise = has_sys_resource();
  uint32_t seen = 0;
  for (size_t i = 0; i < n; i++) {
    if (parse_entry(json_array_get(rlimits, i), &seen, &limits[i], err) < 0 ||
        check_hard_limit(&limits[i], can_raise, err) < 0) {
      return cf_err_wrap(err, "process.rlimits entry %zu", i);
    }
  }
  *out = cf_steal(&limits);
  *count = n;
  return 0;
}

int cf_sec_apply_rlimits(const cf_sec_plan *plan, cf_sec_fault *fault)
{
  for (size_t i = 0; i < plan->rlimit_count; i++) {
    const cf_sec_rlimit *limit = &plan->rlimits[i];
    if (prlimit(0, (enum __rlimit_resource)limit->resource, &limit->limit, NULL) < 0) {
      *fault = (cf_sec_fault){"set rlimit", limit->name};
      return -1;
    }
  }
  return 0;
}
