"""Command line of sk_seqlabel: ``python -m sk_seqlabel <command>`` or ``sk-seqlabel <command>``.

Each command is one subparser with a function that runs it; add a command by adding both.
"""

from __future__ import annotations

import argparse
import sys

__all__ = ["build_parser", "main"]


def _demo(args):
    from ._demo import run_demo
    from ._training.device import resolve_device

    try:
        resolve_device(args.device)
    except ValueError as error:  # --device cuda on a machine without CUDA
        args.parser.error(str(error))
    results = run_demo(
        args.output, device=args.device, seed=args.seed, quick=args.quick, n_jobs=args.n_jobs
    )
    return 0 if results["reload_identical"] else 1


def build_parser():
    """The argument parser, one subparser per command."""
    parser = argparse.ArgumentParser(
        prog="sk-seqlabel",
        description="scikit-learn classifiers that label every timestep of variable-length "
        "multivariate time series.",
    )
    commands = parser.add_subparsers(title="commands", dest="command", metavar="COMMAND")

    demo = commands.add_parser(
        "demo",
        help="tune, compare and save every labeler on real activity recordings",
        description="Label every timestep of activity streams built from real accelerometer "
        "and gyroscope recordings (BasicMotions): tune every labeler (those "
        "sk_seqlabel.labelers.all_labelers() lists) with GridSearchCV over whole streams, print "
        "a table of test scores, plot one test stream, and save and reload the best pipeline "
        "with joblib; then fit every regressor (sk_seqlabel.regressors.all_regressors()) as a "
        "soft sensor, the gyroscope from the accelerometer, and print its test R².",
    )
    demo.add_argument(
        "--output",
        default="demo_output",
        metavar="DIR",
        help="folder for results.json, results.md, demo.png and best_model.joblib "
        "(default: %(default)s)",
    )
    demo.add_argument(
        "--device",
        choices=("auto", "cpu", "cuda"),
        default="auto",
        help="auto uses the GPU when there is one (default: %(default)s)",
    )
    demo.add_argument(
        "--seed",
        type=int,
        default=0,
        metavar="INT",
        help="seeds data, folds and models (default: %(default)s)",
    )
    demo.add_argument(
        "--quick",
        action="store_true",
        help="tiny grid, 2 epochs, few streams: checks that everything runs, in seconds",
    )
    demo.add_argument(
        "--n-jobs",
        type=int,
        default=None,
        metavar="N",
        help="processes for the grid searches (default: all cores on a CPU, 1 on a GPU)",
    )
    demo.set_defaults(run=_demo, parser=demo)
    return parser


def main(argv=None):
    """Run the command line with ``argv`` (default: ``sys.argv[1:]``); return the exit status.

    Parameters
    ----------
    argv : list of str, optional

    Returns
    -------
    int
        0 on success.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
