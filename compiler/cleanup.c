/* The cleanup table of cleanup.h. The signal handler reads it, so it
 * changes only while the stop signals are blocked; the handler uses only
 * async-signal-safe calls (kill, waitpid, unlink, rmdir, sigaction, raise). */
#include "cleanup.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* octoc writes a few files at a time; a compile folder holds four. */
enum { MAX_PENDING = 16 };
static const char *pending[MAX_PENDING];
static const char *folder;
static pid_t child;
static bool child_group;
static const int stop_signals[] = {SIGINT, SIGTERM, SIGHUP};
enum { NSTOP = sizeof stop_signals / sizeof stop_signals[0] };
static struct sigaction previous[NSTOP];

/* The child first: it may still be writing into the folder. At exit there
 * is no child (cmd_run waits for it), so sig is only used from a handler. */
static void undo(int sig) {
  if (child > 0) {
    kill(child_group ? -child : child, sig);
    while (waitpid(child, NULL, 0) < 0 && errno == EINTR) {
    }
    child = 0;
  }
  for (int i = 0; i < MAX_PENDING; i++)
    if (pending[i]) unlink(pending[i]);
  if (folder) rmdir(folder);
}

static void undo_at_exit(void) { undo(SIGTERM); }

/* Then the signal again with the action it had before (by default, ending
 * the process with it, so the exit status says which signal stopped octoc). */
static void undo_and_reraise(int sig) {
  undo(sig);
  for (int i = 0; i < NSTOP; i++)
    if (stop_signals[i] == sig) sigaction(sig, &previous[i], NULL);
  raise(sig);
}

void cleanup_hold(sigset_t *old) {
  static bool installed;
  if (!installed) {
    /* A signal that was ignored when octoc started (nohup, a background
     * job) stays ignored. */
    installed = true;
    atexit(undo_at_exit);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = undo_and_reraise;
    sigemptyset(&sa.sa_mask);
    for (int i = 0; i < NSTOP; i++) sigaddset(&sa.sa_mask, stop_signals[i]);
    for (int i = 0; i < NSTOP; i++)
      if (sigaction(stop_signals[i], NULL, &previous[i]) == 0 &&
          previous[i].sa_handler != SIG_IGN)
        sigaction(stop_signals[i], &sa, NULL);
  }
  sigset_t block;
  sigemptyset(&block);
  for (int i = 0; i < NSTOP; i++) sigaddset(&block, stop_signals[i]);
  sigprocmask(SIG_BLOCK, &block, old);
}

void cleanup_release(const sigset_t *old) { sigprocmask(SIG_SETMASK, old, NULL); }

bool cleanup_add_file(const char *path) {
  sigset_t old;
  cleanup_hold(&old);
  int i = 0;
  while (i < MAX_PENDING && pending[i]) i++;
  if (i < MAX_PENDING) pending[i] = path;
  cleanup_release(&old);
  return i < MAX_PENDING;
}

void cleanup_drop_file(const char *path) {
  sigset_t old;
  cleanup_hold(&old);
  for (int i = 0; i < MAX_PENDING; i++)
    if (pending[i] == path) {
      pending[i] = NULL;
      break;
    }
  cleanup_release(&old);
}

void cleanup_set_folder(const char *dir) {
  sigset_t old;
  cleanup_hold(&old);
  folder = dir;
  cleanup_release(&old);
}

void cleanup_set_child(pid_t pid, bool own_group) {
  sigset_t old;
  cleanup_hold(&old);
  child = pid;
  child_group = own_group;
  cleanup_release(&old);
}
