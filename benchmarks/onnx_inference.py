"""ONNX Runtime against torch for inference on the CPU, same models, same batches.

For the TCN and the BiLSTM at the reference loops' sizes (briefly fitted: speed does not depend
on the weights) and the reference's ``--small`` data: ``predict_proba`` through the estimator
(torch, its own batching) against one ONNX Runtime session run per padded batch of the same
plan (the estimator's inference batches), both from host arrays to host probabilities, both
on torch's default number of intra-op threads, fp32. Best of 5 rounds each, interleaved.

Command: ``python -m benchmarks.onnx_inference`` (CPU only).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import torch

from benchmarks import common


def main():
    import onnxruntime

    from sk_seqlabel import LSTMLabeler, TCNLabeler
    from sk_seqlabel._training.batching import SequenceDataset, bucketed_loader
    from sk_seqlabel.export import to_onnx

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", default="benchmarks/results/onnx_inference_cpu.json")
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    env = common.environment(torch.device("cpu"), args)
    print(common.describe_run(env))
    X, Y, lens = common.make_data(
        **{k: common.SIZES["small"][k] for k in ("n", "lo", "hi")}, seed=0
    )
    total = int(lens.sum())
    rows = []
    for name, cls in (("TCN", TCNLabeler), ("LSTM", LSTMLabeler)):
        threads = torch.get_num_threads()  # both sides get the same intra-op threads
        params = {**common.ESTIMATOR_PARAMS[name], "max_epochs": 1, "precision": "fp32"}
        params["n_threads"] = threads
        clf = cls(**params, random_state=0).fit(X, Y)
        path = Path(tempfile.mkdtemp()) / f"{name}.onnx"
        to_onnx(clf, path)
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        session = onnxruntime.InferenceSession(str(path), options)
        cap = clf._device_policy(clf.net_.device).inference_batch_timesteps
        loader = bucketed_loader(
            SequenceDataset(X),
            batch_size=clf.batch_size,
            max_batch_timesteps=cap,
            batch_overhead=clf._batch_overhead_timesteps,
        )

        def run_onnx(loader=loader, session=session):
            out = []
            for batch, _ in loader:
                feed = {"x": batch["x"].numpy(), "lengths": batch["lengths"].numpy()}
                proba = session.run(None, feed)[0]
                out += [proba[i, :n] for i, n in enumerate(batch["lengths"].tolist())]
            return out

        best = {"torch": 0.0, "onnxruntime": 0.0}
        for _ in range(args.rounds):
            for label, fn in (
                ("torch", lambda c=clf: c.predict_proba(X)),
                ("onnxruntime", run_onnx),
            ):
                tic = time.perf_counter()
                fn()
                best[label] = max(best[label], total / (time.perf_counter() - tic))
        row = {"model": name, **best, "onnx_vs_torch": best["onnxruntime"] / best["torch"]}
        rows.append(row)
        print(
            f"{name}: torch {best['torch']:,.0f} /s, onnxruntime {best['onnxruntime']:,.0f} /s, "
            f"ratio {row['onnx_vs_torch']:.2f}"
        )
    with open(args.json, "w") as f:
        json.dump({"env": env, "rows": rows}, f, indent=1, default=str)
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
