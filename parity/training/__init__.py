"""Training both twins side by side, the datasets they train on, and the experiments (the registry).

    datasets     the embedded digits, MNIST-like files, logic gates
    loop         train_both: same weights, batches and dropout masks; per-step losses, periodic evaluations
    experiments  the textbook training presets (logic gates, two-layer net, deeper MLPs, CNN, ResNet)
    studies      the initialisation study and the optimizer paths (activations and trajectories)
    single_layer one linear, sigmoid or softmax layer: regression, decision boundary, iris (seed 003)
    filters      Sobel and random filters on a real photograph, three ways (seed 000)
    lr_plans     a stepped learning-rate plan and ReduceLROnPlateau on both twins
    callbacks    learning-rate callbacks built twice (NumPy twin, Keras's own)

``EXPERIMENTS[id](Context) -> ExperimentResult``, in report order.
"""
from parity.training import experiments, filters, lr_plans, single_layer, studies
from parity.training.experiments import Context, ExperimentResult

EXPERIMENTS = {fn.id: fn for fn in experiments.TRAINING_EXPERIMENTS + single_layer.EXPERIMENTS + lr_plans.EXPERIMENTS
               + studies.STUDIES + filters.EXPERIMENTS}

__all__ = ["EXPERIMENTS", "Context", "ExperimentResult"]
