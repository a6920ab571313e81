"""Structural schemas of custom resources: pruning, defaulting, validation and CEL rules, as the apiserver does."""
