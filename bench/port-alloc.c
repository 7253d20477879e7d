/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Benchmark: host-port allocation of the network role. Takes 4000 ports
 * from the default pool (40000-44999) one at a time, as 4000 net-in calls
 * would, each in its own write transaction on a store file under $TMPDIR.
 * Prints the mean, median, 99th percentile and maximum time per
 * allocation. winc-network's allocator test asks for a mean under 1.5 ms.
 * Built and run by bench/port-alloc.sh.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "base/fs.h"
#include "base/mem.h"
#include "store/store.h"

#define ALLOCATIONS 4000
#define TARGET_MEAN_MS 1.5

static double now_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int compare_double(const void *a, const void *b)
{
  double x = *(const double *)a;
  double y = *(const double *)b;
  return x < y ? -1 : x > y;
}

int main(void)
{
  const char *tmp = getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp";
  char *dir = cf_xasprintf("%s/cfwin-bench-ports-XXXXXX", tmp);
  if (mkdtemp(dir) == NULL) {
    perror("mkdtemp");
    return 1;
  }
  cf_err *err = NULL;
  cf_store *store = NULL;
  cf_net_pool pool = {.first_address = 0xac1e0001u, /* 172.30.0.0/22 */
                      .last_address = 0xac1e03feu,
                      .gateway = 0xac1e0001u,
                      .port_start = 40000,
                      .port_end = 44999};
  uint32_t address = 0;
  if (cf_store_open(dir, &store, &err) < 0 ||
      cf_store_net_endpoint_add(store, "bench", 1, &pool, NULL, 0, NULL, 0, &address, &err) < 0) {
    fprintf(stderr, "setup: %s\n", err->message);
    return 1;
  }
  static double times[ALLOCATIONS];
  double total = 0;
  for (int i = 0; i < ALLOCATIONS; i++) {
    cf_net_port_mapping mapping = {0, 8080};
    double start = now_ms();
    if (cf_store_net_mappings_add(store, "bench", &pool, &mapping, 1, &err) < 0) {
      fprintf(stderr, "allocation %d: %s\n", i, err->message);
      return 1;
    }
    times[i] = now_ms() - start;
    total += times[i];
  }
  qsort(times, ALLOCATIONS, sizeof(double), compare_double);
  double mean = total / ALLOCATIONS;
  printf("host-port allocation, %d allocations from one store:\n", ALLOCATIONS);
  printf("  mean %.3f ms, median %.3f ms, p99 %.3f ms, max %.3f ms\n", mean, times[ALLOCATIONS / 2],
         times[ALLOCATIONS * 99 / 100], times[ALLOCATIONS - 1]);
  printf("  target: mean under %.1f ms: %s\n", TARGET_MEAN_MS,
         mean < TARGET_MEAN_MS ? "met" : "missed");
  cf_store_close(store);
  cf_rm_rf(dir, NULL);
  free(dir);
  return 0;
}
