"""Segment quality: every labeler x decoder on real streams, and what in training costs it.

Two data sets of streams, built as the demo builds them (crops of real recordings joined end
to end, every join a change of label; train and test streams from disjoint recordings):

- ``activity``: the demo's BasicMotions streams (``load_activity_streams``, the demo's full
  sizes), 4 activities, 6 channels at 10 Hz;
- ``vowels``: sktime's JapaneseVowels, 9 speakers saying "ae", 12 LPC channels, utterances of
  7 to 29 frames joined into streams of 3 to 8 utterances: who speaks at each frame.

Each model is fitted once per (data set, training variant, seed) inside a ``SequenceScaler``
pipeline, then predicts the test streams with every decoder (decoding needs no refit: the
label counts come with every fit). Printed per row: accuracy, macro-F1, edit, F1@{10,25,50},
fit seconds, predict seconds (best of 3, decoding included) and the decoder's share of it.

Training variants (``--variants``), to find out what in training costs segment quality:

- ``ours``: the defaults (length-bucketed batches under a cap of padded steps, cut where
  padding plus a per-batch cost is least, shuffled batch order);
- ``random32``: what a hand-written Keras loop does: batches of 32 sequences drawn at random
  (no bucketing), padded to the batch's longest, whole sequences;
- ``smooth``: ours plus MS-TCN's smoothing loss (0.15, tau 4).

Usage::

    python -m benchmarks.segments --json benchmarks/results/segments_cpu.json  # all, 2 seeds
    python -m benchmarks.segments --tiny  # seconds: a smoke run
    python -m benchmarks.segments --data activity --models TCN --variants ours random32
"""

from __future__ import annotations

import argparse
import functools
import itertools
import time

import numpy as np
import torch
from sklearn.metrics import f1_score
from sklearn.pipeline import make_pipeline
from torch.utils.data import DataLoader

from benchmarks import common
from sk_seqlabel import SequenceScaler
from sk_seqlabel._batching import collate_padded
from sk_seqlabel._decoding import Decoder
from sk_seqlabel.datasets import load_activity_streams
from sk_seqlabel.labelers import all_labelers
from sk_seqlabel.metrics import edit_score, segment_f1_score, timestep_accuracy_score

#: name -> keywords of the labeler's predict-time decoding.
DECODERS = {
    "argmax": dict(decoder="argmax", min_segment_length=1, decoder_lag=None),
    "argmax min5": dict(decoder="argmax", min_segment_length=5, decoder_lag=None),
    "argmax min10": dict(decoder="argmax", min_segment_length=10, decoder_lag=None),
    "viterbi": dict(decoder="viterbi", min_segment_length=1, decoder_lag=None),
    "viterbi min5": dict(decoder="viterbi", min_segment_length=5, decoder_lag=None),
    "viterbi min10": dict(decoder="viterbi", min_segment_length=10, decoder_lag=None),
    "viterbi min5 lag10": dict(decoder="viterbi", min_segment_length=5, decoder_lag=10),
}


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


def decode_all(decoder, log_proba):
    return [decoder.decode(p) for p in log_proba]


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
    for data_name, cls, variant, seed in itertools.product(
        args.data, models, args.variants, range(args.seeds)
    ):
        X_train, y_train, X_test, y_test = load(data_name, args.tiny, seed)
        pipe = make_pipeline(
            SequenceScaler(), labeler_for(cls, variant, args.tiny, seed, args.max_epochs)
        )
        tic = time.perf_counter()
        pipe.fit(X_train, y_train)
        fit_seconds = time.perf_counter() - tic
        labeler = pipe[-1]
        labeler.set_params(**DECODERS["argmax"])
        predict_seconds = best_time(functools.partial(pipe.predict, X_test))
        # The decoder's own time, on the log-probabilities predict would decode.
        log_proba = [np.log(np.maximum(p, 1e-30)) for p in pipe.predict_proba(X_test)]
        for decoder_name, decoding in DECODERS.items():
            labeler.set_params(**decoding)
            y_pred = pipe.predict(X_test)
            decoder = Decoder.from_estimator(labeler)
            decode_seconds = (
                0.0
                if decoder is None
                else best_time(functools.partial(decode_all, decoder, log_proba))
            )
            row = {
                "data": data_name,
                "model": cls.__name__.removesuffix("Labeler"),
                "variant": variant,
                "seed": seed,
                "decoder": decoder_name,
                **scores(y_test, y_pred),
                "fit_s": fit_seconds,
                "predict_s": predict_seconds + decode_seconds,
                "decode_share": decode_seconds / (predict_seconds + decode_seconds),
            }
            rows.append(row)
            print(format_row(row), flush=True)
        labeler.set_params(**DECODERS["argmax"])
    return rows


COLUMNS = ("accuracy", "macro_f1", "edit", "f1@10", "f1@25", "f1@50")


def format_row(row):
    cells = " ".join(f"{row[c]:.3f}" for c in COLUMNS)
    return (
        f"{row['data']:<9} {row['model']:<11} {row['variant']:<9} s{row['seed']} "
        f"{row['decoder']:<19} {cells}  fit {row['fit_s']:6.1f} s  predict "
        f"{row['predict_s']:.3f} s ({row['decode_share']:+.0%} decoding)"
    )


def summary(rows):
    """Mean over seeds per (data, model, variant, decoder), as a markdown table."""
    keys = ("data", "model", "variant", "decoder")
    groups = {}
    for row in rows:
        groups.setdefault(tuple(row[k] for k in keys), []).append(row)
    lines = [
        "| data | model | training | decoder | acc | macro-F1 | edit | F1@10 | F1@25 | F1@50 "
        "| fit s | predict s | decoding share |",
        "|" + "---|" * 13,
    ]
    for key, group in groups.items():
        mean = {c: np.mean([r[c] for r in group]) for c in (*COLUMNS, "fit_s", "predict_s")}
        share = np.mean([r["decode_share"] for r in group])
        lines.append(
            "| "
            + " | ".join(key)
            + " | "
            + " | ".join(f"{mean[c]:.3f}" for c in COLUMNS)
            + f" | {mean['fit_s']:.1f} | {mean['predict_s']:.3f} | {share:.0%} |"
        )
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiny", action="store_true", help="seconds-long smoke run")
    parser.add_argument(
        "--data", nargs="+", default=["activity", "vowels"], choices=["activity", "vowels"]
    )
    names = [c.__name__.removesuffix("Labeler") for c in all_labelers()]
    parser.add_argument("--models", nargs="+", default=names, choices=names)
    parser.add_argument(
        "--variants", nargs="+", default=["ours"], choices=["ours", "random32", "smooth"]
    )
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument(
        "--max-epochs", type=int, default=None, help="default: 40 (the demo's), 2 with --tiny"
    )
    parser.add_argument("--json", help="also write the rows to this file")
    args = parser.parse_args(argv)
    if args.max_epochs is None:
        args.max_epochs = 2 if args.tiny else 40
    if args.tiny:
        args.seeds = 1
    env = common.environment(torch.device("cpu"))
    print(common.describe_run(env))
    rows = run(args)
    print()
    print(summary(rows))
    if args.json:
        common.write_json(args.json, {"environment": env, "rows": rows})


if __name__ == "__main__":
    main()
