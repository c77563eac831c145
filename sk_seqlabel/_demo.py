"""The ``demo`` command: tune, compare and save every labeler on real activity streams.

Everything the README's first command shows happens here, in the order a user would do it:
load train and test streams, search a small grid per labeler with sequence-level folds, refit
the best candidate, score the test streams with the metrics of :mod:`sk_seqlabel.metrics`, plot
one stream, and save and reload the best pipeline.
"""

from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["DemoSettings", "format_table", "model_specs", "run_demo"]


@dataclass(frozen=True)
class DemoSettings:
    """Sizes of one demo run: how much data, how many epochs, how many folds."""

    n_train_streams: int
    n_test_streams: int
    max_recordings: int
    max_epochs: int
    n_folds: int


#: Full mode: about 13,000 training and 7,000 test timesteps; a few minutes on 2 CPU cores.
FULL = DemoSettings(
    n_train_streams=40, n_test_streams=20, max_recordings=8, max_epochs=40, n_folds=3
)
#: ``--quick``: enough to exercise every step (for tests), not to learn much.
QUICK = DemoSettings(n_train_streams=9, n_test_streams=4, max_recordings=4, max_epochs=2, n_folds=3)

#: The columns of the results table: (key in results.json, header).
COLUMNS = (
    ("name", "model"),
    ("best_params", "best parameters"),
    ("decoder", "decoder"),
    ("cv_accuracy", "CV acc"),
    ("accuracy", "test acc"),
    ("macro_f1", "macro-F1"),
    ("segment_f1_50", "F1@50"),
    ("edit", "edit"),
    ("segment_f1_50_argmax", "F1@50 argmax"),
    ("edit_argmax", "edit argmax"),
    ("fit_seconds", "fit s"),
    ("device", "device"),
)
#: The columns of the table that are scores on the scale 0..1.
SCORE_KEYS = (
    "cv_accuracy",
    "accuracy",
    "macro_f1",
    "segment_f1_50",
    "edit",
    "segment_f1_50_argmax",
    "edit_argmax",
)


def model_specs(*, quick, max_epochs, device, random_state):
    """The labelers the demo compares, each with the grid its search explores.

    Parameters
    ----------
    quick : bool
        Tiny models and one-parameter grids of two values (for tests).
    max_epochs : int
        Passed to every labeler.
    device : str
        Torch device passed to every labeler.
    random_state : int
        Passed to every labeler.

    Returns
    -------
    list of (str, estimator, dict)
        ``(name, labeler, param_grid)``; the grid's keys are the labeler's own parameter names.
    """
    from .labelers import all_labelers

    # One torch thread per fit: the grid searches run one fit per core side by side instead
    # (see run_demo), and threads that wait for a core another fit holds slow a fit down many
    # times (benchmarks/RESULTS.md, "Shared CPU").
    shared = {
        "max_epochs": max_epochs,
        "device": device,
        "random_state": random_state,
        "n_threads": 1,
    }
    specs = []
    for cls in all_labelers():  # every registered labeler, with the grid it declares
        keywords, grid = cls._demo_params(quick)
        specs.append((cls.__name__.removesuffix("Labeler"), cls(**keywords, **shared), grid))
    return specs


def run_demo(
    output="demo_output",
    *,
    device="auto",
    seed=0,
    quick=False,
    n_jobs=None,
    file=None,
):
    """Run the demo and write its table, figure and model into ``output``.

    Parameters
    ----------
    output : str or path-like, default="demo_output"
        Folder for ``results.json``, ``results.md``, ``demo.png`` and ``best_model.joblib``;
        created if missing.
    device : {"auto", "cpu", "cuda"}, default="auto"
        Where the labelers train and predict; "auto" is CUDA when available.
    seed : int, default=0
        Seeds the streams, the folds and the labelers.
    quick : bool, default=False
        A tiny grid, 2 epochs and a few short streams: the whole pipeline in seconds.
    n_jobs : int or None, default=None
        Processes for the grid searches. None is every CPU core when training on the CPU
        (each fit then runs on one thread) and 1 on a GPU.
    file : file-like, default=None
        Where the progress and the table are printed; None is ``sys.stdout``.

    Returns
    -------
    results : dict
        What ``results.json`` holds.
    """
    import torch

    from ._training.device import resolve_device

    out = sys.stdout if file is None else file

    def say(*args, end="\n"):
        print(*args, file=out, flush=True, end=end)

    device = resolve_device(device)
    cpu = torch.device(device).type == "cpu"
    if n_jobs is None:
        n_jobs = _n_cpus() if cpu else 1
    output = Path(output)
    output.mkdir(parents=True, exist_ok=True)

    results = _run(output, device, seed, QUICK if quick else FULL, quick, n_jobs, say)
    return results


def _n_cpus():
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


@dataclass(frozen=True)
class _Streams:
    """The demo's data: train and test activity streams and the sorted class names."""

    X_train: list
    y_train: list
    X_test: list
    y_test: list
    classes: list


def _run(output, device, seed, settings, quick, n_jobs, say):
    """The demo's stages in order; returns what ``results.json`` holds."""
    import torch

    started = time.perf_counter()
    device_name = torch.cuda.get_device_name(device) if device.startswith("cuda") else "CPU"
    say(
        f"sk_seqlabel demo{' (quick)' if quick else ''}: device {device} ({device_name}), "
        f"seed {seed}"
    )
    data = _load_streams(settings, seed, say)
    specs = model_specs(
        quick=quick, max_epochs=settings.max_epochs, device=device, random_state=seed
    )
    rows, fitted = [], {}
    for k, (name, labeler, grid) in enumerate(specs, start=1):
        say(f"\n[{k}/{len(specs)}] {type(labeler).__name__}: ", end="")
        row, model, y_pred = _search_and_refit(
            name, labeler, grid, data, settings.n_folds, seed, n_jobs, say
        )
        rows.append({**row, "device": device})
        fitted[name] = (model, y_pred)
    say("\nTest streams (timestep accuracy, macro-F1 over timesteps, segment F1@50, edit score):")
    say(format_table(rows))
    best, model_path, identical = _save_best(rows, fitted, data, output, say)
    figure_path, stream = _plot_best(fitted, best, data, output, say)
    soft_sensor = _soft_sensor(settings, seed, device, say)
    results = {
        "dataset": "BasicMotions activity streams (sk_seqlabel.datasets.load_activity_streams)",
        "quick": quick,
        "seed": seed,
        "device": device,
        "device_name": device_name,
        "n_train_streams": len(data.X_train),
        "n_test_streams": len(data.X_test),
        "n_train_timesteps": int(sum(map(len, data.X_train))),
        "n_test_timesteps": int(sum(map(len, data.X_test))),
        "max_epochs": settings.max_epochs,
        "n_folds": settings.n_folds,
        "models": rows,
        "best_model": best["name"],
        "model_file": model_path.name,
        "reload_identical": bool(identical),
        "figure": figure_path.name,
        "figure_stream": stream,
        "soft_sensor": soft_sensor,
        "total_seconds": time.perf_counter() - started,
    }
    _write_results(results, rows, output, say)
    return results


def _soft_sensor(settings, seed, device, say):
    """Every registered regressor, causal where it can be, predicting the gyroscope from the
    accelerometer on the same streams (``load_activity_soft_sensor``): its test R² and MSE.

    No grid search: the regressors' defaults, which the regression benchmark measured
    (benchmarks/RESULTS.md), with the demo's epochs.
    """
    from sklearn.pipeline import make_pipeline

    from . import SequenceScaler
    from .datasets import load_activity_soft_sensor
    from .metrics import mean_squared_error
    from .regressors import all_regressors

    streams = {"max_recordings": settings.max_recordings}
    X_train, y_train = load_activity_soft_sensor(
        "train", n_streams=settings.n_train_streams, random_state=seed, **streams
    )
    X_test, y_test = load_activity_soft_sensor(
        "test", n_streams=settings.n_test_streams, random_state=seed + 1, **streams
    )
    say("\nSoft sensor: the gyroscope (3 channels) from the accelerometer, same streams:")
    rows = []
    for cls in all_regressors():
        causal = {"causal": True} if "causal" in cls._get_param_names() else {}
        if "bidirectional" in cls._get_param_names():
            causal = {"bidirectional": False}
        regressor = cls(max_epochs=settings.max_epochs, device=device, random_state=seed, **causal)
        tic = time.perf_counter()
        model = make_pipeline(SequenceScaler(), regressor).fit(X_train, y_train)
        fit_seconds = time.perf_counter() - tic
        y_pred = model.predict(X_test)
        row = {
            "name": cls.__name__,
            "params": _format_params(causal),
            "r2": float(model.score(X_test, y_test)),
            "mse": float(mean_squared_error(y_test, y_pred)),
            "fit_seconds": fit_seconds,
        }
        rows.append(row)
        say(
            f"  {row['name']:<24} {row['params']:<22} test R² {row['r2']:6.3f}  "
            f"MSE {row['mse']:.4f}  ({fit_seconds:.1f} s)"
        )
    return rows


def _load_streams(settings, seed, say):
    """Train and test activity streams from disjoint recordings."""
    from .datasets import load_activity_streams

    streams = {"max_recordings": settings.max_recordings}
    X_train, y_train = load_activity_streams(
        "train", n_streams=settings.n_train_streams, random_state=seed, **streams
    )
    X_test, y_test = load_activity_streams(
        "test", n_streams=settings.n_test_streams, random_state=seed + 1, **streams
    )
    classes = sorted(set(np.concatenate(y_train).tolist()))
    say(
        f"Data: BasicMotions activity streams (6 sensor channels at 10 Hz; {', '.join(classes)})"
        f"\n  train: {len(X_train)} streams, {sum(map(len, X_train)):,} timesteps"
        f"\n  test:  {len(X_test)} streams, {sum(map(len, X_test)):,} timesteps "
        "(other recordings than train)"
    )
    return _Streams(X_train, y_train, X_test, y_test, classes)


def _search_and_refit(name, labeler, grid, data, n_folds, seed, n_jobs, say):
    """Grid search with folds of whole streams, refit the best, score the test streams.

    Returns
    -------
    row : dict
        The model's line of the results table.
    model : Pipeline
        The refitted scaler + labeler.
    y_pred : list of ndarray
        Its predictions on the test streams.
    """
    from sklearn.pipeline import make_pipeline

    from . import SequenceScaler

    pipeline = make_pipeline(SequenceScaler(), labeler)
    search, search_seconds = _grid_search(pipeline, grid, data, n_folds, seed, n_jobs, say)
    say(f"  refit on all train streams with {_format_params(search.best_params_)}:")
    model, fit_seconds = _refit(pipeline, search.best_params_, data)
    row, y_pred = _score_on_test(model, data)
    row = {
        "name": name,
        "labeler": type(labeler).__name__,
        "best_params": _format_params(search.best_params_),
        **row,
        "cv_accuracy": float(search.best_score_),
        "fit_seconds": fit_seconds,
        "search_seconds": search_seconds,
    }
    say(f"  fitted in {fit_seconds:.1f} s; test timestep accuracy {row['accuracy']:.3f}")
    return row, model, y_pred


def _grid_search(pipeline, grid, data, n_folds, seed, n_jobs, say):
    """The fitted ``GridSearchCV`` over the labeler step's ``grid``, and its seconds; one line
    per candidate is said."""
    from sklearn.model_selection import GridSearchCV, KFold

    from .metrics import timestep_accuracy_scorer

    step = pipeline.steps[-1][0]
    search = GridSearchCV(
        pipeline,
        {f"{step}__{key}": values for key, values in grid.items()},
        scoring=timestep_accuracy_scorer,
        cv=KFold(n_folds, shuffle=True, random_state=seed),
        refit=False,
        n_jobs=n_jobs,
    )
    n_candidates = int(np.prod([len(v) for v in grid.values()]))
    say(
        f"grid search over {n_candidates} candidates x {n_folds} folds of whole streams "
        f"({n_jobs} process{'es' if n_jobs > 1 else ''})"
    )
    tic = time.perf_counter()
    search.fit(data.X_train, data.y_train)
    search_seconds = time.perf_counter() - tic
    cv = search.cv_results_
    for i, params in enumerate(cv["params"]):
        best = " <- best" if cv["rank_test_score"][i] == 1 else ""
        say(
            f"  {_format_params(params):<32} CV accuracy {cv['mean_test_score'][i]:.3f} "
            f"± {cv['std_test_score'][i]:.3f}  ({cv['mean_fit_time'][i]:.1f} s/fit){best}"
        )
    return search, search_seconds


def _refit(pipeline, best_params, data):
    """A clone of ``pipeline`` with ``best_params`` fitted on all train streams (its epoch
    table printed), and its seconds."""
    from sklearn.base import clone

    step = pipeline.steps[-1][0]
    model = clone(pipeline).set_params(**best_params, **{f"{step}__verbose": 1})
    tic = time.perf_counter()
    model.fit(data.X_train, data.y_train)
    fit_seconds = time.perf_counter() - tic
    return model.set_params(**{f"{step}__verbose": 0}), fit_seconds


def _score_on_test(model, data):
    """The test-stream scores of a fitted ``model`` (decoded as set, and undecoded), and its
    predictions."""
    from sklearn.metrics import f1_score

    from ._decoding import resolve_decoder
    from .metrics import edit_score, segment_f1_score, timestep_accuracy_score

    step, labeler = model.steps[-1]
    y_pred, y_test = model.predict(data.X_test), data.y_test
    # The same model without decoding (the decoder needs no refit), to show what it changed.
    decoder = resolve_decoder(labeler.decoder, labeler.net_.module_.look_ahead)
    kept = labeler.decoder
    y_argmax = model.set_params(**{f"{step}__decoder": "argmax"}).predict(data.X_test)
    model.set_params(**{f"{step}__decoder": kept})
    row = {
        "decoder": decoder,
        "accuracy": timestep_accuracy_score(y_test, y_pred),
        "macro_f1": float(
            f1_score(np.concatenate(y_test), np.concatenate(y_pred), average="macro")
        ),
        "segment_f1_50": segment_f1_score(y_test, y_pred, overlap=0.5),
        "edit": edit_score(y_test, y_pred),
        "segment_f1_50_argmax": segment_f1_score(y_test, y_argmax, overlap=0.5),
        "edit_argmax": edit_score(y_test, y_argmax),
    }
    return row, y_pred


def _save_best(rows, fitted, data, output, say):
    """Save the model chosen by cross-validation (never by the test streams) and reload it.

    Returns the best row, the saved file's path, and whether the reloaded model predicts the
    test streams identically.
    """
    import joblib

    best = max(rows, key=lambda row: row["cv_accuracy"])
    best_model, best_pred = fitted[best["name"]]
    model_path = output / "best_model.joblib"
    joblib.dump(best_model, model_path)
    reloaded = joblib.load(model_path)
    identical = all(
        np.array_equal(a, b) for a, b in zip(reloaded.predict(data.X_test), best_pred, strict=True)
    )
    say(
        f"\nBest by cross-validation: {best['name']}; saved to {model_path} and reloaded: "
        f"predictions on the {len(data.X_test)} test streams are "
        f"{'identical' if identical else 'DIFFERENT'}."
    )
    return best, model_path, identical


def _plot_best(fitted, best, data, output, say):
    """Plot the test stream with the most segments: truth, every model's labels, and the
    best model's probabilities."""
    # The object-oriented API needs no pyplot and no backend: nothing global changes.
    from matplotlib.figure import Figure

    from .plotting import SequenceLabelingDisplay

    figure_path = output / "demo.png"
    stream = _most_segmented(data.y_test)
    best_model = fitted[best["name"]][0]
    scaler = best_model[0]
    n_panels = 3 + len(fitted)  # signal, truth, one band per model, probabilities
    figure = Figure(figsize=(11, 4.6 + 0.55 * len(fitted)), layout="constrained")
    axes = figure.subplots(n_panels, 1, sharex=True, height_ratios=[5, 1] + [1] * len(fitted) + [3])
    display = SequenceLabelingDisplay.from_predictions(
        [data.y_test[stream]],
        {name: [pred[stream]] for name, (_, pred) in fitted.items()},
        X=scaler.transform([data.X_test[stream]]),
        y_proba=best_model.predict_proba([data.X_test[stream]]),
        classes=best_model.classes_,
        sampling_rate=10.0,
        ax=axes,
    )
    display.ax_.set_title(f"Test stream {stream}: true and predicted activity")
    display.ax_.set_ylabel(f"{data.X_test[stream].shape[1]} channels\n(standardised)")
    display.axes_[-1].set_ylabel(f"{best['name']}\nprobability")
    figure.savefig(figure_path, dpi=150)
    say(f"Figure of test stream {stream}: {figure_path}")
    return figure_path, stream


def _write_results(results, rows, output, say):
    """``results.json`` and the markdown table ``results.md``."""
    (output / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    (output / "results.md").write_text(format_table(rows, markdown=True) + "\n")
    say(f"Table: {output / 'results.md'}, {output / 'results.json'}")
    say(f"Done in {results['total_seconds']:.0f} s.")


def _format_params(params):
    """``{"tcnlabeler__n_filters": 32}`` -> ``"n_filters=32"``, in sorted order."""
    return ", ".join(f"{key.rsplit('__', 1)[-1]}={params[key]}" for key in sorted(params))


def _format_cell(key, value):
    if key in SCORE_KEYS:
        return f"{value:.3f}"
    if key == "fit_seconds":
        return f"{value:.1f}"
    return str(value)


def format_table(rows, *, markdown=False):
    """The results table, as aligned text or as a Markdown table.

    Parameters
    ----------
    rows : list of dict
        One dict per model, with the keys of :data:`COLUMNS`.
    markdown : bool, default=False
        Markdown (numbers right-aligned) instead of plain text.

    Returns
    -------
    str

    Examples
    --------
    >>> row = {"name": "TCN", "best_params": "n_filters=32", "decoder": "viterbi",
    ...        "cv_accuracy": 0.97, "accuracy": 0.98, "macro_f1": 0.98, "segment_f1_50": 0.99,
    ...        "edit": 0.98, "segment_f1_50_argmax": 0.9, "edit_argmax": 0.85,
    ...        "fit_seconds": 3.25, "device": "cpu"}
    >>> print(format_table([row], markdown=True))  # (long lines wrapped here)
    | model | best parameters | decoder | CV acc | test acc | macro-F1 | F1@50 | edit
      | F1@50 argmax | edit argmax | fit s | device |
    | :-- | :-- | :-- | --: | --: | --: | --: | --: | --: | --: | --: | :-- |
    | TCN | n_filters=32 | viterbi | 0.970 | 0.980 | 0.980 | 0.990 | 0.980 | 0.900 | 0.850
      | 3.2 | cpu |
    """
    headers = [header for _, header in COLUMNS]
    cells = [[_format_cell(key, row[key]) for key, _ in COLUMNS] for row in rows]
    numeric = [key in SCORE_KEYS or key == "fit_seconds" for key, _ in COLUMNS]
    if markdown:
        align = ["--:" if right else ":--" for right in numeric]
        lines = [headers, align, *cells]
        return "\n".join("| " + " | ".join(line) + " |" for line in lines)
    widths = [max(len(line[i]) for line in [headers, *cells]) for i in range(len(headers))]

    def line(values):
        return "  ".join(
            v.rjust(w) if right else v.ljust(w)
            for v, w, right in zip(values, widths, numeric, strict=True)
        ).rstrip()

    return "\n".join([line(headers), line(["-" * w for w in widths]), *map(line, cells)])


def _most_segmented(y):
    """Index of the sequence with the most label changes (the first one on ties)."""
    return int(np.argmax([np.count_nonzero(labels[1:] != labels[:-1]) for labels in y]))
