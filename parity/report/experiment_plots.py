"""Figures for the seed experiments (single-layer nets, image filters, learning-rate plans), as PNG bytes."""
import numpy as np

from parity.report.plots import KERAS_STYLE, NUMPY_STYLE, plt, png


def predicted_vs_true(y_true, numpy_pred, keras_pred):
    """Scatter of predictions against targets for both twins, with the y = x line."""
    fig, axes = plt.subplots(1, 2, figsize=(9, 4), sharey=True)
    lo, hi = float(min(y_true.min(), numpy_pred.min())), float(max(y_true.max(), numpy_pred.max()))
    for ax, (label, pred, style) in zip(axes, (("NumPy", numpy_pred, NUMPY_STYLE), ("Keras", keras_pred, KERAS_STYLE)),
                                        strict=True):
        ax.scatter(y_true, pred, s=12, color=style["color"], alpha=0.7)
        ax.plot([lo, hi], [lo, hi], color="0.5", linewidth=0.8)
        ax.set(title=f"{label}: predicted vs true", xlabel="true", ylabel="predicted")
    return png(fig)


def decision_boundaries(data, lines, feature_names):
    """Training and test points of a two-feature binary set, and each twin's line w1 x1 + w2 x2 + b = 0."""
    fig, ax = plt.subplots(figsize=(5.5, 4.5))
    for x, y, marker, part in ((data.x_train, data.y_train, "o", "train"), (data.x_test, data.y_test, "^", "test")):
        for cls, color in ((0, "tab:green"), (1, "tab:purple")):
            pts = x[y == cls]
            ax.scatter(pts[:, 0], pts[:, 1], marker=marker, s=18, color=color, alpha=0.6, label=f"class {cls} ({part})")
    x1 = np.linspace(-0.1, 1.1, 50)
    for (label, (w1, w2, b)), style in zip(lines.items(), (NUMPY_STYLE, KERAS_STYLE), strict=True):
        ax.plot(x1, -(w1 * x1 + b) / w2, **{**style, "label": f"{label} boundary"})
    ax.set(xlim=(-0.1, 1.1), ylim=(-0.1, 1.1), xlabel=feature_names[0] + " (scaled)",
           ylabel=feature_names[1] + " (scaled)", title="decision boundaries (they coincide)")
    ax.legend(fontsize=7)
    return png(fig)


def filter_images(title, images, labels):
    """Images side by side (2-D arrays), the last one usually the difference map, each with a colour bar."""
    fig, axes = plt.subplots(1, len(images), figsize=(4.2 * len(images), 3.4))
    for ax, image, label in zip(axes, images, labels, strict=True):
        shown = ax.imshow(image, cmap="gray" if "diff" not in label else "magma")
        fig.colorbar(shown, ax=ax, fraction=0.035)
        ax.set(title=label, xticks=[], yticks=[])
    fig.suptitle(title)
    return png(fig)


def learning_rates(runs):
    """The rate per epoch of both twins (step plots) and the test loss the plateau rule watches, per run."""
    fig, axes = plt.subplots(len(runs), 2, figsize=(11, 3.2 * len(runs)), squeeze=False)
    for (ax_lr, ax_loss), run in zip(axes, runs, strict=True):
        epochs = np.arange(1, len(run.numpy.learning_rate) + 1)
        edges = np.arange(1, len(epochs) + 2)  # epoch e's rate spans [e, e + 1)
        ax_lr.step(edges, run.numpy.learning_rate + run.numpy.learning_rate[-1:], where="post", **NUMPY_STYLE)
        ax_lr.step(edges, run.keras.learning_rate + run.keras.learning_rate[-1:], where="post", **KERAS_STYLE)
        ax_lr.set(title=f"{run.name}: learning rate per epoch", xlabel="epoch", ylabel="learning rate", yscale="log")
        ax_lr.legend()
        ax_loss.plot(epochs, run.numpy.test_loss, marker=".", **NUMPY_STYLE)
        ax_loss.plot(epochs, run.keras.test_loss, marker="x", **KERAS_STYLE)
        ax_loss.set(title="validation (test) loss per epoch", xlabel="epoch", ylabel="loss")
        ax_loss.legend()
    return png(fig)
