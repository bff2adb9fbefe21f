"""The A/B readout's two-proportion z-test, against a value worked by hand."""

from __future__ import annotations

import math

import pytest

from clickstream_dashboards.stats import Proportion, two_proportion_test


def test_a_known_split_gives_the_textbook_z_and_p() -> None:
    # pooled p = 450/2000 = 0.225; se = sqrt(0.225 * 0.775 * (1/1000 + 1/1000)) = 0.0186748
    # z = (0.25 - 0.20) / se = 2.67740; two-sided p = erfc(z / sqrt 2) = 0.0074193
    test = two_proportion_test(Proportion("A", 200, 1000), Proportion("B", 250, 1000))
    assert test is not None
    assert test.z == pytest.approx(2.67740, abs=1e-4)
    assert test.p_value == pytest.approx(0.0074193, abs=1e-6)
    assert test.lift_points == pytest.approx(5.0)
    assert test.significant()


def test_equal_rates_are_not_significant_and_the_sign_follows_the_treatment() -> None:
    same = two_proportion_test(Proportion("A", 50, 500), Proportion("B", 50, 500))
    assert same is not None
    assert same.z == 0 and same.p_value == pytest.approx(1.0)
    assert not same.significant()
    lower = two_proportion_test(Proportion("A", 60, 500), Proportion("B", 40, 500))
    assert lower is not None and lower.z < 0
    assert lower.p_value == pytest.approx(math.erfc(abs(lower.z) / math.sqrt(2)))


def test_nothing_to_test_without_trials_or_variance() -> None:
    assert two_proportion_test(Proportion("A", 0, 0), Proportion("B", 1, 10)) is None
    assert two_proportion_test(Proportion("A", 0, 10), Proportion("B", 0, 10)) is None
    assert two_proportion_test(Proportion("A", 10, 10), Proportion("B", 10, 10)) is None
