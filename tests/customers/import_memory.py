"""Peak memory of an import, measured in a fresh process (run by test_importing_safety.py).

Usage: python -m tests.customers.import_memory FILE [--apply] → prints how far previewing FILE (what
import_batch_create does before saving) — or, with --apply, previewing it, storing the batch and applying it —
raised the process's peak resident memory (VmHWM), in MB, and the row count: "peak_mb rows". An applied import
is rolled back at the end: the test database is shared.
"""

import os
import sys


def _vm_hwm_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM")


def main(path: str, *, apply: bool) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    import django

    django.setup()
    from django.db import transaction

    from customers.importing import import_batch_apply, import_batch_create
    from customers.importing.streaming import preview

    base = _vm_hwm_mb()
    with open(path, "rb") as file:
        content = file.read()
    if not apply:
        summary = preview(content)
        print(f"{_vm_hwm_mb() - base:.0f} {summary.row_count}")
        return
    with transaction.atomic():
        batch = import_batch_create(file_name="big.csv", content=content, by=None)
        del content
        batch = import_batch_apply(batch=batch, by=None)
        assert batch.status == "applied", batch.errors[:3]
        print(f"{_vm_hwm_mb() - base:.0f} {batch.created_count}")
        transaction.set_rollback(True)


if __name__ == "__main__":
    main(sys.argv[1], apply="--apply" in sys.argv[2:])
