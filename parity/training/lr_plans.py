"""Learning-rate plans from the seed notes, run on both twins: LeNet's stepped rate and VGG's plateau rule.

Both train the two-layer net of ``two_layer_net`` with SGD. The NumPy twin
follows ``numpy_models.callbacks``; the Keras twin follows Keras's own
``LearningRateScheduler`` / ``ReduceLROnPlateau`` (``parity.training.callbacks``),
each fed its own twin's epoch logs. The rate each twin used in every epoch is
recorded; the two sequences must be identical, so the rate changes at the same epochs.
"""
import numpy as np

from numpy_models.callbacks import PiecewiseConstantPlan
from parity.report.experiment_plots import learning_rates

from parity.training.callbacks import CallbackSetting
from parity.training.experiments import ExperimentResult, _sgd, _two_layer_spec, _with_sparse_loss, experiment
from parity.training.loop import train_both

# LeNet (LeCun et al. 1998, s. II-C): 0.0005 for 2 passes, 0.0002 for 3, 0.0001 for 3, 0.00005 for 4, then 0.00001;
# the same steps scaled by 2000 for SGD on this net.
LENET_BOUNDARIES = [2, 5, 8, 12]
LENET_VALUES = [1.0, 0.4, 0.2, 0.1, 0.02]
# VGG (Simonyan & Zisserman 2015, s. 3.1): divide by 10 when the validation metric stops improving.
PLATEAU = {"monitor": "val_loss", "factor": 0.1, "patience": 1, "min_delta": 0.005, "cooldown": 1, "min_lr": 1e-4}


def rate_changes(rates):
    """1-based epochs whose rate differs from the previous epoch's."""
    return [e + 1 for e in range(1, len(rates)) if rates[e] != rates[e - 1]]


def _rate_rows(result, run):
    ours, theirs = np.array(run.numpy.learning_rate), np.array(run.keras.learning_rate)
    result.extra_rows.append({"name": f"{run.name}: learning rate per epoch", "tolerance_kind": "lr_plan",
                              "max_rel_diff": float(np.abs(ours - theirs).max() / np.abs(theirs).max()),
                              "rate_changes_numpy": str(rate_changes(run.numpy.learning_rate)),
                              "rate_changes_keras": str(rate_changes(run.keras.learning_rate))})
    result.tables.append((f"{run.name}: {run.callbacks}", [
        {"epoch": e + 1, "numpy_lr": float(a), "keras_lr": float(b), "numpy_val_loss": run.numpy.test_loss[e],
         "keras_val_loss": run.keras.test_loss[e], "numpy_val_acc": run.numpy.test_acc[e],
         "keras_val_acc": run.keras.test_acc[e]} for e, (a, b) in enumerate(zip(ours, theirs, strict=True))]))


def _run_plan(ctx, experiment_fn, name, lr, callback, epochs, note):
    result = ExperimentResult(experiment_fn.id, experiment_fn.title)
    data = ctx.data.flattened()
    run = train_both(name, _with_sparse_loss(_two_layer_spec(ctx)), _sgd(lr), data, ctx.epochs or epochs, 100,
                     ctx.dtype, ctx.seed, ctx.progress, callbacks=(callback,))
    result.runs.append(run)
    _rate_rows(result, run)
    result.figures.append((f"{name}: learning rate and validation loss per epoch", learning_rates([run])))
    result.notes.append(note + " The test split serves as the validation set; batch 100.")
    return result


@experiment("lr_stepped_plan", "LeNet's stepped learning rate (piecewise constant per epoch) on both twins")
def lr_stepped_plan(ctx):
    plan = PiecewiseConstantPlan(LENET_BOUNDARIES, LENET_VALUES)
    return _run_plan(ctx, lr_stepped_plan, "two_layer_lenet_steps", LENET_VALUES[0],
                     CallbackSetting("LearningRateScheduler", {"schedule": plan}), 14,
                     f"SGD with LeNet's plan scaled by 2000: {plan}; the NumPy loop runs "
                     "numpy_models.callbacks.LearningRateScheduler, Keras its own with the same plan object.")


@experiment("lr_reduce_on_plateau", "VGG's rule: divide the rate by 10 when the validation loss stops improving")
def lr_reduce_on_plateau(ctx):
    return _run_plan(ctx, lr_reduce_on_plateau, "two_layer_plateau", 1.0,
                     CallbackSetting("ReduceLROnPlateau", PLATEAU), 20,
                     f"SGD(1.0) with ReduceLROnPlateau({PLATEAU}): numpy_models.callbacks.ReduceLROnPlateau on the "
                     "NumPy side, keras.callbacks.ReduceLROnPlateau on the Keras side.")


EXPERIMENTS = [lr_stepped_plan, lr_reduce_on_plateau]
