"""Round parameters: safe defaults and the documented abort probabilities."""

from __future__ import annotations

import math

import pytest

from protocols.errors import ParameterError
from protocols.params import (
    PRIVACY_FLOOR,
    RoundParams,
    _binom_below,
    analyse,
    default_params,
    parameter_table,
)
from tests import REPO_ROOT


def test_binomial_tail_matches_exact_sum() -> None:
    for n, q, m in [(10, 0.9, 7), (40, 0.9, 21), (200, 0.75, 140), (5, 0.5, 3)]:
        exact = sum(math.comb(n, i) * q**i * (1 - q) ** (n - i) for i in range(m))
        assert _binom_below(n, q, m) == pytest.approx(exact, rel=1e-9)
    assert _binom_below(10, 0.9, 0) == 0.0 and _binom_below(10, 0.9, 11) == 1.0


@pytest.mark.parametrize("n", [5, 6, 9, 10, 25, 26, 30, 41, 42, 100, 777, 1700])
def test_defaults_are_safe_for_the_cluster(n: int) -> None:
    params = default_params(n)
    params.check_for(n)  # agents would accept them
    degree = params.degree(n)
    assert 2 * params.threshold > degree >= params.threshold
    assert params.min_survivors >= max(PRIVACY_FLOOR, params.threshold + 1)
    assert params.k % 2 == 0 or params.k == n - 1


def test_defaults_meet_the_target_wherever_the_floors_allow() -> None:
    """10% dropout, target 1e-6: met for every n in 26..1700 (checked on a grid);
    below that the by-design floors max(5, t+1) dominate."""
    for n in [*range(26, 120), *range(120, 1701, 37), 1700]:
        a = analyse(n, default_params(n))
        assert a.total <= 1e-6, (n, a)
        if not a.complete:
            assert a.reconstruction <= 0.5e-6 and a.below_minimum <= 0.5e-6
    for n in range(5, 26):
        a = analyse(n, default_params(n))
        floor = max(PRIVACY_FLOOR, default_params(n).threshold + 1)
        assert a.total == pytest.approx(_binom_below(n, 0.9, floor))


def test_large_cluster_defaults_match_the_architecture() -> None:
    params = default_params(1700)
    assert (params.k, params.threshold) == (40, 21)
    assert 0.8 * 1700 < params.min_survivors < 0.9 * 1700


def test_check_for_rejects_unsafe_parameters() -> None:
    with pytest.raises(ParameterError):
        RoundParams(10, 5, 6).check_for(30)  # t = k/2: not a majority
    with pytest.raises(ParameterError):
        RoundParams(9, 5, 6).check_for(30)  # odd k in a ring
    with pytest.raises(ParameterError):
        RoundParams(10, 11, 12).check_for(30)  # t above the degree
    with pytest.raises(ParameterError):
        RoundParams(10, 6, 4).check_for(30)  # minimum below the privacy floor
    with pytest.raises(ParameterError):
        RoundParams(10, 6, 31).check_for(30)  # minimum above the cluster
    with pytest.raises(ParameterError):
        RoundParams(3, 2, 5).check_for(4)  # cluster below the floor
    with pytest.raises(ParameterError):
        RoundParams(0, 1, 5)
    with pytest.raises(ParameterError):
        RoundParams(4, True, 5)  # type: ignore[arg-type]
    with pytest.raises(ParameterError):
        default_params(4)
    with pytest.raises(ParameterError):
        default_params(10, dropout=1.0)
    RoundParams(40, 15, 20).check_for(30)  # k beyond n-1 means a complete graph


def test_parameter_table_lists_every_size() -> None:
    table = parameter_table((5, 30, 1700))
    rows = [line for line in table.splitlines() if line.startswith("| ") and line[2].isdigit()]
    assert [row.split("|")[1].strip() for row in rows] == ["5", "30", "1700"]
    assert "| 1700 | 40 | 21 |" in table
    assert "floor" in rows[0] and rows[2].endswith("| yes |")


def test_the_documented_table_is_the_one_the_code_computes() -> None:
    doc = (REPO_ROOT / "docs" / "secagg.md").read_text()
    start = doc.index("<!-- parameter-table:start -->") + len("<!-- parameter-table:start -->")
    end = doc.index("<!-- parameter-table:end -->")
    assert doc[start:end].strip() == parameter_table().strip()
