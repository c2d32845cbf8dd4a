"""The `train` stage and the released base detector: fine-tuning, named starts and the learning
curve in human labels."""
