"""The textbook experiments, each a named preset: spec + optimizer + data + schedule.

``EXPERIMENTS[id](context) -> ExperimentResult`` (the registry lives in
``parity.training``). Training experiments run both twins through
``parity.training.loop.train_both``; the initialisation study and the
optimizer paths compare forward activations and parameter trajectories.
Epoch counts are per dataset: digits has 1,437 training images (15 batches of
100 per epoch where MNIST has 600), so its presets run more epochs or a larger
Adam step to see a comparable number of updates.
"""
import dataclasses
from dataclasses import dataclass, field

from parity.checks.optimizer_settings import OptimizerSetting
from parity.specs import SPECS, ModelSpec, dense, layer
from parity.training.datasets import logic_gate
from parity.training.loop import train_both


@dataclass
class Context:
    data: object  # parity.training.datasets.Dataset (digits or MNIST-like), NHWC in [0, 1]
    dtype: str = "float64"
    seed: int = 0
    epochs: int = None  # overrides every preset's epochs
    full: bool = False
    progress: bool = False

    @property
    def is_digits(self):
        return self.data.name == "digits"

    def epochs_for(self, digits, mnist):
        return self.epochs or (digits if self.is_digits else mnist)


@dataclass
class ExperimentResult:
    id: str
    title: str
    runs: list = field(default_factory=list)  # TrainingRuns (curves, summary rows)
    extra_rows: list = field(default_factory=list)  # rows for non-training experiments
    figures: list = field(default_factory=list)  # (caption, png bytes)
    tables: list = field(default_factory=list)  # (caption, [row dicts]): shown as they are, no verdict
    notes: list = field(default_factory=list)
    run_figures: list = field(default_factory=list)  # png bytes per run, drawn by the worker that trained them


def experiment(id_, title):
    """Tag an experiment function with its id and title (``parity.training.EXPERIMENTS`` lists them)."""
    def tag(fn):
        fn.id, fn.title = id_, title
        return fn
    return tag


def _sgd(lr, **kw):
    return OptimizerSetting(f"sgd_{lr}", "SGD", {"learning_rate": lr, **kw})


def _adam(lr):
    return OptimizerSetting(f"adam_{lr}", "Adam", {"learning_rate": lr})


def _train(ctx, name, spec, setting, data, epochs, batch_size):
    return train_both(name, spec, setting, data, epochs, batch_size, ctx.dtype, ctx.seed, ctx.progress)


def updates(run, n_train):
    """'60 epochs of batch 100 (900 updates)': what ``run`` did, from its epochs, batch size and ``n_train``."""
    per_epoch = -(-n_train // run.batch_size)  # a smaller last batch is one more update
    epochs = f"{run.epochs} epoch" + ("s" if run.epochs != 1 else "")
    return f"{epochs} of batch {run.batch_size} ({run.epochs * per_epoch:,} updates)"


@experiment("logic_gates", "Logic gates: one sigmoid neuron (XOR fails) and a 2-2-1 network (XOR solved)")
def logic_gates(ctx):
    result = ExperimentResult(logic_gates.id, logic_gates.title)
    epochs = ctx.epochs or 1000
    for gate in ("AND", "OR", "NAND", "XOR"):
        result.runs.append(_train(ctx, f"neuron_{gate}", SPECS["logic_gate_neuron"], _sgd(0.1), logic_gate(gate),
                                  epochs, 4))
    xor_net = ModelSpec("xor_2_2_1_tanh", (dense(2, "hidden", "tanh"), dense(1, "output", "sigmoid")), (2,),
                        ("BinaryCrossentropy", {}), description="2-2-1 XOR net (tanh hidden)")
    result.runs.append(_train(ctx, "net_2_2_1_XOR", xor_net, _sgd(0.5, momentum=0.9), logic_gate("XOR"), epochs, 4))
    result.notes.append("Single neuron: BinaryCrossentropy, SGD(0.1), full batch. XOR is not linearly separable, so "
                        "no single neuron can exceed 3/4 accuracy; the 2-2-1 net (tanh hidden, SGD(0.5, momentum "
                        "0.9)) separates it.")
    return result


def _two_layer_spec(ctx):
    if not ctx.is_digits:
        return SPECS["mlp_784_50_10"]
    return ModelSpec("mlp_64_50_10", (dense(50, "hidden", "sigmoid"), dense(10, "output", "softmax")), (64,),
                     ("SparseCategoricalCrossentropy", {}), description="64-50 sigmoid -> 10 softmax")


def _with_sparse_loss(spec):
    return ModelSpec(spec.id, spec.layers, spec.input_shape, ("SparseCategoricalCrossentropy", {}),
                     spec.batch_size, spec.inputs, spec.description)


@experiment("two_layer_net", "The two-layer net (sigmoid hidden, softmax output) with SGD and with Adam")
def two_layer_net(ctx):
    result = ExperimentResult(two_layer_net.id, two_layer_net.title)
    data = ctx.data.flattened()
    spec = _with_sparse_loss(_two_layer_spec(ctx))
    sgd = _train(ctx, "two_layer_sgd", spec, _sgd(0.1), data, ctx.epochs_for(60, 10), 100)
    lr = 0.01 if ctx.is_digits else 0.001
    adam = _train(ctx, "two_layer_adam", spec, _adam(lr), data, ctx.epochs_for(10, 10), 100)
    result.runs += [sgd, adam]
    n = len(data.x_train)
    result.notes.append(f"On {n:,} {ctx.data.name} training images, SGD(0.1) ran {updates(sgd, n)} and Adam({lr:g}) "
                        f"{updates(adam, n)}. Presets: 60 and 10 epochs on digits, where Adam's rate is 0.01; 10 and "
                        "10 on MNIST-like data, Adam at 0.001; --epochs sets both.")
    return result


def _deep_mlp(n_in, kind):
    l2 = {"class_name": "L2", "config": {"l2": 1e-4}}
    layers = []
    for i in (1, 2):
        if kind in ("bn", "bn_dropout_l2"):
            layers += [dense(100, f"dense_{i}", use_bias=False, kernel_regularizer=l2 if "l2" in kind else None),
                       layer("BatchNormalization", f"bn_{i}"), layer("Activation", f"relu_{i}", activation="relu")]
        else:
            layers += [dense(100, f"dense_{i}", "relu", kernel_regularizer=l2)]
        if "dropout" in kind:
            layers.append(layer("Dropout", f"dropout_{i}", rate=0.2, seed=100 + i))
    layers.append(dense(10, "output", "softmax"))
    return ModelSpec(f"mlp_{n_in}_{kind}", tuple(layers), (n_in,), ("SparseCategoricalCrossentropy", {}))


@experiment("deep_mlps", "Deeper MLPs with BatchNormalization, Dropout and L2 under SGD and Adam")
def deep_mlps(ctx):
    result = ExperimentResult(deep_mlps.id, deep_mlps.title)
    data = ctx.data.flattened()
    n_in = data.x_train.shape[1]
    epochs = ctx.epochs_for(10, 5)
    configs = [("bn", _sgd(0.1, momentum=0.9)), ("dropout_l2", _adam(0.001)), ("bn_dropout_l2", _adam(0.001))]
    for kind, setting in configs:
        result.runs.append(_train(ctx, f"mlp_{kind}_{setting.class_name.lower()}", _deep_mlp(n_in, kind), setting,
                                  data, epochs, 64))
    result.notes.append("Two hidden layers of 100 units, batch 64: (1) BatchNormalization + ReLU, SGD(0.1, momentum "
                        "0.9); (2) ReLU + Dropout(0.2) + L2(1e-4), Adam(0.001); (3) BatchNormalization + ReLU + "
                        "Dropout(0.2) + L2(1e-4), Adam(0.001). Dropout masks are Keras's, replayed in NumPy.")
    return result


@experiment("cnn", "The LeNet-style CNN")
def cnn(ctx):
    result = ExperimentResult(cnn.id, cnn.title)
    spec = SPECS["lenet_digits_8"] if ctx.is_digits else _with_sparse_loss(SPECS["lenet_28"])
    result.runs.append(_train(ctx, spec.id, spec, _adam(0.003 if ctx.is_digits else 0.001), ctx.data,
                              ctx.epochs_for(12, 3), 32 if ctx.is_digits else 128))
    result.notes.append("Digits: conv 8@3x3 same - pool - conv 16@3x3 same - pool - 32 - 10, Adam(0.003), batch 32. "
                        "MNIST: conv 6@5x5 - pool - conv 12@5x5 - pool - 128 - 10, Adam(0.001), batch 128.")
    return result


@experiment("resnet", "A small ResNet: conv stem, an identity block and a stride-2 projection block")
def resnet(ctx):
    result = ExperimentResult(resnet.id, resnet.title)
    spec = SPECS["resnet_digits_8"]
    if not ctx.is_digits:  # global average pooling makes the same blocks fit 28x28 images
        spec = dataclasses.replace(spec, input_shape=ctx.data.x_train.shape[1:])
    run = _train(ctx, spec.id, spec, _adam(0.003), ctx.data, ctx.epochs_for(6, 1), 64)
    result.runs.append(run)
    result.notes.append("Graph twins (numpy_models.Model and its keras.Model from parity.convert.to_keras): stem conv "
                        "8@3x3-BN-ReLU, a basic block (8), a stride-2 block (16) with a 1x1 projection shortcut, "
                        f"global average pooling, softmax 10; Adam(0.003), {updates(run, len(ctx.data.x_train))}; "
                        "BatchNormalization momentum 0.9.")
    return result


TRAINING_EXPERIMENTS = [logic_gates, two_layer_net, deep_mlps, cnn, resnet]
