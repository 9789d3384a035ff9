"""The local cluster's workers start as ``parity.sweep.cluster.connect`` configures them (no process is started)."""
import dask
import pytest
from distributed import Nanny

from parity.sweep import cluster
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


def test_connect_makes_its_local_cluster_under_that_config_with_the_pinned_environment(monkeypatch):
    """What ``connect`` hands LocalCluster, and the config it is made under (its scheduler and nannies read it
    then); nothing is started."""
    made = {}

    class Made(Exception):
        pass

    def local_cluster(**kwargs):
        made.update(kwargs, allowed_failures=dask.config.get("distributed.scheduler.allowed-failures"),
                    tick=dask.config.get("distributed.admin.tick.interval"),
                    nanny_env=Nanny("tcp://127.0.0.1:1", env=kwargs["env"]).env)
        raise Made

    monkeypatch.setattr(cluster, "LocalCluster", local_cluster)
    with pytest.raises(Made), cluster.connect(workers=2):
        pass
    assert made["n_workers"] == 2 and made["threads_per_worker"] == 1 and made["processes"] is True
    assert made["allowed_failures"] == cluster.ALLOWED_FAILURES == 1 and made["tick"] == "1s"
    assert "MALLOC_TRIM_THRESHOLD_" not in made["nanny_env"] and made["env"] == PINNED_ENV


def test_without_the_config_dask_would_trim_at_64_kib(monkeypatch):
    """The setting above is needed: Dask's default starts workers with glibc trimming at 64 KiB."""
    monkeypatch.delenv("MALLOC_TRIM_THRESHOLD_", raising=False)  # an environment's own value would win
    assert Nanny("tcp://127.0.0.1:1", env=PINNED_ENV).env.get("MALLOC_TRIM_THRESHOLD_") == "65536"
