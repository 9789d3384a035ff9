"""Legacy ``.h5`` models: loaded uncompiled, then compiled with the loss and optimizer their training config names.

Keras 3 loads a compiled ``.h5`` by deserializing its metrics too, and fails on
the legacy names it wrote itself ("Could not deserialize 'keras.metrics.mse'");
an uncompiled one logs an absl warning to stderr. Verify needs neither the
metrics nor the warning: the model is loaded with ``compile=False`` and the
file's ``training_config`` (loss, loss weights, optimizer) compiled back in.
"""
import json
import os


def _loss(config):
    """A loss of the training config as ``compile`` takes it: names as they are, serialized objects rebuilt."""
    import keras  # imports TensorFlow

    if isinstance(config, dict) and "class_name" in config:
        return keras.losses.deserialize(config)
    if isinstance(config, dict):
        return {name: _loss(item) for name, item in config.items()}
    if isinstance(config, (list, tuple)):
        return [_loss(item) for item in config]
    return config


def training_config(path):
    """The ``training_config`` attribute of an .h5 model file as a dict, or None when it was saved uncompiled."""
    import h5py  # a dependency of Keras

    with h5py.File(path, "r") as f:
        raw = f.attrs.get("training_config")
    return None if raw is None else json.loads(raw.decode() if isinstance(raw, bytes) else raw)


def load(path):
    """The Keras model of an .h5 file, compiled as its training config says (uncompiled if it has none)."""
    import keras  # imports TensorFlow

    if not os.path.isfile(path):
        raise FileNotFoundError(f"No Keras model file. Received: path={str(path)!r}")
    try:
        model = keras.saving.load_model(path, compile=False)
        config = training_config(path)
        if config is not None:
            model.compile(loss=_loss(config["loss"]), loss_weights=config.get("loss_weights"),
                          optimizer=keras.optimizers.deserialize(config["optimizer_config"]))
    except Exception as exc:  # h5, JSON and deserialization errors all mean "cannot read this file"
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ValueError(f"Could not load the .h5 model, or compile it as its training config says "
                         f"({type(exc).__name__}: {first_line}). Received: path={str(path)!r}") from None
    return model
