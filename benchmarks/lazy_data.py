"""Memory of fit and predict on recordings that stay on disk (np.memmap) against in memory.

Writes recordings as raw float32 files, then in a fresh process per configuration fits a TCN
for one epoch and predicts every recording, sampling the process's anonymous memory
(``RssAnon``: what the process itself holds, not the page cache of mapped files) every 10 ms.
"memmap" passes ``np.memmap`` views of the files; "one file each" an object whose
``__getitem__`` reads one file (loaded on access); "in memory" reads the files into arrays
first. The data's own size is printed beside.

Command: ``python -m benchmarks.lazy_data`` (``--steps`` per recording, ``--recordings``).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import numpy as np

N_FEATURES = 16

WORKER = textwrap.dedent(
    """
    import json, sys, threading, time
    import numpy as np
    from sk_seqlabel import TCNLabeler

    folder, mode, steps, n = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])

    def anon():
        for line in open("/proc/self/status"):
            if line.startswith("RssAnon"):
                return int(line.split()[1]) / 1024

    peak = [0.0]
    done = threading.Event()

    def watch():
        while not done.is_set():
            peak[0] = max(peak[0], anon())
            time.sleep(0.01)

    threading.Thread(target=watch, daemon=True).start()
    files = [f"{folder}/rec{i}.f32" for i in range(n)]
    class Files:  # one file per recording, read on each access
        def __len__(self):
            return len(files)

        def __getitem__(self, i):
            return np.fromfile(files[i], dtype=np.float32).reshape(steps, 16)

    if mode == "memmap":
        X = [np.memmap(f, dtype=np.float32, mode="r", shape=(steps, 16)) for f in files]
    elif mode == "one file each":
        X = Files()
    else:
        X = [np.fromfile(f, dtype=np.float32).reshape(steps, 16) for f in files]
    y = list(np.load(f"{folder}/labels.npy"))
    start = anon()
    tic = time.perf_counter()
    clf = TCNLabeler(n_filters=32, n_blocks=3, max_epochs=1, random_state=0).fit(X, y)
    fit_s = time.perf_counter() - tic
    tic = time.perf_counter()
    clf.predict(X)
    predict_s = time.perf_counter() - tic
    done.set()
    print(json.dumps({"mode": mode, "anon_before_fit_mib": start, "anon_peak_mib": peak[0],
                      "fit_s": fit_s, "predict_s": predict_s}))
    """
)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=200_000)
    ap.add_argument("--recordings", type=int, default=12)
    ap.add_argument("--json", default="benchmarks/results/lazy_data_cpu.json")
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as folder:
        labels = rng.integers(0, 4, size=(args.recordings, args.steps))
        np.save(Path(folder) / "labels.npy", labels)
        for i in range(args.recordings):
            x = rng.standard_normal((args.steps, N_FEATURES), dtype=np.float32)
            x.tofile(Path(folder) / f"rec{i}.f32")
        data_mib = args.recordings * args.steps * N_FEATURES * 4 / 2**20
        print(
            f"data: {args.recordings} recordings x {args.steps:,} steps x 16 float32 = "
            f"{data_mib:.0f} MiB on disk (labels {labels.nbytes / 2**20:.0f} MiB in memory)"
        )
        rows = []
        for mode in ("memmap", "one file each", "in memory"):
            out = subprocess.run(
                [sys.executable, "-c", WORKER, folder, mode, str(args.steps), str(args.recordings)],
                capture_output=True,
                text=True,
                check=True,
            )
            row = json.loads(out.stdout.strip().splitlines()[-1])
            rows.append(row)
            print(
                f"{mode}: anonymous memory before fit {row['anon_before_fit_mib']:.0f} MiB, "
                f"peak {row['anon_peak_mib']:.0f} MiB; fit {row['fit_s']:.1f} s, predict "
                f"{row['predict_s']:.1f} s"
            )
    with open(args.json, "w") as f:
        json.dump({"data_mib": data_mib, "rows": rows, "args": vars(args)}, f, indent=1)
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
