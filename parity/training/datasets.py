"""Real data with no network at run time: scikit-learn's bundled digits, local MNIST files, logic gates.

- ``load_digits()``: 1797 8x8 images (scikit-learn ships them), scaled to [0, 1].
- ``load_mnist(path)``: MNIST or Fashion-MNIST from a Keras-layout ``.npz``
  (x_train, y_train, x_test, y_test) or a folder of IDX files
  (train-images-idx3-ubyte[.gz], ...), validated and scaled to [0, 1].
- ``logic_gate(name)``: the AND / OR / NAND / XOR truth tables.
- ``load_diabetes()``, ``load_iris()``, ``load_iris_binary()``: scikit-learn's bundled tables
  with features scaled to [0, 1] by ``MinMaxScaler`` (fitted on the training split).
Every loader returns a ``Dataset`` with a deterministic train/test split and a checksum.
"""
import gzip
import hashlib
import struct
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np


class DataError(ValueError):
    """A data file or array that is not what the loader expects; the message says what is wrong."""


@dataclass
class Dataset:
    name: str
    x_train: np.ndarray
    y_train: np.ndarray  # integer labels (float targets for a regression set)
    x_test: np.ndarray
    y_test: np.ndarray
    num_classes: int  # None for a regression set

    @property
    def checksum(self):
        h = hashlib.sha256()
        for a in (self.x_train, self.y_train, self.x_test, self.y_test):
            h.update(np.ascontiguousarray(a).tobytes())
        return h.hexdigest()[:16]

    def flattened(self):
        flat = lambda a: a.reshape(len(a), -1)
        return Dataset(self.name + "-flat", flat(self.x_train), self.y_train, flat(self.x_test), self.y_test,
                       self.num_classes)

    def astype(self, dtype):
        return Dataset(self.name, self.x_train.astype(dtype), self.y_train, self.x_test.astype(dtype), self.y_test,
                       self.num_classes)


def check_scaled(x, name="inputs"):
    """Inputs must be scaled to [0, 1]; catches /.255 (values up to 1000) and unscaled pixels."""
    lo, hi = float(np.min(x)), float(np.max(x))
    if lo < 0 or hi > 1:
        hint = " (did you divide by .255 instead of 255?)" if 255 < hi <= 1001 else \
               " (pixels look unscaled: divide by 255)" if 1 < hi <= 255 else ""
        raise DataError(f"{name} must be scaled to [0, 1]. Received: values in [{lo:g}, {hi:g}]{hint}")
    return x


def _split(name, x, y, test_fraction, seed, num_classes):
    from sklearn.model_selection import train_test_split  # scikit-learn loads in ~1 s: only where data is split

    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=test_fraction, random_state=seed, stratify=y)
    return Dataset(name, x_tr, y_tr.astype(np.int64), x_te, y_te.astype(np.int64), num_classes)


def load_digits(seed=0, test_fraction=0.2):
    """scikit-learn's 8x8 digits as (N, 8, 8, 1) in [0, 1] (pixel values 0..16 divided by 16), stratified split."""
    from sklearn.datasets import load_digits as sk_digits

    d = sk_digits()
    x = check_scaled(d.images[..., None] / 16.0, "digits")
    return _split("digits", x, d.target, test_fraction, seed, 10)


# -- MNIST / Fashion-MNIST ----------------------------------------------------------------
IDX_FILES = {"x_train": "train-images-idx3-ubyte", "y_train": "train-labels-idx1-ubyte",
             "x_test": "t10k-images-idx3-ubyte", "y_test": "t10k-labels-idx1-ubyte"}


def _read_idx(path):
    opener = gzip.open if str(path).endswith(".gz") else open
    try:
        with opener(path, "rb") as f:
            data = f.read()
    except (OSError, EOFError, zlib.error) as exc:  # a corrupt or truncated .gz
        raise DataError(f"{path}: not a readable {'gzip-compressed ' if opener is gzip.open else ''}IDX file "
                        f"({exc}).") from None
    if len(data) < 4 or data[:2] != b"\x00\x00":
        raise DataError(f"{path}: not an IDX file (bad magic number {data[:4].hex() or 'empty'}).")
    dtype_code, ndim = data[2], data[3]
    if dtype_code != 0x08:
        raise DataError(f"{path}: expected unsigned-byte IDX data (type 0x08). Received: type 0x{dtype_code:02x}")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DataError(f"{path}: truncated header.")
    dims = struct.unpack(">" + "I" * ndim, data[4:header])
    expected = int(np.prod(dims))
    if len(data) - header != expected:
        raise DataError(f"{path}: header says {dims} = {expected} bytes of data. Received: {len(data) - header} bytes")
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(dims)


def _idx_folder(folder):
    arrays = {}
    for key, stem in IDX_FILES.items():
        found = [p for p in (folder / stem, folder / (stem + ".gz")) if p.exists()]
        if not found:
            raise DataError(f"{folder}: missing {stem}[.gz] (expected the four MNIST IDX files).")
        arrays[key] = _read_idx(found[0])
    return arrays


def _npz(path):
    with open(path, "rb") as f:
        magic = f.read(6)
    if not magic.startswith(b"PK"):  # np.load would read other bytes as a .npy or a pickle and say so
        kind = "a .npy array" if magic == b"\x93NUMPY" else "not a zip archive"
        raise DataError(f"{path}: expected a Keras-layout .npz (a zip of x_train, y_train, x_test, y_test). "
                        f"Received: {kind}")
    try:
        with np.load(path, allow_pickle=False) as f:
            missing = [k for k in IDX_FILES if k not in f.files]
            if missing:
                raise DataError(f"{path}: missing arrays {missing}; a Keras-layout mnist.npz has "
                                f"x_train, y_train, x_test, y_test. Received: {f.files}")
            return {k: f[k] for k in IDX_FILES}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:  # truncated or corrupt archive
        if isinstance(exc, DataError):
            raise
        raise DataError(f"{path}: not a readable .npz file ({exc}).") from None


def _validate_mnist(arrays, source):
    for part in ("train", "test"):
        x, y = arrays[f"x_{part}"], arrays[f"y_{part}"]
        if x.ndim >= 1 and len(x) == 0:
            raise DataError(f"{source}: x_{part} must hold at least one image. Received: shape {x.shape}")
        if x.ndim != 3 or x.shape[1:] != (28, 28):
            raise DataError(f"{source}: x_{part} must be (N, 28, 28) images. Received: shape {x.shape}")
        if x.dtype != np.uint8:
            raise DataError(f"{source}: x_{part} must be uint8 pixels 0..255. Received: dtype {x.dtype}")
        if y.ndim != 1 or len(y) != len(x):
            raise DataError(f"{source}: y_{part} must be (N,) labels matching x_{part} ({len(x)}). "
                            f"Received: shape {y.shape}")
        if y.dtype.kind not in "iu" or (y.size and (y.min() < 0 or y.max() > 9)):
            raise DataError(f"{source}: y_{part} must be integer labels 0..9. "
                            f"Received: dtype {y.dtype}, range [{y.min() if y.size else '-'}, {y.max() if y.size else '-'}]")


def load_mnist(path, name="mnist"):
    """MNIST or Fashion-MNIST from ``path`` (a .npz file or a folder of IDX files) as (N, 28, 28, 1) in [0, 1]."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: no such file or folder (expected a Keras-layout .npz or a folder of IDX files).")
    arrays = _idx_folder(path) if path.is_dir() else _npz(path)
    _validate_mnist(arrays, path)
    scale = lambda x: check_scaled(x[..., None].astype(np.float64) / 255.0, str(path))
    return Dataset(name, scale(arrays["x_train"]), arrays["y_train"].astype(np.int64),
                   scale(arrays["x_test"]), arrays["y_test"].astype(np.int64), 10)


def write_idx(path, array):
    """Write a uint8 array as an IDX file (used by the tests; gzip if the name ends in .gz)."""
    array = np.asarray(array, dtype=np.uint8)
    payload = b"\x00\x00\x08" + bytes([array.ndim]) + struct.pack(">" + "I" * array.ndim, *array.shape) + array.tobytes()
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "wb") as f:
        f.write(payload)


# -- logic gates -------------------------------------------------------------------------------
GATES = {"AND": [0, 0, 0, 1], "OR": [0, 1, 1, 1], "NAND": [1, 1, 1, 0], "XOR": [0, 1, 1, 0]}


def logic_gate(name):
    """The 4-row truth table; train and test sets are the same four points."""
    if name not in GATES:
        raise DataError(f"Unknown logic gate. Expected one of {sorted(GATES)}. Received: {name!r}")
    x = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float64)
    y = np.array(GATES[name], dtype=np.int64)
    return Dataset(name, x, y, x.copy(), y.copy(), 2)


# -- small tables bundled with scikit-learn ----------------------------------------------------
def _min_max_scaled(name, x_tr, y_tr, x_te, y_te, num_classes):
    """Features scaled to [0, 1] with the training split's min and max (test values may fall outside)."""
    from sklearn.preprocessing import MinMaxScaler

    scaler = MinMaxScaler().fit(x_tr)
    return Dataset(name, check_scaled(scaler.transform(x_tr), name), y_tr, scaler.transform(x_te), y_te, num_classes)


def load_diabetes(seed=0, test_fraction=0.2):
    """Regression: 442 patients, 10 features, y = disease progression after one year (25..346, float)."""
    from sklearn.datasets import load_diabetes as sk_diabetes
    from sklearn.model_selection import train_test_split

    d = sk_diabetes(scaled=False)
    x_tr, x_te, y_tr, y_te = train_test_split(d.data, d.target.astype(np.float64), test_size=test_fraction,
                                              random_state=seed)
    return _min_max_scaled("diabetes", x_tr, y_tr, x_te, y_te, None)


def load_iris(seed=0, test_fraction=0.2):
    """Three classes of iris, 4 features (sepal/petal length and width), stratified split."""
    from sklearn.datasets import load_iris as sk_iris

    d = sk_iris()
    raw = _split("iris", d.data, d.target, test_fraction, seed, 3)
    return _min_max_scaled("iris", raw.x_train, raw.y_train, raw.x_test, raw.y_test, 3)


IRIS_BINARY_FEATURES = ("petal length (cm)", "petal width (cm)")


def load_iris_binary(seed=0, test_fraction=0.2):
    """Two features (petal length, petal width), versicolor (0) vs virginica (1): not quite separable."""
    from sklearn.datasets import load_iris as sk_iris

    d = sk_iris()
    keep = d.target > 0
    columns = [d.feature_names.index(f) for f in IRIS_BINARY_FEATURES]
    raw = _split("iris_binary", d.data[keep][:, columns], d.target[keep] - 1, test_fraction, seed, 2)
    return _min_max_scaled("iris_binary", raw.x_train, raw.y_train, raw.x_test, raw.y_test, 2)


DATASETS = ("digits", "mnist", "fashion_mnist")


def check_name(dataset):
    """Refuse a --dataset name that is not one of ``DATASETS``."""
    if dataset not in DATASETS:
        raise DataError(f"Unknown dataset. Expected {', '.join(DATASETS)}. Received: --dataset={dataset}")


def load(dataset, data_path=None, seed=0):
    """Resolve the CLI's --dataset / --data-path: 'digits' (embedded), 'mnist' or 'fashion_mnist' (need a path)."""
    check_name(dataset)
    if dataset == "digits":
        return load_digits(seed)
    if data_path is None:
        raise DataError(f"--dataset {dataset} needs --data-path (a Keras-layout .npz or a folder of IDX files); "
                        f"nothing is downloaded. Received: --dataset={dataset} without --data-path")
    try:
        return load_mnist(data_path, dataset)
    except DataError as exc:  # the loader names the file; the user needs the flag that named it too
        raise DataError(f"--data-path {exc}") from None


QUICK_MNIST = (10000, 2000)  # train / test images a report or sweep uses from MNIST-like files without --full


def load_for_run(dataset, data_path=None, seed=0, full=False):
    """The data a report or sweep trains on: digits whole; MNIST-like files cut to ``QUICK_MNIST`` unless ``full``."""
    data = load(dataset, data_path, seed)
    if data.name == "digits" or full:
        return data
    n_train, n_test = QUICK_MNIST
    return Dataset(data.name, data.x_train[:n_train], data.y_train[:n_train], data.x_test[:n_test],
                   data.y_test[:n_test], data.num_classes)
