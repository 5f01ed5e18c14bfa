"""Peak memory of an import preview, measured in a fresh process (run by test_importing_memory.py).

Usage: python -m tests.customers.import_memory FILE  → prints how far previewing FILE (what import_batch_create
does before saving) raised the process's peak resident memory (VmHWM), in MB, and the row count: "peak_mb rows".
"""

import os
import sys


def _vm_hwm_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM")


def main(path: str) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    import django

    django.setup()
    from customers.importing.streaming import preview

    base = _vm_hwm_mb()
    with open(path, "rb") as file:
        content = file.read()
    summary = preview(content)
    print(f"{_vm_hwm_mb() - base:.0f} {summary.row_count}")


if __name__ == "__main__":
    main(sys.argv[1])
