"""Single-layer networks from the seed notes: linear regression, a sigmoid unit with its decision boundary, softmax.

Each trains both twins through ``parity.training.train_both`` on a table bundled
with scikit-learn (features scaled to [0, 1] by ``MinMaxScaler``) and adds the
notes' own read-outs: MSE and R^2, the boundary ``w1 x1 + w2 x2 + b = 0``, and
the argmax roll-back of softmax outputs to class labels.
"""
import numpy as np

from parity.report.experiment_plots import decision_boundaries, predicted_vs_true

from parity.training.datasets import IRIS_BINARY_FEATURES, load_diabetes, load_iris, load_iris_binary
from parity.training.experiments import ExperimentResult, _sgd, _train, experiment, updates
from parity.specs import ModelSpec, dense

IRIS_CLASSES = ("setosa", "versicolor", "virginica")


def _r2(mse, y):
    """R^2 = 1 - MSE / Var(y): the twin's MSE over the set against predicting the set's mean."""
    return 1.0 - mse / float(np.var(y))


@experiment("single_layer_regression", "One linear unit: regression on the diabetes data (MSE, R^2)")
def single_layer_regression(ctx):
    result = ExperimentResult(single_layer_regression.id, single_layer_regression.title)
    data = load_diabetes(ctx.seed)
    spec = ModelSpec("linear_10_1", (dense(1, "output"),), (10,), ("MeanSquaredError", {}),
                     description="Dense(1), linear, MSE")
    run = _train(ctx, "diabetes_dense_1", spec, _sgd(0.2), data, ctx.epochs or 50, 64)
    result.runs.append(run)
    result.tables.append(("Diabetes regression: MSE and R^2 after training", [
        {"twin": twin, "train_mse": hist.train_loss[-1], "test_mse": hist.test_loss[-1],
         "train_r2": _r2(hist.train_loss[-1], data.y_train), "test_r2": _r2(hist.test_loss[-1], data.y_test)}
        for twin, hist in (("NumPy", run.numpy), ("Keras", run.keras))]))
    result.figures.append(("Diabetes: predicted vs true progression on the test set",
                           predicted_vs_true(data.y_test, run.numpy.test_probabilities[:, 0],
                                             run.keras.test_probabilities[:, 0])))
    result.notes.append("scikit-learn's diabetes data (442 patients, 10 features scaled to [0, 1] by MinMaxScaler "
                        "fitted on the 353 training rows; target = disease progression, left in its units). One "
                        f"Dense unit, MSE, SGD(0.2), {updates(run, len(data.x_train))}; least squares reaches R^2 "
                        "0.55 / 0.33.")
    return result


def _boundary(weights):
    """(w1, w2, b) of a Dense(1) on two features: the line w1 x1 + w2 x2 + b = 0."""
    w1, w2 = np.asarray(weights["output/kernel"], np.float64)[:, 0]
    return float(w1), float(w2), float(np.asarray(weights["output/bias"], np.float64)[0])


@experiment("single_layer_binary", "One sigmoid unit on two iris features, with its decision boundary")
def single_layer_binary(ctx):
    result = ExperimentResult(single_layer_binary.id, single_layer_binary.title)
    data = load_iris_binary(ctx.seed)
    spec = ModelSpec("logistic_2_1", (dense(1, "output", "sigmoid"),), (2,), ("BinaryCrossentropy", {}),
                     description="Dense(1, sigmoid), binary cross-entropy")
    run = _train(ctx, "iris_binary_sigmoid_1", spec, _sgd(1.0), data, ctx.epochs or 60, 16)
    result.runs.append(run)
    lines = {"NumPy": _boundary(run.numpy.final_weights), "Keras": _boundary(run.keras.final_weights)}
    result.tables.append(("Decision boundary w1 x1 + w2 x2 + b = 0 of each twin", [
        {"twin": twin, "w1": w1, "w2": w2, "b": b, "x2 at x1=0": -b / w2, "slope": -w1 / w2,
         "test_acc": hist.test_acc[-1]}
        for (twin, (w1, w2, b)), hist in zip(lines.items(), (run.numpy, run.keras), strict=True)]))
    ours, theirs = np.array(lines["NumPy"]), np.array(lines["Keras"])
    boundary_diff = float(np.abs(ours - theirs).max() / np.abs(theirs).max())
    result.tables[-1][1][0]["max_rel_diff_vs_keras"] = boundary_diff
    if ctx.dtype == "float64":  # must coincide; a float32 run is judged on its test accuracy (its run row)
        result.extra_rows.append({"name": "decision boundary (w1, w2, b)", "tolerance_kind": "training",
                                  "max_rel_diff": boundary_diff})
    result.figures.append(("Iris versicolor vs virginica: both twins' decision boundaries",
                           decision_boundaries(data, lines, IRIS_BINARY_FEATURES)))
    result.notes.append("Iris versicolor (0) vs virginica (1) on petal length and width (MinMaxScaler to [0, 1]); "
                        f"one sigmoid unit, binary cross-entropy, SGD(1.0), {updates(run, len(data.x_train))}. The "
                        "classes overlap slightly, so no line separates them all; the boundary is read from each "
                        "twin's weights.")
    return result


def _rollback_rows(run, y_test, n=8):
    """The notes' roll-back: softmax outputs -> argmax -> class name, for the first test samples."""
    ours, theirs = run.numpy.test_probabilities, run.keras.test_probabilities
    return [{"sample": i, "true": IRIS_CLASSES[y_test[i]],
             "numpy_probabilities": "[" + ", ".join(f"{p:.3f}" for p in ours[i]) + "]",
             "numpy_argmax": IRIS_CLASSES[int(ours[i].argmax())], "keras_argmax": IRIS_CLASSES[int(theirs[i].argmax())]}
            for i in range(n)]


@experiment("single_layer_softmax", "One softmax layer on iris with one-hot targets")
def single_layer_softmax(ctx):
    result = ExperimentResult(single_layer_softmax.id, single_layer_softmax.title)
    data = load_iris(ctx.seed)
    spec = ModelSpec("softmax_4_3", (dense(3, "output", "softmax"),), (4,), ("CategoricalCrossentropy", {}),
                     description="Dense(3, softmax), categorical cross-entropy on one-hot targets")
    run = _train(ctx, "iris_softmax_3", spec, _sgd(1.0), data, ctx.epochs or 50, 16)
    result.runs.append(run)
    result.tables.append(("Iris softmax: accuracy of each twin", [
        {"twin": twin, "train_acc": hist.train_acc[-1], "test_acc": hist.test_acc[-1],
         "train_loss": hist.train_loss[-1], "test_loss": hist.test_loss[-1]}
        for twin, hist in (("NumPy", run.numpy), ("Keras", run.keras))]))
    result.tables.append(("Iris softmax: argmax roll-back of the first test predictions", _rollback_rows(run, data.y_test)))
    result.notes.append("Iris (150 flowers, 4 features scaled by MinMaxScaler, stratified 120/30 split); labels "
                        "one-hot encoded (np.eye(3)[y]) for CategoricalCrossentropy; one Dense(3, softmax) layer, "
                        f"SGD(1.0), {updates(run, len(data.x_train))}. Predictions roll back to labels with argmax.")
    return result


EXPERIMENTS = [single_layer_regression, single_layer_binary, single_layer_softmax]
