"""The local cluster's workers start as ``parity.sweep.cluster.connect`` configures them (no process is started)."""
import dask
import pytest
from distributed import Nanny

from parity.sweep.cluster import LOCAL_CLUSTER_CONFIG, PINNED_ENV


@pytest.fixture
def nanny():
    """A nanny made as ``connect``'s LocalCluster makes each one: under its config, with its environment."""
    with dask.config.set(LOCAL_CLUSTER_CONFIG):
        yield Nanny("tcp://127.0.0.1:1", env=PINNED_ENV)


def test_workers_keep_glibcs_malloc_trimming_and_get_the_pinned_threads(nanny):
    assert "MALLOC_TRIM_THRESHOLD_" not in nanny.env  # Dask's own default sets it (65536): 3.8x the page faults
    assert "MALLOC_TRIM_THRESHOLD_" not in nanny.pre_spawn_env
    assert {k: nanny.env[k] for k in PINNED_ENV} == PINNED_ENV


def test_workers_event_loops_wake_every_second_not_every_20_ms(nanny):
    admin = nanny.config["distributed"]["admin"]
    assert admin["tick"]["interval"] == "1s" and admin["system-monitor"]["interval"] == "5s"
    assert nanny.config["distributed"]["worker"]["memory"]["monitor-interval"] == "1s"
    assert nanny.config["distributed"]["scheduler"]["allowed-failures"] == 1


def test_without_the_config_dask_would_trim_at_64_kib(monkeypatch):
    """The setting above is needed: Dask's default starts workers with glibc trimming at 64 KiB."""
    monkeypatch.delenv("MALLOC_TRIM_THRESHOLD_", raising=False)  # an environment's own value would win
    assert Nanny("tcp://127.0.0.1:1", env=PINNED_ENV).env.get("MALLOC_TRIM_THRESHOLD_") == "65536"
