"""`python -m flink_manager.cli`: the same as the `flink-manager` command."""

import sys

from flink_manager.cli import main

sys.exit(main())
