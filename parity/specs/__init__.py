"""Model specs: the declarative description both twins are built from, and the registry of them.

    model_spec  ModelSpec, LayerConfig, dense(), layer(); the check batch and targets drawn for a spec
    graphs      the graph specs (residual, Inception, fan-out, shared layer)
    registry    SPECS (every registered spec) and get_spec()
"""
from parity.specs.model_spec import LayerConfig, ModelSpec, dense, layer, make_inputs, make_targets, node
from parity.specs.registry import SPECS, get_spec

__all__ = ["LayerConfig", "ModelSpec", "SPECS", "dense", "get_spec", "layer", "make_inputs", "make_targets", "node"]
