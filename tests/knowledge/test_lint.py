"""`tthc lint` finds what staff must fix, and the bundled knowledge base is clean."""

from dataclasses import replace

from knowledge.lint import lint


def test_bundled_knowledge_base_is_lint_clean(bundled):
    assert [str(problem) for problem in lint(bundled)] == []


def test_bundled_knowledge_base_is_complete(bundled):
    assert len(bundled) >= 51
    for info in bundled:
        assert info.empty_keys() == [], info.code
        assert len(info.aliases) >= 5, info.code
        assert info.source_url.startswith("https://"), info.code


def test_lint_reports_empty_duplicate_and_shadowing_aliases(bundled):
    birth = next(info for info in bundled if info.code == "1.001193")
    marriage = next(info for info in bundled if info.code == "1.000894")
    broken = [
        replace(birth, fees="", aliases=(*birth.aliases, "Đăng ký kết hôn")),
        replace(marriage, aliases=(*marriage.aliases, "lam giay khai sinh")),
    ]
    found = {str(problem) for problem in lint(broken)}
    assert "1.001193, field 'fees': empty" in found
    assert any("1.001193, field 'aliases': 'Đăng ký kết hôn' is the name of 1.000894" in line for line in found)
    assert any(
        line.startswith("1.000894, field 'aliases': 'lam giay khai sinh' is also an alias of 1.001193")
        for line in found
    )
