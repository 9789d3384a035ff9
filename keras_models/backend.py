"""The Keras backend this process runs on, set up for correctness runs, and the settings it records.

Keras fixes its backend when it is first imported (``KERAS_BACKEND``), so a
process runs one backend; ``parity`` starts one worker process per backend.
Import this module before ``keras``: JAX needs x64 enabled before any array exists.
"""
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
BACKEND = os.environ.get("KERAS_BACKEND", "tensorflow")
BACKENDS = ("tensorflow", "jax", "torch")


def _configure():
    """Float64 available and reduced-precision matmul modes (TF32 and the like) off; returns what was set."""
    if BACKEND == "tensorflow":
        import tensorflow as tf

        tf.config.experimental.enable_tensor_float_32_execution(False)
        return {"tensorflow": tf.__version__, "tf32_execution": tf.config.experimental.tensor_float_32_execution_enabled()}
    if BACKEND == "jax":
        import jax

        jax.config.update("jax_enable_x64", True)  # float64 twins; float32 models still compute in float32
        jax.config.update("jax_default_matmul_precision", "highest")
        return {"jax": jax.__version__, "jax_enable_x64": jax.config.jax_enable_x64,
                "jax_default_matmul_precision": jax.config.jax_default_matmul_precision,
                "devices": [str(d) for d in jax.devices()]}
    if BACKEND == "torch":
        import torch

        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
        torch.set_float32_matmul_precision("highest")
        return {"torch": torch.__version__, "cuda_matmul_allow_tf32": torch.backends.cuda.matmul.allow_tf32,
                "cudnn_allow_tf32": torch.backends.cudnn.allow_tf32,
                "float32_matmul_precision": torch.get_float32_matmul_precision(),
                "cuda": torch.cuda.is_available()}
    raise ValueError(f"Unknown Keras backend; expected one of {BACKENDS}. Received: KERAS_BACKEND={BACKEND!r}")


PRECISION_SETTINGS = _configure()


def precision_settings():
    """{"backend": name, **the versions and precision switches set at import} for the report manifest."""
    return {"backend": BACKEND, **PRECISION_SETTINGS}


def keep_float64():
    """Variant for measurement only: stop Keras demoting float64 to float32 in its type promotion on JAX and
    PyTorch (``keras.src.backend.common.dtypes.BIT64_TO_BIT32_DTYPE``, "aligned with JAX's default
    behavior"), so a float64 model computes in float64. Returns the mapping it replaced."""
    from keras.src.backend.common import dtypes

    before = dtypes.BIT64_TO_BIT32_DTYPE["float64"]
    dtypes.BIT64_TO_BIT32_DTYPE["float64"] = "float64"
    return {"float64_promotes_to": "float64", "keras_default": before}


def generic_torch_update():
    """Variant for measurement only: Keras's PyTorch optimizers update every variable with the generic
    ``update_step`` (as on TensorFlow and JAX) instead of their ``torch._foreach`` ``_parallel_update_step``."""
    from keras.src.backend.torch.optimizers.torch_parallel_optimizer import TorchParallelOptimizer
    from keras.src.utils import torch_utils

    def generic(self, grads, trainable_variables, learning_rate):  # the next class in the MRO: Nadam's own, or the base loop
        return super(TorchParallelOptimizer, self)._backend_update_step(grads, trainable_variables, learning_rate)

    TorchParallelOptimizer._backend_update_step = torch_utils.no_grad(generic)
    return {"torch_optimizer_update": "generic update_step"}
