"""Matplotlib figures for the report, returned as PNG bytes (Agg backend, no display)."""
import functools
import io

import matplotlib
import matplotlib.ticker

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.backends.backend_agg import RendererAgg  # noqa: E402

from parity.tolerances import tolerance  # noqa: E402

NUMPY_STYLE = {"color": "tab:blue", "label": "NumPy"}
KERAS_STYLE = {"color": "tab:orange", "label": "Keras", "linestyle": "--"}


DPI = 70
PAD_INCHES = 0.1  # matplotlib's savefig.pad_inches default, around the tight box


def png(fig):
    """The figure as ``savefig(bbox_inches="tight")`` writes it, byte for byte; the figure is closed."""
    data = _png_bytes(fig)
    plt.close(fig)
    return data


def _png_bytes(fig):
    """PNG bytes of the figure cropped to its tight box, which is measured here without drawing:
    ``bbox_inches="tight"`` would first draw the whole figure once with rendering off, only to measure it, then
    draw it again (a third of a figure's time)."""
    fig.set_dpi(DPI)
    tight = fig.get_tightbbox(_measuring_renderer(*(int(v) for v in fig.bbox.size))).padded(PAD_INCHES)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI, bbox_inches=tight, metadata={"Software": None})
    return buffer.getvalue()


@functools.lru_cache(maxsize=8)
def _measuring_renderer(width, height):
    """A renderer kept per figure size, as the figure's canvas would make one: the label sizes it measures (log
    tick labels are parsed as math text) stay cached for the next figure, where a new canvas measures them anew."""
    return RendererAgg(width, height, DPI)


def training_figures(runs):
    """One PNG per run: step loss of both twins, their |difference| per step, and per-evaluation accuracies (MSE
    for a regression). Consecutive runs of one task are drawn in turn on one figure (as ``histogram_grids``)."""
    pngs, fig = [], None
    for i, run in enumerate(runs):
        if fig is None or run.task != runs[i - 1].task:
            if fig is not None:
                plt.close(fig)
            fig, axes = plt.subplots(1, 3, figsize=(13, 3.2))
        for ax in axes:  # the previous run's curves, and the data limits they set
            for line in list(ax.lines):
                line.remove()
            ax.relim()
        _training_panels(axes, run)
        pngs.append(_png_bytes(fig))
    if fig is not None:
        plt.close(fig)
    return pngs


def _training_panels(axes, run):
    steps = np.arange(1, len(run.numpy.step_loss) + 1)
    axes[0].plot(steps, run.numpy.step_loss, **NUMPY_STYLE)
    axes[0].plot(steps, run.keras.step_loss, **KERAS_STYLE)
    axes[0].set(title=f"{run.name}: loss per step", xlabel="step", ylabel="loss")
    axes[0].legend()
    relative_difference_panel(axes[1], steps, run.numpy.step_loss, run.keras.step_loss, run.dtype)
    epochs = np.arange(1, len(run.numpy.test_acc) + 1)
    metric = "MSE" if run.task == "regression" else "accuracy"  # a regression's loss is its MSE
    for hist, style in ((run.numpy, NUMPY_STYLE), (run.keras, KERAS_STYLE)):
        train, test = (hist.train_loss, hist.test_loss) if metric == "MSE" else (hist.train_acc, hist.test_acc)
        axes[2].plot(epochs, train, marker=".", **{**style, "label": style["label"] + " train"})
        axes[2].plot(epochs, test, marker="x", **{**style, "label": style["label"] + " test", "alpha": 0.7})
    axes[2].set(title=f"{metric} per evaluation", xlabel="evaluation", ylabel=metric,
                **({"yscale": "log"} if metric == "MSE" else {"ylim": (0, 1.02)}))
    axes[2].legend(fontsize=7)


def relative_difference_panel(ax, steps, ours, theirs, dtype):
    """|NumPy - Keras| / |Keras| per step on a log axis, the training tolerance drawn, exact equality marked."""
    a, b = np.asarray(ours, dtype=np.float64), np.asarray(theirs, dtype=np.float64)
    rel = np.abs(a - b) / np.maximum(np.abs(b), np.finfo(np.float64).tiny)
    tol = tolerance(dtype, "training").rtol
    floor = np.finfo(dtype).eps / 10  # below one ulp: shown as "equal" rather than as a number
    ax.semilogy(steps, np.maximum(rel, floor), ".", markersize=2, color="tab:red", label="relative difference")
    ax.axhline(tol, color="k", linestyle=":", linewidth=1, label=f"tolerance {tol:g}")
    ax.axhline(floor, color="0.6", linewidth=0.8, label=f"equal (0): drawn at {floor:.0e}")
    ax.set(title="relative loss difference per step", xlabel="step", ylabel="|NumPy - Keras| / |Keras|",
           ylim=(floor / 3, max(tol, float(rel.max())) * 10))
    ax.legend(fontsize=7, loc="upper left")


def histogram_grids(grids, row_labels, n_layers):
    """One PNG per grid: ``grids`` = [(title, rows)], rows[r][l] = (numpy activations, keras activations) for
    initializer r, layer l. The grids share their layout, so they are drawn in turn on one figure: building its
    panels cost as much as drawing them."""
    fig, axes = _grid_axes(row_labels, n_layers)
    pngs = []
    for title, rows in grids:
        for r, layers in enumerate(rows):
            lo = float(min(min(a.min(), b.min()) for a, b in layers))
            hi = float(max(max(a.max(), b.max()) for a, b in layers))
            bins = np.linspace(lo, hi if hi > lo else lo + 1e-9, 31)
            for ax, (a, b) in zip(axes[r], layers, strict=True):
                for patch in list(ax.patches):  # the previous grid's histograms, and the data limits they set
                    patch.remove()
                ax.relim()
                # stairs: one path per histogram (hist() draws a patch per bar: 30x slower for 100+ panels)
                ax.stairs(np.histogram(a, bins)[0], bins, fill=True, color="tab:blue", alpha=0.6)
                ax.stairs(np.histogram(b, bins)[0], bins, color="tab:orange", linestyle="--")
        fig.suptitle(f"{title} (NumPy filled, Keras dashed)", fontsize=10)
        pngs.append(_png_bytes(fig))
    plt.close(fig)
    return pngs


def _grid_axes(row_labels, n_layers):
    """The empty grid: one row per initializer, one x scale per row shown in full (a row's layers compare at a
    glance), three legible ticks without offset text, no y ticks."""
    fig, axes = plt.subplots(len(row_labels), n_layers, figsize=(2.4 * n_layers, 1.7 * len(row_labels)),
                             squeeze=False, sharex="row")
    for r, label in enumerate(row_labels):
        for l, ax in enumerate(axes[r]):
            ax.set_yticks([])
            ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(3))
            ax.ticklabel_format(axis="x", useOffset=False, style="plain")
            ax.tick_params(labelsize=7, labelbottom=True)
            if r == 0:
                ax.set_title(f"layer {l + 1}", fontsize=8)
            if l == 0:
                ax.set_ylabel(label, fontsize=8)
    return fig, axes


def optimizer_paths(f, paths):
    """paths[name] = (numpy positions (T, 2), keras positions (T, 2)) over contours of f."""
    fig, axes = plt.subplots(2, 3, figsize=(12, 6))
    gx, gy = np.meshgrid(np.linspace(-10, 10, 200), np.linspace(-5, 5, 200))
    for ax, (name, (a, b)) in zip(axes.ravel(), paths.items(), strict=True):
        ax.contour(gx, gy, f(gx, gy), levels=15, colors="0.8", linewidths=0.6)
        ax.plot(a[:, 0], a[:, 1], "o-", markersize=3, **NUMPY_STYLE)
        ax.plot(b[:, 0], b[:, 1], "x", markersize=5, color="tab:orange", label="Keras")
        ax.plot(0, 0, "+", color="k")
        ax.set(title=name, xlim=(-10, 10), ylim=(-5, 5))
        ax.legend(fontsize=7)
    return png(fig)
