"""The ``demo`` command, run once in --quick mode, and the command line around it."""

import contextlib
import io
import json
import re
import subprocess
import sys

import joblib
import numpy as np
import pytest
import torch

from sk_seqlabel.__main__ import main
from sk_seqlabel._demo import COLUMNS, SCORE_KEYS
from sk_seqlabel.datasets import load_activity_streams
from sk_seqlabel.labelers import all_labelers

# Every registered labeler takes part in the demo, named without "Labeler".
LABELERS = {cls.__name__.removesuffix("Labeler"): cls.__name__ for cls in all_labelers()}


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    """Run ``demo --quick`` once in-process, its output going to files as in a log;
    return (exit status, stdout, output folder, stderr)."""
    output = tmp_path_factory.mktemp("demo")
    stdout, stderr = io.StringIO(), io.StringIO()
    threads = torch.get_num_threads()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        status = main(["demo", "--quick", "--device", "cpu", "--output", str(output)])
    # The demo trains with one thread per fit on the CPU; it must give the count back.
    assert torch.get_num_threads() == threads
    return status, stdout.getvalue(), output, stderr.getvalue()


@pytest.fixture(scope="module")
def results(quick_run):
    return json.loads((quick_run[2] / "results.json").read_text())


def test_quick_demo_succeeds_and_writes_its_files(quick_run):
    status, _, output, _ = quick_run
    assert status == 0
    names = {path.name for path in output.iterdir()}
    assert {"results.json", "results.md", "demo.png", "best_model.joblib"} <= names


def test_table_is_printed_with_one_row_per_labeler(quick_run, results):
    _, stdout, *_ = quick_run
    lines = stdout.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("model "))
    assert lines[header].split()[:3] == ["model", "best", "parameters"]
    rows = lines[header + 2 : header + 2 + len(LABELERS)]
    assert [row.split()[0] for row in rows] == list(LABELERS)
    for row, model in zip(rows, results["models"], strict=True):
        assert f"{model['accuracy']:.3f}" in row
        assert row.rstrip().endswith("cpu")


def test_results_json_holds_every_score_between_0_and_1(results):
    assert [m["name"] for m in results["models"]] == list(LABELERS)
    assert [m["labeler"] for m in results["models"]] == list(LABELERS.values())
    for model in results["models"]:
        assert {key for key, _ in COLUMNS} <= set(model)
        for key in SCORE_KEYS:
            assert 0.0 <= model[key] <= 1.0, (model["name"], key, model[key])
        assert model["fit_seconds"] > 0
        assert model["device"] == "cpu"
    assert results["quick"] is True
    assert results["best_model"] in LABELERS
    assert results["n_train_timesteps"] > results["n_train_streams"] > 0


def test_results_md_is_a_markdown_table_of_the_same_rows(quick_run, results):
    lines = (quick_run[2] / "results.md").read_text().splitlines()
    assert lines[0] == "| " + " | ".join(header for _, header in COLUMNS) + " |"
    assert len(lines) == 2 + len(LABELERS)
    for line, model in zip(lines[2:], results["models"], strict=True):
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        assert cells[0] == model["name"]
        accuracy = [key for key, _ in COLUMNS].index("accuracy")
        assert float(cells[accuracy]) == pytest.approx(model["accuracy"], abs=5e-4)


def test_quick_demo_log_holds_one_line_per_epoch_and_no_progress_bar(quick_run):
    from sk_seqlabel._demo import QUICK

    _, stdout, _, stderr = quick_run
    assert "\r" not in stdout + stderr and "it/s" not in stdout + stderr
    # The grid searches are quiet; each refit prints skorch's epoch table.
    epoch_rows = [line for line in stdout.splitlines() if re.match(r"\s+\d+\s+\S", line)]
    assert len(epoch_rows) == len(LABELERS) * QUICK.max_epochs


def test_figure_is_a_readable_png_of_the_expected_size(quick_run):
    import matplotlib.image

    path = quick_run[2] / "demo.png"
    assert path.stat().st_size > 10_000
    image = matplotlib.image.imread(path)
    height, width = image.shape[:2]
    assert 1000 <= width <= 3000 and 500 <= height <= 2000, image.shape
    assert image[..., :3].std() > 0.05  # not a blank canvas


def test_saved_model_reloads_with_identical_predictions(quick_run, results):
    _, stdout, output, _ = quick_run
    assert results["reload_identical"] is True
    assert "reloaded: predictions on the 4 test streams are identical" in stdout
    model = joblib.load(output / results["model_file"])
    X_test, _ = load_activity_streams("test", n_streams=2, max_recordings=4, random_state=5)
    pred = model.predict(X_test)
    assert [len(p) for p in pred] == [len(x) for x in X_test]
    assert set(np.concatenate(pred).tolist()) <= {"badminton", "running", "standing", "walking"}


def test_help_lists_the_subcommands(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert "demo" in out and "COMMAND" in out


def test_no_command_prints_help_and_fails(capsys):
    assert main([]) == 2
    assert "demo" in capsys.readouterr().out


def test_demo_help_lists_its_options(capsys):
    with pytest.raises(SystemExit):
        main(["demo", "--help"])
    out = capsys.readouterr().out
    for option in ("--output", "--device", "--seed", "--quick", "--n-jobs"):
        assert option in out


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_cuda_without_a_gpu_is_a_usage_error(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["demo", "--quick", "--device", "cuda", "--output", str(tmp_path)])
    assert exit_info.value.code == 2
    assert "CUDA is not available" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())


def test_python_dash_m_runs_the_command_line():
    result = subprocess.run(
        [sys.executable, "-m", "sk_seqlabel", "--help"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "demo" in result.stdout
