"""Throughput of each estimator through its public API against the hand-written reference loops.

Question: how many REAL (non-padding) timesteps per second do ``fit`` (one epoch, after a
warm-up epoch) and ``predict_proba`` process, compared with the best hand-written PyTorch loop
of the same model on the same data (``reference_loops.py``, imported from ``--reference`` and
run in this process, interleaved with ours)?

Ours, per estimator:
  default   the estimator as a user calls it: only the model keywords set (sizes matched to
            the reference), ``batch_size``, ``max_batch_timesteps`` and ``precision`` left at
            their defaults
  fp32/bf16 the default with ``precision`` set: the measurement behind ``precision="auto"``
  matched   the default with the reference's batch budget: ``max_batch_timesteps`` = its token
            budget (2,048 with --small, 65,536 otherwise) and ``batch_size`` = 4,096 (no row cap)
Reference (its own functions): V1 naive, V2 bucket (fp32), V3 +bf16, and for the TCN its GEMM
form; inference is its ``predict_all`` (host list in, host labels out).

Epoch time of ours is skorch's ``history[:, "dur"]`` of the epochs after the first; each round
fits a fresh estimator for ``1 + --epochs`` epochs. Every row is measured ``--repeats`` times,
rounds interleaved between ours and the reference; the best round is reported with the
spread (max/min - 1) between rounds.

Padding ("pad_frac", "train_pad_frac") is that of the batches actually used on the device
benchmarked: the net's own training iterator (first epoch: windows, jitter and, on CUDA,
lengths rounded up by ``padded_length(..., round_lengths=True)``) and the loader
``predict_proba`` uses, with the same rounding.

A variant this machine cannot run (bf16 LSTMs on a CPU without native bf16: oneDNN has no
such primitive) is tried on tiny data first and skipped, with the reason in the table and the
JSON. The JSON and the console record the CPU kind (model, AVX512-BF16 / AMX flags,
``ONEDNN_MAX_CPU_ISA``), versions, device and date.

    python -m benchmarks.throughput --small --device cpu \
        --json benchmarks/results/throughput_cpu_small.json
    ONEDNN_MAX_CPU_ISA=AVX2 python -m benchmarks.throughput --small --device cpu \
        --json benchmarks/results/throughput_cpu_avx2_small.json   # a CPU without native bf16
    python -m benchmarks.throughput --json benchmarks/results/throughput_gpu.json   # on a GPU
    python -m benchmarks.throughput --tiny --device cpu --repeats 1 --epochs 1   # smoke run
"""

from __future__ import annotations

import time

import numpy as np
import torch

from benchmarks import common
from sk_seqlabel._training.batching import SequenceDataset, bucketed_loader


def ours_train_infer(name, X, Y, lens, dev, epochs, **extra):
    clf, durs, info = common.time_estimator_fit(name, X, Y, dev, epochs=epochs, **extra)
    total = int(lens.sum())
    train = total / common.median(durs)
    proba_s = common.time_predict(lambda: clf.predict_proba(X), dev, repeats=2)
    predict_s = common.time_predict(lambda: clf.predict(X), dev, repeats=1)
    return dict(
        train=train,
        precision=clf.net_.precision,
        infer=total / proba_s,
        predict=total / predict_s,
        epoch_s=[round(d, 4) for d in durs],
        **info,
        **padding_of_plans(clf, X, Y),
    )


def padding_of_plans(clf, X, Y):
    """Padding of the batches the fitted ``clf`` trains and predicts with on its device.

    Training: the net's own iterator (so its windows, length jitter and, on CUDA, lengths
    rounded up by ``padded_length(..., round_lengths=True)``), as in the first epoch of a fit
    with the same seed. Inference: the loader ``predict_proba`` builds for the sequences it
    predicts in one piece (those longer than the cap go through the chunked path, counted in
    ``n_chunked``). Padding = 1 - real / padded timesteps of the collated batches.
    """
    net = clf.net_
    cap, round_lengths = _inference_batching(clf)
    dataset = SequenceDataset(X, Y)
    train_pad, train_batches = _padding(net.get_iterator(dataset, training=True))
    short = np.flatnonzero(dataset.lengths <= cap)
    loader = bucketed_loader(
        torch.utils.data.Subset(dataset, short),
        batch_size=net.batch_size,
        max_batch_timesteps=cap,
        round_lengths=round_lengths,
        batch_overhead=getattr(clf, "_batch_overhead_timesteps", None),
    )
    infer_pad, infer_batches = _padding(loader)
    return dict(
        round_lengths=round_lengths,
        train_pad_frac=train_pad,
        train_batches=train_batches,
        pad_frac=infer_pad,
        infer_batches=infer_batches,
        n_chunked=len(X) - len(short),
    )


def _inference_batching(clf):
    """(batch cap, round_lengths) that the fitted ``clf``'s ``predict_proba`` runs under."""
    policy = clf._device_policy(clf.net_.device)  # the device policy predict runs under
    return policy.inference_batch_timesteps, policy.round_lengths


def _padding(loader):
    real = padded = n = 0
    for Xb, _ in loader:
        real += int(Xb["lengths"].sum())
        padded += Xb["x"].shape[0] * Xb["x"].shape[1]
        n += 1
    return (round(1 - real / padded, 3) if padded else None), n


def ours_skips(name, dev, configs):
    """{"ours <config>": reason} for the configurations of ``name`` this machine cannot run,
    decided by fitting each on tiny data first."""
    skips = {}
    for cfg, extra in configs.items():
        why = common.estimator_cannot_run(
            lambda extra=extra: common.make_estimator(name, dev, 1, **extra)
        )
        if why:
            skips[f"ours {cfg}"] = why
    return skips


def reference_variants(ref, name):
    """The reference's variants for ``name``: (row name, model, bf16 autocast, naive)."""
    ref_name = common.REFERENCE_MODEL[name]
    models = [(ref_name, "")] + ([("TCN-gemm", " gemm")] if name == "TCN" else [])
    variants = []
    for model, label in models:
        if not label:
            variants.append(("V1 naive", model, False, True))
        variants.append(("V2 bucket" + label, model, False, False))
        # bf16 autocast is the reference's best variant on a GPU; on a CPU it is usually slower
        # for the LSTMs, but the row is kept so "best reference variant" means the same there.
        variants.append(("V3 +bf16" + label, model, True, False))
    return variants


def reference_infer_variants(ref, name):
    """The reference's inference variants: (row name, model, bf16 autocast)."""
    ref_name = common.REFERENCE_MODEL[name]
    models = [(ref_name, "")] + ([("TCN-gemm", " gemm")] if name == "TCN" else [])
    return [
        (("bf16" if amp else "fp32") + label, model, amp)
        for model, label in models
        for amp in (False, True)
    ]


def reference_skips(ref, name, dev):
    """{row name: reason} for the reference rows of ``name`` this machine cannot run, decided
    by a tiny trial of each (model, precision, batching) combination."""
    trials = {}

    def reason(model, amp, sorted_batches):
        key = (model, amp, sorted_batches)
        if key not in trials:
            trials[key] = common.reference_cannot_run(ref, model, dev, amp, sorted_batches)
        return trials[key]

    skips = {}
    for variant, model, amp, naive in reference_variants(ref, name):
        if why := reason(model, amp, not naive):
            skips[f"train {variant}"] = why
    for variant, model, amp in reference_infer_variants(ref, name):
        if why := reason(model, amp, True):
            skips[f"predict_all {variant}"] = why
    return skips


def reference_train_rows(ref, name, X, Y, lens, dev, sizes, skips):
    """The reference's own training variants for ``name``: {variant: real timesteps / s}."""
    rng = np.random.default_rng(1)
    tokens, bs = sizes["tokens"], sizes["naive_batch_size"]
    dd = ref.DeviceData(X, Y, dev)
    n_rand = -(-len(lens) // bs)
    n_buck = len(ref.plan_bucketed(lens, tokens, np.random.default_rng(0)))
    rows = {}

    def bucketed():
        return dd.batches(ref.plan_bucketed(lens, tokens, rng))

    def naive():
        return ref.host_batches(X, Y, ref.plan_random(lens, bs, rng), dev)

    for variant, model, amp, naive_sync in reference_variants(ref, name):
        if f"train {variant}" in skips:
            continue
        r = ref.measure_train(
            model,
            variant,
            ref.MODELS[model],
            naive if naive_sync else bucketed,
            n_rand if naive_sync else n_buck,
            dev,
            amp=amp,
            naive_sync=naive_sync,
            sorted_batches=not naive_sync,
        )
        rows[variant] = dict(train=r["real_ts_per_s"], pad_frac=r["pad_frac"])
    return rows


def reference_infer_rows(ref, name, X, dev, sizes, skips):
    rows = {}
    total = sum(len(x) for x in X)
    for variant, model, amp in reference_infer_variants(ref, name):
        if f"predict_all {variant}" in skips:
            continue
        torch.manual_seed(0)
        m = ref.MODELS[model]().to(dev).eval()
        if hasattr(m, "sorted_batches"):
            m.sorted_batches = True
        s = common.time_predict(
            lambda m=m, amp=amp: ref.predict_all(m, X, dev, amp, sizes["tokens"]),
            dev,
            repeats=2,
        )
        rows[variant] = dict(infer=total / s)
    return rows


def main():
    ap = common.base_parser(__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=2, help="measured epochs per fit (after 1)")
    args = ap.parse_args()
    dev = common.setup(args)
    sizes = common.SIZES[common.size_name(args)]
    X, Y, lens = common.make_data(sizes["n"], sizes["lo"], sizes["hi"], seed=0)
    ref = common.load_reference(args.reference)
    if ref is not None:
        common.check_same_data(ref, X, lens, sizes["n"], sizes["lo"], sizes["hi"], 0)
    env = common.environment(dev, args)
    env["reference"] = getattr(ref, "__file_used__", None)
    print(f"env: {env}")
    print(f"data: {common.data_summary(lens)}; reference token budget {sizes['tokens']}")
    models = [m for m in args.models.split(",") if m]
    configs = {
        "default": {},
        "fp32": dict(precision="fp32"),
        "bf16": dict(precision="bf16"),
        "matched": dict(max_batch_timesteps=sizes["tokens"], batch_size=4096),
    }
    results = dict(env=env, data=common.data_summary(lens), sizes=sizes, models={})

    for name in models:
        t0 = time.perf_counter()
        skips = ours_skips(name, dev, configs)
        if ref is not None:
            skips.update(reference_skips(ref, name, dev))
        for variant, why in skips.items():
            print(f"{name} {variant}: skipped, this machine cannot run it: {why}", flush=True)
        rounds = []
        for r in range(args.repeats):
            row = {
                cfg: ours_train_infer(name, X, Y, lens, dev, args.epochs, **extra)
                for cfg, extra in configs.items()
                if f"ours {cfg}" not in skips
            }
            if ref is not None:
                row["ref_train"] = reference_train_rows(ref, name, X, Y, lens, dev, sizes, skips)
                row["ref_infer"] = reference_infer_rows(ref, name, X, dev, sizes, skips)
            rounds.append(row)
            print(f"{name} round {r}: {_round_line(row)}", flush=True)
        results["models"][name] = _aggregate(name, rounds, list(configs), skips)
        results["models"][name]["skipped"] = skips
        results["models"][name]["rounds"] = rounds
        results["models"][name]["bench_s"] = round(time.perf_counter() - t0, 1)

    _report(results)
    common.write_json(args.json, results)


def _round_line(row):
    parts = [
        f"ours {k} train {row[k]['train']:,.0f} infer {row[k]['infer']:,.0f}"
        for k in row
        if not k.startswith("ref_")
    ]
    for k, v in row.get("ref_train", {}).items():
        parts.append(f"ref {k} {v['train']:,.0f}")
    for k, v in row.get("ref_infer", {}).items():
        parts.append(f"ref infer {k} {v['infer']:,.0f}")
    return "; ".join(parts)


def _skipped_row(name, variant, why):
    return dict(model=name, variant=variant, note=f"skipped: {why}")


def _aggregate(name, rounds, configs, skips):
    """Best of rounds and spread for every row; ratios ours / best reference variant."""
    out = dict(rows=[], padding={})
    ours = [cfg for cfg in configs if cfg in rounds[0]]
    for cfg in configs:
        if cfg not in ours:
            out["rows"].append(_skipped_row(name, f"ours {cfg}", skips[f"ours {cfg}"]))
            continue
        train, spread_t = common.best_and_spread([r[cfg]["train"] for r in rounds])
        infer, spread_i = common.best_and_spread([r[cfg]["infer"] for r in rounds])
        pred, _ = common.best_and_spread([r[cfg]["predict"] for r in rounds])
        first = rounds[0][cfg]
        out["rows"].append(
            dict(
                model=name,
                variant=f"ours {cfg}",
                train=train,
                train_spread=spread_t,
                infer=infer,
                infer_spread=spread_i,
                predict=pred,
                precision=first["precision"],
                train_pad_frac=first["train_pad_frac"],
                pad_frac=first["pad_frac"],
            )
        )
        out["padding"][cfg] = {
            k: first[k]
            for k in (
                "round_lengths",
                "train_pad_frac",
                "train_batches",
                "pad_frac",
                "infer_batches",
                "n_chunked",
            )
        }
    # bf16 against fp32 for each round, both measured back to back: what "auto" should pick
    if "bf16" in ours and "fp32" in ours:
        out["bf16_over_fp32"] = dict(
            train=[round(r["bf16"]["train"] / r["fp32"]["train"], 3) for r in rounds],
            infer=[round(r["bf16"]["infer"] / r["fp32"]["infer"], 3) for r in rounds],
        )
    if "ref_train" not in rounds[0]:
        return out
    n_ours = len(out["rows"])
    best_ref_train = {}
    for variant in rounds[0]["ref_train"]:
        train, spread = common.best_and_spread([r["ref_train"][variant]["train"] for r in rounds])
        best_ref_train[variant] = train
        out["rows"].append(
            dict(
                model=name,
                variant=f"ref {variant}",
                train=train,
                train_spread=spread,
                train_pad_frac=rounds[0]["ref_train"][variant]["pad_frac"],
            )
        )
    best_ref_infer = {}
    for variant in rounds[0]["ref_infer"]:
        infer, spread = common.best_and_spread([r["ref_infer"][variant]["infer"] for r in rounds])
        best_ref_infer[variant] = infer
        out["rows"].append(
            dict(model=name, variant=f"ref predict_all {variant}", infer=infer, infer_spread=spread)
        )
    for variant, why in skips.items():
        if not variant.startswith("ours "):
            out["rows"].append(_skipped_row(name, f"ref {variant}", why))
    if not best_ref_train or not best_ref_infer:
        return out
    bt = max(best_ref_train, key=best_ref_train.get)
    bi = max(best_ref_infer, key=best_ref_infer.get)
    fp32_train = {k: v for k, v in best_ref_train.items() if "bf16" not in k}
    bt32 = max(fp32_train, key=fp32_train.get) if fp32_train else None
    out["ratios"] = []
    for row in out["rows"][:n_ours]:
        if "note" in row:
            continue
        out["ratios"].append(
            dict(
                model=name,
                ours=row["variant"],
                best_ref_train=bt,
                train_ratio=round(row["train"] / best_ref_train[bt], 3),
                best_ref_fp32_train=bt32,
                train_ratio_fp32=round(row["train"] / fp32_train[bt32], 3) if bt32 else None,
                best_ref_infer=bi,
                infer_ratio=round(row["infer"] / best_ref_infer[bi], 3),
                # the same ratio per round (each round measures ours and the reference back to
                # back): min .. max shows how much of the ratio the machine's noise can move
                train_ratio_rounds=[
                    round(
                        r[row["variant"][5:]]["train"]
                        / max(v["train"] for v in r["ref_train"].values()),
                        3,
                    )
                    for r in rounds
                ],
                infer_ratio_rounds=[
                    round(
                        r[row["variant"][5:]]["infer"]
                        / max(v["infer"] for v in r["ref_infer"].values()),
                        3,
                    )
                    for r in rounds
                ],
            )
        )
    return out


def _report(results):
    env = results["env"]
    print("\n" + common.describe_run(env))
    rows = [r for m in results["models"].values() for r in m["rows"]]
    for r in rows:
        for k in ("train", "infer", "predict"):
            if r.get(k):
                r[k] = round(r[k])
    common.print_table(
        rows,
        [
            "model",
            "variant",
            "train",
            "train_spread",
            "infer",
            "infer_spread",
            "predict",
            "precision",
            "train_pad_frac",
            "pad_frac",
            "note",
        ],
        title=(
            "real timesteps / s (best of rounds; spread = max/min - 1 between rounds; "
            "padding of the batches used on this device: train_pad_frac = first training "
            "epoch, pad_frac = predict_proba)"
        ),
    )
    ratios = [r for m in results["models"].values() for r in m.get("ratios", [])]
    if ratios:
        common.print_table(
            ratios,
            [
                "model",
                "ours",
                "best_ref_train",
                "train_ratio",
                "train_ratio_rounds",
                "best_ref_fp32_train",
                "train_ratio_fp32",
                "best_ref_infer",
                "infer_ratio",
                "infer_ratio_rounds",
            ],
            title="ours / best reference variant (best of rounds; per-round ratios)",
        )
    for name, m in results["models"].items():
        for cfg, pad in m["padding"].items():
            print(
                f"{name} ours {cfg}: padding of the plans used on {env['device']} "
                f"(round_lengths={pad['round_lengths']}): training {pad['train_pad_frac']} "
                f"in {pad['train_batches']} batches, predict_proba {pad['pad_frac']} in "
                f"{pad['infer_batches']} batches (+{pad['n_chunked']} sequences chunked)"
            )
        if "bf16_over_fp32" in m:
            print(f"{name}: bf16 / fp32 per round: {m['bf16_over_fp32']}")
        for variant, why in m["skipped"].items():
            print(f"{name} {variant}: skipped, this machine cannot run it: {why}")


if __name__ == "__main__":
    main()
