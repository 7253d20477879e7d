/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The program the Wine integration check runs as a container process
 * through the mock computecore.dll:
 *   mock_process sleep         waits until it is terminated
 *   mock_process exit N        exits with status N
 *   mock_process cat           copies stdin to stdout, then writes
 *                              "stderr-line" to stderr and exits 3
 *   mock_process env NAME      prints the value of NAME and the working
 *                              directory, one per line
 */
#include <windows.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
  if (argc >= 2 && strcmp(argv[1], "sleep") == 0) {
    Sleep(INFINITE);
    return 0;
  }
  if (argc >= 3 && strcmp(argv[1], "exit") == 0) {
    return atoi(argv[2]);
  }
  if (argc >= 2 && strcmp(argv[1], "cat") == 0) {
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof(buf), stdin)) > 0) {
      fwrite(buf, 1, n, stdout);
    }
    fflush(stdout);
    fputs("stderr-line\n", stderr);
    return 3;
  }
  if (argc >= 3 && strcmp(argv[1], "env") == 0) {
    const char *value = getenv(argv[2]);
    char cwd[MAX_PATH] = "";
    GetCurrentDirectoryA(sizeof(cwd), cwd);
    printf("%s\n%s\n", value != NULL ? value : "(unset)", cwd);
    return 0;
  }
  fprintf(stderr, "usage: mock_process sleep | exit N | cat | env NAME\n");
  return 2;
}
