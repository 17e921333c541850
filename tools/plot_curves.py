#!/usr/bin/python3
"""Per-epoch curves of ffcuda runs, from their metrics.jsonl.

    tools/plot_curves.py RUN [RUN ...] --out curves.png [--title TEXT]
    tools/plot_curves.py --study DIR [--out DIR/curves.png]

A RUN is a run's folder (its --out) or its metrics.jsonl. With --study, every cell of the study
in DIR. One PNG, a row of panels:

- test accuracy of the linear classifier trained alongside (--track-linear), on the class labels,
  one panel per task, FF and the backprop baselines side by side: on a pretext task this is the
  transfer of the features as they are being learnt;
- test accuracy on the task's own labels where it was evaluated during training (--eval-every);
- the training loss of every layer (FF, goodness backprop) or of the head (bp-ce), log scale.

Runs are named by their algorithm, task and dataset (from result.json, or the study's cell list),
else by their folder. Needs python3-matplotlib (tools/setup.sh installs it).
"""
import argparse
import json
import os
import sys


def fail(message):
    sys.exit(f"plot_curves.py: error: {message}")


def read_metrics(path):
    epochs = []
    with open(path) as f:
        for number, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as e:
                fail(f"{path}:{number} is not JSON ({e}); is it a metrics.jsonl of ffcuda?")
            if record.get("final"):
                # The final evaluation belongs to the last epoch (which evaluates nothing itself).
                if epochs:
                    for key in ("task_acc", "slow_acc", "track_acc"):
                        if key in record and key not in epochs[-1]:
                            epochs[-1][key] = record[key]
            elif "epoch" in record:
                epochs.append(record)
    return epochs


def describe(folder, fallback):
    """(algo, task, dataset) of a run folder, from its result.json where there is one."""
    result = os.path.join(folder, "result.json")
    if os.path.exists(result):
        with open(result) as f:
            config = json.load(f).get("config", {})
        return config.get("algo", "?"), config.get("task", "?"), config.get("dataset", "?")
    return fallback


def runs_of_study(folder):
    study_json = os.path.join(folder, "study.json")
    if not os.path.exists(study_json):
        fail(f"{folder} has no study.json: is it a study's folder (ffcuda study --out)?")
    with open(study_json) as f:
        study = json.load(f)
    runs = []
    for cell in study.get("cells", []):
        metrics = os.path.join(folder, "cells", cell["name"], "metrics.jsonl")
        if os.path.exists(metrics):
            name = cell["name"]
            runs.append((metrics, (cell["algo"], cell["task"], cell["dataset"]), name))
    if not runs:
        fail(f"no cell of {folder} has a metrics.jsonl yet")
    return runs


def runs_of_paths(paths):
    runs = []
    for path in paths:
        metrics = os.path.join(path, "metrics.jsonl") if os.path.isdir(path) else path
        if not os.path.exists(metrics):
            fail(f"{path}: no metrics.jsonl there (give a run's --out folder or the file)")
        folder = os.path.dirname(os.path.abspath(metrics))
        name = os.path.basename(folder)
        runs.append((metrics, describe(folder, ("run", name, "")), name))
    return runs


def label_of(description, name, all_descriptions):
    algo, task, dataset = description
    if algo == "run":
        return name
    # The dataset only where runs of several datasets share a panel.
    datasets = {d[2] for d in all_descriptions}
    return f"{algo} ({dataset})" if len(datasets) > 1 else algo


def plot(runs, out, title):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    loaded = [(read_metrics(m), d, n) for m, d, n in runs]
    tracked_tasks = []
    for epochs, description, _ in loaded:
        if any("track_acc" in e for e in epochs) and description[1] not in tracked_tasks:
            tracked_tasks.append(description[1])
    # A panel of the task's accuracy only where it was followed (--eval-every), not just the end.
    has_task_acc = any(sum("task_acc" in e or "slow_acc" in e for e in ep) >= 2 for ep, _, _ in loaded)
    panels = len(tracked_tasks) + (1 if has_task_acc else 0) + 1
    figure, axes = plt.subplots(1, panels, figsize=(5.2 * panels, 4.2), squeeze=False)
    axes = list(axes[0])
    descriptions = [d for _, d, _ in loaded]

    for task, ax in zip(tracked_tasks, axes):
        for epochs, description, name in loaded:
            points = [(e["epoch"], 100 * e["track_acc"]) for e in epochs if "track_acc" in e]
            if description[1] != task or not points:
                continue
            x, y = zip(*points)
            ax.plot(x, y, marker="." if len(x) < 40 else None, label=label_of(description, name, descriptions))
        what = "classification" if task in ("supervised", "unsupervised") else "transfer"
        ax.set_title(f"{task}: linear classifier trained alongside ({what})")
        ax.set_xlabel("epoch")
        ax.set_ylabel("test accuracy on the classes (%)")
        ax.grid(alpha=0.3)
        ax.legend()
    next_panel = len(tracked_tasks)

    if has_task_acc:
        ax = axes[next_panel]
        next_panel += 1
        for epochs, description, name in loaded:
            points = [(e["epoch"], 100 * e.get("task_acc", e.get("slow_acc")))
                      for e in epochs if "task_acc" in e or "slow_acc" in e]
            if points:
                x, y = zip(*points)
                ax.plot(x, y, marker=".", label=f"{label_of(description, name, descriptions)}, {description[1]}")
        ax.set_title("test accuracy on the task's labels (FF: slow; bp-ce: its head)")
        ax.set_xlabel("epoch")
        ax.set_ylabel("test accuracy (%)")
        ax.grid(alpha=0.3)
        ax.legend()

    ax = axes[next_panel]
    for epochs, description, name in loaded:
        if not epochs:
            continue
        layers = len(epochs[0]["loss"])
        for slot in range(layers):
            x = [e["epoch"] for e in epochs]
            y = [e["loss"][slot] for e in epochs]
            which = "head" if description[0] == "bp-ce" else f"layer {slot + 1}" if layers > 1 else "loss"
            ax.plot(x, y, label=f"{label_of(description, name, descriptions)}, {description[1]}: {which}")
    ax.set_yscale("log")
    ax.set_title("training loss")
    ax.set_xlabel("epoch")
    ax.set_ylabel("mean loss per sample")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize="small")

    for ax in axes:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    temporary = out + ".tmp.png"
    figure.savefig(temporary, dpi=110)
    os.replace(temporary, out)  # never a half-written picture under the real name
    print(f"plot_curves.py: wrote {out}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("runs", nargs="*", help="run folders or metrics.jsonl files")
    parser.add_argument("--study", help="a study's folder: every cell")
    parser.add_argument("--out", help="the PNG to write (default with --study: DIR/curves.png)")
    parser.add_argument("--title", default="", help="a title over the panels")
    args = parser.parse_args()
    if bool(args.study) == bool(args.runs):
        fail("give either run folders / metrics.jsonl files, or --study DIR")
    runs = runs_of_study(args.study) if args.study else runs_of_paths(args.runs)
    out = args.out or (os.path.join(args.study, "curves.png") if args.study else None)
    if not out:
        fail("--out PNG is needed with run folders")
    if not os.path.isdir(os.path.dirname(os.path.abspath(out))):
        fail(f"the folder of --out {out} does not exist")
    plot(runs, out, args.title)


if __name__ == "__main__":
    main()
