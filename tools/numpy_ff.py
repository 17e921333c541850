#!/usr/bin/env python3
"""Supervised Forward-Forward training on MNIST in plain NumPy (float32, ordinary vectorised code).

This is the speed baseline: a plain NumPy implementation of the FF step against which the
CPU backend's samples/s are measured (tools/cpu_speed.sh runs both; bench/results/ keeps the
figures). It is deliberately what a researcher would write: no numba, no fused kernels, no hand
tuning; the matrix products go to whatever BLAS NumPy is linked against (Debian's python3-numpy
-> OpenBLAS, OpenMP build).

What it computes (docs/what-it-computes.md: the network, the FF loss of one layer, labels in the
input, slow classification):
  - input: pixels / 255, label one-hot in the first 10 values (positive: the true label; negative:
    a label drawn uniformly from the 9 wrong ones); positives and negatives stacked as [2B x 784];
  - every layer: xn = a / (1e-8 + sqrt(mean(a^2))), h = relu(xn W^T + b), G = sum h^2, theta = width;
    loss softplus(-(G - theta)) for positives, softplus(G - theta) for negatives (summed over the
    2B rows, divided by B); dL/dG = -sigmoid(theta - G) / +sigmoid(G - theta);
    dz = dL/dG * 2h * [h > 0] / B, dW = dz^T xn, db = sum dz; Adam (0.9, 0.999, 1e-8, lr 1e-3);
    the next layer reads norm(h) of the same forward (no gradient crosses layers);
  - He init N(0, 2/fan_in), zero biases; shuffle every epoch, the last partial batch is dropped;
  - slow evaluation: for each of the 10 labels, embed it, sum G - theta over all layers but the
    first, predict the argmax.
"Samples" are training images (positives) per second; the timed wall time (perf_counter) covers
the training steps only (batch assembly included; shuffling and evaluation excluded).
Measured with the default environment. On a 2-core VM (bench/results/cpu/), much of the 4x2000
step goes to page faults on the fresh 16 MB temporaries that glibc keeps mmapping and trimming,
mostly in Adam:
MALLOC_MMAP_THRESHOLD_=1000000000 MALLOC_TRIM_THRESHOLD_=100000000000 took it from ~370 to ~920
samples/s on 2026-11-25. 2x500 barely changes (~16.5k).

Run it with the system Python (Debian's NumPy; the pyenv `python3` on PATH has no NumPy):
    /usr/bin/python3 tools/numpy_ff.py --layers 2x500 --epochs 2            # ~93% slow accuracy
    /usr/bin/python3 tools/numpy_ff.py --layers 2x500 --epochs 1 --no-eval  # speed, one epoch
    /usr/bin/python3 tools/numpy_ff.py --layers 4x2000 --steps 100 --no-eval --json
"""
import argparse
import gzip
import json
import os
import sys
import time

import numpy as np

NUM_CLASSES = 10


# ---------------------------------------------------------------- data

def read_idx(path):
    """Read an IDX file (optionally .gz) into a uint8 array of its stored shape."""
    if not os.path.exists(path) and os.path.exists(path + ".gz"):
        path = path + ".gz"
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    magic = int.from_bytes(data[0:4], "big")
    if magic >> 8 != 0x08:  # 0x08 = unsigned byte
        raise ValueError(f"{path}: not an unsigned-byte IDX file (magic {magic:#x})")
    ndim = magic & 0xFF
    shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


def load_mnist(data_dir):
    def images(name):
        x = read_idx(os.path.join(data_dir, name))
        return x.reshape(x.shape[0], -1).astype(np.float32) / np.float32(255.0)

    def labels(name):
        return read_idx(os.path.join(data_dir, name)).astype(np.int64)

    return (images("train-images-idx3-ubyte"), labels("train-labels-idx1-ubyte"),
            images("t10k-images-idx3-ubyte"), labels("t10k-labels-idx1-ubyte"))


def embed(x, labels):
    """Copy of x with the label one-hot (strength 1) in the first NUM_CLASSES values."""
    out = x.copy()
    out[:, :NUM_CLASSES] = 0.0
    out[np.arange(len(labels)), labels] = 1.0
    return out


# ---------------------------------------------------------------- network

def parse_layers(spec, input_width):
    if "x" in spec:
        count, width = spec.split("x")
        return [input_width] + [int(width)] * int(count)
    widths = [int(w) for w in spec.split(",")]
    return widths if widths[0] == input_width else [input_width] + widths


def rms_norm(a):
    return a / (np.float32(1e-8) + np.sqrt(np.mean(a * a, axis=1, keepdims=True)))


def softplus(x):
    return np.logaddexp(np.float32(0.0), x)  # log(1 + e^x), never overflows


def sigmoid(x):
    return np.float32(0.5) * (np.float32(1.0) + np.tanh(np.float32(0.5) * x))  # never overflows


class Layer:
    def __init__(self, fan_in, width, rng):
        self.W = rng.standard_normal((width, fan_in), dtype=np.float32) * np.float32(np.sqrt(2.0 / fan_in))
        self.b = np.zeros(width, dtype=np.float32)
        self.theta = np.float32(width)
        self.mW = np.zeros_like(self.W)
        self.vW = np.zeros_like(self.W)
        self.mb = np.zeros_like(self.b)
        self.vb = np.zeros_like(self.b)
        self.t = 0

    def forward(self, a):
        xn = rms_norm(a)
        h = np.maximum(xn @ self.W.T + self.b, np.float32(0.0))
        return xn, h

    def adam(self, dW, db, lr, beta1=0.9, beta2=0.999, eps=1e-8):
        self.t += 1
        c1 = np.float32(1.0 - beta1 ** self.t)
        c2 = np.float32(1.0 - beta2 ** self.t)
        b1, b2 = np.float32(beta1), np.float32(beta2)
        for p, g, m, v in ((self.W, dW, self.mW, self.vW), (self.b, db, self.mb, self.vb)):
            m *= b1
            m += (np.float32(1.0) - b1) * g
            v *= b2
            v += (np.float32(1.0) - b2) * g * g
            p -= np.float32(lr) * (m / c1) / (np.sqrt(v / c2) + np.float32(eps))

    def train_step(self, a, num_pos, lr):
        """One FF step on the stacked batch a ([positives; negatives]); returns (loss, h)."""
        xn, h = self.forward(a)
        s = np.sum(h * h, axis=1) - self.theta          # G - theta, per row
        sign = np.ones_like(s)
        sign[:num_pos] = -1.0                           # positives want G > theta
        loss = np.sum(softplus(sign * s)) / num_pos     # softplus(-s) pos, softplus(s) neg
        dG = sign * sigmoid(sign * s)                   # -sigmoid(theta - G) pos, +sigmoid(G - theta) neg
        dz = (dG / np.float32(num_pos))[:, None] * np.float32(2.0) * h   # h > 0 exactly where relu passes
        dW = dz.T @ xn
        db = np.sum(dz, axis=0)
        self.adam(dW, db, lr)
        return float(loss), h


def slow_classify(layers, x, batch=1000):
    """Predicted labels: argmax over c of sum_{layers but the first} (G - theta) with c embedded."""
    scoring = range(1, len(layers)) if len(layers) > 1 else range(len(layers))
    preds = np.empty(len(x), dtype=np.int64)
    for start in range(0, len(x), batch):
        chunk = x[start:start + batch]
        scores = np.zeros((len(chunk), NUM_CLASSES), dtype=np.float32)
        for c in range(NUM_CLASSES):
            a = embed(chunk, np.full(len(chunk), c))
            for i, layer in enumerate(layers):
                _, a = layer.forward(a)
                if i in scoring:
                    scores[:, c] += np.sum(a * a, axis=1) - layer.theta
        preds[start:start + batch] = np.argmax(scores, axis=1)
    return preds


# ---------------------------------------------------------------- main

def main():
    parser = argparse.ArgumentParser(description="Supervised Forward-Forward in plain NumPy (the speed baseline)")
    parser.add_argument("--layers", default="2x500", help="LxN or a list like 784,2000,2000")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch", type=int, default=100, help="positives per minibatch")
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--train-limit", type=int, default=0, help="use only the first N training images (0: all)")
    parser.add_argument("--steps", type=int, default=0, help="stop after N timed training steps (benchmark)")
    parser.add_argument("--warmup", type=int, default=0, help="untimed training steps before the timed ones")
    parser.add_argument("--no-eval", action="store_true", help="skip the slow test evaluation")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data-dir", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "mnist"))
    parser.add_argument("--json", action="store_true", help="print one final JSON line")
    args = parser.parse_args()

    rng = np.random.default_rng(args.seed)
    x_train, y_train, x_test, y_test = load_mnist(args.data_dir)
    if args.train_limit:
        x_train, y_train = x_train[:args.train_limit], y_train[:args.train_limit]
    dims = parse_layers(args.layers, x_train.shape[1])
    layers = [Layer(i, o, rng) for i, o in zip(dims[:-1], dims[1:])]
    B = args.batch
    batches_per_epoch = len(x_train) // B
    if batches_per_epoch == 0:
        sys.exit(f"--batch {B} is larger than the {len(x_train)} training images")
    log = sys.stderr if args.json else sys.stdout
    print(f"numpy {np.__version__}, layers {dims}, batch {B}, {len(x_train)} training images, "
          f"{batches_per_epoch} steps/epoch", file=log)

    ar = np.arange(B)
    total_steps, total_seconds, done = 0, 0.0, False
    warmup_left = args.warmup
    epoch = 0
    while not done and (args.steps or epoch < args.epochs):
        epoch += 1
        order = rng.permutation(len(x_train))
        losses = np.zeros(len(layers))
        steps, seconds, loss_steps = 0, 0.0, 0
        for k in range(batches_per_epoch):
            timed = warmup_left == 0
            t0 = time.perf_counter()
            idx = order[k * B:(k + 1) * B]
            xb, yb = x_train[idx], y_train[idx]
            wrong = (yb + rng.integers(1, NUM_CLASSES, size=B)) % NUM_CLASSES   # uniform over the 9 wrong labels
            a = np.concatenate([xb, xb])
            a[:, :NUM_CLASSES] = 0.0
            a[ar, yb] = 1.0
            a[B + ar, wrong] = 1.0
            for i, layer in enumerate(layers):
                loss, a = layer.train_step(a, B, args.lr)
                losses[i] += loss
            loss_steps += 1
            if not timed:
                warmup_left -= 1
                continue
            seconds += time.perf_counter() - t0
            steps += 1
            if args.steps and total_steps + steps >= args.steps:
                done = True
                break
        total_steps += steps
        total_seconds += seconds
        if steps:
            loss_txt = " ".join(f"{l / loss_steps:.4f}" for l in losses)
            print(f"epoch {epoch}: loss per layer [{loss_txt}]  {steps} steps in {seconds:.2f} s, "
                  f"{steps * B / seconds:.0f} samples/s", file=log)

    samples_per_s = total_steps * B / total_seconds if total_seconds > 0 else None
    slow_acc = None
    if not args.no_eval:
        t0 = time.perf_counter()
        slow_acc = float(np.mean(slow_classify(layers, x_test) == y_test))
        print(f"slow test accuracy {100 * slow_acc:.2f}% ({len(x_test)} images, "
              f"{time.perf_counter() - t0:.1f} s)", file=log)
    if samples_per_s is not None:
        print(f"train: {total_steps} steps, {total_seconds:.2f} s, {samples_per_s:.0f} samples/s", file=log)
    if args.json:
        print(json.dumps({"layers": args.layers, "batch": B, "train_samples_per_s": samples_per_s,
                          "slow_acc": slow_acc, "steps": total_steps, "train_seconds": total_seconds}))


if __name__ == "__main__":
    main()
