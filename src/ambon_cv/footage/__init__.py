"""The `footage` stage: recorded clips from a recorder export, S3 or the synthetic city, and their
manifest."""
