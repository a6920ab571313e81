"""`python -m flink_manager_dev.kubeapi`: serve the embedded Kubernetes API standalone."""

import sys

from flink_manager_dev.kubeapi.standalone import main

sys.exit(main())
