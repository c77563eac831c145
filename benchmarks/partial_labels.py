"""Partly labelled training streams: what plain masking keeps of the fully labelled fit.

The demo's BasicMotions activity streams (``load_activity_streams``, the demo's full sizes:
40 train and 20 test streams of up to 8 recordings, from disjoint recordings), with the
training labels hidden by ``mask_labels``: 100%, 50% and 10% of each stream's steps kept in
stretches of 50 steps (5 s at 10 Hz), and one step per segment (timestamp supervision).
Test streams are always fully labelled. For each (labeling, seed):

- ``masked``: the labeler fitted on the whole streams with the hidden steps marked missing
  (``missing_label``): every step is input, only the labelled ones are in the loss;
- ``cut out``: the naive alternative, the labelled stretches cut out as separate recordings
  and fitted as fully labelled ones. With one step per segment these are one-step
  recordings, which a temporal model cannot learn from: not run;
- ``pseudo`` (one step per segment only): one pseudo-labelling pass; the masked fit labels
  the unlabelled training steps where its probability is at least ``--confidence``, and a
  new fit (same seed) trains on those and the given labels.

Printed and saved per row: timestep accuracy and edit score on the test streams with the
default decoder, and the arg-max's accuracy.

Usage::

    python -m benchmarks.partial_labels --json benchmarks/results/partial_labels_cpu.json
    python -m benchmarks.partial_labels --tiny  # seconds: a smoke run
"""

from __future__ import annotations

import argparse
import itertools
import time

import numpy as np
import torch
from sklearn.pipeline import make_pipeline

from benchmarks import common
from sk_seqlabel import MultiStageTCNLabeler, SequenceScaler, TCNLabeler
from sk_seqlabel._data.targets import labelled_masks
from sk_seqlabel.datasets import load_activity_streams, mask_labels
from sk_seqlabel.metrics import edit_score, timestep_accuracy_score

#: name -> keywords of mask_labels (None: every label kept).
LABELINGS = {
    "100%": None,
    "50%": dict(fraction=0.5, stretch_length=50),
    "10%": dict(fraction=0.1, stretch_length=50),
    "1 per segment": dict(per_segment=True),
}
MODELS = {"TCN": TCNLabeler, "MultiStageTCN": MultiStageTCNLabeler}


def load(tiny, seed):
    sizes = dict(n_train=9, n_test=4, max_rec=4) if tiny else dict(n_train=40, n_test=20, max_rec=8)
    X_train, y_train = load_activity_streams(
        "train", n_streams=sizes["n_train"], max_recordings=sizes["max_rec"], random_state=seed
    )
    X_test, y_test = load_activity_streams(
        "test", n_streams=sizes["n_test"], max_recordings=sizes["max_rec"], random_state=seed + 1
    )
    return X_train, y_train, X_test, y_test


def cut_out(X, y):
    """The labelled stretches of each stream, as recordings of their own."""
    X_cut, y_cut = [], []
    for x, yi, mask in zip(X, y, labelled_masks(y), strict=True):
        edges = np.flatnonzero(np.diff(np.concatenate([[0], mask.astype(np.int8), [0]])))
        for a, b in zip(edges[::2], edges[1::2], strict=True):
            X_cut.append(x[a:b])
            y_cut.append(np.asarray(yi[a:b].tolist()))
    return X_cut, y_cut


def pseudo_labels(pipe, X, y, confidence):
    """y with its missing steps filled where the fitted pipe is at least this confident."""
    classes = pipe[-1].classes_
    out = []
    for proba, yi, mask in zip(pipe.predict_proba(X), y, labelled_masks(y), strict=True):
        filled = np.asarray(yi, dtype=object).copy()
        sure = ~mask & (proba.max(axis=1) >= confidence)
        filled[sure] = classes[proba[sure].argmax(axis=1)]
        out.append(filled)
    return out


def fit_and_score(cls, seed, epochs, tiny, X_train, y_train, X_test, y_test):
    keywords, _ = cls._demo_params(tiny)
    labeler = cls(**keywords, max_epochs=epochs, random_state=seed, n_threads=1)
    pipe = make_pipeline(SequenceScaler(), labeler)
    tic = time.perf_counter()
    pipe.fit(X_train, y_train)
    fit_s = time.perf_counter() - tic
    y_pred = pipe.predict(X_test)
    labeler.set_params(decoder="argmax", min_segment_length=1)
    argmax_acc = timestep_accuracy_score(y_test, pipe.predict(X_test))
    labeler.set_params(decoder="auto", min_segment_length="auto")
    scores = {
        "accuracy": timestep_accuracy_score(y_test, y_pred),
        "edit": edit_score(y_test, y_pred),
        "argmax_accuracy": argmax_acc,
        "fit_s": fit_s,
    }
    return pipe, scores


def run(args):
    rows = []
    for model, seed in itertools.product(args.models, range(args.seeds)):
        cls = MODELS[model]
        epochs = args.max_epochs or (2 if args.tiny else 40)
        X_train, y_train, X_test, y_test = load(args.tiny, seed)
        for labeling, masking in LABELINGS.items():
            y_masked = (
                y_train if masking is None else mask_labels(y_train, random_state=seed, **masking)
            )
            share = float(np.mean(np.concatenate(labelled_masks(y_masked))))
            common_row = dict(model=model, seed=seed, labeling=labeling, labelled_share=share)
            fits = {"masked": (X_train, y_masked)}
            if masking is not None and not masking.get("per_segment"):
                fits["cut out"] = cut_out(X_train, y_masked)
            for method, (X_fit, y_fit) in fits.items():
                pipe, scores = fit_and_score(
                    cls, seed, epochs, args.tiny, X_fit, y_fit, X_test, y_test
                )
                rows.append({**common_row, "method": method, **scores})
                print(rows[-1], flush=True)
                if method == "masked" and masking is not None and masking.get("per_segment"):
                    y_pseudo = pseudo_labels(pipe, X_train, y_masked, args.confidence)
                    pseudo_share = float(np.mean(np.concatenate(labelled_masks(y_pseudo))))
                    _, scores = fit_and_score(
                        cls, seed, epochs, args.tiny, X_train, y_pseudo, X_test, y_test
                    )
                    rows.append(
                        {**common_row, "method": "pseudo", "pseudo_share": pseudo_share, **scores}
                    )
                    print(rows[-1], flush=True)
    return rows


def summary(rows):
    """Mean ± sd over seeds per (model, labeling, method), and the share of the full fit."""
    lines = [
        "| model | labelled | method | labelled steps | accuracy | edit | arg-max accuracy |"
        " of full accuracy |",
        "|---|---|---|---|---|---|---|---|",
    ]
    keys = list(dict.fromkeys((r["model"], r["labeling"], r["method"]) for r in rows))
    for model, labeling, method in keys:
        picked = [
            r for r in rows if (r["model"], r["labeling"], r["method"]) == (model, labeling, method)
        ]
        full = np.mean(
            [r["accuracy"] for r in rows if (r["model"], r["labeling"]) == (model, "100%")]
        )

        def ms(key, picked=picked):
            v = np.array([r[key] for r in picked])
            return f"{v.mean():.3f} ± {v.std(ddof=1) if len(v) > 1 else 0:.3f}"

        share = np.mean([r.get("pseudo_share", r["labelled_share"]) for r in picked])
        frac = np.mean([r["accuracy"] for r in picked]) / full
        lines.append(
            f"| {model} | {labeling} | {method} | {share:.1%} | {ms('accuracy')} | {ms('edit')} |"
            f" {ms('argmax_accuracy')} | {frac:.1%} |"
        )
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["TCN"], choices=list(MODELS))
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--max-epochs", type=int, default=None)
    parser.add_argument("--confidence", type=float, default=0.9)
    parser.add_argument("--tiny", action="store_true")
    parser.add_argument("--json", default=None)
    args = parser.parse_args(argv)
    tic = time.perf_counter()
    rows = run(args)
    print(summary(rows))
    print(f"total {time.perf_counter() - tic:.0f} s")
    if args.json:
        common.write_json(
            args.json, {"environment": common.environment(torch.device("cpu"), args), "rows": rows}
        )


if __name__ == "__main__":
    main()
