/* SPDX-License-Identifier: Apache-2.0 */
/* Human output of `cfwin client`: aligned "name  value" lines and tables. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "cli/client_cli.h"
#include "garden/json.h"

void cf_client_format_bytes(unsigned long long bytes, char *out, size_t size)
{
  static const char *const units[] = {"bytes", "KiB", "MiB", "GiB", "TiB", "PiB"};
  double value = (double)bytes;
  size_t unit = 0;
  while (value >= 1024 && unit + 1 < sizeof(units) / sizeof(units[0])) {
    value /= 1024;
    unit++;
  }
  if (unit == 0) {
    snprintf(out, size, "%llu bytes", bytes);
    return;
  }
  snprintf(out, size, "%.1f %s (%llu bytes)", value, units[unit], bytes);
}

static unsigned long long uint_member(const json_t *object, const char *key)
{
  json_t *value = cf_json_get(object, key);
  if (!json_is_integer(value) || json_integer_value(value) < 0) {
    return 0;
  }
  return (unsigned long long)json_integer_value(value);
}

static const char *string_member(const json_t *object, const char *key, const char *fallback)
{
  const char *value = json_string_value(cf_json_get(object, key));
  return value != NULL && value[0] != '\0' ? value : fallback;
}

static void print_row(FILE *out, const char *name, const char *value)
{
  fprintf(out, "%-24s %s\n", name, value);
}

static void print_bytes_row(FILE *out, const char *name, unsigned long long bytes)
{
  char text[64];
  cf_client_format_bytes(bytes, text, sizeof(text));
  print_row(out, name, text);
}

static void print_uint_row(FILE *out, const char *name, unsigned long long value)
{
  char text[32];
  snprintf(text, sizeof(text), "%llu", value);
  print_row(out, name, text);
}

/* Nanoseconds as seconds with three decimals, e.g. "12.345 s". */
static void print_seconds_row(FILE *out, const char *name, unsigned long long ns)
{
  char text[48];
  snprintf(text, sizeof(text), "%.3f s", (double)ns / 1e9);
  print_row(out, name, text);
}

void cf_client_print_capacity(FILE *out, const json_t *capacity)
{
  print_bytes_row(out, "memory", uint_member(capacity, "memory_in_bytes"));
  print_bytes_row(out, "disk", uint_member(capacity, "disk_in_bytes"));
  print_bytes_row(out, "schedulable disk", uint_member(capacity, "schedulable_disk_in_bytes"));
  print_uint_row(out, "max containers", uint_member(capacity, "max_containers"));
}

void cf_client_print_list(FILE *out, const json_t *handles, const json_t *bulk_info)
{
  size_t width = strlen("HANDLE");
  size_t i;
  json_t *handle;
  json_array_foreach(handles, i, handle)
  {
    size_t len = strlen(json_string_value(handle) != NULL ? json_string_value(handle) : "");
    width = len > width ? len : width;
  }
  if (bulk_info == NULL) {
    json_array_foreach(handles, i, handle)
    {
      fprintf(out, "%s\n", json_string_value(handle));
    }
    return;
  }
  fprintf(out, "%-*s  %-8s  %-15s  %s\n", (int)width, "HANDLE", "STATE", "CONTAINER IP",
          "PROCESSES");
  json_array_foreach(handles, i, handle)
  {
    const char *name = json_string_value(handle);
    json_t *info = cf_json_get(cf_json_get(bulk_info, name), "Info");
    json_t *processes = cf_json_get(info, "ProcessIDs");
    fprintf(out, "%-*s  %-8s  %-15s  %zu\n", (int)width, name, string_member(info, "State", "-"),
            string_member(info, "ContainerIP", "-"), json_array_size(processes));
  }
}

static int compare_strings(const void *a, const void *b)
{
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void print_properties_rows(FILE *out, const json_t *properties, const char *indent)
{
  const char **keys = cf_xcalloc(json_object_size(properties) + 1, sizeof(char *));
  size_t count = 0;
  size_t width = 0;
  const char *key;
  json_t *value;
  json_object_foreach((json_t *)properties, key, value)
  {
    keys[count++] = key;
    width = strlen(key) > width ? strlen(key) : width;
  }
  qsort(keys, count, sizeof(char *), compare_strings);
  for (size_t k = 0; k < count; k++) {
    const char *text = json_string_value(json_object_get(properties, keys[k]));
    fprintf(out, "%s%-*s  %s\n", indent, (int)width, keys[k], text != NULL ? text : "");
  }
  free(keys);
}

void cf_client_print_properties(FILE *out, const json_t *properties)
{
  print_properties_rows(out, properties, "");
}

static void print_ports(FILE *out, const json_t *ports)
{
  size_t i;
  json_t *port;
  json_array_foreach(ports, i, port)
  {
    char text[64];
    snprintf(text, sizeof(text), "host %llu -> container %llu", uint_member(port, "HostPort"),
             uint_member(port, "ContainerPort"));
    print_row(out, i == 0 ? "mapped ports" : "", text);
  }
}

void cf_client_print_info(FILE *out, const char *handle, const json_t *info)
{
  print_row(out, "handle", handle);
  print_row(out, "state", string_member(info, "State", "-"));
  print_row(out, "container IP", string_member(info, "ContainerIP", "-"));
  print_row(out, "host IP", string_member(info, "HostIP", "-"));
  print_row(out, "external IP", string_member(info, "ExternalIP", "-"));
  print_row(out, "container path", string_member(info, "ContainerPath", "-"));
  json_t *events = cf_json_get(info, "Events");
  size_t i;
  json_t *event;
  json_array_foreach(events, i, event)
  {
    print_row(out, i == 0 ? "events" : "", json_string_value(event));
  }
  json_t *processes = cf_json_get(info, "ProcessIDs");
  json_t *process;
  json_array_foreach(processes, i, process)
  {
    print_row(out, i == 0 ? "processes" : "", json_string_value(process));
  }
  print_ports(out, cf_json_get(info, "MappedPorts"));
  json_t *properties = cf_json_get(info, "Properties");
  if (json_object_size(properties) > 0) {
    fprintf(out, "properties\n");
    print_properties_rows(out, properties, "  ");
  }
}

void cf_client_print_metrics(FILE *out, const char *handle, const json_t *metrics)
{
  json_t *memory = cf_json_get(metrics, "MemoryStat");
  json_t *cpu = cf_json_get(metrics, "CPUStat");
  json_t *disk = cf_json_get(metrics, "DiskStat");
  json_t *network = cf_json_get(metrics, "NetworkStat");
  json_t *pids = cf_json_get(metrics, "PidStat");
  print_row(out, "handle", handle);
  print_seconds_row(out, "age", uint_member(metrics, "Age"));
  print_bytes_row(out, "memory usage", uint_member(memory, "TotalUsageTowardLimit"));
  print_bytes_row(out, "memory limit", uint_member(memory, "hierarchical_memory_limit"));
  print_seconds_row(out, "cpu usage", uint_member(cpu, "Usage"));
  print_seconds_row(out, "cpu user", uint_member(cpu, "User"));
  print_seconds_row(out, "cpu system", uint_member(cpu, "System"));
  print_bytes_row(out, "disk total", uint_member(disk, "TotalBytesUsed"));
  print_bytes_row(out, "disk exclusive", uint_member(disk, "ExclusiveBytesUsed"));
  print_uint_row(out, "pids", uint_member(pids, "Current"));
  print_uint_row(out, "pids max", uint_member(pids, "Max"));
  if (json_is_object(network)) {
    print_bytes_row(out, "network received", uint_member(network, "RxBytes"));
    print_bytes_row(out, "network sent", uint_member(network, "TxBytes"));
  } else {
    print_row(out, "network", "-");
  }
}

/* Prints "<kind> <field>" rows for every integer field of one limit object. */
static void print_limit_kind(FILE *out, const char *kind, const json_t *limit)
{
  if (json_object_size(limit) == 0) {
    char name[64];
    snprintf(name, sizeof(name), "%s", kind);
    print_row(out, name, "not set");
    return;
  }
  const char *key;
  json_t *value;
  json_object_foreach((json_t *)limit, key, value)
  {
    char name[96];
    snprintf(name, sizeof(name), "%s %s", kind, key);
    char text[64];
    bool bytes =
        strstr(key, "byte") != NULL || strcmp(key, "rate") == 0 || strcmp(key, "burst") == 0;
    if (bytes) {
      cf_client_format_bytes(uint_member(limit, key), text, sizeof(text));
    } else {
      snprintf(text, sizeof(text), "%lld", (long long)json_integer_value(value));
    }
    print_row(out, name, text);
  }
}

void cf_client_print_limits(FILE *out, const char *handle, const json_t *limits)
{
  static const char *const kinds[] = {"memory", "cpu", "disk", "bandwidth"};
  print_row(out, "handle", handle);
  for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
    json_t *limit = json_object_get(limits, kinds[i]);
    if (limit != NULL) {
      print_limit_kind(out, kinds[i], limit);
    }
  }
}
