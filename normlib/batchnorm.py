"""Batch normalization's layers now live in :mod:`normlib.layers` with the rest of the family;
this module keeps ``normlib.batchnorm.BatchNorm1d`` (and friends) importable."""

from .layers import BatchNorm1d, BatchNorm2d, BatchNorm3d, _BatchNorm  # noqa: F401

__all__ = ["BatchNorm1d", "BatchNorm2d", "BatchNorm3d"]
