"""Cold start of `kttui --help` next to a bare `python -c pass`, in one run."""

from __future__ import annotations

from _common import PY, ROOT, ms, time_command


def main() -> None:
    n = 20
    floor = time_command([PY, "-c", "pass"], n)
    helps = time_command([PY, "-m", "kttui", "--help"], n)
    validate = time_command(
        [PY, "-m", "kttui", "validate", str(ROOT / "specs" / "quickstart.yaml")], 5
    )
    print(f"python -c pass:        {ms(floor)}")
    print(f"kttui --help:          {ms(helps)}")
    print(f"kttui validate SPEC:   {ms(validate)}")


if __name__ == "__main__":
    main()
