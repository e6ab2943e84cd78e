#!/usr/bin/env python3
"""Compensation magnitudes of LAC layers, read from trainer checkpoints.

    bench/lac_magnitudes.py CHECKPOINT...

For every layer L with parameters L.lac.alpha, L.lac.mu, L.lac.beta (the lac
pass's names), one row per checkpoint: the epochs done, the RMS of the
correction alpha*mu + beta, the RMS of mu and beta (what lambda pulls to
zero), the mean of |alpha - 1|, and, when the layer has a bias L.bias, the
RMS of the bias for scale. A checkpoint per epoch (bench/ablation.sh KEEP=DIR
keeps the last one of each run) gives the curve over training.

The checkpoint layout is docs/trainer.md's (version 1): header, tensor
table, state block, CRC-32. The CRC, the version and the sizes are checked,
so a misread file is an error, not numbers. Exit status 1 on a bad file.
"""
import math
import struct
import sys
import zlib

F32 = 0  # OctoDType OCTO_F32


class CheckpointError(Exception):
    pass


class Reader:
    def __init__(self, data):
        self.data, self.pos = data, 0

    def take(self, n):
        if self.pos + n > len(self.data):
            raise CheckpointError("truncated")
        b = self.data[self.pos:self.pos + n]
        self.pos += n
        return b

    def u8(self):
        return self.take(1)[0]

    def u32(self):
        return struct.unpack("<I", self.take(4))[0]

    def u64(self):
        return struct.unpack("<Q", self.take(8))[0]

    def i64(self):
        return struct.unpack("<q", self.take(8))[0]

    def name(self):
        return self.take(self.u32()).decode("utf-8", "replace")


def load(path):
    """(model name, epochs done, {tensor name: list of floats}) of f32 tensors."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 52 or data[:8] != b"OCTOCKPT":
        raise CheckpointError("not an Octo checkpoint")
    (crc,) = struct.unpack("<I", data[-4:])
    if zlib.crc32(data[:-4]) & 0xFFFFFFFF != crc:
        raise CheckpointError("corrupt (CRC mismatch)")
    r = Reader(data)
    r.take(8)
    version = r.u32()
    if version != 1:
        raise CheckpointError(f"format version {version} is not supported")
    r.u32()
    if r.u64() != len(data):
        raise CheckpointError("corrupt (size field)")
    r.u64()  # model hash
    r.u64()  # seed
    epochs = r.u64()
    model = r.name()
    records = []
    for _ in range(r.u32()):
        name = r.name()
        dtype, _kind, rank, _pad = r.u8(), r.u8(), r.u8(), r.u8()
        for _ in range(rank):
            r.i64()
        offset, nbytes = r.u64(), r.u64()
        records.append((name, dtype, offset, nbytes))
    state = r.take(r.u64())
    if r.pos != len(data) - 4:
        raise CheckpointError("corrupt (trailing bytes)")
    tensors = {}
    for name, dtype, offset, nbytes in records:
        if offset + nbytes > len(state):
            raise CheckpointError(f"tensor {name} lies outside the state block")
        if dtype == F32:
            n = nbytes // 4
            tensors[name] = list(struct.unpack(f"<{n}f", state[offset:offset + nbytes]))
    return model, epochs, tensors


def rms(v):
    return math.sqrt(sum(x * x for x in v) / len(v)) if v else float("nan")


def main(argv):
    if not argv:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    print("| checkpoint | epochs | layer | rms(alpha*mu+beta) | rms(mu) | rms(beta) "
          "| mean abs(alpha-1) | rms(bias) |")
    print("|---|---:|---|---:|---:|---:|---:|---:|")
    status = 0
    for path in argv:
        try:
            model, epochs, t = load(path)
        except (OSError, CheckpointError) as e:
            print(f"lac_magnitudes.py: {path}: {e}", file=sys.stderr)
            status = 1
            continue
        layers = [n[:-len(".lac.alpha")] for n in t if n.endswith(".lac.alpha")]
        if not layers:
            print(f"lac_magnitudes.py: {path}: model {model} has no LAC layers", file=sys.stderr)
            status = 1
        for layer in layers:
            a, m, b = (t.get(f"{layer}.lac.{k}") for k in ("alpha", "mu", "beta"))
            if m is None or b is None or not len(a) == len(m) == len(b):
                print(f"lac_magnitudes.py: {path}: {layer}: incomplete LAC parameters",
                      file=sys.stderr)
                status = 1
                continue
            corr = [x * y + z for x, y, z in zip(a, m, b)]
            dev = sum(abs(x - 1) for x in a) / len(a)
            bias = t.get(f"{layer}.bias")
            bias_cell = f"{rms(bias):.3e}" if bias else "–"
            print(f"| {path} | {epochs} | {layer} | {rms(corr):.3e} | {rms(m):.3e} "
                  f"| {rms(b):.3e} | {dev:.3e} | {bias_cell} |")
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
