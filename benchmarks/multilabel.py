"""Multi-label labelers on overlapping real activities: DCASE's scores, arg-max against Viterbi.

Data: :func:`sk_seqlabel.datasets.load_overlapping_activities` (two BasicMotions activity
streams summed channel-wise, 4 labels, about a third of the steps with two labels on; train
and test streams from disjoint recordings), 10 Hz. Each labeler is fitted once per seed inside a
``SequenceScaler`` pipeline, then its test probabilities are decoded both ways (decoding needs
no refit). Printed per (model, decoder): segment-based F1 and error rate on 1 s segments (10
steps, DCASE's default), event-based F1 and error rate with a 200 ms collar (2 steps) on
onsets, micro ("overall") and macro ("class-wise"), and the per-label segment-based F1; means
and spreads over the seeds.

Usage::

    python -m benchmarks.multilabel --json benchmarks/results/multilabel_cpu.json
    python -m benchmarks.multilabel --tiny  # seconds: a smoke run
"""

from __future__ import annotations

import argparse
import json
import platform
import time

import numpy as np
import sklearn
import torch
from sklearn.pipeline import make_pipeline

from sk_seqlabel import LSTMLabeler, SequenceScaler, TCNLabeler
from sk_seqlabel.datasets import ACTIVITY_NAMES, load_overlapping_activities
from sk_seqlabel.metrics import (
    event_based_error_rate,
    event_based_f1_score,
    segment_based_error_rate,
    segment_based_f1_score,
)

MODELS = {
    "TCN": lambda seed, epochs: TCNLabeler(max_epochs=epochs, random_state=seed),
    "BiLSTM": lambda seed, epochs: LSTMLabeler(max_epochs=epochs, random_state=seed),
}
SEGMENT, COLLAR = 10, 2  # 1 s segments, 200 ms collar at 10 Hz


def scores(y_true, y_pred):
    """DCASE's scores of one prediction: a flat dict."""
    out = {}
    for average in ("micro", "macro"):
        out[f"seg_f1_{average}"] = segment_based_f1_score(
            y_true, y_pred, segment_length=SEGMENT, average=average
        )
        out[f"seg_er_{average}"] = segment_based_error_rate(
            y_true, y_pred, segment_length=SEGMENT, average=average
        )
        out[f"evt_f1_{average}"] = event_based_f1_score(
            y_true, y_pred, collar=COLLAR, average=average
        )
        out[f"evt_er_{average}"] = event_based_error_rate(
            y_true, y_pred, collar=COLLAR, average=average
        )
    per_label = segment_based_f1_score(y_true, y_pred, segment_length=SEGMENT, average=None)
    for name, value in zip(ACTIVITY_NAMES, per_label, strict=True):
        out[f"seg_f1_{name}"] = float(value)
    return out


def run(models, seeds, epochs, n_streams):
    X_train, y_train = load_overlapping_activities("train", n_streams=n_streams, random_state=0)
    X_test, y_test = load_overlapping_activities("test", n_streams=n_streams, random_state=1)
    rows = []
    for name in models:
        for seed in seeds:
            start = time.perf_counter()
            model = make_pipeline(SequenceScaler(), MODELS[name](seed, epochs)).fit(
                X_train, y_train
            )
            fit_s = time.perf_counter() - start
            for decoder in ("argmax", "viterbi"):
                model[-1].set_params(decoder=decoder)
                result = scores(y_test, model.predict(X_test))
                rows.append({"model": name, "seed": seed, "decoder": decoder, "fit_s": fit_s})
                rows[-1].update(result)
                print(name, seed, decoder, {k: round(v, 3) for k, v in result.items()}, flush=True)
    return rows


def summary(rows):
    """Mean and standard deviation over seeds per (model, decoder), as a Markdown table."""
    keys = [k for k in rows[0] if k not in ("model", "seed", "decoder", "fit_s")]
    lines = ["| model | decoder | " + " | ".join(keys) + " |", "|" + "---|" * (len(keys) + 2)]
    for model in dict.fromkeys(r["model"] for r in rows):
        for decoder in ("argmax", "viterbi"):
            picked = [r for r in rows if r["model"] == model and r["decoder"] == decoder]
            cells = [
                f"{np.mean([r[k] for r in picked]):.3f} ± {np.std([r[k] for r in picked]):.3f}"
                for k in keys
            ]
            lines.append(f"| {model} | {decoder} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--n-streams", type=int, default=20)
    parser.add_argument("--tiny", action="store_true", help="a smoke run of seconds")
    parser.add_argument("--json", help="write the rows and the machine here")
    args = parser.parse_args(argv)
    if args.tiny:
        args.models, args.seeds, args.epochs, args.n_streams = ["TCN"], [0], 1, 4
    torch.set_num_threads(min(2, torch.get_num_threads()))
    rows = run(args.models, args.seeds, args.epochs, args.n_streams)
    print(summary(rows))
    if args.json:
        machine = {
            "processor": platform.processor() or platform.machine(),
            "python": platform.python_version(),
            "torch": torch.__version__,
            "sklearn": sklearn.__version__,
        }
        with open(args.json, "w") as f:
            json.dump({"args": vars(args), "machine": machine, "rows": rows}, f, indent=1)


if __name__ == "__main__":
    main()
