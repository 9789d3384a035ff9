"""`parity list`: one readable line per experiment and spec."""
from parity import cli
from parity.specs import SPECS
from parity.specs.model_spec import call


def test_random_initializers_are_named_not_printed_as_dicts():
    uniform = {"class_name": "RandomUniform", "config": {"minval": 0.5, "maxval": 2.0, "seed": None}}
    assert call("BatchNormalization", {"axis": 1, "moving_variance_initializer": uniform}) == \
        "BatchNormalization(axis=1) with random moving_variance"
    assert call("UpSampling2D", {"interpolation": "bilinear"}) == "UpSampling2D(interpolation='bilinear')"


def test_list_shows_every_spec_on_one_line_without_config_dicts(capsys):
    assert cli.main(["list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    spec_lines = lines[lines.index("Specs:") + 1:]
    assert [line.split()[0] for line in spec_lines] == list(SPECS)
    assert not any("class_name" in line or "{'" in line for line in lines)
    assert "  batch_norm_frozen_2d             BatchNormalization(trainable=False) with random gamma, beta, " \
           "moving_mean, moving_variance on (5,)" in "\n".join(spec_lines)
