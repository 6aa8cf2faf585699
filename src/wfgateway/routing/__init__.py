"""Routing by config.yaml: routes -> backends (the engine or upstream vendors), run registry,
hot reload, metrics.  wfgateway.app builds the Router and hands its ``select`` to the pipeline."""
