"""Regression quality: every regressor at its defaults against a known floor and on real data.

Two tasks:

- ``synthetic``: ``make_filtered_signals(n_sequences=200, random_state=seed)`` (3 inputs, 2
  targets, each a causal 5-tap filter of the inputs plus Gaussian noise of sd 0.1), fitted on
  the first 150 sequences, scored on the last 50. The best possible MSE is the noise variance;
  the *floor* quoted is the one realised on the test steps (the MSE of the noise-free targets),
  and ``mse/floor`` is each model's MSE as a multiple of it.
- ``soft``: ``load_activity_soft_sensor`` (the demo's activity streams: the gyroscope's 3
  channels from the accelerometer's 3), fitted on the "train" streams, scored on the "test"
  streams (disjoint recordings). No floor is known.

Rows, each fitted once per (task, seed) with ``random_state=seed``:

- every regressor of ``all_regressors()`` at its defaults, plus ``TCNRegressor(causal=True)``;
- ``padded loop TCN``: a hand-written PyTorch loop of the same network
  (``sk_seqlabel.modules.tcn.TCN`` with ``TCNRegressor``'s default keywords): targets
  standardised on the training steps, batches of ``batch_size`` whole sequences drawn at
  random and zero-padded to the batch's longest, MSE over the real steps only, Adam at the
  same ``lr`` for the same epochs, each test sequence predicted alone;
- ``HGB lags``: ``HistGradientBoostingRegressor`` (defaults) on the last ``--lags`` steps of
  every input (zeros before a sequence's start, so causal), one model per target
  (``MultiOutputRegressor``).

Printed per task: mean ± sd over seeds of R² (pooled over test steps, averaged over targets),
MSE, MSE / floor (synthetic), fit and predict seconds (wall clock: inflated on a shared
machine; compare rows of one run).

    python -m benchmarks.regression --device cpu --json benchmarks/results/regression_cpu.json
    python -m benchmarks.regression --quick   # seconds: a smoke run, not figures
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.multioutput import MultiOutputRegressor

from benchmarks import common
from sk_seqlabel.datasets import load_activity_soft_sensor, make_filtered_signals
from sk_seqlabel.metrics import mean_squared_error, r2_score
from sk_seqlabel.modules.tcn import TCN
from sk_seqlabel.regressors import TCNRegressor, all_regressors


# --------------------------------------------------------------------------- data
def synthetic_task(seed, quick):
    n, n_train = (40, 30) if quick else (200, 150)
    X, y, floor = make_filtered_signals(n_sequences=n, random_state=seed, return_floor=True)
    clean = floor.y_clean[n_train:]
    test_floor = float(
        np.mean(
            np.concatenate(
                [(a.astype(np.float64) - b) ** 2 for a, b in zip(y[n_train:], clean, strict=True)]
            )
        )
    )
    return X[:n_train], y[:n_train], X[n_train:], y[n_train:], test_floor


def soft_sensor_task(seed, quick):
    n = 4 if quick else 20
    X_train, y_train = load_activity_soft_sensor("train", n_streams=n, random_state=seed)
    X_test, y_test = load_activity_soft_sensor("test", n_streams=n, random_state=seed)
    return X_train, y_train, X_test, y_test, None


TASKS = {"synthetic": synthetic_task, "soft": soft_sensor_task}


# --------------------------------------------------------------------------- models
class RegressorRow:
    """An estimator of the package at its defaults (plus ``extra``)."""

    def __init__(self, cls, device, quick, **extra):
        self.cls, self.device, self.quick, self.extra = cls, device, quick, extra

    def fit(self, X, y, seed):
        extra = dict(self.extra, **({"max_epochs": 2} if self.quick else {}))
        self.model = self.cls(
            random_state=seed, device=self.device, **common.ESTIMATOR_DEFAULTS, **extra
        )
        self.model.fit(X, y)

    def predict(self, X):
        return self.model.predict(X)


class PaddedLoopTCN:
    """The hand-written padded-MSE loop of ``TCNRegressor``'s network (module docstring)."""

    def __init__(self, device, quick):
        params = TCNRegressor().get_params()
        self.module_kwargs = {
            k: params[k] for k in ("n_filters", "kernel_size", "n_blocks", "dropout", "causal")
        }
        self.epochs = 2 if quick else params["max_epochs"]
        self.lr, self.batch_size, self.device = params["lr"], params["batch_size"], device

    def fit(self, X, y, seed):
        torch.manual_seed(seed)
        rng = np.random.default_rng(seed)
        pooled = np.concatenate(y).astype(np.float64)
        self.mean, self.scale = pooled.mean(axis=0), pooled.std(axis=0)
        X = [torch.from_numpy(x) for x in X]
        Y = [torch.from_numpy(((t - self.mean) / self.scale).astype(np.float32)) for t in y]
        self.net = TCN(X[0].shape[1], Y[0].shape[1], **self.module_kwargs).to(self.device)
        opt = torch.optim.Adam(self.net.parameters(), lr=self.lr)
        self.net.train()
        for _ in range(self.epochs):
            order = rng.permutation(len(X))
            for start in range(0, len(X), self.batch_size):
                idx = order[start : start + self.batch_size]
                lengths = torch.tensor([len(X[i]) for i in idx])
                xb = torch.nn.utils.rnn.pad_sequence([X[i] for i in idx], batch_first=True)
                yb = torch.nn.utils.rnn.pad_sequence([Y[i] for i in idx], batch_first=True)
                mask = (torch.arange(xb.shape[1])[None, :] < lengths[:, None]).unsqueeze(-1)
                xb, yb, mask = xb.to(self.device), yb.to(self.device), mask.to(self.device)
                err = (self.net(xb, lengths) - yb) ** 2
                loss = (err * mask).sum() / (mask.sum() * yb.shape[-1])
                opt.zero_grad()
                loss.backward()
                opt.step()

    @torch.no_grad()
    def predict(self, X):
        self.net.eval()
        out = []
        for x in X:
            z = self.net(torch.from_numpy(x)[None].to(self.device), torch.tensor([len(x)]))
            out.append((z[0].cpu().numpy() * self.scale + self.mean).astype(np.float32))
        return out


def lag_features(x, lags):
    """(T, n_features * lags): x[t - l] for l in 0..lags-1, zeros before the start."""
    T = len(x)
    cols = [
        np.vstack([np.zeros((min(lag, T), x.shape[1]), x.dtype), x[: T - lag]])
        for lag in range(lags)
    ]
    return np.hstack(cols)


class LagBoosting:
    """``HistGradientBoostingRegressor`` on causal lags, one model per target."""

    def __init__(self, lags):
        self.lags = lags

    def fit(self, X, y, seed):
        features = np.vstack([lag_features(x, self.lags) for x in X])
        self.model = MultiOutputRegressor(HistGradientBoostingRegressor(random_state=seed))
        self.model.fit(features, np.vstack(y))

    def predict(self, X):
        return [self.model.predict(lag_features(x, self.lags)).astype(np.float32) for x in X]


def make_rows(device, quick, lags):
    rows = {cls.__name__: RegressorRow(cls, device, quick) for cls in all_regressors()}
    rows["TCNRegressor(causal=True)"] = RegressorRow(TCNRegressor, device, quick, causal=True)
    rows["padded loop TCN"] = PaddedLoopTCN(device, quick)
    rows[f"HGB lags{lags}"] = LagBoosting(lags)
    return rows


# --------------------------------------------------------------------------- run
def measure(row, task, seed):
    X_train, y_train, X_test, y_test, floor = task
    t = time.perf_counter()
    row.fit(X_train, y_train, seed)
    fit_s = time.perf_counter() - t
    t = time.perf_counter()
    pred = row.predict(X_test)
    predict_s = time.perf_counter() - t
    mse = mean_squared_error(y_test, pred)
    result = dict(r2=r2_score(y_test, pred), mse=mse, fit_s=fit_s, predict_s=predict_s)
    if floor is not None:
        result.update(floor=floor, mse_over_floor=mse / floor)
    return result


def mean_sd(values):
    return (statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else 0.0)


def summarise(runs):
    """Per row name: mean and sd over seeds of each measured quantity."""
    out = {}
    for name, results in runs.items():
        out[name] = {
            key: dict(zip(("mean", "sd"), mean_sd([r[key] for r in results]), strict=True))
            for key in results[0]
        }
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="auto", help="auto (CUDA when available), cpu, cuda")
    ap.add_argument("--quick", action="store_true", help="tiny data, 2 epochs: a smoke run")
    ap.add_argument("--seeds", type=int, default=3, help="seeds of data and model")
    ap.add_argument("--tasks", default="synthetic,soft", help="comma list of " + ",".join(TASKS))
    ap.add_argument("--lags", type=int, default=16, help="input lags of the boosted model")
    ap.add_argument("--threads", type=int, default=2, help="torch.set_num_threads (CPU)")
    ap.add_argument("--json", default=None, help="write the results here")
    args = ap.parse_args(argv)
    args.estimator_threads = "match"
    dev = common.setup(args)
    env = common.environment(dev, args)
    print(common.describe_run(env), flush=True)
    seeds = range(1 if args.quick else args.seeds)
    payload = dict(environment=env, seeds=list(seeds), lags=args.lags, tasks={})
    for task_name in args.tasks.split(","):
        rows = make_rows(str(dev), args.quick, args.lags)
        runs = {name: [] for name in rows}
        for seed in seeds:
            task = TASKS[task_name](seed, args.quick)
            for name, row in rows.items():
                runs[name].append(measure(row, task, seed))
                print(f"{task_name} seed {seed} {name}: {runs[name][-1]}", flush=True)
        summary = summarise(runs)
        payload["tasks"][task_name] = dict(runs=runs, summary=summary)
        table = []
        for name, s in summary.items():
            cells = {"model": name}
            for key in ("mse_over_floor", "r2", "mse", "fit_s", "predict_s"):
                if key in s:
                    cells[key] = f"{s[key]['mean']:.3g} ± {s[key]['sd']:.2g}"
            table.append(cells)
        columns = [
            "model",
            *(["mse_over_floor"] if task_name == "synthetic" else []),
            "r2",
            "mse",
            "fit_s",
            "predict_s",
        ]
        common.print_table(table, columns, title=f"{task_name}: mean ± sd over {len(seeds)} seeds")
    common.write_json(args.json, payload)


if __name__ == "__main__":
    main()
