"""NumPy vs Keras speed, as ratios measured in one run (docs/performance.md's method).

Workloads (float32):
  cnn_train_step   LeNet-style CNN, batch 128: NumPy forward + backward + SGD update vs Keras train_on_batch
  cnn_predict_10k  inference over 10,000 28x28 images: NumPy predict vs Keras model.predict (default batch size)
  mlp_train_step   784-50-10 MLP, batch 100: NumPy step vs one step of Keras fit (epoch of 60 steps / 60)

Each repetition times NumPy and Keras back to back (interleaved), so machine
noise hits both; the table reports the median and the minimum of the per-rep
ratios. Every workload runs twice: with NumPy's default BLAS threading (one
thread per core, like TensorFlow's default intra-op pool: the like-for-like
comparison) and with one BLAS thread (threadpoolctl), the configuration that
docs/performance.md recommends on a noisy shared machine. Keras keeps its defaults.

Then the roofline of the NumPy LeNet step (``benchmarks.roofline``), the
gradient checker's timings, and the wall times of the default report and of
the test suite (``benchmarks.walltimes``). Every target is a row with its
measured number, never a timed test.

Usage: python -m benchmarks.bench [--reps 7] [--quick] [--no-walltimes] [--no-suite] [--out reports]
"""
import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.roofline import render_roofline, roofline  # noqa: E402  (after the path fix above)
from benchmarks.walltimes import render_walltimes, walltimes  # noqa: E402


def _time(fn, iterations):
    """Median seconds per call over ``iterations`` calls (after one warm-up call)."""
    fn()
    samples = []
    for _ in range(iterations):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def _lenet(dtype="float32"):
    import keras_models
    import numpy_models
    from parity.specs import SPECS
    from parity.weights import numpy_to_keras

    spec = SPECS["lenet_28"]
    np_model = numpy_models.build_sequential(spec.layer_tuples(), spec.input_shape, dtype, seed=0)
    k_model = keras_models.build_sequential(spec.layer_tuples(), spec.input_shape, dtype)
    numpy_to_keras(np_model, k_model)
    return np_model, k_model


def _numpy_step(model, x, t, loss, optimizer):
    def step():
        y = model.forward(x, training=True)
        model.backward_loss(loss, t, y, need_input_grad=False)
        optimizer.update(model.params, model.grads)
    return step


def cnn_train_step(quick):
    import keras
    import numpy_models

    np_model, k_model = _lenet()
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, (128, 28, 28, 1)).astype("float32")
    t = np.eye(10, dtype="float32")[rng.integers(0, 10, 128)]
    k_model.compile(optimizer=keras.optimizers.SGD(0.01), loss="categorical_crossentropy")
    ours = _numpy_step(np_model, x, t, numpy_models.losses.CategoricalCrossentropy(), numpy_models.optimizers.SGD(0.01))
    theirs = lambda: k_model.train_on_batch(x, t)
    n = 3 if quick else 15
    return lambda: (_time(ours, n), _time(theirs, n))


def cnn_predict_10k(quick):
    np_model, k_model = _lenet()
    count = 1000 if quick else 10000
    x = np.random.default_rng(1).uniform(0, 1, (count, 28, 28, 1)).astype("float32")
    ours = lambda: np_model.predict(x, batch_size=1000)
    theirs = lambda: k_model.predict(x, verbose=0)  # default batch_size (32); verbose only silences the bar
    n = 1 if quick else 3
    return lambda: (_time(ours, n), _time(theirs, n))


def mlp_train_step(quick):
    import keras
    import keras_models
    import numpy_models
    from parity.specs import SPECS
    from parity.weights import numpy_to_keras

    spec = SPECS["mlp_784_50_10"]
    np_model = numpy_models.build_sequential(spec.layer_tuples(), spec.input_shape, "float32", seed=0)
    k_model = keras_models.build_sequential(spec.layer_tuples(), spec.input_shape, "float32")
    numpy_to_keras(np_model, k_model)
    k_model.compile(optimizer=keras.optimizers.SGD(0.1), loss="categorical_crossentropy")
    rng = np.random.default_rng(2)
    steps = 60
    xs = rng.uniform(0, 1, (steps * 100, 784)).astype("float32")
    ts = np.eye(10, dtype="float32")[rng.integers(0, 10, steps * 100)]
    ours = _numpy_step(np_model, xs[:100], ts[:100], numpy_models.losses.CategoricalCrossentropy(),
                       numpy_models.optimizers.SGD(0.1))
    fit_epoch = lambda: k_model.fit(xs, ts, batch_size=100, epochs=1, shuffle=False, verbose=0)
    n = 3 if quick else 20
    return lambda: (_time(ours, n), _time(fit_epoch, 1 if quick else 3) / steps)


BLAS_CONFIGS = ("default", 1)


def _target(limit, words):
    return f"<= {limit} ({words})", lambda ratio: ratio <= limit


def _same_for_both(target):
    return {threads: target for threads in BLAS_CONFIGS}


# {workload: (setup, {BLAS threads: (target text, met?)})}; issue 17 sets the CNN step's two targets.
WORKLOADS = {
    "cnn_train_step": (cnn_train_step, {"default": _target(1.0, "NumPy no slower than Keras train_on_batch"),
                                        1: _target(1.25, "NumPy at most 1.25x Keras train_on_batch")}),
    "cnn_predict_10k": (cnn_predict_10k, _same_for_both(_target(1.0, "NumPy no slower than Keras predict"))),
    "mlp_train_step": (mlp_train_step, _same_for_both(_target(0.5, "NumPy at least 2x faster than a Keras fit step"))),
}


def _pairs(measure, reps, threads):
    if threads == "default":
        return [measure() for _ in range(reps)]
    with threadpool_limits(threads):  # NumPy's BLAS only; TF keeps its own thread pools
        return [measure() for _ in range(reps)]


def run(reps, quick):
    rows = []
    for name, (setup, targets) in WORKLOADS.items():
        measure = setup(quick)
        for threads in BLAS_CONFIGS:
            target, ok = targets[threads]
            pairs = _pairs(measure, reps, threads)
            ratios = [a / b for a, b in pairs]
            ratio = statistics.median(ratios)
            rows.append({"workload": name, "numpy_blas_threads": threads,
                         "numpy_ms": 1e3 * statistics.median(a for a, _ in pairs),
                         "keras_ms": 1e3 * statistics.median(b for _, b in pairs), "ratio_median": ratio,
                         "ratio_min": min(ratios), "target": target, "meets_target": ok(ratio), "reps": reps})
    return rows


def gradcheck_timings(quick):
    """Seconds for parity.gradcheck on each LeNet layer with parameters, batch 128 (issue: largest < 10 s)."""
    import numpy_models
    from parity import gradcheck
    from parity.specs import SPECS

    spec = SPECS["lenet_28"]
    model = numpy_models.build_sequential(spec.layer_tuples(), spec.input_shape, "float32", seed=0)
    rows = []
    for layer in [l for l in model.layers if l.params] + [model]:  # each layer, then the whole network
        x = np.random.default_rng(0).uniform(0, 1, (8 if quick else 128,) + tuple(layer.input_shape[1:]))
        start = time.perf_counter()
        result = gradcheck(layer, x)
        rows.append({"layer": "whole model" if layer is model else layer.name, "seconds": time.perf_counter() - start,
                     "weights": sum(p.size for p in layer.params.values()), "ok": result.ok})
    return rows


def render(rows, manifest, gradcheck_rows=(), sections=()):
    lines = ["# NumPy vs Keras benchmarks", "",
             "Ratios are NumPy time / Keras time, per interleaved repetition; median and minimum over repetitions.", "",
             "| workload | NumPy BLAS threads | NumPy ms | Keras ms | ratio (median) | ratio (min) | target | met |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['workload']} | {r['numpy_blas_threads']} | {r['numpy_ms']:.2f} | {r['keras_ms']:.2f} | {r['ratio_median']:.2f} | "
                     f"{r['ratio_min']:.2f} | {r['target']} | {'yes' if r['meets_target'] else 'NO'} |")
    if gradcheck_rows:
        lines += ["", "## parity.gradcheck on the LeNet-style CNN (batch 128; target: whole model < 2 s)", "",
                  "| layer | weights | seconds | ok |", "|---|---|---|---|"]
        lines += [f"| {r['layer']} | {r['weights']} | {r['seconds']:.2f} | {r['ok']} |" for r in gradcheck_rows]
    for section in sections:
        lines += ["", section]
    lines += ["", "## Run", ""] + [f"- {k}: {v}" for k, v in manifest.items()]
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reps", type=int, default=7)
    parser.add_argument("--quick", action="store_true", help="tiny sizes, for a smoke test")
    parser.add_argument("--out", default="reports")
    parser.add_argument("--no-walltimes", action="store_true", help="skip the report and suite wall times")
    parser.add_argument("--no-suite", action="store_true", help="time the report but not the test suite")
    args = parser.parse_args(argv)
    from parity.report.atomic import atomic_directory
    from parity.report.environment import manifest

    rows = run(args.reps, args.quick)
    from threadpoolctl import threadpool_info

    with threadpool_limits(1):
        sections = [render_roofline(roofline(args.quick), 1)]
    if not (args.quick or args.no_walltimes):  # --quick is the suite's own smoke test: it must not run the suite
        sections.append(render_walltimes(walltimes(suite=not args.no_suite)))
    blas = [f"{i['internal_api']} {i['version']} ({i['num_threads']} threads)" for i in threadpool_info()]
    text = render(rows, manifest(seed=0, flags={"numpy_blas": blas, "quick": args.quick, "reps": args.reps}),
                  gradcheck_timings(args.quick), sections)
    with atomic_directory(args.out) as tmp:
        (tmp / "benchmarks.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
