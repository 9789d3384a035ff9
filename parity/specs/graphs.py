"""Graph specs from seed 003: residual, bottleneck and Inception-style blocks, fan-out and a shared layer.

Pure data: ``parity.specs.registry`` registers ``GRAPH_SPECS``. Entries are in call
order; ``node(..., inputs)`` names the tensors a call consumes ("input" is the
model input), a plain ``layer``/``dense`` entry takes the previous entry's output
(see ``parity.specs.model_spec``). Shapes are small (6x6 or 8x8, 2-8 channels,
batch 4) so the three-way finite differences stay fast.
"""
from parity.specs.model_spec import ModelSpec, dense, layer, node

GRAPH_SPECS = []
register = GRAPH_SPECS.append

CCE = ("CategoricalCrossentropy", {})
MSE = ("MeanSquaredError", {})


def conv(filters, kernel, name, inputs=None, **kwargs):
    entry = {"filters": filters, "kernel_size": kernel, "padding": "same", **kwargs}
    return node("Conv2D", name, inputs, **entry) if inputs else layer("Conv2D", name, **entry)


def conv_bn(filters, kernel, prefix, inputs=None, relu=True, bn=None, **kwargs):
    """conv (no bias: BatchNormalization's beta replaces it) -> BN(**bn) [-> ReLU], ResNet's unit."""
    entries = (conv(filters, kernel, f"{prefix}_conv", inputs, use_bias=False, **kwargs),
               layer("BatchNormalization", f"{prefix}_bn", **(bn or {})))
    return entries + ((layer("Activation", f"{prefix}_relu", activation="relu"),) if relu else ())


def head(inputs, classes=3):
    """Global average pool and a softmax classifier on the block's output."""
    return (node("GlobalAveragePooling2D", "gap", inputs), dense(classes, "output", "softmax"))


register(ModelSpec(
    "resnet_basic_block",
    conv_bn(4, 3, "a", ("input",)) + conv_bn(4, 3, "b", relu=False)
    + (node("Add", "add", ("b_bn", "input")), layer("Activation", "out_relu", activation="relu")) + head(("out_relu",)),
    (6, 6, 4), CCE, batch_size=4,
    description="ResNet basic block: conv-BN-ReLU-conv-BN + identity, Add, ReLU (H(x) = F(x) + x)"))
register(ModelSpec(
    "resnet_projection_block",
    conv_bn(4, 3, "a", ("input",), strides=2) + conv_bn(4, 3, "b", relu=False)
    + conv_bn(4, 1, "proj", ("input",), relu=False, strides=2)
    + (node("Add", "add", ("b_bn", "proj_bn")), layer("Activation", "out_relu", activation="relu")) + head(("out_relu",)),
    (8, 8, 3), CCE, batch_size=4,
    description="ResNet block whose shape changes (stride 2, 3 -> 4 channels): 1x1 stride-2 projection shortcut"))
register(ModelSpec(
    "resnet_bottleneck_block",
    conv_bn(2, 1, "reduce", ("input",)) + conv_bn(2, 3, "conv3x3") + conv_bn(8, 1, "expand", relu=False)
    + (node("Add", "add", ("expand_bn", "input")), layer("Activation", "out_relu", activation="relu"))
    + head(("out_relu",)),
    (6, 6, 8), CCE, batch_size=4,
    description="ResNet bottleneck: 1x1 reduce - 3x3 - 1x1 expand, each with BN, + identity, ReLU"))
register(ModelSpec(
    "inception_module",
    (conv(2, 1, "branch_1x1", ("input",), activation="relu"),
     conv(2, 1, "reduce_3x3", ("input",), activation="relu"), conv(3, 3, "branch_3x3", activation="relu"),
     conv(1, 1, "reduce_5x5", ("input",), activation="relu"), conv(2, 5, "branch_5x5", activation="relu"),
     node("MaxPooling2D", "pool", ("input",), pool_size=3, strides=1, padding="same"),
     conv(2, 1, "branch_pool", activation="relu"),
     node("Concatenate", "concat", ("branch_1x1", "branch_3x3", "branch_5x5", "branch_pool")),
     layer("Flatten", "flatten"), dense(3, "output", "softmax")),
    (6, 6, 3), CCE, batch_size=4,
    description="Inception module: 1x1, 1x1-3x3, 1x1-5x5 and 3x3-maxpool-1x1 branches concatenated on channels"))
register(ModelSpec(
    "fan_out_branches",
    (dense(6, "trunk", "tanh"), node("Dense", "branch_relu", ("trunk",), units=4, activation="relu"),
     node("Dense", "branch_sigmoid", ("trunk",), units=4, activation="sigmoid"),
     node("Multiply", "gate", ("branch_relu", "branch_sigmoid")),
     node("Concatenate", "concat", ("gate", "trunk", "input")), dense(3, "output")),
    (5,), MSE, batch_size=4,
    description="one tensor feeding several branches (trunk into two Dense and a Concatenate; the input twice)"))
register(ModelSpec(
    "shared_layer",
    (dense(4, "pre", "tanh"), node("Dense", "shared", ("pre",), units=4, activation="tanh"),
     node("Dense", "shared", ("shared",)), node("Subtract", "diff", ("shared@1", "pre")), dense(3, "output")),
    (5,), MSE, batch_size=4,
    description="one Dense called twice (shared weights: its gradient is the sum over both calls)"))


def residual(filters, prefix, inputs, strides=1, bn=None):
    """A basic block on ``inputs``; a 1x1 projection shortcut when it downsamples (and widens: ResNet does both)."""
    body = (conv_bn(filters, 3, f"{prefix}a", (inputs,), strides=strides, bn=bn)
            + conv_bn(filters, 3, f"{prefix}b", relu=False, bn=bn))
    shortcut, short = (), inputs
    if strides != 1:
        shortcut = conv_bn(filters, 1, f"{prefix}_proj", (inputs,), relu=False, bn=bn, strides=strides)
        short = f"{prefix}_proj_bn"
    return body + shortcut + (node("Add", f"{prefix}_add", (f"{prefix}b_bn", short)),
                              layer("Activation", f"{prefix}_out", activation="relu"))


FAST_BN = {"momentum": 0.9}  # moving statistics settle within the few hundred steps of the digits experiment
register(ModelSpec(
    "resnet_digits_8",
    conv_bn(8, 3, "stem", ("input",), bn=FAST_BN) + residual(8, "block1", "stem_relu", bn=FAST_BN)
    + residual(16, "block2", "block1_out", 2, bn=FAST_BN) + head(("block2_out",), classes=10),
    (8, 8, 1), ("SparseCategoricalCrossentropy", {}), batch_size=4, inputs="unit",
    description="small ResNet on 8x8x1 digits: conv stem, an identity block, a stride-2 projection block, GAP, 10"))
