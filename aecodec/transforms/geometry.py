"""The transforms' grid: how many pixels one latent and one hyper-latent element cover.

Standard library only, so the torch-free codec and the restoration heads share the numbers
with the torch networks that define them.
"""

STRIDE = 16
"""Pixels per latent element along each side: g_a's four stride-2 convolutions."""
HYPER_STRIDE = 64
"""Pixels per hyper-latent element along each side: h_a's two more stride-2 convolutions."""
