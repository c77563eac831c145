"""Throughput ratios of two versions of the package, interleaved: did a change make a ratio worse?

Question: is ours / best reference (``benchmarks/throughput.py``'s ``train_ratio`` and
``infer_ratio`` of "ours default") lower after a change than before it? One run of each
version cannot say: rounds of one configuration spread by up to 3x on a shared virtual
machine (RESULTS 21). Here the two versions alternate, ABBA (before, after, after, before,
...), each run a fresh process of ``benchmarks.throughput --repeats 1`` in its own copy of the
tree, so drift in the machine's load falls on both alike. Reported per model and phase: the
median ratio of each version over its runs, their quotient (after / before; < 1 = worse), and
the quotient of every adjacent pair, from which a reader sees whether the change is outside
the noise.

The "before" tree is ``git archive`` of a revision unpacked into a temporary directory (no
worktree is registered); the "after" tree is this checkout as it is, uncommitted changes
included. Both run with this interpreter and the same reference loops.

    python -m benchmarks.before_after --before 45acbe9 --pairs 4 \
        --json benchmarks/results/before_after_cpu_small.json
    ONEDNN_MAX_CPU_ISA=AVX2 python -m benchmarks.before_after --before 45acbe9 --pairs 4 \
        --json benchmarks/results/before_after_cpu_avx2_small.json
    python -m benchmarks.before_after --before HEAD --pairs 1 --tiny   # smoke run
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import torch

from benchmarks import common

ROOT = Path(__file__).resolve().parents[1]
PHASES = ("train_ratio", "infer_ratio")


def unpack_revision(revision, into):
    """The tree of ``revision`` (any git revision of this repository) as files under ``into``."""
    archive = Path(into) / "tree.tar"
    with archive.open("wb") as out:
        subprocess.run(["git", "archive", revision], cwd=ROOT, stdout=out, check=True)
    tree = Path(into) / "before"
    with tarfile.open(archive) as tar:
        tar.extractall(tree, filter="data")
    return tree


def run_throughput(tree, json_path, args):
    """One ``benchmarks.throughput`` run in ``tree``; its ratio rows by model."""
    command = [sys.executable, "-m", "benchmarks.throughput", "--repeats", "1"]
    command += ["--tiny"] if args.tiny else ["--small"]
    command += ["--device", args.device, "--models", args.models, "--reference", args.reference]
    command += ["--json", str(json_path)]
    subprocess.run(command, cwd=tree, check=True, stdout=subprocess.DEVNULL)
    results = json.loads(Path(json_path).read_text())
    ratios = {}
    for model, entry in results["models"].items():
        for row in entry.get("ratios", []):
            if row["ours"] == "ours default":
                ratios[model] = {phase: row[phase] for phase in PHASES}
    return ratios


def abba(n_pairs):
    """The order of the runs: before, after, after, before, ... (``2 * n_pairs`` runs)."""
    order = []
    for k in range(n_pairs):
        order += ["before", "after"] if k % 2 == 0 else ["after", "before"]
    return order


def summarize(runs):
    """Per model and phase: each version's median ratio, their quotient and the pairs'."""
    table = []
    models = sorted({m for run in runs for m in run["ratios"]})
    for model, phase in ((m, p) for m in models for p in PHASES):
        values = {
            side: [r["ratios"][model][phase] for r in runs if r["side"] == side]
            for side in ("before", "after")
        }
        pairs = []
        for first, second in zip(runs[::2], runs[1::2], strict=True):
            # a pair is (before, after) or (after, before): "after" on top either way
            after, before = (first, second) if first["side"] == "after" else (second, first)
            pairs.append(after["ratios"][model][phase] / before["ratios"][model][phase])
        before, after = (statistics.median(values[s]) for s in ("before", "after"))
        table.append(
            dict(
                model=model,
                phase=phase.removesuffix("_ratio"),
                before=round(before, 3),
                after=round(after, 3),
                after_over_before=round(after / before, 3),
                pairs=[round(q, 3) for q in pairs],
                before_runs=values["before"],
                after_runs=values["after"],
            )
        )
    return table


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--before", required=True, help="git revision of the 'before' version")
    ap.add_argument("--pairs", type=int, default=4, help="before/after pairs (ABBA order)")
    ap.add_argument("--tiny", action="store_true", help="smoke-run sizes (not figures)")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--models", default="TCN,LSTM,ConvLSTM")
    ap.add_argument("--reference", default=str(common.find_reference("auto")[0]))
    ap.add_argument("--json", default=None, help="write the runs and the table here")
    args = ap.parse_args()
    env = common.environment(torch.device(args.device), args)
    print(f"env: {env}", flush=True)
    runs = []
    with tempfile.TemporaryDirectory() as scratch:
        trees = {"before": unpack_revision(args.before, scratch), "after": ROOT}
        for k, side in enumerate(abba(args.pairs)):
            ratios = run_throughput(trees[side], Path(scratch) / f"run{k}.json", args)
            runs.append(dict(side=side, ratios=ratios))
            print(f"run {k} ({side}): {ratios}", flush=True)
    table = summarize(runs)
    print("\n| model | phase | before | after | after / before | pairs (after / before) |")
    print("|---|---|---|---|---|---|")
    for row in table:
        pairs = ", ".join(f"{q:.2f}" for q in row["pairs"])
        print(
            f"| {row['model']} | {row['phase']} | {row['before']:.2f} | {row['after']:.2f} "
            f"| {row['after_over_before']:.2f} | {pairs} |"
        )
    common.write_json(args.json, dict(env=env, before=args.before, runs=runs, table=table))


if __name__ == "__main__":
    main()
