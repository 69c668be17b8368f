"""Helpers of the browser tests: accessibility scans, actions through their confirmation, table reading."""

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

BLOCKING_IMPACTS = ("serious", "critical")
_axe = Axe()


def axe_violations(page: Page, label: str) -> list[str]:
    """The serious and critical axe-core violations of the page as it stands, one readable line per node."""
    results = _axe.run(page)
    lines = []
    for violation in results.response["violations"]:
        if violation.get("impact") not in BLOCKING_IMPACTS:
            continue
        for node in violation["nodes"]:
            target = " ".join(str(t) for t in node.get("target", []))
            summary = (node.get("failureSummary") or "").replace("\n", " ")
            lines.append(
                f"[{label}] {violation['id']} ({violation['impact']}) at {target}: {violation['help']}"
                f" - {summary} ({violation.get('helpUrl', '')})"
            )
    return lines


def assert_accessible(page: Page, label: str) -> None:
    violations = axe_violations(page, label)
    assert not violations, "axe-core found serious or critical violations:\n" + "\n".join(violations)


def submit_action(page: Page, fill=None) -> None:
    """Fill the action form (with `fill(page)`), continue to the confirmation page and confirm."""
    if fill:
        fill(page)
    page.get_by_test_id("submit").click()
    expect(page.get_by_role("heading", name="Please confirm")).to_be_visible()
    page.get_by_test_id("confirm").click()


def table_rows(page: Page, testid: str) -> list[list[str]]:
    """The text of each cell of each row with `data-testid=testid`, whitespace squeezed."""
    return page.get_by_test_id(testid).evaluate_all(
        "rows => rows.map(r => Array.from(r.cells).map(c => c.innerText.replace(/\\s+/g, ' ').trim()))"
    )


def each_case(cases, check) -> None:
    """Run `check` on every case, then fail once, naming every case that failed (signing in once for all)."""
    failures = []
    for case in cases:
        try:
            check(*case[1:])
        except AssertionError as exc:
            failures.append(f"{case[0]} {case[1]!r}: {str(exc).splitlines()[0]}")
    assert not failures, "\n".join(failures)
