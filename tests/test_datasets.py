"""Data loaders: the embedded digits, MNIST from .npz and IDX files the tests write, and clear errors."""
import numpy as np
import pytest

from parity.training import datasets
from parity.training.datasets import DataError


def _mnist_arrays(n_train=20, n_test=10, seed=0):
    rng = np.random.default_rng(seed)
    return {"x_train": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
            "y_train": rng.integers(0, 10, n_train).astype(np.uint8),
            "x_test": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
            "y_test": rng.integers(0, 10, n_test).astype(np.uint8)}


def test_digits_are_scaled_split_deterministically_and_stratified():
    a, b = datasets.load_digits(seed=0), datasets.load_digits(seed=0)
    assert a.x_train.shape[1:] == (8, 8, 1) and len(a.x_train) + len(a.x_test) == 1797
    assert a.x_train.min() >= 0 and a.x_train.max() == 1.0
    assert a.checksum == b.checksum and datasets.load_digits(seed=1).checksum != a.checksum
    assert np.all(np.bincount(a.y_test) >= 35)  # stratified: every class in the test split


def test_mnist_npz_in_keras_layout(tmp_path):
    arrays = _mnist_arrays()
    np.savez(tmp_path / "mnist.npz", **arrays)
    data = datasets.load_mnist(tmp_path / "mnist.npz")
    assert data.x_train.shape == (20, 28, 28, 1) and data.x_test.shape == (10, 28, 28, 1)
    np.testing.assert_allclose(data.x_train[..., 0] * 255, arrays["x_train"])
    np.testing.assert_array_equal(data.y_test, arrays["y_test"])


@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_mnist_idx_folder(tmp_path, suffix):
    arrays = _mnist_arrays()
    for key, stem in datasets.IDX_FILES.items():
        datasets.write_idx(tmp_path / (stem + suffix), arrays[key])
    data = datasets.load_mnist(tmp_path, "fashion_mnist")
    assert data.name == "fashion_mnist"
    np.testing.assert_allclose(data.x_test[..., 0] * 255, arrays["x_test"])
    np.testing.assert_array_equal(data.y_train, arrays["y_train"])


@pytest.mark.parametrize("change, match", [
    (lambda a: a.pop("y_test"), r"missing arrays \['y_test'\]"),
    (lambda a: a.update(x_train=a["x_train"][:, :27]), r"x_train must be \(N, 28, 28\) images. Received: shape \(20, 27, 28\)"),
    (lambda a: a.update(x_train=a["x_train"].astype(np.float32)), "x_train must be uint8 pixels"),
    (lambda a: a.update(y_train=a["y_train"][:5]), r"y_train must be \(N,\) labels matching x_train \(20\)"),
    (lambda a: a.update(y_test=a["y_test"] + 5), r"y_test must be integer labels 0..9.*range \[5, 14\]"),
])
def test_malformed_npz_says_what_is_wrong(tmp_path, change, match):
    arrays = _mnist_arrays()
    change(arrays)
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(DataError, match=match):
        datasets.load_mnist(tmp_path / "bad.npz")


def test_malformed_idx_files_say_what_is_wrong(tmp_path):
    arrays = _mnist_arrays()
    for key, stem in datasets.IDX_FILES.items():
        datasets.write_idx(tmp_path / stem, arrays[key])
    (tmp_path / "t10k-labels-idx1-ubyte").write_bytes(b"\x12\x34\x08\x01")
    with pytest.raises(DataError, match="not an IDX file"):
        datasets.load_mnist(tmp_path)
    datasets.write_idx(tmp_path / "t10k-labels-idx1-ubyte", arrays["y_test"])
    raw = (tmp_path / "train-images-idx3-ubyte").read_bytes()
    (tmp_path / "train-images-idx3-ubyte").write_bytes(raw[:-100])
    with pytest.raises(DataError, match=r"header says \(20, 28, 28\) = 15680 bytes of data. Received: 15580 bytes"):
        datasets.load_mnist(tmp_path)
    (tmp_path / "train-images-idx3-ubyte").unlink()
    with pytest.raises(DataError, match="missing train-images-idx3-ubyte"):
        datasets.load_mnist(tmp_path)


def test_missing_path_and_unreadable_file(tmp_path):
    with pytest.raises(DataError, match="no such file or folder"):
        datasets.load_mnist(tmp_path / "nowhere.npz")
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(DataError, match="Received: not a zip archive"):
        datasets.load_mnist(tmp_path / "junk.npz")
    with pytest.raises(DataError, match="needs --data-path"):
        datasets.load("mnist")


def test_scaling_slips_are_caught():
    pixels = np.arange(256, dtype=np.float64)
    assert datasets.check_scaled(pixels / 255).max() == 1.0
    with pytest.raises(DataError, match=r"did you divide by .255 instead of 255\?"):
        datasets.check_scaled(pixels / .255)
    with pytest.raises(DataError, match="unscaled: divide by 255"):
        datasets.check_scaled(pixels)


def test_logic_gates():
    assert datasets.logic_gate("XOR").y_train.tolist() == [0, 1, 1, 0]
    assert datasets.logic_gate("NAND").y_train.tolist() == [1, 1, 1, 0]
    with pytest.raises(DataError, match="Unknown logic gate"):
        datasets.logic_gate("XNOR")


@pytest.mark.parametrize("loader, shape, classes", [
    (datasets.load_diabetes, (353, 10), None),
    (datasets.load_iris, (120, 4), 3),
    (datasets.load_iris_binary, (80, 2), 2),
], ids=["diabetes", "iris", "iris_binary"])
def test_bundled_tables_are_min_max_scaled_on_the_training_split(loader, shape, classes):
    d = loader()
    assert d.x_train.shape == shape and d.num_classes == classes
    np.testing.assert_array_equal(d.x_train.min(axis=0), 0.0)
    np.testing.assert_array_max_ulp(d.x_train.max(axis=0), np.ones(shape[1]), maxulp=2)  # MinMaxScaler: x * scale - min * scale
    assert d.checksum == loader().checksum  # deterministic
    if classes:
        assert set(d.y_train) == set(range(classes)) and d.y_train.dtype == np.int64
    else:
        assert d.y_train.dtype == np.float64 and d.y_train.min() >= 25
