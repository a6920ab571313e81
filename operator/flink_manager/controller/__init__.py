"""The kopf controller: `kopf run -m flink_manager.controller` registers every handler by importing this."""

from flink_manager.controller import handlers  # noqa: F401 - registers the kopf handlers
