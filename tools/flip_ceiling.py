#!/usr/bin/python3
"""How well can a flip be told at all? A plain NumPy backprop MLP on a flip pretext task, with the
test accuracy broken down by the image's class.

Why this exists: on Fashion-MNIST, FF and ffcuda's own bp-ce stay below 90% on flip-h/flip-hv
(bench/results/cpu/pretext-*.md). If the images of a class are as likely to appear mirrored as not (T-shirts, bags,
trousers), no classifier can tell a mirrored one from an original better than chance on the
ambiguous ones; shoes all face one way and are easy. The per-class table makes that visible, with
a model independent of ffcuda (no norms, no label in the input, softmax cross-entropy, Adam 1e-3,
batch 100, a fresh transform per image per epoch; test transforms from a fixed seed).

Usage: /usr/bin/python3 tools/flip_ceiling.py [--task flip-h|flip-hv] [--epochs 15] [--hidden 1000]
           [--data-dir data/fashion-mnist]
Needs Debian's python3-numpy (apt-get install -y python3-numpy); ~20 s per epoch on 2 cores.
"""
import argparse
import os

import numpy as np

from numpy_ff import load_mnist  # the IDX reader (plain or .gz) of the NumPy FF baseline

FASHION_CLASSES = "tshirt trouser pullover dress coat sandal shirt sneaker bag boot".split()


def transform(images, labels):
    """Label bit 0: horizontal mirror; bit 1: vertical mirror (none, h, v, both, as ffcuda)."""
    out = images.copy()
    h = (labels % 2) == 1
    out[h] = out[h][:, :, ::-1]
    v = (labels // 2) == 1
    out[v] = out[v][:, ::-1, :]
    return out.reshape(len(out), -1)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--task", choices=["flip-h", "flip-hv"], default="flip-h")
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--hidden", type=int, default=1000, help="width of each of the 2 hidden layers")
    parser.add_argument("--data-dir", default="data/fashion-mnist")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    if not any(os.path.exists(os.path.join(args.data_dir, "t10k-images-idx3-ubyte" + ext))
               for ext in ("", ".gz")):
        raise SystemExit(f"no IDX images in {args.data_dir}: run tools/fetch_data.sh")
    train_flat, _, test_flat, test_class = load_mnist(args.data_dir)
    train_x = train_flat.reshape(-1, 28, 28)
    test_x = test_flat.reshape(-1, 28, 28)
    num_labels = 2 if args.task == "flip-h" else 4
    test_task = np.random.default_rng(12345).integers(0, num_labels, len(test_x))
    test_in = transform(test_x, test_task)

    rng = np.random.default_rng(args.seed)
    width = args.hidden
    shapes = [(784, width), (width,), (width, width), (width,), (width, num_labels), (num_labels,)]
    params = []
    for shape in shapes:
        fan_in = shape[0] if len(shape) == 2 else 1
        params.append(rng.normal(0, np.sqrt(2 / fan_in), shape).astype(np.float32)
                      if len(shape) == 2 else np.zeros(shape, np.float32))
    first_moment = [np.zeros_like(p) for p in params]
    second_moment = [np.zeros_like(p) for p in params]

    def forward(x):
        w1, b1, w2, b2, w3, b3 = params
        h1 = np.maximum(x @ w1 + b1, 0)
        h2 = np.maximum(h1 @ w2 + b2, 0)
        return h1, h2, h2 @ w3 + b3

    step = 0
    for epoch in range(args.epochs):
        task = rng.integers(0, num_labels, len(train_x))
        inputs = transform(train_x, task)
        order = rng.permutation(len(inputs))
        for start in range(0, len(order) - 99, 100):
            rows = order[start:start + 100]
            x, y = inputs[rows], task[rows]
            h1, h2, logits = forward(x)
            p = np.exp(logits - logits.max(1, keepdims=True))
            p /= p.sum(1, keepdims=True)
            p[np.arange(len(rows)), y] -= 1
            dz3 = p / len(rows)
            dz2 = (dz3 @ params[4].T) * (h2 > 0)
            dz1 = (dz2 @ params[2].T) * (h1 > 0)
            grads = [x.T @ dz1, dz1.sum(0), h1.T @ dz2, dz2.sum(0), h2.T @ dz3, dz3.sum(0)]
            step += 1
            for i, g in enumerate(grads):
                first_moment[i] = 0.9 * first_moment[i] + 0.1 * g
                second_moment[i] = 0.999 * second_moment[i] + 0.001 * g * g
                m_hat = first_moment[i] / (1 - 0.9 ** step)
                v_hat = second_moment[i] / (1 - 0.999 ** step)
                params[i] -= 1e-3 * m_hat / (np.sqrt(v_hat) + 1e-8)
        correct = forward(test_in)[2].argmax(1) == test_task
        print(f"epoch {epoch + 1}/{args.epochs}  test {correct.mean() * 100:.2f}%", flush=True)

    names = FASHION_CLASSES if "fashion" in args.data_dir else [str(c) for c in range(10)]
    print("by class: " + "  ".join(
        f"{names[c]} {correct[test_class == c].mean() * 100:.1f}" for c in range(10)))


if __name__ == "__main__":
    main()
