"""The registered specs (``SPECS``). Each oddity carries a comment saying why it is there."""
from numpy_models.activations import ACTIVATIONS
from parity.specs.convolutions import CONV_SPECS
from parity.specs.graphs import GRAPH_SPECS
from parity.specs.layers import LAYER_SPECS
from parity.specs.model_spec import ModelSpec, call, dense, layer

SPECS = {}


def register(spec):
    if spec.id in SPECS:
        raise ValueError(f"Duplicate spec id. Received: id={spec.id!r}")
    SPECS[spec.id] = spec
    return spec


def get_spec(spec_id):
    if spec_id not in SPECS:
        raise KeyError(f"Unknown spec. Expected one of {sorted(SPECS)}. Received: {spec_id!r}")
    return SPECS[spec_id]


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
                       description=f"{call(*loss)} after a {out_act or 'linear'} output"))

# -- convolutional networks -----------------------------------------------------------
SCCE = ("SparseCategoricalCrossentropy", {})
L2_SMALL = {"class_name": "L2", "config": {"l2": 1e-3}}


def conv(filters, kernel, name, activation=None, **kwargs):
    return layer("Conv2D", name, filters=filters, kernel_size=kernel, activation=activation, **kwargs)


register(ModelSpec(
    "lenet_28", (conv(6, 5, "conv1", "relu"), layer("MaxPooling2D", "pool1", pool_size=2),
                 conv(12, 5, "conv2", "relu"), layer("MaxPooling2D", "pool2", pool_size=2),
                 layer("Flatten", "flatten"), dense(128, "dense", "relu"), dense(10, "output", "softmax")),
    (28, 28, 1), CCE, batch_size=4, inputs="unit",
    description="LeNet-style CNN on 28x28x1: conv 6@5x5 - pool - conv 12@5x5 - pool - 128 - 10"))
register(ModelSpec(
    "lenet_digits_8", (conv(8, 3, "conv1", "relu", padding="same"), layer("MaxPooling2D", "pool1"),
                       conv(16, 3, "conv2", "relu", padding="same"), layer("MaxPooling2D", "pool2"),
                       layer("Flatten", "flatten"), dense(32, "dense", "relu"), dense(10, "output", "softmax")),
    (8, 8, 1), SCCE, batch_size=8, inputs="unit", description="LeNet idea on 8x8x1 digits with 3x3 'same' kernels"))
register(ModelSpec(
    "vgg_block", (conv(8, 3, "conv1", "relu", padding="same"), conv(8, 3, "conv2", "relu", padding="same"),
                  layer("MaxPooling2D", "pool"), layer("Flatten", "flatten"), dense(5, "output", "softmax")),
    (8, 8, 3), CCE, batch_size=4, description="VGG-style block: two 3x3 'same' convs then a pool"))
register(ModelSpec(
    "conv_stride2_same_even_kernel",
    (conv(4, 4, "conv", "tanh", strides=2, padding="same"), layer("GlobalAveragePooling2D", "gap"),
     dense(3, "output")),
    (9, 9, 2), MSE, batch_size=4,
    description="stride-2 'same' conv with an even kernel: Keras pads (1, 2), the extra pixel bottom/right"))
register(ModelSpec(
    "bottleneck_1x1", (conv(4, 1, "reduce", "relu"), conv(4, 3, "conv3x3", "relu", padding="same"),
                       conv(8, 1, "expand"), layer("GlobalAveragePooling2D", "gap"), dense(3, "output", "softmax")),
    (6, 6, 8), CCE, batch_size=4, description="1x1 -> 3x3 -> 1x1 bottleneck"))
register(ModelSpec(
    "dilated_conv", (conv(3, 3, "conv", "elu", dilation_rate=2, padding="same"), layer("Flatten", "flatten"),
                     dense(2, "output")),
    (9, 8, 2), MSE, batch_size=4, description="dilation 2 with 'same' padding"))
register(ModelSpec(
    "pooling_same_overlapping",
    (conv(3, 2, "conv", "tanh"), layer("MaxPooling2D", "maxpool", pool_size=3, strides=1, padding="same"),
     layer("AveragePooling2D", "avgpool", pool_size=3, strides=2, padding="same"), layer("Flatten", "flatten"),
     dense(2, "output")),
    (8, 7, 2), MSE, batch_size=4,
    description="overlapping 'same' max pool (-inf padding) and avg pool (divides by valid cells)"))

# -- training-time layers ----------------------------------------------------------------
register(ModelSpec(
    "mlp_bn_dropout_l2_784_256_100_64_32_10",
    (dense(256, "dense_1", use_bias=False, kernel_regularizer=L2_SMALL), layer("BatchNormalization", "bn_1"),
     layer("Activation", "relu_1", activation="relu"), layer("Dropout", "dropout_1", rate=0.3, seed=11),
     dense(100, "dense_2", use_bias=False, kernel_regularizer=L2_SMALL), layer("BatchNormalization", "bn_2"),
     layer("Activation", "relu_2", activation="relu"), layer("Dropout", "dropout_2", rate=0.3, seed=12),
     dense(64, "dense_3", "relu", kernel_regularizer=L2_SMALL),
     dense(32, "dense_4", "relu", kernel_regularizer=L2_SMALL), dense(10, "output", "softmax")),
    (784,), CCE, batch_size=16, inputs="unit",
    description="784-256-100-64-32-10 with BatchNormalization between Dense and ReLU, Dropout and L2"))
register(ModelSpec(
    "mlp_bn_784_100x4_10",
    tuple(x for i in range(1, 5) for x in (dense(100, f"dense_{i}"), layer("BatchNormalization", f"bn_{i}"),
                                           layer("Activation", f"relu_{i}", activation="relu")))
    + (dense(10, "output", "softmax"),),
    (784,), CCE, batch_size=16, inputs="unit", description="784-100-100-100-100-10 with BatchNormalization"))
register(ModelSpec(
    "conv_bn_relu_pool",
    (conv(4, 3, "conv", padding="same"), layer("BatchNormalization", "bn", momentum=0.9, epsilon=1e-5),
     layer("Activation", "relu", activation="relu"), layer("MaxPooling2D", "pool"), layer("Flatten", "flatten"),
     dense(3, "output", "softmax")),
    (6, 6, 2), CCE, batch_size=4, description="per-channel BatchNormalization on 4-D input, non-default momentum"))
register(ModelSpec(
    "dense_dropout", (dense(8, "dense", "relu"), layer("Dropout", "dropout", rate=0.5, seed=3), dense(3, "output")),
    (5,), MSE, batch_size=8, description="Dropout(0.5) with Keras's masks replayed in NumPy"))
register(ModelSpec(
    "regularizers_l1_l2",
    (dense(6, "dense_l1", "tanh", kernel_regularizer={"class_name": "L1", "config": {"l1": 0.01}},
           bias_regularizer={"class_name": "L2", "config": {"l2": 0.1}}),
     dense(3, "dense_l1l2", kernel_regularizer={"class_name": "L1L2", "config": {"l1": 0.003, "l2": 0.02}})),
    (4,), MSE, batch_size=8, description="L1, L2 (bias) and L1L2 penalties in the loss and the gradients"))

for _spec in LAYER_SPECS:  # activations, normalisation, shape, pooling, embedding and noise layers
    register(_spec)
for _spec in CONV_SPECS:  # grouped, depthwise, separable, transposed and 1-D convolutions
    register(_spec)
for _spec in GRAPH_SPECS:  # residual, bottleneck and Inception blocks, fan-out, a shared layer (seed 003)
    register(_spec)
