/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `cfwin version [--json]`: the version, the git commit the build was
 * configured from ("unknown" without git, "-dirty" with uncommitted
 * changes) and the build flags. CMake passes the facts as CFWIN_COMMIT and
 * CFWIN_BUILD_* definitions (cmake/version.cmake).
 */
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "base/mem.h"
#include "cli/cli_internal.h"

#ifndef CFWIN_COMMIT
#define CFWIN_COMMIT "unknown"
#endif
#ifndef CFWIN_BUILD_TARGET
#define CFWIN_BUILD_TARGET "unknown"
#endif
#ifndef CFWIN_BUILD_STATIC
#define CFWIN_BUILD_STATIC 0
#endif
#ifndef CFWIN_BUILD_SANITIZERS
#define CFWIN_BUILD_SANITIZERS ""
#endif
#ifndef CFWIN_BUILD_TYPE
#define CFWIN_BUILD_TYPE "unknown"
#endif
#ifndef CFWIN_BUILD_COMPILER
#define CFWIN_BUILD_COMPILER "unknown"
#endif

/* The sanitizers as a JSON array of names ("address", "undefined"). */
static json_t *sanitizer_list(void)
{
  json_t *list = json_array();
  const char *rest = CFWIN_BUILD_SANITIZERS;
  while (*rest != '\0') {
    size_t len = strcspn(rest, ",");
    json_array_append_new(list, json_stringn(rest, len));
    rest += len;
    if (*rest == ',') {
      rest++;
    }
  }
  return list;
}

static int print_json(void)
{
  json_t *doc = json_pack("{s:s, s:s, s:s, s:b, s:o, s:s, s:s}", "version", CFWIN_VERSION, "commit",
                          CFWIN_COMMIT, "target", CFWIN_BUILD_TARGET, "static", CFWIN_BUILD_STATIC,
                          "sanitizers", sanitizer_list(), "build_type", CFWIN_BUILD_TYPE,
                          "compiler", CFWIN_BUILD_COMPILER);
  cf_autofree char *text = doc != NULL ? json_dumps(doc, JSON_INDENT(2)) : NULL;
  json_decref(doc);
  if (text == NULL) {
    fprintf(stderr, "cfwin version: failed to encode the JSON output\n");
    return 1;
  }
  printf("%s\n", text);
  return 0;
}

static void print_text(void)
{
  const char *sanitizers = CFWIN_BUILD_SANITIZERS;
  printf("cfwin %s\n", CFWIN_VERSION);
  printf("commit:     %s\n", CFWIN_COMMIT);
  printf("target:     %s\n", CFWIN_BUILD_TARGET);
  printf("static:     %s\n", CFWIN_BUILD_STATIC ? "yes" : "no");
  printf("sanitizers: %s\n", sanitizers[0] != '\0' ? sanitizers : "none");
  printf("build type: %s\n", CFWIN_BUILD_TYPE);
  printf("compiler:   %s\n", CFWIN_BUILD_COMPILER);
}

int cf_cli_version(int argc, char **argv, int start)
{
  bool json = false;
  for (int i = start; i < argc; i++) {
    if (strcmp(argv[i], "--json") == 0) {
      json = true;
    } else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
      printf("usage: cfwin version [--json]\n\n"
             "Prints the version, the git commit of the build and its build flags;\n"
             "--json prints them as one JSON object.\n");
      return 0;
    } else {
      fprintf(stderr, "cfwin version: unknown argument \"%s\"; the only option is --json\n",
              argv[i]);
      return 2;
    }
  }
  if (json) {
    return print_json();
  }
  print_text();
  return 0;
}
