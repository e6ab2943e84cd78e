#!/usr/bin/python3
"""PyTorch reference for Octo's benchmarks: the same networks as models/*.net,
the same recipe (SGD lr 0.01 momentum 0.9, batch 32), on Fashion-MNIST.

  bench/pytorch_baseline.py accuracy MODEL [--epochs 5] [--seed 1]
  bench/pytorch_baseline.py speed MODEL --batch 32 [--steps 200]

Run with Debian's /usr/bin/python3 (python3-torch) and libopenblas0-pthread
installed. OPENBLAS_NUM_THREADS must be set before torch is imported: this
script sets it to 1 (one thread), since torch.set_num_threads does not reach
OpenBLAS."""
import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse
import gzip
import struct
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

DATA = "/usr/share/datasets/fashion-mnist"


def read_idx(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    magic, = struct.unpack(">I", data[:4])
    ndim = magic & 0xFF
    dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load(split, data_dir):
    prefix = "train" if split == "train" else "t10k"
    x = read_idx(f"{data_dir}/{prefix}-images-idx3-ubyte.gz").astype(np.float32) / 255.0
    y = read_idx(f"{data_dir}/{prefix}-labels-idx1-ubyte.gz").astype(np.int64)
    return torch.from_numpy(x).unsqueeze(1), torch.from_numpy(y)


def mlp():
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(),
                         nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 10))


def lenet5():
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2, 2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2, 2), nn.Flatten(),
        nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))


def octo_simplecnn():
    return nn.Sequential(nn.Conv2d(1, 30, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Linear(30 * 12 * 12, 100), nn.ReLU(), nn.Linear(100, 10))


MODELS = {"mlp": mlp, "lenet5": lenet5, "octo_simplecnn": octo_simplecnn}


def accuracy(model, x, y, batch=1000):
    model.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, len(x), batch):
            correct += (model(x[i:i + batch]).argmax(1) == y[i:i + batch]).sum().item()
    model.train()
    return 100.0 * correct / len(x)


def run_accuracy(args):
    torch.manual_seed(args.seed)
    xtr, ytr = load("train", args.data)
    xte, yte = load("test", args.data)
    if args.limit:
        xtr, ytr = xtr[:args.limit], ytr[:args.limit]
    model = MODELS[args.model]()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    for epoch in range(args.epochs):
        perm = torch.randperm(len(xtr))
        t0 = time.time()
        total = 0.0
        for i in range(0, len(xtr), 32):
            idx = perm[i:i + 32]
            loss = F.cross_entropy(model(xtr[idx]), ytr[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
        dt = time.time() - t0
        print(f"epoch {epoch + 1}/{args.epochs}  loss {total / len(xtr):.4f}  "
              f"test_acc {accuracy(model, xte, yte):.2f}%  time {dt:.1f}s  "
              f"{len(xtr) / dt:.0f} samples/s", flush=True)
    print(f"final test accuracy: {accuracy(model, xte, yte):.2f}%")


def run_speed(args):
    torch.manual_seed(args.seed)
    model = MODELS[args.model]()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    x = torch.rand(args.batch, 1, 28, 28)
    y = torch.randint(0, 10, (args.batch,))

    def step():
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()

    for _ in range(10):
        step()
    t0 = time.perf_counter()
    for _ in range(args.steps):
        step()
    dt = time.perf_counter() - t0
    print(f"{args.model} batch {args.batch}: {args.steps * args.batch / dt:.1f} samples/s")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("mode", choices=["accuracy", "speed"])
    ap.add_argument("model", choices=sorted(MODELS))
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--data", default=DATA)
    args = ap.parse_args()
    torch.set_num_threads(1)
    run_accuracy(args) if args.mode == "accuracy" else run_speed(args)


if __name__ == "__main__":
    sys.exit(main())
