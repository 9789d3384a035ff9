"""Roofline of the NumPy LeNet train step: each layer's forward and backward against the machine's GEMM peak.

FLOPs count the layer's GEMM work, 2 per multiply-add: forward 2 * M * K * N
(M = batch * output pixels for a convolution, its im2col product; the batch
for Dense), backward the kernel gradient plus, except for the first layer of
a train step (``need_input_grad=False``), the input gradient. These are the
textbook im2col GEMM's FLOPs, the useful work: for layers with few filters
Conv2D runs banded GEMMs (``numpy_models._banded``) that also multiply the
band's zeros (U/kw times the multiply-adds), which are not counted. Pooling,
Flatten and activations do no GEMM work: their time is listed, their GFLOP/s is not.
The peak is a square (512, 512) float32 / float64 ``matmul`` timed in the same run.
"""
import time

import numpy as np

GEMM_FLOP_LAYERS = ("Conv2D", "Dense")


def interleaved_fastest(workloads, repetitions):
    """{key: fastest seconds}: every repetition times each workload once, in turn, after one warm-up call each.

    Interleaving spreads a shared machine's load over all workloads alike. The
    fastest repetition, not the median: a roofline asks what the code does with
    the machine, and on a loaded machine a long GEMM is preempted more often than
    a short one, which skews medians against the peak.
    """
    samples = {key: [] for key in workloads}
    for fn in workloads.values():
        fn()
    for _ in range(repetitions):
        for key, fn in workloads.items():
            start = time.perf_counter()
            fn()
            samples[key].append(time.perf_counter() - start)
    return {key: min(values) for key, values in samples.items()}


def gemm(dtype, size):
    """``a @ b`` for two (size, size) matrices of ``dtype``, and its FLOPs."""
    rng = np.random.default_rng(0)
    a, b = (rng.standard_normal((size, size)).astype(dtype) for _ in range(2))
    out = np.empty((size, size), dtype=dtype)
    return (lambda: np.matmul(a, b, out=out)), 2 * size ** 3


def layer_flops(layer, batch, first):
    """(forward, backward) GEMM FLOPs of one layer for ``batch`` samples (0, 0 for layers without a GEMM)."""
    kind = type(layer).__name__
    if kind not in GEMM_FLOP_LAYERS:
        return 0, 0
    rows = batch * int(np.prod(layer.output_shape[1:-1]))  # output pixels x batch (conv), batch (dense)
    forward = 2 * rows * layer.params["kernel"].size
    return forward, forward * (1 if first else 2)


def layer_workloads(model, batch, dtype):
    """{(layer, direction): (fn, GEMM FLOPs)}; the first layer computes no input gradient, as in a train step."""
    rng = np.random.default_rng(0)
    h = rng.uniform(0, 1, (batch,) + tuple(model.input_shape[1:])).astype(dtype)
    workloads = {}
    for i, layer in enumerate(model.layers):
        x = h
        h = layer.call(x, training=True)
        dout = rng.standard_normal(h.shape).astype(dtype)
        flops = layer_flops(layer, batch, first=i == 0)

        def forward(layer=layer, x=x):
            layer.call(x, training=True)

        def backward(layer=layer, dout=dout, first=i == 0):
            layer.compute_input_grad = not first
            layer.backward_call(dout)
            layer.compute_input_grad = True

        workloads[(layer.name, "forward")] = (forward, flops[0])
        workloads[(layer.name, "backward")] = (backward, flops[1])
    return workloads


def roofline(quick):
    """{"peaks": {dtype: GFLOP/s}, "rows": {dtype: [...]}} for the LeNet train step at batch 128.

    Each layer's backward is timed right after its own forward (its cache), the
    layers and the peak GEMM interleaved (``interleaved_fastest``).
    """
    import numpy_models
    from parity.specs import SPECS

    spec, batch = SPECS["lenet_28"], (16 if quick else 128)
    size, repetitions = (256, 3) if quick else (512, 15)  # 512: one GEMM a few ms long, rarely preempted
    result = {"peaks": {}, "rows": {}, "batch": batch}
    for dtype in ("float32", "float64"):
        model = numpy_models.build_sequential(spec.layer_tuples(), spec.input_shape, dtype, seed=0)
        layers = layer_workloads(model, batch, dtype)
        peak_fn, peak_flops = gemm(dtype, size)
        # In layer order, each backward right after its own forward: it reads that forward's cache.
        seconds = interleaved_fastest({"peak": peak_fn, **{key: fn for key, (fn, _) in layers.items()}}, repetitions)
        result["peaks"][dtype] = peak_flops / seconds["peak"] / 1e9
        result["rows"][dtype] = [{"layer": name, "direction": direction, "mflop": flops / 1e6,
                                  "ms": 1e3 * seconds[(name, direction)]}
                                 for (name, direction), (_, flops) in layers.items()]
    return result


def render_roofline(result, threads):
    """Markdown: one row per layer and direction, float32 and float64 side by side."""
    peaks = result["peaks"]
    lines = [f"## Roofline: the NumPy LeNet train step per layer (batch {result['batch']}, "
             f"NumPy BLAS threads: {threads})", "",
             f"GEMM peak measured in this run (square matmul): float32 {peaks['float32']:.1f} GFLOP/s, "
             f"float64 {peaks['float64']:.1f} GFLOP/s. FLOPs are the layer's GEMM work (2 per multiply-add); "
             "layers without a GEMM show time only. Times are the fastest of the interleaved repetitions.", "",
             "| layer | direction | MFLOP | float32 ms | float32 GFLOP/s | % of peak | float64 ms | float64 GFLOP/s "
             "| % of peak |", "|---|---|---|---|---|---|---|---|---|"]
    totals = {"float32": 0.0, "float64": 0.0}
    for r32, r64 in zip(result["rows"]["float32"], result["rows"]["float64"], strict=True):
        cells = []
        for dtype, r in (("float32", r32), ("float64", r64)):
            totals[dtype] += r["ms"]
            rate = r["mflop"] / r["ms"] if r["mflop"] else None  # MFLOP / ms = GFLOP/s
            cells += [f"{r['ms']:.2f}", "" if rate is None else f"{rate:.1f}",
                      "" if rate is None else f"{100 * rate / peaks[dtype]:.0f}%"]
        lines.append(f"| {r32['layer']} | {r32['direction']} | {r32['mflop']:.1f} | " + " | ".join(cells) + " |")
    mflop = sum(r["mflop"] for r in result["rows"]["float32"])
    at_peak = {d: mflop / peaks[d] for d in peaks}  # ms at peak
    lines.append(f"| **all layers** | | {mflop:.1f} | {totals['float32']:.2f} | {mflop / totals['float32']:.1f} | "
                 f"{100 * at_peak['float32'] / totals['float32']:.0f}% | {totals['float64']:.2f} | "
                 f"{mflop / totals['float64']:.1f} | {100 * at_peak['float64'] / totals['float64']:.0f}% |")
    return "\n".join(lines)
