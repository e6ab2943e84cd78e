#!/bin/sh
# plot-log.sh LOG.csv OUT.png|OUT.svg: draws a trainer's --log CSV with
# gnuplot, per epoch. A classifier's log (epoch,loss,train_acc,test_acc,
# seconds,samples_per_s): the loss on the left axis, train and test accuracy
# (%) on the right. A regression model's log (epoch,loss,test_loss,seconds,
# samples_per_s): the training and the test loss (mean squared errors).
# Needs gnuplot (Debian: gnuplot-nox). The output is written to a temporary
# file and renamed, so a failed run leaves no half-drawn image.
set -eu
usage() { echo "usage: $0 LOG.csv OUT.png|OUT.svg" >&2; exit 2; }
[ $# -eq 2 ] || usage
log=$1 out=$2
[ -r "$log" ] || { echo "$0: error: cannot read $log" >&2; exit 1; }
header=$(head -n 1 "$log")
case $header in
  epoch,loss,train_acc,test_acc*) kind=classifier ;;
  epoch,loss,test_loss*) kind=regression ;;
  *) echo "$0: error: $log is not a trainer log (no 'epoch,loss,train_acc,test_acc' or" \
          "'epoch,loss,test_loss' header)" >&2; exit 1 ;;
esac
case $out in
  *.png) term='pngcairo size 900,540 enhanced font "sans,10"' ;;
  *.svg) term='svg size 900,540 dynamic enhanced font "sans,10"' ;;
  *) usage ;;
esac
command -v gnuplot >/dev/null || { echo "$0: error: gnuplot not found (apt install gnuplot-nox)" >&2; exit 1; }
# Whole-number epoch tics for short runs; gnuplot picks them for long ones.
rows=$(($(wc -l <"$log") - 1))
[ "$rows" -ge 1 ] || { echo "$0: error: $log has no epochs yet" >&2; exit 1; }
xtics='set xtics'
[ "$rows" -le 20 ] && xtics='set xtics 1'
tmp="$out.tmp.$$"
trap 'rm -f "$tmp"' EXIT
# Quote file names for gnuplot's string syntax.
q() { printf '%s' "$1" | sed "s/'/''/g"; }
if [ "$kind" = classifier ]; then
  axes="set ylabel 'loss'
set y2label 'accuracy (%)'
set ytics nomirror
set y2tics"
  plot="plot '$(q "$log")' using 1:2 with linespoints lw 2 title 'loss' axes x1y1, \\
     '' using 1:3 with linespoints lw 2 title 'train acc' axes x1y2, \\
     '' using 1:4 with linespoints lw 2 title 'test acc' axes x1y2"
else
  axes="set ylabel 'mean squared error'"
  plot="plot '$(q "$log")' using 1:2 with linespoints lw 2 title 'training loss', \\
     '' using 1:3 with linespoints lw 2 title 'test loss'"
fi
if ! gnuplot <<GP
set terminal $term
set output '$(q "$tmp")'
set datafile separator ','
set key below horizontal
set title 'training log: $(q "$(basename "$log")")' noenhanced
set xlabel 'epoch'
$xtics
set autoscale xfix
set offsets 0.25, 0.25, 0, 0
$axes
set grid
$plot
GP
then
  echo "$0: error: gnuplot failed" >&2
  exit 1
fi
mv "$tmp" "$out"
