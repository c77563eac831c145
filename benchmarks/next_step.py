"""Next-note prediction against its known limit: causal TCN and one-way LSTM, defaults and presets.

Question (issue 13): how close do the causal labelers come, at their defaults, to the best
accuracy any causal predictor can reach, and which settings reach at least 97% of it?

Data: ``make_markov_songs`` (an order-2 chain over 12 notes, songs transposed into one of
``--n-keys`` keys, so a good predictor infers the key from the notes it has seen). One draw
of ``--n-train + --n-test`` songs from one chain, split in order: the first ``--n-train``
songs train, the rest test. The limit is the Bayes-optimal causal predictor's expected
accuracy on the test songs (key posterior by exact forward filtering).

Each row fits one configuration (``n_threads=1``, ``random_state=0``, everything else as
listed, the rest at the labeler's defaults) and predicts the test songs. Reported: the test
accuracy; the expected accuracy of the same predictions (the Bayes probability of each
predicted note, averaged: the accuracy without the sampling noise of the drawn notes); and
that expected accuracy as a fraction of the limit, the figure to compare with 97%.

    python -m benchmarks.next_step                  # the full run (about 8 minutes, 2 cores)
    python -m benchmarks.next_step --tiny           # smoke run (seconds; not figures)
    python -m benchmarks.next_step --models LSTM --json /tmp/next_step.json
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from benchmarks import common
from sk_seqlabel.datasets import make_markov_songs

#: The causal form of each labeler: the only keyword "defaults" rows set.
CAUSAL = {"TCN": dict(causal=True), "LSTM": dict(bidirectional=False)}

#: Configurations tried, in order: the defaults, then what the search found (RESULTS.md,
#: section 17, has the rest of the search and the reasons).
SETTINGS = {
    "TCN": [
        {},
        dict(kernel_size=3, n_blocks=3),
        dict(n_filters=128, kernel_size=3, n_blocks=2, dropout=0.2),
    ],
    "LSTM": [
        {},
        dict(dropout=0.3),
    ],
}

#: The share of the limit a preset must reach.
TARGET = 0.97


def draw_data(args):
    """Train and test songs of one chain, and the Bayes quantities of the test songs."""
    X, y, limit = make_markov_songs(
        args.n_train + args.n_test,
        n_keys=args.n_keys,
        random_state=args.seed,
        return_limit=True,
    )
    test = slice(args.n_train, None)
    proba = limit.proba[test]
    bayes = dict(
        limit=_mean([p.max(axis=1) for p in proba]),
        bayes_accuracy=_mean(
            [p.argmax(axis=1) == labels for p, labels in zip(proba, y[test], strict=True)]
        ),
        chance=1 / X[0].shape[1],
        # Of the whole draw (training and test songs): the Bunch gives no per-song figures.
        key_known_whole_draw=limit.key_known_accuracy,
        key_blind_whole_draw=limit.key_blind_accuracy,
    )
    return X[: args.n_train], y[: args.n_train], X[test], y[test], proba, bayes


def _mean(arrays):
    return float(np.mean(np.concatenate(arrays)))


def evaluate(name, params, data, args):
    """Fit one configuration on the training songs and score it on the test songs."""
    from sk_seqlabel import LSTMLabeler, TCNLabeler

    X_train, y_train, X_test, y_test, proba, bayes = data
    cls = {"TCN": TCNLabeler, "LSTM": LSTMLabeler}[name]
    clf = cls(**CAUSAL[name], **params, n_threads=1, random_state=0)
    if args.tiny:
        clf.set_params(max_epochs=2)
    tic = time.perf_counter()
    clf.fit(X_train, y_train)
    fit_s = time.perf_counter() - tic
    tic = time.perf_counter()
    y_pred = clf.predict(X_test)
    predict_s = time.perf_counter() - tic
    accuracy = _mean([pred == labels for pred, labels in zip(y_pred, y_test, strict=True)])
    expected = _mean([p[np.arange(len(pred)), pred] for p, pred in zip(proba, y_pred, strict=True)])
    return dict(
        model=name,
        settings=", ".join(f"{k}={v}" for k, v in params.items()) or "defaults",
        fit_s=round(fit_s, 1),
        predict_s=round(predict_s, 2),
        accuracy=round(accuracy, 4),
        expected_accuracy=round(expected, 4),
        fraction_of_limit=round(expected / bayes["limit"], 4),
        reaches_target="yes" if expected / bayes["limit"] >= TARGET else "no",
        final_train_loss=round(float(clf.net_.history[-1, "train_loss"]), 3),
    )


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tiny", action="store_true", help="smoke-run sizes (seconds; not figures)")
    ap.add_argument("--models", default="TCN,LSTM", help="comma list: TCN, LSTM")
    ap.add_argument("--n-train", type=int, default=3000, help="training songs")
    ap.add_argument("--n-test", type=int, default=1000, help="test songs")
    ap.add_argument("--n-keys", type=int, default=3, help="keys of make_markov_songs")
    ap.add_argument("--seed", type=int, default=0, help="random_state of make_markov_songs")
    ap.add_argument("--json", default=None, help="also write the results here")
    args = ap.parse_args()
    if args.tiny:
        args.n_train, args.n_test = 40, 20

    env = common.environment(torch.device("cpu"), args)
    print(common.describe_run(env))
    print(f"skorch {env['skorch']}, numpy {env['numpy']}, {env['cpu_count']} CPUs", flush=True)
    tic = time.perf_counter()
    data = draw_data(args)
    X_train, _, X_test, _, _, bayes = data
    n_train_steps = sum(len(x) for x in X_train)
    n_test_steps = sum(len(x) for x in X_test)
    print(
        f"data: make_markov_songs(n_keys={args.n_keys}, random_state={args.seed}), defaults "
        f"otherwise; {args.n_train} training songs ({n_train_steps:,} steps), {args.n_test} "
        f"test songs ({n_test_steps:,} steps), drawn in {time.perf_counter() - tic:.1f} s"
    )
    print(
        f"test songs: Bayes limit (expected accuracy) {bayes['limit']:.4f}; the Bayes "
        f"predictor's realised accuracy {bayes['bayes_accuracy']:.4f}; chance "
        f"{bayes['chance']:.4f}\nwhole draw: told the key {bayes['key_known_whole_draw']:.4f}, "
        f"key prior only {bayes['key_blind_whole_draw']:.4f}",
        flush=True,
    )

    rows = []
    for name in [m for m in args.models.split(",") if m]:
        for params in SETTINGS[name]:
            rows.append(evaluate(name, params, data, args))
            print(rows[-1], flush=True)
    common.print_table(
        rows,
        [
            "model",
            "settings",
            "fit_s",
            "predict_s",
            "accuracy",
            "expected_accuracy",
            "fraction_of_limit",
            "reaches_target",
            "final_train_loss",
        ],
        title=(
            f"next-note prediction, causal labelers (n_threads=1, random_state=0); limit "
            f"{bayes['limit']:.4f}; fraction_of_limit = expected_accuracy / limit, target "
            f">= {TARGET}\n" + common.describe_run(env)
        ),
    )
    print(f"\ntotal {time.perf_counter() - tic:.0f} s")
    common.write_json(args.json, dict(env=env, args=vars(args), bayes=bayes, rows=rows))


if __name__ == "__main__":
    main()
