"""Each refused Keras argument and each bad value of the issue-13 layers gives one error naming the layer and argument."""
import numpy as np
import pytest

import numpy_models as nm

REFUSED = [
    (nm.PReLU, {"alpha_constraint": "non_neg"}, "alpha_constraint"),
    (nm.LayerNormalization, {"rms_scaling": True}, "rms_scaling"),
    (nm.LayerNormalization, {"beta_constraint": "non_neg"}, "beta_constraint"),
    (nm.LayerNormalization, {"gamma_constraint": "non_neg"}, "gamma_constraint"),
    (nm.BatchNormalization, {"beta_constraint": "non_neg"}, "beta_constraint"),
    (nm.BatchNormalization, {"gamma_constraint": "non_neg"}, "gamma_constraint"),
    (nm.BatchNormalization, {"renorm": True}, "renorm"),
    (nm.BatchNormalization, {"renorm_clipping": {"rmax": 3}}, "renorm_clipping"),
    (nm.BatchNormalization, {"synchronized": True}, "synchronized"),
    (lambda **kw: nm.Embedding(5, 2, **kw), {"mask_zero": True}, "mask_zero"),
    (lambda **kw: nm.Embedding(5, 2, **kw), {"embeddings_constraint": "non_neg"}, "embeddings_constraint"),
    (lambda **kw: nm.Embedding(5, 2, **kw), {"weights": [np.zeros((5, 2))]}, "weights"),
    (lambda **kw: nm.Embedding(5, 2, **kw), {"lora_rank": 2}, "lora_rank"),
    (lambda **kw: nm.Embedding(5, 2, **kw), {"lora_alpha": 1.0}, "lora_alpha"),
    (lambda **kw: nm.Embedding(5, 2, **kw), {"quantization_config": {"mode": "int8"}}, "quantization_config"),
]


@pytest.mark.parametrize("make, kwargs, argument", REFUSED, ids=[f"{a}" for _, _, a in REFUSED])
def test_refused_argument_names_layer_and_argument(make, kwargs, argument):
    with pytest.raises(ValueError, match=rf"^Layer '\w+' \(\w+\): argument '{argument}' is not supported\. "
                                         rf"Received: {argument}="):
        make(**kwargs)


BAD_VALUES = [
    (lambda: nm.ReLU(max_value=-1.0), r"\(ReLU\): max_value must be a non-negative number. Received: max_value=-1.0"),
    (lambda: nm.ReLU(negative_slope=None), r"\(ReLU\): negative_slope .* Received: negative_slope=None"),
    (lambda: nm.LeakyReLU(negative_slope=-0.1), r"\(LeakyReLU\): negative_slope .* Received: negative_slope=-0.1"),
    (lambda: nm.Reshape((2, -1, -1)), r"\(Reshape\): target_shape .* Received: target_shape=\(2, -1, -1\)"),
    (lambda: nm.Permute((1, 3)), r"\(Permute\): dims must be a permutation .* Received: dims=\(1, 3\)"),
    (lambda: nm.RepeatVector(0), r"\(RepeatVector\): n must be a positive integer. Received: n=0"),
    (lambda: nm.ZeroPadding2D(((1, 2, 3), 1)), r"\(ZeroPadding2D\): padding must be .* Received: padding="),
    (lambda: nm.Cropping2D(-1), r"\(Cropping2D\): cropping must be .* Received: cropping=-1"),
    (lambda: nm.UpSampling2D(interpolation="bicubic"), r"\(UpSampling2D\): interpolation .* Received: interpolation='bicubic'"),
    (lambda: nm.MaxPooling1D(pool_size=0), r"\(MaxPooling1D\): pool_size must be a positive int. Received: pool_size=0"),
    (lambda: nm.Embedding(0, 3), r"\(Embedding\): input_dim must be a positive integer. Received: input_dim=0"),
    (lambda: nm.GaussianNoise(1.5), r"\(GaussianNoise\): stddev must be a float in \[0, 1\]. Received: stddev=1.5"),
    (lambda: nm.BatchNormalization(axis="channels"), r"\(BatchNormalization\): axis must be an int. Received: axis='channels'"),
    (lambda: nm.LayerNormalization(axis=None), r"\(LayerNormalization\): axis must be an int or a list of ints"),
]


@pytest.mark.parametrize("make, message", BAD_VALUES, ids=[m.split(")")[0].strip("\\(") for _, m in BAD_VALUES])
def test_bad_value_names_layer_and_value(make, message):
    with pytest.raises((ValueError, TypeError), match=message):
        make()


def test_build_time_errors_name_layer_and_shape():
    with pytest.raises(ValueError, match=r"\(Cropping2D\): cropping .* leaves nothing"):
        nm.Cropping2D(((2, 2), (0, 0))).build((None, 4, 3, 1))
    with pytest.raises(ValueError, match=r"\(BatchNormalization\): axis must name a non-batch axis .* Received: axis=3"):
        nm.BatchNormalization(axis=3).build((None, 4, 2))
    with pytest.raises(ValueError, match=r"\(Reshape\): cannot reshape .* Received: target_shape=\(4, 2\)"):
        nm.Reshape((4, 2)).build((None, 3, 3))
    with pytest.raises(ValueError, match=r"\(PReLU\): shared_axes must lie in 1..2"):
        nm.PReLU(shared_axes=[3]).build((None, 4, 2))


def test_embedding_rejects_out_of_range_indices():
    layer = nm.Embedding(4, 2, name="emb")
    with pytest.raises(ValueError, match=r"Layer 'emb' \(Embedding\): indices must lie in \[0, 4\). Received: input\[1, 0\]=4"):
        layer.forward(np.array([[1, 2], [4, 0]]))
