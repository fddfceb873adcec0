"""The benchmark suite still runs: ``python -m bench --smoke --json`` at toy sizes, checking
the shape of its JSON only (speed lives in bench/, never in assertions)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.slow


def run_bench(*args, tmp_path):
    env = dict(os.environ, PYTHONPATH=str(REPO))
    done = subprocess.run([sys.executable, "-m", "bench", "--smoke", "--json",
                           "--workdir", str(tmp_path), *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def assert_figure(figure, baselines):
    assert isinstance(figure["median"], float) and figure["median"] > 0
    assert set(figure["baselines"]) == set(baselines)
    for name in baselines:
        assert isinstance(figure["baselines"][name], float) and figure["baselines"][name] > 0


def test_smoke_json_has_every_quick_case_with_its_baselines(tmp_path):
    result = run_bench(tmp_path=tmp_path)

    assert_figure(result["field_write"], ["fsync_append", "tinydb_jsonstorage"])
    assert result["field_write"]["docs"] == 50
    assert result["field_write"]["writes"] > 0
    assert_figure(result["full_push_50_sqlite"], ["direct_insert", "discard_post"])
    assert result["full_push_50_sqlite"]["peak_rss_mb"] > 0
    assert_figure(result["incremental_10_on_50"], ["discard_post", "direct_upsert"])
    assert_figure(result["noop_sync_on_50"], [])
    for figure in (result["field_write"], result["full_push_50_sqlite"],
                   result["noop_sync_on_50"]):
        assert set(figure["targets"].values()) <= {"PASS", "MISS", "—"}
    assert result["_run"]["mode"] == "smoke"
    assert result["_run"]["machine"]["cores"] >= 1
    assert "python" in result["_run"]["versions"]
    # nothing left behind: the scratch folder is removed after the run
    assert list(tmp_path.iterdir()) == []


def test_only_and_sizes_select_what_runs(tmp_path):
    result = run_bench("--only", "field_write", "--sizes", "field_write=30", "--only",
                       "startup", tmp_path=tmp_path)

    assert set(result) == {"field_write", "startup_help", "_run"}
    assert result["field_write"]["docs"] == 30
    assert_figure(result["startup_help"], ["python_c_pass"])


def test_unknown_case_is_refused_with_the_list_of_cases(tmp_path):
    done = subprocess.run([sys.executable, "-m", "bench", "--smoke", "--only", "nope"],
                          cwd=REPO, capture_output=True, text=True, timeout=60,
                          env=dict(os.environ, PYTHONPATH=str(REPO)))
    assert done.returncode != 0
    assert "field_write" in done.stderr and "nope" in done.stderr
