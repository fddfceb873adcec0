"""Start-up: ``fieldkit --help`` (the console script, in a subprocess) against
``python -c pass`` (the interpreter's own start-up), interleaved, wall time per run."""

import shutil
import subprocess
import sys
import time

from .common import Figure, NotMeasured, check_at_most, log, median, not_measured, ratio

TARGET = 0.3  # s


def _time(command):
    started = time.perf_counter()
    done = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise NotMeasured(f"{' '.join(command)} failed: {done.stderr.decode()[-200:]}")
    return seconds


def run(ctx):
    script = shutil.which("fieldkit")
    if script is None:
        return [not_measured("startup_help", "`fieldkit --help` start-up",
                             "the fieldkit console script is not on PATH")]
    runs = ctx.settings.repeat(ctx.settings.pick(10, 5, 2))
    mine, python = [], []
    _time([script, "--help"])  # warm the file cache and the .pyc files first
    for number in range(runs):
        pair = [(mine, [script, "--help"]), (python, [sys.executable, "-c", "pass"])]
        for bucket, command in (pair if number % 2 == 0 else pair[::-1]):
            bucket.append(_time(command))
    log(f"startup: fieldkit --help {median(mine) * 1e3:.0f} ms, python -c pass "
        f"{median(python) * 1e3:.0f} ms")
    figure = Figure("startup_help", "`fieldkit --help` start-up", median(mine),
                    baselines={"python_c_pass": median(python)}, stats={"runs": runs})
    figure.checks.append(check_at_most("≤ 0.3 s", figure.median, TARGET,
                                       f"{figure.median:.3f} s"))
    extra = ratio(figure.median, figure.baselines["python_c_pass"])
    figure.stats["ratio_to_python"] = extra and round(extra, 2)
    return [figure]
