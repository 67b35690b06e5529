"""python -m tests.regen_golden: rewrite every golden file from the current code."""

from tests.golden_cases import CASES, GOLDEN

if __name__ == "__main__":
    GOLDEN.mkdir(exist_ok=True)
    for name, produce in CASES.items():
        (GOLDEN / name).write_text(produce(), encoding="utf-8")
        print(f"wrote tests/golden/{name}")
