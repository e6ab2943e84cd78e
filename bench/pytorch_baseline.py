#!/usr/bin/python3
"""PyTorch reference for Octo's benchmarks: the same networks as models/*.net,
the same recipe (SGD lr 0.01 momentum 0.9, batch 32), on Fashion-MNIST.

  bench/pytorch_baseline.py accuracy MODEL [--epochs 5] [--seed 1]
  bench/pytorch_baseline.py speed MODEL --batch 32 [--steps 200] [--min-time 2]
  bench/pytorch_baseline.py params MODEL    (parameter count, for checking)

Each network mirrors models/MODEL.net layer for layer (docs/language.md gives
the defaults: maxpool stride = kernel, conv/dense bias unless bias=false,
batchnorm eps 1e-5 momentum 0.1, dropout in training only). --init octo makes
biases start at zero like Octo's (weights: PyTorch's default uniform bound
1/sqrt(fan_in) is what Octo's `he` draws too).

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


def normalize_arg(text):
    m, s = (float(v) for v in text.split(","))
    if not s > 0:
        raise argparse.ArgumentTypeError("the scale S must be positive")
    return m, s


def load(split, data_dir, mean=0.0, std=1.0):
    prefix = "train" if split == "train" else "t10k"
    x = read_idx(f"{data_dir}/{prefix}-images-idx3-ubyte.gz").astype(np.float32) / 255.0
    x = (x - mean) / std
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


def conv_bn(cin, cout, act=nn.ReLU, **kw):
    """conv2d(bias=false) -> batchnorm -> act, as the .net blocks write it."""
    return [nn.Conv2d(cin, cout, bias=False, **kw), nn.BatchNorm2d(cout, eps=1e-5, momentum=0.1),
            act()]


def alexnet_small():
    def conv(cin, cout):
        return [nn.Conv2d(cin, cout, 3, padding=1), nn.ReLU()]
    return nn.Sequential(
        *conv(1, 32), nn.MaxPool2d(2),                     # [N, 32, 14, 14]
        *conv(32, 64), nn.MaxPool2d(2),                    # [N, 64, 7, 7]
        *conv(64, 96), *conv(96, 96), *conv(96, 64),
        nn.MaxPool2d(3, stride=2), nn.Flatten(),           # [N, 576]
        nn.Linear(576, 256), nn.ReLU(), nn.Dropout(0.5),
        nn.Linear(256, 128), nn.ReLU(), nn.Dropout(0.5),
        nn.Linear(128, 10))


def vgg11_small():
    def cb(cin, cout):
        return conv_bn(cin, cout, kernel_size=3, padding=1)
    return nn.Sequential(
        *cb(1, 8), nn.MaxPool2d(2),                        # [N, 8, 14, 14]
        *cb(8, 16), nn.MaxPool2d(2),                       # [N, 16, 7, 7]
        *cb(16, 32), *cb(32, 32), nn.MaxPool2d(2),         # [N, 32, 3, 3]
        *cb(32, 64), *cb(64, 64),
        *cb(64, 64), *cb(64, 64), nn.MaxPool2d(3),         # [N, 64, 1, 1]
        nn.Flatten(),
        nn.Linear(64, 128), nn.ReLU(), nn.Dropout(0.5),
        nn.Linear(128, 128), nn.ReLU(),
        nn.Linear(128, 10))


class Basic(nn.Module):
    """block basic / block down of resnet20.net: two 3x3 conv+bn, the sum
    with the input (or with a 1x1 stride-2 conv+bn projection when down)."""

    def __init__(self, cin, ch, down):
        super().__init__()
        stride = 2 if down else 1
        self.c1 = nn.Conv2d(cin, ch, 3, stride=stride, padding=1, bias=False)
        self.b1 = nn.BatchNorm2d(ch)
        self.c2 = nn.Conv2d(ch, ch, 3, padding=1, bias=False)
        self.b2 = nn.BatchNorm2d(ch)
        self.shortcut = nn.Sequential(nn.Conv2d(cin, ch, 1, stride=2, bias=False),
                                      nn.BatchNorm2d(ch)) if down else nn.Identity()

    def forward(self, x):
        h = F.relu(self.b1(self.c1(x)))
        h = self.b2(self.c2(h))
        return F.relu(h + self.shortcut(x))


def resnet20():
    return nn.Sequential(
        *conv_bn(1, 16, kernel_size=3, padding=1),
        Basic(16, 16, False), Basic(16, 16, False), Basic(16, 16, False),   # 28x28
        Basic(16, 32, True), Basic(32, 32, False), Basic(32, 32, False),    # 14x14
        Basic(32, 64, True), Basic(64, 64, False), Basic(64, 64, False),    # 7x7
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 10))


def mobilenet_tiny():
    def dw_sep(cin, cout, stride=1):
        return (conv_bn(cin, cin, nn.ReLU6, kernel_size=3, stride=stride, padding=1, groups=cin) +
                conv_bn(cin, cout, nn.ReLU6, kernel_size=1))
    return nn.Sequential(
        *conv_bn(1, 16, nn.ReLU6, kernel_size=3, stride=2, padding=1),  # [N, 16, 14, 14]
        *dw_sep(16, 32), *dw_sep(32, 64, 2), *dw_sep(64, 64), *dw_sep(64, 128, 2),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(0.2),  # [N, 128]
        nn.Linear(128, 10))


MODELS = {"mlp": mlp, "lenet5": lenet5, "octo_simplecnn": octo_simplecnn,
          "alexnet_small": alexnet_small, "vgg11_small": vgg11_small, "resnet20": resnet20,
          "mobilenet_tiny": mobilenet_tiny}


def build(args):
    model = MODELS[args.model]()
    if args.init in ("octo", "octo-bias"):
        with torch.no_grad():
            for m in model.modules():
                if isinstance(m, (nn.Conv2d, nn.Linear)):
                    # Octo's default `init=he`: normal, std sqrt(2 / fan_in).
                    if args.init == "octo":
                        nn.init.kaiming_normal_(m.weight, mode="fan_in", nonlinearity="relu")
                    if m.bias is not None:
                        m.bias.zero_()
    return model


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
    xtr, ytr = load("train", args.data, *args.normalize)
    xte, yte = load("test", args.data, *args.normalize)
    if args.limit:
        xtr, ytr = xtr[:args.limit], ytr[:args.limit]
    model = build(args)
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
    model = build(args)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    x = torch.rand(args.batch, 1, 28, 28)
    y = torch.randint(0, 10, (args.batch,))

    def step():
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()

    def timed(steps):
        t0 = time.perf_counter()
        for _ in range(steps):
            step()
        return time.perf_counter() - t0

    for _ in range(10):
        step()
    steps = args.steps
    dt = timed(steps)
    # Too short to trust: scale the step count up to --min-time and rerun.
    while dt < args.min_time:
        steps = max(steps + 1, int(steps * 1.2 * args.min_time / max(dt, 1e-6)))
        dt = timed(steps)
    print(f"{args.model} batch {args.batch}: {steps} steps, {steps * args.batch / dt:.1f} samples/s")


def run_params(args):
    model = build(args)
    n = sum(p.numel() for p in model.parameters())
    b = sum(b.numel() for b in model.buffers() if b.dtype.is_floating_point)
    print(f"{args.model}: {n} parameters, {b} float buffer elements")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("mode", choices=["accuracy", "speed", "params"])
    ap.add_argument("model", choices=sorted(MODELS))
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--min-time", type=float, default=0.0)
    ap.add_argument("--init", choices=["torch", "octo", "octo-bias"], default="torch",
                    help="torch: PyTorch's defaults; octo: Octo's (He normal weights, zero "
                         "biases); octo-bias: PyTorch's weights, zero biases")
    ap.add_argument("--data", default=DATA)
    ap.add_argument("--normalize", type=normalize_arg, default=(0.5, 0.5),
                    metavar="M,S",
                    help="pixels become (p/255 - M) / S (default 0.5,0.5, like Octo)")
    args = ap.parse_args()
    torch.set_num_threads(1)
    {"accuracy": run_accuracy, "speed": run_speed, "params": run_params}[args.mode](args)


if __name__ == "__main__":
    sys.exit(main())
