"""The `frames` stage: JPEG frames sampled from the footage, near-duplicates dropped."""
