/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Garden container limits: reading them from a create spec, turning them
 * into the runtime's cgroup limits, and the JSON the limit routes return.
 */
#ifndef CFWIN_GARDEN_LIMITS_H
#define CFWIN_GARDEN_LIMITS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/err.h"
#include "runtime/runtime.h"
#include "store/store.h"

/* cgroup maxima: cpu.shares accepts 2..262144, and pids.max at most the
 * kernel's PID_MAX_LIMIT (4194304 on 64-bit). */
#define CF_LIMITS_MAX_CPU_SHARES 262144
#define CF_LIMITS_MAX_PIDS 4194304
/* Guardian's CPU period and smallest quota for --cpu-quota-per-share. */
#define CF_LIMITS_CPU_PERIOD_US 100000
#define CF_LIMITS_MIN_CPU_QUOTA_US 1000

/* Reads limits.memory_limits, cpu_limits, pid_limits and bandwidth_limits
 * and privileged from a ContainerSpec object into *out. Fails with
 * CF_E_INVALID naming the field and value for a negative value or one above
 * the cgroup maximum, and with CF_E_NOT_IMPLEMENTED for a non-zero limit
 * cfwin does not implement (inode limits, unknown fields). With
 * cpu_quota_per_share_us > 0 a container with CPU shares also gets a CPU
 * maximum, as Guardian's --cpu-quota-per-share. disk_limits are only
 * checked here; the create handler reads them. */
int cf_limits_parse(const json_t *spec, uint64_t cpu_quota_per_share_us, cf_limits_record *out,
                    cf_err **err);

/* ProcessSpec.limits, Garden's ProcessLimits: the CPU and memory limits a
 * process sets in place of its container's. */
typedef struct cf_process_limits {
  bool present;          /* the spec has "limits", even an empty object */
  uint64_t memory_bytes; /* 0: no limit */
  uint64_t cpu_shares;   /* weight when set, else limit_in_shares; 0: default */
} cf_process_limits;

/* Reads a ProcessSpec object's "limits" into *out. Absent or null leaves
 * out->present false, so the process shares its container's limits. The
 * values are checked as cf_limits_parse() checks them, and a non-zero
 * limit other than cpu_limits and memory_limits fails with
 * CF_E_NOT_IMPLEMENTED. */
int cf_limits_parse_process(const json_t *spec, cf_process_limits *out, cf_err **err);

/* The CPU shares a record applies: weight when set, else limit_in_shares,
 * as Guardian chooses. */
uint64_t cf_limits_cpu_shares(const cf_limits_record *limits);

/* The runtime's cgroup limits for a record. A share count of 1 becomes 2,
 * the smallest cpu.shares the kernel has. */
void cf_limits_to_runtime(const cf_limits_record *limits, cf_resource_limits *out);

/* Bodies of the limit routes, with Garden's omitempty fields (so no limit
 * is {}). New references. CPU reports the applied shares as
 * limit_in_shares, as gdn does on cgroup v1. */
json_t *cf_limits_memory_json(const cf_limits_record *limits);
json_t *cf_limits_cpu_json(const cf_limits_record *limits);
json_t *cf_limits_bandwidth_json(const cf_limits_record *limits);

#endif
