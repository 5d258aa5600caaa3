"""Data rules: each checked on whole columns, each broken rule an issue of its severity."""

import numpy as np
import pytest

from modelops.errors import InvalidInput
from modelops.validation import check_rules, rules, validate


def frame():
    return {
        "id": np.array([1, 2, 3, 3, 5, 6]),
        "age": np.array([25, 17, 40, np.nan, 130, 33]),
        "country": np.array(["DE", "FR", "XX", "DE", None, "IT"], dtype=object),
        "email": np.array(["a@b.de", "bad", "c@d.fr", "e@f.it", "g@h.de", "x@y"]),
        "phone": np.array([None, None, "1", None, "2", "3"], dtype=object),
        "income": np.array([30.0, 40.0, 50.0, 60.0, 70.0, 80.0]),
        "loan": np.array([100.0, 900.0, 100.0, 100.0, 100.0, 100.0]),
    }


def test_every_kind_of_rule():
    result = check_rules(frame(), [
        rules.between("age", 18, 100),
        rules.isin("country", ["DE", "FR", "IT"], severity="warning"),
        rules.not_null("country", severity="info"),
        rules.unique("id"),
        rules.matches("email", r"[^@]+@[^@]+\.[a-z]+"),
        rules.share_missing_below("phone", 0.4),
        rules.row("loan within ten incomes", lambda f: f["loan"] <= 10 * f["income"],
                  columns=["loan", "income"]),
    ])
    found = {(i.check, i.severity, i.count) for i in result.issues}
    assert found == {
        ("between(age)", "error", 2),                 # 17 and 130; NaN is not_null's business
        ("isin(country)", "warning", 1),              # XX; None is not judged
        ("not_null(country)", "info", 1),
        ("unique(id)", "error", 1),                   # the second 3
        ("matches(email)", "error", 2),               # "bad", "x@y"
        ("share_missing_below(phone)", "error", 3),   # half missing
        ("loan within ten incomes", "error", 1),
    }
    assert not result.passed
    age = next(i for i in result.issues if i.check == "between(age)")
    assert age.details["examples"] == (17.0, 130.0) and age.details["rows"] == (1, 4)


def test_rules_that_hold_give_no_issue_and_a_missing_column_is_one():
    result = check_rules(frame(), [rules.between("income", 0, None), rules.unique("email"),
                                   rules.not_null("salary")])
    assert [i.check for i in result.issues] == ["not_null(salary)"]
    assert result.issues[0].details["missing_column"]


def test_rules_join_validate_and_bad_rules_are_refused():
    result = validate(frame(), rules=[rules.unique("id", severity="warning")])
    assert any(i.check == "unique(id)" and i.severity == "warning" for i in result.issues)
    with pytest.raises(InvalidInput, match="one boolean per row"):
        check_rules(frame(), [rules.row("bad", lambda f: f["age"])])
    with pytest.raises(InvalidInput, match="severity"):
        rules.not_null("x", severity="fatal")
    with pytest.raises(InvalidInput, match="regular expression"):
        rules.matches("x", "(")
    with pytest.raises(InvalidInput, match="Rule"):
        check_rules(frame(), ["age > 0"])


def test_a_million_rows():
    n = 1_000_000
    rng = np.random.default_rng(0)
    big = {"x": rng.normal(0, 1, n), "city": rng.choice(["a", "b", "c"], n)}
    result = check_rules(big, [rules.between("x", -10, 10), rules.isin("city", "abc"),
                               rules.matches("city", "[a-c]"), rules.unique("x")])
    assert result.passed
