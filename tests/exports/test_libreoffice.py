"""LibreOffice opens the ledger and the report cleanly, prints them, and never runs user text.

CI must have LibreOffice (Debian package ``libreoffice-calc-nogui``): with ``CI=true`` a missing
``soffice`` fails the run instead of skipping it.
"""

from __future__ import annotations

import csv
import io
import os
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from exports.ledger import LedgerSheet, write_ledger, write_ledger_zip
from exports.report import write_report
from exports.text import clean_control_chars
from tests.exports.test_report import make_report
from tests.exports.xlsx_checks import HOSTILE, META, hostile_rows, make_row


def _soffice() -> str:
    found = shutil.which("soffice") or shutil.which("libreoffice")
    if found is None:
        if os.environ.get("CI") == "true":
            pytest.fail("LibreOffice is required in CI: apt-get install libreoffice-calc-nogui")
        pytest.skip("LibreOffice (soffice) is not installed")
    return found


def _convert(tmp_path: Path, target: str, *files: Path) -> None:
    # A private profile: concurrent soffice runs sharing one profile block or crash each other.
    profile = (tmp_path / "lo-profile").as_uri()
    subprocess.run(
        [
            _soffice(),
            f"-env:UserInstallation={profile}",
            "--headless",
            "--norestore",
            "--convert-to",
            target,
            "--outdir",
            str(tmp_path),
            *map(str, files),
        ],
        check=True,
        capture_output=True,
        timeout=180,
    )


def test_ledger_and_report_print_to_pdf(tmp_path: Path) -> None:
    _soffice()
    ledger = tmp_path / "ledger.xlsx"
    rows = [*hostile_rows(), *(make_row(name=f"重庆第{i}新材料有限公司") for i in range(60))]
    write_ledger(ledger, [LedgerSheet("B4.01", "玻璃纤维及制品", rows)], META)
    report = tmp_path / "report.xlsx"
    write_report(report, make_report())
    _convert(tmp_path, "pdf", ledger, report)
    for name in ("ledger.pdf", "report.pdf"):
        pdf = (tmp_path / name).read_bytes()
        assert pdf.startswith(b"%PDF-")
        assert pdf.count(b"/Type /Page\n") + pdf.count(b"/Type/Page") >= 2, name


def test_libreoffice_reads_user_text_as_text_and_computes_totals(tmp_path: Path) -> None:
    _soffice()
    archive = tmp_path / "ledgers.zip"
    write_ledger_zip(archive, [LedgerSheet("B4.01", "玻璃纤维及制品", hostile_rows())], META)
    with zipfile.ZipFile(archive) as z:
        (member,) = z.namelist()
        book = tmp_path / "ledger.xlsx"
        book.write_bytes(z.read(member))
    # CSV, UTF-8 (76), comma-separated, double-quoted: the cells as LibreOffice evaluated them.
    _convert(tmp_path, "csv:Text - txt - csv (StarCalc):44,34,76,1", book)
    text = (tmp_path / "ledger.csv").read_text(encoding="utf-8")
    records = list(csv.reader(io.StringIO(text, newline="")))
    names = [r[1] for r in records[4 : 4 + len(HOSTILE)]]
    # Every name shows exactly as stored: no formula ran, no escape is left undecoded.
    assert names == [clean_control_chars(t) for t in HOSTILE]
    total = records[4 + len(HOSTILE)]
    assert total[0] == "合计"
    assert total[1] == f"共{len(HOSTILE)}家"
    assert total[16] == "0.00"  # eight rows of +1234.5 and eight of −1234.5
