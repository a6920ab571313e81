"""A real Flink 2.3 session cluster for the contract and end-to-end tests."""
