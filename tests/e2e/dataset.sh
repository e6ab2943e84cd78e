# Sourced by the e2e scripts: DATA is the Fashion-MNIST directory
# ($OCTO_DATA, else Debian's); without its training images the test is
# skipped (exit 77).
data=${OCTO_DATA:-/usr/share/datasets/fashion-mnist}
if [ ! -f "$data/train-images-idx3-ubyte.gz" ]; then
  echo "SKIP: Fashion-MNIST not installed at $data"
  exit 77
fi
