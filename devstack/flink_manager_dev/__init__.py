"""The two fakes and the stack behind `flink-manager dev`: the embedded Kubernetes API (`kubeapi`), the simulated
Flink session cluster (`simulator`), and the in-process stack that runs them with the operator (`stack`).

A distribution of its own (`flink-manager-dev`, from `devstack/`), so that the operator's image does not carry
them; `make install` installs it beside `flink-manager`.
"""
