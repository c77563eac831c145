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

    python -m benchmarks.throughput --small --device cpu \
        --json benchmarks/results/throughput_cpu_small.json
    python -m benchmarks.throughput --json benchmarks/results/throughput_gpu.json   # on a GPU
"""

from __future__ import annotations

import time

import numpy as np
import torch

from benchmarks import common
from sk_seqlabel._base import AUTO_BATCH_TIMESTEPS
from sk_seqlabel._batching import plan_batches


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
    )


def pad_fraction(lens, batch_size, cap):
    plan = plan_batches(lens, batch_size, cap)
    padded = sum(len(b) * int(lens[b].max()) for b in plan)
    return round(1 - int(lens.sum()) / padded, 3), len(plan)


def reference_train_rows(ref, name, X, Y, lens, dev, sizes):
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

    ref_name = common.REFERENCE_MODEL[name]
    models = [(ref_name, "")] + ([("TCN-gemm", " gemm")] if name == "TCN" else [])
    for model, label in models:
        mk = ref.MODELS[model]
        variants = [("V2 bucket" + label, bucketed, False, False)]
        if not label:
            variants.insert(0, ("V1 naive", naive, False, True))
        # bf16 autocast is the reference's best variant on a GPU; on a CPU it is usually slower
        # for the LSTMs, but the row is kept so "best reference variant" means the same there.
        variants.append(("V3 +bf16" + label, bucketed, True, False))
        for variant, make_batches, amp, naive_sync in variants:
            r = ref.measure_train(
                model,
                variant,
                mk,
                make_batches,
                n_rand if naive_sync else n_buck,
                dev,
                amp=amp,
                naive_sync=naive_sync,
                sorted_batches=not naive_sync,
            )
            rows[variant] = dict(train=r["real_ts_per_s"], pad_frac=r["pad_frac"])
    return rows


def reference_infer_rows(ref, name, X, dev, sizes):
    rows = {}
    ref_name = common.REFERENCE_MODEL[name]
    models = [(ref_name, "")] + ([("TCN-gemm", " gemm")] if name == "TCN" else [])
    for model, label in models:
        torch.manual_seed(0)
        m = ref.MODELS[model]().to(dev).eval()
        if hasattr(m, "sorted_batches"):
            m.sorted_batches = True
        total = sum(len(x) for x in X)
        for amp in (False, True):
            s = common.time_predict(
                lambda m=m, amp=amp: ref.predict_all(m, X, dev, amp, sizes["tokens"]),
                dev,
                repeats=2,
            )
            rows[("bf16" if amp else "fp32") + label] = dict(infer=total / s)
    return rows


def main():
    ap = common.base_parser(__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=2, help="measured epochs per fit (after 1)")
    args = ap.parse_args()
    dev = common.setup(args)
    sizes = common.SIZES[args.small]
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
        rounds = []
        for r in range(args.repeats):
            row = {
                cfg: ours_train_infer(name, X, Y, lens, dev, args.epochs, **extra)
                for cfg, extra in configs.items()
            }
            if ref is not None:
                row["ref_train"] = reference_train_rows(ref, name, X, Y, lens, dev, sizes)
                row["ref_infer"] = reference_infer_rows(ref, name, X, dev, sizes)
            rounds.append(row)
            print(f"{name} round {r}: {_round_line(row)}", flush=True)
        results["models"][name] = _aggregate(name, rounds, lens, sizes, dev, list(configs))
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


def _aggregate(name, rounds, lens, sizes, dev, configs):
    """Best of rounds and spread for every row; ratios ours / best reference variant."""
    out = dict(rows=[])
    for cfg in configs:
        train, spread_t = common.best_and_spread([r[cfg]["train"] for r in rounds])
        infer, spread_i = common.best_and_spread([r[cfg]["infer"] for r in rounds])
        pred, _ = common.best_and_spread([r[cfg]["predict"] for r in rounds])
        out["rows"].append(
            dict(
                model=name,
                variant=f"ours {cfg}",
                train=train,
                train_spread=spread_t,
                infer=infer,
                infer_spread=spread_i,
                predict=pred,
                precision=rounds[0][cfg]["precision"],
            )
        )
    # bf16 against fp32 for each round, both measured back to back: what "auto" should pick
    out["bf16_over_fp32"] = dict(
        train=[round(r["bf16"]["train"] / r["fp32"]["train"], 3) for r in rounds],
        infer=[round(r["bf16"]["infer"] / r["fp32"]["infer"], 3) for r in rounds],
    )
    out["pad_frac_default_cap"] = pad_fraction(lens, 32, AUTO_BATCH_TIMESTEPS[dev.type])
    out["pad_frac_matched_cap"] = pad_fraction(lens, 4096, sizes["tokens"])
    if "ref_train" not in rounds[0]:
        return out
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
                pad_frac=rounds[0]["ref_train"][variant]["pad_frac"],
            )
        )
    best_ref_infer = {}
    for variant in rounds[0]["ref_infer"]:
        infer, spread = common.best_and_spread([r["ref_infer"][variant]["infer"] for r in rounds])
        best_ref_infer[variant] = infer
        out["rows"].append(
            dict(model=name, variant=f"ref predict_all {variant}", infer=infer, infer_spread=spread)
        )
    bt = max(best_ref_train, key=best_ref_train.get)
    bi = max(best_ref_infer, key=best_ref_infer.get)
    fp32_train = {k: v for k, v in best_ref_train.items() if "bf16" not in k}
    bt32 = max(fp32_train, key=fp32_train.get)
    out["ratios"] = []
    for row in out["rows"][: len(configs)]:
        out["ratios"].append(
            dict(
                model=name,
                ours=row["variant"],
                best_ref_train=bt,
                train_ratio=round(row["train"] / best_ref_train[bt], 3),
                best_ref_fp32_train=bt32,
                train_ratio_fp32=round(row["train"] / fp32_train[bt32], 3),
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
            "pad_frac",
        ],
        title="real timesteps / s (best of rounds; spread = max/min - 1 between rounds)",
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
        print(
            f"{name}: padding fraction (ours, inference plan) default cap "
            f"{m.get('pad_frac_default_cap')}, matched cap {m['pad_frac_matched_cap']} "
            "(fraction, batches)"
        )
        print(f"{name}: bf16 / fp32 per round: {m['bf16_over_fp32']}")


if __name__ == "__main__":
    main()
