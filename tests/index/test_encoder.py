from pathlib import Path

import numpy as np
import pytest

from index.encoder import HashingEncoder, SentenceTransformerEncoder, encoder_from_name
from taxbot.errors import ConfigError


def test_hashing_encoder_is_deterministic_and_normalised():
    enc = HashingEncoder(64)
    a = enc.encode(["增值税税率", "个人所得税"])
    b = HashingEncoder(64).encode(["增值税税率", "个人所得税"])
    assert a.shape == (2, 64) and a.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(a, axis=1), 1.0, rtol=1e-5)
    np.testing.assert_array_equal(a, b)
    assert float(a[0] @ enc.encode(["增值税的税率"])[0]) > float(a[0] @ a[1])


def test_encoder_from_name():
    assert isinstance(encoder_from_name("hashing-32"), HashingEncoder)
    assert encoder_from_name("hashing-32").dim == 32
    assert isinstance(encoder_from_name("/some/model"), SentenceTransformerEncoder)


def test_missing_model_path_says_what_to_run(tmp_path: Path):
    enc = SentenceTransformerEncoder(str(tmp_path / "tax-embedding"))  # constructing loads nothing
    with pytest.raises(ConfigError, match=r"not found at .*tax-embedding; run `taxbot kb train-model`"):
        enc.encode(["增值税"])
    with pytest.raises(ConfigError, match="run `taxbot kb train-model`"):
        _ = enc.fingerprint
    with pytest.raises(ConfigError, match="embedding model is empty"):
        SentenceTransformerEncoder("")
