"""Which Keras layer options the NumPy twin reproduces exactly, and their translation.

Every option of every layer config is looked up here: an option is passed
through (possibly translated), or must hold the one value the NumPy layer
implements (e.g. ``kernel_constraint=None``, ``data_format='channels_last'``),
or is refused. An option missing from the table is refused too, so a newer
Keras option can never be silently approximated.
"""
import inspect

from numpy_models import activations, initializers, regularizers


class UnsupportedModelError(ValueError):
    """A Keras model (or NumPy twin) with layers or options the other side cannot reproduce exactly."""

    def __init__(self, problems):
        self.problems = list(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"The model cannot be converted exactly; {len(self.problems)} unsupported "
                         f"layer option(s) or layer(s):\n{lines}")


def _pass(value):
    return value


def _equals(expected):
    def check(value):
        if value != expected:
            raise ValueError(f"only {expected!r} is supported")
        return None
    check.drop = True
    return check


def _activation(value):
    if not isinstance(value, str) or value not in activations.ACTIVATIONS or value == "gelu_tanh":
        raise ValueError(f"supported activations: {sorted(set(activations.ACTIVATIONS) - {'gelu_tanh'})}")
    return value


def _strip_keras(identifier):
    """{"module", "class_name", "config", "registered_name"} -> {"class_name", "config"} without unset extras."""
    config = {k: v for k, v in identifier.get("config", {}).items()
              if not (k in ("input_axes", "output_axes") and v is None)}
    return {"class_name": identifier["class_name"], "config": config}


# Keras serializes "glorot_uniform" as {"class_name": "GlorotUniform", "config": {"seed": None}}: back to the alias.
_ALIAS_OF = {cls.__name__: alias for alias, cls in initializers.ALIASES.items() if isinstance(cls, type)}


def _has_defaults(identifier):
    """True when every option of an initializer's config holds the NumPy class's default (e.g. RandomUniform(-0.05, 0.05))."""
    parameters = inspect.signature(initializers.CLASSES[identifier["class_name"]]).parameters
    return all(k in parameters and parameters[k].default == v for k, v in identifier["config"].items())


def _initializer(value):
    value = _strip_keras(value) if isinstance(value, dict) else value
    initializers.get(value, "initializer")  # raises for anything NumPy does not implement
    if isinstance(value, dict) and value["class_name"] in _ALIAS_OF and _has_defaults(value):
        return _ALIAS_OF[value["class_name"]]
    return value


def _regularizer(value):
    if value is None:
        return None
    value = _strip_keras(value) if isinstance(value, dict) else value
    regularizers.get(value, "regularizer")
    return value


def _pair(value):
    """Tuples all the way down: a JSON-loaded config has lists where Keras keeps tuples."""
    return tuple(_pair(v) for v in value) if isinstance(value, (list, tuple)) else value


def _axis(value):
    """LayerNormalization: Keras keeps ``axis`` as a list, ``[-1]`` for the default -1."""
    return value[0] if isinstance(value, (list, tuple)) and len(value) == 1 else _pair(value)


def _single(value):
    """A 1-D pooling window or stride: Keras keeps ``(k,)``, the NumPy layer ``k``."""
    return value[0] if isinstance(value, (list, tuple)) and len(value) == 1 else value


NONE = _equals(None)


def DROP(value):  # noqa: N802 an option with no effect on what the twin computes
    return None


DROP.drop = True
COMMON = {"name": _pass, "trainable": _equals(True), "dtype": None}  # dtype: checked by ``dtype_of``
WEIGHTED = {"use_bias": _pass, "activation": _activation, "kernel_initializer": _initializer,
            "bias_initializer": _initializer, "kernel_regularizer": _regularizer, "bias_regularizer": _regularizer,
            "activity_regularizer": NONE, "kernel_constraint": NONE, "bias_constraint": NONE,
            "lora_rank": NONE, "lora_alpha": NONE, "quantization_config": NONE}
CHANNELS_LAST = {"data_format": _equals("channels_last")}
POOL = {"pool_size": _pair, "strides": _pair, "padding": _pass, **CHANNELS_LAST}
POOL_1D = {"pool_size": _single, "strides": _single, "padding": _pass, **CHANNELS_LAST}
GLOBAL_POOL = {"keepdims": _pass, **CHANNELS_LAST}
WINDOW = {"kernel_size": _pair, "strides": _pair, "padding": _pass, "dilation_rate": _pair, **CHANNELS_LAST}
DEPTHWISE = {"depth_multiplier": _pass, "depthwise_initializer": _initializer, "depthwise_regularizer": _regularizer,
             "depthwise_constraint": NONE}
CONV = {"filters": _pass, "groups": _pass, **WINDOW, **WEIGHTED}
RULES = {
    "Dense": {"units": _pass, **WEIGHTED},
    "Conv2D": CONV,
    "Conv1D": CONV,
    "Conv2DTranspose": {"filters": _pass, "output_padding": _pair, **WINDOW, **WEIGHTED},
    "DepthwiseConv2D": {**WINDOW, **{k: v for k, v in WEIGHTED.items() if not k.startswith("kernel")}, **DEPTHWISE},
    "SeparableConv2D": {"filters": _pass, **WINDOW, **{k: v for k, v in WEIGHTED.items() if not k.startswith("kernel")},
                        **DEPTHWISE, "pointwise_initializer": _initializer, "pointwise_regularizer": _regularizer,
                        "pointwise_constraint": NONE},
    "MaxPooling2D": POOL,
    "AveragePooling2D": POOL,
    "MaxPooling1D": POOL_1D,
    "AveragePooling1D": POOL_1D,
    **{c: GLOBAL_POOL for c in ("GlobalAveragePooling2D", "GlobalMaxPooling2D", "GlobalAveragePooling1D",
                                "GlobalMaxPooling1D")},
    "ReLU": {"max_value": _pass, "negative_slope": _pass, "threshold": _pass},
    "LeakyReLU": {"negative_slope": _pass},
    "ELU": {"alpha": _pass},
    "Softmax": {"axis": _pass},
    "PReLU": {"alpha_initializer": _initializer, "alpha_regularizer": _regularizer, "alpha_constraint": NONE,
              "shared_axes": _pass},
    "LayerNormalization": {"axis": _axis, "epsilon": _pass, "center": _pass, "scale": _pass,
                           "rms_scaling": _equals(False), "beta_initializer": _initializer,
                           "gamma_initializer": _initializer, "beta_regularizer": _regularizer,
                           "gamma_regularizer": _regularizer, "beta_constraint": NONE, "gamma_constraint": NONE},
    "ZeroPadding2D": {"padding": _pair, **CHANNELS_LAST},
    "Cropping2D": {"cropping": _pair, **CHANNELS_LAST},
    "Reshape": {"target_shape": _pair},
    "Permute": {"dims": _pair},
    "RepeatVector": {"n": _pass},
    "UpSampling2D": {"size": _pair, "interpolation": _pass, **CHANNELS_LAST},
    "Embedding": {"input_dim": _pass, "output_dim": _pass, "embeddings_initializer": _initializer,
                  "embeddings_regularizer": _regularizer, "activity_regularizer": NONE, "embeddings_constraint": NONE,
                  "mask_zero": _equals(False), "quantization_config": NONE, "lora_rank": NONE, "lora_alpha": NONE},
    "SpatialDropout2D": {"rate": _pass, "seed": _pass, **CHANNELS_LAST},
    "GaussianNoise": {"stddev": _pass, "seed": _pass},
    "BatchNormalization": {"axis": _pass, "momentum": _pass, "epsilon": _pass, "center": _pass,
                           "scale": _pass, "beta_initializer": _initializer, "gamma_initializer": _initializer,
                           "moving_mean_initializer": _initializer, "moving_variance_initializer": _initializer,
                           "beta_regularizer": _regularizer, "gamma_regularizer": _regularizer,
                           "beta_constraint": NONE, "gamma_constraint": NONE, "synchronized": _equals(False),
                           "renorm": _equals(False), "renorm_clipping": NONE,
                           "renorm_momentum": DROP},  # used only with renorm=True
    "Dropout": {"rate": _pass, "noise_shape": NONE, "seed": _pass},
    "Activation": {"activation": _activation},
    "Flatten": {"data_format": _equals("channels_last")},
    "Concatenate": {"axis": _pass},
    **{c: {} for c in ("Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum")},
}
INPUT_RULES = {"batch_shape": _pass, "dtype": _pass, "sparse": _equals(False), "ragged": _equals(False),
               "name": _pass, "optional": _equals(False)}


def dtype_of(config):
    """'float32'/'float64' from a layer's dtype entry (a policy dict or a string); None if another policy."""
    value = config.get("dtype")
    if isinstance(value, dict):
        value = value.get("config", {}).get("name")
    return value if value in ("float32", "float64") else None


def translate_layer(class_name, config):
    """(NumPy kwargs without ``name``, [problem strings]) for one Keras layer config."""
    name = config.get("name")
    if class_name not in RULES:
        return None, [f"{class_name} '{name}': layer class not supported by numpy_models "
                      f"(supported: {sorted(RULES)})"]
    rules = {**COMMON, **RULES[class_name]}
    kwargs, problems = {}, []
    if dtype_of(config) is None:
        problems.append(f"{class_name} '{name}': dtype={config.get('dtype')!r} (only float32/float64 policies)")
    for option, value in config.items():
        if option not in rules:
            problems.append(f"{class_name} '{name}': option {option}={value!r} is not supported")
            continue
        rule = rules[option]
        if rule is None or option == "name":
            continue
        try:
            translated = rule(value)
        except ValueError as exc:
            problems.append(f"{class_name} '{name}': {option}={value!r} ({exc})")
            continue
        if not getattr(rule, "drop", False):
            kwargs[option] = translated
    return kwargs, problems


def check_input(config):
    problems = []
    for option, value in config.items():
        rule = INPUT_RULES.get(option)
        try:
            if rule is None:
                raise ValueError("not supported")
            rule(value)
        except ValueError as exc:
            problems.append(f"InputLayer '{config.get('name')}': {option}={value!r} ({exc})")
    return problems


# NumPy-only options (textbook variants) that stock Keras does not have: to_keras refuses them.
NUMPY_ONLY = {"per_activation": False, "inverted": True, "compute_in_float32": True}
# Options a stock Keras class does not take (its config omits them): to_keras drops them at these values.
KERAS_LACKS = {"SpatialDropout2D": {"trainable": True}}
