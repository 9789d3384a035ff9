"""Specs for the activation, normalisation, shape, pooling, embedding and noise layers (pure data).

Each oddity carries a comment saying why it is there; ``parity.specs.registry`` registers ``LAYER_SPECS``.
"""
from parity.specs.model_spec import ModelSpec, call, dense, layer

LAYER_SPECS = []
register = LAYER_SPECS.append

MSE = ("MeanSquaredError", {})
CCE = ("CategoricalCrossentropy", {})
RANDOM_ALPHA = {"class_name": "RandomUniform", "config": {"minval": -0.5, "maxval": 0.8, "seed": None}}

# -- activation strings on 4-D data (Activation layer, elementwise, no Dense in front) ---------------------
for act in ("relu6", "hard_sigmoid", "hard_silu", "softplus", "softsign", "mish", "exponential", "log_softmax"):
    register(ModelSpec(f"activation_layer4d_{act}",
                       (layer("Activation", "act", activation=act), layer("Flatten", "flatten"), dense(3, "output")),
                       (3, 2, 5), MSE, batch_size=4, inputs="wide",
                       description=f"Activation('{act}') on 4-D data spanning its kinks (+-3, 0, 6)"))

# -- activation layers ------------------------------------------------------------------------------------
RELU_CONFIGS = {
    "default": {},
    "max6": {"max_value": 6.0},  # relu6's own TF op: f'(6) = 0
    "max2_5_slope": {"max_value": 2.5, "negative_slope": 0.1},  # clip path: f'(max) = 1
    "threshold": {"threshold": 0.5, "negative_slope": 0.3},
    "threshold_max": {"threshold": 0.7, "max_value": 1.9},
    "leaky": {"negative_slope": 0.15},  # tf.nn.leaky_relu path (float32 slope attribute)
}
for key, kwargs in RELU_CONFIGS.items():
    register(ModelSpec(f"relu_layer_{key}", (dense(7, "dense"), layer("ReLU", "relu", **kwargs), dense(3, "output")),
                       (5,), MSE, inputs="wide", description=f"{call('ReLU', kwargs)} between Dense layers"))
for slope in (0.3, 0.01, 1.7):  # default, small, and a slope above 1
    register(ModelSpec(f"leaky_relu_layer_{str(slope).replace('.', '_')}",
                       (layer("LeakyReLU", "leaky", negative_slope=slope), layer("Flatten", "flatten"),
                        dense(3, "output")),
                       (4, 3, 1), MSE, description=f"LeakyReLU(negative_slope={slope}) on 4-D data, 1 channel"))
for key, kwargs, shape in (("full", {}, (3, 4, 3)), ("shared_hw", {"shared_axes": [1, 2]}, (5, 3, 3)),
                           ("shared_1", {"shared_axes": 1}, (4, 7)), ("dense", {}, (6,))):
    register(ModelSpec(f"prelu_{key}", (layer("PReLU", "prelu", alpha_initializer=RANDOM_ALPHA, **kwargs),
                                         layer("Flatten", "flatten"), dense(2, "output")),
                       shape, MSE, batch_size=5,
                       description=f"{call('PReLU', kwargs)} with random alpha (Keras's zeros would hide alpha bugs)"))
for alpha in (1.0, 0.5, 2.3):
    register(ModelSpec(f"elu_layer_{str(alpha).replace('.', '_')}",
                       (dense(6, "dense"), layer("ELU", "elu", alpha=alpha), dense(3, "output")),
                       (4,), MSE, inputs="wide", description=f"ELU(alpha={alpha})"))
for key, axis, shape in (("last", -1, (5,)), ("axis1_3d", 1, (4, 3)), ("axes_12_4d", [1, 2], (3, 2, 4)),
                         ("axis_list_1", [2], (2, 3, 3))):
    register(ModelSpec(f"softmax_layer_{key}", (layer("Softmax", "softmax", axis=axis), layer("Flatten", "flatten"),
                                                 dense(3, "output")) if len(shape) > 1 else
                       (layer("Softmax", "softmax", axis=axis), dense(3, "output")),
                       shape, MSE, description=f"Softmax(axis={axis}) on input {shape}"))
register(ModelSpec("softmax_layer_output_cce", (dense(4, "dense"), layer("Softmax", "softmax")), (5,), CCE,
                   description="Softmax layer last: Keras's cross-entropy reads its cached logits"))

# -- LayerNormalization -----------------------------------------------------------------------------------
RANDOM_AFFINE = {"gamma_initializer": {"class_name": "RandomNormal", "config": {"mean": 1.0, "stddev": 0.5, "seed": None}},
                 "beta_initializer": {"class_name": "RandomNormal", "config": {"mean": 0.0, "stddev": 0.5, "seed": None}}}
LAYER_NORM_CONFIGS = {
    "last_2d": ((7,), {}),
    "last_4d": ((3, 4, 3), RANDOM_AFFINE),
    "hwc_4d": ((3, 5, 2), {"axis": [1, 2, 3], **RANDOM_AFFINE}),
    "axis1_3d": ((5, 4), {"axis": 1, "epsilon": 1e-5, **RANDOM_AFFINE}),
    "mixed_sign_axes": ((3, 4, 2), {"axis": [1, -1], **RANDOM_AFFINE}),  # Keras sorts to [-1, 1] and reshapes gamma
    "no_center": ((6,), {"center": False, **RANDOM_AFFINE}),
    "no_scale_channel1": ((4, 3, 1), {"axis": [1, 2], "scale": False}),
}
for key, (shape, kwargs) in LAYER_NORM_CONFIGS.items():
    # No Dense in front of a 1-channel input: LN would cancel its single scalar weight (gradient ~ 0, pure round-off).
    front = (dense(shape[-1], "dense"),) if shape[-1] > 1 else ()
    register(ModelSpec(f"layer_norm_{key}",
                       front + (layer("LayerNormalization", "ln", **kwargs), layer("Flatten", "flatten"),
                                dense(3, "output")),
                       shape, MSE, batch_size=5, description=f"{call('LayerNormalization', kwargs)} on input {shape}"))

# -- reshaping, padding, cropping, upsampling ---------------------------------------------------------------
def _shape_spec(key, shape_layer, input_shape, description, front_channels=None, expected_failed_checks=None):
    """[Dense over channels] -> the shape layer -> Flatten -> Dense: both sides of the layer carry weights."""
    front = (dense(front_channels, "dense"),) if front_channels else ()
    register(ModelSpec(key, front + (shape_layer, layer("Flatten", "flatten"), dense(3, "output")), input_shape, MSE,
                       batch_size=4, description=description, expected_failed_checks=expected_failed_checks or {}))


BILINEAR_FLOAT32 = {"check_gradients_three_way": (
    "TF's ResizeBilinear computes in float32 even for float64 models (forward output is float32), so the "
    "twin's float64 forward is a float32-rounded function that central differences cannot resolve (error ~1e-4); "
    "the gradient itself matches Keras to 1e-12, and the float64-internal variant passes the gradient checker "
    "(tests/test_layers_hypothesis_reshaping.py).")}


for key, padding, shape in (("sym1", 1, (3, 4, 2)), ("hw_2_1", (2, 1), (5, 3, 1)),
                            ("asym", ((0, 2), (3, 1)), (4, 5, 3)), ("channels_first", ((1, 0), (2, 1)), (2, 3, 4))):
    fmt = {"data_format": "channels_first"} if key == "channels_first" else {}
    _shape_spec(f"zero_padding2d_{key}", layer("ZeroPadding2D", "pad", padding=padding, **fmt), shape,
                f"ZeroPadding2D(padding={padding}{', channels_first' if fmt else ''})", shape[-1])
for key, cropping, shape in (("sym1", 1, (5, 4, 2)), ("hw_2_0", (2, 0), (7, 3, 1)),
                             ("asym", ((0, 2), (3, 1)), (6, 7, 3)), ("channels_first", ((1, 0), (0, 2)), (2, 4, 5))):
    fmt = {"data_format": "channels_first"} if key == "channels_first" else {}
    _shape_spec(f"cropping2d_{key}", layer("Cropping2D", "crop", cropping=cropping, **fmt), shape,
                f"Cropping2D(cropping={cropping}{', channels_first' if fmt else ''})", shape[-1])
for key, target, shape in (("to_3d", (4, 6), (24,)), ("minus_one", (-1, 3), (2, 3, 3)), ("flat", (30,), (5, 3, 2)),
                           ("to_4d", (3, 1, 5), (15,))):
    _shape_spec(f"reshape_{key}", layer("Reshape", "reshape", target_shape=target), shape,
                f"Reshape(target_shape={target}) from {shape}", shape[-1])
for key, dims, shape in (("swap_3d", (2, 1), (4, 3)), ("cyc_4d", (3, 1, 2), (2, 3, 4)), ("hw_4d", (2, 1, 3), (3, 5, 1))):
    _shape_spec(f"permute_{key}", layer("Permute", "permute", dims=dims), shape, f"Permute(dims={dims}) on {shape}",
                shape[-1])
for n in (1, 3, 4):
    register(ModelSpec(f"repeat_vector_{n}", (dense(5, "dense", "tanh"), layer("RepeatVector", "repeat", n=n),
                                               dense(2, "per_step"), layer("Flatten", "flatten"), dense(3, "output")),
                       (4,), MSE, description=f"RepeatVector({n}) then a Dense on every step"))
for key, kwargs, shape in (("nearest_2", {}, (3, 4, 2)), ("nearest_3_1", {"size": (3, 1)}, (2, 3, 1)),
                           ("bilinear_2", {"interpolation": "bilinear"}, (3, 4, 2)),
                           ("bilinear_3_2", {"size": (3, 2), "interpolation": "bilinear"}, (4, 3, 3)),
                           ("bilinear_channels_first", {"interpolation": "bilinear", "data_format": "channels_first"},
                            (2, 3, 5))):
    _shape_spec(f"upsampling2d_{key}", layer("UpSampling2D", "up", **kwargs), shape, f"{call('UpSampling2D', kwargs)} on {shape}",
                shape[-1], BILINEAR_FLOAT32 if "interpolation" in kwargs else None)

# -- 1-D pooling and global pools ---------------------------------------------------------------------------
POOL1D_CONFIGS = {
    "default": ((8, 2), {"pool_size": 2}),  # AveragePooling1D has no default pool_size in Keras
    "odd_valid": ((9, 3), {"pool_size": 3, "strides": 2}),  # the last step is dropped
    "same_nondividing": ((7, 1), {"pool_size": 3, "strides": 2, "padding": "same"}),  # pads one step after
    "same_overlap": ((6, 2), {"pool_size": 4, "strides": 1, "padding": "same"}),
    "channels_first": ((3, 7), {"pool_size": 2, "data_format": "channels_first"}),
}
for cls in ("MaxPooling1D", "AveragePooling1D"):
    for key, (shape, kwargs) in POOL1D_CONFIGS.items():
        # A ReLU Dense in front makes ties (zeros) that test max pooling's first-maximum rule.
        front = () if key == "channels_first" else (dense(shape[-1], "dense", "relu"),)
        register(ModelSpec(f"{cls.lower()}_{key}",
                           front + (layer(cls, "pool", **kwargs), layer("Flatten", "flatten"), dense(3, "output")),
                           shape, MSE, batch_size=4, description=f"{call(cls, kwargs)} on {shape}"))
GLOBAL_CONFIGS = {
    "GlobalMaxPooling1D": (((6, 3), {}), ((5, 1), {"keepdims": True}), ((3, 5), {"data_format": "channels_first"})),
    "GlobalAveragePooling1D": (((6, 3), {}), ((5, 1), {"keepdims": True}), ((3, 5), {"data_format": "channels_first"})),
    "GlobalMaxPooling2D": (((4, 3, 3), {}), ((3, 5, 1), {"keepdims": True}),
                           ((2, 3, 4), {"data_format": "channels_first"})),
}
for cls, configs in GLOBAL_CONFIGS.items():
    for i, (shape, kwargs) in enumerate(configs):
        # ReLU in front: whole rows of zeros tie, and tf.reduce_max splits their gradient.
        tail = (layer("Flatten", "flatten"),) if kwargs.get("keepdims") else ()
        register(ModelSpec(f"{cls.lower()}_{i}", (dense(shape[-1], "dense", "relu"), layer(cls, "pool", **kwargs))
                           + tail + (dense(3, "output"),), shape, MSE, batch_size=4,
                           description=f"{call(cls, kwargs)} on {shape} after a ReLU (tied zeros)"))

# -- Embedding (integer inputs; small vocabularies so indices repeat within a batch) --------------------------
RANDOM_EMBEDDINGS = {"class_name": "RandomNormal", "config": {"mean": 0.0, "stddev": 1.0, "seed": None}}
for key, (input_dim, output_dim, shape, head) in {
        "flatten": (7, 4, (5,), (layer("Flatten", "flatten"),)),
        "vocab3_gap": (3, 5, (6,), (layer("GlobalAveragePooling1D", "gap"),)),  # every index repeats
        "dim1_2d_ids": (11, 1, (3, 4), (layer("Flatten", "flatten"),)),  # 2-D index grid, embeddings of size 1
        "default_init": (5, 3, (4,), (layer("Flatten", "flatten"),)),
}.items():
    init = {} if key == "default_init" else {"embeddings_initializer": RANDOM_EMBEDDINGS}
    register(ModelSpec(f"embedding_{key}",
                       (layer("Embedding", "embedding", input_dim=input_dim, output_dim=output_dim, **init),)
                       + head + (dense(3, "output"),),
                       shape, MSE, batch_size=6, inputs="integers",
                       description=f"Embedding({input_dim}, {output_dim}) on integer inputs {shape}"))

# -- BatchNormalization: other axes, frozen -----------------------------------------------------------------
RANDOM_MOVING = {"moving_mean_initializer": {"class_name": "RandomNormal", "config": {"mean": 0.0, "stddev": 0.5, "seed": None}},
                 "moving_variance_initializer": {"class_name": "RandomUniform", "config": {"minval": 0.5, "maxval": 2.0, "seed": None}}}
BN_CONFIGS = {
    "axis1_channels_first_4d": ((3, 4, 5), {"axis": 1, "momentum": 0.9, **RANDOM_AFFINE}),
    "axis1_3d": ((4, 6), {"axis": 1, **RANDOM_AFFINE}),
    "axis2_4d_channel1": ((3, 1, 4), {"axis": 2, "epsilon": 1e-5}),  # a single "channel" on axis 2
    "axis_minus2_4d": ((3, 5, 2), {"axis": -2, "center": False, **RANDOM_AFFINE}),
    "frozen_2d": ((5,), {"trainable": False, **RANDOM_AFFINE, **RANDOM_MOVING}),
    "frozen_axis1_4d": ((3, 4, 2), {"axis": 1, "trainable": False, **RANDOM_AFFINE, **RANDOM_MOVING}),
    "frozen_no_scale": ((3, 3, 3), {"trainable": False, "scale": False, **RANDOM_MOVING}),
}
for key, (shape, kwargs) in BN_CONFIGS.items():
    register(ModelSpec(f"batch_norm_{key}",
                       (layer("BatchNormalization", "bn", **kwargs), layer("Flatten", "flatten"), dense(3, "output"))
                       if len(shape) > 1 else (layer("BatchNormalization", "bn", **kwargs), dense(3, "output")),
                       shape, MSE, batch_size=6,
                       description=f"{call('BatchNormalization', kwargs)} on {shape}; frozen ones stay in inference mode"))

# -- SpatialDropout2D and GaussianNoise (Keras's random streams replayed) ---------------------------------
for key, kwargs, shape in (("rate_half", {"rate": 0.5, "seed": 5}, (3, 4, 3)), ("channel1", {"rate": 0.3, "seed": 7}, (4, 3, 1)),
                           ("channels_first", {"rate": 0.4, "seed": 9, "data_format": "channels_first"}, (5, 3, 2))):
    register(ModelSpec(f"spatial_dropout2d_{key}",
                       (layer("SpatialDropout2D", "sdrop", **kwargs), layer("Flatten", "flatten"), dense(3, "output")),
                       shape, MSE, batch_size=6, description=f"{call('SpatialDropout2D', kwargs)}: whole maps dropped"))
for key, kwargs, shape in (("small", {"stddev": 0.1, "seed": 3}, (6,)), ("unit", {"stddev": 1.0, "seed": 4}, (3, 2, 3)),
                           ("odd", {"stddev": 0.37, "seed": 8}, (5, 1))):
    head = (layer("Flatten", "flatten"),) if len(shape) > 1 else ()
    register(ModelSpec(f"gaussian_noise_{key}",
                       (dense(shape[-1], "dense", "tanh"), layer("GaussianNoise", "noise", **kwargs)) + head
                       + (dense(3, "output"),),
                       shape, MSE, batch_size=6, description=f"{call('GaussianNoise', kwargs)} after a Dense"))
