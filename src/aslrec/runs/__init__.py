"""Trained runs on disk: the training config, the run directory's files and its typed view,
calibration and ensemble directories. Above models and data, below everything that uses a run.
"""
