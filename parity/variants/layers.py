"""Measured differences of the textbook layer conventions from Keras (listed in ``parity.variants``)."""
import numpy as np

import numpy_models
from parity.gradcheck import layouts
from parity.twins import twins_from_layers
from parity.variants.result import VariantResult
from parity.weights import numpy_to_keras

TEXTBOOK_CNN = [("Conv2D", {"filters": 3, "kernel_size": 3, "activation": "relu"}, "conv"),
                ("MaxPooling2D", {"pool_size": 2}, "pool"), ("Flatten", {}, "flatten"),
                ("Dense", {"units": 4}, "dense")]


def _textbook_cnn_outputs(dtype, permute_rows):
    """A NCHW NumPy CNN with textbook-layout weights vs its NHWC Keras twin fed converted weights."""
    import keras_models  # imports TensorFlow

    nchw = [(c, {**kw, "data_format": "channels_first"} if c in ("Conv2D", "MaxPooling2D") else kw, n)
            for c, kw, n in TEXTBOOK_CNN]
    textbook = numpy_models.build_sequential(nchw, (2, 8, 8), dtype, seed=0)  # (C, H, W) input
    nhwc, k_model = twins_from_layers(TEXTBOOK_CNN, (8, 8, 2), dtype, seed=1)
    rng = np.random.default_rng(0)
    w_oihw = rng.standard_normal((3, 2, 3, 3)).astype(dtype)  # the textbook's conv weight layout
    textbook.get_layer("conv").set_weight("kernel", layouts.conv_kernel_from_textbook(w_oihw))
    for key, value in textbook.weights.items():
        dense_kernel = key == "dense/kernel" and permute_rows
        nhwc.weights[key][...] = layouts.dense_rows_chw_to_hwc(value, (3, 3, 3)) if dense_kernel else value
    numpy_to_keras(nhwc, k_model)  # again: the NHWC twin now holds the converted textbook weights
    x = rng.uniform(0, 1, (4, 2, 8, 8)).astype(dtype)
    return textbook.forward(x), keras_models.forward(k_model, layouts.images_to_nhwc(x))[-1]


def NCHWThroughTheBridge(dtype):
    a, b = _textbook_cnn_outputs(dtype, permute_rows=True)
    return VariantResult.measured("NCHWThroughTheBridge", dtype, [a], [b],
                                  "NCHW data and (out, in, kh, kw) kernels converted by parity.gradcheck.layouts, "
                                  "incl. the Flatten row permutation: equal to round-off",
                                  "Conv2D/Flatten/Dense, channels_last")


def NCHWWithoutRowPermutation(dtype):
    a, b = _textbook_cnn_outputs(dtype, permute_rows=False)
    return VariantResult.measured("NCHWWithoutRowPermutation", dtype, [a], [b],
                                  "same, but the first Dense after Flatten keeps its (C, H, W) row order: Keras "
                                  "flattens (H, W, C), so the logits are wrong",
                                  "Conv2D/Flatten/Dense, channels_last")


def _conv_pair(dtype, np_padding, kernel, strides, size=28):
    import keras_models  # imports TensorFlow

    cfg = lambda padding: [("Conv2D", {"filters": 2, "kernel_size": kernel, "strides": strides, "padding": padding}, "conv")]
    ours, theirs = twins_from_layers(cfg(np_padding), (size, size, 1), dtype, keras_configs=cfg("same"))
    x = np.random.default_rng(0).uniform(0, 1, (2, size, size, 1)).astype(dtype)
    return ours.forward(x), keras_models.forward(theirs, x)[-1]


def SymmetricSamePadding(dtype):
    a, b = _conv_pair(dtype, "symmetric", 3, 2)
    return VariantResult.measured("SymmetricSamePadding", dtype, [a], [b],
                                  "k=3, stride 2 on 28x28: textbook pads (1, 1), Keras 'same' pads (0, 1) (extra "
                                  "pixel bottom/right); equal only for odd kernels at stride 1",
                                  "Conv2D(padding='same')")


def NonInvertedDropout(dtype):
    import keras_models  # imports TensorFlow

    ours, theirs = twins_from_layers([("Dropout", {"rate": 0.5, "seed": 7}, "dropout")], (50,), dtype)
    ours.get_layer("dropout").inverted = False
    x = np.random.default_rng(0).standard_normal((20, 50)).astype(dtype)
    train = [ours.forward(x, training=True), ours.forward(x)]
    ref = [keras_models.forward(theirs, x, training=True)[-1], keras_models.forward(theirs, x)[-1]]
    return VariantResult.measured("NonInvertedDropout", dtype, train, ref,
                                  "textbook multiplies by the mask in training and by (1 - rate) at inference; "
                                  "Keras divides by (1 - rate) in training (same masks: train output / (1 - rate) "
                                  "equals Keras)",
                                  "Dropout(0.5) (no setting reproduces it)")


def _bn_outputs(dtype, textbook):
    import keras_models  # imports TensorFlow

    kwargs = {"momentum": 0.9, "epsilon": 1e-6, "per_activation": True} if textbook else {}
    # Per-activation gamma/beta are (H, W, C), Keras's (C,): both start at ones/zeros, nothing to copy.
    ours, theirs = twins_from_layers([("BatchNormalization", kwargs, "bn")], (4, 4, 3), dtype,
                                     keras_configs=[("BatchNormalization", {}, "bn")], copy_weights=False)
    rng = np.random.default_rng(0)
    outs, refs = [], []
    for _ in range(3):
        x = (rng.standard_normal((8, 4, 4, 3)) * rng.uniform(0.5, 2.0, (4, 4, 3))).astype(dtype)
        outs.append(ours.forward(x, training=True))
        refs.append(keras_models.forward(theirs, x, training=True)[-1])
    x = rng.standard_normal((8, 4, 4, 3)).astype(dtype)
    return outs + [ours.forward(x)], refs + [keras_models.forward(theirs, x)[-1]]


def PerActivationBatchNorm(dtype):
    a, b = _bn_outputs(dtype, textbook=True)
    return VariantResult.measured("PerActivationBatchNorm", dtype, a, b,
                                  "textbook BN on 4-D input normalises each (h, w, c) activation over the batch "
                                  "with momentum 0.9 and epsilon 1e-6; Keras normalises per channel over (N, H, W), "
                                  "momentum 0.99, epsilon 1e-3",
                                  "Reshape((H*W*C,)) + BatchNormalization(momentum=0.9, epsilon=1e-6) reproduces it")


def _transpose_pair(dtype, np_kwargs, keras_kwargs, size=7):
    """A NumPy Conv2DTranspose(**np_kwargs) and a Keras one (**keras_kwargs) with the same kernel, on one batch."""
    import keras_models  # imports TensorFlow

    cfg = lambda kwargs: [("Conv2DTranspose", {"filters": 2, "kernel_size": 3, "strides": 2, **kwargs}, "deconv")]
    ours, theirs = twins_from_layers(cfg(np_kwargs), (size, size, 1), dtype, keras_configs=cfg(keras_kwargs))
    x = np.random.default_rng(0).uniform(0, 1, (2, size, size, 1)).astype(dtype)
    return ours.forward(x), keras_models.forward(theirs, x)[-1]


def SymmetricTransposedPadding(dtype):
    a, b = _transpose_pair(dtype, {"padding": "symmetric", "output_padding": 1}, {"padding": "same"})
    return VariantResult.measured("SymmetricTransposedPadding", dtype, [a], [b],
                                  "k=3, stride 2 on 7x7 -> 14x14: the textbook/PyTorch transposed conv (padding p=1, "
                                  "output_padding=1) crops the full 15x15 col2im output by (1, 0); Keras 'same' crops "
                                  "(0, 1), so the outputs are shifted by one pixel",
                                  "Conv2DTranspose(padding='valid') then drop the first row and column")


VARIANTS = [NCHWThroughTheBridge, NCHWWithoutRowPermutation, SymmetricSamePadding, NonInvertedDropout,
            PerActivationBatchNorm,
            SymmetricTransposedPadding]
