"""Compare pycurlcb's run of pycurl's suite with real pycurl's, and judge it.

Rules (compat/README.md):
- every test that real pycurl passes must pass on pycurlcb, unless it is listed
  in compat/allowed-failures.txt (skipped, crashed or not run is not passed);
- a listed test that passes on pycurlcb fails the verdict (stale entry);
- a listed id that is not in the suite fails the verdict (full runs only: a
  selection cannot tell);
- at most MAX_LISTED entries;
- tests that real pycurl does not pass are reported, not required.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from suite import Result

MAX_LISTED = 25
ALLOWED_FILE = Path(__file__).resolve().parent / "allowed-failures.txt"
OUTCOMES = ["passed", "failed", "error", "crashed", "skipped", "xfailed", "xpassed", "not run"]
# `<node id>  # <reason>`: the id ends at the first run of two or more blanks
# before a `#`, so ids with single spaces, brackets or `#` inside stay whole.
_ENTRY = re.compile(r"(?P<id>\S.*?)\s{2,}#\s*(?P<reason>\S.*)")


def load_allowed(path: Path = ALLOWED_FILE) -> dict[str, str]:
    """node id -> reason; ValueError names the line that does not fit the format."""
    allowed: dict[str, str] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        match = _ENTRY.fullmatch(line)
        if not match or "::" not in match["id"]:
            raise ValueError(f"{path}:{number}: expected `<pytest node id>  # <reason>`, got {line!r}")
        if match["id"] in allowed:
            raise ValueError(f"{path}:{number}: {match['id']} is listed twice")
        allowed[match["id"]] = match["reason"]
    return allowed


def _file(test: str) -> str:
    return test.split("::", 1)[0]


def outcome(result: Result, test: str) -> str:
    if test in result.outcomes:
        return result.outcomes[test]
    return "error" if _file(test) in result.collect_errors else "not run"


def summary(label: str, result: Result, scope: set[str]) -> None:
    counts = Counter(outcome(result, test) for test in scope)
    parts = ", ".join(f"{counts[name]} {name}" for name in OUTCOMES if counts[name])
    took = f" in {result.seconds:.0f} s" if result.seconds else ""
    print(f"{label}: {len(scope)} tests{took}: {parts}")
    for path, message in sorted(result.collect_errors.items()):
        print(f"  collection error in {path}: {message}")
    for note in result.notes:
        print(f"  note: {note}")


def per_file_table(real: Result, cb: Result, scope: set[str]) -> None:
    columns = ["tests", "real pass", "cb pass", "cb fail", "cb error", "cb crash", "cb other"]
    print("\nper test file (cb = pycurlcb; other = skipped, xfailed, xpassed or not run):")
    print(f"{'file':40} " + " ".join(f"{c:>9}" for c in columns))
    for path in sorted({_file(test) for test in scope}):
        tests = [test for test in scope if _file(test) == path]
        cb_counts = Counter(outcome(cb, test) for test in tests)
        other = len(tests) - sum(cb_counts[name] for name in ("passed", "failed", "error", "crashed"))
        row = [len(tests), sum(outcome(real, test) == "passed" for test in tests), cb_counts["passed"],
               cb_counts["failed"], cb_counts["error"], cb_counts["crashed"], other]
        print(f"{path:40} " + " ".join(f"{n:>9}" for n in row))


def judge(real: Result, cb: Result, scope: set[str], allowed: dict[str, str], full_run: bool) -> bool:
    """Print the differences grouped by test file and the verdict; True if clean."""
    required = {test for test in scope if outcome(real, test) == "passed"}
    missing = sorted(test for test in required if outcome(cb, test) != "passed")
    unlisted = [test for test in missing if test not in allowed]
    stale = sorted(test for test in allowed if test in scope and outcome(cb, test) == "passed")
    unknown = sorted(test for test in allowed if test not in scope) if full_run else []

    print(f"\nreal pycurl passes, pycurlcb does not ({len(missing)}, {len(missing) - len(unlisted)} listed):")
    _by_file(missing, lambda test: _describe(cb, test) + (f"  [listed: {allowed[test]}]"
                                                          if test in allowed else ""))
    not_required = sorted(test for test in scope - required if outcome(real, test) != "skipped")
    skipped = len(scope - required) - len(not_required)
    print(f"\nreal pycurl does not pass, not required ({len(not_required)}, and {skipped} skipped):")
    _by_file(not_required, lambda test: f"real {_describe(real, test)}, pycurlcb {outcome(cb, test)}")

    listed = len(allowed)
    problems = []
    if unlisted:
        problems.append(f"{len(unlisted)} tests real pycurl passes fail on pycurlcb and are not listed")
    for test in stale:
        problems.append(f"stale entry, passes on pycurlcb: {test}")
    for test in unknown:
        problems.append(f"listed id not in the suite: {test}")
    if listed > MAX_LISTED:
        problems.append(f"{listed} listed entries, more than the {MAX_LISTED} allowed")
    print(f"\nlisted in {ALLOWED_FILE.name}: {listed} (at most {MAX_LISTED})"
          + ("" if full_run else "; a selection: only the selected tests are judged"))
    print("verdict: " + ("PASS" if not problems else "FAIL"))
    for problem in problems:
        print(f"  - {problem}")
    return not problems


def _describe(result: Result, test: str) -> str:
    text = outcome(result, test)
    if test in result.crashes:
        text += f" (pytest {result.crashes[test]})"
    return text


def _by_file(tests: list[str], describe: Callable[[str], str]) -> None:
    current = None
    for test in tests:
        if _file(test) != current:
            current = _file(test)
            print(f"  {current}")
        print(f"    {test.split('::', 1)[1]}: {describe(test)}")
