"""Batch inference: files of inferences submitted as one window for the monitoring controller."""
