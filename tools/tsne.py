#!/usr/bin/python3
"""t-SNE pictures of the embeddings `ffcuda embed` writes.

    tools/tsne.py DIR [DIR ...] [--points 4000 | --all] [--sheet SHEET.png]

For every features_*.npy in each DIR: a 2-D t-SNE of the rows (a fixed random subset of 4000
rows by default, so a picture takes about a minute on two cores), points coloured by class
with a legend, titled with the run (algorithm, task, layers, label in the input); written next to
the features as tsne_<layers>.png. With several embeddings, --sheet also draws them side by side
on one page (FF against the backprop baselines, say). Needs python3-numpy, python3-sklearn and
python3-matplotlib (tools/setup.sh installs them).
"""
import argparse
import json
import os
import sys

import numpy as np


def load_embeddings(folder):
    meta_path = os.path.join(folder, "meta.json")
    if not os.path.exists(meta_path):
        sys.exit(f"tsne.py: error: {folder} has no meta.json: write it with `ffcuda embed --out {folder}`")
    with open(meta_path) as f:
        meta = json.load(f)
    labels = np.load(os.path.join(folder, meta["labels"]))
    for entry in meta["features"]:
        features = np.load(os.path.join(folder, entry["file"]))
        if features.shape[0] != labels.shape[0]:
            sys.exit(f"tsne.py: error: {entry['file']} has {features.shape[0]} rows, labels.npy {labels.shape[0]}")
        yield meta, entry, features, labels


def title_of(meta, entry):
    layers = ",".join(str(l) for l in entry["layers"])
    subset = f", classes {meta['classes']}" if meta.get("classes") else ""
    return (f"{meta['algo']} / {meta['task']} ({meta['dataset']}{subset})\n"
            f"layers {layers}, {meta['label']} label, {meta['split']} n={meta['count']}")


def embed_2d(features, points, seed):
    from sklearn.decomposition import PCA
    from sklearn.manifold import TSNE

    rows = np.arange(features.shape[0])
    if points and features.shape[0] > points:
        rows = np.sort(np.random.default_rng(seed).choice(rows, points, replace=False))
    x = features[rows].astype(np.float64)
    if x.shape[1] > 50:  # the usual PCA to 50 dimensions first: same picture, far faster
        x = PCA(n_components=50, random_state=seed).fit_transform(x)
    perplexity = min(30.0, max(5.0, (len(rows) - 1) / 3.0))
    y = TSNE(n_components=2, init="pca", perplexity=perplexity, random_state=seed).fit_transform(x)
    return rows, y


def draw(ax, y, labels, title):
    import matplotlib.pyplot as plt

    classes = np.unique(labels)
    colours = plt.get_cmap("tab10" if len(classes) <= 10 else "tab20")
    for k, c in enumerate(classes):
        mask = labels == c
        ax.scatter(y[mask, 0], y[mask, 1], s=3, color=colours(k % colours.N), label=str(c), alpha=0.7)
    ax.set_title(title, fontsize=9)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.legend(title="class", fontsize=7, title_fontsize=7, markerscale=3, loc="best", frameon=False)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dirs", nargs="+", help="folders written by `ffcuda embed`")
    parser.add_argument("--points", type=int, default=4000, help="rows drawn per embedding (default 4000)")
    parser.add_argument("--all", action="store_true", help="every row (slow for 10000+ points)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--sheet", help="also draw every embedding side by side into this PNG")
    args = parser.parse_args()
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        import sklearn  # noqa: F401
    except ImportError as e:
        sys.exit(f"tsne.py: error: {e}: install python3-matplotlib and python3-sklearn (tools/setup.sh)")

    panels = []
    for folder in args.dirs:
        for meta, entry, features, labels in load_embeddings(folder):
            rows, y = embed_2d(features, 0 if args.all else args.points, args.seed)
            title = title_of(meta, entry)
            fig, ax = plt.subplots(figsize=(6, 6))
            draw(ax, y, labels[rows], title)
            name = os.path.splitext(entry["file"])[0].replace("features_", "tsne_")
            path = os.path.join(folder, name + ".png")
            fig.tight_layout()
            fig.savefig(path + ".tmp.png", dpi=110)
            os.replace(path + ".tmp.png", path)
            plt.close(fig)
            print(f"wrote {path} ({len(rows)} of {features.shape[0]} points, {features.shape[1]} values each)")
            panels.append((y, labels[rows], title))
    if args.sheet:
        fig, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 5.4), squeeze=False)
        for ax, (y, labels, title) in zip(axes[0], panels):
            draw(ax, y, labels, title)
        fig.tight_layout()
        fig.savefig(args.sheet + ".tmp.png", dpi=90)
        os.replace(args.sheet + ".tmp.png", args.sheet)
        print(f"wrote {args.sheet} ({len(panels)} panels)")


if __name__ == "__main__":
    main()
