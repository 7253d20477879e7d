/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One Garden round trip for bench/garden-roundtrip.sh: create a container
 * with the server's default image, run `true` in it through the Run
 * protocol (control, stdout and stderr connections), destroy it. Prints the
 * wall time of the whole round trip and of its three steps, in nanoseconds,
 * on one line: total, create, run, destroy.
 *
 * Usage: garden-roundtrip ADDRESS HANDLE
 * ADDRESS is a unix socket path or HOST:PORT, as `cfwin client -t` takes it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "garden/client.h"

static long long now_ns(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Wall time of each step, in nanoseconds. */
typedef struct step_times {
  long long create;
  long long run;
  long long destroy;
} step_times;

static int round_trip(const cf_garden_client *client, const char *handle, step_times *times,
                      cf_err **err)
{
  long long start = now_ns();
  json_t *spec = json_pack("{s:s, s:{}, s:{s:{}, s:{}, s:{}, s:{}, s:{}}}", "handle", handle,
                           "image", "limits", "bandwidth_limits", "cpu_limits", "disk_limits",
                           "memory_limits", "pid_limits");
  char *created = NULL;
  int rc = cf_garden_client_create(client, spec, &created, err);
  json_decref(spec);
  free(created);
  if (rc < 0) {
    return -1;
  }
  times->create = now_ns() - start;
  start = now_ns();
  json_t *process = json_pack("{s:s, s:[], s:s, s:{}, s:{}}", "path", "true", "args", "user",
                              "root", "rlimits", "image");
  cf_garden_process_result result;
  cf_garden_process_result_init(&result);
  rc = cf_garden_client_run(client, handle, process, NULL, 0, &result, err);
  json_decref(process);
  if (rc == 0 && result.exit_status != 0) {
    rc = cf_err_set(err, CF_E_SYSTEM, "true exited with status %d", result.exit_status);
  }
  cf_garden_process_result_clear(&result);
  times->run = now_ns() - start;
  start = now_ns();
  cf_err *destroy_err = NULL;
  if (cf_garden_client_destroy(client, handle, &destroy_err) < 0) {
    if (rc == 0) {
      *err = destroy_err;
      return -1;
    }
    cf_err_free(destroy_err);
  }
  times->destroy = now_ns() - start;
  return rc;
}

int main(int argc, char **argv)
{
  if (argc != 3) {
    fprintf(stderr, "usage: %s ADDRESS HANDLE\n", argv[0]);
    return 2;
  }
  cf_garden_client client;
  cf_err *err = NULL;
  if (cf_garden_client_init(&client, argv[1], &err) < 0) {
    fprintf(stderr, "invalid address %s: %s\n", argv[1], err->message);
    return 2;
  }
  step_times times = {0};
  long long start = now_ns();
  int rc = round_trip(&client, argv[2], &times, &err);
  long long elapsed = now_ns() - start;
  cf_garden_client_clear(&client);
  if (rc < 0) {
    fprintf(stderr, "round trip of %s failed: %s\n", argv[2], err->message);
    cf_err_free(err);
    return 1;
  }
  printf("%lld %lld %lld %lld\n", elapsed, times.create, times.run, times.destroy);
  return 0;
}
