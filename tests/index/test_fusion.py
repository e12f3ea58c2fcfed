import pytest

from index.fusion import max_normalise, min_max_normalise, reciprocal_rank_fusion, weighted_score_fusion


def test_rrf_rewards_agreement():
    fused = reciprocal_rank_fusion([["a", "b", "c"], ["b", "a", "d"]], k=60)
    assert fused["a"] == pytest.approx(fused["b"])
    assert fused["a"] > fused["c"] > 0
    assert fused["c"] == pytest.approx(fused["d"])


def test_rrf_weights_and_validation():
    fused = reciprocal_rank_fusion([["a"], ["b"]], weights=[2.0, 1.0])
    assert fused["a"] == pytest.approx(2 * fused["b"])
    with pytest.raises(ValueError, match="k must be positive, got 0"):
        reciprocal_rank_fusion([["a"]], k=0)
    with pytest.raises(ValueError, match="1 weights for 2 rankings"):
        reciprocal_rank_fusion([["a"], ["b"]], weights=[1.0])


def test_normalisers():
    assert max_normalise({"a": 2.0, "b": 1.0}) == {"a": 1.0, "b": 0.5}
    assert max_normalise({"a": 0.0}) == {"a": 0.0}
    assert min_max_normalise({"a": 3.0, "b": 1.0, "c": 2.0}) == {"a": 1.0, "b": 0.0, "c": 0.5}
    assert min_max_normalise({"a": 1.0, "b": 1.0}) == {"a": 1.0, "b": 1.0}


def test_weighted_fusion_missing_keys_score_zero():
    fused = weighted_score_fusion([{"a": 10.0, "b": 5.0}, {"b": 0.9}], [1.0, 2.0])
    assert fused == pytest.approx({"a": 1.0, "b": 2.5})
    with pytest.raises(ValueError, match="unknown normalisation 'z'"):
        weighted_score_fusion([{"a": 1.0}], [1.0], normalise="z")
