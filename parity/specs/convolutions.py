"""Specs for the convolution family of issue 13: grouped, depthwise, separable, transposed and 1-D.

Pure data: ``parity.specs.registry`` registers ``CONV_SPECS``. Every spec names the
awkward case it is there for (non-dividing strides with 'same', output_padding,
causal with dilation, channels of 1 and 3, odd sizes).
"""
from parity.specs.model_spec import ModelSpec, dense, layer

CONV_SPECS = []
register = CONV_SPECS.append

MSE = ("MeanSquaredError", {})
CCE = ("CategoricalCrossentropy", {})
FLATTEN = layer("Flatten", "flatten")
GAP = layer("GlobalAveragePooling2D", "gap")

# -- Conv2D(groups=...) -------------------------------------------------------------------
register(ModelSpec(
    "conv_groups_same_stride2",
    (layer("Conv2D", "conv", filters=6, kernel_size=3, strides=2, padding="same", groups=3, activation="tanh"),
     FLATTEN, dense(3, "output")),
    (7, 7, 3), MSE, batch_size=4,
    description="groups=3 on 3 channels (one input channel per group), stride 2 'same' on an odd 7x7"))
register(ModelSpec(
    "conv_groups_dilated",
    (layer("Conv2D", "conv", filters=4, kernel_size=(2, 3), dilation_rate=2, groups=2, activation="relu"), GAP,
     dense(3, "output")),
    (8, 9, 4), MSE, batch_size=4, description="groups=2, a non-square kernel with dilation 2, 'valid'"))
register(ModelSpec(
    "conv_groups_even_kernel_then_1x1",
    (layer("Conv2D", "conv", filters=4, kernel_size=4, strides=2, padding="same", groups=4),
     layer("Conv2D", "mix", filters=6, kernel_size=1, groups=2, activation="sigmoid"), FLATTEN,
     dense(3, "output", "softmax")),
    (9, 9, 4), CCE, batch_size=4,
    description="groups = channels with an even kernel, stride 2 'same' (pads (1, 2)), then a grouped 1x1"))

# -- DepthwiseConv2D ------------------------------------------------------------------------
register(ModelSpec(
    "depthwise_same_stride2_c3",
    (layer("DepthwiseConv2D", "depthwise", kernel_size=3, strides=2, padding="same", depth_multiplier=2,
           activation="tanh"), FLATTEN, dense(3, "output")),
    (7, 8, 3), MSE, batch_size=4,
    description="3 channels, depth_multiplier 2, stride 2 'same' not dividing 7"))
register(ModelSpec(
    "depthwise_c1_valid",
    (layer("DepthwiseConv2D", "depthwise", kernel_size=(2, 3), depth_multiplier=3, activation="relu"),
     layer("Conv2D", "pointwise", filters=2, kernel_size=1), GAP, dense(3, "output")),
    (6, 7, 1), MSE, batch_size=4, description="a single input channel, depth_multiplier 3, non-square 'valid'"))
register(ModelSpec(
    "depthwise_dilated_strided",
    (layer("DepthwiseConv2D", "depthwise", kernel_size=3, strides=2, dilation_rate=2, padding="same",
           use_bias=False), FLATTEN, dense(3, "output", "softmax")),
    (9, 9, 2), CCE, batch_size=4,
    description="strides 2 with dilation 2 (allowed for depthwise: TF subsamples a stride-1 dilated conv), no bias"))

# -- SeparableConv2D ----------------------------------------------------------------------
register(ModelSpec(
    "separable_same_stride2",
    (layer("SeparableConv2D", "separable", filters=4, kernel_size=3, strides=2, padding="same",
           activation="relu"), FLATTEN, dense(3, "output", "softmax")),
    (7, 7, 3), CCE, batch_size=4, description="3 channels, stride 2 'same' on an odd 7x7"))
register(ModelSpec(
    "separable_c1_multiplier2",
    (layer("SeparableConv2D", "separable", filters=3, kernel_size=2, depth_multiplier=2, activation="tanh"), GAP,
     dense(2, "output")),
    (5, 6, 1), MSE, batch_size=4, description="one input channel, depth_multiplier 2, an even kernel"))
register(ModelSpec(
    "separable_dilated_no_bias",
    (layer("SeparableConv2D", "separable", filters=5, kernel_size=3, dilation_rate=2, padding="same",
           use_bias=False), FLATTEN, dense(3, "output")),
    (8, 7, 3), MSE, batch_size=4, description="dilation 2 'same', no bias"))

# -- Conv2DTranspose ----------------------------------------------------------------------
register(ModelSpec(
    "conv_transpose_same_stride2",
    (layer("Conv2DTranspose", "deconv", filters=3, kernel_size=3, strides=2, padding="same", activation="tanh"),
     FLATTEN, dense(3, "output")),
    (5, 4, 2), MSE, batch_size=4, description="stride 2 'same' upsampling: output n*s"))
register(ModelSpec(
    "conv_transpose_output_padding",
    (layer("Conv2DTranspose", "deconv_same", filters=2, kernel_size=4, strides=2, padding="same",
           output_padding=1),
     layer("Conv2DTranspose", "deconv_valid", filters=2, kernel_size=3, strides=2, padding="valid",
           output_padding=(1, 0)), FLATTEN, dense(3, "output")),
    (3, 4, 3), MSE, batch_size=4,
    # Flatten, not global pooling: pooling hands every pixel of a sample the same gradient, and a float32 sum
    # of N*OH*OW equal terms (the bias gradient) then errs systematically by ~N*OH*OW*eps (measured 8.7e-6
    # relative between Keras and NumPy with a 12x15 output, at the 1e-5 tolerance).
    description="output_padding with 'same' and an even kernel ((n-1)s + k%2 + op) and with 'valid'"))
register(ModelSpec(
    "conv_transpose_c1_nondividing",
    (layer("Conv2D", "encode", filters=4, kernel_size=3, strides=2, padding="same", activation="relu"),
     layer("Conv2DTranspose", "decode", filters=1, kernel_size=2, strides=3, activation="sigmoid"), FLATTEN,
     dense(2, "output")),
    (7, 7, 1), MSE, batch_size=4,
    description="an encoder-decoder on one channel; the transposed kernel (2) is smaller than its stride (3)"))

# -- Conv1D ----------------------------------------------------------------------------------
register(ModelSpec(
    "conv1d_causal_dilated",
    (layer("Conv1D", "causal_1", filters=4, kernel_size=3, padding="causal", dilation_rate=2, activation="relu"),
     layer("Conv1D", "causal_2", filters=4, kernel_size=2, padding="causal", dilation_rate=4, groups=2),
     FLATTEN, dense(3, "output")),
    (11, 3), MSE, batch_size=4, description="a causal WaveNet-style stack, dilation 2 then 4 (grouped)"))
register(ModelSpec(
    "conv1d_same_stride3_c1",
    (layer("Conv1D", "conv", filters=3, kernel_size=4, strides=3, padding="same", activation="tanh"), FLATTEN,
     dense(2, "output")),
    (10, 1), MSE, batch_size=4, description="one channel, even kernel, stride 3 'same' not dividing 10"))
register(ModelSpec(
    "conv1d_valid_groups",
    (layer("Conv1D", "conv", filters=6, kernel_size=3, groups=3, activation="sigmoid"), FLATTEN,
     dense(3, "output", "softmax")),
    (9, 3), CCE, batch_size=4, description="groups = channels = 3, 'valid'"))
