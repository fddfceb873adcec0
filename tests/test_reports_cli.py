"""``fieldkit hq report …`` and ``fieldkit hq export`` on a seeded HQ database."""

import io
import json

import pytest
from click.testing import CliRunner
from docx import Document
from openpyxl import load_workbook

from fieldkit.cli import cli
from fieldkit.cli.hq import hq
from fieldkit.cli.hq_reports import register
from fieldkit.core.plugins import get_plugin_manager
from fieldkit.core.reporting import issue as issuing
from fieldkit.core.reporting import sample
from fieldkit.core.store.blobs import BlobStore
from fieldkit.core.store.sql import SQLStore
from fieldkit.core.units import load_unit_registry

if "report" not in hq.commands:  # the HQ CLI calls register(hq) once it ships it
    register(hq)


@pytest.fixture(scope="module")
def seeded(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hqcli")
    url = f"sqlite:///{folder / 'hq.db'}"
    pm = get_plugin_manager(load_entrypoints=False)
    units = load_unit_registry(pm)
    store = SQLStore(url)
    ids = sample.seed_sample(store, units, blobs=BlobStore(folder), pm=pm)
    store.close()
    return url, ids, folder


def run(*args):
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result


def test_report_inspection_docx(seeded, tmp_path):
    url, ids, folder = seeded
    out = tmp_path / "bc.docx"
    result = run("hq", "report", "inspection", ids[2], "--db", url, "--blobs", str(folder),
                 "--format", "docx", "--out", str(out), "--number", "3",
                 "--public-url", "https://hq.example.vn/", "--json")
    assert result.exit_code == 0, result.output
    info = json.loads(result.output)
    assert info["verify_url"] == f"https://hq.example.vn/verify/{info['id']}"
    document = Document(io.BytesIO(out.read_bytes()))
    assert "Số 3-BC/BCĐTW" in document.tables[0].rows[0].cells[0].text
    store = SQLStore(url)
    try:
        assert issuing.lookup(store, info["id"])["sha256"] == info["sha256"]
    finally:
        store.close()


def test_report_summary_xlsx_and_export_csv(seeded, tmp_path):
    url, _ids, _folder = seeded
    out = tmp_path / "tong-ket.xlsx"
    result = run("hq", "report", "summary", "--period", "2024", "--campaign", "ctr-72-2024",
                 "--format", "xlsx", "--out", str(out), "--db", url,
                 "--public-url", "https://hq.example.vn")
    assert result.exit_code == 0, result.output
    assert "Mã xác thực (verification id):" in result.output
    book = load_workbook(out)
    assert "Tỉnh × nội dung" in book.sheetnames
    csv_out = tmp_path / "ket-qua.csv"
    result = run("hq", "export", "--format", "csv", "--out", str(csv_out), "--db", url,
                 "--province", "25")
    assert result.exit_code == 0, result.output
    lines = csv_out.read_text(encoding="utf-8-sig").splitlines()
    assert lines[0].startswith("Mã cuộc kiểm tra,Ngày kiểm tra")
    assert len(lines) > 10 and all(",25,Tỉnh Phú Thọ," in line for line in lines[1:])


@pytest.mark.parametrize("args, message", [
    (["report", "summary", "--period", "2024-H3", "--out", "x.docx"], "is not a period"),
    (["report", "inspection", "khong-co", "--out", "x.docx", "--public-url", "http://h"],
     "No inspection with id khong-co"),
    (["report", "inspection", "ID", "--out", "x.docx"], "HQ's public address is not known"),
])
def test_errors_are_one_sentence(seeded, tmp_path, capsys, monkeypatch, args, message):
    from fieldkit.cli import main
    url, ids, _folder = seeded
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("FIELDKIT_PUBLIC_URL", raising=False)
    with pytest.raises(SystemExit) as exited:
        main(["hq", *[ids[0] if a == "ID" else a for a in args], "--db", url])
    assert exited.value.code != 0
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
