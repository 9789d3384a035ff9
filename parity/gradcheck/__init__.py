"""The gradient checker: hand-written layers and networks against finite differences (NumPy only).

    checker             gradcheck, gradcheck_net, assert_gradients_ok
    first_pass          gradcheck's first forward/backward on a float64 copy (parameters found, hazards, errors)
    inputs              what the checkers accept: real, finite, non-empty inputs, targets and parameters
    probing             one parameter probed: sampled elements (interval rule at kinks) and a random direction
    kinks               kinks: one-sided derivative intervals, kink-aware direction probes
    locate              a failing random direction bisected to the elements behind it
    reproducible        the unperturbed function evaluated twice must agree (a generator outside the layer)
    causes              the likely cause of a mismatch (ratios, transposes, sum/mean, routing, epsilon, ...)
    modes               nets checked in the mode their gradient used (train_flg / training)
    subject             how the checker sees a user's layer or network (copies, parameters, RNG)
    suffix              a layer stack probed from the perturbed parameter's layer on (the prefix runs once)
    finite_differences  the probes: Richardson central differences, kinks, step sweeps
    result              GradcheckResult and its per-parameter reports
    keras_check         check_against_keras: a layer against a Keras layer (TensorFlow imported on first use)
    keras_config        check_against_keras's configuration checks (a layer instance, weight and output shapes)
    layouts             textbook (NCHW, OIHW) <-> Keras (NHWC, HWIO) array layouts

Imports neither ``numpy_models`` nor ``keras_models``: it checks any object
with the textbook protocol.
"""
from parity.gradcheck.checker import assert_gradients_ok, gradcheck, gradcheck_net
from parity.gradcheck.keras_check import check_against_keras
from parity.gradcheck.result import GradcheckResult

__all__ = ["GradcheckResult", "assert_gradients_ok", "check_against_keras", "gradcheck", "gradcheck_net"]
