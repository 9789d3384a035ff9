"""The Keras backend this process runs on, set up for correctness runs, and the settings it records.

Keras fixes its backend when it is first imported (``KERAS_BACKEND``), so a
process runs one backend; ``parity`` starts one worker process per backend.
Import this module before ``keras``: JAX needs x64 enabled before any array exists.
"""
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
BACKEND = os.environ.get("KERAS_BACKEND", "tensorflow")
BACKENDS = ("tensorflow", "jax", "torch")


PRECISION_MODES = ("highest", "shipped", "tf32")
JAX_CACHE = os.path.join(os.path.expanduser("~"), ".cache", "keras-numpy-parity", "jax")


def set_matmul_precision(mode):
    """Float32 matmul and convolution precision of this process's backend; returns the switches now set.

    ``highest``: reduced precision (TF32 and the like) off, what this module sets at import. ``shipped``: the
    library's own default (TensorFlow and JAX may use TF32 on a GPU; PyTorch runs cuDNN convolutions in TF32).
    ``tf32``: TF32 allowed everywhere. Nothing changes on a CPU, which has no TF32.
    """
    if mode not in PRECISION_MODES:
        raise ValueError(f"Unknown precision mode; expected one of {PRECISION_MODES}. Received: mode={mode!r}")
    if BACKEND == "tensorflow":
        import tensorflow as tf

        tf.config.experimental.enable_tensor_float_32_execution(mode != "highest")
        return {"tf32_execution": tf.config.experimental.tensor_float_32_execution_enabled()}
    if BACKEND == "jax":
        import jax

        jax.config.update("jax_default_matmul_precision",
                          {"highest": "highest", "shipped": None, "tf32": "tensorfloat32"}[mode])
        return {"jax_default_matmul_precision": jax.config.jax_default_matmul_precision}
    import torch

    torch.backends.cuda.matmul.allow_tf32 = mode == "tf32"
    torch.backends.cudnn.allow_tf32 = mode != "highest"
    torch.set_float32_matmul_precision("high" if mode == "tf32" else "highest")
    return {"cuda_matmul_allow_tf32": torch.backends.cuda.matmul.allow_tf32,
            "cudnn_allow_tf32": torch.backends.cudnn.allow_tf32,
            "float32_matmul_precision": torch.get_float32_matmul_precision()}


def _jax_compilation_cache(jax):
    """JAX compiles every eager op once per shape and dtype (XLA, 20-500 ms each: most of a JAX check's time);
    the persistent cache keeps the compiled programs on disk, shared by every JAX process (the same executable,
    so the same numbers). ``PARITY_JAX_CACHE``: its folder; empty: off. Entries are keyed by program, so runs
    of the same checks add nothing: a whole backend matrix writes about 50 MB (10,000 files). No size limit:
    JAX's limit (``jax_compilation_cache_max_size``) scans every entry under a file lock at each write and
    fails on entries written without its access-time files (measured here), so it is not set."""
    folder = os.environ.get("PARITY_JAX_CACHE", JAX_CACHE)
    if not folder:
        return {"jax_compilation_cache_dir": None}
    jax.config.update("jax_compilation_cache_dir", folder)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0)  # eager ops compile in well under 1 s
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
    return {"jax_compilation_cache_dir": folder}


def _configure():
    """Float64 available and reduced-precision matmul modes (TF32 and the like) off; returns what was set."""
    if BACKEND not in BACKENDS:
        raise ValueError(f"Unknown Keras backend; expected one of {BACKENDS}. Received: KERAS_BACKEND={BACKEND!r}")
    if BACKEND == "tensorflow":
        import tensorflow as tf

        return {"tensorflow": tf.__version__, **set_matmul_precision("highest")}
    if BACKEND == "jax":
        import jax

        jax.config.update("jax_enable_x64", True)  # float64 twins; float32 models still compute in float32
        return {"jax": jax.__version__, "jax_enable_x64": jax.config.jax_enable_x64,
                **set_matmul_precision("highest"), **_jax_compilation_cache(jax),
                "devices": [str(d) for d in jax.devices()]}
    import torch

    return {"torch": torch.__version__, **set_matmul_precision("highest"), "cuda": torch.cuda.is_available()}


PRECISION_SETTINGS = _configure()


def precision_settings():
    """{"backend": name, **the versions and precision switches set at import} for the report manifest."""
    return {"backend": BACKEND, **PRECISION_SETTINGS}


_KERAS_DEFAULTS = {}  # what a measurement switch replaced, put back when it is switched off


def keep_float64(on=True):
    """Variant for measurement only: stop Keras demoting float64 to float32 in its type promotion on JAX and
    PyTorch (``keras.src.backend.common.dtypes.BIT64_TO_BIT32_DTYPE``, "aligned with JAX's default
    behavior"), so a float64 model computes in float64; ``on=False`` restores Keras's mapping."""
    from keras.src.backend.common import dtypes

    default = _KERAS_DEFAULTS.setdefault("float64_promotes_to", dtypes.BIT64_TO_BIT32_DTYPE["float64"])
    dtypes.BIT64_TO_BIT32_DTYPE["float64"] = "float64" if on else default
    return {"float64_promotes_to": dtypes.BIT64_TO_BIT32_DTYPE["float64"], "keras_default": default}


def generic_torch_update(on=True):
    """Variant for measurement only: Keras's PyTorch optimizers update every variable with the generic
    ``update_step`` (as on TensorFlow and JAX) instead of their ``torch._foreach`` ``_parallel_update_step``;
    ``on=False`` restores Keras's own."""
    from keras.src.backend.torch.optimizers.torch_parallel_optimizer import TorchParallelOptimizer
    from keras.src.utils import torch_utils

    def generic(self, grads, trainable_variables, learning_rate):  # the next class in the MRO: Nadam's own, or the base loop
        return super(TorchParallelOptimizer, self)._backend_update_step(grads, trainable_variables, learning_rate)

    default = _KERAS_DEFAULTS.setdefault("torch_update", TorchParallelOptimizer._backend_update_step)
    TorchParallelOptimizer._backend_update_step = torch_utils.no_grad(generic) if on else default
    return {"torch_optimizer_update": "generic update_step" if on else "torch._foreach (Keras's)"}
