"""Live streams: update latency, throughput with many streams, and cost as streams age.

Measures, for a causal TCN, a one-way LSTM (at the reference loops' sizes) and a one-way
ConvLSTM (its labels come by pooling windows, after its look-ahead), fitted briefly on random
data (speed does not depend on the weights):

- latency of one update of 1 stream with 1 new sample (median, p99), early and late in the
  stream's life (flat = the cost does not grow with age);
- samples/s with 1, 100 and 1,000 streams at 1, 10 and 100 new samples per update, all
  streams in one ``update`` (ours), against updating one stream per call (a loop over
  streams), and against what users do without streaming: ``predict_proba`` on each stream's
  whole history at every update, timed when the streams are ``AGE`` samples old (its cost
  grows with age; for at most 100 streams).

Command: ``python -m benchmarks.streaming --device cpu`` (``--quick`` for a smoke run,
``--models ConvLSTM`` for some of the models).
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from benchmarks import common

#: The streaming models measured, by the names ``_fitted`` knows.
MODELS = ("TCN", "LSTM", "ConvLSTM")

#: Age of the streams (samples already seen) when re-predicting whole histories is timed.
AGE = 1_000


def _fitted(name, device):
    from sk_seqlabel import ConvLSTMLabeler, LSTMLabeler, TCNLabeler

    rng = np.random.default_rng(0)
    X = [rng.standard_normal((200, 16)).astype(np.float32) for _ in range(8)]
    y = [rng.integers(0, 5, 200) for _ in range(8)]
    if name == "TCN":
        clf = TCNLabeler(n_filters=64, kernel_size=5, n_blocks=4, causal=True, max_epochs=1)
    elif name == "LSTM":
        clf = LSTMLabeler(hidden_size=128, num_layers=2, bidirectional=False, max_epochs=1)
    else:
        clf = ConvLSTMLabeler(n_filters=64, hidden_size=128, bidirectional=False, max_epochs=1)
    return clf.set_params(device=device, precision="fp32").fit(X, y)


def _latency(clf, n_updates):
    stream = clf.start_stream()
    x = np.random.default_rng(1).standard_normal((n_updates, 16)).astype(np.float32)
    times = []
    for t in range(n_updates):
        tic = time.perf_counter()
        stream.update({"a": x[t : t + 1]})
        times.append(time.perf_counter() - tic)
    times = np.array(times) * 1e3
    early, late = times[10:60], times[-50:]
    return {
        "median_ms": round(float(np.median(times[10:])), 3),
        "p99_ms": round(float(np.percentile(times[10:], 99)), 3),
        "early_median_ms": round(float(np.median(early)), 3),
        "late_median_ms": round(float(np.median(late)), 3),
    }


def _throughput(clf, n_streams, per_update, n_updates, mode):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((n_streams, per_update * n_updates, 16)).astype(np.float32)
    ids = list(range(n_streams))
    if mode == "history":
        history = rng.standard_normal((n_streams, AGE + per_update * n_updates, 16))
        history = history.astype(np.float32)
    stream = clf.start_stream()
    tic = time.perf_counter()
    for u in range(n_updates):
        window = slice(u * per_update, (u + 1) * per_update)
        if mode == "batched":
            stream.update({i: x[i, window] for i in ids})
        elif mode == "one at a time":
            for i in ids:
                stream.update({i: x[i, window]})
        else:  # predict_proba on each stream's whole history, here AGE samples old
            clf.predict_proba([history[i, : AGE + window.stop] for i in ids])
    seconds = time.perf_counter() - tic
    return n_streams * per_update * n_updates / seconds


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--quick", action="store_true", help="smoke-run sizes (seconds)")
    ap.add_argument("--json", default="benchmarks/results/streaming_cpu.json")
    ap.add_argument("--models", nargs="+", default=list(MODELS), choices=MODELS)
    args = ap.parse_args()
    import torch

    env = common.environment(torch.device(args.device), args)
    print(common.describe_run(env))
    budget = 2_000 if args.quick else 40_000  # samples per configuration (batched)
    results = {"env": env}
    rows = []
    for name in args.models:
        clf = _fitted(name, args.device)
        lat = _latency(clf, 100 if args.quick else 1_000)
        print(f"{name}: 1 stream, 1 sample an update: {lat}")
        results[f"{name}_latency"] = lat
        for n_streams in (1, 100, 1_000):
            for per_update in (1, 10, 100):
                n_updates = max(2, budget // (n_streams * per_update))
                row = {"model": name, "streams": n_streams, "per_update": per_update}
                row["batched"] = _throughput(clf, n_streams, per_update, n_updates, "batched")
                loop_updates = max(1, min(n_updates, 2_000 // (n_streams * per_update)))
                row["one_at_a_time"] = _throughput(
                    clf, n_streams, per_update, loop_updates, "one at a time"
                )
                history_updates = max(1, min(20, 4_000 // (n_streams * per_update)))
                row["whole_history"] = _throughput(
                    clf, min(n_streams, 100), per_update, history_updates, "history"
                )
                row["batched_vs_loop"] = row["batched"] / row["one_at_a_time"]
                rows.append(row)
                print(
                    f"{name} {n_streams:>5} streams x {per_update:>3}/update: batched "
                    f"{row['batched']:>10,.0f}/s  one at a time {row['one_at_a_time']:>9,.0f}/s "
                    f" whole history {row['whole_history']:>9,.0f}/s  "
                    f"ratio {row['batched_vs_loop']:.1f}"
                )
    results["throughput"] = rows
    with open(args.json, "w") as f:
        json.dump(results, f, indent=1, default=str)
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
