"""Two studies that compare forward activations and parameter paths rather than training curves."""
import numpy as np

from numpy_models import optimizers
from parity.compare import relative_difference
from parity.report.plots import histogram_grids, optimizer_paths as plot_paths
from parity.specs import dense
from parity.training.experiments import ExperimentResult, experiment
from parity.twins import twins_from_layers

INITIALIZERS = {  # label: NumPy initializer identifier (weights are copied into Keras)
    "zeros": "zeros",
    "uniform(+-0.05)": "random_uniform",
    "normal(std 1)": {"class_name": "RandomNormal", "config": {"stddev": 1.0}},
    "small normal(0.01)": {"class_name": "RandomNormal", "config": {"stddev": 0.01}},
    "Xavier sqrt(1/n)": "xavier_textbook",
    "He sqrt(2/n)": "he_textbook",
}
DEPTH, WIDTH = 6, 50


def _keras_net(act, dtype):
    """The Keras twin of one activation's net; every initializer's weights are copied into this one model."""
    import keras_models  # imports TensorFlow

    return keras_models.build_sequential([dense(WIDTH, f"hidden_{i}", act).as_tuple() for i in range(1, DEPTH + 1)],
                                         (WIDTH,), dtype)


def _activations(act, init, x, dtype, seed, k_model):
    """Both twins' activations; the NumPy net is initialised by ``init`` and its weights are copied into
    ``k_model`` (reused: building a Keras model per initializer cost more than the study itself)."""
    import keras_models  # imports TensorFlow

    np_layers = [dense(WIDTH, f"hidden_{i}", act, kernel_initializer=init).as_tuple() for i in range(1, DEPTH + 1)]
    # Keras's own initialisation is overwritten by the NumPy initializer's weights.
    np_model, k_model = twins_from_layers(np_layers, (WIDTH,), dtype, seed, keras_model=k_model)
    _, ours = np_model.forward(x, return_activations=True)
    return ours, keras_models.forward(k_model, x)


@experiment("init_study", "Weight initialisation: activation histograms of a 6-layer 50-unit net")
def init_study(ctx):
    result = ExperimentResult(init_study.id, init_study.title)
    x = np.random.default_rng(ctx.seed).standard_normal((1000, WIDTH)).astype(ctx.dtype)
    grids = []
    for act in ("sigmoid", "tanh", "relu"):
        grid, k_model = [], _keras_net(act, ctx.dtype)
        for label, init in INITIALIZERS.items():
            ours, theirs = _activations(act, init, x, ctx.dtype, ctx.seed, k_model)
            grid.append(list(zip(ours, theirs, strict=True)))
            result.extra_rows.append({"name": f"{act} / {label}", "max_rel_diff": relative_difference(ours, theirs)[1],
                                      "last_layer_std_numpy": float(ours[-1].std()),
                                      "last_layer_std_keras": float(theirs[-1].std())})
        grids.append((act, grid))
    result.figures += [(f"Activations under {act}", data)
                       for (act, _), data in zip(grids, histogram_grids(grids, list(INITIALIZERS), DEPTH), strict=True)]
    result.notes.append("1,000 standard-normal inputs through 6 Dense(50) layers (zero bias). Weights come from the "
                        "NumPy initializers and are copied into Keras, so both twins see identical weights; the "
                        "histograms show the textbook effects (saturation, vanishing and collapsing activations).")
    return result


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
    params = {"point/xy": np.array(START, dtype=dtype)}
    opt, path = optimizers.get(name, **kwargs), [params["point/xy"].copy()]
    for _ in range(STEPS):
        x, y = params["point/xy"]
        opt.update(params, {"point/xy": np.array([x / 10.0, 2.0 * y], dtype=dtype)})
        path.append(params["point/xy"].copy())
    return np.array(path)


@experiment("optimizer_paths", "Optimizer paths on the skewed quadratic x^2/20 + y^2")
def optimizer_paths(ctx):
    from keras_models.optimizers import descent_path  # imports TensorFlow (or the Keras backend of this process)

    result = ExperimentResult(optimizer_paths.id, optimizer_paths.title)
    paths = {}
    for label, (name, kwargs) in PATH_OPTIMIZERS.items():
        ours = _numpy_path(name, kwargs, ctx.dtype)
        theirs = descent_path(name, kwargs, START, quadratic, STEPS, ctx.dtype)  # Keras's own gradient
        paths[label] = (ours, theirs)
        result.extra_rows.append({"name": f"{label} {kwargs}", "max_rel_diff":
                                  relative_difference(ours, theirs)[1],
                                  "final_numpy": ours[-1].tolist(), "final_keras": theirs[-1].tolist()})
    result.figures.append(("Optimizer paths from (-7, 2), 30 steps", plot_paths(quadratic, paths)))
    result.notes.append("NumPy uses the analytic gradient (x/10, 2y); Keras differentiates f with its backend's own autodiff "
                        "(GradientTape, jax.vjp, torch.autograd).")
    return result


STUDIES = [init_study, optimizer_paths]
