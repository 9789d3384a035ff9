"""Reports: render structured results; never compute parity themselves.

    parity_report      run every spec x check, write parity.md / parity.json
    optimizer_report   the optimizer table (error after 1, 10, 20 steps) and the textbook-variant table
    experiment_report  a training run's directory: index.html, summary.md, results.csv|json, manifest.json
    plots              matplotlib figures as PNG bytes
    environment        the reproducibility manifest (versions, seed, flags)
    atomic             write a directory aside and move it into place
    run_output         the out folder checked first, and one commit point for every file of a run
    html_page          the run's index.html: verdict banner, accuracy tables, studies, figures
    tables             rows as pandas DataFrames and a DataFrame as a markdown table
    parity_tables      the tables of parity.md as DataFrames (markdown, CSV)
    loading            ``load(DIR)``: every result set of a report folder as DataFrames
    backend_report     the backend matrix (markdown, JSON); backend_html: the same as backends.html
    experiment_backends the digits experiments on each Keras backend, one table per experiment
    quiet              TensorFlow imported without its start-up log lines

Imports only ``load`` (pandas): ``parity.training.studies`` uses ``plots``
without loading the report writers.
"""
from parity.report.loading import load

__all__ = ["load"]
