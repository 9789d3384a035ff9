"""The registered specs. Each oddity carries a comment saying why it is there."""
from numpy_models.activations import ACTIVATIONS
from parity.specs import ModelSpec, dense, layer, register

MSE = ("MeanSquaredError", {})
CCE = ("CategoricalCrossentropy", {})
BCE = ("BinaryCrossentropy", {})

# -- textbook networks -------------------------------------------------------------
register(ModelSpec("net_2_2_2_sigmoid_mse", (dense(2, "hidden", "sigmoid"), dense(2, "output", "sigmoid")),
                   (2,), MSE, batch_size=4,
                   description="2-2-2 sigmoid net, MSE (square kernels: a transposed gradient is not a shape error)"))
register(ModelSpec("net_2_3_1_sigmoid_mse", (dense(3, "hidden", "sigmoid"), dense(1, "output", "sigmoid")),
                   (2,), MSE, batch_size=4, description="2-3-1 sigmoid net, MSE"))
register(ModelSpec("logic_gate_neuron", (dense(1, "neuron", "sigmoid"),), (2,), BCE, batch_size=4,
                   inputs="binary", description="single sigmoid neuron, binary cross-entropy (logic gates)"))
register(ModelSpec("xor_2_2_1", (dense(2, "hidden", "sigmoid"), dense(1, "output", "sigmoid")), (2,), BCE,
                   batch_size=4, inputs="binary", description="2-2-1 XOR network, binary cross-entropy"))
register(ModelSpec("mlp_784_50_10", (dense(50, "hidden", "sigmoid"), dense(10, "output", "softmax")), (784,),
                   CCE, batch_size=16, inputs="unit",
                   description="the two-layer net: 784-50 sigmoid -> 10 softmax, categorical cross-entropy"))
register(ModelSpec("mlp_784_100_64_32_10_relu",
                   (dense(100, "dense_1", "relu"), dense(64, "dense_2", "relu"), dense(32, "dense_3", "relu"),
                    dense(10, "output", "softmax")),
                   (784,), CCE, batch_size=16, inputs="unit", description="784-100-64-32-10 ReLU MLP"))
for act in ("sigmoid", "tanh", "relu"):
    register(ModelSpec(
        f"deep6_50_{act}",
        tuple(dense(50, f"hidden_{i}", act, kernel_initializer="he_normal" if act == "relu" else "glorot_normal")
              for i in range(1, 7)) + (dense(10, "output", "softmax"),),
        (64,), CCE, batch_size=16, inputs="unit",
        description=f"6 hidden layers of 50 {act} units (weight-initialisation study net)"))

# -- one small spec per activation --------------------------------------------------
for act in sorted(ACTIVATIONS):
    register(ModelSpec(f"activation_{act}", (dense(5, "dense", act), dense(3, "output")), (4,), MSE,
                       description=f"Dense(activation='{act}') then linear Dense, MSE"))
register(ModelSpec("activation_layer_relu",
                   (dense(5, "dense"), layer("Activation", "relu", activation="relu"), dense(3, "output")),
                   (4,), MSE, description="a separate Activation layer between Dense layers"))
register(ModelSpec("flatten_dense", (layer("Flatten", "flatten"), dense(3, "output", "tanh")), (3, 4, 2), MSE,
                   description="Flatten in (H, W, C) order feeding a Dense"))

# -- one small spec per loss ----------------------------------------------------------
LOSS_SPECS = {
    "mse": (None, ("MeanSquaredError", {})),
    "mae": (None, ("MeanAbsoluteError", {})),
    "bce": ("sigmoid", ("BinaryCrossentropy", {})),  # Keras takes the logits path here
    "bce_from_logits_smoothing": (None, ("BinaryCrossentropy", {"from_logits": True, "label_smoothing": 0.1})),
    "cce": ("softmax", ("CategoricalCrossentropy", {})),  # logits path
    "cce_smoothing": ("softmax", ("CategoricalCrossentropy", {"label_smoothing": 0.1})),
    "cce_from_logits": (None, ("CategoricalCrossentropy", {"from_logits": True})),
    "scce": ("softmax", ("SparseCategoricalCrossentropy", {})),
    "scce_from_logits": (None, ("SparseCategoricalCrossentropy", {"from_logits": True})),
}
for key, (out_act, loss) in LOSS_SPECS.items():
    register(ModelSpec(f"loss_{key}", (dense(6, "hidden", "tanh"), dense(4, "output", out_act)), (5,), loss,
                       description=f"{loss[0]}({loss[1]}) after a {out_act or 'linear'} output"))
