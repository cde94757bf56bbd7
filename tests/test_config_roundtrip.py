"""The round trip: every valid programme dumps to plain JSON data that loads back equal."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings

import rewardkit as rk
from rewardkit.testing.strategies import conditions, programs


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(programs())
def test_a_dumped_programme_loads_back_equal_through_json(program: rk.Program) -> None:
    data = rk.dump_program(program)
    through_json = json.loads(json.dumps(data, ensure_ascii=False))
    assert through_json == data  # plain data: nothing json cannot carry
    loaded = rk.load_program(through_json)
    assert loaded == program
    # Program equality skips a few fields (the tier window and grace among them):
    # the data of the loaded programme must be the same data too.
    assert rk.dump_program(loaded) == data


@settings(max_examples=200, deadline=None)
@given(conditions())
def test_every_built_in_condition_round_trips_as_a_rule_condition(condition: rk.Condition) -> None:
    program = rk.Program(name="x", rules=[rk.fixed("r", points=1, when=condition)])
    assert rk.load_program(rk.dump_program(program)) == program
