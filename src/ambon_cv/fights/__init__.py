"""Real fights learned from clips labelled only per clip: motion features, the clip
classifier, and the `fights` stage."""
