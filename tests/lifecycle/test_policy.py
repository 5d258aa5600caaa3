"""RetrainPolicy: each trigger and guard on a constructed day of traffic."""

import json

import pytest

import modelops
from modelops.lifecycle import RetrainDecision, RetrainPolicy, run_cycle

from ._data import H, now_hour, production_model, traffic


@pytest.fixture
def ops():
    return modelops.connect("memory://")


def judge(ops, policy, now, model="fraud", version="1.0.0"):
    return policy.evaluate(ops.monitor(model, version, now=now))


def test_a_calm_day_is_not_due_and_says_why(ops):
    now = now_hour()
    production_model(ops)
    traffic(ops, now)
    decision = judge(ops, RetrainPolicy(), now)
    assert not decision and decision.retrain is False and decision.triggers == ()
    text = " | ".join(decision.reasons)
    assert "input features drifted" in text and "below 30%" in text
    assert "metrics within 0.05 of the baseline on" in text
    assert decision.version == "1.0.0" and decision.checked_at == now
    json.dumps(decision.to_dict())


def test_input_drift_triggers(ops):
    now = now_hour()
    production_model(ops)
    traffic(ops, now, shifted=3)
    decision = judge(ops, RetrainPolicy(drift_share=0.5), now)
    assert decision.retrain and decision.triggers == ("input_drift",)
    assert decision.reasons[0].startswith("input drift: 3 of 4 input features drifted (75%)")
    details = decision.details["input_drift"]
    assert details["share"] == 0.75 and details["drifted"] == ["x1", "x2", "x3"]
    assert not judge(ops, RetrainPolicy(drift_share=0.8, degradation=None), now)
    assert not judge(ops, RetrainPolicy(drift_share=None, degradation=None), now)


def test_degradation_triggers_only_with_enough_feedback(ops):
    now = now_hour()
    production_model(ops, accuracy=0.95)
    traffic(ops, now, accuracy=0.80)
    decision = judge(ops, RetrainPolicy(degradation=0.05), now)
    assert decision.triggers == ("degradation",)
    assert "accuracy 0.7" in decision.reasons[0] or "accuracy 0.8" in decision.reasons[0]
    assert "vs 0.950" in decision.reasons[0]
    assert not judge(ops, RetrainPolicy(degradation=0.2), now)

    other = modelops.connect("memory://")
    production_model(other, accuracy=0.95)
    traffic(other, now, accuracy=0.5, feedback=0.015)    # about 18 with feedback of 1,200
    decision = judge(other, RetrainPolicy(), now)
    assert not decision.retrain
    assert any("degradation not judged" in r and "30 needed" in r for r in decision.reasons)


def test_a_volume_drop_triggers(ops):
    now = now_hour()
    production_model(ops)
    traffic(ops, now, n=2_320, last_hour=20)             # 100 an hour, then 20
    decision = judge(ops, RetrainPolicy(volume_drop=0.5), now)
    assert decision.triggers == ("volume_drop",)
    assert "20 predictions in the last 1h against a median of 100" in decision.reasons[0]
    assert decision.details["volume"]["drop"] == pytest.approx(0.8)
    assert not judge(ops, RetrainPolicy(volume_drop=0.9), now)


def test_max_age_and_no_production(ops):
    now = now_hour()
    decision = RetrainPolicy().evaluate(ops.monitor("fraud", now=now))
    assert decision.retrain and decision.triggers == ("no_production",)
    assert decision.reasons == ("no version of 'fraud' is in production",)
    production_model(ops)
    assert not judge(ops, RetrainPolicy(max_age="7d"), now + 6 * 24 * H)
    old = judge(ops, RetrainPolicy(max_age="7d"), now + 8 * 24 * H)
    assert old.triggers == ("max_age",)
    assert "production version 1.0.0 is 8.0 days old (max 7d)" in old.reasons[0]


def test_min_new_feedback_holds_a_due_retraining_back(ops):
    now = now_hour() + 4 * H           # 3 to 4 hours of the traffic come after registering
    production_model(ops)
    traffic(ops, now, shifted=4)
    waiting = judge(ops, RetrainPolicy(min_new_feedback=500), now)
    assert not waiting.retrain and waiting.triggers == ("input_drift",)
    assert waiting.reasons[-1].startswith("waiting for feedback: ")
    assert "500 needed" in waiting.reasons[-1]
    assert 150 <= waiting.details["new_feedback"]["n"] < 200
    assert judge(ops, RetrainPolicy(min_new_feedback=100), now).retrain


def test_the_cooldown_counts_from_the_last_cycle_that_trained(ops):
    now = now_hour()
    production_model(ops)
    traffic(ops, now, shifted=4)

    def train(context):
        return {"weights": [1.0]}, {"accuracy": 0.96}

    report = run_cycle(ops, "fraud", train, promotion=None, now=now)
    assert report.status == "registered"
    held = judge(ops, RetrainPolicy(cooldown="1h"), now + 30 * 60_000)
    assert not held.retrain and held.triggers == ("input_drift",)
    assert held.reasons[-1].startswith("cooling down: cycle ")
    assert judge(ops, RetrainPolicy(cooldown="1h"), now + 61 * 60_000).retrain
    assert judge(ops, RetrainPolicy(cooldown=None), now + 30 * 60_000).retrain
    assert judge(ops, RetrainPolicy(cooldown=0), now + 30 * 60_000).retrain


@pytest.mark.parametrize(("options", "field"), [
    ({"drift_share": 1.5}, "RetrainPolicy.drift_share"),
    ({"drift_share": 0}, "RetrainPolicy.drift_share"),
    ({"degradation": -0.1}, "RetrainPolicy.degradation"),
    ({"volume_drop": "half"}, "RetrainPolicy.volume_drop"),
    ({"max_age": "7 days"}, "RetrainPolicy.max_age"),
    ({"min_new_feedback": 0}, "RetrainPolicy.min_new_feedback"),
    ({"cooldown": "soon"}, "RetrainPolicy.cooldown"),
    ({"window": None}, "RetrainPolicy.window"),
])
def test_bad_policies_are_refused_naming_the_field(options, field):
    with pytest.raises(modelops.InvalidInput) as err:
        RetrainPolicy(**options)
    assert err.value.field == field


def test_evaluate_wants_a_monitor(ops):
    with pytest.raises(modelops.InvalidInput, match="expected a Monitor"):
        RetrainPolicy().evaluate(ops)


def test_the_decision_is_the_issues_shape_and_exported():
    decision = RetrainDecision(retrain=True, reasons=["input drift"])
    assert decision.reasons == ("input drift",) and bool(decision)
    assert modelops.RetrainDecision is RetrainDecision
    assert modelops.RetrainPolicy is RetrainPolicy
    assert str(decision) == "retrain: input drift"
