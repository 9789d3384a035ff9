"""Every tolerance the suite uses, in one table, with the reason for each number.

All tolerances are *relative to the reference tensor's largest magnitude*:
an element fails when ``|a - b| > rtol * max(max|a|, max|b|)``. This scale
is what round-off is proportional to for sums of products (matmul, conv,
reductions), so one number per dtype holds across layer sizes in this suite.
"""
from dataclasses import dataclass


@dataclass(frozen=True)
class Tolerance:
    rtol: float
    why: str


TOLERANCES = {
    ("float64", "keras"): Tolerance(
        1e-12,
        "float64 eps is 2.2e-16; reductions here are <= ~2000 terms, so accumulated round-off "
        "is <= ~1e-13 of the largest magnitude (measured worst ~3e-15, docs/keras_conventions.md s13). "
        "Holds only because the NumPy twins use TF's float32-rounded constants."),
    ("float32", "keras"): Tolerance(
        1e-5,
        "float32 eps is 1.2e-7; summation order differs between BLAS/oneDNN and NumPy, giving "
        "measured relative errors up to 1.2e-6 on conv gradients; 1e-5 keeps an ~8x margin."),
    ("float64", "finite_difference"): Tolerance(
        1e-6,
        "Richardson-extrapolated central differences, h = 1e-3 * max(1, |w|): truncation O(h^4) ~ 1e-12, "
        "round-off O(eps |f| / h) ~ 1e-11 of the gradient scale (measured worst 2.7e-8 on the dense specs); "
        "real bugs give errors of 1e-2..1."),
    ("float32", "adaptive_own_gradients"): Tolerance(
        1e-3,
        "float32 training where each twin computes its own gradients and an adaptive optimizer "
        "(Adam, AdamW, Nadam, Adamax, RMSprop, Adagrad, Adadelta) steps: the update ~ lr*g/(|g|+eps) "
        "turns a round-off difference in a near-zero gradient element into a step-sized one (measured: "
        "an element of 4.2e-7 in a tensor of max 0.074, gradients equal to 2.3e-7, parameters 7.6e-5 "
        "apart after Adamax(lr=0.1)). The gradients are held to 1e-5 at step 1 (equal weights); after it each twin "
        "takes them at its own weights, which may differ by this tolerance, so `parity verify` judges them by it "
        "too. The same optimizers fed identical gradients agree to 1e-5 (the optimizer table), and verify's "
        "per-step loss stays at 1e-5 of the loss's sensitivity to its outputs (parity/verify/loss_condition.py), "
        "and, under a MeanSquaredError, its per-step gradients on at least twice the share of their difference that the "
        "outputs' measured difference explains, over rtol (parity/verify/loss_condition.near_fit_shares: near a fit "
        "an MSE's gradient 2 r / n cancels, so the outputs' round-off reaches it as ~eps |y_pred| / r of its size; "
        "measured on an AVX2 CPU, batch 1, float32 Adam, residual 1e-3: the correct twin's step-1 gradients "
        "9.8e-5..2.3e-4 of their own size from Keras's, 0 on the CPU the test was written on; a loss gradient 0.1% "
        "off still fails there). The share is the twin's backward of 2 (y_keras - y_twin) / n, per weight and "
        "output; MSE only: a kink or a clip (MAE, the cross-entropies) makes the difference a jump, and a floor "
        "from one would hide a wrong loss gradient. At a residual of 1e-4 the per-step loss of that model still "
        "fails in float32 (1.1e-5 at step 2): verify in float64."),
    ("float64", "finite_difference_net"): Tolerance(
        1e-4,
        "gradcheck_net compares gradient(x, t) with finite differences of loss(x, t). Textbook losses add "
        "1e-7 inside the log (-log(y + 1e-7)) while their backward (y - t)/N is the derivative without it, so "
        "an exact implementation is off by ~1e-7/p_true relative (measured up to 2.3e-6 on the test nets); "
        "real bugs (a missing 1/N, a transposed or doubly scaled gradient) are off by 1e-2..1. Pass rtol=1e-6 "
        "for losses without such an epsilon."),
    ("float64", "gradcheck_cause_fit"): Tolerance(
        1e-3,
        "how closely a hypothesis about a failing gradient (a factor 2, a missing 1/N, a transposition, ...) must "
        "predict the observed values to be stated as the likely cause: finite differences are good to ~1e-8 "
        "relative, and the hypotheses differ from each other by factors of order 1."),
    ("float64", "training"): Tolerance(
        1e-9,
        "per-step loss of a whole training run, relative: each step adds round-off ~1e-16 that later steps can "
        "amplify (measured worst ~1e-13 over 1,000 steps), so 1e-9 leaves room for long runs while any "
        "convention difference (an unrounded constant: ~1e-8) still shows."),
    ("float32", "training"): Tolerance(
        1e-5,
        "float32 per-step loss: reported, not a pass/fail criterion (round-off compounds with every step); the "
        "first step beyond 1e-5 is shown. A float32 run passes when test accuracies agree within 0.5 percentage points."),
    ("float32", "study"): Tolerance(
        1e-3,
        "float32 forward studies (initialisation histograms, optimizer paths) compare whole 6-layer forwards or "
        "30-step paths: a saturated tanh net with std-1 weights amplifies round-off several-fold per layer "
        "(measured 1.0e-4 relative after 6 layers, with identical histograms: last-layer std 0.941293 on both "
        "sides); everything else measured <= 1.1e-6. float64 studies use the 1e-12 entry."),
    ("float64", "roundtrip"): Tolerance(
        0.0, "copying weights must be bit-exact: assign() of a float64 array is a plain copy."),
    ("float32", "roundtrip"): Tolerance(
        0.0, "copying weights must be bit-exact: same dtype on both sides, no cast."),
    ("float32", "test_mse"): Tolerance(
        1e-4,
        "float32 regression runs (one Dense unit, MSE): pass when the twins' test MSEs agree within 1e-4 relative. "
        "Per-step round-off (~1e-7) compounds over the run like the float32 training entry; 1e-4 is the issue's "
        "criterion for MSE, the analogue of 0.5 accuracy points for classifiers."),
    ("float64", "lr_plan"): Tolerance(
        0.0,
        "learning rate per epoch under a LearningRateScheduler or ReduceLROnPlateau: both twins compute it with the "
        "same Python-float arithmetic and hold it in a float64 variable, so it must be identical."),
    ("float32", "lr_plan"): Tolerance(
        0.0,
        "as float64: the same arithmetic, with every read and write float32-rounded on both sides (Keras's rate "
        "variable is floatx), so the rates must be identical."),
    ("float64", "sub_batch"): Tolerance(
        1e-12,
        "a layer stack on a chunk of the batch vs the same rows of the whole batch (parity.gradcheck.chunks): the "
        "same arithmetic with other GEMM shapes, so only round-off (as for float64 keras above); a layer coupling "
        "samples (batch statistics, one dropout mask per batch) differs by O(1)."),
}


CONDITION_SCALE = (
    "A bias-like gradient (bias of a layer with a linear output, BatchNormalization beta) is a sum "
    "over the batch, and a sum's round-off is proportional to sum(|terms|), not to |sum|. When the "
    "sum cancels -- exactly so for a bias feeding a training-mode BatchNormalization, whose gradient "
    "is 0 in exact arithmetic -- both twins return pure round-off (~1e-16 in float64) and the "
    "tensor's own magnitude is no scale at all. Such gradients are therefore measured relative to "
    "max(max|grad|, max over units of sum(|terms|)); for gradients that do not cancel the two agree. "
    "BatchNormalization's gamma is such a sum too (of dout * x_hat) and cancels the same way when a "
    "training-mode BatchNormalization follows through scale-invariant layers (ReLU with beta = 0, a conv: "
    "a ResNet bottleneck's conv3x3_bn/gamma measured 300x below its sum(|terms|) and 9.9e-6 apart in float32), "
    "so it is measured the same way. A layer's activation does not change this: the bias of a Dense or convolution "
    "sums dL/dz (z its pre-activation, dL/dz from the twin's own backward, which the activation's derivative can only "
    "shrink below dL/dy) and its kernel x * dL/dz over the batch and positions, so their scales are the largest "
    "sum(|dL/dz|) over units and sum(|x| |dL/dz|) over kernel elements (a ReLU conv's bias on 8 samples, correct, "
    "measured 1.4-3.9x rtol of its own size apart in float32 in 15 of 20 random batches; kernels upstream of a "
    "training-mode BatchNormalization of 256 x 25 positions 1.3e-5..3.1e-5 of theirs; both within 1e-5 of the "
    "sums of their terms). A softmax's input gradient s * (g - sum(g * s)) (s its output, g dL/ds, summed over its "
    "axes) is such a sum, with scale the largest s|g| + s sum(s|g|) over elements (sum_terms.input_grad_scale): over "
    "an axis of size 1 it is 0 in exact arithmetic, NumPy's exactly 0 and TensorFlow's float32 one 1.2e-7..2.4e-7 "
    "(its softmax gives s = 1 - 2^-24 on an AVX2 CPU), 1.0 of its own size but 3.6e-8..4.9e-8 of that scale "
    "(2 max|g| = 3.3..5.1); for random softmaxes that do not cancel the scale is 1.3-89x (median 2.9x) max|dx|. "
    "A planted slip in a gradient is a difference of order the terms themselves, far above it.")


def tolerance(dtype, kind="keras"):
    """The Tolerance for comparing ``kind`` of results in ``dtype``."""
    key = (str(dtype), kind)
    if key not in TOLERANCES:
        raise KeyError(f"No tolerance for dtype={dtype!r}, kind={kind!r}. Known: {sorted(TOLERANCES)}")
    return TOLERANCES[key]


ACCURACY_POINTS = 0.5  # float32 runs: |test accuracy difference| in percentage points


ZERO_GRADIENT_STATE = (
    "parity verify, optimizer state of a tensor whose gradient is zero at the comparison's resolution (a bias "
    "feeding a training-mode BatchNormalization: both sides' gradients and their difference <= rtol * its "
    "CONDITION_SCALE): each side steps it by its own round-off, so its slots and value after a step, and the moving"
    " statistics of the BatchNormalization it feeds, differ by O(1) of their own size (measured 0.23-1.5 at step 1,"
    " float32 and float64, SGD to Adam; float32 Adam/RMSprop, whose epsilon 1e-7 is above gradients of ~1e-8, step "
    "it by 1-10% of lr on each side: 2.1e-5 apart after step 1, 1.0e-4 after step 4, for values of 9e-6..5e-5). A "
    "shadow copy of the twin steps those tensors with Keras's gradients instead (parity.verify.state_floors): the "
    "twin's state is measured relative to max(own size, floor), the floor being how far the shadow ends up from the"
    " twin divided by the state rtol, plus the shadow's own size -- what the observed, in-tolerance gradient "
    "difference causes through the twin's own optimizer; and the shadow's values and slots of those tensors are "
    "compared with Keras's, element by element and without a floor, at the state rtol (measured <= 1.3e-3 of it "
    "over 10 steps of 8 optimizers, float32 and float64), which finds a slip in the twin's optimizer (a 1e-6 slip "
    "in such a bias in float32 Adam, 1e-16 in float64). rtol is unchanged.")


UNDERFLOW_SCALE = (
    "parity verify: TensorFlow's CPU kernels flush subnormal results to zero (flush-to-zero), NumPy keeps them. "
    "A correct MLP on raw 0..255 pixels saturates its softmax: Keras's probabilities are exactly 0 where the "
    "twin's are 1e-40, so Keras's gradients are exactly 0 and the twin's 1e-41..2.4e-38 (the twin's equal "
    "Keras's GradientTape bit for bit when Keras's upstream is not flushed). Differences below the dtype's "
    "smallest normal number (tiny: 1.2e-38 float32) are not differences; one product-sum stage (a matmul, a "
    "conv) multiplies a flushed factor by at most the sum of |other factor|, so each comparison's scale is at "
    "least tiny * S / rtol, S the largest sum of |elements| (or element count) over the model's inputs, node "
    "outputs and weights (measured S = 1.6e4 there: a floor of 1.9e-29, allowed differences "
    "1.9e-34, 7,700x the largest (2.4e-38), and far below any gradient float32 training resolves). rtol is "
    "unchanged. A tensor whose two sides differ but lie wholly within that range carries no information: it "
    "fails as not comparable (parity.verify.flushed), never passes; in float64 nothing is flushed.")


CONDITIONED_GRADIENT_STATE = (
    "parity verify, optimizer state of a tensor whose gradient passes only on its CONDITION_SCALE (both sides' "
    "magnitudes below it, their difference within rtol of it): ZERO_GRADIENT_STATE's case is one, and so is every "
    "cancelling bias or kernel gradient. Its slots (a momentum is the gradient after one step) and a zero-initialised "
    "value (the step itself) carry that allowed difference, many times rtol of their own size (measured upstream of "
    "a BatchNormalization, SGD: a ReLU conv's bias 1.65e-5 of its size apart after step 1 at 256 rows, a kernel's "
    "momentum 1.28e-5 at 500 rows, a bias's momentum 7.7e-4 after step 5 at 1,000 rows, the gradients then taken at "
    "weights apart by such amounts). So the same shadow "
    "(parity.verify.state_floors) steps such a tensor with Keras's gradients from the first step its gradient "
    "passes at its condition scale, and its state is judged by the same floor, while the shadow's own state of it is "
    "compared with Keras's without one. A floor absorbs a later gradient error of any size, so at every later step "
    "the tensor's gradient is judged too, at its condition scale and the tolerance the step's replay uses (the "
    "gradient rtol at step 1, the state rtol after): taken by the shadow, whose weights are Keras's to what its own "
    "state comparisons allow (the twin's are apart by what the floors allowed, and its gradients by more: a conv's "
    "kernel upstream of a BatchNormalization of 500 rows, SGD with momentum, 13x the state rtol at step 3; the "
    "shadow's 0.24x, and <= 0.33x over 5 steps of 12 correct float32 models). A failing one fails that step (phase "
    "gradient, that tensor: a tanh Dense whose derivative leaves out the bias fails at step 2, 0.5-0.8% of its "
    "terms' scale) and leaves the shadow for good. rtol is unchanged; a gradient out of tolerance never enters.")
