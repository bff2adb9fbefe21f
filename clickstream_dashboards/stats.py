"""The A/B readout: a two-sided test of two proportions (pooled z-test)."""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Proportion:
    label: str
    successes: int
    trials: int

    @property
    def rate(self) -> float:
        return self.successes / self.trials if self.trials else 0.0


@dataclass(frozen=True)
class TwoProportionTest:
    control: Proportion
    treatment: Proportion
    z: float
    p_value: float

    @property
    def lift_points(self) -> float:
        return 100 * (self.treatment.rate - self.control.rate)

    def significant(self, alpha: float = 0.05) -> bool:
        return self.p_value < alpha


def two_proportion_test(control: Proportion, treatment: Proportion) -> TwoProportionTest | None:
    """None when either arm has no trials or the pooled rate is 0 or 1 (nothing to test)."""
    if control.trials == 0 or treatment.trials == 0:
        return None
    pooled = (control.successes + treatment.successes) / (control.trials + treatment.trials)
    variance = pooled * (1 - pooled) * (1 / control.trials + 1 / treatment.trials)
    if variance == 0:
        return None
    z = (treatment.rate - control.rate) / math.sqrt(variance)
    return TwoProportionTest(control, treatment, z, math.erfc(abs(z) / math.sqrt(2)))
