/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cfwin-hcscheck.exe: reports which computecore.dll calls of the Windows
 * runtime backend this host provides and whether the backend loads. With
 * `list` it also prints HcsEnumerateComputeSystems' result; with
 * `stats <id>` the `events --stats` output of a running compute system.
 * Exits 0 when everything worked, 1 otherwise. Built only by the mingw-w64
 * cross build. Usage: cfwin-hcscheck [list | stats ID]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/windows/hcs.h"

static void print_entry(const char *symbol, bool found, bool optional, void *context)
{
  (void)context;
  if (symbol == NULL) {
    printf("computecore.dll %s\n", found ? "loaded" : "not found");
  } else {
    printf("  %-42s %s%s\n", symbol, found ? "found" : "missing", optional ? " (optional)" : "");
  }
}

static int fail(cf_err *err)
{
  printf("error: %s\n", err->message);
  cf_err_free(err);
  return 1;
}

static int list_systems(const cf_hcs_api *api)
{
  char *doc = NULL;
  cf_err *err = NULL;
  if (cf_hcs_enumerate(api, "{}", &doc, &err) < 0) {
    return fail(err);
  }
  printf("%s\n", doc);
  free(doc);
  return 0;
}

static int print_stats(const cf_hcs_api *api, const char *id)
{
  cf_hcs_system *system = NULL;
  cf_hcs_stats stats;
  char *json = NULL;
  cf_err *err = NULL;
  if (cf_hcs_system_open(api, id, &system, &err) < 0) {
    return fail(err);
  }
  int rc = cf_hcs_system_stats(system, &stats, &err) < 0 ||
                   cf_winrt_events_stats_json(&stats, &json, &err) < 0
               ? fail(err)
               : 0;
  if (rc == 0) {
    printf("%s\n", json);
  }
  free(json);
  cf_hcs_system_close(system);
  return rc;
}

int main(int argc, char **argv)
{
  int missing = cf_hcs_api_probe(print_entry, NULL);
  cf_hcs_api api;
  cf_err *err = NULL;
  if (cf_hcs_api_load(&api, &err) < 0) {
    printf("runtime backend: unavailable: %s\n", err->message);
    cf_err_free(err);
    return 1;
  }
  printf("runtime backend: available\n");
  int rc = missing == 0 ? 0 : 1;
  if (argc > 1 && strcmp(argv[1], "list") == 0) {
    rc |= list_systems(&api);
  } else if (argc > 2 && strcmp(argv[1], "stats") == 0) {
    rc |= print_stats(&api, argv[2]);
  } else if (argc > 1) {
    printf("usage: cfwin-hcscheck [list | stats ID]\n");
    rc = 1;
  }
  cf_hcs_api_unload(&api);
  return rc;
}
