/* SPDX-License-Identifier: Apache-2.0 */
/* The terminal and signal functions of `cfwin client` on Linux. */
#include <pthread.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "cli/client_cli.h"

static struct termios saved_mode;
static bool raw_mode;

bool cf_client_term_stdin_is_tty(void)
{
  return isatty(0) == 1;
}

bool cf_client_term_size(unsigned *columns, unsigned *rows)
{
  struct winsize size = {0};
  if (ioctl(0, TIOCGWINSZ, &size) < 0 && ioctl(1, TIOCGWINSZ, &size) < 0) {
    return false;
  }
  if (size.ws_col == 0 || size.ws_row == 0) {
    return false;
  }
  *columns = size.ws_col;
  *rows = size.ws_row;
  return true;
}

void cf_client_term_enter_raw(void)
{
  if (raw_mode || !isatty(0) || tcgetattr(0, &saved_mode) < 0) {
    return;
  }
  struct termios raw = saved_mode;
  cfmakeraw(&raw);
  raw_mode = tcsetattr(0, TCSANOW, &raw) == 0;
}

void cf_client_term_leave_raw(void)
{
  if (raw_mode) {
    tcsetattr(0, TCSANOW, &saved_mode);
    raw_mode = false;
  }
}

static void watched_signals(sigset_t *set)
{
  sigemptyset(set);
  sigaddset(set, SIGWINCH);
  sigaddset(set, SIGINT);
  sigaddset(set, SIGTERM);
  sigaddset(set, SIGHUP);
}

static void *watch_signals(void *arg)
{
  const cf_client_term_events *events = arg;
  sigset_t set;
  watched_signals(&set);
  for (;;) {
    int sig = 0;
    if (sigwait(&set, &sig) != 0) {
      continue;
    }
    if (sig == SIGWINCH && events->resized != NULL) {
      events->resized(events->ctx);
    } else if (sig != SIGWINCH && events->interrupted != NULL) {
      events->interrupted(events->ctx);
    }
  }
  return NULL;
}

int cf_client_term_watch(const cf_client_term_events *events)
{
  sigset_t set;
  watched_signals(&set);
  if (pthread_sigmask(SIG_BLOCK, &set, NULL) != 0) {
    return -1;
  }
  pthread_t thread;
  if (pthread_create(&thread, NULL, watch_signals, (void *)events) != 0) {
    return -1;
  }
  pthread_detach(thread);
  return 0;
}
