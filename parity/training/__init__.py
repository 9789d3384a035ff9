"""Training both twins side by side, the datasets they train on, and the experiments (the registry).

    datasets     the embedded digits, MNIST-like files, logic gates
    loop         train_both: same weights, batches and dropout masks; per-step losses, periodic evaluations
    experiments  the textbook training presets (logic gates, two-layer net, deeper MLPs, CNN, ResNet)
    studies      the initialisation study and the optimizer paths (activations and trajectories)

``EXPERIMENTS[id](Context) -> ExperimentResult``, in report order.
"""
from parity.training import experiments, studies
from parity.training.experiments import Context, ExperimentResult

EXPERIMENTS = {fn.id: fn for fn in experiments.TRAINING_EXPERIMENTS + studies.STUDIES}

__all__ = ["EXPERIMENTS", "Context", "ExperimentResult"]
