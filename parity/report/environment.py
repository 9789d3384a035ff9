"""Versions, seeds and flags recorded in every report (the reproducibility manifest)."""
import os
import platform
import sys

import numpy as np

from parity.report.quiet import import_tensorflow


def manifest(seed, flags=None):
    """Everything needed to reproduce a run. Imports TF/Keras (without their start-up lines) if not yet loaded."""
    tf = import_tensorflow()
    import keras  # noqa: PLC0415 -- already loaded by import_tensorflow

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
