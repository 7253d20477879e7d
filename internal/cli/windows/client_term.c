/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The client's terminal and interrupts on the Windows console. Windows has
 * no SIGWINCH, so a thread polls the console's window size; Ctrl+C,
 * Ctrl+Break and closing the console arrive through a console control
 * handler.
 */
#include <fcntl.h>
#include <io.h>
#include <stdbool.h>
#include <stdio.h>
#include <windows.h>

#include "cli/client_cli.h"

/* How often the watcher thread compares the console's window size. */
#define RESIZE_POLL_MS 250

static DWORD saved_mode;
static bool raw_mode;
static const cf_client_term_events *watched;

void cf_client_term_binary_stdio(void)
{
  fflush(stdout);
  fflush(stderr);
  _setmode(_fileno(stdin), _O_BINARY);
  _setmode(_fileno(stdout), _O_BINARY);
  _setmode(_fileno(stderr), _O_BINARY);
}

bool cf_client_term_stdin_is_tty(void)
{
  DWORD mode;
  return GetConsoleMode(GetStdHandle(STD_INPUT_HANDLE), &mode) != 0;
}

bool cf_client_term_size(unsigned *columns, unsigned *rows)
{
  CONSOLE_SCREEN_BUFFER_INFO info;
  if (!GetConsoleScreenBufferInfo(GetStdHandle(STD_OUTPUT_HANDLE), &info) &&
      !GetConsoleScreenBufferInfo(GetStdHandle(STD_ERROR_HANDLE), &info)) {
    return false;
  }
  *columns = (unsigned)(info.srWindow.Right - info.srWindow.Left + 1);
  *rows = (unsigned)(info.srWindow.Bottom - info.srWindow.Top + 1);
  return *columns > 0 && *rows > 0;
}

void cf_client_term_enter_raw(void)
{
  HANDLE input = GetStdHandle(STD_INPUT_HANDLE);
  if (raw_mode || !GetConsoleMode(input, &saved_mode)) {
    return;
  }
  /* Keys go to the remote terminal as VT sequences, without local echo,
   * line editing or Ctrl+C processing. */
  DWORD mode =
      saved_mode & ~(DWORD)(ENABLE_ECHO_INPUT | ENABLE_LINE_INPUT | ENABLE_PROCESSED_INPUT);
  if (SetConsoleMode(input, mode | ENABLE_VIRTUAL_TERMINAL_INPUT)) {
    raw_mode = true;
  }
}

void cf_client_term_leave_raw(void)
{
  if (raw_mode) {
    SetConsoleMode(GetStdHandle(STD_INPUT_HANDLE), saved_mode);
    raw_mode = false;
  }
}

/* Windows calls this on a thread of its own for each console event. */
static BOOL WINAPI on_console_control(DWORD type)
{
  if (type != CTRL_C_EVENT && type != CTRL_BREAK_EVENT && type != CTRL_CLOSE_EVENT) {
    return FALSE;
  }
  if (watched->interrupted != NULL) {
    watched->interrupted(watched->ctx);
  }
  return TRUE;
}

static DWORD WINAPI watch_size(LPVOID arg)
{
  unsigned columns = 0;
  unsigned rows = 0;
  cf_client_term_size(&columns, &rows);
  for (;;) {
    Sleep(RESIZE_POLL_MS);
    unsigned now_columns = 0;
    unsigned now_rows = 0;
    if (!cf_client_term_size(&now_columns, &now_rows)) {
      continue;
    }
    if (now_columns != columns || now_rows != rows) {
      columns = now_columns;
      rows = now_rows;
      if (watched->resized != NULL) {
        watched->resized(watched->ctx);
      }
    }
  }
  return 0;
}

/* NOTE: interrupted runs on the console handler's thread and resized on
 * the polling thread, two threads where the Linux file uses one. */
int cf_client_term_watch(const cf_client_term_events *events)
{
  watched = events;
  if (!SetConsoleCtrlHandler(on_console_control, TRUE)) {
    return -1;
  }
  HANDLE thread = CreateThread(NULL, 0, watch_size, NULL, 0, NULL);
  if (thread == NULL) {
    return -1;
  }
  CloseHandle(thread);
  return 0;
}
