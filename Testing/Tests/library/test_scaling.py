"""The rescale choice: finest slope for auto, exact DS text, no clipping, error within the bound."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from FAExportLib.decimal_strings import format_ds
from FAExportLib.errors import ScaleError
from FAExportLib.scaling import INT16_MAX, INT16_MIN, ValueRange, choose_rescale


def decode_error(values: np.ndarray, scale) -> tuple[float, object]:
    rescale = choose_rescale(scale, ValueRange.of(values))
    stored = rescale.quantize(values)
    assert stored.dtype == np.int16
    # Decode as a reader does: from the DS text in the file, not from the encoder's float.
    decoded = stored.astype(np.float64) * float(rescale.slope_text) + float(rescale.intercept_text)
    return float(np.max(np.abs(decoded - values.astype(np.float64)))), rescale


def test_auto_on_fa_map_is_within_2e_5():
    fa = np.linspace(0.0, 1.0, 100_001, dtype=np.float32).reshape(1, 1, -1)
    error, rescale = decode_error(fa, "auto")
    assert rescale.max_quantization_error <= 2e-5
    assert error <= rescale.max_quantization_error * (1 + 1e-12)
    assert float(rescale.slope_text) * INT16_MAX >= 1.0  # FA = 1.0 itself fits


@pytest.mark.parametrize(("scale", "slope_text"), [("1000", "0.001"), ("32000", "3.125e-05"), (4000, "0.00025"), ("2.5", "0.4")])
def test_fixed_scales_write_the_exact_slope(scale, slope_text):
    fa = np.linspace(0.0, 1.0, 1001, dtype=np.float32).reshape(1, 1, -1)
    error, rescale = decode_error(fa, scale)
    assert rescale.slope_text == slope_text
    assert rescale.intercept_text == "0"
    assert error <= float(slope_text) / 2 * (1 + 1e-9)


finite_floats = st.floats(min_value=-1e30, max_value=1e30, allow_nan=False, allow_infinity=False).map(lambda v: float(np.float32(v)))


@settings(max_examples=300, deadline=None)
@given(st.lists(finite_floats, min_size=1, max_size=50))
def test_auto_is_within_1_25_of_the_best_possible_and_never_clips(values):
    array = np.asarray(values, dtype=np.float32).reshape(1, 1, -1)
    error, rescale = decode_error(array, "auto")
    max_abs = float(np.max(np.abs(array.astype(np.float64))))
    best_possible = max_abs / INT16_MAX / 2
    assert len(rescale.slope_text) <= 16
    assert rescale.max_quantization_error <= 1.25 * best_possible or max_abs == 0.0
    assert error <= rescale.max_quantization_error + 8 * np.finfo(np.float64).eps * max_abs
    stored = rescale.quantize(array)
    assert INT16_MIN <= stored.min() and stored.max() <= INT16_MAX


@settings(max_examples=200, deadline=None)
@given(st.floats(min_value=1e-300, max_value=1e300, allow_nan=False, allow_infinity=False))
def test_ds_text_is_at_most_16_characters_and_precise(value):
    for signed in (value, -value):
        text = format_ds(signed)
        assert len(text) <= 16
        assert abs(float(text) - signed) <= abs(signed) * 1e-8  # >= 8 significant digits even at e+157


def test_all_zero_map_gets_a_valid_slope():
    error, rescale = decode_error(np.zeros((2, 2, 2), dtype=np.float32), "auto")
    assert error == 0.0
    assert float(rescale.slope_text) > 0


def test_clipping_is_an_error_never_silent():
    values = np.array([[[0.0, 0.5, 33.0]]], dtype=np.float32)
    with pytest.raises(ScaleError, match=r"^the largest value 33 \(at IJK 2,0,0\) does not fit scale 1000"):
        choose_rescale("1000", ValueRange.of(values))
