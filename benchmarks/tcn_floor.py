"""How far the TCN's training is from its FLOP floor, and where the rest of the time goes.

Question: the TCN does a known number of FLOPs per timestep (counted as the reference loops
count them: ``torch.utils.flop_counter.FlopCounterMode`` over a forward and a forward+backward
of a (2, 1024) batch). At the device's measured fp32 matmul rate that sets a floor on an
epoch; how far above it is the estimator, the bare module in a minimal loop on the same
batches (both convolution paths), and the reference loop?

Rows (all on the reference's data, interleaved, best of --repeats):
  estimator default / matched  TCNLabeler.fit, skorch's epoch ``dur`` (2nd epoch); matched =
                               the reference's token budget as ``max_batch_timesteps``
  module conv / gemm           our TCN module, minimal loop (no skorch) over our own padded
                               batches at the matched budget, each ``path``
  ref V2 bucket / gemm         reference_loops.measure_train, fp32

A variant this machine cannot run is tried on tiny data first and skipped, with the reason in
the output and the JSON. The JSON and the console record the CPU kind (model, AVX512-BF16 /
AMX flags, ``ONEDNN_MAX_CPU_ISA``), versions, device and date.

    python -m benchmarks.tcn_floor --small --device cpu \\
        --json benchmarks/results/tcn_floor_cpu_small.json
    ONEDNN_MAX_CPU_ISA=AVX2 python -m benchmarks.tcn_floor --small --device cpu \\
        --json benchmarks/results/tcn_floor_cpu_avx2_small.json   # a CPU without native bf16
    python -m benchmarks.tcn_floor --json benchmarks/results/tcn_floor_gpu.json   # on a GPU
    python -m benchmarks.tcn_floor --tiny --device cpu --repeats 1   # smoke run
"""

from __future__ import annotations

import time

import numpy as np
import torch
import torch.nn.functional as F

from benchmarks import common
from sk_seqlabel._training.batching import collate_padded, plan_batches
from sk_seqlabel.modules.tcn import TCN


def count_flops(model, causal_lengths=True):
    from torch.utils.flop_counter import FlopCounterMode

    x = torch.randn(2, 1024, common.N_FEATURES)
    lengths = torch.tensor([1024, 1024])
    with FlopCounterMode(display=False) as fc:
        model(x, lengths)
    fwd = fc.get_total_flops()
    with FlopCounterMode(display=False) as fc:
        model(x, lengths).sum().backward()
    return dict(fwd_per_ts=fwd / 2048, fwd_bwd_per_ts=fc.get_total_flops() / 2048)


def matmul_gflops(dev, n):
    a = torch.randn(n, n, device=dev)
    b = torch.randn(n, n, device=dev)
    for _ in range(2):
        a @ b
    common.sync(dev)
    times = []
    for _ in range(5):
        t = time.perf_counter()
        a @ b
        common.sync(dev)
        times.append(time.perf_counter() - t)
    return 2 * n**3 / min(times) / 1e9


def module_epoch(model, batches, opt, dev):
    common.sync(dev)
    t = time.perf_counter()
    for xb, yb, lengths in batches:
        logits = model(xb, lengths)
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), yb.reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    common.sync(dev)
    return time.perf_counter() - t


def main():
    ap = common.base_parser(__doc__.splitlines()[0])
    args = ap.parse_args()
    dev = common.setup(args)
    sizes = common.SIZES[common.size_name(args)]
    X, Y, lens = common.make_data(sizes["n"], sizes["lo"], sizes["hi"], seed=0)
    total = int(lens.sum())
    ref = common.load_reference(args.reference)
    env = common.environment(dev, args)
    env["reference"] = getattr(ref, "__file_used__", None)
    print(f"env: {env}")

    ours = TCN(common.N_FEATURES, common.N_CLASSES, causal=True)
    flops = dict(ours_gemm=count_flops(_with_path(ours, "gemm")))
    flops["ours_conv"] = count_flops(_with_path(ours, "conv"))
    if ref is not None:
        flops["reference"] = ref.tcn_flops_per_timestep()
    per_ts = flops["ours_gemm"]["fwd_bwd_per_ts"]
    if ref is not None and dev.type == "cuda":
        ceiling = ref.ceilings(dev, 8192)["matmul_fp32_tflops"] * 1e3
    else:
        ceiling = matmul_gflops(dev, 2048 if dev.type == "cpu" else 8192)
    floor_s = per_ts * total / (ceiling * 1e9)
    print(f"FLOPs per timestep: {flops}")
    print(f"fp32 matmul ceiling {ceiling:.1f} GFLOP/s; epoch floor {floor_s * 1e3:.2f} ms")

    plan = plan_batches(lens, 4096, sizes["tokens"])
    batches = []
    for idx in plan:
        Xb, yb = collate_padded([(X[i], Y[i]) for i in idx])
        batches.append((Xb["x"].to(dev), yb.to(dev), Xb["lengths"].to(dev)))

    results = {}
    estimator_configs = (
        ("estimator default", {}),
        ("estimator matched", dict(max_batch_timesteps=sizes["tokens"], batch_size=4096)),
    )
    skips = trial_variants(ref, dev, estimator_configs, batches[-1])
    for variant, why in skips.items():
        print(f"{variant}: skipped, this machine cannot run it: {why}", flush=True)

    def add(key, ts_per_s):
        results.setdefault(key, []).append(ts_per_s)

    for r in range(args.repeats):
        for cfg, extra in estimator_configs:
            if cfg in skips:
                continue
            _, durs, _ = common.time_estimator_fit("TCN", X, Y, dev, epochs=1, **extra)
            add(cfg, total / durs[0])
        for path in ("conv", "gemm"):
            if f"module {path}" in skips:
                continue
            torch.manual_seed(0)
            model = TCN(common.N_FEATURES, common.N_CLASSES, causal=True, path=path).to(dev)
            opt = torch.optim.Adam(model.parameters(), lr=1e-3)
            module_epoch(model, batches, opt, dev)  # warm-up
            add(f"module {path}", total / module_epoch(model, batches, opt, dev))
        if ref is not None:
            rng = np.random.default_rng(1)
            dd = ref.DeviceData(X, Y, dev)
            for name, label in (("TCN", "ref V2 bucket"), ("TCN-gemm", "ref V2 bucket gemm")):
                if label in skips:
                    continue
                row = ref.measure_train(
                    name,
                    label,
                    ref.MODELS[name],
                    lambda dd=dd, rng=rng: dd.batches(
                        ref.plan_bucketed(lens, sizes["tokens"], rng)
                    ),
                    len(plan),
                    dev,
                    sorted_batches=True,
                )
                add(label, row["real_ts_per_s"])
        print(f"round {r}: " + ", ".join(f"{k} {v[-1]:,.0f}" for k, v in results.items()))

    rows = []
    for key, values in results.items():
        best, spread = common.best_and_spread(values)
        epoch_s = total / best
        rows.append(
            dict(
                variant=key,
                real_ts_per_s=round(best),
                spread=spread,
                epoch_ms=round(epoch_s * 1e3, 1),
                gflops=round(best * per_ts / 1e9, 2),
                pct_of_matmul=round(100 * best * per_ts / 1e9 / ceiling, 1),
                x_floor=round(epoch_s / floor_s, 1),
            )
        )
    rows += [dict(variant=variant, note=f"skipped: {why}") for variant, why in skips.items()]
    common.print_table(
        rows,
        [
            "variant",
            "real_ts_per_s",
            "spread",
            "epoch_ms",
            "gflops",
            "pct_of_matmul",
            "x_floor",
            "note",
        ],
        title=(
            f"TCN training vs its FLOP floor ({per_ts:,.0f} FLOP/timestep fwd+bwd, fp32 matmul "
            f"{ceiling:.1f} GFLOP/s, floor {floor_s * 1e3:.2f} ms/epoch of {total:,} timesteps)"
            f"\n{common.describe_run(env)}"
        ),
    )
    common.write_json(
        args.json,
        dict(
            env=env,
            flops=flops,
            matmul_gflops=ceiling,
            floor_s=floor_s,
            rows=rows,
            rounds=results,
            skipped=skips,
        ),
    )


def trial_variants(ref, dev, estimator_configs, batch):
    """{variant: reason} for the rows this machine cannot run, each tried on tiny data (the
    estimator) or one batch (the module's training step)."""
    skips = {}
    for cfg, extra in estimator_configs:
        why = common.estimator_cannot_run(
            lambda extra=extra: common.make_estimator("TCN", dev, 1, **extra)
        )
        if why:
            skips[cfg] = why
    for path in ("conv", "gemm"):

        def step(path=path):
            model = TCN(common.N_FEATURES, common.N_CLASSES, causal=True, path=path).to(dev)
            module_epoch(model, [batch], torch.optim.Adam(model.parameters()), dev)

        if why := common.cannot_run(step):
            skips[f"module {path}"] = why
    if ref is not None:
        for name, label in (("TCN", "ref V2 bucket"), ("TCN-gemm", "ref V2 bucket gemm")):
            if why := common.reference_cannot_run(ref, name, dev, amp=False):
                skips[label] = why
    return skips


def _with_path(model, path):
    for m in model.modules():
        if hasattr(m, "path"):
            m.path = path
    return model


if __name__ == "__main__":
    main()
