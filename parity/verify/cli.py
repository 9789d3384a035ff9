"""``parity verify MODEL``: the command line of ``parity.verify``.

Exit codes: 0 every check held, 1 a check failed (DIR/verify.md|json name the
first divergence; DIR/repro.py|npz reproduce a failing layer), 2 bad input: an
unsupported layer, a missing or unreadable model or data file, a bad flag; one
line on stderr and nothing written (a refused compiled loss or optimizer: the
line names --loss or --optimizer, which replace it). A failure's summary line
names the first divergence (``first_divergence``).
"""
import os
import sys
import warnings
import zipfile
from pathlib import Path

import numpy as np

from numpy_models import losses
from numpy_models.optimizers import KERAS_OPTIMIZERS
from parity.checks.backends import BACKENDS
from parity.convert import UnsupportedModelError
from parity.report.atomic import atomic_directory
from parity.verify import repro
from parity.verify.api import verify
from parity.verify.result import advice_lines

DTYPES = ("float32", "float64")


def add_parser(sub):
    """Register the ``verify`` subcommand on an argparse subparsers object."""
    p = sub.add_parser("verify", help="check a saved Keras model against its NumPy twin; find the first divergence")
    p.add_argument("model", help="a .keras file (Sequential or Functional), or a legacy .h5 one (compiled with "
                                 "the loss and optimizer of its training config)")
    p.add_argument("--data", help="an .npz with x (and y) arrays (x_0, x_1, ... / y_0, ... for several)")
    p.add_argument("--batch", type=int, help="rows used (default: all of --data, else 4 random rows)")
    p.add_argument("--steps", type=int, default=10, help="training steps compared (default: 10)")
    p.add_argument("--dtype", choices=DTYPES, help="default: the model's own")
    p.add_argument("--loss", help="Keras loss name (default: the compiled one, else mse)")
    p.add_argument("--optimizer", help="Keras optimizer name (default: the compiled one, else adam)")
    p.add_argument("--substitute", action="store_true", help="also judge each layer on the Keras input of its node")
    p.add_argument("--out", default="verify", help="output directory (default: verify)")
    p.add_argument("--seed", type=int, default=0, help="seed of the random data (default: 0)")
    p.add_argument("--backend", choices=BACKENDS, help="Keras backend, run in its own process (default: tensorflow)")
    return p


def _arrays(data, prefix):
    if prefix in data.files:
        return data[prefix]
    many = sorted((f for f in data.files if f.startswith(prefix + "_")), key=lambda f: int(f.split("_")[1]))
    return [data[f] for f in many] or None


def _check_file(flag, path, suffixes):
    """Refuse a missing path, a folder or an unexpected suffix before TensorFlow reads anything."""
    what = f"a {' or '.join(suffixes)} file"
    if not os.path.exists(path):
        raise FileNotFoundError(f"{flag} {path}: no such file; expected {what}. Received: {flag}={path}")
    if os.path.isdir(path):
        raise ValueError(f"{flag} {path} is a folder; expected {what}. Received: {flag}={path}")
    if Path(path).suffix not in suffixes:
        raise ValueError(f"{flag} {path}: expected {what}. Received: {flag}={path}")


def _check_model(path):
    _check_file("model", path, (".keras", ".h5"))
    if path.endswith(".keras") and not zipfile.is_zipfile(path):  # Keras's own message says "File not found"
        raise ValueError(f"model {path}: not a .keras zip archive (truncated or corrupt?). Received: model={path}")


def load_data(path):
    """(x, y) from an .npz; y may be None. One clear error for a missing, unreadable or x-less file."""
    _check_file("--data", path, (".npz",))
    if not zipfile.is_zipfile(path):  # NumPy would try it as a pickle and say so
        raise ValueError(f"--data {path}: not an .npz archive (numpy.savez writes one). Received: data={str(path)!r}")
    try:
        with np.load(path, allow_pickle=False) as data:
            x, y = _arrays(data, "x"), _arrays(data, "y")
    except Exception as exc:  # zip and format errors all mean "cannot read this file"
        raise ValueError(f"Could not read the data file ({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}). "
                         f"Received: data={str(path)!r}") from None
    if x is None:
        raise ValueError(f"The data file has no 'x' array (nor x_0, x_1, ...). Received: data={str(path)!r}")
    for name, a in _named(x, "x") + _named(y, "y"):
        if a.dtype.kind not in "biuf":
            raise ValueError(f"--data {path}: array '{name}' must hold numbers (bool, integer or float); it holds "
                             f"{a.dtype} values. Received: {name}.dtype={a.dtype}")
    return x, y


def _named(arrays, prefix):
    """[(name in the .npz, array)] of ``_arrays``'s result."""
    if arrays is None:
        return []
    return [(prefix, arrays)] if not isinstance(arrays, list) else [(f"{prefix}_{i}", a) for i, a in enumerate(arrays)]


def write(result, out):
    """DIR/verify.md and DIR/verify.json, plus DIR/repro.py|npz when a layer failed; all or nothing."""
    with atomic_directory(out) as tmp:
        (tmp / "verify.md").write_text(str(result))
        (tmp / "verify.json").write_text(result.to_json())
        if not result.passed and result.repro is not None:
            repro.write(tmp, *result.repro)


def _loss_names():
    """One Keras string name per implemented loss, its longest (``mean_squared_error``, not ``mse`` or ``MSE``)."""
    longest = {}
    for name, cls in losses.ALIASES.items():
        if name.islower() and len(name) > len(longest.get(cls, "")):
            longest[cls] = name
    return sorted(longest.values())


def _replacements():
    """{what a refusal names first: the flag replacing it, with the names that flag takes}."""
    return {"loss": f"--loss NAME verifies with another loss instead ({', '.join(_loss_names())})",
            "optimizer": "--optimizer NAME verifies with another optimizer instead "
                         f"({', '.join(name.lower() for name in sorted(KERAS_OPTIMIZERS))})"}


def _one_line(exc):
    if isinstance(exc, UnsupportedModelError):
        line = "unsupported model: " + "; ".join(p.split(" (supported:")[0] for p in exc.problems)
        return line + "".join(f"; {hint}" for what, hint in _replacements().items()
                              if any(p.startswith((what + " ", what + ":")) for p in exc.problems))
    return " ".join(str(exc).split())


def first_divergence(divergence):
    """The first divergence in a few words, from ``result.divergence`` ("" when nothing diverged): the layer and
    the training step and phase, else the first failing whole-model check."""
    parts = []
    layers = divergence.get("layers") or {}
    if layers:
        found = layers.get("chained") or next(iter(layers.values()))
        parts.append(f"layer {found['node']} ({found['layer']}, its {found['quantity']})")
    if divergence.get("training"):
        t = divergence["training"]
        parts.append(f"step {t['step']}, phase {t['phase']}" + (f", layer {t['layer']}" if t.get("layer") else ""))
    if not parts and divergence.get("checks"):
        table, c = next(iter(divergence["checks"].items()))
        parts.append(f"check {c['name']} ({table.replace('_', ' ')}, max_rel {c['max_rel']:.2e} > rtol {c['rtol']:.0e})")
    return "; ".join(parts)


def _import_tensorflow_quietly():
    """TensorFlow's C++ start-up notices go to file descriptor 2 whatever TF_CPP_MIN_LOG_LEVEL says; an error
    must stay one line on stderr, so fd 2 points at /dev/null while TensorFlow and Keras load."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    warnings.filterwarnings("ignore", message="Skipping variable loading for optimizer")  # verify uses fresh ones
    sys.stderr.flush()
    saved, null = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, 2)
        import keras  # noqa: F401  imports TensorFlow (here, silenced: the side effect is the point)
        import tensorflow as tf  # imports TensorFlow
        tf.constant(0.0) + 1.0  # the first op starts the runtime (its oneDNN notice)
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(null)


def _check_numbers(args):
    for flag, value, least in (("--steps", args.steps, 0), ("--batch", args.batch, 1), ("--seed", args.seed, 0)):
        if value is not None and value < least:
            raise ValueError(f"{flag} must be an integer >= {least}. Received: {flag}={value}")


def _check_names(args):
    """--loss and --optimizer must name what numpy_models implements (Keras's own error names neither flag)."""
    import keras  # imports TensorFlow (already imported, quietly, by cmd_verify)

    if args.loss is not None and args.loss not in losses.CLASSES and args.loss not in losses.ALIASES:
        raise ValueError(f"--loss expects a Keras loss name that numpy_models implements ({', '.join(_loss_names())}"
                         f" or a class name). Received: --loss={args.loss}")
    try:
        known = args.optimizer is None or type(keras.optimizers.get(args.optimizer)).__name__ in KERAS_OPTIMIZERS
    except ValueError:
        known = False
    if not known:
        raise ValueError(f"--optimizer expects a Keras optimizer name that numpy_models implements (one of "
                         f"{', '.join(name.lower() for name in sorted(KERAS_OPTIMIZERS))}). Received: --optimizer={args.optimizer}")


def cmd_verify(args):
    """Validate everything (model, data, flags) before any file is written; see the module docstring."""
    _import_tensorflow_quietly()

    try:
        if Path(args.out).exists() and not Path(args.out).is_dir():
            raise ValueError(f"--out must be a folder; {args.out} is a file. Received: --out={args.out}")
        _check_numbers(args)
        _check_model(args.model)
        _check_names(args)
        x, y = load_data(args.data) if args.data else (None, None)
        result = verify(args.model, x, y, steps=args.steps, dtype=args.dtype, loss=args.loss,
                        optimizer=args.optimizer, batch=args.batch, substitute=args.substitute, seed=args.seed,
                        backend=args.backend)
    except (ValueError, TypeError, KeyError, FileNotFoundError) as exc:
        print(f"parity verify: error: {_one_line(exc)}", file=sys.stderr)
        return 2
    write(result, args.out)
    where = "" if result.passed else first_divergence(result.divergence)
    status = "PASSED" if result.passed else "FAILED" + (f" (first divergence: {where})" if where else "")
    print(f"parity verify: {status} in {result.seconds:.1f} s; wrote {Path(args.out) / 'verify.md'}")
    for line in advice_lines(result):
        print(f"parity verify: {line}")
    return 0 if result.passed else 1
