"""The peer for the import bench: django-import-export in bulk mode, importing a roster into an
equivalent Django model on SQLite, in its own virtualenv (never /tmp/venv, never pyproject).

Why 2.3.0 and not 1.x: the issue names "django-import-export (1.x, bulk mode)", but no 1.x has a
bulk mode. 1.2.0, the last 1.x, installs and imports (on Django 2.2 only: it needs
django.utils.six, gone in Django 3.0), yet imports row by row with one save() per row;
`use_bulk` and `batch_size` first appear in 2.3.0. So the peer is 2.3.0, the oldest release with
bulk mode, on Django 3.2 LTS (the first Django that runs on Python 3.11 in practice).

The peer is handed the plain-header roster (bench.roster.make_roster(messy=False)): the same
rows and the same 20 columns, typed cells under a one-row header at row 1, because
django-import-export reads the first row as the header and cannot parse the messy roster's
title rows, merged two-row header, "1,234.5万元" or "2019年3月5日". The plain file is easier
for it, so the comparison leans its way. Timed end to end like TierLedger: read the file's bytes,
tablib loads the .xlsx (openpyxl underneath), `resource.import_data(dataset, dry_run=False)`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

VENV = Path("/tmp/tierledger-bench-dje")
PINS = {"django-import-export": "2.3.0", "Django": "3.2.25"}
REQUIREMENTS = [f"{name}=={version}" for name, version in PINS.items()] + ["tablib[xlsx]"]
WHY = (
    "the issue asks for 1.x in bulk mode, but 1.x has no bulk mode (1.2.0, the last 1.x, saves "
    "row by row and needs Django <= 2.2); use_bulk/batch_size first appear in 2.3.0, the oldest "
    "release with bulk mode, run here on Django 3.2 LTS under Python 3.11"
)

_SETTINGS = """\
SECRET_KEY = "bench"
DEBUG = False
USE_TZ = False
INSTALLED_APPS = ["import_export", "peerapp"]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": DB_PATH}}
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
IMPORT_EXPORT_USE_TRANSACTIONS = True
"""

_MODELS = """\
from django.db import models
from django.db.backends.signals import connection_created


class Enterprise(models.Model):
    # The roster's 19 data columns (序号 is a row number): one flat table, with district,
    # subsector, chain position and tier kept as text rather than resolved to references.
    credit_code = models.CharField(max_length=18, unique=True)
    name = models.CharField(max_length=200, db_index=True)
    district = models.CharField(max_length=40)
    subsector = models.CharField(max_length=100)
    chain_position = models.CharField(max_length=40)
    main_products = models.CharField(max_length=500)
    established_on = models.DateField(null=True)
    address = models.CharField(max_length=300)
    legal_representative = models.CharField(max_length=60)
    contact_person = models.CharField(max_length=60)
    contact_phone = models.CharField(max_length=40)
    tier = models.CharField(max_length=40)
    batch = models.CharField(max_length=40)
    designated_on = models.DateField(null=True)
    operating_revenue = models.DecimalField(max_digits=18, decimal_places=4, null=True)
    rd_expense = models.DecimalField(max_digits=18, decimal_places=4, null=True)
    employees = models.IntegerField(null=True)
    rd_staff = models.IntegerField(null=True)
    notes = models.TextField(null=True)


def _pragmas(sender, connection, **kwargs):
    # The same SQLite settings TierLedger's engine uses (service/db.py).
    if connection.vendor == "sqlite":
        with connection.cursor() as cur:
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")


connection_created.connect(_pragmas)
"""

_RUN = """\
import json, os, sys, time
from datetime import date, datetime
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
os.environ["DJANGO_SETTINGS_MODULE"] = "settings"
import django

django.setup()
from importlib.metadata import version

import tablib
from django.core.management import call_command
from import_export import fields, resources, widgets
from peerapp.models import Enterprise


class Date(widgets.DateWidget):
    # tablib hands Excel dates over as datetimes; store and compare them as dates.
    def clean(self, value, row=None, *args, **kwargs):
        value = super().clean(value, row, *args, **kwargs)
        return value.date() if isinstance(value, datetime) else value


COLUMNS = {
    "credit_code": ("统一社会信用代码", None),
    "name": ("企业名称", None),
    "district": ("所属区县", None),
    "subsector": ("细分领域", None),
    "chain_position": ("产业链环节", None),
    "main_products": ("主营产品", None),
    "established_on": ("成立日期", Date()),
    "address": ("注册地址", None),
    "legal_representative": ("法定代表人", None),
    "contact_person": ("联系人", None),
    "contact_phone": ("联系电话", None),
    "tier": ("企业梯度", None),
    "batch": ("认定批次", None),
    "designated_on": ("认定日期", Date()),
    "operating_revenue": ("营业收入", widgets.DecimalWidget()),
    "rd_expense": ("研发费用", widgets.DecimalWidget()),
    "employees": ("从业人员", widgets.IntegerWidget()),
    "rd_staff": ("研发人员", widgets.IntegerWidget()),
    "notes": ("备注", None),
}


class Meta:
    model = Enterprise
    fields = tuple(COLUMNS)
    import_id_fields = ["credit_code"]
    use_bulk = True
    batch_size = 1000
    skip_unchanged = True
    report_skipped = True


# Declared fields map the roster's Chinese header labels onto the model's attributes.
declared = {
    attr: fields.Field(attribute=attr, column_name=label, widget=widget or widgets.Widget())
    for attr, (label, widget) in COLUMNS.items()
}
attrs = {"Meta": Meta, "__module__": __name__, **declared}
EnterpriseResource = type(resources.ModelResource)(
    "EnterpriseResource", (resources.ModelResource,), attrs
)

call_command("migrate", run_syncdb=True, verbosity=0)
path = Path(sys.argv[1])
out = {"versions": {p: version(p) for p in ("django-import-export", "Django", "tablib")}}
for run in ("first", "again"):
    started = time.perf_counter()
    dataset = tablib.Dataset().load(path.read_bytes(), format="xlsx")
    loaded = time.perf_counter() - started
    result = EnterpriseResource().import_data(dataset, dry_run=False)
    seconds = time.perf_counter() - started
    assert not result.has_errors() and not result.has_validation_errors(), run
    out[run] = {
        "seconds": seconds,
        "load_seconds": loaded,
        "rows": len(dataset),
        "totals": dict(result.totals),
    }
    print(json.dumps({run: out[run]}), file=sys.stderr, flush=True)
out["stored"] = Enterprise.objects.count()
for line in Path("/proc/self/status").read_text().splitlines():
    if line.startswith("VmHWM:"):
        out["peak_mb"] = int(line.split()[1]) / 1024
print(json.dumps(out))
"""


def _python() -> Path:
    return VENV / "bin" / "python"


def _installed() -> dict[str, str]:
    probe = (
        "import json; from importlib.metadata import version, PackageNotFoundError\n"
        "out = {}\n"
        f"for p in {sorted(PINS)!r}:\n"
        "    try: out[p] = version(p)\n"
        "    except PackageNotFoundError: pass\n"
        "print(json.dumps(out))"
    )
    proc = subprocess.run([_python(), "-c", probe], capture_output=True, text=True, check=True)
    return json.loads(proc.stdout)


def ensure_venv() -> Path:
    """The peer's virtualenv, created on first use and reused while its pins hold."""
    if not _python().exists():
        print(f"creating {VENV} for django-import-export …", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    if _installed() != PINS:
        print(f"pip install {' '.join(REQUIREMENTS)} into {VENV} …", flush=True)
        subprocess.run(
            [_python(), "-m", "pip", "install", "--quiet", *REQUIREMENTS],
            check=True,
            env=dict(os.environ, PIP_DISABLE_PIP_VERSION_CHECK="1"),
        )
    return _python()


def write_project(where: Path, db: Path) -> Path:
    """Settings, one app with the Enterprise model, and the timed runner; returns the runner."""
    (where / "peerapp").mkdir(parents=True, exist_ok=True)
    (where / "peerapp" / "__init__.py").write_text("")
    (where / "peerapp" / "models.py").write_text(_MODELS)
    (where / "settings.py").write_text(f"DB_PATH = {str(db)!r}\n" + _SETTINGS)
    (where / "run.py").write_text(_RUN)
    return where / "run.py"


def run(path: Path, where: Path, *, timeout: float) -> dict | None:
    """Import `path` twice (first, then all unchanged) on a fresh database; None on timeout."""
    python = ensure_venv()
    runner = write_project(where, where / "peer.sqlite3")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    started = time.perf_counter()
    try:
        proc = subprocess.run(
            [python, str(runner), str(path)],
            capture_output=True,
            text=True,
            cwd=where,
            env=env,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        return None
    if proc.returncode:
        raise RuntimeError(f"django-import-export run failed:\n{proc.stderr[-4000:]}")
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    out["wall_seconds"] = time.perf_counter() - started
    return out
