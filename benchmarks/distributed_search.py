"""GridSearchCV over a labeler: one process, joblib's loky (2 processes), a Dask LocalCluster.

The same 4-candidate x 3-fold grid of TCNs (20 epochs, 1 torch thread per fit) on the
reference loops' ``--small`` data, wall time of ``fit`` for each backend, and whether the
scores agree. The Dask cluster (2 worker processes, 1 thread each) is started before the clock
starts; the loky pool is not (its start is in its time).

Command: ``python -m benchmarks.distributed_search``
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch

from benchmarks import common


def _search(n_jobs):
    from sklearn.model_selection import GridSearchCV, KFold

    from sk_seqlabel import TCNLabeler
    from sk_seqlabel.metrics import timestep_accuracy_scorer

    return GridSearchCV(
        TCNLabeler(n_blocks=3, max_epochs=20, n_threads=1, precision="fp32", random_state=0),
        {"n_filters": [16, 32], "kernel_size": [3, 5]},
        scoring=timestep_accuracy_scorer,
        cv=KFold(3),
        n_jobs=n_jobs,
        refit=False,
    )


def main():
    import distributed
    import joblib

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", default="benchmarks/results/distributed_search_cpu.json")
    args = ap.parse_args()
    env = common.environment(torch.device("cpu"), args)
    print(common.describe_run(env))
    sizes = common.SIZES["small"]
    X, Y, _ = common.make_data(sizes["n"], sizes["lo"], sizes["hi"], seed=0)
    results = {}

    def timed(label, n_jobs):
        tic = time.perf_counter()
        scores = _search(n_jobs).fit(X, Y).cv_results_["mean_test_score"]
        results[label] = {"seconds": time.perf_counter() - tic, "scores": scores.tolist()}
        print(f"{label}: {results[label]['seconds']:.1f} s")

    timed("n_jobs=1", 1)
    timed("loky, n_jobs=2", 2)
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster),
        joblib.parallel_backend("dask"),
    ):
        timed("dask, 2 workers", -1)
    base = np.array(results["n_jobs=1"]["scores"])
    for row in results.values():
        row["max_score_difference"] = float(np.abs(np.array(row["scores"]) - base).max())
    print({k: round(v["max_score_difference"], 12) for k, v in results.items()})
    with open(args.json, "w") as f:
        json.dump({"env": env, "results": results}, f, indent=1, default=str)
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
