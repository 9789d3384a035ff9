"""Submit tasks to a Dask client and keep every outcome: a result file, or a failure with its error.

A task that raises is retried once (``retries=1``); a task whose worker dies is
rerun by the scheduler (once on the local cluster, see ``cluster.ALLOWED_FAILURES``).
After that its error (``KilledWorker`` for a dead worker) is recorded; no task is lost.
"""
import uuid

from distributed import as_completed

from parity.sweep.tasks import failure_record, run_task

RETRIES = 1


def run_tasks(client, keys, settings, store, on_record=None):
    """Run ``keys`` on ``client``; write each record to ``store`` as it finishes; returns this run's records.

    ``on_record(record)`` is called after each write (progress lines; tests use it to interrupt a sweep).
    """
    token = uuid.uuid4().hex[:8]  # fresh Dask keys: a resumed or repeated sweep never reuses old futures
    futures = {client.submit(run_task, key, settings, key=f"parity-sweep-{key.name}-{token}", retries=RETRIES,
                             pure=False): key for key in keys}
    records = []
    for future in as_completed(list(futures)):
        key = futures[future]
        try:
            record = future.result()
        except Exception as exc:  # the task's own error after its retry, KilledWorker, or a cancelled future
            record = failure_record(key, settings, exc)
        future.release()
        store.write(key, record)
        records.append(record)
        if on_record:
            on_record(record)
    return records


def map_calls(client, calls):
    """``[fn(*args) for fn, args in calls]``, each call a Dask task (retried once); results in order."""
    futures = [client.submit(fn, *args, pure=False, retries=RETRIES) for fn, args in calls]
    return client.gather(futures)
