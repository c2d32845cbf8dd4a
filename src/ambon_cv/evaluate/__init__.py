"""The `evaluate` stage: frame metrics, event metrics through the alert engine, and the
real-footage checks of the trained detector and the fight analytic."""
