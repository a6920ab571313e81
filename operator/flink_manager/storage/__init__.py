"""Reads of the storage Flink writes checkpoints and savepoints to (the operator never writes there)."""
