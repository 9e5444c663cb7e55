"""Image-quality and rate–distortion metrics, in plain numpy.

This module is imported by the runtime package, so it depends on numpy only (no torch, no
scipy): anyone who can decode an ``.aec`` file can also measure it. The definitions follow
the ones the learned-compression literature reports (CompressAI, pytorch-msssim, the
VCEG/JVET Bjøntegaard reference), so numbers computed here can be put next to published
curves without a footnote.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence

import numpy as np

__all__ = ["bd_psnr", "bd_rate", "bpp", "ms_ssim", "psnr"]

# MS-SSIM constants of Wang, Simoncelli & Bovik (2003), as used by pytorch-msssim/CompressAI.
MS_SSIM_WEIGHTS: tuple[float, ...] = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)
_WIN_SIZE = 11
_WIN_SIGMA = 1.5
_K1 = 0.01
_K2 = 0.03
MS_SSIM_MIN_SIDE = _WIN_SIZE  # the shortest side one 11-tap window fits in
# Samples (rows × columns × channels) converted to float64 at a time by psnr and, at every
# scale, by ms_ssim: a float64 copy of a photo takes 24 bytes per pixel, and MS-SSIM's
# moment maps need several of them, so both metrics stream the image in bands of whole rows
# (small ones: MS-SSIM's working set then stays in cache, which outweighs the window rows
# each band repeats).
BAND_SAMPLES = 1 << 18


# --------------------------------------------------------------------------------------
# Distortion
# --------------------------------------------------------------------------------------


def psnr(a: np.ndarray, b: np.ndarray, peak: float = 255.0) -> float:
    """Peak signal-to-noise ratio between two images, in dB.

    The MSE is taken over every sample of every channel at once (``PSNR-RGB`` in CompressAI's
    terms), not averaged per channel, because that is what the codec literature reports.
    Rows are converted to float64 a band at a time (:data:`BAND_SAMPLES`), so an image of
    any size costs a few megabytes beyond its own arrays.

    Args:
        a: Reference image, (H, W) or (H, W, C), uint8 or float.
        b: Distorted image of the same shape.
        peak: Largest possible sample value (255 for 8-bit images, 1.0 for [0, 1] floats).

    Returns:
        ``10·log10(peak² / MSE)``; ``math.inf`` when the images are identical, so that a
        lossless round trip is distinguishable from a merely very good one.

    Raises:
        ValueError: If the shapes differ.
    """
    a, b = _same_shape(a, b)
    squared_error = 0.0
    for rows in _row_bands(a):
        squared_error += float(np.sum((a[rows].astype(np.float64) - b[rows].astype(np.float64)) ** 2))
    mse = squared_error / a.size
    if mse == 0.0:
        return math.inf
    return 10.0 * math.log10(peak * peak / mse)


def ms_ssim(a: np.ndarray, b: np.ndarray, data_range: float = 255.0) -> float:
    """Multi-scale SSIM (Wang et al. 2003), numerically matching pytorch-msssim.

    CompressAI evaluates with ``pytorch_msssim.ms_ssim``; reproducing its exact recipe (rather
    than e.g. the MATLAB or TensorFlow variants, which pad and downsample differently) keeps our
    numbers comparable with published learned-codec curves:

    * per channel, an 11-tap Gaussian window with σ = 1.5, applied separably with 'valid'
      borders (no padding), ``K1 = 0.01``, ``K2 = 0.03``;
    * 5 scales weighted ``(0.0448, 0.2856, 0.3001, 0.2363, 0.1333)``; the contrast–structure
      term ``cs`` at the first four, full SSIM at the last; negative values clamped to 0 before
      raising to the weight (otherwise a fractional power of a negative number is NaN);
    * 2×2 average pooling between scales; an odd side is first padded with one zero row/column
      in front, and the zero counts in the average (``avg_pool2d(padding=side % 2)`` with
      ``count_include_pad=True``);
    * the per-channel products are averaged over channels.

    Small images: five scales need a shorter side of at least 161 px (after four halvings the
    11-tap window must still fit). For smaller images this function uses as many scales ``L`` as
    fit (side > 10·2^(L-1)) and renormalises the first ``L`` weights to sum to 1, so the result
    is still a weighted geometric mean in [0, 1]; with one scale it is plain SSIM. Values from
    images below 161 px are therefore not strictly comparable with 5-scale MS-SSIM.

    Memory: every scale is computed in bands of whole rows (:data:`BAND_SAMPLES` samples),
    each scale passing its pooled rows on to the next as they are ready, so no float copy of
    a whole scale ever exists. The maps are the whole image's, element for element; only
    the order in which their means are summed differs.

    Args:
        a: Reference image, (H, W, C) or (H, W), uint8 or float.
        b: Distorted image of the same shape.
        data_range: Dynamic range of the samples (255 for uint8, 1.0 for [0, 1] floats);
            sets the stabilizing constants ``C1 = (K1·L)²`` and ``C2 = (K2·L)²``.

    Returns:
        MS-SSIM in [0, 1]; 1.0 for identical images.

    Raises:
        ValueError: If the shapes differ or the shorter side is 10 px or less (not even one
            11-tap window fits: :data:`MS_SSIM_MIN_SIDE`).
    """
    a, b = _same_shape(a, b)
    if a.ndim not in (2, 3):
        raise ValueError(f"expected an (H, W) or (H, W, C) image, got shape {a.shape}")
    height, width = a.shape[:2]
    levels = _ms_ssim_levels(min(height, width))
    if levels == len(MS_SSIM_WEIGHTS):
        weights = np.asarray(MS_SSIM_WEIGHTS)
    else:
        weights = np.asarray(MS_SSIM_WEIGHTS[:levels])
        weights = weights / weights.sum()

    window = _gaussian_window(_WIN_SIZE, _WIN_SIGMA)
    scales = [_ScaleStatistics(window, (_K1 * data_range) ** 2, (_K2 * data_range) ** 2) for _ in range(levels)]
    stream = _channels_first_bands(a, b)
    for level, scale in enumerate(scales):
        stream = scale.observe(stream)
        if level < levels - 1:
            stream = _pooled_bands(stream, _pooled_side(height, level))
    for _ in stream:  # pulling the coarsest scale's bands drives every scale before it
        pass
    terms = [np.maximum(scale.cs_mean(), 0.0) for scale in scales[:-1]] + [np.maximum(scales[-1].ssim_mean(), 0.0)]
    stacked = np.stack(terms)  # (levels, C)
    per_channel = np.prod(stacked ** weights[:, None], axis=0)
    return float(per_channel.mean())


def _same_shape(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Both images as arrays, refused unless their shapes match."""
    a = np.asarray(a)
    b = np.asarray(b)
    if a.shape != b.shape:
        raise ValueError(f"images differ in shape: {a.shape} vs {b.shape}")
    return a, b


def _band_rows(samples_per_row: int) -> int:
    """Rows per band: about :data:`BAND_SAMPLES` samples, and at least one row."""
    return max(1, BAND_SAMPLES // max(1, samples_per_row))


def _row_bands(a: np.ndarray) -> Iterator[slice]:
    """Slices of the first axis of ``a`` covering it in bands of about :data:`BAND_SAMPLES` samples."""
    step = _band_rows(a.size // max(1, a.shape[0]))
    for start in range(0, a.shape[0], step):
        yield slice(start, start + step)


def _channels_first_bands(a: np.ndarray, b: np.ndarray) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Row bands of two (H, W) or (H, W, C) images as float64 (C, rows, W) pairs.

    float64 because uint8 arithmetic would wrap around on subtraction; channels first so the
    spatial axes are the last two, as in the torch reference.
    """
    for rows in _row_bands(a):
        yield tuple(np.moveaxis(np.atleast_3d(image[rows]), -1, 0).astype(np.float64) for image in (a, b))


def _pooled_side(side: int, level: int) -> int:
    """Length of an axis of ``side`` samples after ``level`` poolings (each rounds up)."""
    for _ in range(level):
        side = (side + 1) // 2
    return side


def _pooled_bands(bands: Iterator[tuple[np.ndarray, np.ndarray]], height: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """The row bands of the next scale: 2×2 pooling (:func:`_avg_pool2`) of a stream of bands
    of an image ``height`` rows tall.

    An odd height gets its leading zero row before the first band, and a band's odd last row
    waits for the next band, so every band reaching :func:`_avg_pool2` holds whole row pairs
    of the padded image (its width is whole, so it pads its columns itself).
    """
    held: tuple[np.ndarray, np.ndarray] | None = None
    for index, band in enumerate(bands):
        if index == 0 and height % 2:
            held = tuple(np.zeros_like(part[:, :1]) for part in band)
        band = _after(held, band)
        rows = band[0].shape[1]
        even = rows - rows % 2
        held = _rows_from(band, even) if rows % 2 else None
        if even:
            yield tuple(_avg_pool2(part[:, :even]) for part in band)


def _after(held: tuple[np.ndarray, np.ndarray] | None, band: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """``band`` with the rows ``held`` back from the band before it prepended."""
    if held is None:
        return band
    return tuple(np.concatenate([kept, part], axis=1) for kept, part in zip(held, band))


def _rows_from(band: tuple[np.ndarray, np.ndarray], start: int) -> tuple[np.ndarray, np.ndarray]:
    """Copies of the rows of ``band`` from ``start`` on (copies, so the band itself can go)."""
    return tuple(part[:, start:].copy() for part in band)


class _ScaleStatistics:
    """Sums of one scale's SSIM and contrast–structure maps, per channel, fed row bands.

    The 'valid' window needs ``n − 1`` rows below each output row, so the last ``n − 1``
    rows of every band are kept and prepended to the next: each map row is computed once,
    from exactly the rows the whole-image filter would read.
    """

    def __init__(self, window: np.ndarray, c1: float, c2: float) -> None:
        self.window, self.c1, self.c2 = window, c1, c2
        self.ssim_sum = self.cs_sum = 0.0
        self.count = 0

    def observe(self, bands: Iterator[tuple[np.ndarray, np.ndarray]]) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Accumulate the maps of a stream of (C, rows, W) band pairs, passing each band on."""
        overlap = self.window.size - 1
        held: tuple[np.ndarray, np.ndarray] | None = None
        for band in bands:
            joined = _after(held, band)
            rows = joined[0].shape[1]
            if rows > overlap:
                self._add(*joined)
            held = _rows_from(joined, max(0, rows - overlap))
            del joined
            yield band

    def _add(self, x: np.ndarray, y: np.ndarray) -> None:
        ssim_map, cs_map = _ssim_maps(x, y, self.window, self.c1, self.c2)
        self.ssim_sum = self.ssim_sum + ssim_map.sum(axis=(-2, -1))
        self.cs_sum = self.cs_sum + cs_map.sum(axis=(-2, -1))
        self.count += ssim_map.shape[-2] * ssim_map.shape[-1]

    def ssim_mean(self) -> np.ndarray:
        """Mean SSIM per channel over every band seen."""
        return self.ssim_sum / self.count

    def cs_mean(self) -> np.ndarray:
        """Mean contrast–structure term per channel over every band seen."""
        return self.cs_sum / self.count


def _ms_ssim_levels(smaller_side: int) -> int:
    """Number of scales whose coarsest image still holds one full window (pytorch-msssim's rule)."""
    for levels in range(len(MS_SSIM_WEIGHTS), 0, -1):
        if smaller_side > (_WIN_SIZE - 1) * 2 ** (levels - 1):
            return levels
    raise ValueError(f"image too small for SSIM: shorter side {smaller_side} px, need at least {MS_SSIM_MIN_SIDE}")


def _gaussian_window(size: int, sigma: float) -> np.ndarray:
    """Normalized 1-D Gaussian taps centered on the middle tap."""
    coords = np.arange(size, dtype=np.float64) - size // 2
    g = np.exp(-(coords**2) / (2.0 * sigma**2))
    return g / g.sum()


def _filter_valid(stack: np.ndarray, window: np.ndarray) -> np.ndarray:
    """Separable 'valid' correlation of the last two axes with ``window``.

    A weighted sum of shifted views: 2×11 vectorized multiply–adds over the whole stack, which
    is much faster in numpy than a generic convolution and has no per-pixel Python loop.
    """
    n = window.size
    h, w = stack.shape[-2:]
    rows = window[0] * stack[..., : h - n + 1, :]
    for k in range(1, n):
        rows = rows + window[k] * stack[..., k : h - n + 1 + k, :]
    out = window[0] * rows[..., : w - n + 1]
    for k in range(1, n):
        out = out + window[k] * rows[..., k : w - n + 1 + k]
    return out


def _ssim_maps(x: np.ndarray, y: np.ndarray, window: np.ndarray, c1: float, c2: float) -> tuple[np.ndarray, np.ndarray]:
    """SSIM and contrast–structure maps of (C, H, W) images (each H − 10 by W − 10)."""
    # One filtering pass over all five moments at once.
    moments = _filter_valid(np.stack([x, y, x * x, y * y, x * y]), window)
    mu1, mu2, e_xx, e_yy, e_xy = moments
    mu1_sq, mu2_sq, mu1_mu2 = mu1 * mu1, mu2 * mu2, mu1 * mu2
    sigma1_sq = e_xx - mu1_sq
    sigma2_sq = e_yy - mu2_sq
    sigma12 = e_xy - mu1_mu2
    cs_map = (2.0 * sigma12 + c2) / (sigma1_sq + sigma2_sq + c2)
    ssim_map = (2.0 * mu1_mu2 + c1) / (mu1_sq + mu2_sq + c1) * cs_map
    return ssim_map, cs_map


def _avg_pool2(x: np.ndarray) -> np.ndarray:
    """2×2 mean pooling of the last two axes, exactly like ``avg_pool2d(2, padding=side % 2)``.

    For an odd side torch pads one zero on both ends; with stride 2 only the leading zero is
    ever inside a window, and it counts in the divisor. Reproduced here so results match.
    """
    h, w = x.shape[-2:]
    x = np.pad(x, [(0, 0)] * (x.ndim - 2) + [(h % 2, 0), (w % 2, 0)])
    h, w = x.shape[-2:]
    x = x[..., : h - h % 2, : w - w % 2]
    return 0.25 * (x[..., 0::2, 0::2] + x[..., 1::2, 0::2] + x[..., 0::2, 1::2] + x[..., 1::2, 1::2])


# --------------------------------------------------------------------------------------
# Rate
# --------------------------------------------------------------------------------------


def colourfulness(rgb: np.ndarray) -> float:
    """Hasler & Süsstrunk (2003) colorfulness of an (H, W, 3) RGB image on the 0–255 scale.

    ``sqrt(σ_rg² + σ_yb²) + 0.3·sqrt(μ_rg² + μ_yb²)`` with rg = R − G, yb = (R + G)/2 − B:
    0 for a gray image, ≈ 30–60 for ordinary photos. Colorization is judged by it because
    PSNR alone rewards a washed-out, sepia result.
    """
    r, g, b = (rgb[..., c].astype(np.float64) for c in range(3))
    rg, yb = r - g, 0.5 * (r + g) - b
    return float(math.hypot(rg.std(), yb.std()) + 0.3 * math.hypot(rg.mean(), yb.mean()))


def bpp(num_bytes: int, width: int, height: int) -> float:
    """Bits per pixel of a coded image.

    Always pass the size of the *whole* file (headers, side information, container chunks):
    that is what a user stores or sends, and it is how JPEG/WebP/AVIF are measured too, so the
    comparison is fair to the baselines.

    Args:
        num_bytes: Length of the complete encoded file in bytes.
        width: Image width in pixels.
        height: Image height in pixels.

    Returns:
        ``8·num_bytes / (width·height)``.

    Raises:
        ValueError: If the image has no pixels.
    """
    pixels = width * height
    if pixels <= 0:
        raise ValueError(f"image has no pixels: {width}x{height}")
    return 8.0 * num_bytes / pixels


# --------------------------------------------------------------------------------------
# Bjøntegaard deltas
# --------------------------------------------------------------------------------------


def bd_rate(
    rate_a: Sequence[float], psnr_a: Sequence[float], rate_b: Sequence[float], psnr_b: Sequence[float]
) -> float:
    """Bjøntegaard delta rate of codec B against anchor A, in percent.

    The average bitrate difference at equal quality, as a percentage of A's rate: negative
    means B needs fewer bits than A for the same PSNR. This is the piecewise-cubic variant
    used by the VCEG/JVET reference since 2017 (and by CompressAI-style tooling): log-rate is interpolated as a
    function of PSNR with a monotone PCHIP (not the original 3rd-order polynomial fit, which
    can oscillate and give nonsense with 4+ points), and the two interpolants are integrated
    exactly over the PSNR interval where both curves have data.

    Any quality metric can stand in for PSNR (e.g. MS-SSIM in dB); the units cancel.

    Args:
        rate_a: Rates of the anchor (bpp, bytes, kbit/s — any unit, same for both codecs).
        psnr_a: Quality of the anchor at those rates.
        rate_b: Rates of the tested codec.
        psnr_b: Quality of the tested codec at those rates.

    Returns:
        ``(exp(mean Δ log rate) − 1)·100``.

    Raises:
        ValueError: With fewer than 2 points per curve, non-positive rates, repeated quality
            values within a curve, non-finite values, or quality ranges that do not overlap.
    """
    log_a, q_a = _curve(rate_a, psnr_a)
    log_b, q_b = _curve(rate_b, psnr_b)
    mean_diff = _mean_difference(q_a, log_a, q_b, log_b, what="quality")
    return (math.exp(mean_diff) - 1.0) * 100.0


def bd_psnr(
    rate_a: Sequence[float], psnr_a: Sequence[float], rate_b: Sequence[float], psnr_b: Sequence[float]
) -> float:
    """Bjøntegaard delta PSNR of codec B against anchor A, in dB.

    The average quality difference at equal rate (positive = B is better): PSNR is
    PCHIP-interpolated as a function of log-rate and integrated over the overlapping log-rate
    interval, the same method as :func:`bd_rate` with the axes swapped.

    Args:
        rate_a: Rates of the anchor.
        psnr_a: PSNR of the anchor (dB).
        rate_b: Rates of the tested codec, same unit as ``rate_a``.
        psnr_b: PSNR of the tested codec (dB).

    Returns:
        Mean PSNR difference ``B − A`` over the common rate range, in dB.

    Raises:
        ValueError: As for :func:`bd_rate`, with the rate ranges required to overlap.
    """
    log_a, q_a = _curve(rate_a, psnr_a)
    log_b, q_b = _curve(rate_b, psnr_b)
    return _mean_difference(log_a, q_a, log_b, q_b, what="rate")


def _curve(rate: Sequence[float], quality: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    """Validated ``(log rate, quality)`` arrays of one RD curve."""
    r = np.asarray(rate, dtype=np.float64).ravel()
    q = np.asarray(quality, dtype=np.float64).ravel()
    if r.shape != q.shape:
        raise ValueError(f"{r.size} rates but {q.size} quality values")
    if r.size < 2:
        raise ValueError(f"a rate–distortion curve needs at least 2 points, got {r.size}")
    if not (np.all(np.isfinite(r)) and np.all(np.isfinite(q))):
        raise ValueError("rates and quality values must be finite")
    if np.any(r <= 0):
        raise ValueError("rates must be positive (the Bjøntegaard metric works on log-rate)")
    return np.log(r), q


def _mean_difference(x_a: np.ndarray, y_a: np.ndarray, x_b: np.ndarray, y_b: np.ndarray, what: str) -> float:
    """Mean of ``y_b(x) − y_a(x)`` over the common x range, both curves PCHIP-interpolated."""
    low = max(x_a.min(), x_b.min())
    high = min(x_a.max(), x_b.max())
    if not high > low:
        raise ValueError(f"the two curves' {what} ranges do not overlap; the Bjøntegaard delta is undefined")
    integral_a = _pchip_integral(x_a, y_a, low, high)
    integral_b = _pchip_integral(x_b, y_b, low, high)
    return (integral_b - integral_a) / (high - low)


def _pchip_slopes(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Derivatives at the knots of the monotone piecewise-cubic Hermite interpolant.

    Fritsch–Carlson monotone PCHIP with the Fritsch–Butland weighted harmonic mean at interior
    knots and the shape-preserving three-point formula at the ends — the same slopes as MATLAB
    ``pchip`` and SciPy ``PchipInterpolator``, so BD numbers agree with those tools. Monotone
    data give a monotone interpolant, which a rate–quality curve must be.
    """
    h = np.diff(x)
    m = np.diff(y) / h
    if x.size == 2:
        return np.array([m[0], m[0]])
    d = np.zeros_like(x)
    # Interior: 0 at local extrema / flat segments, else weighted harmonic mean of the secants.
    h0, h1 = h[:-1], h[1:]
    m0, m1 = m[:-1], m[1:]
    same_sign = (np.sign(m0) * np.sign(m1)) > 0
    w1 = 2.0 * h1 + h0
    w2 = h1 + 2.0 * h0
    with np.errstate(divide="ignore", invalid="ignore"):
        harmonic = (w1 + w2) / (w1 / m0 + w2 / m1)
    d[1:-1] = np.where(same_sign, harmonic, 0.0)
    d[0] = _pchip_end_slope(h[0], h[1], m[0], m[1])
    d[-1] = _pchip_end_slope(h[-1], h[-2], m[-1], m[-2])
    return d


def _pchip_end_slope(h0: float, h1: float, m0: float, m1: float) -> float:
    """Non-centered three-point end slope, limited so the end segment stays monotone."""
    d = ((2.0 * h0 + h1) * m0 - h0 * m1) / (h0 + h1)
    if np.sign(d) != np.sign(m0):
        return 0.0
    if np.sign(m0) != np.sign(m1) and abs(d) > abs(3.0 * m0):
        return 3.0 * m0
    return float(d)


def _pchip_integral(x: np.ndarray, y: np.ndarray, low: float, high: float) -> float:
    """Exact integral over [low, high] (inside the data range) of the PCHIP through (x, y)."""
    order = np.argsort(x, kind="stable")
    x, y = x[order], y[order]
    if np.any(np.diff(x) == 0):
        raise ValueError("repeated abscissa in a rate–distortion curve; PCHIP needs distinct values")
    d = _pchip_slopes(x, y)
    return _pchip_antiderivative(x, y, d, high) - _pchip_antiderivative(x, y, d, low)


def _pchip_antiderivative(x: np.ndarray, y: np.ndarray, d: np.ndarray, at: float) -> float:
    """∫ from x[0] to ``at`` of the cubic Hermite interpolant with knot slopes ``d``.

    On a segment of width h with t = (x − x_k)/h, the Hermite basis integrates to
    h·[y_k(t − t³ + t⁴/2) + h·d_k(t²/2 − 2t³/3 + t⁴/4) + y_{k+1}(t³ − t⁴/2) + h·d_{k+1}(t⁴/4 − t³/3)].
    """
    h = np.diff(x)
    segment = int(np.clip(np.searchsorted(x, at, side="right") - 1, 0, x.size - 2))

    def partial(k: np.ndarray | int, t: np.ndarray | float) -> np.ndarray | float:
        t2, t3, t4 = t * t, t**3, t**4
        return h[k] * (
            y[k] * (t - t3 + t4 / 2.0)
            + h[k] * d[k] * (t2 / 2.0 - 2.0 * t3 / 3.0 + t4 / 4.0)
            + y[k + 1] * (t3 - t4 / 2.0)
            + h[k] * d[k + 1] * (t4 / 4.0 - t3 / 3.0)
        )

    whole = np.arange(segment)
    full_segments = float(np.sum(partial(whole, np.ones(segment)))) if segment else 0.0
    t = (at - x[segment]) / h[segment]
    return full_segments + float(partial(segment, t))
