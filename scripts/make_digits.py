"""Regenerate the shipped ``digits`` data set: a family of MLPs trained here.

A family of one-hidden-layer scikit-learn MLPs of growing width (fixed seeds) is trained on
half of scikit-learn's bundled handwritten-digits images (``sklearn.datasets.load_digits``,
1,797 8x8 images, 10 classes) and scored on the other half.  Per test image and model the
probability of every class is recorded: a real per-question data set with probabilities.

Compute axis: parameters ``N = 64·h + h + 10·h + 10`` of a width-``h`` network; training
examples seen ``D = n_train × epochs`` (every model trains for the same number of epochs,
no early stopping); FLOPs ``≈ 6·N·D``.  Since D is the same for every model, FLOPs and
parameters order the models the same way.

Writes ``datasets/digits_models.csv`` (one row per model) and
``datasets/digits_probs.csv.gz`` (one row per test image × model: ``model, image, label,
p_0 .. p_9``, 9 significant digits).  The output is identical on one platform (same
library versions); across platforms floating-point details may differ in the last digits.

Usage::

    python scripts/make_digits.py [OUT_DIR]        # default: datasets/
"""

from __future__ import annotations

import gzip
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier

#: hidden-layer widths of the family, smallest first
WIDTHS = (1, 2, 3, 4, 6, 8, 12, 16, 32, 64)
EPOCHS = 60
SPLIT_SEED = 0
MODEL_SEED = 0
N_CLASSES = 10


def n_params(width: int, n_in: int = 64, n_out: int = N_CLASSES) -> int:
    """Weights and biases of a one-hidden-layer MLP."""
    return n_in * width + width + width * n_out + n_out


def build(widths: tuple[int, ...] = WIDTHS) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Train the family (or the members of ``widths``); return ``(models, probs)`` tables."""
    digits = load_digits()
    x = digits.data / 16.0
    y = digits.target
    idx = np.arange(len(y))
    tr, te = train_test_split(idx, test_size=0.5, random_state=SPLIT_SEED, stratify=y)
    models, probs = [], []
    for width in widths:
        name = f"mlp-h{width}"
        clf = MLPClassifier(
            hidden_layer_sizes=(width,),
            solver="adam",
            learning_rate_init=1e-3,
            batch_size=64,
            max_iter=EPOCHS,
            tol=0.0,
            n_iter_no_change=EPOCHS + 1,
            random_state=MODEL_SEED,
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            clf.fit(x[tr], y[tr])
        p = clf.predict_proba(x[te])
        n = n_params(width)
        d = len(tr) * clf.n_iter_
        models.append(
            {
                "model": name,
                "family": "digits-mlp",
                "hidden_width": width,
                "params": n,
                "tokens": d,
                "flops": 6.0 * n * d,
                "epochs": clf.n_iter_,
                "n_train": len(tr),
                "seed": MODEL_SEED,
                "test_accuracy": float(np.mean(p.argmax(axis=1) == y[te])),
            }
        )
        frame = pd.DataFrame(p, columns=[f"p_{k}" for k in range(N_CLASSES)])
        frame.insert(0, "label", y[te])
        frame.insert(0, "image", te)
        frame.insert(0, "model", name)
        probs.append(frame)
    return pd.DataFrame(models), pd.concat(probs, ignore_index=True)


def write(out_dir: Path) -> None:
    """Write both files into ``out_dir`` (byte-identical across runs: gzip without mtime)."""
    models, probs = build()
    out_dir.mkdir(parents=True, exist_ok=True)
    models.to_csv(out_dir / "digits_models.csv", index=False)
    text = probs.to_csv(index=False, float_format="%.9g")
    with open(out_dir / "digits_probs.csv.gz", "wb") as raw:
        with gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as fh:
            fh.write(text.encode())
    print(models[["model", "params", "flops", "test_accuracy"]].to_string(index=False))


if __name__ == "__main__":
    write(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[1] / "datasets")
