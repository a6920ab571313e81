"""`python -m flink_manager.dev.kubeapi`: serve the embedded Kubernetes API standalone."""

import sys

from flink_manager.dev.kubeapi.standalone import main

sys.exit(main())
