"""`python -m tests.bench`: see tests/bench/main.py."""

from tests.bench.main import main

main()
