"""What in training moves the TCN's arg-max accuracy on the mask task (issue 19's bisect).

The TCN at the demo's keywords on ``segments.py``'s ``masks`` task (20 epochs, 3 seeds), read
with the arg-max, in four variants: ours (precision "auto": bf16 on a CPU with native bf16),
``precision="fp32"``, batches filled to the caps (``_batch_overhead_timesteps = None``, the
training plan before padding-aware cuts), and both. Calibration (the temperature) cannot
move the arg-max: it only scales the log-probabilities the decoder reads.

Usage::

    python -m benchmarks.argmax_bisect --json benchmarks/results/argmax_bisect_cpu.json
"""

from __future__ import annotations

import argparse
import time

import torch
from sklearn.pipeline import make_pipeline

from benchmarks import common
from benchmarks.segments import load
from sk_seqlabel import SequenceScaler, TCNLabeler


class FillBatches(TCNLabeler):
    """The TCN trained on batches filled to the caps (the plan before padding-aware cuts)."""

    _batch_overhead_timesteps = None


VARIANTS = {
    "ours (precision auto)": (TCNLabeler, {}),
    "fp32": (TCNLabeler, {"precision": "fp32"}),
    "fill batches": (FillBatches, {}),
    "fill batches + fp32": (FillBatches, {"precision": "fp32"}),
}


def run(seeds, epochs):
    rows = []
    keywords, _ = TCNLabeler._demo_params(False)
    for seed in range(seeds):
        X, y, X_test, y_test = load("masks", False, seed)
        for name, (cls, extra) in VARIANTS.items():
            labeler = cls(
                **keywords,
                max_epochs=epochs,
                random_state=seed,
                n_threads=1,
                decoder="argmax",
                **extra,
            )
            tic = time.perf_counter()
            pipe = make_pipeline(SequenceScaler(), labeler).fit(X, y)
            row = {
                "seed": seed,
                "variant": name,
                "accuracy": pipe.score(X_test, y_test),
                "precision": pipe[-1].net_.precision,
                "fit_s": time.perf_counter() - tic,
            }
            rows.append(row)
            print(row, flush=True)
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--max-epochs", type=int, default=20)
    parser.add_argument("--json", help="also write the rows to this file")
    args = parser.parse_args(argv)
    env = common.environment(torch.device("cpu"))
    print(common.describe_run(env))
    rows = run(args.seeds, args.max_epochs)
    if args.json:
        common.write_json(args.json, {"environment": env, "rows": rows})


if __name__ == "__main__":
    main()
