/* What octoc undoes if it stops early: the temporary files it is writing,
 * the private folder it compiles in, and the C compiler it is waiting for.
 * At exit (a fatal error exits from deep inside a pass) and on SIGINT,
 * SIGTERM and SIGHUP, the child is stopped and reaped, the files removed,
 * then the folder; a stopped compilation leaves nothing behind. */
#ifndef OCTO_COMPILER_CLEANUP_H
#define OCTO_COMPILER_CLEANUP_H

#include <signal.h>
#include <stdbool.h>
#include <sys/types.h>

/* path must stay valid until cleanup_drop_file(path). A name that does not
 * exist (yet, or any more) is harmless. False when too many are pending. */
bool cleanup_add_file(const char *path);
void cleanup_drop_file(const char *path);
/* One folder at a time, removed after the files (rmdir: only when empty). */
void cleanup_set_folder(const char *dir);
/* The child being waited for, or 0 when there is none; own_group: the
 * child leads its own process group, and the whole group is stopped (a C
 * compiler's driver does not stop the compiler it runs). Between
 * cleanup_hold and cleanup_release the stop signals wait, so a child can be
 * started and recorded with no moment in which a signal would miss it; the
 * child itself restores *old (cleanup_release) before it runs anything. */
void cleanup_set_child(pid_t pid, bool own_group);
void cleanup_hold(sigset_t *old);
void cleanup_release(const sigset_t *old);

#endif
