"""Default scoring: per-theme and overall scores of an inspection, 0–100.

No scoring set is issued by the Central Steering Committee (CHECKLIST-BASELINE.md), so this
is fieldkit's own and says how it computes: each applicable, answered item scores 1 (yes, or
not flagged), 0.5 (partial) or 0 (no, or flagged); "na" items are left out; a theme's score
is the weighted mean × 100. A plugin can replace it through ``fieldkit_score_inspection``.
"""

from .rules import is_flagged, is_shown

METHOD = ("weighted mean of item scores ×100: yes / not flagged = 1, partial = 0.5, "
          "no / flagged = 0; 'na' and skipped items excluded")


def item_score(item, value):
    """The 0..1 score of one answer, or None when the item does not count."""
    if value is None:
        return None
    if item["answer"]["type"] == "yes_no":
        return {"yes": 1.0, "partial": 0.5, "no": 0.0}.get(value)
    return 0.0 if is_flagged(item, value) else 1.0


def score(checklist, findings):
    """Scores of an inspection: ``{"overall", "themes": {theme: {...}}, "method"}``.

    ``findings`` maps item code → value (answers of tombstoned findings left out).
    """
    themes = {}
    total_weight = total = 0.0
    for item in checklist.items:
        theme = themes.setdefault(item["theme"], {"score": None, "answered": 0, "flagged": 0,
                                                  "items": 0, "_w": 0.0, "_s": 0.0})
        if not is_shown(item, findings):
            continue
        theme["items"] += 1
        value = findings.get(item["code"])
        if value is None:
            continue
        theme["answered"] += 1
        if is_flagged(item, value):
            theme["flagged"] += 1
        points = item_score(item, value)
        if points is None or item["weight"] == 0:
            continue
        theme["_w"] += item["weight"]
        theme["_s"] += item["weight"] * points
        total_weight += item["weight"]
        total += item["weight"] * points
    for theme in themes.values():
        weight, points = theme.pop("_w"), theme.pop("_s")
        theme["score"] = round(100 * points / weight, 1) if weight else None
    overall = round(100 * total / total_weight, 1) if total_weight else None
    return {"overall": overall, "themes": themes, "method": METHOD}
