"""Vietnamese text keys: NFC, tone placement folded, diacritics dropped."""

import unicodedata

import pytest

from fieldkit.core.text import ascii_key, fold_key, nfc, nfc_tree


@pytest.mark.parametrize("old, new", [("Hoà Bình", "Hòa Bình"), ("Thuỷ", "Thủy"),
                                      ("khoẻ", "khỏe"), ("HOÀ", "hòa")])
def test_tone_placements_fold_together(old, new):
    assert fold_key(old) == fold_key(new)


@pytest.mark.parametrize("word", ["Thuận", "Quý", "hoàn", "Quảng", "thuế"])
def test_words_that_must_not_change(word):
    assert fold_key(word) == nfc(word).casefold()


def test_nfd_input_is_equal_after_folding():
    assert fold_key(unicodedata.normalize("NFD", "Hòa Bình")) == fold_key("Hòa Bình")


def test_ascii_key():
    assert ascii_key("Đắk Lắk") == "dak lak" and ascii_key("  Hoà   Bình ") == "hoa binh"


def test_nfc_tree_normalises_keys_and_values():
    nfd = unicodedata.normalize("NFD", "Hòa")
    assert nfc_tree({nfd: [nfd, 1, None]}) == {"Hòa": ["Hòa", 1, None]}
