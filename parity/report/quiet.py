"""Import TensorFlow without its start-up log lines, in the CLI and in every Dask worker.

TensorFlow 2.21 logs through absl before ``absl::InitializeLog()`` is called,
so ``TF_CPP_MIN_LOG_LEVEL`` no longer silences the import-time lines ("All log
messages before absl::InitializeLog()", the oneDNN notice). The only switch that
works is the file descriptor: stderr (fd 2) is pointed at a temporary file
while TensorFlow loads its shared libraries, then restored. What was captured
is replayed when the import fails or when ``PARITY_VERBOSE`` is set
(``parity report --verbose``).
"""
import contextlib
import logging
import os
import sys
import tempfile

QUIET_ENV = {
    "TF_CPP_MIN_LOG_LEVEL": "3",  # C++ logging after start-up (still read by TF's own logger)
    # Ctrl-C stops Dask's worker processes before they release their semaphores; multiprocessing's resource tracker
    # (a child process that inherits this variable) then removes them and warns that it did.
    "PYTHONWARNINGS": "ignore:resource_tracker:UserWarning",
}
VERBOSE_ENV = "PARITY_VERBOSE"


def verbose():
    return os.environ.get(VERBOSE_ENV) == "1"


def set_verbose(on):
    """Record the choice in the environment so that worker processes started later inherit it."""
    os.environ[VERBOSE_ENV] = "1" if on else "0"
    if not on:
        for name, value in QUIET_ENV.items():
            os.environ.setdefault(name, value)
        # Ctrl-C during a Dask phase leaves the client's pending gathers failed with AllExit, which asyncio logs
        # as "Task exception was never retrieved" with a traceback; the CLI prints its own one line instead.
        logging.getLogger("asyncio").setLevel(logging.CRITICAL)


@contextlib.contextmanager
def captured_stderr():
    """Point fd 2 at a temporary file for the block; replay it if the block raised or in verbose mode."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 2)
        failed = True
        try:
            yield
            failed = False
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            if failed or verbose():
                sink.seek(0)
                sys.stderr.write(sink.read().decode(errors="replace"))


def import_tensorflow():
    """``import tensorflow`` with its start-up lines captured (see the module docstring); returns the module."""
    if "tensorflow" in sys.modules:
        return sys.modules["tensorflow"]
    if not verbose():
        for name, value in QUIET_ENV.items():
            os.environ.setdefault(name, value)
    with captured_stderr():
        import tensorflow as tf  # noqa: PLC0415 -- lazy: importing TensorFlow costs seconds
        import keras  # noqa: F401,PLC0415 -- Keras's own import-time lines too
    if not verbose():
        tf.get_logger().setLevel("ERROR")  # retracing notices for partial last batches are noise in a report
    return tf
