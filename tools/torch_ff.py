#!/usr/bin/env python3
"""The FF training step in PyTorch, written the way its users write it, to set beside
`ffcuda bench` on the same GPU, or on the CPU (Debian's python3-torch; tools/cpu_speed.sh).

Same computation as ffcuda's default (docs/what-it-computes.md): RMS norm before every layer,
ReLU layers, goodness = sum of squares, threshold = width, softplus loss on stacked positives and
negatives, one Adam over all layers; each layer's input is detached, so no gradient crosses layers.
Data are random images of MNIST's shape already on the GPU (the step's cost does not depend on
the pixels); labels are embedded in the first 10 inputs.

    python3 tools/torch_ff.py --layers 4x2000 --batch 100 --iters 100 [--precision tf32|bf16]
    /usr/bin/python3 tools/torch_ff.py --device cpu --layers 4x2000 --iters 20 [--precision bf16]

On the CPU, bf16 is autocast (bf16 matrix products, the rest in fp32), timed with the host clock.

Prints one JSON line: device, config, median step time, samples/s.
"""
import argparse
import json
import os
import statistics
import time

import torch
import torch.nn.functional as F


def parse_layers(spec, input_width):
    if "x" in spec:
        count, width = spec.split("x")
        return [input_width] + [int(width)] * int(count)
    widths = [int(w) for w in spec.split(",")]
    return widths if widths[0] == input_width else [input_width] + widths


def rms_norm(x):
    return x / (1e-8 + x.pow(2).mean(dim=1, keepdim=True).sqrt())


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layers", default="4x2000")
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--iters", type=int, default=100)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--precision", choices=["fp32", "tf32", "bf16"], default="fp32")
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--device", choices=["cuda", "cpu"], default="cuda")
    parser.add_argument("--threads", type=int, default=0,
                        help="CPU threads (default: OMP_NUM_THREADS if set, else every core this "
                             "process may use; Debian's build otherwise starts with one)")
    args = parser.parse_args()
    if args.device == "cpu":
        threads = args.threads or int(os.environ.get("OMP_NUM_THREADS", "0") or 0) or len(os.sched_getaffinity(0))
        torch.set_num_threads(threads)
    if args.device == "cpu" and args.precision == "tf32":
        parser.error("--precision tf32 needs --device cuda")

    torch.backends.cuda.matmul.allow_tf32 = args.precision == "tf32"
    device = torch.device(args.device)
    on_gpu = args.device == "cuda"
    dims = parse_layers(args.layers, 784)
    layers = [torch.nn.Linear(i, o).to(device) for i, o in zip(dims[:-1], dims[1:])]
    for layer in layers:
        torch.nn.init.kaiming_normal_(layer.weight, nonlinearity="relu")
        torch.nn.init.zeros_(layer.bias)
    optimizer = torch.optim.Adam([p for layer in layers for p in layer.parameters()], lr=args.lr)
    images = torch.rand(args.batch * 50, 784, device=device)
    labels = torch.randint(0, 10, (args.batch * 50,), device=device)

    def step(i):
        start = (i % 50) * args.batch
        x = images[start:start + args.batch]
        y = labels[start:start + args.batch]
        wrong = (y + torch.randint(1, 10, y.shape, device=device)) % 10
        pos, neg = x.clone(), x.clone()
        pos[:, :10] = F.one_hot(y, 10).float()
        neg[:, :10] = F.one_hot(wrong, 10).float()
        h = torch.cat([pos, neg])
        optimizer.zero_grad(set_to_none=True)
        total = 0.0
        for layer in layers:
            with torch.autocast(args.device, dtype=torch.bfloat16, enabled=args.precision == "bf16"):
                z = layer(rms_norm(h.detach()))
            h = torch.relu(z.float())
            g = h.pow(2).sum(dim=1)
            theta = h.shape[1]
            g_pos, g_neg = g[: args.batch], g[args.batch:]
            loss = (F.softplus(theta - g_pos) + F.softplus(g_neg - theta)).mean()
            loss.backward()
            total += loss.detach()
        optimizer.step()
        return total

    for i in range(args.warmup):
        step(i)
    if on_gpu:
        torch.cuda.synchronize()
    times = []
    for i in range(args.iters):
        if on_gpu:
            begin, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            begin.record()
            step(i)
            end.record()
            end.synchronize()
            times.append(begin.elapsed_time(end))
        else:
            begin = time.perf_counter()
            step(i).item()  # the CPU runs each op as it is called; .item() ends the step
            times.append((time.perf_counter() - begin) * 1e3)
    median = statistics.median(times)
    name = (torch.cuda.get_device_name() if on_gpu
            else f"cpu ({torch.get_num_threads()} threads)")
    print(json.dumps({
        "tool": "torch_ff.py", "device": name, "torch": torch.__version__,
        "layers": args.layers, "batch": args.batch, "precision": args.precision,
        "step_median_ms": median, "step_min_ms": min(times), "step_max_ms": max(times),
        "samples_per_s": args.batch / median * 1e3,
    }))


if __name__ == "__main__":
    main()
