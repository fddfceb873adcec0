"""``fieldkit field …`` from the command line: the contract scripts rely on."""

import csv
import io
import json

import pytest

from cli_helpers import run_cli, run_json
from fieldkit.core.text import fold_key


@pytest.fixture
def data(tmp_path, monkeypatch):
    monkeypatch.setenv("FIELDKIT_DATA", str(tmp_path / "station"))
    return tmp_path / "station"


def _new(capsys, *extra):
    return run_json(capsys, "field", "inspection", "new", "--unit", "17", "--unit-kind",
                    "province", "--checklist", "vn.baseline.province", "--date", "2024-06-01",
                    "--json", *extra)


def test_init_then_inspect_answer_submit_export(capsys, data, tmp_path):
    info = run_json(capsys, "field", "init", "--json")
    assert info["data_dir"] == str(data) and info["device_id"]
    inspection = _new(capsys, "--team", "Đoàn 1")
    assert inspection["id"] and inspection["status"] == "draft"
    assert inspection["checklist"] == {"id": "vn.baseline.province", "version": "1.0.0"}

    listed = run_json(capsys, "field", "inspection", "list", "--json")
    assert [i["id"] for i in listed] == [inspection["id"]]

    finding = run_json(capsys, "field", "answer", inspection["id"], "LD01", "no",
                       "--note", "Chưa kiện toàn", "--json")
    assert finding["value"] == "no" and finding["flagged"] is True

    photo = tmp_path / "notice.png"
    from PIL import Image
    Image.new("RGB", (40, 30), "red").save(photo)
    code, out, err = run_cli(capsys, "field", "answer", inspection["id"], "LD07", "3",
                             "--evidence", photo, "--caption", "Lớp tập huấn")
    assert code == 0, err
    assert "Đã lưu" in out

    shown = run_json(capsys, "field", "inspection", "show", inspection["id"], "--json")
    by_item = {f["item"]: f for f in shown["findings"]}
    assert by_item["LD01"]["value"] == "no" and by_item["LD07"]["value"] == 3
    assert len(by_item["LD07"]["evidence"]) == 1 and shown["evidence"][0]["caption"] == "Lớp tập huấn"

    code, _, err = run_cli(capsys, "field", "submit", inspection["id"])
    assert code != 0 and "required items still open" in err and "Traceback" not in err

    definition = run_json(capsys, "checklists", "show", "vn.baseline.province", "--json")
    for section in definition["sections"]:
        for item in section["items"]:
            if item["code"] in by_item or not item.get("required", True):
                continue
            value = {"yes_no": "yes", "count": "5", "number": "100", "percent": "80",
                     "date": "2024-03-01", "text": "ok", "choice": None}[item["answer"]["type"]]
            if value is None:
                value = item["answer"]["choices"][0]["code"]
            code, _, err = run_cli(capsys, "field", "answer", inspection["id"], item["code"], value)
            assert code == 0, err
    submitted = run_json(capsys, "field", "submit", inspection["id"], "--json")
    assert submitted["status"] == "submitted" and "LD01" in submitted["flagged"]

    code, out, _ = run_cli(capsys, "field", "export", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert {r["item"] for r in rows} >= {"LD01", "LD07"}
    assert fold_key(rows[0]["unit_name"]).endswith(fold_key("Hòa Bình"))
    exported = run_json(capsys, "field", "export", "--format", "json")
    assert exported[0]["id"] == inspection["id"]


@pytest.mark.parametrize("args, message", [
    (["field", "answer", "nope", "LD01", "yes"], "No inspection with id nope."),
    (["field", "inspection", "new", "--unit", "17", "--unit-kind", "province", "--checklist",
      "vn.baseline.province", "--date", "2026-01-01"], "17"),
    (["field", "inspection", "new", "--unit", "17", "--unit-kind", "province", "--checklist",
      "no.such", "--date", "2024-01-01"], "No checklist with id no.such"),
    (["field", "inspection", "new", "--unit", "17", "--unit-kind", "province", "--checklist",
      "vn.baseline.province", "--date", "1/6/2024"], "--date must be a date"),
])
def test_field_errors_are_one_sentence(capsys, data, args, message):
    code, _, err = run_cli(capsys, *args)
    assert code != 0 and message in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_bad_answer_value_names_the_item(capsys, data):
    inspection = _new(capsys)
    code, _, err = run_cli(capsys, "field", "answer", inspection["id"], "LD01", "maybe")
    assert code != 0 and "LD01: answer yes, no, partial or na" in err


def test_csv_export_neutralises_formulas(capsys, data):
    inspection = _new(capsys)
    run_json(capsys, "field", "answer", inspection["id"], "LD01", "no", "--note",
             "=HYPERLINK(\"http://evil\")", "--json")
    code, out, _ = run_cli(capsys, "field", "export", "--format", "csv")
    row = next(csv.DictReader(io.StringIO(out)))
    assert row["note"].startswith("'=")
