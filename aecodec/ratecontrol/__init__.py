"""Rate control: code an image to a bits-per-pixel, file-size or PSNR target.

One module per job, each imported by what it names:

* :mod:`~aecodec.ratecontrol.targets`: :class:`RateTarget` and size parsing (standard
  library only, for the CLI);
* :mod:`~aecodec.ratecontrol.record`: :class:`TargetRecord`, the container's ``tRGT`` payload;
* :mod:`~aecodec.ratecontrol.steering`: :class:`SteeringCurve`, the curve a search follows;
* :mod:`~aecodec.ratecontrol.search`: :func:`search_quality`, the search on plain functions;
* :mod:`~aecodec.ratecontrol.trials`: :class:`TrialRunner`, an image's trials and estimates;
* :mod:`~aecodec.ratecontrol.predicted_curves`: an image's rate and PSNR curves predicted
  from its latent.
"""
