"""``parity sweep``: the experiments over many seeds, dtypes and datasets, as Dask tasks.

- ``tasks``: task keys and the pure function that runs one task (the only module
  importing the experiments, training and datasets).
- ``store``: one result file per task, written atomically as it finishes.
- ``runner``: submits tasks to a Dask client, retries once, records failures.
- ``cluster``: a ``LocalCluster`` sized to this machine, or an existing scheduler.
- ``summary``: the sweep report (index.html, summary.md, results.csv).
- ``cli``: the ``parity sweep`` command line.
"""
