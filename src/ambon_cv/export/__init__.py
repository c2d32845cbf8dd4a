"""The `export` stage: deployable formats of the trained detector, each proven equal to it on
the val split, timed side by side, packaged for Triton and described by a model card."""
