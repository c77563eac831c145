"""What the weights' checksum costs a pickle: SHA-256 against zlib.crc32.

Question: ``SequenceNet.__getstate__`` hashes the bytes skorch serialises the module,
optimizer and criterion into, and ``__setstate__`` hashes them again before reading them.
How long does that take against pickling and unpickling the whole fitted estimator, and would
a CRC-32 (which detects accidents only, as SHA-256 does without a key) be much cheaper?

For each model (mid-size: the sizes of the reference loops, RESULTS.md's header), fitted for
one epoch on small data: the size of the serialised weights; the best of ``--repeats`` times
of ``pickle.dumps`` and ``pickle.loads`` of the estimator (both include one SHA-256), of
SHA-256 and of zlib.crc32 over those bytes; and each hash's share of a dumps + loads round
trip (which hashes twice).

    python -m benchmarks.pickle_checksum --json benchmarks/results/pickle_checksum_cpu.json
"""

from __future__ import annotations

import argparse
import hashlib
import pickle
import time
import zlib

import torch

from benchmarks import common

MODELS = {
    "TCN 4x64": ("TCN", dict(n_filters=64, kernel_size=5, n_blocks=4, causal=True)),
    "BiLSTM 2x128": ("LSTM", dict(hidden_size=128, num_layers=2, bidirectional=True)),
    "BiLSTM 2x512": ("LSTM", dict(hidden_size=512, num_layers=2, bidirectional=True)),
}


def best_time(fn, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def measure(name, params, repeats):
    X, Y, _ = common.make_data(16, 20, 200, seed=0)
    cls = common.estimator_class(name)
    clf = cls(**params, max_epochs=1, device="cpu", precision="fp32", random_state=0).fit(X, Y)
    weights = clf.net_.__getstate__()["__cuda_dependent_attributes__"]
    blob = pickle.dumps(clf)
    dumps = best_time(lambda: pickle.dumps(clf), repeats)
    loads = best_time(lambda: pickle.loads(blob), repeats)
    sha = best_time(lambda: hashlib.sha256(weights).digest(), repeats)
    crc = best_time(lambda: zlib.crc32(weights), repeats)
    round_trip = dumps + loads
    return {
        "weights_mib": len(weights) / 2**20,
        "pickle_mib": len(blob) / 2**20,
        "dumps_ms": 1e3 * dumps,
        "loads_ms": 1e3 * loads,
        "sha256_ms": 1e3 * sha,
        "crc32_ms": 1e3 * crc,
        "sha256_share": 2 * sha / round_trip,
        "crc32_share": 2 * crc / round_trip,
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--json", default=None)
    args = parser.parse_args(argv)
    rows = []
    for label, (name, params) in MODELS.items():
        row = {"model": label, **measure(name, params, args.repeats)}
        rows.append(row)
        print(
            f"{label:14s} weights {row['weights_mib']:6.1f} MiB  dumps {row['dumps_ms']:7.1f} ms"
            f"  loads {row['loads_ms']:7.1f} ms  sha256 {row['sha256_ms']:6.2f} ms"
            f"  crc32 {row['crc32_ms']:6.2f} ms  share of a round trip: sha256"
            f" {row['sha256_share']:.1%}, crc32 {row['crc32_share']:.1%}"
        )
    if args.json:
        common.write_json(
            args.json, {"environment": common.environment(torch.device("cpu"), args), "rows": rows}
        )


if __name__ == "__main__":
    main()
