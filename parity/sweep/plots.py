"""The sweep's figure: per metric, one box of the seeds' values per run (x axis), each seed a dot (PNG bytes)."""
import numpy as np
import pandas as pd

from parity.report.plots import plt, png


def distribution_figure(df, group, metrics):
    """One panel per metric; the drift axis is logarithmic (zero drift is drawn at 1e-20)."""
    ok = df[df["status"] == "ok"]
    groups = list(ok.groupby(group, sort=True))
    fig, axes = plt.subplots(1, len(metrics), figsize=(max(4.0, 0.6 * len(groups) + 1.5) * len(metrics), 4.5),
                             squeeze=False)
    jitter = np.random.default_rng(0)  # dot placement only
    for ax, (metric, title) in zip(axes[0], metrics.items(), strict=True):
        values = [pd.to_numeric(part[metric], errors="coerce").dropna().to_numpy(float) for _, part in groups]
        if metric == "max_rel_loss_diff":
            values = [np.maximum(v, 1e-20) for v in values]
            ax.set_yscale("log")
        positions = np.arange(1, len(groups) + 1)
        drawn = [(p, v) for p, v in zip(positions, values, strict=True) if len(v)]
        if drawn:
            ax.boxplot([v for _, v in drawn], positions=[p for p, _ in drawn], widths=0.6, showfliers=False)
            for p, v in drawn:
                ax.plot(p + jitter.uniform(-0.15, 0.15, len(v)), v, ".", color="tab:blue", alpha=0.6)
        else:
            ax.text(0.5, 0.5, "no value (no run went over)", transform=ax.transAxes, ha="center")
        ax.set(title=title, xlim=(0.4, len(groups) + 0.6))
        ax.title.set_fontsize(9)
        ax.set_xticks(positions, [f"{key[1]} {key[2]}\n{key[3]} {key[4]}" for key, _ in groups], fontsize=7,
                      rotation=30, ha="right")
    return png(fig)
