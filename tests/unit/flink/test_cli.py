"""`flink-manager simulate`: serves the simulated cluster; bad input is one line on stderr and a non-zero exit."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import urllib.request

import pytest

from flink_manager.cli import build_parser, main
from tests.waiting import wait_for_sync

BAD_INPUT = [
    ("an unknown timing step", ["simulate", "--timing", "warp=1"], "--timing 'warp=1': unknown step 'warp'"),
    ("a timing that is not a number", ["simulate", "--timing", "savepoint=soon"], "'soon' is not a number of seconds"),
    (
        "a Flink version that is not one",
        ["simulate", "--flink-version", "latest"],
        "--flink-version: 'latest' is not a Flink version (major.minor.patch, e.g. 2.3.0)",
    ),
]


@pytest.mark.parametrize(("argv", "message"), [row[1:] for row in BAD_INPUT], ids=[row[0] for row in BAD_INPUT])
def test_bad_input_is_one_line_and_exit_status_1(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("flink-manager simulate: error: ") and message in err


def test_a_port_in_use_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["simulate", "--port", str(port)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"cannot listen on 127.0.0.1:{port}" in err


def test_every_subcommand_is_a_function_of_its_own() -> None:
    args = build_parser().parse_args(["simulate", "--slots", "2", "--seed", "3", "--timings", "fast"])
    assert args.handler.__name__ == "simulate" and (args.slots, args.seed, args.timings) == (2, 3, "fast")
    with pytest.raises(SystemExit):
        build_parser().parse_args(["simulate", "--slots", "0"])


@pytest.mark.parametrize(
    ("option", "version"),
    [((), "2.3.0"), (("--flink-version", "1.18.1"), "1.18.1")],
    ids=["the newest by default", "1.18.1"],
)
def test_simulate_serves_flinks_rest_api_until_terminated(option: tuple[str, ...], version: str) -> None:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "flink_manager.cli",
            "simulate",
            "--port",
            "0",
            "--seed",
            "1",
            "--timings",
            "fast",
            *option,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        banner = process.stdout.readline()
        assert banner.startswith(f"Simulated Flink {version} session cluster at ")
        url = banner.split(" at ", 1)[1].split(" ", 1)[0]
        with urllib.request.urlopen(url + "/overview", timeout=10) as response:
            overview = json.load(response)
        assert overview["flink-version"] == version and overview["slots-total"] == 4
    finally:
        process.send_signal(signal.SIGTERM)
        wait_for_sync(lambda: process.poll() is not None, timeout=30, what="the simulator to exit")
    assert process.returncode == 0
