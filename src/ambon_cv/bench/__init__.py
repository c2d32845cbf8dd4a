"""The live-load benchmark: does a model on a machine hold the command center's streams?"""
