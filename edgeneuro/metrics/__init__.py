"""Seizure-detection metrics: post-processing of window decisions and SzCORE event scoring."""
