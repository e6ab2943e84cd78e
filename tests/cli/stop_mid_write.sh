# shellcheck shell=bash
# stop_mid_write.sh: sourced by the tests that stop a program while it writes
# an output through OUT.tmp.<pid> (octoc's -o, the trainer's --save). The
# temporary name is made a FIFO before the program starts (its pid is known
# then: `exec` keeps the shell's) and opened by a reader that never reads,
# so the program blocks mid-write once the pipe is full (64 kB): the signal
# lands there every time.

# Job control: without it, bash starts background commands with SIGINT ignored.
set -m

# stop_mid_write SIGNAL OUT -- COMMAND...: runs COMMAND, which writes OUT,
# and sends it SIGNAL once it has OUT.tmp.<pid> open and is blocked; sets
# $pid and $status (its exit status).
stop_mid_write() {
  local sig=$1 out=$2 fifo holder
  shift 3
  sh -c 'mkfifo "$0.tmp.$$" && exec "$@"' "$out" "$@" &
  pid=$!
  fifo=$out.tmp.$pid
  for _ in $(seq 200); do [ -p "$fifo" ] && break; sleep 0.05; done
  sleep 300 < "$fifo" &  # opens the FIFO for reading, never reads
  holder=$!
  for _ in $(seq 1200); do  # until the program has it open (it may compute first)
    ls -l "/proc/$pid/fd" 2> /dev/null | grep -qF "${fifo##*/}" && break
    sleep 0.05
  done
  sleep 0.5  # and fills the pipe
  kill -s "$sig" "$pid"
  wait "$pid"
  status=$?
  kill "$holder" 2> /dev/null
  wait "$holder" 2> /dev/null
}
