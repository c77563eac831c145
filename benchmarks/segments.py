"""Segment quality: every labeler x decoder on balanced and imbalanced tasks.

Two data sets of real streams, built as the demo builds them (crops of real recordings joined
end to end, every join a change of label; train and test streams from disjoint recordings),
and two imbalanced synthetic ones:

- ``activity``: the demo's BasicMotions streams (``load_activity_streams``, the demo's full
  sizes), 4 activities, 6 channels at 10 Hz;
- ``vowels``: sktime's JapaneseVowels, 9 speakers saying "ae", 12 LPC channels, utterances of
  7 to 29 frames joined into streams of 3 to 8 utterances: who speaks at each frame;
- ``masks``: ``make_event_masks`` (binary, about 75% background, events of 20-200 steps on 3
  of 6 channels together, single-channel decoys), 50 train and 30 test recordings of
  200-2,000 steps;
- ``rare``: ``make_rare_segments`` (4 classes: a background of about 80% and rare segments
  of 5-25 steps, 11%, 6% and 3%), 50 train and 30 test sequences of 100-1,000 steps.

Each model is fitted once per (data set, training variant, seed) inside a ``SequenceScaler``
pipeline, then its test log-probabilities are decoded with every decoder (decoding needs no
refit: the label counts come with every fit). Printed per row: accuracy, macro-F1, edit,
F1@{10,25,50}, fit seconds, predict seconds (one call, decoding included) and the decoder's
share of it. With ``--reference``, a hand-written textbook TCN (``benchmarks/reference_tcn``)
is trained on the same data and seeds, and read with the arg-max.

Training variants (``--variants``), to find out what in training costs segment quality:

- ``ours``: the defaults (length-bucketed batches under a cap of padded steps, cut where
  padding plus a per-batch cost is least, shuffled batch order);
- ``random32``: what a hand-written Keras loop does: batches of 32 sequences drawn at random
  (no bucketing), padded to the batch's longest, whole sequences;
- ``smooth``: ours plus MS-TCN's smoothing loss (0.15, tau 4).

Usage::

    python -m benchmarks.segments --reference --json benchmarks/results/segments_broad_cpu.json
    python -m benchmarks.segments --tiny  # seconds: a smoke run
    python -m benchmarks.segments --long 10000000  # one 10 M-step recording: time, memory
    python -m benchmarks.segments --data activity --models TCN --variants ours random32
"""

from __future__ import annotations

import argparse
import itertools
import time

import numpy as np
import torch
from sklearn.metrics import f1_score
from sklearn.pipeline import make_pipeline
from torch.utils.data import DataLoader

from benchmarks import common, reference_tcn
from sk_seqlabel import SequenceScaler
from sk_seqlabel._decoding import decode
from sk_seqlabel._training.batching import collate_padded
from sk_seqlabel.datasets import load_activity_streams, make_event_masks, make_rare_segments
from sk_seqlabel.labelers import all_labelers
from sk_seqlabel.metrics import edit_score, segment_f1_score, timestep_accuracy_score

#: name -> keywords of the labeler's predict-time decoding ("w": prior_weight).
DECODERS = {
    "argmax": dict(decoder="argmax", min_segment_length=1, decoder_lag=None),
    "argmax min10": dict(decoder="argmax", min_segment_length=10, decoder_lag=None),
    **{
        f"viterbi w{w}{' min-auto' if d == 'auto' else ''}": dict(
            decoder="viterbi", min_segment_length=d, decoder_lag=None, prior_weight=w
        )
        for d in (1, "auto")
        for w in (0.0, 0.25, 0.5, 1.0)
    },
    "viterbi w0.0 min5 lag10": dict(
        decoder="viterbi", min_segment_length=5, decoder_lag=10, prior_weight=0.0
    ),
    "viterbi w1.0 min5 lag10": dict(
        decoder="viterbi", min_segment_length=5, decoder_lag=10, prior_weight=1.0
    ),
}

DECODING_KEYWORDS = ("decoder", "min_segment_length", "decoder_lag", "prior_weight")

#: Epochs of the labelers and of the reference loop per data set: the demo's 40 on the real
#: streams; on the synthetic sets (larger, sizes in RESULTS 18) the labelers' own default
#: ``max_epochs`` (30), the reference half its real-stream count, to fit the whole run in about
#: an hour on 2 shared cores.
EPOCHS = {"activity": 40, "vowels": 40, "masks": 30, "rare": 30}
REFERENCE_EPOCHS = {"activity": 80, "vowels": 80, "masks": 40, "rare": 40}


def random_batches(dataset, *, batch_size, shuffle=False, random_state=None, **_):
    """Batches of ``batch_size`` sequences drawn at random, padded to the longest: Keras's way."""
    generator = torch.Generator()
    generator.manual_seed(int(random_state or 0))
    return DataLoader(
        dataset,
        batch_size=batch_size,
        shuffle=shuffle,
        generator=generator,
        collate_fn=collate_padded,
    )


def with_random_batches(labeler):
    """The labeler, trained on random batches of whole sequences instead of ours."""

    class RandomBatches(type(labeler)):
        _module = type(labeler)._module  # (registers a copy; harmless in a benchmark)

        def _make_net(self, policy, **kwargs):
            net = super()._make_net(policy, **kwargs)
            net.set_params(iterator_train=random_batches)
            return net

    RandomBatches.__name__ = type(labeler).__name__
    return RandomBatches(**labeler.get_params())


def vowel_streams(split, n_streams, rng, min_recordings=3, max_recordings=8):
    """Streams of JapaneseVowels utterances, consecutive ones by different speakers."""
    from sktime.datasets import load_japanese_vowels

    X, y = load_japanese_vowels(split=split, return_type="df-list")
    X = [np.asarray(x, dtype=np.float32) for x in X]
    y = np.asarray(y, dtype=str)
    streams, labels = [], []
    for _ in range(n_streams):
        parts, last = [], None
        for _ in range(rng.integers(min_recordings, max_recordings + 1)):
            i = rng.choice(np.flatnonzero(y != last))
            parts.append(i)
            last = y[i]
        streams.append(np.concatenate([X[i] for i in parts]))
        labels.append(np.concatenate([np.full(len(X[i]), y[i]) for i in parts]))
    return streams, labels


def load(name, tiny, seed):
    if name in ("masks", "rare"):
        # One call, then a split: the rare classes' means depend on the seed.
        n_train, n_test = (8, 4) if tiny else (50, 30)
        make = make_event_masks if name == "masks" else make_rare_segments
        X, y = make(n_train + n_test, random_state=seed)
        return X[:n_train], y[:n_train], X[n_train:], y[n_train:]
    if name == "activity":
        sizes = (
            dict(n_train=9, n_test=4, max_rec=4) if tiny else dict(n_train=40, n_test=20, max_rec=8)
        )
        X_train, y_train = load_activity_streams(
            "train",
            n_streams=sizes["n_train"],
            max_recordings=sizes["max_rec"],
            random_state=seed,
        )
        X_test, y_test = load_activity_streams(
            "test",
            n_streams=sizes["n_test"],
            max_recordings=sizes["max_rec"],
            random_state=seed + 1,
        )
        return X_train, y_train, X_test, y_test
    rng = np.random.default_rng(seed)
    n_train, n_test = (8, 4) if tiny else (80, 40)
    return (*vowel_streams("train", n_train, rng), *vowel_streams("test", n_test, rng))


def decode_all(spec, log_proba):
    return [decode(spec, p) for p in log_proba]


def best_time(fn, repeats=3):
    """Fastest of ``repeats`` calls, in seconds (the first also compiles what it needs)."""
    times = []
    for _ in range(repeats):
        tic = time.perf_counter()
        fn()
        times.append(time.perf_counter() - tic)
    return min(times)


def scores(y_true, y_pred):
    return {
        "accuracy": timestep_accuracy_score(y_true, y_pred),
        "macro_f1": float(
            f1_score(np.concatenate(y_true), np.concatenate(y_pred), average="macro")
        ),
        "edit": edit_score(y_true, y_pred),
        **{f"f1@{k}": segment_f1_score(y_true, y_pred, overlap=k / 100) for k in (10, 25, 50)},
    }


def labeler_for(cls, variant, tiny, seed, max_epochs):
    """The labeler as the demo configures it (its keywords), at the package's decoding defaults."""
    keywords, _ = cls._demo_params(tiny)
    labeler = cls(
        **keywords,
        max_epochs=max_epochs,
        random_state=seed,
        n_threads=1,
        **({"smoothing": 0.15} if variant == "smooth" else {}),
    )
    return with_random_batches(labeler) if variant == "random32" else labeler


def run(args):
    rows = []
    models = [c for c in all_labelers() if c.__name__.removesuffix("Labeler") in args.models]
    for data_name, seed in itertools.product(args.data, range(args.seeds)):
        X_train, y_train, X_test, y_test = load(data_name, args.tiny, seed)
        epochs = args.max_epochs or (2 if args.tiny else EPOCHS[data_name])
        for cls, variant in itertools.product(models, args.variants):
            rows += fit_and_decode(
                data_name, cls, variant, seed, epochs, args.tiny, X_train, y_train, X_test, y_test
            )
        if args.reference:
            rows.append(reference_row(data_name, seed, args.tiny, X_train, y_train, X_test, y_test))
    return rows


def fit_and_decode(data_name, cls, variant, seed, epochs, tiny, X_train, y_train, X_test, y_test):
    """One fit, read with every decoder: a row per decoder."""
    pipe = make_pipeline(SequenceScaler(), labeler_for(cls, variant, tiny, seed, epochs))
    tic = time.perf_counter()
    pipe.fit(X_train, y_train)
    fit_seconds = time.perf_counter() - tic
    labeler = pipe[-1]
    default_pred = pipe.predict(X_test)  # the labeler's defaults, through the public path
    labeler.set_params(**DECODERS["argmax"])
    tic = time.perf_counter()
    pipe.predict(X_test)
    predict_seconds = time.perf_counter() - tic
    # Every decoder reads the same log-probabilities, those predict would decode.
    log_proba, _ = labeler._predict_ragged(pipe[:-1].transform(X_test), output="log_proba")
    rows = []
    defaults = {k: cls().get_params()[k] for k in DECODING_KEYWORDS}
    for decoder_name, decoding in {"default": {}, **DECODERS}.items():
        labeler.set_params(**{**defaults, **decoding})
        spec = labeler._decoder_spec()
        tic = time.perf_counter()
        codes = (
            [p.argmax(axis=1) for p in log_proba] if spec is None else decode_all(spec, log_proba)
        )
        decode_seconds = time.perf_counter() - tic if spec is not None else 0.0
        y_pred = [labeler.classes_[c] for c in codes]
        if decoder_name == "default":  # the arrays-only path is predict's
            assert all(np.array_equal(a, b) for a, b in zip(y_pred, default_pred, strict=True))
        row = {
            "data": data_name,
            "model": cls.__name__.removesuffix("Labeler"),
            "variant": variant,
            "seed": seed,
            "decoder": decoder_name,
            "epochs": epochs,
            **scores(y_test, y_pred),
            "fit_s": fit_seconds,
            "predict_s": predict_seconds + decode_seconds,
            "decode_share": decode_seconds / (predict_seconds + decode_seconds),
        }
        rows.append(row)
        print(format_row(row), flush=True)
    return rows


def reference_row(data_name, seed, tiny, X_train, y_train, X_test, y_test):
    """The textbook TCN on the same data and seed, read with the arg-max."""
    classes = np.unique(np.concatenate(y_train))
    epochs = 2 if tiny else REFERENCE_EPOCHS[data_name]
    with _threads(1):
        tic = time.perf_counter()
        y_pred = reference_tcn.fit_predict(
            X_train, y_train, X_test, classes, epochs=epochs, seed=seed
        )
        seconds = time.perf_counter() - tic
    row = {
        "data": data_name,
        "model": "reference TCN",
        "variant": f"textbook ({epochs} epochs)",
        "seed": seed,
        "decoder": "argmax",
        "epochs": epochs,
        **scores(y_test, y_pred),
        "fit_s": seconds,
        "predict_s": 0.0,
        "decode_share": 0.0,
    }
    print(format_row(row), flush=True)
    return row


class _threads:
    """Torch intra-op threads set for a block, as the labelers' ``n_threads=1``."""

    def __init__(self, n):
        self.n = n

    def __enter__(self):
        self.before = torch.get_num_threads()
        torch.set_num_threads(self.n)

    def __exit__(self, *exc):
        torch.set_num_threads(self.before)


COLUMNS = ("accuracy", "macro_f1", "edit", "f1@10", "f1@25", "f1@50")


def format_row(row):
    cells = " ".join(f"{row[c]:.3f}" for c in COLUMNS)
    return (
        f"{row['data']:<9} {row['model']:<11} {row['variant']:<9} s{row['seed']} "
        f"{row['decoder']:<19} {cells}  fit {row['fit_s']:6.1f} s  predict "
        f"{row['predict_s']:.3f} s ({row['decode_share']:+.0%} decoding)"
    )


def summary(rows, decoders=None):
    """Mean over seeds per (data, model, variant, decoder), as a markdown table.

    The accuracy also gets its spread: the standard deviation over seeds (ddof 0) and the
    number of seeds. ``decoders``: only these rows (all when None).
    """
    keys = ("data", "model", "variant", "decoder")
    groups = {}
    for row in rows:
        if decoders is None or row["decoder"] in decoders:
            groups.setdefault(tuple(str(row[k]) for k in keys), []).append(row)
    lines = [
        "| data | model | training | decoder | seeds | acc | acc sd | macro-F1 | edit | F1@10 "
        "| F1@25 | F1@50 | fit s | predict s | decoding share |",
        "|" + "---|" * 15,
    ]
    for key, group in groups.items():
        mean = {c: np.mean([r[c] for r in group]) for c in (*COLUMNS, "fit_s", "predict_s")}
        sd = np.std([r["accuracy"] for r in group])
        share = np.mean([r["decode_share"] for r in group])
        lines.append(
            "| "
            + " | ".join(key)
            + f" | {len(group)} | {mean['accuracy']:.4f} | {sd:.4f} | "
            + " | ".join(f"{mean[c]:.3f}" for c in COLUMNS[1:])
            + f" | {mean['fit_s']:.1f} | {mean['predict_s']:.3f} | {share:.0%} |"
        )
    return "\n".join(lines)


def long_recording(n_steps, model_path):
    """Decoding one recording of ``n_steps``: time and peak memory, each mode in a fresh process.

    Modes: ``predict`` with the arg-max (labels taken on the device), ``predict`` with Viterbi
    (whole recording; log-probabilities, then the checkpointed decoder), and ``predict_proba``
    (what any decoding must at least hold: the probabilities of every step).
    """
    import subprocess
    import sys

    import joblib

    from sk_seqlabel import TCNLabeler
    from sk_seqlabel.datasets import make_sequence_labeling

    X, y = make_sequence_labeling(n_sequences=20, min_length=200, max_length=400, random_state=0)
    joblib.dump(
        TCNLabeler(n_filters=16, n_blocks=3, max_epochs=2, random_state=0, n_threads=1).fit(X, y),
        model_path,
    )
    rows = []
    for mode in ("argmax", "viterbi", "viterbi lag10", "proba"):
        out = subprocess.run(
            [
                sys.executable,
                "-m",
                "benchmarks.segments",
                "--long-child",
                model_path,
                mode,
                str(n_steps),
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
        rows.append(
            {
                "mode": mode,
                "seconds": float(out[0]),
                "peak_rss_mib": float(out[1]),
                "baseline_rss_mib": float(out[2]),
            }
        )
        print(
            f"{n_steps:,} steps  {mode:<14} {float(out[0]):7.2f} s   peak RSS "
            f"{float(out[1]):7.0f} MiB (before predict {float(out[2]):.0f} MiB)",
            flush=True,
        )
    return rows


def long_child(model_path, mode, n_steps):
    import resource

    import joblib

    clf = joblib.load(model_path)
    # float32 from the start: a float64 draw would set the peak before predict runs
    x = np.random.default_rng(0).standard_normal((n_steps, clf.n_features_in_), np.float32)
    clf.predict([x[:1000]])  # compile and warm up, on a short piece
    if mode != "argmax":
        clf.set_params(decoder="viterbi", decoder_lag=10 if "lag" in mode else None)
    clf.predict([x[:1000]])
    baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    tic = time.perf_counter()
    (clf.predict_proba if mode == "proba" else clf.predict)([x])
    seconds = time.perf_counter() - tic
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(seconds, peak, baseline)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiny", action="store_true", help="seconds-long smoke run")
    data_sets = ["masks", "rare", "activity", "vowels"]
    parser.add_argument("--data", nargs="+", default=data_sets, choices=data_sets)
    names = [c.__name__.removesuffix("Labeler") for c in all_labelers()]
    parser.add_argument("--models", nargs="+", default=names, choices=names)
    parser.add_argument(
        "--variants", nargs="+", default=["ours"], choices=["ours", "random32", "smooth"]
    )
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument(
        "--max-epochs",
        type=int,
        default=None,
        help="default: per data set (EPOCHS: 40 on the real streams, 30 on the synthetic "
        "ones), 2 with --tiny",
    )
    parser.add_argument(
        "--reference", action="store_true", help="also train the textbook TCN on each task"
    )
    parser.add_argument("--json", help="also write the rows to this file")
    parser.add_argument(
        "--long",
        type=int,
        metavar="N_STEPS",
        help="instead: time and peak memory of decoding one recording of N_STEPS",
    )
    parser.add_argument("--long-child", nargs=3, help=argparse.SUPPRESS)
    parser.add_argument(
        "--summarize", metavar="JSON", help="instead: print the table of a finished run's rows"
    )
    parser.add_argument("--decoders", nargs="+", help="with --summarize: only these decoders")
    args = parser.parse_args(argv)
    if args.summarize:
        import json

        with open(args.summarize) as fh:
            print(summary(json.load(fh)["rows"], args.decoders))
        return
    if args.long_child:
        model_path, mode, n_steps = args.long_child
        long_child(model_path, mode, int(n_steps))
        return
    env = common.environment(torch.device("cpu"))
    print(common.describe_run(env))
    if args.long:
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            rows = long_recording(args.long, f"{tmp}/model.joblib")
        if args.json:
            common.write_json(args.json, {"environment": env, "long": rows})
        return
    if args.tiny:
        args.seeds = 1
    rows = run(args)
    print()
    print(summary(rows))
    if args.json:
        common.write_json(args.json, {"environment": env, "rows": rows})


if __name__ == "__main__":
    main()
