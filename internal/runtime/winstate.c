/* SPDX-License-Identifier: Apache-2.0 */
/* HCS property documents in, winc's `state` and `events --stats` output
 * out. Platform-neutral: see winhcs.h. */
#include "runtime/winhcs.h"

#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/mem.h"
#include "runtime/winjson.h"

#define COUNT(array) (sizeof(array) / sizeof((array)[0]))

/* Reads the number at path into *out when present; leaves *out otherwise. */
static int read_u64(const char *doc, const char *const *path, size_t depth, const char *what,
                    uint64_t *out, cf_err **err)
{
  const char *value = cf_winjson_find(doc, path, depth);
  if (value == NULL || strncmp(value, "null", 4) == 0) {
    return 0;
  }
  return cf_winjson_u64(what, value, out, err);
}

static int read_statistics(const char *doc, cf_hcs_stats *stats, cf_err **err)
{
  static const char *const total[] = {"Statistics", "Processor", "TotalRuntime100ns"};
  static const char *const kernel[] = {"Statistics", "Processor", "RuntimeKernel100ns"};
  static const char *const user[] = {"Statistics", "Processor", "RuntimeUser100ns"};
  static const char *const commit[] = {"Statistics", "Memory", "MemoryUsageCommitBytes"};
  uint64_t values[4] = {0, 0, 0, 0};
  if (read_u64(doc, total, COUNT(total), "Statistics.Processor.TotalRuntime100ns", &values[0],
               err) < 0 ||
      read_u64(doc, kernel, COUNT(kernel), "Statistics.Processor.RuntimeKernel100ns", &values[1],
               err) < 0 ||
      read_u64(doc, user, COUNT(user), "Statistics.Processor.RuntimeUser100ns", &values[2], err) <
          0 ||
      read_u64(doc, commit, COUNT(commit), "Statistics.Memory.MemoryUsageCommitBytes", &values[3],
               err) < 0) {
    return -1;
  }
  stats->total_runtime_100ns = values[0];
  stats->runtime_kernel_100ns = values[1];
  stats->runtime_user_100ns = values[2];
  stats->memory_commit_bytes = values[3];
  stats->has_statistics = true;
  return 0;
}

int cf_hcs_stats_parse(const char *doc, cf_hcs_stats *stats, cf_err **err)
{
  static const char *const statistics[] = {"Statistics"};
  static const char *const process_list[] = {"ProcessList"};
  if (cf_winjson_validate("compute system properties", doc, err) < 0) {
    return -1;
  }
  const char *value = cf_winjson_find(doc, statistics, 1);
  if (value != NULL && *value == '{' && read_statistics(doc, stats, err) < 0) {
    return -1;
  }
  value = cf_winjson_find(doc, process_list, 1);
  if (value != NULL && strncmp(value, "null", 4) != 0) {
    size_t count = 0;
    if (cf_winjson_array_length("ProcessList", value, &count, err) < 0) {
      return -1;
    }
    stats->process_count = count;
    stats->has_process_list = true;
  }
  return 0;
}

/* Multiplies a time in 100 ns units by 100. */
static int nanoseconds(const char *what, uint64_t units, uint64_t *out, cf_err **err)
{
  if (units > UINT64_MAX / 100) {
    return cf_err_set(err, CF_E_LIMIT, "%s of %llu (100 ns units) overflows 64-bit nanoseconds",
                      what, (unsigned long long)units);
  }
  *out = units * 100;
  return 0;
}

int cf_winrt_events_stats_json(const cf_hcs_stats *stats, char **out, cf_err **err)
{
  uint64_t total = 0;
  uint64_t kernel = 0;
  uint64_t user = 0;
  if (nanoseconds("TotalRuntime100ns", stats->total_runtime_100ns, &total, err) < 0 ||
      nanoseconds("RuntimeKernel100ns", stats->runtime_kernel_100ns, &kernel, err) < 0 ||
      nanoseconds("RuntimeUser100ns", stats->runtime_user_100ns, &user, err) < 0) {
    return -1;
  }
  cf_buf buf;
  cf_winjson_doc_init(&buf);
  cf_buf_printf(&buf, NULL,
                "{\n  \"data\": {\n    \"cpu\": {\n      \"usage\": {\n"
                "        \"total\": %llu,\n        \"kernel\": %llu,\n        \"user\": %llu\n"
                "      }\n    },\n    \"memory\": {\n      \"raw\": ",
                (unsigned long long)total, (unsigned long long)kernel, (unsigned long long)user);
  /* Go's encoder writes an empty struct as {} and leaves out zero
   * omitempty numbers. */
  if (stats->memory_commit_bytes != 0) {
    cf_buf_printf(&buf, NULL, "{\n        \"total_rss\": %llu\n      }",
                  (unsigned long long)stats->memory_commit_bytes);
  } else {
    cf_buf_append_str(&buf, "{}", NULL);
  }
  cf_buf_append_str(&buf, "\n    },\n    \"pids\": ", NULL);
  if (stats->process_count != 0) {
    cf_buf_printf(&buf, NULL, "{\n      \"current\": %llu\n    }",
                  (unsigned long long)stats->process_count);
  } else {
    cf_buf_append_str(&buf, "{}", NULL);
  }
  cf_buf_append_str(&buf, "\n  }\n}", NULL);
  *out = cf_buf_take(&buf);
  return 0;
}

int cf_hcs_process_status_parse(const char *doc, bool *exited, uint32_t *exit_code, cf_err **err)
{
  static const char *const exited_path[] = {"Exited"};
  static const char *const code_path[] = {"ExitCode"};
  if (cf_winjson_validate("process status", doc, err) < 0) {
    return -1;
  }
  const char *value = cf_winjson_find(doc, code_path, 1);
  if (value == NULL) {
    return cf_err_set(err, CF_E_INVALID, "process status has no ExitCode: %.200s", doc);
  }
  uint64_t code = 0;
  if (cf_winjson_u64("process status ExitCode", value, &code, err) < 0) {
    return -1;
  }
  if (code > UINT32_MAX) {
    return cf_err_set(err, CF_E_INVALID, "process status ExitCode %llu is larger than 2^32-1",
                      (unsigned long long)code);
  }
  bool done = false;
  value = cf_winjson_find(doc, exited_path, 1);
  if (value != NULL && cf_winjson_bool("process status Exited", value, &done, err) < 0) {
    return -1;
  }
  *exited = done;
  *exit_code = (uint32_t)code;
  return 0;
}

void cf_hcs_result_error_message(const char *doc, char **message)
{
  static const char *const path[] = {"ErrorMessage"};
  *message = NULL;
  if (doc == NULL || cf_winjson_validate("result document", doc, NULL) < 0) {
    return;
  }
  const char *value = cf_winjson_find(doc, path, 1);
  if (value != NULL) {
    cf_winjson_text("ErrorMessage", value, message, NULL);
  }
}

char *cf_winrt_state_json(const char *id, const char *status, uint32_t pid, const char *bundle)
{
  cf_buf buf;
  cf_winjson_doc_init(&buf);
  cf_buf_append_str(&buf, "{\n  \"ociVersion\": \"1.2.1\",\n  \"id\": ", NULL);
  cf_winjson_string(&buf, id);
  cf_buf_append_str(&buf, ",\n  \"status\": ", NULL);
  cf_winjson_string(&buf, status);
  if (pid != 0) {
    cf_buf_printf(&buf, NULL, ",\n  \"pid\": %u", (unsigned)pid);
  }
  cf_buf_append_str(&buf, ",\n  \"bundle\": ", NULL);
  cf_winjson_string(&buf, bundle);
  cf_buf_append_str(&buf, "\n}", NULL);
  return cf_buf_take(&buf);
}
