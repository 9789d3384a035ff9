"""Weight initializers with Keras names, arguments and fan rules.

Parity: ``keras.initializers``. The distributions match Keras (truncated normal
at +-2 sigma rescaled by 0.8796..., uniform limits sqrt(3 * scale / n)); the
random streams do not (NumPy vs TF RNG), so parity runs copy weights instead of
regenerating them. The textbook forms ``sqrt(k / n) * randn`` are provided as
``TextbookNormal`` ("xavier_textbook", "he_textbook").
"""
import numpy as np

from numpy_models._validation import resolve

# Standard deviation of N(0, 1) truncated to [-2, 2]; Keras divides by it.
TRUNCATED_STD = 0.87962566103423978


def compute_fans(shape):
    """Keras ``compute_fans``: Dense (in, out), Conv (kh, kw, in, out)."""
    shape = tuple(shape)
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    if len(shape) == 2:
        return shape[0], shape[1]
    receptive = int(np.prod(shape[:-2]))
    return shape[-2] * receptive, shape[-1] * receptive


def _truncated_normal(rng, shape, stddev, mean=0.0):
    """N(mean, stddev) truncated at +-2 stddev by resampling the outliers."""
    z = rng.standard_normal(shape)
    bad = np.abs(z) > 2
    while bad.any():  # a handful of rounds: 4.6% land outside each time
        z[bad] = rng.standard_normal(int(bad.sum()))
        bad = np.abs(z) > 2
    return mean + stddev * z


class Initializer:
    def __call__(self, shape, dtype="float32", rng=None):
        rng = rng if rng is not None else np.random.default_rng()
        return np.asarray(self.sample(tuple(shape), rng), dtype=dtype)

    def get_config(self):
        return dict(self.__dict__)


class Zeros(Initializer):
    def sample(self, shape, rng):
        return np.zeros(shape)


class Ones(Initializer):
    def sample(self, shape, rng):
        return np.ones(shape)


class Constant(Initializer):
    def __init__(self, value=0.0):
        self.value = value

    def sample(self, shape, rng):
        return np.full(shape, self.value, dtype=float)


class RandomNormal(Initializer):
    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        self.mean, self.stddev, self.seed = mean, stddev, seed

    def sample(self, shape, rng):
        return rng.normal(self.mean, self.stddev, shape)


class RandomUniform(Initializer):
    def __init__(self, minval=-0.05, maxval=0.05, seed=None):
        self.minval, self.maxval, self.seed = minval, maxval, seed

    def sample(self, shape, rng):
        return rng.uniform(self.minval, self.maxval, shape)


class TruncatedNormal(Initializer):
    """Keras TruncatedNormal: truncated at +-2 stddev, *not* rescaled."""

    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        self.mean, self.stddev, self.seed = mean, stddev, seed

    def sample(self, shape, rng):
        return _truncated_normal(rng, shape, self.stddev, self.mean)


class VarianceScaling(Initializer):
    """Keras VarianceScaling; 'truncated_normal' is rescaled to std sqrt(scale/n)."""

    MODES = ("fan_in", "fan_out", "fan_avg")
    DISTRIBUTIONS = ("truncated_normal", "untruncated_normal", "uniform")

    def __init__(self, scale=1.0, mode="fan_in", distribution="truncated_normal", seed=None):
        distribution = "truncated_normal" if distribution == "normal" else distribution
        if scale <= 0 or mode not in self.MODES or distribution not in self.DISTRIBUTIONS:
            raise ValueError(
                "VarianceScaling: expected scale > 0, mode in "
                f"{self.MODES}, distribution in {self.DISTRIBUTIONS}. Received: "
                f"scale={scale}, mode={mode!r}, distribution={distribution!r}"
            )
        self.scale, self.mode, self.distribution, self.seed = scale, mode, distribution, seed

    def _n(self, shape):
        fan_in, fan_out = compute_fans(shape)
        n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[self.mode]
        return max(1.0, n)

    def sample(self, shape, rng):
        variance = self.scale / self._n(shape)
        if self.distribution == "truncated_normal":
            return _truncated_normal(rng, shape, np.sqrt(variance) / TRUNCATED_STD)
        if self.distribution == "untruncated_normal":
            return rng.normal(0.0, np.sqrt(variance), shape)
        limit = np.sqrt(3.0 * variance)
        return rng.uniform(-limit, limit, shape)


def _scaling(scale, mode, distribution):
    class _Named(VarianceScaling):
        def __init__(self, seed=None):
            super().__init__(scale, mode, distribution, seed)

        def get_config(self):
            return {"seed": self.seed}

    return _Named


GlorotUniform = type("GlorotUniform", (_scaling(1.0, "fan_avg", "uniform"),), {})
GlorotNormal = type("GlorotNormal", (_scaling(1.0, "fan_avg", "truncated_normal"),), {})
HeUniform = type("HeUniform", (_scaling(2.0, "fan_in", "uniform"),), {})
HeNormal = type("HeNormal", (_scaling(2.0, "fan_in", "truncated_normal"),), {})
LecunUniform = type("LecunUniform", (_scaling(1.0, "fan_in", "uniform"),), {})
LecunNormal = type("LecunNormal", (_scaling(1.0, "fan_in", "truncated_normal"),), {})


class TextbookNormal(Initializer):
    """Textbook ``sqrt(k / fan_in) * randn`` (untruncated).

    k=1 is the textbook "Xavier", k=2 the textbook "He". Keras equivalent:
    ``VarianceScaling(k, "fan_in", "untruncated_normal")``.
    """

    def __init__(self, k=1.0, seed=None):
        self.k, self.seed = k, seed

    def sample(self, shape, rng):
        fan_in, _ = compute_fans(shape)
        return np.sqrt(self.k / fan_in) * rng.standard_normal(shape)


ALIASES = {
    "zeros": Zeros, "ones": Ones, "constant": Constant,
    "random_normal": RandomNormal, "random_uniform": RandomUniform,
    "truncated_normal": TruncatedNormal,
    "glorot_uniform": GlorotUniform, "glorot_normal": GlorotNormal,
    "he_uniform": HeUniform, "he_normal": HeNormal,
    "lecun_uniform": LecunUniform, "lecun_normal": LecunNormal,
    "xavier_textbook": lambda: TextbookNormal(1.0),
    "he_textbook": lambda: TextbookNormal(2.0),
}
CLASSES = {
    cls.__name__: cls
    for cls in (Zeros, Ones, Constant, RandomNormal, RandomUniform, TruncatedNormal,
                VarianceScaling, GlorotUniform, GlorotNormal, HeUniform, HeNormal,
                LecunUniform, LecunNormal, TextbookNormal)
}


def get(identifier, who="initializer"):
    """Resolve a Keras-style identifier: name, ``{"class_name", "config"}`` or instance."""
    return resolve(identifier, Initializer, ALIASES, CLASSES, who, "initializer")


def serialize(initializer):
    return {"class_name": type(initializer).__name__, "config": initializer.get_config()}
