"""Vietnamese text helpers: NFC at every boundary, and keys that fold spelling variants.

Two pitfalls of real data (see ADMIN-UNITS.md): input may be NFD (macOS, Word), and the old
and new tone-mark placements ("Hoà" / "Hòa", "Thuỷ" / "Thủy") are different code points even
in NFC. ``fold_key`` equates both; ``ascii_key`` also drops diacritics and maps đ → d.
"""

import re
import unicodedata

# Old-style placement (mark on the second vowel of oa/oe/uy) → new style (mark on the first).
# Only open syllables need folding: with a final consonant both styles agree ("hoàn"); not
# after q ("Quý" is right in both styles) nor before another mark ("Thuận": ậ is one vowel).
_TONES = "\u0300\u0301\u0303\u0309\u0323"  # grave, acute, tilde, hook above, dot below
_OLD_TONE = re.compile(
    r"(?<![qQ])([oOuU])([aAeEyY])([" + _TONES + r"])(?![a-zA-Z\u0300-\u036f])")


def nfc(text):
    """Return ``text`` in Unicode NFC; ``None`` stays ``None``."""
    if text is None:
        return None
    return unicodedata.normalize("NFC", text)


def fold_key(text):
    """A comparison key: NFC, casefolded, whitespace collapsed, tone placement folded."""
    decomposed = unicodedata.normalize("NFD", text or "")
    # Move a tone mark that sits after the 'a/e/y' of oa/oe/uy onto the 'o/u' before it.
    # In NFD, 'oà' is 'o', 'a', U+0300; the new style is 'o', U+0300, 'a'.
    decomposed = _OLD_TONE.sub(lambda m: m.group(1) + m.group(3) + m.group(2), decomposed)
    folded = unicodedata.normalize("NFC", decomposed).casefold()
    return " ".join(folded.split())


def ascii_key(text):
    """A search key without diacritics: 'Hòa Bình' → 'hoa binh', 'Đồng' → 'dong'."""
    decomposed = unicodedata.normalize("NFD", (text or "").replace("đ", "d").replace("Đ", "D"))
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(stripped.casefold().split())


def nfc_tree(value):
    """NFC-normalise every string inside a JSON-like value (dict keys included)."""
    if isinstance(value, str):
        return nfc(value)
    if isinstance(value, dict):
        return {nfc_tree(k): nfc_tree(v) for k, v in value.items()}
    if isinstance(value, list):
        return [nfc_tree(v) for v in value]
    return value
