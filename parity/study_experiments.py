"""Two studies that compare forward activations and parameter paths rather than training curves."""
import numpy as np

from parity.experiments import ExperimentResult, experiment
from parity.specs import dense

INITIALIZERS = {  # label: NumPy initializer identifier (weights are copied into Keras)
    "zeros": "zeros",
    "uniform(+-0.05)": "random_uniform",
    "normal(std 1)": {"class_name": "RandomNormal", "config": {"stddev": 1.0}},
    "small normal(0.01)": {"class_name": "RandomNormal", "config": {"stddev": 0.01}},
    "Xavier sqrt(1/n)": "xavier_textbook",
    "He sqrt(2/n)": "he_textbook",
}
DEPTH, WIDTH = 6, 50


def _activations(act, init, x, dtype, seed):
    import keras_models
    import numpy_models
    from parity.weights import numpy_to_keras

    np_layers = [dense(WIDTH, f"hidden_{i}", act, kernel_initializer=init).as_tuple() for i in range(1, DEPTH + 1)]
    k_layers = [dense(WIDTH, f"hidden_{i}", act).as_tuple() for i in range(1, DEPTH + 1)]
    np_model = numpy_models.build_sequential(np_layers, (WIDTH,), dtype, seed)
    k_model = keras_models.build_sequential(k_layers, (WIDTH,), dtype)
    numpy_to_keras(np_model, k_model)  # Keras's own initialisation is overwritten
    _, ours = np_model.forward(x, return_activations=True)
    return ours, keras_models.forward(k_model, x)


@experiment("init_study", "Weight initialisation: activation histograms of a 6-layer 50-unit net")
def init_study(ctx):
    result = ExperimentResult(init_study.id, init_study.title)
    x = np.random.default_rng(ctx.seed).standard_normal((1000, WIDTH)).astype(ctx.dtype)
    for act in ("sigmoid", "tanh", "relu"):
        grid = []
        for label, init in INITIALIZERS.items():
            ours, theirs = _activations(act, init, x, ctx.dtype, ctx.seed)
            grid.append(list(zip(ours, theirs, strict=True)))
            diff = max(float(np.abs(a - b).max()) for a, b in zip(ours, theirs, strict=True))
            scale = max(float(np.abs(b).max()) for b in theirs) or 1.0
            result.extra_rows.append({"name": f"{act} / {label}", "max_rel_diff": diff / scale,
                                      "last_layer_std_numpy": float(ours[-1].std()),
                                      "last_layer_std_keras": float(theirs[-1].std())})
        result.figures.append((f"Activations under {act}", _grid_png(act, grid)))
    result.notes.append("1,000 standard-normal inputs through 6 Dense(50) layers (zero bias). Weights come from the "
                        "NumPy initializers and are copied into Keras, so both twins see identical weights; the "
                        "histograms show the textbook effects (saturation, vanishing and collapsing activations).")
    return result


def _grid_png(act, grid):
    from parity.plots import histogram_grid
    return histogram_grid(f"{act}", grid, list(INITIALIZERS), DEPTH)


def quadratic(x, y):
    """The textbook's skewed bowl f(x, y) = x^2 / 20 + y^2."""
    return x ** 2 / 20.0 + y ** 2


PATH_OPTIMIZERS = {  # the textbook's comparison, as Keras settings
    "SGD": ("SGD", {"learning_rate": 0.95}),
    "Momentum": ("SGD", {"learning_rate": 0.1, "momentum": 0.9}),
    "Nesterov": ("SGD", {"learning_rate": 0.1, "momentum": 0.9, "nesterov": True}),
    "AdaGrad": ("Adagrad", {"learning_rate": 1.5}),
    "RMSprop": ("RMSprop", {"learning_rate": 0.15}),
    "Adam": ("Adam", {"learning_rate": 0.3}),
}
START, STEPS = (-7.0, 2.0), 30


def _numpy_path(name, kwargs, dtype):
    from numpy_models import optimizers
    params = {"point/xy": np.array(START, dtype=dtype)}
    opt, path = optimizers.get(name, **kwargs), [params["point/xy"].copy()]
    for _ in range(STEPS):
        x, y = params["point/xy"]
        opt.update(params, {"point/xy": np.array([x / 10.0, 2.0 * y], dtype=dtype)})
        path.append(params["point/xy"].copy())
    return np.array(path)


def _keras_path(name, kwargs, dtype):
    import keras
    import tensorflow as tf

    from keras_models import keras_dtype
    from keras_models.optimizers import build_optimizer
    with keras_dtype(dtype):
        point = keras.Variable(np.array(START, dtype=dtype))
        opt, path = build_optimizer(name, kwargs, dtype), [point.numpy().copy()]
        for _ in range(STEPS):
            with tf.GradientTape() as tape:
                value = quadratic(point[0], point[1])
            opt.apply_gradients([(tape.gradient(value, point), point)])  # Keras's own gradient
            path.append(point.numpy().copy())
    return np.array(path)


@experiment("optimizer_paths", "Optimizer paths on the skewed quadratic x^2/20 + y^2")
def optimizer_paths(ctx):
    from parity.plots import optimizer_paths as plot
    result = ExperimentResult(optimizer_paths.id, optimizer_paths.title)
    paths = {}
    for label, (name, kwargs) in PATH_OPTIMIZERS.items():
        ours, theirs = _numpy_path(name, kwargs, ctx.dtype), _keras_path(name, kwargs, ctx.dtype)
        paths[label] = (ours, theirs)
        result.extra_rows.append({"name": f"{label} {kwargs}", "max_rel_diff":
                                  float(np.abs(ours - theirs).max() / np.abs(theirs).max()),
                                  "final_numpy": ours[-1].tolist(), "final_keras": theirs[-1].tolist()})
    result.figures.append(("Optimizer paths from (-7, 2), 30 steps", plot(quadratic, paths)))
    result.notes.append("NumPy uses the analytic gradient (x/10, 2y); Keras differentiates f with GradientTape.")
    return result
