/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Starts a program the way Guardian starts winc for a process: with the
 * write end of an inheritable pipe whose HANDLE value replaces each
 * "{handle}" argument, and copies what arrives on the pipe to a file.
 *   log_handle_parent LOGFILE PROGRAM [ARGS...]
 * The program inherits stdin, stdout and stderr. The exit status is the
 * program's, or 125 when it could not be started.
 */
#include <windows.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Appends arg to line with the quoting CommandLineToArgvW undoes. */
static void append_arg(char *line, size_t size, const char *arg)
{
  size_t len = strlen(line);
  if (len > 0 && len + 1 < size) {
    line[len++] = ' ';
  }
  bool quote = arg[0] == '\0' || strpbrk(arg, " \t\"") != NULL;
  if (quote && len + 1 < size) {
    line[len++] = '"';
  }
  size_t backslashes = 0;
  for (const char *p = arg; *p != '\0' && len + 4 < size; p++) {
    if (*p == '\\') {
      backslashes++;
    } else if (*p == '"') {
      for (size_t i = 0; i <= backslashes && len + 4 < size; i++) {
        line[len++] = '\\';
      }
      backslashes = 0;
    } else {
      backslashes = 0;
    }
    line[len++] = *p;
  }
  if (quote) {
    for (size_t i = 0; i < backslashes && len + 2 < size; i++) {
      line[len++] = '\\';
    }
    line[len++] = '"';
  }
  line[len] = '\0';
}

int main(int argc, char **argv)
{
  if (argc < 3) {
    fprintf(stderr, "usage: log_handle_parent LOGFILE PROGRAM [ARGS...]\n");
    return 125;
  }
  SECURITY_ATTRIBUTES inherit = {sizeof(inherit), NULL, TRUE};
  HANDLE read_end, write_end;
  if (!CreatePipe(&read_end, &write_end, &inherit, 0)) {
    fprintf(stderr, "CreatePipe failed: %lu\n", GetLastError());
    return 125;
  }
  SetHandleInformation(read_end, HANDLE_FLAG_INHERIT, 0);
  char handle_text[32];
  snprintf(handle_text, sizeof(handle_text), "%llu", (unsigned long long)(uintptr_t)write_end);
  static char line[32768];
  for (int i = 2; i < argc; i++) {
    append_arg(line, sizeof(line), strcmp(argv[i], "{handle}") == 0 ? handle_text : argv[i]);
  }
  STARTUPINFOA startup = {.cb = sizeof(startup)};
  PROCESS_INFORMATION process;
  if (!CreateProcessA(NULL, line, NULL, NULL, TRUE, 0, NULL, NULL, &startup, &process)) {
    fprintf(stderr, "CreateProcess %s failed: %lu\n", argv[2], GetLastError());
    return 125;
  }
  // Only the child has the write end open now, so the copy ends when the
  // child and anything it passed the handle on to have exited.
  CloseHandle(write_end);
  FILE *log = fopen(argv[1], "wb");
  char buf[4096];
  DWORD n = 0;
  while (ReadFile(read_end, buf, sizeof(buf), &n, NULL) && n > 0) {
    if (log != NULL) {
      fwrite(buf, 1, n, log);
    }
  }
  if (log != NULL) {
    fclose(log);
  }
  WaitForSingleObject(process.hProcess, INFINITE);
  DWORD code = 125;
  GetExitCodeProcess(process.hProcess, &code);
  return (int)code;
}
