/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Role dispatch: the executable's base name (without .exe, any case) picks
 * a role first, as Guardian calls its plugins by file name; otherwise the
 * first argument does.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/mem.h"
#include "cli/cli.h"
#include "cli/cli_internal.h"
#include "keeper/keeper.h"
#include "cli/client_cli.h"

enum role {
  ROLE_NONE,
  ROLE_SERVE,
  ROLE_GDN,
  ROLE_RUNTIME,
  ROLE_NETWORK,
  ROLE_IMAGE,
  ROLE_CLIENT,
  ROLE_VERSION,
  ROLE_HELP,
  ROLE_KEEPER, /* internal: started by the server for each process, not listed in help */
};

struct role_name {
  const char *name;
  enum role role;
  bool by_program_name; /* also chosen by argv[0] */
};

static const struct role_name role_names[] = {
    {"serve", ROLE_SERVE, false},       {"gdn", ROLE_GDN, true},
    {"runtime", ROLE_RUNTIME, false},   {"winc", ROLE_RUNTIME, true},
    {"network", ROLE_NETWORK, false},   {"winc-network", ROLE_NETWORK, true},
    {"image", ROLE_IMAGE, false},       {"groot", ROLE_IMAGE, true},
    {"client", ROLE_CLIENT, false},     {"version", ROLE_VERSION, false},
    {"--version", ROLE_VERSION, false}, {"help", ROLE_HELP, false},
    {"--help", ROLE_HELP, false},       {"-h", ROLE_HELP, false},
    {"keeper", ROLE_KEEPER, false},
};

static enum role find_role(const char *name, size_t len, bool program_name)
{
  for (size_t i = 0; i < sizeof(role_names) / sizeof(role_names[0]); i++) {
    if (program_name && !role_names[i].by_program_name) {
      continue;
    }
    if (strlen(role_names[i].name) == len && strncasecmp(role_names[i].name, name, len) == 0) {
      return role_names[i].role;
    }
  }
  return ROLE_NONE;
}

/* The role of the program name: base name, case-insensitive, ".exe" removed. */
static const char *program_name(const char *argv0);

static enum role role_of_program(const char *argv0)
{
  const char *base = program_name(argv0);
  size_t len = strlen(base);
  if (len > 4 && strcasecmp(base + len - 4, ".exe") == 0) {
    len -= 4;
  }
  return find_role(base, len, true);
}

static void print_help(FILE *out)
{
  fprintf(out, "usage: cfwin COMMAND [options]\n"
               "\n"
               "cfwin is a Garden server with its runtime, network and image roles in one\n"
               "executable. Named gdn, winc, winc-network or groot, it acts as that program.\n"
               "\n"
               "Commands:\n"
               "  serve      serve the Garden API (as gdn: gdn server)\n"
               "  runtime    OCI runtime, winc-compatible (also: winc)\n"
               "  network    network plugin, winc-network-compatible (also: winc-network)\n"
               "  image      image plugin, groot-compatible (also: groot)\n"
               "  client     Garden command-line client (`cfwin client help`)\n"
               "  version    print the version, commit and build flags (--json)\n"
               "  help       print this help\n"
               "\n");
  cf_cli_serve_help();
}

/* The program name for messages: the base name argv[0] was called by. */
static const char *program_name(const char *argv0)
{
  const char *base = argv0;
  for (const char *p = argv0; *p != '\0'; p++) {
    if (*p == '/' || *p == '\\') {
      base = p + 1;
    }
  }
  return base;
}

/* `gdn [--config FILE] [-v] server|setup|cleanup [options]` */
static int run_gdn(int argc, char **argv, int start)
{
  cf_serve_mode mode = {.as_gdn = true};
  int i = start;
  while (i < argc && argv[i][0] == '-') {
    if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
      mode.config_path = argv[i + 1];
      i += 2;
    } else if (strncmp(argv[i], "--config=", 9) == 0) {
      mode.config_path = argv[i] + 9;
      i++;
    } else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
      cf_cli_serve_help();
      return 0;
    } else if (strcmp(argv[i], "-v") == 0 || strcmp(argv[i], "--version") == 0) {
      printf("cfwin %s\n", CFWIN_VERSION);
      return 0;
    } else {
      fprintf(stderr, "gdn: unknown global option %s; use --config FILE\n", argv[i]);
      return 2;
    }
  }
  if (i >= argc) {
    fprintf(stderr, "gdn: a command is missing: use server, setup or cleanup\n");
    return 2;
  }
  const char *command = argv[i];
  if (strcmp(command, "server") == 0) {
    mode.command = CF_SERVE_SERVER;
  } else if (strcmp(command, "setup") == 0) {
    mode.command = CF_SERVE_SETUP;
  } else if (strcmp(command, "cleanup") == 0) {
    mode.command = CF_SERVE_CLEANUP;
  } else {
    fprintf(stderr, "gdn: unknown command \"%s\": use server, setup or cleanup\n", command);
    return 2;
  }
  return cf_cli_serve(argc, argv, i + 1, mode);
}

static int run_role(enum role role, int argc, char **argv, int start)
{
  switch (role) {
  case ROLE_SERVE:
    return cf_cli_serve(argc, argv, start, (cf_serve_mode){.command = CF_SERVE_SERVER});
  case ROLE_GDN:
    return run_gdn(argc, argv, start);
  case ROLE_RUNTIME:
    return cf_cli_runtime(argc, argv, start);
  case ROLE_NETWORK:
    return cf_cli_network(argc, argv, start);
  case ROLE_IMAGE:
    return cf_cli_image(argc, argv, start);
  case ROLE_CLIENT:
    return cf_cli_client(argc, argv, start);
  case ROLE_VERSION:
    return cf_cli_version(argc, argv, start);
  case ROLE_HELP:
    print_help(stdout);
    return 0;
  case ROLE_KEEPER:
    return cf_keeper_main(argc - start, argv + start);
  case ROLE_NONE:
    break;
  }
  return 2;
}

int cf_cli_main(int argc, char **argv)
{
  enum role role = argc > 0 ? role_of_program(argv[0]) : ROLE_NONE;
  if (role != ROLE_NONE) {
    return run_role(role, argc, argv, 1);
  }
  if (argc < 2) {
    fprintf(stderr, "cfwin: a command is missing; run `cfwin help` for the list\n");
    return 2;
  }
  role = find_role(argv[1], strlen(argv[1]), false);
  if (role == ROLE_NONE) {
    fprintf(stderr, "cfwin: unknown command \"%s\"; run `cfwin help` for the list\n", argv[1]);
    return 2;
  }
  return run_role(role, argc, argv, 2);
}
