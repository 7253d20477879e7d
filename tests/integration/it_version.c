/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `cfwin version` of the built binary: the commit is one git has in the
 * source tree, the static flag matches the ELF file (no program
 * interpreter means static), the sanitizer list matches the build, and bad
 * arguments exit 2. Runs without root.
 */
#include <elf.h>
#include <jansson.h>
#include <libgen.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#define IT_SKIP 77

static int failures;

#define CHECK(cond, ...)                                                                           \
  do {                                                                                             \
    if (!(cond)) {                                                                                 \
      fprintf(stderr, "it_version: " __VA_ARGS__);                                                 \
      fputc('\n', stderr);                                                                         \
      failures++;                                                                                  \
    }                                                                                              \
  } while (0)

/* Runs command through the shell; returns its output (caller frees) and
 * stores the exit status. */
static char *run(const char *command, int *status)
{
  FILE *pipe = popen(command, "r");
  if (pipe == NULL) {
    perror("popen");
    exit(1);
  }
  size_t len = 0;
  size_t cap = 4096;
  char *text = malloc(cap);
  size_t n;
  while ((n = fread(text + len, 1, cap - len - 1, pipe)) > 0) {
    len += n;
    if (cap - len < 2) {
      cap *= 2;
      text = realloc(text, cap);
    }
  }
  text[len] = '\0';
  int raw = pclose(pipe);
  *status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
  return text;
}

/* True when the ELF file has no PT_INTERP program header. */
static bool elf_is_static(const char *path)
{
  FILE *file = fopen(path, "rb");
  if (file == NULL) {
    perror(path);
    exit(1);
  }
  Elf64_Ehdr header;
  bool is_static = true;
  if (fread(&header, sizeof(header), 1, file) != 1 || memcmp(header.e_ident, ELFMAG, SELFMAG)) {
    fprintf(stderr, "it_version: %s is not an ELF file\n", path);
    exit(1);
  }
  for (int i = 0; i < header.e_phnum; i++) {
    Elf64_Phdr program;
    if (fseek(file, (long)(header.e_phoff + (Elf64_Off)i * header.e_phentsize), SEEK_SET) != 0 ||
        fread(&program, sizeof(program), 1, file) != 1) {
      fprintf(stderr, "it_version: %s: truncated program header table\n", path);
      exit(1);
    }
    if (program.p_type == PT_INTERP) {
      is_static = false;
    }
  }
  fclose(file);
  return is_static;
}

/* Runs git in the source tree; returns its exit status, or -1 when the
 * tree is not a git checkout (the check is then skipped). */
static int git_in_source(const char *arguments)
{
  char source[] = __FILE__;
  char command[8192];
  snprintf(command, sizeof(command), "git -C '%s/../..' %s >/dev/null 2>&1", dirname(source),
           arguments);
  int status;
  free(run(command, &status));
  return status;
}

/* The commit must be HEAD or one of its ancestors: other commits may land
 * between configuring the build and running this test. */
static void check_commit(const char *commit)
{
  if (git_in_source("rev-parse HEAD") != 0) {
    printf("it_version: no git checkout, commit not checked\n");
    return;
  }
  char hash[64];
  snprintf(hash, sizeof(hash), "%.*s", (int)strcspn(commit, "-"), commit);
  CHECK(strlen(hash) == 12, "commit %s is not a 12-digit hash", commit);
  const char *suffix = commit + strlen(hash);
  CHECK(suffix[0] == '\0' || strcmp(suffix, "-dirty") == 0, "commit %s has an unknown suffix",
        commit);
  char arguments[256];
  snprintf(arguments, sizeof(arguments), "merge-base --is-ancestor '%s' HEAD", hash);
  CHECK(git_in_source(arguments) == 0, "commit %s is not HEAD or an ancestor of it", commit);
}

static void check_json(const char *binary)
{
  char command[4096];
  snprintf(command, sizeof(command), "'%s' version --json", binary);
  int status;
  char *output = run(command, &status);
  CHECK(status == 0, "version --json exited %d", status);
  json_error_t error;
  json_t *doc = json_loads(output, 0, &error);
  CHECK(doc != NULL, "version --json printed invalid JSON (%s): %s", error.text, output);
  free(output);
  if (doc == NULL) {
    return;
  }
  const char *version = json_string_value(json_object_get(doc, "version"));
  CHECK(version != NULL && strcmp(version, CFWIN_VERSION) == 0, "version is %s, expected %s",
        version ? version : "(missing)", CFWIN_VERSION);

  const char *commit = json_string_value(json_object_get(doc, "commit"));
  CHECK(commit != NULL, "commit is missing");
  if (commit != NULL) {
    check_commit(commit);
  }

  json_t *is_static = json_object_get(doc, "static");
  CHECK(json_is_boolean(is_static), "static is not a boolean");
  CHECK(json_is_true(is_static) == elf_is_static(binary), "static is %s but the ELF file is %s",
        json_is_true(is_static) ? "true" : "false", elf_is_static(binary) ? "static" : "dynamic");

  json_t *sanitizers = json_object_get(doc, "sanitizers");
  const char *sanitized = getenv("CFWIN_SANITIZED");
  bool expect_sanitizers = sanitized != NULL && strcmp(sanitized, "1") == 0;
  CHECK(json_is_array(sanitizers), "sanitizers is not an array");
  CHECK((json_array_size(sanitizers) > 0) == expect_sanitizers,
        "sanitizers has %zu entries in a build with CFWIN_SANITIZED=%s",
        json_array_size(sanitizers), sanitized ? sanitized : "(unset)");

  const char *target = json_string_value(json_object_get(doc, "target"));
  CHECK(target != NULL && strcmp(target, "x86_64-linux") == 0,
        "target is %s, expected x86_64-linux", target ? target : "(missing)");
  json_decref(doc);
}

static void check_text_and_errors(const char *binary)
{
  char command[4096];
  int status;
  snprintf(command, sizeof(command), "'%s' version", binary);
  char *output = run(command, &status);
  char expected[64];
  snprintf(expected, sizeof(expected), "cfwin %s\n", CFWIN_VERSION);
  CHECK(status == 0, "version exited %d", status);
  CHECK(strncmp(output, expected, strlen(expected)) == 0, "version printed: %s", output);
  CHECK(strstr(output, "\ncommit: ") != NULL, "version printed no commit line: %s", output);
  free(output);

  snprintf(command, sizeof(command), "'%s' version --yaml 2>/dev/null", binary);
  free(run(command, &status));
  CHECK(status == 2, "version --yaml exited %d, expected 2", status);
}

int main(void)
{
  const char *binary = getenv("CFWIN_BINARY");
  if (binary == NULL) {
    fprintf(stderr, "it_version: CFWIN_BINARY is not set; run through ctest\n");
    return IT_SKIP;
  }
  check_json(binary);
  check_text_and_errors(binary);
  if (failures > 0) {
    fprintf(stderr, "it_version: %d check(s) failed\n", failures);
    return 1;
  }
  printf("it_version: passed\n");
  return 0;
}
