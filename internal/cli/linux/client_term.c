/* SPDX-License-Identifier: Apache-2.0 */
/* The terminal and signal functions of `cfwin client` on Linux. */
#include <pthread.h>
#include <stddef.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "cli/client_cli.h"

static struct termios saved_mode;
static bool raw_mode;

void cf_client_term_binary_stdio(void)
{
}

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

/* The signals the watcher takes: SIGWINCH, and the interrupt signals that
 * are not ignored. A program started with SIGINT ignored (a background job
 * of a shell script, nohup for SIGHUP) keeps ignoring it, as is the Unix
 * convention. */
static sigset_t watched;

static void choose_signals(void)
{
  static const int interrupts[] = {SIGINT, SIGTERM, SIGHUP};
  sigemptyset(&watched);
  sigaddset(&watched, SIGWINCH);
  for (size_t i = 0; i < sizeof(interrupts) / sizeof(interrupts[0]); i++) {
    struct sigaction action;
    if (sigaction(interrupts[i], NULL, &action) == 0 && action.sa_handler != SIG_IGN) {
      sigaddset(&watched, interrupts[i]);
    }
  }
}

static void *watch_signals(void *arg)
{
  const cf_client_term_events *events = arg;
  for (;;) {
    int sig = 0;
    if (sigwait(&watched, &sig) != 0) {
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
  choose_signals();
  if (pthread_sigmask(SIG_BLOCK, &watched, NULL) != 0) {
    return -1;
  }
  pthread_t thread;
  if (pthread_create(&thread, NULL, watch_signals, (void *)events) != 0) {
    return -1;
  }
  pthread_detach(thread);
  return 0;
}
