"""The `curate` stage and the annotation loop: the FiftyOne dataset (its database, splits,
embeddings and views) and the round trip through Label Studio."""
