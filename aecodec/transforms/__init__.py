"""The four learned transforms of a hyperprior codec (Ballé et al. 2018, Minnen et al. 2018).

::

    x ──g_a──► y ──h_a──► z          (analysis: image → latent → hyper-latent)
    ŷ ◄─h_s── ẑ;  ŷ ──g_s──► x̂        (synthesis: hyper-latent → entropy parameters; latent → image)

``g_a`` is also the shared backbone of the restoration heads, so it can return its
intermediate feature maps.

The networks live in :mod:`~aecodec.transforms.analysis` and
:mod:`~aecodec.transforms.synthesis` (torch); :mod:`~aecodec.transforms.geometry` holds their
strides and imports nothing, so this package's ``__init__`` imports nothing either: the
torch-free codec reads the strides without loading torch.
"""
