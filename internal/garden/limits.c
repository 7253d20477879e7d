/* SPDX-License-Identifier: Apache-2.0 */
#include "garden/limits.h"

#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include <strings.h>

#include "garden/json.h"

/* One integer field of the create spec's limits. offset is the record
 * field it fills, or SIZE_MAX for a field read elsewhere (disk). */
struct limit_field {
  const char *group;
  const char *name;
  size_t offset;
  uint64_t max;      /* 0: any non-negative value */
  const char *label; /* the limit as error messages name it */
  const char *hint;
};

#define RECORD_FIELD(f) offsetof(cf_limits_record, f)
#define READ_ELSEWHERE SIZE_MAX

static const struct limit_field fields[] = {
    {"memory_limits", "limit_in_bytes", RECORD_FIELD(memory_bytes), 0, "memory limit",
     "use a number of bytes, or 0 for no limit"},
    {"cpu_limits", "weight", RECORD_FIELD(cpu_weight), CF_LIMITS_MAX_CPU_SHARES, "CPU weight",
     "use 2 to 262144 shares, or 0 for the default"},
    {"cpu_limits", "limit_in_shares", RECORD_FIELD(cpu_shares), CF_LIMITS_MAX_CPU_SHARES,
     "CPU shares", "use 2 to 262144 shares, or 0 for the default"},
    {"pid_limits", "max", RECORD_FIELD(pids_max), CF_LIMITS_MAX_PIDS, "pid limit",
     "use 1 to 4194304 processes, or 0 for no limit"},
    {"bandwidth_limits", "rate", RECORD_FIELD(bandwidth_rate), 0, "bandwidth rate",
     "use bytes per second, or 0 for no limit"},
    {"bandwidth_limits", "burst", RECORD_FIELD(bandwidth_burst), 0, "bandwidth burst",
     "use a number of bytes, or 0 for no limit"},
    {"disk_limits", "byte_hard", READ_ELSEWHERE, 0, NULL, NULL},
    {"disk_limits", "byte_soft", READ_ELSEWHERE, 0, NULL, NULL},
    {"disk_limits", "scope", READ_ELSEWHERE, 0, NULL, NULL},
};

#define FIELD_COUNT (sizeof(fields) / sizeof(fields[0]))

static const struct limit_field *find_field(const char *group, const char *name)
{
  for (size_t i = 0; i < FIELD_COUNT; i++) {
    if (strcasecmp(fields[i].group, group) == 0 && strcasecmp(fields[i].name, name) == 0) {
      return &fields[i];
    }
  }
  return NULL;
}

static int read_field(const json_t *group, const struct limit_field *field, cf_limits_record *out,
                      cf_err **err)
{
  long long value = 0;
  if (cf_json_get_int(group, field->name, &value, err) < 0) {
    return cf_err_wrap(err, "limits.%s", field->group);
  }
  if (value < 0 || (field->max > 0 && (uint64_t)value > field->max)) {
    return cf_err_set(err, CF_E_INVALID, "invalid %s %lld in limits.%s.%s: %s", field->label, value,
                      field->group, field->name, field->hint);
  }
  uint64_t *slot = (uint64_t *)((char *)out + field->offset);
  *slot = (uint64_t)value;
  return 0;
}

/* Rejects a non-zero field that no table entry reads, such as the inode
 * limits, rather than silently ignoring it. */
static int check_unknown(const char *group, const char *name, const json_t *value, cf_err **err)
{
  if (json_is_null(value) || (json_is_integer(value) && json_integer_value(value) == 0)) {
    return 0;
  }
  return cf_err_set(err, CF_E_NOT_IMPLEMENTED,
                    "limit %s.%s is not implemented in cfwin; create the container without it",
                    group, name);
}

static int parse_group(const char *group_name, const json_t *group, cf_limits_record *out,
                       cf_err **err)
{
  if (json_is_null(group)) {
    return 0;
  }
  if (!json_is_object(group)) {
    return cf_err_set(err, CF_E_INVALID, "invalid value for \"limits.%s\": expected an object",
                      group_name);
  }
  const char *name;
  json_t *value;
  json_object_foreach((json_t *)group, name, value)
  {
    const struct limit_field *field = find_field(group_name, name);
    if (field == NULL) {
      if (check_unknown(group_name, name, value, err) < 0) {
        return -1;
      }
      continue;
    }
    if (field->offset != READ_ELSEWHERE && read_field(group, field, out, err) < 0) {
      return -1;
    }
  }
  return 0;
}

/* Guardian's CPU maximum: shares times the quota per share, at least the
 * smallest quota, per 100 ms. */
static void apply_quota(cf_limits_record *out, uint64_t cpu_quota_per_share_us)
{
  uint64_t shares = cf_limits_cpu_shares(out);
  if (cpu_quota_per_share_us == 0 || shares == 0) {
    return;
  }
  uint64_t quota = shares * cpu_quota_per_share_us;
  out->cpu_quota_us = quota < CF_LIMITS_MIN_CPU_QUOTA_US ? CF_LIMITS_MIN_CPU_QUOTA_US : quota;
  out->cpu_period_us = CF_LIMITS_CPU_PERIOD_US;
}

int cf_limits_parse(const json_t *spec, uint64_t cpu_quota_per_share_us, cf_limits_record *out,
                    cf_err **err)
{
  memset(out, 0, sizeof(*out));
  out->privileged = json_is_true(cf_json_get(spec, "privileged"));
  json_t *limits = cf_json_get(spec, "limits");
  if (limits == NULL || json_is_null(limits)) {
    return 0;
  }
  if (!json_is_object(limits)) {
    return cf_err_set(err, CF_E_INVALID, "invalid value for \"limits\": expected an object");
  }
  const char *group_name;
  json_t *group;
  json_object_foreach(limits, group_name, group)
  {
    if (parse_group(group_name, group, out, err) < 0) {
      return -1;
    }
  }
  apply_quota(out, cpu_quota_per_share_us);
  return 0;
}

/* Rejects a process limit group other than CPU and memory when it sets
 * anything, as Garden's ProcessLimits has no other field. */
static int check_process_group(const char *group_name, const json_t *group, cf_err **err)
{
  if (json_is_null(group) || (json_is_object(group) && json_object_size(group) == 0)) {
    return 0;
  }
  return cf_err_set(err, CF_E_NOT_IMPLEMENTED,
                    "process limit %s is not implemented in cfwin; give only cpu_limits and "
                    "memory_limits",
                    group_name);
}

int cf_limits_parse_process(const json_t *spec, cf_process_limits *out, cf_err **err)
{
  memset(out, 0, sizeof(*out));
  json_t *limits = cf_json_get(spec, "limits");
  if (limits == NULL || json_is_null(limits)) {
    return 0;
  }
  if (!json_is_object(limits)) {
    return cf_err_set(err, CF_E_INVALID, "invalid value for \"limits\": expected an object");
  }
  cf_limits_record record = {0};
  const char *group_name;
  json_t *group;
  json_object_foreach(limits, group_name, group)
  {
    bool known =
        strcasecmp(group_name, "cpu_limits") == 0 || strcasecmp(group_name, "memory_limits") == 0;
    int rc = known ? parse_group(group_name, group, &record, err)
                   : check_process_group(group_name, group, err);
    if (rc < 0) {
      return cf_err_wrap(err, "process spec");
    }
  }
  out->present = true;
  out->memory_bytes = record.memory_bytes;
  out->cpu_shares = cf_limits_cpu_shares(&record);
  return 0;
}

uint64_t cf_limits_cpu_shares(const cf_limits_record *limits)
{
  return limits->cpu_weight > 0 ? limits->cpu_weight : limits->cpu_shares;
}

void cf_limits_to_runtime(const cf_limits_record *limits, cf_resource_limits *out)
{
  uint64_t shares = cf_limits_cpu_shares(limits);
  *out = (cf_resource_limits){
      .memory_bytes = limits->memory_bytes,
      .cpu_shares = shares == 1 ? 2 : shares,
      .cpu_quota_us = limits->cpu_quota_us,
      .cpu_period_us = limits->cpu_period_us,
      .pids_max = limits->pids_max,
  };
}

static void set_if_positive(json_t *object, const char *key, uint64_t value)
{
  if (value > 0) {
    json_object_set_new(object, key, json_integer((json_int_t)value));
  }
}

json_t *cf_limits_memory_json(const cf_limits_record *limits)
{
  json_t *body = json_object();
  set_if_positive(body, "limit_in_bytes", limits->memory_bytes);
  return body;
}

json_t *cf_limits_cpu_json(const cf_limits_record *limits)
{
  json_t *body = json_object();
  set_if_positive(body, "limit_in_shares", cf_limits_cpu_shares(limits));
  return body;
}

json_t *cf_limits_bandwidth_json(const cf_limits_record *limits)
{
  json_t *body = json_object();
  set_if_positive(body, "rate", limits->bandwidth_rate);
  set_if_positive(body, "burst", limits->bandwidth_burst);
  return body;
}
