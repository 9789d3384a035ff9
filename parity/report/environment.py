"""Versions, seeds and flags recorded in every report (the reproducibility manifest)."""
import os
import platform
import sys

import numpy as np


def manifest(seed, flags=None):
    """Everything needed to reproduce a run. Imports TF/Keras only if already loaded or needed."""
    import keras  # imports TensorFlow
    import tensorflow as tf

    return {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "numpy": np.__version__,
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "keras_backend": keras.backend.backend(),
        "seed": seed,
        "flags": {
            "tf32_execution": bool(tf.config.experimental.tensor_float_32_execution_enabled()),
            "TF_ENABLE_ONEDNN_OPTS": os.environ.get("TF_ENABLE_ONEDNN_OPTS", "default (on)"),
            "gpus": [d.name for d in tf.config.list_physical_devices("GPU")],
            **(flags or {}),
        },
    }
